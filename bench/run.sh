#!/usr/bin/env bash
# Benchmarks tradedesk on loopback against ceilings measured in the same run, and prints a table.
# Every row but the ceilings runs on SQLite and on PostgreSQL (a private cluster in the run's
# temporary directory), scenario by scenario, side by side in one table.
#
#   bench/run.sh                   the full run (about 7 minutes on 2 cores): table on stdout, and
#                                  bench/results/latest.md, latest.json, scaling.png; it holds 10,000
#                                  long-polls at once
#   bench/run.sh --update-readme   the full run, then README.md's benchmark section is replaced by it
#   bench/run.sh --smoke           under a minute, loose checks: deploy/test.sh runs it so the harness
#                                  cannot rot, on both backends, and it holds 5000 long-polls at once
#                                  (all answered by one post, with few responder threads). Its other
#                                  numbers mean nothing.
#   bench/run.sh --backend sqlite|postgres|both
#                                  the database of every row but the ceilings (both by default); with
#                                  any of the others, e.g. --only orders --backend postgres (its
#                                  results in bench/results/orders-postgres.md and .json)
#   bench/run.sh --only NAME       one scenario (ceilings, orders, chat, bot, history; repeat for more): its rows
#                                  only (a ratio whose ceiling did not run is n/a), in bench/results/NAME.md
#                                  and NAME.json (NAME-NAME… for several). history: the chat's tail read
#                                  and first load in a room of 200,000 messages against an empty room (≤ 2×)
#   bench/run.sh --soak [--minutes N] [--latency-ms MS]
#                                  1000 order clients for N minutes (10): 0 errors, flat RSS, no fd leak;
#                                  bench/results/soak.md and soak.json; exits 1 if a criterion fails. Not in CI.
#
# BENCH_SCRATCH=DIR builds into DIR (SwiftPM's --scratch-path) instead of the default .build, e.g. so
# that a bench run does not race another build of the same checkout.
#
# It builds release, then starts its own nginx (the top-level nginx.conf, rendered for a temporary
# prefix), responder, bots and a quote server, all on loopback, and stops them at the end. The
# ceilings also compile bench/fcgi-constant/constant.c (cc or the toolchain's clang, -lfcgi) into that
# temporary directory, and restart nginx with keep_conn edited off and on; every other row runs on the
# shipped nginx.conf.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../deploy/lib/common.sh
source "$root/deploy/lib/common.sh"

packages=("${BUILD_PACKAGES[@]}" wrk python3)
# The plot needs matplotlib; the smoke and soak runs make none.
case " $* " in *" --smoke "*|*" --soak "*) ;; *) packages+=(python3-matplotlib) ;; esac
# The PostgreSQL rows start a cluster of their own from Debian's server (initdb, pg_ctl) and psql.
case " $* " in *" --soak "*|*" --backend sqlite "*|*" --backend=sqlite "*) ;; *) packages+=(postgresql) ;; esac
ensure_packages "${packages[@]}"
ensure_swift

scratch=()
if [ -n "${BENCH_SCRATCH:-}" ]; then scratch=(--scratch-path "$BENCH_SCRATCH"); fi
log "building (release${BENCH_SCRATCH:+, in $BENCH_SCRATCH})"
for product in tradedesk stockbot fastcgi-fixture; do
    (cd "$root" && swift build -c release "${scratch[@]}" --product "$product") >&2
done
bin=$(cd "$root" && swift build -c release "${scratch[@]}" --show-bin-path)

# Debian's python3, where apt put matplotlib (a pyenv or venv python on PATH would not have it).
PYTHONPATH="$root/bench" exec /usr/bin/python3 -m tdbench --root "$root" --bin "$bin" "$@"
