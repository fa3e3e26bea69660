#include "parquet/reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <optional>

#include "parquet/compression.h"
#include "parquet/encoding.h"

namespace cdc::parquet {

namespace fmt_ = ::cdc::parquet::format;

namespace {

class FileSource : public RandomAccessSource {
 public:
  FileSource(std::string path, int fd, uint64_t size) : path_(std::move(path)), fd_(fd), size_(size) {}
  ~FileSource() override { ::close(fd_); }
  uint64_t size() const override { return size_; }
  const std::string& name() const override { return path_; }
  Status Read(uint64_t offset, size_t n, ByteBuffer* scratch, std::string_view* out) override {
    scratch->Resize(n);
    size_t done = 0;
    while (done < n) {
      ssize_t r = ::pread(fd_, scratch->data() + done, n - done, static_cast<off_t>(offset + done));
      if (r < 0) {
        if (errno == EINTR) continue;
        return Status::IoError("cannot read Parquet file " + path_ + ": " + std::strerror(errno));
      }
      if (r == 0) return Status::Corruption("Parquet file " + path_ + ": file shrank while being read");
      done += static_cast<size_t>(r);
    }
    *out = scratch->view();
    return Status::OK();
  }

 private:
  std::string path_;
  int fd_;
  uint64_t size_;
};

// Bytes owned elsewhere (e.g. a mapped file), kept alive by `owner`.
class ViewSource : public RandomAccessSource {
 public:
  ViewSource(std::string_view data, std::shared_ptr<const void> owner, std::string name)
      : data_(data), owner_(std::move(owner)), name_(std::move(name)) {}
  uint64_t size() const override { return data_.size(); }
  const std::string& name() const override { return name_; }
  Status Read(uint64_t offset, size_t n, ByteBuffer*, std::string_view* out) override {
    *out = data_.substr(offset, n);
    return Status::OK();
  }
  std::shared_ptr<const void> view_owner() const override { return owner_; }

 private:
  std::string_view data_;
  std::shared_ptr<const void> owner_;
  std::string name_;
};

uint32_t LoadU32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

}  // namespace

// How a leaf of the file's schema maps to a ColumnVector.
struct ParquetReader::Leaf {
  std::string name;
  fmt_::Type physical = fmt_::Type::kInt32;
  ColumnType type = ColumnType::kInt32;
  bool nullable = false;
  int64_t timestamp_divisor = 1;     // nanos -> micros
  int64_t timestamp_multiplier = 1;  // millis -> micros
};

// Decodes one column chunk (a run of pages) into a ColumnVector. Holds reusable scratch buffers.
// Every method returns a message without the file name; the reader adds it.
// A page of a column chunk whose header has been parsed: where its payload lies in the chunk.
struct PageRef {
  fmt_::PageHeader header;
  size_t payload_offset = 0;
  size_t payload_size = 0;
  int page_no = 0;        // among all pages of the chunk (for messages)
  int64_t first_row = 0;  // data pages: the row of its first value
};

class ColumnDecoder {
 public:
  using Leaf = ParquetReader::Leaf;
  Status Decode(std::string_view chunk, const fmt_::ColumnMetaData& meta, const ParquetReader::Leaf& leaf,
                int64_t num_rows, const ReaderOptions& options, ColumnVector* out);

  // Parses the page headers of a chunk up to its num_rows values: its dictionary page, if any, and
  // its data pages in order (index pages are skipped).
  static Status ScanPages(std::string_view chunk, int64_t num_rows, const ReaderOptions& options,
                          std::optional<PageRef>* dict, std::vector<PageRef>* pages);
  // Decodes the chunk's dictionary page: the data pages decoded next use it.
  Status LoadDictionary(std::string_view chunk, const fmt_::ColumnMetaData& meta, const Leaf& leaf,
                        const PageRef& dict);
  // Forgets the dictionary (a chunk without one comes next).
  void ResetDictionary() {
    have_dict_ = false;
    dict_size_ = 0;
  }
  // Appends the values of data page `page` (from ScanPages) to *out.
  Status AppendPage(std::string_view chunk, const fmt_::ColumnMetaData& meta, const Leaf& leaf, const PageRef& page,
                    ColumnVector* out);

 private:
  // AppendPage's work; `empty_vector`: *out holds no value and no string bytes yet.
  Status AppendPageValues(std::string_view chunk, const fmt_::ColumnMetaData& meta, const Leaf& leaf,
                          const PageRef& page, bool empty_vector, ColumnVector* out);
  Status DecodeDictionary(std::string_view page, int32_t num_values);
  Status DecodeValues(fmt_::Encoding enc, const uint8_t* data, size_t size, size_t count, ColumnVector* out);
  Status DecodePlain(const uint8_t* data, size_t size, size_t count, ColumnVector* out);
  // PLAIN strings that lie in out->bytes_ itself (REQUIRES: out holds no value yet): checked like
  // DecodePlain, then each moved down over the length prefixes before it, so that bytes_ holds exactly
  // the values, as if they had been appended.
  Status CompactPlainStrings(const uint8_t* data, size_t size, size_t count, ColumnVector* out);
  Status DecodeDictIndices(const uint8_t* data, size_t size, size_t count, ColumnVector* out);
  void ExpandNulls(ColumnVector* out, size_t start, size_t count, const uint8_t* defs);
  template <typename T>
  void AppendFixed(std::vector<T>& vec, const T* src, size_t count);

