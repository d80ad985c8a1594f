#!/usr/bin/env bash
# Measures the two client libraries issue 15 chose between, libpq and postgres-nio 1.33.2, on the
# same query path from plain threads: the session lookup and a session insert, 1 and 8 threads.
#
#   bench/pg-client/run.sh          builds release (incrementally), starts a private PostgreSQL 15,
#                                   runs every case (one process each), prints the tables, stops it
#   bench/pg-client/run.sh --cold   the same, after removing this package's build folders, so that
#                                   the build times are first builds'; it also times postgres-nio's
#                                   first debug build
#   CASE_SECONDS=5 WARMUP_SECONDS=1 the counted and the uncounted time of each case
#
# About 2 minutes warm; --cold adds the builds (several minutes on 2 shared cores). Builds are
# niced; each product builds in a folder of its own (.build-libpq, .build-nio, .build-nio-debug),
# so that neither is timed with the other's work done.
set -euo pipefail
# The whole script is one block, read before any of it runs, so that editing it mid-run is harmless.
{
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cold=false
case "${1:-}" in
    "") ;;
    --cold) cold=true ;;
    *) echo "usage: $0 [--cold]" >&2; exit 2 ;;
esac
seconds=${CASE_SECONDS:-5}
warmup=${WARMUP_SECONDS:-1}
pgbin=/usr/lib/postgresql/15/bin
export PATH=/opt/swift/usr/bin:$PATH

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

missing=()
for pkg in postgresql-15 libpq-dev pkg-config binutils; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    apt-get install -y -q "${missing[@]}" >/dev/null
fi

tmp=$(mktemp -d /tmp/pg-client-bench.XXXXXX)
server_started=false
cleanup() {
    if $server_started; then
        (cd "$tmp" && runuser -u postgres -- "$pgbin/pg_ctl" -D "$tmp/data" -m fast -w stop >/dev/null) || true
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT

# build NAME PRODUCT CONFIGURATION: builds into .build-NAME and records its time, the binary's path
# and its size. Resolving (copying the packages from the mirror) is not timed: it is not compiling.
declare -A build_seconds binary
build() {
    local scratch="$here/.build-$1" started
    if ! swift package resolve --package-path "$here" --scratch-path "$scratch" >"$tmp/resolve-$1.log" 2>&1; then
        cat "$tmp/resolve-$1.log" >&2
        exit 1
    fi
    log "building $2 ($3) in .build-$1; load average $(cut -d' ' -f1-3 /proc/loadavg)"
    started=$(date +%s%N)
    if ! nice -n 10 swift build --package-path "$here" --scratch-path "$scratch" -c "$3" --product "$2" >"$tmp/build-$1.log" 2>&1; then
        cat "$tmp/build-$1.log" >&2
        exit 1
    fi
    build_seconds[$1]=$(( ($(date +%s%N) - started) / 1000000000 ))
    if grep -q 'warning:' "$tmp/build-$1.log"; then grep 'warning:' "$tmp/build-$1.log" >&2; fi
    binary[$1]="$(swift build --package-path "$here" --scratch-path "$scratch" -c "$3" --show-bin-path)/$2"
}

if $cold; then rm -rf "$here/.build-libpq" "$here/.build-nio" "$here/.build-nio-debug"; fi
build libpq pgclient-libpq release
build nio pgclient-nio release
if $cold; then build nio-debug pgclient-nio debug; fi

log "starting PostgreSQL 15 in $tmp (unix socket only)"
chown postgres: "$tmp"
(cd "$tmp" && runuser -u postgres -- "$pgbin/initdb" -D "$tmp/data" -A trust -U postgres --no-sync >"$tmp/initdb.log")
(cd "$tmp" && runuser -u postgres -- "$pgbin/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w \
    -o "-c listen_addresses='' -k $tmp" start >/dev/null)
server_started=true
psql -h "$tmp" -U postgres -d postgres -v ON_ERROR_STOP=1 -q -f "$here/schema.sql"

rows=()
for threads in 1 8; do
    for query in lookup insert; do
        for client in libpq nio-prepared nio-async nio-query; do
            case $client in
                libpq) command=("${binary[libpq]}") ;;
                nio-*) command=("${binary[nio]}" --api "${client#nio-}") ;;
            esac
            log "$client $query, $threads thread(s)"
            rows+=("$("${command[@]}" --socket "$tmp" --query "$query" --threads "$threads" \
                --seconds "$seconds" --warmup "$warmup")")
        done
    done
done

size() { numfmt --to=iec-i --suffix=B --format=%.1f "$1"; }
stripped() { strip -o "$tmp/stripped" "$1" && size "$(stat -c %s "$tmp/stripped")"; }
echo
echo "Run $(date -u '+%Y-%m-%d %H:%M UTC'): $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //') ($(nproc) cores)," \
    "$(swift --version 2>&1 | grep -o 'Swift version [0-9.]*'), $(psql --version | grep -o 'PostgreSQL) [0-9.]*' | tr -d ')')," \
    "${seconds} s counted per case after ${warmup} s, load average $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "| client | query | threads | queries/s | p50 µs | p99 µs | peak RSS MiB | queries timed |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
printf '%s\n' "${rows[@]}"
echo
echo "| build | time | binary | stripped |"
echo "| --- | ---: | ---: | ---: |"
for name in libpq nio nio-debug; do
    [ -n "${binary[$name]:-}" ] || continue
    case $name in libpq) label="libpq, release" ;; nio) label="postgres-nio, release" ;; *) label="postgres-nio, first debug" ;; esac
    if $cold; then time="${build_seconds[$name]} s"; else time="n/a (warm; --cold times it)"; fi
    echo "| $label | $time | $(size "$(stat -c %s "${binary[$name]}")") | $(stripped "${binary[$name]}") |"
done
exit
}
