// Config: the one configuration of every subcommand, from a YAML file (cdcpipe.yaml), the
// environment and flags. docs/CONFIG.md lists every key; this header is the contract.
//
// Where a value comes from, lowest precedence first:
//   1. its default, written once, in the key table (config.cc, kKeys);
//   2. the config file: --config FILE, else $CDCPIPE_CONFIG, else ./cdcpipe.yaml when it exists;
//   3. the environment variable named for the key (CDCPIPE_DB, CDCPIPE_S3_ENDPOINT);
//   4. the key's flag on the command line.
// Every value remembers its origin ("default", "cdcpipe.yaml:4:11", "$CDCPIPE_DB", "--slot"), which
// `cdcpipe config` prints and errors quote.
//
// Secrets never come from the file or a flag: the database password from PGPASSWORD (or libpq's
// .pgpass) or source.password_file, S3 keys from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, the HTTP
// token from $CDCPIPE_HTTP_TOKEN or http.token_file. A source.url with a password in the file is an
// error. Nothing here logs a secret; Describe() redacts them.
//
// Errors: one InvalidArgument per problem, naming the file, line and column, the key and what is
// allowed ("cdcpipe.yaml:3:3: unknown key 'slots' in section 'source' (did you mean 'slot'?)").
//
// Thread-safety: a Config is a value; Flags is used by the one thread that parses the command line.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace CLI {
class App;
}

namespace cdc::config {

// The settings. Field defaults live in the key table (config.cc), not here: use Config::Defaults().
struct Config {
  struct Source {
    std::string url;            // source.url: libpq URI or key=value; "" = the PG* environment
    std::string password_file;  // source.password_file: a file holding the password (sets PGPASSWORD)
    std::vector<std::string> tables;  // source.tables: "schema.table" or "table"; [] = the publication's
    std::string slot;                 // source.slot
    std::string publication;          // source.publication
    bool create_publication{};        // source.create_publication
    bool replica_identity_full{};     // source.replica_identity_full
    std::string snapshot;             // source.snapshot: initial | never | initial_only
    std::chrono::milliseconds heartbeat{};// source.heartbeat: 0 = off
    std::chrono::milliseconds replication_timeout{};  // source.replication_timeout: 0 = off
    std::string state;                    // source.state: "" = <output.root>/_checkpoints/capture
    uint64_t retained_wal_warn_mb{};      // source.retained_wal_warn_mb
    uint64_t snapshot_chunk_rows{};       // source.snapshot_chunk_rows
    uint64_t snapshot_parallelism{};      // source.snapshot_parallelism
  } source;
  struct Events {
    bool schemas{};                // events.schemas: {schema, payload} envelopes (JsonConverter)
    std::string decimal_handling;  // events.decimal_handling: precise | string | double
    std::string time_precision;    // events.time_precision: adaptive | adaptive_time_microseconds | connect
    std::string binary_handling;   // events.binary_handling: bytes | base64 | base64-url-encoded | hex
    std::string interval_handling;  // events.interval_handling: numeric | string
    std::string column_include_list;  // events.column_include_list: column.include.list regexes
    std::string column_exclude_list;  // events.column_exclude_list: column.exclude.list regexes
    std::string message_key_columns;  // events.message_key_columns: schema.table:col,...;...
    std::string skipped_operations;  // events.skipped_operations: none, or any of c,u,d,t
    bool tombstones{};             // events.tombstones: a tombstone after each delete
    bool transaction_metadata{};   // events.transaction_metadata: provide.transaction.metadata
  } events;
  struct Kafka {
    std::vector<std::string> brokers;               // kafka.brokers: [] = embedded, no Kafka
    std::string topic_prefix;                       // kafka.topic_prefix
    std::string group;                              // kafka.group: the stream stage's consumer group
    std::vector<std::string> topics;                // kafka.topics: [] = ^<topic_prefix>\..*
    std::map<std::string, std::string> properties;  // kafka.properties: librdkafka key: value
  } kafka;
  struct Output {
    std::string root;         // output.root: directory, file:///dir or s3://bucket/prefix
    std::string s3_endpoint;  // output.s3_endpoint: "" = AWS
    std::string s3_ca_file;   // output.s3_ca_file: PEM CA certificates for an https endpoint, "" = the system's
    bool create_bucket{};     // output.create_bucket
    std::chrono::milliseconds s3_timeout{};  // output.s3_timeout: an S3 request moving no data this long is retried
    std::string checkpoint;   // output.checkpoint: "" = <root>/_checkpoints/stream
    std::string compression;  // output.compression: snappy | zstd | none
    std::chrono::milliseconds trigger{};// output.trigger
    uint64_t max_batch_rows{};          // output.max_batch_rows
    std::chrono::milliseconds withdrawn_file_grace{};  // output.withdrawn_file_grace
  } output;
  struct Http {
    std::string listen;      // http.listen: host:port, or off
    std::string token_file;  // http.token_file: a file holding the token
  } http;
  struct Views {
    std::string file;  // views.file: the CREATE VIEW file (docs/VIEWS.md); "" = no views
  } views;

