// Unit tests of the result folders (WriteAnalytics/_SUCCESS) and of AnalyticsBuilder over raw files
// written in the raw sink's layout (local store in a temp dir).
#include "jobs/analytics_output.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <optional>
#include <random>

#include "base/failpoint.h"
#include "jobs/analytics_test_util.h"
#include "jobs/batch.h"
#include "jobs/spark_metadata_log.h"

namespace cdc::jobs {
namespace {

namespace fs = std::filesystem;

class TempRoot {
 public:
  TempRoot() {
    path_ = fs::temp_directory_path() / ("analytics-unit-" + std::to_string(getpid()) + "-" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempRoot() { fs::remove_all(path_); }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

std::unique_ptr<store::ObjectStore> Open(const std::string& dir) {
  store::StoreOptions o;
  o.local_fsync = false;
  auto s = store::OpenStore(dir, o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return std::move(*s);
}

AnalyticsResult Sample(int variant) {
  AnalyticsResult r;
  r.klienci_by_country = {{"PL", 3 + variant}, {"Ελλάδα", 2}, {std::nullopt, 1}};
  r.avg_age_by_position = {{"Dev", 33.5, 2}, {"QA", std::nullopt, 1}, {std::nullopt, 40.0 + variant, 1}};
  r.source_lsn = Lsn(0x16B3748 + variant);
  r.raw_batch_id = 41 + variant;
  return r;
}

std::vector<std::string> Keys(store::ObjectStore* s, const std::string& prefix) {
  std::vector<std::string> keys;
  auto list = s->List(prefix);
  EXPECT_TRUE(list.ok());
  for (const auto& o : *list) keys.push_back(o.key);
  return keys;
}

TEST(AnalyticsOutputTest, WriteReadRoundTripAndReplacement) {
  TempRoot root;
  auto store = Open(root.path());
  ASSERT_TRUE(WriteAnalytics(store.get(), Sample(0)).ok());
  auto back = ReadAnalytics(store.get());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->klienci_by_country, Sample(0).klienci_by_country);
  EXPECT_EQ(back->avg_age_by_position, Sample(0).avg_age_by_position);
  EXPECT_EQ(back->source_lsn, Sample(0).source_lsn);
  EXPECT_EQ(back->raw_batch_id, 41);

  ASSERT_TRUE(WriteAnalytics(store.get(), Sample(1)).ok());
  back = ReadAnalytics(store.get());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->klienci_by_country, Sample(1).klienci_by_country);
  // Exactly one data file plus _SUCCESS per folder: the old result is gone.
  for (std::string_view dir : {kKlienciByCountryDir, kAvgAgeByPositionDir}) {
    auto keys = Keys(store.get(), std::string(dir) + "/");
    ASSERT_EQ(keys.size(), 2u);
    auto manifest = ParseSuccess(*store->Get(std::string(dir) + "/_SUCCESS"), "x");
    ASSERT_TRUE(manifest.ok());
    ASSERT_EQ(manifest->files.size(), 1u);
    EXPECT_EQ(keys[0], std::string(dir) + "/_SUCCESS");
    EXPECT_EQ(keys[1], std::string(dir) + "/" + manifest->files[0]);
    EXPECT_EQ(manifest->source_lsn, Sample(1).source_lsn.ToString());
    EXPECT_EQ(manifest->raw_batch_id, 42);
  }
}

TEST(AnalyticsOutputTest, FailureBeforeOrAfterSuccessLeavesAConsistentResult) {
  TempRoot root;
  auto store = Open(root.path());
  ASSERT_TRUE(WriteAnalytics(store.get(), Sample(0)).ok());
  // Fails after the new files exist but before _SUCCESS: readers still see the old result.
  setenv("CDCPIPE_FAILPOINTS", "unit.after_files_written=error", 1);
  FailpointReload();
  EXPECT_FALSE(WriteAnalytics(store.get(), Sample(1), {"unit"}).ok());
  auto back = ReadAnalytics(store.get());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->klienci_by_country, Sample(0).klienci_by_country);
  // Fails after _SUCCESS: readers see the new result (old files linger until the next write).
  setenv("CDCPIPE_FAILPOINTS", "unit.after_success=error", 1);
  FailpointReload();
  EXPECT_FALSE(WriteAnalytics(store.get(), Sample(1), {"unit"}).ok());
  back = ReadAnalytics(store.get());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->klienci_by_country, Sample(1).klienci_by_country);
  EXPECT_GT(Keys(store.get(), std::string(kKlienciByCountryDir) + "/").size(), 2u);
  unsetenv("CDCPIPE_FAILPOINTS");
  FailpointReload();
  ASSERT_TRUE(WriteAnalytics(store.get(), Sample(2)).ok());
  EXPECT_EQ(Keys(store.get(), std::string(kKlienciByCountryDir) + "/").size(), 2u);
}

TEST(AnalyticsOutputTest, BadManifestIsCorruption) {
  EXPECT_TRUE(ParseSuccess("", "m").status().IsCorruption());
  EXPECT_TRUE(ParseSuccess("{\"version\":2}", "m").status().IsCorruption());
  EXPECT_TRUE(ParseSuccess("{\"version\":1,\"files\":[\"../x\"],\"rows\":1,\"source_lsn\":\"\",\"raw_batch_id\":1,"
                           "\"written_at_ms\":1}",
                           "m")
                  .status()
                  .IsCorruption());
  SuccessManifest m{{"part-0.parquet"}, 3, "0/10", 7, 99};
  auto back = ParseSuccess(SerializeSuccess(m), "m");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->files, m.files);
  EXPECT_EQ(back->raw_batch_id, 7);
}

// --- AnalyticsBuilder over raw fixture files ---------------------------------------------------

std::string KEvent(char op, std::optional<int> before_id, std::optional<std::string> bk, std::optional<int> after_id,
                   std::optional<std::string> ak, bool schema) {
  auto img = [](std::optional<int> id, const std::optional<std::string>& k) -> std::string {
    if (!id) return "null";
    return "{\"id\":" + std::to_string(*id) + ",\"nazwa\":\"n\",\"kraj\":" + (k ? "\"" + *k + "\"" : "null") + "}";
  };
  std::string p = "{\"before\":" + img(before_id, bk) + ",\"after\":" + img(after_id, ak) +
                  ",\"source\":{\"lsn\":1000},\"op\":\"" + std::string(1, op) + "\"}";
  return schema ? "{\"schema\":{\"type\":\"struct\"},\"payload\":" + p + "}" : p;
}

// A random klienci workload with an in-memory model as the oracle.
struct Workload {
  std::map<int, std::optional<std::string>> rows;
  std::mt19937 rng{42};
  int next_id = 1;
  bool truncates = true;  // 1 event in 100 truncates klienci

