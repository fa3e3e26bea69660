#!/usr/bin/env bash
# Runs every test: set-up if needed (packages, npm peers, Release build), then
#   1. the unit tests under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/),
#   2. every test of the Release build (unit + integration against a private PostgreSQL, librdkafka's
#      mock Kafka cluster, s3rver, DuckDB), with ctest.
#
#   ./run-tests.sh              everything
#   ./run-tests.sh -R capture   only ctest tests matching a regex (both builds)
#   CDC_SKIP_ASAN=1 ./run-tests.sh    skip the sanitizer build (local iteration only; CI never sets it)
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$repo"

"$repo/scripts/setup.sh"

# Two tests at a time: most of an integration test is waiting (PostgreSQL, Kafka, s3rver, Chromium start,
# conditions polled), and every test has its own ports and directories.
ctest_args=(--output-on-failure --timeout 1500 -j2)
ctest_args+=("$@")

if [[ "${CDC_SKIP_ASAN:-0}" != 1 ]]; then
  echo "==> unit tests under ASan+UBSan (build-asan/)"
  cmake -S "$repo" -B "$repo/build-asan" -DCMAKE_BUILD_TYPE=Debug -DCDC_SANITIZE=ON -DCDC_UNIT_ONLY=ON \
    -DCMAKE_CXX_FLAGS="-O1" >/dev/null
  cmake --build "$repo/build-asan" -j2
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir "$repo/build-asan" -L unit "${ctest_args[@]}"
fi

echo "==> all tests (build/)"
ctest --test-dir "$repo/build" "${ctest_args[@]}"
