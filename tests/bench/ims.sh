#!/usr/bin/env bash
# Reproducible figures for coop-ims (issue 9, "Figures for your note"); see README.md here.
#
# Builds coop-ims's bench example in release, starts a private PostgreSQL cluster in a temp dir
# (fsync on, as in production) with two databases (coop-ims's, and an outbox standing in for
# coop-pos), and runs crates/coop-ims/examples/bench.rs, which fills PRODUCTS products and
# SALE_LINES lines of sales history and prints: look-up by barcode p50/p99, the sales feed applied
# (lines per second), the valuation report (first, warm), the catalogue snapshot for a new till
# (size, time). Then pgbench on the same cluster (single client, the same run) as the reference
# for the feed's rate. Figures on stdout, progress on stderr.
#
# Env: PRODUCTS (100000)  SALE_LINES (5000000)  LOOKUPS (10000)  FEED_SALES (20000)
#      PGBENCH_SECONDS (20)
set -Eeuo pipefail
trap 'echo "ims.sh: unexpected failure (status $?) at line $LINENO: $BASH_COMMAND" >&2' ERR
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
PGBENCH_SECONDS=${PGBENCH_SECONDS:-20}
die() { echo "ims.sh: $*" >&2; exit 1; }
# shellcheck source=figures.sh
. "$HERE/figures.sh"
log() { echo "ims.sh: $*" >&2; }

IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] || die "PostgreSQL server binaries not found (apt-get install postgresql)"
[ -x "$PGBIN/pgbench" ] || die "pgbench not found beside initdb"
as_pg() { if [ "$IS_ROOT" = 1 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

log "building the bench (release)"
(cd "$REPO" && flock /tmp/cooperage-cargo.lock cargo build --release -q -p coop-ims --example bench) \
  || die "cargo build --release -p coop-ims --example bench failed"
BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/examples/bench
[ -x "$BIN" ] || die "no bench binary at $BIN"

WORK=$(mktemp -d -t coop-ims-bench.XXXXXX)
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
for db in coop_ims producer; do
  "$PGBIN/createdb" -h "$SOCK" -p 5432 -U postgres "$db"
done
url() { echo "postgres://postgres@localhost/$1?host=$SOCK&port=5432"; }

log "filling and measuring"
IMS_DATABASE_URL=$(url coop_ims) PRODUCER_DATABASE_URL=$(url producer) "$BIN" | tee "$WORK/figures"

log "pgbench, one client, $PGBENCH_SECONDS s each, tpcb-like and select-only (the references)"
REF=$(pgbench_reference "$PGBIN" "$SOCK" 1 "$PGBENCH_SECONDS") || die "pgbench failed"
read -r TPS _ <<<"$REF"
REF=$(pgbench_reference "$PGBIN" "$SOCK" 1 "$PGBENCH_SECONDS" select) || die "pgbench failed"
read -r _ SELECT_MS <<<"$REF"
echo "pgbench (tpcb-like, 1 client): ${TPS%.*} tps"
echo "pgbench (select-only, 1 client): latency average $SELECT_MS ms"
RATE=$(awk '/^feed apply:/ {print $(NF-1)}' "$WORK/figures")
[ -n "$RATE" ] && [ -n "$TPS" ] \
  && echo "feed apply / pgbench: $(echo "scale=2; $RATE / $TPS" | bc) lines per pgbench transaction"
