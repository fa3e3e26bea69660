// DebeziumEncoder: golden files (src/event/testdata/*.golden; regenerate with CDC_UPDATE_GOLDEN=1 after
// checking the diff), structure checks with an independent JSON parser (nlohmann), and decoder round trips.
#include "event/debezium_encoder.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "event/debezium_decoder.h"

namespace cdc::event {
namespace {

constexpr int64_t kNowMs = 1704164700000;  // fixed processing time so the output is stable

std::shared_ptr<const TableSchema> Klienci() {
  auto t = std::make_shared<TableSchema>();
  t->relation_id = 16384;
  t->schema = "public";
  t->table = "klienci";
  t->columns = {{"id", 23, -1, true, false}, {"nazwa", 25, -1, false, false}, {"email", 25, -1, false, true},
                {"kraj", 25, -1, false, true}, {"telefon", 25, -1, false, true}};
  return t;
}

// One column per supported type, key = (id int8, code varchar).
std::shared_ptr<const TableSchema> Typy() {
  auto t = std::make_shared<TableSchema>();
  t->relation_id = 16400;
  t->schema = "public";
  t->table = "typy";
  const int32_t numeric_10_2 = (10 << 16 | 2) + 4;
  t->columns = {
      {"id", 20, -1, true, false},         {"code", 1043, 20, true, false},    {"i2", 21, -1, false, true},
      {"i4", 23, -1, false, true},          {"f4", 700, -1, false, true},       {"f8", 701, -1, false, true},
      {"b", 16, -1, false, true},           {"t", 25, -1, false, true},         {"c", 1042, 9, false, true},
      {"n", 1700, -1, false, true},         {"n102", 1700, numeric_10_2, false, true},
      {"d", 1082, -1, false, true},         {"ts", 1114, -1, false, true},      {"tstz", 1184, -1, false, true},
      {"tm", 1083, -1, false, true},        {"tmtz", 1266, -1, false, true},    {"j", 114, -1, false, true},
      {"jb", 3802, -1, false, true},        {"u", 2950, -1, false, true},       {"by", 17, -1, false, true},
  };
  return t;
}

Row TypyRow() {
  auto T = [](const char* s) { return Value::Text(s); };
  return {T("9007199254740993"), T("A-1"), T("-32768"), T("2147483647"), T("1.5"), T("-2.5e-300"), T("t"),
          T("za\u017c\u00f3\u0142\u0107 \"g\u0119\u015bl\u0105\"\n\tja\u017a\u0144"), T("abc      "),
          T("-12345678901234567890.123"), T("12.30"), T("1969-07-20"), T("2024-01-02 03:04:05.123456"),
          T("2024-01-02 04:04:05.123456+01"), T("23:59:59.999999"), T("10:00:00+02"),
          T("{\"a\": [1, 2]}"), T("{\"a\": [1, 2]}"), T("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), T("\\x00ff10")};
}

// Debezium's special types (issue #3): interval, money, one-dimensional arrays, and user types the catalog
// resolved (enum, domain, arrays of them) or only named (a composite: string).
std::shared_ptr<const TableSchema> Specjalne() {
  auto t = std::make_shared<TableSchema>();
  t->relation_id = 16500;
  t->schema = "public";
  t->table = "specjalne";
  const int32_t numeric_10_2 = (10 << 16 | 2) + 4;
  UserType mood{UserType::Kind::kEnum, false, 0, -1, "happy,sad,a \"b\""};
  UserType moods = mood;
  moods.array = true;
  UserType price{UserType::Kind::kDomain, false, 1700, numeric_10_2, ""};
  UserType positives{UserType::Kind::kDomain, true, 23, -1, ""};
  t->columns = {
      {"id", 20, -1, true, false},        {"iv", 1186, -1, false, true},   {"m", 790, -1, false, true},
      {"ai", 1007, -1, false, true},      {"at", 1009, -1, false, true},   {"an", 1231, numeric_10_2, false, true},
      {"ad", 1182, -1, false, true},      {"ab", 1000, -1, false, true},   {"ajb", 3807, -1, false, true},
      {"au", 2951, -1, false, true},      {"atz", 1185, -1, false, true},  {"aby", 1001, -1, false, true},
      {"ai8", 1016, -1, false, true},     {"aname", 1003, -1, false, true}, {"amoney", 791, -1, false, true},
      {"mood", 16600, -1, false, true, "public.mood", mood},
      {"moods", 16599, -1, false, true, "public._mood", moods},
      {"price", 16610, -1, false, true, "public.price", price},
      {"positives", 16615, -1, false, true, "public._positive_int", positives},
      {"point2", 16620, -1, false, true, "public.point2", UserType{}},  // composite: a string
      {"named", 16630, -1, false, true, "public.only_named", std::nullopt},  // Type message only: a string
  };
  return t;
}

Row SpecjalneRow() {
  auto T = [](const char* s) { return Value::Text(s); };
  return {T("1"),
          T("1 year 2 mons 3 days 04:05:06.78"),
          T("-$1,234.56"),
          T("{1,NULL,-3}"),
          T(R"({"a b",NULL,"NULL","","q\"x\\y",zażółć})"),
          T("{1.50,NULL,-2.25}"),
          T("{2024-02-29,1969-07-20}"),
          T("{t,f,NULL}"),
          T(R"({"{\"a\": 1}",null})"),
          T("{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}"),
          T(R"({"2024-01-02 04:04:05.5+01"})"),
          T(R"({"\\x00ff10"})"),
          T("{}"),
          T("{abc,def}"),
          T("{$1.00}"),
          T("sad"),
          T(R"({happy,"a \"b\""})"),
          T("12.30"),
          T("{1,2}"),
          T("(1,2)"),
          T("anything")};
}

ChangeEvent BaseEvent(std::shared_ptr<const TableSchema> t, Op op) {
  ChangeEvent e;
  e.op = op;
  e.table = std::move(t);
  e.xid = 771;
  e.lsn = Lsn(0x1A2B3C4D);
  e.commit_lsn = Lsn(0x1A2B3D00);
  e.last_commit_lsn = Lsn(0x1A2B0000);
  e.commit_time_us = 1704164645123456;
  e.order_in_tx = 1;
  return e;
}

Row KlientRow(const char* id, const char* nazwa, const char* email) {
  return {Value::Text(id), Value::Text(nazwa), email ? Value::Text(email) : Value::Null(), Value::Text("PL"),
          Value::Null()};
}

// Each record as three lines: topic, key (or null), value (or null).
std::string Render(const std::vector<EncodedRecord>& recs) {
  std::string out;
  for (const auto& r : recs) {
    out += r.topic + "\n" + (r.key ? *r.key : "null") + "\n" + (r.value ? *r.value : "null") + "\n";
  }
  return out;
}

void CheckGolden(const std::string& name, const std::string& actual) {
  std::string path = std::string(CDC_EVENT_TESTDATA) + "/" + name + ".golden";
  const char* update = std::getenv("CDC_UPDATE_GOLDEN");
  if (update && std::string(update) == "1") {
    std::ofstream(path, std::ios::binary) << actual;
    return;
  }
  std::ifstream in(path, std::ios::binary);
  ASSERT_TRUE(in.good()) << "missing golden file " << path << " (run with CDC_UPDATE_GOLDEN=1 to create it)";
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), actual) << "golden file " << path << " differs (CDC_UPDATE_GOLDEN=1 regenerates it)";
}