  std::vector<testutil::FixtureEvent> Next(int n) {
    std::vector<testutil::FixtureEvent> out;
    const std::optional<std::string> countries[] = {"PL", "DE", "Česko", std::nullopt};
    for (int i = 0; i < n; ++i) {
      bool schema = rng() % 2 == 0;
      int r = static_cast<int>(rng() % 100);
      auto pick = [&] { auto it = rows.begin(); std::advance(it, rng() % rows.size()); return it; };
      std::string topic = "dbserver1.public.klienci";
      if (r < 40 || rows.empty()) {
        int id = next_id++;
        auto k = countries[rng() % 4];
        rows[id] = k;
        out.push_back({topic, "{\"id\":" + std::to_string(id) + "}", KEvent('c', {}, {}, id, k, schema)});
      } else if (r < 70) {
        auto it = pick();
        auto k = countries[rng() % 4];
        out.push_back({topic, "{}", KEvent('u', it->first, it->second, it->first, k, schema)});
        it->second = k;
      } else if (r < 80) {  // primary-key change
        auto it = pick();
        int id = next_id++;
        out.push_back({topic, "{}", KEvent('u', it->first, it->second, id, it->second, schema)});
        rows[id] = it->second;
        rows.erase(it);
      } else if (r < 97) {
        auto it = pick();
        out.push_back({topic, "{}", KEvent('d', it->first, it->second, {}, {}, schema)});
        out.push_back({topic, "{}", std::nullopt});  // tombstone
        rows.erase(it);
      } else if (r < 98 && truncates) {
        out.push_back({topic, std::nullopt, KEvent('t', {}, {}, {}, {}, schema)});
        rows.clear();
      } else {
        out.push_back({"dbserver1.public.projekty", "{}", "{\"op\":\"c\",\"after\":{\"id\":1}}"});
      }
    }
    return out;
  }
  std::map<std::optional<std::string>, int64_t> Expected() const {
    std::map<std::optional<std::string>, int64_t> m;
    for (const auto& [id, k] : rows) ++m[k];
    return m;
  }
};

std::map<std::optional<std::string>, int64_t> AsMap(const std::vector<CountryCount>& rows) {
  std::map<std::optional<std::string>, int64_t> m;
  for (const auto& r : rows) m[r.kraj] = r.count;
  return m;
}

TEST(AnalyticsBuilderTest, IncrementalEqualsFullAcrossCompactions) {
  TempRoot root;
  auto store = Open(root.path());
  testutil::RawFixtureWriter writer(store.get());
  Workload w;
  // 25 batches: compactions at 9 and 19; the builder checkpoints after some of them, as a base plus up
  // to 3 deltas (then a new base).
  size_t most_segments = 0;
  for (int b = 0; b < 25; ++b) {
    w.truncates = b >= 16;  // deltas first; then truncates, which force new bases
    auto id = writer.CommitBatch(w.Next(40), 1 + b % 3);
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    if (b % 2 == 1 || b == 24) {
      AnalyticsBuilder inc(store.get());
      inc.set_compaction(3, 1e9);
      Status st = inc.LoadCheckpoint();
      ASSERT_TRUE(st.ok() || st.IsNotFound()) << st.ToString();
      auto stats = inc.CatchUp(nullptr);
      ASSERT_TRUE(stats.ok()) << stats.status().ToString();
      ASSERT_TRUE(inc.SaveCheckpoint().ok());
      most_segments = std::max(most_segments, inc.checkpoint_segments());
      EXPECT_LE(inc.checkpoint_segments(), 4u);
      EXPECT_EQ(inc.position().last_batch_id, b);
      EXPECT_EQ(AsMap(inc.state().KlienciByCountry()), w.Expected()) << "batch " << b;
      if (b > 1) {
        EXPECT_LT(stats->files, 12u) << "incremental run re-read old files at batch " << b;
      }
      AnalyticsBuilder full(store.get());
      ASSERT_TRUE(full.CatchUp(nullptr).ok());
      EXPECT_EQ(full.state().KlienciByCountry(), inc.state().KlienciByCountry());
      EXPECT_EQ(full.state().AvgAgeByPosition(), inc.state().AvgAgeByPosition());
    }
  }
  EXPECT_EQ(most_segments, 4u);
  // Only the segments the manifest names are left (older bases and deltas were deleted).
  AnalyticsBuilder last(store.get());
  ASSERT_TRUE(last.LoadCheckpoint().ok());
  EXPECT_EQ(Keys(store.get(), "_checkpoints/batch/segment-").size(), last.checkpoint_segments());
}

// The state after applying exactly the first n events (what a run stopped at event n holds).
void ExpectStateOfFirst(const std::vector<testutil::FixtureEvent>& events, size_t n, const ChangelogState& got) {
  ChangelogState expected;
  ChangeExtractor x;
  for (size_t i = 0; i < n; ++i) {
    if (!events[i].value || TableOfTopic(events[i].topic) == AnalyticsTable::kOther) continue;
    ExtractedChange c;
    ASSERT_TRUE(x.Extract(*events[i].value, TableOfTopic(events[i].topic), &c).ok());
    ASSERT_TRUE(expected.Apply(TableOfTopic(events[i].topic), c).ok());
  }
  EXPECT_EQ(got.KlienciByCountry(), expected.KlienciByCountry());
  EXPECT_EQ(got.AvgAgeByPosition(), expected.AvgAgeByPosition());
}

// Row groups of thousands of events are extracted in chunks by both threads (the decoding one runs
// ahead, the applying one helps when it catches up) and applied in row order; an event that cannot be
// read stops the run at its row, after exactly the rows before it.
TEST(AnalyticsBuilderTest, BigRowGroupsAreAppliedInRowOrderUpToABadEvent) {
  {
    TempRoot root;
    auto store = Open(root.path());
    testutil::RawFixtureWriter writer(store.get());
    writer.options().page_rows = 300;  // ~9 page tasks per file, shared by both threads
    Workload w;
    for (int b = 0; b < 3; ++b) ASSERT_TRUE(writer.CommitBatch(w.Next(5000), 1 + b).ok());
    AnalyticsBuilder full(store.get());
    auto stats = full.CatchUp(nullptr);
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    EXPECT_EQ(stats->files, 6u);
    EXPECT_EQ(AsMap(full.state().KlienciByCountry()), w.Expected());
  }
  TempRoot root;
  auto store = Open(root.path());
  testutil::RawFixtureWriter writer(store.get());
  writer.options().page_rows = 300;
  Workload w;
  w.truncates = false;
  std::vector<testutil::FixtureEvent> events = w.Next(4000);
  const size_t bad = 2600;  // in the ninth page of 300 rows
  events[bad] = {"dbserver1.public.klienci", "{}", "{\"op\":\"c\",\"after\":{\"id\":"};
  ASSERT_TRUE(writer.CommitBatch(events, 1).ok());
  AnalyticsBuilder b(store.get());
  auto st = b.CatchUp(nullptr);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().ToString().find("row group 0 row " + std::to_string(bad) + " "), std::string::npos)
      << st.status().ToString();
  // ... and its place in Kafka (read again from the file for the message).
  int64_t offset = 0;
  for (size_t i = 0; i < bad; ++i) offset += events[i].topic == events[bad].topic ? 1 : 0;
  EXPECT_NE(st.status().ToString().find("partition 0 offset " + std::to_string(offset) + "):"), std::string::npos)
      << st.status().ToString();
  EXPECT_EQ(b.position().files_consumed, 0u);
  ExpectStateOfFirst(events, bad, b.state());
}

