#!/usr/bin/env bash
# Installs what causeway's build, demo and tests need, only when something is
# missing. Idempotent: with everything present it does no network access and
# exits fast.
#   - Debian packages (apt-get; as root, or with sudo)
#   - Node.js and npm (Debian's, unless a node/npm is already on PATH)
#   - the npm packages of the viewer's browser test (tests/viewer, pinned in
#     its package-lock.json), when CAUSEWAY_WITH_BROWSER=1
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(build-essential cmake pkg-config lz4 clang clang-format
      libcivetweb-dev civetweb libjansson-dev liblz4-dev libcurl4-openssl-dev
      libsqlite3-dev libpq-dev libcmocka-dev libsodium-dev postgresql curl jq
      python3 python3-jsonschema libxml2-utils prometheus)
if [ "${CAUSEWAY_WITH_BROWSER:-0}" = 1 ]; then
  PKGS+=(chromium)
  # Some images ship their own Node.js (with npm); Debian's npm conflicts with
  # it, so take Debian's only when there is none.
  command -v node >/dev/null 2>&1 || PKGS+=(nodejs)
  command -v npm >/dev/null 2>&1 || PKGS+=(npm)
fi
if [ "${CAUSEWAY_WITH_FUZZ:-0}" = 1 ]; then
  PKGS+=(libclang-rt-14-dev libfuzzer-14-dev)
fi

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=300 \
    install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ "${CAUSEWAY_WITH_BROWSER:-0}" = 1 ] && [ -f tests/viewer/package.json ] &&
   [ ! -d tests/viewer/node_modules/playwright-core ]; then
  echo "install-deps: npm ci in tests/viewer" >&2
  (cd tests/viewer && npm ci --no-audit --no-fund --loglevel=error)
fi
exit 0
