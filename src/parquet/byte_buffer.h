// ByteBuffer: a growable byte array whose Resize() does not zero-fill, for page buffers, column
// chunk buffers and the string bytes of a ColumnVector. std::string::resize would memset every byte
// first, which costs as much as the copy itself on 100 MB column chunks. Buffers of 4 MiB and more
// are huge-page backed (base/huge_pages.h): on virtual machines the page faults of
// first-touching a fresh 100 MB buffer in 4 KiB pages cost more than the copy into it.
// Capacity is kept between uses (Clear() keeps it). Thread-safety: none.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string_view>

#include "base/huge_pages.h"

namespace cdc::parquet {

class ByteBuffer {
 public:
  ByteBuffer() = default;
  // Buffers of `huge_from` bytes and more are huge-page backed (the default is 4 MiB). A scratch buffer
  // filled whole on every use, like the reader's ~1 MiB decompressed page, passes 1 MiB: one page
  // fault per use instead of 256.
  explicit ByteBuffer(size_t huge_from) : huge_from_(huge_from) {}
  ByteBuffer(const ByteBuffer& o) { Assign(o.view()); }
  ByteBuffer& operator=(const ByteBuffer& o) {
    if (this != &o) Assign(o.view());
    return *this;
  }
  ByteBuffer(ByteBuffer&&) noexcept = default;
  ByteBuffer& operator=(ByteBuffer&&) noexcept = default;

  char* data() { return data_.get(); }
  const char* data() const { return data_.get(); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::string_view view() const { return std::string_view(data_.get(), size_); }
  operator std::string_view() const { return view(); }  // NOLINT: used where string views are expected

  // Ensures capacity for n bytes; keeps the content.
  void Reserve(size_t n) {
    if (n <= cap_) return;
    size_t cap = cap_ ? cap_ : 64;
    while (cap < n) cap *= 2;
    char* p = static_cast<char*>(AllocatePages(&cap, huge_from_));
    if (size_) std::memcpy(p, data_.get(), size_);
    data_.reset(p);
    cap_ = cap;
  }
  // New bytes are uninitialised; existing bytes are kept.
  void Resize(size_t n) {
    Reserve(n);
    size_ = n;
  }
  void Append(const char* p, size_t n) {
    if (size_ + n > cap_) Reserve(size_ + n);
    if (n) std::memcpy(data_.get() + size_, p, n);
    size_ += n;
  }
  void Assign(std::string_view s) {
    size_ = 0;
    Append(s.data(), s.size());
  }
  void Clear() { size_ = 0; }
  // Changes the size from which the next allocations are huge-page backed.
  void set_huge_from(size_t bytes) { huge_from_ = bytes; }

 private:
  static constexpr size_t kHugeThreshold = 4u << 20;
  std::unique_ptr<char, FreeBytes> data_;
  size_t size_ = 0;
  size_t cap_ = 0;
  size_t huge_from_ = kHugeThreshold;
};

}  // namespace cdc::parquet
