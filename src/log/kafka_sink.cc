#include "log/kafka_sink.h"

#include <algorithm>
#include <cstdlib>

#include "base/clock.h"
#include "base/log.h"
#include "log/rdkafka_api.h"

namespace cdc::log {

namespace {
constexpr std::string_view kComponent = "kafka";

int SyslogToLevel(int level) { return level; }

void LogCallback(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  // librdkafka uses syslog levels: 0-3 errors, 4 warning, 5-6 notice/info, 7 debug.
  int l = SyslogToLevel(level);
  if (l <= 3) Error(kComponent, "librdkafka {}: {}", fac, buf);
  else if (l == 4) Warn(kComponent, "librdkafka {}: {}", fac, buf);
  else if (l <= 6) Info(kComponent, "librdkafka {}: {}", fac, buf);
  else Debug(kComponent, "librdkafka {}: {}", fac, buf);
}
}  // namespace

// The C callbacks, friends of KafkaSink.
struct KafkaSinkCallbacks {
  static void Delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* sink = static_cast<KafkaSink*>(opaque);
    uint64_t seq = reinterpret_cast<uintptr_t>(m->_private);
    std::string_view topic = m->rkt ? rd_kafka_topic_name(m->rkt) : "";
    sink->OnDelivery(seq, m->err, m->err ? rd_kafka_err2str(m->err) : nullptr, topic);
  }
  static void Err(rd_kafka_t*, int err, const char* reason, void* opaque) {
    static_cast<KafkaSink*>(opaque)->OnError(err, reason);
  }
};

Status ParseKafkaProperty(std::string_view text, std::map<std::string, std::string>* props) {
  size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return Status::InvalidArgument("librdkafka property '" + std::string(text.substr(0, eq)) +
                                   "' must look like key=value (e.g. -X compression.type=zstd)");
  (*props)[std::string(text.substr(0, eq))] = std::string(text.substr(eq + 1));
  return Status::OK();
}

KafkaSink::KafkaSink(KafkaSinkOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<KafkaSink>> KafkaSink::Create(KafkaSinkOptions options) {
  CDC_RETURN_IF_ERROR(LoadRdkafka());  // before any other librdkafka call (log/rdkafka_api.h)
  std::unique_ptr<KafkaSink> sink(new KafkaSink(std::move(options)));
  CDC_RETURN_IF_ERROR(sink->Init());
  return sink;
}

Status KafkaSink::Init() {
  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::vector<std::pair<std::string, std::string>> settings = {
      {"client.id", "cdcpipe"},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"message.timeout.ms", "0"},  // never expire: retriable errors are retried until delivered
      {"partitioner", "murmur2_random"},  // the Java client's partitioner: same key -> same partition as Debezium
  };
  for (auto [k, v] : kHungConnectionSettings) settings.emplace_back(k, v);
  if (!options_.brokers.empty()) settings.emplace_back("bootstrap.servers", options_.brokers);
  for (const auto& kv : options_.properties) settings.emplace_back(kv.first, kv.second);
  for (const auto& [k, v] : settings) {
    if (k == "socket.timeout.ms") {
      // The stall shows well before librdkafka gives up on a request (the last setting wins, as in librdkafka).
      char* end = nullptr;
      long long ms = std::strtoll(v.c_str(), &end, 10);
      if (end != v.c_str() && *end == '\0' && ms > 0) stall_after_ = std::chrono::milliseconds(std::min(5000LL, ms / 2));
    }
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      // The value is not repeated: it may be a secret (sasl.password, ssl.key.password).
      return Status::InvalidArgument("Kafka producer property '" + k + "': " + errstr);
    }
  }
  rd_kafka_conf_set_opaque(conf, this);
  rd_kafka_conf_set_dr_msg_cb(conf, &KafkaSinkCallbacks::Delivery);
  rd_kafka_conf_set_error_cb(conf, &KafkaSinkCallbacks::Err);
  rd_kafka_conf_set_log_cb(conf, &LogCallback);
  rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk_) {
    rd_kafka_conf_destroy(conf);
    return Status::InvalidArgument(std::string("cannot create the Kafka producer: ") + errstr);
  }
  return Status::OK();
}

KafkaSink::~KafkaSink() {
  if (!rk_) return;
  // Whatever is still queued is dropped here (never acknowledged, so DurableLsn never covered it).
  rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_poll(rk_, 0);
  for (rd_kafka_topic_t* t : prepared_topics_) rd_kafka_topic_destroy(t);
  rd_kafka_destroy(rk_);
}

