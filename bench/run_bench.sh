#!/usr/bin/env bash
# Pipeline benchmark: `cdcpipe run` (embedded: capture -> committed Parquet in raw-kafka-data, no Kafka)
# against pg_recvlogical, in the same run, on the same private PostgreSQL 15 cluster (temp dir, removed
# at exit). The set-up and slot-copy pattern follow bench/capture_bench.sh.
#
#   bench/run_bench.sh [--rows N] [--runs R] [--latency-seconds S] [--latency-rate ROWS_PER_S] [--trigger T]
#                      [--no-views] [--no-latency]
#   defaults: 1,000,000 rows, 2 runs (best of), 30 s at 5,000 rows/s, trigger 1s
#
# Throughput: 100 transactions insert N rows into klienci. A base pgoutput slot created before the
# insert is copied (pg_copy_logical_replication_slot) once per consumer and run, so both decode exactly
# the same WAL from the same start:
#   pg_recvlogical -P pgoutput -o proto_version=1 -o publication_names=cdcpipe --endpos END -f /dev/null
#   cdcpipe run --slot COPY --snapshot never --end-lsn END --output DIR   (decode, Debezium JSON, Parquet
#                                                                          files + _spark_metadata commits)
# Rates are rows/s of the whole command (process start to exit, all batches committed). Target >= 0.7x.
# Peak RSS of cdcpipe run (GNU time), target < 300 MB.
#
# Freshness: a fresh slot, `cdcpipe run --trigger T --latency-log`; a DO block commits rate/50 rows every
# 20 ms for S seconds; per transaction the log holds PostgreSQL commit time -> the batch holding it
# committed (its _spark_metadata written; DurableLsn passing its end LSN). Target p99 <= T + 1 s.
# Views (issue 16): in the same run, on the same backlog, `cdcpipe run --tables klienci,pracownicy` with
# no views file, with --views views/seed.sql and with --views bench/views/ten.sql (10 views, a LEFT
# JOIN among them), interleaved, best of R each: the slowdown of each views file against no views
# (target <= 15 %) and its peak RSS. The live views are applied to every committed batch, their
# folders written after each batch and their checkpoint saved at the end, all inside the timed command.
# --no-views / --no-latency skip those parts.
# Results: docs/BENCHMARKS.md.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CDCPIPE_BUILD_DIR:-$repo/build}
rows=1000000
runs=2
lat_seconds=30
lat_rate=5000
trigger=1s
views=1
latency=1
while (($#)); do
  case "$1" in
    --rows) rows=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --latency-seconds) lat_seconds=$2; shift 2 ;;
    --latency-rate) lat_rate=$2; shift 2 ;;
    --trigger) trigger=$2; shift 2 ;;
    --no-views) views=0; shift ;;
    --no-latency) latency=0; shift ;;
    *) echo "run_bench.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
source "$(dirname "$0")/lib.sh"

if [[ ! -x "$build/cdcpipe" ]]; then "$repo/scripts/setup.sh"; fi
bench_need_gnu_time

work=$(mktemp -d /tmp/cdcpipe-run-bench.XXXXXX)
chmod 0777 "$work"
cleanup() {
  bench_stop_pg "$work"
  rm -rf "$work"
}
trap cleanup EXIT
# Every cdcpipe command runs on the defaults and its flags: without this, a ./cdcpipe.yaml in the
# current directory (the repository's demo config names views/seed.sql) would be read.
printf '# run_bench.sh: defaults and flags only\n' >"$work/cdcpipe.yaml"
export CDCPIPE_CONFIG="$work/cdcpipe.yaml"

bench_private_pg "$work" 54700
run_flags=(--db "$url" --tables klienci --replica-identity-full --snapshot never --heartbeat 0 --http off)

# Set-up once (schema, publication, REPLICA IDENTITY FULL), then the base slot.
"$build/cdcpipe" schema --apply --db "$url" >/dev/null 2>&1
"$build/cdcpipe" run "${run_flags[@]}" --slot warmup --output "$work/warmup" \
  --end-lsn "$(q 'SELECT pg_current_wal_insert_lsn()')" >"$work/warmup.log" 2>&1 || { cat "$work/warmup.log"; exit 1; }
