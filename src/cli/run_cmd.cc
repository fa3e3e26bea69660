// `cdcpipe run`: the whole pipeline in one process: capture -> raw-kafka-data Parquet, embedded (the
// replication slot is the durable log) or through Kafka when kafka.brokers is set (docs/STREAM.md,
// "run"). Settings: docs/CONFIG.md.
#include <memory>
#include <optional>
#include <utility>

#include <nlohmann/json.hpp>

#include "base/log.h"
#include "cli/command.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "config/config.h"
#include "http/http_request.h"
#include "http/http_server.h"
#include "jobs/live_views.h"
#include "jobs/run.h"

namespace cdc::cli {
namespace {

struct RunFlags {
  std::string end_lsn;
  std::string latency_log;
};

// GET /api/snapshots: every incremental snapshot of this run; POST /api/snapshots?table=T&where=W starts
// one (docs/CAPTURE.md, "Incremental snapshots"). Errors: {"error": ...} with 400 (bad where), 404
// (unknown table), 409 (not published or captured, no key, one already running), 503 (capture not running).
std::pair<int, std::string> SnapshotsApi(jobs::Pipeline& pipeline, std::string_view method, std::string_view query) {
  auto error = [](const Status& st) {
    int code = st.IsInvalidArgument() ? 400
               : st.code() == StatusCode::kNotFound ? 404
               : st.code() == StatusCode::kFailedPrecondition || st.code() == StatusCode::kAlreadyExists ? 409
               : st.IsUnavailable() ? 503
                                    : 500;
    return std::make_pair(code, nlohmann::json({{"error", st.message()}}).dump());
  };
  if (method == "POST") {
    std::optional<std::string> table = http::QueryParam(query, "table");
    std::string where = http::QueryParam(query, "where").value_or("");
    if (!table) return error(Status::InvalidArgument("POST /api/snapshots needs ?table=schema.table"));
    auto accepted = pipeline.RequestSnapshot(*table, where);
    if (!accepted.ok()) return error(accepted.status());
    return std::make_pair(202, nlohmann::json({{"table", *accepted}, {"where", where}, {"state", "queued"}}).dump());
  }
  auto list = pipeline.Snapshots();
  if (!list.ok()) return error(list.status());
  nlohmann::json out = {{"snapshots", nlohmann::json::array()}};
  for (const auto& s : *list) {
    out["snapshots"].push_back({{"table", s.table}, {"where", s.where}, {"state", s.state}, {"rows", s.rows},
                                {"chunks", s.chunks}, {"dropped", s.dropped}, {"durable_rows", s.durable_rows},
                                {"error", s.error}});
  }
  return std::make_pair(200, out.dump());
}

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
  o.capture.encoder.kafka_topic_names = !o.brokers.empty();  // the embedded pipeline keeps names whole
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
  pipeline.ShareChanges(live.ChangeSharing());  // the views apply capture's decoded changes, not their JSON
  // The dashboard and metrics (src/http). An http.listen that was asked for and cannot be served is an
  // error; the default address being taken (another run, a test) only costs the dashboard.
  std::unique_ptr<http::HttpServer> http_server;
  if (cfg.http.listen != "off") {
    http::HttpOptions ho;
    ho.address = cfg.http.listen;
    ho.token = cfg.HttpToken();
    ho.snapshots = [&pipeline](std::string_view method, std::string_view query) {
      return SnapshotsApi(pipeline, method, query);
    };
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
