// Column defaults as Debezium's PostgresDefaultValueConverter derives them (docs/DEBEZIUM.md, "Column defaults";
// sources in src/event/testdata/SOURCES.md). The expressions are what PostgreSQL 15's pg_get_expr prints for the
// DEFAULT clauses named in each comment (checked with psql).
#include "event/debezium_default.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "event/debezium_encoder.h"

namespace cdc::event {
namespace {

Column Col(uint32_t oid, std::optional<std::string> expr, int32_t typmod = -1) {
  Column c{"c", oid, typmod, false, true};
  c.default_expr = std::move(expr);
  return c;
}

std::optional<std::string> D(uint32_t oid, const char* expr, int32_t typmod = -1) {
  return DebeziumDefaultText(Col(oid, std::string(expr), typmod));
}

TEST(DebeziumDefaultTest, GeneratedValuesBecomeTheTypesPlaceholder) {
  EXPECT_EQ(D(23, "nextval('t_id_seq'::regclass)"), "0");     // serial
  EXPECT_EQ(D(20, "nextval('t_id_seq'::regclass)"), "0");     // bigserial
  EXPECT_EQ(D(21, "nextval('t_id_seq'::regclass)"), "0");     // smallserial
  EXPECT_EQ(D(1184, "now()"), "1970-01-01 00:00:00+00");      // DEFAULT now()
  EXPECT_EQ(D(1184, "CURRENT_TIMESTAMP"), "1970-01-01 00:00:00+00");
  EXPECT_EQ(D(1114, "LOCALTIMESTAMP"), "1970-01-01 00:00:00");
  EXPECT_EQ(D(1184, "CURRENT_TIMESTAMP(3)"), "1970-01-01 00:00:00+00");
  EXPECT_EQ(D(1082, "CURRENT_DATE"), "1970-01-01");
  EXPECT_EQ(D(1083, "LOCALTIME"), "00:00:00");
  EXPECT_EQ(D(2950, "gen_random_uuid()"), "00000000-0000-0000-0000-000000000000");
  EXPECT_EQ(D(25, "md5('x'::text)"), "");
  EXPECT_EQ(D(3802, "jsonb_build_object()"), "{}");
  EXPECT_EQ(D(1700, "random()"), "0.0");
  EXPECT_EQ(D(16, "(random() > (0.5)::double precision)"), "f");
  EXPECT_EQ(D(1186, "make_interval()"), "00:00:00");
}

TEST(DebeziumDefaultTest, ConstantsAreParsedAsTheirType) {
  EXPECT_EQ(D(23, "42"), "42");
  EXPECT_EQ(D(23, "'-1'::integer"), "-1");                    // DEFAULT -1
  EXPECT_EQ(D(20, "'9223372036854775807'::bigint"), "9223372036854775807");
  EXPECT_EQ(D(1700, "'-1.5'::numeric"), "-1.5");
  EXPECT_EQ(D(1700, "1.50"), "1.50");
  EXPECT_EQ(D(701, "'NaN'::double precision"), "NaN");
  EXPECT_EQ(D(16, "true"), "t");
  EXPECT_EQ(D(16, "false"), "f");
  EXPECT_EQ(D(25, "'abc'::text"), "abc");
  EXPECT_EQ(D(1043, "'ab'::character varying"), "ab");
  EXPECT_EQ(D(1042, "'x'::bpchar"), "x");
  EXPECT_EQ(D(3802, "'{\"a\": 1}'::jsonb"), "{\"a\": 1}");
  EXPECT_EQ(D(1082, "'2020-01-02'::date"), "2020-01-02");
  EXPECT_EQ(D(1114, "'2020-01-02 03:04:05.5'::timestamp without time zone"), "2020-01-02 03:04:05.5");
  EXPECT_EQ(D(1184, "'2019-12-31 22:00:00+00'::timestamp with time zone"), "2019-12-31 22:00:00+00");
  EXPECT_EQ(D(1186, "'1 day 02:00:00'::interval"), "1 day 02:00:00");
  EXPECT_EQ(D(1560, "'101'::\"bit\"", 3), "101");
  EXPECT_EQ(D(1560, "'1'::\"bit\"", 1), "1");
  // Debezium's lazy '(.*?)' stops at the doubled quote of an escaped one (reproduced: same schema).
  EXPECT_EQ(D(25, "'it''s'::text"), "it");
}

TEST(DebeziumDefaultTest, NoDefaultWhereDebeziumHasNone) {
  EXPECT_EQ(DebeziumDefaultText(Col(23, std::nullopt)), std::nullopt);
  EXPECT_EQ(D(23, "(1 + 2)"), std::nullopt);                  // an expression: Integer.parseInt fails
  EXPECT_EQ(D(25, "NULL::text"), std::nullopt);
  EXPECT_EQ(D(1700, "'NaN'::numeric"), std::nullopt);         // new BigDecimal("NaN") throws
  EXPECT_EQ(D(17, "'\\x00'::bytea"), std::nullopt);            // bytea: no parser
  EXPECT_EQ(D(790, "'$1.00'::money"), std::nullopt);           // money: no parser
  EXPECT_EQ(D(1266, "'01:00:00+02'::time with time zone"), std::nullopt);
  EXPECT_EQ(D(1007, "'{1,2}'::integer[]"), std::nullopt);      // arrays
  EXPECT_EQ(D(2950, "'not-a-uuid'::uuid"), std::nullopt);
  EXPECT_EQ(D(1560, "B'1'::\"bit\"", 1), "1");
  EXPECT_EQ(D(1560, "now()", 1), std::nullopt);                // placeholder "00" on bit(1)
  // A domain is known to Debezium by its own name, which has no parser.
  Column dom = Col(16500, std::string("'5'::integer"));
  dom.user_type = UserType{UserType::Kind::kDomain, false, 23, -1, ""};
  EXPECT_EQ(DebeziumDefaultText(dom), std::nullopt);
}

TEST(DebeziumDefaultTest, EnumLabelWhenTheCastNamesTheType) {
  Column e = Col(16600, std::string("'meh'::mood"));
  e.type_name = "public.mood";
  e.user_type = UserType{UserType::Kind::kEnum, false, 0, -1, "happy,meh,sad"};
  EXPECT_EQ(DebeziumDefaultText(e), "meh");
  e.default_expr = "'meh'::public.mood";
  EXPECT_EQ(DebeziumDefaultText(e), "meh");
  e.default_expr = "'meh'::other";
  EXPECT_EQ(DebeziumDefaultText(e), std::nullopt);
}

// The encoder writes the default in the field schema (key and value), converted like a value of the column:
// a serial key is "default":0 in both, a numeric(6,2) default is Decimal bytes at scale 2, a timestamptz
// placeholder is the padded ZonedTimestamp, a variable-scale numeric has none (a struct default).
TEST(DebeziumDefaultTest, EncoderWritesDefaultsInKeyAndValueSchemas) {
  auto t = std::make_shared<TableSchema>();
  t->relation_id = 1;
  t->schema = "public";
  t->table = "d";
  const int32_t numeric_6_2 = (6 << 16 | 2) + 4;
  t->columns = {{"id", 23, -1, true, false}, {"n", 1700, numeric_6_2, false, true}, {"ts", 1184, -1, false, false},
                {"v", 1700, -1, false, true}, {"s", 25, -1, false, true}, {"plain", 23, -1, false, true}};
  t->columns[0].default_expr = "nextval('d_id_seq'::regclass)";
  t->columns[1].default_expr = "'-1.5'::numeric";
  t->columns[2].default_expr = "now()";
  t->columns[3].default_expr = "1.5";
  t->columns[4].default_expr = "'x'::text";
  ChangeEvent ev;
  ev.op = Op::kCreate;
  ev.table = t;
  ev.after = Row{Value::Text("1"), Value::Null(), Value::Text("2024-01-02 03:04:05+00"), Value::Null(), Value::Null(),
                 Value::Null()};
  DebeziumEncoder enc(EncoderOptions{});
  std::vector<EncodedRecord> recs;
  ASSERT_TRUE(enc.Encode(ev, 0, &recs).ok());
  auto key = nlohmann::json::parse(*recs[0].key);
  EXPECT_EQ(key["schema"]["fields"][0]["default"], 0) << key.dump();
  auto value = nlohmann::json::parse(*recs[0].value);
  auto fields = value["schema"]["fields"][1]["fields"];  // after
  EXPECT_EQ(fields[0]["default"], 0);
  EXPECT_EQ(fields[1]["default"], "/2o=");  // -150 at scale 2, big-endian two's complement
  EXPECT_EQ(fields[2]["default"], "1970-01-01T00:00:00.000000Z");
  EXPECT_FALSE(fields[3].contains("default")) << fields[3].dump();
  EXPECT_EQ(fields[4]["default"], "x");
  EXPECT_FALSE(fields[5].contains("default"));
  // JsonConverter's key order: ..., parameters, default, field.
  std::string v = *recs[0].value;
  EXPECT_NE(v.find("\"parameters\":{\"scale\":\"2\",\"connect.decimal.precision\":\"6\"},\"default\":\"/2o=\",\"field\":\"n\""),
            std::string::npos);
  // String mode: the numeric default is the decimal text.
  EncoderOptions so;
  so.decimal_mode = DecimalMode::kString;
  DebeziumEncoder senc(so);
  recs.clear();
  ASSERT_TRUE(senc.Encode(ev, 0, &recs).ok());
  auto sv = nlohmann::json::parse(*recs[0].value);
  EXPECT_EQ(sv["schema"]["fields"][1]["fields"][1]["default"], "-1.5");
  EXPECT_EQ(sv["schema"]["fields"][1]["fields"][3]["default"], "1.5");
}

}  // namespace
}  // namespace cdc::event
