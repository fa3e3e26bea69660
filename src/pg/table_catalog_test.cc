// The pure parts of the table catalog (LoadTable itself is tested against PostgreSQL in
// tests/import_test.cc).
#include "pg/table_catalog.h"

#include <gtest/gtest.h>

namespace cdc::pg {
namespace {

TEST(ParseTableName, PlainNamesDefaultToPublicAndFoldToLowerCase) {
  auto n = ParseTableName("Customers");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->schema, "public");
  EXPECT_EQ(n->name, "customers");
  n = ParseTableName("Sales.Orders");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->schema, "sales");
  EXPECT_EQ(n->name, "orders");
}

TEST(ParseTableName, QuotedPartsKeepCaseDotsAndQuotes) {
  auto n = ParseTableName("\"My.Schema\".\"Order \"\"Lines\"\"\"");
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(n->schema, "My.Schema");
  EXPECT_EQ(n->name, "Order \"Lines\"");
  EXPECT_EQ(n->Sql(), "\"My.Schema\".\"Order \"\"Lines\"\"\"");
  EXPECT_EQ(n->Display(), "\"My.Schema\".\"Order \"\"Lines\"\"\"");
}

TEST(ParseTableName, BadNames) {
  for (const char* s : {"", ".", "a.", ".b", "a.b.c", "\"open", "\"\"", "a\"b\"", "\"a\"b"}) {
    auto n = ParseTableName(s);
    EXPECT_FALSE(n.ok()) << s;
    if (!n.ok()) {
      EXPECT_NE(n.status().message().find("bad table name"), std::string::npos) << s;
    }
  }
}

TEST(TableName, DisplayOmitsPublicAndQuotesOnlyWhenNeeded) {
  EXPECT_EQ((TableName{"public", "customers"}).Display(), "customers");
  EXPECT_EQ((TableName{"sales", "orders"}).Display(), "sales.orders");
  EXPECT_EQ((TableName{"public", "Orders"}).Display(), "\"Orders\"");
  EXPECT_EQ((TableName{"public", "customers"}).Sql(), "\"public\".\"customers\"");
}

TEST(QuoteIdentifier, DoublesQuotes) {
  EXPECT_EQ(QuoteIdentifier("id"), "\"id\"");
  EXPECT_EQ(QuoteIdentifier("a\"b"), "\"a\"\"b\"");
}

TEST(TableInfo, FindPrefersExactThenUniqueCaseInsensitive) {
  TableInfo t;
  t.columns.resize(4);
  t.columns[0].name = "id";
  t.columns[1].name = "Email";
  t.columns[2].name = "note";
  t.columns[3].name = "Note";
  EXPECT_EQ(t.Find("id"), &t.columns[0]);
  EXPECT_EQ(t.Find("ID"), &t.columns[0]);
  EXPECT_EQ(t.Find("email"), &t.columns[1]);
  EXPECT_EQ(t.Find("Note"), &t.columns[3]);
  EXPECT_EQ(t.Find("note"), &t.columns[2]);
  EXPECT_EQ(t.Find("NOTE"), nullptr);  // two columns differ only in case
  EXPECT_EQ(t.Find("fax"), nullptr);
  EXPECT_EQ(t.ColumnList(), "id,Email,note,Note");
}

}  // namespace
}  // namespace cdc::pg
