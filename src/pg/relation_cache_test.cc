// RelationCache (key flags from the catalog vs pgoutput's replica-identity flags) and the COPY text
// format parser of the snapshot reader. No database: the catalog is a fake.
#include <gtest/gtest.h>

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