std::string EncodeOne(DebeziumEncoder& enc, const ChangeEvent& e) {
  std::vector<EncodedRecord> out;
  Status s = enc.Encode(e, kNowMs, &out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return Render(out);
}

EncoderOptions Opts(bool schemas, DecimalMode mode = DecimalMode::kPrecise) {
  EncoderOptions o;
  o.schemas = schemas;
  o.decimal_mode = mode;
  return o;
}

TEST(DebeziumEncoderGolden, Ops) {
  for (bool schemas : {true, false}) {
    DebeziumEncoder enc(Opts(schemas));
    std::string suffix = schemas ? "_schema" : "_payload";
    auto t = Klienci();
    ChangeEvent c = BaseEvent(t, Op::kCreate);
    c.after = KlientRow("1", "Kowalski Sp. z o.o.", "biuro@kowalski.pl");
    CheckGolden("klienci_create" + suffix, EncodeOne(enc, c));

    ChangeEvent u = BaseEvent(t, Op::kUpdate);
    u.before = KlientRow("1", "Kowalski Sp. z o.o.", "biuro@kowalski.pl");
    u.after = KlientRow("1", "Kowalski S.A.", nullptr);
    CheckGolden("klienci_update" + suffix, EncodeOne(enc, u));

    ChangeEvent d = BaseEvent(t, Op::kDelete);
    d.before = KlientRow("1", "Kowalski S.A.", nullptr);
    CheckGolden("klienci_delete" + suffix, EncodeOne(enc, d));

    ChangeEvent r = BaseEvent(t, Op::kRead);
    r.after = KlientRow("2", "Nowak", "nowak@example.com");
    r.snapshot = SnapshotMarker::kLast;
    r.last_commit_lsn = Lsn();
    r.commit_time_us = 1704164600000000;
    CheckGolden("klienci_read" + suffix, EncodeOne(enc, r));

    ChangeEvent tr = BaseEvent(t, Op::kTruncate);
    CheckGolden("klienci_truncate" + suffix, EncodeOne(enc, tr));
  }
}

// Encoding into recycled strings (AddSpareStrings: old contents, any capacity) writes the same records as
// into new ones, deletes with their tombstones included, and leaves the pools bounded.
TEST(DebeziumEncoderTest, SpareStringsGiveTheSameRecords) {
  DebeziumEncoder fresh(Opts(true)), recycled(Opts(true));
  auto t = Klienci();
  std::vector<std::string> spare;
  for (int i = 0; i < 20000; ++i) spare.push_back(i % 2 ? std::string(5000, 'o') : std::string("old"));
  EXPECT_TRUE(recycled.NeedsSpareStrings());
  recycled.AddSpareStrings(&spare);
  EXPECT_TRUE(spare.empty());
  EXPECT_FALSE(recycled.NeedsSpareStrings());
  for (int i = 0; i < 50; ++i) {
    ChangeEvent e = BaseEvent(t, i % 3 == 2 ? Op::kDelete : Op::kCreate);
    std::string id = std::to_string(i);
    (e.op == Op::kDelete ? e.before : e.after) = KlientRow(id.c_str(), "Nowak", i % 2 ? "nowak@example.com" : nullptr);
    EXPECT_EQ(EncodeOne(recycled, e), EncodeOne(fresh, e)) << "event " << i;
  }
}

// One create of `row` per decimal mode: <prefix>_precise_schema, _string_schema, _double_payload.
void CheckGoldenPerDecimalMode(const std::string& prefix, const std::shared_ptr<const TableSchema>& table,
                               const Row& row) {
  struct Case {
    const char* suffix;
    bool schemas;
    DecimalMode mode;
  };
  for (const Case& c : {Case{"_precise_schema", true, DecimalMode::kPrecise},
                        Case{"_string_schema", true, DecimalMode::kString},
                        Case{"_double_payload", false, DecimalMode::kDouble}}) {
    DebeziumEncoder enc(Opts(c.schemas, c.mode));
    ChangeEvent e = BaseEvent(table, Op::kCreate);
    e.after = row;
    CheckGolden(prefix + c.suffix, EncodeOne(enc, e));
  }
}

TEST(DebeziumEncoderGolden, AllTypes) { CheckGoldenPerDecimalMode("typy", Typy(), TypyRow()); }

TEST(DebeziumEncoderGolden, NullsSpecialValuesAndToast) {
  DebeziumEncoder enc(Opts(false));
  auto t = Typy();
  ChangeEvent e = BaseEvent(t, Op::kUpdate);
  Row before = TypyRow();
  Row after(t->columns.size(), Value::Null());
  after[0] = Value::Text("1");
  after[1] = Value::Text("k");
  after[4] = Value::Text("NaN");
  after[5] = Value::Text("-Infinity");
  after[7] = Value::UnchangedToast();  // old row has it -> taken from there
  after[9] = Value::Text("NaN");       // precise: null
  after[11] = Value::Text("infinity");
  after[13] = Value::Text("-infinity");
  after[16] = Value::UnchangedToast();
  after[19] = Value::UnchangedToast();
  before[16] = Value::UnchangedToast();  // not in the old row either -> placeholder
  before[19] = Value::UnchangedToast();
  e.before = before;
  e.after = after;
  CheckGolden("typy_nulls_special_toast_payload", EncodeOne(enc, e));
}

TEST(DebeziumEncoderGolden, TransactionMetadata) {
  EncoderOptions o = Opts(false);
  o.transaction_metadata = true;
  o.tombstones = false;
  DebeziumEncoder enc(o);
  std::string out;
  for (int i = 1; i <= 3; ++i) {
    ChangeEvent e = BaseEvent(i == 2 ? Typy() : Klienci(), Op::kCreate);
    if (i == 2) e.after = TypyRow();
    else e.after = KlientRow(std::to_string(i).c_str(), "x", nullptr);
    e.order_in_tx = i;
    out += EncodeOne(enc, e);
  }
  ChangeEvent d = BaseEvent(Klienci(), Op::kDelete);  // tombstones off: one record
  d.before = KlientRow("1", "x", nullptr);
  d.xid = 772;
  d.commit_lsn = Lsn(0x1A2B4000);
  out += EncodeOne(enc, d);
  CheckGolden("transaction_metadata_payload", out);
}

TEST(DebeziumEncoderGolden, SpecialTypes) { CheckGoldenPerDecimalMode("specjalne", Specjalne(), SpecjalneRow()); }

TEST(DebeziumEncoderGolden, SpecialTypesNullsAndToast) {
  DebeziumEncoder enc(Opts(false));
  auto t = Specjalne();
  ChangeEvent c = BaseEvent(t, Op::kCreate);
  c.after = Row(t->columns.size(), Value::Null());
  (*c.after)[0] = Value::Text("1");
  // Unchanged TOAST without the old row (REPLICA IDENTITY DEFAULT): Debezium's placeholder per type.
  ChangeEvent u = BaseEvent(t, Op::kUpdate);
  u.after = Row(t->columns.size(), Value::UnchangedToast());
  (*u.after)[0] = Value::Text("1");
  CheckGolden("specjalne_nulls_toast_payload", EncodeOne(enc, c) + EncodeOne(enc, u));
}

// Temporal columns at each precision (issue 17). Where Debezium's expectations come from (2.5, defaults):
//  [A] time.precision.mode=adaptive: JdbcValueConverters.schemaBuilder/converter (debezium-core,
//      io/debezium/jdbc/JdbcValueConverters.java), Types.TIME / Types.TIMESTAMP: getTimePrecision(column) <= 3
//      -> io.debezium.time.Time (int32 ms of day) / io.debezium.time.Timestamp (int64 epoch ms); <= 6 ->
//      MicroTime / MicroTimestamp. The PostgreSQL connector's getTimePrecision is column.scale()
//      (PostgresValueConverter.java), and the scale is pgjdbc's TypeInfoCache.getScale(oid, atttypmod): the
//      typmod, 6 without one (pgoutput: connection/pgoutput/ColumnMetaData.java). The docs' table says the same:
//      https://debezium.io/documentation/reference/2.5/connectors/postgresql.html#postgresql-temporal-types
//      ("TIME(1), TIME(2), TIME(3) INT32 io.debezium.time.Time", "TIMESTAMP(1), TIMESTAMP(2), TIMESTAMP(3) INT64
//      io.debezium.time.Timestamp", "TIME(4..6) ... MicroTime", "TIMESTAMP(4..6) ... MicroTimestamp").
//  [B] Values: io.debezium.time.Timestamp.toEpochMillis (LocalDateTime at UTC -> Instant.toEpochMilli),
//      io.debezium.time.Time.toMilliOfDay (24:00:00 arrives as a Duration: 86400000 ms).
std::shared_ptr<const TableSchema> Czasy() {
  auto t = std::make_shared<TableSchema>();
  t->relation_id = 16700;
  t->schema = "public";
  t->table = "czasy";
  t->columns = {
      {"id", 20, -1, true, false},   {"ts0", 1114, 0, false, true}, {"ts3", 1114, 3, false, true},
      {"ts4", 1114, 4, false, true}, {"ts", 1114, -1, false, true}, {"t0", 1083, 0, false, true},
      {"t3", 1083, 3, false, true},  {"t6", 1083, 6, false, true},  {"t", 1083, -1, false, true},
      {"tz", 1184, -1, false, true}, {"tz3", 1184, 3, false, true}, {"tz0", 1184, 0, false, true},
      {"ats3", 1115, 3, false, true}, {"atz", 1185, -1, false, true}, {"ttz", 1266, -1, false, true},
  };
  return t;
}

Row CzasyRow() {
  auto T = [](const char* s) { return Value::Text(s); };
  return {T("1"),
          T("2024-01-02 03:04:05"),
          T("1969-12-31 23:59:59.999"),
          T("2024-01-02 03:04:05.1235"),
          T("2024-01-02 03:04:05.123456"),
          T("03:04:05"),
          T("24:00:00"),
          T("03:04:05.123456"),
          T("23:59:59.5"),
          T("2024-01-02 04:04:30+01"),
          T("2024-01-02 04:04:30.1+01"),
          T("2024-01-02 04:04:30+01"),
          T(R"({"2024-01-02 03:04:05.123",NULL})"),
          T(R"({"2024-01-02 04:04:05.5+01","2024-01-02 04:04:05+01"})"),
          T("03:04:05.5+02")};
}

TEST(DebeziumEncoderGolden, TemporalPrecisions) {
  for (bool schemas : {true, false}) {
    DebeziumEncoder enc(Opts(schemas));
    ChangeEvent e = BaseEvent(Czasy(), Op::kCreate);
    e.after = CzasyRow();
    CheckGolden(std::string("czasy_create") + (schemas ? "_schema" : "_payload"), EncodeOne(enc, e));
  }
}

// time.precision.mode's other values on the same table (issue 17, item 4): one golden per value.
//  [C] adaptive_time_microseconds: JdbcValueConverters.schemaBuilder, Types.TIME with
//      adaptiveTimeMicrosecondsPrecisionMode -> MicroTime whatever the precision; dates and timestamps as adaptive.
//      Docs: https://debezium.io/documentation/reference/2.5/connectors/postgresql.html#postgresql-time-types
//      ("time.precision.mode=adaptive_time_microseconds ... TIME ... INT64 io.debezium.time.MicroTime").
//  [D] connect: neither adaptive flag -> Types.DATE org.apache.kafka.connect.data.Date (int32 days), Types.TIME
//      org.apache.kafka.connect.data.Time (int32 ms of day), Types.TIMESTAMP org.apache.kafka.connect.data.Timestamp
//      (int64 epoch ms): JdbcValueConverters.convertDateToEpochDaysAsDate / convertTimeToMillisPastMidnightAsDate /
//      convertTimestampToEpochMillisAsDate; digits below the millisecond are dropped (the docs' table "Mapping
//      when time.precision.mode is connect"). timestamptz/timetz stay ZonedTimestamp/ZonedTime in every mode
//      (PostgresValueConverter handles TIMESTAMP_WITH_TIMEZONE / TIME_WITH_TIMEZONE itself).
TEST(DebeziumEncoderGolden, TimePrecisionModes) {
  for (auto [mode, name] : {std::pair{TimePrecisionMode::kAdaptiveTimeMicroseconds, "adaptive_time_microseconds"},
                            std::pair{TimePrecisionMode::kConnect, "connect"}}) {
    EncoderOptions o = Opts(true);
    o.time_precision = mode;
    DebeziumEncoder enc(o);
    ChangeEvent e = BaseEvent(Czasy(), Op::kCreate);
    e.after = CzasyRow();
    CheckGolden(std::string("czasy_") + name + "_schema", EncodeOne(enc, e));
  }
}

TEST(DebeziumEncoderTest, TimePrecisionModesPickTypes) {
  auto t = std::make_shared<TableSchema>();
  t->relation_id = 1;
  t->schema = "public";
  t->table = "m";
  t->columns = {{"d", 1082, -1, false, true}, {"t3", 1083, 3, false, true}, {"t", 1083, -1, false, true},
                {"ts", 1114, -1, false, true}, {"ts3", 1114, 3, false, true}};
  ChangeEvent e = BaseEvent(t, Op::kCreate);
  e.after = Row{Value::Text("1970-01-02"), Value::Text("00:00:01.5"), Value::Text("00:00:01.123456"),
                Value::Text("1970-01-01 00:00:01.123456"), Value::Text("1970-01-01 00:00:01.5")};
  struct Expect {
    TimePrecisionMode mode;
    std::vector<std::string> names;
    std::string after;
  };
  for (const Expect& x : {
           Expect{TimePrecisionMode::kAdaptive,
                  {"io.debezium.time.Date", "io.debezium.time.Time", "io.debezium.time.MicroTime",
                   "io.debezium.time.MicroTimestamp", "io.debezium.time.Timestamp"},
                  R"({"d":1,"t3":1500,"t":1123456,"ts":1123456,"ts3":1500})"},
           Expect{TimePrecisionMode::kAdaptiveTimeMicroseconds,
                  {"io.debezium.time.Date", "io.debezium.time.MicroTime", "io.debezium.time.MicroTime",
                   "io.debezium.time.MicroTimestamp", "io.debezium.time.Timestamp"},
                  R"({"d":1,"t3":1500000,"t":1123456,"ts":1123456,"ts3":1500})"},
           Expect{TimePrecisionMode::kConnect,
                  {"org.apache.kafka.connect.data.Date", "org.apache.kafka.connect.data.Time",
                   "org.apache.kafka.connect.data.Time", "org.apache.kafka.connect.data.Timestamp",
                   "org.apache.kafka.connect.data.Timestamp"},
                  R"({"d":1,"t3":1500,"t":1123,"ts":1123,"ts3":1500})"},
       }) {
    EncoderOptions o = Opts(true);
    o.time_precision = x.mode;
    DebeziumEncoder enc(o);
    std::vector<EncodedRecord> out;
    ASSERT_TRUE(enc.Encode(e, kNowMs, &out).ok());
    auto v = nlohmann::json::parse(*out[0].value);
    for (size_t i = 0; i < x.names.size(); ++i) {
      EXPECT_EQ(v["schema"]["fields"][1]["fields"][i]["name"], x.names[i]) << i;
    }
    EXPECT_EQ(v["payload"]["after"], nlohmann::json::parse(x.after));
  }
}

// binary.handling.mode (issue 17, item 4): bytea, bytea[] and an unchanged TOASTed bytea in each mode.
//  [E] JdbcValueConverters.convertBinary: BYTES -> bytes (JsonConverter: base64), BASE64 ->
//      Base64.getEncoder(), BASE64_URL_SAFE -> Base64.getUrlEncoder() (padded), HEX -> io.debezium.util.HexConverter
//      (lowercase); JdbcValueConverters.binaryMode schema: string for every mode but bytes. The docs:
//      https://debezium.io/documentation/reference/2.5/connectors/postgresql.html#postgresql-binary-types
//      ("binary.handling.mode ... bytes, base64, base64-url-encoded, hex"). The TOAST placeholder's bytes go
//      through the same converter (UnchangedToastedPlaceholder's byte[] placeholder).
TEST(DebeziumEncoderGolden, BinaryHandlingModes) {
  auto t = std::make_shared<TableSchema>();
  t->relation_id = 16800;
  t->schema = "public";
  t->table = "binarne";
  t->columns = {{"id", 23, -1, true, false}, {"b", 17, -1, false, true}, {"ab", 1001, -1, false, true},
                {"big", 17, -1, false, true}};
  for (auto [mode, name] : {std::pair{BinaryMode::kBytes, "bytes"}, std::pair{BinaryMode::kBase64, "base64"},
                            std::pair{BinaryMode::kBase64Url, "base64-url-encoded"}, std::pair{BinaryMode::kHex, "hex"}}) {
    EncoderOptions o = Opts(true);
    o.binary_mode = mode;
    DebeziumEncoder enc(o);
    ChangeEvent e = BaseEvent(t, Op::kCreate);
    // 0xfb 0xff 0xbf: '+' and '/' in standard base64 ("+/+/"), '-' and '_' URL-safe.
    e.after = Row{Value::Text("1"), Value::Text("\\xfbffbffbffbf"), Value::Text(R"({"\\x00ff",NULL})"),
                  Value::UnchangedToast()};
    CheckGolden(std::string("binarne_") + name + "_schema", EncodeOne(enc, e));
  }
}

TEST(DebeziumEncoderTest, BinaryHandlingModesWriteStringsOrBytes) {
  auto t = std::make_shared<TableSchema>();
  t->relation_id = 1;
  t->schema = "public";
  t->table = "b";
  t->columns = {{"b", 17, -1, false, true}};
  ChangeEvent e = BaseEvent(t, Op::kCreate);
  e.after = Row{Value::Text("\\xfbffbf00")};
  for (auto [mode, type, value] : {std::tuple{BinaryMode::kBytes, "bytes", "+/+/AA=="},
                                   std::tuple{BinaryMode::kBase64, "string", "+/+/AA=="},
                                   std::tuple{BinaryMode::kBase64Url, "string", "-_-_AA=="},
                                   std::tuple{BinaryMode::kHex, "string", "fbffbf00"}}) {
    EncoderOptions o = Opts(true);
    o.binary_mode = mode;
    DebeziumEncoder enc(o);
    std::vector<EncodedRecord> out;
    ASSERT_TRUE(enc.Encode(e, kNowMs, &out).ok());
    auto v = nlohmann::json::parse(*out[0].value);
    EXPECT_EQ(v["schema"]["fields"][1]["fields"][0]["type"], type);
    EXPECT_EQ(v["payload"]["after"]["b"], value);
  }
}

// skipped.operations (issue 17, item 3): the skipped ops write nothing (a skipped delete no tombstone either);
// reads cannot be skipped. Debezium: CommonConnectorConfig.SKIPPED_OPERATIONS ("none" or c,u,d,t; its
// default "t"), EventDispatcher / RelationalChangeRecordEmitter skip the operation before anything is sent.
TEST(DebeziumEncoderTest, SkippedOperationsWriteNothing) {
  auto t = Klienci();
  auto count = [&](const char* skipped, Op op) {
    auto ops = ParseSkippedOperations(skipped);
    EXPECT_TRUE(ops.ok()) << ops.status().ToString();
    EncoderOptions o = Opts(false);
    o.skipped_ops = *ops;
    DebeziumEncoder enc(o);
    ChangeEvent e = BaseEvent(t, op);
    if (op == Op::kDelete) e.before = KlientRow("1", "x", nullptr);
    else if (op != Op::kTruncate) e.after = KlientRow("1", "x", nullptr);
    std::vector<EncodedRecord> out;
    EXPECT_TRUE(enc.Encode(e, kNowMs, &out).ok());
    return out.size();
  };
  EXPECT_EQ(count("none", Op::kTruncate), 1u);
  EXPECT_EQ(count("t", Op::kTruncate), 0u);
  EXPECT_EQ(count("t", Op::kCreate), 1u);
  EXPECT_EQ(count("c,u", Op::kCreate), 0u);
  EXPECT_EQ(count("c, u", Op::kUpdate), 0u);
  EXPECT_EQ(count("c,u", Op::kDelete), 2u);  // delete + tombstone
  EXPECT_EQ(count("d", Op::kDelete), 0u);
  EXPECT_EQ(count("c,u,d,t", Op::kRead), 1u);
  EXPECT_EQ(count("", Op::kTruncate), 1u);
}

TEST(DebeziumEncoderTest, UnknownSwitchValuesListWhatIsAllowed) {
  auto s = ParseSkippedOperations("c,x");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("'x'"), std::string::npos) << s.status().ToString();
  EXPECT_NE(s.status().message().find("none, or any of c, u, d, t"), std::string::npos);
  EXPECT_FALSE(ParseSkippedOperations("r").ok());
  auto tp = ParseTimePrecisionMode("micro");
  ASSERT_FALSE(tp.ok());
  EXPECT_NE(tp.status().message().find("adaptive, adaptive_time_microseconds or connect"), std::string::npos);
  auto b = ParseBinaryMode("base32");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.status().message().find("bytes, base64, base64-url-encoded or hex"), std::string::npos);
  EXPECT_EQ(*ParseBinaryMode("base64-url-encoded"), BinaryMode::kBase64Url);
  EXPECT_EQ(*ParseTimePrecisionMode("connect"), TimePrecisionMode::kConnect);
}

