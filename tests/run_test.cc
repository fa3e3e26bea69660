// `cdcpipe run` (embedded, no Kafka) end to end: import csv_files, run, a psql workload, wait until the
// slot's confirmed LSN (advanced only after a Parquet commit) passes the workload, then DuckDB reads
// the committed raw-kafka-data and the events must equal the source's changes exactly once, in order.
#include <gtest/gtest.h>
#include <signal.h>

#include "raw_output.h"
#include "support/test_env.h"

namespace cdc::testing {
namespace {

class RunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = pg().CreateTestDatabase();
    // Import creates no table: the demo tables first.
    auto r = RunCommand({CdcpipeBin(), "schema", "--apply", "--db", pg().Uri(db_)});
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    r = RunCommand({CdcpipeBin(), "import", "--db", pg().Uri(db_), "--dir", SourceDir() + "/csv_files"});
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
  }
  void TearDown() override { pg().DropSlots(db_); }
  static PgCluster& pg() { return PgCluster::Shared(); }
  std::string Sql(const std::string& sql) { return pg().Psql(db_, sql); }

  std::unique_ptr<BackgroundProcess> StartRun(const std::vector<std::string>& extra = {},
                                              const std::string& trigger = "200ms") {
    std::vector<std::string> argv = {CdcpipeBin(), "run", "--db", pg().Uri(db_), "--output", dir_ / "out",
                                     "--trigger", trigger, "--heartbeat", "0", "--http", "off",
                                     "--tables", "klienci,pracownicy,projekty", "--replica-identity-full"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<BackgroundProcess>(argv, dir_ / "run.log");
  }
  // Waits until the slot confirmed everything written so far (which run does only after commits). The
  // target is the WAL insert position: the test cluster runs with synchronous_commit = off, so
  // pg_current_wal_lsn() (the write position) can still be before a transaction that just committed.
  bool WaitCaughtUp(BackgroundProcess* p, int timeout_ms = 60000) {
    std::string target = Sql("SELECT pg_current_wal_insert_lsn()");
    return WaitFor(
        [&] {
          if (!p->Running()) return false;
          return pg().Psql(db_, "SELECT coalesce((SELECT confirmed_flush_lsn >= '" + target +
                                    "'::pg_lsn FROM pg_replication_slots WHERE slot_name = 'cdcpipe'), false)") == "t";
        },
        timeout_ms);
  }

  TempDir dir_{"cdcpipe-run-test"};
  std::string db_;
};

TEST_F(RunTest, EmbeddedEndToEndExactlyOnceInCommitOrder) {
  int64_t klienci = std::stoll(Sql("SELECT count(*) FROM klienci"));
  int64_t pracownicy = std::stoll(Sql("SELECT count(*) FROM pracownicy"));
  int64_t projekty = std::stoll(Sql("SELECT count(*) FROM projekty"));
  // Snapshot batches end at chunk ends (docs/STREAM.md): chunks of 200 keep the snapshot in ~15 batches.
  auto run = StartRun({"--max-batch-rows", "200", "--snapshot-chunk-rows", "200"});
  ASSERT_TRUE(WaitCaughtUp(run.get())) << run->Log();

  // Workload: inserts, updates (of new and imported rows), deletes, in several transactions.
  Sql("INSERT INTO klienci SELECT 100000 + g, 'Nowy ' || g, 'n' || g || '@x.pl', 'Polska', NULL "
      "FROM generate_series(1, 300) g");
  Sql("BEGIN; UPDATE klienci SET kraj = 'Niemcy' WHERE id BETWEEN 100001 AND 100150; "
      "UPDATE pracownicy SET wiek = wiek + 1 WHERE id <= 50; COMMIT");
  Sql("UPDATE klienci SET email = NULL WHERE id BETWEEN 1 AND 40");
  Sql("DELETE FROM klienci WHERE id BETWEEN 100201 AND 100300");
  Sql("DELETE FROM projekty WHERE id <= 10");
  ASSERT_TRUE(WaitCaughtUp(run.get())) << run->Log();
  ASSERT_EQ(run->Stop(SIGINT), 0) << run->Log();

  // A restart continues the per-topic offsets and does not repeat anything.
  auto again = StartRun({"--max-batch-rows", "200"});
  Sql("INSERT INTO pracownicy VALUES (90001, 'Ala', 'Nowak', 'a@x.pl', 33, 'Analityk')");
  ASSERT_TRUE(WaitCaughtUp(again.get())) << again->Log();
  ASSERT_EQ(again->Stop(SIGINT), 0) << again->Log();

  MetadataCheck meta = ReadSparkMetadata(dir_ / "out");
  ASSERT_GE(meta.latest, 10) << "expected more than 10 batches (compaction at batch 9)\n" << ReadFile(dir_ / "run.log");
  // 9.compact holds every live entry of batches 0..9: one file each.
  std::string compact = ReadFile(dir_ / "out/raw-kafka-data/_spark_metadata/9.compact");
  EXPECT_EQ(std::count(compact.begin(), compact.end(), '\n'), 10) << compact;
  // A file that no batch lists is never counted by our readers: drop a stray copy beside the data.
  std::filesystem::copy_file(dir_ / ("out/raw-kafka-data/" + meta.files[0]),
                             dir_ / "out/raw-kafka-data/part-00000-00000000-0000-4000-8000-000000000000-c000.snappy.parquet");

  std::vector<RawRow> rows = ReadCommitted(dir_ / "out", dir_ / "files.csv");
  auto counts = CheckExactlyOnce(rows, /*contiguous=*/true);
  EXPECT_EQ(counts["klienci r"], klienci);
  EXPECT_EQ(counts["pracownicy r"], pracownicy);
  EXPECT_EQ(counts["projekty r"], projekty);
  EXPECT_EQ(counts["klienci c"], 300);
  EXPECT_EQ(counts["klienci u"], 190);
  EXPECT_EQ(counts["pracownicy u"], 50);
  EXPECT_EQ(counts["pracownicy c"], 1) << again->Log();  // both runs log to run.log
  EXPECT_EQ(counts["klienci d"], 100);
  EXPECT_EQ(counts["klienci tombstone"], 100);
  EXPECT_EQ(counts["projekty d"], 10);
  EXPECT_EQ(counts["projekty tombstone"], 10);
  int64_t total = 0;
  for (auto& [k, n] : counts) total += n;
  EXPECT_EQ(total, static_cast<int64_t>(rows.size()));

  // Commit order per key: the offsets of a key's events follow r/c < u < d < tombstone, and the
  // source LSNs increase with the offsets.
  std::map<std::pair<std::string, int64_t>, std::vector<const RawRow*>> by_key;
  for (const auto& r : rows) {
    EXPECT_EQ(r.partition, 0);
    EXPECT_EQ(r.timestamp_type, 0);
    by_key[{r.topic, r.id}].push_back(&r);
  }
  auto rank = [](const std::string& op) { return op == "r" || op == "c" ? 0 : op == "u" ? 1 : op == "d" ? 2 : 3; };
  for (const auto& [key, evs] : by_key) {
    for (size_t i = 1; i < evs.size(); ++i) {
      EXPECT_LT(rank(evs[i - 1]->op), rank(evs[i]->op)) << key.first << " id " << key.second;
      EXPECT_LT(evs[i - 1]->offset, evs[i]->offset);
    }
  }
  // The Parquet schema is Spark's Kafka source schema.
  std::string schema = DuckDbQuery("SELECT name, type, repetition_type FROM parquet_schema('" +
                                   std::string(dir_ / ("out/raw-kafka-data/" + meta.files[0])) + "') WHERE name <> 'spark_schema'");
  for (const char* col : {"[\"key\",\"BYTE_ARRAY\",\"OPTIONAL\"]", "[\"value\",\"BYTE_ARRAY\",\"OPTIONAL\"]",
                          "[\"topic\",\"BYTE_ARRAY\",\"OPTIONAL\"]", "[\"partition\",\"INT32\",\"OPTIONAL\"]",
                          "[\"offset\",\"INT64\",\"OPTIONAL\"]", "[\"timestamp\",\"INT64\",\"OPTIONAL\"]",
                          "[\"timestampType\",\"INT32\",\"OPTIONAL\"]"}) {
    EXPECT_NE(schema.find(col), std::string::npos) << col << " in\n" << schema;
  }
  std::string ts = DuckDbQuery("SELECT typeof(\"timestamp\") FROM read_parquet('" +
                               std::string(dir_ / ("out/raw-kafka-data/" + meta.files[0])) + "') LIMIT 1");
  EXPECT_NE(ts.find("TIMESTAMP WITH TIME ZONE"), std::string::npos) << ts;
}

TEST_F(RunTest, CtrlCCommitsWhatIsCompleteAndConfirmsTheLsn) {
  // A long trigger: the batch is only cut by the stop.
  auto run = StartRun({"--snapshot", "never"}, "10m");
  ASSERT_TRUE(WaitFor([&] { return Sql("SELECT count(*) FROM pg_replication_slots WHERE active") == "1"; }, 30000))
      << run->Log();
  Sql("INSERT INTO klienci SELECT 200000 + g, 'K' || g, NULL, 'Polska', NULL FROM generate_series(1, 50) g");
  std::string target = Sql("SELECT pg_current_wal_insert_lsn()");
  // Stop once the walsender sent the changes: what capture handed over is committed by the stop (the
  // 10-minute batch is cut by it), exit 0; whatever was still in flight is replayed by the next start.
  ASSERT_TRUE(WaitFor([&] { return Sql("SELECT coalesce(bool_and(sent_lsn >= '" + target + "'), false) FROM pg_stat_replication") == "t"; }, 30000));
  ASSERT_EQ(run->Stop(SIGINT), 0) << run->Log();
  EXPECT_NE(run->Log().find("confirmed"), std::string::npos) << run->Log();
  std::vector<RawRow> first = ReadCommitted(dir_ / "out", dir_ / "files.csv");
  EXPECT_LE(first.size(), 50u);
  // The LSN confirmed at the stop covers exactly what is committed: a restart adds only the rest.
  auto again = StartRun({"--snapshot", "never"});
  ASSERT_TRUE(WaitCaughtUp(again.get())) << again->Log();
  ASSERT_EQ(again->Stop(SIGINT), 0) << again->Log();
  std::vector<RawRow> rows = ReadCommitted(dir_ / "out", dir_ / "files.csv");
  auto counts = CheckExactlyOnce(rows, true);
  EXPECT_EQ(counts["klienci c"], 50) << run->Log();
}

}  // namespace
}  // namespace cdc::testing
