// Debezium fidelity against a real PostgreSQL (issue 17, docs/DEBEZIUM.md): what the snapshot reader and
// the catalog give the encoder, checked through the records the encoder writes.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "event/debezium_encoder.h"
#include "pg/connection.h"
#include "pg/relation_cache.h"
#include "pg/snapshot_reader.h"
#include "support/test_env.h"

namespace cdc::testing {
namespace {

using json = nlohmann::json;

class DebeziumTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = pg().CreateTestDatabase();
    auto c = pg::PgConnection::Connect(pg().Conninfo(db_));
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    conn_ = std::make_unique<pg::PgConnection>(std::move(*c));
  }
  static PgCluster& pg() { return PgCluster::Shared(); }
  std::string Sql(const std::string& sql) { return pg().Psql(db_, sql); }
  // `t` as the stream sees it: a Relation message (names, type OIDs and modifiers only, as pgoutput
  // sends them) completed by the relation cache from the catalog. Null when the cache refuses it.
  std::shared_ptr<const event::TableSchema> Streamed(const event::TableSchema& t) {
    pg::RelationMessage msg;
    msg.relation_id = t.relation_id;
    msg.schema = t.schema;
    msg.table = t.table;
    for (const auto& c : t.columns) {
      pg::RelationColumn rc;
      rc.name = c.name;
      rc.type_oid = c.type_oid;
      rc.type_modifier = c.type_modifier;
      msg.columns.push_back(rc);
    }
    pg::PgCatalogSource catalog(conn_.get());
    pg::RelationCache cache(&catalog);
    Status st = cache.Apply(msg);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return st.ok() ? cache.Find(msg.relation_id) : nullptr;
  }

  std::vector<std::shared_ptr<const event::TableSchema>> Tables(const std::vector<std::string>& names) {
    std::vector<std::shared_ptr<const event::TableSchema>> out;
    for (const auto& n : names) {
      auto t = pg::LookupTable(*conn_, "public", n);
      EXPECT_TRUE(t.ok()) << n << ": " << t.status().ToString();
      if (t.ok()) out.push_back(pg::SchemaFromCatalog(*t));
    }
    return out;
  }

  // The snapshot of `tables` encoded as Debezium records (schemas off): the value payloads in order.
  std::vector<json> Snapshot(const std::vector<std::string>& tables, uint64_t chunk_rows,
                             std::optional<pg::SnapshotPosition> resume = std::nullopt,
                             std::vector<pg::SnapshotPosition>* chunks = nullptr) {
    pg::SnapshotOptions so;
    so.tables = Tables(tables);
    so.chunk_rows = chunk_rows;
    so.resume_after = std::move(resume);
    event::EncoderOptions eo;
    eo.schemas = false;
    event::DebeziumEncoder enc(eo);
    std::vector<json> out;
    pg::SnapshotCallbacks cb;
    cb.emit = [&](const event::ChangeEvent& e) -> Status {
      std::vector<event::EncodedRecord> recs;
      CDC_RETURN_IF_ERROR(enc.Encode(e, 0, &recs));
      for (const auto& r : recs) out.push_back(json::parse(*r.value));
      return Status::OK();
    };
    cb.chunk_done = [&](const pg::SnapshotPosition& p) -> Status {
      if (chunks) chunks->push_back(p);
      return Status::OK();
    };
    auto n = pg::ReadSnapshot(*conn_, so, cb);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return out;
  }
  static std::vector<std::string> Markers(const std::vector<json>& recs) {
    std::vector<std::string> out;
    for (const auto& r : recs) {
      out.push_back(r["source"]["table"].get<std::string>() + ":" + r["after"]["id"].dump() + ":" +
                    r["source"]["snapshot"].get<std::string>());
    }
    return out;
  }

  std::string db_;
  std::unique_ptr<pg::PgConnection> conn_;
};

