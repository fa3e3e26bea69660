// Crash tests of the exactly-once protocol (docs/STREAM.md): kill -9 `cdcpipe run` and `cdcpipe stream`
// at random moments during a workload, restarting each time, and crash at the named failpoints; the
// committed output must then hold every change exactly once, with contiguous offsets.
#include <gtest/gtest.h>

#include "base/failpoint.h"
#include "stream_harness.h"

namespace cdc::testing {
namespace {

class CrashTest : public PipelineHarness {};

// 50,000 changes (25,000 inserts, 15,000 updates, 10,000 deletes + tombstones), run killed 10 times.
TEST_F(CrashTest, EmbeddedRunSurvivesKill9AtRandomMoments) {
  auto run = StartRun({"--max-batch-rows", "2000"});
  ASSERT_TRUE(WaitCommittedRows(snapshot_rows_)) << run->Log();  // the snapshot is committed
  auto workload = StartWorkload(25000, 15000, 10000);
  std::uniform_int_distribution<int> pause(100, 1500);
  int kills = 0;
  for (; kills < 10; ++kills) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause(rng_)));  // a random moment, not a timing assertion
    run->Kill9();
    run = StartRun({"--max-batch-rows", "2000"});
  }
  ASSERT_EQ(workload->Wait(300000), 0) << ReadFile(dir_ / "workload.log");
  ASSERT_TRUE(WaitSlotCaughtUp(run.get())) << run->Log();
  ASSERT_EQ(run->Stop(SIGINT), 0) << run->Log();
  EXPECT_EQ(kills, 10);
  CheckWorkload(25000, 15000, 10000, /*snapshot=*/true);
}

// A crash after the plan, after the files and after the commit point (before MarkDurable), each
// followed by a clean restart.
TEST_F(CrashTest, EmbeddedRunFailpoints) {
  auto run = StartRun();
  ASSERT_TRUE(WaitCommittedRows(snapshot_rows_)) << run->Log();
  ASSERT_EQ(run->Stop(SIGINT), 0);
  int inserted = 0;
  for (const char* fp : {"run.after_offsets_planned", "run.after_files_written", "run.after_metadata_committed"}) {
    SCOPED_TRACE(fp);
    auto crashing = StartRun({}, {{"CDCPIPE_FAILPOINTS", std::string(fp) + "=crash"}});
    Sql("INSERT INTO klienci SELECT 3000000 + " + std::to_string(inserted) + " + g, 'F', NULL, 'Polska', NULL FROM "
        "generate_series(1, 100) g");
    inserted += 100;
    EXPECT_EQ(crashing->Wait(60000), kFailpointExitCode) << crashing->Log();
    auto clean = StartRun();
    ASSERT_TRUE(WaitSlotCaughtUp(clean.get())) << clean->Log();
    ASSERT_EQ(clean->Stop(SIGINT), 0) << clean->Log();
  }
  std::vector<RawRow> rows = ReadCommitted(Out(), dir_ / "files.csv");
  auto counts = CheckExactlyOnce(rows, true);
  EXPECT_EQ(counts["klienci c"], inserted);
  EXPECT_EQ(counts["klienci r"], klienci_);
}

