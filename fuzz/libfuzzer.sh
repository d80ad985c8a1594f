#!/usr/bin/env bash
# Fuzzes what parses hostile input with libFuzzer under AddressSanitizer, each target for a bounded
# time, and exits non-zero if any target finds something: a Swift trap (a crash, or a broken
# invariant the target checks), an ASan report, a leak, a hang (over --timeout seconds for one
# input) or running out of memory. It then prints the input (base64 and hex) and where it was saved.
#
#   FuzzHTTPRequest  FastCGI params and a body -> HTTPRequest, routing, JSON bodies, error answers
#   FuzzQuoteCSV     a quote server's answer -> QuoteCSV.parse and the chat reply (a quote's close
#                    must be a plain number)
#   FuzzBotCommand   a chat message -> BotCommand, and QuoteClient.url(for:) (the URL keeps its host,
#                    path and query but for the s= value)
#
# The targets are the separate package in fuzz/ (the root package's build never sees it), built
# with `swift build -c release -Xswiftc -sanitize=fuzzer,address` in .build-fuzz/ (release: up to
# three times the executions of a debug build, with the same bounds and overflow checks). Each run
# starts from a fresh copy of the committed seeds, fuzz/corpus/<target>/, in .build-fuzz/corpus/,
# where libFuzzer also writes what it finds: the committed seeds never grow. The dictionaries are
# fuzz/dict/<target>.dict. Logs go to .build-fuzz/logs/, findings to .build-fuzz/artifacts/<target>/.
#
#   fuzz/libfuzzer.sh                          # CI: 30 s per target
#   fuzz/libfuzzer.sh --seconds 300            # a longer run
#   fuzz/libfuzzer.sh --target FuzzQuoteCSV    # one target (repeatable)
#   fuzz/libfuzzer.sh --debug                  # a debug build (slower; for a finding's stack trace)
#
# Time on 2 cores: the first build 2.5 to 3.5 minutes (GRDB and the rest under ASan), seconds when
# nothing changed; then --seconds per target plus a few seconds each: about 1.5 minutes by default.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../deploy/lib/common.sh
source "$root/deploy/lib/common.sh"
cd "$root"

scratch=.build-fuzz
configuration=release
seconds=30
timeout=5
targets=()
all_targets=(FuzzHTTPRequest FuzzQuoteCSV FuzzBotCommand)
# The longest input each target is given: a request's head and a small JSON body; a quote answer
# (a few hundred bytes; room for long numbers); a chat command.
declare -A max_len=([FuzzHTTPRequest]=4096 [FuzzQuoteCSV]=1024 [FuzzBotCommand]=512)

while [ $# -gt 0 ]; do
    case $1 in
        --seconds) [ $# -ge 2 ] || die "--seconds needs a number"; seconds=$2; shift 2 ;;
        --seconds=*) seconds=${1#*=}; shift ;;
        --timeout) [ $# -ge 2 ] || die "--timeout needs a number"; timeout=$2; shift 2 ;;
        --timeout=*) timeout=${1#*=}; shift ;;
        --target) [ $# -ge 2 ] || die "--target needs a name"; targets+=("$2"); shift 2 ;;
        --target=*) targets+=("${1#*=}"); shift ;;
        --debug) configuration=debug; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown option '$1' (see --help)" ;;
    esac
done
[[ $seconds =~ ^[1-9][0-9]*$ ]] || die "--seconds must be a positive whole number, not '$seconds'"
[[ $timeout =~ ^[1-9][0-9]*$ ]] || die "--timeout must be a positive whole number, not '$timeout'"
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")
for target in "${targets[@]}"; do
    [ -n "${max_len[$target]:-}" ] || die "no fuzz target '$target' (there are: ${all_targets[*]})"
done

ensure_packages "${BUILD_PACKAGES[@]}"
ensure_swift

mkdir -p "$scratch/logs"
started=$SECONDS
log "build: swift build --package-path fuzz -c $configuration -Xswiftc -sanitize=fuzzer,address (in $scratch)"
# -q keeps the progress lines out; gold's warnings about the ASan runtime's local symbols
# ("Cannot export local symbol '__asan_...'", hundreds per executable) are noise.
build_status=0
nice -n 10 swift build -q --package-path fuzz --scratch-path "$root/$scratch" -c "$configuration" \
    -Xswiftc -sanitize=fuzzer,address >"$scratch/logs/build.log" 2>&1 || build_status=$?