// interval.handling.mode: numeric writes MicroDuration (Debezium's default), string writes io.debezium.time.Interval
// (debezium-core io/debezium/time/Interval.java: a string schema, version 1, the ISO text of toIsoString).
TEST(DebeziumEncoderTest, IntervalHandlingModes) {
  auto t = std::make_shared<TableSchema>();
  t->schema = "public";
  t->table = "okresy";
  t->columns = {{"id", 23, -1, true, false}, {"d", 1186, -1, false, true}};
  for (const char* mode : {"numeric", "string"}) {
    EncoderOptions o;
    o.interval_mode = *ParseIntervalMode(mode);
    DebeziumEncoder enc(o);
    ChangeEvent e = BaseEvent(t, Op::kCreate);
    e.after = Row{Value::Text("1"), Value::Text("1 year 2 mons 3 days 04:05:06.78")};
    std::vector<EncodedRecord> out;
    ASSERT_TRUE(enc.Encode(e, kNowMs, &out).ok());
    auto v = nlohmann::json::parse(*out[0].value);
    const auto& field = v["schema"]["fields"][1]["fields"][1];
    if (std::string(mode) == "numeric") {
      EXPECT_EQ(field, nlohmann::json::parse(R"({"type":"int64","optional":true,"name":"io.debezium.time.MicroDuration","version":1,"field":"d"})"));
      EXPECT_EQ(v["payload"]["after"]["d"], 37091106780000);
    } else {
      EXPECT_EQ(field, nlohmann::json::parse(R"({"type":"string","optional":true,"name":"io.debezium.time.Interval","version":1,"field":"d"})"));
      EXPECT_EQ(v["payload"]["after"]["d"], "P1Y2M3DT4H5M6.78S");
    }
  }
  auto bad = ParseIntervalMode("iso");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("numeric or string"), std::string::npos);
}