// Three tables, chunks of 2 rows: `a` ends exactly at a chunk end (its last row is only known to be its
// last when the next table's first row is read), `b` has one row, `c` three. Debezium's markers
// (RelationalSnapshotChangeEventSource.setSnapshotMarker): first, true..., last_in_data_collection on each
// table's last row, last on the very last. Every record carries the reading transaction's id as txId.
TEST_F(DebeziumTest, SnapshotMarkersOnAThreeTableSnapshot) {
  Sql("CREATE TABLE a (id int PRIMARY KEY); INSERT INTO a SELECT generate_series(1, 4);"
      "CREATE TABLE b (id int PRIMARY KEY); INSERT INTO b VALUES (10);"
      "CREATE TABLE c (id int PRIMARY KEY); INSERT INTO c SELECT generate_series(20, 22);");
  const uint64_t before = std::stoull(Sql("SELECT txid_current()"));
  std::vector<json> recs = Snapshot({"a", "b", "c"}, 2);
  EXPECT_EQ(Markers(recs), (std::vector<std::string>{"a:1:first", "a:2:true", "a:3:true",
                                                     "a:4:last_in_data_collection", "b:10:last_in_data_collection",
                                                     "c:20:true", "c:21:true", "c:22:last"}));
  ASSERT_FALSE(recs.empty());
  ASSERT_TRUE(recs[0]["source"]["txId"].is_number_unsigned()) << recs[0].dump();
  const uint64_t xid = recs[0]["source"]["txId"].get<uint64_t>();
  EXPECT_GT(xid, before);
  for (const auto& r : recs) EXPECT_EQ(r["source"]["txId"], xid) << r.dump();
  // A real transaction id: PostgreSQL knows it as a committed transaction now.
  EXPECT_EQ(Sql("SELECT pg_xact_status('" + std::to_string(xid) + "'::xid8)"), "committed");
}

// A one-row snapshot: its only row is "last" (Debezium's precedence: last before first). An empty first
// table: the first row emitted is "first" (Debezium, which marks the first table's first row only, would
// write none: docs/DEBEZIUM.md, "Snapshot markers"). An empty last table: the row before it is "last".
TEST_F(DebeziumTest, SnapshotMarkersWithEmptyTablesAndOneRow) {
  Sql("CREATE TABLE e1 (id int PRIMARY KEY); CREATE TABLE one (id int PRIMARY KEY); INSERT INTO one VALUES (7);"
      "CREATE TABLE two (id int PRIMARY KEY); INSERT INTO two VALUES (1), (2); CREATE TABLE e2 (id int PRIMARY KEY);");
  EXPECT_EQ(Markers(Snapshot({"one"}, 10)), (std::vector<std::string>{"one:7:last"}));
  EXPECT_EQ(Markers(Snapshot({"e1", "two", "one", "e2"}, 10)),
            (std::vector<std::string>{"two:1:first", "two:2:last_in_data_collection", "one:7:last"}));
  EXPECT_TRUE(Snapshot({"e1", "e2"}, 10).empty());
}

// A resumed snapshot (docs/CAPTURE.md, "Resuming"): the rows after the durable position get the markers an
// uninterrupted read gives them, without a second "first" when rows were made durable before; a resume
// from the very start (nothing durable) begins with "first". The resumed read is a new transaction: its
// rows carry its id.
TEST_F(DebeziumTest, ResumedSnapshotKeepsTheMarkersOfAnUninterruptedOne) {
  Sql("CREATE TABLE a (id int PRIMARY KEY); INSERT INTO a SELECT generate_series(1, 5);"
      "CREATE TABLE b (id int PRIMARY KEY); INSERT INTO b VALUES (10), (11);");
  std::vector<pg::SnapshotPosition> chunks;
  std::vector<json> whole = Snapshot({"a", "b"}, 2, std::nullopt, &chunks);
  ASSERT_EQ(whole.size(), 7u);
  ASSERT_GE(chunks.size(), 2u);
  // Resume after the first chunk (rows 1 and 2 durable).
  ASSERT_EQ(chunks[0].rows, 2u);
  std::vector<json> rest = Snapshot({"a", "b"}, 2, chunks[0]);
  std::vector<std::string> expected = Markers(whole);
  expected.erase(expected.begin(), expected.begin() + 2);
  EXPECT_EQ(Markers(rest), expected);
  ASSERT_FALSE(rest.empty());
  EXPECT_NE(rest[0]["source"]["txId"], whole[0]["source"]["txId"]);
  // Resume at the start of table b (table a durable whole).
  pg::SnapshotPosition at_b;
  at_b.table_index = 1;
  at_b.table = "public.b";
  at_b.rows = 5;
  EXPECT_EQ(Markers(Snapshot({"a", "b"}, 2, at_b)), (std::vector<std::string>{"b:10:true", "b:11:last"}));
  // Nothing durable yet: the resumed read is the whole snapshot again, "first" included.
  pg::SnapshotPosition start;
  start.table = "public.a";
  EXPECT_EQ(Markers(Snapshot({"a", "b"}, 2, start)), Markers(whole));
}

