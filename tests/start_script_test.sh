#!/usr/bin/env bash
# The README's first command, end to end: ./start-and-test-pipeline.sh in each mode (embedded,
# --kafka, --s3), each from scratch (--reset) in a private state and output dir, then
# ./stop-pipeline.sh, which must stop every component cleanly (cdcpipe run on SIGINT, not by SIGKILL).
#
#   tests/start_script_test.sh BUILD_DIR
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$(cd "${1:?usage: start_script_test.sh BUILD_DIR}" && pwd)
tmp=$(mktemp -d /tmp/cdcpipe-start-test-XXXXXX)
chmod 755 "$tmp"
# A config of its own: free ports (the demo's 25432 and 8080 may be in use on this machine) and a
# private output. The script must take every setting from it.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {  # free_port FIRST: the first free port from FIRST (below the ephemeral range)
  local p
  for ((p = $1; p < $1 + 500; p++)); do port_free "$p" && { echo "$p"; return 0; }; done
  return 1
}
pg_port=$(free_port 26432)
http_port=$(free_port 18080)
cat >"$tmp/cdcpipe.yaml" <<EOF
source:
  url: postgresql://postgres@127.0.0.1:$pg_port/cdcpipe
  tables: [public.klienci, public.pracownicy, public.projekty]
  replica_identity_full: true
output:
  root: $tmp/output
  trigger: 1s
http:
  listen: 127.0.0.1:$http_port
views:
  file: $repo/views/seed.sql
EOF
export CDCPIPE_BUILD_DIR="$build" CDCPIPE_PIPELINE_DIR="$tmp/pipeline" CDCPIPE_CONFIG="$tmp/cdcpipe.yaml"
cleanup() {
  "$repo/stop-pipeline.sh" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

passed=0
for mode in "" --kafka --s3; do
  echo "=== ./start-and-test-pipeline.sh --reset $mode"
  "$repo/start-and-test-pipeline.sh" --reset $mode 2>&1 | tee "$tmp/start.out"
  grep -q "^End-to-end check passed" "$tmp/start.out"
  # Every stage reports its counts (regression: with --kafka the captured counters stayed 0).
  grep -Eq "^  klienci +[1-9][0-9]* / [1-9][0-9]*$" "$tmp/start.out" ||
    { echo "FAIL: the summary does not show klienci events captured and committed" >&2; exit 1; }
  if [[ -z "$mode" ]]; then
    # `cdcpipe status` with no flags finds the pipeline through the config ($CDCPIPE_CONFIG here, as
    # ./cdcpipe.yaml for the demo): every check passes while it runs ...
    (cd "$tmp" && "$build/cdcpipe" status) | tee "$tmp/status.out" ||
      { echo "FAIL: cdcpipe status exits non-zero right after the start script" >&2; exit 1; }
    grep -q "^pipeline .*http .*ok" "$tmp/status.out" || { echo "FAIL: status did not ask the running pipeline" >&2; exit 1; }
    grep -q "reachable .*ok .*PostgreSQL 15" "$tmp/status.out" || { echo "FAIL: status did not check PostgreSQL" >&2; exit 1; }
  fi
  "$repo/stop-pipeline.sh" 2>&1 | tee "$tmp/stop.out"
  if [[ -z "$mode" ]]; then
    # ... and fails, with a hint, once the pipeline is stopped.
    set +e
    (cd "$tmp" && "$build/cdcpipe" status) >"$tmp/status.out" 2>&1
    rc=$?
    set -e
    cat "$tmp/status.out"
    if [[ $rc -ne 7 ]] || ! grep -q "hint:" "$tmp/status.out"; then
      echo "FAIL: cdcpipe status after the stop script: exit $rc (expected 7, with hints)" >&2
      exit 1
    fi
  fi
  if grep -q "did not stop" "$tmp/stop.out"; then
    echo "FAIL: a component ignored its stop signal and was killed" >&2
    exit 1
  fi
  grep -q "cdcpipe run stopped" "$tmp/stop.out"
  # The raw sink (run embedded, or the stream stage with --kafka) logs its clean stop.
  grep -Eq "(run|stream): stopped: " "$tmp/pipeline/run.log" || { echo "FAIL: cdcpipe run did not log a clean stop" >&2; exit 1; }
  passed=$((passed + 1))
done
echo "start_script_test: $passed modes passed"
