// SnapshotProgressTracker: turns what the snapshot reader reports (a table's rows read so far, a table
// finished) into the SnapshotProgress that /api/status, /metrics, the dashboard, `cdcpipe status` and
// the terminal progress line show (issue 18 item 4): rows done and estimated per table, rows per
// second, ETA.
//
// Estimates are pg_class.reltuples read when the snapshot starts (the planner's count as of the last
// VACUUM/ANALYZE: cheap on any table, and off by what changed since; a table never analyzed has none).
// Rates count only the rows this process read, over the time it has spent reading them, so a resumed
// snapshot does not look faster than it is; rows done count earlier runs too.
//
// Pure: the caller passes the clocks, so tests can drive it. Thread-safety: one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/progress.h"
#include "event/change_event.h"
#include "jobs/pipeline_state.h"
#include "pg/parallel_snapshot.h"
#include "pg/snapshot_reader.h"

namespace cdc::jobs {

class SnapshotProgressTracker {
 public:
  struct Table {
    std::string name;                   // "schema.table"
    std::optional<uint64_t> estimate;   // nullopt: never analyzed
    bool done = false;                  // read whole by earlier runs
    uint64_t rows = 0;                  // of a table not done: rows earlier runs read of it
  };
  // The snapshot (re)starts: `tables` in snapshot order with what earlier runs read of each;
  // `rows_before` rows of earlier runs belong to the tables they read whole (only their sum is known).
  void Start(std::vector<Table> tables, uint64_t rows_before, bool resumed, int64_t mono_us, int64_t wall_ms);
  // The snapshot (re)starts: `tables` in snapshot order; this run reads from table `first` on, whose
  // first `first_table_rows` rows earlier runs read; `rows_before` rows of all tables were read by
  // earlier runs (0 for a fresh snapshot). Tables before `first` are done.
  void Start(std::vector<Table> tables, size_t first, uint64_t rows_before, uint64_t first_table_rows, bool resumed,
             int64_t mono_us, int64_t wall_ms);
  // Table `index` has `table_rows` rows read (counting earlier runs); `done` when it is read whole.
  // Several tables may be read at once (a parallel snapshot).
  void Update(size_t index, uint64_t table_rows, bool done, int64_t mono_us, int64_t wall_ms);
  // The snapshot ended: "complete", "stopped" or "failed".
  void Finish(const std::string& state, int64_t mono_us, int64_t wall_ms);

  const SnapshotProgress& progress() const { return progress_; }

 private:
  void Recompute(int64_t mono_us, int64_t wall_ms);

  SnapshotProgress progress_;
  struct Run {
    uint64_t base = 0;                   // rows of the table read by earlier runs
    std::optional<int64_t> started_us;   // when this run began reading it
    std::optional<int64_t> finished_us;  // when this run finished it
  };
  std::vector<Run> runs_;
  uint64_t rows_before_ = 0;   // rows of tables done before the restart (unknown per table)
  int64_t started_us_ = 0;
};

// What capture uses: a tracker fed by pg::ReadSnapshotParallel's progress callback, published to a
// PipelineStateHub (when there is one: `cdcpipe run`) and drawn as a progress line on stderr (when it
// is a terminal). The hub is updated at every report (a table start, each chunk end, every 4096 rows:
// a few hundred small copies a second at most); the line at most 10 times a second.
// Thread-safety: one thread (capture's); the hub is thread-safe.
class SnapshotProgressPublisher {
 public:
  // `hub` may be null (not owned; must outlive this).
  explicit SnapshotProgressPublisher(PipelineStateHub* hub);
  // `estimates[i]` is tables[i]'s (pg::EstimateRows); `ranges` the snapshot's plan, `from` the resume
  // position, if any.
  void Start(const std::vector<std::shared_ptr<const event::TableSchema>>& tables,
             const std::vector<pg::SnapshotRange>& ranges, const std::vector<std::optional<uint64_t>>& estimates,
             const std::optional<pg::ParallelSnapshotPosition>& from);
  void Update(const pg::TableProgress& p);
  // "complete", "stopped" or "failed".
  void Finish(const std::string& state);

 private:
  void Publish(bool force);
  PipelineStateHub* hub_;
  SnapshotProgressTracker tracker_;
  ProgressLine line_;
};

// One line for a terminal, e.g. "snapshot 45.2% (1234567 of ~2730000 rows, 120345 rows/s, ~12 s left),
// 1/3 tables done, reading public.big 30.0%". Control characters in names become "?" (no terminal escape
// sequence from a table name).
std::string FormatSnapshotProgressLine(const SnapshotProgress& progress);

}  // namespace cdc::jobs
