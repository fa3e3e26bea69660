#!/usr/bin/env bash
# Installs everything cdcpipe needs on a fresh Debian 12 machine (as root) and builds it into build/.
# Idempotent: a second run installs nothing and rebuilds only what changed.
#
#   scripts/setup.sh            packages + npm test peers + Release build in build/
#   scripts/setup.sh --no-build packages + npm test peers only
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=1
for arg in "$@"; do
  case "$arg" in
    --no-build) build=0 ;;
    *) echo "setup.sh: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

step() { printf '==> %s\n' "$*"; }

# ---- Debian packages ------------------------------------------------------------------------------
# libpq5, librdkafka1, libcurl4, libssl3 and libmicrohttpd12 are the runtime libraries cdcpipe opens on
# first use (src/base/dynlib.h): nothing links them into the binary, so they are listed themselves.
packages=(
  postgresql-15 postgresql-client libpq-dev libpq5
  librdkafka-dev librdkafka1 kcat
  libsnappy-dev libzstd-dev libcurl4-openssl-dev libcurl4 libssl-dev libssl3
  libmicrohttpd-dev libmicrohttpd12
  nlohmann-json3-dev libsimdjson-dev libcli11-dev libfmt-dev libspdlog-dev libyaml-cpp-dev libpg-query-dev
  libthrift-dev thrift-compiler libboost-dev
  libgtest-dev googletest libbenchmark-dev
  pkg-config cmake g++ make git curl ca-certificates
  nodejs npm
  chromium hyperfine
)
missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# Node may come from elsewhere (nodesource, nvm): accept any node >= 18 with npm.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]}")
fi
if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup.sh: missing Debian packages (${missing[*]}); run as root to install them" >&2
    exit 1
  fi
  step "apt-get install ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  step "Debian packages: all present"
fi

# ---- npm test peers (DuckDB, hyparquet, s3rver, MinIO client, aws4, playwright-core, yaml) ------------
node_dir="$repo/tests/node"
stamp="$node_dir/node_modules/.cdcpipe-installed"
if [[ ! -f "$stamp" || "$node_dir/package.json" -nt "$stamp" ]]; then
  step "npm install (test peers) in tests/node"
  (cd "$node_dir" && npm install --no-audit --no-fund --loglevel=error)
  touch "$stamp"
else
  step "npm test peers: present"
fi

# ---- build -----------------------------------------------------------------------------------------
if ((build)); then
  step "build (Release, -j2) into build/"
  cmake -S "$repo" -B "$repo/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$repo/build" -j2
  step "ready: $repo/build/cdcpipe"
fi
