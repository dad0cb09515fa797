#!/usr/bin/env bash
# Reproducible benchmark of coop-sso (issue 3, "Figures for your note"); see README.md here.
#
# Builds coop-sso in release (through the shared cargo lock), starts a private PostgreSQL
# cluster in a temp dir, coop-sso with a generated config, and oidc-provider (the stand-in OP of
# tests/interop) as the comparison peer; then measures with wrk, ROUNDS times each, interleaved:
#   cc-coop      token endpoint, client credentials (client_secret_basic), coop-sso
#   cc-op        the same on oidc-provider (opaque access tokens, its default)
#   cc-op-jwt    the same on oidc-provider issuing RS256 JWT access tokens, like coop-sso
#                (only when op-standin.mjs supports STANDIN_JWT_AUDIENCE)
#   code-32/-8   code exchange with PKCE on coop-sso (codes pre-created in the database) at 32
#                and 8 connections
#   userinfo     GET /userinfo with a Bearer token from a real code flow
#   login-4/-32  POST /login (argon2id) at 4 and 32 connections
# and prints a Markdown report (medians, CPU use per process, RSS) on stdout. Progress goes to
# stderr. Everything listens on 127.0.0.1 only; every load run is bounded (DURATION s).
#
# Env: DURATION (10)  WARMUP (3, 0 = none)  ROUNDS (3)  CONNECTIONS (32)  THREADS (2)
#      LOGIN_CONNECTIONS ("4 32")  CODE_CONNECTIONS ("32 8")  CODES (60000)  SCENARIOS (all, space-separated subset)
#      COOP_SSO_BIN (use this binary instead of building)  PROFILE=1 (extra perf runs)
#      SSO_ENV (extra environment for coop-sso serve, e.g. "MALLOC_ARENA_MAX=2")
#      OUT (also write the report to this file)  KEEP_RAW (copy raw wrk outputs to this dir)
# Exit status: 0 with a report; 1 on a setup failure, or (after the report) when any run had a
# failed request, a timeout, a socket error, or fewer new rows in the database than successful
# answers (code exchange, sign-in): that scenario is shown as FAILED, without figures.
set -Eeuo pipefail
trap 'echo "sso.sh: unexpected failure (status $?) at line $LINENO: $BASH_COMMAND" >&2' ERR
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-3}
ROUNDS=${ROUNDS:-3}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
LOGIN_CONNECTIONS=${LOGIN_CONNECTIONS:-4 32}
CODE_CONNECTIONS=${CODE_CONNECTIONS:-32 8}
CODES=${CODES:-60000}
PROFILE=${PROFILE:-0}

die() { echo "sso.sh: $*" >&2; exit 1; }
log() { echo "sso.sh: $*" >&2; }
# shellcheck source=figures.sh
. "$HERE/figures.sh"

for v in DURATION WARMUP ROUNDS CONNECTIONS THREADS CODES; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number"
done
# A request stuck longer than wrk's --timeout (5 s) only counts as a timeout if the run lasts
# longer than that, so shorter runs could hide a stalled server.
[ "$DURATION" -ge 6 ] && [ "$DURATION" -le 60 ] || die "DURATION must be 6..60 s"
[ "$WARMUP" -le 30 ] || die "WARMUP must be at most 30 s"
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 9 ] || die "ROUNDS must be 1..9"
[ "$THREADS" -ge 1 ] && [ "$CONNECTIONS" -ge "$THREADS" ] || die "need CONNECTIONS >= THREADS >= 1"
for c in $LOGIN_CONNECTIONS $CODE_CONNECTIONS; do
  [[ $c =~ ^[0-9]+$ ]] && [ "$c" -ge "$THREADS" ] || die "LOGIN_CONNECTIONS, CODE_CONNECTIONS: each must be a number >= THREADS"
done

# ---- prerequisites -------------------------------------------------------------------------
IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1
if ! command -v wrk >/dev/null 2>&1; then
  [ "$IS_ROOT" = 1 ] || die "wrk is not installed: run 'sudo apt-get install wrk'"
  log "installing wrk from Debian"
  apt-get install -y -q wrk >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && apt-get install -y -q wrk >/dev/null; } \
    || die "apt-get install wrk failed"
fi
for tool in curl python3 node openssl ps awk; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is needed"
done
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] || die "PostgreSQL server binaries not found in /usr/lib/postgresql/*/bin (apt-get install postgresql)"
if [ "$IS_ROOT" = 1 ]; then
  command -v runuser >/dev/null 2>&1 || die "runuser is needed to run PostgreSQL as the postgres account"
  id postgres >/dev/null 2>&1 || die "the postgres account does not exist (it comes with the postgresql package)"
fi
CLK_TCK=$(getconf CLK_TCK)

