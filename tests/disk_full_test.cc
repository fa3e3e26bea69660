// Disk full (issue 19 item 3): `cdcpipe run` writes its output and its checkpoint (the default
// <output>/_checkpoints/stream) to a small tmpfs the test mounts (the tests run as root; a machine where
// mount(8) is refused fails here with mount's message, it is not skipped). The test fills the
// filesystem to the last byte while a workload runs: the pipeline must say which path it cannot write
// (stderr and /api/status), keep running, commit nothing partial (every `_spark_metadata` entry names a
// complete file, no temp file is left), and once the filler is removed resume by itself and commit every
// change exactly once; the live views then agree with PostgreSQL.
#include <gtest/gtest.h>
#include <sys/statvfs.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "stream_harness.h"

namespace cdc::testing {
namespace {

class DiskFullTest : public PipelineHarness {
 protected:
  void SetUp() override {
    PipelineHarness::SetUp();
    std::filesystem::create_directories(Out());
    // 32 MiB: the seed's snapshot, the views and the checkpoint fit many times over.
    CommandResult m = RunCommand({"mount", "-t", "tmpfs", "-o", "size=32m,mode=0777", "cdcpipe-disk-full", Out()});
    ASSERT_EQ(m.exit_code, 0) << "this test mounts a small tmpfs as the output (it needs root): " << m.Describe();
    mounted_ = true;
  }
  void TearDown() override {
    processes_.clear();
    if (mounted_) {
      CommandResult u = RunCommand({"umount", "-l", Out()});
      EXPECT_EQ(u.exit_code, 0) << u.Describe();
    }
    PipelineHarness::TearDown();
  }

  // Writes a filler file until the filesystem has no byte left (write(2) fails with ENOSPC).
  void FillDisk() {
    const std::string filler = Out() + "/filler";
    std::FILE* f = std::fopen(filler.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::string block(1 << 16, 'x');
    while (std::fwrite(block.data(), 1, block.size(), f) == block.size()) {
    }
    std::fclose(f);
    // The last partial block: single bytes until none fits.
    f = std::fopen(filler.c_str(), "a");
    ASSERT_NE(f, nullptr);
    std::setvbuf(f, nullptr, _IONBF, 0);
    while (std::fputc('x', f) != EOF) {
    }
    std::fclose(f);
    struct statvfs st {};
    ASSERT_EQ(statvfs(Out().c_str(), &st), 0);
    EXPECT_EQ(st.f_bavail, 0u) << "the filesystem still has free blocks";
  }

  std::string Get(const std::string& addr, const std::string& path) {
    auto r = RunCommand({"curl", "-sS", "--max-time", "10", "-f", "http://" + addr + path});
    return r.exit_code == 0 ? r.out : "";
  }

  bool mounted_ = false;
};

TEST_F(DiskFullTest, RunWaitsWhileTheOutputDiskIsFullAndResumesOnceSpaceIsFreed) {
  const std::string addr = "127.0.0.1:" + std::to_string(FreePort());
  auto run = StartRun({"--http", addr});
  ASSERT_TRUE(WaitCommittedRows(snapshot_rows_)) << run->Log();
  const int64_t before = static_cast<int64_t>(ReadCommittedRows().size());

  FillDisk();
  const size_t mark = run->Log().size();
  auto workload = StartWorkload(2000, 1000, 500, /*pause_ms=*/20);
  // stderr names the path it cannot write and the cause, and says it retries.
  auto since = [&] { return run->Log().substr(std::min(mark, run->Log().size())); };
  ASSERT_TRUE(WaitFor([&] { return since().find("No space left on device") != std::string::npos; }, 60000)) << since();
  std::string log = since();
  EXPECT_NE(log.find(Out() + "/"), std::string::npos) << "the error does not name the path:\n" << log;
  EXPECT_NE(log.find("retrying in"), std::string::npos) << log;
  // /api/status shows it too (the stage is retrying, the error names the path).
  nlohmann::json status;
  ASSERT_TRUE(WaitFor(
      [&] {
        status = nlohmann::json::parse(Get(addr, "/api/status"), nullptr, false);
        return status.is_object() && status.dump().find("No space left on device") != std::string::npos;
      },
      30000))
      << status.dump(2);
  EXPECT_NE(status.dump().find(Out() + "/"), std::string::npos) << status.dump(2);
  ASSERT_EQ(workload->Wait(120000), 0) << ReadFile(dir_ / "workload.log");

  // While the disk is full: still running, nothing partial committed, no temp file left behind.
  EXPECT_TRUE(run->Running()) << run->Log();
  std::vector<RawRow> rows = ReadCommittedRows();  // checks every listed file exists with its size
  CheckExactlyOnce(rows, /*contiguous=*/true);
  EXPECT_LT(static_cast<int64_t>(rows.size()), before + 2000 + 1000 + 2 * 500);
  for (const auto& e : std::filesystem::recursive_directory_iterator(Out())) {
    EXPECT_EQ(e.path().filename().string().find(".cdcpipe-tmp"), std::string::npos) << e.path();
  }

  // Space comes back: the pipeline resumes by itself.
  std::filesystem::remove(Out() + "/filler");
  ASSERT_TRUE(WaitCommittedRows(snapshot_rows_ + 2000 + 1000 + 2 * 500)) << since();
  ASSERT_TRUE(WaitSlotCaughtUp(run.get())) << run->Log();
  // The views are written again after the next batch: one more change makes sure one comes.
  Sql("INSERT INTO klienci VALUES (9000001, 'Po', NULL, 'Polska', NULL)");
  ASSERT_TRUE(WaitCommittedRows(snapshot_rows_ + 2000 + 1000 + 2 * 500 + 1)) << since();
  ASSERT_TRUE(WaitSlotCaughtUp(run.get())) << run->Log();
  const int64_t want = std::stoll(Sql("SELECT count(*) FROM klienci"));
  auto klienci_total = [&] {
    std::string t = DuckDbQuery("SELECT CAST(sum(count) AS BIGINT) FROM read_parquet('" + Out() +
                                "/klienci-by-country/*.parquet')");
    return t.size() > 1 ? std::stoll(t.substr(1)) : -1;
  };
  EXPECT_TRUE(WaitFor([&] { return klienci_total() == want; }, 30000)) << klienci_total() << " != " << want;
  ASSERT_EQ(run->Stop(SIGINT), 0) << run->Log();
  CheckWorkload(2000 + 1, 1000, 500, /*snapshot=*/true);
}

}  // namespace
}  // namespace cdc::testing
