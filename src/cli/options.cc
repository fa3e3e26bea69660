#include "cli/options.h"

#include "cli/command.h"
#include "event/debezium_encoder.h"
#include "parquet/compression.h"

namespace cdc::cli {

store::StoreOptions StoreOptionsFrom(const config::Config& c) {
  store::StoreOptions so;
  so.s3_endpoint = c.output.s3_endpoint;
  so.create_bucket = c.output.create_bucket;
  return so;
}

Result<jobs::CaptureOptions> CaptureOptionsFrom(const config::Config& c) {
  jobs::CaptureOptions o;
  o.conninfo = c.Conninfo();
  o.tables = c.source.tables;
  o.tables_origin = c.Origin("source.tables") + " (source.tables)";
  o.slot = c.source.slot;
  o.publication = c.source.publication;
  o.create_publication = c.source.create_publication;
  o.replica_identity_full = c.source.replica_identity_full;
  CDC_ASSIGN_OR_RETURN(o.snapshot, jobs::ParseSnapshotMode(c.source.snapshot));
  o.heartbeat = c.source.heartbeat;
  o.retained_wal_warn_bytes = c.source.retained_wal_warn_mb << 20;
  o.snapshot_chunk_rows = c.source.snapshot_chunk_rows;
  o.state_uri = c.CaptureStateUri();
  o.state_store = StoreOptionsFrom(c);
  o.encoder.topic_prefix = c.kafka.topic_prefix;
  o.encoder.schemas = c.events.schemas;
  o.encoder.tombstones = c.events.tombstones;
  CDC_ASSIGN_OR_RETURN(o.encoder.decimal_mode, event::ParseDecimalMode(c.events.decimal_handling));
  return o;
}

Result<jobs::RawOutputOptions> RawOutputOptionsFrom(const config::Config& c) {
  jobs::RawOutputOptions o;
  o.output = c.output.root;
  o.checkpoint = c.output.checkpoint;
  o.store = StoreOptionsFrom(c);
  o.trigger = c.output.trigger;
  o.max_batch_rows = c.output.max_batch_rows;
  CDC_ASSIGN_OR_RETURN(o.compression, parquet::ParseCompression(c.output.compression));
  return o;
}

Result<jobs::StreamOptions> StreamOptionsFrom(const config::Config& c) {
  jobs::StreamOptions o;
  o.brokers = c.BrokerList();
  o.topics = c.kafka.topics.empty() ? std::vector<std::string>{c.TopicPattern()} : c.kafka.topics;
  o.group = c.kafka.group;
  o.kafka_properties = c.kafka.properties;
  CDC_ASSIGN_OR_RETURN(o.output, RawOutputOptionsFrom(c));
  return o;
}

jobs::ViewsOptions ViewsOptionsFrom(const config::Config& c) {
  jobs::ViewsOptions o;
  o.file = c.views.file;
  o.conninfo = c.Conninfo();
  o.tables = c.source.tables;
  o.publication = c.source.publication;
  return o;
}

Result<analytics::EventSettings> EventSettingsFrom(const config::Config& c) {
  analytics::EventSettings e;
  CDC_ASSIGN_OR_RETURN(e.decimal_mode, event::ParseDecimalMode(c.events.decimal_handling));
  return e;
}

int ConfigError(std::string_view command, const Status& status) {
  // A config or views file may have several problems: one line each, every line prefixed, so that
  // each names its own file:line:column.
  if (status.ok()) return kExitUsage;
  const std::string& text = status.message();
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    if (!line.empty()) Fail(command, Status(status.code(), std::string(line)));
    start = end + 1;
  }
  return kExitUsage;
}

}  // namespace cdc::cli
