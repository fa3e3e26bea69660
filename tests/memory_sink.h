// A RecordSink for in-process tests of CaptureJob: keeps every record in memory and makes a transaction durable at
// EndTransaction (unless `set_hold(true)`: then nothing becomes durable and Flush fails, as a sink whose
// destination is down, until `ReleaseHeld()` makes every transaction ended so far durable).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <utility>
#include <vector>

#include "log/record_sink.h"

namespace cdc::testing {

class MemorySink : public log::RecordSink {
 public:
  Status Append(log::Record record) override {
    std::lock_guard<std::mutex> l(mu_);
    records_.push_back(std::move(record));
    return Status::OK();
  }
  Status EndTransaction(Lsn end_lsn) override {
    ++transactions_;
    ended_.store(std::max(ended_.load(), end_lsn.value()));
    if (!hold_) durable_.store(std::max(durable_.load(), end_lsn.value()));
    return Status::OK();
  }
  Lsn DurableLsn() const override { return Lsn(durable_.load()); }
  Status Poll() override { return Status::OK(); }
  Status Flush(std::chrono::milliseconds) override {
    return hold_ ? Status::Unavailable("test sink holds every record") : Status::OK();
  }
  // Every record appended so far.
  std::vector<log::Record> records() const {
    std::lock_guard<std::mutex> l(mu_);
    return records_;
  }
  // The records appended since the last Take().
  std::vector<log::Record> Take() {
    std::lock_guard<std::mutex> l(mu_);
    return std::exchange(records_, {});
  }
  void set_hold(bool h) { hold_ = h; }
  // Stops holding; the transactions ended while held become durable (a destination back up).
  void ReleaseHeld() {
    hold_ = false;
    durable_.store(std::max(durable_.load(), ended_.load()));
  }
  uint64_t transactions() const { return transactions_; }

 private:
  mutable std::mutex mu_;
  std::vector<log::Record> records_;
  std::atomic<uint64_t> durable_{0};
  std::atomic<uint64_t> ended_{0};
  std::atomic<uint64_t> transactions_{0};
  std::atomic<bool> hold_{false};
};

}  // namespace cdc::testing
