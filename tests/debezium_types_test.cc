// Debezium fidelity for every PostgreSQL built-in type (issue 17, docs/DEBEZIUM.md "Golden records").
//
// A table with a column of every built-in type (tests/golden/debezium/all_types.json: five rows each, the type's
// minimum, maximum, two special values and NULL, plus arrays) is captured by CaptureJob against the private
// PostgreSQL, once per switch configuration of the golden file: its snapshot (op r, ids 1..5) and the same rows
// inserted while streaming (op c, ids 11..15). Every record is compared with the golden values, which were written
// from Debezium's documentation and source (each column cites them), not from cdcpipe's output.
//
// Then the consumer check: a second reader that shares no code with cdcpipe (tests/node/debezium_consumer_check.mjs,
// DuckDB's JSON functions for the raw field texts and Node for the rest) decodes every record of every configuration
// back into PostgreSQL's text form, and compares it with the rows as psql prints them.
//
// Update, delete and TRUNCATE under REPLICA IDENTITY DEFAULT and FULL: tests/golden/debezium/replica_identity.json.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/shutdown.h"
#include "event/debezium_encoder.h"
#include "jobs/capture.h"
#include "memory_sink.h"
#include "support/test_env.h"

namespace cdc::testing {
namespace {

using json = nlohmann::json;

json LoadGolden(const std::string& name) {
  return json::parse(ReadFile(SourceDir() + "/tests/golden/debezium/" + name));
}

// Encoder options for a golden config's switches (Debezium's option names, parsed by the product's own parsers:
// the flags and config keys that reach them are covered by debezium_run_test and config_test).
event::EncoderOptions EncoderFor(const json& switches) {
  event::EncoderOptions e;
  for (const auto& [option, value] : switches.items()) {
    const std::string v = value.get<std::string>();
    if (option == "time.precision.mode") {
      e.time_precision = *event::ParseTimePrecisionMode(v);
    } else if (option == "decimal.handling.mode") {
      e.decimal_mode = *event::ParseDecimalMode(v);
    } else if (option == "binary.handling.mode") {
      e.binary_mode = *event::ParseBinaryMode(v);
    } else if (option == "interval.handling.mode") {
      e.interval_mode = *event::ParseIntervalMode(v);
    } else if (option == "skipped.operations") {
      e.skipped_ops = *event::ParseSkippedOperations(v);
    } else {
      ADD_FAILURE() << "golden config sets an option this test does not know: " << option;
    }
  }
  return e;
}

class DebeziumTypesTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = pg().CreateTestDatabase(); }
  void TearDown() override {
    ResetShutdown();
    pg().DropSlots(db_);
  }
  static PgCluster& pg() { return PgCluster::Shared(); }
  std::string Sql(const std::string& sql) { return pg().Psql(db_, sql); }

  // Runs CaptureJob on `slot` (snapshot first when the slot is new) until everything written so far is durable;
  // returns the records of `table` (tombstones included).
  std::vector<log::Record> Capture(const std::string& slot, const std::string& table, event::EncoderOptions encoder,
                                   bool replica_identity_full = false) {
    jobs::CaptureOptions o;
    o.conninfo = pg().Conninfo(db_);
    o.tables = {table};
    o.slot = slot;
    o.state_uri = state_.path();
    o.encoder = std::move(encoder);
    o.replica_identity_full = replica_identity_full;
    o.heartbeat = std::chrono::milliseconds(0);
    o.status_interval = std::chrono::milliseconds(1000);
    o.reconnect_initial = std::chrono::milliseconds(100);
    o.reconnect_max = std::chrono::milliseconds(1000);
    o.end_lsn = *Lsn::Parse(Sql("SELECT pg_current_wal_insert_lsn()"));
    MemorySink sink;
    jobs::CaptureJob job(o, &sink);
    Status st = job.Run();
    EXPECT_TRUE(st.ok()) << slot << ": " << st.ToString();
    std::vector<log::Record> out;
    for (auto& r : sink.Take()) {
      if (r.topic == "dbserver1.public." + table) out.push_back(std::move(r));
    }
    return out;
  }

