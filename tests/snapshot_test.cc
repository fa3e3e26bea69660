// Chunked initial snapshots (issue 18, docs/CAPTURE.md "Snapshot in chunks"): `cdcpipe run` reads each
// table in chunks (keyset pagination on the primary key in its index order, composite keys too; heap
// page ranges for a table without a key), all in the slot's exported snapshot. Checked with clients
// nobody here wrote: psql for the source, DuckDB for the committed raw-kafka-data.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <tuple>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/failpoint.h"
#include "raw_output.h"
#include "support/test_env.h"

namespace cdc::testing {
namespace {

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = pg().CreateTestDatabase(); }
  void TearDown() override { pg().DropSlots(db_); }
  static PgCluster& pg() { return PgCluster::Shared(); }
  std::string Sql(const std::string& sql) { return pg().Psql(db_, sql); }
  std::string Out() const { return dir_ / "out"; }

  std::vector<std::string> RunArgs(const std::string& tables, const std::vector<std::string>& extra) {
    std::vector<std::string> argv = {CdcpipeBin(), "run", "--db", pg().Uri(db_), "--output", Out(), "--trigger",
                                     "200ms", "--heartbeat", "0", "--http", "off", "--tables", tables,
                                     "--replica-identity-full"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return argv;
  }
  std::unique_ptr<BackgroundProcess> StartRun(const std::string& tables, const std::vector<std::string>& extra,
                                              const std::map<std::string, std::string>& env = {}) {
    return std::make_unique<BackgroundProcess>(RunArgs(tables, extra), dir_ / "run.log", env);
  }

  // psql lines, in psql's order / sorted.
  std::vector<std::string> SourceLines(const std::string& select) {
    std::vector<std::string> out;
    std::istringstream in(Sql(select));
    for (std::string line; std::getline(in, line);) {
      if (!line.empty()) out.push_back(line);
    }
    return out;
  }
  std::vector<std::string> SourceRows(const std::string& select) { return Sorted(SourceLines(select)); }
  // The first column of each row of a DuckDB query over the committed events (`raw`), in its order.
  std::vector<std::string> Committed(const std::string& select) {
    return QueryCommittedColumn(Out(), select, dir_ / "files.csv");
  }
  static std::vector<std::string> Sorted(std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  }
  // The number of chunks the log reports for a table ("...: N rows in M chunks").
  static int Chunks(const std::string& log, const std::string& table, int64_t* rows = nullptr) {
    std::smatch m;
    std::regex re("\"public\"\\.\"" + table + "\": (\\d+) rows in (\\d+) chunks");
    int found = -1;
    for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator(); ++it) {
      found = std::stoi((*it)[2]);
      if (rows) *rows = std::stoll((*it)[1]);
    }
    return found;
  }

  TempDir dir_{"cdcpipe-snapshot-test"};
  std::string db_;
};

