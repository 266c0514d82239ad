#!/usr/bin/env bash
# Creates (or reuses) the Python venv for the Warden interop harness and prints
# the venv's python path as the LAST line on stdout. Everything else goes to
# stderr so callers can do:  PY="$(tests/interop/python/setup.sh | tail -n1)"
#
# Idempotent: the venv is rebuilt only when it is missing, broken, or when
# requirements.txt / the base interpreter changed (tracked by a sha256 stamp).
# Safe to run concurrently (serialised with flock when available) and with no
# stdin (CI).
#
# Env:
#   WARDEN_INTEROP_DIR  base dir (default: ${CARGO_TARGET_DIR:-/var/tmp/warden-target}/interop)
#   PYTHON              base interpreter (default: python3; must be >= 3.10)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
req="$here/requirements.txt"
base_dir="${WARDEN_INTEROP_DIR:-${CARGO_TARGET_DIR:-/var/tmp/warden-target}/interop}"
venv="$base_dir/venv"
stamp="$venv/.warden-requirements.sha256"
base_python="${PYTHON:-python3}"

log() { printf '[interop-python setup] %s\n' "$*" >&2; }

# pip must never prompt or phone home for its own version.
export PIP_NO_INPUT=1 PIP_DISABLE_PIP_VERSION_CHECK=1

command -v "$base_python" >/dev/null 2>&1 || { log "no '$base_python' on PATH"; exit 1; }
"$base_python" - <<'PY' >&2 || { log "Python >= 3.10 required (a2a-sdk 1.3.0)"; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 10) else 1)
PY

mkdir -p "$base_dir"

# Serialise concurrent callers (e.g. parallel cargo tests) so only one builds.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$base_dir/.venv.lock"
  flock 9
fi

# The stamp covers the lock file AND the interpreter version: a venv built by
# another Python minor would have the wrong compiled wheels.
want="$( { cat "$req"; "$base_python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"
have="$(cat "$stamp" 2>/dev/null || true)"
vpy="$venv/bin/python"

if [[ -x "$vpy" && "$want" == "$have" ]] && "$vpy" -c 'import a2a.client, a2a.server.routes, uvicorn, mcp.client.streamable_http' 2>/dev/null; then
  log "venv up to date: $venv"
else
  log "building venv at $venv"
  rm -rf "$venv"
  "$base_python" -m venv "$venv" >&2
  # The lock is complete, so --no-deps gives exactly the pinned set with no
  # resolver surprises. If it fails (e.g. no wheel for this platform/Python),
  # fall back to a normal resolve that still honours every == pin.
  if ! "$vpy" -m pip install --no-deps -r "$req" >&2; then
    log "--no-deps install failed; retrying with dependency resolution"
    "$vpy" -m pip install -r "$req" >&2
  fi
  # Report (but do not fail on) an inconsistent set; the import check below
  # is the hard gate.
  "$vpy" -m pip check >&2 || log "WARNING: pip check reported problems"
  "$vpy" -c 'import a2a.client, a2a.server.routes, uvicorn, mcp.client.streamable_http' >&2
  # Write the stamp last so an interrupted install is retried next time.
  printf '%s\n' "$want" >"$stamp"
  log "venv ready"
fi

printf '%s\n' "$vpy"
