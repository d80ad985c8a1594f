# A private PostgreSQL cluster for deploy/run.sh --postgres: source it (after common.sh), don't run it.
#
#   local_pg_start DIR SOCKET_DIR   initdb DIR/data once, start it listening on SOCKET_DIR only
#   local_pg_create_database        the role tradedesk_owner and the database tradedesk it owns
#   local_pg_create_login_roles     desk_responder and desk_bot, in the group roles migrate made
#   local_pg_url ROLE               the libpq URL of the database tradedesk as ROLE
#   local_pg_stop                   a fast shutdown (the data stays)
#
# The cluster runs as an unprivileged user, since initdb and postgres refuse root: as the `postgres`
# system user (made by Debian's postgresql package) when the script runs as root, else as the
# current user, who then owns DIR and SOCKET_DIR.
#
# Authentication is `trust` for every role, which is fine for a local run only: the cluster
# listens on no TCP port, and its socket lies in a directory of mode 0700 that only the cluster's
# user and root (who runs everything here when the script runs as root) can enter. A production
# database uses passwords or peer authentication instead (deploy/install.sh's header).

# The folder of initdb, pg_ctl, postgres and psql: PostgreSQL 15's, else the newest installed.
local_pg_bindir() {
    local dir
    for dir in /usr/lib/postgresql/15/bin $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/psql" ] && { echo "$dir"; return 0; }
    done
    return 1
}

# local_pg_as_server CMD...: CMD as the cluster's user, from / (postgres's tools warn when they
# cannot enter the current directory, say /root).
local_pg_as_server() {
    if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else (cd / && "$@"); fi
}

# url_encode TEXT: TEXT with everything but unreserved characters and / percent-encoded.
url_encode() {
    local LC_ALL=C text=$1 out="" char i
    for ((i = 0; i < ${#text}; i++)); do
        char=${text:i:1}
        case $char in
            [A-Za-z0-9/._~-]) out+=$char ;;
            *) printf -v char '%%%02X' "'$char"; out+=$char ;;
        esac
    done
    printf '%s' "$out"
}

local_pg_start() { # DIR SOCKET_DIR
    PG_DIR=$1
    PG_SOCKET_DIR=$2
    PG_BIN=$(local_pg_bindir) || die "PostgreSQL is not installed (apt-get install ${POSTGRES_PACKAGES[*]})"
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || die "there is no postgres user to run PostgreSQL as (Debian's postgresql package makes it)"
    fi
    mkdir -p "$PG_DIR" "$PG_SOCKET_DIR"
    if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$PG_DIR" "$PG_SOCKET_DIR"; fi
    chmod 0700 "$PG_DIR" "$PG_SOCKET_DIR"
    local_pg_as_server test -w "$PG_DIR" -a -x "$PG_DIR" \
        || die "the postgres user cannot reach $PG_DIR (a parent folder is closed to it): set STATE_DIR to a folder it can enter"
    if [ ! -e "$PG_DIR/data/PG_VERSION" ]; then
        log "creating a PostgreSQL cluster in $PG_DIR/data"
        # Into a temporary folder first, so that an interrupted initdb leaves no half cluster behind.
        rm -rf "$PG_DIR/data.new"
        local_pg_as_server "$PG_BIN/initdb" -D "$PG_DIR/data.new" --username=postgres --auth=trust \
            --encoding=UTF8 --no-locale >"$PG_DIR/initdb.log" 2>&1 || die "initdb failed (see $PG_DIR/initdb.log)"
        echo "include_if_exists = 'tradedesk-local.conf'" >>"$PG_DIR/data.new/postgresql.conf"
        mv "$PG_DIR/data.new" "$PG_DIR/data"
    fi
    # Written on every start: the socket's folder may differ from the last run's.
    cat >"$PG_DIR/data/tradedesk-local.conf" <<CONF
# Written by deploy/run.sh --postgres on every start.
listen_addresses = ''
unix_socket_directories = '${PG_SOCKET_DIR//\'/\'\'}'
port = 5432
max_connections = 200
CONF
    if [ "$(id -u)" -eq 0 ]; then chown postgres:postgres "$PG_DIR/data/tradedesk-local.conf"; fi
    # A cluster left running by a run that was killed: stopped, then started with today's settings.
    if local_pg_as_server "$PG_BIN/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; then
        log "stopping the PostgreSQL cluster a previous run left running"
        local_pg_as_server "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null
    fi
    log "starting PostgreSQL (socket in $PG_SOCKET_DIR, log: $PG_DIR/server.log)"
    local_pg_as_server "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 start >/dev/null \
        || die "PostgreSQL did not start (see $PG_DIR/server.log)"
    PG_STARTED=yes
}

local_pg_stop() {
    [ "${PG_STARTED:-}" = yes ] || return 0
    PG_STARTED=no
    local_pg_as_server "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 60 stop >/dev/null || true
}

local_pg_url() { # ROLE [DATABASE]
    printf 'postgresql:///%s?host=%s&user=%s' "${2:-tradedesk}" "$(url_encode "$PG_SOCKET_DIR")" "$1"
}

# local_pg_psql ROLE DATABASE: psql reading SQL from stdin, stopping at the first error.
local_pg_psql() {
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 --dbname="$(local_pg_url "$1" "$2")"
}

# The owner runs `tradedesk migrate`, which creates the tables and the group roles
# tradedesk_responder and tradedesk_bot with their grants: it needs CREATEROLE for those.
local_pg_create_database() {
    local_pg_psql postgres postgres <<'SQL' || die "could not create the database tradedesk and its owner"
SELECT 'CREATE ROLE tradedesk_owner LOGIN CREATEROLE'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'tradedesk_owner') \gexec
SELECT 'CREATE DATABASE tradedesk OWNER tradedesk_owner ENCODING ''UTF8'' LOCALE ''C'' TEMPLATE template0'
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'tradedesk') \gexec
SQL
}

# After `tradedesk migrate`: the roles the responder and the bot log in as, each in its group role.
local_pg_create_login_roles() {
    local_pg_psql postgres tradedesk <<'SQL' || die "could not create the login roles (did tradedesk migrate create the roles tradedesk_responder and tradedesk_bot?)"
SELECT 'CREATE ROLE desk_responder LOGIN IN ROLE tradedesk_responder'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'desk_responder') \gexec
SELECT 'CREATE ROLE desk_bot LOGIN IN ROLE tradedesk_bot'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'desk_bot') \gexec
SQL
}
