# Sourced by the bench scripts: figures for `cargo xtask bench` (see README.md here).
#
# When COOP_BENCH_FIGURES names a file, `figure` appends one JSON line to it (the shape of
# coop_testkit::bench::figure); otherwise it does nothing, and the scripts print their figures
# for a person as before.

# figure SERVICE ID VALUE UNIT higher|lower WHAT [REFERENCE_ID]
figure() {
  [ -n "${COOP_BENCH_FIGURES:-}" ] || return 0
  python3 - "$@" >>"$COOP_BENCH_FIGURES" <<'PY'
import json, math, sys
args = sys.argv[1:]
if len(args) not in (6, 7):
    sys.exit(f"figure: 6 or 7 arguments, not {len(args)}: {args}")
service, fid, value, unit, better, what = args[:6]
reference = args[6] if len(args) == 7 and args[6] else None
try:
    number = float(value)
except ValueError:
    sys.exit(f"figure {fid}: {value!r} is not a number")
if not math.isfinite(number) or better not in ("higher", "lower"):
    sys.exit(f"figure {fid}: bad value {value!r} or direction {better!r}")
print(json.dumps({"service": service, "id": fid, "what": what, "value": number,
                  "unit": unit, "better": better, "reference": reference}))
PY
}

# pgbench_reference PGBIN SOCK CLIENTS SECONDS [select]
# pgbench on the script's own cluster (database `pgbench`, initialised at scale 10 on first
# use): tpcb-like, or select-only with `select`. Prints "TPS LATENCY_MS" and records both as
# pgbench.tpcb.cN.tps / .latency (or pgbench.select.cN.…), the references the figures name.
pgbench_reference() {
  local pgbin=$1 sock=$2 clients=$3 seconds=$4 mode=${5:-tpcb} out tps lat threads=1
  [ "$clients" -ge 2 ] && threads=2
  if ! "$pgbin/psql" -h "$sock" -p 5432 -U postgres -d pgbench -qAtX -c 'select 1 from pgbench_branches limit 1' >/dev/null 2>&1; then
    "$pgbin/createdb" -h "$sock" -p 5432 -U postgres pgbench 2>/dev/null || true
    "$pgbin/pgbench" -h "$sock" -p 5432 -U postgres -i -q -s 10 pgbench >/dev/null 2>&1 \
      || { echo "pgbench_reference: pgbench -i failed" >&2; return 1; }
  fi
  local flags=()
  [ "$mode" = select ] && flags=(-S)
  out=$("$pgbin/pgbench" -h "$sock" -p 5432 -U postgres "${flags[@]}" -c "$clients" -j "$threads" -T "$seconds" pgbench 2>&1) \
    || { echo "pgbench_reference: pgbench failed: $out" >&2; return 1; }
  tps=$(awk '/^tps = / {print $3; exit}' <<<"$out")
  lat=$(awk '/^latency average = / {print $4; exit}' <<<"$out")
  [ -n "$tps" ] && [ -n "$lat" ] || { echo "pgbench_reference: no tps or latency in: $out" >&2; return 1; }
  local kind="tpcb-like" what
  [ "$mode" = select ] && kind="select-only"
  what="pgbench $kind, $clients client$([ "$clients" -gt 1 ] && echo s), ${seconds} s"
  figure PostgreSQL "pgbench.$mode.c$clients.tps" "$tps" "tps" higher "$what"
  figure PostgreSQL "pgbench.$mode.c$clients.latency" "$lat" "ms" lower "$what, latency average"
  echo "$tps $lat"
}
