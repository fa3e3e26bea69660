// ThreadPairPlacement: keeps the two threads of a short parallel computation on different CPUs, on
// kernels that would otherwise run them on one.
//
// Why: the kernels of this project's VMs have a scheduler extension (sysctl kernel.sched_vcpu_pack)
// that packs threads with little recent CPU use onto a busy vCPU, leaving the other idle; it places a
// new thread on its creator's vCPU and pulls a waking one back there. Threads that work together for
// a few milliseconds, as in an incremental `cdcpipe batch`, never run hot long enough to be spread.
// Measured here (2 vCPUs, median of 20): two 3 ms busy threads took 5.4 ms, 3.2 ms when placed apart;
// a producer handing ten 0.4 ms chunks to a consumer took 5.8 ms, 4.3 ms when both were pinned apart;
// the decoding thread of an incremental `cdcpipe batch` started up to 2 ms late and was pulled back
// onto the applying thread's vCPU.
//
// What: only where kernel.sched_vcpu_pack is set (elsewhere the scheduler spreads busy threads itself
// and this does nothing), and only when the process may use two or more CPUs: the calling thread is
// pinned to the CPU it is on and the other thread to the remaining allowed CPUs, until the placement
// is destroyed. CDCPIPE_THREAD_PLACEMENT=off turns it off (to measure without it).
#pragma once

#include <sched.h>

#include <thread>

namespace cdc {

class ThreadPairPlacement {
 public:
  // Call on the first thread of the pair, right after starting `other`.
  explicit ThreadPairPlacement(std::thread& other);
  // Lets the calling thread use every allowed CPU again (`other` keeps its restriction until it ends).
  // REQUIRES: called on the thread that constructed the placement.
  ~ThreadPairPlacement();
  ThreadPairPlacement(const ThreadPairPlacement&) = delete;
  ThreadPairPlacement& operator=(const ThreadPairPlacement&) = delete;

  bool active() const { return active_; }

 private:
  bool active_ = false;
  cpu_set_t allowed_;  // the calling thread's CPUs before
};

// Whether this kernel packs threads onto fewer vCPUs (kernel.sched_vcpu_pack > 0), and placement is not
// turned off by CDCPIPE_THREAD_PLACEMENT=off. Read once.
bool ThreadPlacementWanted();

}  // namespace cdc
