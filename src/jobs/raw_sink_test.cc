// RawSink unit tests on a local store: the plan format, commits, compaction, and recovery after a
// failure at each failpoint (the `error` action stands in for a crash: nothing after it runs).
#include "jobs/raw_sink.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "base/clock.h"
#include "base/failpoint.h"
#include "jobs/observed_store.h"

namespace cdc::jobs {
namespace {

std::vector<RawEvent> Events(int n, int64_t first_offset) {
  std::vector<RawEvent> v;
  for (int i = 0; i < n; ++i) {
    RawEvent e;
    e.key = "{\"id\":" + std::to_string(first_offset + i) + "}";
    e.value = "{\"op\":\"c\"}";
    e.topic = "dbserver1.public.klienci";
    e.offset = first_offset + i;
    e.timestamp_us = 1764032400000000;
    v.push_back(e);
  }
  return v;
}

class RawSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("raw-sink-test-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto out = store::OpenStore(dir_.string() + "/out");
    auto cp = store::OpenStore(dir_.string() + "/cp");
    ASSERT_TRUE(out.ok() && cp.ok());
    out_ = std::move(*out);
    cp_ = std::move(*cp);
  }
  void TearDown() override {
    ::unsetenv("CDCPIPE_FAILPOINTS");
    FailpointReload();
    std::filesystem::remove_all(dir_);
  }
  std::unique_ptr<RawSink> Open(int64_t withdrawn_file_grace_ms = RawSinkOptions{}.withdrawn_file_grace_ms) {
    RawSinkOptions o;
    o.output = out_.get();
    o.checkpoint = cp_.get();
    o.validate_json = true;
    o.withdrawn_file_grace_ms = withdrawn_file_grace_ms;
    auto s = RawSink::Open(o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
  Status CommitNext(RawSink* sink, int n, int64_t first) {
    BatchPlan p;
    p.batch_id = sink->next_batch_id();
    p.start["dbserver1.public.klienci"][0] = first;
    p.end["dbserver1.public.klienci"][0] = first + n;
    p.source_lsn = Lsn(0x1000 + first);
    return sink->Commit(p, Events(n, first));
  }
  size_t DataFiles() {
    size_t n = 0;
    for (auto& e : std::filesystem::directory_iterator(dir_ / "out/raw-kafka-data"))
      if (e.path().filename().string().rfind("part-", 0) == 0) ++n;
    return n;
  }

  std::filesystem::path dir_;
  std::unique_ptr<store::ObjectStore> out_, cp_;
};

TEST(TableOfTopicTest, KeepsDotsInNamesAndNamesOtherSchemas) {
  EXPECT_EQ(TableOfTopic("dbserver1.public.klienci", "dbserver1"), "klienci");
  EXPECT_EQ(TableOfTopic("dbserver1.public.Dotted.Name \"q\"", "dbserver1"), "Dotted.Name \"q\"");
  EXPECT_EQ(TableOfTopic("dbserver1.sales.orders", "dbserver1"), "sales.orders");
  EXPECT_EQ(TableOfTopic("a.b.public.t", "a.b"), "t");  // a prefix with a dot
  // Unknown prefix, or a topic of another producer: the part after the last dot, as before.
  EXPECT_EQ(TableOfTopic("dbserver1.public.klienci", ""), "klienci");
  EXPECT_EQ(TableOfTopic("other.public.klienci", "dbserver1"), "klienci");
  EXPECT_EQ(TableOfTopic("plain", "dbserver1"), "plain");
}

TEST(BatchPlanTest, RoundTripAndCorruption) {
  BatchPlan p;
  p.batch_id = 7;
  p.timestamp_ms = 123;
  p.files = {"part-00000-x-c000.snappy.parquet"};
  p.start["t"][3] = 10;
  p.end["t"][3] = 20;
  p.end["u"][0] = 5;
  p.source_lsn = *Lsn::Parse("16/B374D848");
  p.source_skip = 42;
  std::string s = SerializeBatchPlan(p);
  auto back = ParseBatchPlan(s, "offsets/7");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->batch_id, 7);
  EXPECT_EQ(back->files, p.files);
  EXPECT_EQ(back->start, p.start);
  EXPECT_EQ(back->end, p.end);
  EXPECT_EQ(back->source_lsn, p.source_lsn);
  EXPECT_EQ(back->source_skip, 42u);
  EXPECT_TRUE(ParseBatchPlan("v2\n{}\n{}\n{}", "x").status().IsCorruption());
  EXPECT_TRUE(ParseBatchPlan(s.substr(0, s.size() - 3), "x").status().IsCorruption());
  auto bad = ParseBatchPlan("v1\n{\"batchId\":1}\n{}\n{}", "offsets/1");
  EXPECT_TRUE(bad.status().IsCorruption());
  EXPECT_NE(bad.status().message().find("offsets/1"), std::string::npos);
}

TEST_F(RawSinkTest, CommitsAndCompactsAtBatchNine) {
  auto sink = Open();
  for (int i = 0; i < 11; ++i) ASSERT_TRUE(CommitNext(sink.get(), 5, i * 5).ok());
  EXPECT_TRUE(std::filesystem::exists(dir_ / "out/raw-kafka-data/_spark_metadata/9.compact"));
  EXPECT_TRUE(std::filesystem::exists(dir_ / "out/raw-kafka-data/_spark_metadata/10"));
  auto compact = out_->Get("raw-kafka-data/_spark_metadata/9.compact");
  ASSERT_TRUE(compact.ok());
  auto entries = lake::SparkMetadataLog::Parse(*compact, "9.compact");
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(entries->size(), 10u);
  auto again = Open();
  EXPECT_EQ(again->recovery().last_committed, 10);
  EXPECT_EQ(again->recovery().next.at("dbserver1.public.klienci").at(0), 55);
  EXPECT_EQ(again->recovery().source_lsn, Lsn(0x1000 + 50));
  EXPECT_FALSE(again->recovery().pending);
  EXPECT_EQ(again->recovery().orphans_deleted, 0u);
}

TEST_F(RawSinkTest, RetractAllWithdrawsEveryCommittedFileUntilACompactionForgetsThem) {
  auto sink = Open();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(CommitNext(sink.get(), 5, i * 5).ok());
  BatchPlan w;
  w.batch_id = sink->next_batch_id();
  w.end["dbserver1.public.klienci"][0] = 15;
  auto n = sink->RetractAll(w);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 3u);
  auto meta = out_->Get("raw-kafka-data/_spark_metadata/3");
  ASSERT_TRUE(meta.ok());
  auto entries = lake::SparkMetadataLog::Parse(*meta, "3");
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 3u);
  for (const auto& e : *entries) EXPECT_EQ(e.action, "delete");
  // Nothing left to withdraw: no batch at all.
  w.batch_id = sink->next_batch_id();
  EXPECT_EQ(*sink->RetractAll(w), 0u);
  EXPECT_EQ(sink->next_batch_id(), 4);
  // Reopened: offsets continue after the withdrawn ones; the files stay while the log names them.
  auto again = Open();
  EXPECT_EQ(again->recovery().last_committed, 3);
  EXPECT_EQ(again->recovery().next.at("dbserver1.public.klienci").at(0), 15);
  EXPECT_EQ(again->recovery().orphans_deleted, 0u);
  EXPECT_EQ(DataFiles(), 3u);
  // Batch 9 compacts: the withdrawn paths drop out of the log, and the next Open deletes their files.
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(CommitNext(again.get(), 5, 15 + i * 5).ok());
  auto compact = out_->Get("raw-kafka-data/_spark_metadata/9.compact");
  ASSERT_TRUE(compact.ok());
  auto live = lake::SparkMetadataLog::Compact(*lake::SparkMetadataLog::Parse(*compact, "9.compact"));
  EXPECT_EQ(live.size(), 6u);
  auto third = Open();
  EXPECT_EQ(third->recovery().orphans_deleted, 3u);
  EXPECT_EQ(DataFiles(), 6u);
}