// A composite key declared in another order than its columns, a char(n) + numeric key (the literals of
// the last key are cast with the column's typmod), and a table without a primary key (ctid ranges,
// with holes left by deletes): every row is committed exactly once as `r`, equal to psql's, and a
// keyed table's rows come in its key order.
TEST_F(SnapshotTest, CompositeKeyAndKeylessTablesAreReadInChunks) {
  Sql("CREATE TABLE comp (a int, b text, v text, PRIMARY KEY (b, a));"
      "INSERT INTO comp SELECT g % 7, 'k' || (g / 7), 'v' || g FROM generate_series(1, 1000) g;"
      "CREATE TABLE fixed (c char(4), n numeric(6,2), note text, PRIMARY KEY (c, n));"
      "INSERT INTO fixed SELECT chr(97 + g % 26) || (g % 10), (g % 13) + 0.25, 'f' || g FROM generate_series(1, 300) g "
      "ON CONFLICT DO NOTHING;"
      "CREATE TABLE nokey (x int, y text);"
      "INSERT INTO nokey SELECT g, repeat('y', g % 50) FROM generate_series(1, 3000) g;"
      "DELETE FROM nokey WHERE x % 5 = 0; ANALYZE nokey;");
  // One reader (the parallel snapshot is the next test's): a table autovacuum analyzed meanwhile would
  // otherwise be split into ranges, whose rows interleave.
  auto r = RunCommand(RunArgs("comp,fixed,nokey", {"--snapshot", "initial_only", "--snapshot-chunk-rows", "64",
                                                   "--snapshot-parallelism", "1"}));
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  std::string log = r.out + r.err;

  int64_t rows = 0;
  EXPECT_EQ(Chunks(log, "comp", &rows), 16) << log;  // 15 full chunks of 64 and one of 40
  EXPECT_EQ(rows, 1000);
  EXPECT_GT(Chunks(log, "fixed"), 1) << log;
  EXPECT_GT(Chunks(log, "nokey"), 3) << log;
  EXPECT_NE(log.find("keyset on (\"b\", \"a\")"), std::string::npos) << log;
  EXPECT_NE(log.find("no primary key: ctid ranges"), std::string::npos) << log;

  auto after = [](const std::string& topic, const std::string& fields) {
    return "SELECT " + fields + " FROM raw WHERE topic = 'dbserver1.public." + topic +
           "' AND json_extract_string(value, '$.payload.op') = 'r' ORDER BY \"offset\"";
  };
  auto field = [](const char* name) { return std::string("json_extract_string(value, '$.payload.after.") + name + "')"; };
  // comp: exactly psql's rows, and in the key order (b, a) as PostgreSQL sorts it.
  std::vector<std::string> comp = Committed(after("comp", field("b") + " || '|' || " + field("a") + " || '|' || " + field("v")));
  EXPECT_EQ(comp, SourceLines("SELECT b || '|' || a || '|' || v FROM comp ORDER BY b, a"));
  // fixed: char(4) keeps its padding; numeric(6,2) is Debezium's bytes: compare the key and note.
  EXPECT_EQ(Sorted(Committed(after("fixed", field("c") + " || '|' || " + field("note")))),
            SourceRows("SELECT format('%s|%s', c, note) FROM fixed"));
  EXPECT_EQ(Sorted(Committed(after("nokey", field("x") + " || '|' || " + field("y")))),
            SourceRows("SELECT x || '|' || y FROM nokey"));
}

