// Reading a file-sink folder back: the data files of its committed batches (from `_spark_metadata`,
// spark_metadata_log.h) and the raw change events in them (docs/STREAM.md has the raw layout: the
// columns of Spark's Kafka source, key, value, topic, partition, offset, timestamp, timestampType).
//
//   - committed files = the entries of the latest `_spark_metadata/<N>.compact` plus every
//     `_spark_metadata/<N>` after it (found by listing, so any compaction interval works), with
//     "delete" entries compacted away; in that order: batch, then file within the batch. The list
//     only grows at its end, so a reader's position is a prefix of it.
//   - RawFileReader reads the topic and value columns of one data file, row group by row group, in
//     file order (the raw sink writes each topic-partition in offset order).
//
// Thread-safety: the functions are stateless; a RawFileReader is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "parquet/reader.h"
#include "store/object_store.h"

namespace cdc::lake {

// The raw change events' folder under the output root (Spark's `raw-kafka-data`).
inline constexpr std::string_view kRawDataDir = "raw-kafka-data";

struct CommittedFiles {
  std::vector<std::string> files;  // absolute URIs, in commit order
  int64_t latest_batch = -1;       // the last committed batch (-1: none)
};

// The committed data files of `dir` (a folder under `store` written by the file sink). Corruption
// when a batch is missing from the log or a metadata file is damaged.
Result<CommittedFiles> ListCommittedFiles(store::ObjectStore* store, std::string_view dir);

// One committed raw data file, read through the store that holds it.
class RawFileReader {
 public:
  // `uri` as listed by ListCommittedFiles; it must lie under `store`'s `dir` folder (or be a file://
  // URI): FailedPrecondition otherwise, naming the --output to use.
  static Result<std::unique_ptr<RawFileReader>> Open(store::ObjectStore* store, std::string_view dir,
                                                     const std::string& uri);

  int num_row_groups() const { return reader_->num_row_groups(); }
  int64_t num_rows() const { return reader_->num_rows(); }
  // Decodes row group `g` into `out`: column 0 the topic, column 1 the value (null = a tombstone).
  Status ReadRowGroup(int g, parquet::RecordBatch* out);
  // "partition P offset O" of row `row` of row group `g` (read again: only errors need it).
  std::string WhereInKafka(int g, size_t row);
  const std::string& uri() const { return uri_; }

 private:
  RawFileReader() = default;
  std::string uri_;
  std::unique_ptr<parquet::ParquetReader> reader_;
  std::vector<int> columns_;  // topic, value
};

}  // namespace cdc::lake
