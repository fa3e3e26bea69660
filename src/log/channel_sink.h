// ChannelSink: an in-process, bounded queue between capture (producer) and a consumer thread in the
// same process (`cdcpipe run`).
//
// The producer side is the RecordSink; the consumer side calls Pop() to take items in order. An item
// is either a record or an end-of-transaction marker carrying the LSN. The consumer decides when what
// it took is durable (e.g. a committed Parquet batch) and calls MarkDurable(lsn) with the highest
// end-of-transaction LSN it has made durable; DurableLsn() reports that (never backwards).
//
// Back-pressure: Append/EndTransaction block while the queue holds `capacity` items.
// Close(): no more items; Pop returns nullopt once drained. Fail(status): the consumer reports a
// permanent error; the producer's next Append/Poll returns it.
//
// Batching: the producer's records are handed over in groups of up to capacity/16 (at most 256), so
// the two threads take the lock and wake each other once per group, not once per record (that was a
// fifth of `run`'s CPU during a snapshot). A group is handed over when full and at every
// EndTransaction, EndSnapshotChunk, Poll, Flush and Close, so records wait on the producer side only
// while the producer is still inside a transaction and has not polled. The queue may then hold up to
// capacity + one group.
//
// Recycling: the consumer hands the strings of records it is done with back (ReturnSpareStrings); the
// producer takes them at its next hand-over (under the lock it takes anyway) and gets them from
// TakeSpareStrings. So a record's buffers are allocated once and freed never in a steady pipeline, instead
// of being allocated on the producer's thread and freed on the consumer's (a tenth of `run`'s CPU in a
// snapshot). The strings waiting are the ones that would have been freed: their number is bounded by the
// records in flight at the busiest moment; a string of more than kMaxSpareCapacity bytes is freed instead.
//
// Thread-safety: one producer thread (RecordSink calls and Close), any number of consumer threads.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "log/record_sink.h"

namespace cdc::log {

struct ChannelItem {
  // True: end of a source transaction (`end_lsn` set, `record` empty). False: a record (or a chunk end).
  bool end_of_transaction = false;
  Lsn end_lsn;
  Record record;
  // > 0: the end of snapshot chunk `snapshot_chunk` (`record` empty), `snapshot_position` as given to
  // EndSnapshotChunk.
  uint64_t snapshot_chunk = 0;
  std::string snapshot_position;
};

class ChannelSink final : public RecordSink {
 public:
  // `capacity`: the most items (records + transaction markers) queued at once. REQUIRES: capacity > 0.
  explicit ChannelSink(size_t capacity = 65536);

  // Producer side (RecordSink).
  Status Append(Record record) override;
  Status EndTransaction(Lsn end_lsn) override;
  Lsn DurableLsn() const override { return Lsn(durable_.load(std::memory_order_acquire)); }
  Status EndSnapshotChunk(uint64_t chunk, const std::string& position) override;
  std::optional<uint64_t> DurableSnapshotChunk() const override {
    return durable_chunk_.load(std::memory_order_acquire);
  }
  Status Poll() override;
  void TakeSpareStrings(std::vector<std::string>* out) override;
  // Waits until the consumer marked the last EndTransaction LSN durable (records after the last
  // EndTransaction are not counted), or timeout -> Unavailable.
  Status Flush(std::chrono::milliseconds timeout) override;

  // Consumer side. Blocks until an item is available or the channel is closed and empty (nullopt),
  // or `timeout` passes (nullopt; check closed()).
  std::optional<ChannelItem> Pop(std::chrono::milliseconds timeout = std::chrono::milliseconds::max());
  // Everything up to end LSN `lsn` is durable downstream. Lower values are ignored (never backwards).
  void MarkDurable(Lsn lsn);
  // Every record of snapshot chunk `chunk` is durable downstream (never backwards).
  void MarkSnapshotChunkDurable(uint64_t chunk);
  // Hands strings of consumed records back to the producer (Recycling, above); leaves `strings` empty.
  void ReturnSpareStrings(std::vector<std::string>* strings);
  static constexpr size_t kMaxSpareCapacity = 64 << 10;
  // A permanent consumer error: the producer stops at its next call.
  void Fail(Status status);
  // The producer is done: consumers drain and then see nullopt.
  void Close();
  bool closed() const;
  size_t size() const;

 private:
  // Adds `item` to the producer's group; hands the group over when it is full or `hand_over`.
  Status Push(ChannelItem item, bool hand_over);
  // Hands the producer's group to the queue (waits while the queue is full).
  Status Publish();

  const size_t capacity_;
  const size_t group_;                // records handed over at once (batching, above)
  std::vector<ChannelItem> group_items_;  // the producer's group not yet handed over; producer only
  std::vector<std::string> producer_spare_;  // recycled strings taken at a hand-over; producer only
  std::atomic<bool> stopped_{false};  // closed or failed: Append returns at once
  mutable std::mutex mu_;
  std::condition_variable not_full_, not_empty_, durable_cv_;
  std::deque<ChannelItem> items_;
  std::vector<std::string> spare_;  // returned by the consumer, not yet taken by the producer
  bool closed_ = false;
  Status failure_;
  Lsn last_end_lsn_;
  std::atomic<uint64_t> durable_{0};
  std::atomic<uint64_t> durable_chunk_{0};
};

}  // namespace cdc::log
