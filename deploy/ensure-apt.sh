#!/bin/sh
# Install the Debian packages listed in apt-packages.txt that are missing.
# Idempotent: does nothing (and needs no network) when all are present.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
list=${1:-$here/apt-packages.txt}
missing=""
for pkg in $(grep -v '^\s*#' "$list" | grep -v '^\s*$'); do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $pkg"
    fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages:$missing" >&2
    echo "run as root: apt-get install -y$missing" >&2
    exit 1
fi
echo "installing Debian packages:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
