// RawSink: the micro-batch writer and commit protocol shared by `cdcpipe stream` (Kafka -> Parquet)
// and `cdcpipe run` (capture -> Parquet in one process). The protocol and every crash case are in
// docs/STREAM.md; in short, batch N is committed in this order:
//
//   1. plan     checkpoint  offsets/N         the offset ranges of the batch and its file names (Put)
//   2. files    output      raw-kafka-data/part-00000-<uuid>-c000.snappy.parquet  (Put, atomic)
//   3. COMMIT   output      raw-kafka-data/_spark_metadata/N[.compact]  (PutIfAbsent: the commit point)
//   4. record   checkpoint  commits/N         (Put; informational, like Spark's commit log)
//   5. observer RawSinkOptions::observer sees the committed batch (CommittedBatch)
//   6. caller   commits Kafka offsets (stream) or calls MarkDurable(LSN) (run)
//
// A batch is committed exactly when its `_spark_metadata` file exists. Open() recovers: it finds the
// last committed batch, reads the plan of the next batch if one was written (the caller redoes exactly
// those offsets with the same file names) and deletes data files that no committed batch lists.
//
// Store errors are retried (with backoff) until the batch commits or a shutdown is requested; a batch
// is never committed with partial output.
//
// Thread-safety: none; one thread drives a RawSink. The observer is called on that thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/lsn.h"
#include "base/status.h"
#include "jobs/committed_batch.h"
#include "jobs/pipeline_state.h"
#include "lake/spark_metadata_log.h"
#include "parquet/column.h"
#include "parquet/compression.h"
#include "parquet/writer.h"
#include "store/object_store.h"

namespace cdc::jobs {

// topic -> partition -> offset.
using PartitionOffsets = std::map<std::string, std::map<int32_t, int64_t>>;

// What a batch covers, written to the checkpoint before its files (offsets/<batchId>).
struct BatchPlan {
  int64_t batch_id = 0;
  int64_t timestamp_ms = 0;        // when the batch was planned
  PartitionOffsets start;          // first offset of each topic-partition in the batch
  PartitionOffsets end;            // next offset after the batch (exclusive)
  std::vector<std::string> files;  // data file names (relative to raw-kafka-data/)
  // Embedded `run` only: the source position after the batch. Every source transaction whose end LSN
  // is <= source_lsn is in this or an earlier batch, plus the first `source_skip` records of the next
  // transaction (a transaction may span batches). Invalid/0 for `stream`.
  Lsn source_lsn;
  uint64_t source_skip = 0;
  // Embedded `run` during the initial snapshot: where the snapshot resumes after this batch (the
  // position of the chunk that ends the batch, jobs/capture_state.h; opaque here). Empty otherwise.
  std::string snapshot_position;
};

// Serialises a plan (docs/STREAM.md: "v1", a metadata line, the start offsets, the end offsets).
std::string SerializeBatchPlan(const BatchPlan& plan);
Result<BatchPlan> ParseBatchPlan(std::string_view data, std::string_view name);

// The table a change event's topic "<prefix>.<schema>.<table>" carries, as /api/status, /metrics and the
// dashboard count it: "<table>" for schema public, else "<schema>.<table>", names as they are (dots
// included). With an empty `prefix`, or a topic that does not start with it: the part after the last dot.
std::string TableOfTopic(std::string_view topic, std::string_view prefix);

// The Spark Kafka-source schema of raw-kafka-data (every column nullable, as Spark writes it).
const parquet::Schema& RawEventSchema();

struct RawSinkOptions {
  // Output root (holds raw-kafka-data/). Not owned; required.
  store::ObjectStore* output = nullptr;
  // Checkpoint location (holds offsets/ and commits/). Not owned; required.
  store::ObjectStore* checkpoint = nullptr;
  // The table directory under the output root. Default "raw-kafka-data".
  std::string table_dir = "raw-kafka-data";
  // Parquet page compression. Default snappy (file names end in .snappy.parquet, like Spark).
  parquet::Compression compression = parquet::Compression::kSnappy;
  // `_spark_metadata` compaction interval. Default 10 (Spark's).
  int compact_interval = lake::SparkMetadataLog::kDefaultCompactInterval;
  // Delete data files that no committed batch lists when opening. Default true.
  bool delete_orphans = true;
  // A running sink deletes a withdrawn data file (RetractAll) this long after the compaction batch that
  // stops naming it is committed: the time a reader that planned its read from an older log entry may
  // still need the file. Default 10 minutes (Spark's spark.sql.streaming.fileSink.log.cleanupDelay).
  // Negative: never while running (the next Open deletes it). docs/CAPTURE.md, "Withdrawn and orphaned
  // data files".
  int64_t withdrawn_file_grace_ms = 10 * 60 * 1000;
  // Backoff between attempts when the store fails: first wait, doubled up to the maximum.
  // Defaults 200 ms and 5 s. Retries continue until the commit succeeds or shutdown is requested.
  int retry_initial_ms = 200;
  int retry_max_ms = 5000;
  // Called after each commit (see committed_batch.h). Default none.
  CommittedBatchObserver observer;
  // Where the stage publishes its state, and each store request in flight as its wait (a hung one
  // shows as a stall: jobs/observed_store.h). Not owned; may be null.
  PipelineStateHub* state = nullptr;
  // The topic prefix of the captured tables (TableOfTopic), for the per-table counts in PipelineState.
  // Default "" (unknown: a topic's table is the part after its last dot).
  std::string topic_prefix;
  // The stage name in PipelineState. Default "stream".
  std::string stage = "stream";
  // Prefix of the failpoints ("stream" -> stream.after_offsets_planned ...). Default "stream".
  std::string failpoint_prefix = "stream";
  // Check that each value is JSON (simdjson); values that are not are stored raw anyway, counted and
  // logged. Default true (`run` turns it off: its values come from our own encoder).
  bool validate_json = true;
};

// What Open() found in the checkpoint and the output.
struct RecoveryInfo {
  int64_t last_committed = -1;            // -1: no batch committed yet
  PartitionOffsets next;                  // next offset per topic-partition after the last commit
  Lsn source_lsn;                         // the committed source position (run), see BatchPlan
  uint64_t source_skip = 0;
  std::string snapshot_position;          // of the last committed batch, see BatchPlan
  std::optional<BatchPlan> pending;       // the plan of batch last_committed + 1, if one was written
  uint64_t orphans_deleted = 0;
};

struct RawSinkStats {
  uint64_t batches = 0;
  uint64_t rows = 0;
  uint64_t bytes = 0;
  uint64_t non_json = 0;      // values that are not a JSON object/array (stored raw anyway)
  uint64_t store_retries = 0;
  uint64_t withdrawn_deleted = 0;  // withdrawn data files deleted while running
};

class RawSink {
 public:
  // Opens the sink and runs recovery (see the header comment). Retries store errors like a commit.
  static Result<std::unique_ptr<RawSink>> Open(RawSinkOptions options);