q "SELECT pg_drop_replication_slot('warmup')" >/dev/null
# The views runs capture pracownicy too (the seed views and the join read it): add it to the
# publication before the backlog, so that every run decodes the same WAL with the same publication.
views_flags=(--db "$url" --tables klienci,pracownicy --replica-identity-full --snapshot never --heartbeat 0 --http off)
if ((views)); then
  "$build/cdcpipe" run "${views_flags[@]}" --slot warmup --output "$work/warmup2" \
    --end-lsn "$(q 'SELECT pg_current_wal_insert_lsn()')" >"$work/warmup.log" 2>&1 || { cat "$work/warmup.log"; exit 1; }
  q "SELECT pg_drop_replication_slot('warmup')" >/dev/null
fi
bench_backlog "$rows"

best_recv=999999 best_run=999999 peak_run=0
for ((i = 1; i <= runs; i++)); do
  s=$(fresh_slot)
  t0=$(now)
  pg_recvlogical -d postgres --slot "$s" --start -o proto_version=1 -o publication_names=cdcpipe \
    --endpos "$end" --no-loop -f /dev/null
  t1=$(now)
  drop_slot "$s"
  best_recv=$(min "$best_recv" "$(elapsed "$t0" "$t1")")

  s=$(fresh_slot)
  rm -rf "$work/out"
  t0=$(now)
  /usr/bin/time -f "%M" -o "$work/rss" "$build/cdcpipe" run "${run_flags[@]}" --slot "$s" --end-lsn "$end" \
    --output "$work/out" >"$work/run.log" 2>&1 || { cat "$work/run.log"; exit 1; }
  t1=$(now)
  grep -q " $rows events committed" "$work/run.log" || { echo "run did not commit $rows events:"; tail -5 "$work/run.log"; exit 1; }
  drop_slot "$s"
  best_run=$(min "$best_run" "$(elapsed "$t0" "$t1")")
  peak_run=$(awk -v a="$peak_run" -v b="$(tail -1 "$work/rss")" 'BEGIN { print (a > b ? a : b) }')
done

# Views: no views file / views/seed.sql / bench/views/ten.sql, interleaved within each round.
view_cfgs=(none "$repo/views/seed.sql" "$repo/bench/views/ten.sql")
declare -A best_v peak_v runs_v
for c in "${view_cfgs[@]}"; do best_v[$c]=999999; peak_v[$c]=0; runs_v[$c]=""; done
for ((i = 1; i <= runs && views; i++)); do
  for c in "${view_cfgs[@]}"; do
    s=$(fresh_slot)
    rm -rf "$work/vout"
    vf=()
    [[ $c == none ]] || vf=(--views "$c")
    t0=$(now)
    /usr/bin/time -f "%M" -o "$work/rss" "$build/cdcpipe" run "${views_flags[@]}" "${vf[@]}" --slot "$s" \
      --end-lsn "$end" --output "$work/vout" >"$work/vrun.log" 2>&1 || { cat "$work/vrun.log"; exit 1; }
    t1=$(now)
    grep -q " $rows events committed" "$work/vrun.log" || { echo "run ($c) did not commit $rows events:"; tail -5 "$work/vrun.log"; exit 1; }
    if [[ $c != none ]]; then
      # Each view's folder holds a committed result.
      for v in $(sed -nE 's/^CREATE VIEW "?([^" ]+)"? AS.*/\1/p' "$c"); do
        [[ -f "$work/vout/$v/_SUCCESS" ]] || { echo "run ($c) wrote no result for view $v"; tail -5 "$work/vrun.log"; exit 1; }
      done
    fi
    drop_slot "$s"
    best_v[$c]=$(min "${best_v[$c]}" "$(elapsed "$t0" "$t1")")
    runs_v[$c]+="$(elapsed "$t0" "$t1") "
    peak_v[$c]=$(awk -v a="${peak_v[$c]}" -v b="$(tail -1 "$work/rss")" 'BEGIN { print (a > b ? a : b) }')
  done
done
drop_slot base
files=$(ls "$work/out/raw-kafka-data" | grep -c '^part-' || true)
bytes=$(du -sb "$work/out/raw-kafka-data" | cut -f1)

