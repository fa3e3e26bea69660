#!/usr/bin/env bash
# Capture benchmark: `cdcpipe capture` against pg_recvlogical, in the same run, on the same private
# PostgreSQL 15 cluster (started here in a temp dir, removed at exit).
#
#   bench/capture_bench.sh [--rows N] [--runs R] [--latency-seconds S] [--latency-rate ROWS_PER_S]
#   defaults: 1,000,000 rows, 2 runs (best of), 30 s at 5,000 rows/s
#
# Throughput: 100 transactions insert N rows into klienci (REPLICA IDENTITY FULL, as capture sets it).
# A base pgoutput slot created before the insert is copied (pg_copy_logical_replication_slot) once per
# consumer and run, so every consumer decodes exactly the same WAL from the same start:
#   pg_recvlogical -P pgoutput -o proto_version=1 -o publication_names=cdcpipe --endpos END -f /dev/null
#   cdcpipe capture --null-sink      --snapshot never --end-lsn END   (decode + Debezium JSON encode)
#   cdcpipe capture --brokers MOCK   --snapshot never --end-lsn END   (+ librdkafka, acks=all, into kafka-mock)
# Rates are rows/s of the whole command (process start to exit). Targets: null >= 0.9x, kafka >= 0.8x.
# Peak RSS of cdcpipe (GNU time) is printed too (target < 256 MB for the 1M-row transaction).
#
# Latency: a fresh slot, `cdcpipe capture` into kafka-mock with the hidden --latency-log option; a DO
# block commits rows/50 rows every 20 ms (pg_sleep_until pacing) for S seconds; per transaction the log
# holds commit time -> Kafka acknowledgement (DurableLsn passing its end LSN). p50/p99 printed.
# Results: docs/BENCHMARKS.md.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CDCPIPE_BUILD_DIR:-$repo/build}
rows=1000000
runs=2
lat_seconds=30
lat_rate=5000
while (($#)); do
  case "$1" in
    --rows) rows=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --latency-seconds) lat_seconds=$2; shift 2 ;;
    --latency-rate) lat_rate=$2; shift 2 ;;
    *) echo "capture_bench.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
source "$(dirname "$0")/lib.sh"

if [[ ! -x "$build/cdcpipe" || ! -x "$build/kafka-mock" ]]; then "$repo/scripts/setup.sh"; fi
bench_need_gnu_time