Status KafkaSink::FailedStatus() const { return failure_; }

Status KafkaSink::Append(Record record) {
  uint64_t seq;
  {
    std::lock_guard lock(mu_);
    if (!failure_.ok()) return failure_;
    if (txs_.empty() || txs_.back().ended) txs_.emplace_back();
    if (txs_.back().outstanding++ == 0) txs_.back().waiting_since_ms = WallMillis();
    seq = first_seq_ + txs_.size() - 1;
  }
  const void* key = record.key ? record.key->data() : nullptr;
  size_t key_len = record.key ? record.key->size() : 0;
  void* value = record.value ? record.value->data() : nullptr;
  size_t value_len = record.value ? record.value->size() : 0;
  int64_t waiting_since = 0;
  for (;;) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk_, RD_KAFKA_V_TOPIC(record.topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(const_cast<void*>(key), key_len), RD_KAFKA_V_VALUE(value, value_len),
        RD_KAFKA_V_TIMESTAMP(record.timestamp_ms), RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(seq))),
        RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      // Back-pressure: serve delivery reports until librdkafka has room again.
      {
        std::lock_guard lock(mu_);
        stats_.queue_full_waits++;
      }
      if (waiting_since == 0) waiting_since = MonoMicros();
      rd_kafka_poll(rk_, 50);
      Status s = Poll();
      if (!s.ok()) return s;  // the outstanding count stays: the transaction never becomes durable
      if (MonoMicros() - waiting_since > 30 * 1000000LL) {
        Warn(kComponent, "producer queue has been full for 30 s: Kafka ({}) is not acknowledging; still retrying",
             options_.brokers);
        waiting_since = MonoMicros();
      }
      continue;
    }
    std::lock_guard lock(mu_);
    txs_[seq - first_seq_].outstanding--;
    failure_ = Status::Internal("cannot produce to Kafka topic " + record.topic + ": " + rd_kafka_err2str(err));
    if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE)
      failure_ = Status::InvalidArgument("record for topic " + record.topic + " (" + std::to_string(value_len) +
                                         " bytes) is larger than message.max.bytes: raise it with -X message.max.bytes=N "
                                         "(and the topic's max.message.bytes)");
    return failure_;
  }
  std::lock_guard lock(mu_);
  stats_.appended++;
  return Status::OK();
}

Status KafkaSink::EndTransaction(Lsn end_lsn) {
  std::lock_guard lock(mu_);
  if (!failure_.ok()) return failure_;
  if (!txs_.empty() && txs_.back().ended && end_lsn < txs_.back().end_lsn)
    return Status::Internal("EndTransaction LSN went backwards: " + end_lsn.ToString() + " after " +
                            txs_.back().end_lsn.ToString());
  if (!txs_.empty() && txs_.back().ended && txs_.back().outstanding == 0) {
    txs_.back().end_lsn = end_lsn;  // an empty transaction right after another: merge, keeps memory bounded
  } else {
    if (txs_.empty() || txs_.back().ended) txs_.emplace_back();
    txs_.back().ended = true;
    txs_.back().end_lsn = end_lsn;
  }
  AdvanceDurable();
  return Status::OK();
}

void KafkaSink::AdvanceDurable() {
  while (!txs_.empty() && txs_.front().ended && txs_.front().outstanding == 0) {
    uint64_t lsn = txs_.front().end_lsn.value();
    if (lsn > durable_.load(std::memory_order_relaxed)) durable_.store(lsn, std::memory_order_release);
    txs_.pop_front();
    first_seq_++;
  }
}

void KafkaSink::OnDelivery(uint64_t seq, int err, const char* errstr, std::string_view topic) {
  std::lock_guard lock(mu_);
  if (seq < first_seq_ || seq - first_seq_ >= txs_.size()) return;  // cannot happen; never corrupt the deque
  last_report_ms_ = WallMillis();
  if (err != 0) {
    stats_.failed++;
    if (failure_.ok())
      failure_ = Status::Unavailable("Kafka did not accept a record for topic " + std::string(topic) + ": " +
                                     (errstr ? errstr : "unknown error") +
                                     "; the LSN is not confirmed past it, so a restart re-sends it");
    return;  // the transaction keeps its outstanding count: DurableLsn never passes it
  }
  stats_.acknowledged++;
  txs_[seq - first_seq_].outstanding--;
  AdvanceDurable();
}