rate() { awk -v r="$rows" -v s="$1" 'BEGIN { printf "%.0f", r / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }
echo
echo "== throughput: $rows-row insert backlog (best of $runs) =="
printf "%-40s %8.2f s %10s rows/s\n" "pg_recvlogical (pgoutput) -> /dev/null" "$best_recv" "$(rate "$best_recv")"
printf "%-40s %8.2f s %10s rows/s  ratio %s (target >= 0.70)  peak RSS %d MB (target < 300)\n" \
  "cdcpipe run -> committed Parquet" "$best_run" "$(rate "$best_run")" "$(ratio "$best_run" "$best_recv")" \
  "$((peak_run / 1024))"
echo "    output of the last run: $files Parquet files, $((bytes / 1024 / 1024)) MiB"
if ((views)); then
  echo
  echo "== views: cdcpipe run --tables klienci,pracownicy, same backlog, best of $runs (interleaved) =="
  base_t=${best_v[none]}
  for c in "${view_cfgs[@]}"; do
    label="no views file"
    [[ $c == none ]] || label="--views ${c#"$repo"/} ($(grep -c '^CREATE VIEW' "$c") views)"
    if [[ $c == none ]]; then
      printf "%-44s %8.2f s %10s rows/s  peak RSS %d MB\n" "$label" "${best_v[$c]}" "$(rate "${best_v[$c]}")" \
        "$((peak_v[$c] / 1024))"
    else
      printf "%-44s %8.2f s %10s rows/s  slowdown %+.1f%% (target <= 15%%)  peak RSS %d MB\n" "$label" \
        "${best_v[$c]}" "$(rate "${best_v[$c]}")" "$(awk -v a="$base_t" -v b="${best_v[$c]}" 'BEGIN { print 100 * (b - a) / a }')" \
        "$((peak_v[$c] / 1024))"
    fi
    echo "    runs (s): ${runs_v[$c]}"
  done
fi
((latency)) || exit 0

echo
echo "==> freshness: $lat_rate rows/s for $lat_seconds s, trigger $trigger"
per_tx=$((lat_rate / 50))
txs=$((lat_seconds * 50))
q "SELECT 1 FROM pg_create_logical_replication_slot('latency', 'pgoutput')" >/dev/null
/usr/bin/time -f "%M" -o "$work/rss-lat" "$build/cdcpipe" run "${run_flags[@]}" --slot latency --trigger "$trigger" \
  --output "$work/lat-out" --latency-log "$work/latency.log" >"$work/latency-run.log" 2>&1 &
run_pid=$!
for _ in $(seq 1 100); do
  [[ $(q "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'latency' AND active") == 1 ]] && break
  sleep 0.1
done
q "DO \$\$
DECLARE t0 timestamptz := clock_timestamp(); base int := 10000000;
BEGIN
  FOR i IN 1..$txs LOOP
    INSERT INTO klienci SELECT base + i * $per_tx + g, 'lat', NULL, 'PL', NULL FROM generate_series(1, $per_tx) g;
    COMMIT;
    PERFORM pg_sleep_until(t0 + i * interval '20 milliseconds');
  END LOOP;
END \$\$"
end=$(q "SELECT pg_current_wal_lsn()")
for _ in $(seq 1 300); do
  [[ $(q "SELECT confirmed_flush_lsn >= '$end' FROM pg_replication_slots WHERE slot_name = 'latency'") == t ]] && break
  sleep 0.1
done
# GNU time ignores SIGINT while it waits: signal cdcpipe (its child) itself.
kill -INT "$(pgrep -P "$run_pid")"
wait "$run_pid" || { echo "run exited with $?"; tail -20 "$work/latency-run.log"; exit 1; }
drop_slot latency
n=$(wc -l <"$work/latency.log")
sort -n -k2 "$work/latency.log" | awk -v n="$n" -v trig="$trigger" '
  { v[NR] = $2 }
  END {
    p50 = v[int(n * 0.50) > 0 ? int(n * 0.50) : 1]; p99 = v[int(n * 0.99) > 0 ? int(n * 0.99) : 1]
    printf "commit in PostgreSQL -> committed Parquet over %d transactions: p50 %.0f ms, p99 %.0f ms, max %.0f ms (target p99 <= trigger %s + 1 s)\n",
      n, p50 / 1000, p99 / 1000, v[n] / 1000, trig
  }'
echo "peak RSS at $lat_rate rows/s: $(( $(tail -1 "$work/rss-lat") / 1024 )) MB"
