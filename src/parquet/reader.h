// ParquetReader: reads flat Parquet files written by cdcpipe, DuckDB, Spark and others, one row
// group at a time, with column projection. See docs/PARQUET.md for what is supported.
//
// Usage:
//   CDC_ASSIGN_OR_RETURN(auto r, ParquetReader::OpenFile(path));
//   std::vector<int> cols = {r->schema().FindColumn("value")};
//   RecordBatch batch;                               // reused: buffers are kept between row groups
//   for (int g = 0; g < r->num_row_groups(); ++g) {
//     CDC_RETURN_IF_ERROR(r->ReadRowGroup(g, cols, &batch));
//     const ColumnVector& v = batch.column(0);       // columns in the order of `cols`
//     for (size_t i = 0; i < v.size(); ++i) if (!v.IsNull(i)) Use(v.String(i));
//   }
//
// Robustness: every length and offset in the file is checked before it is used; a corrupt or
// truncated file yields Status::Corruption("Parquet file <name>: <what is wrong>"), never a crash.
// Allocations are bounded by the file size and ReaderOptions (a page may legally expand to many
// nulls, so the row count of a row group is capped).
// Thread-safety: none; one reader per thread (open the file once per thread).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "parquet/byte_buffer.h"
#include "parquet/column.h"
#include "parquet/format.h"

namespace cdc::parquet {

class ColumnDecoder;  // reader.cc: decodes one column chunk into a ColumnVector

struct ReaderOptions {
  int64_t max_row_group_rows = 1ll << 27;  // refuse row groups that claim more rows (134M)
  int64_t max_page_bytes = 1ll << 30;      // refuse pages whose uncompressed size is larger (1 GiB)
};

// Random-access bytes of one file: a local file (pread) or a buffer in memory.
class RandomAccessSource {
 public:
  virtual ~RandomAccessSource() = default;
  virtual uint64_t size() const = 0;
  // Returns bytes [offset, offset+n): a view into `scratch` or into the source's own memory.
  // REQUIRES: offset + n <= size().
  virtual Status Read(uint64_t offset, size_t n, ByteBuffer* scratch, std::string_view* out) = 0;
  virtual const std::string& name() const = 0;
  // When every Read returns a view of memory that `view_owner()` keeps alive: that owner (else null).
  virtual std::shared_ptr<const void> view_owner() const { return nullptr; }
};

class ColumnPages;
struct PageRef;

class ParquetReader {
 public:
  static Result<std::unique_ptr<ParquetReader>> OpenFile(const std::string& path, const ReaderOptions& options = {});
  // Reads a file held in memory (e.g. an object downloaded from S3). `name` appears in errors.
  static Result<std::unique_ptr<ParquetReader>> OpenBuffer(std::string data, std::string name = "<memory>",
                                                           const ReaderOptions& options = {});
  // Reads bytes owned elsewhere (a mapped file: ObjectStore::GetBytes) without copying them; `owner`
  // keeps them alive as long as the reader.
  static Result<std::unique_ptr<ParquetReader>> OpenView(std::string_view data, std::shared_ptr<const void> owner,
                                                         std::string name, const ReaderOptions& options = {});
  static Result<std::unique_ptr<ParquetReader>> Open(std::unique_ptr<RandomAccessSource> source,
                                                     const ReaderOptions& options = {});
  ~ParquetReader();

  // The flat columns of the file (nullable = OPTIONAL).
  const Schema& schema() const { return schema_; }
  int64_t num_rows() const { return metadata_.num_rows; }
  int num_row_groups() const { return static_cast<int>(metadata_.row_groups.size()); }
  int64_t row_group_num_rows(int index) const { return metadata_.row_groups[index].num_rows; }
  const format::FileMetaData& metadata() const { return metadata_; }
  const std::string& name() const { return source_->name(); }

  // Column indices for names; NotFound naming the missing column.
  Result<std::vector<int>> ResolveColumns(const std::vector<std::string>& names) const;

  // Reads row group `index` (0 <= index < num_row_groups()): the columns listed (indices into
  // schema()), in that order, into *out, replacing its content but reusing its buffers.
  Status ReadRowGroup(int index, std::span<const int> columns, RecordBatch* out);
  // All columns.
  Status ReadRowGroup(int index, RecordBatch* out);
  // Locates the data pages of column `column` in row group `index`, for decoding them separately.
  Result<std::shared_ptr<const ColumnPages>> ReadColumnPages(int index, int column);

 private:
  friend class ColumnDecoder;
  friend class ColumnPages;
  friend class PageDecoder;
  struct Leaf;
  ParquetReader(std::unique_ptr<RandomAccessSource> source, const ReaderOptions& options);
  Status Init();
  Status Corrupt(const std::string& what) const;

  std::unique_ptr<RandomAccessSource> source_;
  ReaderOptions options_;
  format::FileMetaData metadata_;
  Schema schema_;
  std::vector<Leaf> leaves_;
  std::unique_ptr<ColumnDecoder> decoder_;
  ByteBuffer chunk_scratch_;
  std::vector<int> all_columns_;
};

// The data pages of one column chunk, located (their headers parsed and checked) but not decoded, so
// that they can be decoded one at a time, by several threads at once (PageDecoder). Holds the chunk's
// bytes: a view of a mapped or in-memory file (kept alive), else a copy. Immutable, so thread-safe.
class ColumnPages {
 public:
  ~ColumnPages();
  size_t num_pages() const;
  int64_t first_row(size_t page) const;  // row (in the row group) of the page's first value
  int64_t num_rows(size_t page) const;
  const std::string& name() const { return name_; }  // "Parquet file F: row group G, column 'C'"

 private:
  friend class ParquetReader;
  friend class PageDecoder;
  ColumnPages();
  uint64_t id_ = 0;  // unique per object: which dictionary a PageDecoder holds
  std::string name_;
  std::shared_ptr<const void> keep_;  // owns the bytes `chunk_` views
  std::string_view chunk_;
  format::ColumnMetaData meta_;
  std::unique_ptr<ParquetReader::Leaf> leaf_;
  std::unique_ptr<PageRef> dict_;  // null: no dictionary page
  std::vector<PageRef> pages_;
};

// Decodes pages of ColumnPages. One per thread (it holds scratch buffers and the chunk's dictionary).
class PageDecoder {
 public:
  PageDecoder();
  ~PageDecoder();
  PageDecoder(const PageDecoder&) = delete;
  PageDecoder& operator=(const PageDecoder&) = delete;
  // Decodes data page `page` (< pages.num_pages()) into *out, replacing its content but keeping its
  // buffers. Corruption naming the file, row group, column and page.
  Status Decode(const ColumnPages& pages, size_t page, ColumnVector* out);

 private:
  std::unique_ptr<ColumnDecoder> decoder_;
  uint64_t dict_of_ = 0;  // id_ of the ColumnPages whose dictionary decoder_ holds (0: none)
};

}  // namespace cdc::parquet
