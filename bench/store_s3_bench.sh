#!/usr/bin/env bash
# S3 client throughput: cdcpipe's S3 store (libcurl + SigV4, sha256 of every body) against the MinIO
# JS client, same workload, same s3rver, in one run. s3rver is the server for both, so the ratio
# compares client overhead on this machine, not S3 itself.
#
#   bench/store_s3_bench.sh [BUILD_DIR] [OBJECTS] [OBJECT_BYTES] [BIG_BYTES]
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$repo/build}
n=${2:-300}
size=${3:-262144}
big=${4:-$((48 * 1024 * 1024))}  # below both clients' multipart thresholds (64 MiB): minio-js multipart needs ListMultipartUploads, which s3rver lacks
bin="$build/src/store/store_s3_bench"
[[ -x "$bin" ]] || { echo "missing $bin: cmake --build $build --target store_s3_bench" >&2; exit 1; }
export NODE_PATH="$repo/tests/node/node_modules"

work=$(mktemp -d)
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
# --openssl-legacy-provider: s3rver 3.7.1 uses DES for list continuation tokens (docs/STORE.md).
node --openssl-legacy-provider "$NODE_PATH/s3rver/bin/s3rver.js" -d "$work/data" -a 127.0.0.1 -p "$port" \
  --configure-bucket bench --silent >"$work/s3rver.log" 2>&1 &
s3pid=$!
trap 'kill $s3pid 2>/dev/null; wait $s3pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do grep -q listening "$work/s3rver.log" && break; sleep 0.1; done
endpoint="http://127.0.0.1:$port"

# Alternate the two clients for three rounds (the first warms s3rver up) and keep each one's best.
ours="" theirs=""
for round in 1 2 3; do
  ours+=$("$bin" "$endpoint" bench "$n" "$size" "$big")$'\n'
  theirs+=$(node "$repo/tests/node/minio_bench_peer.mjs" "$endpoint" bench "$n" "$size" "$big")$'\n'
done

echo "s3rver $endpoint, $n objects x $size B, one object of $big B"
printf '%-8s %14s %14s %8s\n' phase "cdcpipe MB/s" "minio-js MB/s" ratio
for phase in put get bigput; do
  a=$(awk -v p=$phase '$1==p && $3/$4 > m {m = $3/$4} END {printf "%.1f", m/1e6}' <<<"$ours")
  b=$(awk -v p=$phase '$1==p && $3/$4 > m {m = $3/$4} END {printf "%.1f", m/1e6}' <<<"$theirs")
  r=$(awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", a/b}')
  printf '%-8s %14s %14s %8s\n' "$phase" "$a" "$b" "$r"
done