// Issue 18 item 5: a running sink deletes withdrawn files itself, once the compaction batch that stops
// naming them is committed and the grace period for readers that planned an older log has passed.
TEST_F(RawSinkTest, ARunningSinkDeletesWithdrawnFilesAfterTheCompactionAndTheGracePeriod) {
  constexpr int64_t kGraceMs = 60 * 1000;
  auto sink = Open(kGraceMs);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(CommitNext(sink.get(), 5, i * 5).ok());
  BatchPlan w;
  w.batch_id = sink->next_batch_id();
  w.end["dbserver1.public.klienci"][0] = 15;
  ASSERT_EQ(*sink->RetractAll(w), 3u);
  // Batches 4..8: the log still names the withdrawn files (add + delete), so they stay.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(CommitNext(sink.get(), 5, 15 + i * 5).ok());
  EXPECT_EQ(sink->withdrawn_files_waiting(), 0u);
  EXPECT_EQ(DataFiles(), 8u);
  // Batch 9 compacts them away; they wait for the grace period, even through further commits.
  ASSERT_TRUE(CommitNext(sink.get(), 5, 40).ok());
  ASSERT_TRUE(out_->Get("raw-kafka-data/_spark_metadata/9.compact").ok());
  EXPECT_EQ(sink->withdrawn_files_waiting(), 3u);
  ASSERT_TRUE(CommitNext(sink.get(), 5, 45).ok());
  EXPECT_EQ(DataFiles(), 10u);
  EXPECT_EQ(sink->DeleteWithdrawnFiles(WallMillis() + kGraceMs / 2), 0u);
  EXPECT_EQ(DataFiles(), 10u);
  // Past the grace period: deleted by the running sink, no restart needed; the live ones stay.
  EXPECT_EQ(sink->DeleteWithdrawnFiles(WallMillis() + kGraceMs + 1000), 3u);
  EXPECT_EQ(sink->withdrawn_files_waiting(), 0u);
  EXPECT_EQ(sink->stats().withdrawn_deleted, 3u);
  EXPECT_EQ(DataFiles(), 7u);
  auto compact = out_->Get("raw-kafka-data/_spark_metadata/9.compact");
  auto live = lake::SparkMetadataLog::Compact(*lake::SparkMetadataLog::Parse(*compact, "9.compact"));
  ASSERT_EQ(live.size(), 6u);  // batches 4..9; batch 10 is in its own file
  for (const auto& e : live) {
    EXPECT_TRUE(std::filesystem::exists(dir_ / "out/raw-kafka-data" / e.path.substr(e.path.rfind('/') + 1))) << e.path;
  }
  // A reopened sink finds nothing left to clean.
  auto again = Open(kGraceMs);
  EXPECT_EQ(again->recovery().orphans_deleted, 0u);
}

