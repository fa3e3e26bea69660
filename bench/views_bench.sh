#!/usr/bin/env bash
# Views benchmark (issue 16, docs/BENCHMARKS.md): applying a batch of changes to cdcpipe's views
# against PostgreSQL's REFRESH MATERIALIZED VIEW and DuckDB recomputing them from the raw Parquet, in
# one run on the same data and the same changes; then the memory of each aggregate kind.
#
#   bench/views_bench.sh [--rows N] [--changes M] [--runs R] [--no-memory]
#   defaults: 1,000,000 rows, 10,000 changes, best of 3; CDCPIPE_BUILD_DIR (default build/) holds views-bench
#
# (a) views-bench compare generates big (N rows) and dim (900 rows), the M changes (updates of grouped
#     and aggregated columns, deletes, inserts, primary-key changes, dim changes) and the views of
#     bench/views/bench.sql; it applies the N inserts to a ViewEngine (rate printed), then times
#     applying the change events (best of R) = T_cdcpipe, and writes each view's rows.
#     PostgreSQL (private cluster): COPY the same rows, CREATE MATERIALIZED VIEW for each view (the same
#     SQL), apply the same changes (changes.sql, one transaction), VACUUM ANALYZE, then time REFRESH
#     MATERIALIZED VIEW of all views (best of R) = T_pg. Every view's rows must equal cdcpipe's
#     (row count and md5 of the sorted rows in PostgreSQL's text form, TimeZone UTC).
#     DuckDB (threads=2): recompute the views from the raw Parquet, all N + M events (best of R) = T_duck;
#     its row counts must equal cdcpipe's.
#     Each figure is printed as wall-clock seconds and as CPU seconds (cdcpipe: the process; PostgreSQL:
#     the backend's and its parallel workers'; DuckDB: node's process CPU, both threads): on a shared
#     machine the CPU figures are the steadier ones.
# (c) views-bench memory per aggregate kind: 1,000,000 rows in 1,000,000 groups, and the same columns
#     in one group (baseline: the row store alone), each in its own process; bytes per group from the
#     engine's Stats and from the RSS difference; peak RSS (GNU time) of the count/sum/avg process.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CDCPIPE_BUILD_DIR:-$repo/build}
rows=1000000
changes=10000
runs=3
memory=1
while (($#)); do
  case "$1" in
    --rows) rows=$2; shift 2 ;;
    --changes) changes=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --no-memory) memory=0; shift ;;
    *) echo "views_bench.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
source "$repo/bench/lib.sh"
bench_need_gnu_time
export NODE_PATH="$repo/tests/node/node_modules"
export LC_NUMERIC=C LC_COLLATE=C PGTZ=UTC
views="$repo/bench/views/bench.sql"
bin="$build/views-bench"
[[ -x "$bin" ]] || { echo "views_bench.sh: $bin missing (cmake --build BUILD --target views-bench)" >&2; exit 2; }

work=$(mktemp -d /tmp/cdcpipe-views-bench.XXXXXX)
chmod 0777 "$work"
trap 'bench_stop_pg "$work"; rm -rf "$work"' EXIT
bench_private_pg "$work" 54800
data="$work/data"
mkdir -p "$data" && chmod 0777 "$data"

echo "==> cdcpipe: $rows rows + $changes changes, views of bench/views/bench.sql"
"$bin" compare --dir "$data" --views "$views" --rows "$rows" --changes "$changes" --runs "$runs" | tee "$work/cdc.out"
chmod -R a+r "$data"
val() { sed -n "s/^$1=//p" "$work/cdc.out"; }
t_cdc=$(val apply_best_seconds)

