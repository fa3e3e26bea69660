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
  // A stall in progress: what the stage is waiting on that owes it an answer (PostgreSQL a keepalive
  // capture asked for, the object store a response to a request in flight), "" when it waits on
  // nothing; and since when (wall clock, ms since the epoch). Readers show now - waiting_since_ms
  // (/api/status stalled_seconds, /metrics cdcpipe_stage_stalled_seconds) while the stall lasts, that
  // is before the hung connection is replaced.
  std::string waiting_on{};  // (braces: aggregate initialisers that stop before it stay warning-free)
  int64_t waiting_since_ms = 0;
  // When the stage last heard from its peer (capture: the last message from PostgreSQL; the writer:
  // the last object store request that completed), wall clock ms; 0 = not known.
  int64_t last_progress_ms = 0;
};

struct TableCounters {
  uint64_t events_captured_total = 0;  // change events captured (incl. snapshot reads)
  uint64_t events_written_total = 0;   // raw events committed to Parquet
};

// One view of the views file (docs/VIEWS.md), as the live engine last published it. Names and values
// come from the user's SQL and database: readers escape them for their context.
struct ViewState {
  struct Column {
    std::string name;
    std::string type;  // PostgreSQL's type name: "bigint", "numeric(10,2)", "text" ...
  };
  std::string name;
  std::vector<Column> columns;
  // The first rows (at most kMaxRows), each value as PostgreSQL prints it; nullopt = NULL.
  std::vector<std::vector<std::optional<std::string>>> rows;
  uint64_t row_count = 0;          // all rows of the result
  uint64_t groups = 0;             // groups held in memory
  uint64_t state_bytes = 0;        // memory the view's state holds (estimate)
  std::string source_lsn;          // the source position the result includes ("" unknown)
  // Delay from the newest change the result includes being captured (its event's timestamp) to the
  // result being published with it; negative when unknown (nothing applied live yet).
  double freshness_seconds = -1;
  int64_t updated_at_ms = 0;       // when it was last published
  std::string error;               // non-empty: the view stopped updating, and why
  static constexpr size_t kMaxRows = 50;
};

// One table of a snapshot in progress (issue 18 item 4). Table names come from the user's database:
// readers escape them for their context.
struct SnapshotTableProgress {
  std::string table;               // "schema.table"
  std::string state = "waiting";   // "waiting", "reading", "done"
  // Rows read so far (counting earlier runs of a resumed snapshot); nullopt for a table read whole
  // before a restart (only the snapshot's total survives a restart for those).
  std::optional<uint64_t> rows_done = 0;
  // pg_class.reltuples when the snapshot started; nullopt when never analyzed (no estimate).
  std::optional<uint64_t> rows_estimated;
  double rows_per_second = 0;      // while reading: rows read by this run / seconds it has been reading
  // Seconds left at that rate (0 when done); nullopt when unknown (no estimate, no rate yet, or more
  // rows read than estimated).
  std::optional<double> eta_seconds;
};

// The initial snapshot of this process, as capture last published it (jobs/snapshot_progress.h).
struct SnapshotProgress {
  std::string state;               // "" none in this process, "running", "complete", "stopped", "failed"
  bool resumed = false;            // continues an interrupted snapshot after its durable position
  uint64_t rows_done = 0;          // all tables (exact, counting earlier runs)
  std::optional<uint64_t> rows_estimated;  // sum of the estimates (nullopt if any table has none)
  double rows_per_second = 0;
  std::optional<double> eta_seconds;
  int64_t started_at_ms = 0;
  int64_t updated_at_ms = 0;
  std::vector<SnapshotTableProgress> tables;  // in snapshot order
};

struct PipelineState {
  int64_t started_at_ms = 0;
  SnapshotProgress snapshot;                    // the initial snapshot (state "" when none)
  std::vector<StageState> stages;
  std::map<std::string, TableCounters> tables;  // by table name
  std::string last_committed_lsn;               // "0/1A2B3C4" (confirmed to PostgreSQL)
  int64_t last_batch_id = -1;
  uint64_t batches_committed_total = 0;
  uint64_t bytes_written_total = 0;
  uint64_t slot_lag_bytes = 0;                  // pg_current_wal_lsn() - confirmed_flush_lsn
  double freshness_seconds = 0;                 // commit in PostgreSQL -> visible in committed Parquet
  std::vector<std::string> recent_errors;       // newest last, at most 20
  std::vector<ViewState> views;                 // in the views file's order
  std::string views_file;                       // "" = no views configured

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
