// Debezium fidelity end to end (issue 17): `cdcpipe run` captures a three-table snapshot and a stream under
// Debezium's switches given as flags, and DuckDB's JSON functions (a reader nobody here wrote) read the
// committed records back and compare them with what psql says PostgreSQL holds.
#include <gtest/gtest.h>

#include <csignal>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "raw_output.h"
#include "support/test_env.h"

namespace cdc::testing {
namespace {

class DebeziumRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = pg().CreateTestDatabase();
    Sql("CREATE TABLE a (id serial PRIMARY KEY, n int DEFAULT 7);"
        "INSERT INTO a (n) SELECT g FROM generate_series(1, 3) g;"
        "CREATE TABLE b (id bigserial PRIMARY KEY, note text DEFAULT 'x');"
        "INSERT INTO b (note) VALUES ('only');"
        "CREATE TABLE c (id int PRIMARY KEY, bin bytea, ts timestamp, t time(3), ts3 timestamp(3));"
        "INSERT INTO c VALUES (1, '\\xfbffbf00', '2024-01-02 03:04:05.123456', '01:02:03.5', '1969-12-31 23:59:59.999'),"
        " (2, NULL, NULL, NULL, NULL);");
  }
  void TearDown() override { pg().DropSlots(db_); }
  static PgCluster& pg() { return PgCluster::Shared(); }
  std::string Sql(const std::string& sql) { return pg().Psql(db_, sql); }
  std::string Out() const { return dir_ / "out"; }

  // Runs the pipeline over a, b, c: the snapshot, then `stream_sql`, until the slot confirmed all of it.
  void Run(const std::vector<std::string>& switches, const std::string& stream_sql) {
    std::vector<std::string> argv = {CdcpipeBin(), "run", "--db", pg().Uri(db_), "--output", Out(), "--trigger",
                                     "100ms", "--heartbeat", "0", "--http", "off", "--tables", "a,b,c",
                                     "--snapshot-chunk-rows", "2",
                                     // one reader: the tables' records in their order, as Debezium's markers
                                     // assume (with several the merged order decides; docs/DEBEZIUM.md)
                                     "--snapshot-parallelism", "1"};
    argv.insert(argv.end(), switches.begin(), switches.end());
    BackgroundProcess run(argv, dir_ / "run.log");
    ASSERT_TRUE(WaitFor([&] { return !run.Running() || Committed("SELECT count(*) FROM raw") != std::vector<std::string>{}; },
                        60000))
        << run.Log();
    Sql(stream_sql);
    std::string target = Sql("SELECT pg_current_wal_insert_lsn()");
    ASSERT_TRUE(WaitFor(
        [&] {
          return !run.Running() ||
                 Sql("SELECT coalesce((SELECT confirmed_flush_lsn >= '" + target +
                     "'::pg_lsn FROM pg_replication_slots WHERE slot_name = 'cdcpipe'), false)") == "t";
        },
        60000))
        << run.Log();
    ASSERT_TRUE(run.Running()) << run.Log();
    ASSERT_EQ(run.Stop(SIGINT), 0) << run.Log();
  }
  // The first column of each row of a DuckDB query over the committed records (`raw`).
  std::vector<std::string> Committed(const std::string& select) {
    std::vector<std::string> out;
    std::istringstream in(QueryCommitted(Out(), select, dir_ / "files.csv"));
    for (std::string line; std::getline(in, line);) {
      if (line.empty()) continue;
      auto j = nlohmann::json::parse(line);
      out.push_back(j.at(0).is_string() ? j.at(0).get<std::string>() : j.at(0).dump());
    }
    return out;
  }
  static std::string F(const std::string& path) { return "json_extract_string(value, '$.payload." + path + "')"; }
  std::vector<std::string> Topic(const std::string& table, const std::string& what, const std::string& where = "") {
    return Committed("SELECT " + what + " FROM raw WHERE topic = 'dbserver1.public." + table + "' AND value IS NOT NULL" +
                     where + " ORDER BY \"offset\"");
  }

  TempDir dir_{"cdcpipe-debezium-run-test"};
  std::string db_;
};