// A parallel snapshot (issue 18 item 2) with three connections: a keyed table split into key ranges
// (pg_stats' histogram of its first key column), a composite-key table split on its first column, a
// table without a key split into page ranges, and two small tables read whole. Every row is committed
// once as `r`, equal to psql's; the rows of each range come in key order (the ranges' bounds are read
// from the marker); one `first`, one `last`, at most one `last_in_data_collection` per table.
TEST_F(SnapshotTest, AParallelSnapshotSplitsLargeTablesIntoRangesReadAtOnce) {
  Sql("CREATE TABLE big (id bigint PRIMARY KEY, v text);"
      "INSERT INTO big SELECT g, 'v' || g FROM generate_series(1, 6000) g;"
      "CREATE TABLE comp (a int, b text, v text, PRIMARY KEY (b, a));"
      "INSERT INTO comp SELECT g % 7, 'k' || lpad((g / 7)::text, 4, '0'), 'c' || g FROM generate_series(1, 3000) g;"
      "CREATE TABLE nokey (x int, y text);"
      "INSERT INTO nokey SELECT g, repeat('y', g % 50) FROM generate_series(1, 4000) g;"
      "DELETE FROM nokey WHERE x % 7 = 0;"
      "CREATE TABLE one (id int PRIMARY KEY); INSERT INTO one VALUES (1);"
      "CREATE TABLE empty (id int PRIMARY KEY);"
      "ANALYZE big; ANALYZE comp; ANALYZE nokey;");
  auto r = RunCommand(RunArgs("big,one,comp,empty,nokey", {"--snapshot", "initial_only", "--snapshot-chunk-rows", "400",
                                                           "--snapshot-parallelism", "3"}));
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  std::string log = r.out + r.err;
  EXPECT_NE(log.find("range(s) of 5 table(s) to read with 3 connection(s)"), std::string::npos) << log;
  int64_t rows = 0;
  EXPECT_GT(Chunks(log, "big", &rows), 3) << log;
  EXPECT_EQ(rows, 6000);
  EXPECT_NE(log.find("\"public\".\"big\": 6000 rows in"), std::string::npos) << log;

  // The plan the marker holds: big, comp and nokey in 3 ranges each, the small tables whole.
  auto marker = nlohmann::json::parse(ReadFile(Out() + "/_checkpoints/capture/slot-cdcpipe.json"));
  std::map<std::string, std::vector<nlohmann::json>> plan;
  for (const auto& range : marker.at("ranges")) plan[range.at("table").get<std::string>()].push_back(range);
  EXPECT_EQ(plan["public.big"].size(), 3u) << marker.dump();
  EXPECT_EQ(plan["public.comp"].size(), 3u) << marker.dump();
  EXPECT_EQ(plan["public.nokey"].size(), 3u) << marker.dump();
  EXPECT_EQ(plan["public.one"].size(), 1u) << marker.dump();
  EXPECT_EQ(plan["public.empty"].size(), 1u) << marker.dump();

  auto f = [](const std::string& path) { return "json_extract_string(value, '$.payload." + path + "')"; };
  auto of = [&](const std::string& topic) {
    return " FROM raw WHERE topic = 'dbserver1.public." + topic + "' AND " + f("op") + " = 'r' ORDER BY \"offset\"";
  };
  // In the committed order: "key|rest" per row.
  std::vector<std::string> big = Committed("SELECT " + f("after.id") + " || '|' || " + f("after.v") + of("big"));
  std::vector<std::string> comp =
      Committed("SELECT " + f("after.b") + " || '|' || " + f("after.a") + " || '|' || " + f("after.v") + of("comp"));
  EXPECT_EQ(Sorted(big), SourceRows("SELECT id || '|' || v FROM big"));
  EXPECT_EQ(Sorted(comp), SourceRows("SELECT b || '|' || a || '|' || v FROM comp"));
  EXPECT_EQ(Sorted(Committed("SELECT " + f("after.x") + " || '|' || " + f("after.y") + of("nokey"))),
            SourceRows("SELECT x || '|' || y FROM nokey"));
  // Each keyed range in key order: its rows, in the committed order, are psql's rows of the range sorted
  // by the key.
  for (const auto& [table, rows] : std::vector<std::pair<std::string, const std::vector<std::string>*>>{
           {"big", &big}, {"comp", &comp}}) {
    const bool numeric = table == "big";
    const std::string key = numeric ? "big.id" : "comp.b";
    for (const auto& range : plan["public." + table]) {
      SCOPED_TRACE(table + " " + range.dump());
      std::string cond = "true";
      if (range.contains("lo")) cond += " AND " + key + " >= '" + range["lo"].get<std::string>() + "'";
      if (range.contains("hi")) cond += " AND " + key + " < '" + range["hi"].get<std::string>() + "'";
      std::vector<std::string> want = SourceLines("SELECT " + std::string(numeric ? "id::text" : "b || '|' || a") +
                                                  " FROM " + table + " WHERE " + cond + " ORDER BY " +
                                                  (numeric ? "big.id" : "comp.b, comp.a"));
      // The committed rows whose first key column is in the range (as the psql rows are: compared the
      // same way, numerically or as the 'kNNNN' strings, whose order is the same in every collation).
      auto in_range = [&](const std::string& v) {
        auto below = [&](const std::string& x, const std::string& y) {
          return numeric ? std::stoll(x) < std::stoll(y) : x < y;
        };
        return (!range.contains("lo") || !below(v, range["lo"].get<std::string>())) &&
               (!range.contains("hi") || below(v, range["hi"].get<std::string>()));
      };
      std::vector<std::string> got;
      for (const std::string& row : *rows) {
        std::string first = row.substr(0, row.find('|'));
        std::string k = numeric ? first : row.substr(0, row.find('|', first.size() + 1));
        if (in_range(first)) got.push_back(k);
      }
      EXPECT_GT(got.size(), 100u);
      EXPECT_EQ(got, want);
    }
  }
  // Snapshot markers: one first, one last, at most one last_in_data_collection per table; `one`'s row.
  std::string sn = f("source.snapshot");
  std::vector<std::string> markers = Committed(
      "SELECT count(*) FILTER (WHERE " + sn + " = 'first') || '|' || count(*) FILTER (WHERE " + sn + " = 'last') || "
      "'|' || count(*) FILTER (WHERE topic = 'dbserver1.public.one') || '|' || count(DISTINCT topic) FILTER (WHERE " +
      sn + " = 'last_in_data_collection') || '|' || count(*) FILTER (WHERE " + sn + " = 'last_in_data_collection') "
      "FROM raw");
  ASSERT_EQ(markers.size(), 1u);
  std::smatch m;
  ASSERT_TRUE(std::regex_match(markers[0], m, std::regex("1\\|1\\|1\\|(\\d+)\\|(\\d+)"))) << markers[0];
  EXPECT_EQ(m[1], m[2]) << markers[0];
  EXPECT_GE(std::stoi(m[1]), 2) << markers[0];
}

