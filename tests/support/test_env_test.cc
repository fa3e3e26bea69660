// Checks the harness itself: the private cluster really is a logical-replication PostgreSQL 15 on
// loopback, and DuckDB (an independent peer) answers.
#include <gtest/gtest.h>

#include "pg/connection.h"
#include "support/test_env.h"

namespace cdc::testing {
namespace {

TEST(PgClusterTest, StartsWithLogicalReplication) {
  PgCluster& pg = PgCluster::Shared();
  std::string db = pg.CreateTestDatabase();
  EXPECT_EQ(pg.Psql(db, "SHOW wal_level"), "logical");
  EXPECT_EQ(pg.Psql(db, "SHOW listen_addresses"), "127.0.0.1");
  EXPECT_EQ(pg.Psql(db, "SELECT current_setting('server_version_num')::int / 10000"), "15");
  auto conn = pg::PgConnection::Connect(pg.Conninfo(db));
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  auto res = conn->Exec("SELECT 40 + 2");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->Get(0, 0), "42");
}

TEST(PgConnectionTest, ErrorsAreMappedAndRedacted) {
  PgCluster& pg = PgCluster::Shared();
  auto bad = pg::PgConnection::Connect("postgresql://nobody:hunter2@127.0.0.1:" + std::to_string(FreePort()) + "/x");
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsUnavailable()) << bad.status().ToString();
  EXPECT_EQ(bad.status().message().find("hunter2"), std::string::npos) << bad.status().ToString();
  auto conn = pg::PgConnection::Connect(pg.Conninfo("postgres"));
  ASSERT_TRUE(conn.ok());
  auto missing = conn->Exec("SELECT * FROM no_such_table");
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.status().IsNotFound()) << missing.status().ToString();
  EXPECT_NE(missing.status().message().find("42P01"), std::string::npos);
}

TEST(DuckDbPeerTest, Answers) { EXPECT_EQ(DuckDbQuery("SELECT 1 + 1 AS x"), "[2]"); }

}  // namespace
}  // namespace cdc::testing
