// The seed views' oracle test: random workloads against the private PostgreSQL, real Debezium events
// from the capture job written as raw-kafka-data (the raw sink's layout: Parquet + _spark_metadata),
// then `cdcpipe batch --views views/seed.sql` (full and incremental) and LiveViews must equal
//   SELECT kraj, count(*) FROM klienci GROUP BY kraj
//   SELECT stanowisko, avg(wiek), count(*) FROM pracownicy GROUP BY stanowisko
// read back with DuckDB from the Parquet files listed in _SUCCESS. Plus a crash in the middle of a
// batch run (failpoints): the previous result stays readable and the rerun is right.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "base/failpoint.h"
#include "base/shutdown.h"
#include "lake/raw_fixture_writer.h"
#include "lake/result_folders.h"
#include "jobs/capture.h"
#include "jobs/live_views.h"
#include "log/record_sink.h"
#include "pg/connection.h"
#include "pg/schema.h"
#include "sql/plan.h"
#include "memory_sink.h"
#include "support/test_env.h"

namespace cdc {
namespace {

using namespace cdc::testing;
using json = nlohmann::json;

// Random statements over klienci and pracownicy; `ids` mirror the tables' keys.
class WorkloadGen {
 public:
  explicit WorkloadGen(uint32_t seed) : rng_(seed) {}
  std::string Next(int statements, bool allow_truncate) {
    std::string sql;
    bool open = false;
    for (int i = 0; i < statements; ++i) {
      if (!open && rng_() % 5 == 0) {
        sql += "BEGIN;";
        open = true;
      }
      int r = static_cast<int>(rng_() % 100);
      bool k = rng_() % 2 == 0;
      std::set<int>& ids = k ? klienci_ : pracownicy_;
      std::string table = k ? "klienci" : "pracownicy";
      if (r < 35 || ids.size() < 3) {
        int id = next_id_++;
        ids.insert(id);
        if (k) {
          sql += "INSERT INTO klienci(id,nazwa,kraj) VALUES(" + std::to_string(id) + ",'n'," + Country() + ");";
        } else {
          sql += "INSERT INTO pracownicy(id,imie,wiek,stanowisko) VALUES(" + std::to_string(id) + ",'i'," + Age() + "," +
                 Position() + ");";
        }
      } else if (r < 65) {
        int id = Pick(ids);
        if (k) {
          sql += "UPDATE klienci SET kraj=" + Country() + " WHERE id=" + std::to_string(id) + ";";
        } else if (r % 3 == 0) {
          sql += "UPDATE pracownicy SET wiek=" + Age() + " WHERE id=" + std::to_string(id) + ";";
        } else if (r % 3 == 1) {
          sql += "UPDATE pracownicy SET stanowisko=" + Position() + " WHERE id=" + std::to_string(id) + ";";
        } else {
          sql += "UPDATE pracownicy SET email='e', imie='x' WHERE id=" + std::to_string(id) + ";";
        }
      } else if (r < 78) {  // primary-key change (sometimes with the grouped column too)
        int id = Pick(ids);
        int nid = next_id_++;
        ids.erase(id);
        ids.insert(nid);
        std::string extra = r % 2 ? "" : (k ? ", kraj=" + Country() : ", wiek=" + Age());
        sql += "UPDATE " + table + " SET id=" + std::to_string(nid) + extra + " WHERE id=" + std::to_string(id) + ";";
      } else if (r < 97 || !allow_truncate) {
        int id = Pick(ids);
        ids.erase(id);
        sql += "DELETE FROM " + table + " WHERE id=" + std::to_string(id) + ";";
      } else {
        ids.clear();
        sql += "TRUNCATE " + table + ";";
      }
      if (open && rng_() % 4 == 0) {
        sql += "COMMIT;";
        open = false;
      }
    }
    if (open) sql += "COMMIT;";
    return sql;
  }

