// Shared fixture of stream_test and crash_test: a test database with csv_files imported, a private
// output directory, `cdcpipe run` / `cdcpipe capture` / `cdcpipe stream` as child processes, the
// librdkafka mock cluster (build/kafka-mock) and a psql workload running in the background.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>

#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "raw_output.h"
#include "support/test_env.h"

namespace cdc::testing {

// The seed's tables, captured with their whole before images (the harness checks them).
inline constexpr const char* kSeedTables = "klienci,pracownicy,projekty";

// The Debezium topics the tests pre-create in a mock cluster, with their partition counts (several for
// klienci, so that the mock's ~5 MiB per-partition retention holds the workload).
inline std::vector<std::pair<std::string, int>> DebeziumTopics() {
  return {{"dbserver1.public.klienci", 8}, {"dbserver1.public.pracownicy", 2}, {"dbserver1.public.projekty", 1}};
}

class PipelineHarness : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = pg().CreateTestDatabase();
    // Import creates no table: the demo tables first.
    auto r = RunCommand({CdcpipeBin(), "schema", "--apply", "--db", pg().Uri(db_)});
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    r = RunCommand({CdcpipeBin(), "import", "--db", pg().Uri(db_), "--dir", SourceDir() + "/csv_files"});
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    klienci_ = std::stoll(Sql("SELECT count(*) FROM klienci"));
    snapshot_rows_ = klienci_ + std::stoll(Sql("SELECT count(*) FROM pracownicy")) +
                     std::stoll(Sql("SELECT count(*) FROM projekty"));
  }
  void TearDown() override {
    processes_.clear();
    pg().DropSlots(db_);
  }
  static PgCluster& pg() { return PgCluster::Shared(); }
  std::string Sql(const std::string& sql) { return pg().Psql(db_, sql); }
  std::string Out() const { return dir_ / "out"; }

  // Where `run` and `stream` write (flags and environment). Default: the local directory Out(); a fixture
  // writing to S3 overrides these and Committed().
  virtual std::vector<std::string> OutputArgs() { return {"--output", Out()}; }
  virtual std::map<std::string, std::string> OutputEnv() { return {}; }
  // The committed output as local files: `root` holds raw-kafka-data/, and every `_spark_metadata` path
  // starts with `uri_prefix`. An empty root means it cannot be read right now (a poll tries again).
  struct CommittedOutput {
    std::string root;
    std::string uri_prefix = "file:///";
  };
  virtual CommittedOutput Committed() { return {Out()}; }
  std::map<std::string, std::string> WithOutputEnv(const std::map<std::string, std::string>& env) {
    auto all = OutputEnv();
    for (const auto& [k, v] : env) all[k] = v;
    return all;
  }
  std::vector<RawRow> ReadCommittedRows() {
    CommittedOutput c = Committed();
    EXPECT_FALSE(c.root.empty()) << "the committed output cannot be read";
    return ReadCommitted(c.root, dir_ / "files.csv", c.uri_prefix);
  }

  // The connection string `run` and `capture` use (a fixture may put a proxy in between).
  virtual std::string SourceUri() { return pg().Uri(db_); }

  std::unique_ptr<BackgroundProcess> StartRun(const std::vector<std::string>& extra = {},
                                              const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> argv = {CdcpipeBin(), "run", "--db", SourceUri(), "--trigger", "200ms",
                                     "--heartbeat", "0", "--http", "off", "--tables", kSeedTables,
                                     "--replica-identity-full", "--views", SourceDir() + "/views/seed.sql"};
    for (const auto& a : OutputArgs()) argv.push_back(a);
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<BackgroundProcess>(argv, dir_ / "run.log", WithOutputEnv(env));
  }

  // The mock cluster with the Debezium topics pre-created.
  std::string StartKafka() {
    std::vector<std::string> argv = {BinaryDir() + "/kafka-mock", "--bootstrap-file", dir_ / "bootstrap"};
    for (const auto& [topic, partitions] : DebeziumTopics()) {
      argv.insert(argv.end(), {"--topic", topic + ":" + std::to_string(partitions)});
    }
    processes_.push_back(std::make_unique<BackgroundProcess>(argv, dir_ / "kafka.log"));
    EXPECT_TRUE(WaitFor([&] { return std::filesystem::exists(dir_ / "bootstrap"); }, 20000)) << processes_.back()->Log();
    std::string b = ReadFile(dir_ / "bootstrap");
    while (!b.empty() && (b.back() == '\n' || b.back() == '\r')) b.pop_back();
    return b;
  }
  std::unique_ptr<BackgroundProcess> StartCapture(const std::string& brokers, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {CdcpipeBin(), "capture", "--db", SourceUri(), "--brokers", brokers, "--heartbeat", "0",
                                     "--tables", kSeedTables, "--replica-identity-full", "--state", dir_ / "capture-state"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<BackgroundProcess>(argv, dir_ / "capture.log");
  }
  std::unique_ptr<BackgroundProcess> StartStream(const std::string& brokers,
                                                 const std::map<std::string, std::string>& env = {},
                                                 const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {CdcpipeBin(), "stream", "--brokers", brokers, "--trigger", "200ms"};
    for (const auto& a : OutputArgs()) argv.push_back(a);
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<BackgroundProcess>(argv, dir_ / "stream.log", WithOutputEnv(env));
  }

  // Waits until the slot confirmed everything written so far (run confirms only committed batches).
  // The insert position, not pg_current_wal_lsn(): with synchronous_commit = off the write position
  // can be before a transaction that just committed.
  bool WaitSlotCaughtUp(BackgroundProcess* p, int timeout_ms = 120000) {
    std::string target = Sql("SELECT pg_current_wal_insert_lsn()");
    return WaitFor(
        [&] {
          if (p && !p->Running()) return false;
          return Sql("SELECT coalesce((SELECT confirmed_flush_lsn >= '" + target +
                     "'::pg_lsn FROM pg_replication_slots WHERE slot_name = 'cdcpipe'), false)") == "t";
        },
        timeout_ms);
  }
  // Waits until the committed output holds `events` rows (polls DuckDB).
  bool WaitCommittedRows(int64_t events, int timeout_ms = 120000) {
    return WaitFor(
        [&] {
          CommittedOutput c = Committed();
          if (c.root.empty()) return false;
          std::string n = QueryCommitted(c.root, "SELECT count(*) FROM raw", dir_ / "poll.csv", c.uri_prefix);
          return !n.empty() && std::stoll(n.substr(1)) >= events;
        },
        timeout_ms);
  }

  // A background psql workload of `inserts` new klienci (ids from 1000000), then `updates` of them,
  // then `deletes` of them, in transactions of 100 rows: inserts + updates + deletes changes. With
  // `pause_ms`, psql sleeps that long after each transaction (a workload spread over time, so that a
  // fault injected while it runs lands in its middle).
  std::unique_ptr<BackgroundProcess> StartWorkload(int inserts, int updates, int deletes, int pause_ms = 0) {
    std::string sql;
    for (int i = 0; i < inserts; i += 100) {
      sql += "INSERT INTO klienci SELECT 1000000 + g, 'W' || g, 'w' || g || '@x.pl', 'Polska', NULL FROM "
             "generate_series(" + std::to_string(i + 1) + ", " + std::to_string(std::min(i + 100, inserts)) + ") g;\n";
    }
    for (int i = 0; i < updates; i += 100) {
      sql += "UPDATE klienci SET kraj = 'Czechy' WHERE id BETWEEN " + std::to_string(1000001 + i) + " AND " +
             std::to_string(1000000 + std::min(i + 100, updates)) + ";\n";
    }
    for (int i = 0; i < deletes; i += 100) {
      sql += "DELETE FROM klienci WHERE id BETWEEN " + std::to_string(1000001 + i) + " AND " +
             std::to_string(1000000 + std::min(i + 100, deletes)) + ";\n";
    }
    if (pause_ms > 0) {
      std::string pause = "SELECT pg_sleep(" + std::to_string(pause_ms / 1000.0) + ");\n";
      for (size_t at = 0; (at = sql.find(";\n", at)) != std::string::npos; at += 2 + pause.size()) {
        sql.insert(at + 2, pause);
      }
    }
    WriteFile(dir_ / "workload.sql", sql);
    std::vector<std::string> argv = {"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", dir_ / "workload.sql"};
    return std::make_unique<BackgroundProcess>(argv, dir_ / "workload.log", pg().Env(db_));
  }

  // Checks the committed output against the workload: every change exactly once.
  void CheckWorkload(int inserts, int updates, int deletes, bool snapshot) {
    std::vector<RawRow> rows = ReadCommittedRows();
    auto counts = CheckExactlyOnce(rows, /*contiguous=*/true);
    EXPECT_EQ(counts["klienci c"], inserts);
    EXPECT_EQ(counts["klienci u"], updates);
    EXPECT_EQ(counts["klienci d"], deletes);
    EXPECT_EQ(counts["klienci tombstone"], deletes);
    if (snapshot) {
      EXPECT_EQ(counts["klienci r"], klienci_);
    }
    // The source LSN of each change appears once (a change replayed twice would repeat its LSN).
    std::set<std::pair<std::string, std::string>> lsns;
    for (const auto& r : rows) {
      if (r.op == "tombstone" || r.op == "r") continue;
      EXPECT_TRUE(lsns.insert({r.lsn, std::to_string(r.id)}).second) << "LSN " << r.lsn << " id " << r.id << " twice";
    }
    int64_t expected = inserts + updates + 2 * deletes + (snapshot ? snapshot_rows_ : 0);
    EXPECT_EQ(static_cast<int64_t>(rows.size()), expected);
  }

  TempDir dir_{"cdcpipe-stream-test"};
  std::string db_;
  int64_t klienci_ = 0, snapshot_rows_ = 0;
  std::vector<std::unique_ptr<BackgroundProcess>> processes_;
  std::mt19937 rng_{std::random_device{}()};
};

}  // namespace cdc::testing
