// Fault-injectable components shared by the fault tests (stream_faults_test, fault_harness_test): an
// in-process librdkafka mock broker that can go down and up, and s3rver behind the SigV4-checking proxy
// whose admin API injects S3 faults.
#pragma once

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "stream_harness.h"

namespace cdc::testing {

// The log of `p` written after `mark` (a size of the log taken earlier).
inline std::string LogSince(const BackgroundProcess& p, size_t mark) {
  std::string log = p.Log();
  return mark < log.size() ? log.substr(mark) : std::string();
}

// librdkafka's mock cluster (one broker) inside this test process, with the Debezium topics, so that the
// test can take the broker down and bring it back (rd_kafka_mock_broker_set_down/up: connections are
// closed and new ones refused). cdcpipe, in its own process, talks to it over TCP like to any broker.
class MockKafkaBroker {
 public:
  MockKafkaBroker() {
    char err[512];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);  // not the host client's "no bootstrap.servers"
    host_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
    EXPECT_NE(host_, nullptr) << err;
    cluster_ = rd_kafka_mock_cluster_new(host_, 1);
    EXPECT_NE(cluster_, nullptr);
    for (const auto& [topic, partitions] : DebeziumTopics()) {
      EXPECT_EQ(rd_kafka_mock_topic_create(cluster_, topic.c_str(), partitions, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
    }
  }
  ~MockKafkaBroker() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(host_);
  }
  MockKafkaBroker(const MockKafkaBroker&) = delete;
  MockKafkaBroker& operator=(const MockKafkaBroker&) = delete;

  std::string Bootstraps() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  void Down() { EXPECT_EQ(rd_kafka_mock_broker_set_down(cluster_, kBrokerId), RD_KAFKA_RESP_ERR_NO_ERROR); }
  void Up() { EXPECT_EQ(rd_kafka_mock_broker_set_up(cluster_, kBrokerId), RD_KAFKA_RESP_ERR_NO_ERROR); }
  // Holds back every answer of the broker for `ms` (rd_kafka_mock_broker_set_rtt): with a large value
  // the broker hangs (its connections stay open, requests are read, nothing is answered); 0 answers at
  // once again.
  void SetRtt(int ms) { EXPECT_EQ(rd_kafka_mock_broker_set_rtt(cluster_, kBrokerId, ms), RD_KAFKA_RESP_ERR_NO_ERROR); }

 private:
  static constexpr int32_t kBrokerId = 1;  // the mock numbers its brokers from 1
  rd_kafka_t* host_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

// s3rver (npm) and tests/node/sigv4_proxy.mjs in front of it, each on a fixed port so that the proxy —
// the endpoint cdcpipe talks to — can be stopped (the store becomes unreachable: connection refused) and
// started again. The proxy checks every signature against kSecret (s3rver itself accepts any).
class RestartableS3 {
 public:
  static constexpr char kBucket[] = "cdc-faults";
  static constexpr char kAccessKey[] = "S3RVER";
  static constexpr char kSecret[] = "fault-test-secret-7d41c2e9b0";

  explicit RestartableS3(const std::string& dir) : dir_(dir), s3rver_port_(FreePort()), proxy_port_(FreePort()) {
    while (proxy_port_ == s3rver_port_) proxy_port_ = FreePort();
    // --openssl-legacy-provider: s3rver encrypts list continuation tokens with DES (see store_s3_test.cc).
    Launch(&s3rver_, "s3rver.log",
           {"node", "--openssl-legacy-provider", NodeModulesDir() + "/s3rver/bin/s3rver.js", "-d", dir_ + "/s3-data",
            "-a", "127.0.0.1", "-p", std::to_string(s3rver_port_), "--configure-bucket", kBucket, "--silent"});
    StartProxy();
  }

