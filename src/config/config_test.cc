#include "config/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace cdc::config {
namespace {

namespace fs = std::filesystem;

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("cdcpipe_config_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    for (const char* v : {"CDCPIPE_CONFIG", "CDCPIPE_DB", "CDCPIPE_S3_ENDPOINT", "CDCPIPE_BROKERS",
                          "CDCPIPE_HTTP_TOKEN", "PGPASSWORD"})
      ::unsetenv(v);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = (dir_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  // Parses `args` for a subcommand with every flag group, then resolves.
  Result<Config> Parse(std::vector<std::string> args) {
    CLI::App app;
    auto* sub = app.add_subcommand("run");
    Flags flags(sub, {Group::kDatabase, Group::kCapture, Group::kEvents, Group::kKafka, Group::kConsumer,
                      Group::kOutput, Group::kWriter, Group::kHttp});
    std::vector<std::string> argv = {"cdcpipe", "run"};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> raw;
    for (auto& a : argv) raw.push_back(a.data());
    app.parse(static_cast<int>(raw.size()), raw.data());
    return flags.Resolve();
  }

  // The message of the error LoadFile gives for a file holding `yaml`.
  std::string ErrorFor(const std::string& yaml) {
    auto c = LoadFile(Write("bad.yaml", yaml));
    EXPECT_FALSE(c.ok()) << yaml;
    if (c.ok()) return "";
    EXPECT_TRUE(c.status().IsInvalidArgument());
    return c.status().message();
  }

  fs::path dir_;
};

TEST_F(ConfigTest, DefaultsAreWrittenOnceAndValid) {
  Config c = Config::Defaults();
  EXPECT_EQ(c.source.slot, "cdcpipe");
  EXPECT_EQ(c.source.publication, "cdcpipe");
  EXPECT_TRUE(c.source.create_publication);
  EXPECT_FALSE(c.source.replica_identity_full);
  EXPECT_TRUE(c.source.tables.empty());
  EXPECT_EQ(c.source.snapshot, "initial");
  EXPECT_EQ(c.source.heartbeat.count(), 10000);
  EXPECT_EQ(c.kafka.topic_prefix, "dbserver1");
  EXPECT_EQ(c.kafka.group, "cdcpipe-stream");
  EXPECT_EQ(c.output.root, "./data/processed-data");
  EXPECT_EQ(c.output.compression, "snappy");
  EXPECT_EQ(c.output.trigger.count(), 1000);
  EXPECT_EQ(c.output.max_batch_rows, 10000u);
  EXPECT_EQ(c.http.listen, "127.0.0.1:8080");
  EXPECT_TRUE(c.Embedded());
  EXPECT_EQ(c.TopicPattern(), "^dbserver1\\..*");
  EXPECT_EQ(c.CaptureStateUri(), "./data/processed-data/_checkpoints/capture");
  for (const auto& key : AllKeys()) EXPECT_EQ(c.Origin(key), "default") << key;
  // An empty file is every default too.
  auto empty = LoadFile(Write("empty.yaml", ""));
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(empty->source.slot, "cdcpipe");
}

TEST_F(ConfigTest, FileValuesAndTheirOrigins) {
  std::string path = Write("cdcpipe.yaml",
                           "source:\n"
                           "  url: postgresql://app@db:5432/shop\n"
                           "  tables: [public.orders, public.customers]\n"
                           "  slot: shop_slot\n"
                           "  create_publication: false\n"
                           "  replica_identity_full: true\n"
                           "  snapshot: never\n"
                           "  heartbeat: 0\n"
                           "kafka:\n"
                           "  brokers:\n"
                           "    - kafka1:9092\n"
                           "    - kafka2:9092\n"
                           "  topic_prefix: shop\n"
                           "  properties: {compression.type: zstd, linger.ms: 5}\n"
                           "output:\n"
                           "  root: s3://lake/cdc\n"
                           "  trigger: 250ms\n"
                           "  max_batch_rows: 500\n"
                           "http:\n"
                           "  listen: off\n");
  auto c = LoadFile(path);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->source.url, "postgresql://app@db:5432/shop");
  EXPECT_EQ(c->source.tables, (std::vector<std::string>{"public.orders", "public.customers"}));
  EXPECT_EQ(c->source.slot, "shop_slot");
  EXPECT_FALSE(c->source.create_publication);
  EXPECT_TRUE(c->source.replica_identity_full);
  EXPECT_EQ(c->source.snapshot, "never");
  EXPECT_EQ(c->source.heartbeat.count(), 0);
  EXPECT_EQ(c->BrokerList(), "kafka1:9092,kafka2:9092");
  EXPECT_FALSE(c->Embedded());
  EXPECT_EQ(c->TopicPattern(), "^shop\\..*");
  EXPECT_EQ(c->kafka.properties.at("compression.type"), "zstd");
  EXPECT_EQ(c->kafka.properties.at("linger.ms"), "5");
  EXPECT_EQ(c->output.root, "s3://lake/cdc");
  EXPECT_EQ(c->CaptureStateUri(), "s3://lake/cdc/_checkpoints/capture");
  EXPECT_EQ(c->output.trigger.count(), 250);
  EXPECT_EQ(c->output.max_batch_rows, 500u);
  EXPECT_EQ(c->http.listen, "off");
  EXPECT_EQ(c->Origin("source.slot"), path + ":4:9");
  EXPECT_EQ(c->Origin("kafka.brokers"), path + ":11:5");
  EXPECT_EQ(c->Origin("source.publication"), "default");
}

