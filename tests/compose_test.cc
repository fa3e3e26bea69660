// docker-compose.yml, the config file its cdcpipe services mount (deploy/cdcpipe.compose.yaml) and
// the Dockerfile checked against the binary by tests/node/compose_check.mjs (npm `yaml`): services
// referenced exist, every cdcpipe flag is one `cdcpipe <cmd> --help` lists, every cdcpipe service
// mounts the config read-only with $CDCPIPE_CONFIG pointing at it, `cdcpipe config` accepts it, the
// hosts/ports/credentials in the compose file and the config agree, the config holds no password,
// ordering is by health checks, the image installs what the binary links. No Docker engine runs
// here, so the compose file itself is not started (docs/OPERATIONS.md). The mutations prove the
// checker can fail.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/test_env.h"

namespace cdc {
namespace {

using testing::CdcpipeBin;
using testing::ReadFile;
using testing::RunNode;
using testing::SourceDir;
using testing::TempDir;
using testing::WriteFile;

constexpr const char* kConfigPath = "deploy/cdcpipe.compose.yaml";  // as docker-compose.yml mounts it

std::string Compose() { return ReadFile(SourceDir() + "/docker-compose.yml"); }
std::string Dockerfile() { return ReadFile(SourceDir() + "/Dockerfile"); }
std::string Config() { return ReadFile(SourceDir() + "/" + kConfigPath); }

// The three files laid out as in the repository, in a fresh directory.
testing::CommandResult Check(const std::string& compose, const std::string& dockerfile, const std::string& config) {
  TempDir dir("compose-check");
  std::filesystem::create_directories(std::filesystem::path(dir / kConfigPath).parent_path());
  WriteFile(dir / "docker-compose.yml", compose);
  WriteFile(dir / "Dockerfile", dockerfile);
  WriteFile(dir / kConfigPath, config);
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
  EXPECT_NE(r.out.find("config ./deploy/cdcpipe.compose.yaml mounted by 5 services"), std::string::npos) << r.out;
}

TEST(Compose, TheShippedConfigIsValidAndHoldsNoSecret) {
  auto r = testing::RunCommand({CdcpipeBin(), "config", "--config", SourceDir() + "/" + kConfigPath});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.out.find("url: \"postgresql://cdcpipe@postgres:5432/cdcpipe\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("brokers: [\"kafka:9092\"]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("root: \"s3://processed-data\""), std::string::npos) << r.out;
  EXPECT_EQ(Config().find("minioadmin"), std::string::npos);
}

enum class File { kCompose, kConfig, kDockerfile };

struct Mutation {
  const char* what;
  File file;
  const char* from;
  const char* to;
  const char* expected;  // part of the problem line
};

TEST(Compose, MutationsAreCaught) {
  const Mutation mutations[] = {
      // docker-compose.yml
      {"unknown flag", File::kCompose, "cdcpipe batch --top 0", "cdcpipe batch --topp 0", "flag --topp is not accepted"},
      {"unknown subcommand", File::kCompose, "command: [\"stream\"]", "command: [\"streem\"]", "no subcommand 'streem'"},
      {"missing service", File::kCompose,
       "      minio-init:\n        condition: service_completed_successfully\n    environment:\n      <<: [*config-env, *s3-env]",
       "      minio-setup:\n        condition: service_completed_successfully\n    environment:\n      <<: [*config-env, *s3-env]",
       "unknown service 'minio-setup'"},
      {"wrong broker port in a flag", File::kCompose, "command: [\"capture\"]",
       "command: [\"capture\", \"--brokers\", \"kafka:29092\"]", "--brokers uses kafka:29092"},
      {"wrong password", File::kCompose, "POSTGRES_PASSWORD: cdcpipe", "POSTGRES_PASSWORD: other",
       "PGPASSWORD differs from POSTGRES_PASSWORD"},
      {"wrong PGPASSWORD", File::kCompose, "PGPASSWORD: cdcpipe", "PGPASSWORD: other", "PGPASSWORD differs from POSTGRES_PASSWORD"},
      {"no PGPASSWORD", File::kCompose, "<<: [*config-env, *pg-env, *s3-env]\n    command: [\"capture\"]",
       "<<: [*config-env, *s3-env]\n    command: [\"capture\"]", "capture (command): cdcpipe capture: no database password"},
      {"wrong S3 secret", File::kCompose, "MINIO_ROOT_PASSWORD: minioadmin-secret\n    ports", "MINIO_ROOT_PASSWORD: changed\n    ports",
       "AWS_SECRET_ACCESS_KEY differs"},
      {"no logical WAL", File::kCompose, "wal_level=logical", "wal_level=replica", "wal_level=logical"},
      {"start-order-only dependency", File::kCompose, "condition: service_healthy\n      minio-init:",
       "condition: service_started\n      minio-init:", "only waits for a start"},
      {"capture writes its state to the bucket before it exists", File::kCompose,
       "      minio-init:\n        condition: service_completed_successfully\n    environment:\n      <<: [*config-env, *pg-env, *s3-env]",
       "    environment:\n      <<: [*config-env, *pg-env, *s3-env]",
       "capture: uses bucket processed-data without depending on the service that creates it"},
      {"ZooKeeper", File::kCompose, "KAFKA_NODE_ID: 1", "KAFKA_ZOOKEEPER_CONNECT: zk:2181\n      KAFKA_NODE_ID: 1", "ZooKeeper"},
      {"bucket not created", File::kCompose, "local/processed-data", "local/other-bucket", "s3://processed-data, which no service creates"},
      {"bad --component", File::kCompose, "\"--component\", \"capture\"", "\"--component\", \"kapture\"", "--component kapture"},
      {"config not mounted in one service", File::kCompose, "  stream:\n    <<: *cdcpipe", "  stream:\n    image: cdcpipe:latest",
       "stream: CDCPIPE_CONFIG is /etc/cdcpipe/cdcpipe.yaml, but no volume is mounted there"},
      {"CDCPIPE_CONFIG not set", File::kCompose, "<<: [*config-env, *pg-env, *s3-env]\n      BATCH_INTERVAL_SECONDS",
       "<<: [*pg-env, *s3-env]\n      BATCH_INTERVAL_SECONDS", "batch: CDCPIPE_CONFIG is not set"},
      // batch reads the captured tables' catalog to check the views file.
      {"batch without the database password", File::kCompose, "<<: [*config-env, *pg-env, *s3-env]\n      BATCH_INTERVAL_SECONDS",
       "<<: [*config-env, *s3-env]\n      BATCH_INTERVAL_SECONDS", "batch (entrypoint): cdcpipe batch: no database password"},
      {"CDCPIPE_CONFIG elsewhere than the mount", File::kCompose, "CDCPIPE_CONFIG: /etc/cdcpipe/cdcpipe.yaml",
       "CDCPIPE_CONFIG: /etc/cdcpipe.yaml", "CDCPIPE_CONFIG is /etc/cdcpipe.yaml, but no volume is mounted there"},
      {"config mounted writable", File::kCompose, "/etc/cdcpipe/cdcpipe.yaml:ro", "/etc/cdcpipe/cdcpipe.yaml",
       "without :ro (read-only)"},
      {"config file not in the repository", File::kCompose, "./deploy/cdcpipe.compose.yaml:", "./deploy/cdcpipe.yml:",
       "mounts ./deploy/cdcpipe.yml at /etc/cdcpipe/cdcpipe.yaml, which does not exist in the repository"},
      // deploy/cdcpipe.compose.yaml
      {"wrong broker port in the config", File::kConfig, "brokers: [kafka:9092]", "brokers: [kafka:29092]",
       "kafka.brokers (./deploy/cdcpipe.compose.yaml) uses kafka:29092, but kafka listens on 9092"},
      {"wrong database port in the config", File::kConfig, "@postgres:5432/", "@postgres:5433/",
       "source.url (./deploy/cdcpipe.compose.yaml) uses postgres:5433"},
      {"wrong database user in the config", File::kConfig, "postgresql://cdcpipe@", "postgresql://app@",
       "source.url (./deploy/cdcpipe.compose.yaml) user app is not POSTGRES_USER"},
      {"wrong MinIO port in the config", File::kConfig, "s3_endpoint: http://minio:9000", "s3_endpoint: http://minio:9001",
       "output.s3_endpoint (./deploy/cdcpipe.compose.yaml) uses minio:9001"},
      {"no S3 endpoint in the config", File::kConfig, "  s3_endpoint: http://minio:9000\n", "",
       "s3://processed-data without an S3 endpoint"},
      {"bucket in the config not created", File::kConfig, "root: s3://processed-data", "root: s3://raw-data",
       "output.root (./deploy/cdcpipe.compose.yaml) is s3://raw-data, which no service creates"},
      {"password in source.url", File::kConfig, "postgresql://cdcpipe@", "postgresql://cdcpipe:cdcpipe@",
       "source.url holds a password"},
      {"unknown key in the config", File::kConfig, "  slot: cdcpipe", "  slots: cdcpipe",
       "exits 2: cdcpipe config: Invalid argument: ./deploy/cdcpipe.compose.yaml:10:3: unknown key 'slots' in section 'source'"},
      {"status would ask a pipeline that is not there", File::kConfig, "listen: off", "listen: 0.0.0.0:8080",
       "http.listen is 0.0.0.0:8080, but no service runs `cdcpipe run`"},
      // Dockerfile
      {"root user", File::kDockerfile, "USER cdcpipe:cdcpipe", "USER root", "non-root"},
      {"not Debian 12", File::kDockerfile, "FROM debian:12 AS build", "FROM ubuntu:24.04 AS build", "Debian 12"},
      {"a linked library missing from the image", File::kDockerfile, " libsimdjson14 ", " ",
       "the runtime stage does not install libsimdjson14"},
  };
  for (const auto& m : mutations) {
    SCOPED_TRACE(m.what);
    std::string compose = Compose(), dockerfile = Dockerfile(), config = Config();
    std::string& target = m.file == File::kCompose ? compose : m.file == File::kConfig ? config : dockerfile;
    target = Replace(target, m.from, m.to);
    auto r = Check(compose, dockerfile, config);
    EXPECT_EQ(r.exit_code, 1) << r.Describe();
    EXPECT_NE(r.out.find(m.expected), std::string::npos) << r.Describe();
  }
}

}  // namespace
}  // namespace cdc
