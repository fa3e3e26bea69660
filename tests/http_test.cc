// Integration test of the HTTP server (src/http): a real server on a free port over a PipelineStateHub
// filled here; read back with curl (an independent client), /metrics parsed by a strict exposition-
// format parser, the dashboard driven in headless Chromium by playwright-core (tests/node/).
#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>

#include "http/http_server.h"
#include "support/test_env.h"

namespace cdc::http {
namespace {

using cdc::testing::BackgroundProcess;
using cdc::testing::FreePort;
using cdc::testing::RunCommand;
using cdc::testing::TempDir;
using cdc::testing::WaitFor;

struct HttpReply {
  int code = 0;
  std::string body;
  std::string content_type;
};

// curl with optional extra headers; the status code and content type come from -w.
HttpReply Curl(const std::string& url, const std::vector<std::string>& headers = {}) {
  std::vector<std::string> argv = {"curl", "-sS", "--max-time", "20", "-w", "\n%{http_code} %{content_type}"};
  for (const auto& h : headers) {
    argv.push_back("-H");
    argv.push_back(h);
  }
  argv.push_back(url);
  auto r = RunCommand(argv);
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  HttpReply out;
  size_t nl = r.out.rfind('\n');
  if (nl == std::string::npos) return out;
  out.body = r.out.substr(0, nl);
  std::string tail = r.out.substr(nl + 1);
  out.code = std::atoi(tail.c_str());
  size_t sp = tail.find(' ');
  if (sp != std::string::npos) out.content_type = tail.substr(sp + 1);
  return out;
}

// A strict parser of the Prometheus text exposition format 0.0.4, as far as this project uses it.
// Fails the test (with the offending line) on anything a Prometheus server would reject or that our
// conventions forbid: samples before HELP/TYPE, bad names, counters not ending in _total,
// duplicate series, unescaped label values, unparsable values.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};
struct Exposition {
  std::map<std::string, std::string> types;  // family -> type
  std::map<std::string, std::string> help;
  std::vector<Sample> samples;
  std::optional<double> Value(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    for (const auto& s : samples)
      if (s.name == name && s.labels == labels) return s.value;
    return std::nullopt;
  }
};

void ParseExpositionInto(const std::string& text, Exposition* out) {
  static const std::regex kMetricName("[a-zA-Z_:][a-zA-Z0-9_:]*");
  static const std::regex kLabelName("[a-zA-Z_][a-zA-Z0-9_]*");
  Exposition& e = *out;
  std::set<std::string> series;
  std::string current_family;
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n') << "the exposition must end with a newline";
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    SCOPED_TRACE("line " + std::to_string(n) + ": " + line);
    EXPECT_FALSE(line.empty()) << "empty line";
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      bool is_help = line[2] == 'H';
      size_t sp = line.find(' ', 7);
      ASSERT_NE(sp, std::string::npos);
      std::string name = line.substr(7, sp - 7), rest = line.substr(sp + 1);
      EXPECT_TRUE(std::regex_match(name, kMetricName)) << name;
      if (is_help) {
        EXPECT_FALSE(e.help.count(name)) << "second HELP for " << name;
        EXPECT_FALSE(rest.empty());
        e.help[name] = rest;
        current_family = name;
      } else {
        EXPECT_FALSE(e.types.count(name)) << "second TYPE for " << name;
        EXPECT_TRUE(rest == "counter" || rest == "gauge" || rest == "histogram" || rest == "summary" ||
                    rest == "untyped")
            << rest;
        EXPECT_EQ(name, current_family) << "TYPE must follow its HELP";
        if (rest == "counter") {
          EXPECT_TRUE(name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0)
              << "counter " << name << " must end in _total";
        }
        e.types[name] = rest;
      }
      continue;
    }
    ASSERT_NE(line[0], '#') << "unknown comment line";
    Sample s;
    size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    EXPECT_TRUE(std::regex_match(s.name, kMetricName)) << s.name;
    EXPECT_EQ(s.name, current_family) << "sample outside its family";
    EXPECT_TRUE(e.types.count(s.name) && e.help.count(s.name)) << s.name << " has no HELP/TYPE";
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        ASSERT_NE(eq, std::string::npos);
        std::string lname = line.substr(i, eq - i);
        EXPECT_TRUE(std::regex_match(lname, kLabelName)) << lname;
        ASSERT_EQ(line[eq + 1], '"');
        std::string value;
        size_t j = eq + 2;
        for (; j < line.size() && line[j] != '"'; ++j) {
          if (line[j] == '\\') {
            ASSERT_LT(j + 1, line.size());
            char c = line[++j];
            ASSERT_TRUE(c == '\\' || c == '"' || c == 'n') << "bad escape \\" << c;
            value += c == 'n' ? '\n' : c;
          } else {
            value += line[j];
          }
        }
        ASSERT_LT(j, line.size()) << "unterminated label value";
        EXPECT_FALSE(s.labels.count(lname)) << "duplicate label " << lname;
        s.labels[lname] = value;
        i = j + 1;
        if (line[i] == ',') ++i;
      }
      ASSERT_LT(i, line.size());
      ++i;  // '}'
    }
    ASSERT_LT(i, line.size());
    ASSERT_EQ(line[i], ' ');
    std::string value = line.substr(i + 1);
    EXPECT_EQ(value.find(' '), std::string::npos) << "no timestamps expected";
    if (value == "NaN") s.value = std::numeric_limits<double>::quiet_NaN();
    else if (value == "+Inf") s.value = std::numeric_limits<double>::infinity();
    else if (value == "-Inf") s.value = -std::numeric_limits<double>::infinity();
    else {
      size_t used = 0;
      s.value = std::stod(value, &used);
      EXPECT_EQ(used, value.size()) << "bad value " << value;
    }
    std::string key = s.name;
    for (const auto& [k, v] : s.labels) key += "|" + k + "=" + v;
    EXPECT_TRUE(series.insert(key).second) << "duplicate series " << key;
    e.samples.push_back(std::move(s));
  }
}

