// Capture integration tests against the private PostgreSQL 15 (one database and slot per test).
//
// In-process tests run CaptureJob into a MemorySink (a RecordSink that keeps every record) and check
// the Debezium JSON with nlohmann; the CLI tests run `cdcpipe capture` into the librdkafka mock
// cluster (build/kafka-mock) and read the topics back with kcat. The replay tests apply every event to
// an empty copy and compare it with the source table as PostgreSQL itself renders it (json_agg).
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "base/failpoint.h"
#include "base/shutdown.h"
#include "jobs/capture.h"
#include "log/record_sink.h"
#include "pg/connection.h"
#include "pg/schema.h"
#include "memory_sink.h"
#include "support/test_env.h"

namespace cdc::testing {
namespace {

using json = nlohmann::json;

struct Event {
  std::string topic;
  json key;    // null when absent
  json value;  // payload (schemas=false); null for a tombstone
  std::string op() const { return value.is_null() ? "tombstone" : value["op"].get<std::string>(); }
};

std::vector<Event> Parse(const std::vector<log::Record>& records) {
  std::vector<Event> out;
  for (const auto& r : records) {
    Event e;
    e.topic = r.topic;
    e.key = r.key ? json::parse(*r.key) : json();
    e.value = r.value ? json::parse(*r.value) : json();
    out.push_back(std::move(e));
  }
  return out;
}

class CaptureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = pg().CreateTestDatabase();
    conninfo_ = pg().Conninfo(db_);
    auto conn = pg::PgConnection::Connect(conninfo_);
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    ASSERT_TRUE(pg::EnsureSchema(*conn).ok());
  }
  void TearDown() override {
    ResetShutdown();
    pg().DropSlots(db_);
  }
  static PgCluster& pg() { return PgCluster::Shared(); }
  std::string Sql(const std::string& sql) { return pg().Psql(db_, sql); }
  // The insert position: the test cluster runs with synchronous_commit=off, so the write position may
  // still be behind the last commit.
  Lsn CurrentLsn() { return *Lsn::Parse(Sql("SELECT pg_current_wal_insert_lsn()")); }

  jobs::CaptureOptions Options() {
    jobs::CaptureOptions o;
    o.conninfo = conninfo_;
    o.tables = {"klienci", "pracownicy", "projekty"};
    o.state_uri = state_.path();
    o.encoder.schemas = false;
    o.heartbeat = std::chrono::milliseconds(0);
    o.status_interval = std::chrono::milliseconds(1000);
    o.reconnect_initial = std::chrono::milliseconds(100);
    o.reconnect_max = std::chrono::milliseconds(1000);
    return o;
  }
  // Runs a capture until everything up to the current WAL position is durable.
  std::vector<Event> CaptureAll(MemorySink* sink, jobs::CaptureOptions o) {
    o.end_lsn = CurrentLsn();
    jobs::CaptureJob job(o, sink);
    Status st = job.Run();
    EXPECT_TRUE(st.ok()) << st.ToString();
    return Parse(sink->records());
  }

  // Capture's state location (jobs/capture_state.h): the snapshot marker of `slot`, "" when absent.
  std::string Marker(const std::string& slot) {
    std::string path = state_ / ("slot-" + slot + ".json");
    return std::filesystem::exists(path) ? ReadFile(path) : "";
  }

  std::string db_, conninfo_;
  TempDir state_{"capture-state"};
};

// Applies change events to a copy: table -> key (JSON text) -> row (the `after` object).
using Copy = std::map<std::string, std::map<std::string, json>>;

void Apply(const std::vector<Event>& events, Copy* copy) {
  for (const auto& e : events) {
    if (e.value.is_null()) continue;  // tombstone
    std::string table = e.value["source"]["table"].get<std::string>();
    std::string op = e.op();
    auto& rows = (*copy)[table];
    if (op == "t") {
      rows.clear();
    } else if (op == "d") {
      rows.erase(e.key.dump());
    } else {
      rows[e.key.dump()] = e.value["after"];
    }
  }
}

// The source table as PostgreSQL renders it, in the Debezium types of our three tables.
std::map<std::string, json> SourceRows(PgCluster& pg, const std::string& db, const std::string& table) {
  std::string sql;
  if (table == "projekty") {
    sql = "SELECT coalesce(json_agg(json_build_object('id', id, 'nazwa', nazwa, 'opis', opis, "
          "'data_rozpoczecia', data_rozpoczecia - date '1970-01-01', 'data_zakonczenia', "
          "data_zakonczenia - date '1970-01-01')), '[]') FROM projekty";
  } else {
    sql = "SELECT coalesce(json_agg(t), '[]') FROM " + table + " t";
  }
  json rows = json::parse(pg.Psql(db, sql));
  std::map<std::string, json> out;
  for (auto& r : rows) out[json{{"id", r["id"]}}.dump()] = r;
  return out;
}

