// Page compression: SNAPPY (raw snappy blocks, no framing), ZSTD (one frame per page), or none.
// Thread-safety: a Compressor/Decompressor is used by one thread (it keeps a zstd context).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"
#include "parquet/byte_buffer.h"
#include "parquet/format.h"

namespace cdc::parquet {

enum class Compression { kUncompressed, kSnappy, kZstd };

format::Codec ToCodec(Compression c);
std::string_view CompressionName(Compression c);  // "snappy", "zstd", "uncompressed"
// Parses "snappy|zstd|none|uncompressed".
Result<Compression> ParseCompression(std::string_view name);

class Compressor {
 public:
  Compressor(Compression c, int zstd_level);
  ~Compressor();
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;
  // Replaces *out with the compressed input.
  Status Compress(std::string_view in, ByteBuffer* out);

 private:
  Compression c_;
  int zstd_level_;
  void* zstd_ctx_ = nullptr;
};

class Decompressor {
 public:
  Decompressor();
  ~Decompressor();
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;
  // Decompresses `in` into exactly `expected_size` bytes of *out; anything else is an error message
  // (returned as a Corruption status without the file name; the caller adds it).
  Status Decompress(format::Codec codec, std::string_view in, size_t expected_size, ByteBuffer* out);

 private:
  void* zstd_ctx_ = nullptr;
};

}  // namespace cdc::parquet
