// Pipeline (`cdcpipe run`): the whole pipeline in one process.
//
// Embedded (default, no Kafka):
//   CaptureJob --(log::ChannelSink)--> raw sink thread (RawSink micro-batches)
// Records get the Kafka-source columns as if each table were one partition of one topic:
// topic = the event's topic ("dbserver1.public.klienci"), partition 0, offset = a per-topic sequence
// continued from the committed checkpoint (so it survives restarts), timestamp = the event's ts_ms.
// The LSN confirmed to PostgreSQL advances only after the batch holding those events is committed
// (ChannelSink::MarkDurable after RawSink::Commit), so the replication slot is the durable log:
// after a crash, the slot is moved to the committed source position (pg_replication_slot_advance) and
// the first `source_skip` records of a transaction that spans batches are dropped. Exactly once end to
// end. See docs/STREAM.md ("run").
//
// With `brokers`: CaptureJob -> KafkaSink, and a StreamJob from Kafka, as two stages in one process.
//
// Extension points (analytics, dashboard):
//   - AddObserver(): called on the raw sink thread after each committed batch (CommittedBatch), before
//     the LSN is confirmed; live aggregates plug in here.
//   - state(): the PipelineStateHub this pipeline publishes to ("capture", "stream" stages, per-table
//     counters, last LSN/batch). An HTTP server may read it from any thread while Run() runs; start it
//     beside Run() (e.g. on its own thread) and stop it after Run() returns.
//
// Stop: ShutdownRequested() -> capture stops and flushes; the raw sink commits what it holds, marks it
// durable, capture confirms the LSN; Run returns OK.
//
// Thread-safety: AddObserver before Run; state() from any thread; Run() once.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "jobs/capture.h"
#include "jobs/committed_batch.h"
#include "jobs/pipeline_state.h"
#include "jobs/stream.h"

namespace cdc::jobs {

struct RunOptions {
  // Capture settings (conninfo, tables, slot, publication, snapshot, encoder ...). conninfo required.
  CaptureOptions capture;
  // Raw output (output/checkpoint URIs, trigger, max rows, compression). observer/state are set by
  // the Pipeline (use AddObserver/state()).
  RawOutputOptions output;
  // Kafka bootstrap servers: empty = embedded (default); else capture -> Kafka -> stream.
  std::string brokers;
  // librdkafka properties (-X) for the producer and the consumer. Default empty.
  std::map<std::string, std::string> kafka_properties;
  // Topics and group of the stream stage with brokers. Required with brokers (as StreamOptions).
  std::vector<std::string> topics;
  std::string group;
  // Embedded: items (records + transaction markers) queued between capture and the raw sink, plus the
  // producer's group of at most capacity/16 (log::ChannelSink). Default 4096 (bounds memory together
  // with max_batch_rows).
  size_t channel_capacity = 4096;
};

struct RunStats {
  uint64_t batches = 0;
  uint64_t rows = 0;
  uint64_t skipped_on_restart = 0;  // records of a transaction already committed before a restart
  Lsn durable_lsn;                  // last LSN marked durable
};

class Pipeline {
 public:
  explicit Pipeline(RunOptions options);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Adds an observer of committed batches. REQUIRES: before Run().
  void AddObserver(CommittedBatchObserver observer);
  // The embedded pipeline (no Kafka) hands its committed batches' events with the change each one
  // encodes, as `share_change` makes it (CaptureOptions::share_change; `cdcpipe run` passes its live
  // views' analytics::ChangeProjector), so that its observers need not parse the JSON again.
  // REQUIRES: before Run().
  void ShareChanges(std::function<bool(const event::ChangeEvent&, std::string*)> share_change) {
    share_change_ = std::move(share_change);
  }
  // The state this pipeline publishes (owned by the Pipeline; valid for its lifetime).
  PipelineStateHub& state() { return state_; }

  // Runs until shutdown, capture's end_lsn, or a fatal error of either stage.
  Status Run();
  RunStats stats() const;

  // Incremental snapshots of the running capture (CaptureJob::RequestSnapshot / Snapshots), for the
  // HTTP API. Unavailable while capture is not running. Thread-safe.
  Result<std::string> RequestSnapshot(const std::string& table, const std::string& where);
  Result<std::vector<IncrementalSnapshot>> Snapshots();

 private:
  Status RunEmbedded();
  Status RunThroughKafka();
  void Notify(const CommittedBatch& batch);

  RunOptions options_;
  PipelineStateHub state_;
  std::vector<CommittedBatchObserver> observers_;
  std::function<bool(const event::ChangeEvent&, std::string*)> share_change_;
  mutable std::mutex stats_mu_;
  RunStats stats_;
  // The running capture job, for RequestSnapshot (set and cleared under capture_mu_).
  std::mutex capture_mu_;
  CaptureJob* capture_ = nullptr;
  void SetCapture(CaptureJob* job) {
    std::lock_guard<std::mutex> l(capture_mu_);
    capture_ = job;
  }
};

}  // namespace cdc::jobs
