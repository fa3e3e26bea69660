#!/usr/bin/env bash
# Initial snapshot benchmark (issue 18): the snapshot of one large table by cdcpipe, against psql's
# \copy and pg_dump reading the same table, in the same run, on the same private PostgreSQL 15 cluster
# (started here in a temp dir, removed at exit).
#
#   bench/snapshot_bench.sh [--rows N] [--runs R] [--chunk-rows C] [--parallelism "1 2"]
#   defaults: 5,000,000 rows (about 1 GB of heap), 1 run, chunks of 10,000 rows, parallelism 1 and 2
#   (--snapshot-parallelism: cdcpipe's two commands are timed once per value in every run). With several
#   runs each figure is the median of the runs (the machine may be shared), peak RSS the highest.
#
# The table: bigint primary key, md5 text, int, timestamptz, numeric, 120-byte text (~210 bytes a row).
# Each command reads the whole table and is timed from process start to exit:
#   psql -c "\copy (SELECT * FROM t) TO '/dev/null'"                  the peer (COPY text to a client)
#   two such \copy of half the keys each, at the same time             what 2 connections give the server
#   pg_dump --data-only -t t -f /dev/null                               the second peer
#   cdcpipe capture --null-sink --snapshot initial_only                 slot + exported snapshot, chunked
#                                                                       keyset COPY, Debezium JSON encode
#   cdcpipe run --snapshot initial_only --output DIR                    the same into committed Parquet
#                                                                       (raw-kafka-data + _spark_metadata)
# Targets (issue 18): null sink >= 0.8x \copy, committed Parquet >= 0.5x \copy, peak RSS < 300 MB (GNU
# time). Every cdcpipe run makes a new slot (so a new exported snapshot) and drops it afterwards.
# Results: docs/BENCHMARKS.md.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CDCPIPE_BUILD_DIR:-$repo/build}
rows=5000000
runs=1
chunk=10000
parallelism="1 2"
while (($#)); do
  case "$1" in
    --rows) rows=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --chunk-rows) chunk=$2; shift 2 ;;
    --parallelism) parallelism=$2; shift 2 ;;
    *) echo "snapshot_bench.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
source "$(dirname "$0")/lib.sh"

if [[ ! -x "$build/cdcpipe" ]]; then "$repo/scripts/setup.sh"; fi
bench_need_gnu_time

work=$(mktemp -d /tmp/cdcpipe-snapshot-bench.XXXXXX)
chmod 0777 "$work"
cleanup() {
  bench_stop_pg "$work"
  if [[ -n ${SNAPSHOT_BENCH_KEEP:-} ]]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
# Every cdcpipe command runs on the defaults and its flags: without this, a ./cdcpipe.yaml in the
# current directory (the repository's demo config names views/seed.sql) would be read.
printf '# snapshot_bench.sh: defaults and flags only\n' >"$work/cdcpipe.yaml"
export CDCPIPE_CONFIG="$work/cdcpipe.yaml"

bench_private_pg "$work" 54900

echo "==> creating t with $rows rows"
q "CREATE TABLE t (id bigint PRIMARY KEY, h text NOT NULL, n int NOT NULL, ts timestamptz NOT NULL,
                   amount numeric(12,2) NOT NULL, pad text NOT NULL)"
q "INSERT INTO t SELECT g, md5(g::text), g % 1000, timestamptz '2026-01-01' + g * interval '1 second',
                        (g % 100000) / 100.0, repeat('x', 120)
     FROM generate_series(1, $rows) g"
q "VACUUM ANALYZE t" >/dev/null  # (ANALYZE: the parallel snapshot splits t at its key histogram)
q "CHECKPOINT" >/dev/null
echo "    table size $(q "SELECT pg_size_pretty(pg_table_size('t'))"), index $(q "SELECT pg_size_pretty(pg_indexes_size('t'))")"
# Warm the cache the same way for everyone: one full read first.
psql -X -q -c "\copy (SELECT * FROM t) TO '/dev/null'"

