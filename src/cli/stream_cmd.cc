// `cdcpipe stream`: Kafka topics -> raw-kafka-data Parquet with a `_spark_metadata` commit log, exactly
// once (docs/STREAM.md).
#include <cstdio>
#include <memory>

#include "base/log.h"
#include "cli/command.h"
#include "cli/commands.h"
#include "cli/raw_output_flags.h"
#include "jobs/stream.h"

namespace cdc::cli {
namespace {

struct StreamFlags {
  std::string brokers;
  std::vector<std::string> topics;
  std::string group = "cdcpipe-stream";
  RawOutputFlags out;
};

int RunStream(const StreamFlags& f) {
  jobs::StreamOptions o;
  o.brokers = f.brokers;
  if (!f.topics.empty()) o.topics = SplitList(f.topics);
  o.group = f.group;
  if (Status st = ToRawOutputOptions(f.out, &o.output, &o.kafka_properties); !st.ok()) {
    std::fprintf(stderr, "cdcpipe stream: %s\n", st.message().c_str());
    return kExitUsage;
  }
  jobs::StreamJob job(o);
  Status st = job.Run();
  if (!st.ok()) return Fail("stream", st);
  return kExitOk;
}

}  // namespace

void RegisterStream(CLI::App& app) {
  auto* sub = app.add_subcommand("stream", "Kafka -> raw-kafka-data Parquet in micro-batches, exactly once");
  auto f = std::make_shared<StreamFlags>();
  sub->add_option("--brokers", f->brokers, "Kafka bootstrap servers host:port[,host:port]")->required();
  sub->add_option("--topics", f->topics, "Topic names or ^regex (default ^dbserver1\\.public\\..*)");
  sub->add_option("--group", f->group, "Consumer group")->default_val("cdcpipe-stream");
  AddRawOutputFlags(sub, &f->out);
  SetCommandMain(sub, [f]() -> int { return RunStream(*f); });
}

}  // namespace cdc::cli