# ---- cleanup, installed before anything is started -----------------------------------------
WORK=
SSO_PID=
declare -a STANDIN_PIDS=() SAMPLER_PIDS=()
PG_STARTED=0
cleanup() {
  local rc=$?
  trap - ERR
  set +e
  for p in "${SAMPLER_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  stop_pid() {
    kill -TERM "$1" 2>/dev/null || return 0
    for _ in $(seq 1 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
  }
  [ -n "$SSO_PID" ] && stop_pid "$SSO_PID"
  for p in "${STANDIN_PIDS[@]}"; do stop_pid "$p"; done
  if [ "$PG_STARTED" = 1 ]; then
    as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m fast -w stop >/dev/null 2>&1 \
      || as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m immediate -w stop >/dev/null 2>&1
  fi
  if [ -n "$WORK" ] && [ -d "$WORK" ]; then
    if [ -n "${KEEP_RAW:-}" ] && [ -d "$WORK/raw" ]; then
      mkdir -p "$KEEP_RAW" && cp -r "$WORK/raw/." "$KEEP_RAW/" && cp "$WORK"/*.log "$KEEP_RAW/" 2>/dev/null
    fi
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

as_pg() {
  if [ "$IS_ROOT" = 1 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
urlencode() {
  python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"
}
json_field() { # FILE FIELD
  python3 -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$1" "$2"
}
rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# CPU ticks (user + system) of the given processes, summed.
proc_ticks() {
  local sum=0 p t
  for p in "$@"; do
    t=$(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null) || t=0
    sum=$((sum + ${t:-0}))
  done
  echo "$sum"
}
# "pid ticks" per line for the given processes.
ticks_each() {
  local p t
  for p in "$@"; do
    t=$(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$p/stat" 2>/dev/null) && echo "$p $t"
  done
  return 0 # a process that has just ended is left out
}
# CPU ticks used between two ticks_each snapshots: per process, so a backend that started or
# ended in between does not skew the sum (the ticks of one that ended are lost).
ticks_delta() { # FILE0 FILE1
  awk 'NR == FNR {t0[$1] = $2; next} {d += $2 - ($1 in t0 ? t0[$1] : 0)} END {print d + 0}' "$1" "$2"
}
machine_busy_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }
pg_pids() {
  local pm
  pm=$(head -n1 "$WORK/pg/data/postmaster.pid")
  # shellcheck disable=SC2046 # one word per pid
  echo "$pm" $(ps -o pid= --ppid "$pm")
}

# ---- 1. build ------------------------------------------------------------------------------
if [ -n "${COOP_SSO_BIN:-}" ]; then
  BIN=$COOP_SSO_BIN
  log "using $BIN (COOP_SSO_BIN); not building"
else
  log "building coop-sso (release) through /tmp/cooperage-cargo.lock"
  (cd "$REPO" && flock /tmp/cooperage-cargo.lock cargo build --release -q -p coop-sso) \
    || die "cargo build --release -p coop-sso failed"
  BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/coop-sso
fi
[ -x "$BIN" ] || die "no coop-sso binary at $BIN"
log "installing the interop harness (tests/interop/setup.sh) for the oidc-provider stand-in"
bash "$REPO/tests/interop/setup.sh" >/dev/null || die "tests/interop/setup.sh failed"

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
WORK=$(mktemp -d -t coop-sso-bench.XXXXXX)
chmod 755 "$WORK" # the postgres account must reach its directory inside
mkdir -p "$WORK/pg/run" "$WORK/raw" "$WORK/state"

# ---- PostgreSQL ----------------------------------------------------------------------------
SOCK=$WORK/pg/run
[ "$IS_ROOT" = 1 ] && chown -R postgres:postgres "$WORK/pg"
log "creating a PostgreSQL cluster in $WORK/pg ($("$PGBIN/postgres" --version))"
as_pg "$PGBIN/initdb" -D "$WORK/pg/data" -U postgres --auth=trust --encoding=UTF8 --locale=C >/dev/null \
  || die "initdb failed"
PG_STARTED=1
as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/server.log" \
  -o "-c listen_addresses='' -c unix_socket_directories='$SOCK' -c port=5432" -w start >/dev/null \
  || { cat "$WORK/pg/server.log" >&2; die "PostgreSQL did not start"; }
"$PGBIN/createdb" -h "$SOCK" -p 5432 -U postgres coop_sso || die "createdb failed"
sql() { "$PGBIN/psql" -h "$SOCK" -p 5432 -U postgres -d coop_sso -v ON_ERROR_STOP=1 -qAtX "$@"; }

# ---- coop-sso config -----------------------------------------------------------------------
SSO_PORT=$(free_port)
ISSUER=http://127.0.0.1:$SSO_PORT
REDIRECT=http://127.0.0.1:9/bench/callback
openssl rand -hex 24 > "$WORK/bench-rp-secret"
RP_SECRET=$(cat "$WORK/bench-rp-secret")
CONFIG=$WORK/cooperage.json
cat > "$CONFIG" <<EOF
{
  "organisation": { "name": "Bench Matkooperativ" },
  "domain": "localhost",
  "public_url": "$ISSUER",
  "locale": { "default": "en", "languages": ["en", "sv"] },
  "currency": "SEK",
  "vat_classes": { "food": { "rates": [ { "from": "2024-01-01", "percent": "12" } ] } },
  "services": {
    "sso": {
      "listen": "127.0.0.1:$SSO_PORT",
      "public_url": "$ISSUER",
      "database_url": "postgres://postgres@localhost/coop_sso?host=$SOCK&port=5432",
      "state_directory": "$WORK/state",
      "clients": [
        { "client_id": "bench-rp", "name": "Benchmark RP", "redirect_uris": ["$REDIRECT"],
          "secret_file": "$WORK/bench-rp-secret",
          "scopes": ["openid", "profile", "email", "member", "roles", "offline_access"] }
      ]
    },
    "pos": {}
  }
}
EOF
unset COOPERAGE_CONFIG
"$BIN" migrate --config "$CONFIG" 2> "$WORK/migrate.log" || { cat "$WORK/migrate.log" >&2; die "coop-sso migrate failed"; }
# demo-seed creates four demo members with random passwords and prints them; david@demo.coop
# has only the member role, so no TOTP step.
"$BIN" demo-seed --config "$CONFIG" > "$WORK/seed.txt" 2> "$WORK/seed.log" \
  || { cat "$WORK/seed.log" >&2; die "coop-sso demo-seed failed"; }
MEMBER_EMAIL=david@demo.coop
MEMBER_PASSWORD=$(awk -v e="$MEMBER_EMAIL" '$1 == e {print $2}' "$WORK/seed.txt")
[ -n "$MEMBER_PASSWORD" ] || die "no password for $MEMBER_EMAIL in the demo-seed output"
MEMBER_ID=$(sql -c "select member_id from member where email = '$MEMBER_EMAIL'")
[ -n "$MEMBER_ID" ] || die "member $MEMBER_EMAIL not found"

# PKCE: one verifier for all pre-created codes; challenge = BASE64URL(SHA256(verifier)).
VERIFIER=bench-verifier-$(openssl rand -hex 24)
CHALLENGE=$(printf '%s' "$VERIFIER" | openssl dgst -sha256 -binary | openssl base64 -A | tr '+/' '-_' | tr -d '=')
# offline_access: a refresh token with every code exchange, as a suite service signs in.
SCOPE="openid profile email member roles offline_access"
log "pre-creating $CODES authorization codes"
sql -v member="$MEMBER_ID" -v redirect="$REDIRECT" -v challenge="$CHALLENGE" -v scope="$SCOPE" \
    -v codes="$CODES" <<'EOF'
insert into authorization_code
    (code_hash, client_id, member_id, web_session_id, redirect_uri, scope, nonce, code_challenge,
     auth_time, created_at, expires_at)
select sha256(convert_to('bench-' || n, 'UTF8')), 'bench-rp', :'member'::uuid, null, :'redirect',
       :'scope', 'bench-nonce', :'challenge', now(), now(), now() + interval '1 day'
from generate_series(1, :codes) as n;
analyze authorization_code;
EOF
NEXT_CODE=1

# ---- start coop-sso ------------------------------------------------------------------------
log "starting coop-sso on $ISSUER"
# shellcheck disable=SC2086 # SSO_ENV is a list of VAR=value words
env ${SSO_ENV:-} "$BIN" serve --config "$CONFIG" < /dev/null > "$WORK/sso.log" 2>&1 &
SSO_PID=$!
for i in $(seq 1 300); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$ISSUER/readyz")" = 200 ] && break
  kill -0 "$SSO_PID" 2>/dev/null || { cat "$WORK/sso.log" >&2; die "coop-sso exited at start"; }
  [ "$i" = 300 ] && { cat "$WORK/sso.log" >&2; die "coop-sso did not become ready within 60 s"; }
  sleep 0.2
done
POS_SECRET_FILE=$WORK/state/client-secrets/coop-pos
[ -s "$POS_SECRET_FILE" ] || die "coop-sso did not generate $POS_SECRET_FILE"
POS_SECRET=$(cat "$POS_SECRET_FILE")
sleep 2
RSS_IDLE_START=$(rss_kb "$SSO_PID")

# ---- start the oidc-provider stand-ins -----------------------------------------------------
STANDIN=$REPO/tests/interop/op-standin.mjs
OP_SECRET=$(openssl rand -hex 24)
OP_VERSION=$(cd "$REPO/tests/interop" && node -p 'require("oidc-provider/package.json").version')
start_standin() { # NAME [extra env...]  -> sets STANDIN_ISSUER, STANDIN_PID
  local name=$1; shift
  env "$@" PORT=0 STANDIN_CLIENT_ID=bench-cc STANDIN_CLIENT_SECRET="$OP_SECRET" \
    STANDIN_PASSWORD="unused-$OP_SECRET" STANDIN_REDIRECT_URIS=http://127.0.0.1:9/unused \
    NODE_ENV=production node "$STANDIN" > "$WORK/$name.out" 2> "$WORK/$name.log" < /dev/null &
  STANDIN_PID=$!
  STANDIN_PIDS+=("$STANDIN_PID")
  STANDIN_ISSUER=
  for _ in $(seq 1 450); do
    STANDIN_ISSUER=$(sed -n 's/^ISSUER=//p' "$WORK/$name.out" | head -n1)
    [ -n "$STANDIN_ISSUER" ] && return 0
    kill -0 "$STANDIN_PID" 2>/dev/null || { cat "$WORK/$name.log" >&2; die "op-standin ($name) exited at start"; }
    sleep 0.2
  done
  die "op-standin ($name) did not start within 90 s"
}
start_standin op
OP_ISSUER=$STANDIN_ISSUER OP_PID=$STANDIN_PID
OPJWT_ISSUER='' OPJWT_PID=''
if grep -q STANDIN_JWT_AUDIENCE "$STANDIN"; then
  start_standin opjwt STANDIN_JWT_AUDIENCE=cooperage
  OPJWT_ISSUER=$STANDIN_ISSUER OPJWT_PID=$STANDIN_PID
else
  log "op-standin.mjs has no STANDIN_JWT_AUDIENCE: the RS256-JWT variant of oidc-provider is skipped"
fi
sleep 1
OP_RSS_IDLE=$(rss_kb "$OP_PID")
OPJWT_RSS_IDLE=
[ -n "$OPJWT_PID" ] && OPJWT_RSS_IDLE=$(rss_kb "$OPJWT_PID")

# ---- request material ----------------------------------------------------------------------
basic() { printf 'Basic %s' "$(printf '%s:%s' "$(urlencode "$1")" "$(urlencode "$2")" | base64 -w0)"; }
CC_BODY=grant_type=client_credentials
COOP_CC_AUTH=$(basic coop-pos "$POS_SECRET")
OP_CC_AUTH=$(basic bench-cc "$OP_SECRET")
RP_AUTH=$(basic bench-rp "$RP_SECRET")
CODE_REST="redirect_uri=$(urlencode "$REDIRECT")&code_verifier=$VERIFIER"

# A token endpoint must answer a client-credentials request with 200 and a token; with
# want_jwt the token must be a compact JWS (three dot-separated parts).
preflight_cc() { # LABEL TOKEN_URL AUTH want_jwt
  local code body=$WORK/preflight.json
  code=$(curl -sS --max-time 10 -o "$body" -w '%{http_code}' -X POST -H "Authorization: $3" \
    -H 'Content-Type: application/x-www-form-urlencoded' --data "$CC_BODY" "$2") \
    || die "pre-flight to $1 failed"
  [ "$code" = 200 ] || die "pre-flight to $1: HTTP $code: $(head -c 300 "$body")"
  local at
  at=$(json_field "$body" access_token)
  [ -n "$at" ] || die "pre-flight to $1: no access_token: $(head -c 300 "$body")"
  if [ "$4" = 1 ] && ! [[ $at =~ ^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$ ]]; then
    die "pre-flight to $1: the access token is not a JWT"
  fi
}
preflight_cc coop-sso "$ISSUER/token" "$COOP_CC_AUTH" 1
preflight_cc oidc-provider "$OP_ISSUER/token" "$OP_CC_AUTH" 0
[ -n "$OPJWT_ISSUER" ] && preflight_cc "oidc-provider (JWT)" "$OPJWT_ISSUER/token" "$OP_CC_AUTH" 1

# A real sign-in and code flow with curl, as a browser would: GET /login (cookie + CSRF token),
# POST /login (303), GET /authorize (303 to the redirect URI with a code), POST /token.
# Prints the access token.
real_code_flow() {
  local jar=$WORK/flow.jar page=$WORK/flow.html csrf code out loc
  rm -f "$jar"
  curl -sS --max-time 10 -c "$jar" -o "$page" "$ISSUER/login" || die "GET /login failed"
  csrf=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$page" | head -n1)
  [ -n "$csrf" ] || die "no csrf_token on the login page"
  code=$(curl -sS --max-time 10 -b "$jar" -c "$jar" -o /dev/null -w '%{http_code}' \
    --data "csrf_token=$(urlencode "$csrf")&return_to=%2F&email=$(urlencode "$MEMBER_EMAIL")&password=$(urlencode "$MEMBER_PASSWORD")" \
    "$ISSUER/login") || die "POST /login failed"
  [ "$code" = 303 ] || die "POST /login answered $code, not 303"
  local state nonce q
  state=$(openssl rand -hex 8) nonce=$(openssl rand -hex 8)
  q="response_type=code&client_id=bench-rp&redirect_uri=$(urlencode "$REDIRECT")&scope=$(urlencode "$SCOPE")"
  q+="&state=$state&nonce=$nonce&code_challenge=$CHALLENGE&code_challenge_method=S256"
  out=$(curl -sS --max-time 10 -b "$jar" -o /dev/null -w '%{http_code} %{redirect_url}' "$ISSUER/authorize?$q") \
    || die "GET /authorize failed"
  loc=${out#* }
  [ "${out%% *}" = 303 ] || [ "${out%% *}" = 302 ] || die "GET /authorize answered ${out%% *}"
  [[ $loc == "$REDIRECT?"* ]] || die "GET /authorize did not redirect to the client: $loc"
  code=$(sed -n 's/.*[?&]code=\([^&]*\).*/\1/p' <<<"$loc")
  [ -n "$code" ] && [[ $loc == *"state=$state"* ]] || die "no code or wrong state in $loc"
  out=$(curl -sS --max-time 10 -o "$WORK/flow.json" -w '%{http_code}' -X POST -H "Authorization: $RP_AUTH" \
    -H 'Content-Type: application/x-www-form-urlencoded' \
    --data "grant_type=authorization_code&code=$code&$CODE_REST" "$ISSUER/token") || die "code exchange failed"
  [ "$out" = 200 ] || die "code exchange answered $out: $(head -c 300 "$WORK/flow.json")"
  for f in access_token id_token refresh_token; do
    [ -n "$(json_field "$WORK/flow.json" $f)" ] || die "the code exchange returned no $f"
  done
  json_field "$WORK/flow.json" access_token
}

