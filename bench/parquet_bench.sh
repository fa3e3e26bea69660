#!/usr/bin/env bash
# Parquet writer/reader vs DuckDB (single-threaded) on the same 1M raw change events, in one run.
#   cdcpipe: build/parquet_bench write (ParquetWriter, snappy) and read (ParquetReader, all columns)
#   DuckDB : SET threads=1; COPY (SELECT * FROM events) TO ... (FORMAT parquet, COMPRESSION snappy)
#            from the same data already loaded in DuckDB (only the COPY is timed), and
#            SELECT count(*), sum(length(value)) FROM read_parquet(...) on both files.
# Wall-clock rates and CPU-time ratios are both printed: on a shared machine CPU time is steadier.
# Usage: bench/parquet_bench.sh [BUILD_DIR] [ROWS]   (defaults: build, 1000000)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
ROWS=${2:-1000000}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

"$BUILD/parquet_bench" gen --rows "$ROWS" --out "$TMP/events.tsv"
ours=$("$BUILD/parquet_bench" write --rows "$ROWS" --out "$TMP/ours.parquet" --compression snappy)
best_read=""
best_cpu=""
for _ in 1 2 3; do
  r=$("$BUILD/parquet_bench" read --in "$TMP/ours.parquet")
  s=$(sed -E 's/.*read_seconds=([0-9.]+).*/\1/' <<<"$r")
  c=$(sed -E 's/.*read_cpu_seconds=([0-9.]+).*/\1/' <<<"$r")
  if [[ -z $best_read ]] || awk -v a="$s" -v b="$best_read" 'BEGIN { exit !(a < b) }'; then best_read=$s; read_line=$r; fi
  if [[ -z $best_cpu ]] || awk -v a="$c" -v b="$best_cpu" 'BEGIN { exit !(a < b) }'; then best_cpu=$c; fi
done
duck=$(NODE_PATH="$ROOT/tests/node/node_modules" node "$ROOT/tests/node/parquet_bench_duckdb.mjs" \
  "$TMP/events.tsv" "$TMP/duck.parquet" "$TMP/ours.parquet")
dread=$("$BUILD/parquet_bench" read --in "$TMP/duck.parquet")

get() { sed -E "s/.*$1=([0-9.]+).*/\1/" <<<"$2"; }
jget() { node -e "const o=JSON.parse(process.argv[1]); console.log($2)" "$duck"; }
w_ours=$(get write_rows_per_s "$ours"); size_ours=$(get file_bytes "$ours"); rss=$(get peak_rss_mb "$ours")
w_duck=$(jget "" "o.write_rows_per_s.toFixed(0)"); size_duck=$(jget "" "o.file_bytes")
r_ours=$(get read_rows_per_s "$read_line"); sum_ours=$(get sum_length_value "$read_line")
r_duck=$(jget "" "(o.rows / o.read_our_file.seconds).toFixed(0)"); sum_duck=$(jget "" "o.read_our_file.sum_length_value")
r_duck_own=$(jget "" "(o.rows / o.read_duck_file.seconds).toFixed(0)")
diff_rows=$(jget "" "o.rows_of_our_file_not_in_table")

echo "rows: $ROWS raw change events (value ~430 B of Debezium JSON), snappy"
echo "write  cdcpipe ParquetWriter      : $w_ours rows/s   peak RSS ${rss} MB"
echo "write  DuckDB COPY (threads=1)    : $w_duck rows/s"
awk -v a="$w_ours" -v b="$w_duck" 'BEGIN { printf "write  ratio cdcpipe/DuckDB      : %.2f (target >= 1.0)\n", a / b }'
echo "size   cdcpipe / DuckDB           : $size_ours / $size_duck bytes"
awk -v a="$size_ours" -v b="$size_duck" 'BEGIN { printf "size   ratio cdcpipe/DuckDB       : %.3f (target <= 1.1)\n", a / b }'
echo "read   cdcpipe all columns (ours) : $r_ours rows/s   sum(length(value))=$sum_ours"
echo "read   DuckDB count+sum (ours)    : $r_duck rows/s   sum(length(value))=$sum_duck"
awk -v a="$r_ours" -v b="$r_duck" 'BEGIN { printf "read   ratio cdcpipe/DuckDB       : %.2f (target >= 1.0)\n", a / b }'
echo "read   DuckDB count+sum (its file): $r_duck_own rows/s;  cdcpipe reads DuckDB's file: $(get read_rows_per_s "$dread") rows/s"
wc_ours=$(get write_cpu_seconds "$ours"); wc_duck=$(jget "" "o.write_cpu_seconds.toFixed(3)")
rc_duck=$(jget "" "o.read_our_file.cpu_seconds.toFixed(3)")
echo "cpu    write cdcpipe / DuckDB     : ${wc_ours} s / ${wc_duck} s CPU"
awk -v a="$wc_ours" -v b="$wc_duck" 'BEGIN { printf "cpu    write ratio (DuckDB/cdcpipe): %.2f (speed ratio by CPU time)\n", b / a }'
echo "cpu    read  cdcpipe / DuckDB     : ${best_cpu} s / ${rc_duck} s CPU (best of 3, our file)"
awk -v a="$best_cpu" -v b="$rc_duck" 'BEGIN { printf "cpu    read  ratio (DuckDB/cdcpipe): %.2f (speed ratio by CPU time)\n", b / a }'
echo "check  rows of our file not in DuckDB's table (EXCEPT ALL): $diff_rows (must be 0)"
[[ $diff_rows == 0 && $sum_ours == "$sum_duck" ]]
