// `cdcpipe status`: checks every part of the pipeline the config names and says, for each check, what
// it found and, when it fails, what to do. Works straight against the components (PostgreSQL, Kafka,
// the output store) and, when the config names an http.listen, against the running `cdcpipe run`
// through its /api/status. Exit 0 only when every selected check passes; kExitCheckFailed (7)
// otherwise; 2 for a bad flag or config. docs/OPERATIONS.md.
#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/redact.h"
#include "base/terminal_text.h"
#include "cli/command.h"
#include "cli/commands.h"
#include "cli/options.h"
#include "config/config.h"
#include "http/http_client.h"
#include "lake/spark_metadata_log.h"
#include "sql/view_names.h"
#include "log/rdkafka_api.h"
#include "pg/connection.h"
#include "pg/table_catalog.h"
#include "store/object_store.h"

namespace cdc::cli {
namespace {

constexpr const char* kComponents[] = {"postgres", "capture", "kafka", "stream", "storage", "analytics"};

// The seed's debug tool names its components after the containers; each maps to ours.
struct ComponentAlias {
  const char* name;
  std::vector<std::string> components;
};
const ComponentAlias kAliases[] = {
    {"debezium", {"capture"}}, {"spark", {"stream", "analytics"}}, {"minio", {"storage"}}};

// Resolves --component values (ours and the seed's names). InvalidArgument on an unknown one.
Result<std::set<std::string>> SelectComponents(const std::vector<std::string>& given) {
  std::set<std::string> out;
  for (const auto& g : given) {
    bool known = false;
    for (const char* c : kComponents) {
      if (g == c) {
        out.insert(g);
        known = true;
      }
    }
    for (const auto& a : kAliases) {
      if (g == a.name) {
        out.insert(a.components.begin(), a.components.end());
        known = true;
      }
    }
    if (!known) {
      std::string all;
      for (const char* c : kComponents) all += std::string(all.empty() ? "" : ", ") + c;
      for (const auto& a : kAliases) all += std::string(", ") + a.name;
      return Status::InvalidArgument("--component '" + g + "': expected one of " + all);
    }
  }
  return out;
}

// What status checks, from the config (flags already applied).
struct StatusFlags {
  std::set<std::string> components;
  bool json = false;
  std::string db;
  std::string brokers;
  std::string output;
  store::StoreOptions store;  // endpoint, CA file, ... from the config (StoreOptionsFrom)
  std::string http;  // "" = do not ask a running pipeline
  std::string http_token;
  std::string slot;
  std::string publication;
  std::vector<std::string> tables;  // [] = the publication's
  std::string group;
  std::string topic_prefix;
  double max_analytics_age = 0;  // seconds; 0 = no limit
  std::string views_file;        // "" = no views configured
  bool db_given = false, output_given = false;
};

struct Check {
  std::string component;
  std::string name;
  bool ok = false;
  bool skipped = false;  // not applicable here (counts as passed); `answer` says why
  std::string answer;
  std::string hint;      // what to do; only for failed checks
};

class Report {
 public:
  explicit Report(std::set<std::string> selected) : selected_(std::move(selected)) {}
  bool Wants(const std::string& c) const { return selected_.empty() || selected_.count(c) > 0; }
  void Pass(const std::string& c, const std::string& name, const std::string& answer) {
    checks_.push_back({c, name, true, false, answer, ""});
  }
  void Skip(const std::string& c, const std::string& name, const std::string& answer) {
    checks_.push_back({c, name, true, true, answer, ""});
  }
  void Fail(const std::string& c, const std::string& name, const std::string& answer, const std::string& hint) {
    checks_.push_back({c, name, false, false, answer, hint});
  }
  bool AllOk() const {
    for (const auto& c : checks_)
      if (!c.ok) return false;
    return !checks_.empty();
  }
  const std::vector<Check>& checks() const { return checks_; }