// Column defaults read from pg_attrdef through the catalog (docs/DEBEZIUM.md, "Column defaults"), the same for
// the snapshot's schema (LookupTable) and the stream's (a Relation message completed by the catalog), written in
// the Kafka Connect schema as Debezium's default-value converter writes them.
TEST_F(DebeziumTest, ColumnDefaultsFromTheCatalogInSnapshotAndStreamSchemas) {
  Sql("CREATE TYPE mood AS ENUM ('sad', 'ok');"
      "CREATE TABLE dft (id serial PRIMARY KEY, big bigserial, a int DEFAULT -1, n numeric(6,2) DEFAULT 2.5,"
      " t text DEFAULT 'abc', ts timestamptz NOT NULL DEFAULT now(), d date DEFAULT '2020-01-02', b bool DEFAULT true,"
      " i interval DEFAULT '1 day', m mood DEFAULT 'ok', e int DEFAULT (1 + 2), nodef int, arr int[] DEFAULT '{1}');"
      "INSERT INTO dft DEFAULT VALUES;");
  const std::map<std::string, json> expected = {
      {"id", 0}, {"big", 0}, {"a", -1}, {"n", "APo="}, {"t", "abc"}, {"ts", "1970-01-01T00:00:00.000000Z"},
      {"d", 18263}, {"b", true}, {"i", 86400000000LL}, {"m", "ok"}};
  auto defaults = [](const json& value) {
    std::map<std::string, json> out;
    for (const auto& f : value["schema"]["fields"][1]["fields"]) {
      if (f.contains("default")) out[f["field"].get<std::string>()] = f["default"];
    }
    return out;
  };
  auto encode = [](const std::shared_ptr<const event::TableSchema>& t, const event::Row& row) {
    event::DebeziumEncoder enc(event::EncoderOptions{});
    event::ChangeEvent ev;
    ev.op = event::Op::kCreate;
    ev.table = t;
    ev.after = row;
    std::vector<event::EncodedRecord> recs;
    Status st = enc.Encode(ev, 0, &recs);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return recs;
  };
  // Snapshot: the schema the snapshot reader is given.
  auto tables = Tables({"dft"});
  ASSERT_EQ(tables.size(), 1u);
  event::Row row(tables[0]->columns.size(), event::Value::Null());
  row[0] = event::Value::Text("1");
  row[5] = event::Value::Text("2024-01-02 03:04:05+00");
  auto recs = encode(tables[0], row);
  ASSERT_FALSE(recs.empty());
  EXPECT_EQ(defaults(json::parse(*recs[0].value)), expected) << *recs[0].value;
  EXPECT_EQ(json::parse(*recs[0].key)["schema"]["fields"][0]["default"], 0) << *recs[0].key;
  // Stream: a Relation message (no defaults in pgoutput) completed by the catalog.
  auto streamed = Streamed(*tables[0]);
  ASSERT_NE(streamed, nullptr);
  auto srecs = encode(streamed, row);
  ASSERT_FALSE(srecs.empty());
  EXPECT_EQ(defaults(json::parse(*srecs[0].value)), expected) << *srecs[0].value;
}

// citext[] resolved through the catalog (the array's element is an extension type): an array of strings in the
// snapshot's schema and in the stream's, holding what PostgreSQL holds.
TEST_F(DebeziumTest, CitextArrayIsAnArrayOfStrings) {
  Sql("CREATE EXTENSION IF NOT EXISTS citext; CREATE TABLE ext (id int PRIMARY KEY, tags citext[]);"
      "INSERT INTO ext VALUES (1, ARRAY['Abc', 'x y', NULL]::citext[]);");
  auto tables = Tables({"ext"});
  ASSERT_EQ(tables.size(), 1u);
  std::vector<json> recs = Snapshot({"ext"}, 10);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0]["after"]["tags"], json::parse(R"(["Abc","x y",null])")) << recs[0].dump();
  EXPECT_EQ(Sql("SELECT array_to_json(tags) FROM ext"), R"(["Abc","x y",null])");
  // Stream: the Relation message's column completed from the catalog.
  auto streamed = Streamed(*tables[0]);
  ASSERT_NE(streamed, nullptr);
  event::DebeziumEncoder enc(event::EncoderOptions{});
  event::ChangeEvent ev;
  ev.op = event::Op::kCreate;
  ev.table = streamed;
  ev.after = event::Row{event::Value::Text("2"), event::Value::Text(R"({Q,"\"z\""})")};
  std::vector<event::EncodedRecord> out;
  ASSERT_TRUE(enc.Encode(ev, 0, &out).ok());
  json v = json::parse(*out[0].value);
  EXPECT_EQ(v["schema"]["fields"][1]["fields"][1]["items"], json::parse(R"({"type":"string","optional":true})"));
  EXPECT_EQ(v["payload"]["after"]["tags"], json::parse(R"(["Q","\"z\""])"));
}

}  // namespace
}  // namespace cdc::testing