 private:
  int Pick(const std::set<int>& ids) {
    auto it = ids.begin();
    std::advance(it, rng_() % ids.size());
    return *it;
  }
  std::string Country() {
    static const char* c[] = {"'Polska'", "'Niemcy'", "'Ελλάδα'", "'日本'", "'Česko'", "'Côte d''Ivoire'", "NULL"};
    return c[rng_() % 7];
  }
  std::string Position() {
    static const char* c[] = {"'Inżynier'", "'Kierownik'", "'QA'", "'Księgowa'", "NULL"};
    return c[rng_() % 5];
  }
  std::string Age() { return rng_() % 6 == 0 ? "NULL" : std::to_string(18 + rng_() % 50); }

  std::mt19937 rng_;
  std::set<int> klienci_, pracownicy_;
  int next_id_ = 1;
};

std::string Exact(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

struct Expect {
  std::map<std::string, int64_t> countries;                     // kraj or "<NULL>" -> count
  std::map<std::string, std::pair<int64_t, std::string>> ages;  // stanowisko -> (count, avg text or "NULL")
};

class BatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = pg().CreateTestDatabase();
    auto conn = pg::PgConnection::Connect(pg().Conninfo(db_));
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    ASSERT_TRUE(pg::EnsureSchema(*conn).ok());
    out_ = std::make_unique<TempDir>("cdcpipe-batch");
    store::StoreOptions so;
    so.local_fsync = false;
    auto s = store::OpenStore(out_->path(), so);
    ASSERT_TRUE(s.ok());
    store_ = std::move(*s);
    writer_ = std::make_unique<lake::testutil::RawFixtureWriter>(store_.get());
  }
  void TearDown() override {
    ResetShutdown();
    unsetenv("CDCPIPE_FAILPOINTS");
    FailpointReload();
    pg().DropSlots(db_);
  }
  static PgCluster& pg() { return PgCluster::Shared(); }

  // Captures everything up to now (real Debezium events, with or without schema) and commits it as
  // `batches` raw batches; the same batches go to the live aggregates.
  void CaptureIntoRaw(int batches, bool schemas) {
    jobs::CaptureOptions o;
    o.conninfo = pg().Conninfo(db_);
    o.tables = {"klienci", "pracownicy", "projekty"};
    o.state_uri = *out_ / "_checkpoints/capture";
    o.encoder.schemas = schemas;
    o.heartbeat = std::chrono::milliseconds(0);
    o.status_interval = std::chrono::milliseconds(1000);
    o.end_lsn = *Lsn::Parse(pg().Psql(db_, "SELECT pg_current_wal_insert_lsn()"));
    jobs::CaptureJob job(o, &sink_);
    Status st = job.Run();
    ASSERT_TRUE(st.ok()) << st.ToString();
    std::vector<log::Record> records = sink_.Take();
    size_t per = (records.size() + batches - 1) / std::max(1, batches);
    for (size_t start = 0; start < records.size() || start == 0; start += std::max<size_t>(per, 1)) {
      std::vector<lake::testutil::FixtureEvent> events;
      std::vector<jobs::RawEvent> raw;
      for (size_t i = start; i < records.size() && i < start + per; ++i) {
        events.push_back({records[i].topic, records[i].key, records[i].value, 0});
        jobs::RawEvent e;
        e.topic = records[i].topic;
        e.key = records[i].key;
        e.value = records[i].value;
        e.offset = static_cast<int64_t>(i);
        raw.push_back(std::move(e));
      }
      auto id = writer_->CommitBatch(events, 2);
      ASSERT_TRUE(id.ok()) << id.status().ToString();
      if (live_) {
        jobs::CommittedBatch b{*id, &raw, Lsn()};
        ASSERT_TRUE(live_->OnBatch(b).ok());
      }
      if (records.empty()) break;
    }
  }

