#!/usr/bin/env bash
# Reproducible figures for coop-pos (issue 11, "Figures for your note"); see README.md here.
#
# Builds coop-pos and its bench example in release, starts a private PostgreSQL cluster in a
# temp dir (fsync on, as in production) with central's database, and runs
# crates/coop-pos/examples/bench.rs, which fills a till's store with PRODUCTS products, runs
# the real `coop-pos till` with central out of reach and prints: scan to priced line p50/p99,
# sale completion p50/p99, the till's start-up time to a usable screen (and its restart with
# SALES sales in its journal), its RSS idle and after SALES sales, the sync catch-up when
# central comes up, and central's ingest rate (8-line sales over HTTP). Then pgbench on the same
# cluster (one client, the same run) as the reference for the ingest rate.
#
# Env: PRODUCTS (100000)  SALES (10000)  SCANS (5000)  INGEST_SALES (20000)
#      PGBENCH_SECONDS (20)
set -Eeuo pipefail
trap 'echo "pos.sh: unexpected failure (status $?) at line $LINENO: $BASH_COMMAND" >&2' ERR
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PGBENCH_SECONDS=${PGBENCH_SECONDS:-20}
die() { echo "pos.sh: $*" >&2; exit 1; }
# shellcheck source=figures.sh
. "$HERE/figures.sh"
log() { echo "pos.sh: $*" >&2; }

IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] || die "PostgreSQL server binaries not found (apt-get install postgresql)"
[ -x "$PGBIN/pgbench" ] || die "pgbench not found beside initdb"
as_pg() { if [ "$IS_ROOT" = 1 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

log "building coop-pos and the bench (release)"
(cd "$REPO" && flock /tmp/cooperage-cargo.lock cargo build --release -q -p coop-pos --bin coop-pos --example bench) \
  || die "cargo build --release -p coop-pos failed"
TARGET=${CARGO_TARGET_DIR:-$REPO/target}/release
[ -x "$TARGET/examples/bench" ] && [ -x "$TARGET/coop-pos" ] || die "no release binaries in $TARGET"

WORK=$(mktemp -d -t coop-pos-bench.XXXXXX)
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
  -o "-c listen_addresses='' -c unix_socket_directories='$SOCK' -c port=5432" -w start >/dev/null \
  || { cat "$WORK/pg/server.log" >&2; die "PostgreSQL did not start"; }
for db in coop_pos; do
  "$PGBIN/createdb" -h "$SOCK" -p 5432 -U postgres "$db"
done
url() { echo "postgres://postgres@localhost/$1?host=$SOCK&port=5432"; }

log "filling and measuring"
POS_DATABASE_URL=$(url coop_pos) COOP_POS_BIN="$TARGET/coop-pos" "$TARGET/examples/bench" | tee "$WORK/figures"

log "pgbench, one client, $PGBENCH_SECONDS s (the reference)"
REF=$(pgbench_reference "$PGBIN" "$SOCK" 1 "$PGBENCH_SECONDS") || die "pgbench failed"
read -r TPS _ <<<"$REF"
echo "pgbench (tpcb-like, 1 client): ${TPS%.*} tps"
RATE=$(awk '/^central ingest:/ {print $(NF-1)}' "$WORK/figures")
[ -n "$RATE" ] && [ -n "$TPS" ] \
  && echo "central ingest / pgbench: $(echo "scale=2; $RATE / $TPS" | bc) sales per pgbench transaction"