// column.include.list / column.exclude.list (regular expressions over schema.table.column, whole name, any case:
// Debezium's Predicates with Pattern.CASE_INSENSITIVE and Matcher.matches()) and message.key.columns
// ("schema.table:col,..."; a key for a table without a primary key, or another key for one with it).
TEST(DebeziumEncoderTest, ColumnListsAndMessageKeyColumns) {
  auto encode = [](const char* include, const char* exclude, const char* keys, Op op = Op::kCreate) {
    auto sel = ColumnSelection::Parse(include, exclude, keys);
    EXPECT_TRUE(sel.ok()) << sel.status().ToString();
    EncoderOptions o;
    o.columns = *sel;
    DebeziumEncoder enc(o);
    ChangeEvent e = BaseEvent(Klienci(), op);
    (op == Op::kDelete ? e.before : e.after) = KlientRow("1", "Ala", "a@x.pl");
    std::vector<EncodedRecord> out;
    Status s = enc.Encode(e, kNowMs, &out);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
  };
  auto after_fields = [](const EncodedRecord& r) {
    auto v = nlohmann::json::parse(*r.value);
    std::string names;
    for (const auto& f : v["schema"]["fields"][1]["fields"]) names += f["field"].get<std::string>() + ",";
    EXPECT_EQ(v["payload"]["after"].size(), v["schema"]["fields"][1]["fields"].size());
    return names;
  };
  EXPECT_EQ(after_fields(encode("", "", "")[0]), "id,nazwa,email,kraj,telefon,");
  EXPECT_EQ(after_fields(encode("", "public\\.klienci\\.(email|telefon)", "")[0]), "id,nazwa,kraj,");
  EXPECT_EQ(after_fields(encode("", "PUBLIC.KLIENCI.EMAIL", "")[0]), "id,nazwa,kraj,telefon,");  // any case
  EXPECT_EQ(after_fields(encode("", "email", "")[0]), "id,nazwa,email,kraj,telefon,");  // whole name only
  EXPECT_EQ(after_fields(encode("public.klienci.id, public.klienci.nazwa", "", "")[0]), "id,nazwa,");
  // The primary key stays the key whatever the value carries.
  EXPECT_EQ(nlohmann::json::parse(*encode("public.klienci.nazwa", "", "")[0].key)["payload"],
            nlohmann::json::parse(R"({"id":1})"));
  // message.key.columns: the named columns, in that order, with their nullability in the key schema.
  auto rec = encode("", "", "other.t:x;public\\.klienci:email,nazwa")[0];
  auto key = nlohmann::json::parse(*rec.key);
  EXPECT_EQ(key["payload"], nlohmann::json::parse(R"({"email":"a@x.pl","nazwa":"Ala"})"));
  EXPECT_EQ(key["schema"]["fields"], nlohmann::json::parse(
      R"([{"type":"string","optional":true,"field":"email"},{"type":"string","optional":false,"field":"nazwa"}])"));
  // A delete keyed by message.key.columns is followed by a tombstone with that key.
  auto del = encode("", "", "public.klienci:nazwa", Op::kDelete);
  ASSERT_EQ(del.size(), 2u);
  EXPECT_EQ(*del[0].key, *del[1].key);
  EXPECT_FALSE(del[1].value.has_value());

  // A table without a primary key gets a key (and its deletes tombstones).
  auto t = std::make_shared<TableSchema>();
  t->schema = "public";
  t->table = "logi";
  t->columns = {{"msg", 25, -1, false, true}, {"n", 23, -1, false, true}};
  auto sel = ColumnSelection::Parse("", "", "public.logi:n");
  ASSERT_TRUE(sel.ok());
  EncoderOptions o;
  o.schemas = false;
  o.columns = *sel;
  DebeziumEncoder enc(o);
  ChangeEvent e = BaseEvent(t, Op::kCreate);
  e.after = Row{Value::Text("hi"), Value::Text("7")};
  std::vector<EncodedRecord> out;
  ASSERT_TRUE(enc.Encode(e, kNowMs, &out).ok());
  ASSERT_TRUE(out[0].key.has_value());
  EXPECT_EQ(*out[0].key, R"({"n":7})");
  // A key column the table does not have: the event fails, naming table and column.
  auto missing = ColumnSelection::Parse("", "", "public.logi:nope");
  ASSERT_TRUE(missing.ok());
  o.columns = *missing;
  DebeziumEncoder enc2(o);
  out.clear();
  Status st = enc2.Encode(e, kNowMs, &out);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("nope"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("public.logi"), std::string::npos) << st.ToString();
}

TEST(DebeziumEncoderTest, BadColumnListsSayWhatIsWrong) {
  auto both = ColumnSelection::Parse("a.b.c", "a.b.d", "");
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.status().message().find("cannot both be set"), std::string::npos);
  auto regex = ColumnSelection::Parse("public.t.(a", "", "");
  ASSERT_FALSE(regex.ok());
  EXPECT_NE(regex.status().message().find("column.include.list: 'public.t.(a' is not a valid regular expression"),
            std::string::npos)
      << regex.status().ToString();
  for (const char* keys : {"public.t", "public.t:", ":a"}) {
    auto k = ColumnSelection::Parse("", "", keys);
    ASSERT_FALSE(k.ok()) << keys;
    EXPECT_NE(k.status().message().find("<schema.table>:<column>"), std::string::npos) << k.status().ToString();
  }
}