// With a grace period of 0 the compaction batch's own commit deletes them.
TEST_F(RawSinkTest, WithNoGracePeriodTheCompactionBatchDeletesWithdrawnFiles) {
  auto sink = Open(0);
  ASSERT_TRUE(CommitNext(sink.get(), 5, 0).ok());
  BatchPlan w;
  w.batch_id = sink->next_batch_id();
  w.end["dbserver1.public.klienci"][0] = 5;
  ASSERT_EQ(*sink->RetractAll(w), 1u);
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(CommitNext(sink.get(), 5, 5 + i * 5).ok());
  EXPECT_EQ(DataFiles(), 8u);
  ASSERT_TRUE(CommitNext(sink.get(), 5, 40).ok());  // batch 9, the compaction
  EXPECT_EQ(DataFiles(), 8u);
  EXPECT_EQ(sink->stats().withdrawn_deleted, 1u);
}

TEST_F(RawSinkTest, FailureAfterFilesLeavesAnOrphanThatRecoveryDeletes) {
  auto sink = Open();
  ASSERT_TRUE(CommitNext(sink.get(), 3, 0).ok());
  ::setenv("CDCPIPE_FAILPOINTS", "stream.after_files_written=error", 1);
  FailpointReload();
  Status st = CommitNext(sink.get(), 3, 3);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(DataFiles(), 2u);  // batch 1's file is written but not committed
  EXPECT_FALSE(std::filesystem::exists(dir_ / "out/raw-kafka-data/_spark_metadata/1"));
  ::unsetenv("CDCPIPE_FAILPOINTS");
  FailpointReload();
  auto again = Open();
  EXPECT_EQ(again->recovery().last_committed, 0);
  ASSERT_TRUE(again->recovery().pending);
  EXPECT_EQ(again->recovery().pending->batch_id, 1);
  EXPECT_EQ(again->recovery().pending->start.at("dbserver1.public.klienci").at(0), 3);
  EXPECT_EQ(again->recovery().orphans_deleted, 1u);
  EXPECT_EQ(DataFiles(), 1u);
  // The redo uses the planned name.
  BatchPlan redo = *again->recovery().pending;
  ASSERT_TRUE(again->Commit(redo, Events(3, 3)).ok());
  EXPECT_TRUE(std::filesystem::exists(dir_ / ("out/raw-kafka-data/" + redo.files[0])));
}