Exposition ParseExposition(const std::string& text) {
  Exposition e;
  ParseExpositionInto(text, &e);
  return e;
}

// A view as LiveViews publishes it: `rows` are (label, numbers...) with the numbers as text.
jobs::ViewState View(std::string name, std::vector<jobs::ViewState::Column> columns,
                     std::vector<std::vector<std::optional<std::string>>> rows, std::string lsn) {
  jobs::ViewState v;
  v.name = std::move(name);
  v.columns = std::move(columns);
  v.row_count = rows.size();
  v.groups = rows.size();
  v.rows = std::move(rows);
  v.source_lsn = std::move(lsn);
  v.freshness_seconds = 0.5;
  v.updated_at_ms = 1'700'000'100'000;
  return v;
}

// A name and values from a hostile database: the dashboard must show them as text.
constexpr const char* kHostileName = "<img src=x onerror=\"document.title='pwned'\">\"'&\n\u017c\u00f3\u0142w";

void Fill(jobs::PipelineStateHub& hub) {
  hub.Update([](jobs::PipelineState& s) {
    s.started_at_ms = 1'700'000'000'000;
    s.stages = {{"capture", "running", "streaming from slot cdcpipe", 850, 0.2, 0},
                {"kafka", "running", "3 brokers", 850, 0.1, 0},
                {"stream", "retrying", "storage unavailable: \"PUT part-0\"\nretrying in 2s", 0, 9.5, 3},
                {"storage", "running", "file:///tmp/out", 0, 0, 0},
                {"analytics", "running", "2 tables", 12, 1.0, 0}};
    s.tables["klienci"] = {1200, 1100};
    s.tables["pracownicy"] = {300, 300};
    s.tables["projekty"] = {40, 0};
    s.last_committed_lsn = "0/16B3748";
    s.last_batch_id = 17;
    s.batches_committed_total = 18;
    s.bytes_written_total = 5'242'880;
    s.slot_lag_bytes = 65536;
    s.freshness_seconds = 2.25;
    s.recent_errors = {"stream: storage unavailable: PUT part-0 (retrying)"};
    s.views = {View("klienci-by-country", {{"kraj", "text"}, {"count", "bigint"}},
                    {{"Czechy", "200"}, {"Niemcy", "300"}, {"Polska", "700"}}, "0/16B3700"),
               View("avg-age-by-position", {{"stanowisko", "text"}, {"avg_age", "double precision"}, {"count", "bigint"}},
                    {{"Kierownik", "45.25", "100"}, {"Programista", "34.5", "120"}, {"Tester", "29", "80"}}, "0/16B3700"),
               View(kHostileName, {{"<b>col</b>", "text"}, {"n", "bigint"}},
                    {{"<script>document.title='pwned'</script>", "1"}, {std::nullopt, "2"}}, "0/16B3700")};
    s.views_file = "views/seed.sql";
  });
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Fill(hub_);
    HttpOptions o;
    o.address = "127.0.0.1:" + std::to_string(FreePort());
    auto s = StartHttpServer(o, &hub_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value();
  }
  jobs::PipelineStateHub hub_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, MetricsAreValidExpositionMatchingTheHub) {
  HttpReply r = Curl(server_->Url() + "/metrics");
  ASSERT_EQ(r.code, 200);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  Exposition e = ParseExposition(r.body);
  for (const char* family :
       {"cdcpipe_events_captured_total", "cdcpipe_events_written_total", "cdcpipe_bytes_written_total",
        "cdcpipe_batches_committed_total", "cdcpipe_slot_lag_bytes", "cdcpipe_freshness_seconds",
        "cdcpipe_errors_total", "cdcpipe_stage_up"}) {
    EXPECT_TRUE(e.types.count(family)) << family;
  }
  EXPECT_EQ(e.types["cdcpipe_events_captured_total"], "counter");
  EXPECT_EQ(e.types["cdcpipe_slot_lag_bytes"], "gauge");
  EXPECT_EQ(e.Value("cdcpipe_events_captured_total", {{"table", "klienci"}}), 1200);
  EXPECT_EQ(e.Value("cdcpipe_events_written_total", {{"table", "projekty"}}), 0);
  EXPECT_EQ(e.Value("cdcpipe_bytes_written_total"), 5'242'880);
  EXPECT_EQ(e.Value("cdcpipe_batches_committed_total"), 18);
  EXPECT_EQ(e.Value("cdcpipe_slot_lag_bytes"), 65536);
  EXPECT_EQ(e.Value("cdcpipe_freshness_seconds"), 2.25);
  EXPECT_EQ(e.Value("cdcpipe_errors_total", {{"stage", "stream"}}), 3);
  EXPECT_EQ(e.Value("cdcpipe_stage_up", {{"stage", "capture"}}), 1);
  EXPECT_EQ(e.Value("cdcpipe_stage_up", {{"stage", "stream"}}), 0);
  EXPECT_EQ(e.Value("cdcpipe_stage_state", {{"stage", "stream"}, {"state", "retrying"}}), 1);

  // A counter moves when the hub does.
  hub_.Update([](jobs::PipelineState& s) { s.tables["klienci"].events_captured_total += 5; });
  Exposition e2 = ParseExposition(Curl(server_->Url() + "/metrics").body);
  EXPECT_EQ(e2.Value("cdcpipe_events_captured_total", {{"table", "klienci"}}), 1205);
}

