// `cdcpipe capture`: PostgreSQL logical replication -> Debezium change events -> Kafka (or a null sink).
// The protocol and every option are described in docs/CAPTURE.md.
#include <memory>

#include "base/clock.h"
#include "base/log.h"
#include "base/redact.h"
#include "cli/command.h"
#include "cli/commands.h"
#include "jobs/capture.h"
#include "log/kafka_sink.h"
#include "log/null_sink.h"
#include "pg/connection.h"

namespace cdc::cli {

namespace {

Result<bool> ParseBool(const std::string& flag, const std::string& v) {
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  return Status::InvalidArgument(flag + " '" + v + "': expected true or false");
}

// A flag value that does not parse: printed like any failure, exit code 2 (usage).
int UsageError(std::string_view cmd, const Status& st) {
  Fail(cmd, st);
  return kExitUsage;
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    std::string part = s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!part.empty()) out.push_back(part);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace

void RegisterCapture(CLI::App& app) {
  auto* sub = app.add_subcommand(
      "capture", "Stream PostgreSQL changes (logical replication, pgoutput) to Kafka as Debezium change events");
  struct Opts {
    std::string db, brokers, tables = "klienci,pracownicy,projekty", topic_prefix = "dbserver1";
    std::string slot = "cdcpipe", publication = "cdcpipe", snapshot = "initial", heartbeat = "10s";
    std::string schemas = "true", decimal = "precise", tombstones = "true", sink = "kafka";
    std::string retained_warn_mb = "1024", end_lsn, latency_log;
    bool no_replica_identity_full = false, drop_slot = false, null_sink = false;
    std::vector<std::string> properties;
  };
  auto o = std::make_shared<Opts>();
  sub->add_option("--db", o->db, "PostgreSQL connection (URI or key=value); default $CDCPIPE_DB or PG* variables");
  sub->add_option("--brokers", o->brokers, "Kafka bootstrap servers HOST:PORT,... (required for --sink kafka)");
  sub->add_option("--tables", o->tables, "Captured tables, comma-separated (schema.table or table)")
      ->capture_default_str();
  sub->add_option("--topic-prefix", o->topic_prefix, "Topic prefix: topics are <prefix>.<schema>.<table>")
      ->capture_default_str();
  sub->add_option("--slot", o->slot, "Replication slot name")->capture_default_str();
  sub->add_option("--publication", o->publication, "Publication name")->capture_default_str();
  sub->add_option("--snapshot", o->snapshot, "initial, never or initial_only")->capture_default_str();
  sub->add_option("--heartbeat", o->heartbeat, "Heartbeat interval (0 = off), e.g. 10s")->capture_default_str();
  sub->add_option("--schemas", o->schemas, "Wrap key and value in {schema, payload} (JsonConverter)")
      ->capture_default_str();
  sub->add_option("--decimal", o->decimal, "numeric as precise (Decimal bytes), string or double")
      ->capture_default_str();
  sub->add_option("--tombstones", o->tombstones, "Follow each delete with a tombstone")->capture_default_str();
  sub->add_flag("--no-replica-identity-full", o->no_replica_identity_full,
                "Leave the tables' REPLICA IDENTITY alone (updates/deletes then carry only the key)");
  sub->add_flag("--drop-slot", o->drop_slot, "Drop the slot and the publication, then exit");
  sub->add_option("-X", o->properties, "librdkafka property key=value (repeatable), like kcat");
  sub->add_option("--sink", o->sink, "kafka, or null (discard everything; for benchmarks)")->capture_default_str();
  sub->add_flag("--null-sink", o->null_sink, "Same as --sink null");
  sub->add_option("--retained-wal-warn-mb", o->retained_warn_mb, "Warn when the slot retains more WAL (MiB)")
      ->capture_default_str();
  // Hidden: benchmarks and tests.
  sub->add_option("--end-lsn", o->end_lsn, "Stop once everything up to this LSN is durable")->group("");
  sub->add_option("--latency-log", o->latency_log, "Append per-transaction commit-to-durable latency")->group("");

  SetCommandMain(sub, [o]() -> int {
    const char* cmd = "capture";
    std::string conninfo = pg::ResolveConninfo(o->db);
    if (o->drop_slot) {
      Status st = jobs::DropCapture(conninfo, o->slot, o->publication);
      return st.ok() ? kExitOk : Fail(cmd, st);
    }
    jobs::CaptureOptions co;
    co.conninfo = conninfo;
    co.tables = SplitComma(o->tables);
    if (co.tables.empty()) return UsageError(cmd, Status::InvalidArgument("--tables is empty"));
    co.slot = o->slot;
    co.publication = o->publication;
    auto mode = jobs::ParseSnapshotMode(o->snapshot);
    if (!mode.ok()) return UsageError(cmd, mode.status());
    co.snapshot = *mode;
    if (o->heartbeat == "0") {
      co.heartbeat = std::chrono::milliseconds(0);
    } else {
      auto hb = ParseDuration(o->heartbeat);
      if (!hb.ok()) return UsageError(cmd, hb.status().WithContext("--heartbeat"));
      co.heartbeat = *hb;
    }
    co.replica_identity_full = !o->no_replica_identity_full;
    try {
      co.retained_wal_warn_bytes = std::stoull(o->retained_warn_mb) << 20;
    } catch (...) {
      return UsageError(cmd, Status::InvalidArgument("--retained-wal-warn-mb '" + o->retained_warn_mb + "' is not a number"));
    }
    auto schemas = ParseBool("--schemas", o->schemas);
    if (!schemas.ok()) return UsageError(cmd, schemas.status());
    auto tombstones = ParseBool("--tombstones", o->tombstones);
    if (!tombstones.ok()) return UsageError(cmd, tombstones.status());
    auto decimal = event::ParseDecimalMode(o->decimal);
    if (!decimal.ok()) return UsageError(cmd, decimal.status());
    co.encoder.topic_prefix = o->topic_prefix;
    co.encoder.schemas = *schemas;
    co.encoder.tombstones = *tombstones;
    co.encoder.decimal_mode = *decimal;
    if (!o->end_lsn.empty()) {
      auto lsn = Lsn::Parse(o->end_lsn);
      if (!lsn) return UsageError(cmd, Status::InvalidArgument("--end-lsn '" + o->end_lsn + "' is not an LSN"));
      co.end_lsn = *lsn;
    }
    co.latency_log = o->latency_log;

    std::unique_ptr<log::RecordSink> sink;
    bool null_sink = o->null_sink || o->sink == "null";
    if (null_sink) {
      sink = std::make_unique<log::NullSink>();
    } else if (o->sink == "kafka") {
      log::KafkaSinkOptions ko;
      ko.brokers = o->brokers;
      for (const auto& p : o->properties) {
        Status st = log::ParseKafkaProperty(p, &ko.properties);
        if (!st.ok()) return UsageError(cmd, st.WithContext("-X"));
      }
      // Bound librdkafka's queue (default 1 GiB): Debezium values with schemas are kilobytes each, and
      // capture must stay under 256 MB even for a 1,000,000-row transaction. -X overrides it.
      ko.properties.emplace("queue.buffering.max.kbytes", "65536");
      if (ko.brokers.empty() && !ko.properties.count("bootstrap.servers")) {
        return UsageError(cmd, Status::InvalidArgument("--brokers is required (or --sink null)"));
      }
      auto ks = log::KafkaSink::Create(std::move(ko));
      if (!ks.ok()) return Fail(cmd, ks.status());
      sink = std::move(*ks);
    } else {
      return UsageError(cmd, Status::InvalidArgument("--sink '" + o->sink + "': expected kafka or null"));
    }

    int64_t start_us = MonoMicros();
    jobs::CaptureJob job(std::move(co), sink.get());
    Status st = job.Run();
    jobs::CaptureStats s = job.stats();
    double secs = static_cast<double>(MonoMicros() - start_us) / 1e6;
    log::Info(cmd, "{} snapshot rows, {} streamed events, {} records, {} transactions in {:.2f} s; confirmed {}",
              s.snapshot_rows, s.events, s.records, s.transactions, secs, s.durable_lsn.ToString());
    if (!st.ok()) return Fail(cmd, st);
    return kExitOk;
  });
}

}  // namespace cdc::cli
