// Incremental snapshots (issue 18 item 3, docs/CAPTURE.md "Incremental snapshots"): `cdcpipe snapshot`
// asks a running `cdcpipe run` to read a table in chunks while it streams, by DBLog's watermarks in
// their read-only form. Checked with clients nobody here wrote: psql for the source, DuckDB for the
// committed raw-kafka-data.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include <nlohmann/json.hpp>

#include "raw_output.h"
#include "support/test_env.h"

namespace cdc::testing {
namespace {

class IncrementalSnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = pg().CreateTestDatabase();
    http_ = "127.0.0.1:" + std::to_string(FreePort());
  }
  void TearDown() override { pg().DropSlots(db_); }
  static PgCluster& pg() { return PgCluster::Shared(); }
  std::string Sql(const std::string& sql) { return pg().Psql(db_, sql); }
  std::string Out() const { return dir_ / "out"; }

  // `cdcpipe run` with the HTTP API on its own port; `tables` empty: the publication's tables.
  std::unique_ptr<BackgroundProcess> StartRun(const std::string& tables, const std::vector<std::string>& extra,
                                              const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> argv = {CdcpipeBin(), "run", "--db", pg().Uri(db_), "--output", Out(), "--trigger",
                                     "200ms", "--heartbeat", "0", "--http", http_, "--config", ""};
    if (!tables.empty()) argv.insert(argv.end(), {"--tables", tables});
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto p = std::make_unique<BackgroundProcess>(argv, dir_ / "run.log", env);
    EXPECT_TRUE(WaitFor([&] { return !p->Running() || p->Log().find("streaming from slot") != std::string::npos; },
                        60000))
        << p->Log();
    return p;
  }
  CommandResult Snapshot(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {CdcpipeBin(), "snapshot", "--http", http_, "--config", ""};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv);
  }
  // Stops `run` once everything written so far is confirmed.
  void DrainAndStop(BackgroundProcess& run) {
    std::string target = Sql("SELECT pg_current_wal_insert_lsn()");
    ASSERT_TRUE(WaitFor(
        [&] {
          return run.Running() && Sql("SELECT coalesce((SELECT confirmed_flush_lsn >= '" + target +
                                      "'::pg_lsn FROM pg_replication_slots WHERE slot_name = 'cdcpipe'), false)") == "t";
        },
        120000))
        << run.Log();
    ASSERT_EQ(run.Stop(SIGINT), 0) << run.Log();
  }
  std::vector<std::string> Committed(const std::string& select) {
    return QueryCommittedColumn(Out(), select, dir_ / "files.csv");
  }
  std::vector<std::string> SourceRows(const std::string& select) {
    std::vector<std::string> out;
    std::istringstream in(Sql(select));
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) out.push_back(line);
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  static std::string F(const std::string& path) { return "json_extract_string(value, '$.payload." + path + "')"; }
  // The table replayed from the committed events: the last event of each key unless it is a delete.
  std::vector<std::string> Replayed(const std::string& table) {
    auto v = Committed("SELECT " + F("after.id") + " || '|' || " + F("after.n") + " FROM (SELECT value, row_number() "
                       "OVER (PARTITION BY CAST(key AS VARCHAR) ORDER BY \"offset\" DESC) AS rn FROM raw WHERE topic = "
                       "'dbserver1.public." + table + "' AND value IS NOT NULL) WHERE rn = 1 AND " + F("op") + " <> 'd'");
    std::sort(v.begin(), v.end());
    return v;
  }
  // `r` events whose row is older than the event of the same key before it (n only grows): a stale row.
  std::string StaleReads(const std::string& table) {
    return Committed("SELECT count(*) FROM (SELECT " + F("op") + " AS op, CAST(" + F("after.n") + " AS BIGINT) AS n, "
                     "lag(CAST(" + F("after.n") + " AS BIGINT)) OVER (PARTITION BY CAST(key AS VARCHAR) ORDER BY "
                     "\"offset\") AS prev FROM raw WHERE topic = 'dbserver1.public." + table +
                     "' AND value IS NOT NULL) WHERE op = 'r' AND prev IS NOT NULL AND n < prev")
        .at(0);
  }
  std::string IncrementalReads(const std::string& table) {
    return Committed("SELECT count(*) FROM raw WHERE topic = 'dbserver1.public." + table + "' AND " + F("op") +
                     " = 'r' AND " + F("source.snapshot") + " = 'incremental'")
        .at(0);
  }

  TempDir dir_{"cdcpipe-incsnap-test"};
  std::string db_;
  std::string http_;
};

