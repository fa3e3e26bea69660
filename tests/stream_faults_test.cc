// Fault tests of `cdcpipe stream` and `cdcpipe run --brokers` (docs/STREAM.md, "Faults"): the Kafka broker
// goes down in the middle of a workload and comes back; the S3 store (s3rver behind the SigV4-checking
// proxy) is unreachable at the start and again in the middle of a workload, then answers 503s; the stream
// writing to S3 is killed with SIGKILL at random moments. While a fault lasts the job keeps running and
// says what is wrong, and what is committed is always a complete prefix; afterwards DuckDB reads the
// files `_spark_metadata` lists and every change of the workload is there exactly once.
#include <gtest/gtest.h>

#include <functional>
#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "fault_components.h"
#include "log/kafka_consumer.h"

namespace cdc::testing {
namespace {

// Regression: KafkaConsumer::Commit used rd_kafka_commit's synchronous mode, which waits for as long as
// the group coordinator is unreachable (forever when the consumer had not reached it before the broker
// went down). The stream then hung in the offset commit of a batch for the whole Kafka outage, serving
// neither librdkafka's error events (its log did not say what was wrong) nor Ctrl-C.
TEST(KafkaConsumerFaultTest, CommitAndCloseReturnWhileTheCoordinatorIsUnreachable) {
  const std::string topic = DebeziumTopics()[0].first;
  MockKafkaBroker kafka;
  kafka.Down();
  log::KafkaConsumerOptions o;
  o.brokers = kafka.Bootstraps();
  o.group_id = "stream-faults";
  o.topics = {topic};
  o.commit_timeout = std::chrono::milliseconds(1000);
  o.properties = {{"session.timeout.ms", "6000"}};  // bounds the close: librdkafka gives up on the group then
  auto created = log::KafkaConsumer::Create(o);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  std::unique_ptr<log::KafkaConsumer> consumer = std::move(*created);
  std::promise<Status> done;
  std::future<Status> result = done.get_future();
  std::thread worker([&] {
    Status st = consumer->Commit({{topic, 0, 5}});
    consumer.reset();  // closing must not wait for the coordinator either
    done.set_value(st);
  });
  bool returned = result.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  if (!returned) kafka.Up();  // lets a stuck commit finish, so that the worker can be joined
  worker.join();
  ASSERT_TRUE(returned) << "Commit or close did not return while Kafka was down";
  Status st = result.get();
  EXPECT_TRUE(st.IsUnavailable()) << st.ToString();
  EXPECT_NE(st.message().find(kafka.Bootstraps()), std::string::npos) << st.ToString();

  // Once the broker is back, a consumer that has joined the group (it receives a message) commits.
  kafka.Up();
  auto produced = RunCommand({"kcat", "-b", kafka.Bootstraps(), "-P", "-t", topic, "-p", "0"}, {}, "back\n");
  ASSERT_EQ(produced.exit_code, 0) << produced.Describe();
  created = log::KafkaConsumer::Create(o);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  consumer = std::move(*created);
  ASSERT_TRUE(WaitFor(
      [&] {
        auto polled = consumer->PollBatch(10, std::chrono::milliseconds(100));
        return polled.ok() && !polled->empty();
      },
      60000));
  st = consumer->Commit({{topic, 0, 1}});
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto committed = consumer->Committed(topic, 0, std::chrono::milliseconds(5000));
  ASSERT_TRUE(committed.ok()) << committed.status().ToString();
  EXPECT_EQ(*committed, 1);
}

// The workload of the fault tests: StartWorkload(3000, 2000, 1000) spread over ~6 s, plus 100 inserts
// made by ChangeWhileDown while the fault lasts (so that the job surely has work it cannot finish), plus
// the 50 of ChangeWhileAnswersLost where a test uses it.
constexpr int kInserts = 3000, kUpdates = 2000, kDeletes = 1000, kInsertsWhileDown = 100, kInsertsWhileLost = 50;

class StreamFaultsTest : public PipelineHarness {
 protected:
  std::unique_ptr<BackgroundProcess> StartPacedWorkload() {
    return StartWorkload(kInserts, kUpdates, kDeletes, /*pause_ms=*/100);
  }
  void ChangeWhileDown() {
    Sql("INSERT INTO klienci SELECT 2000000 + g, 'Awaria', NULL, 'Polska', NULL FROM generate_series(1, " +
        std::to_string(kInsertsWhileDown) + ") g");
  }
  // Changes made after a fault is armed, so that a commit surely meets it (the paced workload may be
  // over by then on a loaded machine).
  void ChangeWhileAnswersLost() {
    Sql("INSERT INTO klienci SELECT 3000000 + g, 'Zguba', NULL, 'Polska', NULL FROM generate_series(1, " +
        std::to_string(kInsertsWhileLost) + ") g");
    extra_inserts_ += kInsertsWhileLost;
  }
  int64_t TotalEvents() const {
    return snapshot_rows_ + kInserts + kInsertsWhileDown + extra_inserts_ + kUpdates + 2 * kDeletes;
  }
  void CheckAllCommittedOnce() {
    CheckWorkload(kInserts + kInsertsWhileDown + extra_inserts_, kUpdates, kDeletes, /*snapshot=*/true);
    ExpectSameRowsAsSource();
  }

