// StreamJob (`cdcpipe stream`): Kafka topics -> raw-kafka-data Parquet, exactly once, in micro-batches.
//
// Each batch: poll until the trigger interval passes or max_batch_rows are buffered, then commit it
// through RawSink (plan -> files -> `_spark_metadata` -> commit record), then commit the Kafka offsets
// of the consumer group. The checkpoint, not the group's offsets, is the source of truth: messages
// below the checkpoint's next offset are dropped (a crash after the metadata commit and before the
// Kafka commit), and a partition that starts above it is sought back. A batch planned but not
// committed before a crash is redone with exactly its planned offsets and file names.
// Protocol and crash cases: docs/STREAM.md.
//
// Faults: an unreachable broker -> librdkafka reconnects, the job waits; a failing store -> the batch
// is retried until it commits (nothing partial is committed); a value that is not JSON is stored raw,
// counted and logged. Stop: ShutdownRequested() -> commit the complete buffer, commit offsets, return OK.
//
// Thread-safety: Run() on one thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "jobs/committed_batch.h"
#include "jobs/pipeline_state.h"
#include "jobs/raw_sink.h"
#include "store/object_store.h"

namespace cdc::jobs {

// Where and how raw events are written; shared by `stream` and `run`.
struct RawOutputOptions {
  // Output root URI (local dir, file://, s3://). Required (the CLI's default is output.root's,
  // src/config).
  std::string output;
  // Checkpoint location URI. Default: empty = "<output>/_checkpoints/stream".
  std::string checkpoint;
  // Store options (S3 endpoint and credentials fall back to the environment).
  store::StoreOptions store;
  // A batch is cut this long after its first event. Default 1 s.
  std::chrono::milliseconds trigger{1000};
  // ... or when it holds this many events. Default 10000 (bounds memory: the batch is kept in memory).
  size_t max_batch_rows = 10000;
  // A withdrawn data file is deleted this long after the compaction batch that stops naming it
  // (RawSinkOptions::withdrawn_file_grace_ms). Default 10 minutes.
  std::chrono::milliseconds withdrawn_file_grace{10 * 60 * 1000};
  // Parquet compression. Default snappy.
  parquet::Compression compression = parquet::Compression::kSnappy;
  // Called after each commit. Default none.
  CommittedBatchObserver observer;
  // Where the stage publishes its state. Not owned; may be null.
  PipelineStateHub* state = nullptr;
};

// The checkpoint URI for `options` (the default when options.checkpoint is empty).
std::string CheckpointUri(const RawOutputOptions& options);

// Opens the output and checkpoint stores, retrying while they are unreachable (until shutdown).
Status OpenRawStores(const RawOutputOptions& options, std::unique_ptr<store::ObjectStore>* output,
                     std::unique_ptr<store::ObjectStore>* checkpoint);

struct StreamOptions {
  // bootstrap.servers. Required.
  std::string brokers;
  // Topic names or "^regex" patterns. Required (the CLI derives them from kafka.topic_prefix).
  std::vector<std::string> topics;
  // The captured tables' topic prefix (kafka.topic_prefix), for the per-table counts (TableOfTopic).
  // Default "" (a topic's table is the part after its last dot).
  std::string topic_prefix;
  // Consumer group. Required (kafka.group).
  std::string group;
  // librdkafka properties (-X), applied last. session.timeout.ms defaults to 6000 unless given.
  std::map<std::string, std::string> kafka_properties;
  RawOutputOptions output;
  // Failpoint prefix and state stage name. Default "stream".
  std::string name = "stream";
};

struct StreamStats {
  uint64_t batches = 0;
  uint64_t rows = 0;
  uint64_t non_json = 0;
  uint64_t duplicates_dropped = 0;  // messages below the checkpoint (re-delivered after a crash)
};

class StreamJob {
 public:
  explicit StreamJob(StreamOptions options) : options_(std::move(options)) {}
  // Runs until shutdown or a fatal error.
  Status Run();
  StreamStats stats() const { return stats_; }

 private:
  StreamOptions options_;
  StreamStats stats_;
};

}  // namespace cdc::jobs