# One pre-created code must be exchanged like a real one (same client, verifier, redirect URI).
code=$(curl -sS --max-time 10 -o "$WORK/pre.json" -w '%{http_code}' -X POST -H "Authorization: $RP_AUTH" \
  -H 'Content-Type: application/x-www-form-urlencoded' \
  --data "grant_type=authorization_code&code=bench-$NEXT_CODE&$CODE_REST" "$ISSUER/token") || die "code pre-flight failed"
[ "$code" = 200 ] && [ -n "$(json_field "$WORK/pre.json" id_token)" ] \
  || die "pre-created code bench-$NEXT_CODE: HTTP $code: $(head -c 300 "$WORK/pre.json")"
NEXT_CODE=$((NEXT_CODE + 1))
ACCESS_TOKEN=$(real_code_flow)
code=$(curl -sS --max-time 10 -o "$WORK/ui.json" -w '%{http_code}' -H "Authorization: Bearer $ACCESS_TOKEN" "$ISSUER/userinfo")
[ "$code" = 200 ] && [ "$(json_field "$WORK/ui.json" email)" = "$MEMBER_EMAIL" ] \
  || die "userinfo pre-flight: HTTP $code: $(head -c 300 "$WORK/ui.json")"

# The login form as wrk posts it: the cookie and CSRF token of one GET /login; every POST
# with them is a complete password sign-in (a web_session row and a 303).
rm -f "$WORK/login.jar"
curl -sS --max-time 10 -c "$WORK/login.jar" -o "$WORK/login.html" "$ISSUER/login" || die "GET /login failed"
LOGIN_CSRF=$(sed -n 's/.*name="csrf_token" value="\([^"]*\)".*/\1/p' "$WORK/login.html" | head -n1)
LOGIN_COOKIE_VALUE=$(awk -F'\t' '$6 == "coop-sso-session" {print $7}' "$WORK/login.jar")
[ -n "$LOGIN_CSRF" ] && [ -n "$LOGIN_COOKIE_VALUE" ] || die "no session cookie or CSRF token from GET /login"
LOGIN_COOKIE="coop-sso-session=$LOGIN_COOKIE_VALUE"
LOGIN_BODY="csrf_token=$(urlencode "$LOGIN_CSRF")&return_to=%2F&email=$(urlencode "$MEMBER_EMAIL")&password=$(urlencode "$MEMBER_PASSWORD")"
code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -H "Cookie: $LOGIN_COOKIE" --data "$LOGIN_BODY" "$ISSUER/login")
[ "$code" = 303 ] || die "login pre-flight answered $code, not 303"

