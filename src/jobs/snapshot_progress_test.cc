#include "jobs/snapshot_progress.h"

#include <gtest/gtest.h>

namespace cdc::jobs {
namespace {

constexpr int64_t kSec = 1000000;

TEST(SnapshotProgressTracker, RatesAndEtaPerTableAndOverall) {
  SnapshotProgressTracker t;
  t.Start({{"public.a", 1000}, {"public.b", 4000}}, 0, 0, 0, false, 10 * kSec, 500);
  const SnapshotProgress& p = t.progress();
  EXPECT_EQ(p.state, "running");
  EXPECT_FALSE(p.resumed);
  ASSERT_EQ(p.tables.size(), 2u);
  EXPECT_EQ(p.tables[0].state, "waiting");
  EXPECT_EQ(p.rows_estimated, 5000u);
  EXPECT_FALSE(p.eta_seconds);  // no rate yet

  t.Update(0, 0, false, 10 * kSec, 500);
  t.Update(0, 500, false, 12 * kSec, 2500);  // 500 rows in 2 s
  EXPECT_EQ(p.tables[0].state, "reading");
  EXPECT_EQ(p.tables[0].rows_done, 500u);
  EXPECT_DOUBLE_EQ(p.tables[0].rows_per_second, 250);
  EXPECT_DOUBLE_EQ(*p.tables[0].eta_seconds, 2);  // 500 left at 250/s
  EXPECT_EQ(p.rows_done, 500u);
  EXPECT_DOUBLE_EQ(p.rows_per_second, 250);
  EXPECT_DOUBLE_EQ(*p.eta_seconds, 18);  // 4500 left at 250/s
  EXPECT_EQ(p.updated_at_ms, 2500);

  // a is done after 1000 rows in 4 s; b reads 1000 rows in 1 s.
  t.Update(0, 1000, true, 14 * kSec, 4500);
  t.Update(1, 0, false, 14 * kSec, 4500);
  t.Update(1, 1000, false, 15 * kSec, 5500);
  EXPECT_EQ(p.tables[0].state, "done");
  EXPECT_DOUBLE_EQ(*p.tables[0].eta_seconds, 0);
  EXPECT_DOUBLE_EQ(p.tables[0].rows_per_second, 250);  // frozen at its end
  EXPECT_DOUBLE_EQ(p.tables[1].rows_per_second, 1000);
  EXPECT_DOUBLE_EQ(*p.tables[1].eta_seconds, 3);
  EXPECT_EQ(p.rows_done, 2000u);
  EXPECT_DOUBLE_EQ(p.rows_per_second, 400);  // 2000 rows in 5 s
  EXPECT_DOUBLE_EQ(*p.eta_seconds, 7.5);     // 3000 left at 400/s

  t.Finish("complete", 16 * kSec, 6500);
  EXPECT_EQ(p.state, "complete");
  EXPECT_EQ(p.tables[1].state, "done");
  EXPECT_DOUBLE_EQ(*p.eta_seconds, 0);
}

TEST(SnapshotProgressTracker, ResumedSnapshotCountsEarlierRowsButNotInTheRate) {
  SnapshotProgressTracker t;
  // Earlier runs read table 0 whole (700 rows) and 300 rows of table 1.
  t.Start({{"public.a", 700}, {"public.b", 1300}, {"public.c", std::nullopt}}, 1, 1000, 300, true, 0, 0);
  const SnapshotProgress& p = t.progress();
  EXPECT_TRUE(p.resumed);
  EXPECT_EQ(p.tables[0].state, "done");
  EXPECT_FALSE(p.tables[0].rows_done);  // not known per table after a restart
  EXPECT_EQ(p.tables[1].rows_done, 300u);
  EXPECT_EQ(p.rows_done, 1000u);
  EXPECT_FALSE(p.rows_estimated);  // public.c was never analyzed
  t.Update(1, 300, false, 0, 0);
  t.Update(1, 800, false, 2 * kSec, 0);  // 500 of this run's rows in 2 s
  EXPECT_DOUBLE_EQ(p.tables[1].rows_per_second, 250);
  EXPECT_DOUBLE_EQ(*p.tables[1].eta_seconds, 2);
  EXPECT_EQ(p.rows_done, 1500u);
  EXPECT_FALSE(p.eta_seconds);  // public.c has no estimate
  t.Update(1, 1300, true, 3 * kSec, 0);
  t.Update(2, 0, false, 3 * kSec, 0);
  t.Update(2, 10, false, 4 * kSec, 0);
  EXPECT_FALSE(p.tables[2].eta_seconds);
  EXPECT_EQ(p.tables[1].state, "done");
  t.Finish("stopped", 5 * kSec, 0);
  EXPECT_EQ(p.state, "stopped");
  EXPECT_FALSE(p.eta_seconds);
}

TEST(SnapshotProgressTracker, MoreRowsThanEstimatedHasNoEta) {
  SnapshotProgressTracker t;
  t.Start({{"public.a", 100}}, 0, 0, 0, false, 0, 0);
  t.Update(0, 150, false, kSec, 0);
  EXPECT_FALSE(t.progress().tables[0].eta_seconds);
  EXPECT_EQ(t.progress().rows_estimated, 150u);  // never below what was read
}

TEST(FormatSnapshotProgressLine, ShowsTotalsAndTheTableBeingRead) {
  SnapshotProgressTracker t;
  t.Start({{"public.a", 1000}, {"public.b\x1b[2J", 3000}}, 0, 0, 0, false, 0, 0);
  t.Update(0, 0, false, 0, 0);
  t.Update(0, 1000, true, 2 * kSec, 0);
  t.Update(1, 0, false, 2 * kSec, 0);
  t.Update(1, 1000, false, 4 * kSec, 0);
  EXPECT_EQ(FormatSnapshotProgressLine(t.progress()),
            "snapshot 50.0% (2000 of ~4000 rows, 500 rows/s, ~4 s left), 1/2 tables done, reading public.b?[2J 33.3%");
  t.Finish("stopped", 5 * kSec, 0);
  EXPECT_EQ(FormatSnapshotProgressLine(t.progress()),
            "snapshot 50.0% (2000 of ~4000 rows, 400 rows/s), 1/2 tables done, reading public.b?[2J 33.3% [stopped]");
  SnapshotProgressTracker u;
  u.Start({{"public.x", std::nullopt}}, 0, 0, 0, false, 0, 0);
  u.Update(0, 0, false, 0, 0);
  u.Update(0, 10, false, kSec, 0);
  EXPECT_EQ(FormatSnapshotProgressLine(u.progress()), "snapshot (10 rows, 10 rows/s), 0/1 tables done, reading public.x");
}

}  // namespace
}  // namespace cdc::jobs