// provide.transaction.metadata: a BEGIN record before a transaction's first event and an END record with the event
// counts at its commit, on <prefix>.transaction. Sources: debezium-core SchemaFactory.transactionKeySchema /
// transactionValueSchema (key io.debezium.connector.common.TransactionMetadataKey {id}; value ...TransactionMetadataValue
// {status, id, event_count optional, data_collections optional array of event.collection {data_collection,
// event_count}, ts_ms}), TransactionMonitor / AbstractTransactionStructMaker (BEGIN: event_count and
// data_collections null; END: the totals; ts_ms the event's timestamp, the commit time), and the connector docs'
// "Transaction metadata" example.
TEST(DebeziumEncoderTest, TransactionTopicBeginAndEnd) {
  auto klienci = Klienci();
  auto inne = std::make_shared<TableSchema>(*Klienci());
  inne->table = "inne";
  EncoderOptions o;
  o.transaction_metadata = true;
  DebeziumEncoder enc(o);
  std::vector<EncodedRecord> out;
  ChangeEvent a = BaseEvent(klienci, Op::kCreate);
  a.after = KlientRow("1", "Ala", nullptr);
  ChangeEvent b = BaseEvent(inne, Op::kCreate);
  b.after = KlientRow("2", "Ola", nullptr);
  b.order_in_tx = 2;
  ChangeEvent c = BaseEvent(klienci, Op::kUpdate);
  c.after = KlientRow("1", "Ala2", nullptr);
  c.order_in_tx = 3;
  for (const auto* e : {&a, &b, &c}) ASSERT_TRUE(enc.Encode(*e, kNowMs, &out).ok());
  enc.EndTransaction(kNowMs, &out);
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[0].topic, "dbserver1.transaction");
  EXPECT_EQ(out[1].topic, "dbserver1.public.klienci");
  EXPECT_EQ(out[4].topic, "dbserver1.transaction");
  auto key = nlohmann::json::parse(*out[0].key);
  EXPECT_EQ(key["payload"], nlohmann::json::parse(R"({"id":"771:439041280"})"));
  EXPECT_EQ(key["schema"]["name"], "io.debezium.connector.common.TransactionMetadataKey");
  EXPECT_EQ(*out[4].key, *out[0].key);
  auto begin = nlohmann::json::parse(*out[0].value);
  EXPECT_EQ(begin["payload"], nlohmann::json::parse(
      R"({"status":"BEGIN","id":"771:439041280","event_count":null,"data_collections":null,"ts_ms":1704164645123})"));
  EXPECT_EQ(begin["schema"]["name"], "io.debezium.connector.common.TransactionMetadataValue");
  std::string fields;
  for (const auto& f : begin["schema"]["fields"]) fields += f["field"].get<std::string>() + (f["optional"].get<bool>() ? "?," : ",");
  EXPECT_EQ(fields, "status,id,event_count?,data_collections?,ts_ms,");
  auto end = nlohmann::json::parse(*out[4].value);
  EXPECT_EQ(end["payload"], nlohmann::json::parse(
      R"({"status":"END","id":"771:439041280","event_count":3,"data_collections":[)"
      R"({"data_collection":"public.klienci","event_count":2},{"data_collection":"public.inne","event_count":1}],)"
      R"("ts_ms":1704164645123})"));
  // The events' own transaction blocks carry the same id.
  EXPECT_EQ(nlohmann::json::parse(*out[3].value)["payload"]["transaction"]["id"], "771:439041280");
  // No second END; nothing for a transaction without written events, nor with the option off.
  out.clear();
  enc.EndTransaction(kNowMs, &out);
  EXPECT_TRUE(out.empty());
  DebeziumEncoder off(Opts(true));
  ASSERT_TRUE(off.Encode(a, kNowMs, &out).ok());
  off.EndTransaction(kNowMs, &out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].topic, "dbserver1.public.klienci");
}

// Arrays of extension types (issue 17, item 5): citext[] and ltree[] are arrays of strings, as Debezium's
// PostgresValueConverter maps the TypeRegistry's citext/ltree array oids (SchemaBuilder.array(OPTIONAL_STRING_SCHEMA));
// an array of another extension type (hstore[]) stays its PostgreSQL text.
TEST(DebeziumEncoderTest, CitextArraysAreArraysOfStrings) {
  auto t = std::make_shared<TableSchema>();
  t->relation_id = 1;
  t->schema = "public";
  t->table = "ext";
  t->columns = {{"ci", 16385, -1, false, true}, {"h", 16390, -1, false, true}};
  t->columns[0].type_name = "public._citext";
  t->columns[0].user_type = UserType{UserType::Kind::kOther, true, 0, -1, ""};
  t->columns[1].type_name = "public._hstore";
  t->columns[1].user_type = UserType{UserType::Kind::kOther, true, 0, -1, ""};
  ChangeEvent e = BaseEvent(t, Op::kCreate);
  e.after = Row{Value::Text(R"({Abc,"x y",NULL})"), Value::Text(R"({"\"a\"=>\"1\""})")};
  DebeziumEncoder enc(Opts(true));
  std::vector<EncodedRecord> out;
  ASSERT_TRUE(enc.Encode(e, kNowMs, &out).ok());
  auto v = nlohmann::json::parse(*out[0].value);
  EXPECT_EQ(v["schema"]["fields"][1]["fields"][0],
            nlohmann::json::parse(R"({"type":"array","items":{"type":"string","optional":true},"optional":true,"field":"ci"})"));
  EXPECT_EQ(v["payload"]["after"]["ci"], nlohmann::json::parse(R"(["Abc","x y",null])"));
  EXPECT_EQ(v["schema"]["fields"][1]["fields"][1]["type"], "string");
  EXPECT_TRUE(v["payload"]["after"]["h"].is_string());
}

TEST(DebeziumEncoderTest, AdaptiveTimePrecisionPicksTypeByTypmod) {
  DebeziumEncoder enc(Opts(true));
  ChangeEvent e = BaseEvent(Czasy(), Op::kCreate);
  e.after = CzasyRow();
  std::vector<EncodedRecord> recs;
  ASSERT_TRUE(enc.Encode(e, kNowMs, &recs).ok());
  auto v = nlohmann::json::parse(*recs[0].value);
  std::map<std::string, nlohmann::json> schema;
  for (const auto& f : v["schema"]["fields"][1]["fields"]) schema[f["field"]] = f;
  auto named = [](const char* type, const char* name, const char* field) {
    return nlohmann::json{{"type", type}, {"optional", true}, {"name", name}, {"version", 1}, {"field", field}};
  };
  // [A]: precision <= 3 -> milliseconds, else microseconds; no typmod = precision 6.
  EXPECT_EQ(schema["ts0"], named("int64", "io.debezium.time.Timestamp", "ts0"));
  EXPECT_EQ(schema["ts3"], named("int64", "io.debezium.time.Timestamp", "ts3"));
  EXPECT_EQ(schema["ts4"], named("int64", "io.debezium.time.MicroTimestamp", "ts4"));
  EXPECT_EQ(schema["ts"], named("int64", "io.debezium.time.MicroTimestamp", "ts"));
  EXPECT_EQ(schema["t0"], named("int32", "io.debezium.time.Time", "t0"));
  EXPECT_EQ(schema["t3"], named("int32", "io.debezium.time.Time", "t3"));
  EXPECT_EQ(schema["t6"], named("int64", "io.debezium.time.MicroTime", "t6"));
  EXPECT_EQ(schema["t"], named("int64", "io.debezium.time.MicroTime", "t"));
  // TIMESTAMP_ARRAY: SchemaBuilder.array(<element schema by getTimePrecision(column)>) (PostgresValueConverter).
  EXPECT_EQ(schema["ats3"]["items"]["name"], "io.debezium.time.Timestamp");
  // timestamptz/timetz are ZonedTimestamp/ZonedTime whatever the precision.
  EXPECT_EQ(schema["tz3"]["name"], "io.debezium.time.ZonedTimestamp");
  EXPECT_EQ(schema["ttz"]["name"], "io.debezium.time.ZonedTime");

  const auto& a = v["payload"]["after"];
  EXPECT_EQ(a["ts0"], 1704164645000LL);        // [B] epoch ms
  EXPECT_EQ(a["ts3"], -1);                     // [B] 1 ms before the epoch
  EXPECT_EQ(a["ts4"], 1704164645123500LL);     // epoch micros, as before
  EXPECT_EQ(a["ts"], 1704164645123456LL);
  EXPECT_EQ(a["t0"], 11045000);                // [B] ms of day
  EXPECT_EQ(a["t3"], 86400000);                // [B] 24:00:00
  EXPECT_EQ(a["t6"], 11045123456LL);
  EXPECT_EQ(a["t"], 86399500000LL);
  EXPECT_EQ(a["ats3"], nlohmann::json::parse("[1704164645123,null]"));
}

