#include "cli/options.h"

#include <algorithm>

#include "cli/command.h"
#include "event/debezium_encoder.h"
#include "parquet/compression.h"

namespace cdc::cli {

store::StoreOptions StoreOptionsFrom(const config::Config& c) {
  store::StoreOptions so;
  so.s3_endpoint = c.output.s3_endpoint;
  so.ca_file = c.output.s3_ca_file;
  so.create_bucket = c.output.create_bucket;
  so.low_speed_timeout_ms = static_cast<int>(std::min<int64_t>(c.output.s3_timeout.count(), 24 * 3600 * 1000));
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
  o.server_timeout = c.source.replication_timeout;
  o.retained_wal_warn_bytes = c.source.retained_wal_warn_mb << 20;
  o.snapshot_chunk_rows = c.source.snapshot_chunk_rows;
  o.snapshot_parallelism = c.source.snapshot_parallelism;
  o.state_uri = c.CaptureStateUri();
  o.state_store = StoreOptionsFrom(c);
  o.encoder.topic_prefix = c.kafka.topic_prefix;
  o.encoder.schemas = c.events.schemas;
  o.encoder.tombstones = c.events.tombstones;
  o.encoder.transaction_metadata = c.events.transaction_metadata;
  CDC_ASSIGN_OR_RETURN(o.encoder.decimal_mode, event::ParseDecimalMode(c.events.decimal_handling));
  CDC_ASSIGN_OR_RETURN(o.encoder.time_precision, event::ParseTimePrecisionMode(c.events.time_precision));
  CDC_ASSIGN_OR_RETURN(o.encoder.binary_mode, event::ParseBinaryMode(c.events.binary_handling));
  CDC_ASSIGN_OR_RETURN(o.encoder.interval_mode, event::ParseIntervalMode(c.events.interval_handling));
  auto skipped = event::ParseSkippedOperations(c.events.skipped_operations);
  if (!skipped.ok()) {
    return skipped.status().WithContext("events.skipped_operations from " + c.Origin("events.skipped_operations"));
  }
  o.encoder.skipped_ops = *skipped;
  // Each option alone first, so that an error names the key and where it was set; then the three together.
  const std::string& include = c.events.column_include_list;
  const std::string& exclude = c.events.column_exclude_list;
  auto named = [&](const char* key, const Result<event::ColumnSelection>& r) {
    return r.ok() ? Status::OK() : r.status().WithContext(std::string(key) + " from " + c.Origin(key));
  };
  CDC_RETURN_IF_ERROR(named("events.column_include_list", event::ColumnSelection::Parse(include, "", "")));
  CDC_RETURN_IF_ERROR(named("events.column_exclude_list", event::ColumnSelection::Parse("", exclude, "")));
  CDC_RETURN_IF_ERROR(
      named("events.message_key_columns", event::ColumnSelection::Parse("", "", c.events.message_key_columns)));
  auto columns = event::ColumnSelection::Parse(c.events.column_include_list, c.events.column_exclude_list,
                                               c.events.message_key_columns);
  if (!columns.ok()) {
    return columns.status().WithContext("events.column_include_list from " + c.Origin("events.column_include_list") +
                                        " and events.column_exclude_list from " +
                                        c.Origin("events.column_exclude_list"));
  }
  o.encoder.columns = std::move(*columns);
  return o;
}

Result<jobs::RawOutputOptions> RawOutputOptionsFrom(const config::Config& c) {
  jobs::RawOutputOptions o;
  o.output = c.output.root;
  o.checkpoint = c.output.checkpoint;
  o.store = StoreOptionsFrom(c);
  o.trigger = c.output.trigger;
  o.max_batch_rows = c.output.max_batch_rows;
  o.withdrawn_file_grace = c.output.withdrawn_file_grace;
  CDC_ASSIGN_OR_RETURN(o.compression, parquet::ParseCompression(c.output.compression));
  return o;
}

Result<jobs::StreamOptions> StreamOptionsFrom(const config::Config& c) {
  jobs::StreamOptions o;
  o.brokers = c.BrokerList();
  o.topics = c.kafka.topics.empty() ? std::vector<std::string>{c.TopicPattern()} : c.kafka.topics;
  o.topic_prefix = c.kafka.topic_prefix;
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
  // The views read the changelog as the default switches write it: timestamps by their precision (adaptive),
  // and every change (a skipped one would leave the views wrong).
  if (!c.views.file.empty() && c.events.time_precision != "adaptive") {
    return Status::InvalidArgument("events.time_precision " + c.events.time_precision + " (from " +
                                   c.Origin("events.time_precision") +
                                   "): views.file needs adaptive, the form the views read timestamps in");
  }
  if (!c.views.file.empty() && c.events.interval_handling != "numeric") {
    return Status::InvalidArgument("events.interval_handling " + c.events.interval_handling + " (from " +
                                   c.Origin("events.interval_handling") +
                                   "): views.file needs numeric, the form the views read intervals in");
  }
  if (!c.views.file.empty() && c.events.skipped_operations != "none" && !c.events.skipped_operations.empty()) {
    return Status::InvalidArgument("events.skipped_operations " + c.events.skipped_operations + " (from " +
                                   c.Origin("events.skipped_operations") +
                                   "): views.file needs every change (none), or the views go wrong");
  }
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
