#!/usr/bin/env bash
# systemd for real, without systemd as PID 1 on the host: boots the host's systemd in a throw-away
# box (new PID, mount, cgroup, UTS, IPC and network namespaces, on a tmpfs overlay of the host's
# root), runs deploy/install.sh inside it, and checks the deployment with systemctl and curl:
# tradedesk installed as an nginx site beside an existing one (an "other" site on port 8081, and
# Debian's default site), which keep answering; HTTPS with HTTP/2 and HSTS (a self-signed certificate
# made here), the HTTP->HTTPS redirect, the ACME webroot, 421 for a foreign Host; the bot's
# IPAddressDeny= (a quote server on loopback is refused, the user gets the apology) and the drop-in
# IPAddressAllow= that lets it through;
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

fail() { box systemctl --no-pager status tradedesk.socket tradedesk.service stockbot.service nginx.service >&2 || true
         box journalctl --no-pager -n 60 >&2 || true; die "$*"; }

# An existing site on this nginx: tradedesk must install beside it (and beside Debian's default).
box bash -c 'mkdir -p /srv/other && echo "the other site" > /srv/other/index.html && cat > /etc/nginx/sites-available/other' <<'SITE'
server {
    listen 8081;
    server_name other.box;
    root /srv/other;
}
SITE
box ln -s /etc/nginx/sites-available/other /etc/nginx/sites-enabled/other
box systemctl restart nginx
other_answers() {
    box curl -sS --max-time 5 --resolve other.box:8081:127.0.0.1 http://other.box:8081/ | grep -qx "the other site" || fail "the other site does not answer ($1)"
    box curl -sS --max-time 5 http://127.0.0.1/ | grep -q "Welcome to nginx" || fail "Debian's default site does not answer ($1)"
}
nginx_conf_sum=$(box sha256sum /etc/nginx/nginx.conf)
# The upgrade path from an install that replaced Debian's nginx.conf with tradedesk's (2c57b37 is the
# last commit whose install.sh did that).
box cp -p /etc/nginx/nginx.conf /etc/nginx/nginx.conf.before-tradedesk
git -C "$root" show 2c57b37:nginx.conf | box bash -c 'cat > /etc/nginx/nginx.conf'

log "deploy/install.sh in the box"
box bash -c "cd '$root' && SERVER_NAME='tradedesk.box desk.box' deploy/install.sh" > "$work/install.log" 2>&1 || { cat "$work/install.log"; die "install.sh failed"; }
[ "$(box sha256sum /etc/nginx/nginx.conf)" = "$nginx_conf_sum" ] || fail "install.sh did not put Debian's nginx.conf back"
box test ! -e /etc/nginx/nginx.conf.before-tradedesk || fail "nginx.conf.before-tradedesk is still there"
box test -L /etc/nginx/sites-enabled/tradedesk -a -f /etc/nginx/conf.d/tradedesk.conf || fail "tradedesk's site is not installed"
grep -q "SELF-SIGNED PLACEHOLDER" "$work/install.log" || fail "install.sh did not warn about the placeholder certificate"
box curl -sS -k --max-time 5 --resolve tradedesk.box:443:127.0.0.1 -o /dev/null https://tradedesk.box/ || fail "no HTTPS with the placeholder"
other_answers "after install"
log "installed beside the other site and Debian's default; Debian's nginx.conf put back; a placeholder certificate, loudly"

# The operator's certificate: made here, named in the one include file, nginx reloaded.
box bash -c 'mkdir -p /etc/tradedesk/test-tls && cd /etc/tradedesk/test-tls &&
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=tradedesk.box \
        -addext "subjectAltName=DNS:tradedesk.box,DNS:desk.box" -keyout key.pem -out cert.pem 2>/dev/null &&
    printf "ssl_certificate /etc/tradedesk/test-tls/cert.pem;\nssl_certificate_key /etc/tradedesk/test-tls/key.pem;\n" > /etc/tradedesk/nginx-tls.conf &&
    nginx -t -q && systemctl reload nginx'
sleep 0.5
tls=(--cacert /etc/tradedesk/test-tls/cert.pem --resolve tradedesk.box:443:127.0.0.1 --resolve tradedesk.box:80:127.0.0.1
     --resolve desk.box:443:127.0.0.1)