TEST_F(CaptureTest, InsertUpdateDeleteTruncateOnEachTable) {
  MemorySink sink;
  jobs::CaptureOptions o = Options();
  o.slot = "t_iudt";
  o.replica_identity_full = true;  // the update and the delete below carry the whole old row
  // Set-up + empty snapshot first, so the workload below is streamed.
  o.snapshot = jobs::SnapshotMode::kInitial;
  auto first = CaptureAll(&sink, o);
  EXPECT_TRUE(first.empty());
  EXPECT_EQ(Sql("SELECT relreplident FROM pg_class WHERE relname = 'klienci'"), "f");
  EXPECT_EQ(Sql("SELECT count(*) FROM pg_publication_tables WHERE pubname = 'cdcpipe'"), "3");
  Sql("INSERT INTO klienci VALUES (1, 'Ala', 'ala@x.pl', 'PL', NULL);"
      "INSERT INTO pracownicy VALUES (1, 'Jan', 'Nowak', NULL, 41, 'dev');"
      "INSERT INTO projekty VALUES (1, 'P1', 'opis', '2024-01-02', NULL);"
      "UPDATE klienci SET email = 'ala2@x.pl' WHERE id = 1;"
      "UPDATE pracownicy SET wiek = 42 WHERE id = 1;"
      "UPDATE projekty SET data_zakonczenia = '1969-12-31' WHERE id = 1;"
      "DELETE FROM klienci WHERE id = 1; DELETE FROM pracownicy WHERE id = 1; DELETE FROM projekty WHERE id = 1;"
      "TRUNCATE klienci, pracownicy, projekty;");
  auto events = CaptureAll(&sink, o);
  std::vector<std::string> got;
  for (const auto& e : events) got.push_back(e.topic + ":" + e.op());
  std::vector<std::string> want = {
      "dbserver1.public.klienci:c",    "dbserver1.public.pracownicy:c", "dbserver1.public.projekty:c",
      "dbserver1.public.klienci:u",    "dbserver1.public.pracownicy:u", "dbserver1.public.projekty:u",
      "dbserver1.public.klienci:d",    "dbserver1.public.klienci:tombstone",
      "dbserver1.public.pracownicy:d", "dbserver1.public.pracownicy:tombstone",
      "dbserver1.public.projekty:d",   "dbserver1.public.projekty:tombstone",
      "dbserver1.public.klienci:t",    "dbserver1.public.pracownicy:t", "dbserver1.public.projekty:t"};
  EXPECT_EQ(got, want);
  ASSERT_EQ(events.size(), want.size());
  EXPECT_EQ(events[0].key, json::parse(R"({"id":1})"));
  EXPECT_EQ(events[0].value["after"], json::parse(R"({"id":1,"nazwa":"Ala","email":"ala@x.pl","kraj":"PL","telefon":null})"));
  EXPECT_EQ(events[0].value["source"]["db"], db_);
  EXPECT_EQ(events[0].value["source"]["snapshot"], "false");
  // REPLICA IDENTITY FULL: the update and the delete carry the whole old row.
  EXPECT_EQ(events[3].value["before"]["email"], "ala@x.pl");
  EXPECT_EQ(events[3].value["after"]["email"], "ala2@x.pl");
  EXPECT_EQ(events[5].value["after"]["data_zakonczenia"], -1);
  EXPECT_EQ(events[2].value["after"]["data_rozpoczecia"], 19724);
  EXPECT_EQ(events[6].value["before"]["nazwa"], "Ala");
  EXPECT_TRUE(events[6].value["after"].is_null());
  // Each transaction's events carry its own LSNs, in order.
  uint64_t prev = 0;
  for (const auto& e : events) {
    if (e.value.is_null() || e.op() == "t") continue;
    uint64_t lsn = e.value["source"]["lsn"].get<uint64_t>();
    EXPECT_GT(lsn, prev);
    prev = lsn;
  }
  // A second run from the same slot sends nothing again (everything was confirmed).
  MemorySink again;
  EXPECT_TRUE(CaptureAll(&again, o).empty());
}

TEST_F(CaptureTest, PrimaryKeyChangeIsDeleteThenCreate) {
  MemorySink sink;
  jobs::CaptureOptions o = Options();
  o.slot = "t_pk";
  o.snapshot = jobs::SnapshotMode::kNever;
  CaptureAll(&sink, o);
  Sql("INSERT INTO klienci VALUES (5, 'A', NULL, NULL, NULL); UPDATE klienci SET id = 6 WHERE id = 5;");
  MemorySink s2;
  auto events = CaptureAll(&s2, o);
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[1].op(), "d");
  EXPECT_EQ(events[1].key, json::parse(R"({"id":5})"));
  EXPECT_EQ(events[2].op(), "tombstone");
  EXPECT_EQ(events[3].op(), "c");
  EXPECT_EQ(events[3].key, json::parse(R"({"id":6})"));
}

TEST_F(CaptureTest, TypesNullsAndToast) {
  Sql("CREATE TABLE typy (id int primary key, i2 int2, i8 int8, f4 float4, f8 float8, b bool, t text, "
      "n numeric(10,2), d date, ts timestamp, tz timestamptz, j json, jb jsonb, u uuid, by bytea, big text, "
      "iv interval, m money, ai int[], at text[]);"
      "ALTER TABLE typy ALTER COLUMN big SET STORAGE EXTERNAL;");
  MemorySink sink;
  jobs::CaptureOptions o = Options();
  o.slot = "t_types";
  o.tables = {"typy"};
  o.replica_identity_full = true;  // the first update takes the unchanged TOAST value from the old row
  o.encoder.decimal_mode = event::DecimalMode::kString;
  CaptureAll(&sink, o);
  Sql("INSERT INTO typy VALUES (1, -32768, 9223372036854775807, 1.5, -2.25e-10, true, 'zażółć\t\"q\"', 12345678.91, "
      "'2024-02-29', '2024-01-02 03:04:05.123456', '2024-01-02 03:04:05.5+02', '{\"a\": [1, 2]}', '{\"b\": null}', "
      "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '\\x00ff10', repeat('x', 20000), "
      "'-1 years -2 mons +3 days -04:05:06.78', -1234.56, ARRAY[1, NULL, -2147483648], "
      "ARRAY['a b', NULL, 'NULL', '', 'q\"x\\y', '{,}', 'zażółć']);"
      "INSERT INTO typy (id) VALUES (2);"
      "UPDATE typy SET i2 = 7 WHERE id = 1;"            // FULL: big unchanged, taken from the old row
      "ALTER TABLE typy REPLICA IDENTITY DEFAULT;"
      "UPDATE typy SET i2 = 8 WHERE id = 1;");         // DEFAULT: big unavailable
  MemorySink s2;
  auto ev = CaptureAll(&s2, o);
  ASSERT_EQ(ev.size(), 4u);
  const json& a = ev[0].value["after"];
  EXPECT_EQ(a["i2"], -32768);
  EXPECT_EQ(a["i8"], 9223372036854775807LL);
  EXPECT_EQ(a["f4"], 1.5);
  EXPECT_DOUBLE_EQ(a["f8"].get<double>(), -2.25e-10);
  EXPECT_EQ(a["b"], true);
  EXPECT_EQ(a["t"], "zażółć\t\"q\"");
  EXPECT_EQ(a["n"], "12345678.91");
  EXPECT_EQ(a["d"], 19782);
  EXPECT_EQ(a["ts"], 1704164645123456LL);
  // Debezium pads ZonedTimestamp's fraction to the column's precision (6 for a plain timestamptz; issue 17,
  // ZonedTimestamp.toIsoString with PostgresValueConverter's column scale).
  EXPECT_EQ(a["tz"], "2024-01-02T01:04:05.500000Z");
  EXPECT_EQ(json::parse(a["j"].get<std::string>()), json::parse(R"({"a":[1,2]})"));
  EXPECT_EQ(json::parse(a["jb"].get<std::string>()), json::parse(R"({"b":null})"));
  EXPECT_EQ(a["u"], "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11");
  EXPECT_EQ(a["by"], "AP8Q");
  EXPECT_EQ(a["big"], std::string(20000, 'x'));
  // interval, money and arrays against what PostgreSQL stored, as PostgreSQL itself reports it.
  json stored = json::parse(Sql(
      "SELECT json_build_object('iv', json_build_array(extract(year from iv), extract(month from iv), "
      "extract(day from iv), extract(hour from iv), extract(minute from iv), extract(microseconds from iv)), "
      "'m', m::numeric, 'ai', array_to_json(ai), 'at', array_to_json(at)) FROM typy WHERE id = 1"));
  {
    // Debezium's MicroDuration of those fields: 365.25 / 12 days a month, double arithmetic, truncated.
    const json& f = stored["iv"];
    int64_t us = f[5].get<int64_t>();
    double seconds = static_cast<double>(us / 1000000) + static_cast<double>(us % 1000000) / 1e6;
    double days = (f[0].get<double>() * 12 + f[1].get<double>()) * (365.25 / 12.0) + f[2].get<double>();
    double total = ((days * 24 + f[3].get<double>()) * 60 + f[4].get<double>()) * 60 + seconds;
    EXPECT_EQ(a["iv"], static_cast<int64_t>(total * 1e6)) << stored.dump();
    EXPECT_EQ(a["iv"], -36572706780000LL);
  }
  EXPECT_EQ(std::stod(a["m"].get<std::string>()), stored["m"].get<double>());  // --decimal string
  EXPECT_EQ(a["ai"], stored["ai"]);
  EXPECT_EQ(a["at"], stored["at"]);
  EXPECT_EQ(a["at"], json::parse(R"(["a b",null,"NULL","","q\"x\\y","{,}","zażółć"])"));
  const json& nulls = ev[1].value["after"];
  for (auto it = nulls.begin(); it != nulls.end(); ++it) {
    if (it.key() != "id") {
      EXPECT_TRUE(it.value().is_null()) << it.key();
    }
  }
  EXPECT_EQ(ev[2].value["after"]["i2"], 7);
  EXPECT_EQ(ev[2].value["after"]["big"], std::string(20000, 'x'));
  EXPECT_EQ(ev[3].value["after"]["i2"], 8);
  EXPECT_EQ(ev[3].value["after"]["big"], "__debezium_unavailable_value");
}

