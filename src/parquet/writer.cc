#include "parquet/writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>

#include "base/random_seed.h"
#include "parquet/encoding.h"
#include "parquet/format.h"

namespace cdc::parquet {

namespace fmt_ = ::cdc::parquet::format;

// ---------------------------------------------------------------------------------------------
// FileSink

Result<std::unique_ptr<FileSink>> FileSink::Open(const std::string& path, bool sync) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError("cannot create Parquet file " + path + ": " + std::strerror(errno));
  return std::unique_ptr<FileSink>(new FileSink(path, fd, sync));
}

FileSink::~FileSink() {
  if (fd_ >= 0) ::close(fd_);
}

Status FileSink::Append(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::IoError("cannot write Parquet file " + path_ + ": " + std::strerror(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::OK();
}

Status FileSink::Close() {
  if (fd_ < 0) return Status::OK();
  if (sync_ && ::fsync(fd_) != 0) {
    return Status::IoError("cannot fsync Parquet file " + path_ + ": " + std::strerror(errno));
  }
  int rc = ::close(fd_);
  fd_ = -1;
  if (rc != 0) return Status::IoError("cannot close Parquet file " + path_ + ": " + std::strerror(errno));
  return Status::OK();
}

// ---------------------------------------------------------------------------------------------
// Column chunk writer

namespace {

fmt_::Type PhysicalType(ColumnType t) {
  switch (t) {
    case ColumnType::kString:
    case ColumnType::kBinary: return fmt_::Type::kByteArray;
    case ColumnType::kBoolean: return fmt_::Type::kBoolean;
    case ColumnType::kInt32:
    case ColumnType::kDate: return fmt_::Type::kInt32;
    case ColumnType::kInt64:
    case ColumnType::kTimestampMicros:
    case ColumnType::kTimestampMicrosLocal: return fmt_::Type::kInt64;
    case ColumnType::kDouble: return fmt_::Type::kDouble;
    case ColumnType::kFloat: return fmt_::Type::kFloat;
    case ColumnType::kDecimal: return fmt_::Type::kFixedLenByteArray;
  }
  return fmt_::Type::kByteArray;
}

void PutU32(std::string* out, uint32_t v) {
  char b[4] = {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16), static_cast<char>(v >> 24)};
  out->append(b, 4);
}

template <typename T>
void PutRaw(std::string* out, T v) {
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));
  out->append(b, sizeof(T));
}
template <typename T>
void PutRaw(ByteBuffer* out, T v) {
  out->Append(reinterpret_cast<const char*>(&v), sizeof(T));
}
void PutU32(ByteBuffer* out, uint32_t v) { PutRaw(out, v); }  // little-endian host, like DictInt

uint64_t MixHash(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

constexpr size_t kMaxStatBytes = 4096;  // longer string min/max are left out of the statistics

}  // namespace

class ParquetWriter::ColumnChunkWriter {
 public:
  ColumnChunkWriter(const ColumnSpec& spec, const WriterOptions& options)
      : spec_(spec),
        options_(options),
        compressor_(options.compression, options.zstd_level),
        // The longest RLE/bit-packed definition levels of a page: page_rows bits, plus a header byte per 8
        // groups of 8, plus the 4-byte length (EncodeRleHybrid; FlushPage checks and copies if not).
        head_(spec.nullable ? static_cast<size_t>(options.page_rows) / 8 + static_cast<size_t>(options.page_rows) / 64 + 16
                            : 0) {
    is_string_ = spec.type == ColumnType::kString || spec.type == ColumnType::kBinary;
    is_int_ = spec.type == ColumnType::kInt32 || spec.type == ColumnType::kDate || spec.type == ColumnType::kInt64 ||
              spec.type == ColumnType::kTimestampMicros || spec.type == ColumnType::kTimestampMicrosLocal;
    Reset();
  }

