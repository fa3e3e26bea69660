// ViewBuilder over raw files written in the raw sink's layout (local store in a temp dir): catch-up,
// checkpoint, live batches, errors that name where they are; and WriteViews' folders.
#include "analytics/view_builder.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <optional>
#include <random>

#include "analytics/view_output.h"
#include "base/failpoint.h"
#include "lake/raw_fixture_writer.h"
#include "lake/spark_metadata_log.h"

namespace cdc::analytics {
namespace {

namespace fs = std::filesystem;
using lake::testutil::FixtureEvent;
using lake::testutil::RawFixtureWriter;

class TempRoot {
 public:
  TempRoot() {
    path_ = fs::temp_directory_path() / ("views-unit-" + std::to_string(getpid()) + "-" + std::to_string(counter_++));
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

std::vector<std::string> Keys(store::ObjectStore* s, const std::string& prefix) {
  std::vector<std::string> keys;
  auto list = s->List(prefix);
  EXPECT_TRUE(list.ok());
  for (const auto& o : *list) keys.push_back(o.key);
  return keys;
}

sql::Catalog Klienci() {
  event::TableSchema t;
  t.schema = "public";
  t.table = "klienci";
  t.columns = {{"id", 23, -1, true, false}, {"nazwa", 25, -1, false, true}, {"kraj", 25, -1, false, true}};
  return {{"public.klienci", t}};
}

constexpr const char* kCountryView = "CREATE VIEW \"by-country\" AS SELECT kraj, count(*) AS n FROM klienci GROUP BY kraj;\n";
constexpr const char* kTotalView =
    "CREATE VIEW total AS SELECT count(*) AS n, count(DISTINCT kraj) AS countries, avg(id) AS mean_id FROM klienci;\n";

// A views file loaded against the klienci catalog (kept alive together).
struct Views {
  explicit Views(std::string text) : catalog(Klienci()) {
    auto v = sql::LoadViews("test.sql", text, catalog);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    if (v.ok()) set = std::move(*v);
  }
  sql::Catalog catalog;
  sql::ViewSet set;
};

std::string KEvent(char op, std::optional<int> before_id, std::optional<std::string> bk, std::optional<int> after_id,
                   std::optional<std::string> ak, bool schema) {
  auto img = [](std::optional<int> id, const std::optional<std::string>& k) -> std::string {
    if (!id) return "null";
    return "{\"id\":" + std::to_string(*id) + ",\"nazwa\":\"n\",\"kraj\":" + (k ? "\"" + *k + "\"" : "null") + "}";
  };
  std::string p = "{\"before\":" + img(before_id, bk) + ",\"after\":" + img(after_id, ak) +
                  ",\"source\":{\"lsn\":1000,\"table\":\"klienci\"},\"op\":\"" + std::string(1, op) + "\"}";
  return schema ? "{\"schema\":{\"type\":\"struct\"},\"payload\":" + p + "}" : p;
}

// A random klienci workload with an in-memory model as the oracle.
struct Workload {
  std::map<int, std::optional<std::string>> rows;
  std::mt19937 rng{42};
  int next_id = 1;
  bool truncates = true;  // 1 event in 100 truncates klienci

  std::vector<FixtureEvent> Next(int n) {
    std::vector<FixtureEvent> out;
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

// View 0 (kCountryView) of an engine as kraj -> count.
std::map<std::optional<std::string>, int64_t> ByCountry(const ViewEngine& engine) {
  std::map<std::optional<std::string>, int64_t> m;
  auto rows = engine.Rows(0);
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  if (!rows.ok()) return m;
  for (const auto& r : rows->rows) m[r[0].is_null() ? std::nullopt : std::optional<std::string>(r[0].s)] = r[1].i;
  return m;
}

TEST(ViewBuilderTest, IncrementalEqualsFullAcrossCompactions) {
  TempRoot root;
  auto store = Open(root.path());
  RawFixtureWriter writer(store.get());
  Views views(kCountryView);
  Workload w;
  // 25 batches: compactions at 9 and 19; a checkpointed builder continues after every other batch.
  for (int b = 0; b < 25; ++b) {
    w.truncates = b >= 16;
    auto id = writer.CommitBatch(w.Next(40), 1 + b % 3);
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    if (b % 2 == 1 || b == 24) {
      ViewBuilder inc(store.get(), &views.set, &views.catalog, {});
      Status st = inc.LoadCheckpoint();
      ASSERT_TRUE(st.ok() || st.IsNotFound()) << st.ToString();
      auto stats = inc.CatchUp(nullptr);
      ASSERT_TRUE(stats.ok()) << stats.status().ToString();
      ASSERT_TRUE(inc.SaveCheckpoint().ok());
      EXPECT_EQ(inc.position().last_batch_id, b);
      EXPECT_EQ(ByCountry(inc.engine()), w.Expected()) << "batch " << b;
      if (b > 1) {
        EXPECT_LT(stats->files, 12u) << "incremental run re-read old files at batch " << b;
      }
      ViewBuilder full(store.get(), &views.set, &views.catalog, {});
      ASSERT_TRUE(full.CatchUp(nullptr).ok());
      EXPECT_EQ(ByCountry(full.engine()), ByCountry(inc.engine()));
    }
  }
}

// A view added to (or changed in) the file: the checkpoint was built for other views, so it is not
// used (FailedPrecondition) and the caller recomputes every view from the raw history.
TEST(ViewBuilderTest, CheckpointOfOtherViewsIsNotUsed) {
  TempRoot root;
  auto store = Open(root.path());
  RawFixtureWriter writer(store.get());
  Workload w;
  w.truncates = false;
  ASSERT_TRUE(writer.CommitBatch(w.Next(200), 2).ok());
  Views one(kCountryView);
  ViewBuilder a(store.get(), &one.set, &one.catalog, {});
  ASSERT_TRUE(a.CatchUp(nullptr).ok());
  ASSERT_TRUE(a.SaveCheckpoint().ok());

  Views two(std::string(kCountryView) + kTotalView);
  ViewBuilder b(store.get(), &two.set, &two.catalog, {});
  Status st = b.LoadCheckpoint();
  EXPECT_TRUE(st.IsFailedPrecondition()) << st.ToString();
  auto stats = b.CatchUp(nullptr);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->files, 2u);  // from the first file
  EXPECT_EQ(ByCountry(b.engine()), w.Expected());
  auto total = b.engine().Rows(1);
  ASSERT_TRUE(total.ok());
  ASSERT_EQ(total->rows.size(), 1u);
  EXPECT_EQ(total->rows[0][0].i, static_cast<int64_t>(w.rows.size()));

  // The same views: the checkpoint is used and nothing is read again.
  ASSERT_TRUE(b.SaveCheckpoint().ok());
  ViewBuilder c(store.get(), &two.set, &two.catalog, {});
  ASSERT_TRUE(c.LoadCheckpoint().ok());
  auto again = c.CatchUp(nullptr);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->files, 0u);
  EXPECT_EQ(ByCountry(c.engine()), w.Expected());
}

// An event that cannot be decoded stops the run at its row, naming the file, row group, row and its
// place in Kafka (read again from the file for the message).
TEST(ViewBuilderTest, ABadEventStopsTheRunNamingWhereItIs) {
  TempRoot root;
  auto store = Open(root.path());
  RawFixtureWriter writer(store.get());
  Views views(kCountryView);
  Workload w;
  w.truncates = false;
  std::vector<FixtureEvent> events = w.Next(3000);
  size_t bad = 2600;
  while (events[bad].topic != "dbserver1.public.klienci" || !events[bad].value) ++bad;
  events[bad].value = "{\"op\":\"c\",\"after\":{\"id\":";
  ASSERT_TRUE(writer.CommitBatch(events, 1).ok());
  ViewBuilder b(store.get(), &views.set, &views.catalog, {});
  auto st = b.CatchUp(nullptr);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().ToString().find("row group 0 row " + std::to_string(bad) + " "), std::string::npos)
      << st.status().ToString();
  int64_t offset = 0;
  for (size_t i = 0; i < bad; ++i) offset += events[i].topic == events[bad].topic ? 1 : 0;
  EXPECT_NE(st.status().ToString().find("partition 0 offset " + std::to_string(offset) + "):"), std::string::npos)
      << st.status().ToString();
  EXPECT_EQ(b.position().files_consumed, 0u);
}

// A raw file that cannot be read stops the catch-up with its name, in order: the files before it are
// applied and counted in the position (they are decoded on another thread, ahead of the applying).
TEST(ViewBuilderTest, UnreadableRawFileStopsTheCatchUpAtThatFile) {
  TempRoot root;
  auto store = Open(root.path());
  RawFixtureWriter writer(store.get());
  Views views(kCountryView);
  Workload w;
  w.truncates = false;
  ASSERT_TRUE(writer.CommitBatch(w.Next(30), 2).ok());  // files 1 and 2
  auto after_first = w.Expected();
  ASSERT_TRUE(writer.CommitBatch(w.Next(30), 1).ok());  // file 3: damaged below
  ASSERT_TRUE(writer.CommitBatch(w.Next(30), 1).ok());
  auto meta = store->Get("raw-kafka-data/_spark_metadata/1");
  ASSERT_TRUE(meta.ok());
  auto entries = lake::SparkMetadataLog::Parse(*meta, "1");
  ASSERT_TRUE(entries.ok() && entries->size() == 1u);
  std::string name = (*entries)[0].path.substr((*entries)[0].path.rfind('/') + 1);
  ASSERT_TRUE(store->Put("raw-kafka-data/" + name, "PAR1 this is not a Parquet file PAR1").ok());
  ViewBuilder b(store.get(), &views.set, &views.catalog, {});
  auto st = b.CatchUp(nullptr);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.status().ToString().find(name), std::string::npos) << st.status().ToString();
  EXPECT_EQ(b.position().files_consumed, 2u);
  EXPECT_EQ(ByCountry(b.engine()), after_first);
}

TEST(ViewBuilderTest, CorruptCheckpointAndMismatchedPosition) {
  TempRoot root;
  auto store = Open(root.path());
  RawFixtureWriter writer(store.get());
  Views views(kCountryView);
  Workload w;
  ASSERT_TRUE(writer.CommitBatch(w.Next(30)).ok());
  ViewBuilder a(store.get(), &views.set, &views.catalog, {});
  ASSERT_TRUE(a.CatchUp(nullptr).ok());
  ASSERT_TRUE(a.SaveCheckpoint().ok());
  std::string data = *store->Get(kViewCheckpointKey);
  // Flip a byte in the middle: checksum mismatch, named.
  std::string bad = data;
  bad[bad.size() / 2] ^= 0x40;
  ASSERT_TRUE(store->Put(kViewCheckpointKey, bad).ok());
  ViewBuilder b(store.get(), &views.set, &views.catalog, {});
  Status st = b.LoadCheckpoint();
  EXPECT_TRUE(st.IsCorruption()) << st.ToString();
  EXPECT_NE(st.message().find("checksum"), std::string::npos) << st.ToString();
  ASSERT_TRUE(store->Put(kViewCheckpointKey, data.substr(0, data.size() - 3)).ok());
  EXPECT_TRUE(b.LoadCheckpoint().IsCorruption());
  ASSERT_TRUE(store->Put(kViewCheckpointKey, data.substr(0, 5)).ok());
  EXPECT_FALSE(b.LoadCheckpoint().ok());

  // A checkpoint that names a file the log does not have at that position: recompute from scratch.
  ASSERT_TRUE(store->Put(kViewCheckpointKey, data).ok());
  ViewBuilder c(store.get(), &views.set, &views.catalog, {});
  ASSERT_TRUE(c.LoadCheckpoint().ok());
  for (const std::string& k : Keys(store.get(), "raw-kafka-data/")) ASSERT_TRUE(store->Delete(k).ok());
  RawFixtureWriter writer2(store.get());
  Workload w2;
  w2.rng.seed(7);
  ASSERT_TRUE(writer2.CommitBatch(w2.Next(30)).ok());
  ASSERT_TRUE(c.CatchUp(nullptr).ok());
  EXPECT_EQ(ByCountry(c.engine()), w2.Expected());
}

TEST(ViewBuilderTest, LiveBatchesAndGaps) {
  TempRoot root;
  auto store = Open(root.path());
  Views views(kCountryView);
  ViewBuilder b(store.get(), &views.set, &views.catalog, {});
  std::string c1 = KEvent('c', {}, {}, 1, "PL", true);
  std::vector<RawEventRef> events = {{"dbserver1.public.klienci", c1, 0, 0},
                                     {"dbserver1.public.klienci", std::nullopt, 0, 1}};  // tombstone: ignored
  ASSERT_TRUE(b.ApplyCommittedBatch(0, events, Lsn(77)).ok());
  ASSERT_TRUE(b.ApplyCommittedBatch(0, events, Lsn(77)).ok());  // a replay of batch 0 is skipped
  EXPECT_EQ(ByCountry(b.engine()), (std::map<std::optional<std::string>, int64_t>{{"PL", 1}}));
  EXPECT_EQ(b.source_lsn(), Lsn(77));
  EXPECT_TRUE(b.ApplyCommittedBatch(2, events, Lsn(78)).IsFailedPrecondition());
  // A bad event names where it came from, and leaves the state as it was.
  std::string bad = "{\"op\":\"c\"}";
  events = {{"dbserver1.public.klienci", bad, 3, 41}};
  Status st = b.ApplyCommittedBatch(1, events, Lsn(79));
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("batch 1 topic dbserver1.public.klienci partition 3 offset 41"), std::string::npos)
      << st.ToString();
  EXPECT_EQ(ByCountry(b.engine()), (std::map<std::optional<std::string>, int64_t>{{"PL", 1}}));
}

// WriteViews: one folder per view named as the view, its Parquet listed in _SUCCESS; a failure before
// the manifests leaves the previous result, after them the new one; stale files are removed.
TEST(ViewOutputTest, FoldersReplacedAtomically) {
  TempRoot root;
  auto store = Open(root.path());
  RawFixtureWriter writer(store.get());
  Views views(std::string(kCountryView) + kTotalView);
  Workload w;
  w.truncates = false;
  ASSERT_TRUE(writer.CommitBatch(w.Next(100), 1).ok());
  ViewBuilder b(store.get(), &views.set, &views.catalog, {});
  ASSERT_TRUE(b.CatchUp(nullptr).ok());
  ASSERT_TRUE(WriteViews(store.get(), b.engine(), {Lsn(0x16B3748), 0}, "live").ok());
  // "total" has a numeric column (avg of integers: DECIMAL(38,16)); the manifest's row count must not
  // depend on reading such a file back.
  const std::map<std::string, int64_t> want_rows = {{"by-country", static_cast<int64_t>(w.Expected().size())},
                                                    {"total", 1}};
  for (const auto& [dir, rows] : want_rows) {
    auto m = lake::ReadManifest(store.get(), dir);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    ASSERT_EQ(m->files.size(), 1u);
    EXPECT_EQ(m->source_lsn, "0/16B3748");
    EXPECT_EQ(m->rows, rows) << dir;
    auto bytes = store->Get(dir + "/" + m->files[0]);
    ASSERT_TRUE(bytes.ok());
    ASSERT_GT(bytes->size(), 8u);
    EXPECT_EQ(bytes->substr(0, 4), "PAR1");
    EXPECT_EQ(bytes->substr(bytes->size() - 4), "PAR1");
  }
  auto first = lake::ReadManifest(store.get(), "by-country");
  ASSERT_TRUE(writer.CommitBatch(w.Next(100), 1).ok());
  ASSERT_TRUE(b.CatchUp(nullptr).ok());
  for (const char* fp : {"live.after_files_written=error", "live.after_success=error"}) {
    setenv("CDCPIPE_FAILPOINTS", fp, 1);
    FailpointReload();
    EXPECT_FALSE(WriteViews(store.get(), b.engine(), {Lsn(0x16B4000), 1}, "live").ok());
    auto now = lake::ReadManifest(store.get(), "by-country");
    ASSERT_TRUE(now.ok());
    if (std::string(fp).starts_with("live.after_files_written")) {
      EXPECT_EQ(now->files, first->files) << "before the manifests, the old result stands";
    } else {
      EXPECT_NE(now->files, first->files) << "after the manifests, the new result stands";
      EXPECT_TRUE(store->Get("by-country/" + now->files[0]).ok());
    }
  }
  unsetenv("CDCPIPE_FAILPOINTS");
  FailpointReload();
  ASSERT_TRUE(WriteViews(store.get(), b.engine(), {Lsn(0x16B4000), 1}, "live").ok());
  EXPECT_EQ(Keys(store.get(), "by-country/").size(), 2u);  // the data file and _SUCCESS
}

}  // namespace
}  // namespace cdc::analytics
