#!/usr/bin/env bash
# Runs the whole pipeline on this machine and checks it end to end.
#
#   1. set-up if needed (scripts/setup.sh: packages, npm test peers, build/cdcpipe)
#   2. a private PostgreSQL 15 with logical replication under .pipeline/ (reused when running), on the
#      port that source.url of the config names
#   3. the schema and `cdcpipe import` of csv_files/
#   4. `cdcpipe run` in the background (log .pipeline/run.log, pid .pipeline/run.pid), ready when its
#      /healthz answers and its capture streams; output in output.root (or s3://processed-data with --s3)
#   5. unless --skip-test: inserts, updates and deletes with psql; waits until they are in
#      raw-kafka-data and in both analytics, checks the analytics equal SQL on the source, prints a summary
#
#   ./start-and-test-pipeline.sh [--reset] [--debug] [--skip-test] [--kafka] [--s3]
#     --reset      stop everything, remove .pipeline/ (cluster and slot) and the output first
#     --debug      print each step's commands, and whole component logs on failure
#     --skip-test  start the pipeline but do not run the end-to-end check
#     --kafka      capture -> a local mock Kafka cluster (build/kafka-mock) -> stream, instead of embedded
#     --s3         write to a local s3rver (S3 protocol) instead of local files
#   ./stop-pipeline.sh stops it all.
#
# The pipeline's settings come from the config file: $CDCPIPE_CONFIG, else ./cdcpipe.yaml (the demo's,
# docs/CONFIG.md): the PostgreSQL port and database (source.url, which must point at 127.0.0.1), the
# dashboard address (http.listen) and the output (output.root). --kafka and --s3 add their brokers and
# bucket on top; the resolved config the pipeline runs with is written to .pipeline/cdcpipe.yaml, so
# `cdcpipe status` (embedded mode) or `cdcpipe status --config .pipeline/cdcpipe.yaml` checks it.
# Environment: CDCPIPE_CONFIG, CDCPIPE_BUILD_DIR (default build/), CSV_DIR (default csv_files/),
# CDCPIPE_PIPELINE_DIR (default .pipeline/), E2E_TIMEOUT seconds to wait for the check (default 180).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$repo"

reset=0 debug=0 skip_test=0 kafka=0 s3=0
for arg in "$@"; do
  case "$arg" in
    --reset) reset=1 ;;
    --debug) debug=1 ;;
    --skip-test) skip_test=1 ;;
    --kafka) kafka=1 ;;
    --s3) s3=1 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "start-and-test-pipeline.sh: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

build=${CDCPIPE_BUILD_DIR:-$repo/build}
csv_dir=${CSV_DIR:-$repo/csv_files}
state=${CDCPIPE_PIPELINE_DIR:-$repo/.pipeline}
config=${CDCPIPE_CONFIG:-$repo/cdcpipe.yaml}
pgbin=/usr/lib/postgresql/15/bin
e2e_timeout=${E2E_TIMEOUT:-180}
current_step="start"

step() {
  current_step="$*"
  printf '==> %s\n' "$*"
}
# Shows a command (when --debug is on) and runs it. Background components are started with `show`
# and a plain `nohup ... &`, so that $! is the component itself (a function would put a subshell
# that ignores SIGINT in between).
show() { if ((debug)); then printf '    $ %s\n' "$*" >&2; fi; }
run() {
  show "$@"
  "$@"
}
# fail COMPONENT LOG MESSAGE: names the step, the component and its log, shows the log's end.
fail() {
  local component=$1 log=$2
  shift 2
  {
    echo
    echo "FAILED at step '$current_step' (component: $component): $*"
    if [[ -n "$log" && -f "$log" ]]; then
      echo "--- log: $log ---"
      if ((debug)); then cat "$log"; else tail -n 30 "$log"; echo "(whole log: $log; --debug prints it all)"; fi
    fi
  } >&2
  exit 1
}


# ---- set-up ----------------------------------------------------------------------------------------
if [[ ! -x "$build/cdcpipe" || ! -x "$pgbin/initdb" || ! -d "$repo/tests/node/node_modules" ]]; then
  step "set-up (scripts/setup.sh)"
  run "$repo/scripts/setup.sh"
