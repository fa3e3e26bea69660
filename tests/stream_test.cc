// `cdcpipe stream` and `cdcpipe run --brokers` end to end through the librdkafka mock cluster: capture ->
// Kafka -> stream -> raw-kafka-data; DuckDB reads the committed files; every change exactly once, in
// commit order per key; a message that is not JSON is stored raw, counted and logged.
#include <gtest/gtest.h>

#include "stream_harness.h"

namespace cdc::testing {
namespace {

class StreamTest : public PipelineHarness {};

TEST_F(StreamTest, CaptureThroughKafkaToParquetExactlyOnce) {
  std::string brokers = StartKafka();
  auto capture = StartCapture(brokers);
  auto stream = StartStream(brokers);
  ASSERT_TRUE(WaitCommittedRows(snapshot_rows_)) << stream->Log() << capture->Log();
  auto workload = StartWorkload(1000, 600, 300);
  ASSERT_EQ(workload->Wait(120000), 0) << ReadFile(dir_ / "workload.log");
  // A message that is not JSON (someone else's producer): stored raw, counted, logged.
  auto kcat = RunCommand({"kcat", "-b", brokers, "-P", "-t", "dbserver1.public.projekty", "-p", "0"}, {},
                         "this is not json\n");
  ASSERT_EQ(kcat.exit_code, 0) << kcat.Describe();
  int64_t expected = snapshot_rows_ + 1000 + 600 + 2 * 300 + 1;
  ASSERT_TRUE(WaitCommittedRows(expected)) << stream->Log();
  ASSERT_EQ(stream->Stop(SIGINT), 0) << stream->Log();
  EXPECT_NE(stream->Log().find("not JSON"), std::string::npos) << stream->Log();
  EXPECT_NE(stream->Log().find("1 non-JSON"), std::string::npos) << stream->Log();
  std::string raw = QueryCommitted(Out(), "SELECT value FROM raw WHERE value = 'this is not json'", dir_ / "q.csv");
  EXPECT_EQ(raw, "[\"this is not json\"]");

  std::vector<RawRow> rows = ReadCommitted(Out(), dir_ / "files.csv");
  std::vector<RawRow> json_rows;
  for (auto& r : rows)
    if (r.id >= 0) json_rows.push_back(r);
  auto counts = CheckExactlyOnce(json_rows, /*contiguous=*/false);
  EXPECT_EQ(counts["klienci c"], 1000);
  EXPECT_EQ(counts["klienci u"], 600);
  EXPECT_EQ(counts["klienci d"], 300);
  EXPECT_EQ(counts["klienci tombstone"], 300);
  EXPECT_EQ(counts["klienci r"], klienci_);
  EXPECT_EQ(static_cast<int64_t>(rows.size()), expected);
  // Per key, in commit order: a key always lands in one partition, and its offsets follow c < u < d < tombstone.
  std::map<int64_t, std::vector<const RawRow*>> by_id;
  for (const auto& r : json_rows)
    if (r.topic == "dbserver1.public.klienci") by_id[r.id].push_back(&r);
  auto rank = [](const std::string& op) { return op == "r" || op == "c" ? 0 : op == "u" ? 1 : op == "d" ? 2 : 3; };
  for (auto& [id, evs] : by_id) {
    std::sort(evs.begin(), evs.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < evs.size(); ++i) {
      EXPECT_EQ(evs[i]->partition, evs[0]->partition) << id;
      EXPECT_LT(rank(evs[i - 1]->op), rank(evs[i]->op)) << "id " << id;
    }
  }
}

TEST_F(StreamTest, RunWithBrokersRunsCaptureAndStreamInOneProcess) {
  std::string brokers = StartKafka();
  auto run = StartRun({"--brokers", brokers});
  ASSERT_TRUE(WaitCommittedRows(snapshot_rows_)) << run->Log();
  Sql("INSERT INTO klienci SELECT 5000000 + g, 'B', NULL, 'Polska', NULL FROM generate_series(1, 200) g");
  Sql("DELETE FROM klienci WHERE id BETWEEN 5000001 AND 5000050");
  ASSERT_TRUE(WaitCommittedRows(snapshot_rows_ + 200 + 100)) << run->Log();
  ASSERT_EQ(run->Stop(SIGINT), 0) << run->Log();
  std::vector<RawRow> rows = ReadCommitted(Out(), dir_ / "files.csv");
  auto counts = CheckExactlyOnce(rows, false);
  EXPECT_EQ(counts["klienci c"], 200);
  EXPECT_EQ(counts["klienci d"], 50);
  EXPECT_EQ(counts["klienci r"], klienci_);
  EXPECT_EQ(static_cast<int64_t>(rows.size()), snapshot_rows_ + 300);
}

}  // namespace
}  // namespace cdc::testing
