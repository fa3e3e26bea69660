// Issue 15: every subcommand runs from a config file alone (./cdcpipe.yaml, $CDCPIPE_CONFIG or
// --config), a flag overrides the file, and a bad config or a table that does not exist stops the start
// with one error naming the file, line and key, exit 2, leaving the database as it was. Against the
// shared private PostgreSQL cluster; results checked with psql and DuckDB (tests/raw_output.h).
#include <gtest/gtest.h>

#include "raw_output.h"
#include "support/test_env.h"

namespace cdc::testing {
namespace {

class ConfigCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = pg().CreateTestDatabase();
    Sql("CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, country text);"
        "CREATE TABLE orders (id bigint PRIMARY KEY, customer_id bigint, amount numeric(10,2));"
        "INSERT INTO customers VALUES (1, 'Ada', 'PL'), (2, 'Bob', 'IS');"
        "INSERT INTO orders VALUES (10, 1, 9.99), (11, 2, 5.00), (12, 2, 1.50);");
  }
  void TearDown() override { pg().DropSlots(db_); }
  static PgCluster& pg() { return PgCluster::Shared(); }
  std::string Sql(const std::string& sql) { return pg().Psql(db_, sql); }

  // A config for this test's database, output and slot, plus `extra` YAML lines under `source:`.
  std::string WriteConfig(const std::string& extra_source = "") {
    std::string text = "source:\n"
                       "  url: " + pg().Uri(db_) + "\n"
                       "  tables: [public.customers, public.orders]\n"
                       "  slot: cfg_slot\n"
                       "  publication: cfg_pub\n"
                       "  heartbeat: 0\n" +
                       extra_source +
                       "output:\n"
                       "  root: " + dir_ / "out" + "\n"
                       "  trigger: 200ms\n"
                       "http:\n"
                       "  listen: off\n";
    WriteFile(dir_ / "cdcpipe.yaml", text);
    return dir_ / "cdcpipe.yaml";
  }

  // Runs `cdcpipe ARGS` in the test's directory, where cdcpipe.yaml is (no --config, no environment).
  CommandResult InDir(const std::string& args) {
    return RunShell("cd '" + dir_.path() + "' && '" + CdcpipeBin() + "' " + args);
  }

  std::string InsertLsn() { return Sql("SELECT pg_current_wal_insert_lsn()"); }

  // The catalog state a failed start must leave as it was.
  std::string CatalogState() {
    return Sql("SELECT coalesce((SELECT string_agg(pubname, ',' ORDER BY pubname) FROM pg_publication), '') || ' | ' || "
               "coalesce((SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots), '') || "
               "' | ' || (SELECT string_agg(relname || ':' || relreplident::text, ',' ORDER BY relname) FROM pg_class "
               "WHERE relnamespace = 'public'::regnamespace)");
  }

  std::string db_;
  TempDir dir_{"config-cli"};
};