// [D] timestamp +-infinity: Debezium converts 'infinity' to Conversions.toInstantFromMicros(pgjdbc's
// PGStatement.DATE_POSITIVE_INFINITY = 9223372036825200000) (PostgresValueConverter.POSITIVE_INFINITY_INSTANT,
// POSITIVE_INFINITY_LOCAL_DATE_TIME), '-infinity' likewise from DATE_NEGATIVE_INFINITY = -9223372036832400000;
// MicroTimestamp is that instant in microseconds, Timestamp in milliseconds. timestamptz keeps the strings
// "infinity"/"-infinity" (convertTimestampWithZone returns POSITIVE/NEGATIVE_INFINITY_TIMESTAMP_PG_STRING).
TEST(DebeziumEncoderTest, TimestampInfinityIsPgjdbcConstant) {
  DebeziumEncoder enc(Opts(false));
  ChangeEvent e = BaseEvent(Czasy(), Op::kCreate);
  Row row = CzasyRow();
  row[1] = Value::Text("infinity");   // ts0: Timestamp (ms)
  row[2] = Value::Text("-infinity");  // ts3: Timestamp (ms)
  row[3] = Value::Text("-infinity");  // ts4: MicroTimestamp
  row[4] = Value::Text("infinity");   // ts: MicroTimestamp
  row[9] = Value::Text("infinity");   // tz
  row[10] = Value::Text("-infinity");  // tz3
  row[12] = Value::Text("{infinity,-infinity}");  // ats3
  e.after = row;
  std::vector<EncodedRecord> recs;
  ASSERT_TRUE(enc.Encode(e, kNowMs, &recs).ok());
  const auto a = nlohmann::json::parse(*recs[0].value)["after"];
  EXPECT_EQ(a["ts0"], 9223372036825200LL);
  EXPECT_EQ(a["ts3"], -9223372036832400LL);
  EXPECT_EQ(a["ts4"], -9223372036832400000LL);
  EXPECT_EQ(a["ts"], 9223372036825200000LL);
  EXPECT_EQ(a["tz"], "infinity");
  EXPECT_EQ(a["tz3"], "-infinity");
  EXPECT_EQ(a["ats3"], nlohmann::json::parse("[9223372036825200,-9223372036832400]"));
}

// numeric special values with decimal.handling.mode=string: PostgresValueConverter.convertDecimal ->
// SpecialValueDecimal.fromLogical(value, STRING, ..) -> SpecialValueDecimal.toString(), the SpecialValue enum's
// name: NAN, POSITIVE_INFINITY, NEGATIVE_INFINITY (debezium-core io/debezium/data/SpecialValueDecimal.java).
// PostgreSQL 14+ has numeric 'Infinity'; the text output is "Infinity" / "-Infinity".
TEST(DebeziumEncoderTest, NumericSpecialValuesAsDebeziumStrings) {
  DebeziumEncoder enc(Opts(false, DecimalMode::kString));
  auto t = Typy();
  struct Case {
    const char* text;
    const char* want;
  };
  for (const Case& c : {Case{"NaN", "NAN"}, Case{"Infinity", "POSITIVE_INFINITY"},
                        Case{"-Infinity", "NEGATIVE_INFINITY"}, Case{"-12.30", "-12.30"}}) {
    ChangeEvent e = BaseEvent(t, Op::kCreate);
    Row row = TypyRow();
    row[9] = Value::Text(c.text);   // n: numeric
    row[10] = Value::Text(c.text);  // n102: numeric(10,2)
    e.after = row;
    std::vector<EncodedRecord> recs;
    ASSERT_TRUE(enc.Encode(e, kNowMs, &recs).ok()) << c.text;
    const auto a = nlohmann::json::parse(*recs[0].value)["after"];
    EXPECT_EQ(a["n"], c.want) << c.text;
    EXPECT_EQ(a["n102"], c.want) << c.text;
  }
}

// bit, varbit and point (issue 17). Debezium 2.5's PostgreSQL connector (PostgresValueConverter.java):
//  - schema: BIT/VARBIT -> column.length() > 1 ? io.debezium.data.Bits.builder(length) : boolean; the length is
//    pgjdbc's TypeInfoCache.getPrecision: the typmod, Integer.MAX_VALUE for a varbit without one (docs: "2^31 - 1
//    in case no length is given"); Bits.builder: bytes, name io.debezium.data.Bits, parameter "length", version 1.
//  - bit(1)/varbit(1) value: convertBit -> Integer.valueOf(text, 2) != 0.
//  - Bits value: convertBits(.., String): bit i counted from the right goes into a BitSet, and
//    JdbcValueConverters.convertBits delivers BitSet.toByteArray() padded to ceil(bitset.length() / 8) bytes, i.e.
//    little-endian and only as long as the highest set bit needs ("000" -> no bytes).
//  - point: Point.builder() (io/debezium/data/geometry/Point.java): struct {x: double, y: double, wkb: optional
//    bytes, srid: optional int32}, doc "Geometry (POINT)"; Point.createValue(schema, x, y) sets wkb to
//    buildWKBPoint(x, y) (0x01, then int32 1, x, y little-endian) and leaves srid null. Docs example:
//    https://debezium.io/documentation/reference/2.5/connectors/postgresql.html#postgresql-geometry-types
std::shared_ptr<const TableSchema> Bity() {
  auto t = std::make_shared<TableSchema>();
  t->relation_id = 16800;
  t->schema = "public";
  t->table = "bity";
  t->columns = {
      {"id", 20, -1, true, false},   {"b1", 1560, 1, false, true},   {"b3", 1560, 3, false, true},
      {"b10", 1560, 10, false, true}, {"vb", 1562, -1, false, true},  {"vb1", 1562, 1, false, true},
      {"vb8", 1562, 8, false, true},  {"p", 600, -1, false, true},
  };
  return t;
}

TEST(DebeziumEncoderGolden, BitsAndPoint) {
  for (bool schemas : {true, false}) {
    DebeziumEncoder enc(Opts(schemas));
    ChangeEvent e = BaseEvent(Bity(), Op::kCreate);
    auto T = [](const char* s) { return Value::Text(s); };
    e.after = Row{T("1"), T("1"), T("011"), T("1000000001"), T("000"), T("0"), T("1"), T("(1.5,-2)")};
    CheckGolden(std::string("bity_create") + (schemas ? "_schema" : "_payload"), EncodeOne(enc, e));
  }
}

TEST(DebeziumEncoderTest, BitsAndPointHaveDebeziumShapes) {
  DebeziumEncoder enc(Opts(true));
  ChangeEvent e = BaseEvent(Bity(), Op::kCreate);
  auto T = [](const char* s) { return Value::Text(s); };
  e.after = Row{T("1"), T("0"), T("011"), T("1000000001"), T("000"), T("1"), T("1"), T("(1,1)")};
  std::vector<EncodedRecord> recs;
  ASSERT_TRUE(enc.Encode(e, kNowMs, &recs).ok());
  auto v = nlohmann::json::parse(*recs[0].value);
  std::map<std::string, nlohmann::json> schema;
  for (const auto& f : v["schema"]["fields"][1]["fields"]) schema[f["field"]] = f;
  auto bits = [](const char* length, const char* field) {
    return nlohmann::json{{"type", "bytes"},   {"optional", true}, {"name", "io.debezium.data.Bits"},
                          {"version", 1},       {"parameters", {{"length", length}}}, {"field", field}};
  };
  EXPECT_EQ(schema["b1"], nlohmann::json::parse(R"({"type":"boolean","optional":true,"field":"b1"})"));
  EXPECT_EQ(schema["vb1"], nlohmann::json::parse(R"({"type":"boolean","optional":true,"field":"vb1"})"));
  EXPECT_EQ(schema["b3"], bits("3", "b3"));
  EXPECT_EQ(schema["b10"], bits("10", "b10"));
  EXPECT_EQ(schema["vb"], bits("2147483647", "vb"));
  EXPECT_EQ(schema["p"]["type"], "struct");
  EXPECT_EQ(schema["p"]["name"], "io.debezium.data.geometry.Point");
  EXPECT_EQ(schema["p"]["doc"], "Geometry (POINT)");
  EXPECT_EQ(schema["p"]["fields"], nlohmann::json::parse(
      R"([{"type":"double","optional":false,"field":"x"},{"type":"double","optional":false,"field":"y"},
          {"type":"bytes","optional":true,"field":"wkb"},{"type":"int32","optional":true,"field":"srid"}])"));

  const auto& a = v["payload"]["after"];
  EXPECT_EQ(a["b1"], false);
  EXPECT_EQ(a["vb1"], true);
  EXPECT_EQ(a["b3"], "Aw==");    // {0x03}
  EXPECT_EQ(a["b10"], "AQI=");   // {0x01, 0x02}: bit 0 and bit 9, little-endian
  EXPECT_EQ(a["vb"], "");        // no bit set: BitSet.toByteArray() is empty
  EXPECT_EQ(a["vb8"], "AQ==");   // {0x01}
  // Debezium's own test expectation for '(1,1)'::point: Point.createValue(schema, 1, 1)
  // (AbstractRecordsProducerTest.schemaAndValuesForGeomTypes); its WKB is 01 01000000 <1.0 LE> <1.0 LE>.
  EXPECT_EQ(a["p"]["x"], 1.0);
  EXPECT_EQ(a["p"]["y"], 1.0);
  EXPECT_EQ(a["p"]["wkb"], "AQEAAAAAAAAAAADwPwAAAAAAAPA/");
  EXPECT_TRUE(a["p"]["srid"].is_null());
}

