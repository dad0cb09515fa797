#!/usr/bin/env bash
# Installs what the browser accessibility checks need, reproducibly and idempotently:
#   /usr/bin/chromium  Debian's Chromium (apt-get, only when missing and only as root)
#   node_modules/      playwright-core and axe-core from package.json + package-lock.json (npm ci)
# node_modules is skipped when its stamp matches the hash of the lock file and the node version.
# Never runs `npx playwright install`: that downloads a browser build of its own, which this
# project's machines cannot fetch. Reaches only Debian's archive and the npm registry.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

die() { echo "setup.sh: $*" >&2; exit 1; }

# Two test runs may start this at once; one installs, the other waits and then finds it done.
exec 9>"${TMPDIR:-/tmp}/cooperage-browser-setup.lock"
flock 9

command -v node >/dev/null 2>&1 || die "node not found: install Node.js 20 or later (Debian: apt-get install nodejs npm)"
command -v npm >/dev/null 2>&1 || die "npm not found: install npm (Debian: apt-get install npm)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || die "node $(node --version) is too old: need 20 or later"

# --- Chromium from Debian ---------------------------------------------------------------
chromium=/usr/bin/chromium
if [ -x "$chromium" ]; then
  echo "setup.sh: $chromium present"
elif [ "$(id -u)" -eq 0 ]; then
  command -v apt-get >/dev/null 2>&1 || die "$chromium is missing and there is no apt-get: install Chromium so that $chromium exists"
  echo "setup.sh: installing Debian's chromium with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  # Another apt-get may hold the dpkg lock (other setup scripts run at the same time): wait for it.
  apt_opts=(-o DPkg::Lock::Timeout=600 -y -q --no-install-recommends)
  apt-get -q -o DPkg::Lock::Timeout=600 update >/dev/null
  # fonts-dejavu-core: without any font, screenshots show empty boxes for every letter.
  apt-get "${apt_opts[@]}" install chromium fonts-dejavu-core >/dev/null
  [ -x "$chromium" ] || die "apt-get installed chromium but $chromium is still missing"
else
  die "$chromium is missing and we are not root: ask an administrator to run 'apt-get install chromium' (Debian), then rerun"
fi
"$chromium" --version >/dev/null 2>&1 || die "$chromium does not run: '$chromium --version' failed"

# --- npm --------------------------------------------------------------------------------
hash_of() { cat "$@" | sha256sum | cut -c1-64; }
npm_stamp="node_modules/.cooperage-setup-stamp"
npm_hash=$( { hash_of package.json package-lock.json; node --version; } | sha256sum | cut -c1-64)
if [ "$(cat "$npm_stamp" 2>/dev/null)" = "$npm_hash" ]; then
  echo "setup.sh: node_modules up to date"
else
  echo "setup.sh: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$npm_hash" > "$npm_stamp"
fi
