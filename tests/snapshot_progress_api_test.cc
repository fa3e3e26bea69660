// The initial snapshot's progress (issue 18 item 4) as a running `cdcpipe run` shows it: /api/status,
// /metrics and `cdcpipe status`, read with curl and the CLI while the snapshot is paused at a known
// chunk (failpoint `capture.snapshot_chunk_done=pause:N`: the capture thread waits there until SIGINT),
// then after a restart that resumes it, until it is complete.
#include <gtest/gtest.h>

#include <csignal>
#include <regex>

#include <nlohmann/json.hpp>

#include "support/test_env.h"

namespace cdc::testing {
namespace {

class SnapshotProgressTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = pg().CreateTestDatabase(); }
  void TearDown() override { pg().DropSlots(db_); }
  static PgCluster& pg() { return PgCluster::Shared(); }
  std::string Sql(const std::string& sql) { return pg().Psql(db_, sql); }

  std::unique_ptr<BackgroundProcess> StartRun(const std::string& http, const std::string& log,
                                              const std::map<std::string, std::string>& env) {
    std::vector<std::string> argv = {CdcpipeBin(), "run", "--db", pg().Uri(db_), "--output", dir_ / "out",
                                     "--trigger", "200ms", "--heartbeat", "0", "--http", http, "--tables",
                                     "small,big", "--snapshot-chunk-rows", "1000",
                                     // one reader: the pause below is at a chunk end of a known table
                                     "--snapshot-parallelism", "1"};
    return std::make_unique<BackgroundProcess>(argv, dir_ / log, env);
  }
  // GET http://ADDR/PATH with curl; "" when it fails (not up yet).
  static std::string Get(const std::string& addr, const std::string& path) {
    auto r = RunCommand({"curl", "-sS", "--max-time", "10", "-f", "http://" + addr + path});
    return r.exit_code == 0 ? r.out : "";
  }
  static nlohmann::json Status(const std::string& addr) {
    std::string body = Get(addr, "/api/status");
    if (body.empty()) return nlohmann::json();
    return nlohmann::json::parse(body, nullptr, false);
  }

  TempDir dir_{"cdcpipe-snapshot-progress"};
  std::string db_;
};

TEST_F(SnapshotProgressTest, ProgressIsInApiStatusMetricsAndStatusDuringAndAfterTheSnapshot) {
  Sql("CREATE TABLE small (id int PRIMARY KEY, v text);"
      "INSERT INTO small SELECT g, 's' || g FROM generate_series(1, 500) g;"
      "CREATE TABLE big (id bigint PRIMARY KEY, pad text);"
      "INSERT INTO big SELECT g, repeat('p', 50) FROM generate_series(1, 20000) g;"
      "ANALYZE small; ANALYZE big;");
  const std::string addr = "127.0.0.1:" + std::to_string(FreePort());
  // chunk_done is reached at the end of small (1), then after big's chunks 1 and 2 (3): the snapshot
  // waits there with small read whole and 2000 rows of big.
  auto run = StartRun(addr, "run1.log", {{"CDCPIPE_FAILPOINTS", "capture.snapshot_chunk_done=pause:3"}});
  nlohmann::json st;
  ASSERT_TRUE(WaitFor(
      [&] {
        st = Status(addr);
        return !run->Running() || (st.is_object() && st["snapshot"].is_object() && st["snapshot"]["tables"].size() == 2 &&
                                   st["snapshot"]["tables"][1]["rows_done"] == 2000);
      },
      120000))
      << st.dump() << run->Log();
  ASSERT_TRUE(run->Running()) << run->Log();
  const auto& sn = st["snapshot"];
  EXPECT_EQ(sn["state"], "running");
  EXPECT_EQ(sn["resumed"], false);
  EXPECT_EQ(sn["rows_done"], 2500);
  EXPECT_EQ(sn["rows_estimated"], 20500);  // reltuples after ANALYZE
  EXPECT_GT(sn["rows_per_second"].get<double>(), 0);
  EXPECT_TRUE(sn["eta_seconds"].is_number()) << sn.dump();
  EXPECT_EQ(sn["tables"][0]["table"], "public.small");
  EXPECT_EQ(sn["tables"][0]["state"], "done");
  EXPECT_EQ(sn["tables"][0]["rows_done"], 500);
  EXPECT_EQ(sn["tables"][0]["rows_estimated"], 500);
  EXPECT_EQ(sn["tables"][1]["table"], "public.big");
  EXPECT_EQ(sn["tables"][1]["state"], "reading");
  EXPECT_EQ(sn["tables"][1]["rows_estimated"], 20000);
  EXPECT_EQ(sn["tables"][1]["percent"], 10.0);
  EXPECT_GT(sn["tables"][1]["eta_seconds"].get<double>(), 0);

  std::string metrics = Get(addr, "/metrics");
  EXPECT_NE(metrics.find("\ncdcpipe_snapshot_running 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\ncdcpipe_snapshot_rows{table=\"public.big\"} 2000\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\ncdcpipe_snapshot_rows_estimated{table=\"public.big\"} 20000\n"), std::string::npos);
  EXPECT_NE(metrics.find("\ncdcpipe_snapshot_rows{table=\"public.small\"} 500\n"), std::string::npos);

  auto status = RunCommand({CdcpipeBin(), "status", "--http", addr, "--component", "capture"});
  EXPECT_EQ(status.exit_code, 0) << status.Describe();
  EXPECT_TRUE(std::regex_search(status.out, std::regex("snapshot +ok +running 12\\.2% \\(2500 of ~20500 rows, \\d+ "
                                                       "rows/s, ETA \\d+ s\\), reading public\\.big 10\\.0%, 1/2 "
                                                       "tables done")))
      << status.out;

  ASSERT_EQ(run->Stop(SIGINT), 0) << run->Log();

  // The restart resumes after what the first run made durable, and runs to the end.
  auto resumed = StartRun(addr, "run2.log", {});
  ASSERT_TRUE(WaitFor(
      [&] {
        st = Status(addr);
        return !resumed->Running() || (st.is_object() && st["snapshot"].is_object() && st["snapshot"]["state"] == "complete");
      },
      120000))
      << st.dump() << resumed->Log();
  ASSERT_TRUE(resumed->Running()) << resumed->Log();
  const auto& done = st["snapshot"];
  EXPECT_EQ(done["resumed"], true);
  EXPECT_EQ(done["rows_done"], 20500);  // counting the rows of the first run
  EXPECT_EQ(done["eta_seconds"], 0.0);
  EXPECT_EQ(done["tables"][0]["state"], "done");
  EXPECT_EQ(done["tables"][1]["state"], "done");
  EXPECT_EQ(done["tables"][1]["rows_done"], 20000);
  EXPECT_EQ(done["tables"][1]["percent"], 100.0);
  std::smatch m;
  std::string log = resumed->Log();
  ASSERT_TRUE(std::regex_search(log, m, std::regex("after (\\d+) durable rows, at table public.big"))) << log;
  EXPECT_GE(std::stoll(m[1]), 2500);  // the first run's rows were not read again
  EXPECT_NE(Get(addr, "/metrics").find("\ncdcpipe_snapshot_running 0\n"), std::string::npos);
  ASSERT_EQ(resumed->Stop(SIGINT), 0) << resumed->Log();
}

}  // namespace
}  // namespace cdc::testing
