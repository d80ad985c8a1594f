#!/usr/bin/env bash
# Builds tradedesk and runs nginx + responder + bot on this machine, in the foreground, with state in
# $STATE_DIR. Ctrl-C (or SIGTERM) stops all three. A second run reuses the build and the database.
#
#   PORT=8080 STATE_DIR=.run deploy/run.sh
#
# The data is in SQLite ($STATE_DIR/tradedesk.sqlite, or DATABASE_PATH) unless:
#   deploy/run.sh --postgres             a private PostgreSQL cluster in $STATE_DIR/postgres, made on
#                                        the first run (lib/postgres.sh), stopped with the rest;
#   DATABASE_URL=postgresql://… deploy/run.sh
#                                        an existing PostgreSQL: migrated with DATABASE_URL, which
#                                        must then be the database owner's; the responder uses it too,
#                                        and the bot STOCKBOT_DATABASE_URL if set, else DATABASE_URL.
# With --postgres, as in production, the owner tradedesk_owner migrates, and the responder and the
# bot log in as roles of their own (desk_responder in tradedesk_responder, desk_bot in
# tradedesk_bot), which hold only the grants migrate gave those group roles.
#
# Every variable in the README's configuration table is passed through to the responder and the bot.
# nginx serves plain HTTP on 127.0.0.1:PORT for the names 127.0.0.1 and localhost (SERVER_NAME="a b"
# replaces them); any other Host gets 421.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/common.sh
source "$root/deploy/lib/common.sh"
# shellcheck source=lib/postgres.sh
source "$root/deploy/lib/postgres.sh"

postgres=no
for arg in "$@"; do
    case $arg in
        --postgres) postgres=yes ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument: $arg (deploy/run.sh [--postgres])" ;;
    esac
done
if [ "$postgres" = yes ] && [ -n "${DATABASE_URL:-}" ]; then
    die "--postgres starts a cluster of its own; DATABASE_URL names an existing server: choose one"
fi

PORT=${PORT:-8080}
STATE_DIR=${STATE_DIR:-$root/.run}
mkdir -p "$STATE_DIR"
STATE_DIR=$(cd "$STATE_DIR" && pwd)

ensure_packages "${BUILD_PACKAGES[@]}"
if [ "$postgres" = yes ]; then ensure_packages "${POSTGRES_PACKAGES[@]}"; fi
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

if [ "$postgres" = no ] && [ -z "${DATABASE_URL:-}" ]; then
    export DATABASE_PATH="${DATABASE_PATH:-$STATE_DIR/tradedesk.sqlite}"
fi
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
    # After the responder and the bot: they drain into the database first.
    local_pg_stop
}
trap 'stop_all; exit 0' INT TERM
trap stop_all EXIT

# Who migrates, serves and runs the bot (each process gets its own DATABASE_URL, never the others').
migrate_url=${DATABASE_URL:-} serve_url=${DATABASE_URL:-} bot_url=${STOCKBOT_DATABASE_URL:-${DATABASE_URL:-}}
if [ "$postgres" = yes ]; then
    pg_dir=$STATE_DIR/postgres
    # The cluster's user (postgres, when root) must reach its data: a state folder under /root is
    # closed to it, and the data then lives under /var/lib.
    if [ "$(id -u)" -eq 0 ] && ! runuser -u postgres -- test -x "$STATE_DIR" 2>/dev/null; then
        pg_dir=/var/lib/tradedesk-local/postgres
        log "the postgres user cannot enter $STATE_DIR: the cluster's data is in $pg_dir"
        mkdir -p /var/lib/tradedesk-local
    fi
    # Root's processes reach a socket anywhere; the folder under /run keeps it off the checkout.
    if [ "$(id -u)" -eq 0 ]; then pg_socket=$shared/pg; else pg_socket=$pg_dir; fi
    local_pg_start "$pg_dir" "$pg_socket"
    local_pg_create_database
    migrate_url=$(local_pg_url tradedesk_owner)
    serve_url=$(local_pg_url desk_responder)
    bot_url=$(local_pg_url desk_bot)
fi
unset DATABASE_URL STOCKBOT_DATABASE_URL

# env sets DATABASE_URL only when there is one, and execs the program: $! is the program's pid.
env ${migrate_url:+"DATABASE_URL=$migrate_url"} "$bin/tradedesk" migrate
# The login roles join the group roles that migrate creates.
if [ "$postgres" = yes ]; then local_pg_create_login_roles; fi

env ${serve_url:+"DATABASE_URL=$serve_url"} "$bin/tradedesk" serve & pids+=($!)
for _ in $(seq 100); do [ -S "$socket" ] && break; sleep 0.1; done
[ -S "$socket" ] || die "the responder did not start (see its log above)"

env ${bot_url:+"DATABASE_URL=$bot_url"} "$bin/stockbot" & pids+=($!)

"$root/deploy/render-nginx-conf.sh" "$STATE_DIR/nginx" "$PORT" "$socket" "$shared/www" > "$STATE_DIR/nginx/nginx.conf"
nginx -p "$STATE_DIR/nginx" -c "$STATE_DIR/nginx/nginx.conf" -e "$STATE_DIR/nginx/logs/error.log" -g 'daemon off;' & pids+=($!)

for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$PORT/api/health" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$PORT/api/health" >/dev/null || die "nginx did not come up on port $PORT (see $STATE_DIR/nginx/logs/error.log)"

log "tradedesk is running at http://127.0.0.1:$PORT/  (health: /api/health; state: $STATE_DIR; Ctrl-C stops)"
if [ "$postgres" = yes ]; then log "PostgreSQL: psql '$(local_pg_url tradedesk_owner)' (the owner; data in $pg_dir/data)"; fi
# If any of the three ends, stop the others and say so.
set +e
wait -n "${pids[@]}"
status=$?
log "a process exited (status $status); stopping the others"
exit 1
