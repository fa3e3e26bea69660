#!/usr/bin/env bash
# Runs the pipeline on this machine: set-up if needed, a private PostgreSQL 15 with logical
# replication under .pipeline/, the schema, and `cdcpipe import` of csv_files/. Prints per-table row
# counts and how to connect with psql. Safe to re-run: a running cluster is reused and the import is
# an upsert (re-importing the same files changes nothing).
#
#   ./start-and-test-pipeline.sh           start (or reuse) and import
#   ./start-and-test-pipeline.sh --reset   stop, remove .pipeline/, then start fresh and import
#   ./stop-pipeline.sh                     stop the cluster (data stays in .pipeline/)
#
# Environment: CDCPIPE_BUILD_DIR (default build/), CSV_DIR (default csv_files/).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$repo"

reset=0
for arg in "$@"; do
  case "$arg" in
    --reset) reset=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "start-and-test-pipeline.sh: unknown argument '$arg' (use --reset)" >&2; exit 2 ;;
  esac
done

build=${CDCPIPE_BUILD_DIR:-$repo/build}
csv_dir=${CSV_DIR:-$repo/csv_files}
state="$repo/.pipeline"
pgbin=/usr/lib/postgresql/15/bin
db=cdcpipe

step() { printf '==> %s\n' "$*"; }

if ((reset)); then
  "$repo/stop-pipeline.sh" || true
  step "removing $state"
  rm -rf "$state"
fi

# ---- set-up ----------------------------------------------------------------------------------------
if [[ ! -x "$build/cdcpipe" || ! -x "$pgbin/initdb" ]]; then
  step "set-up (scripts/setup.sh)"
  "$repo/scripts/setup.sh"
fi
cdcpipe="$build/cdcpipe"

# Run PostgreSQL's tools as the postgres user when we are root (initdb refuses root).
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pick_port() {
  local p
  for ((p = 54320; p < 54420; p++)); do
    if port_free "$p"; then echo "$p"; return 0; fi
  done
  echo "start-and-test-pipeline.sh: no free port in 54320-54419" >&2
  return 1
}

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
  as_pg "$pgbin/initdb" -D "$pgdata" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$state/initdb.log" 2>&1 || {
    echo "start-and-test-pipeline.sh: initdb failed; see $state/initdb.log:" >&2
    tail -20 "$state/initdb.log" >&2
    exit 1
  }
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
  port=$(cat "$state/port")
  step "PostgreSQL already running on 127.0.0.1:$port (reusing it)"
fi
if ((!running)); then
  port=""
  if [[ -f "$state/port" ]] && port_free "$(cat "$state/port")"; then port=$(cat "$state/port"); fi
  [[ -n "$port" ]] || port=$(pick_port)
  echo "$port" >"$state/port"
  step "starting PostgreSQL 15 on 127.0.0.1:$port (log: $pglog)"
  as_pg touch "$pglog"
  if ! as_pg "$pgbin/pg_ctl" -D "$pgdata" -l "$pglog" -o "-p $port" -w -t 60 start >/dev/null; then
    echo "start-and-test-pipeline.sh: PostgreSQL did not start; the end of $pglog:" >&2
    tail -20 "$pglog" >&2
    exit 1
  fi
fi

export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
if [[ "$(psql -X -A -t -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" != 1 ]]; then
  psql -X -q -d postgres -c "CREATE DATABASE $db" >/dev/null
fi
export PGDATABASE=$db
url="postgresql://postgres@127.0.0.1:$port/$db"

# ---- schema and import -----------------------------------------------------------------------------
step "schema: $cdcpipe schema --apply"
"$cdcpipe" schema --apply --db "$url"
step "import: $cdcpipe import --dir $csv_dir"
"$cdcpipe" import --db "$url" --dir "$csv_dir"

# ---- report ----------------------------------------------------------------------------------------
step "row counts"
for t in klienci pracownicy projekty; do
  printf '  %-12s %s\n' "$t" "$(psql -X -A -t -c "SELECT count(*) FROM $t")"
done
cat <<EOF

PostgreSQL is running (wal_level=logical) with its data in .pipeline/pgdata.
Connect with psql:
  psql "$url"
  # or: PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres psql $db
Stop it with ./stop-pipeline.sh (start again with ./start-and-test-pipeline.sh; --reset starts from scratch).
EOF
