#include "jobs/live_aggregates.h"

#include <fmt/format.h>

#include "base/clock.h"
#include "base/log.h"

namespace cdc::jobs {

LiveAggregates::LiveAggregates(LiveAggregatesOptions options)
    : options_(options), builder_(options.output) {}

Status LiveAggregates::Rebuild() {
  builder_.Reset();
  Status st = builder_.LoadCheckpoint();
  if (!st.ok() && !st.IsNotFound()) {
    log::Warn("analytics", "ignoring the batch checkpoint: {}", st.message());
    builder_.Reset();
  }
  CDC_ASSIGN_OR_RETURN(CatchUpStats stats, builder_.CatchUp(nullptr));
  log::Info("analytics", "live aggregates rebuilt from {} raw files up to batch {} ({} events)", stats.files,
            stats.latest_batch, stats.events);
  return Status::OK();
}

Status LiveAggregates::Start() {
  CDC_RETURN_IF_ERROR(Rebuild());
  return Publish();
}

CommittedBatchObserver LiveAggregates::Observer() {
  return [this](const CommittedBatch& batch) {
    Status st = OnBatch(batch);
    if (!st.ok()) PublishError(st);
  };
}

Status LiveAggregates::OnBatch(const CommittedBatch& batch) {
  Status st = builder_.ApplyCommittedBatch(batch);
  if (!st.ok()) {
    // A gap or an event that did not apply (the state may be half-updated): start over from the
    // committed files, which include this batch.
    log::Warn("analytics", "batch {}: {}; rebuilding from the committed raw files", batch.batch_id, st.message());
    CDC_RETURN_IF_ERROR(Rebuild());
    if (batch.source_lsn.valid()) builder_.set_source_lsn(batch.source_lsn);
  }
  return Publish();
}

Status LiveAggregates::Publish() {
  AnalyticsResult result = builder_.Snapshot();
  if (options_.materialize) {
    Status st = WriteAnalytics(options_.output, result, AnalyticsWriteOptions{"live"});
    if (!st.ok()) {
      dirty_ = true;
      return st;
    }
  }
  dirty_ = false;
  int64_t now = WallMillis();
  if (options_.state != nullptr) {
    options_.state->Update([&](PipelineState& s) {
      s.klienci_by_country.clear();
      for (const CountryCount& r : result.klienci_by_country) {
        s.klienci_by_country.push_back(AnalyticsRow{r.kraj, r.count, std::nullopt});
      }
      s.avg_age_by_position.clear();
      for (const PositionAge& r : result.avg_age_by_position) {
        s.avg_age_by_position.push_back(AnalyticsRow{r.stanowisko, r.count, r.avg_age});
      }
      s.analytics_lsn = result.source_lsn.valid() ? result.source_lsn.ToString() : "";
      s.analytics_updated_at_ms = now;
      StageState* stage = &s.Stage("analytics");
      stage->state = "running";
      stage->detail = fmt::format("up to raw batch {}, {} customers, {} employees", result.raw_batch_id,
                                  builder_.state().klienci_rows(), builder_.state().pracownicy_rows());
    });
  }
  std::lock_guard<std::mutex> lock(mu_);
  current_ = std::move(result);
  return Status::OK();
}

void LiveAggregates::PublishError(const Status& st) {
  log::Error("analytics", "live aggregates: {}", st.ToString());
  uint64_t errors;
  {
    std::lock_guard<std::mutex> lock(mu_);
    errors = ++errors_;
  }
  if (options_.state != nullptr) {
    std::string text = "analytics: " + st.ToString();
    options_.state->Update([&](PipelineState& s) {
      StageState* stage = &s.Stage("analytics");
      stage->state = "retrying";
      stage->detail = text;
      stage->errors_total = errors;
      s.recent_errors.push_back(text);
      if (s.recent_errors.size() > 20) s.recent_errors.erase(s.recent_errors.begin());
    });
  }
}

AnalyticsResult LiveAggregates::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

uint64_t LiveAggregates::errors_total() const {
  std::lock_guard<std::mutex> lock(mu_);
  return errors_;
}

}  // namespace cdc::jobs
