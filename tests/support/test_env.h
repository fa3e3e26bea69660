// Test support shared by every integration test: temp dirs, running commands, a private PostgreSQL
// cluster, and the Node peers (DuckDB, hyparquet, s3rver, MinIO client) installed by scripts/setup.sh.
//
// Nothing here is skipped: if a component cannot start, the test fails with the component's log.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cdc::testing {

// Paths baked in at configure time.
std::string SourceDir();   // the repo root
std::string BinaryDir();   // the build dir (where `cdcpipe` is)
std::string CdcpipeBin();  // <build>/cdcpipe
std::string NodeModulesDir();  // <repo>/tests/node/node_modules

// A directory removed (recursively) when the object dies. Made under $TMPDIR or /tmp, mode 0777 so
// the postgres user can use it.
class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "cdcpipe-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code = -1;  // exit status, or 128+signal
  std::string out;     // stdout
  std::string err;     // stderr
  std::string Describe() const;  // for assertion messages
};

// Runs argv[0] with the arguments (no shell), extra environment on top of ours, optional stdin.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env = {},
                         const std::string& stdin_data = "");
// Runs `bash -c script`.
CommandResult RunShell(const std::string& script, const std::map<std::string, std::string>& env = {});

// A child process running in the background (for `cdcpipe run`, s3rver, kafka-mock ...).
class BackgroundProcess {
 public:
  // Starts argv; stdout and stderr go to `log_path` (appended).
  BackgroundProcess(const std::vector<std::string>& argv, const std::string& log_path,
                    const std::map<std::string, std::string>& env = {});
  ~BackgroundProcess();  // SIGKILL if still running
  BackgroundProcess(const BackgroundProcess&) = delete;
  BackgroundProcess& operator=(const BackgroundProcess&) = delete;

  int pid() const { return pid_; }
  bool Running();
  // Sends `sig` and waits up to `timeout_ms` for exit; returns the exit status (128+signal if killed),
  // or -1 if it did not exit.
  int Stop(int sig, int timeout_ms = 30000);
  // Waits up to timeout_ms for exit; returns the status or -1.
  int Wait(int timeout_ms);
  void Kill9();
  std::string Log() const;

 private:
  int pid_ = -1;
  std::optional<int> status_;
  std::string log_path_;
};

// Waits (polling every 20 ms) until pred() or timeout; returns pred()'s last value.
bool WaitFor(const std::function<bool()>& pred, int timeout_ms);

// A free TCP port on 127.0.0.1 (bind to 0 and release).
int FreePort();

std::string ReadFile(const std::string& path);

// `s` as a SQL identifier ("a""b") and as a SQL string literal ('it''s'; standard_conforming_strings).
std::string QuoteIdent(const std::string& s);
std::string QuoteLiteral(const std::string& s);
void WriteFile(const std::string& path, const std::string& data);

// A private PostgreSQL 15 cluster: initdb (as the postgres user) in a temp dir with wal_level=logical,
// its own socket dir and a free loopback port; stopped and removed in the destructor.
class PgCluster {
 public:
  struct Options {
    int max_replication_slots = 20;
    std::string extra_conf;  // appended to postgresql.conf
    bool password_auth = false;  // when true: trust only for the superuser "postgres", md5/scram for others
  };
  PgCluster();
  explicit PgCluster(const Options& opts);
  ~PgCluster();

  // The shared cluster of this test binary (started on first use, stopped at exit).
  static PgCluster& Shared();

  int port() const { return port_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& socket_dir() const { return socket_dir_; }
  // "host=127.0.0.1 port=N user=postgres dbname=DB"
  std::string Conninfo(const std::string& db = "postgres") const;
  // postgresql://postgres@127.0.0.1:N/DB
  std::string Uri(const std::string& db = "postgres") const;
  // Environment for psql & co: PGHOST, PGPORT, PGUSER, PGDATABASE.
  std::map<std::string, std::string> Env(const std::string& db = "postgres") const;

  // Creates a fresh database named after the current test (dropping an old one) and returns its name.
  std::string CreateTestDatabase();
  // Drops every replication slot of `db` (tests must not leave WAL-retaining slots behind).
  void DropSlots(const std::string& db);

  // psql -X -A -t -v ON_ERROR_STOP=1 -c sql; fails the test on error. Returns trimmed stdout.
  std::string Psql(const std::string& db, const std::string& sql) const;
  CommandResult PsqlResult(const std::string& db, const std::string& sql) const;

  void Stop();     // pg_ctl stop -m fast
  void Start();    // pg_ctl start (after Stop)
  void Restart();  // stop + start, same port
  std::string LogTail() const;

 private:
  void InitDb(const Options& opts);
  std::unique_ptr<TempDir> dir_;
  std::string data_dir_, socket_dir_, log_path_;
  int port_ = 0;
  bool running_ = false;
};

// Runs a Node script from tests/node/ (e.g. "duckdb_query.mjs") with arguments; NODE_PATH points at
// the test peers.
CommandResult RunNode(const std::string& script, const std::vector<std::string>& args,
                      const std::map<std::string, std::string>& env = {});

// Runs a DuckDB query through @duckdb/node-api and returns the rows as JSON lines (one JSON array per
// row, BigInt as numbers or strings when beyond 2^53). Fails the test on error.
std::string DuckDbQuery(const std::string& sql);

}  // namespace cdc::testing
