// docker-compose.yml and the Dockerfile checked against the binary by tests/node/compose_check.mjs
// (npm `yaml`): services referenced exist, every cdcpipe flag is one `cdcpipe <cmd> --help` lists,
// hosts/ports/credentials agree, ordering is by health checks. No Docker engine runs here, so the
// compose file itself is not started (docs/OPERATIONS.md). The mutations prove the checker can fail.
#include <gtest/gtest.h>

#include "support/test_env.h"

namespace cdc {
namespace {

using testing::CdcpipeBin;
using testing::ReadFile;
using testing::RunNode;
using testing::SourceDir;
using testing::TempDir;
using testing::WriteFile;

std::string Compose() { return ReadFile(SourceDir() + "/docker-compose.yml"); }
std::string Dockerfile() { return ReadFile(SourceDir() + "/Dockerfile"); }

testing::CommandResult Check(const std::string& compose, const std::string& dockerfile) {
  TempDir dir("compose-check");
  WriteFile(dir / "docker-compose.yml", compose);
  WriteFile(dir / "Dockerfile", dockerfile);
  return RunNode("compose_check.mjs", {CdcpipeBin(), dir / "docker-compose.yml", dir / "Dockerfile"});
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "the mutation target vanished from the file: " << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(Compose, TheShippedFilesPass) {
  auto r = RunNode("compose_check.mjs",
                   {CdcpipeBin(), SourceDir() + "/docker-compose.yml", SourceDir() + "/Dockerfile"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.out.find("capture"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("stream"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("batch"), std::string::npos) << r.out;
}

struct Mutation {
  const char* what;
  const char* from;
  const char* to;
  const char* expected;  // part of the problem line
};

TEST(Compose, MutationsAreCaught) {
  const Mutation mutations[] = {
      {"unknown flag", "\"--trigger\", \"1s\"", "\"--triger\", \"1s\"", "flag --triger is not accepted"},
      {"unknown subcommand", "[\"stream\", \"--brokers\"", "[\"streem\", \"--brokers\"", "no subcommand 'streem'"},
      {"missing service", "      minio-init:\n        condition: service_completed_successfully\n    environment: *s3-env",
       "      minio-setup:\n        condition: service_completed_successfully\n    environment: *s3-env",
       "unknown service 'minio-setup'"},
      {"wrong broker port", "\"capture\", \"--brokers\", \"kafka:9092\"", "\"capture\", \"--brokers\", \"kafka:29092\"",
       "kafka:29092"},
      {"wrong password", "POSTGRES_PASSWORD: cdcpipe", "POSTGRES_PASSWORD: other", "POSTGRES_PASSWORD"},
      {"wrong S3 secret", "MINIO_ROOT_PASSWORD: minioadmin-secret\n    ports", "MINIO_ROOT_PASSWORD: changed\n    ports",
       "AWS_SECRET_ACCESS_KEY differs"},
      {"no logical WAL", "wal_level=logical", "wal_level=replica", "wal_level=logical"},
      {"start-order-only dependency", "condition: service_healthy\n      minio-init:", "condition: service_started\n      minio-init:",
       "only waits for a start"},
      {"ZooKeeper", "KAFKA_NODE_ID: 1", "KAFKA_ZOOKEEPER_CONNECT: zk:2181\n      KAFKA_NODE_ID: 1", "ZooKeeper"},
      {"bucket not created", "local/processed-data", "local/other-bucket", "processed-data"},
      {"bad --component", "\"--component\", \"capture\"", "\"--component\", \"kapture\"", "--component kapture"},
  };
  for (const auto& m : mutations) {
    SCOPED_TRACE(m.what);
    auto r = Check(Replace(Compose(), m.from, m.to), Dockerfile());
    EXPECT_EQ(r.exit_code, 1) << r.Describe();
    EXPECT_NE(r.out.find(m.expected), std::string::npos) << r.Describe();
  }
  auto root = Check(Compose(), Replace(Dockerfile(), "USER cdcpipe:cdcpipe", "USER root"));
  EXPECT_EQ(root.exit_code, 1);
  EXPECT_NE(root.out.find("non-root"), std::string::npos) << root.Describe();
  auto single = Check(Compose(), Replace(Dockerfile(), "FROM debian:12 AS build", "FROM ubuntu:24.04 AS build"));
  EXPECT_EQ(single.exit_code, 1);
  EXPECT_NE(single.out.find("Debian 12"), std::string::npos) << single.Describe();
}

}  // namespace
}  // namespace cdc