TEST(ExpositionParser, RejectsWhatPrometheusWould) {
  // The parser above must be able to fail; these are the mistakes it exists to catch.
  const char* bad[] = {
      "cdcpipe_x_total 1\n",                                                        // no HELP/TYPE
      "# HELP cdcpipe_x a\n# TYPE cdcpipe_x counter\ncdcpipe_x 1\n",                 // counter without _total
      "# HELP 1bad a\n# TYPE 1bad gauge\n1bad 1\n",                                  // bad name
      "# HELP g a\n# TYPE g gauge\ng{l=\"a\\q\"} 1\n",                               // bad escape
      "# HELP g a\n# TYPE g gauge\ng 1\ng 2\n",                                      // duplicate series
      "# HELP g a\n# TYPE g gauge\ng one\n",                                         // bad value
  };
  for (const char* text : bad) {
    ::testing::TestPartResultArray failures;
    {
      ::testing::ScopedFakeTestPartResultReporter reporter(
          ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &failures);
      try {
        ParseExposition(text);
      } catch (const std::exception&) {
        // std::stod on a bad value throws: also a rejection.
        ADD_FAILURE() << "threw";
      }
    }
    EXPECT_GT(failures.size(), 0) << "accepted: " << text;
  }
}

TEST_F(HttpServerTest, ApiStatusIsTheSnapshot) {
  HttpReply r = Curl(server_->Url() + "/api/status");
  ASSERT_EQ(r.code, 200);
  EXPECT_EQ(r.content_type, "application/json");
  auto doc = nlohmann::json::parse(r.body);
  ASSERT_EQ(doc["stages"].size(), 5u);
  EXPECT_EQ(doc["stages"][2]["name"], "stream");
  EXPECT_EQ(doc["stages"][2]["state"], "retrying");
  EXPECT_EQ(doc["stages"][2]["detail"], "storage unavailable: \"PUT part-0\"\nretrying in 2s");
  EXPECT_EQ(doc["tables"]["pracownicy"]["events_written_total"], 300);
  EXPECT_EQ(doc["last_committed_lsn"], "0/16B3748");
  EXPECT_EQ(doc["last_batch_id"], 17);
  ASSERT_EQ(doc["views"].size(), 3u);
  EXPECT_EQ(doc["views"][0]["name"], "klienci-by-country");
  EXPECT_EQ(doc["views"][0]["rows"].size(), 3u);
  EXPECT_EQ(doc["views"][1]["rows"][0][1], "45.25");
  EXPECT_EQ(doc["views"][1]["source_lsn"], "0/16B3700");
  EXPECT_EQ(doc["views"][2]["name"], kHostileName);
  EXPECT_GT(doc["now_ms"].get<int64_t>(), 0);
}

TEST_F(HttpServerTest, HealthzDashboardAndUnknownPaths) {
  HttpReply h = Curl(server_->Url() + "/healthz");
  EXPECT_EQ(h.code, 200);
  EXPECT_EQ(h.body, "ok\n");
  HttpReply page = Curl(server_->Url() + "/");
  EXPECT_EQ(page.code, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("id=\"diagram\""), std::string::npos);
  EXPECT_EQ(Curl(server_->Url() + "/nope").code, 404);
}

