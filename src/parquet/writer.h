// ParquetWriter: a streaming writer of flat Parquet files (data page v1, optional dictionary
// encoding, snappy/zstd/uncompressed pages, min/max/null_count statistics). See docs/PARQUET.md.
//
// Usage:
//   Schema schema{{{"key", ColumnType::kString, true}, {"offset", ColumnType::kInt64, false}}};
//   CDC_ASSIGN_OR_RETURN(auto w, ParquetWriter::OpenFile(path, schema, WriterOptions{}));
//   RecordBatch batch(schema);            // reuse it: Clear() keeps the buffers
//   batch.column(0).AppendString("k1"); batch.column(1).AppendInt64(42);
//   CDC_RETURN_IF_ERROR(w->Write(batch));
//   CDC_RETURN_IF_ERROR(w->Close());      // writes the footer; without it the file is unreadable
//
// Memory: the writer holds at most one row group, as compressed pages (plus one open page and the
// dictionary per column); a row group is cut when its uncompressed size reaches
// WriterOptions::row_group_bytes or its row count reaches row_group_rows.
// Thread-safety: none; one writer per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "parquet/column.h"
#include "parquet/compression.h"

namespace cdc::parquet {

// Where the file bytes go. Append is called with large chunks (whole column chunks), in order.
class OutputSink {
 public:
  virtual ~OutputSink() = default;
  virtual Status Append(std::string_view data) = 0;
  // Flushes and releases the destination. Called once by ParquetWriter::Close().
  virtual Status Close() = 0;
  // For error messages: the file path or object name.
  virtual std::string Name() const = 0;
};

// Writes to a local file (created or truncated). Close() fsyncs when `sync` is true.
class FileSink : public OutputSink {
 public:
  static Result<std::unique_ptr<FileSink>> Open(const std::string& path, bool sync = false);
  ~FileSink() override;
  Status Append(std::string_view data) override;
  Status Close() override;
  std::string Name() const override { return path_; }

 private:
  FileSink(std::string path, int fd, bool sync) : path_(std::move(path)), fd_(fd), sync_(sync) {}
  std::string path_;
  int fd_;
  bool sync_;
};

// Collects the file in memory (e.g. to upload it to an object store afterwards).
class StringSink : public OutputSink {
 public:
  explicit StringSink(std::string name = "<memory>") : name_(std::move(name)) {}
  Status Append(std::string_view data) override {
    data_.append(data);
    return Status::OK();
  }
  Status Close() override { return Status::OK(); }
  std::string Name() const override { return name_; }
  const std::string& data() const { return data_; }
  std::string Release() { return std::move(data_); }

 private:
  std::string name_;
  std::string data_;
};

// Appends the file to a buffer the caller owns and reuses (its capacity is kept from file to file; the
// caller clears it). REQUIRES: the buffer outlives the sink.
class BufferSink : public OutputSink {
 public:
  BufferSink(ByteBuffer* out, std::string name) : out_(out), name_(std::move(name)) {}
  Status Append(std::string_view data) override {
    out_->Append(data.data(), data.size());
    return Status::OK();
  }
  Status Close() override { return Status::OK(); }
  std::string Name() const override { return name_; }

 private:
  ByteBuffer* out_;
  std::string name_;
};

struct WriterOptions {
  Compression compression = Compression::kSnappy;  // default snappy, like Spark
  int zstd_level = 3;                               // used when compression == kZstd
  int64_t row_group_bytes = 128ll << 20;            // cut a row group at this uncompressed size (128 MiB)
  int64_t row_group_rows = 0;                       // and/or at this many rows; 0 = no row limit
  int64_t page_bytes = 1 << 20;                     // target uncompressed data page size (1 MiB)
  int64_t page_rows = 20000;                        // at most this many values per data page
  int64_t dictionary_bytes = 1 << 20;               // fall back to PLAIN when a dictionary grows past this
  bool dictionary = true;                           // try dictionary encoding for strings and INT32/INT64
  std::string created_by = "cdcpipe version 0.1.0";
};

class ParquetWriter {
 public:
  // The sink is owned by the writer. Fails with InvalidArgument on an empty schema or bad options.
  static Result<std::unique_ptr<ParquetWriter>> Open(std::unique_ptr<OutputSink> sink, const Schema& schema,
                                                     const WriterOptions& options = {});
  static Result<std::unique_ptr<ParquetWriter>> OpenFile(const std::string& path, const Schema& schema,
                                                         const WriterOptions& options = {});
  ~ParquetWriter();

  // Starts a new file in `sink` with the same schema and options, keeping the buffers of the last one (a
  // writer per file would first-touch fresh page buffers for every file: page faults cost as much as the
  // copies). REQUIRES: Close() returned OK (checked: FailedPrecondition otherwise).
  Status Reopen(std::unique_ptr<OutputSink> sink);

  // Appends the rows of `batch`. REQUIRES: the batch's columns match the schema (count, type,
  // nullability; checked: InvalidArgument otherwise) and are equally long.
  Status Write(const RecordBatch& batch);
  // Flushes the open row group (if any) now; the next Write starts a new one.
  Status FlushRowGroup();
  // Writes the last row group and the footer, then closes the sink. A writer that is destroyed
  // without Close() leaves an incomplete file (no footer), which readers reject.
  Status Close();

  const Schema& schema() const { return schema_; }
  int64_t rows_written() const { return rows_written_; }        // rows accepted so far
  int64_t bytes_written() const { return offset_; }             // bytes handed to the sink so far
  int num_row_groups() const;

 private:
  class ColumnChunkWriter;
  ParquetWriter(std::unique_ptr<OutputSink> sink, const Schema& schema, const WriterOptions& options);
  Status WriteToSink(std::string_view data);

  std::unique_ptr<OutputSink> sink_;
  Schema schema_;
  WriterOptions options_;
  std::vector<std::unique_ptr<ColumnChunkWriter>> columns_;
  struct FooterState;
  std::unique_ptr<FooterState> footer_;
  int64_t offset_ = 0;
  int64_t rows_written_ = 0;
  int64_t group_rows_ = 0;
  int64_t group_bytes_ = 0;  // uncompressed estimate of the open row group
  bool closed_ = false;
  Status sticky_;            // the first sink error; the writer refuses to continue after it
};

// A Spark-style file name: "part-00005-<uuid>-c000.snappy.parquet" (".zstd.parquet", or plain
// ".parquet" when uncompressed). The uuid is random (version 4) unless given.
std::string SparkFileName(int part, Compression compression, std::string_view uuid = {});
// A random version-4 UUID, lower-case, 36 characters.
std::string RandomUuid();

}  // namespace cdc::parquet
