// Unit tests of the in-process sinks (the Kafka sink is tested against the mock cluster in tests/).
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "log/channel_sink.h"
#include "log/kafka_sink.h"
#include "log/null_sink.h"
#include "log/rdkafka_api.h"

namespace cdc::log {
namespace {

Record Rec(const std::string& key, std::optional<std::string> value) { return Record{"t", key, std::move(value), 1}; }

// The installed librdkafka has every function the table names (log/rdkafka_api.h).
TEST(RdkafkaApiTest, LoadsTheInstalledLibrary) {
  Status s = LoadRdkafka();
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_STREQ(rd_kafka_err2name(RD_KAFKA_RESP_ERR__TIMED_OUT), "_TIMED_OUT");
}

TEST(NullSinkTest, CountsAndIsDurableAtOnce) {
  NullSink s;
  ASSERT_TRUE(s.Append(Rec("k", "vv")).ok());
  ASSERT_TRUE(s.Append(Rec("k", std::nullopt)).ok());
  EXPECT_EQ(s.DurableLsn(), Lsn());
  ASSERT_TRUE(s.EndTransaction(Lsn(10)).ok());
  EXPECT_EQ(s.DurableLsn(), Lsn(10));
  EXPECT_EQ(s.records(), 2u);
  EXPECT_EQ(s.bytes(), 4u);
  EXPECT_EQ(s.transactions(), 1u);
  // It tracks snapshot chunks (each durable once it ends), so capture records no uncertain range for it.
  EXPECT_EQ(s.DurableSnapshotChunk(), std::optional<uint64_t>(0));
  ASSERT_TRUE(s.EndSnapshotChunk(3, "{}").ok());
  EXPECT_EQ(s.DurableSnapshotChunk(), std::optional<uint64_t>(3));
}

TEST(ChannelSinkTest, ConsumerSeesOrderAndDrivesDurableLsn) {
  ChannelSink ch(4);  // small: the producer blocks and resumes (back-pressure)
  std::vector<std::string> seen;
  std::thread consumer([&] {
    while (auto item = ch.Pop()) {
      if (item->end_of_transaction) ch.MarkDurable(item->end_lsn);
      else seen.push_back(*item->record.value);
    }
  });
  for (int tx = 1; tx <= 50; ++tx) {
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(ch.Append(Rec("k", std::to_string(tx * 10 + i))).ok());
    ASSERT_TRUE(ch.EndTransaction(Lsn(tx * 100)).ok());
  }
  ASSERT_TRUE(ch.Flush(std::chrono::seconds(30)).ok());
  EXPECT_EQ(ch.DurableLsn(), Lsn(5000));
  ch.Close();
  consumer.join();
  ASSERT_EQ(seen.size(), 150u);
  for (size_t n = 0; n < seen.size(); ++n) EXPECT_EQ(seen[n], std::to_string((n / 3 + 1) * 10 + n % 3));
}

TEST(ChannelSinkTest, DurableLsnNeverMovesBackwards) {
  ChannelSink ch;
  ch.MarkDurable(Lsn(50));
  ch.MarkDurable(Lsn(20));
  EXPECT_EQ(ch.DurableLsn(), Lsn(50));
  ASSERT_TRUE(ch.EndTransaction(Lsn(60)).ok());
  EXPECT_TRUE(ch.EndTransaction(Lsn(59)).code() == StatusCode::kInternal);
}

TEST(ChannelSinkTest, FlushTimesOutWithoutConsumerAndFailureStopsProducer) {
  ChannelSink ch(2);
  ASSERT_TRUE(ch.Append(Rec("k", "v")).ok());
  ASSERT_TRUE(ch.EndTransaction(Lsn(7)).ok());
  EXPECT_TRUE(ch.Flush(std::chrono::milliseconds(20)).IsUnavailable());
  // The producer is blocked on a full queue; a consumer failure wakes it with the error.
  std::thread fail([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ch.Fail(Status::IoError("disk full"));
  });
  Status s = ch.Append(Rec("k", "v2"));
  fail.join();
  EXPECT_TRUE(s.IsIoError()) << s.ToString();
  EXPECT_TRUE(ch.Poll().IsIoError());
}

TEST(ChannelSinkTest, PopTimesOutThenDrainsAfterClose) {
  ChannelSink ch;
  EXPECT_FALSE(ch.Pop(std::chrono::milliseconds(10)).has_value());
  EXPECT_FALSE(ch.closed());
  ASSERT_TRUE(ch.Append(Rec("k", "v")).ok());
  ch.Close();
  auto item = ch.Pop();
  ASSERT_TRUE(item.has_value());
  EXPECT_EQ(*item->record.value, "v");
  EXPECT_FALSE(ch.Pop().has_value());
  EXPECT_TRUE(ch.Append(Rec("k", "v")).IsCancelled());
}

// Records are handed to the consumer in groups (capacity/16, at most 256): a group is handed over when
// full, at the end of a transaction or a snapshot chunk, and at Poll, so nothing waits on the producer
// side once the producer polls.
TEST(ChannelSinkTest, RecordsAreHandedOverInGroupsAndAtPoll) {
  ChannelSink ch(64);  // groups of 4
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(ch.Append(Rec("k", std::to_string(i))).ok());
  EXPECT_EQ(ch.size(), 4u);  // one full group; two records still in the producer's group
  ASSERT_TRUE(ch.Poll().ok());
  EXPECT_EQ(ch.size(), 6u);
  ASSERT_TRUE(ch.Append(Rec("k", "6")).ok());
  ASSERT_TRUE(ch.EndSnapshotChunk(1, "pos").ok());
  EXPECT_EQ(ch.size(), 8u);
  ASSERT_TRUE(ch.Append(Rec("k", "7")).ok());
  ASSERT_TRUE(ch.EndTransaction(Lsn(5)).ok());
  EXPECT_EQ(ch.size(), 10u);
  std::vector<std::string> seen;
  while (auto item = ch.Pop(std::chrono::milliseconds(0))) {
    if (item->snapshot_chunk) seen.push_back("chunk " + item->snapshot_position);
    else if (item->end_of_transaction) seen.push_back("end " + item->end_lsn.ToString());
    else seen.push_back(*item->record.value);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "chunk pos", "7", "end 0/5"}));
}

