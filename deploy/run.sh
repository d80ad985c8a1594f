#!/usr/bin/env bash
# Builds tradedesk and runs nginx + responder + bot on this machine, in the foreground, with state in
# $STATE_DIR. Ctrl-C (or SIGTERM) stops all three. A second run reuses the build and the database.
#
#   PORT=8080 STATE_DIR=.run deploy/run.sh
#
# Every variable in the README's configuration table is passed through to the responder and the bot.
# nginx serves plain HTTP on 127.0.0.1:PORT for the names 127.0.0.1 and localhost (SERVER_NAME="a b"
# replaces them); any other Host gets 421.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/common.sh
source "$root/deploy/lib/common.sh"

PORT=${PORT:-8080}
STATE_DIR=${STATE_DIR:-$root/.run}
mkdir -p "$STATE_DIR"
STATE_DIR=$(cd "$STATE_DIR" && pwd)

ensure_packages "${BUILD_PACKAGES[@]}"
ensure_swift

log "building (release)"
(cd "$root" && swift build -c release --product tradedesk && swift build -c release --product stockbot) >&2
bin=$(cd "$root" && swift build -c release --show-bin-path)

mkdir -p "$STATE_DIR/nginx/logs" "$STATE_DIR/nginx/temp"
# nginx's workers run as www-data when nginx starts as root, and may not be allowed into the
# checkout (say /root/tradedesk): their socket and a copy of the page then live under /run.
if [ "$(id -u)" -eq 0 ]; then shared=/run/tradedesk-local; else shared=$STATE_DIR; fi
mkdir -p "$shared/sock"
chmod 755 "$shared" "$shared/sock"
rm -rf "$shared/www"
cp -r "$root/web" "$shared/www"
socket="$shared/sock/tradedesk.sock"

export DATABASE_PATH="${DATABASE_PATH:-$STATE_DIR/tradedesk.sqlite}"
export REGISTRATION="${REGISTRATION:-open}"
export FCGI_LISTEN="unix:$socket"
# nginx's workers run as www-data when nginx starts as root; the socket (0660) must be theirs to use.
if [ "$(id -u)" -eq 0 ]; then export FCGI_SOCKET_GROUP=${FCGI_SOCKET_GROUP:-www-data}; fi

pids=()
stop_all() {
    trap - INT TERM EXIT
    log "stopping"
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap 'stop_all; exit 0' INT TERM
trap stop_all EXIT

"$bin/tradedesk" migrate
"$bin/tradedesk" serve & pids+=($!)
for _ in $(seq 100); do [ -S "$socket" ] && break; sleep 0.1; done
[ -S "$socket" ] || die "the responder did not start (see its log above)"

"$bin/stockbot" & pids+=($!)

"$root/deploy/render-nginx-conf.sh" "$STATE_DIR/nginx" "$PORT" "$socket" "$shared/www" > "$STATE_DIR/nginx/nginx.conf"
nginx -p "$STATE_DIR/nginx" -c "$STATE_DIR/nginx/nginx.conf" -e "$STATE_DIR/nginx/logs/error.log" -g 'daemon off;' & pids+=($!)

for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$PORT/api/health" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$PORT/api/health" >/dev/null || die "nginx did not come up on port $PORT (see $STATE_DIR/nginx/logs/error.log)"

log "tradedesk is running at http://127.0.0.1:$PORT/  (health: /api/health; state: $STATE_DIR; Ctrl-C stops)"
# If any of the three ends, stop the others and say so.
set +e
wait -n "${pids[@]}"
status=$?
log "a process exited (status $status); stopping the others"
exit 1
