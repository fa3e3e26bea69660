#include "log/channel_sink.h"

#include <algorithm>
#include <cassert>

namespace cdc::log {

ChannelSink::ChannelSink(size_t capacity)
    : capacity_(capacity), group_(std::clamp<size_t>(capacity / 16, 1, 256)) {
  assert(capacity > 0 && "ChannelSink needs room");
  group_items_.reserve(group_);
}

Status ChannelSink::Publish() {
  std::unique_lock lock(mu_);
  not_full_.wait(lock, [&] { return items_.size() < capacity_ || !failure_.ok() || closed_; });
  if (!failure_.ok()) return failure_;
  if (closed_) return Status::Cancelled("the in-process channel is closed");
  bool was_empty = items_.empty();
  for (auto& item : group_items_) items_.push_back(std::move(item));
  group_items_.clear();
  if (producer_spare_.empty()) producer_spare_.swap(spare_);
  // A consumer waits only on an empty queue.
  if (was_empty) not_empty_.notify_all();
  return Status::OK();
}

Status ChannelSink::Push(ChannelItem item, bool hand_over) {
  if (stopped_.load(std::memory_order_relaxed)) return Publish();  // the failure, or Cancelled
  group_items_.push_back(std::move(item));
  if (!hand_over && group_items_.size() < group_) return Status::OK();
  return Publish();
}

Status ChannelSink::Append(Record record) {
  ChannelItem item;
  item.record = std::move(record);
  return Push(std::move(item), /*hand_over=*/false);
}

Status ChannelSink::EndTransaction(Lsn end_lsn) {
  {
    std::lock_guard lock(mu_);
    if (end_lsn < last_end_lsn_)
      return Status::Internal("EndTransaction LSN went backwards: " + end_lsn.ToString() + " after " +
                              last_end_lsn_.ToString());
    last_end_lsn_ = end_lsn;
  }
  ChannelItem item;
  item.end_of_transaction = true;
  item.end_lsn = end_lsn;
  return Push(std::move(item), /*hand_over=*/true);
}

Status ChannelSink::EndSnapshotChunk(uint64_t chunk, const std::string& position) {
  ChannelItem item;
  item.snapshot_chunk = chunk;
  item.snapshot_position = position;
  return Push(std::move(item), /*hand_over=*/true);
}

void ChannelSink::MarkSnapshotChunkDurable(uint64_t chunk) {
  uint64_t prev = durable_chunk_.load(std::memory_order_relaxed);
  while (chunk > prev && !durable_chunk_.compare_exchange_weak(prev, chunk, std::memory_order_release)) {
  }
}

Status ChannelSink::Poll() {
  if (!group_items_.empty()) return Publish();
  std::lock_guard lock(mu_);
  return failure_;
}

Status ChannelSink::Flush(std::chrono::milliseconds timeout) {
  if (!group_items_.empty()) CDC_RETURN_IF_ERROR(Publish());
  std::unique_lock lock(mu_);
  bool done = durable_cv_.wait_for(lock, timeout, [&] {
    return !failure_.ok() || durable_.load(std::memory_order_acquire) >= last_end_lsn_.value();
  });
  if (!failure_.ok()) return failure_;
  if (!done)
    return Status::Unavailable("the in-process consumer did not make " + last_end_lsn_.ToString() + " durable within " +
                               std::to_string(timeout.count()) + " ms");
  return Status::OK();
}

std::optional<ChannelItem> ChannelSink::Pop(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  auto ready = [&] { return !items_.empty() || closed_; };
  if (timeout == std::chrono::milliseconds::max()) not_empty_.wait(lock, ready);
  else if (!not_empty_.wait_for(lock, timeout, ready)) return std::nullopt;
  if (items_.empty()) return std::nullopt;  // closed and drained
  ChannelItem item = std::move(items_.front());
  items_.pop_front();
  // The producer waits on a full queue: wake it once a whole group fits again, not at every item.
  if (items_.size() + group_ <= capacity_) not_full_.notify_one();
  return item;
}

void ChannelSink::TakeSpareStrings(std::vector<std::string>* out) {
  if (out->empty()) {
    out->swap(producer_spare_);
    return;
  }
  for (std::string& s : producer_spare_) out->push_back(std::move(s));
  producer_spare_.clear();
}

void ChannelSink::ReturnSpareStrings(std::vector<std::string>* strings) {
  std::erase_if(*strings, [](const std::string& s) { return s.capacity() > kMaxSpareCapacity; });
  for (std::string& s : *strings) s.clear();
  {
    std::lock_guard lock(mu_);
    if (spare_.empty()) {
      spare_.swap(*strings);
    } else {
      for (std::string& s : *strings) spare_.push_back(std::move(s));
    }
  }
  strings->clear();
}

void ChannelSink::MarkDurable(Lsn lsn) {
  {
    std::lock_guard lock(mu_);
    if (lsn.value() > durable_.load(std::memory_order_relaxed)) durable_.store(lsn.value(), std::memory_order_release);
  }
  durable_cv_.notify_all();
}

void ChannelSink::Fail(Status status) {
  {
    std::lock_guard lock(mu_);
    if (failure_.ok()) failure_ = status.ok() ? Status::Internal("in-process consumer failed") : std::move(status);
    stopped_.store(true, std::memory_order_relaxed);
  }
  not_full_.notify_all();
  durable_cv_.notify_all();
}

void ChannelSink::Close() {
  if (!group_items_.empty()) (void)Publish();  // the producer's last group (dropped after a failure)
  {
    std::lock_guard lock(mu_);
    closed_ = true;
    stopped_.store(true, std::memory_order_relaxed);
  }
  not_empty_.notify_all();
  not_full_.notify_all();
}

bool ChannelSink::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

size_t ChannelSink::size() const {
  std::lock_guard lock(mu_);
  return items_.size();
}

}  // namespace cdc::log