  // Appends rows [begin, end) of `col`. Returns the uncompressed byte estimate of what was added.
  Status Append(const ColumnVector& col, size_t begin, size_t end, int64_t* added_bytes) {
    int64_t bytes = 0;
    for (size_t i = begin; i < end; ++i) {
      bool valid = !col.IsNull(i);
      if (spec_.nullable) def_levels_.push_back(valid ? 1 : 0);
      ++page_values_;
      if (!valid) {
        ++chunk_nulls_;
      } else {
        switch (spec_.type) {
          case ColumnType::kString:
          case ColumnType::kBinary: {
            std::string_view s = col.String(i);
            bytes += static_cast<int64_t>(s.size()) + 4;
            AppendString(s);
            break;
          }
          case ColumnType::kInt32:
          case ColumnType::kDate:
            bytes += 4;
            AppendInt(static_cast<uint32_t>(col.Int32(i)), 4);
            UpdateIntStats(col.Int32(i));
            break;
          case ColumnType::kInt64:
          case ColumnType::kTimestampMicros:
          case ColumnType::kTimestampMicrosLocal:
            bytes += 8;
            AppendInt(static_cast<uint64_t>(col.Int64(i)), 8);
            UpdateIntStats(col.Int64(i));
            break;
          case ColumnType::kDouble: {
            bytes += 8;
            double d = col.Double(i);
            PutRaw(&plain_, d);
            page_plain_bytes_ += 8;
            UpdateDoubleStats(d);
            break;
          }
          case ColumnType::kFloat: {
            bytes += 4;
            float f = static_cast<float>(col.Double(i));
            PutRaw(&plain_, f);
            page_plain_bytes_ += 4;
            UpdateDoubleStats(f);
            break;
          }
          case ColumnType::kDecimal: {
            // PLAIN FIXED_LEN_BYTE_ARRAY: the 16 bytes, no length; no statistics (their order is
            // the signed value's, not the bytes').
            std::string_view s = col.String(i);
            char fixed[16] = {};
            std::memcpy(fixed, s.data(), std::min<size_t>(s.size(), 16));
            bytes += 16;
            plain_.Append(fixed, 16);
            page_plain_bytes_ += 16;
            break;
          }
          case ColumnType::kBoolean: {
            bytes += 1;
            bool b = col.Bool(i);
            bools_.push_back(b ? 1 : 0);
            if (!has_stats_) {
              bmin_ = bmax_ = b;
              has_stats_ = true;
            } else {
              bmin_ = bmin_ && b;
              bmax_ = bmax_ || b;
            }
            break;
          }
        }
      }
      if (PageFull()) CDC_RETURN_IF_ERROR(FlushPage());
    }
    *added_bytes = bytes;
    uncompressed_estimate_ += bytes;
    return Status::OK();
  }

  // Flushes the open page and hands the whole chunk (dictionary page, data pages) to `write`,
  // filling `cc`. `offset` is the file offset where the chunk will start.
  Status Finish(int64_t offset, const std::function<Status(std::string_view)>& write, fmt_::ColumnChunk* cc) {
    CDC_RETURN_IF_ERROR(FlushPage());
    fmt_::ColumnMetaData& m = cc->meta;
    m.type = PhysicalType(spec_.type);
    m.path_in_schema = {spec_.name};
    m.codec = ToCodec(options_.compression);
    m.num_values = chunk_values_;
    int64_t start = offset;
    if (dict_used_) {
      fmt_::PageHeader ph;
      ph.type = fmt_::PageType::kDictionaryPage;
      CDC_RETURN_IF_ERROR(compressor_.Compress(dict_plain_, &compressed_));
      ph.uncompressed_page_size = static_cast<int32_t>(dict_plain_.size());
      ph.compressed_page_size = static_cast<int32_t>(compressed_.size());
      ph.dictionary_page = fmt_::DictionaryPageHeader{static_cast<int32_t>(dict_count_), fmt_::Encoding::kPlain};
      header_.clear();
      fmt_::Serialize(ph, &header_);
      m.dictionary_page_offset = offset;
      CDC_RETURN_IF_ERROR(write(header_));
      CDC_RETURN_IF_ERROR(write(compressed_.view()));
      chunk_uncompressed_ += static_cast<int64_t>(header_.size() + dict_plain_.size());
      offset += static_cast<int64_t>(header_.size() + compressed_.size());
    }
    m.data_page_offset = offset;
    CDC_RETURN_IF_ERROR(write(pages_.view()));
    offset += static_cast<int64_t>(pages_.size());
    m.total_compressed_size = offset - start;
    m.total_uncompressed_size = chunk_uncompressed_;
    m.encodings.clear();
    if (used_plain_ || dict_used_) m.encodings.push_back(fmt_::Encoding::kPlain);
    m.encodings.push_back(fmt_::Encoding::kRle);
    if (dict_used_) m.encodings.push_back(fmt_::Encoding::kRleDictionary);
    m.statistics = fmt_::Statistics{};
    m.statistics.null_count = chunk_nulls_;
    if (has_stats_) SetMinMax(&m.statistics);
    cc->file_offset = start;
    Reset();
    return Status::OK();
  }

