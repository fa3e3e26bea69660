// RelationCache (key flags from the catalog vs pgoutput's replica-identity flags) and the COPY text
// format parser of the snapshot reader. No database: the catalog is a fake.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "event/debezium_encoder.h"
#include "pg/pgoutput_testdata.h"
#include "pg/relation_cache.h"
#include "pg/snapshot_reader.h"

namespace cdc::pg {
namespace {

class FakeCatalog : public CatalogSource {
 public:
  Result<CatalogTable> LookupById(uint32_t relation_id) override {
    ++lookups;
    if (relation_id != 42) return Status::NotFound("no relation " + std::to_string(relation_id));
    CatalogTable t;
    t.relation_id = 42;
    t.schema = "public";
    t.table = "klienci";
    t.columns = {{"id", 23, -1, true, true}, {"nazwa", 25, -1, true, false}, {"email", 25, -1, false, false}};
    return t;
  }
  int lookups = 0;
};

RelationMessage FullIdentityRelation(uint32_t id) {
  RelationMessage m;
  m.relation_id = id;
  m.schema = "public";
  m.table = "klienci";
  m.replica_identity = 'f';
  m.columns = {{1, "id", 23, -1}, {1, "nazwa", 25, -1}, {1, "email", 25, -1}};  // FULL flags every column
  return m;
}

TEST(RelationCacheTest, PrimaryKeyComesFromTheCatalogNotReplicaIdentityFull) {
  FakeCatalog catalog;
  RelationCache cache(&catalog);
  ASSERT_TRUE(cache.Apply(FullIdentityRelation(42)).ok());
  auto s = cache.Find(42);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->table, "klienci");
  ASSERT_EQ(s->columns.size(), 3u);
  EXPECT_TRUE(s->columns[0].key);
  EXPECT_FALSE(s->columns[0].optional);
  EXPECT_FALSE(s->columns[1].key);
  EXPECT_FALSE(s->columns[1].optional);  // NOT NULL
  EXPECT_FALSE(s->columns[2].key);
  EXPECT_TRUE(s->columns[2].optional);
  EXPECT_EQ(cache.Find(7), nullptr);
}

TEST(RelationCacheTest, SchemaChangeMakesANewObjectAndKeepsTheOld) {
  FakeCatalog catalog;
  RelationCache cache(&catalog);
  ASSERT_TRUE(cache.Apply(FullIdentityRelation(42)).ok());
  auto first = cache.Find(42);
  ASSERT_TRUE(cache.Apply(FullIdentityRelation(42)).ok());
  EXPECT_NE(cache.Find(42).get(), first.get());
  EXPECT_EQ(first->columns.size(), 3u);
  EXPECT_EQ(catalog.lookups, 2);
}

TEST(RelationCacheTest, CatalogErrorsPropagateAndWithoutCatalogFlagsAreUsed) {
  FakeCatalog catalog;
  RelationCache cache(&catalog);
  EXPECT_TRUE(cache.Apply(FullIdentityRelation(5)).IsNotFound());
  RelationCache plain;
  ASSERT_TRUE(plain.Apply(FullIdentityRelation(5)).ok());
  EXPECT_TRUE(plain.Find(5)->columns[2].key);
}

// The real messages of testdata/pgoutput_v1_types.hex (Type messages, then the Relation, then an Insert).
std::vector<std::string> TypesGolden() {
  return ReadPgOutputHex(std::string(CDC_PG_TESTDATA) + "/pgoutput_v1_types.hex");
}

// Feeds Type and Relation messages to `cache` the way capture does; returns the first Insert's row.
event::Row ApplyGolden(RelationCache* cache, uint32_t* relation_id) {
  PgOutputDecoder dec;
  PgOutputMessage m;
  for (const auto& bytes : TypesGolden()) {
    EXPECT_TRUE(dec.Decode(bytes, &m).ok());
    if (m.type == PgOutputType::kType) cache->ApplyType(m.type_info);
    if (m.type == PgOutputType::kRelation) {
      EXPECT_TRUE(cache->Apply(m.relation).ok());
    }
    if (m.type == PgOutputType::kInsert) {
      *relation_id = m.row.relation_id;
      event::Row row;
      for (const auto& v : m.row.new_tuple) {
        row.push_back(v.kind == TupleValue::Kind::kText ? event::Value::Text(std::string(v.data)) : event::Value::Null());
      }
      return row;
    }
  }
  ADD_FAILURE() << "no Insert in the golden file";
  return {};
}

nlohmann::json EncodeAfter(const std::shared_ptr<const event::TableSchema>& table, event::Row row) {
  event::EncoderOptions o;
  event::DebeziumEncoder enc(o);
  event::ChangeEvent e;
  e.table = table;
  e.after = std::move(row);
  std::vector<event::EncodedRecord> out;
  Status st = enc.Encode(e, 0, &out);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out.empty() ? nlohmann::json() : nlohmann::json::parse(*out[0].value);
}

std::map<std::string, nlohmann::json> AfterSchema(const nlohmann::json& value) {
  std::map<std::string, nlohmann::json> out;
  for (const auto& f : value["schema"]["fields"][1]["fields"]) out[f["field"]] = f;
  return out;
}

TEST(RelationCacheTest, TypeMessagesNameColumnsOfTypesThatAreNotBuiltIn) {
  RelationCache cache;  // no catalog: what pgoutput alone says
  uint32_t rel = 0;
  event::Row row = ApplyGolden(&cache, &rel);
  auto s = cache.Find(rel);
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->columns.size(), 9u);
  EXPECT_EQ(s->columns[0].type_name, "");  // int4: built in
  EXPECT_EQ(s->columns[1].type_name, "public.mood");
  EXPECT_EQ(s->columns[2].type_name, "public._mood");
  EXPECT_EQ(s->columns[4].type_name, "public._positive_int");
  EXPECT_FALSE(s->columns[1].user_type.has_value());  // an enum needs the catalog: a string
  // The domain over numeric is named by its base type, so it is resolved without the catalog (its
  // numeric(10,2) typmod is in the catalog only).
  EXPECT_EQ(s->columns[3].type_name, "pg_catalog.numeric");
  ASSERT_TRUE(s->columns[3].user_type.has_value());
  EXPECT_EQ(s->columns[3].user_type->kind, event::UserType::Kind::kDomain);
  EXPECT_EQ(s->columns[3].user_type->base_type_oid, 1700u);
  EXPECT_EQ(cache.TypeName(s->columns[1].type_oid), "public.mood");