  const ParquetReader::Leaf* leaf_ = nullptr;
  std::vector<PageRef> scanned_;  // Decode's page list (kept for its capacity)
  Decompressor decompressor_;
  ByteBuffer page_{1u << 20};  // decompressed page (huge pages from 1 MiB: filled whole on every use)
  ByteBuffer v2_values_;   // decompressed values section of a v2 page
  std::vector<uint8_t> defs_;
  std::vector<uint32_t> indices_;
  std::vector<int64_t> deltas_, deltas2_;
  // dictionary of the current chunk
  bool have_dict_ = false;
  size_t dict_size_ = 0;
  std::vector<uint64_t> dict_fixed_;     // fixed-width values widened to 64 bits (doubles by bits)
  std::vector<uint64_t> dict_offsets_;   // strings: dict_size_ + 1 offsets into dict_bytes_
  std::string dict_bytes_;
};

namespace {

std::string EncodingName(fmt_::Encoding e) { return std::to_string(static_cast<int>(e)); }

}  // namespace

Status ColumnDecoder::DecodeDictionary(std::string_view page, int32_t num_values) {
  if (num_values < 0) return Status::Corruption("dictionary page has a negative value count");
  const uint8_t* p = reinterpret_cast<const uint8_t*>(page.data());
  const uint8_t* end = p + page.size();
  dict_fixed_.clear();
  dict_offsets_.clear();
  dict_bytes_.clear();
  size_t n = static_cast<size_t>(num_values);
  switch (leaf_->physical) {
    case fmt_::Type::kByteArray: {
      if (n > page.size() / 4) return Status::Corruption("dictionary page holds fewer values than it claims");
      dict_offsets_.reserve(n + 1);
      dict_offsets_.push_back(0);
      dict_bytes_.reserve(page.size());
      for (size_t i = 0; i < n; ++i) {
        if (end - p < 4) return Status::Corruption("dictionary page truncated in value " + std::to_string(i));
        uint32_t len = LoadU32(p);
        p += 4;
        if (len > static_cast<uint64_t>(end - p)) {
          return Status::Corruption("dictionary value " + std::to_string(i) + " is longer than its page");
        }
        dict_bytes_.append(reinterpret_cast<const char*>(p), len);
        p += len;
        dict_offsets_.push_back(dict_bytes_.size());
      }
      break;
    }
    case fmt_::Type::kInt32:
    case fmt_::Type::kFloat: {
      if (n > page.size() / 4) return Status::Corruption("dictionary page holds fewer values than it claims");
      dict_fixed_.resize(n);
      for (size_t i = 0; i < n; ++i) {
        uint32_t v = LoadU32(p + 4 * i);
        if (leaf_->physical == fmt_::Type::kFloat) {
          float f;
          std::memcpy(&f, &v, 4);
          double d = f;
          std::memcpy(&dict_fixed_[i], &d, 8);
        } else {
          dict_fixed_[i] = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(v)));
        }
      }
      break;
    }
    case fmt_::Type::kInt64:
    case fmt_::Type::kDouble: {
      if (n > page.size() / 8) return Status::Corruption("dictionary page holds fewer values than it claims");
      dict_fixed_.resize(n);
      if (n > 0) std::memcpy(dict_fixed_.data(), p, n * 8);
      break;
    }
    default:
      return Status::Corruption("dictionary page for a column type that cannot have one");
  }
  have_dict_ = true;
  dict_size_ = n;
  return Status::OK();
}

template <typename T>
void ColumnDecoder::AppendFixed(std::vector<T>& vec, const T* src, size_t count) {
  if (count == 0) return;  // src may be null for an empty page
  size_t old = vec.size();
  vec.resize(old + count);
  std::memcpy(vec.data() + old, src, count * sizeof(T));
}

// Checks that `data` holds `count` PLAIN strings (each a 4-byte length, then its bytes) within `size`
// bytes; *total is the sum of their lengths.
static Status CheckPlainStrings(const uint8_t* data, size_t size, size_t count, size_t* total) {
  const uint8_t* p = data;
  const uint8_t* end = data + size;
  if (count > size / 4) return Status::Corruption("PLAIN strings: page holds fewer values than it claims");
  *total = 0;
  for (size_t i = 0; i < count; ++i) {
    if (end - p < 4) return Status::Corruption("PLAIN strings: page truncated at value " + std::to_string(i));
    uint32_t len = LoadU32(p);
    p += 4;
    if (len > static_cast<uint64_t>(end - p)) {
      return Status::Corruption("PLAIN strings: value " + std::to_string(i) + " of " + std::to_string(len) +
                                " bytes runs past the page end");
    }
    p += len;
    *total += len;
  }
  return Status::OK();
}

Status ColumnDecoder::CompactPlainStrings(const uint8_t* data, size_t size, size_t count, ColumnVector* out) {
  size_t total;
  CDC_RETURN_IF_ERROR(CheckPlainStrings(data, size, count, &total));
  out->offsets_.reserve(out->offsets_.size() + count);
  // Every value moves down by the length prefixes before it (and by whatever precedes `data` in the
  // buffer: the definition levels), never up, so one forward pass of memmove is safe.
  char* buf = out->bytes_.data();
  const uint8_t* p = data;
  size_t w = 0;
  for (size_t i = 0; i < count; ++i) {
    uint32_t len = LoadU32(p);
    p += 4;
    std::memmove(buf + w, p, len);
    p += len;
    w += len;
    out->offsets_.push_back(w);
  }
  out->bytes_.Resize(total);  // shrinks: keeps the values
  return Status::OK();
}

Status ColumnDecoder::DecodePlain(const uint8_t* data, size_t size, size_t count, ColumnVector* out) {
  const Leaf& lf = *leaf_;
  switch (lf.physical) {
    case fmt_::Type::kByteArray: {
      // Two passes: find the total length first so the byte buffer grows once.
      size_t total;
      CDC_RETURN_IF_ERROR(CheckPlainStrings(data, size, count, &total));
      out->offsets_.reserve(out->offsets_.size() + count);
      out->bytes_.Reserve(out->bytes_.size() + total);
      const uint8_t* p = data;
      for (size_t i = 0; i < count; ++i) {
        uint32_t len = LoadU32(p);
        p += 4;
        out->bytes_.Append(reinterpret_cast<const char*>(p), len);
        p += len;
        out->offsets_.push_back(out->bytes_.size());
      }
      return Status::OK();
    }
    case fmt_::Type::kInt32: {
      if (count > size / 4) return Status::Corruption("PLAIN INT32: page holds fewer values than it claims");
      AppendFixed(out->ints32_, reinterpret_cast<const int32_t*>(data), count);
      return Status::OK();
    }
    case fmt_::Type::kInt64: {
      if (count > size / 8) return Status::Corruption("PLAIN INT64: page holds fewer values than it claims");
      size_t old = out->ints64_.size();
      AppendFixed(out->ints64_, reinterpret_cast<const int64_t*>(data), count);
      if (lf.timestamp_multiplier != 1 || lf.timestamp_divisor != 1) {
        for (size_t i = old; i < out->ints64_.size(); ++i) {
          int64_t& v = out->ints64_[i];
          if (lf.timestamp_divisor != 1) {
            int64_t q = v / lf.timestamp_divisor;
            if (v % lf.timestamp_divisor < 0) --q;
            v = q;
          } else {
            v = static_cast<int64_t>(static_cast<uint64_t>(v) * static_cast<uint64_t>(lf.timestamp_multiplier));
          }
        }
      }
      return Status::OK();
    }
    case fmt_::Type::kDouble: {
      if (count > size / 8) return Status::Corruption("PLAIN DOUBLE: page holds fewer values than it claims");
      AppendFixed(out->doubles_, reinterpret_cast<const double*>(data), count);
      return Status::OK();
    }
    case fmt_::Type::kFloat: {
      if (count > size / 4) return Status::Corruption("PLAIN FLOAT: page holds fewer values than it claims");
      for (size_t i = 0; i < count; ++i) {
        float f;
        std::memcpy(&f, data + 4 * i, 4);
        out->doubles_.push_back(f);
      }
      return Status::OK();
    }
    case fmt_::Type::kBoolean: {
      if (count > size * 8) return Status::Corruption("PLAIN BOOLEAN: page holds fewer values than it claims");
      for (size_t i = 0; i < count; ++i) out->bools_.push_back((data[i / 8] >> (i % 8)) & 1);
      return Status::OK();
    }
    default:
      return Status::Corruption("unsupported physical type");
  }
}