// A raw value page that cannot be decoded stops the run at that page, with the file, row group,
// column and page in the message: the events of the pages before it are applied, none after.
TEST(AnalyticsBuilderTest, ADamagedRawPageStopsTheRunAtThatPage) {
  TempRoot root;
  auto store = Open(root.path());
  testutil::RawFixtureWriter writer(store.get());
  writer.options().page_rows = 500;
  writer.options().compression = parquet::Compression::kUncompressed;
  writer.options().dictionary = false;
  Workload w;
  w.truncates = false;
  std::vector<testutil::FixtureEvent> events = w.Next(3000);
  const size_t bad = 1700;  // in page 3 (rows 1500-1999)
  events[bad].value = "{\"op\":\"c\",\"marker\":\"damage-me\"}";
  ASSERT_TRUE(writer.CommitBatch(events, 1).ok());
  auto files = store->List("raw-kafka-data/part-");
  ASSERT_TRUE(files.ok());
  ASSERT_EQ(files->size(), 1u);
  auto bytes = store->Get((*files)[0].key);
  ASSERT_TRUE(bytes.ok());
  std::string file = *bytes;
  size_t at = file.find(*events[bad].value);
  ASSERT_NE(at, std::string::npos);
  ASSERT_EQ(file.find(*events[bad].value, at + 1), std::string::npos);
  for (size_t k = at - 4; k < at; ++k) file[k] = static_cast<char>(0xff);  // its length prefix
  ASSERT_TRUE(store->Put((*files)[0].key, file).ok());

  AnalyticsBuilder b(store.get());
  auto st = b.CatchUp(nullptr);
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.status().IsCorruption()) << st.status().ToString();
  EXPECT_NE(st.status().message().find("row group 0, column 'value': page 3"), std::string::npos)
      << st.status().ToString();
  EXPECT_EQ(b.position().files_consumed, 0u);
  ExpectStateOfFirst(events, 1500, b.state());  // pages 0-2
}

