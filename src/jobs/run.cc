// Pipeline: `cdcpipe run` (docs/STREAM.md, "run").
#include "jobs/run.h"

#include <algorithm>
#include <condition_variable>
#include <iterator>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/shutdown.h"
#include "jobs/capture_state.h"
#include "log/channel_sink.h"
#include "log/kafka_sink.h"
#include "pg/connection.h"

namespace cdc::jobs {
namespace {

// Passes capture's records on to `inner` unchanged and counts them per table into the pipeline state
// (at most once a second, and on Flush), so `run --brokers` reports what it captured like the embedded
// path does. Called from the capture thread only (RecordSink's threading contract).
class CountingSink final : public log::RecordSink {
 public:
  CountingSink(log::RecordSink* inner, PipelineStateHub* state, std::string topic_prefix)
      : inner_(inner), state_(state), topic_prefix_(std::move(topic_prefix)) {}
  Status Append(log::Record record) override {
    ++pending_[TableOfTopic(record.topic, topic_prefix_)];
    return inner_->Append(std::move(record));
  }
  Status EndTransaction(Lsn end_lsn) override {
    if (MonoMicros() - last_publish_us_ >= 1000000) Publish();
    return inner_->EndTransaction(end_lsn);
  }
  Lsn DurableLsn() const override { return inner_->DurableLsn(); }
  Status Poll() override {
    if (!pending_.empty() && MonoMicros() - last_publish_us_ >= 1000000) Publish();
    return inner_->Poll();
  }
  Status Flush(std::chrono::milliseconds timeout) override {
    Publish();
    return inner_->Flush(timeout);
  }
  void Prepare(const std::vector<std::string>& topics) override { inner_->Prepare(topics); }