Status ColumnDecoder::DecodeDictIndices(const uint8_t* data, size_t size, size_t count, ColumnVector* out) {
  if (!have_dict_) return Status::Corruption("dictionary-encoded page without a dictionary page");
  if (size < 1) return Status::Corruption("dictionary-encoded page is empty");
  int bw = data[0];
  if (bw > 32) return Status::Corruption("dictionary index bit width " + std::to_string(bw) + " exceeds 32");
  indices_.resize(count);
  RleHybridDecoder dec(data + 1, size - 1, bw);
  if (!dec.Get(indices_.data(), count)) return Status::Corruption("dictionary indices are truncated");
  for (uint32_t idx : indices_) {
    if (idx >= dict_size_) {
      return Status::Corruption("dictionary index " + std::to_string(idx) + " is out of range (dictionary has " +
                                std::to_string(dict_size_) + " values)");
    }
  }
  const Leaf& lf = *leaf_;
  switch (lf.physical) {
    case fmt_::Type::kByteArray: {
      size_t total = 0;
      for (uint32_t idx : indices_) total += dict_offsets_[idx + 1] - dict_offsets_[idx];
      out->bytes_.Reserve(out->bytes_.size() + total);
      out->offsets_.reserve(out->offsets_.size() + count);
      for (uint32_t idx : indices_) {
        size_t len = dict_offsets_[idx + 1] - dict_offsets_[idx];
        out->bytes_.Append(dict_bytes_.data() + dict_offsets_[idx], len);
        out->offsets_.push_back(out->bytes_.size());
      }
      return Status::OK();
    }
    case fmt_::Type::kInt32:
      for (uint32_t idx : indices_) out->ints32_.push_back(static_cast<int32_t>(dict_fixed_[idx]));
      return Status::OK();
    case fmt_::Type::kInt64:
      for (uint32_t idx : indices_) {
        int64_t v = static_cast<int64_t>(dict_fixed_[idx]);
        if (lf.timestamp_divisor != 1) {
          int64_t q = v / lf.timestamp_divisor;
          if (v % lf.timestamp_divisor < 0) --q;
          v = q;
        } else if (lf.timestamp_multiplier != 1) {
          v = static_cast<int64_t>(static_cast<uint64_t>(v) * static_cast<uint64_t>(lf.timestamp_multiplier));
        }
        out->ints64_.push_back(v);
      }
      return Status::OK();
    case fmt_::Type::kDouble:
    case fmt_::Type::kFloat:
      for (uint32_t idx : indices_) {
        double d;
        std::memcpy(&d, &dict_fixed_[idx], 8);
        out->doubles_.push_back(d);
      }
      return Status::OK();
    default:
      return Status::Corruption("dictionary encoding for a column type that cannot have one");
  }
}