// The checkpoint is derived data and is not fsynced: when an OS crash damaged its manifest or a
// segment, `cdcpipe batch` warns and recomputes from all raw data (the same answer), then writes a
// good checkpoint again.
TEST(AnalyticsBuilderTest, RunBatchRecomputesWhenTheCheckpointIsDamaged) {
  TempRoot root;
  auto store = Open(root.path());
  testutil::RawFixtureWriter writer(store.get());
  Workload w;
  w.truncates = false;
  ASSERT_TRUE(writer.CommitBatch(w.Next(600), 2).ok());
  BatchOptions options;
  options.output = root.path();
  options.progress = false;
  ASSERT_TRUE(RunBatch(options).ok());
  ASSERT_TRUE(writer.CommitBatch(w.Next(10), 1).ok());
  auto good = RunBatch(options);  // incremental: a base and a delta
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  ASSERT_TRUE(good->incremental);
  ASSERT_EQ(AsMap(good->result.klienci_by_country), w.Expected());
  const std::vector<std::string> segments = Keys(store.get(), "_checkpoints/batch/segment-");
  ASSERT_EQ(segments.size(), 2u);
  std::map<std::string, std::string> saved;
  for (const std::string& k : Keys(store.get(), "_checkpoints/")) saved[k] = *store->Get(k);
  const std::string manifest = saved[std::string(kBatchCheckpointKey)];
  struct Damage {
    std::string what, key;
    std::optional<std::string> bytes;  // nullopt: deleted
  };
  for (const Damage& d : {Damage{"torn manifest", std::string(kBatchCheckpointKey), manifest.substr(0, manifest.size() / 2)},
                          Damage{"zeroed base", segments[0], std::string(saved[segments[0]].size(), '\0')},
                          Damage{"missing delta", segments[1], std::nullopt}}) {
    SCOPED_TRACE(d.what);
    for (const std::string& k : Keys(store.get(), "_checkpoints/")) ASSERT_TRUE(store->Delete(k).ok());
    for (const auto& [k, bytes] : saved) ASSERT_TRUE(store->Put(k, bytes).ok());
    ASSERT_TRUE(d.bytes ? store->Put(d.key, *d.bytes).ok() : store->Delete(d.key).ok());
    auto again = RunBatch(options);
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_FALSE(again->incremental);
    EXPECT_EQ(again->stats.files, 3u);  // all of them
    EXPECT_EQ(AsMap(again->result.klienci_by_country), w.Expected());
    EXPECT_EQ(again->result.avg_age_by_position, good->result.avg_age_by_position);
    auto next = RunBatch(options);  // the rewritten checkpoint is good
    ASSERT_TRUE(next.ok()) << next.status().ToString();
    EXPECT_TRUE(next->incremental);
    EXPECT_EQ(next->stats.files, 0u);
    EXPECT_EQ(AsMap(next->result.klienci_by_country), w.Expected());
  }
}