 private:
  std::set<std::string> selected_;
  std::vector<Check> checks_;
};

std::string HumanBytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int i = 0;
  while (b >= 1024 && i < 4) {
    b /= 1024;
    ++i;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, i == 0 ? "%.0f %s" : "%.1f %s", b, units[i]);
  return buf;
}

// ---- PostgreSQL and the capture's slot/publication -------------------------------------------------

void CheckPostgres(const StatusFlags& f, Report& r) {
  bool want_pg = r.Wants("postgres"), want_capture = r.Wants("capture");
  std::string where = RedactConninfo(f.db);
  if (where.empty()) where = "PG* environment defaults";
  auto conn = pg::PgConnection::Connect(f.db);
  if (!conn.ok()) {
    std::string c = want_pg ? "postgres" : "capture";
    r.Fail(c, "reachable", "cannot connect (" + where + "): " + TerminalLine(conn.status().message()),
           "start PostgreSQL or point source.url (--db, $CDCPIPE_DB or the PG* variables) at it");
    return;
  }
  auto& db = *conn;
  if (want_pg) {
    auto v = db.Exec("SELECT current_setting('server_version'), current_database()");
    r.Pass("postgres", "reachable",
           v.ok() ? "PostgreSQL " + std::string(v->Get(0, 0)) + ", database " + std::string(v->Get(0, 1)) : where);
    auto wal = db.Exec("SELECT current_setting('wal_level')");
    std::string level = wal.ok() ? std::string(wal->Get(0, 0)) : "unknown";
    if (level == "logical") {
      r.Pass("postgres", "wal_level", "logical");
    } else {
      r.Fail("postgres", "wal_level", level,
             "set wal_level = logical in postgresql.conf (or ALTER SYSTEM SET wal_level = logical) and restart PostgreSQL");
    }
    // The configured tables (read as PostgreSQL reads a name, like capture does), else the
    // publication's. Row counts are estimates (pg_class.reltuples, or an exact count for small
    // tables): status must stay cheap on a database of any size. Names are shown quoted where they
    // need it (TableName::Qualified), so a name with spaces, quotes or dots reads back unambiguously.
    std::vector<pg::TableName> tables;
    std::string missing;
    for (const auto& t : f.tables) {
      auto parsed = pg::ParseTableName(t);
      if (parsed.ok()) {
        tables.push_back(*parsed);
      } else {
        missing += (missing.empty() ? "" : ", ") + TerminalLine(parsed.status().message());
      }
    }
    if (f.tables.empty()) {
      auto pt = db.ExecParams("SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = $1 "
                              "ORDER BY 1, 2",
                              {f.publication});
      if (pt.ok())
        for (int i = 0; i < pt->rows(); ++i) tables.push_back({std::string(pt->Get(i, 0)), std::string(pt->Get(i, 1))});
    }
    std::string counts;
    for (const auto& t : tables) {
      auto e = db.ExecParams(
          "SELECT c.reltuples::bigint, pg_relation_size(c.oid) < 16 * 1024 * 1024 FROM pg_class c JOIN pg_namespace n ON "
          "n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
          {t.schema, t.name});
      if (!e.ok() || e->rows() == 0) {
        missing += (missing.empty() ? "" : ", ") + t.Qualified();
        continue;
      }
      std::string rows = std::string(e->Get(0, 0));
      if (e->Get(0, 1) == "t") {
        auto n = db.Exec("SELECT count(*) FROM " + t.Sql());
        if (n.ok()) rows = std::string(n->Get(0, 0));
      } else {
        rows = "~" + rows;
      }
      counts += (counts.empty() ? "" : ", ") + t.Qualified() + " " + rows + " rows";
    }
    if (tables.empty() && missing.empty()) {
      r.Fail("postgres", "tables", "no tables configured (source.tables) and publication '" + f.publication +
                                       "' publishes none",
             "list the tables in source.tables of cdcpipe.yaml (or --tables)");
    } else if (missing.empty()) {
      r.Pass("postgres", "tables", counts);
    } else {
      r.Fail("postgres", "tables", "missing: " + missing + (counts.empty() ? "" : " (present: " + counts + ")"),
             "create them, or fix source.tables in the config");
    }
  }
  if (!want_capture) return;
  auto pub = db.ExecParams("SELECT string_agg(quote_ident(schemaname) || '.' || quote_ident(tablename), ', ' ORDER BY tablename) FROM "
                           "pg_publication_tables WHERE pubname = $1",
                           {f.publication});
  auto pub_exists = db.ExecParams("SELECT count(*) FROM pg_publication WHERE pubname = $1", {f.publication});
  if (!pub_exists.ok() || pub_exists->Get(0, 0) != "1") {
    r.Fail("capture", "publication", "publication '" + f.publication + "' does not exist",
           "start `cdcpipe capture` or `cdcpipe run` once (it creates the publication), or set source.publication");
  } else {
    std::string tables = pub.ok() && !pub->IsNull(0, 0) ? std::string(pub->Get(0, 0)) : "";
    if (tables.empty()) {
      r.Fail("capture", "publication", "publication '" + f.publication + "' publishes no tables",
             "ALTER PUBLICATION " + f.publication + " ADD TABLE <the tables to capture>");
    } else {
      r.Pass("capture", "publication", f.publication + ": " + tables);
    }
  }
  auto slot = db.ExecParams(
      "SELECT active, confirmed_flush_lsn::text, plugin, "
      "pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint, "
      "pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint "
      "FROM pg_replication_slots WHERE slot_name = $1 AND database = current_database()", {f.slot});
  if (!slot.ok()) {
    r.Fail("capture", "slot", TerminalLine(slot.status().message()), "check the privileges of the source.url user");
  } else if (slot->rows() == 0) {
    r.Fail("capture", "slot", "replication slot '" + f.slot + "' does not exist in this database",
           "start `cdcpipe capture` or `cdcpipe run` (it creates the slot), or set source.slot");
  } else {
    bool active = slot->Get(0, 0) == "t";
    std::string lsn = slot->IsNull(0, 1) ? "none" : std::string(slot->Get(0, 1));
    double retained = slot->IsNull(0, 3) ? 0 : std::stod(std::string(slot->Get(0, 3)));
    double lag = slot->IsNull(0, 4) ? 0 : std::stod(std::string(slot->Get(0, 4)));
    std::string answer = f.slot + " (" + std::string(slot->Get(0, 2)) + "): " + (active ? "active" : "inactive") +
                         ", confirmed LSN " + lsn + ", WAL retained " + HumanBytes(retained) + ", lag " +
                         HumanBytes(lag);
    if (active) {
      r.Pass("capture", "slot", answer);
    } else {
      r.Fail("capture", "slot", answer,
             "no capture is connected: start `cdcpipe capture` or `cdcpipe run`; an idle slot keeps WAL (drop it with "
             "`cdcpipe capture --drop-slot` if the pipeline is gone for good)");
    }
  }
}

// ---- Kafka ------------------------------------------------------------------------------------------

struct RdKafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};

