#!/usr/bin/env bash
# Stops everything ./start-and-test-pipeline.sh started: `cdcpipe run` (Ctrl-C semantics: it commits
# what is complete and confirms the LSN), the mock Kafka cluster, s3rver, and the private PostgreSQL.
# Data stays in .pipeline/ and data/processed-data; ./start-and-test-pipeline.sh --reset removes it.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
state=${CDCPIPE_PIPELINE_DIR:-$repo/.pipeline}
pgdata="$state/pgdata"
pgbin=/usr/lib/postgresql/15/bin

# stop_pid NAME PIDFILE SIGNAL: signal the process and wait up to 30 s for it to exit.
stop_pid() {
  local name=$1 pidfile=$2 sig=$3 pid i
  [[ -f "$pidfile" ]] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "-$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "stop-pipeline.sh: $name (pid $pid) did not stop in 30 s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    echo "stop-pipeline.sh: $name stopped"
  fi
  rm -f "$pidfile"
}

stop_pid "cdcpipe run" "$state/run.pid" INT
stop_pid "kafka-mock" "$state/kafka.pid" TERM
stop_pid "s3rver" "$state/s3rver.pid" TERM

if [[ ! -f "$pgdata/PG_VERSION" ]]; then
  echo "stop-pipeline.sh: no pipeline cluster in $pgdata"
  exit 0
fi
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if as_pg "$pgbin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
  as_pg "$pgbin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null
  echo "stop-pipeline.sh: PostgreSQL stopped (data kept in $pgdata)"
else
  echo "stop-pipeline.sh: PostgreSQL is not running"
fi