# ---- scenarios -----------------------------------------------------------------------------
ALL_SCENARIOS="cc-coop cc-op"
[ -n "$OPJWT_ISSUER" ] && ALL_SCENARIOS+=" cc-op-jwt"
for c in $CODE_CONNECTIONS; do ALL_SCENARIOS+=" code-$c"; done
ALL_SCENARIOS+=" userinfo"
for c in $LOGIN_CONNECTIONS; do ALL_SCENARIOS+=" login-$c"; done
SCENARIOS_ENV=${SCENARIOS:-}
SCENARIOS=${SCENARIOS:-$ALL_SCENARIOS}
for s in $SCENARIOS; do [[ " $ALL_SCENARIOS " == *" $s "* ]] || die "unknown scenario $s (have: $ALL_SCENARIOS)"; done

declare -A TITLE=(
  [cc-coop]="token: client credentials — coop-sso"
  [cc-op]="token: client credentials — oidc-provider $OP_VERSION (opaque token)"
  [cc-op-jwt]="token: client credentials — oidc-provider $OP_VERSION (RS256 JWT, like coop-sso)"
  [userinfo]="userinfo (Bearer) — coop-sso"
)
for c in $CODE_CONNECTIONS; do TITLE[code-$c]="token: code exchange + PKCE — coop-sso"; done
for c in $LOGIN_CONNECTIONS; do TITLE[login-$c]="sign-in POST /login (argon2id 19 MiB, t=2, p=1) — coop-sso"; done

