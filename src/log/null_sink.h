// NullSink: counts records and makes everything durable at once (for benchmarks and dry runs).
// Thread-safety: as RecordSink.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>

#include "log/record_sink.h"

namespace cdc::log {

class NullSink final : public RecordSink {
 public:
  Status Append(Record record) override;
  Status EndTransaction(Lsn end_lsn) override;
  Lsn DurableLsn() const override { return Lsn(durable_.load(std::memory_order_acquire)); }
  Status Poll() override { return Status::OK(); }
  Status Flush(std::chrono::milliseconds) override { return Status::OK(); }
  // Every chunk is durable once it ends (nothing is kept, so nothing can be left half-delivered).
  Status EndSnapshotChunk(uint64_t chunk, const std::string&) override {
    durable_chunk_.store(chunk, std::memory_order_release);
    return Status::OK();
  }
  std::optional<uint64_t> DurableSnapshotChunk() const override {
    return durable_chunk_.load(std::memory_order_acquire);
  }

  uint64_t records() const { return records_.load(std::memory_order_relaxed); }
  uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }  // key + value bytes
  uint64_t transactions() const { return transactions_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> records_{0}, bytes_{0}, transactions_{0}, durable_{0}, durable_chunk_{0};
};

}  // namespace cdc::log
