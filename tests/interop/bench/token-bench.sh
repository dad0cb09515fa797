#!/usr/bin/env bash
# Token-endpoint benchmark: client-credentials POSTs with wrk (Debian package) at N connections
# on loopback, reporting req/s and p50/p90/p99 latency.
#
# Usage: token-bench.sh TOKEN_URL CLIENT_ID CLIENT_SECRET
#   (or env TOKEN_URL, CLIENT_ID, CLIENT_SECRET)
# Env: DURATION     measured seconds (default 10, at most 300)
#      WARMUP       seconds of unmeasured load first (default 3, at most 60)
#      CONNECTIONS  default 32;  THREADS  wrk threads, default 2
#      CLIENT_AUTH  client_secret_basic (default) | client_secret_post
#      SCOPE        optional scope parameter;  LABEL  name in the RESULT line
# Only loopback targets are accepted. Installs wrk with apt-get when missing (needs root).
# Output ends with a `RESULT label=... rps=... p50_ms=... p99_ms=...` line; exit 1 if any
# request failed (non-2xx, socket errors or timeouts), so a figure is never one of errors.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
die() { echo "token-bench.sh: $*" >&2; exit 1; }

TOKEN_URL=${1:-${TOKEN_URL:-}}
CLIENT_ID=${2:-${CLIENT_ID:-}}
CLIENT_SECRET=${3:-${CLIENT_SECRET:-}}
[ -n "$TOKEN_URL" ] && [ -n "$CLIENT_ID" ] && [ -n "$CLIENT_SECRET" ] \
  || die "usage: token-bench.sh TOKEN_URL CLIENT_ID CLIENT_SECRET"
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
CLIENT_AUTH=${CLIENT_AUTH:-client_secret_basic}
LABEL=${LABEL:-token}
for v in DURATION WARMUP CONNECTIONS THREADS; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number"
done
[ "$DURATION" -ge 1 ] && [ "$DURATION" -le 300 ] || die "DURATION must be 1..300 s"
[ "$WARMUP" -le 60 ] || die "WARMUP must be at most 60 s"
[ "$CONNECTIONS" -ge 1 ] && [ "$CONNECTIONS" -le 1024 ] || die "CONNECTIONS must be 1..1024"
[[ $TOKEN_URL =~ ^https?://(127\.[0-9]+\.[0-9]+\.[0-9]+|localhost|\[::1\])(:[0-9]+)?/ ]] \
  || die "only loopback targets are allowed (127.0.0.0/8, localhost, [::1]): $TOKEN_URL"

if ! command -v wrk >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || die "wrk is not installed: run 'sudo apt-get install wrk'"
  echo "# installing wrk from Debian"
  apt-get install -y -q wrk >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; } \
    || die "apt-get install wrk failed"
fi
command -v curl >/dev/null 2>&1 || die "curl is needed for the pre-flight request (apt-get install curl)"

urlencode() { local LC_ALL=C s=$1 out= c i; for ((i = 0; i < ${#s}; i++)); do c=${s:i:1}
  case $c in [a-zA-Z0-9._~-]) out+=$c ;; *) printf -v c '%%%02X' "'$c"; out+=$c ;; esac; done; printf '%s' "$out"; }

BODY="grant_type=client_credentials"
[ -n "${SCOPE:-}" ] && BODY+="&scope=$(urlencode "$SCOPE")"
AUTH=
case $CLIENT_AUTH in
  client_secret_basic)
    # RFC 6749 section 2.3.1: form-urlencode id and secret before base64.
    AUTH="Basic $(printf '%s:%s' "$(urlencode "$CLIENT_ID")" "$(urlencode "$CLIENT_SECRET")" | base64 -w0)" ;;
  client_secret_post)
    BODY+="&client_id=$(urlencode "$CLIENT_ID")&client_secret=$(urlencode "$CLIENT_SECRET")" ;;
  *) die "CLIENT_AUTH must be client_secret_basic or client_secret_post" ;;
esac
export BENCH_BODY=$BODY BENCH_AUTH=$AUTH BENCH_LABEL=$LABEL

# Pre-flight: one request must succeed and return an access token.
pre=$(mktemp)
trap 'rm -f "$pre"' EXIT
code=$(curl -sS --max-time 10 -o "$pre" -w '%{http_code}' -X POST \
  -H 'Content-Type: application/x-www-form-urlencoded' ${AUTH:+-H "Authorization: $AUTH"} \
  --data "$BODY" "$TOKEN_URL") || die "pre-flight request to $TOKEN_URL failed"
[ "$code" = 200 ] && grep -q '"access_token"' "$pre" \
  || die "pre-flight got HTTP $code: $(head -c 300 "$pre")"

echo "# $(nproc) cores; wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --timeout 5s --latency -s token-post.lua $TOKEN_URL ($CLIENT_AUTH)"
if [ "$WARMUP" -gt 0 ]; then
  timeout $((WARMUP + 30)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" --timeout 5s \
    -s "$HERE/token-post.lua" "$TOKEN_URL" >/dev/null
fi
out=$(timeout $((DURATION + 60)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s --latency \
  -s "$HERE/token-post.lua" "$TOKEN_URL")
echo "$out"
result=$(grep '^RESULT ' <<<"$out" | tail -n1)
[ -n "$result" ] || die "no RESULT line from wrk"
get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$result"; }
echo "# $LABEL: $(get rps) req/s, p50 $(get p50_ms) ms, p99 $(get p99_ms) ms at $CONNECTIONS connections over ${DURATION}s"
errors=$(( $(get non2xx) + $(get connect_err) + $(get read_err) + $(get write_err) + $(get timeouts) ))
[ "$errors" -eq 0 ] || die "$errors failed requests during the run: the figures are not valid"
