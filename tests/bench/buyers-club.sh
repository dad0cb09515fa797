#!/usr/bin/env bash
# Reproducible figures for coop-buyers-club (issue 13, "Figures for your note"); see README.md.
#
# Builds the bench example (crates/coop-suite-tests/examples/buyers_club.rs) in release, starts a
# private PostgreSQL cluster in a temp dir (fsync on, as in production) with the buyers club's
# and coop-finance's databases, and runs it: an order of MEMBERS members and PRODUCTS products,
# its sorting view, its PDF and its page rendered through the real app, and purchase updates per
# second from CONCURRENCY members at once (each a hold adjusted at coop-finance over HTTP). Then
# pgbench on the same cluster with as many clients, the reference for the update rate.
#
# Env: MEMBERS (300)  PRODUCTS (80)  CONCURRENCY (32)  RUN_SECONDS (10)  PGBENCH_SECONDS (20)
set -Eeuo pipefail
trap 'echo "buyers-club.sh: unexpected failure (status $?) at line $LINENO: $BASH_COMMAND" >&2' ERR
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PGBENCH_SECONDS=${PGBENCH_SECONDS:-20}
CONCURRENCY=${CONCURRENCY:-32}
export MEMBERS=${MEMBERS:-300} PRODUCTS=${PRODUCTS:-80} CONCURRENCY RUN_SECONDS=${RUN_SECONDS:-10}
die() { echo "buyers-club.sh: $*" >&2; exit 1; }
# shellcheck source=figures.sh
. "$HERE/figures.sh"
log() { echo "buyers-club.sh: $*" >&2; }

IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] || die "PostgreSQL server binaries not found (apt-get install postgresql)"
as_pg() { if [ "$IS_ROOT" = 1 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

log "building the bench (release)"
(cd "$REPO" && flock /tmp/cooperage-cargo.lock cargo build --release -q -p coop-suite-tests --example buyers_club) \
  || die "cargo build --release --example buyers_club failed"
TARGET=${CARGO_TARGET_DIR:-$REPO/target}/release
[ -x "$TARGET/examples/buyers_club" ] || die "no release bench in $TARGET"

WORK=$(mktemp -d -t coop-bc-bench.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/pg/run"
PG_STARTED=0
cleanup() {
  local rc=$?
  if [ "$PG_STARTED" = 1 ]; then
    as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
SOCK=$WORK/pg/run
[ "$IS_ROOT" = 1 ] && chown -R postgres:postgres "$WORK/pg"
as_pg "$PGBIN/initdb" -D "$WORK/pg/data" -U postgres --auth=trust --encoding=UTF8 --locale=C >/dev/null
PG_STARTED=1
as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/server.log" \
  -o "-c listen_addresses='' -c unix_socket_directories='$SOCK' -c port=5432 -c max_connections=200" -w start >/dev/null \
  || { cat "$WORK/pg/server.log" >&2; die "PostgreSQL did not start"; }
for db in coop_buyers_club coop_finance; do
  "$PGBIN/createdb" -h "$SOCK" -p 5432 -U postgres "$db"
done
url() { echo "postgres://postgres@localhost/$1?host=$SOCK&port=5432"; }

log "filling and measuring"
BC_DATABASE_URL=$(url coop_buyers_club) FIN_DATABASE_URL=$(url coop_finance) \
  "$TARGET/examples/buyers_club" | tee "$WORK/figures"

log "pgbench, $CONCURRENCY clients and one client, $PGBENCH_SECONDS s each (the references)"
REF=$(pgbench_reference "$PGBIN" "$SOCK" "$CONCURRENCY" "$PGBENCH_SECONDS") || die "pgbench failed"
read -r TPS _ <<<"$REF"
REF=$(pgbench_reference "$PGBIN" "$SOCK" 1 "$PGBENCH_SECONDS") || die "pgbench failed"
read -r _ ONE_MS <<<"$REF"
echo "pgbench (tpcb-like, $CONCURRENCY clients): ${TPS%.*} tps"
echo "pgbench (tpcb-like, 1 client): latency average $ONE_MS ms"
RATE=$(awk '/^purchase updates:/ { for (i = 1; i <= NF; i++) if ($i == "updates/s") print int($(i-1)) }' "$WORK/figures")
[ -n "$RATE" ] && [ -n "$TPS" ] \
  && echo "purchase updates / pgbench: $(echo "scale=2; $RATE / $TPS" | bc) updates per pgbench transaction"