Status ColumnDecoder::DecodeValues(fmt_::Encoding enc, const uint8_t* data, size_t size, size_t count,
                                   ColumnVector* out) {
  const Leaf& lf = *leaf_;
  switch (enc) {
    case fmt_::Encoding::kPlain:
      return DecodePlain(data, size, count, out);
    case fmt_::Encoding::kPlainDictionary:
    case fmt_::Encoding::kRleDictionary:
      return DecodeDictIndices(data, size, count, out);
    case fmt_::Encoding::kRle: {
      if (lf.physical != fmt_::Type::kBoolean) return Status::Corruption("RLE encoding for a non-boolean column");
      if (size < 4) return Status::Corruption("RLE booleans: missing length prefix");
      uint32_t len = LoadU32(data);
      if (len > size - 4) return Status::Corruption("RLE booleans: length prefix exceeds the page");
      size_t old = out->bools_.size();
      out->bools_.resize(old + count);
      RleHybridDecoder dec(data + 4, len, 1);
      if (!dec.Get(out->bools_.data() + old, count)) return Status::Corruption("RLE booleans are truncated");
      return Status::OK();
    }
    case fmt_::Encoding::kDeltaBinaryPacked: {
      size_t used;
      if (!DecodeDeltaBinaryPacked(data, size, count, &deltas_, &used) || deltas_.size() != count) {
        return Status::Corruption("DELTA_BINARY_PACKED values are malformed or truncated");
      }
      if (lf.physical == fmt_::Type::kInt32) {
        for (int64_t v : deltas_) out->ints32_.push_back(static_cast<int32_t>(v));
      } else if (lf.physical == fmt_::Type::kInt64) {
        for (int64_t v : deltas_) {
          if (lf.timestamp_divisor != 1) {
            int64_t q = v / lf.timestamp_divisor;
            if (v % lf.timestamp_divisor < 0) --q;
            v = q;
          } else if (lf.timestamp_multiplier != 1) {
            v = static_cast<int64_t>(static_cast<uint64_t>(v) * static_cast<uint64_t>(lf.timestamp_multiplier));
          }
          out->ints64_.push_back(v);
        }
      } else {
        return Status::Corruption("DELTA_BINARY_PACKED for a non-integer column");
      }
      return Status::OK();
    }
    case fmt_::Encoding::kDeltaLengthByteArray:
    case fmt_::Encoding::kDeltaByteArray: {
      if (lf.physical != fmt_::Type::kByteArray) return Status::Corruption("DELTA string encoding for a non-string column");
      size_t used = 0, used2 = 0;
      const uint8_t* p = data;
      size_t left = size;
      bool prefixed = enc == fmt_::Encoding::kDeltaByteArray;
      if (prefixed) {
        if (!DecodeDeltaBinaryPacked(p, left, count, &deltas2_, &used2) || deltas2_.size() != count) {
          return Status::Corruption("DELTA_BYTE_ARRAY prefix lengths are malformed");
        }
        p += used2;
        left -= used2;
      }
      if (!DecodeDeltaBinaryPacked(p, left, count, &deltas_, &used) || deltas_.size() != count) {
        return Status::Corruption("DELTA string lengths are malformed or truncated");
      }
      p += used;
      left -= used;
      uint64_t base = out->bytes_.size();
      uint64_t prev_start = 0, prev_len = 0;
      for (size_t i = 0; i < count; ++i) {
        int64_t len = deltas_[i];
        int64_t prefix = prefixed ? deltas2_[i] : 0;
        if (len < 0 || static_cast<uint64_t>(len) > left || prefix < 0 || static_cast<uint64_t>(prefix) > prev_len) {
          return Status::Corruption("DELTA string value " + std::to_string(i) + " has a bad length or prefix");
        }
        uint64_t start = out->bytes_.size();
        if (prefix > 0) {
          // copy the prefix from the previous value (which lives in the same buffer)
          out->bytes_.Resize(start + static_cast<size_t>(prefix));
          std::memmove(out->bytes_.data() + start, out->bytes_.data() + prev_start, static_cast<size_t>(prefix));
        }
        out->bytes_.Append(reinterpret_cast<const char*>(p), static_cast<size_t>(len));
        p += len;
        left -= static_cast<size_t>(len);
        prev_start = start;
        prev_len = out->bytes_.size() - start;
        out->offsets_.push_back(out->bytes_.size());
      }
      (void)base;
      return Status::OK();
    }
    case fmt_::Encoding::kByteStreamSplit: {
      size_t width = (lf.physical == fmt_::Type::kInt32 || lf.physical == fmt_::Type::kFloat) ? 4
                     : (lf.physical == fmt_::Type::kInt64 || lf.physical == fmt_::Type::kDouble) ? 8 : 0;
      if (width == 0) return Status::Corruption("BYTE_STREAM_SPLIT for an unsupported column type");
      if (count > size / width) return Status::Corruption("BYTE_STREAM_SPLIT: page holds fewer values than it claims");
      std::string joined(count * width, '\0');
      for (size_t i = 0; i < count; ++i) {
        for (size_t b = 0; b < width; ++b) joined[i * width + b] = static_cast<char>(data[b * count + i]);
      }
      return DecodePlain(reinterpret_cast<const uint8_t*>(joined.data()), joined.size(), count, out);
    }
    default:
      return Status::Corruption("unsupported value encoding " + EncodingName(enc));
  }
}

// The page's `count` non-null values were appended densely after `start`; spread them out so that
// row i of the page sits at start+i, with a null slot wherever defs[i] == 0.
void ColumnDecoder::ExpandNulls(ColumnVector* out, size_t start, size_t count, const uint8_t* defs) {
  auto spread = [&](auto& vec) {
    using T = typename std::decay_t<decltype(vec)>::value_type;
    size_t dense = vec.size() - start;
    vec.resize(start + count);
    size_t src = start + dense;
    for (size_t i = count; i-- > 0;) {
      if (defs[i]) vec[start + i] = vec[--src];
      else vec[start + i] = T{};
    }
  };
  switch (leaf_->physical) {
    case fmt_::Type::kByteArray: {
      // offsets_ has one entry per value after the initial 0: entry start+1+i ends value i.
      size_t first = start + 1;
      size_t dense = out->offsets_.size() - first;
      out->offsets_.resize(first + count);
      size_t src = first + dense;
      uint64_t fill = out->offsets_[start];
      // walk backwards; a null's end offset equals the previous value's end
      for (size_t i = count; i-- > 0;) {
        if (defs[i]) out->offsets_[first + i] = out->offsets_[--src];
        else out->offsets_[first + i] = ~0ull;  // patched below
      }
      for (size_t i = 0; i < count; ++i) {
        if (out->offsets_[first + i] == ~0ull) out->offsets_[first + i] = fill;
        else fill = out->offsets_[first + i];
      }
      break;
    }
    case fmt_::Type::kInt32: spread(out->ints32_); break;
    case fmt_::Type::kInt64: spread(out->ints64_); break;
    case fmt_::Type::kDouble:
    case fmt_::Type::kFloat: spread(out->doubles_); break;
    case fmt_::Type::kBoolean: spread(out->bools_); break;
    default: break;
  }
}