TEST_F(ConfigTest, BadConfigCorpusNamesFileLineKeyAndWhatIsAllowed) {
  struct Case {
    std::string yaml;
    std::vector<std::string> expected;  // substrings of the one error
  };
  const Case cases[] = {
      {"source:\n  slots: x\n", {"bad.yaml:2:3", "unknown key 'slots'", "did you mean 'slot'?", "allowed:"}},
      {"sorce:\n  slot: x\n", {"bad.yaml:1:1", "unknown section 'sorce'", "did you mean 'source'?"}},
      {"output:\n  slot: x\n", {"bad.yaml:2:3", "unknown key 'slot'", "did you mean 'source.slot'?"}},
      {"source:\n  heartbeat: soon\n", {"bad.yaml:2:14", "source.heartbeat", "'soon'", "duration"}},
      {"output:\n  trigger: 0s\n", {"bad.yaml:2:12", "output.trigger", "positive"}},
      {"output:\n  max_batch_rows: -5\n", {"bad.yaml:2:19", "output.max_batch_rows", "whole number"}},
      {"source:\n  create_publication: maybe\n", {"bad.yaml:2:23", "source.create_publication", "true or false"}},
      {"source:\n  snapshot: sometimes\n", {"bad.yaml:2:13", "source.snapshot", "initial, never, initial_only"}},
      {"output:\n  compression: lz4\n", {"bad.yaml:2:16", "snappy, zstd, none"}},
      {"source:\n  slot: [a, b]\n", {"bad.yaml:2:9", "source.slot", "expected a string, got a list"}},
      {"source:\n  tables: {a: b}\n", {"bad.yaml:2:11", "source.tables", "a list of strings"}},
      {"kafka:\n  properties: [a]\n", {"bad.yaml:2:15", "kafka.properties", "map"}},
      {"source:\n  slot:\n", {"bad.yaml:2:3", "source.slot", "nothing"}},
      {"source:\n  slot: a\n  slot: b\n", {"bad.yaml:3:3", "'source.slot' appears twice"}},
      {"source: [1, 2]\n", {"bad.yaml:1:9", "section 'source' must be a map"}},
      {"- a\n- b\n", {"bad.yaml:1:1", "expected a map of sections"}},
      {"source: {slot: x\n", {"bad.yaml:", "not valid YAML"}},
      {"source:\n  url: postgresql://app:hunter2@db/shop\n",
       {"bad.yaml:2:8", "password does not belong in the config file", "PGPASSWORD", "source.password_file"}},
  };
  for (const auto& c : cases) {
    std::string err = ErrorFor(c.yaml);
    for (const auto& want : c.expected) EXPECT_NE(err.find(want), std::string::npos) << c.yaml << "\n-> " << err;
    EXPECT_EQ(err.find("hunter2"), std::string::npos) << err;
  }
}

TEST_F(ConfigTest, FlagsOverrideEnvironmentOverridesFile) {
  std::string path = Write("c.yaml",
                           "source:\n  url: host=filehost dbname=shop\n  slot: from_file\n  tables: a, b\n"
                           "kafka:\n  properties: {acks: all, linger.ms: '5'}\n");
  auto file_only = Parse({"--config", path});
  ASSERT_TRUE(file_only.ok()) << file_only.status().ToString();
  EXPECT_EQ(file_only->source.slot, "from_file");
  EXPECT_EQ(file_only->source.tables, (std::vector<std::string>{"a", "b"}));

  ::setenv("CDCPIPE_DB", "host=envhost dbname=shop", 1);
  auto c = Parse({"--config", path, "--slot", "from_flag", "--tables", "x,y", "--tables", "z",
                  "--replica-identity-full", "--create-publication=false", "--schemas", "false", "-X",
                  "linger.ms=50", "--heartbeat", "2s"});
  ::unsetenv("CDCPIPE_DB");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->source.url, "host=envhost dbname=shop");
  EXPECT_EQ(c->Origin("source.url"), "$CDCPIPE_DB");
  EXPECT_EQ(c->source.slot, "from_flag");
  EXPECT_EQ(c->Origin("source.slot"), "--slot");
  EXPECT_EQ(c->source.tables, (std::vector<std::string>{"x", "y", "z"}));
  EXPECT_TRUE(c->source.replica_identity_full);
  EXPECT_FALSE(c->source.create_publication);
  EXPECT_FALSE(c->events.schemas);
  EXPECT_EQ(c->kafka.properties.at("acks"), "all");       // kept from the file
  EXPECT_EQ(c->kafka.properties.at("linger.ms"), "50");   // the flag wins
  EXPECT_EQ(c->source.heartbeat.count(), 2000);

  // $CDCPIPE_CONFIG names the file when --config does not.
  ::setenv("CDCPIPE_CONFIG", path.c_str(), 1);
  auto env = Parse({});
  ::unsetenv("CDCPIPE_CONFIG");
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  EXPECT_EQ(env->source.slot, "from_file");
  EXPECT_EQ(env->file, path);
}