work=$(mktemp -d /tmp/cdcpipe-capture-bench.XXXXXX)
chmod 0777 "$work"
mock_pid=""
cleanup() {
  [[ -n "$mock_pid" ]] && kill "$mock_pid" 2>/dev/null || true
  bench_stop_pg "$work"
  if [[ -n ${CAPTURE_BENCH_KEEP:-} ]]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

bench_private_pg "$work" 54600

echo "==> kafka-mock"
"$build/kafka-mock" --topic dbserver1.public.klienci:6 --bootstrap-file "$work/bootstrap" >"$work/mock.log" 2>&1 &
mock_pid=$!
for _ in $(seq 1 100); do [[ -s "$work/bootstrap" ]] && break; sleep 0.1; done
brokers=$(head -1 "$work/bootstrap")

# Set-up once (schema, publication, REPLICA IDENTITY FULL as --replica-identity-full asks), then the base slot.
"$build/cdcpipe" schema --apply --db "$url" >/dev/null 2>&1
"$build/cdcpipe" capture --db "$url" --null-sink --tables klienci --replica-identity-full --state "$work/capture-state" --slot warmup --snapshot never --heartbeat 0 \
  --end-lsn "$(q 'SELECT pg_current_wal_insert_lsn()')" >"$work/warmup.log" 2>&1 || { cat "$work/warmup.log"; exit 1; }
q "SELECT pg_drop_replication_slot('warmup')" >/dev/null
bench_backlog "$rows"

best_recv=999999 best_null=999999 best_kafka=999999 peak_null=0 peak_kafka=0
for ((i = 1; i <= runs; i++)); do
  s=$(fresh_slot)
  t0=$(now)
  pg_recvlogical -d postgres --slot "$s" --start -o proto_version=1 -o publication_names=cdcpipe \
    --endpos "$end" --no-loop -f /dev/null
  t1=$(now)
  drop_slot "$s"
  best_recv=$(min "$best_recv" "$(elapsed "$t0" "$t1")")

  s=$(fresh_slot)
  t0=$(now)
  /usr/bin/time -f "%M" -o "$work/rss" "$build/cdcpipe" capture --db "$url" --null-sink --tables klienci --replica-identity-full --state "$work/capture-state" \
    --slot "$s" --snapshot never --heartbeat 0 --end-lsn "$end" >"$work/null.log" 2>&1 || { cat "$work/null.log"; exit 1; }
  t1=$(now)
  grep -q "$rows streamed events" "$work/null.log" || { echo "null sink run did not see $rows events:"; cat "$work/null.log"; exit 1; }
  drop_slot "$s"
  best_null=$(min "$best_null" "$(elapsed "$t0" "$t1")")
  peak_null=$(awk -v a="$peak_null" -v b="$(tail -1 "$work/rss")" 'BEGIN { print (a > b ? a : b) }')

  s=$(fresh_slot)
  t0=$(now)
  /usr/bin/time -f "%M" -o "$work/rss" "$build/cdcpipe" capture --db "$url" --brokers "$brokers" --tables klienci --replica-identity-full --state "$work/capture-state" \
    --slot "$s" --snapshot never --heartbeat 0 --end-lsn "$end" >"$work/kafka.log" 2>&1 || { cat "$work/kafka.log"; exit 1; }
  t1=$(now)
  grep -q "$rows streamed events" "$work/kafka.log" || { echo "kafka run did not see $rows events:"; cat "$work/kafka.log"; exit 1; }
  drop_slot "$s"
  best_kafka=$(min "$best_kafka" "$(elapsed "$t0" "$t1")")
  peak_kafka=$(awk -v a="$peak_kafka" -v b="$(tail -1 "$work/rss")" 'BEGIN { print (a > b ? a : b) }')
done
drop_slot base

rate() { awk -v r="$rows" -v s="$1" 'BEGIN { printf "%.0f", r / s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b / a }'; }
echo
echo "== throughput: $rows-row insert backlog (best of $runs) =="
printf "%-34s %8.2f s %10s rows/s\n" "pg_recvlogical (pgoutput)" "$best_recv" "$(rate "$best_recv")"
printf "%-34s %8.2f s %10s rows/s  ratio %s (target >= 0.90)  peak RSS %d MB\n" "cdcpipe capture --null-sink" \
  "$best_null" "$(rate "$best_null")" "$(ratio "$best_null" "$best_recv")" "$((peak_null / 1024))"
printf "%-34s %8.2f s %10s rows/s  ratio %s (target >= 0.80)  peak RSS %d MB\n" "cdcpipe capture -> kafka-mock" \
  "$best_kafka" "$(rate "$best_kafka")" "$(ratio "$best_kafka" "$best_recv")" "$((peak_kafka / 1024))"

echo
echo "==> latency: $lat_rate rows/s for $lat_seconds s into kafka-mock"
per_tx=$((lat_rate / 50))
txs=$((lat_seconds * 50))
"$build/cdcpipe" ${CAPTURE_BENCH_GLOBAL:-} capture --db "$url" --brokers "$brokers" --tables klienci --replica-identity-full --state "$work/capture-state" --slot latency --snapshot never \
  --heartbeat 1s --latency-log "$work/latency.log" ${CAPTURE_BENCH_X:-} >"$work/latency-capture.log" 2>&1 &
cap_pid=$!
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
kill -TERM "$cap_pid"
wait "$cap_pid" || { echo "capture exited with $?"; cat "$work/latency-capture.log"; exit 1; }
drop_slot latency
n=$(wc -l <"$work/latency.log")
# Column 2 is commit -> acknowledged, column 3 commit -> decoded by cdcpipe (the PostgreSQL side).
percentiles() {
  sort -n -k"$1" "$work/latency.log" | awk -v n="$n" -v c="$1" -v what="$2" -v target="$3" '
    { v[NR] = $c }
    END {
      p50 = v[int(n * 0.50) > 0 ? int(n * 0.50) : 1]; p99 = v[int(n * 0.99) > 0 ? int(n * 0.99) : 1]
      printf "%-32s over %d transactions: p50 %6.1f ms, p99 %6.1f ms, max %6.1f ms%s\n",
        what, n, p50 / 1000, p99 / 1000, v[n] / 1000, target
    }'
}
percentiles 3 "commit -> decoded by cdcpipe" ""
percentiles 2 "commit -> Kafka ack" "  (target p99 <= 50 ms)"
