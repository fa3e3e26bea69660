#!/usr/bin/env bash
# Regenerates the sample data in csv_files/ (deterministic: the same bytes every time), or big files
# for benchmarks. Arguments go to build/gen-csv (tools/gen_csv.cc):
#
#   scripts/gen-csv.sh                                           csv_files/{klienci,pracownicy,projekty}.csv
#   scripts/gen-csv.sh --table pracownicy --rows 1000000 --out /tmp/big
#
# CDCPIPE_BUILD_DIR selects another build directory (default build/).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CDCPIPE_BUILD_DIR:-$repo/build}
if [[ ! -x "$build/gen-csv" ]]; then
  if [[ -f "$build/CMakeCache.txt" ]]; then
    cmake --build "$build" -j2 --target gen-csv >/dev/null
  else
    "$repo/scripts/setup.sh"
  fi
fi
out="$repo/csv_files"
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  if [[ "${args[$i]}" == --out ]]; then out="${args[$((i + 1))]:-}"; fi
done
mkdir -p "$out"
cd "$repo"
exec "$build/gen-csv" --out "$out" "$@"