# Sets the wrk target for scenario $1: URL, SCRIPT, CONNS, SERVER_PID, and the BENCH_* env.
configure() {
  export BENCH_LUA_DIR=$HERE BENCH_THREADS=$THREADS
  export BENCH_METHOD=POST BENCH_BODY='' BENCH_AUTH='' BENCH_COOKIE='' BENCH_REST=''
  SCRIPT=request.lua CONNS=$CONNECTIONS SERVER_PID=$SSO_PID
  case $1 in
    cc-coop) URL=$ISSUER/token BENCH_BODY=$CC_BODY BENCH_AUTH=$COOP_CC_AUTH ;;
    cc-op) URL=$OP_ISSUER/token BENCH_BODY=$CC_BODY BENCH_AUTH=$OP_CC_AUTH SERVER_PID=$OP_PID ;;
    cc-op-jwt) URL=$OPJWT_ISSUER/token BENCH_BODY=$CC_BODY BENCH_AUTH=$OP_CC_AUTH SERVER_PID=$OPJWT_PID ;;
    code-*) URL=$ISSUER/token SCRIPT=code-exchange.lua BENCH_AUTH=$RP_AUTH BENCH_REST=$CODE_REST CONNS=${1#code-} ;;
    userinfo) URL=$ISSUER/userinfo BENCH_METHOD=GET BENCH_AUTH="Bearer $ACCESS_TOKEN" ;;
    login-*) URL=$ISSUER/login BENCH_BODY=$LOGIN_BODY BENCH_COOKIE=$LOGIN_COOKIE CONNS=${1#login-} ;;
  esac
  [[ $URL =~ ^http://127\.0\.0\.1:[0-9]+/ ]] || die "refusing a non-loopback target: $URL"
  if [[ $1 == code-* ]]; then
    export BENCH_CODE_FIRST=$NEXT_CODE BENCH_CODE_LAST=$CODES
  fi
}

# What the server must have recorded for each successful request of scenario $1.
success_rows() {
  case $1 in
    code-*) sql -c "select count(*) from token_family where client_id = 'bench-rp'" ;;
    login-*) sql -c "select count(*) from web_session" ;;
    *) echo 0 ;;
  esac
}

sampler() { # PID OUTFILE: peak VmRSS (kB) every 0.5 s
  local peak=0 v
  echo 0 > "$2"
  while :; do
    v=$(rss_kb "$1")
    if [ -n "$v" ] && [ "$v" -gt "$peak" ]; then peak=$v; echo "$peak" > "$2"; fi
    sleep 0.5
  done
}

# wrk output of the last run: $WRK_OUT. Returns wrk's status.
run_wrk() { # DURATION_S TAG
  local raw=$WORK/raw/$2.txt
  WRK_CMD="wrk -t$THREADS -c$CONNS -d${1}s --timeout 5s --latency -s tests/bench/$SCRIPT $URL"
  WRK_OUT=$(cd "$HERE" && { timeout $(($1 + 30)) wrk -t"$THREADS" -c"$CONNS" -d"${1}s" --timeout 5s --latency \
    -s "$HERE/$SCRIPT" "$URL" 2>&1 && rc=0 || rc=$?; times; echo "WRK_RC=$rc"; })
  printf '%s\n' "$WRK_OUT" > "$raw"
  [ "$(sed -n 's/^WRK_RC=//p' <<<"$WRK_OUT")" = 0 ]
}

result_field() { sed -n "s/^RESULT.* $1=\([^ ]*\).*/\1/p" <<<"$WRK_OUT" | tail -n1; }
# Children's CPU seconds (user + sys) from the `times` lines: the wrk process.
wrk_cpu_s() {
  tail -n 2 <<<"$WRK_OUT" | head -n1 | awk '{
    s = 0
    for (i = 1; i <= 2; i++) { split($i, a, "m"); sub(/s$/, "", a[2]); s += a[1] * 60 + a[2] }
    print s }'
}

# A run counts only if every request succeeded. On failure: FAILED[scenario] gets the reason,
# the raw wrk output and coop-sso's last log lines go to stderr, and the status is 1; the
# scenario is then left out of the remaining rounds and the script exits 1 after the report.
declare -A FAILED=()
check_run() { # SCENARIO TAG
  local raw=$WORK/raw/$2.txt e
  [ -n "$(result_field rps)" ] || { cat "$raw" >&2; die "$2: wrk failed or printed no RESULT line"; }
  if [[ $1 == code-* ]]; then
    NEXT_CODE=$(result_field next_code)
    [ "$(result_field exhausted)" = 1 ] && die "$2: the pool of pre-created codes is exhausted: raise CODES (now $CODES)"
  fi
  e="$(result_field non2xx3xx) status >= 400, $(result_field timeouts) timeouts"
  e+=", $(( $(result_field connect_err) + $(result_field read_err) + $(result_field write_err) )) socket errors"
  if [ "$(( $(result_field non2xx3xx) + $(result_field connect_err) + $(result_field read_err) \
        + $(result_field write_err) + $(result_field timeouts) ))" -ne 0 ]; then
    fail_run "$1" "$2" "$e of $(result_field requests) requests"
    return 1
  fi
}
fail_run() { # SCENARIO TAG REASON
  FAILED[$1]="$3 ($2)"
  cat "$WORK/raw/$2.txt" >&2
  echo "--- last lines of coop-sso's log:" >&2
  tail -n 6 "$WORK/sso.log" | cut -c1-300 >&2
  echo "sso.sh: FAILED $2: $3: no figures for $1" >&2
  # Let requests still stuck in the server finish or time out before the next scenario.
  sleep 6
  [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$ISSUER/readyz")" = 200 ] \
    || die "coop-sso is not ready after the failed run $2"
}

warm() { # SCENARIO
  [ "$WARMUP" -gt 0 ] || return 0
  configure "$1"
  run_wrk "$WARMUP" "$1.warmup" || { cat "$WORK/raw/$1.warmup.txt" >&2; die "$1: warm-up failed"; }
  check_run "$1" "$1.warmup" || true
}

