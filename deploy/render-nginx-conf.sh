#!/usr/bin/env bash
# Renders the top-level nginx.conf, the one source of tradedesk's nginx configuration.
#
# Local (development, tests, benchmarks): a complete standalone nginx.conf on loopback:
#   render-nginx-conf.sh PREFIX PORT UPSTREAM WEBROOT
# UPSTREAM is the responder's unix socket path, or host:port when it listens on TCP.
# PREFIX holds logs, pid and temp files; nginx is then started as `nginx -p PREFIX -c PREFIX/nginx.conf`.
# Without root, the `user` line is dropped (nginx cannot switch users).
#   - plain (the default): the application on http://127.0.0.1:PORT;
#   - TLS, the production server blocks, when TLS_CERT, TLS_KEY and HTTPS_PORT are set: the
#     application on https://127.0.0.1:HTTPS_PORT (HTTP/2), and PORT redirecting to it (but ACME
#     challenges, served from PREFIX/acme).
#   Host names served: SERVER_NAME (space-separated; default "127.0.0.1 localhost"); any other Host
#   is answered 421 JSON.
#
# Production (deploy/install.sh), one piece at a time:
#   render-nginx-conf.sh --production http   # -> /etc/nginx/conf.d/tradedesk.conf
#   render-nginx-conf.sh --production site   # -> /etc/nginx/sites-available/tradedesk
# The site needs SERVER_NAME. DEFAULT_HTTP=no / DEFAULT_HTTPS=no leave out tradedesk's catch-all
# (421) server on port 80 / 443, when another site already is that port's default_server.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_conf="$here/../nginx.conf"
usage() {
    echo "usage: $0 PREFIX PORT UPSTREAM WEBROOT    (env: SERVER_NAME; TLS_CERT TLS_KEY HTTPS_PORT for TLS)" >&2
    echo "       $0 --production http|site          (env: SERVER_NAME for site; DEFAULT_HTTP=no, DEFAULT_HTTPS=no)" >&2
    exit 2
}

subst=$(mktemp)
trap 'rm -f "$subst"' EXIT
# set NAME VALUE: the whole directive for a line marked "# @local NAME"; "-" drops the line.
set_line() { printf '%s\t%s\n' "$1" "$2" >> "$subst"; }
check_names() {
    [ -n "$1" ] || { echo "$0: SERVER_NAME is empty" >&2; exit 2; }
    case $1 in *[\;\{\}\'\"\\\$]*) echo "$0: SERVER_NAME has characters nginx would not take as names: $1" >&2; exit 2 ;; esac
}

if [ "${1:-}" = "--production" ]; then
    [ $# -eq 2 ] || usage
    tls=yes
    case $2 in
        http) parts=" http " ;;
        site)
            parts=" site "
            server_name=${SERVER_NAME:?"$0: SERVER_NAME must name the host names tradedesk serves"}
            check_names "$server_name"
            set_line server_name "server_name $server_name;"
            if [ "${DEFAULT_HTTP:-yes}" = no ]; then set_line default_listen -; set_line default_listen6 -; fi
            if [ "${DEFAULT_HTTPS:-yes}" = no ]; then set_line default_tls_listen -; set_line default_tls_listen6 -; fi
            ;;
        *) usage ;;
    esac
    if [ "${DEFAULT_HTTP:-yes}" = no ] && [ "${DEFAULT_HTTPS:-yes}" = no ]; then default=no; else default=yes; fi
else
    [ $# -eq 4 ] || usage
    prefix=$1 port=$2 upstream=$3 webroot=$4
    case $upstream in /*) upstream="unix:$upstream" ;; esac
    parts=" main http site end "
    default=yes
    server_name=${SERVER_NAME:-127.0.0.1 localhost}
    check_names "$server_name"
    if [ -n "${TLS_CERT:-}${TLS_KEY:-}${HTTPS_PORT:-}" ]; then
        : "${TLS_CERT:?TLS mode needs TLS_CERT, TLS_KEY and HTTPS_PORT}" "${TLS_KEY:?TLS mode needs TLS_KEY}" "${HTTPS_PORT:?TLS mode needs HTTPS_PORT}"
        tls=yes
    else
        tls=no
    fi

    if [ "$(id -u)" -eq 0 ]; then set_line user "user www-data;"; else set_line user -; fi
    set_line pid "pid $prefix/nginx.pid;"
    set_line error_log "error_log $prefix/logs/error.log warn;"
    set_line server_error_log "error_log $prefix/logs/error.log warn;"
    set_line access_log "access_log $prefix/logs/access.log;"
    for temp in client_body fastcgi proxy scgi uwsgi; do
        set_line ${temp}_temp_path "${temp}_temp_path $prefix/temp/$temp;"
    done
    set_line upstream "server $upstream;"
    set_line root "root $webroot;"
    set_line server_name "server_name $server_name;"
    set_line default_listen "listen 127.0.0.1:$port default_server backlog=4096;"
    set_line default_listen6 -
    set_line redirect_listen6 -
    set_line listen6 -
    set_line default_tls_listen6 -
    if [ "$tls" = yes ]; then
        set_line redirect_listen "listen 127.0.0.1:$port;"
        set_line redirect "return 301 https://\$host:$HTTPS_PORT\$request_uri;"
        set_line acme_root "root $prefix/acme;"
        set_line default_tls_listen "listen 127.0.0.1:$HTTPS_PORT ssl http2 default_server backlog=4096;"
        set_line listen "listen 127.0.0.1:$HTTPS_PORT ssl http2;"
        set_line tls_certificate "ssl_certificate $TLS_CERT; ssl_certificate_key $TLS_KEY;"
    else
        set_line listen "listen 127.0.0.1:$port;"
    fi
fi

awk -v parts="$parts" -v tls="$tls" -v default="$default" -v subst="$subst" '
    BEGIN {
        while ((getline line < subst) > 0) {
            tab = index(line, "\t")
            value[substr(line, 1, tab - 1)] = substr(line, tab + 1)
        }
        part = ""; skip_tls = 0; skip_default = 0
    }
    /^# @part [a-z]+$/ { part = $3; next }
    /^# @tls-begin$/ { skip_tls = (tls != "yes"); next }
    /^# @tls-end$/ { skip_tls = 0; next }
    /^# @default-begin$/ { skip_default = (default != "yes"); next }
    /^# @default-end$/ { skip_default = 0; next }
    part == "" || index(parts, " " part " ") == 0 || skip_tls || skip_default { next }
    match($0, /# @local [a-z0-9_]+$/) {
        name = substr($0, RSTART + 9)
        if (name in value) {
            if (value[name] == "-") next
            match($0, /^ */)
            $0 = substr($0, 1, RLENGTH) value[name] " # @local " name
        }
    }
    { print }
' "$source_conf"
