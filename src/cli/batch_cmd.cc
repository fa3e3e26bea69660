// `cdcpipe batch`: computes the views of the views file from the committed raw change events
// (incrementally from its checkpoint, or from scratch with --full). docs/VIEWS.md.
#include <cstdio>

#include "base/clock.h"
#include "base/log.h"
#include "cli/command.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "config/config.h"
#include "jobs/batch.h"

namespace cdc::cli {

void RegisterBatch(CLI::App& app) {
  auto* sub = app.add_subcommand("batch", "Compute the views (views.file) from the committed raw events");
  struct Opts {
    bool full = false;
    size_t top = 20;
  };
  auto opts = std::make_shared<Opts>();
  auto flags = std::make_shared<config::Flags>(
      sub, std::initializer_list<config::Group>{config::Group::kDatabase, config::Group::kEvents,
                                                config::Group::kOutput, config::Group::kViews});
  sub->add_flag("--full", opts->full, "Recompute from all raw data instead of continuing from the checkpoint");
  sub->add_option("--top", opts->top, "Rows of each view to print")->default_val(20);
  SetCommandMain(sub, [opts, flags]() -> int {
    const char* cmd = "batch";
    auto cfg = flags->Resolve();
    if (!cfg.ok()) return ConfigError(cmd, cfg.status());
    jobs::BatchOptions o;
    o.output = cfg->output.root;
    o.full = opts->full;
    o.print_rows = opts->top;
    o.store_options = StoreOptionsFrom(*cfg);
    auto events = EventSettingsFrom(*cfg);
    if (!events.ok()) return ConfigError(cmd, events.status());
    o.events = *events;
    auto views = jobs::LoadViewsFile(ViewsOptionsFrom(*cfg));
    if (!views.ok()) return views.status().IsInvalidArgument() ? ConfigError(cmd, views.status()) : Fail(cmd, views.status());
    o.views = *views;
    int64_t start = MonoMicros();
    auto report = jobs::RunBatch(o);
    if (!report.ok()) return Fail(cmd, report.status());
    if (report->views == 0) return kExitOk;
    double secs = static_cast<double>(MonoMicros() - start) / 1e6;
    log::Info(cmd, "{} run: {} view(s), {} raw files, {} rows, up to raw batch {}, source LSN {} in {:.3f} s",
              report->incremental ? "incremental" : "full", report->views, report->stats.files, report->stats.rows,
              report->position.last_batch_id, report->source_lsn.valid() ? report->source_lsn.ToString() : "-", secs);
    std::fputs(report->text.c_str(), stdout);
    return kExitOk;
  });
}

}  // namespace cdc::cli
