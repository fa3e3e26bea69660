// PipelineState: a read-only snapshot of what the running pipeline is doing, for the dashboard,
// /api/status, /metrics and `cdcpipe status`. Jobs publish it; readers never touch job internals.
//
// Thread-safety: PipelineStateHub is safe from any thread. Publishers update their own stage under
// Update(); readers take a copy with Snapshot().
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace cdc::jobs {

struct StageState {
  std::string name;           // "capture", "kafka", "stream", "storage", "analytics"
  std::string state = "starting";  // "starting", "running", "catching_up", "retrying", "stopped", "failed"
  std::string detail;         // one line for people: what it is doing or what is wrong
  double events_per_second = 0;   // recent throughput
  double lag_seconds = 0;         // how far behind its input it is
  uint64_t errors_total = 0;
};

struct TableCounters {
  uint64_t events_captured_total = 0;  // change events captured (incl. snapshot reads)
  uint64_t events_written_total = 0;   // raw events committed to Parquet
};

struct AnalyticsRow {
  std::optional<std::string> group;  // kraj / stanowisko (nullopt = SQL NULL)
  int64_t count = 0;
  std::optional<double> avg_age;     // avg-age-by-position only
};

struct PipelineState {
  int64_t started_at_ms = 0;
  std::vector<StageState> stages;
  std::map<std::string, TableCounters> tables;  // by table name
  std::string last_committed_lsn;               // "0/1A2B3C4" (confirmed to PostgreSQL)
  int64_t last_batch_id = -1;
  uint64_t batches_committed_total = 0;
  uint64_t bytes_written_total = 0;
  uint64_t slot_lag_bytes = 0;                  // pg_current_wal_lsn() - confirmed_flush_lsn
  double freshness_seconds = 0;                 // commit in PostgreSQL -> visible in committed Parquet
  std::vector<std::string> recent_errors;       // newest last, at most 20
  std::vector<AnalyticsRow> klienci_by_country;
  std::vector<AnalyticsRow> avg_age_by_position;
  std::string analytics_lsn;                    // source LSN the analytics correspond to
  int64_t analytics_updated_at_ms = 0;

  // The stage named `name`, appended (state "starting") when it is not there yet.
  StageState& Stage(const std::string& name) {
    for (StageState& st : stages) {
      if (st.name == name) return st;
    }
    stages.push_back(StageState{});
    stages.back().name = name;
    return stages.back();
  }
};

class PipelineStateHub {
 public:
  // Applies `fn` to the live state under the lock.
  void Update(const std::function<void(PipelineState&)>& fn) {
    std::lock_guard<std::mutex> lock(mu_);
    fn(state_);
  }
  PipelineState Snapshot() const {
    std::lock_guard<std::mutex> lock(mu_);
    return state_;
  }
  // Sets one stage's state and detail (adding the stage when new).
  void SetStage(const std::string& name, const std::string& state, const std::string& detail) {
    Update([&](PipelineState& s) {
      StageState& st = s.Stage(name);
      st.state = state;
      st.detail = detail;
    });
  }

 private:
  mutable std::mutex mu_;
  PipelineState state_;
};

}  // namespace cdc::jobs
