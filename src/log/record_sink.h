// RecordSink: where capture hands its encoded events (Kafka, the in-process channel of `cdcpipe
// run`, or a null sink for benchmarks).
//
// Contract (the delivery/checkpoint protocol, docs/DELIVERY.md):
// - Records are appended in source commit order. After the last record of a source transaction the
//   caller calls EndTransaction(commit_end_lsn).
// - DurableLsn() is the highest end LSN passed to EndTransaction such that every record appended
//   before that call is durable in the destination (Kafka: acknowledged by a delivery report with no
//   error; run: committed in a Parquet batch). It never moves backwards.
// - Capture confirms to PostgreSQL (standby status update, flush position) only DurableLsn(), so a
//   crash loses nothing: the slot replays everything after it.
// - A fatal destination error is reported by Poll() (and by Append); the caller stops.
//
// Thread-safety: Append/EndTransaction/Poll/Flush are called from one thread (the capture loop).
// DurableLsn() may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/lsn.h"
#include "base/status.h"

namespace cdc::log {

// One message for the event log: Kafka's (topic, key, value, timestamp).
struct Record {
  std::string topic;                 // "dbserver1.public.klienci"
  std::optional<std::string> key;    // the JSON key; nullopt = no key
  std::optional<std::string> value;  // the JSON value; nullopt = tombstone
  int64_t timestamp_ms = 0;          // Kafka CreateTime (the event's ts_ms)
  // In-process consumers only (`cdcpipe run`'s live views): the change this value encodes, reduced to the
  // columns they read, in their compact form (CaptureOptions::share_change), so that they need not parse
  // the JSON again. Empty for most records; a sink that writes elsewhere ignores it.
  std::string change = {};
};

class RecordSink {
 public:
  virtual ~RecordSink() = default;

  // Queues a record. May block (back-pressure) while the destination is full; returns an error only
  // when the destination failed for good.
  virtual Status Append(Record record) = 0;

  // Marks the end of a source transaction whose commit end LSN is `end_lsn`.
  // REQUIRES: end_lsn >= every end_lsn passed before.
  virtual Status EndTransaction(Lsn end_lsn) = 0;

  // See the contract above. Thread-safe.
  virtual Lsn DurableLsn() const = 0;

  // Serves callbacks (delivery reports) without blocking; returns the first fatal error if any.
  virtual Status Poll() = 0;

  // Waits until everything appended is durable or `timeout` passes (Unavailable then).
  virtual Status Flush(std::chrono::milliseconds timeout) = 0;

  // Snapshot chunks (docs/CAPTURE.md, "Snapshot in chunks"): every record of snapshot chunk `chunk`
  // (numbered from 1 in a run, increasing) was appended; `position` is where the snapshot resumes
  // after it (opaque here). A sink that tracks chunks itself (the channel of `cdcpipe run`) reports
  // the highest durable one with DurableSnapshotChunk(); the default tracks nothing (nullopt), and the
  // caller then takes a successful Flush() as the proof that the chunk is durable. A sink that tracks
  // chunks also promises that after a crash the destination holds no record of a chunk it had not
  // reported durable (`run` commits only at chunk ends); one that does not (Kafka) may hold some, and
  // capture then records beforehand how far they may go (docs/CAPTURE.md, "Kafka: what a crash sends
  // twice").
  virtual Status EndSnapshotChunk(uint64_t chunk, const std::string& position) {
    (void)chunk;
    (void)position;
    return Status::OK();
  }
  virtual std::optional<uint64_t> DurableSnapshotChunk() const { return std::nullopt; }

  // Buffer recycling: moves into `out` (appending) strings of records the destination is done with, emptied
  // but with their capacity, so that the caller encodes the next records into them instead of allocating
  // (and the destination's thread does not free what the caller's thread allocated). Default: none.
  virtual void TakeSpareStrings(std::vector<std::string>* out) { (void)out; }

  // Learns the topics before the first record (Kafka: looks up their partitions and leaders, so the
  // first transaction does not wait for that lookup). Best effort and bounded in time: a destination
  // that is not reachable yet is retried by Append as always. Default: nothing to do.
  virtual void Prepare(const std::vector<std::string>& topics) { (void)topics; }
};

}  // namespace cdc::log