  int64_t buffered_bytes() const { return static_cast<int64_t>(pages_.size() + PlainSize() + dict_plain_.size()); }

 private:
  void Reset() {
    def_levels_.clear();
    indices_.clear();
    ClearPlain();
    bools_.clear();
    pages_.Clear();
    page_values_ = 0;
    page_plain_bytes_ = 0;
    chunk_values_ = 0;
    chunk_nulls_ = 0;
    chunk_uncompressed_ = 0;
    uncompressed_estimate_ = 0;
    dict_mode_ = options_.dictionary && spec_.dictionary && (is_string_ || is_int_);
    dict_used_ = false;
    used_plain_ = false;
    dict_plain_.clear();
    dict_offsets_.clear();
    dict_count_ = 0;
    slots_.assign(dict_mode_ ? 1024 : 0, 0);
    has_stats_ = false;
    smin_.clear();
    smax_.clear();
    stats_too_long_ = false;
  }

  bool PageFull() const {
    if (page_values_ >= static_cast<size_t>(options_.page_rows)) return true;
    if (dict_mode_) {
      return dict_plain_.size() > static_cast<size_t>(options_.dictionary_bytes);
    }
    return PlainSize() + bools_.size() / 8 >= static_cast<size_t>(options_.page_bytes);
  }

  // --- dictionary hash table: slots_ holds dictionary index + 1 (0 = empty), linear probing.
  std::string_view DictString(uint32_t idx) const {
    size_t off = dict_offsets_[idx];
    uint32_t len;
    std::memcpy(&len, dict_plain_.data() + off, 4);
    return std::string_view(dict_plain_.data() + off + 4, len);
  }
  uint64_t DictInt(uint32_t idx, int width) const {
    uint64_t v = 0;
    std::memcpy(&v, dict_plain_.data() + static_cast<size_t>(idx) * width, width);
    return v;
  }

  void GrowTable() {
    std::vector<uint32_t> old;
    old.swap(slots_);
    slots_.assign(old.size() * 2, 0);
    size_t mask = slots_.size() - 1;
    for (uint32_t s : old) {
      if (s == 0) continue;
      uint32_t idx = s - 1;
      uint64_t h = is_string_ ? std::hash<std::string_view>{}(DictString(idx))
                              : MixHash(DictInt(idx, IntWidth()));
      size_t pos = h & mask;
      while (slots_[pos] != 0) pos = (pos + 1) & mask;
      slots_[pos] = s;
    }
  }

  int IntWidth() const {
    return (spec_.type == ColumnType::kInt32 || spec_.type == ColumnType::kDate) ? 4 : 8;
  }

  void AppendString(std::string_view s) {
    page_plain_bytes_ += 4 + s.size();
    if (dict_mode_) {
      size_t mask = slots_.size() - 1;
      size_t pos = std::hash<std::string_view>{}(s) & mask;
      while (true) {
        uint32_t slot = slots_[pos];
        if (slot == 0) break;
        if (DictString(slot - 1) == s) {
          indices_.push_back(slot - 1);
          return;
        }
        pos = (pos + 1) & mask;
      }
      uint32_t idx = static_cast<uint32_t>(dict_count_++);
      dict_offsets_.push_back(dict_plain_.size());
      PutU32(&dict_plain_, static_cast<uint32_t>(s.size()));
      dict_plain_.append(s);
      slots_[pos] = idx + 1;
      indices_.push_back(idx);
      if (dict_count_ * 2 > slots_.size()) GrowTable();
      UpdateStringStats(s);
      return;
    }
    PutU32(&plain_, static_cast<uint32_t>(s.size()));
    plain_.Append(s.data(), s.size());
    UpdateStringStats(s);
  }

