#!/usr/bin/env bash
# Checks the systemd units offline: systemd-analyze verify (errors in any unit they pull in count),
# on copies whose ExecStart points at the built binaries instead of /usr/local/bin, where
# deploy/install.sh puts them. Prints each service's `systemd-analyze security` exposure score.
#   deploy/verify-units.sh BIN_DIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin=${1:?usage: $0 BIN_DIR}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for unit in "$here"/systemd/*.service "$here"/systemd/*.socket; do
    sed "s|/usr/local/bin/|$bin/|g" "$unit" > "$work/$(basename "$unit")"
done
systemd-analyze verify --recursive-errors=yes "$work"/*.socket "$work"/*.service
echo "units: verified"
for unit in "$work"/*.service; do
    score=$(systemd-analyze security --offline=yes "$unit" 2>/dev/null | sed -n 's/.*Overall exposure level for [^:]*: //p')
    echo "  $(basename "$unit"): exposure $score"
done
