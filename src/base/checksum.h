// Checksum64: a checksum against torn or damaged checkpoint objects (not a cryptographic hash): four
// independent multiply-xorshift lanes over 8-byte words, so a 5 MB state costs well under a
// millisecond.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace cdc {

inline uint64_t Checksum64(std::string_view data) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  uint64_t lane[4] = {0x243F6A8885A308D3ull, 0x13198A2E03707344ull, 0xA4093822299F31D0ull, 0x082EFA98EC4E6C89ull};
  auto mix = [](uint64_t h, uint64_t w) {
    h = (h ^ w) * kMul;
    return h ^ (h >> 31);
  };
  size_t i = 0;
  for (; i + 32 <= data.size(); i += 32) {
    for (int l = 0; l < 4; ++l) {
      uint64_t w;
      std::memcpy(&w, data.data() + i + 8 * l, 8);
      lane[l] = mix(lane[l], w);
    }
  }
  for (int l = 0; i < data.size(); i += 8, l = (l + 1) % 4) {
    uint64_t w = 0;
    std::memcpy(&w, data.data() + i, std::min<size_t>(8, data.size() - i));
    lane[l] = mix(lane[l], w);
  }
  uint64_t h = mix(data.size(), lane[0]);
  for (int l = 1; l < 4; ++l) h = mix(h, lane[l]);
  return h;
}

}  // namespace cdc
