// Issue 19 item 4: a replication slot that PostgreSQL invalidated (wal_status = 'lost', reproduced
// with max_slot_wal_keep_size = 1MB, pg_switch_wal() and CHECKPOINT on a private cluster) or that was
// dropped behind cdcpipe's back, while `cdcpipe run` was down and while it streamed. Each time run must
// stop with exit 6 and an error naming the slot, the LSN it needed and the fix (a new slot with
// --snapshot initial), write nothing more, and do the same when started again (no loop, no silent
// new snapshot).
#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "pg/connection.h"
#include "raw_output.h"
#include "support/test_env.h"

namespace cdc::testing {
namespace {

constexpr int kExitPrecondition = 6;  // README.md "Exit codes"

class SlotGoneTest : public ::testing::Test {
 protected:
  // One private cluster for these tests: the small WAL budget would invalidate other tests' slots.
  static void SetUpTestSuite() {
    PgCluster::Options o;
    o.extra_conf = "max_slot_wal_keep_size = 1MB\n";
    cluster_ = new PgCluster(o);
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void SetUp() override {
    db_ = pg().CreateTestDatabase();
    slot_ = db_;  // slots are per cluster: one per test
    Sql("CREATE TABLE t (id int PRIMARY KEY, v text); CREATE TABLE filler (id serial, v text); "
        "INSERT INTO t SELECT g, 'r' || g FROM generate_series(1, 20) g");
  }
  void TearDown() override { pg().DropSlots(db_); }
  static PgCluster& pg() { return *cluster_; }
  std::string Sql(const std::string& sql) { return pg().Psql(db_, sql); }

  // Flags only: an empty config file, never a ./cdcpipe.yaml or $CDCPIPE_CONFIG of the environment.
  std::unique_ptr<BackgroundProcess> StartRun() {
    if (!std::filesystem::exists(dir_ / "empty.yaml")) WriteFile(dir_ / "empty.yaml", "");
    return std::make_unique<BackgroundProcess>(
        std::vector<std::string>{CdcpipeBin(), "run", "--config", dir_ / "empty.yaml", "--db", pg().Uri(db_), "--output",
                                 dir_ / "out", "--slot", slot_, "--publication", slot_, "--trigger", "200ms",
                                 "--heartbeat", "0", "--http", "off", "--tables", "t"},
        dir_ / "run.log");
  }
  // Waits until the slot confirmed everything written so far (run confirms only after commits).
  bool WaitCaughtUp(BackgroundProcess* p) {
    std::string target = Sql("SELECT pg_current_wal_insert_lsn()");
    return WaitFor(
        [&] {
          return p->Running() &&
                 Sql("SELECT coalesce((SELECT confirmed_flush_lsn >= '" + target +
                     "'::pg_lsn FROM pg_replication_slots WHERE slot_name = '" + slot_ + "'), false)") == "t";
        },
        60000);
  }
  std::string SlotColumn(const std::string& column) {
    return Sql("SELECT " + column + " FROM pg_replication_slots WHERE slot_name = '" + slot_ + "'");
  }
  // Writes WAL past max_slot_wal_keep_size (a new segment per round) and checkpoints until PostgreSQL
  // has invalidated the slot.
  bool Invalidate() {
    return WaitFor(
        [&] {
          Sql("INSERT INTO filler (v) VALUES ('x')");
          Sql("SELECT pg_switch_wal()");
          Sql("CHECKPOINT");
          return SlotColumn("wal_status") == "lost";
        },
        120000);
  }
  // The LSN the error names as needed ("the changes after LSN X/Y").
  static std::string NeededLsn(const std::string& log) {
    std::smatch m;
    static const std::regex re("needed the changes after LSN ([0-9A-F]+/[0-9A-F]+)");
    return std::regex_search(log, m, re) ? m[1].str() : "";
  }
  bool LsnBetween(const std::string& lsn, const std::string& low, const std::string& high) {
    return Sql("SELECT '" + lsn + "'::pg_lsn >= '" + low + "'::pg_lsn AND '" + lsn + "'::pg_lsn <= '" + high +
               "'::pg_lsn") == "t";
  }
  // A run that streamed the table and stopped cleanly; returns the WAL insert position before its last
  // transaction (the LSN needed afterwards is at or after it).
  std::string RunOnceAndStop() {
    auto run = StartRun();
    EXPECT_TRUE(WaitCaughtUp(run.get())) << run->Log();
    std::string before_last = Sql("SELECT pg_current_wal_insert_lsn()");
    Sql("INSERT INTO t SELECT g, 'c' || g FROM generate_series(21, 30) g");
    EXPECT_TRUE(WaitCaughtUp(run.get())) << run->Log();
    EXPECT_EQ(run->Stop(SIGINT), 0) << run->Log();
    return before_last;
  }
  // A start after the slot is gone: exit 6, the message, nothing written; twice (no state changes).
  void ExpectStopsTwice(const std::string& what, const std::string& low, const std::string& high) {
    int64_t batches = ReadSparkMetadata(dir_ / "out").latest;
    for (int attempt = 0; attempt < 2; ++attempt) {
      std::filesystem::remove(dir_ / "run.log");
      auto again = StartRun();
      ASSERT_EQ(again->Wait(60000), kExitPrecondition) << again->Log();
      ExpectMessage(again->Log(), what, low, high);
      EXPECT_EQ(again->Log().find("created replication slot"), std::string::npos) << again->Log();
      EXPECT_EQ(ReadSparkMetadata(dir_ / "out").latest, batches) << "a batch was written after the slot was gone";
    }
  }
  void ExpectMessage(const std::string& log, const std::string& what, const std::string& low,
                     const std::string& high) {
    EXPECT_NE(log.find("replication slot \"" + slot_ + "\" " + what), std::string::npos) << log;
    EXPECT_NE(log.find("--snapshot initial"), std::string::npos) << log;
    std::string needed = NeededLsn(log);
    ASSERT_FALSE(needed.empty()) << log;
    EXPECT_TRUE(LsnBetween(needed, low, high)) << needed << " not in [" << low << ", " << high << "]\n" << log;
  }

  static PgCluster* cluster_;
  TempDir dir_{"cdcpipe-slot-test"};
  std::string db_, slot_;
};

PgCluster* SlotGoneTest::cluster_ = nullptr;

TEST_F(SlotGoneTest, InvalidatedWhileDownStopsWithExit6) {
  std::string low = RunOnceAndStop();
  std::string confirmed = SlotColumn("confirmed_flush_lsn");
  Sql("INSERT INTO t VALUES (100, 'lost')");  // a change the pipeline can no longer get
  ASSERT_TRUE(Invalidate()) << pg().LogTail();
  ExpectStopsTwice("was invalidated by PostgreSQL", low, confirmed);
  EXPECT_EQ(SlotColumn("wal_status"), "lost");  // left for the operator, not dropped or replaced
}

TEST_F(SlotGoneTest, DroppedWhileDownStopsWithExit6) {
  std::string low = RunOnceAndStop();
  std::string confirmed = SlotColumn("confirmed_flush_lsn");
  Sql("SELECT pg_drop_replication_slot('" + slot_ + "')");
  Sql("INSERT INTO t VALUES (100, 'lost')");
  ExpectStopsTwice("no longer exists", low, confirmed);
  EXPECT_EQ(SlotColumn("count(*)"), "0");  // not silently made again
}

TEST_F(SlotGoneTest, InvalidatedWhileStreamingStopsWithExit6) {
  auto run = StartRun();
  ASSERT_TRUE(WaitCaughtUp(run.get())) << run->Log();
  std::string low = Sql("SELECT pg_current_wal_insert_lsn()");
  Sql("INSERT INTO t SELECT g, 'c' || g FROM generate_series(21, 30) g");
  ASSERT_TRUE(WaitCaughtUp(run.get())) << run->Log();
  // An open transaction that wrote keeps the slot's restart_lsn where it began, however far run confirms.
  auto holder = pg::PgConnection::Connect(pg().Conninfo(db_));
  ASSERT_TRUE(holder.ok()) << holder.status().ToString();
  ASSERT_TRUE(holder->Run("BEGIN; INSERT INTO filler (v) VALUES ('held')").ok());
  ASSERT_TRUE(Invalidate()) << pg().LogTail() << run->Log();
  ASSERT_TRUE(holder->Run("ROLLBACK").ok());
  ASSERT_EQ(run->Wait(60000), kExitPrecondition) << run->Log();
  // run confirmed up to its end: the needed LSN is at most what had been written by then.
  ExpectMessage(run->Log(), "was invalidated by PostgreSQL", low, Sql("SELECT pg_current_wal_insert_lsn()"));
}

TEST_F(SlotGoneTest, DroppedWhileStreamingStopsWithExit6) {
  auto run = StartRun();
  ASSERT_TRUE(WaitCaughtUp(run.get())) << run->Log();
  std::string low = Sql("SELECT pg_current_wal_insert_lsn()");
  Sql("INSERT INTO t SELECT g, 'c' || g FROM generate_series(21, 30) g");
  ASSERT_TRUE(WaitCaughtUp(run.get())) << run->Log();
  // The walsender holds the slot: end it and drop the slot before run reconnects.
  Sql("DO $$ BEGIN LOOP BEGIN "
      "PERFORM pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '" + slot_ + "' "
      "AND active_pid IS NOT NULL; PERFORM pg_drop_replication_slot('" + slot_ + "'); RETURN; "
      "EXCEPTION WHEN object_in_use THEN PERFORM pg_sleep(0.01); END; END LOOP; END $$");
  ASSERT_EQ(run->Wait(60000), kExitPrecondition) << run->Log();
  // run confirmed (idle keepalives included) until the drop: at most what had been written by then.
  ExpectMessage(run->Log(), "no longer exists", low, Sql("SELECT pg_current_wal_insert_lsn()"));
  EXPECT_EQ(SlotColumn("count(*)"), "0");
}

}  // namespace
}  // namespace cdc::testing
