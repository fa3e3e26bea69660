// Memory for big buffers that are first touched whole or at random (decoded pages, hash tables of a
// few 100k slots). On this project's target machines (virtual machines) a page fault costs 2-12 us,
// so first-touching 1 MiB in 4 KiB pages (256 faults) can cost more than the work done in it. From
// `huge_from` bytes on, an allocation is 2 MiB-aligned, rounded up to whole 2 MiB pages and advised as
// transparent huge pages (one fault per 2 MiB when the kernel has one free; the advice is only a hint,
// and without it the memory is ordinary). Smaller ones come from malloc.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdlib>
#include <new>

namespace cdc {

inline constexpr size_t kHugePageBytes = size_t{2} << 20;

// Allocates *bytes bytes (uninitialised; *bytes is rounded up when huge pages are used). Throws
// std::bad_alloc when out of memory. Free with std::free (FreeBytes).
inline void* AllocatePages(size_t* bytes, size_t huge_from) {
  void* p;
  if (*bytes >= huge_from) {
    *bytes = (*bytes + kHugePageBytes - 1) / kHugePageBytes * kHugePageBytes;
    p = std::aligned_alloc(kHugePageBytes, *bytes);
    if (p) madvise(p, *bytes, MADV_HUGEPAGE);  // a hint; failure only costs speed
  } else {
    p = std::malloc(*bytes ? *bytes : 1);
  }
  if (!p) throw std::bad_alloc();
  return p;
}

struct FreeBytes {
  void operator()(void* p) const noexcept { std::free(p); }
};

}  // namespace cdc
