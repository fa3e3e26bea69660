// kafka-mock: runs librdkafka's mock Kafka cluster (real Kafka protocol on loopback ports) until
// SIGINT/SIGTERM, for tests, demos and benchmarks.
//
//   kafka-mock [--brokers N] [--topic NAME:PARTITIONS ...] [--bootstrap-file PATH]
//
// The first line on stdout is the bootstrap server list ("127.0.0.1:PORT,..."); the same line is
// written to --bootstrap-file (atomically: written to PATH.tmp, then renamed) when given.
//
// Real Kafka brokers set TCP_NODELAY on every connection they accept; librdkafka's mock brokers do
// not, so Nagle's algorithm holds the second of two back-to-back small responses until the client's
// delayed ACK (20-40 ms), a delay real Kafka does not have. This program therefore defines accept()
// and accept4() itself: the mock cluster inside librdkafka.so resolves them to these, which set
// TCP_NODELAY on each accepted socket.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

extern "C" int accept4(int fd, sockaddr* addr, socklen_t* len, int flags) {
  int s = static_cast<int>(syscall(SYS_accept4, fd, addr, len, flags));
  if (s >= 0) {
    int one = 1;
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // best effort: a Unix socket refuses it
  }
  return s;
}

extern "C" int accept(int fd, sockaddr* addr, socklen_t* len) { return accept4(fd, addr, len, 0); }

namespace {

volatile std::sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

int Usage(const char* msg) {
  std::fprintf(stderr,
               "kafka-mock: %s\nusage: kafka-mock [--brokers N] [--topic NAME:PARTITIONS ...] [--bootstrap-file PATH]\n",
               msg);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int brokers = 1;
  std::vector<std::pair<std::string, int>> topics;
  std::string bootstrap_file;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (a == "--brokers") {
      const char* v = next();
      if (!v || (brokers = std::atoi(v)) < 1) return Usage("--brokers needs a number >= 1");
    } else if (a == "--topic") {
      const char* v = next();
      if (!v) return Usage("--topic needs NAME:PARTITIONS");
      std::string t = v;
      size_t colon = t.rfind(':');
      int parts = colon == std::string::npos ? 1 : std::atoi(t.c_str() + colon + 1);
      if (parts < 1 || colon == 0) return Usage("--topic needs NAME:PARTITIONS with PARTITIONS >= 1");
      topics.emplace_back(t.substr(0, colon), parts);
    } else if (a == "--bootstrap-file") {
      const char* v = next();
      if (!v) return Usage("--bootstrap-file needs a path");
      bootstrap_file = v;
    } else if (a == "-h" || a == "--help") {
      Usage("starts librdkafka's mock Kafka cluster");
      return 0;
    } else {
      return Usage(("unknown argument " + a).c_str());
    }
  }

  char errstr[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // The mock cluster lives inside a client handle; this one never produces.
  if (rd_kafka_conf_set(conf, "client.id", "kafka-mock", errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    std::fprintf(stderr, "kafka-mock: %s\n", errstr);
    return 1;
  }
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
  if (!rk) {
    std::fprintf(stderr, "kafka-mock: cannot create the client that hosts the mock cluster: %s\n", errstr);
    return 1;
  }
  rd_kafka_mock_cluster_t* mcluster = rd_kafka_mock_cluster_new(rk, brokers);
  if (!mcluster) {
    std::fprintf(stderr, "kafka-mock: cannot start the mock cluster (%d brokers)\n", brokers);
    rd_kafka_destroy(rk);
    return 1;
  }
  for (const auto& [name, parts] : topics) {
    rd_kafka_resp_err_t err =
        rd_kafka_mock_topic_create(mcluster, name.c_str(), parts, brokers < 3 ? brokers : 3);
    if (err) {
      std::fprintf(stderr, "kafka-mock: cannot create topic %s: %s\n", name.c_str(), rd_kafka_err2str(err));
      return 1;
    }
  }
  std::string bootstraps = rd_kafka_mock_cluster_bootstraps(mcluster);
  std::printf("%s\n", bootstraps.c_str());
  std::fflush(stdout);
  if (!bootstrap_file.empty()) {
    std::string tmp = bootstrap_file + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "w");
    if (!f || std::fprintf(f, "%s\n", bootstraps.c_str()) < 0 || std::fclose(f) != 0 ||
        std::rename(tmp.c_str(), bootstrap_file.c_str()) != 0) {
      std::fprintf(stderr, "kafka-mock: cannot write %s: %s\n", bootstrap_file.c_str(), std::strerror(errno));
      return 1;
    }
  }
  std::fprintf(stderr, "kafka-mock: %d broker(s) at %s; stop with SIGINT or SIGTERM\n", brokers, bootstraps.c_str());

  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  while (!g_stop) usleep(100 * 1000);

  rd_kafka_mock_cluster_destroy(mcluster);
  rd_kafka_destroy(rk);
  return 0;
}