peak() { awk -v a="$1" -v b="$(tail -1 "$work/rss" | cut -d' ' -f3)" 'BEGIN { print (a > b ? a : b) }'; }
cpu() { tail -1 "$work/rss" | awk '{ printf "%.1f", $1 + $2 }'; }
t_copy=() t_copy2=() t_dump=()
declare -A t_null t_parquet c_null c_parquet peak_null peak_parquet
for p in $parallelism; do t_null[$p]="" t_parquet[$p]="" c_null[$p]="" c_parquet[$p]="" peak_null[$p]=0 peak_parquet[$p]=0; done
# The median of the arguments (the mean of the middle two for an even count).
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
for ((i = 1; i <= runs; i++)); do
  t0=$(now)
  psql -X -q -c "\copy (SELECT * FROM t) TO '/dev/null'"
  t1=$(now)
  t_copy+=("$(elapsed "$t0" "$t1")")

  # What two connections give on the server side: the two halves of t by key, at the same time.
  t0=$(now)
  psql -X -q -c "\copy (SELECT * FROM t WHERE id <= $((rows / 2))) TO '/dev/null'" &
  psql -X -q -c "\copy (SELECT * FROM t WHERE id > $((rows / 2))) TO '/dev/null'"
  wait
  t1=$(now)
  t_copy2+=("$(elapsed "$t0" "$t1")")

  t0=$(now)
  pg_dump --data-only -t t -f /dev/null postgres
  t1=$(now)
  t_dump+=("$(elapsed "$t0" "$t1")")

  for p in $parallelism; do
    t0=$(now)
    /usr/bin/time -f "%U %S %M" -o "$work/rss" "$build/cdcpipe" capture --db "$url" --null-sink --tables t \
      --state "$work/state-null-$i-$p" --slot "bench_null_${i}_$p" --snapshot initial_only --snapshot-chunk-rows "$chunk" \
      --snapshot-parallelism "$p" --heartbeat 0 >"$work/null.log" 2>&1 || { cat "$work/null.log"; exit 1; }
    t1=$(now)
    grep -q "$rows snapshot rows" "$work/null.log" || { echo "null sink run did not read $rows rows:"; tail "$work/null.log"; exit 1; }
    q "SELECT pg_drop_replication_slot('bench_null_${i}_$p')" >/dev/null
    t_null[$p]+=" $(elapsed "$t0" "$t1")"
    peak_null[$p]=$(peak "${peak_null[$p]}")
    c_null[$p]+=" $(cpu)"

    t0=$(now)
    /usr/bin/time -f "%U %S %M" -o "$work/rss" "$build/cdcpipe" run --db "$url" --tables t --output "$work/out-$i" \
      --slot "bench_run_${i}_$p" --snapshot initial_only --snapshot-chunk-rows "$chunk" --snapshot-parallelism "$p" \
      --heartbeat 0 --http off >"$work/run.log" 2>&1 || { cat "$work/run.log"; exit 1; }
    t1=$(now)
    q "SELECT pg_drop_replication_slot('bench_run_${i}_$p')" >/dev/null
    t_parquet[$p]+=" $(elapsed "$t0" "$t1")"
    peak_parquet[$p]=$(peak "${peak_parquet[$p]}")
    c_parquet[$p]+=" $(cpu)"
    committed=$(find "$work/out-$i/raw-kafka-data" -maxdepth 1 -name 'part-*' | wc -l)
    parquet_bytes=$(du -sb "$work/out-$i/raw-kafka-data" | cut -f1)
    rm -rf "$work/out-$i"
  done
done

best_copy=$(median "${t_copy[@]}") best_copy2=$(median "${t_copy2[@]}") best_dump=$(median "${t_dump[@]}")
echo "runs (s): \copy ${t_copy[*]}; 2 x \copy ${t_copy2[*]}; pg_dump ${t_dump[*]}"
for p in $parallelism; do
  echo "  parallelism $p: null sink${t_null[$p]} (CPU${c_null[$p]}); Parquet${t_parquet[$p]} (CPU${c_parquet[$p]})"
done
rate() { awk -v r="$rows" -v s="$1" 'BEGIN { printf "%.0f", r / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }
echo
echo "== snapshot of a $rows-row table (median of $runs, chunks of $chunk rows) =="
printf "%-44s %8.2f s %10s rows/s\n" "psql \\copy (SELECT * FROM t) TO /dev/null" "$best_copy" "$(rate "$best_copy")"
printf "%-44s %8.2f s %10s rows/s  ratio to \\copy %s\n" "2 x psql \\copy of half the keys, at once" "$best_copy2" \
  "$(rate "$best_copy2")" "$(ratio "$best_copy2" "$best_copy")"
printf "%-44s %8.2f s %10s rows/s  ratio to \\copy %s\n" "pg_dump --data-only -t t" "$best_dump" \
  "$(rate "$best_dump")" "$(ratio "$best_dump" "$best_copy")"
for p in $parallelism; do
  # shellcheck disable=SC2086
  best_null=$(median ${t_null[$p]}) best_parquet=$(median ${t_parquet[$p]})
  # shellcheck disable=SC2086
  cpu_null=$(median ${c_null[$p]}) cpu_parquet=$(median ${c_parquet[$p]})
  printf "%-44s %8.2f s %10s rows/s  ratio to \\copy %s (target >= 0.80)  peak RSS %d MB  CPU %s s\n" \
    "cdcpipe capture --null-sink, parallelism $p" "$best_null" "$(rate "$best_null")" "$(ratio "$best_null" "$best_copy")" \
    "$((peak_null[$p] / 1024))" "$cpu_null"
  printf "%-44s %8.2f s %10s rows/s  ratio to \\copy %s (target >= 0.50)  peak RSS %d MB  CPU %s s\n" \
    "cdcpipe run (committed Parquet), parallelism $p" "$best_parquet" "$(rate "$best_parquet")" \
    "$(ratio "$best_parquet" "$best_copy")" "$((peak_parquet[$p] / 1024))" "$cpu_parquet"
done
echo "   (last Parquet run: $committed data files, $((parquet_bytes / 1048576)) MB)"