// A raw file that cannot be read stops the catch-up with its name, in order: the files before it are
// applied and counted in the position (they are decoded on another thread, ahead of the applying).
TEST(AnalyticsBuilderTest, UnreadableRawFileStopsTheCatchUpAtThatFile) {
  TempRoot root;
  auto store = Open(root.path());
  testutil::RawFixtureWriter writer(store.get());
  Workload w;
  w.truncates = false;
  ASSERT_TRUE(writer.CommitBatch(w.Next(30), 2).ok());  // files 1 and 2
  auto after_first = w.Expected();
  ASSERT_TRUE(writer.CommitBatch(w.Next(30), 1).ok());  // file 3: damaged below
  ASSERT_TRUE(writer.CommitBatch(w.Next(30), 1).ok());
  auto meta = store->Get("raw-kafka-data/_spark_metadata/1");
  ASSERT_TRUE(meta.ok());
  auto entries = SparkMetadataLog::Parse(*meta, "1");
  ASSERT_TRUE(entries.ok() && entries->size() == 1u);
  std::string name = (*entries)[0].path.substr((*entries)[0].path.rfind('/') + 1);
  ASSERT_TRUE(store->Put("raw-kafka-data/" + name, "PAR1 this is not a Parquet file PAR1").ok());
  AnalyticsBuilder b(store.get());
  auto st = b.CatchUp(nullptr);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().ToString().find(name), std::string::npos) << st.status().ToString();
  EXPECT_EQ(b.position().files_consumed, 2u);
  EXPECT_EQ(AsMap(b.state().KlienciByCountry()), after_first);
}

TEST(AnalyticsBuilderTest, FailureBetweenSegmentAndManifestKeepsThePreviousCheckpoint) {
  TempRoot root;
  auto store = Open(root.path());
  testutil::RawFixtureWriter writer(store.get());
  Workload w;
  ASSERT_TRUE(writer.CommitBatch(w.Next(30)).ok());
  auto before = w.Expected();
  AnalyticsBuilder a(store.get());
  ASSERT_TRUE(a.CatchUp(nullptr).ok());
  ASSERT_TRUE(a.SaveCheckpoint().ok());
  ASSERT_TRUE(writer.CommitBatch(w.Next(30)).ok());
  for (const char* fp : {"batch.after_segment=error", ""}) {
    setenv("CDCPIPE_FAILPOINTS", fp, 1);
    FailpointReload();
    AnalyticsBuilder b(store.get());
    b.set_compaction(16, 1e9);
    ASSERT_TRUE(b.LoadCheckpoint().ok());
    EXPECT_EQ(AsMap(b.state().KlienciByCountry()), before);
    ASSERT_TRUE(b.CatchUp(nullptr).ok());
    EXPECT_EQ(b.SaveCheckpoint().ok(), std::string(fp).empty());
  }
  unsetenv("CDCPIPE_FAILPOINTS");
  FailpointReload();
  AnalyticsBuilder c(store.get());
  ASSERT_TRUE(c.LoadCheckpoint().ok());
  EXPECT_EQ(c.checkpoint_segments(), 2u);  // the base and one delta
  EXPECT_EQ(AsMap(c.state().KlienciByCountry()), w.Expected());
  // A missing segment is named.
  auto segs = Keys(store.get(), "_checkpoints/batch/segment-");
  for (const auto& k : segs) ASSERT_TRUE(store->Delete(k).ok());
  AnalyticsBuilder d(store.get());
  Status st = d.LoadCheckpoint();
  EXPECT_TRUE(st.IsCorruption()) << st.ToString();
  EXPECT_NE(st.message().find("segment"), std::string::npos) << st.ToString();
}