// The consumer's strings come back to the producer (capacity kept, emptied) at the next hand-over;
// strings longer than kMaxSpareCapacity are freed instead.
TEST(ChannelSinkTest, ReturnedStringsReachTheProducerAtTheNextHandOver) {
  ChannelSink ch(64);
  std::vector<std::string> taken;
  ch.TakeSpareStrings(&taken);
  EXPECT_TRUE(taken.empty());
  std::vector<std::string> back;
  back.push_back(std::string(3000, 'v'));
  back.push_back("short");
  back.push_back(std::string(ChannelSink::kMaxSpareCapacity + 1, 'x'));
  ch.ReturnSpareStrings(&back);
  EXPECT_TRUE(back.empty());
  ch.TakeSpareStrings(&taken);
  EXPECT_TRUE(taken.empty());  // not before the producer hands records over
  ASSERT_TRUE(ch.Append(Rec("k", "1")).ok());
  ASSERT_TRUE(ch.Poll().ok());  // the hand-over
  ch.TakeSpareStrings(&taken);
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_TRUE(taken[0].empty());
  EXPECT_GE(taken[0].capacity(), 3000u);
  EXPECT_TRUE(taken[1].empty());
  ch.TakeSpareStrings(&taken);
  EXPECT_EQ(taken.size(), 2u);  // taken once
}

TEST(KafkaPropertyTest, ParsesKeyValue) {
  std::map<std::string, std::string> p;
  ASSERT_TRUE(ParseKafkaProperty("compression.type=zstd", &p).ok());
  ASSERT_TRUE(ParseKafkaProperty("sasl.jaas=a=b", &p).ok());
  EXPECT_EQ(p["compression.type"], "zstd");
  EXPECT_EQ(p["sasl.jaas"], "a=b");
  EXPECT_TRUE(ParseKafkaProperty("novalue", &p).IsInvalidArgument());
  EXPECT_TRUE(ParseKafkaProperty("=x", &p).IsInvalidArgument());
}

TEST(KafkaSinkUnitTest, BadPropertyIsRefusedWithoutEchoingTheValue) {
  KafkaSinkOptions o;
  o.brokers = "127.0.0.1:1";
  o.properties = {{"no.such.property", "s3cret"}};
  auto r = KafkaSink::Create(o);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_NE(r.status().message().find("no.such.property"), std::string::npos);
  EXPECT_EQ(r.status().message().find("s3cret"), std::string::npos);
}

}  // namespace
}  // namespace cdc::log