// A table whose range that ends last turns out empty still gets its last_in_data_collection record.
// `gone` is analyzed, then loses every row above the middle of its histogram (autovacuum off, so the
// statistics stay): of its two ranges the second is empty. `slow` (never analyzed: one range) keeps one
// reader busy while the other reads gone's ranges one after the other, the empty one last, so slow's rows
// are merged between gone's last row and the end of its empty range. Before the merger held each table's
// newest row, gone's last row went out as `true`.
TEST_F(SnapshotTest, AParallelSnapshotMarksATableWhoseLastRangeIsEmpty) {
  Sql("CREATE TABLE slow (id int PRIMARY KEY, pad text) WITH (autovacuum_enabled = off);"
      "INSERT INTO slow SELECT g, repeat('s', 200) FROM generate_series(1, 40000) g;"
      "CREATE TABLE gone (id int PRIMARY KEY) WITH (autovacuum_enabled = off);"
      "INSERT INTO gone SELECT g FROM generate_series(1, 3000) g; ANALYZE gone;"
      "DELETE FROM gone WHERE id > 1400;");
  auto r = RunCommand(RunArgs("slow,gone", {"--snapshot", "initial_only", "--snapshot-chunk-rows", "400",
                                            "--snapshot-parallelism", "2"}));
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  auto marker = nlohmann::json::parse(ReadFile(Out() + "/_checkpoints/capture/slot-cdcpipe.json"));
  std::vector<nlohmann::json> gone_ranges;
  for (const auto& range : marker.at("ranges")) {
    if (range.at("table") == "public.gone") gone_ranges.push_back(range);
  }
  ASSERT_EQ(gone_ranges.size(), 2u) << marker.dump();
  ASSERT_TRUE(gone_ranges[1].contains("lo")) << marker.dump();
  ASSERT_GT(std::stoi(gone_ranges[1]["lo"].get<std::string>()), 1400) << marker.dump();  // the empty one

  auto f = [](const std::string& path) { return "json_extract_string(value, '$.payload." + path + "')"; };
  auto marks = [&](const std::string& table) {
    return Committed("SELECT " + f("after.id") + " || '|' || " + f("source.snapshot") +
                     " FROM raw WHERE topic = 'dbserver1.public." + table + "' AND " + f("source.snapshot") +
                     " NOT IN ('true', 'first') ORDER BY \"offset\"");
  };
  // Each table's last row carries last_in_data_collection, or `last` if it is the very last row.
  std::vector<std::string> gone = marks("gone"), slow = marks("slow");
  ASSERT_EQ(gone.size(), 1u) << ::testing::PrintToString(gone);
  ASSERT_EQ(slow.size(), 1u) << ::testing::PrintToString(slow);
  EXPECT_TRUE(gone[0] == "1400|last_in_data_collection" || gone[0] == "1400|last") << gone[0];
  EXPECT_TRUE(slow[0] == "40000|last_in_data_collection" || slow[0] == "40000|last") << slow[0];
  EXPECT_NE(gone[0].substr(gone[0].find('|')), slow[0].substr(slow[0].find('|')));  // one of them is `last`
  EXPECT_EQ(Committed("SELECT count(*) FROM raw").at(0), "41400");
}

