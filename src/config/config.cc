#include "config/config.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <variant>

#include "base/clock.h"
#include "base/closest_name.h"
#include "base/redact.h"
#include "base/terminal_text.h"

namespace cdc::config {

namespace {

using Millis = std::chrono::milliseconds;
using StringMap = std::map<std::string, std::string>;
using FieldRef =
    std::variant<std::string*, bool*, Millis*, uint64_t*, std::vector<std::string>*, StringMap*>;

// One configuration key: its YAML name, flag, environment variable, default and documentation. The
// only place each of them is written.
struct Key {
  std::string_view name;     // "section.key"
  Group group;               // the flag group that declares its flag
  std::string_view flag;     // "--slot", "" = file only
  std::string_view env;      // "CDCPIPE_DB", "" = none
  std::string_view def;      // default in flag syntax (lists comma-separated)
  std::string_view allowed;  // "a|b|c" for a choice, "" = any value of the type
  std::string_view help;
  FieldRef (*field)(Config&);
  bool positive = false;  // numbers and durations must be > 0
};

#define CDC_FIELD(member) [](Config& c) -> FieldRef { return &c.member; }

// Documentation order (docs/CONFIG.md follows it).
const Key kKeys[] = {
    {"source.url", Group::kDatabase, "--db", "CDCPIPE_DB", "", "",
     "PostgreSQL connection (URI or key=value); empty: the PG* environment variables. Password: PGPASSWORD or source.password_file",
     CDC_FIELD(source.url)},
    {"source.password_file", Group::kDatabase, "--password-file", "", "", "",
     "File holding the database password (else PGPASSWORD or ~/.pgpass)", CDC_FIELD(source.password_file)},
    {"source.tables", Group::kCapture, "--tables", "", "", "",
     "Captured tables, schema.table or table (public); empty: the publication's tables", CDC_FIELD(source.tables)},
    {"source.slot", Group::kCapture, "--slot", "", "cdcpipe", "", "Replication slot name", CDC_FIELD(source.slot)},
    {"source.publication", Group::kCapture, "--publication", "", "cdcpipe", "", "Publication name",
     CDC_FIELD(source.publication)},
    {"source.create_publication", Group::kCapture, "--create-publication", "", "true", "",
     "Create the publication FOR the tables when it is missing (false: a missing one is an error)",
     CDC_FIELD(source.create_publication)},
    {"source.replica_identity_full", Group::kCapture, "--replica-identity-full", "", "false", "",
     "ALTER TABLE ... REPLICA IDENTITY FULL on the tables (before images of every column)",
     CDC_FIELD(source.replica_identity_full)},
    {"source.snapshot", Group::kCapture, "--snapshot", "", "initial", "initial|never|initial_only",
     "Initial snapshot mode", CDC_FIELD(source.snapshot)},
    {"source.heartbeat", Group::kCapture, "--heartbeat", "", "10s", "",
     "Heartbeat interval (0 = off), e.g. 10s", CDC_FIELD(source.heartbeat)},
    {"source.replication_timeout", Group::kCapture, "--replication-timeout", "", "30s", "",
     "Replace a replication connection on which PostgreSQL sent nothing for this long (0 = never)",
     CDC_FIELD(source.replication_timeout)},
    {"source.state", Group::kCapture, "--state", "", "", "",
     "Where capture keeps its state (snapshot marker): directory or s3://; empty: <output.root>/_checkpoints/capture",
     CDC_FIELD(source.state)},
    {"source.retained_wal_warn_mb", Group::kCapture, "--retained-wal-warn-mb", "", "1024", "",
     "Warn when the slot retains more WAL than this (MiB)", CDC_FIELD(source.retained_wal_warn_mb)},
    {"source.snapshot_chunk_rows", Group::kCapture, "--snapshot-chunk-rows", "", "10000", "",
     "Rows per statement of the initial snapshot and per chunk of incremental snapshots",
     CDC_FIELD(source.snapshot_chunk_rows), true},
    {"source.snapshot_parallelism", Group::kCapture, "--snapshot-parallelism", "", "0", "",
     "Connections reading the initial snapshot at once (tables and key ranges of large tables); 0: the number of cores",
     CDC_FIELD(source.snapshot_parallelism)},
    {"events.schemas", Group::kEvents, "--schemas", "", "true", "",
     "Wrap key and value in {schema, payload} (Kafka Connect JsonConverter)", CDC_FIELD(events.schemas)},
    // Debezium's switches: a snake_case key in `events` (as decimal_handling), a flag under cdcpipe's name where
    // one existed and always under Debezium's (--decimal.handling.mode ...). docs/DEBEZIUM.md, "Switches".
    {"events.decimal_handling", Group::kEvents, "--decimal,--decimal.handling.mode", "", "precise",
     "precise|string|double", "numeric values as Decimal bytes, strings or doubles (decimal.handling.mode)",
     CDC_FIELD(events.decimal_handling)},
    {"events.time_precision", Group::kEvents, "--time.precision.mode", "", "adaptive",
     "adaptive|adaptive_time_microseconds|connect",
     "date/time/timestamp as Debezium's adaptive types, with every time in microseconds, or Kafka Connect's "
     "(time.precision.mode)",
     CDC_FIELD(events.time_precision)},
    {"events.binary_handling", Group::kEvents, "--binary.handling.mode", "", "bytes",
     "bytes|base64|base64-url-encoded|hex", "bytea values as bytes or as strings in that encoding (binary.handling.mode)",
     CDC_FIELD(events.binary_handling)},
    {"events.interval_handling", Group::kEvents, "--interval.handling.mode", "", "numeric", "numeric|string",
     "interval values as approximate microseconds (MicroDuration) or ISO 8601 strings (interval.handling.mode)",
     CDC_FIELD(events.interval_handling)},
    {"events.column_include_list", Group::kEvents, "--column.include.list", "", "", "",
     "Only these columns: comma-separated regular expressions over schema.table.column, whole name, any case "
     "(column.include.list)",
     CDC_FIELD(events.column_include_list)},
    {"events.column_exclude_list", Group::kEvents, "--column.exclude.list", "", "", "",
     "All columns but these: comma-separated regular expressions over schema.table.column (column.exclude.list)",
     CDC_FIELD(events.column_exclude_list)},
    {"events.message_key_columns", Group::kEvents, "--message.key.columns", "", "", "",
     "Key columns per table instead of the primary key: schema.table:col1,col2;schema.table2:col "
     "(message.key.columns)",
     CDC_FIELD(events.message_key_columns)},
    {"events.skipped_operations", Group::kEvents, "--skipped.operations", "", "none", "",
     "none, or the ops not written: any of c,u,d,t (skipped.operations; Debezium's default is t, cdcpipe's none)",
     CDC_FIELD(events.skipped_operations)},
    {"events.tombstones", Group::kEvents, "--tombstones,--tombstones.on.delete", "", "true", "",
     "Follow each delete with a tombstone (tombstones.on.delete)", CDC_FIELD(events.tombstones)},
    {"events.transaction_metadata", Group::kEvents, "--provide.transaction.metadata", "", "false", "",
     "Fill each change's transaction block {id, total_order, data_collection_order} (provide.transaction.metadata)",
     CDC_FIELD(events.transaction_metadata)},
    {"kafka.brokers", Group::kKafka, "--brokers", "CDCPIPE_BROKERS", "", "",
     "Kafka bootstrap servers; empty: embedded, no Kafka", CDC_FIELD(kafka.brokers)},
    {"kafka.topic_prefix", Group::kKafka, "--topic-prefix", "", "dbserver1", "",
     "Topics are <prefix>.<schema>.<table>", CDC_FIELD(kafka.topic_prefix)},
    {"kafka.properties", Group::kKafka, "-X", "", "", "",
     "librdkafka properties key=value, passed as they are (repeatable)", CDC_FIELD(kafka.properties)},
    {"kafka.group", Group::kConsumer, "--group", "", "cdcpipe-stream", "", "Consumer group of the stream stage",
     CDC_FIELD(kafka.group)},
    {"kafka.topics", Group::kConsumer, "--topics", "", "", "",
     "Topics the stream stage reads (names or ^regex); empty: ^<topic_prefix>\\..*", CDC_FIELD(kafka.topics)},
    {"output.root", Group::kOutput, "--output", "", "./data/processed-data", "",
     "Output root: a directory, file:///dir or s3://bucket[/prefix]", CDC_FIELD(output.root)},
    {"output.s3_endpoint", Group::kOutput, "--s3-endpoint", "CDCPIPE_S3_ENDPOINT", "", "",
     "S3 endpoint for s3:// outputs; empty: AWS", CDC_FIELD(output.s3_endpoint)},
    {"output.s3_ca_file", Group::kOutput, "--s3-ca-file", "CDCPIPE_S3_CA_FILE", "", "",
     "PEM file of the CA certificates trusted for an https S3 endpoint; empty: the system's", CDC_FIELD(output.s3_ca_file)},
    {"output.create_bucket", Group::kOutput, "--create-bucket", "", "false", "",
     "Create the S3 bucket when it does not exist", CDC_FIELD(output.create_bucket)},
    {"output.s3_timeout", Group::kOutput, "--s3-timeout", "", "30s", "",
     "Abort and retry an S3 request that moves less than 1 byte/s for this long (a hung connection; whole seconds)",
     CDC_FIELD(output.s3_timeout), true},
    {"output.checkpoint", Group::kWriter, "--checkpoint", "", "", "",
     "Checkpoint location; empty: <output.root>/_checkpoints/stream", CDC_FIELD(output.checkpoint)},
    {"output.compression", Group::kWriter, "--compression", "", "snappy", "snappy|zstd|none",
     "Parquet compression", CDC_FIELD(output.compression)},
    {"output.trigger", Group::kWriter, "--trigger", "", "1s", "",
     "Cut a micro-batch this long after its first event", CDC_FIELD(output.trigger), true},
    {"output.max_batch_rows", Group::kWriter, "--max-batch-rows", "", "10000", "",
     "... or when it holds this many events", CDC_FIELD(output.max_batch_rows), true},
    {"output.withdrawn_file_grace", Group::kWriter, "--withdrawn-file-grace", "", "10m", "",
     "Delete a withdrawn data file this long after the compaction that stops naming it (readers that planned "
     "an older log may still read it); 0: at once",
     CDC_FIELD(output.withdrawn_file_grace)},
    {"http.listen", Group::kHttp, "--http", "", "127.0.0.1:8080", "",
     "Dashboard, /api/status, /metrics and /healthz address (off = none); token from $CDCPIPE_HTTP_TOKEN",
     CDC_FIELD(http.listen)},
    {"http.token_file", Group::kHttp, "--http-token-file", "", "", "",
     "File holding the token every HTTP request must carry (else $CDCPIPE_HTTP_TOKEN)", CDC_FIELD(http.token_file)},
    {"views.file", Group::kViews, "--views", "", "", "",
     "File of CREATE VIEW statements: the analytics `run` and `batch` maintain (docs/VIEWS.md); empty: none",
     CDC_FIELD(views.file)},
};

#undef CDC_FIELD

const Key* FindKey(std::string_view name) {
  for (const Key& k : kKeys)
    if (k.name == name) return &k;
  return nullptr;
}

std::string_view SectionOf(std::string_view key) { return key.substr(0, key.find('.')); }
std::string_view LeafOf(std::string_view key) { return key.substr(key.find('.') + 1); }

std::vector<std::string> Sections() {
  std::vector<std::string> out;
  for (const Key& k : kKeys) {
    std::string s(SectionOf(k.name));
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  }
  return out;
}

// " (did you mean 'x'?)" for the closest candidate within a third of the word's length, else "".
std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best = ClosestName(word, candidates);
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

std::string Join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::vector<std::string> SplitComma(std::string_view s) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos <= s.size()) {
    size_t comma = s.find(',', pos);
    if (comma == std::string_view::npos) comma = s.size();
    std::string part(s.substr(pos, comma - pos));
    while (!part.empty() && part.front() == ' ') part.erase(part.begin());
    while (!part.empty() && part.back() == ' ') part.pop_back();
    if (!part.empty()) out.push_back(std::move(part));
    pos = comma + 1;
  }
  return out;
}