Status ColumnDecoder::ScanPages(std::string_view chunk, int64_t num_rows, const ReaderOptions& options,
                                std::optional<PageRef>* dict, std::vector<PageRef>* pages) {
  dict->reset();
  pages->clear();
  size_t pos = 0;
  int64_t rows = 0;
  int page_no = 0;
  while (rows < num_rows) {
    if (pos >= chunk.size()) {
      return Status::Corruption("column chunk ends after " + std::to_string(rows) + " of " + std::to_string(num_rows) +
                                " values");
    }
    size_t hdr_len = 0;
    auto ph_or = fmt_::ParsePageHeader(chunk.substr(pos), &hdr_len);
    if (!ph_or.ok()) return ph_or.status().WithContext("page " + std::to_string(page_no));
    PageRef ref;
    ref.header = std::move(ph_or).value();
    const fmt_::PageHeader& ph = ref.header;
    pos += hdr_len;
    if (static_cast<uint64_t>(ph.compressed_page_size) > chunk.size() - pos) {
      return Status::Corruption("page " + std::to_string(page_no) + " claims " + std::to_string(ph.compressed_page_size) +
                                " bytes but the column chunk has only " + std::to_string(chunk.size() - pos) + " left");
    }
    if (ph.uncompressed_page_size > options.max_page_bytes) {
      return Status::Corruption("page " + std::to_string(page_no) + " claims an uncompressed size of " +
                                std::to_string(ph.uncompressed_page_size) + " bytes, above the limit");
    }
    ref.payload_offset = pos;
    ref.payload_size = static_cast<size_t>(ph.compressed_page_size);
    pos += ref.payload_size;
    ref.page_no = page_no;
    std::string where = "page " + std::to_string(page_no++);

    if (ph.type == fmt_::PageType::kDictionaryPage) {
      if (!ph.dictionary_page) return Status::Corruption(where + ": dictionary page without its header");
      if (*dict) return Status::Corruption(where + ": a second dictionary page in one column chunk");
      *dict = std::move(ref);
      continue;
    }
    if (ph.type == fmt_::PageType::kIndexPage) continue;
    int64_t page_values;
    if (ph.type == fmt_::PageType::kDataPage) {
      if (!ph.data_page) return Status::Corruption(where + ": data page without its header");
      page_values = ph.data_page->num_values;
    } else if (ph.type == fmt_::PageType::kDataPageV2) {
      if (!ph.data_page_v2) return Status::Corruption(where + ": data page v2 without its header");
      page_values = ph.data_page_v2->num_values;
    } else {
      return Status::Corruption(where + ": unknown page type " + std::to_string(static_cast<int>(ph.type)));
    }
    if (page_values < 0 || page_values > num_rows - rows) {
      return Status::Corruption(where + " holds " + std::to_string(page_values) + " values, more than the " +
                                std::to_string(num_rows - rows) + " rows left in the row group");
    }
    ref.first_row = rows;
    rows += page_values;
    pages->push_back(std::move(ref));
  }
  return Status::OK();
}

Status ColumnDecoder::LoadDictionary(std::string_view chunk, const fmt_::ColumnMetaData& meta, const Leaf& leaf,
                                     const PageRef& dict) {
  leaf_ = &leaf;
  ResetDictionary();
  std::string where = "page " + std::to_string(dict.page_no);
  std::string_view payload = chunk.substr(dict.payload_offset, dict.payload_size);
  Status s = decompressor_.Decompress(meta.codec, payload, static_cast<size_t>(dict.header.uncompressed_page_size),
                                      &page_);
  if (!s.ok()) return s.WithContext(where);
  s = DecodeDictionary(page_, dict.header.dictionary_page->num_values);
  if (!s.ok()) return s.WithContext(where);
  return Status::OK();
}

Status ColumnDecoder::AppendPage(std::string_view chunk, const fmt_::ColumnMetaData& meta, const Leaf& leaf,
                                 const PageRef& page, ColumnVector* out) {
  const bool was_empty = out->size_ == 0 && out->bytes_.empty();
  Status s = AppendPageValues(chunk, meta, leaf, page, was_empty, out);
  // A failed page adds no value; one decompressed in place leaves its bytes behind: drop them.
  if (!s.ok() && was_empty) out->Clear();
  return s;
}

Status ColumnDecoder::AppendPageValues(std::string_view chunk, const fmt_::ColumnMetaData& meta, const Leaf& leaf,
                                       const PageRef& page, bool empty_vector, ColumnVector* out) {
  leaf_ = &leaf;
  const fmt_::PageHeader& ph = page.header;
  std::string_view payload = chunk.substr(page.payload_offset, page.payload_size);
  std::string where = "page " + std::to_string(page.page_no);
  int64_t page_values;
  fmt_::Encoding enc;
  const uint8_t* values = nullptr;
  size_t values_size = 0;
  const uint8_t* def_data = nullptr;
  size_t def_size = 0;
  bool in_place = false;  // the page was decompressed into out->bytes_ (below)
  if (ph.type == fmt_::PageType::kDataPage) {
    page_values = ph.data_page->num_values;
    enc = ph.data_page->encoding;
    // A PLAIN string page appended to an empty vector is decompressed straight into the vector's byte
    // buffer, and its values are compacted there (CompactPlainStrings): no second page-sized buffer
    // to fault in, no copy.
    in_place = empty_vector && enc == fmt_::Encoding::kPlain && leaf.physical == fmt_::Type::kByteArray;
    ByteBuffer* dest = in_place ? &out->bytes_ : &page_;
    Status s = decompressor_.Decompress(meta.codec, payload, static_cast<size_t>(ph.uncompressed_page_size), dest);
    if (!s.ok()) return s.WithContext(where);
    const uint8_t* p = reinterpret_cast<const uint8_t*>(dest->data());
    size_t left = dest->size();
    if (leaf.nullable) {
      if (left < 4) return Status::Corruption(where + ": definition levels truncated");
      uint32_t len = LoadU32(p);
      if (len > left - 4) return Status::Corruption(where + ": definition levels length exceeds the page");
      def_data = p + 4;
      def_size = len;
      p += 4 + len;
      left -= 4 + len;
    }
    values = p;
    values_size = left;
  } else {  // kDataPageV2 (ScanPages lists data pages only)
    const fmt_::DataPageHeaderV2& h = *ph.data_page_v2;
    page_values = h.num_values;
    enc = h.encoding;
    if (h.repetition_levels_byte_length != 0) {
      return Status::Corruption(where + ": repetition levels in a flat column");
    }
    if (h.definition_levels_byte_length < 0 ||
        static_cast<uint64_t>(h.definition_levels_byte_length) > payload.size() ||
        h.definition_levels_byte_length > ph.uncompressed_page_size) {
      return Status::Corruption(where + ": definition levels length exceeds the page");
    }
    size_t dl = static_cast<size_t>(h.definition_levels_byte_length);
    def_data = reinterpret_cast<const uint8_t*>(payload.data());
    def_size = dl;
    std::string_view rest = payload.substr(dl);
    size_t expected = static_cast<size_t>(ph.uncompressed_page_size) - dl;
    if (h.is_compressed && meta.codec != fmt_::Codec::kUncompressed) {
      Status s = decompressor_.Decompress(meta.codec, rest, expected, &v2_values_);
      if (!s.ok()) return s.WithContext(where);
      values = reinterpret_cast<const uint8_t*>(v2_values_.data());
      values_size = v2_values_.size();
    } else {
      values = reinterpret_cast<const uint8_t*>(rest.data());
      values_size = rest.size();
    }
    if (!leaf.nullable) def_data = nullptr;
  }
  size_t n = static_cast<size_t>(page_values);
  size_t non_null = n;
  size_t start = out->size_;
  if (leaf.nullable) {
    defs_.resize(n);
    RleHybridDecoder dec(def_data, def_size, 1);
    if (n > 0 && !dec.Get(defs_.data(), n)) return Status::Corruption(where + ": definition levels are truncated");
    non_null = 0;
    for (size_t i = 0; i < n; ++i) {
      if (defs_[i] > 1) return Status::Corruption(where + ": definition level above 1 in a flat column");
      non_null += defs_[i];
    }
  }
  Status s = in_place ? CompactPlainStrings(values, values_size, non_null, out)
                      : DecodeValues(enc, values, values_size, non_null, out);
  if (!s.ok()) return s.WithContext(where);
  if (leaf.nullable) {
    if (non_null != n) ExpandNulls(out, start, n, defs_.data());
    out->valid_.insert(out->valid_.end(), defs_.begin(), defs_.begin() + static_cast<std::ptrdiff_t>(n));
    out->null_count_ += n - non_null;
  }
  out->size_ += n;
  return Status::OK();
}

