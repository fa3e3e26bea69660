// `cdcpipe stream`: Kafka topics -> raw-kafka-data Parquet with a `_spark_metadata` commit log, exactly
// once (docs/STREAM.md). Settings: docs/CONFIG.md.
#include <memory>

#include "cli/command.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "config/config.h"
#include "jobs/stream.h"

namespace cdc::cli {

void RegisterStream(CLI::App& app) {
  auto* sub = app.add_subcommand("stream", "Kafka -> raw-kafka-data Parquet in micro-batches, exactly once");
  auto flags = std::make_shared<config::Flags>(
      sub, std::initializer_list<config::Group>{config::Group::kKafka, config::Group::kConsumer,
                                                config::Group::kOutput, config::Group::kWriter});
  SetCommandMain(sub, [flags]() -> int {
    auto cfg = flags->Resolve();
    if (!cfg.ok()) return ConfigError("stream", cfg.status());
    if (cfg->Embedded()) {
      return ConfigError("stream", Status::InvalidArgument(
                                       "kafka.brokers is empty: stream reads Kafka (set kafka.brokers or --brokers; "
                                       "the embedded pipeline is `cdcpipe run`)"));
    }
    auto o = StreamOptionsFrom(*cfg);
    if (!o.ok()) return ConfigError("stream", o.status());
    jobs::StreamJob job(std::move(*o));
    Status st = job.Run();
    if (!st.ok()) return Fail("stream", st);
    return kExitOk;
  });
}

}  // namespace cdc::cli