// The choices of a key ("initial|never" -> {initial, never}); empty when any value of its type goes.
std::vector<std::string_view> Choices(const Key& k) {
  std::vector<std::string_view> out;
  std::string_view a = k.allowed;
  for (size_t pos = 0; !a.empty() && pos <= a.size();) {
    size_t bar = std::min(a.find('|', pos), a.size());
    out.push_back(a.substr(pos, bar - pos));
    pos = bar + 1;
  }
  return out;
}

// What a key accepts, for error messages.
std::string Expected(const Key& k) {
  if (!k.allowed.empty()) {
    std::string out;
    for (std::string_view c : Choices(k)) out += (out.empty() ? "one of " : ", ") + std::string(c);
    return out;
  }
  Config scratch;
  FieldRef f = k.field(scratch);
  if (std::holds_alternative<bool*>(f)) return "true or false";
  if (std::holds_alternative<Millis*>(f))
    return k.positive ? "a positive duration such as 250ms, 1s, 2m" : "a duration such as 250ms, 10s, 2m (0 = off)";
  if (std::holds_alternative<uint64_t*>(f)) return k.positive ? "a positive whole number" : "a whole number";
  if (std::holds_alternative<std::vector<std::string>*>(f)) return "a list of strings";
  if (std::holds_alternative<StringMap*>(f)) return "a map of key: value";
  return "a string";
}

