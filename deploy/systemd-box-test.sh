#!/usr/bin/env bash
# systemd for real, without systemd as PID 1 on the host: boots the host's systemd in a throw-away
# box (new PID, mount, cgroup, UTS, IPC and network namespaces, on a tmpfs overlay of the host's
# root), runs deploy/install.sh inside it, and checks the deployment with systemctl and curl:
# a chat command answered by the bot through nginx; `systemctl kill -s KILL stockbot` restarts it
# (NRestarts ≥ 1) and the next command is answered; `systemctl kill -s KILL tradedesk` with an order
# held answers that client 502 and queues the next request until the responder is back;
# `systemctl stop` stops the bot cleanly.
# Root only. Everything happens inside the box; the host is untouched.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/common.sh
source "$root/deploy/lib/common.sh"
[ "$(id -u)" -eq 0 ] || die "run as root"
# The box sees the host's root filesystem but has no network: install.sh's packages come from here.
ensure_packages "${INSTALL_PACKAGES[@]}" python3

name=tradedesk-box-$$
if [ -d /sys/fs/cgroup/unified ]; then cgroup=/sys/fs/cgroup/unified/$name; else cgroup=/sys/fs/cgroup/$name; fi
work=$(mktemp -d /tmp/tradedesk-box.XXXXXX)
pid1=""
cleanup() {
    set +e
    if [ -n "$pid1" ]; then
        box systemctl poweroff >/dev/null 2>&1
        for _ in $(seq 50); do kill -0 "$pid1" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$pid1" 2>/dev/null
    fi
    kill -9 "$launcher" 2>/dev/null
    wait "$launcher" 2>/dev/null
    umount -l "$work/t" 2>/dev/null
    rm -rf "$work"
    # This shell joined the box's cgroup to launch it; it leaves before the cgroup is removed.
    echo $$ > "$(dirname "$cgroup")/cgroup.procs"
    find "$cgroup" -depth -type d -exec rmdir {} \; 2>/dev/null
}
trap cleanup EXIT

box() { nsenter -t "$pid1" -m -p -u -i -C -n -r -w "$@"; }

# The box's systemd gets a cgroup tree of its own.
mkdir -p "$cgroup"
cat > "$work/inner.sh" <<'INNER'
set -e
work=$1 checkout=$2
mount --make-rprivate /
mkdir -p "$work/t"
mount -t tmpfs tmpfs "$work/t"
mkdir -p "$work/t/upper" "$work/t/work" "$work/t/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$work/t/upper,workdir=$work/t/work" "$work/t/root"
r=$work/t/root
mount -t proc proc "$r/proc"
mount -t sysfs -o ro sysfs "$r/sys"
mount -t cgroup2 cgroup2 "$r/sys/fs/cgroup"
mount -t tmpfs -o mode=755 tmpfs "$r/dev"
for device in null zero full random urandom tty; do touch "$r/dev/$device"; mount --bind "/dev/$device" "$r/dev/$device"; done
mkdir -p "$r/dev/pts" "$r/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$r/dev/pts"
ln -s pts/ptmx "$r/dev/ptmx"
mount -t tmpfs tmpfs "$r/dev/shm"
mount -t tmpfs tmpfs "$r/run"
mount -t tmpfs tmpfs "$r/tmp"
# The checkout at its own path, wherever it is (the overlay shows only the root filesystem, and
# the box's /tmp is new).
mkdir -p "$r$checkout"
mount --bind "$checkout" "$r$checkout"
# Host units that have no business starting in the box.
for unit in postgresql.service e2scrub_reap.service console-getty.service getty@tty1.service \
            apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer man-db.timer \
            systemd-timesyncd.service; do
    ln -sf /dev/null "$r/etc/systemd/system/$unit"
done
mkdir -p "$r/oldroot"
cd "$r"
pivot_root . oldroot
umount -l /oldroot
export container=tradedesk-box
exec /lib/systemd/systemd --system --unit=multi-user.target
INNER

echo $$ > "$cgroup/cgroup.procs"
setsid unshare --pid --fork --mount --cgroup --uts --ipc --net --kill-child -- bash "$work/inner.sh" "$work" "$root" \
    > "$work/boot.log" 2>&1 &
launcher=$!
for _ in $(seq 100); do
    pid1=$(pgrep -P "$launcher" -x systemd || true)
    [ -n "$pid1" ] && break
    sleep 0.1
done
[ -n "$pid1" ] || die "the box did not boot: $(cat "$work/boot.log")"
for _ in $(seq 100); do
    state=$(box systemctl is-system-running 2>/dev/null || true)
    case $state in running|degraded) break ;; esac
    sleep 0.2
done
log "box booted (systemd $state, PID 1 is host pid $pid1)"

log "deploy/install.sh in the box"
box bash -c "cd '$root' && deploy/install.sh" > "$work/install.log" 2>&1 || { cat "$work/install.log"; die "install.sh failed"; }

# A quote server on the box's loopback, and the settings that use it.
box bash -c 'cat > /tmp/quotes.py' <<'PY'
from http.server import BaseHTTPRequestHandler, HTTPServer
class Quotes(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"Symbol,Date,Time,Open,High,Low,Close,Volume\r\nAAPL.US,2026-11-20,22:00:09,92.1,94,91.5,93.42,51234567\r\n"
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *args): pass
HTTPServer(("127.0.0.1", 8099), Quotes).serve_forever()
PY
box systemd-run --quiet --unit=quotes /usr/bin/python3 /tmp/quotes.py
box bash -c 'cat >> /etc/tradedesk/tradedesk.env' <<'ENV'
REGISTRATION=open
STOCKBOT_QUOTE_URL=http://127.0.0.1:8099/q/l/?s={code}&f=sd2t2ohlcv&h&e=csv
ENV
box systemctl restart stockbot.service

