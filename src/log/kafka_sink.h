// KafkaSink: a RecordSink that produces to Kafka through librdkafka (C API).
//
// - Idempotent producer, acks=all, message.timeout.ms=0 (never give up: retriable errors such as an
//   unreachable broker are retried inside librdkafka forever) unless overridden by `properties`.
// - Every librdkafka property can be given in `properties` (like kcat -X key=value); they are applied
//   after the defaults above, so they win.
// - The Kafka message key is the record key (the Debezium JSON key), so a row always lands in the
//   same partition and its events stay in order.
// - Delivery reports are the only proof of durability: each transaction (records between two
//   EndTransaction calls) counts its outstanding messages; DurableLsn() is the highest EndTransaction
//   LSN whose transaction and all earlier ones are fully acknowledged without error. A message that
//   fails for good (delivery report with an error) never advances DurableLsn: Poll() returns the error
//   and the sink stays failed. A fatal producer error (rd_kafka_fatal_error) is returned the same way.
// - Back-pressure: when librdkafka's queue is full Append serves delivery reports and retries.
// - While no broker is reachable, a warning naming the brokers and librdkafka's error is logged at
//   most every 10 s; DurableLsn does not move.
// - A stall is visible while it lasts (Stall()): records wait for acknowledgement and Kafka has sent
//   no delivery report for stall_after() (min(5 s, socket.timeout.ms / 2)), as when a broker keeps the
//   connection open and answers nothing. A healthy broker acknowledges within milliseconds, and one
//   that keeps acknowledging (a long transaction, a backlog) is not stalled.
// Protocol: docs/DELIVERY.md.
//
// Thread-safety: as RecordSink (one producing thread; DurableLsn from any thread).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/status.h"
#include "log/record_sink.h"

struct rd_kafka_s;
struct rd_kafka_topic_s;

namespace cdc::log {

// Parses "key=value" (as given to -X) into `props`. InvalidArgument when there is no '='.
Status ParseKafkaProperty(std::string_view text, std::map<std::string, std::string>* props);

struct KafkaSinkOptions {
  // bootstrap.servers, "host:port,host:port". Required (may also come from properties).
  std::string brokers;
  // Extra librdkafka properties (-X), applied last. Default empty.
  std::map<std::string, std::string> properties;
  // How often the "cannot reach Kafka" warning may repeat. Default 10 s.
  std::chrono::milliseconds warn_interval{10000};
  // How long Prepare may wait for the topics' metadata. Default 5 s.
  std::chrono::milliseconds prepare_timeout{5000};
};

// Counters for status pages and benchmarks.
struct KafkaSinkStats {
  uint64_t appended = 0;     // records given to librdkafka
  uint64_t acknowledged = 0;  // delivery reports without error
  uint64_t failed = 0;        // delivery reports with an error
  uint64_t queue_full_waits = 0;  // times Append had to wait for room
};

// Records that wait for Kafka's acknowledgement, and since when Kafka has said nothing about them.
struct KafkaWait {
  uint64_t unacknowledged = 0;
  // Wall clock ms: the later of the first append of the oldest transaction with unacknowledged records
  // and the last delivery report. A broker that answers keeps moving it; a hung one does not.
  int64_t since_ms = 0;
};

class KafkaSink final : public RecordSink {
 public:
  // Creates the producer. InvalidArgument for a bad property (librdkafka's message included);
  // FailedPrecondition when librdkafka.so.1 cannot be loaded (log/rdkafka_api.h).
  static Result<std::unique_ptr<KafkaSink>> Create(KafkaSinkOptions options);
  ~KafkaSink() override;  // waits for nothing: call Flush first to deliver what is queued

  Status Append(Record record) override;
  Status EndTransaction(Lsn end_lsn) override;
  Lsn DurableLsn() const override { return Lsn(durable_.load(std::memory_order_acquire)); }
  Status Poll() override;
  Status Flush(std::chrono::milliseconds timeout) override;
  // Fetches the topics' metadata (at most `prepare_timeout`), logging what it found or why not.
  void Prepare(const std::vector<std::string>& topics) override;

  KafkaSinkStats stats() const;
  // Records appended but not yet acknowledged.
  uint64_t outstanding() const;
  // The wait in progress when it has lasted stall_after() or longer; nullopt when nothing waits or
  // Kafka answered more recently. Thread-safe.
  std::optional<KafkaWait> Stall() const;
  std::chrono::milliseconds stall_after() const { return stall_after_; }
  const std::string& brokers() const { return options_.brokers; }

 private:
  // One source transaction (or a run of empty ones) in flight.
  struct TxSlot {
    uint64_t outstanding = 0;  // records appended and not yet acknowledged
    int64_t waiting_since_ms = 0;  // wall clock: when outstanding last went from 0 to 1
    bool ended = false;        // EndTransaction seen
    Lsn end_lsn;               // valid once ended
  };
  friend struct KafkaSinkCallbacks;
  explicit KafkaSink(KafkaSinkOptions options);
  Status Init();
  void OnDelivery(uint64_t tx_seq, int err, const char* errstr, std::string_view topic);
  void OnError(int err, const char* reason);
  void AdvanceDurable();  // REQUIRES: mu_ held
  Status FailedStatus() const;

  KafkaSinkOptions options_;
  rd_kafka_s* rk_ = nullptr;
  std::vector<rd_kafka_topic_s*> prepared_topics_;  // handles from Prepare, kept for the producer's life

  mutable std::mutex mu_;
  // Transactions in append order; front() is the oldest not yet durable. The back() is the open one
  // (records appended since the last EndTransaction). Invariant: seq of txs_[i] == first_seq_ + i.
  std::deque<TxSlot> txs_;
  uint64_t first_seq_ = 0;
  Status failure_;  // first permanent delivery failure or fatal error; sticky
  KafkaSinkStats stats_;
  int64_t last_warn_us_ = 0;
  int64_t last_report_ms_ = 0;  // wall clock of the last delivery report, with or without an error
  std::chrono::milliseconds stall_after_{5000};  // set by Init from socket.timeout.ms
  std::string last_transport_error_;
  std::atomic<uint64_t> durable_{0};
};

}  // namespace cdc::log