Status ColumnDecoder::Decode(std::string_view chunk, const fmt_::ColumnMetaData& meta, const ParquetReader::Leaf& leaf,
                             int64_t num_rows, const ReaderOptions& options, ColumnVector* out) {
  leaf_ = &leaf;
  ResetDictionary();
  if (out->type() == leaf.type && out->nullable() == leaf.nullable) {
    out->Clear();  // keeps the buffers of the previous row group
  } else {
    *out = ColumnVector(leaf.type, leaf.nullable);
  }
  std::optional<PageRef> dict;
  CDC_RETURN_IF_ERROR(ScanPages(chunk, num_rows, options, &dict, &scanned_));
  // One allocation up front instead of doubling: the chunk's uncompressed size bounds the PLAIN
  // string bytes (dictionary-encoded chunks may still grow). Capped by the file-derived row count.
  // Both hints are capped by what the chunk's bytes can plausibly expand to, so a hostile header
  // cannot make this allocate much more than the file size.
  size_t rows_hint = std::min<size_t>(static_cast<size_t>(num_rows), chunk.size() * 8 + 1024);
  size_t bytes_hint = 0;
  if (meta.total_uncompressed_size > 0 && meta.total_uncompressed_size <= options.max_page_bytes) {
    bytes_hint = std::min<size_t>(static_cast<size_t>(meta.total_uncompressed_size), chunk.size() * 16);
  }
  out->Reserve(rows_hint, bytes_hint);
  if (dict) CDC_RETURN_IF_ERROR(LoadDictionary(chunk, meta, leaf, *dict));
  for (const PageRef& page : scanned_) CDC_RETURN_IF_ERROR(AppendPage(chunk, meta, leaf, page, out));
  return Status::OK();
}

// ---------------------------------------------------------------------------------------------

ParquetReader::ParquetReader(std::unique_ptr<RandomAccessSource> source, const ReaderOptions& options)
    : source_(std::move(source)), options_(options), decoder_(std::make_unique<ColumnDecoder>()) {}

ParquetReader::~ParquetReader() = default;

Status ParquetReader::Corrupt(const std::string& what) const {
  return Status::Corruption("Parquet file " + source_->name() + ": " + what);
}

Result<std::unique_ptr<ParquetReader>> ParquetReader::OpenFile(const std::string& path, const ReaderOptions& options) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    std::string msg = "cannot open Parquet file " + path + ": " + std::strerror(err);
    return err == ENOENT ? Status::NotFound(msg) : Status::IoError(msg);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return Status::IoError("cannot stat Parquet file " + path + ": " + std::strerror(errno));
  }
  return Open(std::make_unique<FileSource>(path, fd, static_cast<uint64_t>(st.st_size)), options);
}

Result<std::unique_ptr<ParquetReader>> ParquetReader::OpenBuffer(std::string data, std::string name,
                                                                 const ReaderOptions& options) {
  auto owner = std::make_shared<const std::string>(std::move(data));
  std::string_view view(*owner);
  return OpenView(view, std::move(owner), std::move(name), options);
}

Result<std::unique_ptr<ParquetReader>> ParquetReader::OpenView(std::string_view data, std::shared_ptr<const void> owner,
                                                               std::string name, const ReaderOptions& options) {
  return Open(std::make_unique<ViewSource>(data, std::move(owner), std::move(name)), options);
}

Result<std::unique_ptr<ParquetReader>> ParquetReader::Open(std::unique_ptr<RandomAccessSource> source,
                                                           const ReaderOptions& options) {
  std::unique_ptr<ParquetReader> r(new ParquetReader(std::move(source), options));
  CDC_RETURN_IF_ERROR(r->Init());
  return r;
}