// Types that are not built in: the catalog resolves them (pg_type, pg_enum) for the snapshot and for the
// stream alike, so both carry Debezium's schema: io.debezium.data.Enum with the labels, a domain as its
// base type with the domain's typmod, arrays of both.
TEST_F(CaptureTest, EnumsDomainsAndArraysOfThem) {
  Sql("CREATE TYPE mood AS ENUM ('happy', 'sad');"
      "ALTER TYPE mood ADD VALUE 'meh' BEFORE 'sad';"  // sort order differs from creation order
      "CREATE DOMAIN price AS numeric(10,2) CHECK (VALUE >= 0);"
      "CREATE DOMAIN positive_int AS int CHECK (VALUE > 0);"
      "CREATE DOMAIN cena AS price;"                      // a domain over a domain
      "CREATE TYPE punkt AS (x int, y int);"              // composite: stays a string
      "CREATE TABLE nietypowe (id int primary key, m mood NOT NULL, ms mood[], p price, c cena, "
      "pi positive_int[], pt punkt);");
  Sql("INSERT INTO nietypowe VALUES (1, 'meh', '{happy,NULL,sad}', 12.3, 0.5, '{1,2}', '(1,2)');");
  MemorySink sink;
  jobs::CaptureOptions o = Options();
  o.slot = "t_usertypes";
  o.tables = {"nietypowe"};
  o.encoder.schemas = true;
  CaptureAll(&sink, o);  // snapshot: row 1
  Sql("INSERT INTO nietypowe VALUES (2, 'sad', '{}', NULL, 7, NULL, '(3,4)')");
  auto ev = CaptureAll(&sink, o);
  ASSERT_EQ(ev.size(), 2u);
  std::string labels = Sql("SELECT string_agg(enumlabel, ',' ORDER BY enumsortorder) FROM pg_enum "
                           "WHERE enumtypid = 'mood'::regtype");
  EXPECT_EQ(labels, "happy,meh,sad");
  for (const Event& e : ev) {
    SCOPED_TRACE(e.value["payload"]["op"].dump());
    std::map<std::string, json> schema;
    for (const auto& f : e.value["schema"]["fields"][1]["fields"]) schema[f["field"]] = f;
    EXPECT_EQ(schema["m"], json::parse(R"({"type":"string","optional":false,"name":"io.debezium.data.Enum",)"
                                       R"("version":1,"parameters":{"allowed":")" + labels + R"("},"field":"m"})"));
    EXPECT_EQ(schema["ms"]["type"], "array");
    EXPECT_EQ(schema["ms"]["items"]["name"], "io.debezium.data.Enum");
    EXPECT_EQ(schema["ms"]["items"]["parameters"]["allowed"], labels);
    EXPECT_EQ(schema["p"]["name"], "org.apache.kafka.connect.data.Decimal");
    EXPECT_EQ(schema["p"]["parameters"], json::parse(R"({"scale":"2","connect.decimal.precision":"10"})"));
    EXPECT_EQ(schema["c"]["parameters"], schema["p"]["parameters"]);
    EXPECT_EQ(schema["pi"]["items"], json::parse(R"({"type":"int32","optional":true})"));
    EXPECT_EQ(schema["pt"], json::parse(R"({"type":"string","optional":true,"field":"pt"})"));
  }
  const json& r = ev[0].value["payload"];
  EXPECT_EQ(r["op"], "r");
  EXPECT_EQ(r["after"]["m"], "meh");
  EXPECT_EQ(r["after"]["ms"], json::parse(R"(["happy",null,"sad"])"));
  EXPECT_EQ(r["after"]["p"], "BM4=");  // 12.30: 1230 at scale 2
  EXPECT_EQ(r["after"]["c"], "Mg==");  // 0.50: 50 at scale 2
  EXPECT_EQ(r["after"]["pi"], json::parse("[1,2]"));
  EXPECT_EQ(r["after"]["pt"], "(1,2)");
  const json& c = ev[1].value["payload"];
  EXPECT_EQ(c["op"], "c");
  EXPECT_EQ(c["after"]["m"], "sad");
  EXPECT_EQ(c["after"]["ms"], json::parse("[]"));
  EXPECT_TRUE(c["after"]["p"].is_null());
  EXPECT_EQ(c["after"]["c"], "Arw=");  // 7.00: 700 at scale 2
  EXPECT_EQ(c["after"]["pt"], "(3,4)");
}

