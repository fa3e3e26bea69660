// KafkaConsumer: a thin librdkafka consumer for the stream job: subscribe to topics (a name, or a regex
// starting with '^'), in a consumer group, poll batches, commit offsets explicitly, seek.
//
// enable.auto.commit=false and enable.auto.offset.store=false are set (the job commits what it has made
// durable); auto.offset.reset defaults to earliest and topic.metadata.refresh.interval.ms to 5000 (so a regex
// subscription picks up new topics within seconds). `properties` (-X) are applied last and win.
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

namespace cdc::log {

struct KafkaConsumerOptions {
  std::string brokers;   // bootstrap.servers. Required.
  std::string group_id;  // group.id. Required.
  std::vector<std::string> topics;  // names or "^regex" patterns. Required (non-empty).
  std::map<std::string, std::string> properties;  // -X properties, applied last. Default empty.
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
  static Result<std::unique_ptr<KafkaConsumer>> Create(KafkaConsumerOptions options);
  ~KafkaConsumer();  // closes the consumer (leaves the group)

  // Up to `max_messages` messages, waiting at most `timeout` for the first one. Partition EOF and
  // transient errors are not returned as errors (they are logged at debug); fatal errors are.
  Result<std::vector<ConsumedMessage>> PollBatch(size_t max_messages, std::chrono::milliseconds timeout);
  // Commits the given next-offsets synchronously.
  Status Commit(const std::vector<TopicPartitionOffset>& offsets);
  // Moves the fetch position of an assigned partition to `offset`.
  Status Seek(const TopicPartitionOffset& position, std::chrono::milliseconds timeout);
  // The group's committed next-offset of topic/partition, or -1001 (RD_KAFKA_OFFSET_INVALID) if none.
  Result<int64_t> Committed(const std::string& topic, int32_t partition, std::chrono::milliseconds timeout);

 private:
  explicit KafkaConsumer(KafkaConsumerOptions options) : options_(std::move(options)) {}
  Status Init();
  KafkaConsumerOptions options_;
  rd_kafka_s* rk_ = nullptr;
};

}  // namespace cdc::log
