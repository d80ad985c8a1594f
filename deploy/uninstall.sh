#!/usr/bin/env bash
# Removes what deploy/install.sh installed, except the data (/var/lib/tradedesk) and the settings
# (/etc/tradedesk, with the TLS certificate's include file and the PostgreSQL URLs' files). Only tradedesk's nginx pieces go: the
# operator's other sites and Debian's nginx.conf stay as they are.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/common.sh
source "$root/deploy/lib/common.sh"
[ "$(id -u)" -eq 0 ] || die "run as root"

units=(stockbot.service tradedesk.service tradedesk.socket tradedesk-migrate.service)
systemctl disable --now "${units[@]}" 2>/dev/null || true
for unit in "${units[@]}"; do
    rm -f "/etc/systemd/system/$unit" "/etc/systemd/system/$unit.d/tradedesk-database.conf"
    rmdir "/etc/systemd/system/$unit.d" 2>/dev/null || true
done
systemctl daemon-reload
rm -f /usr/local/bin/tradedesk /usr/local/bin/stockbot /usr/lib/sysusers.d/tradedesk.conf
rm -rf /usr/share/tradedesk /usr/share/doc/tradedesk
rm -f /etc/nginx/sites-enabled/tradedesk /etc/nginx/sites-available/tradedesk /etc/nginx/conf.d/tradedesk.conf
# An install from before tradedesk became a site replaced Debian's nginx.conf: that one goes back.
if [ -e /etc/nginx/nginx.conf.before-tradedesk ] \
   && grep -q '^# tradedesk: nginx in front of the tradedesk FastCGI responder' /etc/nginx/nginx.conf; then
    mv /etc/nginx/nginx.conf.before-tradedesk /etc/nginx/nginx.conf
fi
# The ACME webroot, only if nothing else (certbot for another site) uses it.
rmdir /var/www/letsencrypt/.well-known/acme-challenge /var/www/letsencrypt/.well-known /var/www/letsencrypt 2>/dev/null || true
if systemctl is-active --quiet nginx; then systemctl reload nginx 2>/dev/null || true; fi
log "tradedesk is removed; its data is still in /var/lib/tradedesk and its settings (and TLS include) in /etc/tradedesk"