  void AppendInt(uint64_t v, int width) {
    page_plain_bytes_ += width;
    if (dict_mode_) {
      size_t mask = slots_.size() - 1;
      size_t pos = MixHash(v) & mask;
      while (true) {
        uint32_t slot = slots_[pos];
        if (slot == 0) break;
        if (DictInt(slot - 1, width) == v) {
          indices_.push_back(slot - 1);
          return;
        }
        pos = (pos + 1) & mask;
      }
      uint32_t idx = static_cast<uint32_t>(dict_count_++);
      dict_plain_.append(reinterpret_cast<const char*>(&v), width);  // little-endian host
      slots_[pos] = idx + 1;
      indices_.push_back(idx);
      if (dict_count_ * 2 > slots_.size()) GrowTable();
      return;
    }
    plain_.Append(reinterpret_cast<const char*>(&v), width);
  }

  // --- statistics
  void UpdateStringStats(std::string_view s) {
    // Parquet orders BYTE_ARRAY by unsigned bytes; std::string_view compares chars via
    // char_traits<char>, which compares as unsigned char (memcmp semantics).
    if (!has_stats_) {
      smin_.assign(s);
      smax_.assign(s);
      has_stats_ = true;
      return;
    }
    if (s < std::string_view(smin_)) smin_.assign(s);
    else if (s > std::string_view(smax_)) smax_.assign(s);
  }
  template <typename T>
  void UpdateIntStats(T v) {
    if (!has_stats_) {
      imin_ = imax_ = v;
      has_stats_ = true;
      return;
    }
    if (v < imin_) imin_ = v;
    if (v > imax_) imax_ = v;
  }
  void UpdateDoubleStats(double d) {
    if (std::isnan(d)) return;  // NaN has no place in an ordering; readers ignore it too
    if (!has_stats_) {
      dmin_ = dmax_ = d;
      has_stats_ = true;
      return;
    }
    if (d < dmin_) dmin_ = d;
    if (d > dmax_) dmax_ = d;
  }
  void SetMinMax(fmt_::Statistics* st) {
    std::string mn, mx;
    switch (spec_.type) {
      case ColumnType::kString:
      case ColumnType::kBinary:
        if (smin_.size() > kMaxStatBytes || smax_.size() > kMaxStatBytes) return;
        mn = smin_;
        mx = smax_;
        break;
      case ColumnType::kInt32:
      case ColumnType::kDate:
        PutRaw(&mn, static_cast<int32_t>(imin_));
        PutRaw(&mx, static_cast<int32_t>(imax_));
        break;
      case ColumnType::kInt64:
      case ColumnType::kTimestampMicros:
      case ColumnType::kTimestampMicrosLocal:
        PutRaw(&mn, imin_);
        PutRaw(&mx, imax_);
        break;
      case ColumnType::kDouble: {
        // The spec asks for -0.0 as a zero minimum and +0.0 as a zero maximum.
        double lo = dmin_ == 0 ? -0.0 : dmin_;
        double hi = dmax_ == 0 ? 0.0 : dmax_;
        PutRaw(&mn, lo);
        PutRaw(&mx, hi);
        break;
      }
      case ColumnType::kBoolean:
        mn.push_back(bmin_ ? 1 : 0);
        mx.push_back(bmax_ ? 1 : 0);
        break;
      case ColumnType::kFloat: {
        float lo = dmin_ == 0 ? -0.0f : static_cast<float>(dmin_);
        float hi = dmax_ == 0 ? 0.0f : static_cast<float>(dmax_);
        PutRaw(&mn, lo);
        PutRaw(&mx, hi);
        break;
      }
      case ColumnType::kDecimal:
        return;
    }
    st->min_value = std::move(mn);
    st->max_value = std::move(mx);
  }

