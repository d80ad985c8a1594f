#!/usr/bin/env bash
# The first command on a fresh Debian 12 machine: debootstraps a minimal Debian 12 (--variant=minbase),
# with the Swift toolchain at /opt/swift as swift.org ships it (the host's, bind-mounted read-only)
# and nothing else, and runs `deploy/run.sh` in it as a new user would: run.sh must install the
# toolchain's packages and the build's, build (release, from nothing) and start nginx + responder +
# bot. Then from the host: /api/health answers 200 with status and database "ok", the page is
# served, a user registers and gets a token; SIGTERM stops run.sh and it exits 0 with nothing left.
# Before that, in the bare chroot, ensure_swift's error must name the package of the library the
# toolchain cannot load (libncurses6).
#
# What is tested is the COMMITTED tree (`git archive HEAD`, or FRESH_DEBIAN_REF): uncommitted changes
# are not in it. Root only. It runs in a mount namespace of its own, so no mount outlives it.
#
#   deploy/fresh-debian-test.sh
#
# FRESH_DEBIAN_CACHE (/var/cache/tradedesk-fresh-debian): the pristine debootstrap tree as a tarball
# (remade after FRESH_DEBIAN_MAX_AGE_DAYS, 7) and the .debs apt downloaded in the chroot, so that a
# second run skips debootstrap and the downloads (not the installs, nor the build). A machine without
# the cache makes it. FRESH_DEBIAN_TIMEOUT (1200 s): how long run.sh may take until health answers.
# FRESH_DEBIAN_KEEP=1 keeps the chroot (unmounted) for a look afterwards. FRESH_DEBIAN_RUN_ARGS is
# given to run.sh: `--postgres` makes the first run install PostgreSQL and run on a cluster of its own.
#
# Shared with the host: the network namespace (apt inside needs Debian's mirror), so nginx listens
# on a free loopback port picked here; packages' services are not started in the chroot (a
# policy-rc.d, as in any chroot): run.sh starts its own nginx.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/common.sh
source "$root/deploy/lib/common.sh"
[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap, chroot and mounts)"

# Everything below runs in a private mount namespace: its mounts vanish with it, whatever happens.
if [ -z "${TRADEDESK_FRESH_DEBIAN_NS:-}" ]; then
    ensure_packages debootstrap curl iproute2
    [ -x /opt/swift/usr/bin/swift ] || die "no Swift toolchain at /opt/swift (the chroot gets the host's, read-only)"
    TRADEDESK_FRESH_DEBIAN_NS=1 exec unshare --mount --propagation private -- bash "${BASH_SOURCE[0]}" "$@"
fi

cache=${FRESH_DEBIAN_CACHE:-/var/cache/tradedesk-fresh-debian}
max_age=${FRESH_DEBIAN_MAX_AGE_DAYS:-7}
timeout=${FRESH_DEBIAN_TIMEOUT:-1200}
ref=${FRESH_DEBIAN_REF:-HEAD}
tarball=$cache/bookworm-minbase.tar.gz
started=$SECONDS
elapsed() { local s=$((SECONDS - started)); printf '%d:%02d' $((s / 60)) $((s % 60)); }
step() { log "[$(elapsed)] $*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

# The mirror: the host's (deb822 debian.sources), else Debian's.
mirror=http://deb.debian.org/debian
if [ -r /etc/apt/sources.list.d/debian.sources ]; then
    mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
fi

mkdir -p "$cache/apt-archives/partial"
work=$(mktemp -d "${TMPDIR:-/var/tmp}/tradedesk-fresh-debian.XXXXXX")
dir=$work/root
mkdir -p "$dir"

chroot_pids() { # processes whose root is the chroot
    local p
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/root" 2>/dev/null)" = "$dir" ] && echo "${p#/proc/}"
    done
    return 0
}
mounts_under() { # deepest first
    awk -v d="$dir/" 'index($5, d) == 1 || $5 == substr(d, 1, length(d) - 1) {print $5}' /proc/self/mountinfo | sort -r
}
cleanup() {
    local status=$? pids m
    set +e
    trap - EXIT INT TERM
    pids=$(chroot_pids)
    if [ -n "$pids" ]; then
        kill -TERM $pids 2>/dev/null; sleep 2
        pids=$(chroot_pids); [ -n "$pids" ] && kill -KILL $pids 2>/dev/null; sleep 0.5
    fi
    for m in $(mounts_under); do umount "$m" 2>/dev/null || umount -l "$m"; done
    if [ -n "$(mounts_under)" ]; then
        printf 'warning: still mounted under %s (left in place): %s\n' "$dir" "$(mounts_under | tr '\n' ' ')" >&2
    elif [ "${FRESH_DEBIAN_KEEP:-}" = 1 ]; then
        log "the chroot is kept in $dir"
    else
        rm -rf --one-file-system "$work"
    fi
    exit $status
}
trap cleanup EXIT
trap 'printf "FAIL: line %s: %s\n" "$LINENO" "$BASH_COMMAND" >&2' ERR
trap 'exit 130' INT TERM

