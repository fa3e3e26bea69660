#!/usr/bin/env bash
# Import benchmark: `cdcpipe import` against psql `\copy`, in the same run, on the same private
# PostgreSQL 15 cluster (started here in a temp dir, removed at exit).
#
#   bench/import_bench.sh [--rows N] [--runs R]      defaults: 1,000,000 rows, 3 runs (best of)
#
# Measures, on a generated pracownicy CSV (tools/gen_csv.cc):
#   insert : cdcpipe import --mode insert into an empty table  vs  psql \copy ... CSV HEADER into an
#            identical empty table (same columns, same primary key). Target ratio >= 0.9.
#   upsert : cdcpipe import --mode upsert into a table that already holds the same rows, vs the psql
#            \copy rate above. Target ratio >= 0.4.
#   peak RSS of cdcpipe (GNU time's "Maximum resident set size"). Target < 100 MB.
#   types  : a table whose types PostgreSQL checks (numeric(12,2), timestamptz, next to bigint, text,
#            boolean), so cdcpipe takes its staged path (COPY into text columns, one cast INSERT):
#            cdcpipe import --mode insert into an empty table vs psql \copy into an identical one.
#            No target: it shows what the PostgreSQL-checked path costs.
# Rates are wall-clock rows/s of the whole command (process start to exit). Results: docs/BENCHMARKS.md.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CDCPIPE_BUILD_DIR:-$repo/build}
rows=1000000
runs=3
while (($#)); do
  case "$1" in
    --rows) rows=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "import_bench.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
pgbin=/usr/lib/postgresql/15/bin

if [[ ! -x "$build/cdcpipe" || ! -x "$build/gen-csv" ]]; then "$repo/scripts/setup.sh"; fi
if [[ ! -x /usr/bin/time ]]; then
  echo "==> installing GNU time (peak RSS)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q time >/dev/null
fi
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

work=$(mktemp -d /tmp/cdcpipe-import-bench.XXXXXX)
chmod 0777 "$work"
cleanup() {
  as_pg "$pgbin/pg_ctl" -D "$work/pg" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "==> generating $rows pracownicy rows"
"$build/gen-csv" --table pracownicy --rows "$rows" --out "$work" >/dev/null
csv="$work/pracownicy.csv"
chmod 0644 "$csv"
echo "    $(du -h "$csv" | cut -f1) $csv"

port=54500
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
echo "==> private PostgreSQL 15 on 127.0.0.1:$port"
as_pg "$pgbin/initdb" -D "$work/pg" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
mkdir -p "$work/sock" && chmod 0777 "$work/sock"
cat >>"$work/pg/postgresql.conf" <<EOF
wal_level = logical
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work/sock'
max_wal_size = 4GB
EOF
as_pg "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -o "-p $port" -w start >/dev/null
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres
url="postgresql://postgres@127.0.0.1:$port/postgres"
"$build/cdcpipe" schema --apply --db "$url" >/dev/null 2>&1
psql -X -q -c "CREATE TABLE pracownicy_psql (LIKE pracownicy INCLUDING ALL)"

now() { date +%s.%N; }
rate() { awk -v r="$rows" -v s="$1" 'BEGIN { printf "%.0f", r / s }'; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'; }

best_psql=999999 best_ins=999999 best_ups=999999 peak_kb=0
for ((i = 1; i <= runs; i++)); do
  psql -X -q -c "TRUNCATE pracownicy_psql; TRUNCATE pracownicy; CHECKPOINT"
  t0=$(now)
  psql -X -q -c "\\copy pracownicy_psql FROM '$csv' WITH (FORMAT csv, HEADER true)"
  t1=$(now)
  psql -X -q -c "CHECKPOINT"
  t2=$(now)
  /usr/bin/time -f "%M" -o "$work/rss" "$build/cdcpipe" import --db "$url" --table pracownicy --file "$csv" \
    --mode insert >"$work/out" 2>&1 || { cat "$work/out"; exit 1; }
  t3=$(now)
  peak_kb=$(awk -v a="$peak_kb" -v b="$(tail -1 "$work/rss")" 'BEGIN { print (a > b ? a : b) }')
  psql -X -q -c "CHECKPOINT"
  t4=$(now)
  /usr/bin/time -f "%M" -o "$work/rss" "$build/cdcpipe" import --db "$url" --table pracownicy --file "$csv" \
    --mode upsert >"$work/out2" 2>&1 || { cat "$work/out2"; exit 1; }
  t5=$(now)
  peak_kb=$(awk -v a="$peak_kb" -v b="$(tail -1 "$work/rss")" 'BEGIN { print (a > b ? a : b) }')
  grep -q "$rows unchanged" "$work/out2" || { echo "upsert changed rows:"; cat "$work/out2"; exit 1; }
  p=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
  c=$(awk -v a="$t2" -v b="$t3" 'BEGIN { print b - a }')
  u=$(awk -v a="$t4" -v b="$t5" 'BEGIN { print b - a }')
  printf '    run %d: psql \\copy %.2f s, cdcpipe insert %.2f s, cdcpipe upsert (no changes) %.2f s\n' "$i" "$p" "$c" "$u"
  best_psql=$(min "$best_psql" "$p")
  best_ins=$(min "$best_ins" "$c")
  best_ups=$(min "$best_ups" "$u")
done

# Both tables must hold the same rows (the benchmark compares equal work).
diff_rows=$(psql -X -A -t -c "SELECT count(*) FROM ((TABLE pracownicy EXCEPT TABLE pracownicy_psql) UNION ALL (TABLE pracownicy_psql EXCEPT TABLE pracownicy)) d")
[[ "$diff_rows" == 0 ]] || { echo "tables differ in $diff_rows rows"; exit 1; }

echo "==> generating $rows customers rows (types PostgreSQL checks)"
types_csv="$work/customers.csv"
awk -v n="$rows" 'BEGIN {
  print "id,name,balance,created,active"
  for (i = 1; i <= n; i++)
    printf "%d,Customer %d,%d.%02d,2024-%02d-%02d %02d:%02d:00+00,%s\n", i, i, i % 100000, i % 100, i % 12 + 1,
      i % 28 + 1, i % 24, i % 60, (i % 2 ? "t" : "f")
}' >"$types_csv"
chmod 0644 "$types_csv"
psql -X -q -c "CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, balance numeric(12,2), created timestamptz, active boolean); CREATE TABLE customers_psql (LIKE customers INCLUDING ALL)"
best_tpsql=999999 best_types=999999
for ((i = 1; i <= runs; i++)); do
  psql -X -q -c "TRUNCATE customers_psql; TRUNCATE customers; CHECKPOINT"
  t0=$(now)
  psql -X -q -c "\\copy customers_psql FROM '$types_csv' WITH (FORMAT csv, HEADER true)"
  t1=$(now)
  psql -X -q -c "CHECKPOINT"
  t2=$(now)
  "$build/cdcpipe" import --db "$url" --table customers --file "$types_csv" --mode insert >"$work/out3" 2>&1 ||
    { cat "$work/out3"; exit 1; }
  t3=$(now)
  p=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
  c=$(awk -v a="$t2" -v b="$t3" 'BEGIN { print b - a }')
  printf '    run %d: psql \\copy %.2f s, cdcpipe insert (PostgreSQL-checked types) %.2f s\n' "$i" "$p" "$c"
  best_tpsql=$(min "$best_tpsql" "$p")
  best_types=$(min "$best_types" "$c")
done
diff_rows=$(psql -X -A -t -c "SELECT count(*) FROM ((TABLE customers EXCEPT TABLE customers_psql) UNION ALL (TABLE customers_psql EXCEPT TABLE customers)) d")
[[ "$diff_rows" == 0 ]] || { echo "customers tables differ in $diff_rows rows"; exit 1; }

psql_rate=$(rate "$best_psql")
ins_rate=$(rate "$best_ins")
ups_rate=$(rate "$best_ups")
echo
echo "import benchmark: $rows rows ($(du -h "$csv" | cut -f1)), best of $runs runs, $(nproc) cores"
printf '  %-44s %10s rows/s\n' "psql \\copy (CSV HEADER, empty table with PK)" "$psql_rate"
printf '  %-44s %10s rows/s   ratio %.2f (target >= 0.9)\n' "cdcpipe import --mode insert (empty table)" "$ins_rate" \
  "$(awk -v a="$ins_rate" -v b="$psql_rate" 'BEGIN { print a / b }')"
printf '  %-44s %10s rows/s   ratio %.2f (target >= 0.4)\n' "cdcpipe import --mode upsert (same rows)" "$ups_rate" \
  "$(awk -v a="$ups_rate" -v b="$psql_rate" 'BEGIN { print a / b }')"
printf '  %-44s %10.1f MB (target < 100)\n' "cdcpipe peak RSS" "$(awk -v k="$peak_kb" 'BEGIN { print k / 1024 }')"
tpsql_rate=$(rate "$best_tpsql")
types_rate=$(rate "$best_types")
printf '  %-44s %10s rows/s\n' "psql \\copy customers (numeric, timestamptz)" "$tpsql_rate"
printf '  %-44s %10s rows/s   ratio %.2f (no target)\n' "cdcpipe import --mode insert, same table" "$types_rate" \
  "$(awk -v a="$types_rate" -v b="$tpsql_rate" 'BEGIN { print a / b }')"
