// S3 store throughput, for bench/store_s3_bench.sh: N small objects PUT then GET one at a time, and
// one big object (multipart above the threshold), against the endpoint given. Prints one line per
// phase: "<phase> <objects> <bytes> <seconds>".
//
//   store_s3_bench ENDPOINT BUCKET OBJECTS OBJECT_BYTES BIG_BYTES
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "store/object_store.h"

using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: %s ENDPOINT BUCKET OBJECTS OBJECT_BYTES BIG_BYTES\n", argv[0]);
    return 2;
  }
  cdc::store::StoreOptions o;
  o.s3_endpoint = argv[1];
  o.access_key_id = "S3RVER";
  o.secret_access_key = "S3RVER";
  const int n = std::atoi(argv[3]);
  const size_t size = std::strtoull(argv[4], nullptr, 10);
  const size_t big = std::strtoull(argv[5], nullptr, 10);
  auto store = cdc::store::OpenStore(std::string("s3://") + argv[2] + "/cdcpipe", o);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().ToString().c_str());
    return 1;
  }
  std::mt19937_64 rng(1);
  std::string data(std::max(size, big), '\0');
  for (auto& c : data) c = static_cast<char>(rng());
  auto seconds = [](Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); };

  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    cdc::Status s = (*store)->Put("small/" + std::to_string(i), std::string_view(data).substr(0, size));
    if (!s.ok()) return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
  }
  std::printf("put %d %zu %.6f\n", n, n * size, seconds(t0));
  t0 = Clock::now();
  size_t got = 0;
  for (int i = 0; i < n; ++i) {
    auto r = (*store)->Get("small/" + std::to_string(i));
    if (!r.ok()) return std::fprintf(stderr, "%s\n", r.status().ToString().c_str()), 1;
    got += r->size();
  }
  std::printf("get %d %zu %.6f\n", n, got, seconds(t0));
  t0 = Clock::now();
  cdc::Status s = (*store)->Put("big", std::string_view(data).substr(0, big));
  if (!s.ok()) return std::fprintf(stderr, "%s\n", s.ToString().c_str()), 1;
  std::printf("bigput 1 %zu %.6f\n", big, seconds(t0));
  return 0;
}
