// SparkMetadataLog: the `_spark_metadata` commit log of Spark's file sink (FileStreamSinkLog), so that
// Spark, and our own readers, see exactly the files of committed batches.
//
// Layout under <table>/_spark_metadata/:
//   <batchId>           for an ordinary batch
//   <batchId>.compact   for a compaction batch: (batchId + 1) % compact_interval == 0 (9, 19, 29 ... with
//                       the default interval 10); it holds every live entry of all batches up to and
//                       including itself, so readers need only the latest compaction and the batches after it.
// File format (version 1): the line "v1", then one JSON object per file, each on its own line:
//   {"path":"file:///abs/part-00000-<uuid>-c000.snappy.parquet","size":1234,"isDir":false,
//    "modificationTime":1732500000000,"blockReplication":1,"blockSize":33554432,"action":"add"}
// No trailing newline after the last entry (Spark writes "\n" before each entry).
//
// A batch is committed exactly when its metadata file exists: it is written with create-if-absent, and
// that write is the single commit point of the stream protocol (docs/STREAM.md).
//
// This class holds no I/O: callers read and write the files through an ObjectStore.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace cdc::lake {

// One line of a metadata file (Spark's SinkFileStatus).
struct SinkFileStatus {
  std::string path;               // absolute URI of the data file
  int64_t size = 0;               // bytes
  bool is_dir = false;
  int64_t modification_time = 0;  // ms since the epoch
  int32_t block_replication = 1;
  int64_t block_size = 33554432;
  std::string action = "add";     // "add" or "delete"

  bool operator==(const SinkFileStatus&) const = default;
};

class SparkMetadataLog {
 public:
  // Spark's default spark.sql.streaming.fileSink.log.compactInterval.
  static constexpr int kDefaultCompactInterval = 10;

  explicit SparkMetadataLog(int compact_interval = kDefaultCompactInterval) : interval_(compact_interval) {}

  bool IsCompactionBatch(int64_t batch_id) const { return (batch_id + 1) % interval_ == 0; }
  // "7" or "9.compact".
  std::string FileName(int64_t batch_id) const;
  // The batch id of a metadata file name ("9.compact" -> 9); nullopt for anything else (temp files).
  static std::optional<int64_t> ParseFileName(std::string_view name);
  // The batch files a reader needs to see everything up to `latest` (Spark's getAllValidBatches):
  // the latest compaction at or before it, then every batch after that.
  std::vector<int64_t> ValidBatches(int64_t latest) const;
  // The batches whose entries a compaction batch `batch_id` must merge (the previous compaction and the
  // ordinary batches after it). REQUIRES: IsCompactionBatch(batch_id).
  std::vector<int64_t> BatchesBeforeCompaction(int64_t batch_id) const;

  // Serialises entries as a metadata file.
  static std::string Serialize(const std::vector<SinkFileStatus>& entries);
  // Parses a metadata file; `name` is used in errors. Corruption on a bad version line or bad JSON.
  static Result<std::vector<SinkFileStatus>> Parse(std::string_view data, std::string_view name);
  // Spark's compactLogs for the file sink: drops every path that has a "delete" entry.
  static std::vector<SinkFileStatus> Compact(std::vector<SinkFileStatus> entries);

 private:
  int interval_;
};

}  // namespace cdc::lake