TEST_F(ConfigCliTest, EverySubcommandRunsFromTheConfigFileAlone) {
  WriteConfig();
  // config: the resolved values and their origins.
  auto shown = InDir("config");
  ASSERT_EQ(shown.exit_code, 0) << shown.Describe();
  EXPECT_NE(shown.out.find("slot: \"cfg_slot\"  # cdcpipe.yaml:4:9"), std::string::npos) << shown.out;

  // schema --apply: the demo tables, in the config's database.
  auto schema = InDir("schema --apply");
  ASSERT_EQ(schema.exit_code, 0) << schema.Describe();
  EXPECT_EQ(Sql("SELECT to_regclass('public.klienci') IS NOT NULL"), "t");

  // import: into the config's database (a table that is not the seed's).
  WriteFile(dir_ / "customers.csv", "country,id,name\nDE,3,Cy\n");
  auto import = InDir("import --table customers --file customers.csv --mode insert");
  ASSERT_EQ(import.exit_code, 0) << import.Describe();
  EXPECT_EQ(Sql("SELECT count(*) FROM customers"), "3");

  // run: the configured tables, slot, publication and output; stops at --end-lsn.
  std::string end = InsertLsn();
  auto run = InDir("run --end-lsn " + end);
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  EXPECT_EQ(Sql("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'cfg_slot'"), "1");
  EXPECT_EQ(Sql("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_publication_tables "
                "WHERE pubname = 'cfg_pub'"),
            "customers,orders");
  auto rows = ReadCommitted(dir_ / "out", dir_ / "files.csv");
  EXPECT_EQ(rows.size(), 6u);  // 3 customers + 3 orders, as snapshot reads
  for (const auto& r : rows) EXPECT_TRUE(r.topic == "dbserver1.public.customers" || r.topic == "dbserver1.public.orders") << r.topic;

  // batch: reads the configured output.
  auto batch = InDir("batch --top 0");
  EXPECT_EQ(batch.exit_code, 0) << batch.Describe();

  // status: the configured slot (inactive now that run has stopped) and output.
  auto status = InDir("status --component capture --component storage");
  EXPECT_EQ(status.exit_code, 7) << status.Describe();
  EXPECT_NE(status.out.find("cfg_slot (pgoutput): inactive"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("cfg_pub: public.customers, public.orders"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("latest committed batch"), std::string::npos) << status.out;

  // stream: needs Kafka, which this config does not name.
  auto stream = InDir("stream");
  EXPECT_EQ(stream.exit_code, 2) << stream.Describe();
  EXPECT_NE(stream.err.find("kafka.brokers"), std::string::npos) << stream.Describe();

  // capture: a flag overrides the file's slot; the null sink discards the records.
  end = InsertLsn();
  auto capture = InDir("capture --sink null --slot cfg_other --end-lsn " + end);
  ASSERT_EQ(capture.exit_code, 0) << capture.Describe();
  EXPECT_EQ(Sql("SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots"),
            "cfg_other,cfg_slot");
  auto dropped = InDir("capture --drop-slot --slot cfg_other");
  EXPECT_EQ(dropped.exit_code, 0) << dropped.Describe();
}

TEST_F(ConfigCliTest, FlagsAndEnvironmentOverrideTheFile) {
  std::string config = WriteConfig();
  std::string end = InsertLsn();
  // $CDCPIPE_CONFIG names the file from anywhere; --output and --tables override it.
  auto run = RunCommand({CdcpipeBin(), "run", "--end-lsn", end, "--output", dir_ / "other", "--tables", "orders"},
                        {{"CDCPIPE_CONFIG", config}});
  ASSERT_EQ(run.exit_code, 0) << run.Describe();
  auto rows = ReadCommitted(dir_ / "other", dir_ / "files.csv");
  EXPECT_EQ(rows.size(), 3u);
  for (const auto& r : rows) EXPECT_EQ(r.topic, "dbserver1.public.orders");
  EXPECT_FALSE(std::filesystem::exists(dir_ / "out/raw-kafka-data"));
  auto shown = RunCommand({CdcpipeBin(), "config", "--trigger", "5s"}, {{"CDCPIPE_CONFIG", config}});
  ASSERT_EQ(shown.exit_code, 0) << shown.Describe();
  EXPECT_NE(shown.out.find("trigger: 5s  # --trigger"), std::string::npos) << shown.out;
  EXPECT_NE(shown.out.find("# " + config + ":"), std::string::npos) << shown.out;
}

TEST_F(ConfigCliTest, BadConfigAndMissingTableStopTheStartAndChangeNothing) {
  std::string before = CatalogState();
  // A bad key: one error with file:line:column, exit 2, before anything connects.
  WriteConfig("  slots: typo\n");
  for (const char* cmd : {"run", "capture --sink null", "status", "config", "schema", "batch"}) {
    auto r = InDir(cmd);
    EXPECT_EQ(r.exit_code, 2) << cmd << "\n" << r.Describe();
    EXPECT_NE(r.err.find("cdcpipe.yaml:7:3: unknown key 'slots' in section 'source' (did you mean 'slot'?)"),
              std::string::npos)
        << cmd << "\n" << r.Describe();
  }
  // A table that does not exist: exit 2, the error names it and where the list came from.
  std::string config = WriteConfig();
  auto r = InDir("run --tables public.customers,public.nie_ma");
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_NE(r.err.find("nie_ma"), std::string::npos) << r.Describe();
  EXPECT_NE(r.err.find("--tables"), std::string::npos) << r.Describe();
  EXPECT_EQ(CatalogState(), before);
  // The same from the file: the error points at the file's line.
  WriteFile(config, "source:\n  url: " + pg().Uri(db_) + "\n  tables: [public.nie_ma]\nhttp:\n  listen: off\n");
  r = InDir("run");
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_NE(r.err.find("cdcpipe.yaml:3:11"), std::string::npos) << r.Describe();
  EXPECT_EQ(CatalogState(), before);
}

}  // namespace
}  // namespace cdc::testing