RESULTS=$WORK/results.tsv
declare -A CMD=()
measure() { # SCENARIO ROUND
  local sc=$1 r=$2 tag=$1.$2 rows0 rows1 t0 t1 b0 b1 s0 s1 n0 n1 peak=$WORK/peak.$1.$2
  configure "$sc"
  if [ "$sc" = userinfo ]; then
    local token
    if ! token=$(real_code_flow 2> "$WORK/flow.err"); then
      cat "$WORK/flow.err" >&2
      FAILED[$sc]="$tag: the real code flow for the Bearer token failed: $(tail -n1 "$WORK/flow.err")"
      log "FAILED ${FAILED[$sc]}"
      return 0
    fi
    export BENCH_AUTH="Bearer $token"
  fi
  rows0=$(success_rows "$sc")
  local node_pid=
  [[ $sc == cc-op* ]] && node_pid=$SERVER_PID
  sampler "$SERVER_PID" "$peak" & SAMPLER_PIDS+=($!)
  local spid=$!
  if [ "$r" = 1 ] && [ "$sc" = cc-coop ]; then
    (sleep $((DURATION / 2)); top -b -n 1 -w 200 | head -n 20) > "$WORK/top.$sc.txt" 2>&1 &
    SAMPLER_PIDS+=($!)
  fi
  # shellcheck disable=SC2046 # pid list
  ticks_each $(pg_pids) > "$WORK/pg.ticks0"
  t0=$(date +%s.%N) b0=$(machine_busy_ticks) s0=$(proc_ticks "$SSO_PID")
  n0=0; [ -n "$node_pid" ] && n0=$(proc_ticks "$node_pid")
  log "round $r/$ROUNDS: $sc (${DURATION}s, $CONNS connections)"
  run_wrk "$DURATION" "$tag" || { cat "$WORK/raw/$tag.txt" >&2; die "$tag: wrk failed"; }
  t1=$(date +%s.%N) b1=$(machine_busy_ticks) s1=$(proc_ticks "$SSO_PID")
  # shellcheck disable=SC2046 # pid list
  ticks_each $(pg_pids) > "$WORK/pg.ticks1"
  n1=0; [ -n "$node_pid" ] && n1=$(proc_ticks "$node_pid")
  kill "$spid" 2>/dev/null; wait "$spid" 2>/dev/null || true
  CMD[$sc]=$WRK_CMD
  check_run "$sc" "$tag" || return 0
  rows1=$(success_rows "$sc")
  local req
  req=$(result_field requests)
  if [[ $sc == code-* || $sc == login-* ]] && [ $((rows1 - rows0)) -lt "$req" ]; then
    fail_run "$sc" "$tag" "wrk counted $req answers but the server recorded only $((rows1 - rows0)) successes"
    return 0
  fi
  # scenario round rps p50 p99 errors requests wall cpu%: coop pg node wrk machine; peak rss kB
  awk -v sc="$sc" -v r="$r" -v rps="$(result_field rps)" -v p50="$(result_field p50_ms)" \
      -v p99="$(result_field p99_ms)" -v req="$req" -v t0="$t0" -v t1="$t1" -v tck="$CLK_TCK" \
      -v s="$((s1 - s0))" -v p="$(ticks_delta "$WORK/pg.ticks0" "$WORK/pg.ticks1")" -v n="$((n1 - n0))" -v w="$(wrk_cpu_s)" \
      -v b="$((b1 - b0))" -v peak="$(cat "$peak")" 'BEGIN {
    wall = t1 - t0
    printf "%s\t%s\t%s\t%s\t%s\t0\t%s\t%.2f\t%.0f\t%.0f\t%.0f\t%.0f\t%.0f\t%s\n", sc, r, rps, p50, p99, req, wall,
      100 * s / tck / wall, 100 * p / tck / wall, 100 * n / tck / wall, 100 * w / wall, 100 * b / tck / wall, peak
  }' >> "$RESULTS"
}

log "warm-up and $ROUNDS rounds of: $SCENARIOS"
for r in $(seq 1 "$ROUNDS"); do
  for sc in $SCENARIOS; do
    [ "$r" = 1 ] && warm "$sc"
    [ -n "${FAILED[$sc]:-}" ] || measure "$sc" "$r"
  done
done
sleep 2
RSS_IDLE_END=$(rss_kb "$SSO_PID")

# ---- optional profile (not measured) -------------------------------------------------------
PROFILE_TXT=
if [ "$PROFILE" = 1 ]; then
  command -v perf >/dev/null 2>&1 || die "PROFILE=1 needs perf (apt-get install linux-perf)"
  for sc in cc-coop $(for c in $CODE_CONNECTIONS; do echo "code-$c"; done) userinfo; do
    [[ " $SCENARIOS " == *" $sc "* ]] && [ -z "${FAILED[$sc]:-}" ] || continue
    configure "$sc"
    if [ "$sc" = userinfo ]; then
      if ! token=$(real_code_flow 2> "$WORK/flow.err"); then
        cat "$WORK/flow.err" >&2
        FAILED[profile-$sc]="the real code flow for the Bearer token failed: $(tail -n1 "$WORK/flow.err")"
        log "FAILED profile-$sc: ${FAILED[profile-$sc]}"
        continue
      fi
      export BENCH_AUTH="Bearer $token"
    fi
    log "profiling coop-sso with perf during $sc (not measured)"
    perf record -q -F 499 -g -p "$SSO_PID" -o "$WORK/perf.$sc.data" -- sleep $((DURATION - 2)) 2>/dev/null &
    perf_pid=$!
    SAMPLER_PIDS+=("$perf_pid")
    run_wrk "$DURATION" "$sc.profile" || die "$sc.profile: wrk failed"
    wait "$perf_pid" || true
    check_run "$sc" "$sc.profile" || continue
    PROFILE_TXT+=$'\n'"#### $sc: coop-sso, self time by symbol (perf, no children)"$'\n\n```\n'
    PROFILE_TXT+=$(perf report -i "$WORK/perf.$sc.data" --no-children --sort symbol --percent-limit 1.5 \
      --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 25 | cut -c1-150)
    PROFILE_TXT+=$'\n```\n'
  done
fi