  Expect FromPostgres() {
    Expect e;
    std::string rows = pg().Psql(db_, "SELECT coalesce(json_agg(json_build_array(kraj, n)), '[]') FROM "
                                      "(SELECT kraj, count(*) AS n FROM klienci GROUP BY kraj) t");
    for (auto& r : json::parse(rows)) e.countries[r[0].is_null() ? "<NULL>" : r[0].get<std::string>()] = r[1];
    rows = pg().Psql(db_, "SELECT coalesce(json_agg(json_build_array(stanowisko, n, a::text)), '[]') FROM "
                          "(SELECT stanowisko, count(*) AS n, avg(wiek) AS a FROM pracownicy GROUP BY stanowisko) t");
    for (auto& r : json::parse(rows)) {
      e.ages[r[0].is_null() ? "<NULL>" : r[0].get<std::string>()] = {r[1].get<int64_t>(),
                                                                     r[2].is_null() ? "NULL" : r[2].get<std::string>()};
    }
    return e;
  }

  // The files listed in a folder's _SUCCESS, as a DuckDB list literal.
  std::string ListedFiles(const std::string& dir) {
    json m = json::parse(ReadFile(out_->path() + "/" + dir + "/_SUCCESS"));
    std::string list = "[";
    for (auto& f : m["files"]) {
      if (list.size() > 1) list += ",";
      list += "'";
      list += out_->path();
      list += "/";
      list += dir;
      list += "/";
      list += f.get<std::string>();
      list += "'";
    }
    return list + "]";
  }

  // Reads a result folder the way docs/VIEWS.md tells readers to: the files its _SUCCESS lists. A
  // live `cdcpipe run` may replace the result between reading the manifest and the files (their old
  // files are then gone): re-read the manifest and retry, as the contract says.
  std::string QueryListed(const std::string& columns, const std::string& folder) {
    CommandResult r;
    for (int attempt = 0; attempt < 20; ++attempt) {
      r = RunNode("duckdb_query.mjs", {"SELECT " + columns + " FROM read_parquet(" + ListedFiles(folder) + ")"});
      if (r.exit_code == 0) return r.out;
      if (r.err.find("No files found") == std::string::npos) break;
    }
    ADD_FAILURE() << "DuckDB could not read " << folder << ":\n" << r.Describe();
    return "";
  }

  Expect FromDuckDb() {
    Expect e;
    std::string out = QueryListed("kraj, count", "klienci-by-country");
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      json r = json::parse(line);
      e.countries[r[0].is_null() ? "<NULL>" : r[0].get<std::string>()] = r[1].get<int64_t>();
    }
    out = QueryListed("stanowisko, count, avg_age", "avg-age-by-position");
    std::istringstream in2(out);
    for (std::string line; std::getline(in2, line);) {
      if (line.empty()) continue;
      json r = json::parse(line);
      e.ages[r[0].is_null() ? "<NULL>" : r[0].get<std::string>()] = {
          r[1].get<int64_t>(), r[2].is_null() ? "NULL" : Exact(r[2].get<double>())};
    }
    return e;
  }

  // What the live views hold (seed.sql's two views, in file order).
  static Expect FromLive(const jobs::LiveViews& live) {
    Expect e;
    const analytics::ViewEngine& engine = live.builder().engine();
    auto countries = engine.Rows(0);
    auto ages = engine.Rows(1);
    EXPECT_TRUE(countries.ok() && ages.ok());
    if (!countries.ok() || !ages.ok()) return e;
    for (auto& r : countries->rows) e.countries[r[0].is_null() ? "<NULL>" : r[0].s] = r[1].i;
    for (auto& r : ages->rows) {
      e.ages[r[0].is_null() ? "<NULL>" : r[0].s] = {r[2].i, r[1].is_null() ? "NULL" : Exact(r[1].f)};
    }
    return e;
  }

  std::shared_ptr<const jobs::LoadedViews> SeedViews() {
    jobs::ViewsOptions o;
    o.file = SourceDir() + "/views/seed.sql";
    o.conninfo = pg().Conninfo(db_);
    o.tables = {"klienci", "pracownicy", "projekty"};
    auto v = jobs::LoadViewsFile(o);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : nullptr;
  }

