#!/usr/bin/env bash
# The fault harness (tests/fault_harness_test.cc, docs/RELIABILITY.md) on a long schedule: each path
# (embedded `run` to S3; `capture` + `stream` through Kafka) runs SECONDS of paced workload under a seeded
# random mixture of faults, then the committed output is replayed against the source's audit.
# Prints, per path: changes, events, faults survived per kind, lost (must be 0), duplicated, the time to
# recover after each fault kind (min / median / max seconds) and the RSS at the start and the end.
# Usage: bench/fault_bench.sh [BUILD_DIR] [SECONDS] [SEED]   (defaults: build, 300 per path = 10 minutes, random)
set -euo pipefail
BUILD=${1:-build}
SECONDS_PER_PATH=${2:-300}
SEED=${3:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
REPORT=$(mktemp)
trap 'rm -f "$REPORT"' EXIT
echo "==> fault harness: $SECONDS_PER_PATH s per path, seed $SEED"
rc=0
HARNESS=$BUILD/tests/fault_harness_test  # where CMake puts it (a build dir of tests/ alone holds it directly)
[[ -x $HARNESS ]] || HARNESS=$BUILD/fault_harness_test
CDCPIPE_FAULT_SECONDS=$SECONDS_PER_PATH CDCPIPE_FAULT_SEED=$SEED CDCPIPE_FAULT_REPORT=$REPORT \
  "$HARNESS" --gtest_brief=1 || rc=$?
node --input-type=module -e '
import fs from "node:fs";
for (const line of fs.readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean)) {
  const r = JSON.parse(line);
  const faults = Object.values(r.survived).reduce((a, b) => a + b, 0);
  console.log(`\n${r.path} (seed ${r.seed}, ${r.seconds} s)`);
  console.log(`  changes ${r.changes}, events ${r.events}, faults survived ${faults}, lost ${r.lost}, duplicated ${r.duplicated}, unexpected ${r.unexpected}, out of order ${r.order_errors}`);
  console.log(`  RSS (kB) start -> end: ${r.rss_kb}`);
  for (const [kind, times] of Object.entries(r.recover_seconds)) {
    const s = [...times].sort((a, b) => a - b);
    const f = (x) => x.toFixed(1);
    console.log(`  ${kind.padEnd(28)} x${String(s.length).padStart(3)}  recover min ${f(s[0])} s, median ${f(s[Math.floor(s.length / 2)])} s, max ${f(s[s.length - 1])} s`);
  }
}' "$REPORT"
exit $rc