// Memory is bounded whatever the chunk size (issue 18 item 6): a chunk far larger than a batch is
// committed in batches of at most 2 x max_batch_rows events (capture hands a position inside the chunk
// every max_batch_rows rows), and a crash inside that one chunk resumes after the last committed row,
// not from the start of the chunk. Without positions inside chunks, `run` held the whole chunk (a
// 1,000,000-row chunk took 10 GB) and a crash started the chunk over.
TEST_F(SnapshotTest, AChunkLargerThanABatchIsCommittedAndResumedFromInsideIt) {
  Sql("CREATE TABLE wide (id int PRIMARY KEY, pad text NOT NULL);"
      "INSERT INTO wide SELECT g, repeat('w', 100) || g FROM generate_series(1, 30000) g;");
  const std::vector<std::string> args = {"--snapshot", "initial_only", "--snapshot-chunk-rows", "100000",
                                         "--max-batch-rows", "1000", "--snapshot-parallelism", "1"};
  // Dies after 10,240 emitted rows: the consumer has taken at least 10,240 - 4096 (the channel) of them,
  // so it has committed batches by then, each at a position inside the one chunk.
  auto crashing = StartRun("wide", args, {{"CDCPIPE_FAILPOINTS", "capture.during_snapshot=crash:10"}});
  ASSERT_EQ(crashing->Wait(120000), kFailpointExitCode) << crashing->Log();
  auto r = RunCommand(RunArgs("wide", args));
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  std::string log = r.out + r.err;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(log, m, std::regex("after (\\d+) durable rows, at table public.wide after key \\((\\d+)\\)")))
      << log;
  int64_t durable = std::stoll(m[1]);
  EXPECT_GE(durable, 1000) << log;
  EXPECT_EQ(std::stoll(m[2]), durable) << log;  // ids 1..n: the key of the n-th row
  int64_t read = 0;
  EXPECT_EQ(Chunks(log, "wide", &read), 1) << log;
  EXPECT_EQ(read, 30000 - durable) << log;

  // Every row once as `r`, and no committed file holds more than 2 x max_batch_rows events.
  auto id = std::string("json_extract_string(value, '$.payload.after.id')");
  EXPECT_EQ(Committed("SELECT count(*) || '|' || count(DISTINCT " + id + ") FROM raw WHERE json_extract_string(value, "
                      "'$.payload.op') = 'r'"),
            std::vector<std::string>{"30000|30000"});
  MetadataCheck meta = ReadSparkMetadata(Out());
  EXPECT_GE(meta.files.size(), 15u);
  std::string list;
  for (const auto& f : meta.files) list += (list.empty() ? "'" : ", '") + f + "'";
  std::string largest = DuckDbQuery("SELECT max(n) FROM (SELECT count(*) AS n FROM read_parquet('" + Out() +
                                    "/raw-kafka-data/part-*.parquet', filename=true) WHERE parse_filename(filename) IN (" +
                                    list + ") GROUP BY filename)");
  ASSERT_FALSE(largest.empty());
  auto n = nlohmann::json::parse(largest).at(0);
  EXPECT_LE(n.is_string() ? std::stoll(n.get<std::string>()) : n.get<int64_t>(), 2000) << largest;
}

