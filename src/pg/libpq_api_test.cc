// pg/libpq_api.h against the installed libpq (no server needed).
#include "pg/libpq_api.h"

#include <gtest/gtest.h>

#include <string>

namespace cdc::pg {
namespace {

// The installed libpq has every function the table names.
TEST(LibpqApiTest, LoadsTheInstalledLibrary) {
  Status s = LoadLibpq();
  ASSERT_TRUE(s.ok()) << s.ToString();
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse("host=/nowhere dbname=app", &err);
  ASSERT_NE(opts, nullptr) << (err ? err : "");
  std::string dbname;
  for (PQconninfoOption* o = opts; o->keyword; ++o) {
    if (std::string(o->keyword) == "dbname" && o->val) dbname = o->val;
  }
  PQconninfoFree(opts);
  EXPECT_EQ(dbname, "app");
}

}  // namespace
}  // namespace cdc::pg
