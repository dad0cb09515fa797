#!/usr/bin/env bash
# Self-test of the interop harnesses against the stand-in OP (oidc-provider, op-standin.mjs):
# setup.sh, then the stand-in OP, then rp-openid-client.mjs (client_secret_basic and
# client_secret_post), authlib_metadata.py, synapse_sso.py and an smtp_capture.py round trip.
# Everything runs on 127.0.0.1 and is stopped on exit. Exit status non-zero on any failure;
# the last line is the total `N passed, M failed`.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
HERE=$PWD

./setup.sh || { echo "selftest: setup.sh failed"; exit 1; }
PY="$HERE/.venv/bin/python"

WORK=$(mktemp -d -t interop-selftest.XXXXXX)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
random_secret() { "$PY" -c 'import secrets; print(secrets.token_urlsafe(32))'; }

SYNAPSE_PORT=$(free_port)
RP_REDIRECT="http://127.0.0.1:9/rp/callback"   # nothing listens: the driver stops there
CLIENT_ID=cooperage-rp
CLIENT_SECRET=$(random_secret)
PASSWORD=$(random_secret)
printf '%s' "$CLIENT_SECRET" > "$WORK/client_secret"
chmod 600 "$WORK/client_secret"

# --- the stand-in OP ---------------------------------------------------------------------
# It starts in half a second alone, but CI runs it on a busy two-core machine: up to 60 s. Once
# (CI, after the demo checks) it printed nothing for 60 s and started at once when run again,
# so a start that hangs is tried once more, and the machine's load is shown when it fails.
start_op() {
  STANDIN_CLIENT_ID=$CLIENT_ID STANDIN_CLIENT_SECRET=$CLIENT_SECRET STANDIN_PASSWORD=$PASSWORD \
  STANDIN_REDIRECT_URIS="$RP_REDIRECT http://127.0.0.1:$SYNAPSE_PORT/_synapse/client/oidc/callback" \
    node op-standin.mjs > "$WORK/op.out" 2> "$WORK/op.err" &
  OP_PID=$!
  PIDS+=("$OP_PID")
  ISSUER=
  HOW="did not print its issuer within 60 s"
  for _ in $(seq 1 300); do
    ISSUER=$(sed -n 's/^ISSUER=//p' "$WORK/op.out" | head -n1)
    [ -n "$ISSUER" ] && return 0
    if ! kill -0 "$OP_PID" 2>/dev/null; then
      STATUS=0
      wait "$OP_PID" || STATUS=$?
      HOW="exited with status $STATUS"
      return 1
    fi
    sleep 0.2
  done
  return 1
}
if ! start_op && [[ $HOW == "did not print"* ]]; then
  echo "# op-standin.mjs printed nothing within 60 s; load: $(cat /proc/loadavg); trying once more"
  ps -eo pid,pcpu,etime,args --sort=-pcpu | head -n 8 | sed 's/^/#   /'
  kill "$OP_PID" 2>/dev/null || true
  start_op || true
fi
if [ -z "$ISSUER" ]; then
  echo "not ok - op-standin.mjs starts: it $HOW; stdout: $(tr '\n' ' ' < "$WORK/op.out") stderr: $(tr '\n' ' ' < "$WORK/op.err")"
  echo "0 passed, 1 failed"
  exit 1
fi
echo "# stand-in OP at $ISSUER; Synapse will use port $SYNAPSE_PORT"

TOTAL_PASSED=0
TOTAL_FAILED=0
STATUS=0
# run NAME CMD...: runs one harness, shows its output, adds up its summary line.
run() {
  local name=$1; shift
  echo "# --- $name"
  "$@" 2> "$WORK/stderr.log" | tee "$WORK/out.log"
  local rc=${PIPESTATUS[0]}
  local summary
  summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$WORK/out.log" | tail -n1)
  if [ -n "$summary" ]; then
    TOTAL_PASSED=$((TOTAL_PASSED + $(echo "$summary" | cut -d' ' -f1)))
    TOTAL_FAILED=$((TOTAL_FAILED + $(echo "$summary" | cut -d' ' -f3)))
  fi
  if [ "$rc" -ne 0 ]; then
    STATUS=1
    [ -z "$summary" ] && TOTAL_FAILED=$((TOTAL_FAILED + 1))
    echo "# $name exited with $rc; its stderr:"
    sed 's/^/#   /' "$WORK/stderr.log" | tail -n 40
  fi
}

COMMON=(ISSUER="$ISSUER" CLIENT_ID="$CLIENT_ID" USER=alice@example.org PASSWORD="$PASSWORD")
EXPECT=(EXPECT_SUB=mbr-3f9c2a71d0 EXPECT_PREFERRED_USERNAME=alice EXPECT_NAME="Alice Andersson"
        EXPECT_EMAIL=alice@example.org EXPECT_EMAIL_VERIFIED=true EXPECT_LOCALE=sv-SE
        EXPECT_ROLES=member,cashier EXPECT_MEMBER_NUMBER=M-0001 EXPECT_HOUSEHOLD=hh-0001)