TEST_F(RawSinkTest, FailureAfterTheCommitPointKeepsTheBatch) {
  auto sink = Open();
  ::setenv("CDCPIPE_FAILPOINTS", "stream.after_metadata_committed=error", 1);
  FailpointReload();
  EXPECT_FALSE(CommitNext(sink.get(), 4, 0).ok());
  ::unsetenv("CDCPIPE_FAILPOINTS");
  FailpointReload();
  auto again = Open();
  EXPECT_EQ(again->recovery().last_committed, 0);
  EXPECT_EQ(again->recovery().next.at("dbserver1.public.klienci").at(0), 4);
  EXPECT_FALSE(again->recovery().pending);
  EXPECT_EQ(DataFiles(), 1u);
}


// A store that carries out the first `_spark_metadata` PutIfAbsent and then reports it failed, as
// when the connection drops before S3's answer arrives.
class LostAnswerStore : public store::ObjectStore {
 public:
  explicit LostAnswerStore(store::ObjectStore* inner) : inner_(inner) {}
  Status Put(std::string_view k, std::string_view d) override { return inner_->Put(k, d); }
  Status PutFile(std::string_view k, const std::string& p) override { return inner_->PutFile(k, p); }
  Status PutIfAbsent(std::string_view k, std::string_view d) override {
    Status st = inner_->PutIfAbsent(k, d);
    if (st.ok() && !lost_ && k.find("_spark_metadata/") != std::string_view::npos) {
      lost_ = true;
      return Status::Unavailable("connection closed before the answer");
    }
    return st;
  }
  Result<std::string> Get(std::string_view k) override { return inner_->Get(k); }
  Result<std::string> GetRange(std::string_view k, uint64_t o, uint64_t n) override { return inner_->GetRange(k, o, n); }
  Result<store::ObjectInfo> Head(std::string_view k) override { return inner_->Head(k); }
  Result<std::vector<store::ObjectInfo>> List(std::string_view p) override { return inner_->List(p); }
  Status Delete(std::string_view k) override { return inner_->Delete(k); }
  std::string AbsoluteUri(std::string_view k) const override { return inner_->AbsoluteUri(k); }
  std::string Describe() const override { return inner_->Describe(); }

 private:
  store::ObjectStore* inner_;
  bool lost_ = false;
};

// The retry after a lost answer writes the same metadata bytes, so the sink recognises its own commit
// (it used to stamp a new modificationTime and stop, taking it for another writer's).
TEST_F(RawSinkTest, RetryAfterALostCommitAnswerFindsItsOwnCommit) {
  LostAnswerStore lossy(out_.get());
  RawSinkOptions o;
  o.output = &lossy;
  o.checkpoint = cp_.get();
  o.retry_initial_ms = 1;
  auto sink = RawSink::Open(o);
  ASSERT_TRUE(sink.ok()) << sink.status().ToString();
  Status st = CommitNext(sink->get(), 3, 0);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ((*sink)->stats().store_retries, 1u);
  EXPECT_EQ((*sink)->next_batch_id(), 1);
  ASSERT_TRUE(CommitNext(sink->get(), 3, 3).ok());
  auto again = Open();
  EXPECT_EQ(again->recovery().last_committed, 1);
  EXPECT_EQ(again->recovery().orphans_deleted, 0u);
  EXPECT_EQ(DataFiles(), 2u);
}
TEST_F(RawSinkTest, NonJsonValuesAreStoredAndCounted) {
  auto sink = Open();
  std::vector<RawEvent> ev = Events(2, 0);
  ev[1].value = "not json";
  BatchPlan p;
  p.batch_id = 0;
  p.start["dbserver1.public.klienci"][0] = 0;
  p.end["dbserver1.public.klienci"][0] = 2;
  ASSERT_TRUE(sink->Commit(p, ev).ok());
  EXPECT_EQ(sink->stats().non_json, 1u);
  EXPECT_EQ(sink->stats().rows, 2u);
}