Status ParquetReader::Init() {
  const uint64_t size = source_->size();
  if (size < 12) return Corrupt("too short to be Parquet (" + std::to_string(size) + " bytes, need at least 12)");
  ByteBuffer scratch;
  std::string_view head, tail;
  CDC_RETURN_IF_ERROR(source_->Read(0, 4, &scratch, &head));
  if (head != "PAR1") return Corrupt("does not start with the magic bytes PAR1 (not a Parquet file)");
  CDC_RETURN_IF_ERROR(source_->Read(size - 8, 8, &scratch, &tail));
  if (tail.substr(4) != "PAR1") {
    return Corrupt("does not end with the magic bytes PAR1 (truncated, or still being written)");
  }
  uint32_t footer_len = LoadU32(reinterpret_cast<const uint8_t*>(tail.data()));
  if (footer_len > size - 12) {
    return Corrupt("footer length " + std::to_string(footer_len) + " exceeds the file size " + std::to_string(size));
  }
  std::string_view footer;
  CDC_RETURN_IF_ERROR(source_->Read(size - 8 - footer_len, footer_len, &scratch, &footer));
  auto md = fmt_::ParseFileMetaData(footer);
  if (!md.ok()) return Corrupt(md.status().message());
  metadata_ = std::move(md).value();

  // Schema: a root with only primitive children (flat files).
  const auto& els = metadata_.schema;
  if (els.empty()) return Corrupt("schema is empty");
  if (els[0].num_children != static_cast<int32_t>(els.size() - 1)) {
    return Corrupt("schema root has " + std::to_string(els[0].num_children) + " children but " +
                   std::to_string(els.size() - 1) + " elements follow (nested schemas are not supported)");
  }
  for (size_t i = 1; i < els.size(); ++i) {
    const fmt_::SchemaElement& e = els[i];
    if (e.num_children != 0 || !e.type) return Corrupt("column '" + e.name + "' is nested (not supported)");
    if (e.repetition && *e.repetition == fmt_::Repetition::kRepeated) {
      return Corrupt("column '" + e.name + "' is REPEATED (not supported)");
    }
    Leaf lf;
    lf.name = e.name;
    lf.physical = *e.type;
    lf.nullable = !e.repetition || *e.repetition == fmt_::Repetition::kOptional;
    int conv = e.converted_type ? static_cast<int>(*e.converted_type) : -1;
    using K = fmt_::LogicalType::Kind;
    switch (lf.physical) {
      case fmt_::Type::kBoolean: lf.type = ColumnType::kBoolean; break;
      case fmt_::Type::kInt32:
        lf.type = (e.logical.kind == K::kDate || conv == static_cast<int>(fmt_::ConvertedType::kDate)) ? ColumnType::kDate
                                                                                                   : ColumnType::kInt32;
        break;
      case fmt_::Type::kInt64:
        if (e.logical.kind == K::kTimestamp) {
          lf.type = ColumnType::kTimestampMicros;
          if (e.logical.unit == fmt_::TimeUnit::kMillis) lf.timestamp_multiplier = 1000;
          if (e.logical.unit == fmt_::TimeUnit::kNanos) lf.timestamp_divisor = 1000;
        } else if (conv == static_cast<int>(fmt_::ConvertedType::kTimestampMicros)) {
          lf.type = ColumnType::kTimestampMicros;
        } else if (conv == static_cast<int>(fmt_::ConvertedType::kTimestampMillis)) {
          lf.type = ColumnType::kTimestampMicros;
          lf.timestamp_multiplier = 1000;
        } else {
          lf.type = ColumnType::kInt64;
        }
        break;
      case fmt_::Type::kFloat:
      case fmt_::Type::kDouble: lf.type = ColumnType::kDouble; break;
      case fmt_::Type::kByteArray:
        lf.type = (e.logical.kind == K::kString || e.logical.kind == K::kJson ||
                   conv == static_cast<int>(fmt_::ConvertedType::kUtf8) || conv == static_cast<int>(fmt_::ConvertedType::kJson))
                      ? ColumnType::kString
                      : ColumnType::kBinary;
        break;
      default:
        return Corrupt("column '" + e.name + "' has physical type " + std::to_string(static_cast<int>(lf.physical)) +
                       " (INT96/FIXED_LEN_BYTE_ARRAY are not supported)");
    }
    schema_.columns.push_back({lf.name, lf.type, lf.nullable});
    leaves_.push_back(std::move(lf));
  }

  // Row groups: every chunk lies inside the data area and matches the schema.
  const uint64_t data_end = size - 8 - footer_len;
  int64_t total_rows = 0;
  for (size_t g = 0; g < metadata_.row_groups.size(); ++g) {
    const fmt_::RowGroup& rg = metadata_.row_groups[g];
    std::string where = "row group " + std::to_string(g);
    if (rg.columns.size() != leaves_.size()) {
      return Corrupt(where + " has " + std::to_string(rg.columns.size()) + " column chunks, the schema " +
                     std::to_string(leaves_.size()) + " columns");
    }
    if (rg.num_rows < 0 || rg.num_rows > options_.max_row_group_rows) {
      return Corrupt(where + " claims " + std::to_string(rg.num_rows) + " rows (limit " +
                     std::to_string(options_.max_row_group_rows) + ", see ReaderOptions::max_row_group_rows)");
    }
    total_rows += rg.num_rows;
    for (size_t c = 0; c < rg.columns.size(); ++c) {
      const fmt_::ColumnMetaData& m = rg.columns[c].meta;
      std::string cw = where + ", column '" + leaves_[c].name + "'";
      if (m.type != leaves_[c].physical) return Corrupt(cw + ": chunk type differs from the schema type");
      int64_t start = m.data_page_offset;
      if (m.dictionary_page_offset && *m.dictionary_page_offset > 0 && *m.dictionary_page_offset < start) {
        start = *m.dictionary_page_offset;
      }
      if (start < 4 || m.total_compressed_size < 0 || static_cast<uint64_t>(start) > data_end ||
          static_cast<uint64_t>(m.total_compressed_size) > data_end - static_cast<uint64_t>(start)) {
        return Corrupt(cw + ": chunk at offset " + std::to_string(start) + " with " +
                       std::to_string(m.total_compressed_size) + " bytes lies outside the data area (file truncated?)");
      }
    }
  }
  if (total_rows != metadata_.num_rows) {
    return Corrupt("footer says " + std::to_string(metadata_.num_rows) + " rows but the row groups hold " +
                   std::to_string(total_rows));
  }
  for (size_t i = 0; i < leaves_.size(); ++i) all_columns_.push_back(static_cast<int>(i));
  return Status::OK();
}

Result<std::vector<int>> ParquetReader::ResolveColumns(const std::vector<std::string>& names) const {
  std::vector<int> out;
  for (const std::string& n : names) {
    int i = schema_.FindColumn(n);
    if (i < 0) return Status::NotFound("Parquet file " + source_->name() + " has no column '" + n + "'");
    out.push_back(i);
  }
  return out;
}

Status ParquetReader::ReadRowGroup(int index, RecordBatch* out) { return ReadRowGroup(index, all_columns_, out); }