TEST_F(ConfigTest, BadFlagValuesAndMissingFilesAreErrors) {
  auto c = Parse({"--heartbeat", "soon"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("--heartbeat: source.heartbeat: 'soon'"), std::string::npos)
      << c.status().message();
  c = Parse({"--config", (dir_ / "missing.yaml").string()});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("no such config file"), std::string::npos);
  c = Parse({"-X", "novalue"});
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("key=value"), std::string::npos);
}

TEST_F(ConfigTest, SecretsComeFromEnvironmentOrFilesAndAreNeverShown) {
  std::string pw = Write("pw", "s3cr3t-pw\n");
  std::string tok = Write("tok", "tok-777\n");
  std::string path = Write("c.yaml", "source:\n  url: postgresql://app@db/shop\n  password_file: " + pw +
                                         "\nhttp:\n  token_file: " + tok + "\n");
  auto c = Parse({"--config", path});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_NE(std::getenv("PGPASSWORD"), nullptr);
  EXPECT_STREQ(std::getenv("PGPASSWORD"), "s3cr3t-pw");
  EXPECT_EQ(c->HttpToken(), "tok-777");
  std::string text = c->Describe();
  EXPECT_EQ(text.find("s3cr3t-pw"), std::string::npos) << text;
  EXPECT_EQ(text.find("tok-777"), std::string::npos) << text;
  EXPECT_NE(text.find("slot: \"cdcpipe\"  # default"), std::string::npos) << text;
  EXPECT_NE(text.find("url: \"postgresql://app@db/shop\"  # " + path + ":2:8"), std::string::npos) << text;
  ::unsetenv("PGPASSWORD");

  // A password passed by flag works but is redacted.
  auto f = Parse({"--db", "postgresql://app:flagpw@db/shop"});
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->Describe().find("flagpw"), std::string::npos);
  ::setenv("CDCPIPE_HTTP_TOKEN", "env-tok", 1);
  auto e = Parse({});
  ::unsetenv("CDCPIPE_HTTP_TOKEN");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->HttpToken(), "env-tok");
  EXPECT_EQ(e->Describe().find("env-tok"), std::string::npos);

  // Kafka credentials in kafka.properties are passed to librdkafka but never shown.
  auto kafka = Parse({"-X", "sasl.password=kpw-1", "-X", "ssl.key.password=kpw-2", "-X", "acks=all"});
  ASSERT_TRUE(kafka.ok()) << kafka.status().ToString();
  EXPECT_EQ(kafka->kafka.properties.at("sasl.password"), "kpw-1");
  std::string shown = kafka->Describe();
  EXPECT_EQ(shown.find("kpw-"), std::string::npos) << shown;
  EXPECT_NE(shown.find("\"acks\": \"all\""), std::string::npos) << shown;

  auto missing = Parse({"--password-file", (dir_ / "nope").string()});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("--password-file: source.password_file: cannot read"), std::string::npos)
      << missing.status().message();
}

TEST_F(ConfigTest, DescribeIsAValidConfigFileThatLoadsBackTheSameValues) {
  std::string path = Write("c.yaml", "source:\n  tables: [public.a, \"b c\"]\n  heartbeat: 1500ms\n"
                                     "kafka:\n  properties: {acks: all}\n");
  auto c = LoadFile(path);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  std::string again_path = Write("again.yaml", c->Describe());
  auto again = LoadFile(again_path);
  ASSERT_TRUE(again.ok()) << again.status().ToString() << "\n" << c->Describe();
  EXPECT_EQ(again->source.tables, c->source.tables);
  EXPECT_EQ(again->source.heartbeat, c->source.heartbeat);
  EXPECT_EQ(again->kafka.properties, c->kafka.properties);
  EXPECT_EQ(again->output.root, c->output.root);
  EXPECT_EQ(again->http.listen, c->http.listen);
}

// docs/CONFIG.md documents every key, with its flag.
TEST_F(ConfigTest, EveryKeyIsDocumented) {
  std::ifstream in(std::string(CDC_SOURCE_DIR) + "/docs/CONFIG.md");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string doc = ss.str();
  ASSERT_FALSE(doc.empty());
  for (const auto& key : AllKeys()) EXPECT_NE(doc.find("| `" + key + "` |"), std::string::npos) << key;
}

}  // namespace
}  // namespace cdc::config
