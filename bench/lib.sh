# Shared set-up of the replication benchmarks (capture_bench.sh, run_bench.sh); source it, do not run it.
#   bench_private_pg WORK PORT   initdb + start a private PostgreSQL 15 (wal_level=logical) in WORK/pg on
#                                the first free port from PORT; exports PG* and sets $url; defines q
#   bench_stop_pg WORK           immediate stop (for the caller's EXIT trap)
#   bench_backlog ROWS           ROWS klienci inserts in 100 transactions after a base pgoutput slot
#                                'base'; sets $end (the LSN to drain to)
#   fresh_slot / drop_slot NAME  copies of 'base' (pg_copy_logical_replication_slot), so every consumer
#                                decodes the same WAL
#   now / elapsed A B / min A B  wall-clock helpers
pgbin=/usr/lib/postgresql/15/bin

bench_need_gnu_time() {
  if [[ ! -x /usr/bin/time ]]; then
    echo "==> installing GNU time (peak RSS)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q time >/dev/null
  fi
}

as_pg() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }

bench_private_pg() {
  local work=$1 port=$2
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
}

bench_stop_pg() { as_pg "$pgbin/pg_ctl" -D "$1/pg" -m immediate -w stop >/dev/null 2>&1 || true; }

q() { psql -X -q -A -t -v ON_ERROR_STOP=1 -c "$1"; }

bench_backlog() {
  local rows=$1
  q "SELECT 1 FROM pg_create_logical_replication_slot('base', 'pgoutput')" >/dev/null
  local per=$((rows / 100))
  echo "==> inserting $rows rows in 100 transactions"
  q "DO \$\$ BEGIN FOR t IN 0..99 LOOP
       INSERT INTO klienci SELECT g, 'klient ' || g, 'klient' || g || '@example.com', 'PL', '+48 600 100 ' || g
         FROM generate_series(t * $per + 1, (t + 1) * $per) g;
       COMMIT;
     END LOOP; END \$\$"
  q "CHECKPOINT" >/dev/null
  end=$(q "SELECT pg_current_wal_lsn()")
  echo "    WAL to decode: $(q "SELECT pg_size_pretty(pg_wal_lsn_diff('$end', restart_lsn)) FROM pg_replication_slots WHERE slot_name = 'base'"), end LSN $end"
}

slot_n=0
fresh_slot() {
  slot_n=$((slot_n + 1))
  q "SELECT 1 FROM pg_copy_logical_replication_slot('base', 'copy$slot_n')" >/dev/null
  echo "copy$slot_n"
}
drop_slot() { q "SELECT pg_drop_replication_slot('$1')" >/dev/null; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { print b - a }'; }
min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a < b ? a : b) }'; }