fi
cdcpipe="$build/cdcpipe"

# ---- the config ------------------------------------------------------------------------------------
[[ -f "$config" ]] || fail config "" "no config file $config (set CDCPIPE_CONFIG or restore cdcpipe.yaml)"
config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config")
resolved=$("$cdcpipe" config --config "$config") || fail config "" "$config is not a valid cdcpipe config (the error above says where)"
cfg_get() { sed -n -E "s/^  $1: \"?([^\"]*)\"?  # .*/\1/p" <<<"$resolved" | head -n 1; }
url=$(cfg_get url)
if [[ ! "$url" =~ ^postgresql://([A-Za-z0-9_]+)@(127\.0\.0\.1|localhost):([0-9]+)/([A-Za-z0-9_]+)$ ]]; then
  fail config "" "source.url in $config is '$url': this script runs a private PostgreSQL, so it must be postgresql://USER@127.0.0.1:PORT/DATABASE"
fi
pguser=${BASH_REMATCH[1]} port=${BASH_REMATCH[3]} db=${BASH_REMATCH[4]}
listen=$(cfg_get listen)
[[ "$listen" =~ ^127\.0\.0\.1:([0-9]+)$ ]] || fail config "" "http.listen in $config is '$listen': the end-to-end check needs a loopback 127.0.0.1:PORT"
http_port=${BASH_REMATCH[1]}
local_output=$(cfg_get root)
local_output=${local_output#file://}
[[ "$local_output" == /* ]] || local_output="$(dirname "$config")/${local_output#./}"

if ((reset)); then
  step "reset: stop everything, remove $state (cluster, slot) and $local_output"
  CDCPIPE_PIPELINE_DIR="$state" "$repo/stop-pipeline.sh" || true
  rm -rf "$state" "$local_output"
fi
# Run PostgreSQL's tools as the postgres user when we are root (initdb refuses root).
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# port_free sees only listening sockets. The demo's PostgreSQL port (25432) sits below the kernel's
# ephemeral range (32768-60999 by default), so an outgoing connection cannot hold it unseen.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# ---- the private cluster ---------------------------------------------------------------------------
pgdata="$state/pgdata"
sockdir="$state/socket"
pglog="$state/postgres.log"
mkdir -p "$state"
if [[ $(id -u) -eq 0 ]]; then
  # The postgres user must reach .pipeline/ (the repo may sit under a root-owned 0700 home).
  chmod o+x "$repo" 2>/dev/null || true
  chown postgres: "$state"
fi

if [[ ! -f "$pgdata/PG_VERSION" ]]; then
  step "initdb $pgdata"
  as_pg "$pgbin/initdb" -D "$pgdata" -U "$pguser" --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$state/initdb.log" 2>&1 || fail postgres "$state/initdb.log" "initdb failed"
  as_pg mkdir -p "$sockdir"
  cat >>"$pgdata/postgresql.conf" <<EOF

# cdcpipe pipeline settings
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sockdir'
fsync = on
EOF
fi

running=0
if [[ -f "$state/port" ]] && as_pg "$pgbin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
  running=1
  if [[ "$(cat "$state/port")" != "$port" ]]; then
    fail postgres "" "the pipeline's PostgreSQL runs on port $(cat "$state/port"), but source.url in $config names $port: stop it with ./stop-pipeline.sh first"
  fi
  step "PostgreSQL already running on 127.0.0.1:$port (reusing it)"
fi
if ((!running)); then
  # The port is the config's: another one would leave `cdcpipe status` and every other subcommand
  # looking in the wrong place. A taken port is an error that says which setting to change.
  port_free "$port" || fail postgres "" "port $port (source.url in $config) is in use by another program: stop it or choose another port in source.url"
  as_pg touch "$pglog"
  echo "$port" >"$state/port"
  step "starting PostgreSQL 15 on 127.0.0.1:$port (log: $pglog)"
  as_pg "$pgbin/pg_ctl" -D "$pgdata" -l "$pglog" -o "-p $port" -w -t 60 start >/dev/null || fail postgres "$pglog" "PostgreSQL did not start"
fi

export PGHOST=127.0.0.1 PGPORT=$port PGUSER=$pguser
if [[ "$(psql -X -A -t -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]]; then
  psql -X -q -d postgres -c "CREATE DATABASE $db" >/dev/null
fi
export PGDATABASE=$db

# ---- schema and import -----------------------------------------------------------------------------
step "schema: cdcpipe schema --apply"
run "$cdcpipe" schema --apply --config "$config" || fail postgres "" "cdcpipe schema --apply failed"
step "import: cdcpipe import --dir $csv_dir"
run "$cdcpipe" import --config "$config" --dir "$csv_dir" || fail import "" "cdcpipe import failed (the tables are unchanged)"


# ---- helpers for the background components ---------------------------------------------------------
alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
free_port_from() {
  local p
  for ((p = $1; p < $1 + 200; p++)); do
    if port_free "$p"; then echo "$p"; return 0; fi
  done
  return 1
}
# wait_until SECONDS PIDFILE COMPONENT LOG CONDITION...: polls CONDITION every 0.2 s; fails early
# when the component's process died.
wait_until() {
  local secs=$1 pidfile=$2 component=$3 log=$4
  shift 4
  local deadline=$((SECONDS + secs))
  while ! "$@" >/dev/null 2>&1; do
    if [[ -n "$pidfile" ]] && ! alive "$pidfile"; then fail "$component" "$log" "$component exited"; fi
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}
stop_bg() {  # stop_bg PIDFILE SIGNAL
  if alive "$1"; then
    kill "-$2" "$(cat "$1")" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do alive "$1" || break; sleep 0.1; done
    alive "$1" && kill -KILL "$(cat "$1")" 2>/dev/null || true
  fi
  rm -f "$1"
}

mode=embedded
((kafka)) && mode=kafka
((s3)) && mode="$mode+s3"
if [[ -f "$state/mode" && "$(cat "$state/mode")" != "$mode" ]]; then
  fail pipeline "" "the last run used mode '$(cat "$state/mode")', this one '$mode': start over with --reset"
fi

# A running `cdcpipe run` from an earlier invocation is stopped cleanly (it commits and confirms) and
# started again below: a restart resumes from the slot and the checkpoint, exactly once.
if alive "$state/run.pid"; then
  step "stopping the running cdcpipe run (pid $(cat "$state/run.pid"))"
  stop_bg "$state/run.pid" INT
fi
# Its walsender lets go of the slot a moment after it exits.
slot_free() { [[ "$(psql -X -A -t -c "SELECT count(*) FROM pg_replication_slots WHERE active")" == 0 ]]; }
wait_until 60 "" postgres "$pglog" slot_free || fail postgres "$pglog" "a replication slot is still in use by another process"

# ---- Kafka (--kafka) -------------------------------------------------------------------------------
brokers=""
if ((kafka)); then
  if alive "$state/kafka.pid"; then
    step "Kafka: reusing the mock cluster (pid $(cat "$state/kafka.pid"))"
  else
    if [[ -f "$state/kafka.bootstrap" ]]; then
      fail kafka "$state/kafka.log" "the mock Kafka cluster of the last run is gone (it keeps its data in memory): start over with --reset"
    fi
    step "Kafka: starting a local mock cluster (build/kafka-mock, log $state/kafka.log)"
    show nohup "$build/kafka-mock" --bootstrap-file "$state/kafka.bootstrap"
    nohup "$build/kafka-mock" --bootstrap-file "$state/kafka.bootstrap" >"$state/kafka.log" 2>&1 &
    echo $! >"$state/kafka.pid"
    wait_until 30 "$state/kafka.pid" kafka "$state/kafka.log" test -s "$state/kafka.bootstrap" ||
      fail kafka "$state/kafka.log" "kafka-mock did not report its bootstrap servers in 30 s"
  fi
  brokers=$(cat "$state/kafka.bootstrap")
fi

# ---- storage ---------------------------------------------------------------------------------------
output="$local_output"
if ((s3)); then
  export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1
  if alive "$state/s3rver.pid"; then
    step "S3: reusing s3rver (pid $(cat "$state/s3rver.pid"))"
  else
    s3port=$(free_port_from 9000)
    echo "$s3port" >"$state/s3.port"
    mkdir -p "$state/s3"
    step "S3: starting s3rver on 127.0.0.1:$s3port (data $state/s3, log $state/s3rver.log)"
    # --openssl-legacy-provider: s3rver 3.7.1 encrypts list continuation tokens with DES.
    s3args=(--openssl-legacy-provider "$repo/tests/node/node_modules/s3rver/bin/s3rver.js" -d "$state/s3"
      -a 127.0.0.1 -p "$s3port" --configure-bucket processed-data)
    show nohup node "${s3args[@]}"
    nohup node "${s3args[@]}" >"$state/s3rver.log" 2>&1 &
    echo $! >"$state/s3rver.pid"
    wait_until 30 "$state/s3rver.pid" s3rver "$state/s3rver.log" grep -q listening "$state/s3rver.log" ||
      fail s3rver "$state/s3rver.log" "s3rver did not start in 30 s"
  fi
  export CDCPIPE_S3_ENDPOINT="http://127.0.0.1:$(cat "$state/s3.port")"
  output="s3://processed-data"
fi
echo "$mode" >"$state/mode"

# ---- cdcpipe run -----------------------------------------------------------------------------------
port_free "$http_port" || fail "cdcpipe run" "" "port $http_port (http.listen in $config) is in use by another program: stop it or choose another address in http.listen"
echo "$http_port" >"$state/http.port"
dashboard="http://127.0.0.1:$http_port/"
# The config the pipeline runs with: the file's, plus this mode's brokers and bucket.
mode_flags=()
((kafka)) && mode_flags+=(--brokers "$brokers")
((s3)) && mode_flags+=(--output "$output")
"$cdcpipe" config --config "$config" "${mode_flags[@]}" >"$state/cdcpipe.yaml" ||
  fail config "" "cannot resolve the pipeline's config"
args=(run --config "$state/cdcpipe.yaml")
log_start=$(stat -c %s "$state/run.log" 2>/dev/null || echo 0)
step "cdcpipe run ($mode) -> $output (log $state/run.log)"
show nohup "$cdcpipe" "${args[@]}"
nohup "$cdcpipe" "${args[@]}" >>"$state/run.log" 2>&1 &
echo $! >"$state/run.pid"
wait_until 60 "$state/run.pid" "cdcpipe run" "$state/run.log" curl -fsS "${dashboard}healthz" ||
  fail "cdcpipe run" "$state/run.log" "its /healthz did not answer within 60 s"
# /healthz answers before the capture streams. Changes made before its replication slot exists reach
# the output through the initial snapshot, as reads (op "r"), not as the inserts, updates and deletes
# the end-to-end check counts: wait until this run's capture streams.
capture_streaming() { tail -c "+$((log_start + 1))" "$state/run.log" | grep -q 'capture: streaming from slot'; }
wait_until 120 "$state/run.pid" "cdcpipe run" "$state/run.log" capture_streaming ||
  fail capture "$state/run.log" "the capture did not start streaming within 120 s"
echo "    ready: dashboard $dashboard"

api_status() { curl -fsS "${dashboard}api/status"; }
if [[ "$mode" == embedded && "$config" == "$repo/cdcpipe.yaml" ]]; then
  status_cmd="$cdcpipe status"
else
  status_cmd="$cdcpipe status --config $state/cdcpipe.yaml"
fi

if ((skip_test)); then
  echo
  echo "Pipeline running ($mode). Dashboard: $dashboard  Output: $output"
  echo "Connect with psql: psql \"$url\"   Check it: $status_cmd   Stop with ./stop-pipeline.sh"
  exit 0
fi

# ---- end-to-end check ------------------------------------------------------------------------------
marker="E2E-$(date +%s)-$$"
step "e2e: inserts, updates and deletes with psql (marker $marker)"
e2e_sql="$state/e2e.sql"
cat >"$e2e_sql" <<SQL
\set ON_ERROR_STOP on
DELETE FROM klienci WHERE id >= 900000;
DELETE FROM pracownicy WHERE id >= 900000;
BEGIN;
INSERT INTO klienci (id, nazwa, email, kraj, telefon) VALUES
  (900001, '$marker', 'e2e@example.pl', 'Islandia', '+354 555 0101'),
  (900002, 'Żółć i Spółka "E2E"', NULL, NULL, NULL),
  (900003, 'Fjörður ehf.', 'kontakt@fjordur.is', 'Islandia', NULL);
INSERT INTO pracownicy (id, imie, nazwisko, email, wiek, stanowisko) VALUES
  (900001, 'Łucja', 'Testowa', 'lucja@e2e.pl', 33, 'Tester E2E'),
  (900002, 'Jan', 'Próbny', NULL, NULL, 'Tester E2E'),
  (900003, 'Ewa', 'Kowalska', NULL, 61, NULL);
COMMIT;
UPDATE klienci SET kraj = 'Norwegia' WHERE id = 900001;
UPDATE klienci SET kraj = 'Polska' WHERE id = 900002;
UPDATE pracownicy SET wiek = wiek + 1, stanowisko = 'Tester E2E' WHERE id = 900003;
UPDATE pracownicy SET id = 900004 WHERE id = 900002;
UPDATE klienci SET kraj = 'Niemcy' WHERE id IN (SELECT id FROM klienci WHERE id < 900000 ORDER BY id LIMIT 3);
DELETE FROM klienci WHERE id = 900001;
DELETE FROM pracownicy WHERE id IN (SELECT id FROM pracownicy WHERE id < 900000 ORDER BY id LIMIT 2);
SQL
run psql -X -q -f "$e2e_sql" || fail postgres "$pglog" "the e2e workload failed"

raw_files() {  # the data files committed in raw-kafka-data/_spark_metadata (local output)
  local meta="$output/raw-kafka-data/_spark_metadata"
  [[ -d "$meta" ]] || return 0
  grep -ho '"path":"[^"]*","size":[0-9]*,"isDir":false,"modificationTime":[0-9]*,"blockReplication":[0-9]*,"blockSize":[0-9]*,"action":"add"' \
    "$meta"/* 2>/dev/null | sed -E 's/^"path":"file:\/\/([^"]*)".*/\1/' | sort -u | while read -r p; do printf '%b\n' "${p//%/\\x}"; done
}
duckdb() { NODE_PATH="$repo/tests/node/node_modules" node "$repo/tests/node/duckdb_query.mjs" "$1"; }
marker_events() {  # events in committed raw files whose JSON mentions the marker
  local list
  list=$(raw_files | sed "s/'/''/g; s/.*/'&'/" | paste -sd, -)
  [[ -n "$list" ]] || { echo 0; return; }
  duckdb "SELECT count(*) FROM read_parquet([$list]) WHERE value LIKE '%$marker%'" | tr -d '[]'
}
written_total() { api_status | node -e 'let s=JSON.parse(require("fs").readFileSync(0,"utf8"));let n=0;for(const t of Object.values(s.tables))n+=t.events_written_total;console.log(n)'; }

if ((s3)); then
  # DuckDB cannot read s3:// here; check through the pipeline's own counters and `cdcpipe status`.
  before=$(written_total)
  step "e2e: waiting for the changes in raw-kafka-data (events written > $before)"
  raw_grew() { [[ $(written_total) -gt $before ]]; }
  wait_until "$e2e_timeout" "$state/run.pid" "cdcpipe run" "$state/run.log" raw_grew ||
    fail stream "$state/run.log" "no new raw events were committed within ${e2e_timeout}s"
else
  # Exactly three events carry the marker: its insert, its update (before and after) and its delete.
  step "e2e: waiting for the changes in raw-kafka-data (DuckDB over the committed files)"
  marker_done() { [[ "$(marker_events)" == 3 ]]; }
  if ! wait_until "$e2e_timeout" "$state/run.pid" "cdcpipe run" "$state/run.log" marker_done; then
    fail stream "$state/run.log" "expected exactly 3 committed raw events with marker $marker, found $(marker_events)"
  fi
  echo "    the marker's insert, update and delete are committed exactly once"
fi

views_file=$("$cdcpipe" config --config "$state/cdcpipe.yaml" | awk '/^views:/{v=1;next} v&&/^  file:/{f=$2; gsub(/^"|"$/, "", f); print f; exit}')
step "e2e: waiting until every view of ${views_file:-the views file} equals PostgreSQL running it"
pg_json="$state/e2e.pg.json" api_json="$state/e2e.api.json"
# PostgreSQL evaluates the views file itself, in a transaction that is rolled back: nothing is created.
pg_views() {
  {
    echo "BEGIN;"
    cat "$views_file"
    echo ";"
    echo "SELECT json_object_agg(v, coalesce(r, '[]'::json)) FROM (VALUES"
    local first=1 name
    while IFS= read -r name; do
      ((first)) || echo ","
      first=0
      local q=${name//\"/\"\"}
      printf "('%s', (SELECT json_agg(t) FROM \"%s\" t))" "${name//\'/\'\'}" "$q"
    done < <(grep -ioE 'create[[:space:]]+view[[:space:]]+("[^"]+"|[a-z_][a-z0-9_]*)' "$views_file" |
             sed -E 's/^[Cc][Rr][Ee][Aa][Tt][Ee][[:space:]]+[Vv][Ii][Ee][Ww][[:space:]]+//; s/^"(.*)"$/\1/')
    echo ") AS x(v, r);"
    echo "ROLLBACK;"
  } | psql -X -q -A -t -v ON_ERROR_STOP=1 -f - 2>&1 | grep -v '^$' >"$pg_json"
}
views_match() {
  pg_views && api_status >"$api_json" &&
    if ((s3)); then
      NODE_PATH="$repo/tests/node/node_modules" node "$repo/tests/node/e2e_check.mjs" "$pg_json" "$api_json"
    else
      NODE_PATH="$repo/tests/node/node_modules" node "$repo/tests/node/e2e_check.mjs" "$pg_json" "$api_json" "$output"
    fi
}
[[ -n "$views_file" && -f "$views_file" ]] || fail views "" "no views file (views.file in $config)"
if ! wait_until "$e2e_timeout" "$state/run.pid" "cdcpipe run" "$state/run.log" views_match; then
  views_match || true
  fail views "$state/run.log" "the views did not equal PostgreSQL within ${e2e_timeout}s (differences above)"
fi
echo "    every view equals PostgreSQL (live views$( ((s3)) || echo ' and the Parquet results'))"

# ---- summary ---------------------------------------------------------------------------------------
api_status >"$api_json"
echo
node -e '
const s = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
console.log("Stages:");
for (const st of s.stages) console.log(`  ${st.name.padEnd(10)} ${st.state.padEnd(12)} ${st.detail || ""}`);
console.log("Events per table (captured / committed to Parquet):");
for (const [t, c] of Object.entries(s.tables)) console.log(`  ${t.padEnd(12)} ${c.events_captured_total} / ${c.events_written_total}`);
console.log(`Last committed batch ${s.last_batch_id}, source LSN confirmed ${s.last_committed_lsn}`);
for (const v of s.views) {
  console.log(`${v.name} (${v.row_count} rows, source LSN ${v.source_lsn || "-"}${v.row_count > 10 ? ", first 10" : ""}):`);
  console.log("  " + v.columns.map((c) => c.name.padEnd(24)).join(" "));
  for (const r of v.rows.slice(0, 10)) console.log("  " + r.map((x) => String(x ?? "NULL").padEnd(24)).join(" "));
}
' "$api_json"
cat <<EOF

End-to-end check passed ($mode).
  Files:      $output/raw-kafka-data and one folder per view
  Dashboard:  $dashboard   (metrics: ${dashboard}metrics)
  psql:       psql "$url"
  Status:     $status_cmd
  Config:     $config (resolved: $state/cdcpipe.yaml)
  Logs:       $state/run.log, $pglog
The pipeline keeps running; stop it with ./stop-pipeline.sh.
EOF
