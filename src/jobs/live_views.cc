#include "jobs/live_views.h"

#include <fmt/format.h>

#include <algorithm>

#include "analytics/change_projector.h"
#include "analytics/view_output.h"
#include "base/clock.h"
#include "base/log.h"
#include "lake/result_folders.h"

namespace cdc::jobs {

namespace {

// An error that applying the same events again would hit again: a view that cannot evaluate an event
// (InvalidArgument) or an event or raw file that cannot be decoded (Corruption). Retrying it would
// recompute from all raw data at every batch, forever; the views stop instead.
bool Permanent(const Status& st) { return st.IsInvalidArgument() || st.IsCorruption(); }

}  // namespace

LiveViews::LiveViews(LiveViewsOptions options)
    : options_(std::move(options)),
      observed_(options_.state ? std::make_unique<ObservedStore>(options_.output, options_.state, "analytics")
                               : nullptr),
      builder_(output(), &options_.views->views, &options_.views->catalog, options_.events) {}

LiveViews::~LiveViews() {
  StopApplier(/*drain=*/false);
  StopPublisher();
}

void LiveViews::StopApplier(bool drain) {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    stop_applier_ = true;
    if (!drain) {
      queue_.clear();
      queued_bytes_ = 0;
    }
  }
  queue_cv_.notify_all();
  if (applier_.joinable()) applier_.join();
}

void LiveViews::ApplierLoop() {
  std::unique_lock<std::mutex> lock(queue_mu_);
  for (;;) {
    queue_cv_.wait(lock, [&] { return !queue_.empty() || stop_applier_; });
    if (queue_.empty()) return;  // stopping, and everything queued was applied
    QueuedBatch q = std::move(queue_.front());
    queue_.pop_front();
    queued_bytes_ -= q.values.size();
    lock.unlock();
    queue_cv_.notify_all();  // an observer waiting for room
    std::vector<analytics::RawEventRef> refs;
    refs.reserve(q.events.size());
    for (const QueuedBatch::Event& e : q.events) {
      analytics::RawEventRef& r = refs.emplace_back();
      r.topic = q.topics[e.topic];
      if (e.value_at != QueuedBatch::kTombstone) r.value = std::string_view(q.values).substr(e.value_at, e.value_size);
      r.partition = e.partition;
      r.offset = e.offset;
      if (e.change) {
        r.change = *r.value;
        r.value = std::string_view();  // present, not read
      }
    }
    Status st = Apply(q.batch_id, refs, q.newest_us, q.source_lsn, q.withdrawal);
    if (!st.ok()) PublishError(st, Permanent(st));
    lock.lock();
  }
}

void LiveViews::StopPublisher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (publisher_.joinable()) publisher_.join();
}

Status LiveViews::Rebuild() {
  Status st = builder_.LoadCheckpoint();
  if (!st.ok() && !st.IsNotFound()) log::Warn("views", "recomputing the views from all raw data: {}", st.message());
  CDC_ASSIGN_OR_RETURN(analytics::CatchUpStats stats, builder_.CatchUp(nullptr));
  log::Info("views", "{} view(s) caught up from {} raw files up to batch {} ({} rows read)", builder_.engine().view_count(),
            stats.files, stats.latest_batch, stats.rows);
  return Status::OK();
}

Status LiveViews::Start() {
  if (options_.views->views.views.empty()) {
    log::Info("views", "{}: no analytics are computed",
              options_.views->views.file.empty() ? "no views file (views.file)" : options_.views->views.file + " has no views");
    if (options_.state != nullptr) {
      options_.state->Update([&](PipelineState& s) { s.views_file = options_.views->views.file; });
    }
    return Status::OK();
  }
  std::unique_lock<std::mutex> lock(mu_);
  last_checkpoint_ms_ = (MonoMicros() / 1000);
  Status st = Rebuild();
  if (!st.ok()) {
    // A view that cannot be evaluated on the history: report it, keep the raw pipeline running.
    if (!Permanent(st)) return st;
    failed_ = st;
    lock.unlock();
    PublishError(st, true);
    return Status::OK();
  }
  pending_ = true;
  CDC_RETURN_IF_ERROR(PublishLocked());
  if (options_.materialize || options_.state != nullptr) publisher_ = std::thread([this] { PublisherLoop(); });
  applier_ = std::thread([this] { ApplierLoop(); });
  return Status::OK();
}

