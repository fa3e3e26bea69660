#!/usr/bin/env bash
# Stops the private PostgreSQL started by ./start-and-test-pipeline.sh (its data stays in
# .pipeline/pgdata; ./start-and-test-pipeline.sh --reset removes it).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pgdata="$repo/.pipeline/pgdata"
pgbin=/usr/lib/postgresql/15/bin

if [[ ! -f "$pgdata/PG_VERSION" ]]; then
  echo "stop-pipeline.sh: no pipeline cluster in $pgdata (nothing to stop)"
  exit 0
fi
as_pg() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if as_pg "$pgbin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
  as_pg "$pgbin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null
  echo "stop-pipeline.sh: PostgreSQL stopped (data kept in .pipeline/pgdata)"
else
  echo "stop-pipeline.sh: PostgreSQL is not running"
fi