TEST_F(CaptureTest, SnapshotWithConcurrentWritesHasNoGapAndNoDuplicate) {
  Sql("INSERT INTO klienci SELECT g, 'k' || g, NULL, 'PL', '0' FROM generate_series(1, 50000) g");
  MemorySink sink;
  jobs::CaptureOptions o = Options();
  o.slot = "t_snap";
  o.tables = {"klienci"};
  std::atomic<bool> started{false};
  std::thread writer([&] {
    started = true;
    // Updates bump telefon by one; inserts add new ids. Each statement is its own transaction.
    std::string script;
    for (int i = 0; i < 300; ++i) {
      int id = 1 + (i * 7919) % 50000;
      script += "UPDATE klienci SET telefon = (telefon::int + 1)::text WHERE id = " + std::to_string(id) + ";";
      script += "INSERT INTO klienci VALUES (" + std::to_string(100000 + i) + ", 'new', NULL, NULL, '0');";
      if (i % 50 == 49) {
        Sql(script);
        script.clear();
      }
    }
  });
  jobs::CaptureJob job(o, &sink);
  Status result;
  std::thread runner([&] { result = job.Run(); });
  writer.join();
  Lsn end = CurrentLsn();
  ASSERT_TRUE(WaitFor([&] { return job.stats().durable_lsn >= end; }, 120000));
  RequestShutdown();
  runner.join();
  ASSERT_TRUE(result.ok()) << result.ToString();
  auto events = Parse(sink.records());
  // Per id, the telefon values seen (r then u events) must go 0,1,2... with no repeat and no hole.
  std::map<int, std::vector<int>> seen;
  size_t reads = 0, last_marks = 0;
  for (const auto& e : events) {
    if (e.value.is_null()) continue;
    if (e.op() == "r") {
      ++reads;
      if (e.value["source"]["snapshot"] == "last") ++last_marks;
    }
    int id = e.value["after"]["id"];
    seen[id].push_back(std::stoi(e.value["after"]["telefon"].get<std::string>()));
  }
  EXPECT_GE(reads, 50000u);
  EXPECT_EQ(last_marks, 1u);
  ASSERT_EQ(seen.size(), 50300u);
  for (const auto& [id, values] : seen) {
    for (size_t i = 1; i < values.size(); ++i) ASSERT_EQ(values[i], values[i - 1] + 1) << "id " << id;
  }
  Copy copy;
  Apply(events, &copy);
  EXPECT_EQ(copy["klienci"], SourceRows(pg(), db_, "klienci"));
  // The snapshot marker is written (in the state location, not the database); a restart streams only.
  EXPECT_NE(Marker("t_snap").find("\"snapshot\":\"complete\""), std::string::npos) << Marker("t_snap");
  EXPECT_EQ(Sql("SELECT to_regclass('public.cdcpipe_offsets') IS NULL"), "t");
  MemorySink again;
  ResetShutdown();
  Sql("INSERT INTO klienci VALUES (200000, 'after', NULL, NULL, '0')");
  auto more = CaptureAll(&again, o);
  ASSERT_EQ(more.size(), 1u);
  EXPECT_EQ(more[0].op(), "c");
}

TEST_F(CaptureTest, CrashDuringSnapshotStartsOverCleanly) {
  Sql("INSERT INTO klienci SELECT g, 'k' || g, NULL, NULL, NULL FROM generate_series(1, 5000) g");
  jobs::CaptureOptions o = Options();
  o.slot = "t_snapcrash";
  o.tables = {"klienci"};
  setenv("CDCPIPE_FAILPOINTS", "capture.during_snapshot=error:2", 1);
  FailpointReload();
  MemorySink broken;
  {
    jobs::CaptureJob job(o, &broken);
    Status st = job.Run();
    EXPECT_FALSE(st.ok());
    EXPECT_NE(st.message().find("capture.during_snapshot"), std::string::npos) << st.ToString();
  }
  unsetenv("CDCPIPE_FAILPOINTS");
  FailpointReload();
  EXPECT_EQ(Sql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 't_snapcrash'"), "1");
  EXPECT_NE(Marker("t_snapcrash").find("\"snapshot\":\"pending\""), std::string::npos) << Marker("t_snapcrash");
  Sql("INSERT INTO klienci VALUES (9999, 'between', NULL, NULL, NULL)");
  MemorySink sink;
  auto events = CaptureAll(&sink, o);
  // Resumed from the start (no chunk was durable): one full snapshot with the row written in between.
  // This sink tracks no chunks (as Kafka), so the crashed run may have handed it rows up to the table's
  // end (the marker's sent_upto): the insert of 9999, which the resumed read saw, is streamed again
  // after its `r` (docs/CAPTURE.md, "Kafka: what a crash sends twice"), and no other change.
  std::set<int> ids;
  std::vector<std::string> streamed;
  for (const auto& e : events) {
    int id = e.value["after"]["id"].get<int>();
    if (e.op() == "r") {
      EXPECT_TRUE(ids.insert(id).second);
    } else {
      EXPECT_TRUE(ids.count(id)) << e.op() << " of " << id << " before its r";
      streamed.push_back(e.op() + std::to_string(id));
    }
  }
  EXPECT_EQ(ids.size(), 5001u);
  EXPECT_EQ(streamed, std::vector<std::string>{"c9999"});
}

TEST_F(CaptureTest, RestartInTheMiddleOfAWorkloadLosesNothing) {
  jobs::CaptureOptions o = Options();
  o.slot = "t_restart";
  MemorySink s0;
  CaptureAll(&s0, o);
  std::vector<Event> all;
  int next = 1;
  for (int round = 0; round < 3; ++round) {
    std::string script;
    for (int i = 0; i < 200; ++i, ++next) {
      script += "INSERT INTO pracownicy VALUES (" + std::to_string(next) + ", 'i', 'n', NULL, " +
                std::to_string(next % 70) + ", NULL);";
    }
    Sql(script);
    MemorySink s;
    auto ev = CaptureAll(&s, o);  // a fresh job each round: stops and resumes from the slot
    all.insert(all.end(), ev.begin(), ev.end());
  }
  std::set<int> ids;
  for (const auto& e : all) EXPECT_TRUE(ids.insert(e.value["after"]["id"].get<int>()).second);
  EXPECT_EQ(ids.size(), 600u);
}

TEST_F(CaptureTest, SinkThatDoesNotAcknowledgeHoldsTheSlot) {
  jobs::CaptureOptions o = Options();
  o.slot = "t_hold";
  MemorySink s0;
  CaptureAll(&s0, o);
  std::string before = Sql("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 't_hold'");
  Sql("INSERT INTO klienci VALUES (1, 'x', NULL, NULL, NULL)");
  Lsn end = CurrentLsn();
  MemorySink holding;
  holding.set_hold(true);
  jobs::CaptureJob job(o, &holding);
  Status result;
  std::thread runner([&] { result = job.Run(); });
  ASSERT_TRUE(WaitFor([&] { return holding.transactions() >= 1; }, 30000));
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // several status updates
  RequestShutdown();
  runner.join();
  EXPECT_TRUE(result.ok()) << result.ToString();
  EXPECT_EQ(Sql("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 't_hold'"), before);
  // Nothing was lost: the next run gets the insert again.
  ResetShutdown();
  MemorySink ok;
  auto ev = CaptureAll(&ok, o);
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].value["after"]["nazwa"], "x");
  (void)end;
}