  auto v = EncodeAfter(s, row);
  auto schema = AfterSchema(v);
  EXPECT_EQ(schema["m"]["type"], "string");
  EXPECT_FALSE(schema["m"].contains("name"));
  EXPECT_EQ(schema["ms"]["type"], "string");
  EXPECT_EQ(schema["p"]["name"], "io.debezium.data.VariableScaleDecimal");
  EXPECT_EQ(schema["iv"]["name"], "io.debezium.time.MicroDuration");
  EXPECT_EQ(schema["ai"]["type"], "array");
  const auto& a = v["payload"]["after"];
  EXPECT_EQ(a["m"], "a,b \"c\"");
  EXPECT_EQ(a["ms"], "{happy,NULL,\"a,b \\\"c\\\"\"}");
  EXPECT_EQ(a["p"]["scale"], 2);
  EXPECT_EQ(a["iv"], 37091106780000LL);
  EXPECT_EQ(a["mn"], "/h3A");
  EXPECT_EQ(a["ai"], nlohmann::json::parse("[1,null,3]"));
  EXPECT_EQ(a["at"], nlohmann::json::parse(R"(["a b",null,"NULL","","q\"x\\y"])"));

  cache.Clear();
  EXPECT_EQ(cache.TypeName(s->columns[1].type_oid), "");
  EXPECT_EQ(cache.Find(rel), nullptr);
}

// What PgCatalogSource reads from pg_type/pg_enum for the golden table (the query itself runs in
// capture_test against PostgreSQL).
class TypedCatalog : public CatalogSource {
 public:
  explicit TypedCatalog(const event::TableSchema& streamed) : streamed_(streamed) {}
  Result<CatalogTable> LookupById(uint32_t relation_id) override {
    CatalogTable t;
    t.relation_id = relation_id;
    t.schema = "public";
    t.table = "nietypowe";
    for (const auto& c : streamed_.columns) {
      CatalogColumn cc{c.name, c.type_oid, c.type_modifier, c.name == "id", c.name == "id"};
      if (c.name == "m" || c.name == "ms") {
        cc.type_name = c.name == "m" ? "public.mood" : "public._mood";
        cc.user_type = event::UserType{event::UserType::Kind::kEnum, c.name == "ms", 0, -1, "happy,sad,a,b \"c\""};
      } else if (c.name == "p") {
        cc.type_name = "public.price";
        cc.user_type = event::UserType{event::UserType::Kind::kDomain, false, 1700, (10 << 16 | 2) + 4, ""};
      } else if (c.name == "pi") {
        cc.type_name = "public._positive_int";
        cc.user_type = event::UserType{event::UserType::Kind::kDomain, true, 23, -1, ""};
      }
      t.columns.push_back(cc);
    }
    return t;
  }

