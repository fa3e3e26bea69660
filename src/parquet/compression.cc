#include "parquet/compression.h"

#include <snappy.h>
#include <zstd.h>

namespace cdc::parquet {

format::Codec ToCodec(Compression c) {
  switch (c) {
    case Compression::kSnappy: return format::Codec::kSnappy;
    case Compression::kZstd: return format::Codec::kZstd;
    case Compression::kUncompressed: break;
  }
  return format::Codec::kUncompressed;
}

std::string_view CompressionName(Compression c) {
  switch (c) {
    case Compression::kSnappy: return "snappy";
    case Compression::kZstd: return "zstd";
    case Compression::kUncompressed: break;
  }
  return "uncompressed";
}

Result<Compression> ParseCompression(std::string_view name) {
  if (name == "snappy") return Compression::kSnappy;
  if (name == "zstd") return Compression::kZstd;
  if (name == "none" || name == "uncompressed") return Compression::kUncompressed;
  return Status::InvalidArgument("unknown Parquet compression '" + std::string(name) +
                                 "': use snappy, zstd or none");
}

Compressor::Compressor(Compression c, int zstd_level) : c_(c), zstd_level_(zstd_level) {
  if (c_ == Compression::kZstd) zstd_ctx_ = ZSTD_createCCtx();
}

Compressor::~Compressor() {
  if (zstd_ctx_) ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(zstd_ctx_));
}

Status Compressor::Compress(std::string_view in, ByteBuffer* out) {
  switch (c_) {
    case Compression::kUncompressed:
      out->Assign(in);
      return Status::OK();
    case Compression::kSnappy: {
      out->Resize(snappy::MaxCompressedLength(in.size()));
      size_t n = 0;
      snappy::RawCompress(in.data(), in.size(), out->data(), &n);
      out->Resize(n);
      return Status::OK();
    }
    case Compression::kZstd: {
      if (!zstd_ctx_) return Status::Internal("zstd: cannot create a compression context (out of memory?)");
      out->Resize(ZSTD_compressBound(in.size()));
      size_t n = ZSTD_compressCCtx(static_cast<ZSTD_CCtx*>(zstd_ctx_), out->data(), out->size(), in.data(),
                                   in.size(), zstd_level_);
      if (ZSTD_isError(n)) return Status::Internal(std::string("zstd compression failed: ") + ZSTD_getErrorName(n));
      out->Resize(n);
      return Status::OK();
    }
  }
  return Status::Internal("unknown compression");
}

Decompressor::Decompressor() = default;

Decompressor::~Decompressor() {
  if (zstd_ctx_) ZSTD_freeDCtx(static_cast<ZSTD_DCtx*>(zstd_ctx_));
}

Status Decompressor::Decompress(format::Codec codec, std::string_view in, size_t expected, ByteBuffer* out) {
  switch (codec) {
    case format::Codec::kUncompressed:
      if (in.size() != expected) {
        return Status::Corruption("uncompressed page holds " + std::to_string(in.size()) + " bytes, header says " +
                                  std::to_string(expected));
      }
      out->Assign(in);
      return Status::OK();
    case format::Codec::kSnappy: {
      size_t n = 0;
      if (!snappy::GetUncompressedLength(in.data(), in.size(), &n) || n != expected) {
        return Status::Corruption("snappy page: bad length header (header says " + std::to_string(expected) +
                                  " bytes)");
      }
      out->Resize(n);
      if (!snappy::RawUncompress(in.data(), in.size(), out->data())) {
        return Status::Corruption("snappy page does not decompress");
      }
      return Status::OK();
    }
    case format::Codec::kZstd: {
      // Created on the first zstd page: creating one runs CPUID (a trap to the hypervisor on a VM), a
      // cost that readers of Snappy files need not pay.
      if (!zstd_ctx_) zstd_ctx_ = ZSTD_createDCtx();
      if (!zstd_ctx_) return Status::Internal("zstd: cannot create a decompression context");
      out->Resize(expected);
      size_t n = ZSTD_decompressDCtx(static_cast<ZSTD_DCtx*>(zstd_ctx_), out->data(), expected, in.data(), in.size());
      if (ZSTD_isError(n)) return Status::Corruption(std::string("zstd page: ") + ZSTD_getErrorName(n));
      if (n != expected) {
        return Status::Corruption("zstd page decompresses to " + std::to_string(n) + " bytes, header says " +
                                  std::to_string(expected));
      }
      return Status::OK();
    }
    default:
      return Status::Corruption("unsupported compression codec " + std::to_string(static_cast<int>(codec)) +
                                " (cdcpipe reads snappy, zstd and uncompressed)");
  }
}

}  // namespace cdc::parquet
