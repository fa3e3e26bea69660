// `cdcpipe run`: the whole pipeline in one process: capture -> raw-kafka-data Parquet, embedded (the
// replication slot is the durable log) or through Kafka when kafka.brokers is set (docs/STREAM.md,
// "run"). Settings: docs/CONFIG.md.
#include <memory>

#include "base/log.h"
#include "cli/command.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "config/config.h"
#include "http/http_server.h"
#include "jobs/live_views.h"
#include "jobs/run.h"

namespace cdc::cli {
namespace {

struct RunFlags {
  std::string end_lsn;
  std::string latency_log;
};

int RunPipeline(const config::Config& cfg, const RunFlags& f, bool http_given) {
  const char* cmd = "run";
  jobs::RunOptions o;
  auto capture = CaptureOptionsFrom(cfg);
  if (!capture.ok()) return ConfigError(cmd, capture.status());
  o.capture = std::move(*capture);
  o.capture.status_interval = std::chrono::milliseconds(1000);
  if (!f.end_lsn.empty()) {
    auto lsn = Lsn::Parse(f.end_lsn);
    if (!lsn) return ConfigError(cmd, Status::InvalidArgument("--end-lsn '" + f.end_lsn + "' is not an LSN (like 0/1A2B3C4)"));
    o.capture.end_lsn = *lsn;
  }
  o.capture.latency_log = f.latency_log;
  auto stream = StreamOptionsFrom(cfg);
  if (!stream.ok()) return ConfigError(cmd, stream.status());
  o.brokers = stream->brokers;
  o.group = stream->group;
  o.topics = stream->topics;
  o.kafka_properties = stream->kafka_properties;
  o.output = std::move(stream->output);
  auto events = EventSettingsFrom(cfg);
  if (!events.ok()) return ConfigError(cmd, events.status());
  // The views file is read and checked before anything is captured or created (docs/VIEWS.md).
  auto views = jobs::LoadViewsFile(ViewsOptionsFrom(cfg));
  if (!views.ok()) return views.status().IsInvalidArgument() ? ConfigError(cmd, views.status()) : Fail(cmd, views.status());
  jobs::Pipeline pipeline(o);
  // Live views: rebuilt from the committed raw batches, then fed every new commit.
  auto views_store = store::OpenStore(o.output.output, store::StoreOptions::FromEnvironment(o.output.store));
  if (!views_store.ok()) return Fail(cmd, views_store.status());
  jobs::LiveViews live({.output = views_store->get(), .views = *views, .events = *events, .state = &pipeline.state()});
  if (Status st = live.Start(); !st.ok()) return Fail(cmd, st);
  pipeline.AddObserver(live.Observer());
  // The dashboard and metrics (src/http). An http.listen that was asked for and cannot be served is an
  // error; the default address being taken (another run, a test) only costs the dashboard.
  std::unique_ptr<http::HttpServer> http_server;
  if (cfg.http.listen != "off") {
    http::HttpOptions ho;
    ho.address = cfg.http.listen;
    ho.token = cfg.HttpToken();
    auto srv = http::StartHttpServer(ho, &pipeline.state());
    if (srv.ok()) {
      http_server = std::move(srv).value();
    } else if (http_given || srv.status().IsInvalidArgument()) {
      return Fail(cmd, srv.status().WithContext("http.listen (" + cfg.Origin("http.listen") + ")"));
    } else {
      log::Warn(cmd, "no dashboard: {}", srv.status().message());
    }
  }
  Status st = pipeline.Run();
  if (!st.ok()) return st.IsInvalidArgument() ? ConfigError(cmd, st) : Fail(cmd, st);
  // The views' state, so that the next start continues from here (a failure only costs time then).
  if (Status saved = live.Stop(); !saved.ok()) log::Warn(cmd, "views checkpoint not saved: {}", saved.message());
  jobs::RunStats s = pipeline.stats();
  log::Info(cmd, "done: {} batches, {} events committed, LSN {} confirmed", s.batches, s.rows,
            s.durable_lsn.valid() ? s.durable_lsn.ToString() : "-");
  return kExitOk;
}

}  // namespace

void RegisterRun(CLI::App& app) {
  auto* sub = app.add_subcommand("run", "The whole pipeline in one process: capture -> raw-kafka-data Parquet");
  auto f = std::make_shared<RunFlags>();
  auto flags = std::make_shared<config::Flags>(
      sub, std::initializer_list<config::Group>{config::Group::kDatabase, config::Group::kCapture,
                                                config::Group::kEvents, config::Group::kKafka, config::Group::kConsumer,
                                                config::Group::kOutput, config::Group::kWriter, config::Group::kHttp,
                                                config::Group::kViews});
  sub->add_option("--end-lsn", f->end_lsn, "Stop once everything up to this LSN is committed")->group("");
  sub->add_option("--latency-log", f->latency_log, "Append per-transaction commit-to-committed latency")->group("");
  SetCommandMain(sub, [f, flags]() -> int {
    auto cfg = flags->Resolve();
    if (!cfg.ok()) return ConfigError("run", cfg.status());
    // An address written in the file or given as a flag must be served; only the default may be busy.
    bool http_given = cfg->Origin("http.listen") != "default";
    return RunPipeline(*cfg, *f, http_given);
  });
}

}  // namespace cdc::cli
