#include "lake/result_folders.h"

#include <gtest/gtest.h>

namespace cdc::lake {
namespace {

TEST(ResultFoldersTest, BadManifestIsCorruption) {
  EXPECT_TRUE(ParseSuccess("", "m").status().IsCorruption());
  EXPECT_TRUE(ParseSuccess("{\"version\":2}", "m").status().IsCorruption());
  EXPECT_TRUE(ParseSuccess("{\"version\":1,\"files\":[\"../x\"],\"rows\":1,\"source_lsn\":\"\",\"raw_batch_id\":1,"
                           "\"written_at_ms\":1}",
                           "m")
                  .status()
                  .IsCorruption());
  SuccessManifest m{{"part-0.parquet"}, 3, "0/10", 7, 99};
  auto back = ParseSuccess(SerializeSuccess(m), "m");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->files, m.files);
  EXPECT_EQ(back->raw_batch_id, 7);
}

}  // namespace
}  // namespace cdc::lake