run "rp-openid-client.mjs (client_secret_basic)" env "${COMMON[@]}" "${EXPECT[@]}" \
  CLIENT_SECRET="$CLIENT_SECRET" REDIRECT_URI="$RP_REDIRECT" CLIENT_AUTH=client_secret_basic \
  EXPECT_REFRESH_ROTATION=1 EXPECT_REUSE_REVOKES_FAMILY=1 node rp-openid-client.mjs
run "rp-openid-client.mjs (client_secret_post)" env "${COMMON[@]}" "${EXPECT[@]}" \
  CLIENT_SECRET="$CLIENT_SECRET" REDIRECT_URI="$RP_REDIRECT" CLIENT_AUTH=client_secret_post \
  EXPECT_REFRESH_ROTATION=1 node rp-openid-client.mjs
run "authlib_metadata.py" env ISSUER="$ISSUER" REQUIRE_S256_ONLY=1 "$PY" authlib_metadata.py
run "synapse_sso.py" env "${COMMON[@]}" CLIENT_SECRET_FILE="$WORK/client_secret" \
  SYNAPSE_PORT="$SYNAPSE_PORT" EXPECT_LOCALPART=alice EXPECT_DISPLAYNAME="Alice Andersson" \
  "$PY" synapse_sso.py

# --- smtp_capture.py round trip ----------------------------------------------------------
"$PY" smtp_capture.py "$WORK/mail" --port 0 > "$WORK/smtp.out" 2> "$WORK/smtp.err" &
PIDS+=($!)
SMTP_PORT=
for _ in $(seq 1 50); do   # up to 5 s
  SMTP_PORT=$(head -n1 "$WORK/smtp.out" 2>/dev/null)
  [ -n "$SMTP_PORT" ] && break
  sleep 0.1
done
smtp_roundtrip() {
  "$PY" - "${SMTP_PORT:-0}" "$WORK/mail" <<'EOF'
import smtplib, sys, time
from email.message import EmailMessage
from pathlib import Path
from tap import Report
r = Report()
port, maildir = int(sys.argv[1]), Path(sys.argv[2])
link = "http://127.0.0.1:8080/invite/Zm9vYmFy?x=1&y=2"
def send():
    m = EmailMessage()
    m["From"], m["To"], m["Subject"] = "sso@coop.example", "alice@example.org", "Välkommen"
    m.set_content(f"Accept your invitation: {link}\n")
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as s:
        s.send_message(m)
r.check(f"smtp_capture.py accepts a message on 127.0.0.1:{port}", send)
def stored():
    for _ in range(50):
        files = sorted(maildir.glob("*.eml"))
        if files:
            break
        time.sleep(0.1)
    assert len(files) == 1, f"{len(files)} .eml files"
    raw = files[0].read_text()
    assert "X-Envelope-To: alice@example.org" in raw, "no envelope header"
    assert link in raw, "link not found in the stored message"
r.check("smtp_capture.py stores it as .eml with the link intact", stored)
sys.exit(r.finish())
EOF
}
run "smtp_capture.py" smtp_roundtrip

# --- the harnesses themselves must catch a broken provider --------------------------------
must_fail() {   # must_fail NAME CMD...: ok when CMD exits non-zero
  local name=$1; shift
  if "$@" > "$WORK/neg.log" 2>&1; then
    echo "not ok - $name: the harness passed"; return 1
  fi
  echo "ok - $name"
}
negatives() {
  local f=0
  must_fail "rp-openid-client.mjs fails on a wrong password" env "${COMMON[@]}" PASSWORD=wrong-password \
    CLIENT_SECRET="$CLIENT_SECRET" REDIRECT_URI="$RP_REDIRECT" node rp-openid-client.mjs || f=$((f + 1))
  must_fail "rp-openid-client.mjs fails on a wrong client secret" env "${COMMON[@]}" \
    CLIENT_SECRET=wrong-secret REDIRECT_URI="$RP_REDIRECT" node rp-openid-client.mjs || f=$((f + 1))
  must_fail "rp-openid-client.mjs fails on an unexpected claim value" env "${COMMON[@]}" EXPECT_PREFERRED_USERNAME=bob \
    CLIENT_SECRET="$CLIENT_SECRET" REDIRECT_URI="$RP_REDIRECT" node rp-openid-client.mjs || f=$((f + 1))
  must_fail "authlib_metadata.py fails on an issuer mismatch" env ISSUER="$ISSUER/" "$PY" authlib_metadata.py || f=$((f + 1))
  must_fail "synapse_sso.py fails when the Matrix localpart differs" env "${COMMON[@]}" CLIENT_SECRET="$CLIENT_SECRET" \
    SYNAPSE_PORT="$SYNAPSE_PORT" EXPECT_LOCALPART=bob "$PY" synapse_sso.py || f=$((f + 1))
  echo "$((5 - f)) passed, $f failed"
  [ "$f" -eq 0 ]
}
run "negative controls" negatives

echo "# ---"
[ "$TOTAL_FAILED" -eq 0 ] || STATUS=1
echo "$TOTAL_PASSED passed, $TOTAL_FAILED failed"
exit "$STATUS"