void KafkaSink::OnError(int err, const char* reason) {
  if (err == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk_, buf, sizeof buf);
    std::lock_guard lock(mu_);
    if (failure_.ok())
      failure_ = Status::Internal(std::string("fatal Kafka producer error (") + rd_kafka_err2name(orig) + "): " + buf);
    return;
  }
  // Transport errors (broker down, connection refused, DNS): librdkafka retries by itself. Say so, rarely.
  int64_t now = MonoMicros();
  std::lock_guard lock(mu_);
  last_transport_error_ = reason ? reason : "";
  if (last_warn_us_ == 0 || now - last_warn_us_ >= options_.warn_interval.count() * 1000) {
    last_warn_us_ = now;
    uint64_t waiting = 0;
    for (const auto& t : txs_) waiting += t.outstanding;
    Warn(kComponent,
         "cannot reach Kafka at {}: {} ({}); {} record(s) wait for acknowledgement, the confirmed LSN stays at {}; "
         "retrying (check the brokers are up and reachable)",
         options_.brokers, last_transport_error_, rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)), waiting,
         Lsn(durable_.load()).ToString());
  }
}

Status KafkaSink::Poll() {
  rd_kafka_poll(rk_, 0);
  char buf[512];
  rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(rk_, buf, sizeof buf);
  std::lock_guard lock(mu_);
  if (fatal != RD_KAFKA_RESP_ERR_NO_ERROR && failure_.ok())
    failure_ = Status::Internal(std::string("fatal Kafka producer error (") + rd_kafka_err2name(fatal) + "): " + buf);
  return failure_;
}

Status KafkaSink::Flush(std::chrono::milliseconds timeout) {
  int64_t deadline = MonoMicros() + timeout.count() * 1000;
  for (;;) {
    int64_t left_ms = (deadline - MonoMicros()) / 1000;
    rd_kafka_flush(rk_, static_cast<int>(std::clamp<int64_t>(left_ms, 0, 100)));
    CDC_RETURN_IF_ERROR(Poll());
    uint64_t waiting = outstanding();
    if (waiting == 0) return Status::OK();
    if (MonoMicros() >= deadline)
      return Status::Unavailable("Kafka at " + options_.brokers + " did not acknowledge " + std::to_string(waiting) +
                                 " record(s) within " + std::to_string(timeout.count()) + " ms" +
                                 (last_transport_error_.empty() ? "" : " (last error: " + last_transport_error_ + ")"));
  }
}

void KafkaSink::Prepare(const std::vector<std::string>& topics) {
  // Without this, librdkafka learns a topic's partitions only on its next metadata refresh after the
  // first record, which holds the first transactions back for up to a second.
  int64_t deadline = MonoMicros() + options_.prepare_timeout.count() * 1000;
  for (const std::string& name : topics) {
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_, name.c_str(), nullptr);
    if (!rkt) continue;  // an invalid name: the first Append reports it
    prepared_topics_.push_back(rkt);
    int left_ms = static_cast<int>(std::max<int64_t>((deadline - MonoMicros()) / 1000, 0));
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_resp_err_t err = left_ms > 0 ? rd_kafka_metadata(rk_, 0, rkt, &md, left_ms) : RD_KAFKA_RESP_ERR__TIMED_OUT;
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      Warn(kComponent, "no metadata for topic {} from Kafka at {} yet ({}); starting anyway, records wait until it answers",
           name, options_.brokers, rd_kafka_err2str(err));
      continue;
    }
    if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      Info(kComponent, "topic {}: {} partition(s)", name, md->topics[0].partition_cnt);
    } else if (md->topic_cnt == 1) {
      Info(kComponent, "topic {}: {} (it is created on first use if the brokers allow it)", name,
           rd_kafka_err2str(md->topics[0].err));
    }
    rd_kafka_metadata_destroy(md);
  }
}

KafkaSinkStats KafkaSink::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

std::optional<KafkaWait> KafkaSink::Stall() const {
  std::lock_guard lock(mu_);
  KafkaWait w;
  for (const auto& t : txs_) {
    if (t.outstanding == 0) continue;
    if (w.unacknowledged == 0) w.since_ms = t.waiting_since_ms;
    w.unacknowledged += t.outstanding;
  }
  if (w.unacknowledged == 0) return std::nullopt;
  w.since_ms = std::max(w.since_ms, last_report_ms_);
  if (WallMillis() - w.since_ms < stall_after_.count()) return std::nullopt;
  return w;
}

uint64_t KafkaSink::outstanding() const {
  std::lock_guard lock(mu_);
  uint64_t n = 0;
  for (const auto& t : txs_) n += t.outstanding;
  return n;
}

}  // namespace cdc::log
