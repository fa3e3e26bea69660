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
pgbin=/usr/lib/postgresql/15/bin

if [[ ! -x "$build/cdcpipe" || ! -x "$build/kafka-mock" ]]; then "$repo/scripts/setup.sh"; fi
if [[ ! -x /usr/bin/time ]]; then
  echo "==> installing GNU time (peak RSS)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q time >/dev/null
fi
as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

work=$(mktemp -d /tmp/cdcpipe-capture-bench.XXXXXX)
chmod 0777 "$work"
mock_pid=""
cleanup() {
  [[ -n "$mock_pid" ]] && kill "$mock_pid" 2>/dev/null || true
  as_pg "$pgbin/pg_ctl" -D "$work/pg" -m immediate -w stop >/dev/null 2>&1 || true
  if [[ -n ${CAPTURE_BENCH_KEEP:-} ]]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

port=54600
while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do port=$((port + 1)); done
echo "==> private PostgreSQL 15 on 127.0.0.1:$port"
as_pg "$pgbin/initdb" -D "$work/pg" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
mkdir -p "$work/sock" && chmod 0777 "$work/sock"
cat >>"$work/pg/postgresql.conf" <<EOF2
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work/sock'
max_wal_size = 4GB
EOF2
as_pg "$pgbin/pg_ctl" -D "$work/pg" -l "$work/pg.log" -o "-p $port" -w start >/dev/null
export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=postgres
url="postgresql://postgres@127.0.0.1:$port/postgres"
q() { psql -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }

echo "==> kafka-mock"
"$build/kafka-mock" --topic dbserver1.public.klienci:6 --bootstrap-file "$work/bootstrap" >"$work/mock.log" 2>&1 &
mock_pid=$!
for _ in $(seq 1 100); do [[ -s "$work/bootstrap" ]] && break; sleep 0.1; done
brokers=$(head -1 "$work/bootstrap")

# Set-up once (schema, publication, REPLICA IDENTITY FULL, cdcpipe_offsets), then the base slot.
"$build/cdcpipe" schema --apply --db "$url" >/dev/null 2>&1
"$build/cdcpipe" capture --db "$url" --null-sink --tables klienci --slot warmup --snapshot never --heartbeat 0 \
  --end-lsn "$(q 'SELECT pg_current_wal_insert_lsn()')" >"$work/warmup.log" 2>&1 || { cat "$work/warmup.log"; exit 1; }
q "SELECT pg_drop_replication_slot('warmup')" >/dev/null
q "SELECT 1 FROM pg_create_logical_replication_slot('base', 'pgoutput')" >/dev/null

per=$((rows / 100))
echo "==> inserting $rows rows in 100 transactions"
q "DO \$\$ BEGIN FOR t IN 0..99 LOOP
     INSERT INTO klienci SELECT g, 'klient ' || g, 'klient' || g || '@example.com', 'PL', '+48 600 100 ' || g
       FROM generate_series(t * $per + 1, (t + 1) * $per) g;
     COMMIT;
   END LOOP; END \$\$"
q "CHECKPOINT" >/dev/null
end=$(q "SELECT pg_current_wal_lsn()")
echo "    WAL to decode: $(q "SELECT pg_size_pretty(pg_wal_lsn_diff('$end', restart_lsn)) FROM pg_replication_slots WHERE slot_name = 'base'"), end LSN $end"

now() { date +%s.%N; }
slot_n=0
fresh_slot() {
  slot_n=$((slot_n + 1))
  q "SELECT 1 FROM pg_copy_logical_replication_slot('base', 'copy$slot_n')" >/dev/null
  echo "copy$slot_n"
}
drop_slot() { q "SELECT pg_drop_replication_slot('$1')" >/dev/null; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { print b - a }'; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'; }

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
  /usr/bin/time -f "%M" -o "$work/rss" "$build/cdcpipe" capture --db "$url" --null-sink --tables klienci \
    --slot "$s" --snapshot never --heartbeat 0 --end-lsn "$end" >"$work/null.log" 2>&1 || { cat "$work/null.log"; exit 1; }
  t1=$(now)
  grep -q "$rows streamed events" "$work/null.log" || { echo "null sink run did not see $rows events:"; cat "$work/null.log"; exit 1; }
  drop_slot "$s"
  best_null=$(min "$best_null" "$(elapsed "$t0" "$t1")")
  peak_null=$(awk -v a="$peak_null" -v b="$(tail -1 "$work/rss")" 'BEGIN { print (a > b ? a : b) }')

  s=$(fresh_slot)
  t0=$(now)
  /usr/bin/time -f "%M" -o "$work/rss" "$build/cdcpipe" capture --db "$url" --brokers "$brokers" --tables klienci \
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
"$build/cdcpipe" ${CAPTURE_BENCH_GLOBAL:-} capture --db "$url" --brokers "$brokers" --tables klienci --slot latency --snapshot never \
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
