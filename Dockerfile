# cdcpipe image: multi-stage, Debian 12, runs as a non-root user.
#   docker build -t cdcpipe .
# Not built in CI here (no Docker engine); tests/compose_test.cc checks docker-compose.yml against
# the binary instead. See docs/OPERATIONS.md.

# ---- build --------------------------------------------------------------------------------------------
FROM debian:12 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      g++ cmake make pkg-config ca-certificates \
      libpq-dev librdkafka-dev libsnappy-dev libzstd-dev libcurl4-openssl-dev libssl-dev libmicrohttpd-dev \
      nlohmann-json3-dev libsimdjson-dev libcli11-dev libspdlog-dev libfmt-dev libyaml-cpp-dev libpg-query-dev \
      libthrift-dev thrift-compiler libboost-dev libgtest-dev libbenchmark-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake cmake
COPY src src
COPY tests tests
COPY tools tools
COPY bench bench
RUN cmake -S . -B build -DCMAKE_BUILD_TYPE=Release \
 && cmake --build build -j"$(nproc)" --target cdcpipe \
 && strip build/cdcpipe

# ---- runtime ------------------------------------------------------------------------------------------
# libpq5, librdkafka1, libcurl4, libssl3 and libmicrohttpd12 are opened by cdcpipe on first use
# (src/base/dynlib.h), not at start-up: an image for `cdcpipe batch` on local files alone could leave them out.
FROM debian:12-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      ca-certificates libpq5 librdkafka1 libsnappy1v5 libzstd1 libcurl4 libssl3 libmicrohttpd12 libfmt9 \
      libsimdjson14 curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 cdcpipe \
 && useradd --system --uid 10001 --gid cdcpipe --home-dir /var/lib/cdcpipe --create-home --shell /usr/sbin/nologin cdcpipe
COPY --from=build /src/build/cdcpipe /usr/local/bin/cdcpipe
COPY csv_files /opt/cdcpipe/csv_files
COPY views /opt/cdcpipe/views
USER cdcpipe:cdcpipe
WORKDIR /var/lib/cdcpipe
# The dashboard/metrics port of `cdcpipe run --http 0.0.0.0:8080 --http-token ...`.
EXPOSE 8080
ENTRYPOINT ["cdcpipe"]
CMD ["--help"]
