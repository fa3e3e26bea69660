// Fixed-width binary fields for cdcpipe's own checkpoint formats: host byte order, which is
// little-endian on every platform cdcpipe builds for (x86-64, arm64; checked below).
#pragma once

#include <bit>
#include <cstring>
#include <string>
#include <string_view>

namespace cdc {

static_assert(std::endian::native == std::endian::little, "checkpoint formats assume a little-endian host");

// Appends v's bytes to *out.
template <typename T>
void PutFixed(std::string* out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out->append(buf, sizeof(T));
}

// Reads a T from the front of *in and consumes it; false (nothing consumed) when *in is too short.
template <typename T>
bool GetFixed(std::string_view* in, T* v) {
  if (in->size() < sizeof(T)) return false;
  std::memcpy(v, in->data(), sizeof(T));
  in->remove_prefix(sizeof(T));
  return true;
}

}  // namespace cdc