  // Re-encodes the open page's dictionary indices as PLAIN values and leaves dictionary mode.
  // Only valid while no dictionary-encoded page was flushed (the dictionary then equals the
  // values of this page).
  void ConvertPageToPlain() {
    ClearPlain();
    plain_.Reserve(head_ + page_plain_bytes_);
    for (uint32_t idx : indices_) {
      if (is_string_) {
        std::string_view s = DictString(idx);
        PutU32(&plain_, static_cast<uint32_t>(s.size()));
        plain_.Append(s.data(), s.size());
      } else {
        uint64_t v = DictInt(idx, IntWidth());
        plain_.Append(reinterpret_cast<const char*>(&v), IntWidth());
      }
    }
    indices_.clear();
    dict_mode_ = false;
    dict_plain_.clear();
    dict_plain_.shrink_to_fit();
    dict_offsets_.clear();
    dict_offsets_.shrink_to_fit();
    slots_.clear();
    slots_.shrink_to_fit();
    dict_count_ = 0;
  }

  Status FlushPage() {
    if (page_values_ == 0) return Status::OK();
    bool overflow = dict_mode_ && dict_plain_.size() > static_cast<size_t>(options_.dictionary_bytes);
    if (dict_mode_ && !dict_used_) {
      // First page of the chunk: keep the dictionary only if it pays off.
      int bw = std::max(1, BitWidth(dict_count_ > 0 ? dict_count_ - 1 : 0));
      size_t dict_cost = dict_plain_.size() + indices_.size() * static_cast<size_t>(bw) / 8;
      if (overflow || dict_cost * 10 > page_plain_bytes_ * 9) ConvertPageToPlain();
    }
    body_.clear();
    if (spec_.nullable) {
      levels_.clear();
      EncodeRleHybrid(def_levels_.data(), def_levels_.size(), 1, &levels_);
      PutU32(&body_, static_cast<uint32_t>(levels_.size()));
      body_.append(levels_);
    }
    // The page: body_ (levels, then the values), or for PLAIN values the levels written into plain_'s
    // headroom just before them, so a page of long strings is not copied once more before compression.
    std::string_view page;
    fmt_::Encoding enc = fmt_::Encoding::kPlain;
    if (dict_mode_) {
      int bw = std::max(1, BitWidth(dict_count_ > 0 ? dict_count_ - 1 : 0));
      body_.push_back(static_cast<char>(bw));
      EncodeRleHybrid(indices_.data(), indices_.size(), bw, &body_);
      enc = fmt_::Encoding::kRleDictionary;
      dict_used_ = true;
    } else if (spec_.type == ColumnType::kBoolean) {
      uint8_t acc = 0;
      for (size_t i = 0; i < bools_.size(); ++i) {
        acc |= static_cast<uint8_t>(bools_[i] << (i % 8));
        if (i % 8 == 7) {
          body_.push_back(static_cast<char>(acc));
          acc = 0;
        }
      }
      if (bools_.size() % 8) body_.push_back(static_cast<char>(acc));
      used_plain_ = true;
    } else {
      if (body_.size() <= head_) {
        char* start = plain_.data() + head_ - body_.size();
        std::memcpy(start, body_.data(), body_.size());
        page = std::string_view(start, plain_.size() - (head_ - body_.size()));
      } else {
        body_.append(plain_.data() + head_, PlainSize());
      }
      used_plain_ = true;
    }
    if (page.data() == nullptr) page = body_;
    if (page.size() > static_cast<size_t>(INT32_MAX)) {
      return Status::InvalidArgument("Parquet column '" + spec_.name + "': a data page exceeds 2 GiB");
    }
    CDC_RETURN_IF_ERROR(compressor_.Compress(page, &compressed_));
    fmt_::PageHeader ph;
    ph.type = fmt_::PageType::kDataPage;
    ph.uncompressed_page_size = static_cast<int32_t>(page.size());
    ph.compressed_page_size = static_cast<int32_t>(compressed_.size());
    ph.data_page = fmt_::DataPageHeader{static_cast<int32_t>(page_values_), enc, fmt_::Encoding::kRle,
                                        fmt_::Encoding::kRle};
    header_.clear();
    fmt_::Serialize(ph, &header_);
    pages_.Append(header_.data(), header_.size());
    pages_.Append(compressed_.data(), compressed_.size());
    chunk_uncompressed_ += static_cast<int64_t>(header_.size() + page.size());
    chunk_values_ += static_cast<int64_t>(page_values_);
    page_values_ = 0;
    page_plain_bytes_ = 0;
    def_levels_.clear();
    indices_.clear();
    ClearPlain();
    bools_.clear();
    if (overflow && dict_mode_) dict_mode_ = false;  // later pages of this chunk are PLAIN
    return Status::OK();
  }

