#include "jobs/live_views.h"

#include <fmt/format.h>

#include "analytics/view_output.h"
#include "base/clock.h"
#include "base/log.h"

namespace cdc::jobs {

namespace {

// An error that applying the same events again would hit again: a view that cannot evaluate an event
// (InvalidArgument) or an event or raw file that cannot be decoded (Corruption). Retrying it would
// recompute from all raw data at every batch, forever; the views stop instead.
bool Permanent(const Status& st) { return st.IsInvalidArgument() || st.IsCorruption(); }

}  // namespace

LiveViews::LiveViews(LiveViewsOptions options)
    : options_(std::move(options)),
      builder_(options_.output, &options_.views->views, &options_.views->catalog, options_.events) {}

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
  last_checkpoint_ms_ = (MonoMicros() / 1000);
  Status st = Rebuild();
  if (!st.ok()) {
    // A view that cannot be evaluated on the history: report it, keep the raw pipeline running.
    if (Permanent(st)) {
      failed_ = st;
      PublishError(st, true);
      return Status::OK();
    }
    return st;
  }
  return Publish(0);
}

CommittedBatchObserver LiveViews::Observer() {
  return [this](const CommittedBatch& batch) {
    Status st = OnBatch(batch);
    if (!st.ok()) PublishError(st, Permanent(st));
  };
}

Status LiveViews::OnBatch(const CommittedBatch& batch) {
  if (options_.views->views.views.empty() || !failed_.ok()) return Status::OK();
  std::vector<analytics::RawEventRef> events;
  int64_t newest_us = 0;
  if (batch.events != nullptr) {
    events.reserve(batch.events->size());
    for (const RawEvent& e : *batch.events) {
      analytics::RawEventRef r{e.topic, std::nullopt, e.partition, e.offset};
      if (e.value) r.value = *e.value;
      events.push_back(r);
      newest_us = std::max(newest_us, e.timestamp_us);
    }
  }
  Status st = batch.withdrawal ? Status::FailedPrecondition(fmt::format("batch {} withdrew earlier files", batch.batch_id))
                               : builder_.ApplyCommittedBatch(batch.batch_id, events, batch.source_lsn);
  if (Permanent(st)) {
    // A view cannot evaluate an event, or it cannot be decoded (the engine left its state as before it).
    failed_ = st;
    return st;
  }
  if (!st.ok()) {
    // A gap or a withdrawal: start over from the committed files, which include this batch.
    log::Warn("views", "batch {}: {}; rebuilding from the committed raw files", batch.batch_id, st.message());
    st = Rebuild();
    if (Permanent(st)) failed_ = st;
    CDC_RETURN_IF_ERROR(st);
  }
  CDC_RETURN_IF_ERROR(Publish(newest_us));
  if (options_.checkpoint_interval.count() > 0 &&
      (MonoMicros() / 1000) - last_checkpoint_ms_ >= options_.checkpoint_interval.count()) {
    // A failed save only costs a longer catch-up at the next start: log it, keep going.
    if (Status saved = SaveCheckpoint(); !saved.ok()) log::Warn("views", "checkpoint not saved: {}", saved.message());
  }
  return Status::OK();
}

Status LiveViews::SaveCheckpoint() {
  last_checkpoint_ms_ = (MonoMicros() / 1000);
  CDC_RETURN_IF_ERROR(builder_.SyncFilePosition());
  return builder_.SaveCheckpoint();
}

Status LiveViews::Stop() {
  if (options_.views->views.views.empty() || !failed_.ok()) return Status::OK();
  return SaveCheckpoint();
}

Status LiveViews::Publish(int64_t newest_event_us) {
  const analytics::ViewEngine& engine = builder_.engine();
  lake::ResultPosition position{builder_.source_lsn(), builder_.position().last_batch_id};
  if (options_.materialize) CDC_RETURN_IF_ERROR(analytics::WriteViews(options_.output, engine, position, "live"));
  if (options_.state == nullptr) return Status::OK();
  int64_t now = WallMillis();
  std::vector<ViewState> views;
  for (size_t i = 0; i < engine.view_count(); ++i) {
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
    analytics::ViewStats stats = engine.Stats(i);
    v.groups = stats.groups;
    v.state_bytes = stats.state_bytes;
    v.source_lsn = position.source_lsn.valid() ? position.source_lsn.ToString() : "";
    v.updated_at_ms = now;
    views.push_back(std::move(v));
  }
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
  return Status::OK();
}

void LiveViews::PublishError(const Status& st, bool fatal) {
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
