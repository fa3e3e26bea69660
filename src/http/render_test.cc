#include "http/render.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "http/dashboard.h"
#include "http/http_server.h"

namespace cdc::http {
namespace {

jobs::PipelineState SampleState() {
  jobs::PipelineState s;
  s.started_at_ms = 1'700'000'000'000;
  s.stages.push_back({"capture", "running", "streaming from slot cdcpipe", 1234.5, 0.25, 0});
  s.stages.push_back({"stream", "retrying", "storage \"down\"\nretry 3", 0, 12, 7});
  s.stages[0].last_progress_ms = 1'700'000'009'000;  // capture heard from PostgreSQL 1 s ago, waits on nothing
  s.stages[1].waiting_on = "object store: PUT s3://b/\"k\"";  // a request in flight for 2.5 s
  s.stages[1].waiting_since_ms = 1'700'000'007'500;
  s.tables["klienci"] = {100, 90};
  s.tables["pracownicy"] = {5, 5};
  s.last_committed_lsn = "0/1A2B3C4";
  s.last_batch_id = 41;
  s.batches_committed_total = 42;
  s.bytes_written_total = 1 << 20;
  s.slot_lag_bytes = 4096;
  s.freshness_seconds = 1.5;
  s.recent_errors = {"stream: PUT failed"};
  jobs::ViewState v;
  v.name = "by \"country\"\n<b>";  // names come from the user's SQL: escaped by every renderer
  v.columns = {{"kraj", "text"}, {"count", "bigint"}};
  v.rows = {{std::string("Polska"), std::string("60")}, {std::nullopt, std::string("3")}};
  v.row_count = 2;
  v.groups = 2;
  v.state_bytes = 640;
  v.source_lsn = "0/1A2B000";
  v.freshness_seconds = 0.25;
  v.updated_at_ms = 1'700'000'009'000;
  s.views.push_back(v);
  v.name = "failed";
  v.error = "division by zero";
  v.freshness_seconds = -1;
  s.views.push_back(v);
  s.views_file = "views/seed.sql";
  s.snapshot.state = "running";
  s.snapshot.resumed = true;
  s.snapshot.rows_done = 2500;
  s.snapshot.rows_estimated = 10000;
  s.snapshot.rows_per_second = 500;
  s.snapshot.eta_seconds = 15;
  s.snapshot.started_at_ms = 1'700'000'001'000;
  s.snapshot.updated_at_ms = 1'700'000'009'500;
  jobs::SnapshotTableProgress done{"public.klienci", "done", std::nullopt, 2000, 0, 0.0};
  // A table name from the database: quotes, a newline and HTML.
  jobs::SnapshotTableProgress reading{"public.\"big\"\n<img src=x>", "reading", 500, 8000, 500.5, 15.0};
  jobs::SnapshotTableProgress never{"public.fresh", "waiting", 0, std::nullopt, 0, std::nullopt};
  s.snapshot.tables = {done, reading, never};
  return s;
}

TEST(RenderStatusJson, CarriesEveryField) {
  auto doc = nlohmann::json::parse(RenderStatusJson(SampleState(), 1'700'000'010'000));
  EXPECT_EQ(doc["uptime_seconds"], 10.0);
  ASSERT_EQ(doc["stages"].size(), 2u);
  EXPECT_EQ(doc["stages"][0]["name"], "capture");
  EXPECT_EQ(doc["stages"][0]["up"], true);
  EXPECT_EQ(doc["stages"][1]["up"], false);
  EXPECT_EQ(doc["stages"][1]["detail"], "storage \"down\"\nretry 3");
  EXPECT_EQ(doc["stages"][1]["errors_total"], 7);
  EXPECT_EQ(doc["stages"][0]["waiting_on"], nullptr);
  EXPECT_EQ(doc["stages"][0]["stalled_seconds"], 0.0);
  EXPECT_EQ(doc["stages"][0]["last_progress_ms"], 1'700'000'009'000);
  EXPECT_EQ(doc["stages"][0]["last_progress_age_seconds"], 1.0);
  EXPECT_EQ(doc["stages"][1]["waiting_on"], "object store: PUT s3://b/\"k\"");
  EXPECT_EQ(doc["stages"][1]["stalled_seconds"], 2.5);
  EXPECT_EQ(doc["stages"][1]["last_progress_ms"], nullptr);
  EXPECT_EQ(doc["tables"]["klienci"]["events_captured_total"], 100);
  EXPECT_EQ(doc["tables"]["klienci"]["events_written_total"], 90);
  EXPECT_EQ(doc["last_committed_lsn"], "0/1A2B3C4");
  EXPECT_EQ(doc["last_batch_id"], 41);
  EXPECT_EQ(doc["batches_committed_total"], 42);
  EXPECT_EQ(doc["slot_lag_bytes"], 4096);
  EXPECT_EQ(doc["recent_errors"][0], "stream: PUT failed");
  ASSERT_EQ(doc["views"].size(), 2u);
  auto& v = doc["views"][0];
  EXPECT_EQ(v["name"], "by \"country\"\n<b>");
  EXPECT_EQ(v["columns"][0]["name"], "kraj");
  EXPECT_EQ(v["columns"][1]["type"], "bigint");
  EXPECT_EQ(v["rows"][0][0], "Polska");
  EXPECT_EQ(v["rows"][0][1], "60");
  EXPECT_TRUE(v["rows"][1][0].is_null());
  EXPECT_EQ(v["row_count"], 2);
  EXPECT_EQ(v["source_lsn"], "0/1A2B000");
  EXPECT_EQ(v["age_seconds"], 1.0);
  EXPECT_EQ(v["freshness_seconds"], 0.25);
  EXPECT_TRUE(v["error"].is_null());
  EXPECT_EQ(doc["views"][1]["error"], "division by zero");
  EXPECT_TRUE(doc["views"][1]["freshness_seconds"].is_null());
  EXPECT_EQ(doc["views_file"], "views/seed.sql");
}

TEST(RenderStatusJson, SnapshotProgress) {
  auto doc = nlohmann::json::parse(RenderStatusJson(SampleState(), 1'700'000'010'000));
  const auto& sn = doc["snapshot"];
  EXPECT_EQ(sn["state"], "running");
  EXPECT_EQ(sn["resumed"], true);
  EXPECT_EQ(sn["rows_done"], 2500);
  EXPECT_EQ(sn["rows_estimated"], 10000);
  EXPECT_EQ(sn["rows_per_second"], 500.0);
  EXPECT_EQ(sn["eta_seconds"], 15.0);
  EXPECT_EQ(sn["updated_at_ms"], 1'700'000'009'500);
  ASSERT_EQ(sn["tables"].size(), 3u);
  EXPECT_EQ(sn["tables"][0]["table"], "public.klienci");
  EXPECT_EQ(sn["tables"][0]["state"], "done");
  EXPECT_TRUE(sn["tables"][0]["rows_done"].is_null());  // read before a restart
  EXPECT_EQ(sn["tables"][0]["percent"], 100.0);
  EXPECT_EQ(sn["tables"][1]["table"], "public.\"big\"\n<img src=x>");
  EXPECT_EQ(sn["tables"][1]["rows_done"], 500);
  EXPECT_EQ(sn["tables"][1]["rows_estimated"], 8000);
  EXPECT_EQ(sn["tables"][1]["percent"], 6.25);
  EXPECT_EQ(sn["tables"][1]["rows_per_second"], 500.5);
  EXPECT_EQ(sn["tables"][1]["eta_seconds"], 15.0);
  EXPECT_TRUE(sn["tables"][2]["rows_estimated"].is_null());  // never analyzed
  EXPECT_TRUE(sn["tables"][2]["percent"].is_null());
  EXPECT_TRUE(sn["tables"][2]["eta_seconds"].is_null());
  // No snapshot in this process: null, not an empty object.
  EXPECT_TRUE(nlohmann::json::parse(RenderStatusJson(jobs::PipelineState{}, 5))["snapshot"].is_null());
}

TEST(RenderMetrics, SnapshotProgressWithEscapedTableNames) {
  std::string text = RenderMetrics(SampleState(), 1'700'000'010'000);
  const std::string big = "table=\"public.\\\"big\\\"\\n<img src=x>\"";
  for (const std::string& line : {
           std::string("# TYPE cdcpipe_snapshot_running gauge"),
           std::string("cdcpipe_snapshot_running 1"),
           "cdcpipe_snapshot_rows{" + big + "} 500",
           std::string("cdcpipe_snapshot_rows{table=\"public.fresh\"} 0"),
           "cdcpipe_snapshot_rows_estimated{" + big + "} 8000",
           std::string("cdcpipe_snapshot_rows_estimated{table=\"public.klienci\"} 2000"),
           "cdcpipe_snapshot_rows_per_second{" + big + "} 500.5",
           "cdcpipe_snapshot_eta_seconds{" + big + "} 15",
           std::string("cdcpipe_snapshot_eta_seconds{table=\"public.klienci\"} 0"),
       }) {
    EXPECT_NE(text.find(line + "\n"), std::string::npos) << "missing line: " << line << "\n" << text;
  }
  // Unknown values have no sample (not a made-up 0).
  EXPECT_EQ(text.find("cdcpipe_snapshot_rows{table=\"public.klienci\"}"), std::string::npos);
  EXPECT_EQ(text.find("cdcpipe_snapshot_rows_estimated{table=\"public.fresh\"}"), std::string::npos);
  EXPECT_EQ(text.find("cdcpipe_snapshot_eta_seconds{table=\"public.fresh\"}"), std::string::npos);
  EXPECT_NE(RenderMetrics(jobs::PipelineState{}, 0).find("cdcpipe_snapshot_running 0\n"), std::string::npos);
}

TEST(Dashboard, SnapshotSectionSetsTextOnly) {
  std::string page(DashboardHtml());
  size_t from = page.find("function drawSnapshot");
  ASSERT_NE(from, std::string::npos);
  std::string fn = page.substr(from, page.find("\nfunction ", from + 1) - from);
  EXPECT_EQ(fn.find("innerHTML"), std::string::npos);
  EXPECT_EQ(fn.find("insertAdjacentHTML"), std::string::npos);
  EXPECT_NE(fn.find("el(\"td\", {}, t.table)"), std::string::npos);  // the name as text
}

TEST(RenderStatusJson, EmptyStateIsValid) {
  auto doc = nlohmann::json::parse(RenderStatusJson(jobs::PipelineState{}, 5));
  EXPECT_TRUE(doc["stages"].empty());
  EXPECT_TRUE(doc["tables"].is_object());
  EXPECT_TRUE(doc["views"].empty());
  EXPECT_EQ(doc["last_batch_id"], -1);
}

TEST(RenderStatusJson, InvalidUtf8IsReplacedNotThrown) {
  jobs::PipelineState s;
  s.recent_errors = {std::string("bad \xff byte")};
  EXPECT_NO_THROW(nlohmann::json::parse(RenderStatusJson(s, 0)));
}

TEST(RenderMetrics, GoldenExposition) {
  std::string text = RenderMetrics(SampleState(), 1'700'000'010'000);
  const char* expected_lines[] = {
      "# HELP cdcpipe_events_captured_total Change events captured from PostgreSQL per table, including snapshot reads.",
      "# TYPE cdcpipe_events_captured_total counter",
      "cdcpipe_events_captured_total{table=\"klienci\"} 100",
      "cdcpipe_events_captured_total{table=\"pracownicy\"} 5",
      "# TYPE cdcpipe_events_written_total counter",
      "cdcpipe_events_written_total{table=\"klienci\"} 90",
      "cdcpipe_bytes_written_total 1048576",
      "cdcpipe_batches_committed_total 42",
      "cdcpipe_last_batch_id 41",
      "# TYPE cdcpipe_slot_lag_bytes gauge",
      "cdcpipe_slot_lag_bytes 4096",
      "cdcpipe_freshness_seconds 1.5",
      "cdcpipe_errors_total{stage=\"stream\"} 7",
      "cdcpipe_stage_up{stage=\"capture\"} 1",
      "cdcpipe_stage_up{stage=\"stream\"} 0",
      "cdcpipe_stage_state{stage=\"stream\",state=\"retrying\"} 1",
      "cdcpipe_stage_events_per_second{stage=\"capture\"} 1234.5",
      "cdcpipe_stage_lag_seconds{stage=\"capture\"} 0.25",
      "cdcpipe_stage_stalled_seconds{stage=\"capture\"} 0",
      "cdcpipe_stage_stalled_seconds{stage=\"stream\"} 2.5",
      "cdcpipe_stage_last_progress_time_seconds{stage=\"capture\"} 1700000009",
      "cdcpipe_view_rows{view=\"by \\\"country\\\"\\n<b>\"} 2",
      "cdcpipe_view_state_bytes{view=\"failed\"} 640",
      "cdcpipe_view_up{view=\"failed\"} 0",
      "cdcpipe_view_freshness_seconds{view=\"by \\\"country\\\"\\n<b>\"} 0.25",
      "cdcpipe_view_age_seconds{view=\"failed\"} 1",
      "cdcpipe_start_time_seconds 1700000000",
  };
  for (const char* line : expected_lines) {
    EXPECT_NE(text.find(std::string(line) + "\n"), std::string::npos) << "missing line: " << line << "\n" << text;
  }
  // Every family has exactly one HELP and one TYPE line, HELP first.
  std::istringstream in(text);
  std::string line, last_help;
  int helps = 0, types = 0;
  while (std::getline(in, line)) {
    if (line.rfind("# HELP ", 0) == 0) {
      ++helps;
      last_help = line.substr(7, line.find(' ', 7) - 7);
    } else if (line.rfind("# TYPE ", 0) == 0) {
      ++types;
      EXPECT_EQ(line.substr(7, line.find(' ', 7) - 7), last_help);
    }
  }
  EXPECT_EQ(helps, types);
  EXPECT_EQ(text.back(), '\n');
}

TEST(RenderMetrics, NoViewSamplesWithoutViews) {
  std::string text = RenderMetrics(jobs::PipelineState{}, 0);
  EXPECT_EQ(text.find("cdcpipe_view_age_seconds{"), std::string::npos);
  EXPECT_NE(text.find("# TYPE cdcpipe_events_captured_total counter\n"), std::string::npos);
}

TEST(EscapeLabelValue, EscapesBackslashQuoteNewline) {
  EXPECT_EQ(EscapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
  EXPECT_EQ(EscapeLabelValue("zwykły"), "zwykły");
  // HTML, other quotes, CR, ESC and RTL are plain label text; bytes that are not UTF-8 become U+FFFD.
  EXPECT_EQ(EscapeLabelValue("<img src=x>'`\r\x1b\u202e"), "<img src=x>'`\r\x1b\u202e");
  EXPECT_EQ(EscapeLabelValue("a\xff\xc3" "b\xe2\x82"), "a\uFFFD\uFFFDb\uFFFD\uFFFD");
}

TEST(FormatSampleValue, SpecialValues) {
  EXPECT_EQ(FormatSampleValue(0), "0");
  EXPECT_EQ(FormatSampleValue(42), "42");
  EXPECT_EQ(FormatSampleValue(0.1), "0.1");
  EXPECT_EQ(FormatSampleValue(1e21), "1e+21");
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(FormatSampleValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatSampleValue(-std::numeric_limits<double>::infinity()), "-Inf");
}

TEST(ParseHttpAddress, Forms) {
  auto a = ParseHttpAddress("127.0.0.1:8080");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 8080);
  auto b = ParseHttpAddress(":9000");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->host, "127.0.0.1");
  EXPECT_EQ(b->port, 9000);
  auto c = ParseHttpAddress("8081");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->port, 8081);
  auto d = ParseHttpAddress("[::1]:80");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->host, "::1");
  auto e = ParseHttpAddress("0.0.0.0:0");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->port, 0);
  for (const char* bad : {"host:", "host:99999", "host:80x", "::1:80", "", "[::1]80"}) {
    auto r = ParseHttpAddress(bad);
    EXPECT_TRUE(r.status().IsInvalidArgument()) << bad;
  }
}

TEST(IsLoopbackHost, Classifies) {
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("127.1.2.3"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.1"));
  EXPECT_FALSE(IsLoopbackHost("::"));
}

TEST(StartHttpServer, NonLoopbackWithoutTokenIsRefused) {
  jobs::PipelineStateHub hub;
  HttpOptions o;
  o.address = "0.0.0.0:0";
  auto s = StartHttpServer(o, &hub);
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.status().IsInvalidArgument());
  EXPECT_NE(s.status().message().find("--http-token"), std::string::npos);
}

TEST(Dashboard, SelfContained) {
  std::string_view page = DashboardHtml();
  EXPECT_NE(page.find("<!doctype html>"), std::string_view::npos);
  EXPECT_NE(page.find("api/status"), std::string_view::npos);
  // Nothing is loaded from elsewhere: no external scripts, styles or fonts.
  for (const char* external : {"<script src", "<link", "@import", "https://", "http://cdn"}) {
    EXPECT_EQ(page.find(external), std::string_view::npos) << external;
  }
}

}  // namespace
}  // namespace cdc::http
