// Issue 19 item 2: a replication connection that hangs instead of closing is detected and replaced.
// `cdcpipe run` reaches PostgreSQL through TcpProxy (tests/support/tcp_proxy.h); the test black-holes
// every established connection (open, silent, never closed, as a dropped NAT entry or a paused VM
// leaves it) while a workload runs. With source.replication_timeout = 4s capture must notice the
// silence, reconnect (the proxy forwards new connections), and commit every change exactly once; the
// replacement shows on /api/status and /metrics. Without the timeout the pipeline stalls for good.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "raw_output.h"
#include "support/tcp_proxy.h"
#include "support/test_env.h"

namespace cdc::testing {
namespace {

class HungConnectionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = pg().CreateTestDatabase();
    slot_ = db_;
    Sql("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, 'r' || g FROM generate_series(1, 50) g");
  }
  void TearDown() override { pg().DropSlots(db_); }
  static PgCluster& pg() { return PgCluster::Shared(); }
  std::string Sql(const std::string& sql) { return pg().Psql(db_, sql); }

  std::unique_ptr<BackgroundProcess> StartRun(const std::string& replication_timeout) {
    WriteFile(dir_ / "empty.yaml", "");
    http_port_ = FreePort();
    std::string db = "postgresql://postgres@127.0.0.1:" + std::to_string(proxy_.port()) + "/" + db_;
    return std::make_unique<BackgroundProcess>(
        std::vector<std::string>{CdcpipeBin(), "run", "--config", dir_ / "empty.yaml", "--db", db, "--output",
                                 dir_ / "out", "--slot", slot_, "--publication", slot_, "--trigger", "200ms",
                                 "--heartbeat", "0", "--http", "127.0.0.1:" + std::to_string(http_port_),
                                 "--tables", "t", "--replication-timeout", replication_timeout},
        dir_ / "run.log");
  }
  // Waits until the slot (read straight from PostgreSQL, not through the proxy) confirmed everything
  // written so far; run confirms only after commits.
  bool WaitCaughtUp(BackgroundProcess* p, int timeout_ms) {
    std::string target = Sql("SELECT pg_current_wal_insert_lsn()");
    return WaitFor(
        [&] {
          return p->Running() && Sql("SELECT coalesce((SELECT confirmed_flush_lsn >= '" + target +
                                     "'::pg_lsn FROM pg_replication_slots WHERE slot_name = '" + slot_ +
                                     "'), false)") == "t";
        },
        timeout_ms);
  }
  std::string Get(const std::string& path) {
    CommandResult r = RunCommand({"curl", "-sS", "http://127.0.0.1:" + std::to_string(http_port_) + path});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    return r.out;
  }
  // The workload while the connections hang: inserts, updates, deletes in several transactions.
  void Workload() {
    Sql("INSERT INTO t SELECT g, 'c' || g FROM generate_series(51, 150) g");
    Sql("UPDATE t SET v = v || '!' WHERE id <= 30");
    Sql("DELETE FROM t WHERE id BETWEEN 141 AND 150");
  }

  TempDir dir_{"cdcpipe-hung-test"};
  TcpProxy proxy_{"127.0.0.1", PgCluster::Shared().port()};
  std::string db_, slot_;
  int http_port_ = 0;
};

TEST_F(HungConnectionTest, BlackHoledReplicationConnectionIsReplacedAndNothingIsLost) {
  auto run = StartRun("4s");
  // Streaming, not only the snapshot: the slot confirms past a message written after the start only
  // from the stream (a replication connection black-holed before START_REPLICATION is answered is
  // bounded by TCP_USER_TIMEOUT, which a userspace proxy cannot trigger; docs/RELIABILITY.md).
  ASSERT_TRUE(WaitFor([&] { return Sql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '" + slot_ +
                                        "'") == "1"; },
                      60000))
      << run->Log();
  Sql("SELECT pg_logical_emit_message(false, 'hung-test', 'streaming?')");  // after the slot's start
  ASSERT_TRUE(WaitCaughtUp(run.get(), 60000)) << run->Log();
  uint64_t accepted_before = proxy_.accepted();
  ASSERT_GE(proxy_.BlackHoleAll(), 1);
  auto hung_at = std::chrono::steady_clock::now();
  Workload();
  ASSERT_TRUE(WaitCaughtUp(run.get(), 90000)) << run->Log();
  auto recovered_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - hung_at).count();
  // Printed for docs/RELIABILITY.md, never asserted.
  std::printf("[ measured ] black hole -> caught up again: %lld ms (replication timeout 4 s)\n",
              static_cast<long long>(recovered_ms));
  EXPECT_GT(proxy_.accepted(), accepted_before) << "no new connection was made";
  EXPECT_NE(run->Log().find("sent nothing for"), std::string::npos) << run->Log();

  // The replacement is visible: an error of the capture stage in /api/status and /metrics.
  ASSERT_TRUE(WaitFor(
      [&] {
        auto j = nlohmann::json::parse(Get("/api/status"), nullptr, false);
        if (j.is_discarded()) return false;
        for (const auto& st : j["stages"]) {
          if (st["name"] == "capture") return st["errors_total"].get<int>() >= 1;
        }
        return false;
      },
      10000))
      << Get("/api/status");
  std::string status = Get("/api/status");
  EXPECT_NE(status.find("replication connection replaced"), std::string::npos) << status;
  std::string metrics = Get("/metrics");
  EXPECT_EQ(metrics.find("cdcpipe_errors_total{stage=\"capture\"} 0\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("cdcpipe_errors_total{stage=\"capture\"}"), std::string::npos) << metrics;
  ASSERT_EQ(run->Stop(SIGINT), 0) << run->Log();

  // Nothing lost, nothing twice: the committed events equal the source's changes.
  std::vector<RawRow> rows = ReadCommitted(dir_ / "out", dir_ / "files.csv");
  auto counts = CheckExactlyOnce(rows, /*contiguous=*/true);
  EXPECT_EQ(counts["t r"], 50);
  EXPECT_EQ(counts["t c"], 100);
  EXPECT_EQ(counts["t u"], 30);
  EXPECT_EQ(counts["t d"], 10);
}

}  // namespace
}  // namespace cdc::testing
