#!/usr/bin/env bash
# Installs the pinned JS interop dependencies (@a2a-js/sdk 1.3.0 etc.) from
# package-lock.json. Idempotent: runs `npm ci` only when node_modules is
# missing or package.json / package-lock.json changed since the last install.
# Never reads stdin.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "setup.sh: node and npm (Node >= 20) are required" >&2
  exit 1
fi
node_major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "${node_major}" -lt 20 ]; then
  echo "setup.sh: Node >= 20 required, found $(node --version)" >&2
  exit 1
fi

stamp="node_modules/.warden-install-stamp"
want="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"

if [ -d node_modules ] && [ -f "${stamp}" ] && [ "$(cat "${stamp}")" = "${want}" ]; then
  exit 0
fi

echo "setup.sh: installing JS interop dependencies (npm ci)" >&2
npm ci --no-audit --no-fund </dev/null >&2
printf '%s\n' "${want}" > "${stamp}"