TEST(AnalyticsBuilderTest, CorruptCheckpointAndMismatchedPosition) {
  TempRoot root;
  auto store = Open(root.path());
  testutil::RawFixtureWriter writer(store.get());
  Workload w;
  ASSERT_TRUE(writer.CommitBatch(w.Next(30)).ok());
  AnalyticsBuilder a(store.get());
  ASSERT_TRUE(a.CatchUp(nullptr).ok());
  ASSERT_TRUE(a.SaveCheckpoint().ok());
  std::string data = *store->Get(kBatchCheckpointKey);
  // Flip a byte in the middle: checksum mismatch, named.
  std::string bad = data;
  bad[bad.size() / 2] ^= 0x40;
  ASSERT_TRUE(store->Put(kBatchCheckpointKey, bad).ok());
  AnalyticsBuilder b(store.get());
  Status st = b.LoadCheckpoint();
  EXPECT_TRUE(st.IsCorruption());
  EXPECT_NE(st.message().find("checksum"), std::string::npos) << st.ToString();
  ASSERT_TRUE(store->Put(kBatchCheckpointKey, data.substr(0, 5)).ok());
  EXPECT_TRUE(b.LoadCheckpoint().IsCorruption());

  // A checkpoint that names a file the log does not have at that position: recompute from scratch.
  ASSERT_TRUE(store->Put(kBatchCheckpointKey, data).ok());
  AnalyticsBuilder c(store.get());
  ASSERT_TRUE(c.LoadCheckpoint().ok());
  for (const std::string& k : Keys(store.get(), "raw-kafka-data/")) ASSERT_TRUE(store->Delete(k).ok());
  testutil::RawFixtureWriter writer2(store.get());
  Workload w2;
  w2.rng.seed(7);
  ASSERT_TRUE(writer2.CommitBatch(w2.Next(30)).ok());
  ASSERT_TRUE(c.CatchUp(nullptr).ok());
  EXPECT_EQ(AsMap(c.state().KlienciByCountry()), w2.Expected());
}

TEST(AnalyticsBuilderTest, LiveBatchesAndGaps) {
  TempRoot root;
  auto store = Open(root.path());
  AnalyticsBuilder b(store.get());
  std::vector<RawEvent> events;
  RawEvent e;
  e.topic = "dbserver1.public.klienci";
  e.value = KEvent('c', {}, {}, 1, "PL", true);
  events.push_back(e);
  e.value = std::nullopt;  // tombstone: ignored
  events.push_back(e);
  CommittedBatch batch{0, &events, Lsn(77)};
  ASSERT_TRUE(b.ApplyCommittedBatch(batch).ok());
  ASSERT_TRUE(b.ApplyCommittedBatch(batch).ok());  // a replay of batch 0 is skipped
  EXPECT_EQ(b.state().KlienciByCountry(), (std::vector<CountryCount>{{"PL", 1}}));
  EXPECT_EQ(b.Snapshot().source_lsn, Lsn(77));
  batch.batch_id = 2;
  EXPECT_TRUE(b.ApplyCommittedBatch(batch).IsFailedPrecondition());
  // A bad event names where it came from.
  events[0].value = "{\"op\":\"c\"}";
  batch.batch_id = 1;
  Status st = b.ApplyCommittedBatch(batch);
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(st.message().find("batch 1 topic dbserver1.public.klienci"), std::string::npos) << st.ToString();
}

}  // namespace
}  // namespace cdc::jobs
