// CommittedBatch: what the raw sink (`cdcpipe stream`, `cdcpipe run`) tells later stages after a
// micro-batch is committed (its `_spark_metadata` entry exists). The live aggregates of `cdcpipe run`
// consume these; nothing else may observe uncommitted data.
//
// Thread-safety: the observer is called on the raw sink's thread, after the commit and before the
// next batch starts; it must not block for long (copy what it needs).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/lsn.h"

namespace cdc::jobs {

// One raw event row, as written to raw-kafka-data (Spark's Kafka source columns).
struct RawEvent {
  std::optional<std::string> key;    // the event's JSON key
  std::optional<std::string> value;  // the event's JSON value; nullopt = tombstone
  std::string topic;                 // "dbserver1.public.klienci"
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_us = 0;          // Kafka timestamp, microseconds since the epoch
  int32_t timestamp_type = 0;        // 0 = CreateTime, 1 = LogAppendTime
  // `cdcpipe run` only: the change `value` encodes, reduced to the columns the live views read, in
  // their compact form (log::Record::change); empty otherwise (then only the JSON has it).
  std::string change = {};
};

struct CommittedBatch {
  int64_t batch_id = 0;
  // The events of the batch in commit order per topic-partition.
  const std::vector<RawEvent>* events = nullptr;
  // The highest source end-of-transaction LSN fully contained in this and earlier batches
  // (embedded `run` only; invalid when it is not known, e.g. when reading from Kafka).
  Lsn source_lsn;
  // The batch withdrew earlier files (RawSink::RetractAll) instead of adding events: an observer that
  // keeps state must rebuild it from the committed files.
  bool withdrawal = false;
};

using CommittedBatchObserver = std::function<void(const CommittedBatch&)>;

}  // namespace cdc::jobs