CommittedBatchObserver LiveViews::Observer() {
  return [this](const CommittedBatch& batch) {
    if (!applier_.joinable()) {
      // No views, or they failed while catching up: OnBatch has nothing to do.
      Status st = OnBatch(batch);
      if (!st.ok()) PublishError(st, Permanent(st));
      return;
    }
    QueuedBatch q;
    q.batch_id = batch.batch_id;
    q.source_lsn = batch.source_lsn;
    q.withdrawal = batch.withdrawal;
    if (batch.events != nullptr) {
      size_t bytes = 0;
      for (const RawEvent& e : *batch.events) bytes += !e.value ? 0 : e.change.empty() ? e.value->size() : e.change.size();
      q.values.reserve(bytes);
      q.events.reserve(batch.events->size());
      size_t last_topic = 0;
      for (const RawEvent& e : *batch.events) {
        QueuedBatch::Event& c = q.events.emplace_back();
        // Few distinct topics, in runs: look further only when the topic changes.
        if (last_topic >= q.topics.size() || q.topics[last_topic] != e.topic) {
          last_topic = static_cast<size_t>(std::find(q.topics.begin(), q.topics.end(), e.topic) - q.topics.begin());
          if (last_topic == q.topics.size()) q.topics.push_back(e.topic);
        }
        c.topic = last_topic;
        if (e.value) {
          // The shared change when there is one, else the JSON.
          const std::string& bytes = e.change.empty() ? *e.value : e.change;
          c.change = !e.change.empty();
          c.value_at = q.values.size();
          c.value_size = bytes.size();
          q.values += bytes;
        } else {
          c.value_at = QueuedBatch::kTombstone;
        }
        c.partition = e.partition;
        c.offset = e.offset;
        q.newest_us = std::max(q.newest_us, e.timestamp_us);
      }
    }
    std::unique_lock<std::mutex> lock(queue_mu_);
    queue_cv_.wait(lock, [&] { return queued_bytes_ < kMaxQueuedBytes || stop_applier_; });
    queued_bytes_ += q.values.size();
    queue_.push_back(std::move(q));
    lock.unlock();
    queue_cv_.notify_all();
  };
}

std::function<bool(const event::ChangeEvent&, std::string*)> LiveViews::ChangeSharing() const {
  if (options_.views->views.views.empty()) return {};
  auto projector = std::make_shared<analytics::ChangeProjector>(builder_.engine().DecodedColumns());
  return [projector](const event::ChangeEvent& e, std::string* out) { return projector->Project(e, out); };
}

Status LiveViews::OnBatch(const CommittedBatch& batch) {
  std::vector<analytics::RawEventRef> events;
  int64_t newest_us = 0;
  if (batch.events != nullptr) {
    events.reserve(batch.events->size());
    for (const RawEvent& e : *batch.events) {
      analytics::RawEventRef r{e.topic, std::nullopt, e.partition, e.offset, e.change};
      if (e.value) r.value = *e.value;
      events.push_back(r);
      newest_us = std::max(newest_us, e.timestamp_us);
    }
  }
  return Apply(batch.batch_id, events, newest_us, batch.source_lsn, batch.withdrawal);
}

Status LiveViews::Apply(int64_t batch_id, const std::vector<analytics::RawEventRef>& events, int64_t newest_us,
                        Lsn source_lsn, bool withdrawal) {
  if (options_.views->views.views.empty()) return Status::OK();
  std::unique_lock<std::mutex> lock(mu_);
  if (!failed_.ok()) return Status::OK();
  Status st = withdrawal ? Status::FailedPrecondition(fmt::format("batch {} withdrew earlier files", batch_id))
                         : builder_.ApplyCommittedBatch(batch_id, events, source_lsn);
  if (Permanent(st)) {
    // A view cannot evaluate an event, or it cannot be decoded (the engine left its state as before it).
    failed_ = st;
    return st;
  }
  if (!st.ok()) {
    // A gap or a withdrawal: start over from the committed files, which include this batch.
    log::Warn("views", "batch {}: {}; rebuilding from the committed raw files", batch_id, st.message());
    st = Rebuild();
    if (Permanent(st)) failed_ = st;
    CDC_RETURN_IF_ERROR(st);
  }
  pending_ = true;
  newest_event_us_ = std::max(newest_event_us_, newest_us);
  if (options_.checkpoint_interval.count() > 0 &&
      (MonoMicros() / 1000) - last_checkpoint_ms_ >= options_.checkpoint_interval.count()) {
    // A failed save only costs a longer catch-up at the next start: log it, keep going.
    if (Status saved = SaveCheckpoint(); !saved.ok()) log::Warn("views", "checkpoint not saved: {}", saved.message());
  }
  lock.unlock();
  wake_.notify_one();
  return Status::OK();
}

void LiveViews::PublisherLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    if (!pending_ || !failed_.ok()) {
      wake_.wait(lock);
      continue;
    }
    int64_t now = MonoMicros();
    if (now < next_publish_us_) {
      wake_.wait_for(lock, std::chrono::microseconds(next_publish_us_ - now));
      continue;
    }
    Status st = PublishLocked();
    if (!st.ok()) {
      // The folders keep their last result; try again after an interval.
      next_publish_us_ = MonoMicros() + static_cast<int64_t>(options_.publish_interval.count()) * 1000;
      lock.unlock();
      PublishError(st, false);
      lock.lock();
    }
  }
}

uint64_t LiveViews::publications() const {
  std::lock_guard<std::mutex> lock(mu_);
  return publications_;
}

Status LiveViews::SaveCheckpoint() {
  last_checkpoint_ms_ = (MonoMicros() / 1000);
  CDC_RETURN_IF_ERROR(builder_.SyncFilePosition());
  return builder_.SaveCheckpoint();
}