  std::string Endpoint() const { return "http://127.0.0.1:" + std::to_string(proxy_port_); }
  void StartProxy() {
    Launch(&proxy_, "proxy.log",
           {"node", SourceDir() + "/tests/node/sigv4_proxy.mjs", "--port", std::to_string(proxy_port_), "--upstream",
            "http://127.0.0.1:" + std::to_string(s3rver_port_), "--access-key", kAccessKey, "--secret", kSecret});
  }
  void StopProxy() { proxy_->Kill9(); }
  bool ProxyRunning() { return proxy_ && proxy_->Running(); }

  // The proxy's admin API (see sigv4_proxy.mjs): "stats", "fail?count=N&status=503", ...
  nlohmann::json Admin(const std::string& what) {
    CommandResult r =
        RunCommand({"curl", "-sS", "-X", what == "stats" ? "GET" : "POST", Endpoint() + "/__proxy/" + what});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    return r.exit_code == 0 ? nlohmann::json::parse(r.out) : nlohmann::json::object();
  }

  // Copies the objects under `prefix` into `out_dir` with the MinIO client, straight from s3rver (so it
  // works while the proxy is down). False when it failed or the objects kept changing (a poll retries).
  bool Mirror(const std::string& prefix, const std::string& out_dir) {
    CommandResult r =
        RunNode("s3_mirror.mjs", {"--endpoint", "http://127.0.0.1:" + std::to_string(s3rver_port_), "--access-key",
                                  kAccessKey, "--secret", kSecret, kBucket, prefix, out_dir});
    last_mirror_error_ = r.exit_code == 0 ? "" : r.Describe();
    return r.exit_code == 0;
  }
  const std::string& last_mirror_error() const { return last_mirror_error_; }
  std::string Logs() const { return s3rver_->Log() + proxy_->Log(); }

 private:
  // Starts a Node server and waits for the "listening" it prints (in the part of its log written by this run).
  void Launch(std::unique_ptr<BackgroundProcess>* proc, const std::string& log, const std::vector<std::string>& argv) {
    size_t mark = ReadFile(dir_ + "/" + log).size();
    *proc = std::make_unique<BackgroundProcess>(argv, dir_ + "/" + log,
                                                std::map<std::string, std::string>{{"NODE_PATH", NodeModulesDir()}});
    BackgroundProcess& p = **proc;
    EXPECT_TRUE(WaitFor([&] { return LogSince(p, mark).find("listening") != std::string::npos; }, 30000))
        << log << ": did not start:\n"
        << p.Log();
  }

  std::string dir_;
  int s3rver_port_, proxy_port_;
  std::unique_ptr<BackgroundProcess> s3rver_, proxy_;
  std::string last_mirror_error_;
};

// A PipelineHarness fixture (Base) whose `run` and `stream` write to S3: RestartableS3 s3_, under the
// prefix "processed-data" of its bucket. At the end every request cdcpipe sent since the proxy last
// started must have been correctly signed.
template <typename Base>
class WithS3Output : public Base {
 protected:
  using typename Base::CommittedOutput;
  std::vector<std::string> OutputArgs() override {
    return {"--output", std::string("s3://") + RestartableS3::kBucket + "/processed-data", "--s3-endpoint",
            s3_.Endpoint()};
  }
  std::map<std::string, std::string> OutputEnv() override {
    return {{"AWS_ACCESS_KEY_ID", RestartableS3::kAccessKey},
            {"AWS_SECRET_ACCESS_KEY", RestartableS3::kSecret},
            {"AWS_REGION", "us-east-1"}};
  }
  // A fresh copy of the bucket's raw-kafka-data/ (DuckDB cannot read s3:// here).
  CommittedOutput Committed() override {
    std::string root = this->dir_ / "mirror";
    if (!s3_.Mirror("processed-data/raw-kafka-data/", root + "/raw-kafka-data")) return {};
    return {root, std::string("s3a://") + RestartableS3::kBucket + "/processed-data/raw-kafka-data/"};
  }
  void TearDown() override {
    if (s3_.ProxyRunning()) {
      EXPECT_EQ(s3_.Admin("stats")["rejected"], 0) << s3_.Logs();
    }
    Base::TearDown();
  }

  RestartableS3 s3_{this->dir_.path()};
};

}  // namespace cdc::testing