  ColumnSpec spec_;
  const WriterOptions& options_;
  Compressor compressor_;
  bool is_string_ = false, is_int_ = false;

  // The open page's PLAIN values start at plain_.data() + head_: the headroom before them takes the page's
  // definition levels at the flush (FlushPage).
  size_t PlainSize() const { return plain_.size() - head_; }
  void ClearPlain() { plain_.Resize(head_); }

  // open page
  const size_t head_;  // bytes of headroom in plain_ (0 for a REQUIRED column: no levels)
  std::vector<uint8_t> def_levels_;
  std::vector<uint32_t> indices_;
  ByteBuffer plain_;
  std::vector<uint8_t> bools_;
  size_t page_values_ = 0;
  size_t page_plain_bytes_ = 0;  // what the page's values take PLAIN-encoded

  // dictionary (of the current chunk)
  bool dict_mode_ = false;  // new values go to the dictionary
  bool dict_used_ = false;  // a dictionary-encoded page was flushed: the chunk needs the dictionary page
  bool used_plain_ = false;
  std::string dict_plain_;             // the dictionary page payload (PLAIN-encoded values)
  std::vector<size_t> dict_offsets_;   // strings: where entry i starts in dict_plain_
  size_t dict_count_ = 0;
  std::vector<uint32_t> slots_;

  // chunk
  ByteBuffer pages_;  // finished data pages (header + compressed body)
  int64_t chunk_values_ = 0, chunk_nulls_ = 0, chunk_uncompressed_ = 0, uncompressed_estimate_ = 0;

  // statistics
  bool has_stats_ = false;
  std::string smin_, smax_;
  int64_t imin_ = 0, imax_ = 0;
  double dmin_ = 0, dmax_ = 0;
  bool bmin_ = false, bmax_ = false;
  bool stats_too_long_ = false;

  // scratch
  std::string body_, levels_, header_;
  ByteBuffer compressed_;
};

// ---------------------------------------------------------------------------------------------
// ParquetWriter

struct ParquetWriter::FooterState {
  fmt_::FileMetaData md;
};

ParquetWriter::ParquetWriter(std::unique_ptr<OutputSink> sink, const Schema& schema, const WriterOptions& options)
    : sink_(std::move(sink)), schema_(schema), options_(options), footer_(std::make_unique<FooterState>()) {
  for (const ColumnSpec& c : schema_.columns) columns_.push_back(std::make_unique<ColumnChunkWriter>(c, options_));
}

ParquetWriter::~ParquetWriter() = default;

int ParquetWriter::num_row_groups() const { return static_cast<int>(footer_->md.row_groups.size()); }

Result<std::unique_ptr<ParquetWriter>> ParquetWriter::Open(std::unique_ptr<OutputSink> sink, const Schema& schema,
                                                           const WriterOptions& options) {
  if (schema.columns.empty()) return Status::InvalidArgument("Parquet schema has no columns");
  for (const ColumnSpec& c : schema.columns) {
    if (c.name.empty()) return Status::InvalidArgument("Parquet schema: a column has an empty name");
    if (c.type == ColumnType::kBinary) {
      return Status::InvalidArgument("Parquet column '" + c.name + "': the writer writes strings as kString");
    }
  }
  if (options.page_bytes <= 0 || options.page_rows <= 0 || options.row_group_bytes <= 0 || options.row_group_rows < 0 ||
      options.dictionary_bytes <= 0) {
    return Status::InvalidArgument("Parquet writer options: sizes must be positive");
  }
  std::unique_ptr<ParquetWriter> w(new ParquetWriter(std::move(sink), schema, options));
  CDC_RETURN_IF_ERROR(w->WriteToSink("PAR1"));
  return w;
}