// An initial snapshot larger than --max-batch-rows is committed in several batches, each ending at a
// chunk end; a crash after the second one makes the restart resume the snapshot after the committed
// chunks (issue 18): nothing is withdrawn (the file-sink log holds only "add" entries) and nothing is
// committed twice. Rows the old snapshot committed and that are deleted before the restart get their
// delete events from the stream, so `cdcpipe batch` and the live views agree with PostgreSQL.
TEST_F(CrashTest, CrashDuringTheInitialSnapshotResumesAfterItsCommittedPart) {
  ASSERT_GT(snapshot_rows_, 1500);
  // One reader: the committed part is then exactly the first 1,000 rows in the tables' order.
  const std::vector<std::string> args = {"--max-batch-rows", "500", "--snapshot-chunk-rows", "250",
                                         "--snapshot-parallelism", "1"};
  auto crashing = StartRun(args, {{"CDCPIPE_FAILPOINTS", "run.after_metadata_committed=crash:2"}});
  ASSERT_EQ(crashing->Wait(120000), kFailpointExitCode) << crashing->Log();
  std::vector<RawRow> before = ReadCommitted(Out(), dir_ / "files.csv");
  EXPECT_EQ(before.size(), 1000u);  // two batches of two chunks each
  // Rows the interrupted snapshot committed, deleted before the restart: the stream deletes them.
  Sql("DELETE FROM klienci WHERE id IN (SELECT id FROM klienci ORDER BY id LIMIT 100)");

  auto run = StartRun(args);
  ASSERT_TRUE(WaitCommittedRows(snapshot_rows_ + 200)) << run->Log();
  Sql("INSERT INTO klienci SELECT 4000000 + g, 'S', NULL, 'Polska', NULL FROM generate_series(1, 50) g");
  ASSERT_TRUE(WaitSlotCaughtUp(run.get())) << run->Log();
  ASSERT_EQ(run->Stop(SIGINT), 0) << run->Log();
  EXPECT_NE(run->Log().find("capture: resuming the initial snapshot of slot \"cdcpipe\""), std::string::npos)
      << run->Log();
  EXPECT_NE(run->Log().find("after 1000 durable rows"), std::string::npos) << run->Log();
  EXPECT_EQ(run->Log().find("withdrew"), std::string::npos) << run->Log();

  std::vector<RawRow> rows = ReadCommitted(Out(), dir_ / "files.csv");
  auto counts = CheckExactlyOnce(rows, /*contiguous=*/true);
  EXPECT_EQ(counts["klienci r"], klienci_);
  EXPECT_EQ(counts["klienci d"], 100);
  EXPECT_EQ(counts["klienci c"], 50);
  EXPECT_EQ(static_cast<int64_t>(rows.size()), snapshot_rows_ + 200 + 50);
  MetadataCheck m = ReadSparkMetadata(Out());
  EXPECT_EQ(ReadFile(Out() + "/raw-kafka-data/_spark_metadata/" + std::to_string(m.latest)).find("\"delete\""),
            std::string::npos);

  // The seed views: the live result `run` left, then `cdcpipe batch --full`, both equal PostgreSQL's count.
  auto klienci_total = [&] {
    std::string t = DuckDbQuery("SELECT CAST(sum(count) AS BIGINT) FROM read_parquet('" + Out() +
                                "/klienci-by-country/*.parquet')");
    return t.size() > 1 ? std::stoll(t.substr(1)) : -1;
  };
  const int64_t want = std::stoll(Sql("SELECT count(*) FROM klienci"));
  EXPECT_EQ(klienci_total(), want) << "live result";
  auto batch = RunCommand({CdcpipeBin(), "batch", "--output", Out(), "--full", "--db", pg().Uri(db_), "--views",
                           SourceDir() + "/views/seed.sql"});
  ASSERT_EQ(batch.exit_code, 0) << batch.Describe();
  EXPECT_EQ(klienci_total(), want) << "batch --full";
}

// 10,000 changes through Kafka (capture keeps running), the stream killed 10 times. (10,000 rather
// than 50,000: the mock cluster keeps only ~5 MiB per partition and the group rejoin after each kill
// takes the session timeout.)
TEST_F(CrashTest, StreamSurvivesKill9AtRandomMoments) {
  std::string brokers = StartKafka();
  auto capture = StartCapture(brokers);
  auto stream = StartStream(brokers);
  ASSERT_TRUE(WaitCommittedRows(snapshot_rows_)) << stream->Log() << capture->Log();
  auto workload = StartWorkload(5000, 3000, 2000);
  std::uniform_int_distribution<int> pause(200, 2500);
  int kills = 0;
  for (; kills < 10; ++kills) {
    std::this_thread::sleep_for(std::chrono::milliseconds(pause(rng_)));
    stream->Kill9();
    stream = StartStream(brokers);
  }
  ASSERT_EQ(workload->Wait(300000), 0) << ReadFile(dir_ / "workload.log");
  ASSERT_TRUE(WaitCommittedRows(snapshot_rows_ + 5000 + 3000 + 2 * 2000)) << stream->Log();
  ASSERT_EQ(stream->Stop(SIGINT), 0) << stream->Log();
  CheckWorkload(5000, 3000, 2000, /*snapshot=*/true);
}

// Crashes between the file write and the commit, and between the commit and the Kafka offset commit.
TEST_F(CrashTest, StreamFailpoints) {
  std::string brokers = StartKafka();
  auto capture = StartCapture(brokers);
  // Rows inserted before the snapshot is taken are snapshot reads (op r), not creates: wait for it.
  ASSERT_TRUE(WaitFor([&] { return capture->Log().find("snapshot complete") != std::string::npos; }, 60000))
      << capture->Log();
  int inserted = 0;
  int64_t expected = snapshot_rows_;
  for (const char* fp : {"stream.after_files_written", "stream.after_metadata_committed"}) {
    SCOPED_TRACE(fp);
    auto crashing = StartStream(brokers, {{"CDCPIPE_FAILPOINTS", std::string(fp) + "=crash"}});
    Sql("INSERT INTO klienci SELECT 4000000 + " + std::to_string(inserted) + " + g, 'F', NULL, 'Polska', NULL FROM "
        "generate_series(1, 100) g");
    inserted += 100;
    expected += 100;
    EXPECT_EQ(crashing->Wait(60000), kFailpointExitCode) << crashing->Log();
    auto clean = StartStream(brokers);
    ASSERT_TRUE(WaitCommittedRows(expected)) << clean->Log();
    ASSERT_EQ(clean->Stop(SIGINT), 0) << clean->Log();
  }
  std::vector<RawRow> rows = ReadCommitted(Out(), dir_ / "files.csv");
  auto counts = CheckExactlyOnce(rows, true);
  EXPECT_EQ(counts["klienci c"], inserted);
  EXPECT_EQ(counts["klienci r"], klienci_);
  EXPECT_EQ(static_cast<int64_t>(rows.size()), expected);
}

}  // namespace
}  // namespace cdc::testing
