// `cdcpipe capture`: PostgreSQL logical replication -> Debezium change events -> Kafka (or a null sink).
// The protocol is described in docs/CAPTURE.md; the settings in docs/CONFIG.md.
#include <memory>

#include "base/clock.h"
#include "base/log.h"
#include "cli/command.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "config/config.h"
#include "jobs/capture.h"
#include "log/kafka_sink.h"
#include "log/null_sink.h"

namespace cdc::cli {

void RegisterCapture(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "capture", "Stream PostgreSQL changes (logical replication, pgoutput) to Kafka as Debezium change events");
  struct Opts {
    std::string sink = "kafka", end_lsn, latency_log;
    bool drop_slot = false, null_sink = false;
  };
  auto o = std::make_shared<Opts>();
  auto flags = std::make_shared<config::Flags>(
      sub, std::initializer_list<config::Group>{config::Group::kDatabase, config::Group::kCapture,
                                                config::Group::kEvents, config::Group::kKafka, config::Group::kOutput});
  sub->add_flag("--drop-slot", o->drop_slot, "Drop the slot, the publication and capture's state, then exit");
  sub->add_option("--sink", o->sink, "kafka, or null (discard everything; for benchmarks)")->capture_default_str();
  sub->add_flag("--null-sink", o->null_sink, "Same as --sink null");
  // Hidden: benchmarks and tests.
  sub->add_option("--end-lsn", o->end_lsn, "Stop once everything up to this LSN is durable")->group("");
  sub->add_option("--latency-log", o->latency_log, "Append per-transaction commit-to-durable latency")->group("");

  SetCommandMain(sub, [o, flags]() -> int {
    const char* cmd = "capture";
    auto cfg = flags->Resolve();
    if (!cfg.ok()) return ConfigError(cmd, cfg.status());
    if (o->drop_slot) {
      Status st = jobs::DropCapture(cfg->Conninfo(), cfg->source.slot, cfg->source.publication,
                                    cfg->CaptureStateUri(), StoreOptionsFrom(*cfg));
      return st.ok() ? kExitOk : Fail(cmd, st);
    }
    auto co = CaptureOptionsFrom(*cfg);
    if (!co.ok()) return ConfigError(cmd, co.status());
    if (!o->end_lsn.empty()) {
      auto lsn = Lsn::Parse(o->end_lsn);
      if (!lsn) return ConfigError(cmd, Status::InvalidArgument("--end-lsn '" + o->end_lsn + "' is not an LSN"));
      co->end_lsn = *lsn;
    }
    co->latency_log = o->latency_log;

    std::unique_ptr<log::RecordSink> sink;
    if (o->null_sink || o->sink == "null") {
      sink = std::make_unique<log::NullSink>();
    } else if (o->sink == "kafka") {
      co->encoder.kafka_topic_names = true;
      log::KafkaSinkOptions ko;
      ko.brokers = cfg->BrokerList();
      ko.properties = cfg->kafka.properties;
      // Bound librdkafka's queue (default 1 GiB): Debezium values with schemas are kilobytes each, and
      // capture must stay under 256 MB even for a 1,000,000-row transaction. kafka.properties overrides it.
      ko.properties.emplace("queue.buffering.max.kbytes", "65536");
      if (ko.brokers.empty() && !ko.properties.count("bootstrap.servers")) {
        return ConfigError(cmd, Status::InvalidArgument(
                                    "kafka.brokers is empty: capture publishes to Kafka (set kafka.brokers or "
                                    "--brokers, or use `cdcpipe run` for the embedded pipeline, or --sink null)"));
      }
      auto ks = log::KafkaSink::Create(std::move(ko));
      if (!ks.ok()) return Fail(cmd, ks.status());
      sink = std::move(*ks);
    } else {
      return ConfigError(cmd, Status::InvalidArgument("--sink '" + o->sink + "': expected kafka or null"));
    }

    int64_t start_us = MonoMicros();
    jobs::CaptureJob job(std::move(*co), sink.get());
    Status st = job.Run();
    jobs::CaptureStats s = job.stats();
    double secs = static_cast<double>(MonoMicros() - start_us) / 1e6;
    log::Info(cmd, "{} snapshot rows, {} streamed events, {} records, {} transactions in {:.2f} s; confirmed {}",
              s.snapshot_rows, s.events, s.records, s.transactions, secs, s.durable_lsn.ToString());
    if (!st.ok()) return st.IsInvalidArgument() ? ConfigError(cmd, st) : Fail(cmd, st);
    return kExitOk;
  });
}

}  // namespace cdc::cli
