#include "log/kafka_consumer.h"

#include <librdkafka/rdkafka.h>

#include "base/log.h"

namespace cdc::log {

namespace {
constexpr std::string_view kComponent = "kafka";

struct PartitionList {
  rd_kafka_topic_partition_list_t* list;
  explicit PartitionList(int n) : list(rd_kafka_topic_partition_list_new(n)) {}
  ~PartitionList() { rd_kafka_topic_partition_list_destroy(list); }
};
}  // namespace

Result<std::unique_ptr<KafkaConsumer>> KafkaConsumer::Create(KafkaConsumerOptions options) {
  if (options.topics.empty()) return Status::InvalidArgument("Kafka consumer: no topics to subscribe to");
  if (options.group_id.empty() && !options.properties.count("group.id"))
    return Status::InvalidArgument("Kafka consumer: a consumer group id is required");
  std::unique_ptr<KafkaConsumer> c(new KafkaConsumer(std::move(options)));
  CDC_RETURN_IF_ERROR(c->Init());
  return c;
}

Status KafkaConsumer::Init() {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::vector<std::pair<std::string, std::string>> settings = {
      {"client.id", "cdcpipe"},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      // A regex subscription only sees topics created after it at the next metadata refresh (librdkafka
      // default: 5 minutes); capture creates a table's topic with its first event, so look every 5 s.
      {"topic.metadata.refresh.interval.ms", "5000"},
  };
  if (!options_.brokers.empty()) settings.emplace_back("bootstrap.servers", options_.brokers);
  if (!options_.group_id.empty()) settings.emplace_back("group.id", options_.group_id);
  for (const auto& kv : options_.properties) settings.emplace_back(kv.first, kv.second);
  for (const auto& [k, v] : settings) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Status::InvalidArgument("Kafka consumer property '" + k + "': " + errstr);
    }
  }
  rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (!rk_) {
    rd_kafka_conf_destroy(conf);
    return Status::InvalidArgument(std::string("cannot create the Kafka consumer: ") + errstr);
  }
  rd_kafka_poll_set_consumer(rk_);
  PartitionList topics(static_cast<int>(options_.topics.size()));
  for (const auto& t : options_.topics) rd_kafka_topic_partition_list_add(topics.list, t.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_, topics.list);
  if (err) return Status::InvalidArgument(std::string("Kafka consumer: cannot subscribe: ") + rd_kafka_err2str(err));
  return Status::OK();
}

KafkaConsumer::~KafkaConsumer() {
  if (!rk_) return;
  rd_kafka_consumer_close(rk_);
  rd_kafka_destroy(rk_);
}

Result<std::vector<ConsumedMessage>> KafkaConsumer::PollBatch(size_t max_messages, std::chrono::milliseconds timeout) {
  std::vector<ConsumedMessage> out;
  int wait_ms = static_cast<int>(timeout.count());
  while (out.size() < max_messages) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_, wait_ms);
    if (!m) break;
    wait_ms = 0;  // only the first message is waited for
    if (m->err) {
      rd_kafka_resp_err_t err = m->err;
      std::string text = rd_kafka_message_errstr(m);
      rd_kafka_message_destroy(m);
      if (err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
      char buf[512];
      if (rd_kafka_fatal_error(rk_, buf, sizeof buf))
        return Status::Internal(std::string("fatal Kafka consumer error: ") + buf);
      if (err == RD_KAFKA_RESP_ERR__FATAL) return Status::Internal("fatal Kafka consumer error: " + text);
      Warn(kComponent, "Kafka consumer: {} ({}); retrying", text, rd_kafka_err2name(err));
      continue;
    }
    ConsumedMessage cm;
    cm.topic = rd_kafka_topic_name(m->rkt);
    cm.partition = m->partition;
    cm.offset = m->offset;
    rd_kafka_timestamp_type_t tstype;
    cm.timestamp_ms = rd_kafka_message_timestamp(m, &tstype);
    if (m->key) cm.key.emplace(static_cast<const char*>(m->key), m->key_len);
    if (m->payload) cm.value.emplace(static_cast<const char*>(m->payload), m->len);
    rd_kafka_message_destroy(m);
    out.push_back(std::move(cm));
  }
  return out;
}

Status KafkaConsumer::Commit(const std::vector<TopicPartitionOffset>& offsets) {
  if (offsets.empty()) return Status::OK();
  PartitionList list(static_cast<int>(offsets.size()));
  for (const auto& o : offsets)
    rd_kafka_topic_partition_list_add(list.list, o.topic.c_str(), o.partition)->offset = o.offset;
  rd_kafka_resp_err_t err = rd_kafka_commit(rk_, list.list, 0);
  if (err) return Status::Unavailable(std::string("Kafka offset commit failed: ") + rd_kafka_err2str(err));
  for (int i = 0; i < list.list->cnt; ++i) {
    if (list.list->elems[i].err)
      return Status::Unavailable("Kafka offset commit failed for " + std::string(list.list->elems[i].topic) + "[" +
                                 std::to_string(list.list->elems[i].partition) +
                                 "]: " + rd_kafka_err2str(list.list->elems[i].err));
  }
  return Status::OK();
}

Status KafkaConsumer::Seek(const TopicPartitionOffset& position, std::chrono::milliseconds timeout) {
  PartitionList list(1);
  rd_kafka_topic_partition_list_add(list.list, position.topic.c_str(), position.partition)->offset = position.offset;
  rd_kafka_error_t* error = rd_kafka_seek_partitions(rk_, list.list, static_cast<int>(timeout.count()));
  if (error) {
    std::string msg = rd_kafka_error_string(error);
    rd_kafka_error_destroy(error);
    return Status::Unavailable("Kafka seek failed: " + msg);
  }
  if (list.list->elems[0].err)
    return Status::FailedPrecondition("Kafka seek of " + position.topic + "[" + std::to_string(position.partition) +
                                      "] failed: " + rd_kafka_err2str(list.list->elems[0].err) +
                                      " (is the partition assigned to this consumer yet?)");
  return Status::OK();
}

Result<int64_t> KafkaConsumer::Committed(const std::string& topic, int32_t partition, std::chrono::milliseconds timeout) {
  PartitionList list(1);
  rd_kafka_topic_partition_list_add(list.list, topic.c_str(), partition);
  rd_kafka_resp_err_t err = rd_kafka_committed(rk_, list.list, static_cast<int>(timeout.count()));
  if (err) return Status::Unavailable(std::string("cannot read committed Kafka offsets: ") + rd_kafka_err2str(err));
  return list.list->elems[0].offset;
}

}  // namespace cdc::log