  // Replaying the committed events (snapshot reads and creates add a row, deletes remove it) gives
  // exactly the rows PostgreSQL has now, table by table.
  void ExpectSameRowsAsSource() {
    std::map<std::string, std::set<int64_t>> replayed;
    for (const RawRow& r : ReadCommittedRows()) {
      std::string table = r.topic.substr(r.topic.rfind('.') + 1);
      if (r.op == "r" || r.op == "c") replayed[table].insert(r.id);
      if (r.op == "d") replayed[table].erase(r.id);
    }
    for (const auto& [topic, partitions] : DebeziumTopics()) {
      std::string table = topic.substr(topic.rfind('.') + 1);
      std::string ids = Sql("SELECT string_agg(id::text, ',' ORDER BY id) FROM " + table);
      std::string ours;
      for (int64_t id : replayed[table]) {
        if (!ours.empty()) ours += ',';
        ours += std::to_string(id);
      }
      EXPECT_EQ(ours, ids) << table << ": the committed events do not replay to PostgreSQL's rows";
    }
  }

  // While a fault lasts: the job keeps running, and what it has committed is a complete prefix (the
  // files `_spark_metadata` lists exist with their sizes, DuckDB reads them, offsets are contiguous from
  // 0 with no event twice) that lacks what changed during the fault.
  void ExpectCompletePrefixWhileDown(BackgroundProcess& job) {
    EXPECT_TRUE(job.Running()) << job.Log();
    std::vector<RawRow> rows = ReadCommittedRows();
    CheckExactlyOnce(rows, /*contiguous=*/true);
    EXPECT_LT(static_cast<int64_t>(rows.size()), TotalEvents());
  }

  // The only broker goes down in the middle of the workload and comes back after it. `start` starts the
  // job under test (and whatever feeds Kafka) and returns the process whose log is checked.
  void BrokerOutage(const std::function<std::unique_ptr<BackgroundProcess>(const std::string&)>& start) {
    MockKafkaBroker kafka;
    auto job = start(kafka.Bootstraps());
    ASSERT_TRUE(WaitCommittedRows(snapshot_rows_)) << job->Log();
    auto workload = StartPacedWorkload();
    ASSERT_TRUE(WaitCommittedRows(snapshot_rows_ + 300)) << job->Log();  // the workload is flowing

    size_t mark = job->Log().size();
    kafka.Down();
    ChangeWhileDown();
    const std::string down = "cannot reach Kafka at " + kafka.Bootstraps();
    ASSERT_TRUE(WaitFor([&] { return LogSince(*job, mark).find(down) != std::string::npos; }, 60000))
        << "the log does not say that Kafka is unreachable:\n" << LogSince(*job, mark);
    ASSERT_EQ(workload->Wait(120000), 0) << ReadFile(dir_ / "workload.log");
    ExpectCompletePrefixWhileDown(*job);

    kafka.Up();
    ASSERT_TRUE(WaitCommittedRows(TotalEvents())) << LogSince(*job, mark);
    EXPECT_NE(LogSince(*job, mark).find("answers again"), std::string::npos) << LogSince(*job, mark);
    ASSERT_EQ(job->Stop(SIGINT), 0) << job->Log();
    CheckAllCommittedOnce();
  }

