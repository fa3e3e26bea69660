#include "log/kafka_consumer.h"

#include <algorithm>

#include "base/clock.h"
#include "base/log.h"
#include "log/rdkafka_api.h"

namespace cdc::log {

namespace {
constexpr std::string_view kComponent = "kafka";

// librdkafka's log lines (syslog levels: 0-3 error, 4 warning, 5-6 notice/info, 7 debug) in our log. A
// broker that cannot be reached logs errors on every reconnect; OnError explains them once, so they are
// warnings here.
void LibrdkafkaLog(const rd_kafka_t*, int level, const char* facility, const char* text) {
  if (level <= 4) {
    Warn(kComponent, "librdkafka {}: {}", facility, text);
  } else if (level <= 6) {
    Info(kComponent, "librdkafka {}: {}", facility, text);
  } else {
    Debug(kComponent, "librdkafka {}: {}", facility, text);
  }
}

struct PartitionList {
  rd_kafka_topic_partition_list_t* list;
  explicit PartitionList(int n) : list(rd_kafka_topic_partition_list_new(n)) {}
  ~PartitionList() { rd_kafka_topic_partition_list_destroy(list); }
};
}  // namespace

// The C callback, a friend of KafkaConsumer.
struct KafkaConsumerCallbacks {
  static void Error(rd_kafka_t*, int err, const char* reason, void* opaque) {
    static_cast<KafkaConsumer*>(opaque)->OnError(err, reason);
  }
};

Result<std::unique_ptr<KafkaConsumer>> KafkaConsumer::Create(KafkaConsumerOptions options) {
  if (options.topics.empty()) return Status::InvalidArgument("Kafka consumer: no topics to subscribe to");
  if (options.group_id.empty() && !options.properties.count("group.id"))
    return Status::InvalidArgument("Kafka consumer: a consumer group id is required");
  CDC_RETURN_IF_ERROR(LoadRdkafka());  // before any other librdkafka call (log/rdkafka_api.h)
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
  for (auto [k, v] : kHungConnectionSettings) settings.emplace_back(k, v);
  if (!options_.brokers.empty()) settings.emplace_back("bootstrap.servers", options_.brokers);
  if (!options_.group_id.empty()) settings.emplace_back("group.id", options_.group_id);
  for (const auto& kv : options_.properties) settings.emplace_back(kv.first, kv.second);
  for (const auto& [k, v] : settings) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return Status::InvalidArgument("Kafka consumer property '" + k + "': " + errstr);
    }
  }
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_error_cb(conf, &KafkaConsumerCallbacks::Error);
  rd_kafka_conf_set_log_cb(conf, &LibrdkafkaLog);
  rk_ = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
  if (!rk_) {
    rd_kafka_conf_destroy(conf);
    return Status::InvalidArgument(std::string("cannot create the Kafka consumer: ") + errstr);
  }
  rd_kafka_poll_set_consumer(rk_);
  commit_queue_ = rd_kafka_queue_new(rk_);
  PartitionList topics(static_cast<int>(options_.topics.size()));
  for (const auto& t : options_.topics) rd_kafka_topic_partition_list_add(topics.list, t.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t err = rd_kafka_subscribe(rk_, topics.list);
  if (err) return Status::InvalidArgument(std::string("Kafka consumer: cannot subscribe: ") + rd_kafka_err2str(err));
  return Status::OK();
}

void KafkaConsumer::OnError(int err, const char* reason) {
  // A fatal error also reaches PollBatch through rd_kafka_fatal_error, which ends the job.
  if (err == RD_KAFKA_RESP_ERR__FATAL) return;
  int64_t now = MonoMicros();
  if (unreachable_since_us_ == 0) unreachable_since_us_ = now;
  if (last_warn_us_ != 0 && now - last_warn_us_ < options_.warn_interval.count() * 1000) return;
  last_warn_us_ = now;
  Warn(kComponent,
       "cannot reach Kafka at {}: {} ({}); nothing new is consumed or committed until it answers (for {:.0f} s "
       "now); retrying (check the brokers are up and reachable)",
       options_.brokers, reason ? reason : "", rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)),
       (now - unreachable_since_us_) / 1e6);
}

KafkaConsumer::~KafkaConsumer() {
  if (!rk_) return;
  if (commit_queue_) rd_kafka_queue_destroy(commit_queue_);
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
    if (unreachable_since_us_ != 0) {
      Info(kComponent, "Kafka at {} answers again after {:.1f} s; consuming", options_.brokers,
           (MonoMicros() - unreachable_since_us_) / 1e6);
      unreachable_since_us_ = 0;
      last_warn_us_ = 0;
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
  rd_kafka_resp_err_t err = rd_kafka_commit_queue(rk_, list.list, commit_queue_, nullptr, nullptr);
  if (err) return Status::Unavailable(std::string("Kafka offset commit failed: ") + rd_kafka_err2str(err));
  ++commits_unanswered_;
  // Answers come in request order: the last one polled here is this request's.
  Status answer;
  const int64_t deadline = MonoMicros() + options_.commit_timeout.count() * 1000;
  while (commits_unanswered_ > 0) {
    const int64_t left_ms = (deadline - MonoMicros()) / 1000;
    if (left_ms <= 0) {
      return Status::Unavailable("Kafka offset commit: no answer from the group coordinator at " + options_.brokers +
                                 " within " + std::to_string(options_.commit_timeout.count()) +
                                 " ms (is Kafka reachable?); librdkafka sends it when the coordinator is back");
    }
    rd_kafka_event_t* ev = rd_kafka_queue_poll(commit_queue_, static_cast<int>(std::min<int64_t>(left_ms, 100)));
    if (!ev) continue;
    if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_OFFSET_COMMIT) {
      --commits_unanswered_;
      answer = Status::OK();
      const rd_kafka_topic_partition_list_t* parts = rd_kafka_event_topic_partition_list(ev);
      if (rd_kafka_event_error(ev)) {
        answer = Status::Unavailable(std::string("Kafka offset commit failed: ") + rd_kafka_event_error_string(ev));
      } else {
        for (int i = 0; parts && i < parts->cnt && answer.ok(); ++i) {
          if (!parts->elems[i].err) continue;
          answer = Status::Unavailable("Kafka offset commit failed for " + std::string(parts->elems[i].topic) + "[" +
                                       std::to_string(parts->elems[i].partition) +
                                       "]: " + rd_kafka_err2str(parts->elems[i].err));
        }
      }
    }
    rd_kafka_event_destroy(ev);
  }
  return answer;
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