// A table added to the publication while `run` streams, snapshotted while psql updates, inserts and
// deletes its rows in small transactions: replaying the committed events gives psql's table, and no
// `r` carries a row older than an event of that key before it.
TEST_F(IncrementalSnapshotTest, TableAddedWhileStreamingIsSnapshottedUnderAConcurrentWorkload) {
  Sql("CREATE TABLE base (id int PRIMARY KEY, n int);"
      "CREATE PUBLICATION cdcpipe FOR TABLE base;"
      "CREATE TABLE orders (id bigint PRIMARY KEY, n int NOT NULL, pad text);"
      "INSERT INTO orders SELECT g, 0, 'p' || g FROM generate_series(1, 20000) g;");
  auto run = StartRun("", {"--snapshot-chunk-rows", "500"});
  Sql("ALTER PUBLICATION cdcpipe ADD TABLE orders;");
  std::string sql;
  for (int i = 0; i < 400; ++i) {
    int lo = (i * 97) % 20000 + 1;
    sql += "BEGIN;\nUPDATE orders SET n = n + 1 WHERE id BETWEEN " + std::to_string(lo) + " AND " +
           std::to_string(lo + 30) + ";\nINSERT INTO orders VALUES (" + std::to_string(100000 + i) +
           ", 1, 'new');\nDELETE FROM orders WHERE id = " + std::to_string((i * 131) % 20000 + 1) +
           ";\nCOMMIT;\nSELECT pg_sleep(0.005);\n";
  }
  WriteFile(dir_ / "workload.sql", sql);
  BackgroundProcess workload({"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", dir_ / "workload.sql"},
                             dir_ / "workload.log", pg().Env(db_));
  auto snap = Snapshot({"--table", "public.orders", "--wait"});
  ASSERT_EQ(snap.exit_code, 0) << snap.Describe() << run->Log();
  EXPECT_NE(snap.out.find("public.orders done"), std::string::npos) << snap.out;
  ASSERT_EQ(workload.Wait(120000), 0) << ReadFile(dir_ / "workload.log");
  DrainAndStop(*run);
  EXPECT_EQ(Replayed("orders"), SourceRows("SELECT id || '|' || n FROM orders")) << run->Log();
  EXPECT_EQ(StaleReads("orders"), "0");
  EXPECT_GT(std::stoll(IncrementalReads("orders")), 15000);
}