TEST_F(CaptureTest, PostgresRestartDuringStreaming) {
  jobs::CaptureOptions o = Options();
  o.slot = "t_pgrestart";
  o.tables = {"klienci"};
  MemorySink sink;
  jobs::CaptureJob job(o, &sink);
  Status result;
  std::thread runner([&] { result = job.Run(); });
  auto insert = [&](int from, int to) {
    std::string s;
    for (int i = from; i < to; ++i) s += "INSERT INTO klienci VALUES (" + std::to_string(i) + ", 'r', NULL, NULL, NULL);";
    Sql(s);
  };
  ASSERT_TRUE(WaitFor([&] { return job.stats().durable_lsn.valid(); }, 30000));
  insert(1, 300);
  pg().Restart();
  insert(300, 600);
  Lsn end = CurrentLsn();
  ASSERT_TRUE(WaitFor([&] { return job.stats().durable_lsn >= end; }, 120000)) << result.ToString();
  RequestShutdown();
  runner.join();
  EXPECT_TRUE(result.ok()) << result.ToString();
  EXPECT_GE(job.stats().reconnects, 1u);
  // The slot replays from its confirmed position after the reconnect; capture skips what it already
  // handed to the sink, so every row arrives exactly once (regression: it used to arrive again).
  std::map<int, int> seen;
  for (const auto& e : Parse(sink.records())) ++seen[e.value["after"]["id"].get<int>()];
  EXPECT_EQ(seen.size(), 599u);
  for (const auto& [id, n] : seen) EXPECT_EQ(n, 1) << "id " << id << " was delivered " << n << " times";
}

// Regression: after an in-process reconnect the slot replays from its confirmed position, which lags what
// the job already handed to the sink; those transactions used to be appended a second time (duplicate
// rows in `cdcpipe run`). The walsender is terminated while the confirmed position is still behind.
TEST_F(CaptureTest, ReconnectDoesNotHandOverTransactionsTwice) {
  jobs::CaptureOptions o = Options();
  o.slot = "t_replay";
  o.tables = {"klienci"};
  o.status_interval = std::chrono::milliseconds(600000);  // no feedback until asked: the slot lags
  MemorySink sink;
  jobs::CaptureJob job(o, &sink);
  Status result;
  std::thread runner([&] { result = job.Run(); });
  ASSERT_TRUE(WaitFor([&] { return job.stats().durable_lsn.valid(); }, 30000));
  // The sink holds what it is handed (not durable, so not confirmed) until the connection is gone: the
  // slot lags behind what capture handed over, and the reconnect replays it. Without the hold, capture
  // confirms what is durable within 100 ms and whether anything was replayed was a race.
  sink.set_hold(true);
  // 200 transactions in one psql call (explicit BEGIN/COMMIT split a multi-statement string).
  std::string inserts;
  for (int i = 1; i <= 200; ++i) {
    inserts += "BEGIN; INSERT INTO klienci VALUES (" + std::to_string(i) + ", 'a', NULL, NULL, NULL); COMMIT;";
  }
  Sql(inserts);
  Lsn after_first = CurrentLsn();
  ASSERT_TRUE(WaitFor([&] { return sink.records().size() >= 200; }, 60000));
  Lsn confirmed = *Lsn::Parse(Sql("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 't_replay'"));
  Sql("SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = 't_replay'");
  sink.ReleaseHeld();
  // One transaction cut in the middle of its rows would be replayed partly too: insert a multi-row one.
  Sql("INSERT INTO klienci SELECT g, 'b', NULL, NULL, NULL FROM generate_series(201, 400) g");
  Lsn end = CurrentLsn();
  ASSERT_TRUE(WaitFor([&] { return job.stats().durable_lsn >= end && job.stats().reconnects >= 1; }, 120000))
      << result.ToString();
  RequestShutdown();
  runner.join();
  ResetShutdown();
  EXPECT_TRUE(result.ok()) << result.ToString();
  EXPECT_LT(confirmed, after_first) << "the slot did not lag, so nothing was replayed and the test proves nothing";
  std::map<int, int> seen;
  for (const auto& e : Parse(sink.records())) ++seen[e.value["after"]["id"].get<int>()];
  EXPECT_EQ(seen.size(), 400u);
  for (const auto& [id, n] : seen) EXPECT_EQ(n, 1) << "id " << id << " was delivered " << n << " times";
}

// 10,000 random inserts/updates/deletes (including primary-key changes and NULLs) in transactions of
// random size; the events applied to an empty copy must reproduce the source exactly.
std::string RandomWorkload(int ops, uint32_t seed) {
  std::mt19937 rng(seed);
  std::map<std::string, std::set<int>> live;
  std::map<std::string, int> next_id = {{"klienci", 1}, {"pracownicy", 1}, {"projekty", 1}};
  const char* tables[] = {"klienci", "pracownicy", "projekty"};
  auto text = [&](bool nullable) -> std::string {
    if (nullable && rng() % 5 == 0) return "NULL";
    static const char* samples[] = {"'Łódź'", "'O''Brien'", "E'tab\\there'", "'back\\slash'", "'zwykły'", "''",
                                    "'\"q\"'", "E'new\\nline'"};
    return std::string(samples[rng() % 8]) + " || '" + std::to_string(rng() % 1000) + "'";
  };
  auto date = [&]() -> std::string {
    if (rng() % 4 == 0) return "NULL";
    return "date '1965-01-01' + " + std::to_string(rng() % 30000);
  };
  std::string sql;
  int done = 0;
  while (done < ops) {
    int tx = 1 + rng() % 20;
    sql += "BEGIN;";
    for (int i = 0; i < tx && done < ops; ++i, ++done) {
      std::string t = tables[rng() % 3];
      auto& ids = live[t];
      int kind = ids.size() < 20 ? 0 : rng() % 10;  // 50% insert, 35% update, 15% delete
      if (kind < 5) {
        int id = next_id[t]++;
        ids.insert(id);
        std::string s = std::to_string(id);
        if (t == "klienci") {
          sql += "INSERT INTO klienci VALUES (" + s + "," + text(false) + "," + text(true) + "," + text(true) + "," +
                 text(true) + ");";
        } else if (t == "pracownicy") {
          sql += "INSERT INTO pracownicy VALUES (" + s + "," + text(true) + "," + text(true) + "," + text(true) + "," +
                 (rng() % 5 ? std::to_string(18 + rng() % 50) : "NULL") + "," + text(true) + ");";
        } else {
          sql += "INSERT INTO projekty VALUES (" + s + "," + text(false) + "," + text(true) + "," + date() + "," +
                 date() + ");";
        }
      } else {
        auto it = ids.begin();
        std::advance(it, rng() % ids.size());
        int id = *it;
        std::string where = " WHERE id = " + std::to_string(id) + ";";
        if (kind < 9) {
          if (rng() % 10 == 0) {  // primary key change
            int nid = next_id[t]++;
            ids.erase(id);
            ids.insert(nid);
            sql += "UPDATE " + t + " SET id = " + std::to_string(nid) + where;
          } else if (t == "klienci") {
            sql += "UPDATE klienci SET email = " + text(true) + ", kraj = " + text(true) + where;
          } else if (t == "pracownicy") {
            sql += "UPDATE pracownicy SET wiek = " + std::to_string(18 + rng() % 50) + ", imie = " + text(true) + where;
          } else {
            sql += "UPDATE projekty SET data_zakonczenia = " + date() + ", opis = " + text(true) + where;
          }
        } else {
          ids.erase(id);
          sql += "DELETE FROM " + t + where;
        }
      }
    }
    sql += "COMMIT;";
  }
  return sql;
}