  static void ExpectSame(const Expect& want, const Expect& got, const std::string& what) {
    EXPECT_EQ(want.countries, got.countries) << what;
    ASSERT_EQ(want.ages.size(), got.ages.size()) << what;
    for (const auto& [k, v] : want.ages) {
      auto it = got.ages.find(k);
      ASSERT_NE(it, got.ages.end()) << what << ": missing position " << k;
      EXPECT_EQ(v.first, it->second.first) << what << ": count of " << k;
      if (v.second == "NULL" || it->second.second == "NULL") {
        EXPECT_EQ(v.second, it->second.second) << what << ": avg of " << k;
      } else {
        EXPECT_NEAR(std::stod(v.second), std::stod(it->second.second), 1e-9) << what << ": avg of " << k;
      }
    }
  }

  CommandResult Batch(const std::vector<std::string>& extra = {}, const std::map<std::string, std::string>& env = {}) {
    std::vector<std::string> argv = {CdcpipeBin(), "batch", "--output", out_->path(), "--db", pg().Uri(db_),
                                     "--views", SourceDir() + "/views/seed.sql"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv, env);
  }

  std::string db_;
  std::unique_ptr<TempDir> out_;
  std::unique_ptr<store::ObjectStore> store_;
  std::unique_ptr<lake::testutil::RawFixtureWriter> writer_;
  std::unique_ptr<jobs::LiveViews> live_;
  MemorySink sink_;
};

TEST_F(BatchTest, OracleFullIncrementalAndLive) {
  WorkloadGen gen(20261125);
  // Rows that exist before capture starts arrive as snapshot reads (op r).
  pg().Psql(db_, gen.Next(150, false));
  live_ = std::make_unique<jobs::LiveViews>(
      jobs::LiveViewsOptions{.output = store_.get(), .views = SeedViews(), .events = {}, .state = nullptr,
                             .materialize = false, .checkpoint_interval = {}});
  ASSERT_TRUE(live_->Start().ok());
  for (int round = 0; round < 4; ++round) {
    pg().Psql(db_, gen.Next(400, /*allow_truncate=*/round == 1));
    CaptureIntoRaw(/*batches=*/round == 2 ? 12 : 3, /*schemas=*/round % 2 == 0);
    Expect want = FromPostgres();
    ASSERT_FALSE(want.countries.empty());

    CommandResult r = Batch();  // incremental after the first round
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    EXPECT_NE(r.err.find(round == 0 ? "full run" : "incremental run"), std::string::npos) << r.err;
    ExpectSame(want, FromDuckDb(), "incremental batch, round " + std::to_string(round));
    ExpectSame(want, FromLive(*live_), "live views, round " + std::to_string(round));

    r = Batch({"--full"});
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    EXPECT_NE(r.err.find("full run"), std::string::npos) << r.err;
    EXPECT_NE(r.out.find("klienci-by-country"), std::string::npos) << r.out;
    ExpectSame(want, FromDuckDb(), "full batch, round " + std::to_string(round));
    json m = json::parse(ReadFile(out_->path() + "/klienci-by-country/_SUCCESS"));
    EXPECT_FALSE(m["source_lsn"].get<std::string>().empty());
  }
}

TEST_F(BatchTest, CrashMidBatchKeepsThePreviousResult) {
  WorkloadGen gen(7);
  pg().Psql(db_, gen.Next(200, false));
  CaptureIntoRaw(2, false);
  ASSERT_EQ(Batch().exit_code, 0);
  Expect before = FromPostgres();
  ExpectSame(before, FromDuckDb(), "first run");

  pg().Psql(db_, gen.Next(300, true));
  CaptureIntoRaw(3, true);
  Expect after = FromPostgres();
  for (const char* fp : {"batch.after_files_written", "batch.after_success", "batch.after_result"}) {
    CommandResult r = Batch({}, {{"CDCPIPE_FAILPOINTS", std::string(fp) + "=crash"}});
    ASSERT_EQ(r.exit_code, kFailpointExitCode) << fp << ": " << r.Describe();
    // Old or new, never a mix: before _SUCCESS the old result, after it the new one.
    ExpectSame(std::string(fp) == "batch.after_files_written" ? before : after, FromDuckDb(), fp);
  }
  CommandResult r = Batch();
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  ExpectSame(after, FromDuckDb(), "rerun after crashes");
  // Only the listed files remain.
  int parquet_files = 0;
  for (auto& e : std::filesystem::directory_iterator(out_->path() + "/klienci-by-country")) {
    parquet_files += e.path().extension() == ".parquet";
  }
  EXPECT_EQ(parquet_files, 1);
}

}  // namespace
}  // namespace cdc

