// StreamJob: Kafka -> raw-kafka-data (docs/STREAM.md).
#include "jobs/stream.h"

#include <algorithm>
#include <set>
#include <thread>

#include "base/clock.h"
#include "base/log.h"
#include "base/shutdown.h"
#include "log/kafka_consumer.h"

namespace cdc::jobs {
namespace {

constexpr std::string_view kComponent = "stream";

void SetStage(PipelineStateHub* hub, const std::string& name, const std::string& state, const std::string& detail) {
  if (hub) hub->SetStage(name, state, detail);
}

}  // namespace

std::string CheckpointUri(const RawOutputOptions& options) {
  if (!options.checkpoint.empty()) return options.checkpoint;
  std::string out = options.output;
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out + "/_checkpoints/stream";
}

Status OpenRawStores(const RawOutputOptions& options, std::unique_ptr<store::ObjectStore>* output,
                     std::unique_ptr<store::ObjectStore>* checkpoint) {
  store::StoreOptions so = store::StoreOptions::FromEnvironment(options.store);
  int delay = 200;
  for (;;) {
    auto out = store::OpenStore(options.output, so);
    Status st = out.status();
    if (out.ok()) {
      auto cp = store::OpenStore(CheckpointUri(options), so);
      st = cp.status();
      if (cp.ok()) {
        *output = std::move(*out);
        *checkpoint = std::move(*cp);
        return Status::OK();
      }
    }
    if (!st.IsUnavailable()) return st;
    log::Warn(kComponent, "cannot open the output store: {}; retrying in {} ms", st.ToString(), delay);
    for (int w = 0; w < delay; w += 50) {
      if (ShutdownRequested()) return Status::Cancelled("stopped while waiting for the store");
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    delay = std::min(delay * 2, 5000);
  }
}

Status StreamJob::Run() {
  const RawOutputOptions& oo = options_.output;
  if (oo.output.empty() || options_.topics.empty() || options_.group.empty()) {
    return Status::InvalidArgument("stream: the output, the topics and the consumer group are required");
  }
  SetStage(oo.state, options_.name, "starting", "recovering " + oo.output);
  std::unique_ptr<store::ObjectStore> output, checkpoint;
  Status open = OpenRawStores(oo, &output, &checkpoint);
  if (open.IsCancelled()) return Status::OK();
  CDC_RETURN_IF_ERROR(open);

  RawSinkOptions ro;
  ro.output = output.get();
  ro.checkpoint = checkpoint.get();
  ro.compression = oo.compression;
  ro.observer = oo.observer;
  ro.state = oo.state;
  ro.stage = options_.name;
  ro.failpoint_prefix = options_.name;
  ro.withdrawn_file_grace_ms = oo.withdrawn_file_grace.count();
  ro.topic_prefix = options_.topic_prefix;
  auto opened = RawSink::Open(ro);
  if (!opened.ok() && opened.status().IsCancelled()) return Status::OK();
  CDC_RETURN_IF_ERROR(opened.status());
  std::unique_ptr<RawSink> sink = std::move(*opened);
  const RecoveryInfo& rec = sink->recovery();

  // next[tp]: the next offset to write (committed end; advanced as messages are buffered).
  PartitionOffsets committed = rec.next;
  std::optional<BatchPlan> redo = rec.pending;
  if (redo) {
    log::Info(kComponent, "batch {} was planned but not committed: redoing exactly its offsets", redo->batch_id);
  }

  log::KafkaConsumerOptions ko;
  ko.brokers = options_.brokers;
  ko.group_id = options_.group;
  ko.topics = options_.topics;
  ko.properties = {{"session.timeout.ms", "6000"}};
  for (const auto& [k, v] : options_.kafka_properties) ko.properties[k] = v;
  CDC_ASSIGN_OR_RETURN(auto consumer, log::KafkaConsumer::Create(ko));
  SetStage(oo.state, options_.name, "running", "consuming " + options_.brokers);

  // Per partition: the next offset expected (committed end, then the buffered tail).
  PartitionOffsets expected = committed;
  std::map<std::pair<std::string, int32_t>, int> seeks;  // seeks attempted per partition (gap detection)
  std::vector<RawEvent> buffer;
  std::vector<log::ConsumedMessage> carry;  // messages polled during a redo that belong after it
  int64_t batch_start_us = 0;
  uint64_t last_rows = 0;
  int64_t rate_since_us = MonoMicros();

  auto to_event = [](log::ConsumedMessage&& m) {
    RawEvent e;
    e.key = std::move(m.key);
    e.value = std::move(m.value);
    e.topic = std::move(m.topic);
    e.partition = m.partition;
    e.offset = m.offset;
    e.timestamp_us = m.timestamp_ms < 0 ? 0 : m.timestamp_ms * 1000;
    e.timestamp_type = 0;
    return e;
  };

  auto redo_complete = [&]() {
    for (const auto& [topic, parts] : redo->end) {
      for (const auto& [p, end] : parts) {
        auto st = redo->start.find(topic);
        if (st == redo->start.end() || !st->second.count(p)) continue;  // not in this batch
        auto it = expected.find(topic);
        int64_t at = (it != expected.end() && it->second.count(p)) ? it->second.at(p) : -1;
        if (at < end) return false;
      }
    }
    return true;
  };

  auto commit_buffer = [&](std::optional<BatchPlan> plan) -> Status {
    BatchPlan p = plan ? *plan : BatchPlan{};
    p.batch_id = sink->next_batch_id();
    if (!plan) {
      p.end = committed;
      for (const RawEvent& e : buffer) {
        auto& s = p.start[e.topic];
        if (!s.count(e.partition)) s[e.partition] = e.offset;
        p.end[e.topic][e.partition] = e.offset + 1;
      }
    }
    CDC_RETURN_IF_ERROR(sink->Commit(p, buffer));
    committed = p.end;
    stats_.batches++;
    stats_.rows += buffer.size();
    std::vector<log::TopicPartitionOffset> offs;
    for (const auto& [topic, parts] : p.start) {
      for (const auto& [partition, start] : parts) {
        (void)start;
        offs.push_back({topic, partition, p.end[topic][partition]});
      }
    }
    Status kc = consumer->Commit(offs);
    if (!kc.ok()) log::Warn(kComponent, "batch {}: Kafka offset commit failed ({}); the checkpoint keeps the position", p.batch_id, kc.ToString());
    log::Debug(kComponent, "committed batch {} ({} rows)", p.batch_id, buffer.size());
    buffer.clear();
    return Status::OK();
  };

  auto accept = [&](log::ConsumedMessage&& m, bool* seeked) -> void {
    auto key = std::make_pair(m.topic, m.partition);
    auto tit = expected.find(m.topic);
    bool known = tit != expected.end() && tit->second.count(m.partition);
    if (known) {
      int64_t want = tit->second.at(m.partition);
      if (m.offset < want) {
        ++stats_.duplicates_dropped;
        return;
      }
      if (m.offset > want) {
        if (seeks[key] < 3) {
          ++seeks[key];
          log::Info(kComponent, "{}/{}: consumer at offset {} but the checkpoint is at {}: seeking", m.topic,
                    m.partition, m.offset, want);
          Status st = consumer->Seek({m.topic, m.partition, want}, std::chrono::milliseconds(5000));
          if (!st.ok()) log::Warn(kComponent, "seek failed: {}", st.ToString());
          *seeked = true;
          return;
        }
        log::Warn(kComponent, "{}/{}: offsets {}..{} are gone from Kafka (retention?); continuing at {}", m.topic,
                  m.partition, want, m.offset - 1, m.offset);
      }
    }
    seeks.erase(key);
    if (redo) {
      auto st = redo->start.find(m.topic);
      bool in_plan = st != redo->start.end() && st->second.count(m.partition);
      if (!in_plan || m.offset >= redo->end[m.topic][m.partition]) {
        carry.push_back(std::move(m));
        return;
      }
    }
    expected[m.topic][m.partition] = m.offset + 1;
    if (buffer.empty()) batch_start_us = MonoMicros();
    buffer.push_back(to_event(std::move(m)));
  };

  for (;;) {
    bool stopping = ShutdownRequested();
    if (!stopping) {
      auto polled = consumer->PollBatch(std::min<size_t>(oo.max_batch_rows, 10000), std::chrono::milliseconds(100));
      if (!polled.ok()) return polled.status().WithContext("Kafka " + options_.brokers);
      std::set<std::pair<std::string, int32_t>> seeked_parts;
      for (auto& m : *polled) {
        auto key = std::make_pair(m.topic, m.partition);
        if (seeked_parts.count(key)) continue;  // the rest of this partition comes again after the seek
        bool seeked = false;
        accept(std::move(m), &seeked);
        if (seeked) seeked_parts.insert(key);
      }
    }
    if (redo) {
      if (redo_complete()) {
        std::optional<BatchPlan> plan = redo;
        redo.reset();
        Status st = commit_buffer(plan);
        if (st.IsCancelled()) break;
        CDC_RETURN_IF_ERROR(st);
        std::vector<log::ConsumedMessage> later = std::move(carry);
        carry.clear();
        bool dummy = false;
        for (auto& m : later) accept(std::move(m), &dummy);
      } else if (stopping) {
        log::Info(kComponent, "stopping before batch {} was redone; the next start redoes it", redo->batch_id);
        break;
      }
      continue;
    }
    bool due = !buffer.empty() &&
               (stopping || buffer.size() >= oo.max_batch_rows ||
                MonoMicros() - batch_start_us >= static_cast<int64_t>(oo.trigger.count()) * 1000);
    if (due) {
      Status st = commit_buffer(std::nullopt);
      if (st.IsCancelled()) break;
      CDC_RETURN_IF_ERROR(st);
    }
    int64_t now = MonoMicros();
    if (oo.state && now - rate_since_us >= 1000000) {
      double rate = (stats_.rows - last_rows) / ((now - rate_since_us) / 1e6);
      last_rows = stats_.rows;
      rate_since_us = now;
      oo.state->Update([&](PipelineState& s) {
        for (auto& st : s.stages)
          if (st.name == options_.name) st.events_per_second = rate;
      });
    }
    if (stopping) break;
  }
  stats_.non_json = sink->stats().non_json;
  SetStage(oo.state, options_.name, "stopped", "stopped after batch " + std::to_string(sink->next_batch_id() - 1));
  log::Info(kComponent, "stopped: {} batches, {} rows committed in this run, {} non-JSON values", stats_.batches,
            stats_.rows, stats_.non_json);
  return Status::OK();
}

}  // namespace cdc::jobs