# 1. A minimal Debian 12: from the cache, else debootstrap (and cache the pristine tree).
if [ -f "$tarball" ] && [ -n "$(find "$tarball" -mtime -"$max_age" 2>/dev/null)" ]; then
    step "unpacking the cached debootstrap tree ($tarball)"
    tar -xzpf "$tarball" --numeric-owner -C "$dir"
else
    step "debootstrap --variant=minbase bookworm from $mirror (no cached tree, or one older than $max_age days)"
    debootstrap --variant=minbase bookworm "$dir" "$mirror" > "$work/debootstrap.log" 2>&1 \
        || { tail -n 30 "$work/debootstrap.log" >&2; fail "debootstrap failed (log above)"; }
    rm -f "$dir"/var/cache/apt/archives/*.deb
    tar -czpf "$tarball.tmp" --numeric-owner -C "$dir" . && mv "$tarball.tmp" "$tarball"
fi
step "a minimal Debian 12: $(cat "$dir/etc/debian_version"), $(chroot "$dir" dpkg-query -W -f='.\n' | wc -l) packages"

# 2. What a fresh machine has besides: DNS, Debian's sources (the host's mirror, with updates and
# security), and for this machine the git config that sends github.com to the package mirror.
cp /etc/resolv.conf "$dir/etc/resolv.conf"
if [ -r /etc/apt/sources.list.d/debian.sources ]; then
    cp /etc/apt/sources.list.d/debian.sources "$dir/etc/apt/sources.list.d/debian.sources"
    rm -f "$dir/etc/apt/sources.list"
fi
printf '#!/bin/sh\n# a chroot: packages start no services\nexit 101\n' > "$dir/usr/sbin/policy-rc.d"
chmod 755 "$dir/usr/sbin/policy-rc.d"
for scope in system global; do
    if [ "$scope" = system ]; then file=$dir/etc/gitconfig; else file=$dir/root/.gitconfig; fi
    while read -r key value; do
        git config --file "$file" --add "$key" "$value"
    done < <(git config --"$scope" --get-regexp '^url\..*\.insteadof$' 2>/dev/null || true)
done

# 3. The checkout: the committed tree, as a clone would have it.
mkdir -p "$dir/root/tradedesk"
if git -C "$root" rev-parse --git-dir >/dev/null 2>&1; then
    git -C "$root" archive "$ref" | tar -x -C "$dir/root/tradedesk"
    if [ "$ref" = HEAD ] && [ -n "$(git -C "$root" status --porcelain --untracked-files=no)" ]; then
        log "note: uncommitted changes in $root are not tested (the chroot gets git archive HEAD: $(git -C "$root" rev-parse --short HEAD))"
    fi
else # not a git checkout (an unpacked release): the files as they are, without build output or state
    tar -c -C "$root" --exclude='./.build*' --exclude=./.swiftpm --exclude=./.run --exclude=./Package.resolved . \
        | tar -x -C "$dir/root/tradedesk"
fi

# 4. Mounts: proc, sys, dev, a tmpfs /run, the toolchain and the package mirror read-only, apt's cache.
mount -t proc proc "$dir/proc"
mount -t sysfs -o ro sysfs "$dir/sys"
mount --rbind /dev "$dir/dev"
mount -t tmpfs -o mode=755 tmpfs "$dir/run"
for ro in /opt/swift /opt/swift-packages; do
    [ -d "$ro" ] || continue
    mkdir -p "$dir$ro"
    mount --bind "$ro" "$dir$ro"
    mount -o remount,bind,ro "$dir$ro"
done
mount --bind "$cache/apt-archives" "$dir/var/cache/apt/archives"

# 5. The toolchain alone does not start there, and ensure_swift says which package is missing.
step "the bare chroot: swift --version, and ensure_swift's error (its package installs skipped)"
if out=$(chroot "$dir" /opt/swift/usr/bin/swift --version 2>&1); then
    log "note: the toolchain already starts in a bare minbase chroot: $(head -1 <<<"$out")"
else
    printf '  swift --version: %s\n' "$(head -1 <<<"$out")"
    out=$(chroot "$dir" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /bin/bash -c \
        'source /root/tradedesk/deploy/lib/common.sh; ensure_packages() { :; }; ensure_swift' 2>&1) \
        && fail "ensure_swift passed with a toolchain that does not start"
    printf '  ensure_swift: %s\n' "$out"
    grep -q 'libncurses6' <<<"$out" || fail "ensure_swift's error does not name the package to install (libncurses6)"
fi

# 6. deploy/run.sh, as a new user runs it: root, a login PATH, nothing from this environment.
port=""
for candidate in $(shuf -i 20000-45000 -n 100); do
    if [ -z "$(ss -Hltn "sport = :$candidate")" ]; then port=$candidate; break; fi
done
[ -n "$port" ] || fail "no free loopback port found"
base=http://127.0.0.1:$port
step "deploy/run.sh in the chroot (PORT=$port); its output follows, with the time since this test began"
stamp() { local line; while IFS= read -r line; do printf '  [%s] %s\n' "$(elapsed)" "$line"; done; }
(
    set +e
    chroot "$dir" /bin/bash -c 'echo $$ > /run/fresh-debian-run.pid; cd /root/tradedesk && exec /usr/bin/env -i \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM=dumb \
        PORT='"$port"' deploy/run.sh '"${FRESH_DEBIAN_RUN_ARGS:-}"
    echo $? > "$work/run.status"
) 2>&1 | stamp &
runner=$!
run_started=$SECONDS
next_report=60
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/api/health" 2>/dev/null)" = 200 ]; do
    [ -e "$work/run.status" ] && fail "deploy/run.sh exited ($(cat "$work/run.status")) before /api/health answered"
    waited=$((SECONDS - run_started))
    [ "$waited" -lt "$timeout" ] || fail "/api/health did not answer 200 within $timeout s"
    if [ "$waited" -ge "$next_report" ]; then
        step "waiting for $base/api/health ($waited s)"
        next_report=$((next_report + 60))
    fi
    sleep 1
done
to_health=$((SECONDS - run_started))
step "/api/health answered 200, $to_health s after deploy/run.sh started"

# 7. From the host, through the chroot's nginx.
health=$(curl -fsS "$base/api/health")
printf '  GET /api/health: %s\n' "$health"
grep -q '"status":"ok"' <<<"$health" || fail "health is not ok: $health"
grep -q '"database":"ok"' <<<"$health" || fail "health's database is not ok: $health"
page=$(curl -fsS "$base/") || fail "GET / failed"
grep -q '<title>tradedesk' <<<"$page" || fail "GET / is not the chat page"
printf '  GET /: the chat page (%d bytes)\n' "${#page}"
registered=$(curl -sS -w ' %{http_code}' -H 'Content-Type: application/json' \
    -d '{"username":"fresh","password":"first run on Debian 12"}' "$base/api/users")
printf '  POST /api/users: %s\n' "$registered"
grep -q '"username":"fresh"' <<<"$registered" || fail "registration failed: $registered"
token=$(curl -fsS -u 'fresh:first run on Debian 12' -X POST "$base/api/tokens" | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[ -n "$token" ] || fail "no API token for the new user"
rooms=$(curl -sS -w ' %{http_code}' -H "Authorization: Bearer $token" "$base/api/rooms")
printf '  POST /api/tokens: a token; GET /api/rooms with it: %s\n' "$rooms"
[ "${rooms##* }" = 200 ] || fail "GET /api/rooms with the token: $rooms"

# 8. SIGTERM stops all three, run.sh exits 0, nothing is left running in the chroot.
step "SIGTERM to deploy/run.sh"
kill -TERM "$(cat "$dir/run/fresh-debian-run.pid")"
for _ in $(seq 60); do [ -e "$work/run.status" ] && break; sleep 0.5; done
[ -e "$work/run.status" ] || fail "deploy/run.sh did not exit within 30 s of SIGTERM"
wait "$runner" 2>/dev/null || true
[ "$(cat "$work/run.status")" = 0 ] || fail "deploy/run.sh exited $(cat "$work/run.status") on SIGTERM, not 0"
sleep 0.5
left=$(chroot_pids)
[ -z "$left" ] || fail "still running in the chroot after run.sh exited: $(ps -o pid=,args= -p $left | tr '\n' ';')"
chroot "$dir" apt-get autoclean -qq >/dev/null 2>&1 || true
step "passed: a fresh Debian 12 ran deploy/run.sh to a healthy tradedesk in $to_health s; it stopped cleanly"