void ExpectCopyEqualsSource(PgCluster& pg, const std::string& db, const Copy& copy) {
  for (const char* t : {"klienci", "pracownicy", "projekty"}) {
    auto source = SourceRows(pg, db, t);
    auto it = copy.find(t);
    std::map<std::string, json> empty;
    const auto& got = it == copy.end() ? empty : it->second;
    EXPECT_EQ(got.size(), source.size()) << t;
    EXPECT_TRUE(got == source) << t;
    int shown = 0;
    for (const auto& [k, v] : source) {
      auto g = got.find(k);
      if ((g == got.end() || g->second != v) && shown++ < 3) {
        ADD_FAILURE() << t << " " << k << " source " << v.dump() << " copy " << (g == got.end() ? "missing" : g->second.dump());
      }
    }
    for (const auto& [k, v] : got) {
      if (!source.count(k) && shown++ < 6) ADD_FAILURE() << t << " " << k << " only in copy: " << v.dump();
    }
  }
}

TEST_F(CaptureTest, ReplayOf10000RandomOperationsMatchesTheSource) {
  jobs::CaptureOptions o = Options();
  o.slot = "t_replay";
  MemorySink s0;
  CaptureAll(&s0, o);
  auto conn = pg::PgConnection::Connect(conninfo_);
  ASSERT_TRUE(conn.ok());
  Status st = conn->Run(RandomWorkload(10000, 42));  // too long for a psql argument
  ASSERT_TRUE(st.ok()) << st.ToString().substr(0, 500);
  MemorySink sink;
  auto events = CaptureAll(&sink, o);
  EXPECT_GT(events.size(), 10000u);
  Copy copy;
  Apply(events, &copy);
  ExpectCopyEqualsSource(pg(), db_, copy);
}

