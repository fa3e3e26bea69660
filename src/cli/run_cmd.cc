// `cdcpipe run`: the whole pipeline in one process: capture -> raw-kafka-data Parquet, embedded (the
// replication slot is the durable log) or through Kafka with --brokers (docs/STREAM.md, "run").
#include <cstdio>
#include <memory>

#include "base/log.h"
#include "cli/command.h"
#include "cli/commands.h"
#include "cli/raw_output_flags.h"
#include "http/http_server.h"
#include "jobs/live_aggregates.h"
#include "jobs/run.h"
#include "pg/connection.h"

namespace cdc::cli {
namespace {

struct RunFlags {
  std::string db;
  std::string brokers;
  std::vector<std::string> tables;
  std::string slot = "cdcpipe";
  std::string publication = "cdcpipe";
  std::string snapshot = "initial";
  std::string topic_prefix = "dbserver1";
  std::string heartbeat = "10s";
  std::string group = "cdcpipe-stream";
  std::string end_lsn;
  std::string latency_log;
  RawOutputFlags out;
  std::string http = "127.0.0.1:8080";  // dashboard, /api/status, /metrics, /healthz
  std::string http_token;
  bool http_given = false;
};

int Usage(const std::string& msg) {
  std::fprintf(stderr, "cdcpipe run: %s\n", msg.c_str());
  return kExitUsage;
}

int RunPipeline(const RunFlags& f) {
  jobs::RunOptions o;
  o.capture.conninfo = pg::ResolveConninfo(f.db);
  if (!f.tables.empty()) o.capture.tables = SplitList(f.tables);
  o.capture.slot = f.slot;
  o.capture.publication = f.publication;
  auto mode = jobs::ParseSnapshotMode(f.snapshot);
  if (!mode.ok()) return Usage(mode.status().message());
  o.capture.snapshot = *mode;
  o.capture.encoder.topic_prefix = f.topic_prefix;
  auto hb = ParseDuration(f.heartbeat);
  if (!hb.ok()) return Usage("--heartbeat: " + hb.status().message());
  o.capture.heartbeat = *hb;
  o.capture.status_interval = std::chrono::milliseconds(1000);
  if (!f.end_lsn.empty()) {
    auto lsn = Lsn::Parse(f.end_lsn);
    if (!lsn) return Usage("--end-lsn '" + f.end_lsn + "' is not an LSN (like 0/1A2B3C4)");
    o.capture.end_lsn = *lsn;
  }
  o.capture.latency_log = f.latency_log;
  o.brokers = f.brokers;
  o.group = f.group;
  o.topics = {"^" + f.topic_prefix + "\\..*"};
  if (Status st = ToRawOutputOptions(f.out, &o.output, &o.kafka_properties); !st.ok()) return Usage(st.message());
  jobs::Pipeline pipeline(o);
  // Live analytics (issue 6): rebuilt from the committed raw batches, then fed every new commit.
  auto analytics_store = store::OpenStore(o.output.output, store::StoreOptions::FromEnvironment(o.output.store));
  if (!analytics_store.ok()) return Fail("run", analytics_store.status());
  jobs::LiveAggregates live({analytics_store->get(), &pipeline.state()});
  if (Status st = live.Start(); !st.ok()) return Fail("run", st);
  pipeline.AddObserver(live.Observer());
  // The dashboard and metrics (src/http). An explicit --http that cannot be served is an error; the
  // default address being taken (another run, a test) only costs the dashboard.
  std::unique_ptr<http::HttpServer> http_server;
  if (f.http != "off") {
    http::HttpOptions ho;
    ho.address = f.http;
    ho.token = f.http_token;
    auto srv = http::StartHttpServer(ho, &pipeline.state());
    if (srv.ok()) {
      http_server = std::move(srv).value();
    } else if (f.http_given || srv.status().IsInvalidArgument()) {
      return Fail("run", srv.status());
    } else {
      log::Warn("run", "no dashboard: {}", srv.status().message());
    }
  }
  Status st = pipeline.Run();
  if (!st.ok()) return Fail("run", st);
  jobs::RunStats s = pipeline.stats();
  log::Info("run", "done: {} batches, {} events committed, LSN {} confirmed", s.batches, s.rows,
            s.durable_lsn.valid() ? s.durable_lsn.ToString() : "-");
  return kExitOk;
}

}  // namespace

void RegisterRun(CLI::App& app) {
  auto* sub = app.add_subcommand("run", "The whole pipeline in one process: capture -> raw-kafka-data Parquet");
  auto f = std::make_shared<RunFlags>();
  sub->add_option("--db", f->db, "PostgreSQL connection (URI or key=value); default $CDCPIPE_DB or PG* variables");
  sub->add_option("--brokers", f->brokers, "Go through Kafka (capture -> Kafka -> stream); default embedded, no Kafka");
  sub->add_option("--tables", f->tables, "Captured tables, comma-separated (default klienci,pracownicy,projekty)");
  sub->add_option("--slot", f->slot, "Replication slot name")->capture_default_str();
  sub->add_option("--publication", f->publication, "Publication name")->capture_default_str();
  sub->add_option("--snapshot", f->snapshot, "initial, never or initial_only")->capture_default_str();
  sub->add_option("--topic-prefix", f->topic_prefix, "Topics are <prefix>.<schema>.<table>")->capture_default_str();
  sub->add_option("--heartbeat", f->heartbeat, "Heartbeat interval (0 = off)")->capture_default_str();
  sub->add_option("--group", f->group, "Consumer group of the stream stage (with --brokers)")->capture_default_str();
  AddRawOutputFlags(sub, &f->out);
  auto* http_opt = sub->add_option("--http", f->http, "Serve the dashboard, /api/status, /metrics and /healthz here (off = none)")
                      ->capture_default_str();
  sub->add_option("--http-token", f->http_token, "Token required on every HTTP request (required for a non-loopback --http)");
  sub->add_option("--end-lsn", f->end_lsn, "Stop once everything up to this LSN is committed")->group("");
  sub->add_option("--latency-log", f->latency_log, "Append per-transaction commit-to-committed latency")->group("");
  SetCommandMain(sub, [f, http_opt]() -> int {
    f->http_given = http_opt->count() > 0;
    return RunPipeline(*f);
  });
}

}  // namespace cdc::cli