 private:
  void Publish() {
    last_publish_us_ = MonoMicros();
    if (pending_.empty()) return;
    state_->Update([&](PipelineState& s) {
      for (const auto& [table, n] : pending_) s.tables[table].events_captured_total += n;
    });
    pending_.clear();
  }
  log::RecordSink* inner_;
  PipelineStateHub* state_;
  std::string topic_prefix_;
  std::map<std::string, uint64_t> pending_;
  int64_t last_publish_us_ = 0;
};

constexpr std::string_view kComponent = "run";

// Moves the slot to the committed source position so that capture resumes exactly after what is
// committed. Sets *skip to the records of the next transaction that are already committed.
Status PositionSlot(const CaptureOptions& c, Lsn committed, uint64_t committed_skip, uint64_t* skip) {
  *skip = 0;
  CDC_ASSIGN_OR_RETURN(pg::PgConnection conn, pg::PgConnection::Connect(c.conninfo));
  for (int attempt = 0;; ++attempt) {
    CDC_ASSIGN_OR_RETURN(pg::PgResult r,
                         conn.ExecParams("SELECT confirmed_flush_lsn, active, wal_status = 'lost' FROM "
                                         "pg_replication_slots WHERE slot_name = $1 AND database = current_database()",
                                         {c.slot}));
    // A missing or invalidated slot: capture's pre-flight decides (a new snapshot, or a stop naming the
    // LSN the output needs).
    if (r.rows() == 0 || r.Get(0, 2) == "t") return Status::OK();
    if (!committed.valid()) return Status::OK();  // nothing streamed yet (the snapshot starts over)
    Lsn confirmed = r.IsNull(0, 0) ? Lsn() : Lsn::Parse(r.Get(0, 0)).value_or(Lsn());
    if (confirmed > committed) return Status::OK();  // everything up to `confirmed` is committed, nothing partial
    *skip = committed_skip;
    if (confirmed == committed) return Status::OK();
    if (r.Get(0, 1) == "t") {
      // The walsender of a process that just died may still hold the slot for a moment.
      if (attempt >= 600) {
        return Status::FailedPrecondition("replication slot \"" + c.slot +
                                          "\" is in use by another process: stop the other capture or run first");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (ShutdownRequested()) return Status::Cancelled("stopped while waiting for the slot");
      continue;
    }
    log::Info(kComponent, "moving slot \"{}\" from {} to the committed position {}", c.slot, confirmed.ToString(),
              committed.ToString());
    auto adv = conn.ExecParams("SELECT pg_replication_slot_advance($1, $2::pg_lsn)", {c.slot, committed.ToString()});
    if (!adv.ok()) {
      if (attempt < 600 && adv.status().message().find("active") != std::string::npos) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        continue;
      }
      return adv.status().WithContext("moving replication slot \"" + c.slot + "\" to " + committed.ToString());
    }
    return Status::OK();
  }
}

// The output's checkpoint is the proof that the snapshot is durable: capture sets its marker to complete
// only after the batch holding the snapshot's end was committed, so a crash between the two left it
// "pending", and capture would drop the slot and append the snapshot a second time. A committed source
// position at or after the slot's consistent point can only come from that slot's stream (WAL positions
// only grow, and the marker is of this cluster), so the snapshot was complete: say so.
Status CompleteSnapshotMarker(const CaptureOptions& c, Lsn committed) {
  if (!committed.valid()) return Status::OK();
  CDC_ASSIGN_OR_RETURN(auto state, CaptureState::Open(c.state_uri, c.state_store));
  CDC_ASSIGN_OR_RETURN(std::optional<SnapshotMarker> m, state->Read(c.slot));
  if (!m || m->complete || !m->snapshot_lsn.valid() || committed < m->snapshot_lsn) return Status::OK();
  m->complete = true;
  m->completed_at = "";
  log::Warn(kComponent,
            "the last run stopped after committing the snapshot of slot \"{}\" (source position {}, consistent "
            "point {}) but before marking it complete: marking it now (no second snapshot)",
            c.slot, committed.ToString(), m->snapshot_lsn.ToString());
  return state->Write(*m);
}

// A committed snapshot chunk (the position of the last committed batch) is where the interrupted snapshot
// continues: capture resumes after it when the slot and its pending marker are still there. The marker
// is set to that position here because the last run may have died between committing the batch and
// saving the position. Returns false when the snapshot cannot continue (then its committed rows are
// withdrawn and it starts over), with the marker's position cleared so that nothing resumes past them.
Result<bool> ResumeSnapshotMarker(const CaptureOptions& c, const std::string& committed_position) {
  CDC_ASSIGN_OR_RETURN(auto state, CaptureState::Open(c.state_uri, c.state_store));
  CDC_ASSIGN_OR_RETURN(std::optional<SnapshotMarker> m, state->Read(c.slot));
  if (!m || m->complete) return false;
  bool resumable = false;
  auto parsed = ParseSnapshotPosition(committed_position);
  if (parsed.ok() && parsed->second.resumable && parsed->first == m->snapshot_lsn) {
    CDC_ASSIGN_OR_RETURN(pg::PgConnection conn, pg::PgConnection::Connect(c.conninfo));
    CDC_ASSIGN_OR_RETURN(pg::PgResult r, conn.ExecParams("SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 "
                                                         "AND database = current_database()",
                                                         {c.slot}));
    resumable = r.rows() == 1;
  }
  if (resumable) {
    const pg::ParallelSnapshotPosition& p = parsed->second;
    if (!m->position || m->position->rows != p.rows) {
      log::Info(kComponent, "the committed output holds the initial snapshot up to {} rows ({} range(s) read whole "
                "before the first open one, {} more started): capture resumes after it", p.rows, p.done_below,
                p.ranges.size());
      m->position = p;
      CDC_RETURN_IF_ERROR(state->Write(*m));
    }
    return true;
  }
  if (m->position) {
    m->position.reset();
    CDC_RETURN_IF_ERROR(state->Write(*m));
  }
  return false;
}

// Shows a stall of the replication connection on the capture stage: the keepalive capture asked a
// silent PostgreSQL for and has not received (a live server answers at once; a hung connection shows
// here from half of source.replication_timeout until it is replaced), and when PostgreSQL last sent
// anything.
void PublishReplicationWait(const CaptureStats& cs, StageState& st) {
  st.last_progress_ms = cs.last_heard_ms;
  st.waiting_since_ms = cs.keepalive_asked_ms;
  if (cs.keepalive_asked_ms == 0) {
    st.waiting_on.clear();
  } else {
    st.waiting_on = "PostgreSQL: a keepalive asked for on the replication connection";
    if (cs.last_heard_ms > 0) {
      st.waiting_on += " (no message for " + std::to_string((WallMillis() - cs.last_heard_ms) / 1000) + " s)";
    }
  }
}

// Shows a stall of Kafka on the capture stage that produces to it: records Kafka has not acknowledged
// and no delivery report for the sink's stall_after() (a hung broker). When the replication
// connection waits too, the older of the two waits is shown.
void PublishKafkaWait(const log::KafkaSink& producer, StageState& st) {
  std::optional<log::KafkaWait> w = producer.Stall();
  if (!w || (!st.waiting_on.empty() && st.waiting_since_ms <= w->since_ms)) return;
  st.waiting_since_ms = w->since_ms;
  st.waiting_on = "Kafka: " + std::to_string(w->unacknowledged) + " message(s) unacknowledged, none acknowledged for " +
                  std::to_string((WallMillis() - w->since_ms) / 1000) + " s (brokers " + producer.brokers() + ")";
}

// Publishes capture's figures and waits on its stage. A lost or hung replication connection (replaced
// by capture) is an error of the capture stage: /metrics cdcpipe_errors_total{stage="capture"} and the
// recent errors say so. `reconnects_published`: capture's reconnects already counted.
void PublishCaptureStage(const CaptureStats& cs, const std::string& slot, uint64_t* reconnects_published,
                         PipelineState& s) {
  StageState& st = s.Stage("capture");
  st.detail = "slot " + slot + ", " + std::to_string(cs.events) + " events, " + std::to_string(cs.reconnects) +
              " reconnects (" + std::to_string(cs.hung_connections) + " hung)";
  PublishReplicationWait(cs, st);
  if (cs.reconnects > *reconnects_published) {
    st.errors_total += cs.reconnects - *reconnects_published;
    s.recent_errors.push_back("capture: replication connection replaced: " + cs.last_disconnect);
    if (s.recent_errors.size() > 20) s.recent_errors.erase(s.recent_errors.begin());
    *reconnects_published = cs.reconnects;
  }
}

}  // namespace

Pipeline::Pipeline(RunOptions options) : options_(std::move(options)) {
  state_.Update([](PipelineState& s) { s.started_at_ms = WallMillis(); });
  options_.capture.state = &state_;  // the snapshot's progress (/api/status, /metrics, dashboard)
}
Pipeline::~Pipeline() = default;

void Pipeline::AddObserver(CommittedBatchObserver observer) { observers_.push_back(std::move(observer)); }

void Pipeline::Notify(const CommittedBatch& batch) {
  for (auto& o : observers_) o(batch);
}

RunStats Pipeline::stats() const {
  std::lock_guard<std::mutex> l(stats_mu_);
  return stats_;
}

Status Pipeline::Run() { return options_.brokers.empty() ? RunEmbedded() : RunThroughKafka(); }

Result<std::string> Pipeline::RequestSnapshot(const std::string& table, const std::string& where) {
  std::lock_guard<std::mutex> l(capture_mu_);
  if (!capture_) return Status::Unavailable("capture is not running (starting or stopping): try again");
  return capture_->RequestSnapshot(table, where);
}

Result<std::vector<IncrementalSnapshot>> Pipeline::Snapshots() {
  std::lock_guard<std::mutex> l(capture_mu_);
  if (!capture_) return Status::Unavailable("capture is not running (starting or stopping): try again");
  return capture_->Snapshots();
}

Status Pipeline::RunThroughKafka() {
  log::KafkaSinkOptions ko;
  ko.brokers = options_.brokers;
  ko.properties = options_.kafka_properties;
  CDC_ASSIGN_OR_RETURN(auto producer, log::KafkaSink::Create(ko));
  CountingSink counting(producer.get(), &state_, options_.capture.encoder.topic_prefix);
  CaptureJob capture(options_.capture, &counting);
  state_.SetStage("capture", "running", "capturing into Kafka " + options_.brokers);
  // Publishes capture's stage twice a second from a thread of its own: the capture thread may be
  // blocked in the producer (a full queue while Kafka does not answer), which is when the stall matters.
  std::mutex publish_mu;
  std::condition_variable publish_cv;
  bool capture_done = false;
  std::thread publisher([&] {
    uint64_t reconnects_published = 0;
    std::unique_lock<std::mutex> l(publish_mu);
    while (!publish_cv.wait_for(l, std::chrono::milliseconds(500), [&] { return capture_done; })) {
      CaptureStats cs = capture.stats();
      state_.Update([&](PipelineState& s) {
        PublishCaptureStage(cs, options_.capture.slot, &reconnects_published, s);
        PublishKafkaWait(*producer, s.Stage("capture"));
      });
    }
  });
  Status capture_status;
  std::thread capture_thread([&] {
    SetCapture(&capture);
    capture_status = capture.Run();
    SetCapture(nullptr);
    {
      std::lock_guard<std::mutex> l(publish_mu);
      capture_done = true;
    }
    publish_cv.notify_all();
    publisher.join();
    state_.Update([](PipelineState& s) {
      s.Stage("capture").waiting_on.clear();  // a stopped stage waits on nothing
      s.Stage("capture").waiting_since_ms = 0;
    });
    state_.SetStage("capture", capture_status.ok() ? "stopped" : "failed",
             capture_status.ok() ? "stopped" : capture_status.ToString());
    if (!capture_status.ok()) {
      log::Error(kComponent, "capture failed: {}", capture_status.ToString());
      RequestShutdown();
    }
  });
  StreamOptions so;
  so.brokers = options_.brokers;
  so.topics = options_.topics;
  so.topic_prefix = options_.capture.encoder.topic_prefix;
  so.group = options_.group;
  so.kafka_properties = options_.kafka_properties;
  so.output = options_.output;
  so.output.state = &state_;
  so.output.observer = [this](const CommittedBatch& b) {
    {
      std::lock_guard<std::mutex> l(stats_mu_);
      ++stats_.batches;
      stats_.rows += b.events->size();
    }
    Notify(b);
  };
  so.name = "stream";
  StreamJob stream(so);
  Status stream_status = stream.Run();
  if (!stream_status.ok()) {
    log::Error(kComponent, "stream failed: {}", stream_status.ToString());
    RequestShutdown();
  }
  capture_thread.join();
  if (!stream_status.ok()) return stream_status;
  if (capture_status.IsCancelled()) return Status::OK();
  return capture_status;
}

Status Pipeline::RunEmbedded() {
  RawOutputOptions& oo = options_.output;
  state_.SetStage("stream", "starting", "recovering " + oo.output);
  std::unique_ptr<store::ObjectStore> output, checkpoint;
  Status open = OpenRawStores(oo, &output, &checkpoint);
  if (open.IsCancelled()) return Status::OK();
  CDC_RETURN_IF_ERROR(open);
  RawSinkOptions ro;
  ro.output = output.get();
  ro.checkpoint = checkpoint.get();
  ro.compression = oo.compression;
  ro.state = &state_;
  ro.stage = "stream";
  ro.failpoint_prefix = "run";
  ro.withdrawn_file_grace_ms = oo.withdrawn_file_grace.count();
  ro.validate_json = false;  // values come from our own encoder
  ro.topic_prefix = options_.capture.encoder.topic_prefix;
  ro.observer = [this](const CommittedBatch& b) { Notify(b); };
  auto opened = RawSink::Open(ro);
  if (!opened.ok() && opened.status().IsCancelled()) return Status::OK();
  CDC_RETURN_IF_ERROR(opened.status());
  std::unique_ptr<RawSink> sink = std::move(*opened);
  const RecoveryInfo& rec = sink->recovery();

  // A previous run stopped during the initial snapshot after committing some of its chunks: capture
  // resumes after the last committed one (ResumeSnapshotMarker). Only when it cannot (it stopped inside
  // a table without a primary key, the slot is gone, or an older version committed the rows) does it
  // take the snapshot again, and what was committed of the old one is withdrawn first (Spark "delete"
  // entries), else those rows would be there twice.
  uint64_t committed_skip = rec.source_skip;
  bool resumes = false;
  if (!rec.source_lsn.valid() && !rec.snapshot_position.empty()) {
    auto r = ResumeSnapshotMarker(options_.capture, rec.snapshot_position);
    CDC_RETURN_IF_ERROR(r.status());
    resumes = *r;
    if (resumes) committed_skip = 0;
  }
  if (!resumes && !rec.source_lsn.valid() && rec.source_skip > 0) {
    BatchPlan withdraw;
    withdraw.batch_id = sink->next_batch_id();
    withdraw.end = rec.next;
    auto withdrawn = sink->RetractAll(withdraw);
    if (!withdrawn.ok() && withdrawn.status().IsCancelled()) return Status::OK();
    CDC_RETURN_IF_ERROR(withdrawn.status());
    log::Warn(kComponent,
              "the last run stopped during the initial snapshot after committing {} of its rows: batch {} withdrew "
              "those {} file(s) and the snapshot is taken again",
              rec.source_skip, withdraw.batch_id, *withdrawn);
    committed_skip = 0;
  }
  CDC_RETURN_IF_ERROR(CompleteSnapshotMarker(options_.capture, rec.source_lsn));
  uint64_t skip = 0;
  Status positioned = PositionSlot(options_.capture, rec.source_lsn, committed_skip, &skip);
  if (positioned.IsCancelled()) return Status::OK();
  CDC_RETURN_IF_ERROR(positioned);
  if (skip > 0) log::Info(kComponent, "skipping the first {} records of the next transaction (already committed)", skip);

  // Per-topic offset sequence, continued from the checkpoint.
  std::map<std::string, int64_t> next_offset;
  for (const auto& [topic, parts] : rec.next) {
    auto it = parts.find(0);
    if (it != parts.end()) next_offset[topic] = it->second;
  }
  Lsn tx_lsn = rec.source_lsn;  // the last end-of-transaction LSN taken from the channel
  uint64_t tx_records = 0;      // records taken since that marker (cumulative across batches)
  if (rec.source_lsn.valid() && skip > 0) tx_records = skip;
  Lsn durable = rec.source_lsn;
  // Until the first end marker of a fresh pipeline, capture is taking the initial snapshot in chunks:
  // only whole chunks are committed (a batch ends at a chunk end and carries its position), because a
  // restart continues after the last committed chunk. Memory: capture hands a position at least every
  // max_batch_rows rows (snapshot_position_rows), so at most 2 x max_batch_rows events wait here.
  bool in_snapshot = !rec.source_lsn.valid();
  size_t chunk_events = 0;        // events before the last chunk end (0: none since the last commit)
  uint64_t chunk_seq = 0;         // that chunk's number and position
  std::string chunk_position;
  uint64_t chunk_tx_records = 0;  // tx_records at that chunk end
  std::map<std::string, int64_t> chunk_offsets;  // next_offset at that chunk end
  {
    std::lock_guard<std::mutex> l(stats_mu_);
    stats_.durable_lsn = durable;
  }

  log::ChannelSink channel(std::max<size_t>(options_.channel_capacity, 16));
  CaptureOptions capture_options = options_.capture;
  capture_options.committed_lsn = rec.source_lsn;
  // A position at least every max_batch_rows snapshot rows: a batch never waits for a chunk end
  // further away than that, whatever snapshot_chunk_rows is (the memory bound, docs/CAPTURE.md).
  capture_options.snapshot_position_rows = oo.max_batch_rows;
  capture_options.share_change = share_change_;
  CaptureJob capture(std::move(capture_options), &channel);
  state_.SetStage("capture", "running", "capturing from slot " + options_.capture.slot);
  state_.SetStage("stream", "running", "writing " + oo.output);
  Status capture_status;
  std::thread capture_thread([&] {
    SetCapture(&capture);
    capture_status = capture.Run();
    SetCapture(nullptr);
    state_.SetStage("capture", capture_status.ok() ? "stopped" : "failed",
             capture_status.ok() ? "stopped" : capture_status.ToString());
    channel.Close();
  });

  std::vector<RawEvent> events;
  events.reserve(std::min<size_t>(oo.max_batch_rows, 65536));
  std::vector<std::string> spare;  // the committed events' strings, returned to capture
  int64_t batch_start_us = 0;
  std::map<std::string, uint64_t> captured;  // per table, not yet published
  int64_t last_publish_us = MonoMicros();
  uint64_t rows_at_publish = 0;
  uint64_t reconnects_published = 0;  // capture's reconnects already counted as errors of the capture stage
  Status consumer_status;

  auto mark_durable = [&](Lsn lsn) {
    if (!lsn.valid() || lsn <= durable) return;
    channel.MarkDurable(lsn);
    durable = lsn;
    {
      std::lock_guard<std::mutex> l(stats_mu_);
      stats_.durable_lsn = lsn;
    }
    state_.Update([&](PipelineState& s) { s.last_committed_lsn = lsn.ToString(); });
  };

  // Commits all events, or during the snapshot the events up to the last chunk end (the rest waits for
  // the next chunk end, or is dropped at a stop: the resumed snapshot reads it again).
  auto commit = [&]() -> Status {
    BatchPlan plan;
    plan.batch_id = sink->next_batch_id();
    size_t n = in_snapshot ? chunk_events : events.size();
    for (size_t i = 0; i < n; ++i) {
      auto& s = plan.start[events[i].topic];
      if (!s.count(0)) s[0] = events[i].offset;
    }
    for (const auto& [topic, off] : in_snapshot ? chunk_offsets : next_offset) plan.end[topic][0] = off;
    plan.source_lsn = tx_lsn;
    plan.source_skip = in_snapshot ? chunk_tx_records : tx_records;
    if (in_snapshot) plan.snapshot_position = chunk_position;
    std::vector<RawEvent> tail;
    if (n < events.size()) {
      tail.assign(std::make_move_iterator(events.begin() + n), std::make_move_iterator(events.end()));
      events.erase(events.begin() + static_cast<std::ptrdiff_t>(n), events.end());
    }
    CDC_RETURN_IF_ERROR(sink->Commit(plan, events));
    {
      std::lock_guard<std::mutex> l(stats_mu_);
      ++stats_.batches;
      stats_.rows += events.size();
    }
    // The committed events' buffers go back to capture, which encodes the next events into them.
    for (RawEvent& e : events) {
      spare.push_back(std::move(e.topic));
      if (e.key) spare.push_back(std::move(*e.key));
      if (e.value) spare.push_back(std::move(*e.value));
    }
    channel.ReturnSpareStrings(&spare);
    events.clear();  // keeps its capacity for the next batch
    if (!tail.empty()) {
      std::move(tail.begin(), tail.end(), std::back_inserter(events));
      batch_start_us = MonoMicros();
    }
    if (in_snapshot) {
      channel.MarkSnapshotChunkDurable(chunk_seq);
      chunk_events = 0;
    } else if (chunk_seq > 0) {
      channel.MarkSnapshotChunkDurable(chunk_seq);  // an incremental snapshot's chunk ends were committed too
    }
    mark_durable(tx_lsn);
    return Status::OK();
  };

  for (;;) {
    bool stopping = ShutdownRequested();
    auto timeout = std::chrono::milliseconds(200);
    if (!events.empty()) {
      int64_t left_us = batch_start_us + static_cast<int64_t>(oo.trigger.count()) * 1000 - MonoMicros();
      timeout = std::chrono::milliseconds(std::clamp<int64_t>(left_us / 1000, 0, 200));
    }
    if (stopping) timeout = std::chrono::milliseconds(20);
    std::optional<log::ChannelItem> item = channel.Pop(timeout);
    bool drained = !item && channel.closed() && channel.size() == 0;
    bool chunk_ended = false;
    if (item) {
      if (item->snapshot_chunk > 0) {
        chunk_ended = true;
        chunk_events = events.size();
        chunk_seq = item->snapshot_chunk;
        chunk_position = std::move(item->snapshot_position);
        chunk_tx_records = tx_records;
        chunk_offsets = next_offset;
        if (events.empty()) channel.MarkSnapshotChunkDurable(chunk_seq);  // all its events are committed
      } else if (item->end_of_transaction) {
        if (skip > 0) {
          log::Warn(kComponent, "the transaction ending at {} had fewer records than were committed ({} left to skip)",
                    item->end_lsn.ToString(), skip);
          skip = 0;
        }
        tx_lsn = item->end_lsn;
        tx_records = 0;
        in_snapshot = false;
        chunk_events = 0;
        if (events.empty()) mark_durable(tx_lsn);  // every record before it is committed
      } else if (skip > 0) {
        --skip;
        std::lock_guard<std::mutex> l(stats_mu_);
        ++stats_.skipped_on_restart;
      } else {
        log::Record& r = item->record;
        RawEvent e;
        e.offset = next_offset[r.topic]++;
        e.topic = std::move(r.topic);
        e.key = std::move(r.key);
        e.value = std::move(r.value);
        e.change = std::move(r.change);
        e.partition = 0;
        e.timestamp_us = r.timestamp_ms * 1000;
        e.timestamp_type = 0;
        ++captured[TableOfTopic(e.topic, options_.capture.encoder.topic_prefix)];
        if (events.empty()) batch_start_us = MonoMicros();
        events.push_back(std::move(e));
        ++tx_records;
      }
    }
    bool due = !events.empty() &&
               (stopping || drained || events.size() >= oo.max_batch_rows ||
                MonoMicros() - batch_start_us >= static_cast<int64_t>(oo.trigger.count()) * 1000);
    if (in_snapshot && (chunk_events == 0 || !(stopping || drained || chunk_ended))) due = false;
    if (due) {
      Status st = commit();
      if (!st.ok()) {
        consumer_status = st;
        channel.Fail(st.IsCancelled() ? Status::Cancelled("stopped before the batch was committed") : st);
        break;
      }
    }
    int64_t now = MonoMicros();
    if (now - last_publish_us >= 1000000 || drained) {
      RunStats rs = stats();
      CaptureStats cs = capture.stats();
      double rate = (rs.rows - rows_at_publish) / std::max(1e-3, (now - last_publish_us) / 1e6);
      rows_at_publish = rs.rows;
      last_publish_us = now;
      state_.Update([&](PipelineState& s) {
        for (const auto& [table, n] : captured) s.tables[table].events_captured_total += n;
        s.Stage("stream").events_per_second = rate;
        PublishCaptureStage(cs, options_.capture.slot, &reconnects_published, s);
      });
      captured.clear();
      // Withdrawn files whose grace period passed while no batch was committed.
      if (sink->withdrawn_files_waiting() > 0) sink->DeleteWithdrawnFiles(WallMillis());
    }
    if (drained) break;
  }
  capture_thread.join();
  state_.SetStage("stream", consumer_status.ok() ? "stopped" : "failed",
           consumer_status.ok() ? "stopped" : consumer_status.ToString());
  log::Info(kComponent, "stopped: {} batches, {} rows committed in this run; durable LSN {}", stats().batches,
            stats().rows, durable.ToString());
  if (consumer_status.IsCancelled()) return Status::OK();
  CDC_RETURN_IF_ERROR(consumer_status);
  if (capture_status.IsCancelled()) return Status::OK();
  return capture_status;
}

}  // namespace cdc::jobs
