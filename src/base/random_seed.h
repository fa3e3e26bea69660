// Seeds for the non-cryptographic generators behind unique names (file UUIDs, temp-file suffixes,
// retry jitter).
#pragma once

#include <cstdint>

namespace cdc {

// 64 random bits from the kernel (getrandom(2)). Cheaper to take than std::random_device, whose
// construction in libstdc++ runs CPUID: a trap to the hypervisor on a virtual machine (28 us a
// random_device on this project's VMs), paid by every thread that makes a name. Falls back to the
// clock and the thread's stack address if the kernel gives nothing (never seen).
uint64_t RandomSeed();

}  // namespace cdc
