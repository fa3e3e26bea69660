// ChangeProjector + ViewEngine::ApplyChange against ViewEngine::ApplyRaw: the same random change events
// (every column type views read, their edge values, NULLs, unchanged TOAST values, REPLICA IDENTITY
// DEFAULT and FULL before images, primary-key changes, deletes, TRUNCATE) applied to two engines, one
// from the JSON the project's DebeziumEncoder writes, the other from the projected changes. After every
// event both engines must hold exactly the same state (ViewEngine::Save bytes: the row store's Datums
// with their scales, the groups, the aggregates) and must have returned the same status.
#include "analytics/change_projector.h"

#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <string_view>
#include <random>
#include <string>
#include <vector>

#include "analytics/view_engine.h"
#include "event/debezium_encoder.h"
#include "sql/plan.h"

namespace cdc::analytics {
namespace {

using event::Column;
using event::Row;
using event::Value;

// The captured table: every type views read. Key: id.
std::shared_ptr<event::TableSchema> AllTypes() {
  auto t = std::make_shared<event::TableSchema>();
  t->relation_id = 16400;
  t->schema = "public";
  t->table = "all_types";
  event::UserType mood;
  mood.kind = event::UserType::Kind::kEnum;
  mood.enum_labels = "happy,sad";
  event::UserType money_domain;  // a domain over numeric(8,3)
  money_domain.kind = event::UserType::Kind::kDomain;
  money_domain.base_type_oid = 1700;
  money_domain.base_type_modifier = (8 << 16) + 3 + 4;
  t->columns = {
      {"id", 20, -1, true, false},
      {"b", 16, -1, false, true},
      {"i2", 21, -1, false, true},
      {"i4", 23, -1, false, true},
      {"f4", 700, -1, false, true},
      {"f8", 701, -1, false, true},
      {"n", 1700, (10 << 16) + 2 + 4, false, true},
      {"nv", 1700, -1, false, true},
      {"d", 1082, -1, false, true},
      {"ts3", 1114, 3, false, true},
      {"ts", 1114, -1, false, true},
      {"tz", 1184, -1, false, true},
      {"s", 25, -1, false, true},
      {"v", 1043, 24, false, true},
      {"c", 1042, 9, false, true},
      {"u", 2950, -1, false, true},
      {"e", 16500, -1, false, true, "public.mood", mood},
      {"dm", 16501, -1, false, true, "public.amount", money_domain},
      {"extra", 25, -1, false, true},  // read by no view
  };
  return t;
}

constexpr const char* kViews = R"sql(
CREATE VIEW every_column AS
  SELECT b, i2, i4, f4, f8, n, nv, d, ts3, ts, tz, s, v, c, u, e, dm, count(*) AS rows
  FROM all_types
  GROUP BY b, i2, i4, f4, f8, n, nv, d, ts3, ts, tz, s, v, c, u, e, dm;
CREATE VIEW sums AS
  SELECT b, count(*) AS rows, sum(n) AS n, sum(nv) AS nv, sum(f8) AS f8, min(tz) AS first_tz, max(s) AS last_s,
         count(DISTINCT c) AS cs, sum(i4) AS i4
  FROM all_types
  GROUP BY b;
)sql";

// Text values in PostgreSQL's output format, edge values first.
struct Values {
  std::mt19937_64 rng;
  explicit Values(uint64_t seed) : rng(seed) {}
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[rng() % v.size()];
  }
  bool Chance(int percent) { return static_cast<int>(rng() % 100) < percent; }
  std::string Double(bool single) {
    char buf[64];
    double d = std::uniform_real_distribution<double>(-1e6, 1e6)(rng) * std::pow(10.0, static_cast<int>(rng() % 40) - 20);
    auto r = single ? std::to_chars(buf, buf + sizeof buf, static_cast<float>(d)) : std::to_chars(buf, buf + sizeof buf, d);
    return std::string(buf, r.ptr);
  }
  std::string Digits(int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>('0' + (i == 0 ? 1 + rng() % 9 : rng() % 10)));
    return s;
  }
  Value Text(const std::string& column) {
    if (Chance(8)) return Value::Null();
    if (column == "b") return Value::Text(Pick<std::string>({"t", "f"}));
    if (column == "i2") return Value::Text(Pick<std::string>({"-32768", "32767", "0", "-1", "7", "12"}));
    if (column == "i4") return Value::Text(Pick<std::string>({"-2147483648", "2147483647", "0", "42", "-5"}));
    if (column == "f4") {
      if (Chance(20)) return Value::Text(Pick<std::string>({"NaN", "Infinity", "-Infinity", "-0", "3.4028235e+38", "1e-45", "0.1"}));
      return Value::Text(Double(true));
    }
    if (column == "f8") {
      if (Chance(20)) return Value::Text(Pick<std::string>({"NaN", "Infinity", "-Infinity", "-0", "1.7976931348623157e+308", "5e-324", "0.1"}));
      return Value::Text(Double(false));
    }
    if (column == "n") return Value::Text(Pick<std::string>({"0.00", "-0.01", "12345678.90", "-99999999.99", "1.50", "NaN"}));
    if (column == "nv" || column == "dm") {
      if (column == "dm") return Value::Text(Pick<std::string>({"12345.678", "-0.001", "0.000", "NaN", "99999.999"}));
      // At the edges of 38 digits (an error when beyond; the sums of 38-digit values overflow too).
      if (Chance(3)) return Value::Text(Pick<std::string>({Digits(39), "0." + std::string(38, '0') + "1", "-" + Digits(38)}));
      switch (rng() % 5) {
        case 0: return Value::Text("0." + std::string(37, '0') + "1");                         // scale 38
        case 1: return Value::Text(Pick<std::string>({"NaN", "Infinity", "-Infinity"}));
        case 2: return Value::Text(Digits(1 + rng() % 20) + "." + Digits(1 + rng() % 10) + "0");
        default: return Value::Text(Pick<std::string>({"0", "1.50", "-3.000", "0.000", "100"}));
      }
    }
    if (column == "d") return Value::Text(Pick<std::string>({"2024-01-02", "1970-01-01", "1969-12-31", "2000-02-29", "infinity", "-infinity", "0044-03-15 BC", "9999-12-31"}));
    if (column == "ts3") return Value::Text(Pick<std::string>({"2024-01-02 03:04:05.123", "1970-01-01 00:00:00", "1900-06-30 23:59:59.999", "infinity", "-infinity"}));
    if (column == "ts") return Value::Text(Pick<std::string>({"2024-01-02 03:04:05.123456", "1969-12-31 23:59:59.999999", "2024-02-29 12:00:00", "infinity", "-infinity", "0044-03-15 12:00:00 BC"}));
    if (column == "tz") return Value::Text(Pick<std::string>({"2024-01-02 03:04:05.123456+00", "2024-01-02 04:04:05+01", "1969-12-31 23:59:59.5-05:30", "infinity", "-infinity", "2024-06-30 23:59:59.999999+14"}));
    if (column == "s" || column == "extra") {
      if (Chance(5)) return Value::UnchangedToast();
      if (Chance(2)) return Value::Text("\xff\xfe not UTF-8");  // the JSON path refuses the event
      return Value::Text(Pick<std::string>({"", "a", "zażółć gęślą jaźń", "quote \" and \\ backslash", "tab\tnew\nline\x01",
                                            "a text longer than fifteen bytes", "日本語"}));
    }
    if (column == "v") return Value::Text(Pick<std::string>({"short", "", "Ünïcödé", "x"}));
    if (column == "c") return Value::Text(Pick<std::string>({"ab       ", "abcdefghi", "         "}));
    if (column == "u") return Value::Text(Pick<std::string>({"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "00000000-0000-0000-0000-000000000000"}));
    if (column == "e") return Value::Text(Pick<std::string>({"happy", "sad"}));
    return Value::Text("?");
  }
};

struct Views {
  sql::Catalog catalog;
  sql::ViewSet set;
  explicit Views(const event::TableSchema& table) {
    catalog.emplace("public.all_types", table);
    auto v = sql::LoadViews("projector_test.sql", kViews, catalog);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    if (v.ok()) set = std::move(*v);
  }
};

// An engine over the all_types views and a projector for it.
struct Projecting {
  Views views;
  ViewEngine engine;
  ChangeProjector projector;
  explicit Projecting(const event::TableSchema& table)
      : views(table), engine(&views.set, &views.catalog, EventSettings{}), projector(engine.DecodedColumns()) {}
};

std::string Saved(const ViewEngine& e) {
  std::string s;
  e.Save(&s);
  return s;
}

// Applies `n` events of `next` to a JSON engine and a projected-change engine; *shared: how many went
// projected.
void ApplyBoth(event::DecimalMode mode, bool schemas, const std::shared_ptr<event::TableSchema>& catalog_table,
               const std::function<std::optional<event::ChangeEvent>(int)>& next, int n, size_t* shared_out) {
  Views views(*catalog_table);
  EventSettings settings{mode};
  ViewEngine json(&views.set, &views.catalog, settings), projected(&views.set, &views.catalog, settings);
  ChangeProjector projector(projected.DecodedColumns());
  event::EncoderOptions eo;
  eo.decimal_mode = mode;
  eo.schemas = schemas;
  event::DebeziumEncoder encoder(eo);
  size_t shared = 0, errors = 0;
  for (int i = 0; i < n; ++i) {
    std::optional<event::ChangeEvent> ev = next(i);
    if (!ev) continue;
    std::vector<event::EncodedRecord> records;
    if (!encoder.Encode(*ev, 1700000000000, &records).ok()) continue;  // capture would have stopped
    ASSERT_FALSE(records.empty());
    const event::EncodedRecord& rec = records.front();
    ASSERT_TRUE(rec.value.has_value());
    Status a = json.ApplyRaw(rec.topic, *rec.value);
    std::string change;
    bool projected_ok = projector.Project(*ev, &change);
    Status b = projected_ok ? projected.ApplyChange(rec.topic, change) : projected.ApplyRaw(rec.topic, *rec.value);
    shared += projected_ok;
    errors += !a.ok();
    ASSERT_EQ(a.ToString(), b.ToString()) << "event " << i << " (" << static_cast<char>(ev->op) << "): " << *rec.value;
    ASSERT_EQ(Saved(json), Saved(projected)) << "event " << i << " (" << static_cast<char>(ev->op) << "): " << *rec.value;
  }
  EXPECT_GT(errors, 0u) << "the workload should include values the views refuse";
  EXPECT_LT(errors, static_cast<size_t>(n) / 2) << "most events should change the views";
  *shared_out = shared;
}

// A random workload over keys 0..39 with REPLICA IDENTITY FULL or DEFAULT before images.
std::function<std::optional<event::ChangeEvent>(int)> Workload(const std::shared_ptr<event::TableSchema>& table,
                                                                uint64_t seed) {
  auto values = std::make_shared<Values>(seed);
  auto rows = std::make_shared<std::map<int, Row>>();
  return [table, values, rows](int i) -> std::optional<event::ChangeEvent> {
    Values& g = *values;
    event::ChangeEvent ev;
    ev.table = table;
    ev.lsn = Lsn(0x1000000 + static_cast<uint64_t>(i) * 64);
    ev.commit_lsn = ev.lsn;
    auto new_row = [&](int id) {
      Row r;
      for (const Column& c : table->columns) r.push_back(c.name == "id" ? Value::Text(std::to_string(id)) : g.Text(c.name));
      return r;
    };
    auto before_of = [&](const Row& r) {
      if (g.Chance(50)) return r;  // REPLICA IDENTITY FULL
      Row k(r.size(), Value::Null());  // DEFAULT: the key only
      k[0] = r[0];
      return k;
    };
    int id = static_cast<int>(g.rng() % 40);
    int op = static_cast<int>(g.rng() % 100);
    auto it = rows->find(id);
    if (op < 2) {
      ev.op = event::Op::kTruncate;
      rows->clear();
    } else if (op < 40 || it == rows->end()) {
      ev.op = g.Chance(20) ? event::Op::kRead : event::Op::kCreate;
      Row r = new_row(id);
      for (Value& v : r) {
        if (v.kind == Value::Kind::kUnchangedToast) v = Value::Text("inserted in full");  // inserts carry every value
      }
      ev.after = r;
      (*rows)[id] = r;
    } else if (op < 80) {
      ev.op = event::Op::kUpdate;
      Row r = new_row(id);
      int to = id;
      if (g.Chance(10)) {  // a primary-key change
        to = 40 + static_cast<int>(g.rng() % 40);
        r[0] = Value::Text(std::to_string(to));
      }
      ev.before = before_of(it->second);
      ev.after = r;
      Row stored = r;
      for (size_t c = 0; c < stored.size(); ++c) {
        if (stored[c].kind == Value::Kind::kUnchangedToast) stored[c] = it->second[c];
      }
      rows->erase(it);
      (*rows)[to] = stored;
    } else {
      ev.op = event::Op::kDelete;
      ev.before = before_of(it->second);
      rows->erase(it);
    }
    return ev;
  };
}

TEST(ChangeProjectorTest, ProjectedChangesGiveTheStateAndErrorsOfTheJson) {
  for (event::DecimalMode mode : {event::DecimalMode::kPrecise, event::DecimalMode::kString, event::DecimalMode::kDouble}) {
    for (bool schemas : {true, false}) {
      SCOPED_TRACE(::testing::Message() << "decimal mode " << static_cast<int>(mode) << " schemas " << schemas);
      auto table = AllTypes();
      size_t shared = 0;
      ApplyBoth(mode, schemas, table, Workload(table, 7 + static_cast<int>(mode) * 2 + schemas), 4000, &shared);
      // Most events go projected; the rest (invalid UTF-8, an unchanged TOAST value the event lacks) go as JSON.
      EXPECT_GT(shared, 2000u);
      EXPECT_LT(shared, 4000u);
    }
  }
}

TEST(ChangeProjectorTest, EventsOfAnotherShapeThanTheCatalogGoAsJson) {
  // The relation changed since the views were loaded: a column the views read has another type, or is
  // gone. The projector hands nothing over; the JSON path decides (the same errors, the same state).
  auto catalog_table = AllTypes();
  for (int variant = 0; variant < 2; ++variant) {
    auto events_table = AllTypes();
    if (variant == 0) events_table->columns[3].type_oid = 20;            // i4 became bigint
    else events_table->columns.erase(events_table->columns.begin() + 12);  // s dropped
    Projecting p(*catalog_table);
    auto next = Workload(events_table, 99);
    for (int i = 0; i < 200; ++i) {
      std::optional<event::ChangeEvent> ev = next(i);
      ASSERT_TRUE(ev);
      std::string bytes;
      EXPECT_FALSE(p.projector.Project(*ev, &bytes)) << "variant " << variant << " event " << i;
    }
  }
  // The views do not read this table at all.
  auto other = AllTypes();
  other->table = "not_read";
  Projecting p(*catalog_table);
  event::ChangeEvent ev;
  ev.op = event::Op::kCreate;
  ev.table = other;
  ev.after = Row(other->columns.size(), Value::Null());
  std::string bytes;
  EXPECT_FALSE(p.projector.Project(ev, &bytes));
}

TEST(ChangeProjectorTest, ProjectsOnlyTheColumnsTheViewsRead) {
  auto table = AllTypes();
  Projecting p(*table);
  ViewEngine& engine = p.engine;
  ChangeProjector& projector = p.projector;
  event::ChangeEvent ev;
  ev.op = event::Op::kUpdate;
  ev.table = table;
  ev.lsn = Lsn(0x16B3748);
  ev.before = Row(table->columns.size(), Value::Null());
  (*ev.before)[0] = Value::Text("5");
  (*ev.before)[12] = Value::Text("old s");
  ev.after = Row(table->columns.size(), Value::Text("1"));
  (*ev.after)[12] = Value::UnchangedToast();  // carried by the before image: taken from it
  (*ev.after)[18] = Value::UnchangedToast();  // "extra": no view reads it, no matter
  std::string bytes;
  ASSERT_TRUE(projector.Project(ev, &bytes));
  const size_t n = table->columns.size() - 1;  // all but "extra"
  std::vector<event::TableSchema> decoded = engine.DecodedColumns();
  ASSERT_EQ(decoded.size(), 1u);
  ASSERT_EQ(decoded[0].columns.size(), n);
  for (const Column& col : decoded[0].columns) EXPECT_NE(col.name, "extra");
  ProjectedChangeReader reader(bytes);
  char op = 0;
  Lsn lsn;
  EXPECT_FALSE(ProjectedChangeReader(bytes).Header(n + 1, &op, &lsn));
  ASSERT_TRUE(reader.Header(n, &op, &lsn));
  EXPECT_EQ(op, 'u');
  EXPECT_EQ(lsn, ev.lsn);
  std::vector<std::optional<std::string>> images[2];
  for (auto& image : images) {
    ASSERT_TRUE(reader.HasImage());
    for (size_t i = 0; i < n; ++i) {
      std::optional<std::string_view> text;
      ASSERT_TRUE(reader.Value(&text));
      image.push_back(text ? std::optional<std::string>(*text) : std::nullopt);
    }
  }
  EXPECT_TRUE(reader.AtEnd());
  EXPECT_EQ(images[0][0], "5");
  EXPECT_EQ(images[0][1], std::nullopt);
  EXPECT_EQ(images[0][12], "old s");
  EXPECT_EQ(images[1][0], "1");
  EXPECT_EQ(images[1][12], "old s");  // the unchanged TOAST value, from the before image
  // Cut short: Corruption, nothing applied.
  EXPECT_TRUE(engine.ApplyChange("dbserver1.public.all_types", std::string_view(bytes).substr(0, bytes.size() - 1)).IsCorruption());
  EXPECT_EQ(engine.stored_rows(), 0u);
  // Without the before image's value the JSON has Debezium's placeholder: not projected.
  (*ev.before)[12] = Value::UnchangedToast();
  EXPECT_FALSE(projector.Project(ev, &bytes));
}

}  // namespace
}  // namespace cdc::analytics
