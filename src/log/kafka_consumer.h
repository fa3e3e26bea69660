// KafkaConsumer: a thin librdkafka consumer for the stream job: subscribe to topics (a name, or a regex
// starting with '^'), in a consumer group, poll batches, commit offsets explicitly, seek.
//
// enable.auto.commit=false and enable.auto.offset.store=false are set (the job commits what it has made
// durable); auto.offset.reset defaults to earliest and topic.metadata.refresh.interval.ms to 5000 (so a regex
// subscription picks up new topics within seconds). `properties` (-X) are applied last and win.
//
// Faults: librdkafka reconnects to unreachable brokers by itself and PollBatch just returns nothing
// meanwhile. librdkafka's error events (broker down, connection refused, all brokers down) are not
// returned as errors: the first one is logged as a warning naming the brokers ("cannot reach Kafka at
// ..."), repeated at most every `warn_interval`, and the first message consumed afterwards logs that
// Kafka answers again. librdkafka's own log lines go through cdcpipe's log (component "kafka").
// Callbacks run inside PollBatch (the consumer queue serves them), on the owning thread.
//
// Thread-safety: not thread-safe; one thread owns a consumer.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

struct rd_kafka_s;
struct rd_kafka_queue_s;

namespace cdc::log {

struct KafkaConsumerOptions {
  std::string brokers;   // bootstrap.servers. Required.
  std::string group_id;  // group.id. Required.
  std::vector<std::string> topics;  // names or "^regex" patterns. Required (non-empty).
  std::map<std::string, std::string> properties;  // -X properties, applied last. Default empty.
  std::chrono::milliseconds warn_interval{10000};  // how often "cannot reach Kafka" may repeat. Default 10 s.
  std::chrono::milliseconds commit_timeout{5000};  // how long Commit waits for the coordinator. Default 5 s.
};

struct ConsumedMessage {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = -1;  // -1 when the message has no timestamp
  std::optional<std::string> key;
  std::optional<std::string> value;  // nullopt: tombstone
};

// A position to commit or seek to: the offset of the NEXT message to read.
struct TopicPartitionOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
};

class KafkaConsumer {
 public:
  // Creates the consumer and subscribes. InvalidArgument for bad options; FailedPrecondition when
  // librdkafka.so.1 cannot be loaded (log/rdkafka_api.h).
  static Result<std::unique_ptr<KafkaConsumer>> Create(KafkaConsumerOptions options);
  // Closes the consumer (leaves the group). While the coordinator is unreachable this takes up to
  // session.timeout.ms (librdkafka gives up on the group then).
  ~KafkaConsumer();

  // Up to `max_messages` messages, waiting at most `timeout` for the first one. Partition EOF and
  // transient errors are not returned as errors (they are logged at debug); fatal errors are.
  Result<std::vector<ConsumedMessage>> PollBatch(size_t max_messages, std::chrono::milliseconds timeout);
  // Commits the given next-offsets and waits up to options.commit_timeout for the group coordinator's
  // answer. Unavailable when it did not answer in time (e.g. the broker is down: librdkafka keeps the
  // request and sends it when the coordinator is back; its late answer is discarded by a later call).
  // Never waits longer: rd_kafka_commit's synchronous mode waits for as long as the coordinator is
  // unreachable, which would stop the caller's loop (and Ctrl-C) for the whole outage.
  Status Commit(const std::vector<TopicPartitionOffset>& offsets);
  // Moves the fetch position of an assigned partition to `offset`.
  Status Seek(const TopicPartitionOffset& position, std::chrono::milliseconds timeout);
  // The group's committed next-offset of topic/partition, or -1001 (RD_KAFKA_OFFSET_INVALID) if none.
  Result<int64_t> Committed(const std::string& topic, int32_t partition, std::chrono::milliseconds timeout);

 private:
  friend struct KafkaConsumerCallbacks;
  explicit KafkaConsumer(KafkaConsumerOptions options) : options_(std::move(options)) {}
  Status Init();
  // A librdkafka error event (error_cb): logs the rate-limited warning described above.
  void OnError(int err, const char* reason);
  KafkaConsumerOptions options_;
  rd_kafka_s* rk_ = nullptr;
  rd_kafka_queue_s* commit_queue_ = nullptr;  // where librdkafka posts the answers to Commit's requests
  int commits_unanswered_ = 0;                // requests sent by Commit whose answer is not yet polled
  int64_t unreachable_since_us_ = 0;  // MonoMicros of the first error event since a message was consumed; 0: none
  int64_t last_warn_us_ = 0;          // when the last "cannot reach Kafka" warning was logged
};

}  // namespace cdc::log
