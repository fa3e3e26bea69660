#include "http/render.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <nlohmann/json.hpp>

#include "base/terminal_text.h"

namespace cdc::http {
namespace {

using nlohmann::json;

json ViewJson(const jobs::ViewState& v, int64_t now_ms) {
  json columns = json::array();
  for (const auto& c : v.columns) columns.push_back({{"name", c.name}, {"type", c.type}});
  json rows = json::array();
  for (const auto& r : v.rows) {
    json row = json::array();
    for (const auto& value : r) row.push_back(value ? json(*value) : json(nullptr));
    rows.push_back(std::move(row));
  }
  json out = {{"name", v.name},
              {"columns", std::move(columns)},
              {"rows", std::move(rows)},
              {"row_count", v.row_count},
              {"rows_shown", v.rows.size()},
              {"groups", v.groups},
              {"state_bytes", v.state_bytes},
              {"source_lsn", v.source_lsn},
              {"updated_at_ms", v.updated_at_ms},
              {"error", v.error.empty() ? json(nullptr) : json(v.error)}};
  out["freshness_seconds"] = v.freshness_seconds >= 0 ? json(v.freshness_seconds) : json(nullptr);
  out["age_seconds"] =
      v.updated_at_ms > 0 ? json(static_cast<double>(now_ms - v.updated_at_ms) / 1000.0) : json(nullptr);
  return out;
}

double Finite(double v) { return std::isfinite(v) ? v : 0; }

// Seconds from `since_ms` to `now_ms`, never negative (clocks of different threads); 0 when since is 0.
double SecondsSince(int64_t since_ms, int64_t now_ms) {
  return since_ms > 0 ? static_cast<double>(std::max<int64_t>(0, now_ms - since_ms)) / 1000.0 : 0.0;
}

// The stall of a stage: seconds it has been waiting on what it names in waiting_on (0 when nothing).
double StalledSeconds(const jobs::StageState& st, int64_t now_ms) {
  return st.waiting_on.empty() ? 0.0 : SecondsSince(st.waiting_since_ms, now_ms);
}

template <typename T>
json OrNull(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

// The initial snapshot's progress; null when this process takes none.
json SnapshotJson(const jobs::SnapshotProgress& p) {
  if (p.state.empty()) return nullptr;
  json tables = json::array();
  for (const auto& t : p.tables) {
    std::optional<double> percent;
    if (t.state == "done") {
      percent = 100.0;
    } else if (t.rows_estimated && *t.rows_estimated > 0 && t.rows_done) {
      percent = std::min(100.0, 100.0 * static_cast<double>(*t.rows_done) / static_cast<double>(*t.rows_estimated));
    }
    tables.push_back({{"table", t.table},
                      {"state", t.state},
                      {"rows_done", OrNull(t.rows_done)},
                      {"rows_estimated", OrNull(t.rows_estimated)},
                      {"percent", OrNull(percent)},
                      {"rows_per_second", Finite(t.rows_per_second)},
                      {"eta_seconds", OrNull(t.eta_seconds)}});
  }
  return {{"state", p.state},
          {"resumed", p.resumed},
          {"rows_done", p.rows_done},
          {"rows_estimated", OrNull(p.rows_estimated)},
          {"rows_per_second", Finite(p.rows_per_second)},
          {"eta_seconds", OrNull(p.eta_seconds)},
          {"started_at_ms", p.started_at_ms},
          {"updated_at_ms", p.updated_at_ms},
          {"tables", std::move(tables)}};
}

// Writes one metric family: HELP, TYPE, then its samples.
class Exposition {
 public:
  void Family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    // HELP text escapes backslash and newline.
    for (char c : help) {
      if (c == '\\') out_ += "\\\\";
      else if (c == '\n') out_ += "\\n";
      else out_ += c;
    }
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
  }
  void Sample(std::string_view name, double value) { Sample(name, {}, value); }
  void Sample(std::string_view name, std::initializer_list<std::pair<std::string_view, std::string_view>> labels,
              double value) {
    out_ += name;
    if (labels.size() > 0) {
      out_ += '{';
      bool first = true;
      for (const auto& [k, v] : labels) {
        if (!first) out_ += ',';
        first = false;
        out_ += k;
        out_ += "=\"";
        out_ += EscapeLabelValue(v);
        out_ += '"';
      }
      out_ += '}';
    }
    out_ += ' ';
    out_ += FormatSampleValue(value);
    out_ += '\n';
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

}  // namespace

bool StageIsUp(std::string_view state) { return state == "running" || state == "catching_up"; }

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (size_t i = 0; i < value.size();) {
    uint32_t cp = 0;
    size_t n = DecodeUtf8(value, i, &cp);
    if (n == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD: the exposition is UTF-8, a parser rejects anything else
      ++i;
      continue;
    }
    if (cp == '\\') out += "\\\\";
    else if (cp == '"') out += "\\\"";
    else if (cp == '\n') out += "\\n";
    else out.append(value.substr(i, n));
    i += n;
  }
  return out;
}

std::string FormatSampleValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  // Whole numbers below 2^53 (counters, byte counts, timestamps) print as integers, not "1.7e+09".
  if (value == std::floor(value) && std::fabs(value) < 9007199254740992.0) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, static_cast<int64_t>(value));
    if (ec == std::errc()) return std::string(buf, end);
  }
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  if (ec != std::errc()) return "NaN";  // cannot happen with 64 bytes for a double
  return std::string(buf, end);
}

