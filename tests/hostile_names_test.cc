// Issue 19 item 5: hostile names and values through a LIVE `cdcpipe run`. The captured tables, their
// columns, the views and their column aliases, and the captured values are named with HTML, quotes,
// newlines, backslashes, terminal controls, emoji, right-to-left text and combining marks. Checked:
// - capture, the snapshot, the views file and the pipeline take every one of them (source.tables
//   names them as PostgreSQL reads a name: quoted);
// - headless Chromium (tests/node/hostile_names_check.mjs) shows each as the exact text of its
//   element, with no element, attribute, dialog, request or script made from it, and the live counts
//   moving while the test's workload runs; /metrics parses as a strict Prometheus exposition with the
//   exact names as label values; /api/status carries them;
// - `cdcpipe status` prints them with no terminal control through (ESC, BEL, RTL override), one check
//   per line, and `--json` keeps them exact.
#include <gtest/gtest.h>

#include <csignal>
#include <regex>
#include <set>

#include <nlohmann/json.hpp>

#include "support/test_env.h"

namespace cdc::testing {
namespace {

// Tables (schema public: the dashboard shows them by table name).
const std::string kImgTable = "<img src=x onerror=alert(1)>";
const std::string kScriptTable = "</script><script>alert(2)</script>";
const std::string kUnicodeTable = "\xf0\x9f\x98\x80 \xd7\xa2\xd7\x91\xd7\xa8\xd7\x99\xd7\xaa e\xcc\x81 \xe2\x80\xaeRTL";  // 😀 עברית é(combining) RLO
const std::string kControlTable = "\x1b[2J\x1b]0;pwned\x07 back\\slash";  // clears the screen, sets the title, bell
const std::string kDottedTable = "Dotted.Name \"q\" 'a' `b`\nline2";
// Columns.
const std::string kCountryColumn = "<b>country</b>";
const std::string kQuotesColumn = "it's \"q\" `b`";
const std::string kNewlineColumn = "new\nline";
// Views (folder names: no '/', no leading '.' or '_') and their column aliases.
const std::string kImgView = "<img src=x onerror=alert(3)>";
const std::string kUnicodeView = "\xf0\x9f\x98\x80 \xe2\x80\xaeRTL e\xcc\x81 view";
const std::string kControlView = "\x1b[2J view \"q\" 'a'";
const std::string kDottedView = "Dotted.View";
const std::string kScriptAlias = "</th><script>alert(4)</script>";
const std::string kQuotesAlias = "it's \"n\" `c`";
const std::string kNewlineAlias = "a\nb\\c";
const std::string kSvgAlias = "<svg onload=alert(7)>";
// Values.
const std::string kScriptValue = "<script>alert(5)</script>";
const std::string kImgValue = "<img src=x onerror=alert(6)>";
const std::string kQuotesValue = "\"'`\\ \n end";
const std::string kTableValue = "</td></tr></table><svg onload=alert(8)>";
const std::string kControlValue = "\x1b[31mred\x1b[0m";
const std::string kLaterValue = "<iframe src=x></iframe>";

class HostileNamesTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = pg().CreateTestDatabase(); }
  void TearDown() override { pg().DropSlots(db_); }
  static PgCluster& pg() { return PgCluster::Shared(); }
  std::string Sql(const std::string& sql) { return pg().Psql(db_, sql); }

  TempDir dir_{"cdcpipe-hostile"};
  std::string db_;
};