TEST(HttpServerToken, EnforcedOnEveryRequest) {
  jobs::PipelineStateHub hub;
  Fill(hub);
  HttpOptions o;
  int port = FreePort();
  o.address = "0.0.0.0:" + std::to_string(port);
  o.token = "s3cr3t-token";
  auto s = StartHttpServer(o, &hub);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  std::string base = "http://127.0.0.1:" + std::to_string(port);
  for (const char* path : {"/", "/api/status", "/metrics", "/healthz"}) {
    SCOPED_TRACE(path);
    HttpReply none = Curl(base + path);
    EXPECT_EQ(none.code, 401);
    EXPECT_EQ(none.body.find("s3cr3t"), std::string::npos);
    EXPECT_EQ(Curl(base + path, {"Authorization: Bearer wrong-token!"}).code, 401);
    EXPECT_EQ(Curl(base + path, {"Authorization: Bearer s3cr3t-toke"}).code, 401);
    EXPECT_EQ(Curl(base + path, {"Authorization: Basic s3cr3t-token"}).code, 401);
    EXPECT_EQ(Curl(base + path + "?token=nope").code, 401);
    EXPECT_EQ(Curl(base + path, {"Authorization: Bearer s3cr3t-token"}).code, 200);
    EXPECT_EQ(Curl(base + path + "?token=s3cr3t-token").code, 200);
  }
}

TEST(HttpServerBind, PortInUseIsUnavailable) {
  jobs::PipelineStateHub hub;
  HttpOptions o;
  o.address = "127.0.0.1:" + std::to_string(FreePort());
  auto first = StartHttpServer(o, &hub);
  ASSERT_TRUE(first.ok());
  auto second = StartHttpServer(o, &hub);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.status().IsUnavailable()) << second.status().ToString();
  EXPECT_NE(second.status().message().find("--http"), std::string::npos);
  (*first)->Stop();
  (*first)->Stop();  // idempotent
}

TEST_F(HttpServerTest, DashboardInHeadlessChromium) {
  TempDir sync("cdcpipe-dash");
  std::string out_dir = cdc::testing::BinaryDir() + "/test-output";
  std::filesystem::create_directories(out_dir);
  std::string shot = out_dir + "/dashboard.png";
  std::filesystem::remove(shot);
  BackgroundProcess browser({"node", cdc::testing::SourceDir() + "/tests/node/dashboard_check.mjs",
                             server_->Url() + "/", sync.path(), shot},
                            sync / "node.log");
  ASSERT_TRUE(WaitFor([&] { return std::filesystem::exists(sync / "phase1.json") || !browser.Running(); }, 120000))
      << browser.Log();
  ASSERT_TRUE(std::filesystem::exists(sync / "phase1.json")) << browser.Log();
  auto phase1 = nlohmann::json::parse(cdc::testing::ReadFile(sync / "phase1.json"));
  EXPECT_EQ(phase1["lsn"], "0/16B3748");
  EXPECT_NE(phase1["errors"].get<std::string>().find("storage unavailable"), std::string::npos);
  EXPECT_EQ(phase1["country1"], "Czechy=200;Niemcy=300;Polska=700");
  EXPECT_EQ(phase1["position1"], "Kierownik=45.25;Programista=34.5;Tester=29");

  EXPECT_EQ(phase1["hostile"], kHostileName);

  // A workload happened: the live views moved on.
  hub_.Update([](jobs::PipelineState& s) {
    s.views[0] = View("klienci-by-country", {{"kraj", "text"}, {"count", "bigint"}},
                      {{"Czechy", "200"}, {"Niemcy", "299"}, {"Polska", "702"}, {"Słowacja", "4"}}, "0/16B4000");
    s.views[1] = View("avg-age-by-position", {{"stanowisko", "text"}, {"avg_age", "double precision"}, {"count", "bigint"}},
                      {{"Kierownik", "45.25", "100"}, {"Programista", "34.75", "121"}, {"Tester", "29", "80"}},
                      "0/16B4000");
  });
  cdc::testing::WriteFile(sync / "go", "");
  int status = browser.Wait(120000);
  ASSERT_EQ(status, 0) << browser.Log();
  auto summary = nlohmann::json::parse(browser.Log().substr(browser.Log().rfind("{\"lsn\"")));
  EXPECT_EQ(summary["country2"], "Czechy=200;Niemcy=299;Polska=702;Słowacja=4");
  EXPECT_EQ(summary["position2"], "Kierownik=45.25;Programista=34.75;Tester=29");
  EXPECT_GT(std::filesystem::file_size(shot), 10000u);
}

}  // namespace
}  // namespace cdc::http