echo "==> PostgreSQL: COPY, materialized views, the same changes"
q "CREATE TABLE big (id bigint PRIMARY KEY, grp int, val numeric(12,2), name text, ts timestamptz, flag boolean)"
q "CREATE TABLE dim (id int PRIMARY KEY, region text)"
q "\\copy big FROM '$data/big.tsv'"
q "\\copy dim FROM '$data/dim.tsv'"
q "VACUUM ANALYZE big" && q "VACUUM ANALYZE dim"
sed -E 's/CREATE VIEW/CREATE MATERIALIZED VIEW/I' "$views" | psql -X -q -v ON_ERROR_STOP=1 -f - >/dev/null
mapfile -t names < <(sed -nE 's/^CREATE VIEW ("[^"]+"|[^ ]+) AS.*/\1/Ip' "$views")
psql -X -q -v ON_ERROR_STOP=1 -f "$data/changes.sql" >/dev/null
q "VACUUM ANALYZE big" && q "VACUUM ANALYZE dim"
refresh=""
for n in "${names[@]}"; do refresh+="REFRESH MATERIALIZED VIEW $n; "; done
# CPU, read by the backend itself before and after the REFRESHes: its own utime + stime, plus the
# postmaster's cutime + cstime (parallel workers have exited and been reaped when their query
# returns). Autovacuum is off so that no other process's exit is counted.
q "ALTER SYSTEM SET autovacuum = off" && q "SELECT pg_reload_conf()" >/dev/null
pm=$(head -1 "$work/pg/postmaster.pid")
q "CREATE FUNCTION bench_cpu_ticks() RETURNS bigint LANGUAGE sql AS \$\$
     SELECT split_part(s, ' ', 14)::bigint + split_part(s, ' ', 15)::bigint
          + split_part(p, ' ', 16)::bigint + split_part(p, ' ', 17)::bigint
     FROM (SELECT pg_read_file('/proc/self/stat') AS s, pg_read_file('/proc/$pm/stat') AS p) x \$\$"
hz=$(getconf CLK_TCK)
best_pg=999999 best_pg_cpu=999999 all_pg=""
for ((i = 1; i <= runs; i++)); do
  t0=$EPOCHREALTIME
  out=$(printf 'SELECT bench_cpu_ticks();\n%s\nSELECT bench_cpu_ticks();\n' "$refresh" | psql -X -q -A -t -v ON_ERROR_STOP=1 -f -)
  t1=$EPOCHREALTIME
  c0=$(echo "$out" | head -1) c1=$(echo "$out" | tail -1)
  t=$(echo "$t1 - $t0" | bc -l)
  c=$(echo "($c1 - $c0) / $hz" | bc -l)
  all_pg+="$(printf '%.3f ' "$t")"
  best_pg=$(echo "if ($t < $best_pg) $t else $best_pg" | bc -l)
  best_pg_cpu=$(echo "if ($c < $best_pg_cpu) $c else $best_pg_cpu" | bc -l)
done

