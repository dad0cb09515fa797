#!/usr/bin/env bash
# Reproducible figures for coop-finance (issue 10, "Figures for your note"); see README.md here.
#
# Builds coop-finance in release, starts a private PostgreSQL cluster in a temp dir (fsync on,
# as in production), books the demo month, then adds VOUCHERS vouchers of three lines each
# spread over the year 2026 (one SQL statement; the database's balance and period checks run for
# every one of them). Then, ROUNDS times each, with /usr/bin/time -v:
#   export-4e     coop-finance export-sie --kind 4E (wall seconds, peak RSS), the file validated
#   income        coop-finance income-statement over the whole year (wall seconds, peak RSS)
#   copy-lines    psql \copy of the same journal lines to a file: the floor of reading them out
#   sum-accounts  psql: the year's lines summed by account in one query, the floor of a report
# and prints a Markdown table of medians on stdout. Progress goes to stderr.
#
# Env: VOUCHERS (200000)  ROUNDS (3)  COOP_FINANCE_BIN (use this binary instead of building)
set -Eeuo pipefail
trap 'echo "finance.sh: unexpected failure (status $?) at line $LINENO: $BASH_COMMAND" >&2' ERR
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
VOUCHERS=${VOUCHERS:-200000}
ROUNDS=${ROUNDS:-3}
die() { echo "finance.sh: $*" >&2; exit 1; }
log() { echo "finance.sh: $*" >&2; }
# shellcheck source=figures.sh
. "$HERE/figures.sh"
[[ $VOUCHERS =~ ^[0-9]+$ ]] && [ "$VOUCHERS" -ge 1 ] || die "VOUCHERS must be a positive number"
[[ $ROUNDS =~ ^[0-9]+$ ]] && [ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 9 ] || die "ROUNDS must be 1..9"
[ -x /usr/bin/time ] || die "/usr/bin/time is needed (apt-get install time)"

IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] || die "PostgreSQL server binaries not found (apt-get install postgresql)"
as_pg() { if [ "$IS_ROOT" = 1 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

if [ -n "${COOP_FINANCE_BIN:-}" ]; then
  BIN=$COOP_FINANCE_BIN
else
  log "building coop-finance (release)"
  (cd "$REPO" && flock /tmp/cooperage-cargo.lock cargo build --release -q -p coop-finance) \
    || die "cargo build --release -p coop-finance failed"
  BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/coop-finance
fi
[ -x "$BIN" ] || die "no coop-finance binary at $BIN"

WORK=$(mktemp -d -t coop-finance-bench.XXXXXX)
chmod 755 "$WORK"
mkdir -p "$WORK/pg/run" "$WORK/state"
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
"$PGBIN/createdb" -h "$SOCK" -p 5432 -U postgres coop_finance
sql() { "$PGBIN/psql" -h "$SOCK" -p 5432 -U postgres -d coop_finance -v ON_ERROR_STOP=1 -qAtX "$@"; }

openssl rand -hex 24 > "$WORK/client-secret"
CONFIG=$WORK/cooperage.json
cat > "$CONFIG" <<EOF
{
  "organisation": { "name": "Bench Matkooperativ" },
  "domain": "localhost",
  "public_url": "http://127.0.0.1:9",
  "locale": { "default": "sv", "languages": ["sv", "en"], "time_zone": "Europe/Stockholm" },
  "currency": "SEK",
  "vat_classes": { "food": { "rates": [ { "from": "2024-01-01", "percent": "12" } ] } },
  "services": {
    "sso": { "public_url": "http://127.0.0.1:9" },
    "finance": {
      "database_url": "postgres://postgres@localhost/coop_finance?host=$SOCK&port=5432",
      "public_url": "http://127.0.0.1:9/finance",
      "state_directory": "$WORK/state",
      "client_secret_file": "$WORK/client-secret"
    }
  }
}
EOF
"$BIN" demo-seed --config "$CONFIG" >/dev/null 2>&1 || die "coop-finance demo-seed failed"
log "booking $VOUCHERS vouchers over 2026"
START=$(date +%s)
sql <<EOF
insert into voucher_series (fiscal_year_id, series)
  select fiscal_year_id, 'X' from fiscal_year where starts_on = '2026-01-01';
begin;
insert into journal_entry (fiscal_year_id, series, number, entry_date, text)
  select y.fiscal_year_id, 'X', n, date '2026-01-01' + ((n - 1) % 365),
         'Kassarapport ' || n
  from generate_series(1, $VOUCHERS) n, fiscal_year y where y.starts_on = '2026-01-01';
insert into journal_line (journal_entry_id, line_no, account_number, amount)
  select e.journal_entry_id, l.no, l.account,
         case l.no when 1 then (80 + e.number % 720 + 0.20) + (20 + e.number % 180 + 0.05)
                   when 2 then -(80 + e.number % 720 + 0.20)
                   else -(20 + e.number % 180 + 0.05) end
  from journal_entry e
  cross join (values (1, 1910), (2, 3001), (3, 2611)) as l(no, account)
  where e.series = 'X';
commit;
update voucher_series set next_number = $VOUCHERS + 1 where series = 'X';
analyze;
EOF
log "booked in $(($(date +%s) - START)) s"
ENTRIES=$(sql -c "select count(*) from journal_entry")
LINES=$(sql -c "select count(*) from journal_line")
log "$ENTRIES vouchers, $LINES lines in the journal"

measure() { # NAME CMD...: appends "NAME wall_s rss_kib"
  local name=$1; shift
  /usr/bin/time -f "%e %M" -o "$WORK/time" "$@" >/dev/null 2>>"$WORK/err" || die "$name failed: $(tail -n3 "$WORK/err")"
  echo "$name $(cat "$WORK/time")" >> "$WORK/results"
}
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
: > "$WORK/results"
for r in $(seq "$ROUNDS"); do
  measure export-4e "$BIN" export-sie --config "$CONFIG" --year 2026 --kind 4E --out "$WORK/year.se"
  measure income "$BIN" income-statement --config "$CONFIG" --from 2026-01-01 --to 2026-12-31
  measure copy-lines "$PGBIN/psql" -h "$SOCK" -p 5432 -U postgres -d coop_finance -qAtX \
    -c "\\copy (select e.series, e.number, e.entry_date, e.text, l.account_number, l.amount from journal_entry e join journal_line l using (journal_entry_id) order by e.series, e.number, l.line_no) to '$WORK/lines.csv' csv"
  measure sum-accounts "$PGBIN/psql" -h "$SOCK" -p 5432 -U postgres -d coop_finance -qAtX \
    -c "select l.account_number, sum(l.amount) from journal_entry e join journal_line l using (journal_entry_id) where e.entry_date between '2026-01-01' and '2026-12-31' group by l.account_number order by 1"
done
"$BIN" validate-sie "$WORK/year.se" >&2 || die "the exported file does not validate"
SIZE=$(stat -c %s "$WORK/year.se")

echo "| what | median wall s | median peak RSS MiB | runs |"
echo "|---|---|---|---|"
declare -A WALL RSS
for name in export-4e income copy-lines sum-accounts; do
  WALL[$name]=$(awk -v n="$name" '$1 == n {print $2}' "$WORK/results" | median)
  RSS[$name]=$(echo "$(awk -v n="$name" '$1 == n {print $3}' "$WORK/results" | median) / 1024" | bc -l)
  printf "| %s | %.2f | %.1f | %d |\n" "$name" "${WALL[$name]}" "${RSS[$name]}" "$ROUNDS"
done
YEAR="a year of $ENTRIES vouchers, $LINES lines; median of $ROUNDS rounds"
[ "$ROUNDS" = 1 ] && YEAR="a year of $ENTRIES vouchers, $LINES lines; one round"
figure coop-finance finance.export.wall "${WALL[export-4e]}" s lower "SIE 4E export ($YEAR; a $(awk -v b="$SIZE" 'BEGIN {printf "%.1f", b / 1048576}') MiB file)" psql.copy.wall
figure coop-finance finance.export.rss "${RSS[export-4e]}" MiB lower "SIE 4E export, peak RSS" psql.copy.rss
figure coop-finance finance.income.wall "${WALL[income]}" s lower "income statement over that year ($YEAR)" psql.sum.wall
figure coop-finance finance.income.rss "${RSS[income]}" MiB lower "income statement, peak RSS" psql.sum.rss
figure PostgreSQL psql.copy.wall "${WALL[copy-lines]}" s lower "psql \\copy of the same lines to CSV"
figure PostgreSQL psql.copy.rss "${RSS[copy-lines]}" MiB lower "psql \\copy, peak RSS"
figure PostgreSQL psql.sum.wall "${WALL[sum-accounts]}" s lower "psql: the year's lines summed by account, one query"
figure PostgreSQL psql.sum.rss "${RSS[sum-accounts]}" MiB lower "psql summing by account, peak RSS"
echo
echo "$ENTRIES vouchers and $LINES lines in the journal; the 4E file is $SIZE bytes and validates."