// The window de-duplication, made to matter deterministically: a transaction updates rows 1..50 and
// stays open while the snapshot takes its chunk (so the chunk has their old values); the failpoint
// makes capture wait for it before reading the high watermark, and the test lets it commit only then.
// Its updates are streamed before the chunk is emitted: those 50 rows must be dropped from the chunk
// (without the de-duplication they are emitted after the updates with their old values: stale). While
// the chunk waits, every refused request is checked: it changes nothing.
TEST_F(IncrementalSnapshotTest, RowsChangedInsideTheWindowAreNotEmittedStaleAndBadRequestsAreRefused) {
  Sql("CREATE TABLE acct (id int PRIMARY KEY, n int NOT NULL);"
      "INSERT INTO acct SELECT g, 0 FROM generate_series(1, 200) g;"
      "CREATE TABLE gate (x int); CREATE TABLE other (id int PRIMARY KEY); CREATE TABLE nokey (x int);");
  auto run = StartRun("acct", {"--snapshot", "never", "--snapshot-chunk-rows", "1000"},
                      {{"CDCPIPE_FAILPOINTS", "capture.incremental_wide_window=error"}});
  WriteFile(dir_ / "holder.sql",
            "BEGIN;\nUPDATE acct SET n = n + 1 WHERE id <= 50;\n"
            "DO $$ BEGIN WHILE NOT EXISTS (SELECT 1 FROM gate) AND clock_timestamp() < now() + interval '60 s' LOOP "
            "PERFORM pg_sleep(0.02); END LOOP; END $$;\n"
            "COMMIT;\n");
  BackgroundProcess holder({"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", dir_ / "holder.sql"},
                           dir_ / "holder.log", pg().Env(db_));
  // Whatever fails below, the open transaction ends (slot creation of later tests waits for it).
  std::shared_ptr<void> open_gate(nullptr, [&](void*) { Sql("INSERT INTO gate VALUES (1)"); });
  ASSERT_TRUE(WaitFor([&] { return Sql("SELECT count(*) FROM pg_stat_activity WHERE backend_xid IS NOT NULL AND "
                                       "query LIKE 'DO %'") == "1"; }, 30000));
  auto accepted = Snapshot({"--table", "acct"});
  ASSERT_EQ(accepted.exit_code, 0) << accepted.Describe() << run->Log();
  // Capture holds the chunk and waits for the open transaction.
  ASSERT_TRUE(WaitFor([&] { return Sql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%backend_xid::text = ANY%' "
                                       "AND pid <> pg_backend_pid()") == "1"; }, 30000)) << run->Log();

  std::string publications_before = Sql("SELECT prrelid::regclass FROM pg_publication_rel ORDER BY 1");
  auto again = Snapshot({"--table", "public.acct"});
  EXPECT_EQ(again.exit_code, 6) << again.Describe();
  EXPECT_NE(again.err.find("an incremental snapshot of public.acct is already running"), std::string::npos) << again.err;
  auto unknown = Snapshot({"--table", "public.nosuch"});
  EXPECT_EQ(unknown.exit_code, 6) << unknown.Describe();
  EXPECT_NE(unknown.err.find("unknown table public.nosuch"), std::string::npos) << unknown.err;
  auto unpublished = Snapshot({"--table", "other"});
  EXPECT_EQ(unpublished.exit_code, 6) << unpublished.Describe();
  EXPECT_NE(unpublished.err.find("table public.other is not in publication \"cdcpipe\""), std::string::npos)
      << unpublished.err;
  EXPECT_NE(unpublished.err.find("ALTER PUBLICATION \"cdcpipe\" ADD TABLE \"public\".\"other\""), std::string::npos);
  auto bad_where = Snapshot({"--table", "acct", "--where", "nosuchcolumn > 3"});
  EXPECT_EQ(bad_where.exit_code, 3) << bad_where.Describe();
  EXPECT_NE(bad_where.err.find("on table public.acct"), std::string::npos) << bad_where.err;
  EXPECT_NE(bad_where.err.find("column \"nosuchcolumn\" does not exist"), std::string::npos) << bad_where.err;
  EXPECT_EQ(Sql("SELECT prrelid::regclass FROM pg_publication_rel ORDER BY 1"), publications_before);
  auto list = RunCommand({"curl", "-s", "http://" + http_ + "/api/snapshots"});
  EXPECT_EQ(nlohmann::json::parse(list.out).at("snapshots").size(), 1u) << list.out;

  Sql("INSERT INTO gate VALUES (1)");
  ASSERT_EQ(holder.Wait(30000), 0) << ReadFile(dir_ / "holder.log");
  ASSERT_TRUE(WaitFor([&] { return run->Log().find("incremental snapshot of public.acct done") != std::string::npos; },
                      60000))
      << run->Log();
  DrainAndStop(*run);
  std::string log = run->Log();
  EXPECT_NE(log.find("window widened (failpoint)"), std::string::npos) << log;
  EXPECT_NE(log.find("50 rows of the chunk dropped"), std::string::npos) << log;
  EXPECT_EQ(StaleReads("acct"), "0") << log;
  EXPECT_EQ(Replayed("acct"), SourceRows("SELECT id || '|' || n FROM acct"));
  EXPECT_EQ(IncrementalReads("acct"), "150");
}

// A table added to source.tables is backfilled by an incremental snapshot at the next start, while
// streaming; the tables the marker lists as snapshotted are not read again.
TEST_F(IncrementalSnapshotTest, TableAddedToSourceTablesIsBackfilledOnTheNextStart) {
  Sql("CREATE TABLE a (id int PRIMARY KEY, n int NOT NULL); INSERT INTO a SELECT g, 0 FROM generate_series(1, 100) g;"
      "CREATE TABLE b (id int PRIMARY KEY, n int NOT NULL); INSERT INTO b SELECT g, 7 FROM generate_series(1, 3000) g;");
  {
    auto first = StartRun("a", {"--snapshot-chunk-rows", "400"});
    DrainAndStop(*first);
  }
  auto second = StartRun("a,b", {"--snapshot-chunk-rows", "400"});
  Sql("UPDATE b SET n = n + 1 WHERE id % 10 = 0; DELETE FROM b WHERE id % 100 = 1; INSERT INTO b VALUES (5000, 1);");
  ASSERT_TRUE(WaitFor([&] { return second->Log().find("incremental snapshot of public.b done") != std::string::npos; },
                      60000))
      << second->Log();
  DrainAndStop(*second);
  std::string log = second->Log();
  EXPECT_NE(log.find("public.b is captured but was never snapshotted"), std::string::npos) << log;
  EXPECT_EQ(log.find("incremental snapshot of public.a"), std::string::npos) << log;
  EXPECT_EQ(Replayed("b"), SourceRows("SELECT id || '|' || n FROM b"));
  EXPECT_EQ(Replayed("a"), SourceRows("SELECT id || '|' || n FROM a"));
  EXPECT_EQ(StaleReads("b"), "0");
  EXPECT_GE(std::stoll(IncrementalReads("b")), 2900);
}

}  // namespace
}  // namespace cdc::testing
