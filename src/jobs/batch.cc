#include "jobs/batch.h"

#include <fmt/format.h>

#include "analytics/view_output.h"
#include "base/clock.h"
#include "base/failpoint.h"
#include "base/log.h"
#include "base/progress.h"

namespace cdc::jobs {

Result<BatchReport> RunBatch(const BatchOptions& options) {
  if (options.output.empty()) return Status::InvalidArgument("batch: --output is required");
  if (!options.views) return Status::InvalidArgument("batch: no views given");
  BatchReport report;
  report.views = options.views->views.views.size();
  if (report.views == 0) {
    log::Info("batch", "{}: no analytics are computed",
              options.views->views.file.empty() ? "no views file (views.file)" : options.views->views.file + " has no views");
    return report;
  }
  CDC_ASSIGN_OR_RETURN(auto store,
                       store::OpenStore(options.output, store::StoreOptions::FromEnvironment(options.store_options)));
  analytics::ViewBuilder builder(store.get(), &options.views->views, &options.views->catalog, options.events);
  int64_t t0 = MonoMicros();
  auto ms_since = [](int64_t* t) {
    int64_t now = MonoMicros();
    double ms = static_cast<double>(now - *t) / 1000.0;
    *t = now;
    return ms;
  };
  if (!options.full) {
    Status st = builder.LoadCheckpoint();
    if (st.ok()) {
      report.incremental = true;
      log::Debug("batch", "checkpoint loaded in {:.1f} ms", ms_since(&t0));
    } else if (st.IsNotFound()) {
      log::Info("batch", "no views checkpoint in {}: reading all raw data", store->Describe());
    } else if (st.IsFailedPrecondition() || st.IsCorruption()) {
      // Other views (one added or changed), an older format, or damaged (it is not fsynced).
      log::Warn("batch", "{}: reading all raw data", st.message());
    } else {
      return st;
    }
  }
  std::unique_ptr<ProgressLine> progress;
  if (options.progress) progress = std::make_unique<ProgressLine>("batch: raw files", 0, "files");
  Result<analytics::CatchUpStats> stats = builder.CatchUp(progress.get());
  progress.reset();
  CDC_RETURN_IF_ERROR(stats.status());
  report.stats = *stats;
  if (report.incremental && builder.position().files_consumed == report.stats.files && report.stats.files > 0) {
    report.incremental = false;  // CatchUp found the checkpoint out of date and started over
  }
  log::Debug("batch", "{} raw files read in {:.1f} ms", report.stats.files, ms_since(&t0));
  report.position = builder.position();
  report.source_lsn = builder.source_lsn();
  lake::ResultPosition position{report.source_lsn, report.position.last_batch_id};
  CDC_RETURN_IF_ERROR(analytics::WriteViews(store.get(), builder.engine(), position, "batch"));
  log::Debug("batch", "views written in {:.1f} ms", ms_since(&t0));
  CDC_FAILPOINT("batch.after_result");
  CDC_ASSIGN_OR_RETURN(report.text, analytics::FormatViews(builder.engine(), options.print_rows));
  CDC_RETURN_IF_ERROR(builder.SaveCheckpoint());
  log::Debug("batch", "checkpoint saved in {:.1f} ms", ms_since(&t0));
  return report;
}

}  // namespace cdc::jobs