Result<std::unique_ptr<ParquetWriter>> ParquetWriter::OpenFile(const std::string& path, const Schema& schema,
                                                               const WriterOptions& options) {
  CDC_ASSIGN_OR_RETURN(std::unique_ptr<FileSink> sink, FileSink::Open(path));
  return Open(std::move(sink), schema, options);
}

Status ParquetWriter::Reopen(std::unique_ptr<OutputSink> sink) {
  if (!closed_ || !sticky_.ok()) {
    return Status::FailedPrecondition("Parquet writer for " + sink_->Name() + " reopened before it was closed");
  }
  sink_ = std::move(sink);
  footer_ = std::make_unique<FooterState>();
  offset_ = 0;
  rows_written_ = 0;
  group_rows_ = 0;
  group_bytes_ = 0;
  closed_ = false;
  return WriteToSink("PAR1");
}

Status ParquetWriter::WriteToSink(std::string_view data) {
  if (!sticky_.ok()) return sticky_;
  Status s = sink_->Append(data);
  if (!s.ok()) {
    sticky_ = s;
    return s;
  }
  offset_ += static_cast<int64_t>(data.size());
  return Status::OK();
}

Status ParquetWriter::Write(const RecordBatch& batch) {
  if (closed_) return Status::InvalidArgument("Parquet writer for " + sink_->Name() + " is already closed");
  if (!sticky_.ok()) return sticky_;
  if (batch.num_columns() != schema_.columns.size()) {
    return Status::InvalidArgument("record batch has " + std::to_string(batch.num_columns()) +
                                   " columns, the Parquet schema " + std::to_string(schema_.columns.size()));
  }
  const size_t rows = batch.num_rows();
  for (size_t c = 0; c < schema_.columns.size(); ++c) {
    const ColumnVector& col = batch.column(c);
    const ColumnSpec& spec = schema_.columns[c];
    if (col.type() != spec.type || col.size() != rows) {
      return Status::InvalidArgument("record batch column " + std::to_string(c) + " ('" + spec.name +
                                     "') does not match the schema (type " + std::string(ColumnTypeName(col.type())) +
                                     " vs " + std::string(ColumnTypeName(spec.type)) + ", or a different length)");
    }
    if (!spec.nullable && col.null_count() > 0) {
      return Status::InvalidArgument("Parquet column '" + spec.name + "' is REQUIRED but the batch holds nulls");
    }
  }
  size_t row = 0;
  while (row < rows) {
    size_t slice = std::min<size_t>(rows - row, 1024);  // the row-group size is checked per slice
    if (group_rows_ > 0) {
      // Aim the slice at the size limit using the average row size so far.
      int64_t avg = std::max<int64_t>(1, group_bytes_ / group_rows_);
      int64_t left = std::max<int64_t>(0, options_.row_group_bytes - group_bytes_);
      slice = std::min<size_t>(slice, static_cast<size_t>(left / avg + 1));
    }
    if (options_.row_group_rows > 0) {
      slice = std::min<size_t>(slice, static_cast<size_t>(options_.row_group_rows - group_rows_));
    }
    for (size_t c = 0; c < columns_.size(); ++c) {
      int64_t added = 0;
      CDC_RETURN_IF_ERROR(columns_[c]->Append(batch.column(c), row, row + slice, &added));
      group_bytes_ += added;
    }
    row += slice;
    group_rows_ += static_cast<int64_t>(slice);
    rows_written_ += static_cast<int64_t>(slice);
    if ((options_.row_group_rows > 0 && group_rows_ >= options_.row_group_rows) ||
        group_bytes_ >= options_.row_group_bytes) {
      CDC_RETURN_IF_ERROR(FlushRowGroup());
    }
  }
  return Status::OK();
}

