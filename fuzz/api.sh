#!/usr/bin/env bash
# Fuzzes the HTTP API described by docs/openapi.yaml with schemathesis, through a real nginx on
# loopback, and fails on any 5xx, any answer the document does not allow (status, schema, content
# type, headers), and any error answer that is not JSON {"error": "<message>"}.
#
# It installs what is missing, builds the responder (debug, in .build-apifuzz so as not to touch
# .build, or in $FUZZ_SCRATCH), makes a virtualenv with schemathesis in .build-apifuzz/python, and
# runs fuzz/api/run.py:
# nginx with the production nginx.conf (its limit of 10 password POSTs a minute raised for the run,
# unless --production-login-limit) and `tradedesk serve` on a fresh database in a temporary
# directory (BATCH_SIZE=1, open registration, generous chat limits), a user with an API token and a
# session cookie, then `schemathesis run` with every built-in check plus fuzz/api/hooks.py's.
# The JUnit report, the answers' statuses and the servers' logs go to .build-apifuzz/report/.
#
#   fuzz/api.sh                      # CI: 50 test cases per operation and phase
#   fuzz/api.sh --max-examples 500   # a longer run
#   fuzz/api.sh --seed 123           # replay a run (the seed is printed); see fuzz/api/run.py --help
#
# Time on 2 cores: about 35 s of fuzzing at the default 50 examples (500: about 3 minutes), after a
# debug build (about 2 minutes from scratch, seconds when nothing changed) and, the first time, about
# 30 s for the virtualenv.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../deploy/lib/common.sh
source "$root/deploy/lib/common.sh"
cd "$root"

# The schemathesis this was written and checked against (4.x: its CLI and hooks differ from 3.x).
SCHEMATHESIS_VERSION=4.32.5
# FUZZ_SCRATCH=.build reuses a debug build that is already there (deploy/test.sh does).
scratch=${FUZZ_SCRATCH:-.build-apifuzz}
max_examples=50
passthrough=()
while [ $# -gt 0 ]; do
    case $1 in
        --max-examples) [ $# -ge 2 ] || die "--max-examples needs a number"; max_examples=$2; shift 2 ;;
        --max-examples=*) max_examples=${1#*=}; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) passthrough+=("$1"); shift ;;
    esac
done
[[ $max_examples =~ ^[1-9][0-9]*$ ]] || die "--max-examples must be a positive whole number, not '$max_examples'"

ensure_packages "${BUILD_PACKAGES[@]}" python3-venv
ensure_swift

started=$SECONDS
log "build: swift build --scratch-path $scratch --product tradedesk"
nice -n 10 swift build --scratch-path "$scratch" --product tradedesk
bin=$(swift build --scratch-path "$scratch" --show-bin-path)
log "build took $((SECONDS - started)) s"

started=$SECONDS
venv="$root/.build-apifuzz/python"
log "virtualenv: schemathesis==$SCHEMATHESIS_VERSION in $venv"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION"
log "virtualenv took $((SECONDS - started)) s"

started=$SECONDS
log "fuzz: $max_examples examples per operation and phase"
status=0
"$venv/bin/python" fuzz/api/run.py --bin "$bin" --schemathesis "$venv/bin/schemathesis" \
    --max-examples "$max_examples" "${passthrough[@]}" || status=$?
log "fuzz took $((SECONDS - started)) s"
exit $status