B=https://tradedesk.box
head=$(box curl -sS --max-time 5 "${tls[@]}" --http2 -D - -o /dev/null -w 'version=%{http_version}' $B/)
echo "$head" | grep -q 'version=2' || fail "not HTTP/2 over TLS: $head"
echo "$head" | grep -qi '^strict-transport-security: max-age=63072000' || fail "no HSTS: $head"
box curl -sS --max-time 5 "${tls[@]}" -o /dev/null https://desk.box/ || fail "the second name does not answer"
redirect=$(box curl -sS --max-time 5 "${tls[@]}" -o /dev/null -w '%{http_code} %{redirect_url}' "http://tradedesk.box/api/health?x=1")
[ "$redirect" = "301 https://tradedesk.box/api/health?x=1" ] || fail "plain HTTP is not redirected: $redirect"
box bash -c 'mkdir -p /var/www/letsencrypt/.well-known/acme-challenge && echo challenge-token > /var/www/letsencrypt/.well-known/acme-challenge/t1'
[ "$(box curl -sS --max-time 5 "${tls[@]}" http://tradedesk.box/.well-known/acme-challenge/t1)" = "challenge-token" ] || fail "the ACME challenge is not served over plain HTTP"
misdirected=$(box curl -sS --max-time 5 "${tls[@]}" -H 'Host: rebound.example' -w ' %{http_code}' $B/api/health)
case $misdirected in '{"error":"misdirected request'*' 421') ;; *) fail "a foreign Host was not refused: $misdirected" ;; esac
box curl -sS -k --max-time 5 --resolve rebound.example:443:127.0.0.1 -o /dev/null https://rebound.example/ 2>/dev/null \
    && fail "a TLS handshake for an unknown name was accepted"
log "HTTPS: HTTP/2, HSTS, both names; plain HTTP redirected but ACME; 421 for a foreign Host; unknown TLS name refused"

# A quote server on the box's loopback, and the settings that use it.
box bash -c 'cat > /tmp/quotes.py' <<'PY'
from http.server import BaseHTTPRequestHandler, HTTPServer
class Quotes(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"Symbol,Date,Time,Open,High,Low,Close,Volume\r\nAAPL.US,2026-11-20,22:00:09,92.1,94,91.5,93.42,51234567\r\n"
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *args): pass
HTTPServer(("127.0.0.2", 8099), Quotes).serve_forever()
PY
box systemd-run --quiet --unit=quotes /usr/bin/python3 /tmp/quotes.py
box bash -c 'cat >> /etc/tradedesk/tradedesk.env' <<'ENV'
REGISTRATION=open
STOCKBOT_QUOTE_URL=http://127.0.0.2:8099/q/l/?s={code}&f=sd2t2ohlcv&h&e=csv
STOCKBOT_MAX_ATTEMPTS=2
STOCKBOT_RETRY_BACKOFF=0.2
ENV
box systemctl restart stockbot.service

for unit in tradedesk.socket stockbot.service nginx.service; do
    box systemctl is-active --quiet "$unit" || fail "$unit is not active"
done
api() { box curl -sS --max-time 10 "${tls[@]}" "$@"; }
api $B/api/health | grep -q '"status":"ok"' || fail "no health through nginx"
box systemctl is-active --quiet tradedesk.service || fail "the socket did not start tradedesk.service"
api -X POST $B/api/users -H 'Content-Type: application/json' \
    -d '{"username":"alice","password":"correct horse battery"}' > /dev/null
token=$(api -u 'alice:correct horse battery' -X POST $B/api/tokens | sed -n 's/.*"token":"\([^"]*\)".*/\1/p')
[ -n "$token" ] || fail "no token"
# The browser's way over TLS: a Secure __Host- session cookie (set by the responder when nginx
# passes HTTPS=on).
cookie=$(api -D - -o /dev/null -X POST $B/api/session -H 'Content-Type: application/json' -H "Origin: $B" \
    -d '{"username":"alice","password":"correct horse battery"}' | grep -i '^set-cookie:' || true)
case $cookie in *__Host-tradedesk_session=*Secure*) cookie_note="Secure __Host- cookie" ;;
                *tradedesk_session=*Secure*) cookie_note="Secure cookie, WITHOUT the __Host- prefix (responder not updated yet)" ;;
                *) fail "the session cookie over TLS is not Secure: $cookie" ;; esac
log "over TLS the login sets a $cookie_note"

# ask COMMAND EXPECTED_REPLIES: sends a command and waits for the bot's reply count to reach EXPECTED.
ask() {
    api -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
        -d "{\"text\":\"$1\"}" $B/api/rooms/1/messages | grep -q '"queued"' || fail "command not queued"
    for _ in $(seq 100); do
        replies=$(api -H "Authorization: Bearer $token" $B/api/rooms/1/messages | { grep -o 'AAPL.US quote is \$93.42 per share' || true; } | wc -l)
        [ "$replies" -ge "$2" ] && return 0
        sleep 0.2
    done
    fail "no reply to $1"
}
# The shipped stockbot.service denies loopback (IPAddressDeny=, enforced by systemd with a cgroup BPF
# program): the bot cannot reach the quote server on 127.0.0.2 and answers with its apology.
api -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"text":"/stock=aapl.us"}' $B/api/rooms/1/messages | grep -q '"queued"' || fail "command not queued"
outcome=""
for _ in $(seq 100); do
    messages=$(api -H "Authorization: Bearer $token" $B/api/rooms/1/messages)
    case $messages in *'Sorry, I could not get a quote for AAPL.US'*) outcome=denied; break ;;
                      *'AAPL.US quote is $93.42 per share'*) outcome=reached; break ;; esac
    sleep 0.2
