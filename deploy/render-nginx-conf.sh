#!/usr/bin/env bash
# Prints nginx.conf with its "# @local" lines set for a local (development, test, benchmark) run:
#   render-nginx-conf.sh PREFIX PORT UPSTREAM WEBROOT
# UPSTREAM is the responder's unix socket path, or host:port when it listens on TCP.
# PREFIX holds logs, pid and temp files; nginx is then started as `nginx -p PREFIX -c PREFIX/nginx.conf`.
# Without root, the `user` line is dropped (nginx cannot switch users).
set -euo pipefail
if [ $# -ne 4 ]; then
    echo "usage: $0 PREFIX PORT UPSTREAM WEBROOT" >&2
    exit 2
fi
prefix=$1 port=$2 upstream=$3 webroot=$4
case $upstream in /*) upstream="unix:$upstream" ;; esac
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_conf="$here/../nginx.conf"

if [ "$(id -u)" -eq 0 ]; then user_line="user www-data;"; else user_line=""; fi

set_line() { # NAME VALUE: the whole directive for a marked line
    printf 's|^\\( *\\).*# @local %s$|\\1%s # @local %s|\n' "$1" "$2" "$1"
}
sed -f <(
    set_line user "$user_line"
    set_line pid "pid $prefix/nginx.pid;"
    set_line error_log "error_log $prefix/logs/error.log warn;"
    set_line access_log "access_log $prefix/logs/access.log;"
    for temp in client_body fastcgi proxy scgi uwsgi; do
        set_line ${temp}_temp_path "${temp}_temp_path $prefix/temp/$temp;"
    done
    set_line upstream "server $upstream;"
    set_line listen "listen 127.0.0.1:$port backlog=4096;"
    set_line listen6 ""
    set_line root "root $webroot;"
) "$source_conf"