fail() { box systemctl --no-pager status tradedesk.socket tradedesk.service stockbot.service nginx.service >&2 || true
         box journalctl --no-pager -n 60 >&2 || true; die "$*"; }

for unit in tradedesk.socket stockbot.service nginx.service; do
    box systemctl is-active --quiet "$unit" || fail "$unit is not active"
done
api() { box curl -sS --max-time 10 "$@"; }
api http://127.0.0.1/api/health | grep -q '"status":"ok"' || fail "no health through nginx"
box systemctl is-active --quiet tradedesk.service || fail "the socket did not start tradedesk.service"
api -X POST http://127.0.0.1/api/users -H 'Content-Type: application/json' \
    -d '{"username":"alice","password":"correct horse battery"}' > /dev/null
token=$(api -u 'alice:correct horse battery' -X POST http://127.0.0.1/api/tokens | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[ -n "$token" ] || fail "no token"

# ask COMMAND EXPECTED_REPLIES: sends a command and waits for the bot's reply count to reach EXPECTED.
ask() {
    api -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        -d "{\"text\":\"$1\"}" http://127.0.0.1/api/rooms/1/messages | grep -q '"queued"' || fail "command not queued"
    for _ in $(seq 100); do
        replies=$(api -H "Authorization: Bearer $token" http://127.0.0.1/api/rooms/1/messages | { grep -o 'AAPL.US quote is \$93.42 per share' || true; } | wc -l)
        [ "$replies" -ge "$2" ] && return 0
        sleep 0.2
    done
    fail "no reply to $1"
}
ask "/stock=aapl.us" 1
log "the bot answered through nginx"

box systemctl kill -s KILL stockbot.service
for _ in $(seq 50); do
    restarts=$(box systemctl show -p NRestarts --value stockbot.service)
    [ "${restarts:-0}" -ge 1 ] && box systemctl is-active --quiet stockbot.service && break
    sleep 0.2
done
[ "${restarts:-0}" -ge 1 ] || fail "systemd did not restart the killed bot"
ask "/stock=aapl.us" 2
log "after SIGKILL systemd restarted the bot (NRestarts=$restarts) and it answered again"

# kill -9 the responder while it holds an order: nginx answers that client 502, the socket (held by
# systemd) queues the next requests until the restarted responder takes them, and the order ends
# explained, in a file that passes SQLite's integrity check.
box bash -c "curl -sS --max-time 20 -o /tmp/held.json -w '%{http_code}' -H 'Authorization: Bearer $token' \
    -H 'Content-Type: application/json' -d '{\"order\":\"buy\",\"price\":1}' http://127.0.0.1/api/orders > /tmp/held.status" &
held=$!
for _ in $(seq 50); do
    api http://127.0.0.1/api/health | grep -q '"pending":1' && break
    sleep 0.1
done
api http://127.0.0.1/api/health | grep -q '"pending":1' || fail "the order was not held"
box systemctl kill -s KILL tradedesk.service
wait "$held" || true
[ "$(box cat /tmp/held.status)" = "502" ] || fail "the held client got $(box cat /tmp/held.status), not 502"
box grep -q '"error"' /tmp/held.json || fail "nginx's 502 is not JSON"
api http://127.0.0.1/api/health | grep -q '"status":"ok"' || fail "a request sent right after the kill was not answered"
orders=$(api -H "Authorization: Bearer $token" http://127.0.0.1/api/orders)
echo "$orders" | grep -q '"status":"withdrawn"' || fail "the killed responder's order has no final status: $orders"
[ "$(box sqlite3 /var/lib/tradedesk/tradedesk.sqlite 'PRAGMA integrity_check')" = "ok" ] || fail "integrity check failed"
log "after SIGKILL of the responder: 502 for the held client, the next request queued and answered, the order withdrawn, integrity ok"

box systemctl stop stockbot.service
[ "$(box systemctl show -p Result --value stockbot.service)" = "success" ] || fail "the bot did not stop cleanly"
box systemctl is-active --quiet stockbot.service && fail "the bot is still running"
log "systemctl stop: the bot stopped cleanly"

# Installing again upgrades in place: settings and data stay, everything runs again.
box bash -c "cd '$root' && deploy/install.sh" > "$work/upgrade.log" 2>&1 || { cat "$work/upgrade.log"; fail "install.sh (upgrade) failed"; }
box grep -q '^REGISTRATION=open' /etc/tradedesk/tradedesk.env || fail "the upgrade replaced the settings"
ask "/stock=aapl.us" 3
log "install.sh again: upgraded in place, settings and data kept, the bot answers"

box bash -c "cd '$root' && deploy/uninstall.sh" > "$work/uninstall.log" 2>&1 || { cat "$work/uninstall.log"; fail "uninstall.sh failed"; }
box test ! -e /etc/systemd/system/tradedesk.service || fail "uninstall.sh left the units"
box test ! -e /usr/local/bin/stockbot || fail "uninstall.sh left the binaries"
box test -s /var/lib/tradedesk/tradedesk.sqlite || fail "uninstall.sh removed the data"
box test ! -e /etc/nginx/nginx.conf.before-tradedesk || fail "uninstall.sh did not put Debian's nginx.conf back"
log "uninstall.sh: removed, data kept"
echo "systemd box: 1 passed, 0 failed"