TEST_F(RawSinkTest, CommittedOutputWithoutItsCheckpointIsRefused) {
  auto sink = Open();
  ASSERT_TRUE(CommitNext(sink.get(), 1, 0).ok());
  std::filesystem::remove_all(dir_ / "cp");
  RawSinkOptions o;
  o.output = out_.get();
  o.checkpoint = cp_.get();
  auto s = RawSink::Open(o);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.status().IsFailedPrecondition()) << s.status().ToString();
  EXPECT_NE(s.status().message().find("--checkpoint"), std::string::npos);
}

// A store whose Put of a key holding "slow" waits until Release(): a request in flight for as long as
// the test wants.
class GatedStore : public store::ObjectStore {
 public:
  Status Put(std::string_view k, std::string_view) override {
    if (k.find("slow") == std::string_view::npos) return Status::OK();
    std::unique_lock<std::mutex> lock(mu_);
    ++entered_;
    cv_.notify_all();
    cv_.wait(lock, [&] { return released_; });
    return Status::OK();
  }
  void WaitEntered(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return entered_ >= n; });
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  Status PutFile(std::string_view, const std::string&) override { return Status::OK(); }
  Status PutIfAbsent(std::string_view, std::string_view) override { return Status::OK(); }
  Result<std::string> Get(std::string_view) override { return Status::NotFound("none"); }
  Result<std::string> GetRange(std::string_view, uint64_t, uint64_t) override { return Status::NotFound("none"); }
  Result<store::ObjectInfo> Head(std::string_view) override { return Status::NotFound("none"); }
  Result<std::vector<store::ObjectInfo>> List(std::string_view) override { return std::vector<store::ObjectInfo>{}; }
  Status Delete(std::string_view) override { return Status::OK(); }
  std::string AbsoluteUri(std::string_view k) const override { return "gated://" + std::string(k); }
  std::string Describe() const override { return "gated://"; }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int entered_ = 0;
  bool released_ = false;
};

// Requests at once (the live views write their folders in parallel): the stage shows the oldest one in
// flight until it ends, not until any ends.
TEST(ObservedStoreTest, ShowsTheOldestRequestInFlight) {
  GatedStore gated;
  PipelineStateHub hub;
  ObservedStore observed(&gated, &hub, "analytics");
  auto waiting_on = [&] { return hub.Snapshot().Stage("analytics").waiting_on; };
  std::thread slow([&] { EXPECT_TRUE(observed.Put("v/slow-1", "x").ok()); });
  gated.WaitEntered(1);
  EXPECT_EQ(waiting_on(), "object store: PUT gated:///v/slow-1");
  int64_t since = hub.Snapshot().Stage("analytics").waiting_since_ms;
  EXPECT_GT(since, 0);
  ASSERT_TRUE(observed.Put("v/fast", "x").ok());  // starts and ends while slow-1 waits
  EXPECT_EQ(waiting_on(), "object store: PUT gated:///v/slow-1");
  EXPECT_EQ(hub.Snapshot().Stage("analytics").waiting_since_ms, since);
  gated.Release();
  slow.join();
  EXPECT_EQ(waiting_on(), "");
  EXPECT_EQ(hub.Snapshot().Stage("analytics").waiting_since_ms, 0);
  EXPECT_GT(hub.Snapshot().Stage("analytics").last_progress_ms, 0);
}

}  // namespace
}  // namespace cdc::jobs
