#!/usr/bin/env bash
# Benchmarks the stand-in OP (oidc-provider via op-standin.mjs) token endpoint with
# token-bench.sh: the comparison peer for coop-sso's figures. Run it in the same session as
# the coop-sso measurement; the machine's noise makes figures from different runs
# incomparable. Env as for token-bench.sh (DURATION, WARMUP, CONNECTIONS, THREADS,
# CLIENT_AUTH). Starts and stops its own OP on 127.0.0.1.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$HERE/.."
./setup.sh >/dev/null

WORK=$(mktemp -d -t interop-bench.XXXXXX)
OP_PID=
cleanup() {
  if [ -n "$OP_PID" ]; then kill "$OP_PID" 2>/dev/null && wait "$OP_PID" 2>/dev/null; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SECRET=$(node -e 'console.log(require("crypto").randomBytes(24).toString("base64url"))')
STANDIN_CLIENT_ID=bench-client STANDIN_CLIENT_SECRET=$SECRET STANDIN_PASSWORD=unused-$SECRET \
STANDIN_REDIRECT_URIS=http://127.0.0.1:9/unused NODE_ENV=production \
  node op-standin.mjs > "$WORK/op.out" 2> "$WORK/op.err" &
OP_PID=$!
ISSUER=
for _ in $(seq 1 100); do
  ISSUER=$(sed -n 's/^ISSUER=//p' "$WORK/op.out" | head -n1)
  [ -n "$ISSUER" ] && break
  kill -0 "$OP_PID" 2>/dev/null || { cat "$WORK/op.err" >&2; exit 1; }
  sleep 0.2
done
[ -n "$ISSUER" ] || { echo "op-standin did not start" >&2; exit 1; }
echo "# oidc-provider $(node -p 'require("oidc-provider/package.json").version') on node $(node --version) at $ISSUER"
LABEL=${LABEL:-oidc-provider} "$HERE/token-bench.sh" "$ISSUER/token" bench-client "$SECRET"
