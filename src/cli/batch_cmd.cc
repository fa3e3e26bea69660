// `cdcpipe batch`: recomputes klienci-by-country and avg-age-by-position from the committed raw
// change events (incrementally from its checkpoint, or from scratch with --full). docs/ANALYTICS.md.
#include <unistd.h>

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
  auto* sub = app.add_subcommand(
      "batch", "Recompute the analytics (klienci-by-country, avg-age-by-position) from the committed raw events");
  struct Opts {
    bool full = false;
    size_t top = 20;
  };
  auto opts = std::make_shared<Opts>();
  auto flags = std::make_shared<config::Flags>(sub, std::initializer_list<config::Group>{config::Group::kOutput});
  sub->add_flag("--full", opts->full, "Recompute from all raw data instead of continuing from the checkpoint");
  sub->add_option("--top", opts->top, "Rows of each table to print")->default_val(20);
  SetCommandMain(sub, [opts, flags]() -> int {
    auto cfg = flags->Resolve();
    if (!cfg.ok()) return ConfigError("batch", cfg.status());
    jobs::BatchOptions o;
    o.output = cfg->output.root;
    o.full = opts->full;
    o.store_options = StoreOptionsFrom(*cfg);
    int64_t start = MonoMicros();
    auto report = jobs::RunBatch(o);
    if (!report.ok()) return Fail("batch", report.status());
    double secs = static_cast<double>(MonoMicros() - start) / 1e6;
    log::Info("batch", "{} run: {} raw files, {} rows, {} events applied, up to raw batch {}, source LSN {} in {:.3f} s",
              report->incremental ? "incremental" : "full", report->stats.files, report->stats.rows,
              report->stats.events, report->result.raw_batch_id,
              report->result.source_lsn.valid() ? report->result.source_lsn.ToString() : "-", secs);
    std::fputs(jobs::FormatAnalytics(report->result, opts->top).c_str(), stdout);
    return kExitOk;
  });
}

}  // namespace cdc::cli
