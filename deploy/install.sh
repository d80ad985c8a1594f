#!/usr/bin/env bash
# Installs tradedesk as a systemd service on this Debian 12 machine (root), or upgrades it in place:
# builds release, installs the binaries, the web root, the units, /etc/tradedesk/tradedesk.env (kept
# on upgrade) and tradedesk's nginx site beside the operator's others (rendered from the top-level
# nginx.conf: /etc/nginx/conf.d/tradedesk.conf and /etc/nginx/sites-available/tradedesk, linked from
# sites-enabled; Debian's /etc/nginx/nginx.conf is not touched), then enables and (re)starts
# everything. deploy/uninstall.sh removes it all but the data and the settings.
#
#   SERVER_NAME="desk.example.com" deploy/install.sh
#
# SERVER_NAME: the host names tradedesk answers (space-separated); default: the names of the site
# installed before, else `hostname -f`. Any other Host gets 421.
# TLS: the certificate's paths are in /etc/tradedesk/nginx-tls.conf (kept on upgrade). Without one,
# a self-signed placeholder is made so that nginx starts; then run certbot (README, "TLS").
#
# PostgreSQL instead of /var/lib/tradedesk/tradedesk.sqlite: give the three roles' libpq URLs,
#
#   DATABASE_URL='postgresql://desk_responder:PASSWORD@db.internal/tradedesk?sslmode=verify-full' \
#   STOCKBOT_DATABASE_URL='postgresql://desk_bot:PASSWORD@db.internal/tradedesk?sslmode=verify-full' \
#   MIGRATE_DATABASE_URL='postgresql://tradedesk_owner:PASSWORD@db.internal/tradedesk?sslmode=verify-full' \
#   deploy/install.sh
#
# (the bot's and the migrations' default to DATABASE_URL, with a warning), or write the files below
# yourself and run install.sh without them. Each URL goes to a file of its own, mode 0600 root:root,
# kept on upgrade, that only systemd reads (as root, for one unit), so that no service holds another
# role's password and the tradedesk user can read none of them:
#   /etc/tradedesk/responder-database.env   DATABASE_URL for tradedesk.service
#   /etc/tradedesk/stockbot-database.env    DATABASE_URL for stockbot.service
#   /etc/tradedesk/migrate-database.env     DATABASE_URL for tradedesk-migrate.service
# One line each, DATABASE_URL='…' in single quotes (systemd and sh read it alike; percent-encode a '
# in a password as %27). Delete the three files (and run install.sh) to go back to SQLite. The
# admin commands take the responder's: sudo sh -c 'set -a; . /etc/tradedesk/responder-database.env;
# exec tradedesk users add alice'. When a URL names a TCP host, install.sh adds a drop-in
# (tradedesk-database.conf) to that unit that lets it reach the host's addresses, resolved now:
# run install.sh again when they change. The responder may reach no DNS server: give the address
# too (hostaddr=10.0.0.5 beside the name, which verify-full still checks), or allow the resolver.
#
# The database, made once by a DBA as a superuser on the database host (psql -U postgres):
#
#   CREATE ROLE tradedesk_owner LOGIN;                 -- owns the tables, runs `tradedesk migrate`
#   CREATE ROLE tradedesk_responder NOLOGIN;           -- the groups migrate grants to (it creates
#   CREATE ROLE tradedesk_bot NOLOGIN;                 --   them itself if the owner has CREATEROLE)
#   CREATE DATABASE tradedesk OWNER tradedesk_owner ENCODING 'UTF8' LOCALE 'C' TEMPLATE template0;
#   CREATE ROLE desk_responder LOGIN IN ROLE tradedesk_responder;   -- tradedesk serve, users, tokens
#   CREATE ROLE desk_bot LOGIN IN ROLE tradedesk_bot;                -- stockbot: the job table only
#   \password tradedesk_owner                          -- and desk_responder, desk_bot: psql sends
#                                                      --   a SCRAM hash, no password in any log
#
# Creating the two group roles yourself spares the owner CREATEROLE, which in PostgreSQL 15 may
# grant almost any role. In pg_hba.conf, on the database host, for a remote desk (TLS, passwords):
#   hostssl  tradedesk  tradedesk_owner,desk_responder,desk_bot  192.0.2.10/32  scram-sha-256
# and sslmode=verify-full in each URL (with sslrootcert=/etc/tradedesk/db-ca.crt, readable by the
# tradedesk user, when the server's CA is not the system's), so that the password goes to that
# server only. On the same host, peer authentication over /run/postgresql needs no password, but
# the three services run as the one OS user tradedesk, so a map must let it log in as each role,
# and the roles then separate nothing between the services (pg_ident.conf: `tradedesk tradedesk
# desk_responder`, and the same for desk_bot and tradedesk_owner; pg_hba.conf: `local tradedesk
# tradedesk_owner,desk_responder,desk_bot peer map=tradedesk`); the URLs are then
# postgresql:///tradedesk?host=/run/postgresql&user=desk_responder, and so on.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/common.sh
source "$root/deploy/lib/common.sh"