  std::string db_;
  TempDir state_{"debezium-types-state"};
};

// The golden schema and values of `column` under a config's switches: the column's own, or a matching mode's.
struct Expected {
  json schema, values;
  std::string cite;
};
Expected ExpectedFor(const json& column, const json& switches) {
  Expected e{column.at("schema"), column.at("json"), column.at("cite").get<std::string>()};
  if (!column.contains("modes")) return e;
  for (const auto& [option, value] : switches.items()) {
    std::string key = option + "=" + value.get<std::string>();
    if (column["modes"].contains(key)) {
      const json& m = column["modes"][key];
      e.schema = m.at("schema");
      e.values = m.at("json");
      e.cite = m.at("cite").get<std::string>();
    }
  }
  return e;
}

// The `fields` of the value schema's `after` struct for the golden table: the key column, then every column.
json AfterFields(const json& golden, const json& switches) {
  json fields = json::array({{{"type", "int32"}, {"optional", false}, {"field", "id"}}});
  for (const auto& c : golden["columns"]) {
    json s = ExpectedFor(c, switches).schema;
    s["optional"] = true;
    s["field"] = c["name"];
    fields.push_back(s);
  }
  return fields;
}

// Every golden column and mode cites its source; every config's switches are ones this file has overrides for or
// that leave the columns alone.
TEST(DebeziumGoldenFileTest, EveryValueCitesItsSource) {
  json golden = LoadGolden("all_types.json");
  ASSERT_GE(golden["columns"].size(), 40u);
  std::set<std::string> sources;
  for (const auto& [k, v] : golden["sources"].items()) sources.insert(k);
  for (const auto& c : golden["columns"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    ASSERT_EQ(c["sql"].size(), 5u);
    ASSERT_EQ(c["json"].size(), 5u);
    std::vector<std::string> cites = {c["cite"].get<std::string>()};
    if (c.contains("modes")) {
      for (const auto& [k, m] : c["modes"].items()) {
        ASSERT_EQ(m["json"].size(), 5u) << k;
        cites.push_back(m["cite"].get<std::string>());
      }
    }
    for (const auto& cite : cites) {
      bool named = false;
      for (const auto& s : sources) named = named || cite.find(s) != std::string::npos;
      EXPECT_TRUE(named) << "cite names none of the sources: " << cite;
    }
    if (c.contains("pinned")) {
      EXPECT_TRUE(c.contains("note")) << "an unpinned value says why";
    }
  }
}

// The table of every built-in type, snapshot and stream, under each golden config; then the consumer check.
TEST_F(DebeziumTypesTest, EveryBuiltInTypeUnderEachSwitchMatchesTheGoldenRecords) {
  const json golden = LoadGolden("all_types.json");
  const json& columns = golden["columns"];
  const json& configs = golden["configs"];
  std::string ddl = "CREATE TABLE typy (id int PRIMARY KEY";
  for (const auto& c : columns) ddl += ", " + c["name"].get<std::string>() + " " + c["type"].get<std::string>();
  Sql(ddl + ")");
  auto insert = [&](int id_base) {
    std::string sql;
    for (int r = 0; r < 5; ++r) {
      sql += "INSERT INTO typy VALUES (" + std::to_string(id_base + r + 1);
      for (const auto& c : columns) sql += ", " + (c["sql"][r].is_null() ? std::string("NULL") : c["sql"][r].get<std::string>());
      sql += ");";
    }
    Sql(sql);
  };
  insert(0);
  // Each config's slot takes its snapshot of ids 1..5; the inserts of ids 11..15 are then streamed to every slot.
  std::vector<std::vector<log::Record>> records(configs.size());
  for (size_t i = 0; i < configs.size(); ++i) {
    records[i] = Capture("typy_" + std::to_string(i), "typy", EncoderFor(configs[i]["switches"]));
  }
  insert(10);
  for (size_t i = 0; i < configs.size(); ++i) {
    auto streamed = Capture("typy_" + std::to_string(i), "typy", EncoderFor(configs[i]["switches"]));
    records[i].insert(records[i].end(), streamed.begin(), streamed.end());
  }

  const std::vector<std::string> markers = {"first", "true", "true", "true", "last"};
  std::string consumer_input;
  for (size_t i = 0; i < configs.size(); ++i) {
    const std::string config = configs[i]["name"];
    const json& switches = configs[i]["switches"];
    SCOPED_TRACE("config " + config + " " + switches.dump());
    ASSERT_EQ(records[i].size(), 10u);
    const json after_fields = AfterFields(golden, switches);
    for (size_t n = 0; n < records[i].size(); ++n) {
      const auto& rec = records[i][n];
      const bool snapshot = n < 5;
      const int id = static_cast<int>(n % 5) + 1 + (snapshot ? 0 : 10);
      SCOPED_TRACE("id " + std::to_string(id));
      ASSERT_TRUE(rec.key && rec.value);
      json key = json::parse(*rec.key);
      EXPECT_EQ(key["payload"], (json{{"id", id}}));
      EXPECT_EQ(key["schema"], json::parse(R"({"type":"struct","fields":[{"type":"int32","optional":false,"field":"id"}],)"
                                           R"("optional":false,"name":"dbserver1.public.typy.Key"})"));
      json value = json::parse(*rec.value);
      const json& payload = value["payload"];
      EXPECT_EQ(payload["op"], snapshot ? "r" : "c");
      EXPECT_TRUE(payload["before"].is_null());
      EXPECT_EQ(payload["source"]["snapshot"], snapshot ? markers[n] : "false");
      EXPECT_EQ(payload["source"]["table"], "typy");
      EXPECT_TRUE(payload["source"]["txId"].is_number_unsigned()) << payload["source"].dump();
      // The value schema's `after` struct, field by field (JsonConverter: Envelope fields before, after, ...).
      const json& after_schema = value["schema"]["fields"][1];
      EXPECT_EQ(after_schema["field"], "after");
      EXPECT_EQ(after_schema["name"], "dbserver1.public.typy.Value");
      ASSERT_EQ(after_schema["fields"].size(), after_fields.size());
      const json& after = payload["after"];
      ASSERT_EQ(after.size(), after_fields.size()) << after.dump();
      EXPECT_EQ(after["id"], id);
      size_t f = 1;
      for (const auto& c : columns) {
        const std::string name = c["name"];
        Expected want = ExpectedFor(c, switches);
        EXPECT_EQ(after_schema["fields"][f], after_fields[f]) << name << " schema; golden from " << want.cite;
        EXPECT_EQ(after[name], want.values[n % 5]) << name << " = " << c["sql"][n % 5].dump() << "; golden from "
                                                   << want.cite;
        ++f;
      }
      // Field order is the column order (a struct, not a map).
      std::vector<std::string> order;
      for (auto it = after.begin(); it != after.end(); ++it) order.push_back(it.key());
      EXPECT_EQ(order.size(), after_fields.size());
      json line = {{"config", config}, {"id", id}, {"value", *rec.value}};
      consumer_input += line.dump() + "\n";
    }
  }
  // nlohmann's json objects are sorted maps: the text order of `after` is checked on the raw record instead.
  {
    const std::string& raw = *records[0][0].value;
    size_t at = raw.find("\"after\":{");
    ASSERT_NE(at, std::string::npos);
    size_t prev = at;
    for (const auto& c : columns) {
      size_t pos = raw.find("\"" + c["name"].get<std::string>() + "\":", prev);
      EXPECT_NE(pos, std::string::npos) << c["name"] << " out of column order in " << raw.substr(at, 200);
      if (pos != std::string::npos) prev = pos;
    }
  }

  // The consumer check: what PostgreSQL holds, each value in its type's text output form (format('%s', ...) calls
  // the output function; arrays element by element), next to the records.
  std::string select = "SELECT to_json(x) FROM (SELECT id";
  for (const auto& c : columns) {
    std::string n = c["name"];
    if (c["type"].get<std::string>().ends_with("[]")) {
      select += ", (SELECT coalesce(json_agg(CASE WHEN e IS NULL THEN NULL ELSE format('%s', e) END ORDER BY i), '[]') "
                "FROM unnest(" + n + ") WITH ORDINALITY u(e, i)) AS " + n;
      select += ", " + n + " IS NULL AS " + n + "_isnull";
    } else {
      select += ", CASE WHEN " + n + " IS NULL THEN NULL ELSE format('%s', " + n + ") END AS " + n;
    }
  }
  select += " FROM typy ORDER BY id) x";
  TempDir dir("debezium-consumer");
  WriteFile(dir / "records.jsonl", consumer_input);
  WriteFile(dir / "rows.jsonl", Sql(select) + "\n");
  CommandResult r = RunNode("debezium_consumer_check.mjs",
                            {dir / "records.jsonl", dir / "rows.jsonl", SourceDir() + "/tests/golden/debezium/all_types.json"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  // 4 configs x 10 records x every column: nothing may be skipped silently.
  EXPECT_NE(r.out.find("checked " + std::to_string(configs.size() * 10 * columns.size()) + " values"), std::string::npos)
      << r.Describe();
}

// Update, delete and TRUNCATE under REPLICA IDENTITY DEFAULT then FULL, with skipped.operations=none (cdcpipe's
// default: the truncate is written) and =t (Debezium's: it is not), against tests/golden/debezium/replica_identity.json.
TEST_F(DebeziumTypesTest, UpdateDeleteTruncateUnderDefaultAndFullIdentity) {
  const json golden = LoadGolden("replica_identity.json");
  const std::string big(3000, 'x');
  Sql(golden["setup"].get<std::string>());
  const json& configs = golden["configs"];
  for (size_t i = 0; i < configs.size(); ++i) {
    EXPECT_TRUE(Capture("rid_" + std::to_string(i), "rid", EncoderFor(configs[i]["switches"])).empty());
  }
  for (const auto& s : golden["statements"]) Sql(s.get<std::string>());
  EXPECT_EQ(Sql("SELECT relreplident FROM pg_class WHERE relname = 'rid'"), "f");
  // "$BIG" in a golden row is the out-of-line value.
  auto expand = [&](json row) {
    if (row.is_object()) {
      for (auto& [k, v] : row.items()) {
        if (v == "$BIG") v = big;
      }
    }
    return row;
  };
  for (size_t i = 0; i < configs.size(); ++i) {
    const std::string config = configs[i]["name"];
    SCOPED_TRACE("config " + config);
    std::vector<log::Record> got = Capture("rid_" + std::to_string(i), "rid", EncoderFor(configs[i]["switches"]));
    std::vector<json> want;
    for (const auto& r : golden["records"]) {
      if (!r.contains("only") || r["only"] == config) want.push_back(r);
    }
    ASSERT_EQ(got.size(), want.size());
    for (size_t n = 0; n < got.size(); ++n) {
      const json& w = want[n];
      SCOPED_TRACE("record " + std::to_string(n) + ", golden from " + w["cite"].get<std::string>());
      if (w["key"].is_null()) {
        EXPECT_FALSE(got[n].key.has_value());
      } else {
        ASSERT_TRUE(got[n].key.has_value());
        EXPECT_EQ(json::parse(*got[n].key)["payload"], w["key"]);
      }
      if (w["op"] == "tombstone") {
        EXPECT_FALSE(got[n].value.has_value());
        continue;
      }
      ASSERT_TRUE(got[n].value.has_value());
      const json payload = json::parse(*got[n].value)["payload"];
      EXPECT_EQ(payload["op"], w["op"]);
      EXPECT_EQ(payload["before"], expand(w["before"]));
      EXPECT_EQ(payload["after"], expand(w["after"]));
      EXPECT_EQ(payload["source"]["snapshot"], "false");
    }
  }
}

}  // namespace
}  // namespace cdc::testing