// Default switches: the snapshot markers of a three-table snapshot in chunks of 2 (table a ends inside its second
// chunk), txId set on snapshot records, "default":0 on the serial keys, and TRUNCATE written as op t (cdcpipe's
// deliberate default; Debezium skips it).
TEST_F(DebeziumRunTest, SnapshotMarkersDefaultsAndTruncateByDefault) {
  Run({}, "INSERT INTO a (n) VALUES (4); TRUNCATE b;");
  EXPECT_EQ(Topic("a", F("source.snapshot"), " AND " + F("op") + " = 'r'"),
            (std::vector<std::string>{"first", "true", "last_in_data_collection"}));
  EXPECT_EQ(Topic("b", F("source.snapshot"), " AND " + F("op") + " = 'r'"),
            (std::vector<std::string>{"last_in_data_collection"}));
  EXPECT_EQ(Topic("c", F("source.snapshot"), " AND " + F("op") + " = 'r'"), (std::vector<std::string>{"true", "last"}));
  // One snapshot transaction: every r record has the same, non-null txId.
  EXPECT_EQ(Committed("SELECT count(DISTINCT " + F("source.txId") + ") || '/' || count(" + F("source.txId") +
                      ") FROM raw WHERE " + F("op") + " = 'r'"),
            (std::vector<std::string>{"1/6"}));
  EXPECT_EQ(Topic("a", F("op")), (std::vector<std::string>{"r", "r", "r", "c"}));
  EXPECT_EQ(Topic("a", F("source.snapshot"), " AND " + F("op") + " = 'c'"), (std::vector<std::string>{"false"}));
  EXPECT_EQ(Topic("b", F("op")), (std::vector<std::string>{"r", "t"}));
  // Column defaults in the schema: serial and bigserial keys 0 (key and value schemas), constants as their type.
  EXPECT_EQ(Topic("a", "json_extract(value, '$.schema.fields[1].fields[0].default')::VARCHAR || ',' || "
                       "json_extract(value, '$.schema.fields[1].fields[1].default')::VARCHAR || ',' || "
                       "json_extract(key, '$.schema.fields[0].default')::VARCHAR",
                  " AND " + F("op") + " = 'c'"),
            (std::vector<std::string>{"0,7,0"}));
  EXPECT_EQ(Topic("b", "json_extract(value, '$.schema.fields[1].fields[0].default')::VARCHAR || ',' || "
                       "json_extract_string(value, '$.schema.fields[1].fields[1].default')",
                  " AND " + F("op") + " = 'r'"),
            (std::vector<std::string>{"0,x"}));
}

