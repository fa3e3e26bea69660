#include "parquet/encoding.h"

#include <cstring>

namespace cdc::parquet {

int BitWidth(uint64_t max_value) {
  int w = 0;
  while (max_value) {
    ++w;
    max_value >>= 1;
  }
  return w;
}

namespace {

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

bool GetVarint(const uint8_t*& p, const uint8_t* end, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p >= end) return false;
    uint8_t b = *p++;
    *v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

template <typename T>
void EncodeImpl(const T* v, size_t n, int bw, std::string* out) {
  const int value_bytes = (bw + 7) / 8;
  size_t i = 0;
  while (i < n) {
    size_t j = i + 1;
    while (j < n && v[j] == v[i]) ++j;
    if (j - i >= 8) {
      PutVarint(static_cast<uint64_t>(j - i) << 1, out);
      uint32_t val = v[i];
      for (int b = 0; b < value_bytes; ++b) out->push_back(static_cast<char>((val >> (8 * b)) & 0xff));
      i = j;
      continue;
    }
    // Bit-packed run: groups of 8 until a run of >= 8 equal values starts at a group boundary, at
    // most 63 groups so the header is one byte. The last group is padded with zeros.
    size_t start = i;
    size_t groups = 0;
    while (i < n && groups < 63) {
      i += 8;
      ++groups;
      if (i >= n) break;
      size_t k = i + 1;
      while (k < n && k - i < 8 && v[k] == v[i]) ++k;
      if (k - i >= 8) break;
    }
    PutVarint((groups << 1) | 1, out);
    uint64_t acc = 0;
    int bits = 0;
    for (size_t k = start; k < start + groups * 8; ++k) {
      uint64_t val = k < n ? static_cast<uint64_t>(v[k]) : 0;
      acc |= val << bits;
      bits += bw;
      while (bits >= 8) {
        out->push_back(static_cast<char>(acc & 0xff));
        acc >>= 8;
        bits -= 8;
      }
    }
    if (bits > 0) out->push_back(static_cast<char>(acc & 0xff));  // unreachable: 8*bw bits per group
    if (i > n) i = n;
  }
}

}  // namespace

void EncodeRleHybrid(const uint32_t* values, size_t n, int bit_width, std::string* out) {
  EncodeImpl(values, n, bit_width, out);
}
void EncodeRleHybrid(const uint8_t* values, size_t n, int bit_width, std::string* out) {
  EncodeImpl(values, n, bit_width, out);
}

void UnpackBits32(const uint8_t* in, uint64_t first_bit, int bw, uint32_t* out, size_t count) {
  if (bw == 0) {
    std::memset(out, 0, count * sizeof(uint32_t));
    return;
  }
  const uint64_t mask = (bw == 32) ? 0xffffffffull : ((1ull << bw) - 1);
  const uint8_t* p = in + first_bit / 8;
  uint64_t acc = 0;
  int bits = 0;
  int skip = static_cast<int>(first_bit % 8);
  if (skip) {
    acc = *p++ >> skip;
    bits = 8 - skip;
  }
  for (size_t i = 0; i < count; ++i) {
    while (bits < bw) {
      acc |= static_cast<uint64_t>(*p++) << bits;
      bits += 8;
    }
    out[i] = static_cast<uint32_t>(acc & mask);
    acc >>= bw;
    bits -= bw;
  }
}

bool RleHybridDecoder::NextRun() {
  uint64_t header;
  if (!GetVarint(p_, end_, &header)) return false;
  if (header & 1) {
    uint64_t groups = header >> 1;
    uint64_t bytes = groups * static_cast<uint64_t>(bit_width_);  // 8 values * bw bits = bw bytes per group
    uint64_t avail = static_cast<uint64_t>(end_ - p_);
    if (bytes > avail) {
      // Tolerate a shortened final run: only the values actually present are usable.
      bytes = avail;
    }
    rle_ = false;
    packed_ = p_;
    packed_index_ = 0;
    remaining_ = bit_width_ == 0 ? groups * 8 : bytes * 8 / static_cast<uint64_t>(bit_width_);
    p_ += bytes;
    return remaining_ > 0;
  }
  rle_ = true;
  remaining_ = header >> 1;
  int value_bytes = (bit_width_ + 7) / 8;
  if (end_ - p_ < value_bytes) return false;
  uint32_t v = 0;
  for (int b = 0; b < value_bytes; ++b) v |= static_cast<uint32_t>(p_[b]) << (8 * b);
  p_ += value_bytes;
  rle_value_ = v;
  return remaining_ > 0;
}

template <typename T>
bool RleHybridDecoder::GetImpl(T* out, size_t n) {
  if (bit_width_ < 0 || bit_width_ > 32) return false;
  uint32_t tmp[256];
  while (n > 0) {
    if (remaining_ == 0) {
      if (!NextRun()) {
        if (p_ >= end_) return false;
        continue;  // an empty run: read the next header
      }
    }
    size_t take = static_cast<size_t>(remaining_ < n ? remaining_ : n);
    if (rle_) {
      for (size_t i = 0; i < take; ++i) out[i] = static_cast<T>(rle_value_);
    } else {
      size_t done = 0;
      while (done < take) {
        size_t chunk = take - done < 256 ? take - done : 256;
        UnpackBits32(packed_, packed_index_ * static_cast<uint64_t>(bit_width_), bit_width_, tmp, chunk);
        for (size_t i = 0; i < chunk; ++i) out[done + i] = static_cast<T>(tmp[i]);
        packed_index_ += chunk;
        done += chunk;
      }
    }
    remaining_ -= take;
    out += take;
    n -= take;
  }
  return true;
}

bool RleHybridDecoder::Get(uint32_t* out, size_t n) { return GetImpl(out, n); }
bool RleHybridDecoder::Get(uint8_t* out, size_t n) { return GetImpl(out, n); }

namespace {

uint64_t Unpack64(const uint8_t* in, uint64_t bit, int bw) {
  uint64_t v = 0;
  int got = 0;
  while (got < bw) {
    int off = static_cast<int>(bit % 8);
    int take = 8 - off;
    if (take > bw - got) take = bw - got;
    uint64_t bitsv = (static_cast<uint64_t>(in[bit / 8]) >> off) & ((1ull << take) - 1);
    v |= bitsv << got;
    got += take;
    bit += static_cast<uint64_t>(take);
  }
  return v;
}

}  // namespace

bool DecodeDeltaBinaryPacked(const uint8_t* data, size_t size, size_t max_values, std::vector<int64_t>* out,
                             size_t* consumed) {
  const uint8_t* p = data;
  const uint8_t* end = data + size;
  uint64_t block_size, miniblocks, total, first_z;
  if (!GetVarint(p, end, &block_size) || !GetVarint(p, end, &miniblocks) || !GetVarint(p, end, &total) ||
      !GetVarint(p, end, &first_z)) {
    return false;
  }
  if (block_size == 0 || block_size % 128 != 0 || block_size > (1u << 20) || miniblocks == 0 ||
      block_size % miniblocks != 0 || (block_size / miniblocks) % 32 != 0 || total > max_values) {
    return false;
  }
  const uint64_t per_mini = block_size / miniblocks;
  int64_t value = static_cast<int64_t>((first_z >> 1) ^ (~(first_z & 1) + 1));
  out->clear();
  out->reserve(total);
  if (total > 0) out->push_back(value);
  while (out->size() < total) {
    uint64_t min_z;
    if (!GetVarint(p, end, &min_z)) return false;
    uint64_t min_delta = (min_z >> 1) ^ (~(min_z & 1) + 1);
    if (static_cast<uint64_t>(end - p) < miniblocks) return false;
    const uint8_t* widths = p;
    p += miniblocks;
    for (uint64_t m = 0; m < miniblocks && out->size() < total; ++m) {
      int bw = widths[m];
      if (bw > 64) return false;
      uint64_t bytes = per_mini * static_cast<uint64_t>(bw) / 8;
      uint64_t avail = static_cast<uint64_t>(end - p);
      uint64_t need_values = total - out->size();
      if (need_values > per_mini) need_values = per_mini;
      // The final miniblock may be cut short by the writer: require only the bytes for the values used.
      uint64_t need_bytes = (need_values * static_cast<uint64_t>(bw) + 7) / 8;
      if (need_bytes > avail) return false;
      for (uint64_t i = 0; i < need_values; ++i) {
        uint64_t d = bw == 0 ? 0 : Unpack64(p, i * static_cast<uint64_t>(bw), bw);
        value = static_cast<int64_t>(static_cast<uint64_t>(value) + min_delta + d);
        out->push_back(value);
      }
      p += bytes < avail ? bytes : avail;
    }
  }
  *consumed = static_cast<size_t>(p - data);
  return true;
}

}  // namespace cdc::parquet