namespace cdc {
namespace {

// End to end through the real pipeline: `cdcpipe run` captures and writes raw-kafka-data, its live
// aggregates materialise the results at each trigger; `cdcpipe batch` over the same output agrees.
TEST_F(BatchTest, RealPipelineLiveAndBatchAgree) {
  WorkloadGen gen(99);
  pg().Psql(db_, gen.Next(100, false));
  std::string log = out_->path() + "/../run-" + db_ + ".log";
  BackgroundProcess run({CdcpipeBin(), "run", "--db", pg().Uri(db_), "--output", out_->path(), "--http", "off",
                         "--trigger", "200ms", "--heartbeat", "0", "--tables", "klienci,pracownicy,projekty",
                         "--replica-identity-full", "--views", SourceDir() + "/views/seed.sql"},
                        log);
  auto caught_up = [&] {
    std::string r = pg().Psql(db_, "SELECT coalesce((SELECT confirmed_flush_lsn >= pg_current_wal_insert_lsn() "
                                   "FROM pg_replication_slots WHERE slot_name='cdcpipe'), false)");
    return r == "t";
  };
  for (int round = 0; round < 3; ++round) {
    pg().Psql(db_, gen.Next(300, /*allow_truncate=*/round == 1));
    Expect want = FromPostgres();
    // Caught up, and the live result materialised for the last committed batch.
    bool ok = WaitFor(
        [&] {
          if (!caught_up()) return false;
          if (!std::filesystem::exists(out_->path() + "/klienci-by-country/_SUCCESS")) return false;
          Expect got = FromDuckDb();
          return got.countries == want.countries && got.ages.size() == want.ages.size();
        },
        120000);
    ASSERT_TRUE(ok) << "run did not catch up in round " << round << "\n" << run.Log();
    ExpectSame(want, FromDuckDb(), "live aggregates of cdcpipe run, round " + std::to_string(round));
  }
  ASSERT_EQ(run.Stop(SIGTERM), 0) << run.Log();
  Expect want = FromPostgres();
  CommandResult r = Batch({"--full"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  ExpectSame(want, FromDuckDb(), "batch --full after run");
}

// LiveViews' publisher (docs/VIEWS.md, "Live in cdcpipe run"): batches are applied at once, results
// are written at most once per publish_interval and at Stop(); a view whose result did not change
// keeps its files, and only its _SUCCESS moves to the new position. (No database: raw batches are
// written by the fixture writer, as the raw sink lays them out.)
TEST(LiveViewsPublisherTest, WritesChangedViewsAtMostOncePerIntervalAndAtStop) {
  TempDir dir("cdcpipe-live-publisher");
  store::StoreOptions so;
  so.local_fsync = false;
  auto opened = store::OpenStore(dir.path(), so);
  ASSERT_TRUE(opened.ok());
  store::ObjectStore* store = opened->get();
  auto views = std::make_shared<jobs::LoadedViews>();
  event::TableSchema t;
  t.schema = "public";
  t.table = "klienci";
  t.columns = {{"id", 23, -1, true, false}, {"kraj", 25, -1, false, true}};
  views->catalog = {{"public.klienci", t}};
  auto set = sql::LoadViews("publisher.sql",
                            "CREATE VIEW by_country AS SELECT kraj, count(*) AS n FROM klienci GROUP BY kraj;\n"
                            "CREATE VIEW xx AS SELECT count(*) AS n FROM klienci WHERE kraj = 'XX';\n",
                            views->catalog);
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  views->views = std::move(*set);
  auto insert = [](int id, const std::string& kraj) {
    return lake::testutil::FixtureEvent{"dbserver1.public.klienci", "{\"id\":" + std::to_string(id) + "}",
                                        "{\"before\":null,\"after\":{\"id\":" + std::to_string(id) + ",\"kraj\":\"" +
                                            kraj + "\"},\"source\":{\"lsn\":" + std::to_string(1000 + id) +
                                            "},\"op\":\"c\"}"};
  };
  lake::testutil::RawFixtureWriter writer(store);
  ASSERT_TRUE(writer.CommitBatch({insert(1, "PL"), insert(2, "DE")}).ok());
  auto manifest = [&](const std::string& view) {
    auto m = lake::ReadManifest(store, view);
    EXPECT_TRUE(m.ok()) << view << ": " << m.status().ToString();
    return m.ok() ? *m : lake::SuccessManifest{};
  };
  jobs::PipelineStateHub hub;
  auto live = std::make_unique<jobs::LiveViews>(jobs::LiveViewsOptions{
      .output = store, .views = views, .events = {}, .state = &hub, .materialize = true,
      .publish_interval = std::chrono::hours(1), .checkpoint_interval = {}});
  ASSERT_TRUE(live->Start().ok());
  EXPECT_EQ(live->publications(), 1u);
  lake::SuccessManifest by0 = manifest("by_country"), xx0 = manifest("xx");
  EXPECT_EQ(by0.rows, 2);
  EXPECT_EQ(by0.raw_batch_id, 0);

  // Commits a one-event raw batch and hands it to `live` as the raw sink would; returns its id.
  auto commit = [&](jobs::LiveViews* live, const lake::testutil::FixtureEvent& event, int64_t offset) -> int64_t {
    auto id = writer.CommitBatch({event});
    EXPECT_TRUE(id.ok());
    std::vector<jobs::RawEvent> raw(1);
    raw[0].topic = event.topic;
    raw[0].key = event.key;
    raw[0].value = event.value;
    raw[0].offset = offset;
    EXPECT_TRUE(live->OnBatch(jobs::CommittedBatch{id.ok() ? *id : -1, &raw, Lsn()}).ok());
    return id.ok() ? *id : -1;
  };
  // Two more batches: applied (the engine has them), not written before the interval has passed.
  commit(live.get(), insert(11, "CZ"), 11);
  commit(live.get(), insert(12, "PL"), 12);
  EXPECT_EQ(live->builder().engine().stored_rows(), 4u);
  EXPECT_EQ(live->publications(), 1u);
  EXPECT_EQ(manifest("by_country").files, by0.files);
  EXPECT_EQ(hub.Snapshot().views.at(0).row_count, 2u);

  // Stop writes what is pending: by_country's new result; xx's files stay, its position moves.
  ASSERT_TRUE(live->Stop().ok());
  EXPECT_EQ(live->publications(), 2u);
  lake::SuccessManifest by1 = manifest("by_country"), xx1 = manifest("xx");
  EXPECT_NE(by1.files, by0.files);
  EXPECT_EQ(by1.rows, 3);
  EXPECT_EQ(by1.raw_batch_id, 2);
  EXPECT_EQ(xx1.files, xx0.files);
  EXPECT_EQ(xx1.raw_batch_id, 2);
  EXPECT_EQ(hub.Snapshot().views.at(0).row_count, 3u);

  // A short interval: the publisher thread writes a batch by itself, without Stop().
  live = std::make_unique<jobs::LiveViews>(jobs::LiveViewsOptions{
      .output = store, .views = views, .events = {}, .state = &hub, .materialize = true,
      .publish_interval = std::chrono::milliseconds(1), .checkpoint_interval = {}});
  ASSERT_TRUE(live->Start().ok());
  int64_t id = commit(live.get(), insert(20, "FR"), 20);
  ASSERT_TRUE(WaitFor([&] { return manifest("by_country").raw_batch_id == id; }, 60000))
      << "the publisher never wrote batch " << id;
  EXPECT_EQ(manifest("by_country").rows, 4);
  ASSERT_TRUE(live->Stop().ok());
}

}  // namespace
}  // namespace cdc