TEST(DebeziumEncoderTest, BadBitAndPointNameTheValue) {
  DebeziumEncoder enc(Opts(false));
  for (const auto& [column, text] : std::vector<std::pair<size_t, const char*>>{
           {2, "012"}, {1, "x"}, {7, "(1,2"}, {7, "(1;2)"}, {7, "(a,2)"}}) {
    ChangeEvent e = BaseEvent(Bity(), Op::kCreate);
    Row row(Bity()->columns.size(), Value::Null());
    row[0] = Value::Text("1");
    row[column] = Value::Text(text);
    e.after = row;
    std::vector<EncodedRecord> recs;
    Status s = enc.Encode(e, kNowMs, &recs);
    EXPECT_TRUE(s.IsInvalidArgument()) << text;
    EXPECT_NE(s.message().find(text), std::string::npos) << s.message();
  }
}

// [C] ZonedTimestamp text: PostgresValueConverter.convertTimestampWithZone passes the column's scale (its
// precision, 6 without a typmod) to ZonedTimestamp.toIsoString as the fraction width, which pads to exactly that
// many digits (1..9) and falls back to ISO_OFFSET_DATE_TIME (no fraction for whole seconds) for 0. Array elements
// are converted with an element column carrying the array's scale (PostgresValueConverter.createArrayConverter).
// timetz is not padded: convertTimeWithZone formats with ZonedTime.toIsoString, which takes no width.
TEST(DebeziumEncoderTest, ZonedTimestampFractionPaddedToColumnPrecision) {
  DebeziumEncoder enc(Opts(false));
  ChangeEvent e = BaseEvent(Czasy(), Op::kCreate);
  e.after = CzasyRow();
  std::vector<EncodedRecord> recs;
  ASSERT_TRUE(enc.Encode(e, kNowMs, &recs).ok());
  const auto a = nlohmann::json::parse(*recs[0].value)["after"];
  EXPECT_EQ(a["tz"], "2024-01-02T03:04:30.000000Z");    // timestamptz: 6 digits
  EXPECT_EQ(a["tz3"], "2024-01-02T03:04:30.100Z");      // timestamptz(3)
  EXPECT_EQ(a["tz0"], "2024-01-02T03:04:30Z");          // timestamptz(0)
  EXPECT_EQ(a["atz"], nlohmann::json::parse(R"(["2024-01-02T03:04:05.500000Z","2024-01-02T03:04:05.000000Z"])"));
  EXPECT_EQ(a["ttz"], "01:04:05.5Z");                   // ZonedTime: ISO, not padded
}

TEST(DebeziumEncoderTest, SpecialTypesParseWithNlohmann) {
  DebeziumEncoder enc(Opts(true));
  ChangeEvent e = BaseEvent(Specjalne(), Op::kCreate);
  e.after = SpecjalneRow();
  std::vector<EncodedRecord> recs;
  ASSERT_TRUE(enc.Encode(e, kNowMs, &recs).ok());
  auto v = nlohmann::json::parse(*recs[0].value);
  std::map<std::string, nlohmann::json> schema;
  for (const auto& f : v["schema"]["fields"][1]["fields"]) schema[f["field"]] = f;
  EXPECT_EQ(schema["iv"]["type"], "int64");
  EXPECT_EQ(schema["iv"]["name"], "io.debezium.time.MicroDuration");
  EXPECT_EQ(schema["m"]["name"], "org.apache.kafka.connect.data.Decimal");
  EXPECT_EQ(schema["m"]["parameters"], nlohmann::json::parse(R"({"scale":"2"})"));
  EXPECT_EQ(schema["ai"]["type"], "array");
  EXPECT_EQ(schema["ai"]["items"], nlohmann::json::parse(R"({"type":"int32","optional":true})"));
  EXPECT_EQ(schema["an"]["items"]["parameters"]["scale"], "2");
  EXPECT_EQ(schema["ad"]["items"]["name"], "io.debezium.time.Date");
  EXPECT_EQ(schema["ajb"]["items"]["name"], "io.debezium.data.Json");
  EXPECT_EQ(schema["au"]["items"]["name"], "io.debezium.data.Uuid");
  EXPECT_EQ(schema["aname"]["type"], "string");   // name[]: no Debezium schema, a string as before
  EXPECT_EQ(schema["amoney"]["type"], "string");  // money[]: likewise
  EXPECT_EQ(schema["mood"]["name"], "io.debezium.data.Enum");
  EXPECT_EQ(schema["mood"]["parameters"]["allowed"], "happy,sad,a \"b\"");
  EXPECT_EQ(schema["moods"]["items"]["name"], "io.debezium.data.Enum");
  EXPECT_EQ(schema["moods"]["items"]["optional"], false);
  EXPECT_EQ(schema["price"]["name"], "org.apache.kafka.connect.data.Decimal");
  EXPECT_EQ(schema["price"]["parameters"]["connect.decimal.precision"], "10");
  EXPECT_EQ(schema["positives"]["items"]["type"], "int32");
  EXPECT_EQ(schema["point2"], nlohmann::json::parse(R"({"type":"string","optional":true,"field":"point2"})"));
  EXPECT_EQ(schema["named"]["type"], "string");

  const auto& a = v["payload"]["after"];
  EXPECT_EQ(a["iv"], 37091106780000LL);
  EXPECT_EQ(a["m"], "/h3A");  // -123456 at scale 2
  EXPECT_EQ(a["ai"], nlohmann::json::parse("[1,null,-3]"));
  EXPECT_EQ(a["at"], nlohmann::json::parse(R"(["a b",null,"NULL","","q\"x\\y","zażółć"])"));
  EXPECT_EQ(a["ad"], nlohmann::json::parse("[19782,-165]"));
  EXPECT_EQ(a["ab"], nlohmann::json::parse("[true,false,null]"));
  EXPECT_EQ(a["ajb"], nlohmann::json::parse(R"(["{\"a\": 1}",null])"));
  // timestamptz[] without a typmod: ZonedTimestamp padded to 6 digits, like the column (issue 17).
  EXPECT_EQ(a["atz"], nlohmann::json::parse(R"(["2024-01-02T03:04:05.500000Z"])"));
  EXPECT_EQ(a["aby"], nlohmann::json::parse(R"(["AP8Q"])"));
  EXPECT_EQ(a["ai8"], nlohmann::json::parse("[]"));
  EXPECT_EQ(a["aname"], "{abc,def}");
  EXPECT_EQ(a["mood"], "sad");
  EXPECT_EQ(a["moods"], nlohmann::json::parse(R"(["happy","a \"b\""])"));
  EXPECT_EQ(a["price"], "BM4=");
  EXPECT_EQ(a["positives"], nlohmann::json::parse("[1,2]"));
  EXPECT_EQ(a["point2"], "(1,2)");
}

TEST(DebeziumEncoderTest, BadSpecialValuesNameTableColumnAndValue) {
  DebeziumEncoder enc(Opts(false));
  struct Case {
    size_t column;
    const char* text;
    const char* message;
  };
  for (const Case& c : {Case{1, "3 fortnights", "column iv: cannot parse interval value '3 fortnights'"},
                        Case{2, "1.234,56 zł", "column m: cannot parse money"},
                        Case{3, "{1,2", "column ai: cannot parse array value '{1,2'"},
                        Case{3, "{{1,2},{3,4}}", "multidimensional arrays are not supported"},
                        Case{3, "{1,x}", "column ai: array element 2: not an integer: 'x'"},
                        Case{6, "{2024-13-01}", "column ad: array element 1: cannot parse date"}}) {
    ChangeEvent e = BaseEvent(Specjalne(), Op::kCreate);
    e.after = SpecjalneRow();
    (*e.after)[c.column] = Value::Text(c.text);
    std::vector<EncodedRecord> recs;
    Status s = enc.Encode(e, kNowMs, &recs);
    ASSERT_TRUE(s.IsInvalidArgument()) << c.text;
    EXPECT_NE(s.message().find("table public.specjalne"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(c.message), std::string::npos) << s.message();
  }
}

// The shape, checked with a parser we did not write.
TEST(DebeziumEncoderTest, ParsesWithNlohmannAndHasDebeziumShape) {
  DebeziumEncoder enc(Opts(true));
  ChangeEvent e = BaseEvent(Typy(), Op::kCreate);
  e.after = TypyRow();
  std::vector<EncodedRecord> recs;
  ASSERT_TRUE(enc.Encode(e, kNowMs, &recs).ok());
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].topic, "dbserver1.public.typy");
  auto key = nlohmann::json::parse(*recs[0].key);
  EXPECT_EQ(key["schema"]["name"], "dbserver1.public.typy.Key");
  EXPECT_EQ(key["schema"]["fields"].size(), 2u);
  EXPECT_EQ(key["payload"]["id"], 9007199254740993LL);
  EXPECT_EQ(key["payload"]["code"], "A-1");

  auto v = nlohmann::json::parse(*recs[0].value);
  EXPECT_EQ(v["schema"]["name"], "dbserver1.public.typy.Envelope");
  const auto& fields = v["schema"]["fields"];
  ASSERT_EQ(fields.size(), 6u);
  EXPECT_EQ(fields[0]["field"], "before");
  EXPECT_EQ(fields[0]["name"], "dbserver1.public.typy.Value");
  EXPECT_EQ(fields[2]["name"], "io.debezium.connector.postgresql.Source");
  std::map<std::string, nlohmann::json> after_schema;
  for (const auto& f : fields[1]["fields"]) after_schema[f["field"]] = f;
  EXPECT_EQ(after_schema["i2"]["type"], "int16");
  EXPECT_EQ(after_schema["f4"]["type"], "float");
  EXPECT_EQ(after_schema["n"]["name"], "io.debezium.data.VariableScaleDecimal");
  EXPECT_EQ(after_schema["n102"]["name"], "org.apache.kafka.connect.data.Decimal");
  EXPECT_EQ(after_schema["n102"]["parameters"]["scale"], "2");
  EXPECT_EQ(after_schema["n102"]["parameters"]["connect.decimal.precision"], "10");
  EXPECT_EQ(after_schema["d"]["name"], "io.debezium.time.Date");
  EXPECT_EQ(after_schema["ts"]["name"], "io.debezium.time.MicroTimestamp");
  EXPECT_EQ(after_schema["tstz"]["name"], "io.debezium.time.ZonedTimestamp");
  EXPECT_EQ(after_schema["j"]["name"], "io.debezium.data.Json");
  EXPECT_EQ(after_schema["u"]["name"], "io.debezium.data.Uuid");
  EXPECT_EQ(after_schema["id"]["optional"], false);
  EXPECT_EQ(after_schema["t"]["optional"], true);

  const auto& p = v["payload"];
  EXPECT_TRUE(p["before"].is_null());
  EXPECT_EQ(p["op"], "c");
  EXPECT_EQ(p["ts_ms"], kNowMs);
  EXPECT_TRUE(p["transaction"].is_null());
  const auto& a = p["after"];
  EXPECT_EQ(a["i2"], -32768);
  EXPECT_EQ(a["f8"].get<double>(), -2.5e-300);
  EXPECT_EQ(a["b"], true);
  EXPECT_EQ(a["t"], "za\u017c\u00f3\u0142\u0107 \"g\u0119\u015bl\u0105\"\n\tja\u017a\u0144");
  EXPECT_EQ(a["n102"], "BM4=");  // 1230
  EXPECT_EQ(a["d"], -165);
  EXPECT_EQ(a["ts"], 1704164645123456LL);
  EXPECT_EQ(a["tstz"], "2024-01-02T03:04:05.123456Z");
  EXPECT_EQ(a["tm"], 86399999999LL);
  EXPECT_EQ(a["by"], "AP8Q");
  EXPECT_EQ(a["n"]["scale"], 3);
  const auto& src = p["source"];
  EXPECT_EQ(src["connector"], "postgresql");
  EXPECT_EQ(src["name"], "dbserver1");
  EXPECT_EQ(src["ts_ms"], 1704164645123LL);
  EXPECT_EQ(src["snapshot"], "false");
  EXPECT_EQ(src["db"], "postgres");
  EXPECT_EQ(src["schema"], "public");
  EXPECT_EQ(src["table"], "typy");
  EXPECT_EQ(src["txId"], 771);
  EXPECT_EQ(src["lsn"], 0x1A2B3C4D);
  EXPECT_TRUE(src["xmin"].is_null());
  auto seq = nlohmann::json::parse(src["sequence"].get<std::string>());
  EXPECT_EQ(seq, nlohmann::json::parse("[\"" + std::to_string(0x1A2B0000) + "\",\"" + std::to_string(0x1A2B3C4D) + "\"]"));
}