[ "$(id -u)" -eq 0 ] || die "run as root"
[ -d /run/systemd/system ] || die "systemd is not running as PID 1 here"

ensure_packages "${INSTALL_PACKAGES[@]}"
ensure_swift

log "building (release)"
(cd "$root" && swift build -c release --product tradedesk && swift build -c release --product stockbot) >&2
bin=$(cd "$root" && swift build -c release --show-bin-path)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

log "installing"
install -m 0644 "$root/deploy/systemd/tradedesk.sysusers" /usr/lib/sysusers.d/tradedesk.conf
systemd-sysusers /usr/lib/sysusers.d/tradedesk.conf
install -m 0755 "$bin/tradedesk" "$bin/stockbot" /usr/local/bin/
rm -rf /usr/share/tradedesk/www
install -d -m 0755 /usr/share/tradedesk/www /usr/share/doc/tradedesk
cp -r "$root/web/." /usr/share/tradedesk/www/
install -m 0644 "$root/README.md" /usr/share/doc/tradedesk/README.md
install -d -m 0750 -g tradedesk /etc/tradedesk
if [ ! -e /etc/tradedesk/tradedesk.env ]; then
    install -m 0640 -g tradedesk "$root/deploy/systemd/tradedesk.env" /etc/tradedesk/tradedesk.env
fi
for unit in tradedesk.socket tradedesk.service tradedesk-migrate.service stockbot.service; do
    install -m 0644 "$root/deploy/systemd/$unit" "/etc/systemd/system/$unit"
done

# PostgreSQL: each unit's URL in a file of its own (see the header); none of them is ever printed.
database_env() { # UNIT: the file that holds UNIT's DATABASE_URL
    case $1 in
        tradedesk.service) echo /etc/tradedesk/responder-database.env ;;
        stockbot.service) echo /etc/tradedesk/stockbot-database.env ;;
        tradedesk-migrate.service) echo /etc/tradedesk/migrate-database.env ;;
    esac
}
write_database_env() { # UNIT URL
    local file
    file=$(database_env "$1")
    case $2 in *"'"*|*$'\n'*) die "the URL for $1 holds a ' or a line break: percent-encode it (%27, %0A)" ;; esac
    printf "# DATABASE_URL for %s (deploy/install.sh's header). Kept on upgrade.\nDATABASE_URL='%s'\n" "$1" "$2" \
        | install -m 0600 -o root -g root /dev/stdin "$file"
    log "wrote $file (the DATABASE_URL of $1)"
}
if [ -n "${DATABASE_URL:-}" ]; then
    [ -n "${STOCKBOT_DATABASE_URL:-}" ] || log "warning: no STOCKBOT_DATABASE_URL: the bot connects with DATABASE_URL's role, not one that reaches only the job table"
    [ -n "${MIGRATE_DATABASE_URL:-}" ] || log "warning: no MIGRATE_DATABASE_URL: migrations run as DATABASE_URL's role, which must then own the database"
    write_database_env tradedesk.service "$DATABASE_URL"
    write_database_env stockbot.service "${STOCKBOT_DATABASE_URL:-$DATABASE_URL}"
    write_database_env tradedesk-migrate.service "${MIGRATE_DATABASE_URL:-$DATABASE_URL}"
elif [ -n "${STOCKBOT_DATABASE_URL:-}${MIGRATE_DATABASE_URL:-}" ]; then
    die "STOCKBOT_DATABASE_URL and MIGRATE_DATABASE_URL go with DATABASE_URL (the responder's)"
