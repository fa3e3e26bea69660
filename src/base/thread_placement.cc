#include "base/thread_placement.h"

#include <pthread.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace cdc {

bool ThreadPlacementWanted() {
  static const bool wanted = [] {
    const char* env = std::getenv("CDCPIPE_THREAD_PLACEMENT");
    if (env != nullptr && std::strcmp(env, "off") == 0) return false;
    FILE* f = std::fopen("/proc/sys/kernel/sched_vcpu_pack", "re");
    if (f == nullptr) return false;  // an ordinary kernel
    long value = 0;
    bool read = std::fscanf(f, "%ld", &value) == 1;
    std::fclose(f);
    return read && value > 0;
  }();
  return wanted;
}

ThreadPairPlacement::ThreadPairPlacement(std::thread& other) {
  CPU_ZERO(&allowed_);
  if (!ThreadPlacementWanted()) return;
  const int here = sched_getcpu();
  if (here < 0 || pthread_getaffinity_np(pthread_self(), sizeof(allowed_), &allowed_) != 0) return;
  if (!CPU_ISSET(here, &allowed_) || CPU_COUNT(&allowed_) < 2) return;
  cpu_set_t mine, others = allowed_;
  CPU_ZERO(&mine);
  CPU_SET(here, &mine);
  CPU_CLR(here, &others);
  // Hints: a failure costs speed, never correctness.
  if (pthread_setaffinity_np(other.native_handle(), sizeof(others), &others) != 0) return;
  active_ = pthread_setaffinity_np(pthread_self(), sizeof(mine), &mine) == 0;
}

ThreadPairPlacement::~ThreadPairPlacement() {
  if (active_) pthread_setaffinity_np(pthread_self(), sizeof(allowed_), &allowed_);
}

}  // namespace cdc