done
case $outcome in
    denied) log "IPAddressDeny= is enforced here: the bot could not reach the quote server on loopback and apologised" ;;
    reached) fail "the bot reached the quote server on loopback despite IPAddressDeny=" ;;
    *) fail "no reply from the bot to the denied command" ;;
esac
# The operator's drop-in for an address the bot may reach (a resolver, here the quote server).
box bash -c 'mkdir -p /etc/systemd/system/stockbot.service.d && printf "[Service]\nIPAddressAllow=127.0.0.2\n" > /etc/systemd/system/stockbot.service.d/allow-quotes.conf'
box systemctl daemon-reload
box systemctl restart stockbot.service
ask "/stock=aapl.us" 1
# The allow is narrow: nginx on 127.0.0.1 is still out of the bot's reach.
box systemd-run --quiet --wait --pipe /usr/bin/curl -sS --max-time 3 -o /dev/null http://127.0.0.1/ \
    || fail "a transient unit cannot reach nginx on 127.0.0.1 even without address rules"
rules=$(box systemctl show -p IPAddressDeny --value stockbot.service)
denied=0
box systemd-run --quiet --wait --pipe -p "IPAddressDeny=$rules" -p IPAddressAllow=127.0.0.2 \
    /usr/bin/curl -sS --max-time 3 -o /dev/null http://127.0.0.1/ 2>/dev/null || denied=$?
[ "$denied" -ne 0 ] || fail "with the bot's address rules ($rules), 127.0.0.1 was reachable"
log "with the drop-in IPAddressAllow=127.0.0.2 the bot answered through nginx; 127.0.0.1 stays denied"

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
box bash -c "curl -sS --max-time 20 ${tls[*]} -o /tmp/held.json -w '%{http_code}' -H 'Authorization: Bearer $token' \
    -H 'Content-Type: application/json' -d '{\"order\":\"buy\",\"price\":1}' $B/api/orders > /tmp/held.status" &
held=$!
for _ in $(seq 50); do
    api $B/api/health | grep -q '"pending":1' && break
    sleep 0.1
done
api $B/api/health | grep -q '"pending":1' || fail "the order was not held"
box systemctl kill -s KILL tradedesk.service
wait "$held" || true
[ "$(box cat /tmp/held.status)" = "502" ] || fail "the held client got $(box cat /tmp/held.status), not 502"
box grep -q '"error"' /tmp/held.json || fail "nginx's 502 is not JSON"
api $B/api/health | grep -q '"status":"ok"' || fail "a request sent right after the kill was not answered"
orders=$(api -H "Authorization: Bearer $token" $B/api/orders)
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
box grep -q test-tls /etc/tradedesk/nginx-tls.conf || fail "the upgrade replaced the TLS include"
box grep -q 'server_name tradedesk.box desk.box;' /etc/nginx/sites-available/tradedesk || fail "the upgrade lost SERVER_NAME"
ask "/stock=aapl.us" 3
other_answers "after the upgrade"
log "install.sh again: upgraded in place, settings, certificate, names and data kept, the bot answers"

box bash -c "cd '$root' && deploy/uninstall.sh" > "$work/uninstall.log" 2>&1 || { cat "$work/uninstall.log"; fail "uninstall.sh failed"; }
box test ! -e /etc/systemd/system/tradedesk.service || fail "uninstall.sh left the units"
box test ! -e /usr/local/bin/stockbot || fail "uninstall.sh left the binaries"
box test -s /var/lib/tradedesk/tradedesk.sqlite || fail "uninstall.sh removed the data"
for piece in /etc/nginx/sites-enabled/tradedesk /etc/nginx/sites-available/tradedesk /etc/nginx/conf.d/tradedesk.conf; do
    box test ! -e "$piece" || fail "uninstall.sh left $piece"
done
[ "$(box sha256sum /etc/nginx/nginx.conf)" = "$nginx_conf_sum" ] || fail "uninstall.sh changed Debian's nginx.conf"
box test -e /etc/nginx/sites-enabled/other || fail "uninstall.sh removed the other site"
other_answers "after uninstall"
log "uninstall.sh: tradedesk's pieces removed, the other sites answer, Debian's nginx.conf as it was, data kept"
echo "systemd box: 1 passed, 0 failed"