echo "==> results: cdcpipe vs PostgreSQL, per view"
ok=1
for n in "${names[@]}"; do
  plain=${n//\"/}
  psql -X -A -t -F'|' -c "SELECT * FROM $n" | sort >"$work/pg-$plain.txt"
  sort "$data/cdcpipe/$plain.txt" >"$work/cdc-$plain.txt"
  a=$(wc -l <"$work/pg-$plain.txt") b=$(wc -l <"$work/cdc-$plain.txt")
  ma=$(md5sum <"$work/pg-$plain.txt" | cut -c1-12) mb=$(md5sum <"$work/cdc-$plain.txt" | cut -c1-12)
  if [[ $a == "$b" && $ma == "$mb" ]]; then s=equal; else s=DIFFERENT; ok=0; fi
  printf '  %-16s PostgreSQL %6d rows md5 %s   cdcpipe %6d rows md5 %s   %s\n' "$plain" "$a" "$ma" "$b" "$mb" "$s"
  [[ $s == equal ]] || diff "$work/pg-$plain.txt" "$work/cdc-$plain.txt" | head -6
done

echo "==> DuckDB: the views from the raw Parquet"
duck=$(node "$repo/bench/views_bench_duckdb.mjs" "$data" "$views" "$runs")
echo "    $duck"
t_duck=$(echo "$duck" | sed -E 's/.*"seconds":([0-9.e-]+).*/\1/')
c_duck=$(echo "$duck" | sed -E 's/.*"cpu_seconds":([0-9.e-]+).*/\1/')
c_cdc=$(val apply_best_cpu_seconds)
for n in "${names[@]}"; do
  plain=${n//\"/}
  d=$(echo "$duck" | sed -E "s/.*\"$plain\":([0-9]+).*/\1/")
  c=$(wc -l <"$data/cdcpipe/$plain.txt")
  [[ $d == "$c" ]] || { echo "  $plain: DuckDB $d rows, cdcpipe $c rows: DIFFERENT"; ok=0; }
done

echo
echo "== (a) $changes changes to the views of $rows rows (best of $runs; machine shared with other work) =="
printf '%-50s wall %8.4f s  CPU %8.4f s  (%s change events, runs wall %s, CPU %s)\n' "cdcpipe ViewEngine: apply the changes" \
  "$t_cdc" "$c_cdc" "$(val change_events)" "$(val apply_seconds)" "$(val apply_cpu_seconds)"
printf '%-50s wall %8.4f s  CPU %8.4f s  (runs %s)\n' "PostgreSQL: REFRESH MATERIALIZED VIEW x ${#names[@]}" "$best_pg" \
  "$best_pg_cpu" "$all_pg"
printf '%-50s wall %8.4f s  CPU %8.4f s\n' "DuckDB (threads=2): recompute from raw Parquet" "$t_duck" "$c_duck"
printf 'T_pg / T_cdcpipe   = %.0fx wall, %.0fx CPU (target >= 50)\n' "$(echo "$best_pg / $t_cdc" | bc -l)" \
  "$(echo "$best_pg_cpu / $c_cdc" | bc -l)"
printf 'T_duck / T_cdcpipe = %.0fx wall, %.0fx CPU (target >= 50)\n' "$(echo "$t_duck / $t_cdc" | bc -l)" \
  "$(echo "$c_duck / $c_cdc" | bc -l)"
printf 'initial load: %s inserts applied at %s events/s wall, %s events/s CPU (ApplyRaw only); RSS after load %s MB\n' \
  "$(val load_events)" "$(val load_rate)" "$(val load_cpu_rate)" "$(val rss_after_load_mb)"
[[ $ok == 1 ]] || { echo "RESULTS DIFFER"; exit 1; }
echo "every view equals PostgreSQL's (rows, md5) and DuckDB's (row counts)"

[[ $memory == 1 ]] || exit 0
echo
echo "== (c) memory: $rows rows, one view, each run in its own process =="
printf '%-9s %10s %14s %14s %16s %16s\n' kind groups "Stats B/group" "RSS B/group" "row store B/row" "peak RSS MB"
for kind in count sum avg csa minmax distinct; do
  /usr/bin/time -f "%M" -o "$work/peak" "$bin" memory --kind "$kind" --rows "$rows" --groups "$rows" >"$work/m.out"
  peak=$(tail -1 "$work/peak")
  "$bin" memory --kind "$kind" --rows "$rows" --groups "$rows" --baseline >"$work/b.out"
  get() { sed -E "s/.* $1=([0-9]+).*/\1/" "$2"; }
  g=$(get groups "$work/m.out") sb=$(get state_bytes "$work/m.out")
  dm=$(get rss_delta_kb "$work/m.out") db=$(get rss_delta_kb "$work/b.out")
  printf '%-9s %10d %14.1f %14.1f %16.1f %16.1f\n' "$kind" "$g" "$(echo "$sb / $g" | bc -l)" \
    "$(echo "($dm - $db) * 1024 / $g" | bc -l)" "$(echo "$db * 1024 / $rows" | bc -l)" "$(echo "$peak / 1024" | bc -l)"
done
echo "(Stats B/group: ViewEngine::Stats state_bytes / groups; RSS B/group: (RSS growth with the view - RSS growth"
echo " of a one-group view reading the same columns) / groups; row store: the baseline's RSS growth / rows;"
echo " peak RSS: GNU time of the grouped process. Target: csa (count/sum/avg) peak <= 200 MB.)"
