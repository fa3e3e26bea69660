// CaptureState on a local store: the parallel snapshot's plan and per-range positions, the Kafka path's
// sent_upto / uncertain_upto survive a write and a read (a resume and the stream filter depend on them),
// a linear position of an earlier version reads as one range per table, and a damaged one is named in
// the error.
#include "jobs/capture_state.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace cdc::jobs {
namespace {

class CaptureStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("capture-state-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto s = CaptureState::Open(dir_.string(), store::StoreOptions{});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    state_ = std::move(*s);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Range 0 read whole, range 1 (the open one) up to `key`, range 2 whole.
  static pg::ParallelSnapshotPosition Position(std::vector<std::string> key, uint64_t rows) {
    pg::ParallelSnapshotPosition p;
    p.done_below = 1;
    p.ranges[1] = pg::RangePosition{std::move(key), false, rows};
    p.ranges[2] = pg::RangePosition{{"900"}, true, 400};
    p.rows = rows + 1000;
    return p;
  }

  std::filesystem::path dir_;
  std::unique_ptr<CaptureState> state_;
};

TEST_F(CaptureStateTest, SentUptoAndUncertainUptoRoundTrip) {
  SnapshotMarker m;
  m.slot = "cdcpipe";
  m.database = "shop";
  m.system_identifier = "7361";
  m.snapshot_lsn = Lsn(0x2610A98);
  m.ranges = {{0, "public.big", std::nullopt, "5000"}, {0, "public.big", "5000", std::nullopt}, {1, "public.nokey", {}, {}}};
  m.position = Position({"3000"}, 3000);
  m.sent_upto = pg::ParallelSnapshotPosition::End(3);
  SnapshotResume first;
  first.from = Position({"1005"}, 1000);
  first.view.snapshot = "770:770:";
  first.view.wal_insert_lsn = Lsn(0x1D89F20);
  first.uncertain_upto = Position({"8008"}, 4000);
  m.resumes.push_back(first);
  SnapshotResume second;
  second.from = Position({"3000"}, 3000);
  second.view.snapshot = "801:805:802";
  second.view.wal_insert_lsn = Lsn(0x1D9C418);
  m.resumes.push_back(second);
  ASSERT_TRUE(state_->Write(m).ok());

  auto read = state_->Read("cdcpipe");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_TRUE(read->has_value());
  const SnapshotMarker& r = **read;
  EXPECT_EQ(r.ranges, m.ranges);
  EXPECT_EQ(r.position, m.position);
  ASSERT_TRUE(r.sent_upto);
  EXPECT_TRUE(r.sent_upto->Done(2));
  ASSERT_EQ(r.resumes.size(), 2u);
  EXPECT_EQ(r.resumes[0].uncertain_upto, first.uncertain_upto);
  EXPECT_EQ(r.resumes[0].from, first.from);
  EXPECT_EQ(r.resumes[1].from, second.from);
  EXPECT_FALSE(r.resumes[1].uncertain_upto);  // `run`, or nothing sent past the position

  // Completed: the resumes (and their ranges) stay for the stream filter; sent_upto goes.
  SnapshotMarker done = r;
  done.complete = true;
  done.position.reset();
  done.sent_upto.reset();
  ASSERT_TRUE(state_->Write(done).ok());
  auto again = state_->Read("cdcpipe");
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_FALSE((*again)->sent_upto);
  ASSERT_EQ((*again)->resumes.size(), 2u);
  EXPECT_TRUE((*again)->resumes[0].uncertain_upto);
}

TEST_F(CaptureStateTest, ALinearPositionOfAnEarlierVersionIsOneRangePerTable) {
  std::ofstream(dir_ / "slot-cdcpipe.json")
      << R"({"format":1,"slot":"cdcpipe","database":"shop","system_identifier":"7361","snapshot":"pending",)"
      << R"("snapshot_lsn":"0/2610A98","position":{"table_index":1,"table":"public.b","key":["41"],"resumable":true,)"
      << R"("rows":91,"table_rows":41}})" << "\n";
  auto read = state_->Read("cdcpipe");
  ASSERT_TRUE(read.ok() && read->has_value()) << read.status().ToString();
  const SnapshotMarker& m = **read;
  EXPECT_TRUE(m.ranges.empty());
  ASSERT_TRUE(m.position);
  EXPECT_EQ(m.position->done_below, 1u);
  EXPECT_EQ(m.position->rows, 91u);
  EXPECT_TRUE(m.position->resumable);
  ASSERT_EQ(m.position->ranges.count(1), 1u);
  EXPECT_EQ(m.position->ranges.at(1), (pg::RangePosition{{"41"}, false, 41}));
}

TEST_F(CaptureStateTest, ADamagedRangeIsNamed) {
  for (const auto& [json, what] : std::vector<std::pair<std::string, std::string>>{
           {R"("sent_upto":"10050")", "has a bad \"sent_upto\""},
           {R"("ranges":[{"table_index":0,"table":"public.big","lo":5000}])", "has a bad \"ranges\""},
           {R"("position":{"done_below":0,"ranges":[{"range":"1","key":["1"]}]})", "has a bad \"position\""},
           {R"("resumes":[{"from":{"table_index":0,"key":["1"]},"snapshot":"1:1:","wal_insert_lsn":"0/1",)"
            R"("uncertain_upto":{"table_index":0,"key":[8008]}}])",
            "has a bad \"resumes\" (uncertain_upto)"}}) {
    SCOPED_TRACE(json);
    std::ofstream(dir_ / "slot-cdcpipe.json")
        << R"({"format":1,"slot":"cdcpipe","database":"shop","system_identifier":"7361","snapshot":"pending",)"
        << R"("snapshot_lsn":"0/2610A98",)" << json << "}\n";
    auto read = state_->Read("cdcpipe");
    ASSERT_FALSE(read.ok());
    EXPECT_TRUE(read.status().IsCorruption()) << read.status().ToString();
    EXPECT_NE(read.status().message().find(what), std::string::npos) << read.status().ToString();
    EXPECT_NE(read.status().message().find("slot-cdcpipe.json"), std::string::npos) << read.status().ToString();
  }
}

}  // namespace
}  // namespace cdc::jobs
