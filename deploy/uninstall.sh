#!/usr/bin/env bash
# Removes what deploy/install.sh installed, except the data (/var/lib/tradedesk) and the settings
# (/etc/tradedesk). Debian's nginx.conf is put back.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/common.sh
source "$root/deploy/lib/common.sh"
[ "$(id -u)" -eq 0 ] || die "run as root"

units=(stockbot.service tradedesk.service tradedesk.socket tradedesk-migrate.service)
systemctl disable --now "${units[@]}" 2>/dev/null || true
for unit in "${units[@]}"; do rm -f "/etc/systemd/system/$unit"; done
systemctl daemon-reload
rm -f /usr/local/bin/tradedesk /usr/local/bin/stockbot /usr/lib/sysusers.d/tradedesk.conf
rm -rf /usr/share/tradedesk /usr/share/doc/tradedesk
if [ -e /etc/nginx/nginx.conf.before-tradedesk ]; then
    mv /etc/nginx/nginx.conf.before-tradedesk /etc/nginx/nginx.conf
    systemctl reload-or-restart nginx 2>/dev/null || true
fi
log "tradedesk is removed; its data is still in /var/lib/tradedesk and its settings in /etc/tradedesk"