TEST_F(HostileNamesTest, LiveDashboardMetricsApiAndStatusShowThemAsText) {
  Sql("CREATE TABLE " + QuoteIdent(kImgTable) + " (id int PRIMARY KEY, " + QuoteIdent(kCountryColumn) + " text, " +
      QuoteIdent(kQuotesColumn) + " int);"
      "CREATE TABLE " + QuoteIdent(kScriptTable) + " (id int PRIMARY KEY, " + QuoteIdent(kNewlineColumn) + " text);"
      "CREATE TABLE " + QuoteIdent(kUnicodeTable) + " (id int PRIMARY KEY, \"\xd7\xa9\xd7\x9d\" text);"
      "CREATE TABLE " + QuoteIdent(kControlTable) + " (id int PRIMARY KEY, v text);"
      "CREATE TABLE " + QuoteIdent(kDottedTable) + " (id int PRIMARY KEY, v text);"
      "INSERT INTO " + QuoteIdent(kImgTable) + " VALUES (1, " + QuoteLiteral(kScriptValue) + ", 1), (2, " + QuoteLiteral(kImgValue) +
      ", 2), (3, " + QuoteLiteral(kQuotesValue) + ", 3);"
      "INSERT INTO " + QuoteIdent(kScriptTable) + " VALUES (1, " + QuoteLiteral(kTableValue) + "), (2, " + QuoteLiteral(kTableValue) + ");"
      "INSERT INTO " + QuoteIdent(kUnicodeTable) + " VALUES (1, 'a'), (2, 'b');"
      "INSERT INTO " + QuoteIdent(kControlTable) + " VALUES (1, " + QuoteLiteral(kControlValue) + "), (2, 'x');"
      "INSERT INTO " + QuoteIdent(kDottedTable) + " VALUES (1, 'p'), (2, 'q');");
  const std::string views = dir_ / "views.sql";
  WriteFile(views,
            "CREATE VIEW " + QuoteIdent(kImgView) + " AS SELECT " + QuoteIdent(kCountryColumn) + " AS " + QuoteIdent(kScriptAlias) +
                ", count(*) AS " + QuoteIdent(kQuotesAlias) + ", sum(" + QuoteIdent(kQuotesColumn) + ") AS total FROM " +
                QuoteIdent(kImgTable) + " GROUP BY 1;\n"
                "CREATE VIEW " + QuoteIdent(kUnicodeView) + " AS SELECT " + QuoteIdent(kNewlineColumn) + " AS " +
                QuoteIdent(kNewlineAlias) + ", count(*) AS n FROM " + QuoteIdent(kScriptTable) + " GROUP BY 1;\n"
                "CREATE VIEW " + QuoteIdent(kControlView) + " AS SELECT v AS " + QuoteIdent(kSvgAlias) +
                ", count(*) AS n FROM " + QuoteIdent(kControlTable) + " GROUP BY 1;\n"
                "CREATE VIEW " + QuoteIdent(kDottedView) + " AS SELECT v, count(*) AS n FROM " + QuoteIdent(kDottedTable) +
                " GROUP BY v;\n");
  // The config as JSON (YAML's flow style): the names are JSON strings, source.tables quotes them as
  // PostgreSQL identifiers.
  const std::string addr = "127.0.0.1:" + std::to_string(FreePort());
  nlohmann::json tables = nlohmann::json::array();
  for (const auto& t : {kImgTable, kScriptTable, kUnicodeTable, kControlTable, kDottedTable}) {
    tables.push_back(QuoteIdent(t));
  }
  nlohmann::json config = {
      {"source", {{"url", pg().Uri(db_)}, {"tables", tables}, {"heartbeat", "0"}}},
      {"output", {{"root", dir_ / "out"}, {"trigger", "200ms"}}},
      {"http", {{"listen", addr}}},
      {"views", {{"file", views}}}};
  const std::string config_file = dir_ / "cdcpipe.yaml";
  WriteFile(config_file, config.dump(2));
  BackgroundProcess run({CdcpipeBin(), "run", "--config", config_file}, dir_ / "run.log");

  auto view = [](const std::string& name, std::vector<std::string> columns, std::vector<std::string> values) {
    return nlohmann::json{{"name", name}, {"columns", columns}, {"values", values}};
  };
  nlohmann::json expected = {
      {"tables", {{kImgTable, 3}, {kScriptTable, 2}, {kUnicodeTable, 2}, {kControlTable, 2}, {kDottedTable, 2}}},
      {"views",
       {view(kImgView, {kScriptAlias, kQuotesAlias, "total"}, {kScriptValue, kImgValue, kQuotesValue}),
        view(kUnicodeView, {kNewlineAlias, "n"}, {kTableValue, "2"}),
        view(kControlView, {kSvgAlias, "n"}, {kControlValue, "x"}), view(kDottedView, {"v", "n"}, {"p", "q"})}}};
  WriteFile(dir_ / "expected.json", expected.dump());
  BackgroundProcess browser({"node", SourceDir() + "/tests/node/hostile_names_check.mjs", "http://" + addr, dir_.path()},
                            dir_ / "node.log");
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(dir_ / "phase1.json") || !browser.Running() || !run.Running(); },
                      120000))
      << browser.Log() << run.Log();
  ASSERT_TRUE(std::filesystem::exists(dir_ / "phase1.json")) << browser.Log() << run.Log();

  // The workload while the page watches: new rows in every table, a new hostile value in a view.
  Sql("INSERT INTO " + QuoteIdent(kImgTable) + " VALUES (4, " + QuoteLiteral(kLaterValue) + ", 4), (5, " + QuoteLiteral(kScriptValue) + ", 5);"
      "INSERT INTO " + QuoteIdent(kScriptTable) + " VALUES (3, 'later');"
      "INSERT INTO " + QuoteIdent(kUnicodeTable) + " VALUES (3, 'c');"
      "UPDATE " + QuoteIdent(kControlTable) + " SET v = 'y' WHERE id = 2;"
      "DELETE FROM " + QuoteIdent(kDottedTable) + " WHERE id = 1;");
  nlohmann::json after = {
      {"tables", {{kImgTable, 5}, {kScriptTable, 3}, {kUnicodeTable, 3}, {kControlTable, 3}, {kDottedTable, 3}}},
      {"views",
       {view(kImgView, {kScriptAlias, kQuotesAlias, "total"}, {kScriptValue, kImgValue, kQuotesValue, kLaterValue, "6"}),
        view(kUnicodeView, {kNewlineAlias, "n"}, {kTableValue, "later"}),
        view(kControlView, {kSvgAlias, "n"}, {kControlValue, "y"}), view(kDottedView, {"v", "n"}, {"q"})}}};
  WriteFile(dir_ / "go.tmp", after.dump());
  std::filesystem::rename(dir_ / "go.tmp", dir_ / "go");  // whole, never seen half written
  int browser_status = browser.Wait(120000);
  ASSERT_EQ(browser_status, 0) << browser.Log() << run.Log();
  ASSERT_TRUE(run.Running()) << run.Log();

  // `cdcpipe status`: every name printed, nothing that acts on a terminal, one check per line.
  auto status = RunCommand({CdcpipeBin(), "status", "--config", config_file});
  ASSERT_TRUE(status.exit_code == 0 || status.exit_code == 7) << status.Describe();
  for (char c : status.out) {
    ASSERT_TRUE(static_cast<unsigned char>(c) >= 0x20 || c == '\n') << "control byte " << int(c) << " in\n"
                                                                    << status.out;
  }
  EXPECT_EQ(status.out.find("\xe2\x80\xae"), std::string::npos) << status.out;  // RLO
  EXPECT_NE(status.out.find("public.\"\\x1b[2J\\x1b]0;pwned\\x07 back\\slash\""), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("public.\"<img src=x onerror=alert(1)>\" 5 rows"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("public.\"Dotted.Name \"\"q\"\" 'a' `b`\\nline2\" 1 rows"), std::string::npos)
      << status.out;
  EXPECT_NE(status.out.find("\\x1b[2J view \"q\" 'a'"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("\xf0\x9f\x98\x80 \\u202eRTL e\xcc\x81 view"), std::string::npos) << status.out;
  size_t start = 0;
  while (start < status.out.size()) {
    size_t end = status.out.find('\n', start);
    std::string line = status.out.substr(start, end - start);
    bool known = line.rfind("          ", 0) == 0 || line == "all checks passed" ||
                 line.find(" check(s) failed") != std::string::npos;
    for (const char* c : {"postgres ", "capture ", "pipeline ", "kafka ", "stream ", "storage ", "analytics "}) {
      known = known || line.rfind(c, 0) == 0;
    }
    EXPECT_TRUE(known) << "a line that is not a check: " << line << "\nin\n" << status.out;
    start = end == std::string::npos ? end : end + 1;
  }
  // --json keeps the names exact (as JSON strings).
  auto json_status = RunCommand({CdcpipeBin(), "status", "--config", config_file, "--json"});
  auto doc = nlohmann::json::parse(json_status.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << json_status.Describe();
  std::set<std::string> checked;
  for (const auto& c : doc["checks"]) {
    if (c["component"] == "analytics") checked.insert(c["check"].get<std::string>());
  }
  for (const auto& v : {kImgView, kUnicodeView, kControlView, kDottedView}) {
    EXPECT_EQ(checked.count(v), 1u) << nlohmann::json(v).dump() << " not among " << doc.dump();
  }
  EXPECT_EQ(run.Stop(SIGTERM), 0) << run.Log();
  // The log named every table: one record per line, no control byte (a name with a newline or ESC
  // neither starts a record of its own nor acts on a terminal).
  std::string log = run.Log();
  EXPECT_NE(log.find("Dotted.Name \"\"q\"\" 'a' `b` line2"), std::string::npos) << log;
  EXPECT_NE(log.find("\\x1b[2J\\x1b]0;pwned\\x07 back\\slash"), std::string::npos) << log;
  for (size_t at = 0; at < log.size();) {
    size_t end = log.find('\n', at);
    std::string line = log.substr(at, end - at);
    EXPECT_TRUE(std::regex_search(line, std::regex("^[0-9]{4}-[0-9]{2}-[0-9]{2}T"))) << "not a log record: " << line;
    for (char c : line) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << "control byte in: " << line;
    at = end == std::string::npos ? end : end + 1;
  }
}

}  // namespace
}  // namespace cdc::testing