  // The config file that was read ("" when none).
  std::string file;

  // Every key at its default.
  static Config Defaults();

  // Where `key` ("source.slot") got its value: "default", "<file>:<line>:<column>", "$ENV" or
  // "--flag". "" for an unknown key.
  std::string Origin(std::string_view key) const;

  // Values that follow from others.
  bool Embedded() const { return kafka.brokers.empty(); }
  std::string BrokerList() const;          // "a:9092,b:9092"
  std::string TopicPattern() const;        // "^<topic_prefix>\..*"
  std::string CaptureStateUri() const;     // source.state, else <output.root>/_checkpoints/capture
  // The libpq connection string: source.url ("" = PG* environment). The password is never part of
  // it unless the URL given by flag or environment carried one.
  const std::string& Conninfo() const { return source.url; }
  // The HTTP token: $CDCPIPE_HTTP_TOKEN, else the contents of http.token_file, else "".
  std::string HttpToken() const { return http_token_; }

  // Reads source.password_file into PGPASSWORD (unless PGPASSWORD is set) so that libpq finds it.
  // REQUIRES: called before connecting; done by Flags::Resolve.
  Status ApplySecrets();

  // The resolved configuration as YAML, each value followed by "# <origin>"; secrets redacted.
  std::string Describe() const;

 private:
  friend class Loader;
  std::map<std::string, std::string, std::less<>> origins_;
  std::string http_token_;
  std::string http_token_origin_;
};

// The flag groups. A subcommand registers the groups it uses; each key's flag is declared once, in
// the key table.
enum class Group {
  kDatabase,  // --db, --password-file
  kCapture,   // --tables, --slot, --publication, --create-publication, --replica-identity-full,
              // --snapshot, --heartbeat, --state, --retained-wal-warn-mb
  kEvents,    // --schemas, --decimal, --tombstones
  kKafka,     // --brokers, --topic-prefix, -X
  kConsumer,  // --group, --topics
  kOutput,    // --output, --s3-endpoint, --create-bucket, --s3-timeout
  kWriter,    // --checkpoint, --compression, --trigger, --max-batch-rows
  kHttp,      // --http
  kViews,     // --views
};

// Loads a config file alone (no environment, no flags) over the defaults. For tests and `config`.
// An unreadable file, bad YAML, an unknown key or a bad value: InvalidArgument with file:line:column.
Result<Config> LoadFile(const std::string& path);

// The flags of a subcommand: `--config FILE` plus every flag of the groups given.
class Flags {
 public:
  Flags(CLI::App* sub, std::initializer_list<Group> groups);
  ~Flags();
  Flags(const Flags&) = delete;
  Flags& operator=(const Flags&) = delete;

  // After parsing: defaults, then the file, the environment and the flags given.
  // InvalidArgument (exit 2) naming the file:line:column or the flag on a bad value; ApplySecrets done.
  Result<Config> Resolve() const;

  // Whether the flag of `key` was on the command line.
  bool Given(std::string_view key) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// All keys, in documentation order ("source.url", ...).
std::vector<std::string> AllKeys();

}  // namespace cdc::config
