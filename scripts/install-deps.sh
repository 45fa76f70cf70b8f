#!/usr/bin/env bash
# Installs the Debian packages causeway needs, only when some are missing.
# Idempotent: with everything present it does no network access and exits fast.
set -euo pipefail

PKGS=(build-essential cmake pkg-config lz4 clang clang-format
      libcivetweb-dev civetweb libjansson-dev liblz4-dev libcurl4-openssl-dev
      libsqlite3-dev libpq-dev libcmocka-dev postgresql curl python3)
if [ "${CAUSEWAY_WITH_BROWSER:-0}" = 1 ]; then
  PKGS+=(chromium nodejs npm)
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 \
  install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
