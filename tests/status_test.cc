// `cdcpipe status` against real components: a private PostgreSQL (PgCluster), the librdkafka mock
// cluster (build/kafka-mock, written to with kcat), a local output directory, and a running HTTP
// server. Every check is seen passing when things are set up and failing, with a hint, when not.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "http/http_server.h"
#include "lake/spark_metadata_log.h"
#include "support/test_env.h"

namespace cdc {
namespace {

using testing::BackgroundProcess;
using testing::CdcpipeBin;
using testing::PgCluster;
using testing::RunCommand;
using testing::TempDir;

struct StatusRun {
  int exit_code;
  nlohmann::json doc;
  std::string text;
  // The check `component/name`, or null.
  nlohmann::json Find(const std::string& component, const std::string& name) const {
    for (const auto& c : doc["checks"])
      if (c["component"] == component && c["check"] == name) return c;
    return nullptr;
  }
};

StatusRun Status(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) {
  std::vector<std::string> argv = {CdcpipeBin(), "status", "--json"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = RunCommand(argv, env);
  StatusRun s{r.exit_code, nlohmann::json::parse(r.out, nullptr, false), r.Describe()};
  EXPECT_FALSE(s.doc.is_discarded()) << r.Describe();
  return s;
}

#define EXPECT_CHECK(run, component, name, ok_value, answer_part)                                     \
  do {                                                                                                 \
    auto c_ = (run).Find(component, name);                                                             \
    ASSERT_FALSE(c_.is_null()) << "no check " << component << "/" << name << "\n" << (run).text;       \
    EXPECT_EQ(c_["ok"], ok_value) << c_.dump();                                                        \
    EXPECT_NE(c_["answer"].get<std::string>().find(answer_part), std::string::npos) << c_.dump();      \
    if (!(ok_value)) {                                                                                 \
      EXPECT_FALSE(c_["hint"].get<std::string>().empty()) << c_.dump();                              \
    }                                                                                                  \
  } while (0)

TEST(StatusPostgres, FailsWithHintsThenPassesOnceSetUp) {
  PgCluster& pg = PgCluster::Shared();
  std::string db = pg.CreateTestDatabase();
  std::string uri = pg.Uri(db);

  // No tables configured and no publication: nothing to name.
  auto none = Status({"--db", uri, "--component", "postgres"});
  EXPECT_EQ(none.exit_code, 7) << none.text;
  EXPECT_CHECK(none, "postgres", "tables", false, "no tables configured");

  auto bare = Status({"--db", uri, "--tables", "klienci,pracownicy,projekty", "--component", "postgres",
                      "--component", "capture"});
  EXPECT_EQ(bare.exit_code, 7) << bare.text;
  EXPECT_EQ(bare.doc["ok"], false);
  EXPECT_CHECK(bare, "postgres", "reachable", true, "PostgreSQL 15");
  EXPECT_CHECK(bare, "postgres", "wal_level", true, "logical");
  EXPECT_CHECK(bare, "postgres", "tables", false, "missing: public.klienci");
  EXPECT_NE(bare.Find("postgres", "tables")["hint"].get<std::string>().find("source.tables"), std::string::npos);
  EXPECT_CHECK(bare, "capture", "publication", false, "does not exist");
  EXPECT_CHECK(bare, "capture", "slot", false, "does not exist");

  auto schema = RunCommand({CdcpipeBin(), "schema", "--apply", "--db", uri});
  ASSERT_EQ(schema.exit_code, 0) << schema.Describe();
  pg.Psql(db, "INSERT INTO klienci (id, nazwa, kraj) VALUES (1, 'Jan Kowalski', 'Polska')");
  pg.Psql(db, "CREATE PUBLICATION cdcpipe FOR TABLE klienci, pracownicy, projekty");
  pg.Psql(db, "SELECT pg_create_logical_replication_slot('cdcpipe', 'pgoutput')");

  // The slot exists but nobody reads it: a stopped capture is a failed check.
  auto idle = Status({"--db", uri, "--component", "capture"});
  EXPECT_EQ(idle.exit_code, 7);
  EXPECT_CHECK(idle, "capture", "publication", true, "public.klienci");
  EXPECT_CHECK(idle, "capture", "slot", false, "inactive");
  EXPECT_TRUE(idle.Find("postgres", "tables").is_null()) << "only the selected component runs";

  // A reader on the slot (pg_recvlogical, as capture would be) makes it active.
  TempDir dir("status-pg");
  auto env = pg.Env(db);
  BackgroundProcess reader({"pg_recvlogical", "-d", db, "--slot", "cdcpipe", "--start", "-o", "proto_version=1", "-o",
                            "publication_names=cdcpipe", "-f", "/dev/null"},
                           dir / "recvlogical.log", env);
  ASSERT_TRUE(testing::WaitFor([&] {
    return pg.Psql(db, "SELECT active FROM pg_replication_slots WHERE slot_name = 'cdcpipe'") == "t";
  }, 30000)) << reader.Log();
  // No tables configured: the publication's, with their row counts.
  auto good = Status({"--db", uri, "--component", "postgres", "--component", "capture"});
  EXPECT_EQ(good.exit_code, 0) << good.text;
  EXPECT_EQ(good.doc["ok"], true);
  EXPECT_CHECK(good, "postgres", "tables", true, "public.klienci 1 rows");
  // The seed's debug tool's name for capture.
  auto debezium = Status({"--db", uri, "--component", "debezium"});
  EXPECT_EQ(debezium.exit_code, 0) << debezium.text;
  EXPECT_CHECK(debezium, "capture", "slot", true, "active");
  EXPECT_CHECK(good, "capture", "slot", true, "active, confirmed LSN ");
  // The text form says the same.
  auto text = RunCommand({CdcpipeBin(), "status", "--db", uri, "--component", "capture"});
  EXPECT_EQ(text.exit_code, 0) << text.Describe();
  EXPECT_NE(text.out.find("all checks passed"), std::string::npos) << text.out;

  reader.Stop(SIGTERM);
  ASSERT_TRUE(testing::WaitFor([&] {
    return pg.Psql(db, "SELECT active FROM pg_replication_slots WHERE slot_name = 'cdcpipe'") == "f";
  }, 30000));
  auto stopped = Status({"--db", uri, "--component", "capture"});
  EXPECT_EQ(stopped.exit_code, 7);
  EXPECT_CHECK(stopped, "capture", "slot", false, "inactive");
  pg.DropSlots(db);

  // Unreachable PostgreSQL: a failed check with a hint, still exit 7 (not a crash or exit 4).
  auto down = Status({"--db", "postgresql://postgres@127.0.0.1:" + std::to_string(testing::FreePort()) + "/x",
                      "--component", "postgres"});
  EXPECT_EQ(down.exit_code, 7);
  EXPECT_CHECK(down, "postgres", "reachable", false, "cannot connect");

  // An unknown component is a usage error: exit 2, naming the ones there are.
  auto unknown = RunCommand({CdcpipeBin(), "status", "--db", uri, "--component", "kafkaa"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.Describe();
  EXPECT_NE(unknown.err.find("debezium"), std::string::npos) << unknown.Describe();
}

TEST(StatusStorage, RawFilesCommittedBatchesAndAnalytics) {
  TempDir out("status-out");
  std::string root = out.path();
  auto missing = Status({"--output", root + "/nope", "--component", "storage"});
  EXPECT_EQ(missing.exit_code, 7);
  EXPECT_CHECK(missing, "storage", "reachable", false, "no such directory");
  EXPECT_FALSE(std::filesystem::exists(root + "/nope")) << "status must not create the output";

  const std::string views = testing::SourceDir() + "/views/seed.sql";
  auto empty = Status({"--output", root, "--component", "storage", "--component", "analytics", "--views", views});
  EXPECT_EQ(empty.exit_code, 7);
  EXPECT_CHECK(empty, "storage", "reachable", true, root);
  EXPECT_CHECK(empty, "storage", "raw files", false, "no committed batch");
  EXPECT_CHECK(empty, "analytics", "klienci-by-country", false, "_SUCCESS not found");
  EXPECT_CHECK(empty, "analytics", "avg-age-by-position", false, "_SUCCESS not found");

  // One committed batch, in the stream's layout (lake/spark_metadata_log.h).
  std::filesystem::create_directories(root + "/raw-kafka-data/_spark_metadata");
  std::string part = "part-00000-0b6c-c000.snappy.parquet";
  testing::WriteFile(root + "/raw-kafka-data/" + part, std::string(2048, 'x'));
  lake::SinkFileStatus entry;
  entry.path = "file://" + root + "/raw-kafka-data/" + part;
  entry.size = 2048;
  testing::WriteFile(root + "/raw-kafka-data/_spark_metadata/0", lake::SparkMetadataLog::Serialize({entry}));
  testing::WriteFile(root + "/raw-kafka-data/_spark_metadata/1", lake::SparkMetadataLog::Serialize({entry}));
  for (const char* dir : {"klienci-by-country", "avg-age-by-position"}) {
    std::filesystem::create_directories(root + "/" + dir);
    testing::WriteFile(root + "/" + dir + "/_SUCCESS",
                       "{\"version\":1,\"files\":[\"part-00000-a-c000.snappy.parquet\"],\"rows\":3,"
                       "\"source_lsn\":\"0/16B3748\",\"raw_batch_id\":1,\"written_at_ms\":" +
                           std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count()) +
                           "}");
  }
  auto good = Status({"--output", root, "--component", "storage", "--component", "analytics", "--views", views});
  EXPECT_EQ(good.exit_code, 0) << good.text;
  EXPECT_CHECK(good, "storage", "raw files", true, "latest committed batch 1");
  EXPECT_CHECK(good, "analytics", "klienci-by-country", true, "source LSN 0/16B3748");
  EXPECT_CHECK(good, "analytics", "avg-age-by-position", true, "3 row(s)");

  // A committed file that vanished is reported.
  std::filesystem::remove(root + "/raw-kafka-data/" + part);
  auto broken = Status({"--output", root, "--component", "storage"});
  EXPECT_EQ(broken.exit_code, 7);
  EXPECT_CHECK(broken, "storage", "raw files", false, "is missing");
}

void CommitOffsets(const std::string& brokers, const std::string& group, const std::string& topic,
                   const std::vector<int64_t>& offsets) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  ASSERT_EQ(rd_kafka_conf_set(conf, "bootstrap.servers", brokers.c_str(), err, sizeof err), RD_KAFKA_CONF_OK);
  ASSERT_EQ(rd_kafka_conf_set(conf, "group.id", group.c_str(), err, sizeof err), RD_KAFKA_CONF_OK);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  ASSERT_NE(rk, nullptr) << err;
  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(4);
  for (size_t p = 0; p < offsets.size(); ++p)
    rd_kafka_topic_partition_list_add(list, topic.c_str(), static_cast<int32_t>(p))->offset = offsets[p];
  EXPECT_EQ(rd_kafka_commit(rk, list, 0), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(list);
  rd_kafka_destroy(rk);
}

TEST(StatusKafka, BrokersTopicsOffsetsAndGroupLag) {
  TempDir dir("status-kafka");
  auto none = Status({"--component", "kafka", "--brokers", "127.0.0.1:" + std::to_string(testing::FreePort())});
  EXPECT_EQ(none.exit_code, 7);
  EXPECT_CHECK(none, "kafka", "brokers", false, "127.0.0.1:");

  BackgroundProcess mock({testing::BinaryDir() + "/kafka-mock", "--topic", "dbserver1.public.klienci:2",
                          "--bootstrap-file", dir / "bootstrap"},
                         dir / "mock.log");
  ASSERT_TRUE(testing::WaitFor([&] { return std::filesystem::exists(dir / "bootstrap"); }, 30000)) << mock.Log();
  std::string brokers = testing::ReadFile(dir / "bootstrap");
  while (!brokers.empty() && (brokers.back() == '\n' || brokers.back() == ' ')) brokers.pop_back();

  std::string input;
  for (int i = 0; i < 6; ++i) input += std::to_string(i) + ":{\"id\":" + std::to_string(i) + "}\n";
  auto produce = RunCommand({"kcat", "-P", "-b", brokers, "-t", "dbserver1.public.klienci", "-K:"}, {}, input);
  ASSERT_EQ(produce.exit_code, 0) << produce.Describe();

  auto before = Status({"--brokers", brokers, "--component", "kafka", "--component", "stream"});
  EXPECT_EQ(before.exit_code, 7) << before.text;
  EXPECT_CHECK(before, "kafka", "brokers", true, "1 broker(s)");
  EXPECT_CHECK(before, "kafka", "topics", true, "dbserver1.public.klienci (2 partition(s), end offset 6)");
  EXPECT_CHECK(before, "stream", "consumer group", false, "committed on 0 of 2 partition(s), lag 6");

  // The stream's group commits everything but one message.
  auto p0 = RunCommand({"kcat", "-C", "-b", brokers, "-t", "dbserver1.public.klienci", "-p", "0", "-e", "-q", "-f", "%o\n"});
  auto p1 = RunCommand({"kcat", "-C", "-b", brokers, "-t", "dbserver1.public.klienci", "-p", "1", "-e", "-q", "-f", "%o\n"});
  int64_t n0 = std::count(p0.out.begin(), p0.out.end(), '\n'), n1 = std::count(p1.out.begin(), p1.out.end(), '\n');
  ASSERT_EQ(n0 + n1, 6) << p0.Describe() << p1.Describe();
  CommitOffsets(brokers, "cdcpipe-stream", "dbserver1.public.klienci", {n0, n1 > 0 ? n1 - 1 : 0});
  auto after = Status({"--brokers", brokers, "--component", "kafka", "--component", "stream"});
  EXPECT_EQ(after.exit_code, 0) << after.text;
  EXPECT_CHECK(after, "stream", "consumer group", true, n1 > 0 ? "lag 1 message(s)" : "lag 0 message(s)");

  // Topics under another prefix are not the capture's.
  auto other = Status({"--brokers", brokers, "--component", "kafka", "--topic-prefix", "elsewhere"});
  EXPECT_EQ(other.exit_code, 7);
  EXPECT_CHECK(other, "kafka", "topics", false, "no topics named elsewhere.*");
}

TEST(StatusHttp, AsksARunningPipeline) {
  jobs::PipelineStateHub hub;
  hub.Update([](jobs::PipelineState& s) {
    s.started_at_ms = 1;
    s.stages = {{"capture", "running", "streaming", 10, 0.1, 0}, {"stream", "failed", "storage gone", 0, 30, 4}};
    s.last_committed_lsn = "0/ABCDEF";
    s.recent_errors = {"stream: PUT raw-kafka-data/part-1: connection refused"};
  });
  http::HttpOptions o;
  o.address = "0.0.0.0:" + std::to_string(testing::FreePort());
  o.token = "tok-123";
  auto server = http::StartHttpServer(o, &hub);
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  std::string addr = "127.0.0.1:" + std::to_string((*server)->port());

  auto ok = Status({"--http", addr, "--component", "capture"}, {{"CDCPIPE_HTTP_TOKEN", "tok-123"}});
  EXPECT_EQ(ok.exit_code, 0) << ok.text;
  EXPECT_CHECK(ok, "pipeline", "http", true, "last committed LSN 0/ABCDEF");
  EXPECT_CHECK(ok, "capture", "stage", true, "running");

  auto bad = Status({"--http", addr, "--component", "stream"}, {{"CDCPIPE_HTTP_TOKEN", "tok-123"}});
  EXPECT_EQ(bad.exit_code, 7);
  EXPECT_CHECK(bad, "stream", "stage", false, "failed");
  EXPECT_NE(bad.Find("stream", "stage")["hint"].get<std::string>().find("connection refused"), std::string::npos);

  auto no_token = Status({"--http", addr, "--component", "capture"});
  EXPECT_EQ(no_token.exit_code, 7);
  EXPECT_CHECK(no_token, "pipeline", "http", false, "401");

  (*server)->Stop();
  auto gone = Status({"--http", addr, "--component", "capture"});
  EXPECT_EQ(gone.exit_code, 7);
  EXPECT_CHECK(gone, "pipeline", "http", false, "");
}

}  // namespace
}  // namespace cdc