Status LiveViews::Stop() {
  StopApplier(/*drain=*/true);
  StopPublisher();
  if (options_.views->views.views.empty()) return Status::OK();
  std::lock_guard<std::mutex> lock(mu_);
  if (!failed_.ok()) return Status::OK();
  if (pending_ && (options_.materialize || options_.state != nullptr)) {
    if (Status st = PublishLocked(); !st.ok()) {
      log::Warn("views", "the last results were not written ({}); the next start writes them", st.message());
    }
  }
  return SaveCheckpoint();
}

Status LiveViews::PublishLocked() {
  const int64_t start_us = MonoMicros();
  const analytics::ViewEngine& engine = builder_.engine();
  const size_t n = engine.view_count();
  written_.resize(n, UINT64_MAX);
  shown_.resize(n);
  lake::ResultPosition position{builder_.source_lsn(), builder_.position().last_batch_id};
  std::vector<size_t> changed, unchanged;
  for (size_t i = 0; i < n; ++i) (engine.changes(i) != written_[i] ? changed : unchanged).push_back(i);
  if (options_.materialize) {
    CDC_RETURN_IF_ERROR(analytics::WriteViews(output(), engine, position, "live", changed));
    for (size_t i : unchanged) {
      // Same rows: only the position moves (a folder that lost its result is written again).
      Status st = lake::AdvanceResult(output(), engine.view(i).name, position);
      if (st.IsNotFound()) st = analytics::WriteViews(output(), engine, position, "live", {i});
      CDC_RETURN_IF_ERROR(st);
    }
  }
  for (size_t i : changed) {
    const sql::ViewPlan& plan = engine.view(i);
    ViewState v;
    v.name = plan.name;
    for (const sql::OutputColumn& c : plan.outputs) v.columns.push_back({c.name, sql::TypeName(c.type)});
    // The first rows and the count, without holding a big view's rows whole.
    CDC_RETURN_IF_ERROR(engine.ForEachRowChunk(i, 1024, [&](const analytics::ViewRows& chunk) {
      for (const auto& r : chunk.rows) {
        if (v.rows.size() >= ViewState::kMaxRows) break;
        std::vector<std::optional<std::string>> row;
        for (size_t c = 0; c < r.size(); ++c) {
          row.push_back(r[c].is_null() ? std::nullopt
                                       : std::optional<std::string>(sql::ToText(r[c], plan.outputs[c].type)));
        }
        v.rows.push_back(std::move(row));
      }
      v.row_count += chunk.rows.size();
      return Status::OK();
    }));
    shown_[i] = std::move(v);
    written_[i] = engine.changes(i);
  }
  pending_ = false;
  ++publications_;
  if (options_.state != nullptr) {
    int64_t now = WallMillis();
    std::vector<ViewState> views = shown_;
    for (size_t i = 0; i < n; ++i) {
      analytics::ViewStats stats = engine.Stats(i);
      views[i].groups = stats.groups;
      views[i].state_bytes = stats.state_bytes;
      views[i].source_lsn = position.source_lsn.valid() ? position.source_lsn.ToString() : "";
      views[i].updated_at_ms = now;
    }
    const int64_t newest_event_us = newest_event_us_;
    options_.state->Update([&](PipelineState& s) {
      double freshness = -1;
      if (newest_event_us > 0) {
        freshness = std::max(0.0, static_cast<double>(now) / 1000.0 - static_cast<double>(newest_event_us) / 1e6);
      } else if (!s.views.empty()) {
        freshness = s.views.front().freshness_seconds;  // no new events: the result is as fresh as before
      }
      for (ViewState& v : views) v.freshness_seconds = freshness;
      s.views = std::move(views);
      s.views_file = options_.views->views.file;
      StageState* stage = &s.Stage("analytics");
      stage->state = "running";
      stage->detail = fmt::format("{} view(s) up to raw batch {}, {} source rows held", engine.view_count(),
                                  position.raw_batch_id, engine.stored_rows());
    });
  }
  // At most once per interval, and not before ten times this publication's duration has passed.
  const int64_t took_us = MonoMicros() - start_us;
  next_publish_us_ = MonoMicros() + std::max<int64_t>(static_cast<int64_t>(options_.publish_interval.count()) * 1000,
                                                      10 * took_us);
  return Status::OK();
}

void LiveViews::PublishError(const Status& st, bool fatal) {
  std::lock_guard<std::mutex> lock(mu_);
  log::Error("views", "{}{}", st.ToString(), fatal ? " (the views stop here; the raw pipeline goes on)" : "");
  ++errors_;
  if (options_.state == nullptr) return;
  std::string text = "views: " + st.ToString();
  options_.state->Update([&](PipelineState& s) {
    StageState* stage = &s.Stage("analytics");
    stage->state = fatal ? "failed" : "retrying";
    stage->detail = text;
    stage->errors_total = errors_;
    if (fatal) {
      for (ViewState& v : s.views) v.error = st.message();
    }
    s.recent_errors.push_back(text);
    if (s.recent_errors.size() > 20) s.recent_errors.erase(s.recent_errors.begin());
  });
}

}  // namespace cdc::jobs