Status ParquetWriter::FlushRowGroup() {
  if (group_rows_ == 0) return Status::OK();
  fmt_::RowGroup rg;
  rg.num_rows = group_rows_;
  rg.file_offset = offset_;
  rg.columns.resize(columns_.size());
  auto write = [this](std::string_view data) { return WriteToSink(data); };
  for (size_t c = 0; c < columns_.size(); ++c) {
    CDC_RETURN_IF_ERROR(columns_[c]->Finish(offset_, write, &rg.columns[c]));
    rg.total_byte_size += rg.columns[c].meta.total_uncompressed_size;
    rg.total_compressed_size += rg.columns[c].meta.total_compressed_size;
  }
  footer_->md.row_groups.push_back(std::move(rg));
  footer_->md.num_rows += group_rows_;
  group_rows_ = 0;
  group_bytes_ = 0;
  return Status::OK();
}

Status ParquetWriter::Close() {
  if (closed_) return Status::OK();
  CDC_RETURN_IF_ERROR(FlushRowGroup());
  fmt_::FileMetaData& md = footer_->md;
  md.version = 1;
  md.created_by = options_.created_by;
  fmt_::SchemaElement root;
  root.name = "schema";
  root.num_children = static_cast<int32_t>(schema_.columns.size());
  md.schema.push_back(root);
  for (const ColumnSpec& c : schema_.columns) {
    fmt_::SchemaElement e;
    e.name = c.name;
    e.type = PhysicalType(c.type);
    e.repetition = c.nullable ? fmt_::Repetition::kOptional : fmt_::Repetition::kRequired;
    if (c.type == ColumnType::kString) {
      e.converted_type = fmt_::ConvertedType::kUtf8;
      e.logical.kind = fmt_::LogicalType::Kind::kString;
    } else if (c.type == ColumnType::kTimestampMicros) {
      e.converted_type = fmt_::ConvertedType::kTimestampMicros;
      e.logical.kind = fmt_::LogicalType::Kind::kTimestamp;
      e.logical.utc = true;
      e.logical.unit = fmt_::TimeUnit::kMicros;
    } else if (c.type == ColumnType::kDate) {
      e.converted_type = fmt_::ConvertedType::kDate;
      e.logical.kind = fmt_::LogicalType::Kind::kDate;
    } else if (c.type == ColumnType::kTimestampMicrosLocal) {
      // No converted type: TIMESTAMP_MICROS means adjusted to UTC.
      e.logical.kind = fmt_::LogicalType::Kind::kTimestamp;
      e.logical.utc = false;
      e.logical.unit = fmt_::TimeUnit::kMicros;
    } else if (c.type == ColumnType::kDecimal) {
      e.type_length = 16;
      e.converted_type = fmt_::ConvertedType::kDecimal;
      e.scale = c.scale;
      e.precision = c.precision;
      e.logical.kind = fmt_::LogicalType::Kind::kDecimal;
      e.logical.scale = c.scale;
      e.logical.precision = c.precision;
    }
    md.schema.push_back(std::move(e));
  }
  std::string footer;
  fmt_::Serialize(md, &footer);
  PutU32(&footer, static_cast<uint32_t>(footer.size()));
  footer.append("PAR1");
  CDC_RETURN_IF_ERROR(WriteToSink(footer));
  closed_ = true;
  return sink_->Close();
}

// ---------------------------------------------------------------------------------------------

std::string RandomUuid() {
  static thread_local std::mt19937_64 rng{RandomSeed()};
  uint64_t hi = rng(), lo = rng();
  hi = (hi & 0xffffffffffff0fffull) | 0x0000000000004000ull;  // version 4
  lo = (lo & 0x3fffffffffffffffull) | 0x8000000000000000ull;  // variant 10
  char buf[37];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48), static_cast<unsigned long long>(lo & 0xffffffffffffull));
  return buf;
}

std::string SparkFileName(int part, Compression compression, std::string_view uuid) {
  char num[16];
  std::snprintf(num, sizeof(num), "%05d", part);
  std::string name = "part-";
  name += num;
  name += '-';
  name += uuid.empty() ? RandomUuid() : std::string(uuid);
  name += "-c000";
  if (compression != Compression::kUncompressed) {
    name += '.';
    name += CompressionName(compression);
  }
  name += ".parquet";
  return name;
}

}  // namespace cdc::parquet