# ---- references: pgbench on the same cluster, as many clients as each code exchange run -------
declare -A PGBENCH_TPS=()
for sc in $SCENARIOS; do
  [[ $sc == code-* ]] && [ -z "${FAILED[$sc]:-}" ] || continue
  c=${sc#code-}
  log "pgbench tpcb-like, $c clients, $DURATION s (the reference for $sc)"
  REF=$(pgbench_reference "$PGBIN" "$SOCK" "$c" "$DURATION") || die "pgbench failed"
  PGBENCH_TPS[$c]=${REF%% *}
done

# ---- report --------------------------------------------------------------------------------
median() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
col() { awk -F'\t' -v sc="$1" -v c="$2" '$1 == sc {print $c}' "$RESULTS"; }
fmt_ms() { awk -v v="$1" 'BEGIN { if (v >= 100) printf "%.0f ms", v; else if (v >= 10) printf "%.1f ms", v; else printf "%.2f ms", v }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f MiB", k / 1024 }'; }

GIT_REV=$(cd "$REPO" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
GIT_DIRTY=$(cd "$REPO" && [ -n "$(git status --porcelain 2>/dev/null)" ] && echo " (working tree with uncommitted changes)" || true)
report() {
  echo "## coop-sso benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- Machine: $(nproc) cores, $(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, Linux $(uname -r); load average before the run: $LOAD_BEFORE"
  local what="coop-sso $GIT_REV$GIT_DIRTY, release build"
  [ -n "${COOP_SSO_BIN:-}" ] && what="coop-sso binary \`$BIN\` (COOP_SSO_BIN; built $(date -u -r "$BIN" '+%Y-%m-%d %H:%M UTC'), sha256 $(sha256sum "$BIN" | cut -c1-12); the repository is at $GIT_REV$GIT_DIRTY)"
  echo "- $what; $("$PGBIN/postgres" --version) (private cluster, default settings, fsync on); node $(node --version), oidc-provider $OP_VERSION; $( { wrk -v 2>&1 || true; } | head -n1 | awk '{print $1, $2}')"
  [ -n "${SSO_ENV:-}" ] && echo "- coop-sso started with the extra environment \`$SSO_ENV\`."
  echo "- Every figure: median of $ROUNDS rounds of ${DURATION} s (rounds interleaved across scenarios, after a ${WARMUP} s warm-up), wrk with $THREADS threads on the same 2 cores as the servers, 127.0.0.1 only."
  echo
  echo "| scenario | conns | req/s | p50 | p99 | errors | req/s per round |"
  echo "|---|---:|---:|---:|---:|---:|---|"
  local sc
  for sc in $SCENARIOS; do
    local conns=$CONNECTIONS
    [[ $sc == login-* ]] && conns=${sc#login-}
    [[ $sc == code-* ]] && conns=${sc#code-}
    if [ -n "${FAILED[$sc]:-}" ]; then
      echo "| ${TITLE[$sc]} | $conns | **FAILED** | – | – | ${FAILED[$sc]} | $(col "$sc" 3 | awk '{printf "%s%.0f", (NR > 1 ? " / " : ""), $1}') |"
      continue
    fi
    echo "| ${TITLE[$sc]} | $conns | $(col "$sc" 3 | median | awk '{printf "%.0f", $1}') | $(fmt_ms "$(col "$sc" 4 | median)") | $(fmt_ms "$(col "$sc" 5 | median)") | $(col "$sc" 6 | awk '{s += $1} END {print s}') | $(col "$sc" 3 | awk '{printf "%s%.0f", (NR > 1 ? " / " : ""), $1}') |"
  done
  if [ "${#PGBENCH_TPS[@]}" -gt 0 ]; then
    echo
    local c
    for c in "${!PGBENCH_TPS[@]}"; do
      echo "- Reference for the code exchange at $c connections: pgbench tpcb-like on the same cluster, $c clients, $DURATION s: $(printf '%.0f' "${PGBENCH_TPS[$c]}") tps."
    done
  fi
  echo
  echo "CPU during the runs (median of the rounds; 100 % = one core, the machine has $(( $(nproc) * 100 )) %; \"other\" = wrk plus anything else on this shared machine):"
  echo
  echo "| scenario | coop-sso | its PostgreSQL | oidc-provider (node) | wrk | whole machine | coop-sso CPU per request |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  for sc in $SCENARIOS; do
    [ -n "$(col "$sc" 1)" ] && [ -z "${FAILED[$sc]:-}" ] || continue
    local node="–" per
    [[ $sc == cc-op* ]] && node="$(col "$sc" 11 | median) %"
    per=$(paste <(col "$sc" 9) <(col "$sc" 7) <(col "$sc" 8) | awk '{print ($1 / 100) * $3 / $2 * 1000}' | median)
    [[ $sc == cc-op* ]] && per="–" || per=$(awk -v v="$per" 'BEGIN {printf "%.2f ms", v}')
    echo "| $sc | $(col "$sc" 9 | median) % | $(col "$sc" 10 | median) % | $node | $(col "$sc" 12 | median) % | $(col "$sc" 13 | median) % | $per |"
  done
  echo
  echo "Resident memory (VmRSS; peaks sampled every 0.5 s, so short spikes can be missed):"
  echo
  echo "| process | when | RSS |"
  echo "|---|---|---:|"
  echo "| coop-sso | idle, 2 s after start | $(mib "$RSS_IDLE_START") |"
  for sc in $SCENARIOS; do
    [[ $sc == cc-op* ]] && continue
    [ -n "$(col "$sc" 1)" ] && [ -z "${FAILED[$sc]:-}" ] || continue
    echo "| coop-sso | peak during $sc (round 1 / all rounds) | $(mib "$(col "$sc" 14 | head -n1)") / $(mib "$(col "$sc" 14 | sort -g | tail -n1)") |"
  done
  echo "| coop-sso | idle after all runs | $(mib "$RSS_IDLE_END") |"
  [ -n "$(col cc-op 1)" ] && echo "| oidc-provider (opaque) | idle / peak during cc-op | $(mib "$OP_RSS_IDLE") / $(mib "$(col cc-op 14 | sort -g | tail -n1)") |"
  [ -n "$(col cc-op-jwt 1)" ] && echo "| oidc-provider (JWT) | idle / peak during cc-op-jwt | $(mib "$OPJWT_RSS_IDLE") / $(mib "$(col cc-op-jwt 14 | sort -g | tail -n1)") |"
  if [ "${#FAILED[@]}" -gt 0 ]; then
    echo
    echo "**Failures** (sso.sh exits 1):"
    echo
    local k
    for k in "${!FAILED[@]}"; do echo "- \`$k\`: ${FAILED[$k]}"; done
  fi
  echo
  echo "coop-sso logged $(grep -cE ' (WARN|ERROR) ' "$WORK/sso.log" || true) lines at WARN or ERROR during the benchmark."
  if grep -qE ' (WARN|ERROR) ' "$WORK/sso.log"; then
    echo
    echo '```'
    # The distinct messages, without time stamps and request ids.
    grep -E ' (WARN|ERROR) ' "$WORK/sso.log" | sed -E 's/^[^ ]+ +//; s/request_id="[^"]*"//; s/[0-9]+(\.[0-9]+)? ?(ms|s\b)|=[0-9.]+/…/g' \
      | cut -c1-160 | sort | uniq -c | sort -rn | head -n 8
    echo '```'
  fi
  echo
  echo "Commands (\`tests/bench/sso.sh\` runs them; secrets and tokens are generated per run):"
  echo
  echo '```sh'
  echo "${SSO_ENV:+SSO_ENV=\"$SSO_ENV\" }${SCENARIOS_ENV:+SCENARIOS=\"$SCENARIOS_ENV\" }DURATION=$DURATION WARMUP=$WARMUP ROUNDS=$ROUNDS CONNECTIONS=$CONNECTIONS THREADS=$THREADS CODE_CONNECTIONS=\"$CODE_CONNECTIONS\" LOGIN_CONNECTIONS=\"$LOGIN_CONNECTIONS\" tests/bench/sso.sh"
  for sc in $SCENARIOS; do
    case $sc in
      cc-*) echo "# $sc: BENCH_BODY=grant_type=client_credentials BENCH_AUTH='Basic <client:secret>'" ;;
      code-*) echo "# $sc: BENCH_AUTH='Basic <bench-rp:secret>' BENCH_REST='redirect_uri=…&code_verifier=…', codes bench-N pre-created" ;;
      userinfo) echo "# userinfo: BENCH_METHOD=GET BENCH_AUTH='Bearer <access token of a real code flow>'" ;;
      login-*) echo "# $sc: BENCH_COOKIE=<session cookie of GET /login> BENCH_BODY='csrf_token=…&return_to=%2F&email=david%40demo.coop&password=…'" ;;
    esac
    echo "${CMD[$sc]:-}"
  done
  echo '```'
  if [ -s "$WORK/top.cc-coop.txt" ]; then
    echo
    echo "\`top -b -n 1\` halfway through round 1 of cc-coop:"
    echo
    echo '```'
    cat "$WORK/top.cc-coop.txt"
    echo '```'
  fi
  if [ -n "$PROFILE_TXT" ]; then
    echo
    echo "### Profiles (PROFILE=1; extra runs, not part of the figures)"
    printf '%s\n' "$PROFILE_TXT"
  fi
}
# The medians above, for `cargo xtask bench` (figures.sh; nothing without COOP_BENCH_FIGURES).
record_figures() {
  local sc op=cc-op rps p99 conns what tail ref
  [ -n "$(col cc-op-jwt 1)" ] && [ -z "${FAILED[cc-op-jwt]:-}" ] && op=cc-op-jwt
  for sc in $SCENARIOS; do
    [ -n "$(col "$sc" 1)" ] && [ -z "${FAILED[$sc]:-}" ] || continue
    conns=$CONNECTIONS
    [[ $sc == login-* ]] && conns=${sc#login-}
    [[ $sc == code-* ]] && conns=${sc#code-}
    rps=$(col "$sc" 3 | median)
    p99=$(col "$sc" 5 | median)
    what="${TITLE[$sc]% — *}, $conns connections"
    tail=" (median of $ROUNDS rounds of $DURATION s)"
    [ "$ROUNDS" = 1 ] && tail=" (one round of $DURATION s)"
    case $sc in
      cc-op*)
        figure oidc-provider "sso.$sc.rps" "$rps" req/s higher "${TITLE[$sc]#*— }: client credentials, $conns connections$tail"
        figure oidc-provider "sso.$sc.p99" "$p99" ms lower "${TITLE[$sc]#*— }: client credentials, $conns connections, p99"
        ;;
      cc-coop)
        figure coop-sso "sso.$sc.rps" "$rps" req/s higher "$what$tail" "sso.$op.rps"
        figure coop-sso "sso.$sc.p99" "$p99" ms lower "$what, p99" "sso.$op.p99"
        ;;
      code-*)
        ref=
        [ -n "${PGBENCH_TPS[$conns]:-}" ] && ref="pgbench.tpcb.c$conns.tps"
        figure coop-sso "sso.$sc.rps" "$rps" req/s higher "$what$tail" "$ref"
        figure coop-sso "sso.$sc.p99" "$p99" ms lower "$what, p99"
        ;;
      *)
        figure coop-sso "sso.$sc.rps" "$rps" req/s higher "$what$tail"
        figure coop-sso "sso.$sc.p99" "$p99" ms lower "$what, p99"
        ;;
    esac
  done
  figure coop-sso sso.rss.idle "$(awk -v k="$RSS_IDLE_START" 'BEGIN {print k / 1024}')" MiB lower "coop-sso's RSS, idle after start" "sso.op.rss.idle"
  local op_idle=$OP_RSS_IDLE
  [ "$op" = cc-op-jwt ] && op_idle=$OPJWT_RSS_IDLE
  figure oidc-provider sso.op.rss.idle "$(awk -v k="$op_idle" 'BEGIN {print k / 1024}')" MiB lower "oidc-provider's RSS, idle after start"
}
record_figures
if [ -n "${OUT:-}" ]; then
  report | tee "$OUT"
else
  report
fi
if [ "${#FAILED[@]}" -gt 0 ]; then
  for sc in "${!FAILED[@]}"; do echo "sso.sh: FAILED $sc: ${FAILED[$sc]}" >&2; done
  exit 1
fi