// Crashes (failpoint) at three moments of the initial snapshot of a table many chunks long, read in three
// key ranges at once (--snapshot-parallelism 3, issue 18 item 2), while psql updates, inserts and deletes
// rows of it in small transactions; then a clean run streams the rest. After the last restart every row is in the committed raw data once as `r` or as a later
// change, no change is there twice, and replaying the events (the last one per key) gives the table
// psql reads.
TEST_F(SnapshotTest, CrashesDuringAChunkedSnapshotUnderConcurrentWritesLoseAndRepeatNothing) {
  Sql("CREATE TABLE big (id bigint PRIMARY KEY, n int NOT NULL, pad text);"
      "INSERT INTO big SELECT g, 0, repeat('p', 80) || g FROM generate_series(1, 60000) g; ANALYZE big;");
  std::string sql;
  for (int i = 0; i < 300; ++i) {
    std::string lo = std::to_string(i * 200 + 1), hi = std::to_string(i * 200 + 20);
    sql += "BEGIN;\nUPDATE big SET n = n + 1, pad = 'u" + std::to_string(i) + "' WHERE id BETWEEN " + lo + " AND " +
           hi + ";\nINSERT INTO big SELECT 1000000 + " + std::to_string(i * 3) +
           " + g, -1, 'new' FROM generate_series(1, 3) g;\nDELETE FROM big WHERE id = " +
           std::to_string(i * 200 + 100) + ";\nUPDATE big SET n = n + 10 WHERE id = " +
           std::to_string(1000000 + std::max(0, i * 3 - 2)) + ";\nCOMMIT;\nSELECT pg_sleep(0.01);\n";
  }
  WriteFile(dir_ / "workload.sql", sql);
  BackgroundProcess workload({"psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", dir_ / "workload.sql"},
                             dir_ / "workload.log", pg().Env(db_));
  const std::vector<std::string> args = {"--snapshot-chunk-rows", "1000", "--max-batch-rows", "4000",
                                         "--snapshot-parallelism", "3"};
  // capture.during_snapshot is hit every 1024 snapshot rows a process emits: each run dies after
  // about 10,000 rows of its own, three times, so the last one reads the rest.
  for (int crash = 0; crash < 3; ++crash) {
    SCOPED_TRACE(crash);
    auto crashing = StartRun("big", args, {{"CDCPIPE_FAILPOINTS", "capture.during_snapshot=crash:10"}});
    ASSERT_EQ(crashing->Wait(120000), kFailpointExitCode) << crashing->Log();
  }
  auto run = StartRun("big", args);
  ASSERT_EQ(workload.Wait(300000), 0) << ReadFile(dir_ / "workload.log");
  std::string target = Sql("SELECT pg_current_wal_insert_lsn()");
  ASSERT_TRUE(WaitFor(
      [&] {
        return run->Running() && Sql("SELECT coalesce((SELECT confirmed_flush_lsn >= '" + target +
                                     "'::pg_lsn FROM pg_replication_slots WHERE slot_name = 'cdcpipe'), false)") == "t";
      },
      180000))
      << run->Log();
  ASSERT_EQ(run->Stop(SIGINT), 0) << run->Log();
  std::string log = run->Log();
  // Each restart continued after the positions its predecessor had committed (never from zero), in a new
  // transaction, each open range after its own key (several ranges open at least once: a crash soon after
  // the start may find only the first reader's range with a durable position), and the last one read the
  // rest: fewer rows than the table.
  std::regex resumed("capture: resuming the initial snapshot of slot \"cdcpipe\" \\(consistent point [0-9A-F/]+\\) "
                     "after (\\d+) durable rows, at table public.big after key \\((\\d+)\\)(, at table public.big)?");
  std::vector<int64_t> durable;
  bool several_open = false;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), resumed); it != std::sregex_iterator(); ++it) {
    durable.push_back(std::stoll((*it)[1]));
    several_open |= (*it)[3].matched;
  }
  ASSERT_EQ(durable.size(), 3u) << log;
  EXPECT_TRUE(several_open) << log;
  EXPECT_GT(durable[0], 0);
  EXPECT_GT(durable[1], durable[0]);
  EXPECT_GT(durable[2], durable[1]);
  int64_t last_read = 0;
  Chunks(log, "big", &last_read);
  EXPECT_GT(last_read, 0) << log;
  EXPECT_LT(last_read, 60000 - durable[2] + 1000) << log;

  const std::string big = "topic = 'dbserver1.public.big'";
  auto f = [](const char* path) { return std::string("json_extract_string(value, '$.payload.") + path + "')"; };
  // No row twice as `r`, no change twice (its source LSN and key).
  EXPECT_EQ(Committed("SELECT count(*) FROM (SELECT " + f("after.id") + " FROM raw WHERE " + big + " AND " + f("op") +
                      " = 'r' GROUP BY 1 HAVING count(*) > 1)"),
            std::vector<std::string>{"0"});
  EXPECT_EQ(Committed("SELECT count(*) FROM (SELECT " + f("source.lsn") + ", CAST(key AS VARCHAR) FROM raw WHERE " +
                      big + " AND value IS NOT NULL AND " + f("op") + " <> 'r' GROUP BY ALL HAVING count(*) > 1)"),
            std::vector<std::string>{"0"});
  // Each key's history is one row's: `r` only as its first event, no `c` while it exists, nothing after
  // a delete but a `c` (an `r` or `c` of a row already emitted would be that row twice).
  EXPECT_EQ(Committed("SELECT count(*) FROM (SELECT " + f("op") + " AS op, lag(" + f("op") +
                      ") OVER (PARTITION BY CAST(key AS VARCHAR) ORDER BY \"offset\") AS prev FROM raw WHERE " + big +
                      " AND value IS NOT NULL) WHERE (op = 'r' AND prev IS NOT NULL) OR (op = 'c' AND prev <> 'd') OR "
                      "(op IN ('u', 'd') AND prev = 'd')"),
            std::vector<std::string>{"0"});
  // Replay: the last event of each key, unless it is a delete.
  std::vector<std::string> replayed = Committed(
      "SELECT " + f("after.id") + " || '|' || " + f("after.n") + " || '|' || " + f("after.pad") +
      " FROM (SELECT value, row_number() OVER (PARTITION BY CAST(key AS VARCHAR) ORDER BY \"offset\" DESC) AS rn "
      "FROM raw WHERE " + big + " AND value IS NOT NULL) WHERE rn = 1 AND " + f("op") + " <> 'd'");
  std::vector<std::string> source = SourceRows("SELECT id || '|' || n || '|' || pad FROM big");
  EXPECT_EQ(source.size(), 60000u + 900u - 300u);
  EXPECT_EQ(Sorted(replayed), source);
}

}  // namespace
}  // namespace cdc::testing
