#!/usr/bin/env bash
# Benchmarks tradedesk on loopback against ceilings measured in the same run, and prints a table.
#
#   bench/run.sh                   the full run (about 2 minutes on 2 cores): table on stdout, and
#                                  bench/results/latest.md, latest.json, scaling.png
#   bench/run.sh --update-readme   the full run, then README.md's benchmark section is replaced by it
#   bench/run.sh --smoke           a few seconds, loose checks: deploy/test.sh runs it so the harness
#                                  cannot rot. Its numbers mean nothing.
#
# It builds release, then starts its own nginx (the top-level nginx.conf, rendered for a temporary
# prefix), responder, bots and a quote server, all on loopback, and stops them at the end.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../deploy/lib/common.sh
source "$root/deploy/lib/common.sh"

packages=("${BUILD_PACKAGES[@]}" wrk python3)
# The plot needs matplotlib; the smoke run makes none.
case " $* " in *" --smoke "*) ;; *) packages+=(python3-matplotlib) ;; esac
ensure_packages "${packages[@]}"
ensure_swift

log "building (release)"
for product in tradedesk stockbot fastcgi-fixture; do
    (cd "$root" && swift build -c release --product "$product") >&2
done
bin=$(cd "$root" && swift build -c release --show-bin-path)

# Debian's python3, where apt put matplotlib (a pyenv or venv python on PATH would not have it).
PYTHONPATH="$root/bench" exec /usr/bin/python3 -m tdbench --root "$root" --bin "$bin" "$@"