Result<bool> ParseBool(std::string_view v) {
  if (v == "true" || v == "yes" || v == "on" || v == "1") return true;
  if (v == "false" || v == "no" || v == "off" || v == "0") return false;
  return Status::InvalidArgument("");
}

// Sets one scalar key from its text form. `where` prefixes the error ("cdcpipe.yaml:3:9", "--slot").
// Lists take a comma-separated text; maps take "key=value" and add it.
Status SetFromText(const Key& k, Config& c, std::string_view text, const std::string& where) {
  auto bad = [&](std::string_view why = {}) {
    std::string msg = where + ": " + std::string(k.name) + ": '" + std::string(text) + "' is not " + Expected(k);
    if (!why.empty()) msg += " (" + std::string(why) + ")";
    return Status::InvalidArgument(msg);
  };
  FieldRef f = k.field(c);
  if (auto* s = std::get_if<std::string*>(&f)) {
    std::vector<std::string_view> choices = Choices(k);
    if (!choices.empty() && std::find(choices.begin(), choices.end(), text) == choices.end()) return bad();
    **s = std::string(text);
  } else if (auto* b = std::get_if<bool*>(&f)) {
    auto v = ParseBool(text);
    if (!v.ok()) return bad();
    **b = *v;
  } else if (auto* d = std::get_if<Millis*>(&f)) {
    auto v = text == "0" ? Result<Millis>(Millis(0)) : ParseDuration(text);
    if (!v.ok()) return bad();
    if (k.positive && v->count() <= 0) return bad("it must be positive");
    **d = *v;
  } else if (auto* n = std::get_if<uint64_t*>(&f)) {
    if (text.empty() || text.size() > 19 || !std::all_of(text.begin(), text.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
      return bad();
    uint64_t v = std::stoull(std::string(text));
    if (k.positive && v == 0) return bad("it must be at least 1");
    **n = v;
  } else if (auto* l = std::get_if<std::vector<std::string>*>(&f)) {
    **l = SplitComma(text);
  } else if (auto* m = std::get_if<StringMap*>(&f)) {
    if (text.empty()) return Status::OK();
    size_t eq = text.find('=');
    if (eq == std::string_view::npos || eq == 0) return bad("expected key=value");
    (**m)[std::string(text.substr(0, eq))] = std::string(text.substr(eq + 1));
  }
  return Status::OK();
}

bool HasPassword(std::string_view conninfo) { return RedactConninfo(conninfo) != conninfo; }

// librdkafka properties that hold a secret (sasl.password, ssl.key.password, sasl.oauthbearer.client.secret,
// sasl.jaas.config ...): shown as ******** by `cdcpipe config`.
bool IsSecretProperty(std::string_view key) {
  for (std::string_view word : {"password", "secret", "jaas", "token", "ssl.key.pem", "ssl_key", "credential"}) {
    if (key.find(word) != std::string_view::npos) return true;
  }
  return false;
}

std::string ReadSecretFile(const std::string& path, std::string_view key, const std::string& origin, Status* st) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *st = Status::InvalidArgument(origin + ": " + std::string(key) + ": cannot read '" + path +
                                  "': " + std::strerror(errno));
    return "";
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

// ---- Loader: the file walk, shared by LoadFile and Flags::Resolve --------------------------------

class Loader {
 public:
  static Config Defaults() {
    Config c;
    for (const Key& k : kKeys) {
      FieldRef f = k.field(c);
      if (auto* m = std::get_if<StringMap*>(&f)) (*m)->clear();
      else if (auto* l = std::get_if<std::vector<std::string>*>(&f)) (*l)->clear();
      Status st = SetFromText(k, c, k.def, "default");
      (void)st;  // the table's defaults are valid (config_test checks every one)
      c.origins_[std::string(k.name)] = "default";
    }
    return c;
  }

  static Status ReadFile(const std::string& path, Config* c) {
    YAML::Node root;
    try {
      std::ifstream in(path);
      if (!in) return Status::InvalidArgument(path + ": cannot read the config file: " + std::strerror(errno));
      root = YAML::Load(in);
    } catch (const YAML::ParserException& e) {
      return Status::InvalidArgument(At(path, e.mark) + ": not valid YAML: " + e.msg);
    } catch (const YAML::Exception& e) {
      return Status::InvalidArgument(path + ": cannot read the config file: " + e.what());
    }
    c->file = path;
    if (root.IsNull()) return Status::OK();  // an empty file: every default
    if (!root.IsMap()) {
      return Status::InvalidArgument(At(path, root.Mark()) +
                                     ": expected a map of sections (" + Join(Sections(), ", ") + ")");
    }
    std::set<std::string> seen_sections;
    for (auto it = root.begin(); it != root.end(); ++it) {
      std::string section = it->first.Scalar();
      if (!seen_sections.insert(section).second) {
        return Status::InvalidArgument(At(path, it->first.Mark()) + ": section '" + section + "' appears twice");
      }
      std::vector<std::string> sections = Sections();
      if (std::find(sections.begin(), sections.end(), section) == sections.end()) {
        return Status::InvalidArgument(At(path, it->first.Mark()) + ": unknown section '" + section + "'" +
                                       DidYouMean(section, sections) + "; allowed: " + Join(sections, ", "));
      }
      // Copies: an iterator's pair is a temporary (binding a reference to its member dangles).
      const YAML::Node body = it->second;
      if (body.IsNull()) continue;  // "kafka:" with nothing under it
      if (!body.IsMap()) {
        return Status::InvalidArgument(At(path, body.Mark()) + ": section '" + section + "' must be a map of keys");
      }
      std::set<std::string> seen;
      for (auto kv = body.begin(); kv != body.end(); ++kv) {
        std::string leaf = kv->first.Scalar();
        std::string name = section + "." + leaf;
        if (!seen.insert(leaf).second) {
          return Status::InvalidArgument(At(path, kv->first.Mark()) + ": key '" + name + "' appears twice");
        }
        const Key* k = FindKey(name);
        if (k == nullptr) {
          std::vector<std::string> leaves, all;
          for (const Key& key : kKeys) {
            if (SectionOf(key.name) == section) leaves.emplace_back(LeafOf(key.name));
            all.emplace_back(key.name);
          }
          // The right key in the wrong section first ("output.slot" -> source.slot), then a near name.
          std::string hint;
          for (const Key& key : kKeys)
            if (LeafOf(key.name) == leaf) hint = " (did you mean '" + std::string(key.name) + "'?)";
          if (hint.empty()) hint = DidYouMean(leaf, leaves);
          return Status::InvalidArgument(At(path, kv->first.Mark()) + ": unknown key '" + leaf + "' in section '" +
                                         section + "'" + hint + "; allowed: " + Join(leaves, ", "));
        }
        CDC_RETURN_IF_ERROR(SetFromNode(*k, kv->first, kv->second, path, c));
      }
    }
    return Status::OK();
  }

  static Status ApplyEnvironment(Config* c) {
    for (const Key& k : kKeys) {
      if (k.env.empty()) continue;
      const char* v = std::getenv(std::string(k.env).c_str());
      if (v == nullptr || *v == '\0') continue;
      std::string origin = "$" + std::string(k.env);
      FieldRef f = k.field(*c);
      if (auto* l = std::get_if<std::vector<std::string>*>(&f)) (*l)->clear();
      CDC_RETURN_IF_ERROR(SetFromText(k, *c, v, origin));
      c->origins_[std::string(k.name)] = origin;
    }
    return Status::OK();
  }

  static Status ApplyFlag(const Key& k, const std::vector<std::string>& values, Config* c) {
    std::string origin(k.flag.substr(0, k.flag.find(',')));  // "--decimal,--decimal.handling.mode": its first name
    FieldRef f = k.field(*c);
    if (auto* l = std::get_if<std::vector<std::string>*>(&f)) {
      (*l)->clear();
      for (const auto& v : values)
        for (auto& part : SplitComma(v)) (*l)->push_back(std::move(part));
    } else if (std::holds_alternative<StringMap*>(f)) {
      for (const auto& v : values) CDC_RETURN_IF_ERROR(SetFromText(k, *c, v, origin));
    } else if (std::holds_alternative<bool*>(f) && (values.empty() || values.back().empty())) {
      CDC_RETURN_IF_ERROR(SetFromText(k, *c, "true", origin));  // a bare --flag
    } else {
      CDC_RETURN_IF_ERROR(SetFromText(k, *c, values.empty() ? "" : values.back(), origin));
    }
    c->origins_[std::string(k.name)] = origin;
    return Status::OK();
  }

  // Checks that need several keys, and the secrets.
  static Status Finish(Config* c) {
    const std::string& url_origin = c->origins_["source.url"];
    if (!c->file.empty() && url_origin.rfind(c->file + ":", 0) == 0 && HasPassword(c->source.url)) {
      return Status::InvalidArgument(url_origin +
                                     ": source.url: a password does not belong in the config file; remove it and set "
                                     "PGPASSWORD or source.password_file");
    }
    c->http_token_.clear();
    if (const char* t = std::getenv("CDCPIPE_HTTP_TOKEN"); t != nullptr && *t != '\0') {
      c->http_token_ = t;
      c->http_token_origin_ = "$CDCPIPE_HTTP_TOKEN";
    } else if (!c->http.token_file.empty()) {
      Status st;
      c->http_token_ = ReadSecretFile(c->http.token_file, "http.token_file", c->Origin("http.token_file"), &st);
      CDC_RETURN_IF_ERROR(st);
      c->http_token_origin_ = c->http.token_file;
    }
    return Status::OK();
  }

  static std::map<std::string, std::string, std::less<>>& Origins(Config* c) { return c->origins_; }

 private:
  static std::string At(const std::string& path, const YAML::Mark& m) {
    if (m.is_null()) return path;
    return path + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
  }

  static Status SetFromNode(const Key& k, const YAML::Node& key, const YAML::Node& node, const std::string& path,
                            Config* c) {
    // A key without a value has no position of its own (yaml-cpp puts it on the next line): name the key.
    std::string where = At(path, node.IsNull() ? key.Mark() : node.Mark());
    auto wrong = [&](std::string_view got) {
      return Status::InvalidArgument(where + ": " + std::string(k.name) + ": expected " + Expected(k) + ", got " +
                                     std::string(got));
    };
    FieldRef f = k.field(*c);
    if (node.IsNull()) return wrong("nothing (write a value after the colon, or remove the key)");
    if (auto* l = std::get_if<std::vector<std::string>*>(&f)) {
      (*l)->clear();
      if (node.IsScalar()) {
        **l = SplitComma(node.Scalar());
      } else if (node.IsSequence()) {
        for (const auto& item : node) {
          if (!item.IsScalar()) {
            return Status::InvalidArgument(At(path, item.Mark()) + ": " + std::string(k.name) +
                                           ": each item must be a string");
          }
          (*l)->push_back(item.Scalar());
        }
      } else {
        return wrong("a map");
      }
    } else if (auto* m = std::get_if<StringMap*>(&f)) {
      if (!node.IsMap()) return wrong(node.IsSequence() ? "a list" : "'" + node.Scalar() + "'");
      (*m)->clear();
      for (auto it = node.begin(); it != node.end(); ++it) {
        if (!it->second.IsScalar()) {
          return Status::InvalidArgument(At(path, it->second.Mark()) + ": " + std::string(k.name) + "." +
                                         it->first.Scalar() + ": expected a scalar value");
        }
        (**m)[it->first.Scalar()] = it->second.Scalar();
      }
    } else {
      if (!node.IsScalar()) return wrong(node.IsSequence() ? "a list" : "a map");
      CDC_RETURN_IF_ERROR(SetFromText(k, *c, node.Scalar(), where));
    }
    Origins(c)[std::string(k.name)] = where;
    return Status::OK();
  }
};

// ---- Config -----------------------------------------------------------------------------------------

Config Config::Defaults() { return Loader::Defaults(); }

std::string Config::Origin(std::string_view key) const {
  auto it = origins_.find(key);
  return it == origins_.end() ? "" : it->second;
}

std::string Config::BrokerList() const { return Join(kafka.brokers, ","); }

std::string Config::TopicPattern() const {
  std::string escaped;
  for (char ch : kafka.topic_prefix) {
    if (std::strchr(".^$|()[]{}*+?\\", ch) != nullptr) escaped += '\\';
    escaped += ch;
  }
  return "^" + escaped + "\\..*";
}

std::string Config::CaptureStateUri() const {
  if (!source.state.empty()) return source.state;
  std::string root = output.root;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return root + "/_checkpoints/capture";
}

Status Config::ApplySecrets() {
  if (source.password_file.empty()) return Status::OK();
  const char* existing = std::getenv("PGPASSWORD");
  if (existing != nullptr && *existing != '\0') return Status::OK();
  Status st;
  std::string pw = ReadSecretFile(source.password_file, "source.password_file", Origin("source.password_file"), &st);
  CDC_RETURN_IF_ERROR(st);
  ::setenv("PGPASSWORD", pw.c_str(), 1);
  return Status::OK();
}

std::string Config::Describe() const {
  auto scalar = [](const std::string& s) {
    YAML::Emitter e;
    e << YAML::DoubleQuoted << s;
    return std::string(e.c_str());
  };
  std::ostringstream out;
  out << "# cdcpipe configuration, resolved from " << (file.empty() ? "defaults (no config file)" : file)
      << ", the environment and flags.\n# Each value is followed by where it came from; secrets are not shown.\n";
  std::string section;
  Config& self = const_cast<Config&>(*this);  // the key table's accessors are not const
  for (const Key& k : kKeys) {
    if (SectionOf(k.name) != section) {
      section = SectionOf(k.name);
      out << section << ":\n";
    }
    std::string value;
    FieldRef f = k.field(self);
    if (auto* s = std::get_if<std::string*>(&f)) {
      value = scalar(k.name == "source.url" ? RedactConninfo(**s) : **s);
    } else if (auto* b = std::get_if<bool*>(&f)) {
      value = **b ? "true" : "false";
    } else if (auto* d = std::get_if<Millis*>(&f)) {
      int64_t ms = (*d)->count();
      value = ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
    } else if (auto* n = std::get_if<uint64_t*>(&f)) {
      value = std::to_string(**n);
    } else if (auto* l = std::get_if<std::vector<std::string>*>(&f)) {
      value = "[";
      for (size_t i = 0; i < (*l)->size(); ++i) value += (i ? ", " : "") + scalar((**l)[i]);
      value += "]";
    } else if (auto* m = std::get_if<StringMap*>(&f)) {
      value = "{";
      bool first = true;
      for (const auto& [key, v] : **m) {
        value += (first ? "" : ", ") + scalar(key) + ": " + scalar(IsSecretProperty(key) ? "********" : v);
        first = false;
      }
      value += "}";
    }
    out << "  " << LeafOf(k.name) << ": " << value << "  # " << Origin(k.name) << "\n";
  }
  out << "# http token: "
      << (http_token_.empty() ? "none (requests need no token)" : "set from " + http_token_origin_ + " (not shown)")
      << "\n";
  out << "# database password: ";
  if (HasPassword(source.url)) out << "in source.url from " << Origin("source.url") << " (not shown)\n";
  else if (!source.password_file.empty()) out << "from " << source.password_file << " (not shown)\n";
  else if (const char* p = std::getenv("PGPASSWORD"); p != nullptr && *p != '\0') out << "from $PGPASSWORD (not shown)\n";
  else out << "none given (libpq may use ~/.pgpass)\n";
  return out.str();
}

// A key or value quoted in an error may hold control characters (a key with a newline, a value with
// an ESC): the message stays one line and shows them as escapes (base/terminal_text.h). A URL quoted
// from a mistyped line keeps its password out.
namespace {
Status OneLine(Status st) {
  return st.ok() ? st : Status(st.code(), TerminalText(RedactUriPasswords(st.message())));
}
}  // namespace

Result<Config> LoadFile(const std::string& path) {
  Config c = Loader::Defaults();
  CDC_RETURN_IF_ERROR(OneLine(Loader::ReadFile(path, &c)));
  CDC_RETURN_IF_ERROR(OneLine(Loader::Finish(&c)));
  return c;
}

std::vector<std::string> AllKeys() {
  std::vector<std::string> out;
  for (const Key& k : kKeys) out.emplace_back(k.name);
  return out;
}

// ---- Flags ------------------------------------------------------------------------------------------

struct Flags::Impl {
  std::string config_path;
  CLI::Option* config_opt = nullptr;
  struct Registered {
    const Key* key;
    CLI::Option* opt;
    std::vector<std::string> values;
  };
  std::vector<std::unique_ptr<Registered>> flags;
};

Flags::Flags(CLI::App* sub, std::initializer_list<Group> groups) : impl_(std::make_unique<Impl>()) {
  impl_->config_opt = sub->add_option("--config", impl_->config_path,
                                      "Config file (default $CDCPIPE_CONFIG, else ./cdcpipe.yaml when present)");
  for (const Key& k : kKeys) {
    if (k.flag.empty() || std::find(groups.begin(), groups.end(), k.group) == groups.end()) continue;
    auto r = std::make_unique<Impl::Registered>();
    r->key = &k;
    std::string help(k.help);
    help += " [" + std::string(k.name) + (k.def.empty() ? "" : ", default " + std::string(k.def)) + "]";
    Config scratch;
    FieldRef f = k.field(scratch);
    CLI::Option* opt = sub->add_option(std::string(k.flag), r->values, help);
    if (std::holds_alternative<bool*>(f)) {
      opt->expected(0, 1)->take_last()->type_name("[BOOL]");  // --flag, --flag=false, --flag false
    } else if (std::holds_alternative<std::vector<std::string>*>(f)) {
      opt->type_name("LIST");  // comma-separated, repeatable
    } else if (std::holds_alternative<StringMap*>(f)) {
      opt->type_name("KEY=VALUE");
    } else {
      opt->take_last()->type_name(!k.allowed.empty()                       ? "{" + std::string(k.allowed) + "}"
                                  : std::holds_alternative<Millis*>(f)   ? "DURATION"
                                  : std::holds_alternative<uint64_t*>(f) ? "N"
                                                                         : "TEXT");
    }
    r->opt = opt;
    impl_->flags.push_back(std::move(r));
  }
}

Flags::~Flags() = default;

bool Flags::Given(std::string_view key) const {
  for (const auto& r : impl_->flags)
    if (r->key->name == key) return r->opt->count() > 0;
  return false;
}

Result<Config> Flags::Resolve() const {
  Config c = Loader::Defaults();
  std::string path = impl_->config_path;
  std::string path_origin = "--config";
  if (path.empty()) {
    if (const char* env = std::getenv("CDCPIPE_CONFIG"); env != nullptr && *env != '\0') {
      path = env;
      path_origin = "$CDCPIPE_CONFIG";
    }
  }
  if (!path.empty()) {
    if (::access(path.c_str(), F_OK) != 0) {
      return Status::InvalidArgument(path_origin + " " + path + ": no such config file");
    }
    CDC_RETURN_IF_ERROR(OneLine(Loader::ReadFile(path, &c)));
  } else if (::access("cdcpipe.yaml", F_OK) == 0) {
    CDC_RETURN_IF_ERROR(OneLine(Loader::ReadFile("cdcpipe.yaml", &c)));
  }
  CDC_RETURN_IF_ERROR(OneLine(Loader::ApplyEnvironment(&c)));
  for (const auto& r : impl_->flags) {
    if (r->opt->count() == 0) continue;
    CDC_RETURN_IF_ERROR(OneLine(Loader::ApplyFlag(*r->key, r->values, &c)));
  }
  CDC_RETURN_IF_ERROR(OneLine(Loader::Finish(&c)));
  CDC_RETURN_IF_ERROR(c.ApplySecrets());
  return c;
}

}  // namespace cdc::config