std::string RenderStatusJson(const jobs::PipelineState& s, int64_t now_ms) {
  json doc;
  doc["now_ms"] = now_ms;
  doc["started_at_ms"] = s.started_at_ms;
  doc["uptime_seconds"] = s.started_at_ms > 0 ? static_cast<double>(now_ms - s.started_at_ms) / 1000.0 : 0.0;
  json stages = json::array();
  for (const auto& st : s.stages) {
    stages.push_back({{"name", st.name},
                      {"state", st.state},
                      {"up", StageIsUp(st.state)},
                      {"detail", st.detail},
                      {"events_per_second", Finite(st.events_per_second)},
                      {"lag_seconds", Finite(st.lag_seconds)},
                      {"errors_total", st.errors_total},
                      {"waiting_on", st.waiting_on.empty() ? json(nullptr) : json(st.waiting_on)},
                      {"stalled_seconds", StalledSeconds(st, now_ms)},
                      {"last_progress_ms", st.last_progress_ms > 0 ? json(st.last_progress_ms) : json(nullptr)},
                      {"last_progress_age_seconds",
                       st.last_progress_ms > 0 ? json(SecondsSince(st.last_progress_ms, now_ms)) : json(nullptr)}});
  }
  doc["stages"] = std::move(stages);
  json tables = json::object();
  for (const auto& [name, c] : s.tables) {
    tables[name] = {{"events_captured_total", c.events_captured_total},
                    {"events_written_total", c.events_written_total}};
  }
  doc["tables"] = std::move(tables);
  doc["last_committed_lsn"] = s.last_committed_lsn;
  doc["last_batch_id"] = s.last_batch_id;
  doc["batches_committed_total"] = s.batches_committed_total;
  doc["bytes_written_total"] = s.bytes_written_total;
  doc["slot_lag_bytes"] = s.slot_lag_bytes;
  doc["freshness_seconds"] = Finite(s.freshness_seconds);
  doc["recent_errors"] = s.recent_errors;
  json views = json::array();
  for (const auto& v : s.views) views.push_back(ViewJson(v, now_ms));
  doc["views"] = std::move(views);
  doc["views_file"] = s.views_file;
  doc["snapshot"] = SnapshotJson(s.snapshot);
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string RenderMetrics(const jobs::PipelineState& s, int64_t now_ms) {
  Exposition e;
  e.Family("cdcpipe_start_time_seconds", "gauge", "Start time of the pipeline since the Unix epoch in seconds.");
  e.Sample("cdcpipe_start_time_seconds", static_cast<double>(s.started_at_ms) / 1000.0);

  e.Family("cdcpipe_events_captured_total", "counter",
           "Change events captured from PostgreSQL per table, including snapshot reads.");
  for (const auto& [table, c] : s.tables) {
    e.Sample("cdcpipe_events_captured_total", {{"table", table}}, static_cast<double>(c.events_captured_total));
  }
  e.Family("cdcpipe_events_written_total", "counter", "Raw change events committed to Parquet per table.");
  for (const auto& [table, c] : s.tables) {
    e.Sample("cdcpipe_events_written_total", {{"table", table}}, static_cast<double>(c.events_written_total));
  }
  e.Family("cdcpipe_bytes_written_total", "counter", "Bytes of Parquet data committed to storage.");
  e.Sample("cdcpipe_bytes_written_total", static_cast<double>(s.bytes_written_total));
  e.Family("cdcpipe_batches_committed_total", "counter", "Stream batches committed (_spark_metadata entries).");
  e.Sample("cdcpipe_batches_committed_total", static_cast<double>(s.batches_committed_total));
  e.Family("cdcpipe_last_batch_id", "gauge", "Id of the last committed stream batch (-1 before the first).");
  e.Sample("cdcpipe_last_batch_id", static_cast<double>(s.last_batch_id));
  e.Family("cdcpipe_slot_lag_bytes", "gauge",
           "WAL bytes between the current WAL position and the slot's confirmed flush LSN.");
  e.Sample("cdcpipe_slot_lag_bytes", static_cast<double>(s.slot_lag_bytes));
  e.Family("cdcpipe_freshness_seconds", "gauge",
           "End-to-end delay from a commit in PostgreSQL to its event being visible in committed Parquet.");
  e.Sample("cdcpipe_freshness_seconds", s.freshness_seconds);

  e.Family("cdcpipe_errors_total", "counter", "Errors seen per pipeline stage (each retried or fatal error).");
  for (const auto& st : s.stages) e.Sample("cdcpipe_errors_total", {{"stage", st.name}}, static_cast<double>(st.errors_total));
  e.Family("cdcpipe_stage_up", "gauge", "1 when the stage is running or catching up, 0 otherwise.");
  for (const auto& st : s.stages) e.Sample("cdcpipe_stage_up", {{"stage", st.name}}, StageIsUp(st.state) ? 1 : 0);
  e.Family("cdcpipe_stage_state", "gauge", "The current state of each stage (the sample with value 1).");
  for (const auto& st : s.stages) e.Sample("cdcpipe_stage_state", {{"stage", st.name}, {"state", st.state}}, 1);
  e.Family("cdcpipe_stage_events_per_second", "gauge", "Recent throughput of each stage in events per second.");
  for (const auto& st : s.stages) e.Sample("cdcpipe_stage_events_per_second", {{"stage", st.name}}, st.events_per_second);
  e.Family("cdcpipe_stage_lag_seconds", "gauge", "How far each stage is behind its input, in seconds.");
  for (const auto& st : s.stages) e.Sample("cdcpipe_stage_lag_seconds", {{"stage", st.name}}, st.lag_seconds);
  e.Family("cdcpipe_stage_stalled_seconds", "gauge",
           "Seconds each stage has been waiting for an answer its peer owes it (a keepalive PostgreSQL was asked "
           "for, an object store response); 0 when it waits on nothing.");
  for (const auto& st : s.stages) {
    e.Sample("cdcpipe_stage_stalled_seconds", {{"stage", st.name}}, StalledSeconds(st, now_ms));
  }
  e.Family("cdcpipe_stage_last_progress_time_seconds", "gauge",
           "When each stage last heard from its peer, since the Unix epoch in seconds (absent when not known).");
  for (const auto& st : s.stages) {
    if (st.last_progress_ms > 0) {
      e.Sample("cdcpipe_stage_last_progress_time_seconds", {{"stage", st.name}},
               static_cast<double>(st.last_progress_ms) / 1000.0);
    }
  }

  const jobs::SnapshotProgress& snap = s.snapshot;
  e.Family("cdcpipe_snapshot_running", "gauge", "1 while the initial snapshot is being read, 0 otherwise.");
  e.Sample("cdcpipe_snapshot_running", snap.state == "running" ? 1 : 0);
  e.Family("cdcpipe_snapshot_rows", "gauge",
           "Rows of each table read by the initial snapshot so far, counting runs before a resume.");
  for (const auto& t : snap.tables) {
    if (t.rows_done) e.Sample("cdcpipe_snapshot_rows", {{"table", t.table}}, static_cast<double>(*t.rows_done));
  }
  e.Family("cdcpipe_snapshot_rows_estimated", "gauge",
           "Rows each table of the initial snapshot is expected to have (pg_class.reltuples at its start).");
  for (const auto& t : snap.tables) {
    if (t.rows_estimated) {
      e.Sample("cdcpipe_snapshot_rows_estimated", {{"table", t.table}}, static_cast<double>(*t.rows_estimated));
    }
  }
  e.Family("cdcpipe_snapshot_rows_per_second", "gauge", "Rows per second the initial snapshot reads of each table.");
  for (const auto& t : snap.tables) e.Sample("cdcpipe_snapshot_rows_per_second", {{"table", t.table}}, t.rows_per_second);
  e.Family("cdcpipe_snapshot_eta_seconds", "gauge",
           "Estimated seconds until each table of the initial snapshot is read (0 when done).");
  for (const auto& t : snap.tables) {
    if (t.eta_seconds) e.Sample("cdcpipe_snapshot_eta_seconds", {{"table", t.table}}, *t.eta_seconds);
  }

  e.Family("cdcpipe_view_rows", "gauge", "Rows in each view's current result.");
  for (const auto& v : s.views) e.Sample("cdcpipe_view_rows", {{"view", v.name}}, static_cast<double>(v.row_count));
  e.Family("cdcpipe_view_groups", "gauge", "Groups each view holds in memory.");
  for (const auto& v : s.views) e.Sample("cdcpipe_view_groups", {{"view", v.name}}, static_cast<double>(v.groups));
  e.Family("cdcpipe_view_state_bytes", "gauge", "Memory each view's incremental state holds, in bytes (estimate).");
  for (const auto& v : s.views) {
    e.Sample("cdcpipe_view_state_bytes", {{"view", v.name}}, static_cast<double>(v.state_bytes));
  }
  e.Family("cdcpipe_view_up", "gauge", "1 while the view is maintained, 0 when it stopped on an error.");
  for (const auto& v : s.views) e.Sample("cdcpipe_view_up", {{"view", v.name}}, v.error.empty() ? 1 : 0);
  e.Family("cdcpipe_view_freshness_seconds", "gauge",
           "Delay from the newest change a view includes being captured to the view being published with it.");
  for (const auto& v : s.views) {
    if (v.freshness_seconds >= 0) e.Sample("cdcpipe_view_freshness_seconds", {{"view", v.name}}, v.freshness_seconds);
  }
  e.Family("cdcpipe_view_age_seconds", "gauge", "Seconds since each view's result was last published.");
  for (const auto& v : s.views) {
    if (v.updated_at_ms > 0) {
      e.Sample("cdcpipe_view_age_seconds", {{"view", v.name}}, static_cast<double>(now_ms - v.updated_at_ms) / 1000.0);
    }
  }
  return e.Take();
}

}  // namespace cdc::http
