// NullSink: counts records and makes everything durable at once (for benchmarks and dry runs).
// Thread-safety: as RecordSink.
#pragma once

#include <atomic>
#include <cstdint>

#include "log/record_sink.h"

namespace cdc::log {

class NullSink final : public RecordSink {
 public:
  Status Append(Record record) override;
  Status EndTransaction(Lsn end_lsn) override;
  Lsn DurableLsn() const override { return Lsn(durable_.load(std::memory_order_acquire)); }
  Status Poll() override { return Status::OK(); }
  Status Flush(std::chrono::milliseconds) override { return Status::OK(); }

  uint64_t records() const { return records_.load(std::memory_order_relaxed); }
  uint64_t bytes() const { return bytes_.load(std::memory_order_relaxed); }  // key + value bytes
  uint64_t transactions() const { return transactions_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> records_{0}, bytes_{0}, transactions_{0}, durable_{0};
};

}  // namespace cdc::log