  const RecoveryInfo& recovery() const { return recovery_; }
  // The id the next Commit must use.
  int64_t next_batch_id() const { return next_batch_id_; }

  // Commits `events` as batch `plan.batch_id`. The plan's ranges must cover the events; its files
  // may be empty (names are chosen then) or given (a redo uses the names of the written plan).
  // REQUIRES: plan.batch_id == next_batch_id(); events non-empty.
  // Returns OK once committed; Cancelled when shutdown was requested while the store was failing
  // (nothing committed then); another error for a non-retryable failure.
  Status Commit(BatchPlan plan, const std::vector<RawEvent>& events);

  // Commits batch plan.batch_id as Spark "delete" entries for every file committed so far, so that
  // readers following `_spark_metadata` (Spark, `cdcpipe batch`, the live aggregates) no longer see
  // their rows; like Spark's sink it leaves the files (Open deletes them once a compaction batch no
  // longer names them). `cdcpipe run`
  // uses it to withdraw the rows of an initial snapshot that was interrupted and is taken again.
  // The plan carries no files; its `end` offsets continue the sequence. Returns the number of files
  // withdrawn. REQUIRES: plan.batch_id == next_batch_id().
  Result<size_t> RetractAll(BatchPlan plan);

  // Deletes the withdrawn data files whose grace period (withdrawn_file_grace_ms) has passed by `now_ms`
  // (wall clock), once a compaction batch no longer names them. Commit calls it; a caller that may sit
  // idle calls it now and then. A failed delete is logged and retried on the next call. Returns the
  // number of files deleted.
  size_t DeleteWithdrawnFiles(int64_t now_ms);
  // Withdrawn data files no log names any more, waiting for their grace period to pass.
  size_t withdrawn_files_waiting() const { return forgotten_.size(); }

  RawSinkStats stats() const { return stats_; }

 private:
  Result<std::vector<lake::SinkFileStatus>> LiveEntries(int64_t last);
  explicit RawSink(RawSinkOptions options);
  Status Recover();
  Status CommitOnce(const BatchPlan& plan, const std::vector<RawEvent>& events, bool* plan_written,
                    std::vector<std::string>* forgotten);
  Result<std::vector<lake::SinkFileStatus>> ReadEntries(int64_t batch_id);
  // Writes `_spark_metadata/<batch_id>` (merging the log when it is a compaction batch). `forgotten`, if
  // given, receives the paths the compaction dropped (withdrawn files no log names from then on).
  Status WriteMetadata(int64_t batch_id, const std::vector<lake::SinkFileStatus>& entries,
                       std::vector<std::string>* forgotten = nullptr);
  // After batch `batch_id` committed: its forgotten paths wait for their grace period.
  void ScheduleForgotten(int64_t batch_id, const std::vector<std::string>& paths);
  std::string DataKey(const std::string& file) const { return options_.table_dir + "/" + file; }
  std::string MetadataKey(int64_t batch_id) const {
    return options_.table_dir + "/_spark_metadata/" + log_.FileName(batch_id);
  }
  // Runs `fn` until it succeeds, retrying retryable (Unavailable/IoError) errors with backoff.
  Status Retry(std::string_view what, const std::function<Status()>& fn);

  RawSinkOptions options_;  // with state: output and checkpoint point at the observed_ wrappers
  // With a state hub: the output and checkpoint stores, each request shown as the stage's wait.
  std::unique_ptr<store::ObjectStore> observed_output_, observed_checkpoint_;
  lake::SparkMetadataLog log_;
  RecoveryInfo recovery_;
  int64_t next_batch_id_ = 0;
  RawSinkStats stats_;
  parquet::RecordBatch batch_;  // reused between commits
  struct Forgotten {
    std::string path;     // absolute URI, as the log named it
    int64_t due_ms = 0;   // wall clock
    int64_t batch_id = 0; // the compaction batch that dropped it
  };
  std::vector<Forgotten> forgotten_;
  // The data file's writer and bytes, reused between commits (ParquetWriter::Reopen).
  std::unique_ptr<parquet::ParquetWriter> writer_;
  parquet::ByteBuffer file_bytes_;
};

}  // namespace cdc::jobs