void CheckKafka(const StatusFlags& f, Report& r) {
  bool want_kafka = r.Wants("kafka"), want_stream = r.Wants("stream");
  if (f.brokers.empty()) {
    if (want_kafka) r.Skip("kafka", "brokers", "not configured (kafka.brokers is empty: the embedded pipeline has no Kafka)");
    return;
  }
  if (Status loaded = log::LoadRdkafka(); !loaded.ok()) {
    r.Fail(want_kafka ? "kafka" : "stream", "brokers", loaded.message(), "install librdkafka1, or drop --brokers");
    return;
  }
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const std::pair<const char*, std::string> props[] = {{"bootstrap.servers", f.brokers},
                                                       {"group.id", f.group},
                                                       {"enable.auto.commit", "false"},
                                                       {"log_level", "0"}};
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k, v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      r.Fail("kafka", "brokers", std::string("bad setting ") + k + ": " + err, "check --brokers HOST:PORT,...");
      return;
    }
  }
  std::unique_ptr<rd_kafka_t, RdKafkaDeleter> rk(rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err));
  if (!rk) {
    r.Fail("kafka", "brokers", std::string("cannot create a Kafka client: ") + err, "check --brokers");
    return;
  }
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk.get(), 1, nullptr, &md, 5000);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    r.Fail(want_kafka ? "kafka" : "stream", "brokers", f.brokers + ": " + rd_kafka_err2str(e),
           "start the Kafka brokers or fix --brokers (e.g. localhost:9092)");
    return;
  }
  std::unique_ptr<const rd_kafka_metadata_t, void (*)(const rd_kafka_metadata_t*)> md_guard(md, rd_kafka_metadata_destroy);
  if (want_kafka) r.Pass("kafka", "brokers", std::to_string(md->broker_cnt) + " broker(s) at " + f.brokers);

  std::string prefix = f.topic_prefix + ".";
  rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(16);
  std::unique_ptr<rd_kafka_topic_partition_list_t, void (*)(rd_kafka_topic_partition_list_t*)> parts_guard(
      parts, rd_kafka_topic_partition_list_destroy);
  std::string topics_answer;
  int64_t total_end = 0;
  std::vector<int64_t> highs;
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& t = md->topics[i];
    std::string name = t.topic;
    if (name.rfind(prefix, 0) != 0) continue;
    int64_t topic_end = 0;
    for (int p = 0; p < t.partition_cnt; ++p) {
      int64_t lo = 0, hi = 0;
      rd_kafka_query_watermark_offsets(rk.get(), t.topic, t.partitions[p].id, &lo, &hi, 5000);
      topic_end += hi;
      rd_kafka_topic_partition_list_add(parts, t.topic, t.partitions[p].id);
      highs.push_back(hi);
    }
    total_end += topic_end;
    topics_answer += (topics_answer.empty() ? "" : "; ") + name + " (" + std::to_string(t.partition_cnt) +
                     " partition(s), end offset " + std::to_string(topic_end) + ")";
  }
  if (want_kafka) {
    if (topics_answer.empty()) {
      r.Fail("kafka", "topics", "no topics named " + prefix + "* on " + f.brokers,
             "start `cdcpipe capture --brokers " + f.brokers + "` (topics are created by its first events), or pass "
             "--topic-prefix");
    } else {
      r.Pass("kafka", "topics", topics_answer);
    }
  }
  if (!want_stream || parts->cnt == 0) return;
  e = rd_kafka_committed(rk.get(), parts, 5000);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    r.Fail("stream", "consumer group", "group " + f.group + ": " + rd_kafka_err2str(e),
           "check that the brokers are up and --group names the stream's group");
    return;
  }
  int64_t lag = 0;
  int committed_parts = 0;
  for (int i = 0; i < parts->cnt; ++i) {
    int64_t off = parts->elems[i].offset;
    if (off >= 0) {
      ++committed_parts;
      lag += highs[i] - off;
    } else {
      lag += highs[i];
    }
  }
  std::string answer = "group " + f.group + ": committed on " + std::to_string(committed_parts) + " of " +
                       std::to_string(parts->cnt) + " partition(s), lag " + std::to_string(lag) + " message(s)";
  if (committed_parts == 0 && total_end > 0) {
    r.Fail("stream", "consumer group", answer,
           "no offsets committed yet: start `cdcpipe stream --brokers " + f.brokers + " --group " + f.group + "`");
  } else {
    r.Pass("stream", "consumer group", answer);
  }
}

