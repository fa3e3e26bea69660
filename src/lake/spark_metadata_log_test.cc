#include "lake/spark_metadata_log.h"

#include <gtest/gtest.h>

namespace cdc::lake {
namespace {

TEST(SparkMetadataLogTest, CompactionBatchesFollowSpark) {
  SparkMetadataLog log;
  EXPECT_FALSE(log.IsCompactionBatch(0));
  EXPECT_TRUE(log.IsCompactionBatch(9));
  EXPECT_TRUE(log.IsCompactionBatch(19));
  EXPECT_FALSE(log.IsCompactionBatch(10));
  EXPECT_EQ(log.FileName(8), "8");
  EXPECT_EQ(log.FileName(9), "9.compact");
  EXPECT_EQ(SparkMetadataLog::ParseFileName("9.compact"), 9);
  EXPECT_EQ(SparkMetadataLog::ParseFileName("12"), 12);
  EXPECT_FALSE(SparkMetadataLog::ParseFileName(".12.tmp").has_value());
  EXPECT_FALSE(SparkMetadataLog::ParseFileName("").has_value());
  EXPECT_FALSE(SparkMetadataLog::ParseFileName(".compact").has_value());
}

TEST(SparkMetadataLogTest, ValidBatchesStartAtLatestCompaction) {
  SparkMetadataLog log;
  EXPECT_EQ(log.ValidBatches(-1), std::vector<int64_t>{});
  EXPECT_EQ(log.ValidBatches(3), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(log.ValidBatches(9), (std::vector<int64_t>{9}));
  EXPECT_EQ(log.ValidBatches(12), (std::vector<int64_t>{9, 10, 11, 12}));
  EXPECT_EQ(log.BatchesBeforeCompaction(9), (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8}));
  EXPECT_EQ(log.BatchesBeforeCompaction(19), (std::vector<int64_t>{9, 10, 11, 12, 13, 14, 15, 16, 17, 18}));
  SparkMetadataLog three(3);
  EXPECT_EQ(three.BatchesBeforeCompaction(5), (std::vector<int64_t>{2, 3, 4}));
}

TEST(SparkMetadataLogTest, SerializeMatchesSparkAndRoundTrips) {
  SinkFileStatus a{"file:///data/raw-kafka-data/part-00000-x-c000.snappy.parquet", 1234, false, 1732500000000, 1,
                   33554432, "add"};
  std::string text = SparkMetadataLog::Serialize({a});
  EXPECT_EQ(text,
            "v1\n{\"path\":\"file:///data/raw-kafka-data/part-00000-x-c000.snappy.parquet\",\"size\":1234,"
            "\"isDir\":false,\"modificationTime\":1732500000000,\"blockReplication\":1,\"blockSize\":33554432,"
            "\"action\":\"add\"}");
  auto parsed = SparkMetadataLog::Parse(text, "0");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->size(), 1u);
  EXPECT_EQ((*parsed)[0], a);
  auto empty = SparkMetadataLog::Parse("v1", "3");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(SparkMetadataLogTest, CorruptFilesAreNamed) {
  auto bad_version = SparkMetadataLog::Parse("v2\n{}", "_spark_metadata/4");
  ASSERT_FALSE(bad_version.ok());
  EXPECT_EQ(bad_version.status().message(), "_spark_metadata/4:1: expected version line 'v1', found 'v2'");
  auto bad_json = SparkMetadataLog::Parse("v1\n{\"path\":", "_spark_metadata/5");
  ASSERT_FALSE(bad_json.ok());
  EXPECT_TRUE(bad_json.status().IsCorruption());
  EXPECT_EQ(bad_json.status().message(), "_spark_metadata/5:2: not a JSON object");
  auto missing = SparkMetadataLog::Parse("v1\n{\"path\":\"p\"}", "6");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("6:2: bad SinkFileStatus entry"), std::string::npos);
  EXPECT_FALSE(SparkMetadataLog::Parse("", "7").ok());
}

TEST(SparkMetadataLogTest, CompactDropsDeletedPaths) {
  SinkFileStatus a{"a", 1, false, 1, 1, 1, "add"};
  SinkFileStatus b{"b", 1, false, 1, 1, 1, "add"};
  SinkFileStatus del_a{"a", 1, false, 2, 1, 1, "delete"};
  auto out = SparkMetadataLog::Compact({a, b, del_a});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].path, "b");
}

}  // namespace
}  // namespace cdc::lake
