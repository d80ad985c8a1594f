#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit and integration tests (real nginx,
# real SQLite files, a real PostgreSQL started by the tests, real sockets), the end-to-end suites once
# more on PostgreSQL, API and parser fuzzing, the deployment under systemd, the first run
# on a fresh Debian 12 (a debootstrap chroot), the bench
# smoke run, then the concurrency tests again under ThreadSanitizer.
# Exits non-zero on any failure.
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/common.sh
source "$root/deploy/lib/common.sh"
cd "$root"

ensure_packages "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"
ensure_swift

# Tests that exercise threads and held requests, run again with --sanitize=thread.
CONCURRENCY_TESTS='FastCGITests|LockingTests|ProcessSupportTests|PostgresTests|AccountsTests|OrdersTests|JobQueueTests|ChatTests|StockBotTests|TradedeskAppTests'
# The end-to-end suites (a responder behind nginx, the bot, the CLI), run once more on PostgreSQL.
# (The storage tests run on both backends in every run: they take the backend as an argument.)
END_TO_END_TESTS='OrdersAPITests|ChatAPITests|ChatBrowserTests|GroupCommitAPITests|AccountsAPITests|AccountAbuseTests|AccountCommandTests|BotReplyTests|StockBotProcessTests'

results=()
failures=()
# Each step's output also goes to a log, so the tail of a failed one can be repeated after the summary
# (where a CI page that shows only the end of the output will have it).
logs="$root/.build/test-logs"
mkdir -p "$logs"
run() { # NAME COMMAND...
    local name=$1; shift
    local logfile="$logs/${name//[^a-z]/-}.log"
    log "$name: $*"
    local started=$SECONDS
    "$@" 2>&1 | tee "$logfile"
    local status=${PIPESTATUS[0]}
    results+=("$(printf '%-28s %s (%ds)' "$name" "$([ $status -eq 0 ] && echo passed || echo "FAILED ($status)")" $((SECONDS - started)))")
    [ $status -eq 0 ] || failures+=("$name|$logfile")
    return $status
}

failed=0
run "build" swift build --build-tests || failed=1
if [ $failed -eq 0 ]; then
    run "swift test" swift test --skip-build --no-parallel || failed=1
    run "swift test (PostgreSQL)" env TRADEDESK_TEST_BACKEND=postgres \
        swift test --skip-build --no-parallel --filter "$END_TO_END_TESTS" || failed=1
fi
validate_openapi() {
    local bin
    bin=$(python_tool openapi-spec-validator) || return 1
    "$bin/openapi-spec-validator" docs/openapi.yaml
}
run "openapi document" validate_openapi || failed=1
# schemathesis from the OpenAPI document, through nginx, against the debug build above.
if [ $failed -eq 0 ]; then
    run "API fuzzing" env FUZZ_SCRATCH=.build fuzz/api.sh || failed=1
fi
# The request, CSV and command parsers under libFuzzer and AddressSanitizer, 30 s each (.build-fuzz).
run "parser fuzzing" fuzz/libfuzzer.sh || failed=1
run "systemd units" deploy/verify-units.sh "$(swift build --show-bin-path)" || failed=1
# The deployment in a throw-away systemd box needs root (it makes namespaces and mounts).
if [ "$(id -u)" -eq 0 ]; then
    run "systemd box" deploy/systemd-box-test.sh || failed=1
else
    log "systemd box: skipped (needs root)"
fi
# The first command on a fresh Debian 12: deploy/run.sh in a debootstrapped minimal Debian 12 with
# only the Swift toolchain added, until /api/health answers (root: debootstrap, chroot, mounts; it
# tests the committed tree).
if [ "$(id -u)" -eq 0 ]; then
    run "fresh debian 12" deploy/fresh-debian-test.sh || failed=1
    # And `deploy/run.sh --postgres` there: it installs PostgreSQL and runs on a cluster of its own.
    run "fresh debian 12 (PostgreSQL)" env FRESH_DEBIAN_RUN_ARGS=--postgres deploy/fresh-debian-test.sh || failed=1
else
    log "fresh debian 12: skipped (needs root)"
fi
# The benchmark harness, for a few seconds with loose checks, so that it cannot rot (a release build;
# after the systemd box it is already there).
run "bench smoke" bench/run.sh --smoke || failed=1
# A separate build folder keeps the sanitized build from replacing the normal one.
TSAN_OPTIONS="halt_on_error=0:exitcode=66" \
    run "swift test (thread sanitizer)" swift test --sanitize=thread --scratch-path .build-tsan --no-parallel \
        --filter "$CONCURRENCY_TESTS" || failed=1

for failure in "${failures[@]}"; do
    log "${failure%%|*} failed; the end of its output:"
    grep -v '^\(◇\|✔\|[0-9-]*T[0-9:+]* \(info\|notice\|debug\)\)' "${failure#*|}" | tail -n 60
done
log "summary"
printf '  %s\n' "${results[@]}"
passed=0; fails=0
for line in "${results[@]}"; do case "$line" in *passed*) passed=$((passed + 1));; *) fails=$((fails + 1));; esac; done
echo "steps: $passed passed, $fails failed"
exit $failed
