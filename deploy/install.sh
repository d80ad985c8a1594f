#!/usr/bin/env bash
# Installs tradedesk as a systemd service on this Debian 12 machine (root), or upgrades it in place:
# builds release, installs the binaries, the web root, the units, nginx's configuration (the
# top-level nginx.conf) and /etc/tradedesk/tradedesk.env (kept on upgrade), then enables and
# (re)starts everything. deploy/uninstall.sh removes it all but the data.
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

# nginx runs tradedesk's configuration; Debian's own is kept to be put back by uninstall.sh.
if [ ! -e /etc/nginx/nginx.conf.before-tradedesk ]; then
    cp -p /etc/nginx/nginx.conf /etc/nginx/nginx.conf.before-tradedesk
fi
install -m 0644 "$root/nginx.conf" /etc/nginx/nginx.conf
# The access log names client addresses and users: created 0640 before nginx would make it 0644.
for logfile in /var/log/nginx/tradedesk.access.log /var/log/nginx/tradedesk.error.log; do
    [ -e "$logfile" ] || install -m 0640 -o www-data -g adm /dev/null "$logfile"
done
nginx -t -q

log "starting"
systemctl daemon-reload
systemctl enable --now tradedesk.socket tradedesk-migrate.service stockbot.service
systemctl restart tradedesk-migrate.service
# An upgrade replaces a running responder: it drains, and the socket holds new connections meanwhile.
if systemctl is-active --quiet tradedesk.service; then systemctl restart tradedesk.service; fi
systemctl restart stockbot.service
systemctl enable nginx >/dev/null 2>&1 || true
systemctl reload-or-restart nginx
log "tradedesk is installed: http://$(hostname -f 2>/dev/null || hostname)/ (systemctl status tradedesk stockbot)"