TEST_F(CaptureTest, DropCaptureRemovesSlotAndPublication) {
  jobs::CaptureOptions o = Options();
  o.slot = "t_drop";
  MemorySink s0;
  CaptureAll(&s0, o);
  EXPECT_EQ(Sql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 't_drop'"), "1");
  EXPECT_NE(Marker("t_drop"), "");
  ASSERT_TRUE(jobs::DropCapture(conninfo_, "t_drop", "cdcpipe", state_.path()).ok());
  EXPECT_EQ(Sql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 't_drop'"), "0");
  EXPECT_EQ(Sql("SELECT count(*) FROM pg_publication WHERE pubname = 'cdcpipe'"), "0");
  EXPECT_EQ(Marker("t_drop"), "");
}

TEST(CaptureSetupTest, WalLevelReplicaIsAClearError) {
  PgCluster::Options opts;
  opts.extra_conf = "wal_level = replica\n";
  PgCluster cluster(opts);
  MemorySink sink;
  TempDir state;
  jobs::CaptureOptions o;
  o.conninfo = cluster.Conninfo("postgres");
  o.state_uri = state.path();
  jobs::CaptureJob job(o, &sink);
  Status st = job.Run();
  EXPECT_TRUE(st.IsFailedPrecondition()) << st.ToString();
  EXPECT_NE(st.message().find("wal_level=replica"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("ALTER SYSTEM SET wal_level = logical"), std::string::npos) << st.ToString();
}

// ---- `cdcpipe capture` as a process, into kafka-mock, read back with kcat ----

class KafkaMock {
 public:
  KafkaMock() {
    std::vector<std::string> argv = {BinaryDir() + "/kafka-mock", "--bootstrap-file", dir_ / "bootstrap"};
    for (const char* t : {"klienci", "pracownicy", "projekty"}) {
      argv.push_back("--topic");
      argv.push_back(std::string("dbserver1.public.") + t + ":3");
    }
    proc_ = std::make_unique<BackgroundProcess>(argv, dir_ / "mock.log");
    EXPECT_TRUE(WaitFor([&] { return std::filesystem::exists(dir_ / "bootstrap"); }, 10000)) << proc_->Log();
    brokers_ = ReadFile(dir_ / "bootstrap");
    while (!brokers_.empty() && brokers_.back() == '\n') brokers_.pop_back();
  }
  const std::string& brokers() const { return brokers_; }

 private:
  TempDir dir_{"kafka-mock"};
  std::unique_ptr<BackgroundProcess> proc_;
  std::string brokers_;
};

// Every message of a topic as kcat -J sees it, as Events (per partition order is kept; across
// partitions the order does not matter to Apply because each key lives in one partition).
std::vector<Event> KcatEvents(const std::string& brokers, const std::string& topic) {
  auto r = RunCommand({"kcat", "-C", "-b", brokers, "-t", topic, "-e", "-J", "-q"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  std::vector<Event> out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    json m = json::parse(line);
    Event e;
    e.topic = m["topic"];
    e.key = m["key"].is_null() ? json() : json::parse(m["key"].get<std::string>());
    e.value = m["payload"].is_null() ? json() : json::parse(m["payload"].get<std::string>());
    out.push_back(std::move(e));
  }
  return out;
}

std::vector<Event> KcatAll(const std::string& brokers) {
  std::vector<Event> all;
  for (const char* t : {"klienci", "pracownicy", "projekty"}) {
    auto ev = KcatEvents(brokers, std::string("dbserver1.public.") + t);
    all.insert(all.end(), ev.begin(), ev.end());
  }
  return all;
}

class CaptureCliTest : public CaptureTest {
 protected:
  std::vector<std::string> Argv(const std::string& slot, const std::string& brokers) {
    return {CdcpipeBin(), "capture", "--db", pg().Uri(db_), "--brokers", brokers, "--slot", slot,
            "--tables", "klienci,pracownicy,projekty", "--state", state_.path(), "--heartbeat", "1s",
            "-X", "linger.ms=5"};
  }
  // True once the snapshot of `slot` is complete (its marker in the state location says so).
  bool SnapshotDone(const std::string& slot) {
    return Marker(slot).find("\"snapshot\":\"complete\"") != std::string::npos;
  }
  CommandResult CaptureUntilNow(std::vector<std::string> argv) {
    argv.push_back("--end-lsn");
    argv.push_back(CurrentLsn().ToString());
    return RunCommand(argv);
  }
};

TEST_F(CaptureCliTest, SnapshotAndStreamToKafkaWithSchemas) {
  KafkaMock kafka;
  Sql("INSERT INTO klienci VALUES (1, 'Ala', 'ala@x.pl', 'PL', NULL), (2, 'Ola', NULL, NULL, NULL)");
  auto r = CaptureUntilNow(Argv("cli_schemas", kafka.brokers()));
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  Sql("UPDATE klienci SET kraj = 'DE' WHERE id = 2; DELETE FROM klienci WHERE id = 1;");
  r = CaptureUntilNow(Argv("cli_schemas", kafka.brokers()));
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  auto raw = RunCommand({"kcat", "-C", "-b", kafka.brokers(), "-t", "dbserver1.public.klienci", "-e", "-J", "-q"});
  ASSERT_EQ(raw.exit_code, 0) << raw.Describe();
  std::vector<json> msgs;
  std::istringstream in(raw.out);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) msgs.push_back(json::parse(line));
  }
  ASSERT_EQ(msgs.size(), 5u);  // r, r, u, d, tombstone
  std::map<std::string, int> ops;
  for (const auto& m : msgs) {
    json key = json::parse(m["key"].get<std::string>());
    EXPECT_EQ(key["schema"]["name"], "dbserver1.public.klienci.Key");
    if (m["payload"].is_null()) {
      ++ops["tombstone"];
      EXPECT_EQ(key["payload"]["id"], 1);
      continue;
    }
    json v = json::parse(m["payload"].get<std::string>());
    EXPECT_EQ(v["schema"]["name"], "dbserver1.public.klienci.Envelope");
    ++ops[v["payload"]["op"].get<std::string>()];
    EXPECT_EQ(v["payload"]["source"]["connector"], "postgresql");
    EXPECT_EQ(v["payload"]["source"]["name"], "dbserver1");
  }
  EXPECT_EQ(ops["r"], 2);
  EXPECT_EQ(ops["u"], 1);
  EXPECT_EQ(ops["d"], 1);
  EXPECT_EQ(ops["tombstone"], 1);
}

// Kafka topic names hold only [a-zA-Z0-9._-]: like Debezium (its topic naming strategy's
// sanitizedTopicName), capture replaces every other character with '_' in the topic, while the events
// keep the table's real name (source.table). Two tables whose names map to one topic are refused
// before anything is created. Read back with kcat.
TEST_F(CaptureCliTest, HostileTableNamesGetDebeziumTopicNamesInKafka) {
  KafkaMock kafka;
  const std::string table = "we\"ird tab<le>";
  Sql("CREATE TABLE " + QuoteIdent(table) + " (id int PRIMARY KEY, v text); INSERT INTO " + QuoteIdent(table) +
      " VALUES (1, 'a'); CREATE TABLE \"a b\" (id int PRIMARY KEY); CREATE TABLE a_b (id int PRIMARY KEY)");
  // The names as PostgreSQL reads them (quoted), in a config file: JSON is YAML's flow style.
  auto config = [&](const std::string& name, const std::vector<std::string>& tables) {
    nlohmann::json c = {{"source", {{"tables", tables}}}};
    std::string path = state_ / (name + ".yaml");
    WriteFile(path, c.dump());
    return std::vector<std::string>{CdcpipeBin(), "capture", "--config", path, "--db", pg().Uri(db_), "--brokers",
                                    kafka.brokers(), "--slot", name, "--state", state_.path(), "-X", "linger.ms=5"};
  };
  std::vector<std::string> argv = config("hostile_topic", {"public." + QuoteIdent(table)});
  auto r = CaptureUntilNow(argv);
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.err.find("its events go to topic dbserver1.public.we_ird_tab_le_"), std::string::npos) << r.err;
  Sql("UPDATE " + QuoteIdent(table) + " SET v = 'b'");
  r = CaptureUntilNow(argv);
  ASSERT_EQ(r.exit_code, 0) << r.Describe();

  // The broker knows the Debezium name and no name with a character Kafka does not allow.
  auto md = RunCommand({"kcat", "-L", "-J", "-b", kafka.brokers()});
  ASSERT_EQ(md.exit_code, 0) << md.Describe();
  std::set<std::string> topics;
  json metadata = json::parse(md.out);
  for (const auto& t : metadata["topics"]) topics.insert(t["topic"].get<std::string>());
  EXPECT_TRUE(topics.count("dbserver1.public.we_ird_tab_le_")) << md.out;
  for (const auto& t : topics) EXPECT_EQ(t.find_first_of("\"< "), std::string::npos) << t;
  std::vector<Event> events = KcatEvents(kafka.brokers(), "dbserver1.public.we_ird_tab_le_");
  ASSERT_EQ(events.size(), 2u);
  std::multiset<std::string> ops;
  for (const auto& e : events) {
    EXPECT_EQ(e.topic, "dbserver1.public.we_ird_tab_le_");
    const json& payload = e.value["payload"];
    ops.insert(payload["op"].get<std::string>());
    EXPECT_EQ(payload["source"]["table"], table) << e.value.dump();
    EXPECT_EQ(payload["source"]["schema"], "public");
  }
  EXPECT_EQ(ops, (std::multiset<std::string>{"r", "u"}));

  // "a b" and a_b would share dbserver1.public.a_b: refused, naming both, and no slot was made.
  r = CaptureUntilNow(config("hostile_clash", {"public.\"a b\"", "public.a_b"}));  // ends if not refused
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_NE(r.err.find("tables \"public\".\"a b\" and \"public\".\"a_b\" both map to Kafka topic dbserver1.public.a_b"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(Sql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'hostile_clash'"), "0");
}

TEST_F(CaptureCliTest, ReplayOf10000RandomOperationsThroughKafkaMatchesTheSource) {
  KafkaMock kafka;
  auto argv = Argv("cli_replay", kafka.brokers());
  argv.push_back("--schemas");
  argv.push_back("false");
  auto r = CaptureUntilNow(argv);
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  auto conn = pg::PgConnection::Connect(conninfo_);
  ASSERT_TRUE(conn.ok());
  Status st = conn->Run(RandomWorkload(10000, 7));
  ASSERT_TRUE(st.ok()) << st.ToString().substr(0, 500);
  r = CaptureUntilNow(argv);
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  auto events = KcatAll(kafka.brokers());
  EXPECT_GT(events.size(), 10000u);
  Copy copy;
  Apply(events, &copy);
  ExpectCopyEqualsSource(pg(), db_, copy);
}

TEST_F(CaptureCliTest, KilledInTheMiddleOfAWorkloadLosesNothing) {
  KafkaMock kafka;
  auto argv = Argv("cli_kill", kafka.brokers());
  argv.push_back("--schemas");
  argv.push_back("false");
  TempDir dir;
  auto insert = [&](int from, int to) {
    std::string s;
    for (int i = from; i < to; ++i) s += "INSERT INTO klienci VALUES (" + std::to_string(i) + ", 'k', NULL, NULL, NULL);";
    Sql(s);
  };
  {
    BackgroundProcess capture(argv, dir / "capture1.log");
    ASSERT_TRUE(WaitFor([&] { return SnapshotDone("cli_kill"); }, 60000))
        << capture.Log();
    for (int b = 0; b < 10; ++b) insert(1 + b * 100, 1 + (b + 1) * 100);
    capture.Kill9();  // no flush, no goodbye: whatever was not acknowledged must come again
  }
  for (int b = 10; b < 20; ++b) insert(1 + b * 100, 1 + (b + 1) * 100);
  auto r = CaptureUntilNow(argv);
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  std::set<int> ids;
  for (const auto& e : KcatEvents(kafka.brokers(), "dbserver1.public.klienci")) {
    if (!e.value.is_null()) ids.insert(e.value["after"]["id"].get<int>());
  }
  EXPECT_EQ(ids.size(), 2000u);
}

TEST_F(CaptureCliTest, SigtermFlushesConfirmsAndExitsZero) {
  KafkaMock kafka;
  TempDir dir;
  BackgroundProcess capture(Argv("cli_term", kafka.brokers()), dir / "capture.log");
  ASSERT_TRUE(WaitFor([&] { return SnapshotDone("cli_term"); }, 60000))
      << capture.Log();
  Sql("INSERT INTO klienci SELECT g, 'x', NULL, NULL, NULL FROM generate_series(1, 1000) g");
  Lsn end = CurrentLsn();
  ASSERT_TRUE(WaitFor(
      [&] {
        return *Lsn::Parse(Sql("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'cli_term'")) >=
               end;
      },
      60000))
      << capture.Log();
  EXPECT_EQ(capture.Stop(SIGTERM, 30000), 0) << capture.Log();
  EXPECT_EQ(KcatEvents(kafka.brokers(), "dbserver1.public.klienci").size(), 1000u);
}

// Regression: a restart right after a crash found the slot still held by the dead process's walsender
// and exited with "replication slot is active" (SQLSTATE 55006). Capture now waits for the slot.
TEST_F(CaptureCliTest, SecondCaptureWaitsForTheSlotAndTakesOver) {
  KafkaMock kafka;
  TempDir dir;
  auto argv = Argv("cli_busy", kafka.brokers());
  BackgroundProcess first(argv, dir / "first.log");
  ASSERT_TRUE(WaitFor([&] { return SnapshotDone("cli_busy"); }, 60000))
      << first.Log();
  BackgroundProcess second(argv, dir / "second.log");
  ASSERT_TRUE(WaitFor([&] { return second.Log().find("SQLSTATE 55006") != std::string::npos; }, 30000)) << second.Log();
  EXPECT_TRUE(second.Running()) << "the second capture gave up instead of waiting:\n" << second.Log();
  first.Kill9();
  Sql("INSERT INTO klienci SELECT g, 'x', NULL, NULL, NULL FROM generate_series(1, 500) g");
  Lsn end = CurrentLsn();
  ASSERT_TRUE(WaitFor(
      [&] {
        return *Lsn::Parse(Sql("SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'cli_busy'")) >=
               end;
      },
      120000))
      << second.Log();
  EXPECT_EQ(second.Stop(SIGTERM, 30000), 0) << second.Log();
  std::set<int> ids;
  for (const auto& e : KcatEvents(kafka.brokers(), "dbserver1.public.klienci")) {
    if (!e.value.is_null() && e.value["payload"]["op"] == "c") ids.insert(e.value["payload"]["after"]["id"].get<int>());
  }
  EXPECT_EQ(ids.size(), 500u);
}

TEST_F(CaptureCliTest, MissingTableAndBadFlagsAreClearErrors) {
  auto r = RunCommand({CdcpipeBin(), "capture", "--db", pg().Uri(db_), "--sink", "null", "--tables", "nie_ma",
                       "--state", state_.path()});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();  // a table that does not exist is a configuration error
  EXPECT_NE(r.err.find("public.nie_ma does not exist"), std::string::npos) << r.Describe();
  r = RunCommand({CdcpipeBin(), "capture", "--db", pg().Uri(db_)});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();  // usage: --brokers missing
  EXPECT_NE(r.err.find("--brokers"), std::string::npos) << r.Describe();
  r = RunCommand({CdcpipeBin(), "capture", "--db", pg().Uri(db_), "--null-sink", "--snapshot", "sometimes"});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
}

TEST_F(CaptureCliTest, OneMillionRowTransactionWithBoundedMemory) {
  auto argv = std::vector<std::string>{CdcpipeBin(), "capture", "--db", pg().Uri(db_), "--null-sink", "--slot",
                                       "cli_mem", "--tables", "klienci", "--state", state_.path(), "--heartbeat", "0"};
  auto r = CaptureUntilNow(argv);  // set-up and an empty snapshot
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  Sql("INSERT INTO klienci SELECT g, 'klient ' || g, 'k' || g || '@example.com', 'PL', '+48 600 000 000' "
      "FROM generate_series(1, 1000000) g");
  std::vector<std::string> timed = {"/usr/bin/time", "-f", "maxrss_kb=%M"};
  timed.insert(timed.end(), argv.begin(), argv.end());
  r = CaptureUntilNow(timed);
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.err.find("1000000 streamed events"), std::string::npos) << r.Describe();
  size_t at = r.err.rfind("maxrss_kb=");
  ASSERT_NE(at, std::string::npos) << r.Describe();
  long kb = std::stol(r.err.substr(at + 10));
  EXPECT_LT(kb, 256 * 1024) << "peak RSS " << kb << " KiB";
}

}  // namespace
}  // namespace cdc::testing