// ---- Storage: raw files, committed batches, analytics ---------------------------------------------

void CheckStorage(const StatusFlags& f, Report& r) {
  bool want_storage = r.Wants("storage"), want_stream = r.Wants("stream"), want_analytics = r.Wants("analytics");
  auto loc = store::ParseStoreUri(f.output);
  if (!loc.ok()) {
    r.Fail("storage", "reachable", TerminalLine(loc.status().message()), "pass --output DIR or s3://bucket[/prefix]");
    return;
  }
  if (loc->kind == store::StoreLocation::Kind::kLocal) {
    struct stat st {};
    if (::stat(loc->local_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      r.Fail(want_storage ? "storage" : (want_stream ? "stream" : "analytics"), "reachable",
             loc->local_dir + ": no such directory",
             "no output yet: start `cdcpipe run` or `cdcpipe stream` with --output " + f.output +
                 ", or point --output at the pipeline's output");
      return;
    }
  }
  store::StoreOptions so = f.store;
  so.create_bucket = false;  // status only looks
  so.max_attempts = 2;
  auto opened = store::OpenStore(f.output, store::StoreOptions::FromEnvironment(so));
  if (!opened.ok()) {
    r.Fail("storage", "reachable", TerminalLine(opened.status().message()),
           "check --output, --s3-endpoint and the S3 credentials (AWS_ACCESS_KEY_ID/...)");
    return;
  }
  auto& s = **opened;
  if (want_storage) r.Pass("storage", "reachable", s.Describe());

  if (want_storage || want_stream) {
    auto meta = s.List("raw-kafka-data/_spark_metadata/");
    auto data = s.List("raw-kafka-data/part-");
    int64_t latest = -1;
    if (meta.ok()) {
      for (const auto& o : *meta) {
        auto id = lake::SparkMetadataLog::ParseFileName(o.key.substr(o.key.rfind('/') + 1));
        if (id && *id > latest) latest = *id;
      }
    }
    uint64_t bytes = 0;
    if (data.ok())
      for (const auto& o : *data) bytes += o.size;
    std::string c = want_storage ? "storage" : "stream";
    if (!meta.ok() || !data.ok()) {
      r.Fail(c, "raw files", TerminalLine((!meta.ok() ? meta.status() : data.status()).message()),
             "check that the output is readable");
    } else if (latest < 0) {
      r.Fail(c, "raw files", std::to_string(data->size()) + " data file(s), no committed batch in raw-kafka-data/_spark_metadata",
             "nothing committed yet: start `cdcpipe run` (or `cdcpipe stream`) and make a change in PostgreSQL");
    } else {
      // The latest batch's files must all be there (the commit point promises it).
      lake::SparkMetadataLog log;
      auto text = s.Get("raw-kafka-data/_spark_metadata/" + log.FileName(latest));
      std::string problem;
      size_t listed = 0;
      if (!text.ok()) {
        problem = TerminalLine(text.status().message());
      } else {
        auto entries = lake::SparkMetadataLog::Parse(*text, log.FileName(latest));
        if (!entries.ok()) {
          problem = TerminalLine(entries.status().message());
        } else {
          std::set<std::string> present;
          for (const auto& o : *data) present.insert(o.key.substr(o.key.rfind('/') + 1));
          for (const auto& en : *entries) {
            ++listed;
            std::string base = en.path.substr(en.path.rfind('/') + 1);
            if (en.action == "add" && !present.count(base)) problem = "committed file " + base + " is missing";
          }
        }
      }
      std::string answer = std::to_string(data->size()) + " data file(s), " + HumanBytes(static_cast<double>(bytes)) +
                           ", latest committed batch " + std::to_string(latest) + " (" + std::to_string(listed) +
                           " file(s) in its log)";
      if (problem.empty()) {
        r.Pass(c, "raw files", answer);
      } else {
        r.Fail(c, "raw files", answer + ": " + problem,
               "the output was changed behind the pipeline's back; restore the files or start from a new --output");
      }
    }
  }

  if (!want_analytics) return;
  if (f.views_file.empty()) {
    r.Skip("analytics", "views", "no views file configured (views.file): no analytics are computed");
    return;
  }
  auto names = sql::ViewNamesInFile(f.views_file);
  if (!names.ok()) {
    r.Fail("analytics", "views file", TerminalLine(names.status().message()), "fix the views file (docs/VIEWS.md)");
    return;
  }
  if (names->empty()) r.Skip("analytics", "views", f.views_file + " has no views: no analytics are computed");
  for (const std::string& dir : *names) {
    std::string key = dir + "/_SUCCESS";
    auto text = s.Get(key);
    if (!text.ok()) {
      r.Fail("analytics", dir, text.status().IsNotFound() ? key + " not found" : TerminalLine(text.status().message()),
             "no result for this view yet: `cdcpipe run` computes the views live, or run `cdcpipe batch`");
      continue;
    }
    auto doc = nlohmann::json::parse(*text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
      // An empty _SUCCESS is what Spark writes: present, but no age or LSN to report.
      r.Pass("analytics", dir, key + " present (no manifest: written by another tool)");
      continue;
    }
    int64_t written = doc.value("written_at_ms", int64_t{0});
    double age = written > 0 ? static_cast<double>(WallMillis() - written) / 1000.0 : 0;
    char agebuf[32];
    std::snprintf(agebuf, sizeof agebuf, "%.1f s", age);
    std::string answer = std::to_string(doc.value("rows", int64_t{0})) + " row(s), source LSN " +
                         doc.value("source_lsn", std::string("unknown")) + ", raw batch " +
                         std::to_string(doc.value("raw_batch_id", int64_t{-1})) + ", age " + agebuf;
    if (f.max_analytics_age > 0 && age > f.max_analytics_age) {
      r.Fail("analytics", dir, answer,
             "older than --max-analytics-age: is `cdcpipe run` (or the scheduled `cdcpipe batch`) still running?");
    } else {
      r.Pass("analytics", dir, answer);
    }
  }
}

// ---- A running `cdcpipe run` -------------------------------------------------------------------------

void CheckHttp(const StatusFlags& f, Report& r) {
  auto reply = http::HttpGet(f.http, "/api/status", f.http_token);
  if (!reply.ok()) {
    r.Fail("pipeline", "http", TerminalLine(reply.status().message()),
           "the pipeline is not running: start it (`./start-and-test-pipeline.sh`, or `cdcpipe run` with this "
           "config), or point http.listen (--http) at its address");
    return;
  }
  if (reply->status == 401) {
    r.Fail("pipeline", "http", f.http + ": 401 unauthorized",
           "set $CDCPIPE_HTTP_TOKEN (or http.token_file) to the token of the running pipeline");
    return;
  }
  auto doc = nlohmann::json::parse(reply->body, nullptr, false);
  if (reply->status != 200 || doc.is_discarded() || !doc.contains("stages")) {
    r.Fail("pipeline", "http", f.http + ": HTTP " + std::to_string(reply->status) + ", not a cdcpipe status document",
           "is --http pointing at `cdcpipe run`?");
    return;
  }
  r.Pass("pipeline", "http", f.http + ": up " + std::to_string(static_cast<int64_t>(doc.value("uptime_seconds", 0.0))) +
                                 " s, last committed LSN " + doc.value("last_committed_lsn", std::string("none")) +
                                 ", last batch " + std::to_string(doc.value("last_batch_id", int64_t{-1})));
  std::set<std::string> seen;
  for (const auto& st : doc["stages"]) {
    std::string name = st.value("name", std::string("?"));
    seen.insert(name);
    if (!r.Wants(name)) continue;
    std::string state = st.value("state", std::string("?"));
    char buf[96];
    std::snprintf(buf, sizeof buf, ", %.1f events/s, lag %.1f s, %llu error(s)", st.value("events_per_second", 0.0),
                  st.value("lag_seconds", 0.0), static_cast<unsigned long long>(st.value("errors_total", uint64_t{0})));
    std::string answer = state + buf;
    std::string detail = st.value("detail", std::string());
    if (!detail.empty()) answer += " (" + TerminalLine(detail) + ")";
    if (state == "running" || state == "catching_up" || state == "starting") {
      r.Pass(name, "stage", answer);
    } else {
      std::string errs;
      for (const auto& e : doc["recent_errors"]) errs = e.get<std::string>();
      r.Fail(name, "stage", answer,
             errs.empty() ? "see the log of `cdcpipe run`" : "latest error: " + TerminalLine(errs) + "; see the log of `cdcpipe run`");
    }
  }
  const auto& snap = doc.contains("snapshot") ? doc["snapshot"] : nlohmann::json();
  if (r.Wants("capture") && snap.is_object()) {
    // The initial snapshot this process takes (issue 18): rows done of the estimate, rate, ETA, and the
    // table being read.
    auto num = [](const nlohmann::json& v) { return v.is_number() ? v.get<double>() : -1.0; };
    std::string state = snap.value("state", std::string("?"));
    double done = num(snap["rows_done"]), est = num(snap["rows_estimated"]), eta = num(snap["eta_seconds"]);
    char buf[160];
    if (est > 0) {
      std::snprintf(buf, sizeof buf, "%.1f%% (%.0f of ~%.0f rows, %.0f rows/s", 100.0 * done / est, done, est,
                    num(snap["rows_per_second"]));
    } else {
      std::snprintf(buf, sizeof buf, "(%.0f rows, %.0f rows/s", done, num(snap["rows_per_second"]));
    }
    std::string answer = state + (snap.value("resumed", false) ? " (resumed) " : " ") + buf;
    if (state == "running" && eta >= 0) {
      std::snprintf(buf, sizeof buf, ", ETA %.0f s", eta);
      answer += buf;
    }
    answer += ")";
    size_t tables = 0, tables_done = 0;
    for (const auto& t : snap["tables"]) {
      ++tables;
      std::string ts = t.value("state", std::string());
      if (ts == "done") ++tables_done;
      if (ts == "reading") {
        answer += ", reading " + t.value("table", std::string("?"));
        if (t["percent"].is_number()) {
          std::snprintf(buf, sizeof buf, " %.1f%%", t["percent"].get<double>());
          answer += buf;
        }
      }
    }
    answer += ", " + std::to_string(tables_done) + "/" + std::to_string(tables) + " tables done";
    if (state == "failed") {
      r.Fail("capture", "snapshot", answer, "see the log of `cdcpipe run`; the next start resumes the snapshot");
    } else {
      r.Pass("capture", "snapshot", answer);
    }
  }
  if (r.Wants("postgres") && seen.count("capture")) {
    r.Pass("postgres", "slot lag", HumanBytes(doc.value("slot_lag_bytes", 0.0)) + " behind the current WAL position");
  }
}

int RunStatus(const StatusFlags& f) {
  Report r(f.components);
  bool direct_pg = f.http.empty() || f.db_given;
  bool direct_store = f.http.empty() || f.output_given;
  if (!f.http.empty() && (r.Wants("capture") || r.Wants("stream"))) CheckHttp(f, r);
  if (direct_pg && (r.Wants("postgres") || r.Wants("capture"))) CheckPostgres(f, r);
  if (r.Wants("kafka") || (r.Wants("stream") && !f.brokers.empty())) CheckKafka(f, r);
  // The stream's own output (committed batches) counts as a stream check unless Kafka already
  // answered for it and no --output was named.
  bool stream_store = r.Wants("stream") && (f.output_given || f.brokers.empty());
  if (direct_store && (r.Wants("storage") || r.Wants("analytics") || stream_store)) CheckStorage(f, r);

  if (f.json) {
    nlohmann::json doc;
    doc["ok"] = r.AllOk();
    doc["checks"] = nlohmann::json::array();
    for (const auto& c : r.checks()) {
      nlohmann::json j = {{"component", c.component}, {"check", c.name}, {"ok", c.ok}, {"answer", c.answer}};
      if (c.skipped) j["skipped"] = true;
      if (!c.ok) j["hint"] = c.hint;
      doc["checks"].push_back(std::move(j));
    }
    std::printf("%s\n", doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  } else {
    // Names in the answers come from the database, the views file and the running pipeline: nothing
    // in them may act on the terminal (TerminalText). --json escapes them as JSON instead.
    std::string last;
    for (const auto& c : r.checks()) {
      std::printf("%-10s %-16s %-4s %s\n", c.component == last ? "" : TerminalText(c.component).c_str(),
                  TerminalText(c.name).c_str(), c.skipped ? "--" : (c.ok ? "ok" : "FAIL"),
                  TerminalText(c.answer).c_str());
      if (!c.ok) std::printf("%-10s %-16s      hint: %s\n", "", "", TerminalText(c.hint).c_str());
      last = c.component;
    }
    size_t failed = 0;
    for (const auto& c : r.checks()) failed += c.ok ? 0 : 1;
    std::printf("%s\n", failed == 0 ? "all checks passed"
                                    : (std::to_string(failed) + " check(s) failed").c_str());
  }
  std::fflush(stdout);
  return r.AllOk() ? kExitOk : kExitCheckFailed;
}

}  // namespace

void RegisterStatus(CLI::App& app) {
  auto* sub = app.add_subcommand("status", "Check every part of the pipeline; an answer and a hint for each check");
  struct Opts {
    std::vector<std::string> components;
    bool json = false;
    double max_analytics_age = 0;
  };
  auto o = std::make_shared<Opts>();
  auto flags = std::make_shared<config::Flags>(
      sub, std::initializer_list<config::Group>{config::Group::kDatabase, config::Group::kCapture,
                                                config::Group::kKafka, config::Group::kConsumer, config::Group::kOutput,
                                                config::Group::kHttp, config::Group::kViews});
  sub->add_option("--component", o->components,
                  "Only these checks (repeatable): postgres, capture, kafka, stream, storage, analytics; or the seed's "
                  "names debezium (capture), spark (stream, analytics), minio (storage)");
  sub->add_flag("--json", o->json, "Print the checks as one JSON document");
  sub->add_option("--max-analytics-age", o->max_analytics_age, "Fail when the analytics are older than this many seconds (0 = no limit)")
      ->default_val(0);
  SetCommandMain(sub, [o, flags]() -> int {
    auto cfg = flags->Resolve();
    if (!cfg.ok()) return ConfigError("status", cfg.status());
    auto selected = SelectComponents(o->components);
    if (!selected.ok()) return ConfigError("status", selected.status());
    StatusFlags f;
    f.components = *selected;
    f.json = o->json;
    f.max_analytics_age = o->max_analytics_age;
    f.views_file = cfg->views.file;
    f.db = cfg->Conninfo();
    f.brokers = cfg->BrokerList();
    f.output = cfg->output.root;
    f.store = StoreOptionsFrom(*cfg);
    // A running pipeline is asked only at an address the config (or a flag) names: with every default,
    // status checks the components directly, as a Kafka deployment without `cdcpipe run` needs.
    if (cfg->http.listen != "off" && cfg->Origin("http.listen") != "default") f.http = cfg->http.listen;
    f.http_token = cfg->HttpToken();
    f.slot = cfg->source.slot;
    f.publication = cfg->source.publication;
    f.tables = cfg->source.tables;
    f.group = cfg->kafka.group;
    f.topic_prefix = cfg->kafka.topic_prefix;
    f.db_given = cfg->Origin("source.url") != "default";
    f.output_given = cfg->Origin("output.root") != "default";
    return RunStatus(f);
  });
}

}  // namespace cdc::cli