TEST(DebeziumEncoderTest, DeleteIsFollowedByTombstoneUnlessDisabled) {
  for (bool tombstones : {true, false}) {
    EncoderOptions o = Opts(false);
    o.tombstones = tombstones;
    DebeziumEncoder enc(o);
    ChangeEvent d = BaseEvent(Klienci(), Op::kDelete);
    d.before = KlientRow("7", "x", nullptr);
    std::vector<EncodedRecord> recs;
    ASSERT_TRUE(enc.Encode(d, kNowMs, &recs).ok());
    ASSERT_EQ(recs.size(), tombstones ? 2u : 1u);
    EXPECT_EQ(*recs[0].key, "{\"id\":7}");
    if (tombstones) {
      EXPECT_EQ(recs[1].key, recs[0].key);
      EXPECT_FALSE(recs[1].value.has_value());
    }
  }
}

TEST(DebeziumEncoderTest, BadValueNamesTableColumnAndValue) {
  DebeziumEncoder enc(Opts(false));
  ChangeEvent e = BaseEvent(Typy(), Op::kCreate);
  e.after = TypyRow();
  (*e.after)[11] = Value::Text("02/01/2024");
  std::vector<EncodedRecord> recs;
  Status s = enc.Encode(e, kNowMs, &recs);
  ASSERT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("public.typy column d"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("02/01/2024"), std::string::npos) << s.message();

  ChangeEvent shortrow = BaseEvent(Klienci(), Op::kCreate);
  shortrow.after = Row{Value::Text("1")};
  EXPECT_TRUE(enc.Encode(shortrow, kNowMs, &recs).IsInvalidArgument());
}

TEST(DebeziumDecoderTest, RoundTripWithAndWithoutSchemas) {
  for (bool schemas : {true, false}) {
    DebeziumEncoder enc(Opts(schemas));
    ChangeEvent u = BaseEvent(Klienci(), Op::kUpdate);
    u.before = KlientRow("1", "a\"b", "e@x");
    u.after = KlientRow("1", "c", nullptr);
    std::vector<EncodedRecord> recs;
    ASSERT_TRUE(enc.Encode(u, kNowMs, &recs).ok());
    DebeziumDecoder dec;
    auto r = dec.Decode(*recs[0].value);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->op, 'u');
    ASSERT_TRUE(r->before && r->after);
    EXPECT_EQ(*r->before->Find("nazwa"), "\"a\\\"b\"");
    EXPECT_EQ(*r->after->Find("email"), "null");
    EXPECT_EQ(*r->after->Find("id"), "1");
    EXPECT_EQ(r->after->fields.size(), 5u);
    EXPECT_EQ(r->lsn, Lsn(0x1A2B3C4D));
    EXPECT_EQ(r->ts_ms, kNowMs);
    EXPECT_EQ(r->source_ts_ms, 1704164645123);
    EXPECT_EQ(r->table, "klienci");
    EXPECT_EQ(r->tx_id, 771);
  }
}

TEST(DebeziumDecoderTest, RejectsGarbageWithCorruption) {
  DebeziumDecoder dec;
  for (const char* bad : {"", "{", "[]", "{\"op\":\"x\",\"source\":{}}", "{\"op\":\"c\"}", "{\"before\":null}"}) {
    EXPECT_TRUE(dec.Decode(bad).status().IsCorruption()) << bad;
  }
}

// Debezium's sanitizedTopicName: [a-zA-Z0-9._-] kept, anything else one '_' per UTF-16 unit, cut at 249
// characters, "." and ".." replaced whole.
TEST(DebeziumEncoderTest, KafkaTopicNamesAsDebeziumMakesThem) {
  EXPECT_EQ(KafkaTopicName("dbserver1.public.Orders_2024-x"), "dbserver1.public.Orders_2024-x");
  EXPECT_EQ(KafkaTopicName("dbserver1.public.we\"ird tab<le>"), "dbserver1.public.we_ird_tab_le_");
  EXPECT_EQ(KafkaTopicName("s.t\xc3\xa9"), "s.t_");                        // é: one UTF-16 unit
  EXPECT_EQ(KafkaTopicName("s.\xe2\x80\xae"), "s._");                      // U+202E
  EXPECT_EQ(KafkaTopicName("s.\xf0\x9f\x98\x80!"), "s.___");              // U+1F600: a surrogate pair, then '!'
  EXPECT_EQ(KafkaTopicName("s.\xff\xc3"), "s.__");                          // invalid UTF-8: one per byte
  EXPECT_EQ(KafkaTopicName(std::string(300, 'a')), std::string(249, 'a'));
  EXPECT_EQ(KafkaTopicName("."), "_");
  EXPECT_EQ(KafkaTopicName(".."), "__");
  EXPECT_EQ(KafkaTopicName("..."), "...");

  EncoderOptions o;
  o.kafka_topic_names = true;
  TableSchema t;
  t.schema = "my schema";
  t.table = "we\"ird tab<le>";
  EXPECT_EQ(DebeziumEncoder(o).TopicFor(t), "dbserver1.my_schema.we_ird_tab_le_");
  o.kafka_topic_names = false;  // the embedded pipeline keeps names whole
  EXPECT_EQ(DebeziumEncoder(o).TopicFor(t), "dbserver1.my schema.we\"ird tab<le>");
}

}  // namespace
}  // namespace cdc::event