fi
# database_tcp_hosts URL: the TCP hosts a libpq URL names, one a line; none for a unix socket.
database_tcp_hosts() {
    local url=$1 authority query pair host hosts=()
    authority=${url#*://}
    authority=${authority%%[/?]*}
    authority=${authority##*@}
    local IFS=,
    for host in $authority; do hosts+=("$host"); done
    if [[ $url == *\?* ]]; then
        query=${url#*\?}
        IFS='&'
        for pair in $query; do
            case $pair in host=*|hostaddr=*) IFS=,; for host in ${pair#*=}; do hosts+=("$host"); done; IFS='&' ;; esac
        done
    fi
    for host in "${hosts[@]}"; do
        host=$(printf '%b' "${host//%/\\x}")
        case $host in
            \[*) host=${host#[}; host=${host%%]*} ;;
            *:*:*) ;;
            *) host=${host%%:*} ;;
        esac
        case $host in ""|/*|@*) ;; *) echo "$host" ;; esac
    done
}
# A unit whose database is on another host gets a drop-in that lets it reach that host's addresses:
# the responder speaks only AF_UNIX by default, the migrations have no network at all, and the bot
# may not reach private ranges.
for unit in tradedesk.service stockbot.service tradedesk-migrate.service; do
    dropin=/etc/systemd/system/$unit.d/tradedesk-database.conf
    rm -f "$dropin"
    file=$(database_env "$unit")
    [ -e "$file" ] || continue
    url=$(set -a; . "$file"; printf '%s' "${DATABASE_URL:-}")
    addresses=()
    while read -r host; do
        resolved=$(getent ahosts "$host" | awk '{print $1}' | sort -u | tr '\n' ' ')
        [ -n "$resolved" ] || die "the database host $host (in $file) does not resolve"
        addresses+=($resolved)
    done < <(database_tcp_hosts "$url")
    [ ${#addresses[@]} -gt 0 ] || continue
    install -d -m 0755 "$(dirname "$dropin")"
    {
        echo "# Written by deploy/install.sh: $unit's PostgreSQL is at ${addresses[*]} (resolved at install)."
        echo "[Service]"
        echo "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"
        echo "IPAddressAllow=${addresses[*]}"
        if [ "$unit" = tradedesk-migrate.service ]; then echo "PrivateNetwork=no"; echo "IPAddressDeny=any"; fi
    } > "$dropin"
    chmod 0644 "$dropin"
    log "$unit may reach its database at ${addresses[*]} ($dropin)"
done

# nginx: tradedesk's site beside the operator's others.
# Upgrade from an install that replaced Debian's nginx.conf with tradedesk's: Debian's goes back.
if [ -e /etc/nginx/nginx.conf.before-tradedesk ]; then
    if grep -q '^# tradedesk: nginx in front of the tradedesk FastCGI responder' /etc/nginx/nginx.conf; then
        log "putting back Debian's /etc/nginx/nginx.conf (an earlier install had replaced it)"
        mv /etc/nginx/nginx.conf.before-tradedesk /etc/nginx/nginx.conf
    else
        log "leaving /etc/nginx/nginx.conf.before-tradedesk alone: /etc/nginx/nginx.conf is not tradedesk's"
    fi
fi

site=/etc/nginx/sites-available/tradedesk
if [ -z "${SERVER_NAME:-}" ] && [ -e "$site" ]; then
    SERVER_NAME=$(sed -n 's/^ *server_name \([^_][^;]*\); # @local server_name$/\1/p' "$site" | head -1)
fi
SERVER_NAME=${SERVER_NAME:-$(hostname -f 2>/dev/null || hostname)}
[ -n "$SERVER_NAME" ] || die "set SERVER_NAME to the host names tradedesk serves"
export SERVER_NAME

# A port whose default server is already another site's (Debian's "default" site is, on 80) keeps
# it: tradedesk's catch-all (421) is left out there, and unknown names on that port go to that site.
other_default() { # PORT: an enabled config other than tradedesk's with "listen ...PORT ... default_server"
    grep -lE "^[[:space:]]*listen[[:space:]]+([^;]*:)?$1([[:space:]][^;]*)?[[:space:]]default_server" \
        /etc/nginx/sites-enabled/* /etc/nginx/conf.d/*.conf 2>/dev/null \
        | grep -vxE '/etc/nginx/(sites-enabled/tradedesk|conf.d/tradedesk.conf)' | head -1 || true
}
export DEFAULT_HTTP=yes DEFAULT_HTTPS=yes
taken=$(other_default 80)
if [ -n "$taken" ]; then DEFAULT_HTTP=no; log "port 80's default server is $taken: unknown host names on port 80 go there"; fi
taken=$(other_default 443)
if [ -n "$taken" ]; then DEFAULT_HTTPS=no; log "port 443's default server is $taken: unknown host names on port 443 go there"; fi

# The certificate: one file the operator owns, kept on upgrade.
tls_conf=/etc/tradedesk/nginx-tls.conf
if [ ! -e "$tls_conf" ]; then
    install -d -m 0700 /etc/tradedesk/tls
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=${SERVER_NAME%% *}" \
        -addext "subjectAltName=$(set -f; printf 'DNS:%s,' $SERVER_NAME | sed 's/,$//')" \
        -keyout /etc/tradedesk/tls/placeholder.key -out /etc/tradedesk/tls/placeholder.crt 2>/dev/null
    chmod 0600 /etc/tradedesk/tls/placeholder.key
    cat > "$tls_conf" <<TLS
# tradedesk's TLS certificate (kept on upgrade). Replace the placeholder with a real certificate,
# e.g. after: certbot certonly --webroot -w /var/www/letsencrypt -d ${SERVER_NAME%% *}
#   ssl_certificate     /etc/letsencrypt/live/${SERVER_NAME%% *}/fullchain.pem;
#   ssl_certificate_key /etc/letsencrypt/live/${SERVER_NAME%% *}/privkey.pem;
# then: nginx -t && systemctl reload nginx
ssl_certificate     /etc/tradedesk/tls/placeholder.crt;
ssl_certificate_key /etc/tradedesk/tls/placeholder.key;
TLS
    chmod 0640 "$tls_conf"
    placeholder=yes
fi
install -d -m 0755 /var/www/letsencrypt

"$root/deploy/render-nginx-conf.sh" --production http > "$work/conf.d-tradedesk.conf"
"$root/deploy/render-nginx-conf.sh" --production site > "$work/site-tradedesk"
install -m 0644 "$work/conf.d-tradedesk.conf" /etc/nginx/conf.d/tradedesk.conf
install -m 0644 "$work/site-tradedesk" "$site"
ln -sfn "$site" /etc/nginx/sites-enabled/tradedesk
# The access log names client addresses and users: created 0640 before nginx would make it 0644.
for logfile in /var/log/nginx/tradedesk.access.log /var/log/nginx/tradedesk.error.log; do
    [ -e "$logfile" ] || install -m 0640 -o www-data -g adm /dev/null "$logfile"
done
if ! nginx -t -q; then
    rm -f /etc/nginx/sites-enabled/tradedesk /etc/nginx/conf.d/tradedesk.conf
    die "nginx -t failed with tradedesk's site (see above); it was taken out again"
fi
connections=$(sed -n 's/^[[:space:]]*worker_connections[[:space:]]*\([0-9]*\);.*/\1/p' /etc/nginx/nginx.conf | head -1)
if [ "${connections:-512}" -lt 32768 ]; then
    log "note: /etc/nginx/nginx.conf has worker_connections ${connections:-512} (not changed): a held request takes two, so"
    log "      at most about $(( ${connections:-512} / 2 )) held requests per worker. For tradedesk's 10000: worker_connections 32768;"
    log "      in events {} and worker_rlimit_nofile 65536; at the top of /etc/nginx/nginx.conf (README, \"Deployment\")"
fi

log "starting"
systemctl daemon-reload
systemctl enable --now tradedesk.socket tradedesk-migrate.service stockbot.service
systemctl restart tradedesk-migrate.service
# An upgrade replaces a running responder: it drains, and the socket holds new connections meanwhile.
if systemctl is-active --quiet tradedesk.service; then systemctl restart tradedesk.service; fi
systemctl restart stockbot.service
systemctl enable nginx >/dev/null 2>&1 || true
systemctl reload-or-restart nginx
log "tradedesk is installed: https://${SERVER_NAME%% *}/ (systemctl status tradedesk stockbot)"
if [ "${placeholder:-}" = yes ]; then
    log "WARNING: nginx serves a SELF-SIGNED PLACEHOLDER certificate (/etc/tradedesk/tls/placeholder.crt)."
    log "WARNING: browsers will refuse it. Get a real one now, e.g.:"
    log "WARNING:   certbot certonly --webroot -w /var/www/letsencrypt -d ${SERVER_NAME%% *}"
    log "WARNING: then point $tls_conf at it and run: nginx -t && systemctl reload nginx"
fi
