#!/usr/bin/env bash
# Installs the interop harness dependencies, reproducibly and idempotently:
#   node_modules/  from package.json + package-lock.json (npm ci)
#   .venv/         from requirements.txt (fully pinned)
# Each is skipped when its stamp file matches the hash of its lock file (and tool version).
# Needs: node >= 20 with npm, python3 >= 3.10 with the venv module. Reaches only the npm
# registry and PyPI.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

die() { echo "setup.sh: $*" >&2; exit 1; }

command -v node >/dev/null 2>&1 || die "node not found: install Node.js 20 or later (Debian: apt-get install nodejs npm)"
command -v npm >/dev/null 2>&1 || die "npm not found: install npm (Debian: apt-get install npm)"
command -v python3 >/dev/null 2>&1 || die "python3 not found: install Python 3.10 or later (Debian: apt-get install python3 python3-venv)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "node $(node --version) is too old: need 20 or later"
python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' \
  || die "$(python3 --version) is too old: need 3.10 or later"
python3 -c 'import venv, ensurepip' 2>/dev/null \
  || die "python3 lacks the venv/ensurepip modules (Debian: apt-get install python3-venv)"

hash_of() { cat "$@" | sha256sum | cut -c1-64; }

# --- npm -------------------------------------------------------------------------------
npm_stamp="node_modules/.cooperage-setup-stamp"
npm_hash=$( { hash_of package.json package-lock.json; node --version; } | sha256sum | cut -c1-64)
if [ "$(cat "$npm_stamp" 2>/dev/null)" = "$npm_hash" ]; then
  echo "setup.sh: node_modules up to date"
else
  echo "setup.sh: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$npm_hash" > "$npm_stamp"
fi

# --- Python venv -----------------------------------------------------------------------
venv_stamp=".venv/.cooperage-setup-stamp"
py_hash=$( { hash_of requirements.txt; python3 -c 'import sys; print(sys.version)'; } | sha256sum | cut -c1-64)
if [ "$(cat "$venv_stamp" 2>/dev/null)" = "$py_hash" ]; then
  echo "setup.sh: .venv up to date"
else
  echo "setup.sh: building .venv from requirements.txt"
  rm -rf .venv
  python3 -m venv .venv
  .venv/bin/python -m pip install --disable-pip-version-check --no-input --quiet -r requirements.txt
  echo "$py_hash" > "$venv_stamp"
fi
