// Parquet value and level encodings (Apache Parquet "Encodings.md"):
//  - RLE / bit-packed hybrid: definition levels, dictionary indices, RLE booleans.
//      run := rle-run | bit-packed-run
//      rle-run        := varint(count << 1)        value in ceil(bit_width/8) little-endian bytes
//      bit-packed-run := varint(groups << 1 | 1)    groups*8 values, bit_width bits each, LSB first
//  - DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY, BYTE_STREAM_SPLIT (decoding
//    only: DuckDB writes them with PARQUET_VERSION v2).
// Decoders never read past their input and never produce more values than asked for.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cdc::parquet {

// Number of bits needed to store values 0..max_value (0 for max_value == 0).
int BitWidth(uint64_t max_value);

// Appends the RLE/bit-packed hybrid encoding of values[0..n) (each < 2^bit_width) to out.
void EncodeRleHybrid(const uint32_t* values, size_t n, int bit_width, std::string* out);
void EncodeRleHybrid(const uint8_t* values, size_t n, int bit_width, std::string* out);

// Decodes the hybrid encoding. Get() fails (returns false) if the input ends before n values.
class RleHybridDecoder {
 public:
  RleHybridDecoder(const uint8_t* data, size_t size, int bit_width)
      : p_(data), end_(data + size), bit_width_(bit_width) {}
  // Decodes exactly n values into out.
  bool Get(uint32_t* out, size_t n);
  bool Get(uint8_t* out, size_t n);

 private:
  template <typename T>
  bool GetImpl(T* out, size_t n);
  bool NextRun();

  const uint8_t* p_;
  const uint8_t* end_;
  int bit_width_;
  // current run
  bool rle_ = false;
  uint64_t remaining_ = 0;  // values left in the run
  uint32_t rle_value_ = 0;
  const uint8_t* packed_ = nullptr;  // bit-packed: start of the run's bytes
  uint64_t packed_index_ = 0;        // next value index within the run
};

// Unpacks `count` little-endian bit-packed values of `bit_width` (<= 32) bits starting at bit
// `first_bit` of in. REQUIRES: in holds at least ceil((first_bit + count*bit_width)/8) bytes.
void UnpackBits32(const uint8_t* in, uint64_t first_bit, int bit_width, uint32_t* out, size_t count);

// DELTA_BINARY_PACKED: decodes all values of the stream into out (int64 arithmetic wraps).
// `consumed` receives the encoded length. Returns false on malformed or truncated input, or when
// the stream declares more than max_values values.
bool DecodeDeltaBinaryPacked(const uint8_t* data, size_t size, size_t max_values, std::vector<int64_t>* out,
                             size_t* consumed);

}  // namespace cdc::parquet