Status ParquetReader::ReadRowGroup(int index, std::span<const int> columns, RecordBatch* out) {
  if (index < 0 || index >= num_row_groups()) {
    return Status::InvalidArgument("Parquet file " + source_->name() + ": no row group " + std::to_string(index));
  }
  const fmt_::RowGroup& rg = metadata_.row_groups[static_cast<size_t>(index)];
  std::vector<ColumnVector>& cols = out->columns();
  cols.resize(columns.size());
  out->set_num_rows(static_cast<size_t>(rg.num_rows));
  for (size_t k = 0; k < columns.size(); ++k) {
    int c = columns[k];
    if (c < 0 || static_cast<size_t>(c) >= leaves_.size()) {
      return Status::InvalidArgument("Parquet file " + source_->name() + ": no column " + std::to_string(c));
    }
    const fmt_::ColumnMetaData& m = rg.columns[static_cast<size_t>(c)].meta;
    int64_t start = m.data_page_offset;
    if (m.dictionary_page_offset && *m.dictionary_page_offset > 0 && *m.dictionary_page_offset < start) {
      start = *m.dictionary_page_offset;
    }
    std::string_view chunk;
    CDC_RETURN_IF_ERROR(source_->Read(static_cast<uint64_t>(start), static_cast<size_t>(m.total_compressed_size),
                                      &chunk_scratch_, &chunk));
    Status s = decoder_->Decode(chunk, m, leaves_[static_cast<size_t>(c)], rg.num_rows, options_, &cols[k]);
    if (!s.ok()) {
      return Corrupt("row group " + std::to_string(index) + ", column '" + leaves_[static_cast<size_t>(c)].name +
                     "': " + s.message());
    }
  }
  return Status::OK();
}


// ---------------------------------------------------------------------------------------------
// Pages decoded separately

namespace {
std::atomic<uint64_t> next_column_pages_id{1};
}  // namespace

ColumnPages::ColumnPages() : id_(next_column_pages_id.fetch_add(1, std::memory_order_relaxed)) {}
ColumnPages::~ColumnPages() = default;
size_t ColumnPages::num_pages() const { return pages_.size(); }
int64_t ColumnPages::first_row(size_t page) const { return pages_[page].first_row; }
int64_t ColumnPages::num_rows(size_t page) const {
  const PageRef& p = pages_[page];
  return p.header.type == fmt_::PageType::kDataPage ? p.header.data_page->num_values : p.header.data_page_v2->num_values;
}

Result<std::shared_ptr<const ColumnPages>> ParquetReader::ReadColumnPages(int index, int column) {
  if (index < 0 || index >= num_row_groups()) {
    return Status::InvalidArgument("Parquet file " + source_->name() + ": no row group " + std::to_string(index));
  }
  if (column < 0 || static_cast<size_t>(column) >= leaves_.size()) {
    return Status::InvalidArgument("Parquet file " + source_->name() + ": no column " + std::to_string(column));
  }
  const fmt_::RowGroup& rg = metadata_.row_groups[static_cast<size_t>(index)];
  const fmt_::ColumnMetaData& m = rg.columns[static_cast<size_t>(column)].meta;
  std::shared_ptr<ColumnPages> pages(new ColumnPages());
  pages->name_ = "Parquet file " + source_->name() + ": row group " + std::to_string(index) + ", column '" +
                 leaves_[static_cast<size_t>(column)].name + "'";
  int64_t start = m.data_page_offset;
  if (m.dictionary_page_offset && *m.dictionary_page_offset > 0 && *m.dictionary_page_offset < start) {
    start = *m.dictionary_page_offset;
  }
  std::string_view chunk;
  CDC_RETURN_IF_ERROR(source_->Read(static_cast<uint64_t>(start), static_cast<size_t>(m.total_compressed_size),
                                    &chunk_scratch_, &chunk));
  pages->keep_ = source_->view_owner();
  if (pages->keep_) {
    pages->chunk_ = chunk;
  } else {
    auto copy = std::make_shared<const std::string>(chunk);
    pages->chunk_ = *copy;
    pages->keep_ = std::move(copy);
  }
  pages->meta_ = m;
  pages->leaf_ = std::make_unique<Leaf>(leaves_[static_cast<size_t>(column)]);
  std::optional<PageRef> dict;
  Status s = ColumnDecoder::ScanPages(pages->chunk_, rg.num_rows, options_, &dict, &pages->pages_);
  if (!s.ok()) return Status::Corruption(pages->name_ + ": " + s.message());
  if (dict) pages->dict_ = std::make_unique<PageRef>(std::move(*dict));
  return std::shared_ptr<const ColumnPages>(std::move(pages));
}

PageDecoder::PageDecoder() : decoder_(std::make_unique<ColumnDecoder>()) {}
PageDecoder::~PageDecoder() = default;

Status PageDecoder::Decode(const ColumnPages& pages, size_t page, ColumnVector* out) {
  const ParquetReader::Leaf& leaf = *pages.leaf_;
  if (out->type() == leaf.type && out->nullable() == leaf.nullable) {
    out->Clear();
  } else {
    *out = ColumnVector(leaf.type, leaf.nullable);
  }
  // `out` is a scratch filled whole by every page (~1 MiB in files of Spark and cdcpipe): in huge pages
  // from 1 MiB, one page fault per use instead of 256, like the decoder's own page buffer.
  out->set_huge_pages_from(size_t{1} << 20);
  const PageRef& ref = pages.pages_[page];
  // Capped like ReadRowGroup's hints: a hostile header cannot make this allocate far beyond the page.
  out->Reserve(std::min<size_t>(static_cast<size_t>(pages.num_rows(page)), ref.payload_size * 8 + 1024),
               std::min<size_t>(static_cast<size_t>(std::max<int32_t>(ref.header.uncompressed_page_size, 0)),
                                ref.payload_size * 16 + 1024));
  if (dict_of_ != pages.id_) {
    dict_of_ = 0;
    decoder_->ResetDictionary();
    if (pages.dict_) {
      Status s = decoder_->LoadDictionary(pages.chunk_, pages.meta_, leaf, *pages.dict_);
      if (!s.ok()) return Status::Corruption(pages.name_ + ": " + s.message());
    }
    dict_of_ = pages.id_;
  }
  Status s = decoder_->AppendPage(pages.chunk_, pages.meta_, leaf, ref, out);
  if (!s.ok()) return Status::Corruption(pages.name_ + ": " + s.message());
  return Status::OK();
}

}  // namespace cdc::parquet