  int extra_inserts_ = 0;  // by ChangeWhileAnswersLost
};

// `cdcpipe stream` while the only broker is down: librdkafka reconnects, the stream waits, commits nothing
// partial, and after the broker returns every event is committed exactly once.
TEST_F(StreamFaultsTest, StreamWaitsForBrokerAndCommitsEveryEventOnce) {
  std::unique_ptr<BackgroundProcess> capture;
  BrokerOutage([&](const std::string& brokers) {
    capture = StartCapture(brokers);
    return StartStream(brokers);
  });
}

// The same through `cdcpipe run --brokers` (capture and stream in one process).
TEST_F(StreamFaultsTest, RunWithBrokersWaitsForBrokerAndCommitsEveryEventOnce) {
  BrokerOutage([&](const std::string& brokers) { return StartRun({"--brokers", brokers}); });
}

// Output to S3: s3rver behind the signing proxy, under the prefix "processed-data" of kBucket.
class StreamS3FaultsTest : public WithS3Output<StreamFaultsTest> {
 protected:
  // The secret never appears in a log (the job's own, the proxy's, s3rver's).
  void ExpectNoSecretIn(const std::string& log) {
    EXPECT_EQ(log.find(RestartableS3::kSecret), std::string::npos) << "the S3 secret key is in the log";
  }
};

// The store is unreachable (the proxy is stopped: connection refused) when the stream starts, then
// answers 503 SlowDown for a while, then loses the answers to one commit's `_spark_metadata` PUT after
// s3rver carried it out, then closes every connection without an answer in the middle of the workload:
// the stream waits and retries, its log says what failed (never the secret), nothing partial is
// committed, and after the store is back every event is committed exactly once.
TEST_F(StreamS3FaultsTest, StreamRetriesWhileStoreFailsOrIsUnreachable) {
  std::string brokers = StartKafka();
  auto capture = StartCapture(brokers);

  s3_.StopProxy();
  auto stream = StartStream(brokers);
  ASSERT_TRUE(WaitFor([&] { return stream->Log().find("cannot open the output store") != std::string::npos; }, 60000))
      << stream->Log();
  EXPECT_TRUE(stream->Running()) << stream->Log();
  s3_.StartProxy();
  ASSERT_TRUE(WaitCommittedRows(snapshot_rows_)) << stream->Log() << s3_.last_mirror_error();

  // 15 requests in a row fail with 503 (each S3 request is tried 5 times, then the batch is retried).
  s3_.Admin("fail?count=15&status=503");
  auto workload = StartPacedWorkload();
  ASSERT_TRUE(WaitFor([&] { return s3_.Admin("stats")["injected"] == 15; }, 60000)) << stream->Log();
  ASSERT_TRUE(WaitCommittedRows(snapshot_rows_ + 300)) << stream->Log() << s3_.last_mirror_error();
  EXPECT_NE(stream->Log().find("HTTP 503 SlowDown"), std::string::npos) << stream->Log();

  // Lost answers: s3rver carries out the next `_spark_metadata` PUT (each of the S3 client's 5 tries) but
  // no answer comes back. The raw sink retries the batch, finds the object and recognises its own commit
  // by its bytes (it used to stamp a new modificationTime, take it for another writer's and stop).
  s3_.Admin("lose?count=5&method=PUT&match=_spark_metadata");
  ChangeWhileAnswersLost();
  ASSERT_TRUE(WaitFor([&] { return s3_.Admin("stats")["lost"] == 5; }, 60000)) << stream->Log();
  ASSERT_TRUE(WaitCommittedRows(snapshot_rows_ + 600)) << stream->Log() << s3_.last_mirror_error();
  EXPECT_TRUE(stream->Running()) << stream->Log();

  size_t mark = stream->Log().size();
  s3_.Admin("drop?count=1000000");
  ChangeWhileDown();
  // The batch that meets the outage fails and is retried; the log names the object and the error.
  ASSERT_TRUE(WaitFor([&] { return LogSince(*stream, mark).find("Empty reply from server") != std::string::npos; },
                      60000))
      << LogSince(*stream, mark);
  ASSERT_TRUE(WaitFor([&] { return LogSince(*stream, mark).find("raw-sink: batch ") != std::string::npos; }, 60000))
      << LogSince(*stream, mark);
  std::string outage = LogSince(*stream, mark);
  EXPECT_NE(outage.find("s3://cdc-faults/processed-data/"), std::string::npos) << outage;
  EXPECT_NE(outage.find("retrying in"), std::string::npos) << outage;
  ASSERT_EQ(workload->Wait(120000), 0) << ReadFile(dir_ / "workload.log");
  ExpectCompletePrefixWhileDown(*stream);

  EXPECT_GT(s3_.Admin("stats")["dropped"].get<int>(), 0);
  s3_.Admin("reset");  // the store answers again
  ASSERT_TRUE(WaitCommittedRows(TotalEvents())) << LogSince(*stream, mark) << s3_.last_mirror_error();
  ASSERT_EQ(stream->Stop(SIGINT), 0) << stream->Log();
  CheckAllCommittedOnce();
  ExpectNoSecretIn(stream->Log());
  ExpectNoSecretIn(ReadFile(dir_ / "capture.log"));
}

// Like CrashTest.StreamSurvivesKill9AtRandomMoments, with the output and the checkpoint on S3: 10,000
// changes, the stream killed 3 times, each time after a random number (1-15) of further PUTs reached the
// store, so that the kills land inside the commit protocol (plan, data file, `_spark_metadata`, commit
// record). Small batches keep the PUTs coming while the backlog of each restart is written. (Each restart
// waits for the group rejoin, ~6 s: three kills keep the test near a minute.)
TEST_F(StreamS3FaultsTest, StreamToS3SurvivesKill9InsideTheCommitProtocol) {
  const std::vector<std::string> small_batches = {"--max-batch-rows", "500"};
  std::string brokers = StartKafka();
  auto capture = StartCapture(brokers);
  auto stream = StartStream(brokers, {}, small_batches);
  ASSERT_TRUE(WaitCommittedRows(snapshot_rows_)) << stream->Log() << s3_.last_mirror_error();
  auto puts = [&] { return s3_.Admin("stats")["methods"].value("PUT", 0); };
  auto workload = StartWorkload(5000, 3000, 2000);
  std::uniform_int_distribution<int> more_puts(1, 15);
  for (int kill = 0; kill < 3; ++kill) {
    const int target = puts() + more_puts(rng_);
    ASSERT_TRUE(WaitFor([&] { return puts() >= target; }, 120000)) << "kill " << kill << ":\n" << stream->Log();
    stream->Kill9();
    stream = StartStream(brokers, {}, small_batches);
  }
  ASSERT_EQ(workload->Wait(300000), 0) << ReadFile(dir_ / "workload.log");
  ASSERT_TRUE(WaitCommittedRows(snapshot_rows_ + 5000 + 3000 + 2 * 2000)) << stream->Log();
  ASSERT_EQ(stream->Stop(SIGINT), 0) << stream->Log();
  CheckWorkload(5000, 3000, 2000, /*snapshot=*/true);
  ExpectSameRowsAsSource();
  ExpectNoSecretIn(stream->Log());
}

}  // namespace
}  // namespace cdc::testing
