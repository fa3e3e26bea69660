#include "base/random_seed.h"

#include <sys/random.h>
#include <time.h>

namespace cdc {

uint64_t RandomSeed() {
  uint64_t seed = 0;
  if (::getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == static_cast<ssize_t>(sizeof(seed))) return seed;
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t x = static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
  x ^= reinterpret_cast<uintptr_t>(&seed) * 0x9E3779B97F4A7C15ull;
  x ^= x >> 31;
  return x * 0xBF58476D1CE4E5B9ull;
}

}  // namespace cdc