// Debezium's switches as flags: skipped.operations=t drops the TRUNCATE (and nothing else);
// time.precision.mode=connect writes Kafka Connect's Date/Time/Timestamp in milliseconds; binary.handling.mode=hex
// writes bytea as lowercase hex strings. The values DuckDB reads equal what PostgreSQL computes from its own data.
TEST_F(DebeziumRunTest, SwitchesGivenAsFlags) {
  Run({"--skipped.operations", "t", "--time.precision.mode", "connect", "--binary.handling.mode", "hex",
       "--decimal.handling.mode", "string", "--provide.transaction.metadata"},
      "INSERT INTO a (n) VALUES (4); TRUNCATE b; UPDATE c SET bin = '\\x00' WHERE id = 2;");
  EXPECT_EQ(Topic("b", F("op")), (std::vector<std::string>{"r"}));
  EXPECT_EQ(Topic("a", F("op")), (std::vector<std::string>{"r", "r", "r", "c"}));
  // Stream records carry the transaction block; snapshot records do not.
  EXPECT_EQ(Topic("a", "json_extract_string(value, '$.payload.transaction.total_order')", " AND " + F("op") + " = 'c'"),
            (std::vector<std::string>{"1"}));
  // Schemas of c's columns in connect mode and hex (the schema as DuckDB extracts it).
  std::vector<std::string> schema =
      Topic("c", "json_extract(value, '$.schema.fields[1].fields')::VARCHAR", " AND " + F("after.id") + " = '1'");
  ASSERT_EQ(schema.size(), 1u);
  std::string names;
  for (const auto& f : nlohmann::json::parse(schema[0])) {
    if (!names.empty()) names += ',';
    names += (f.contains("name") ? f["name"] : f["type"]).get<std::string>();
  }
  EXPECT_EQ(names, "int32,string,org.apache.kafka.connect.data.Timestamp,org.apache.kafka.connect.data.Time,"
                   "org.apache.kafka.connect.data.Timestamp");
  // ts has microseconds: Kafka Connect's Timestamp keeps the milliseconds (floor), as PostgreSQL's floor here.
  std::string expected = Sql(
      "SELECT encode(bin, 'hex') || '|' || floor(extract(epoch FROM ts) * 1000)::bigint || '|' || "
      "floor(extract(epoch FROM t) * 1000)::bigint || '|' || floor(extract(epoch FROM ts3) * 1000)::bigint "
      "FROM c WHERE id = 1");
  EXPECT_EQ(Topic("c", F("after.bin") + " || '|' || " + F("after.ts") + " || '|' || " + F("after.t") + " || '|' || " +
                           F("after.ts3"),
                  " AND " + F("after.id") + " = '1'"),
            (std::vector<std::string>{expected}));
  EXPECT_EQ(Topic("c", F("after.bin"), " AND " + F("op") + " = 'u'"), (std::vector<std::string>{"00"}));
  // provide.transaction.metadata: the streamed transaction's BEGIN and END on dbserver1.transaction, END counting the
  // events written per table (the skipped TRUNCATE is not one); the snapshot has none.
  EXPECT_EQ(Committed("SELECT " + F("status") + " || ' ' || coalesce(json_extract(value, '$.payload.event_count')::VARCHAR, "
                      "'null') || ' ' || coalesce(json_extract(value, '$.payload.data_collections')::VARCHAR, 'null') "
                      "FROM raw WHERE topic = 'dbserver1.transaction' ORDER BY \"offset\""),
            (std::vector<std::string>{"BEGIN null null",
                                      "END 2 [{\"data_collection\":\"public.a\",\"event_count\":1},"
                                      "{\"data_collection\":\"public.c\",\"event_count\":1}]"}));
  EXPECT_EQ(Committed("SELECT count(DISTINCT " + F("id") + ") || '/' || count(DISTINCT json_extract_string(key, "
                      "'$.payload.id')) FROM raw WHERE topic = 'dbserver1.transaction'"),
            (std::vector<std::string>{"1/1"}));
}

// column.exclude.list (regular expressions over schema.table.column, matched whole) removes the columns from
// every record of the snapshot and the stream, and from the value schema; message.key.columns makes a's key
// its column n instead of the primary key, in the key's payload and schema.
TEST_F(DebeziumRunTest, ColumnExcludeListAndMessageKeyColumns) {
  Run({"--column.exclude.list", "public\\.c\\.(bin|ts)", "--message.key.columns", "public.a:n"},
      "INSERT INTO a (n) VALUES (40); UPDATE c SET t = '05:06:07' WHERE id = 1;");
  // ts3 is not excluded: the expression must match the whole name.
  EXPECT_EQ(Topic("c", "json_keys(json_extract(value, '$.payload.after'))::VARCHAR"),
            (std::vector<std::string>{"[id, t, ts3]", "[id, t, ts3]", "[id, t, ts3]"}));
  EXPECT_EQ(Topic("c", "json_extract_string(value, '$.schema.fields[1].fields[*].field')::VARCHAR",
                  " AND " + F("op") + " = 'u'"),
            (std::vector<std::string>{"[id, t, ts3]"}));
  // time(3) under time.precision.mode=adaptive: io.debezium.time.Time, milliseconds.
  EXPECT_EQ(Topic("c", F("after.t"), " AND " + F("op") + " = 'u'"),
            (std::vector<std::string>{Sql("SELECT (extract(epoch FROM t) * 1000)::bigint FROM c WHERE id = 1")}));
  EXPECT_EQ(Topic("a", "json_extract(key, '$.payload')::VARCHAR"),
            (std::vector<std::string>{"{\"n\":1}", "{\"n\":2}", "{\"n\":3}", "{\"n\":40}"}));
  EXPECT_EQ(Topic("a", "json_extract_string(key, '$.schema.fields[0].field')", " AND " + F("op") + " = 'c'"),
            (std::vector<std::string>{"n"}));
}

}  // namespace
}  // namespace cdc::testing