 private:
  event::TableSchema streamed_;
};

TEST(RelationCacheTest, CatalogResolvesEnumsDomainsAndTheirArrays) {
  RelationCache plain;
  uint32_t rel = 0;
  event::Row row = ApplyGolden(&plain, &rel);
  TypedCatalog catalog(*plain.Find(rel));
  RelationCache cache(&catalog);
  ApplyGolden(&cache, &rel);
  auto s = cache.Find(rel);
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->columns[3].type_name, "public.price");  // the catalog's name, not the base type's
  EXPECT_FALSE(s->columns[0].optional);

  auto v = EncodeAfter(s, row);
  auto schema = AfterSchema(v);
  EXPECT_EQ(schema["m"]["name"], "io.debezium.data.Enum");
  EXPECT_EQ(schema["m"]["parameters"]["allowed"], "happy,sad,a,b \"c\"");
  EXPECT_EQ(schema["ms"]["type"], "array");
  EXPECT_EQ(schema["ms"]["items"]["name"], "io.debezium.data.Enum");
  EXPECT_EQ(schema["p"]["name"], "org.apache.kafka.connect.data.Decimal");
  EXPECT_EQ(schema["p"]["parameters"]["scale"], "2");
  EXPECT_EQ(schema["pi"]["items"]["type"], "int32");
  const auto& a = v["payload"]["after"];
  EXPECT_EQ(a["m"], "a,b \"c\"");
  EXPECT_EQ(a["ms"], nlohmann::json::parse(R"(["happy",null,"a,b \"c\""])"));
  EXPECT_EQ(a["p"], "BM4=");  // 1230 at scale 2
  EXPECT_EQ(a["pi"], nlohmann::json::parse("[1,2]"));
}

TEST(RelationCacheTest, CatalogTypeInfoIsIgnoredWhenTheColumnTypeChangedSince) {
  class ChangedCatalog : public CatalogSource {
   public:
    Result<CatalogTable> LookupById(uint32_t) override {
      CatalogTable t;
      t.columns = {{"id", 23, -1, true, true}, {"m", 16999, -1, false, false, "public.other", event::UserType{}}};
      return t;
    }
  } catalog;
  RelationCache cache(&catalog);
  TypeMessage type{16386, "public", "mood"};
  cache.ApplyType(type);
  RelationMessage m;
  m.relation_id = 1;
  m.schema = "public";
  m.table = "t";
  m.columns = {{1, "id", 23, -1}, {0, "m", 16386, -1}};
  ASSERT_TRUE(cache.Apply(m).ok());
  EXPECT_EQ(cache.Find(1)->columns[1].type_name, "public.mood");
  EXPECT_FALSE(cache.Find(1)->columns[1].user_type.has_value());
}

TEST(CopyTextTest, UndoesEveryEscape) {
  event::Row row;
  ASSERT_TRUE(ParseCopyTextRow("1\ttab\\there\\\\back\\nnl\t\\N\t\\101\\x42\\q\t\\b\\f\\r\\v\n", 5, &row).ok());
  ASSERT_EQ(row.size(), 5u);
  EXPECT_EQ(row[0], event::Value::Text("1"));
  EXPECT_EQ(row[1], event::Value::Text("tab\there\\back\nnl"));
  EXPECT_EQ(row[2], event::Value::Null());
  EXPECT_EQ(row[3], event::Value::Text("ABq"));
  EXPECT_EQ(row[4], event::Value::Text("\b\f\r\v"));
  // An empty string is not NULL.
  ASSERT_TRUE(ParseCopyTextRow("7\t\n", 2, &row).ok());
  EXPECT_EQ(row[1], event::Value::Text(""));
}

TEST(CopyTextTest, WrongColumnCountIsCorruption) {
  event::Row row;
  Status st = ParseCopyTextRow("1\t2\t3\n", 2, &row);
  EXPECT_TRUE(st.IsCorruption());
  EXPECT_NE(st.message().find("more than 2 columns"), std::string::npos) << st.ToString();
  st = ParseCopyTextRow("1\n", 2, &row);
  EXPECT_TRUE(st.IsCorruption());
  EXPECT_NE(st.message().find("has 1 columns, expected 2"), std::string::npos) << st.ToString();
}

}  // namespace
}  // namespace cdc::pg