grep -v "warning: Cannot export local symbol" "$scratch/logs/build.log" || true
[ $build_status -eq 0 ] || die "the build failed (log: $scratch/logs/build.log)"
bin=$(swift build --package-path fuzz --scratch-path "$root/$scratch" -c "$configuration" --show-bin-path)
build_seconds=$((SECONDS - started))
log "build took $build_seconds s"

# The Swift runtime's backtracer would catch a trap before libFuzzer does (and take its time
# symbolicating); libFuzzer's own handler saves the input. ASan finds llvm-symbolizer on PATH
# (ensure_swift put the toolchain there). Leak detection is on by default.
export SWIFT_BACKTRACE=enable=no

failures=()
summary=()
for target in "${targets[@]}"; do
    corpus=$scratch/corpus/$target
    artifacts=$root/$scratch/artifacts/$target
    logfile=$scratch/logs/$target.log
    rm -rf "$corpus"
    mkdir -p "$corpus" "$artifacts"
    cp fuzz/corpus/"$target"/* "$corpus"/

    log "$target: ${seconds} s, inputs up to ${max_len[$target]} bytes, ${timeout} s each at most"
    started=$SECONDS
    status=0
    # libFuzzer's output without a line per new input (those stay in the log), nor the dictionary it
    # recommends at the end: progress every doubling of executions, and any report in full.
    "$bin/$target" "$corpus" \
        -dict="fuzz/dict/$target.dict" \
        -max_total_time="$seconds" -max_len="${max_len[$target]}" -timeout="$timeout" \
        -rss_limit_mb=2048 -artifact_prefix="$artifacts/" -print_final_stats=1 \
        2>&1 | tee "$logfile" | awk '
            /^###### Recommended dictionary/ { skip = 1 }
            !skip && !/^#[0-9]+[ \t]+(NEW|REDUCE) / && !/^[ \t]+NEW_FUNC/
            /^###### End of recommended dictionary/ { skip = 0 }' || status=$?
    # Under pipefail the status is the fuzzer's unless it succeeded and awk or tee failed.
    elapsed=$((SECONDS - started))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logfile" | tail -1)
    # After a crash there are no final stats: the last progress line's count.
    [ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9][0-9]*\)[ \t].*/\1/p' "$logfile" | tail -1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logfile" | tail -1)
    if [ $status -eq 0 ]; then
        summary+=("$(printf '%-16s passed: %s executions in %d s (%s/s), corpus %d inputs' \
            "$target" "${runs:-?}" "$elapsed" "${rate:-?}" "$(find "$corpus" -type f | wc -l)")")
        continue
    fi
    summary+=("$(printf '%-16s FAILED (exit %d) after %s executions in %d s' "$target" "$status" "${runs:-?}" "$elapsed")")
    failures+=("$target")
    # libFuzzer: "artifact_prefix='...'; Test unit written to <path>".
    input=$(sed -n 's/.*Test unit written to //p' "$logfile" | tail -1)
    if [ -n "$input" ] && [ -f "$input" ]; then
        log "$target: the input ($(wc -c <"$input") bytes) was saved as $input"
        echo "base64: $(head -c 4096 "$input" | base64 -w0)"
        echo "hex:    $(head -c 4096 "$input" | od -An -v -tx1 | tr -d ' \n')"
        echo "to run it again: SWIFT_BACKTRACE=enable=no $bin/$target $input"
        echo "to minimize it:  SWIFT_BACKTRACE=enable=no $bin/$target -minimize_crash=1 -runs=10000 -exact_artifact_path=$input.min $input"
    else
        log "$target: libFuzzer saved no input; see $logfile"
    fi
done

log "summary (build $build_seconds s; logs in $scratch/logs/)"
printf '  %s\n' "${summary[@]}" >&2
if [ ${#failures[@]} -gt 0 ]; then
    die "fuzzing found something in: ${failures[*]}"
fi
