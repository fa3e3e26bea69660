#include "jobs/snapshot_progress.h"

#include <algorithm>

#include <fmt/format.h>

#include "base/clock.h"

namespace cdc::jobs {

void SnapshotProgressTracker::Start(std::vector<Table> tables, size_t first, uint64_t rows_before,
                                    uint64_t first_table_rows, bool resumed, int64_t mono_us, int64_t wall_ms) {
  for (size_t i = 0; i < tables.size() && i < first; ++i) tables[i].done = true;
  if (first < tables.size()) tables[first].rows = first_table_rows;
  Start(std::move(tables), rows_before >= first_table_rows ? rows_before - first_table_rows : 0, resumed, mono_us,
        wall_ms);
}

void SnapshotProgressTracker::Start(std::vector<Table> tables, uint64_t rows_before, bool resumed, int64_t mono_us,
                                    int64_t wall_ms) {
  progress_ = SnapshotProgress{};
  progress_.state = "running";
  progress_.resumed = resumed;
  progress_.started_at_ms = wall_ms;
  runs_.assign(tables.size(), Run{});
  started_us_ = mono_us;
  rows_before_ = rows_before;
  for (size_t i = 0; i < tables.size(); ++i) {
    SnapshotTableProgress t;
    t.table = std::move(tables[i].name);
    t.rows_estimated = tables[i].estimate;
    if (tables[i].done) {
      t.state = "done";
      t.rows_done.reset();
    } else {
      t.rows_done = tables[i].rows;
      runs_[i].base = tables[i].rows;
    }
    progress_.tables.push_back(std::move(t));
  }
  Recompute(mono_us, wall_ms);
}

void SnapshotProgressTracker::Update(size_t index, uint64_t table_rows, bool done, int64_t mono_us, int64_t wall_ms) {
  if (index >= progress_.tables.size()) return;
  SnapshotTableProgress& t = progress_.tables[index];
  Run& r = runs_[index];
  if (!r.started_us) r.started_us = mono_us;
  t.rows_done = table_rows;
  t.state = done ? "done" : "reading";
  if (done && !r.finished_us) r.finished_us = mono_us;
  Recompute(mono_us, wall_ms);
}

void SnapshotProgressTracker::Finish(const std::string& state, int64_t mono_us, int64_t wall_ms) {
  if (state == "complete") {
    for (size_t i = 0; i < progress_.tables.size(); ++i) {
      progress_.tables[i].state = "done";
      if (!runs_[i].finished_us && runs_[i].started_us) runs_[i].finished_us = mono_us;
    }
  }
  Recompute(mono_us, wall_ms);
  progress_.state = state;
  if (state != "running") {
    for (auto& t : progress_.tables) {
      if (t.state != "done") t.eta_seconds.reset();
    }
    if (state != "complete") progress_.eta_seconds.reset();
  }
}

void SnapshotProgressTracker::Recompute(int64_t mono_us, int64_t wall_ms) {
  progress_.updated_at_ms = wall_ms;
  uint64_t total = rows_before_, this_run = 0;
  bool estimated = true;
  uint64_t estimate_sum = 0, remaining = 0;
  for (size_t i = 0; i < progress_.tables.size(); ++i) {
    SnapshotTableProgress& t = progress_.tables[i];
    const Run& r = runs_[i];
    uint64_t done = t.rows_done.value_or(0);
    total += done;
    uint64_t mine = done >= r.base ? done - r.base : 0;
    this_run += mine;
    if (t.rows_estimated) {
      estimate_sum += *t.rows_estimated;
    } else {
      estimated = false;
    }
    // Rate over the time this run spent on the table (until it finished it).
    int64_t end = r.finished_us.value_or(mono_us);
    double secs = r.started_us ? static_cast<double>(end - *r.started_us) / 1e6 : 0;
    t.rows_per_second = secs > 0 ? static_cast<double>(mine) / secs : 0;
    if (t.state == "done") {
      t.eta_seconds = 0.0;
    } else if (t.rows_estimated && *t.rows_estimated > done && t.rows_per_second > 0) {
      t.eta_seconds = static_cast<double>(*t.rows_estimated - done) / t.rows_per_second;
    } else {
      t.eta_seconds.reset();
    }
    if (t.state != "done") {
      if (t.rows_estimated) {
        remaining += *t.rows_estimated > done ? *t.rows_estimated - done : 0;
      } else {
        estimated = false;
      }
    }
  }
  progress_.rows_done = total;
  progress_.rows_estimated = estimated ? std::optional<uint64_t>(std::max(estimate_sum, total)) : std::nullopt;
  double secs = static_cast<double>(mono_us - started_us_) / 1e6;
  progress_.rows_per_second = secs > 0 ? static_cast<double>(this_run) / secs : 0;
  bool all_done = std::all_of(progress_.tables.begin(), progress_.tables.end(),
                              [](const SnapshotTableProgress& t) { return t.state == "done"; });
  if (all_done) {
    progress_.eta_seconds = 0.0;
  } else if (estimated && progress_.rows_per_second > 0) {
    progress_.eta_seconds = static_cast<double>(remaining) / progress_.rows_per_second;
  } else {
    progress_.eta_seconds.reset();
  }
}

namespace {

std::string Printable(const std::string& s) {
  std::string out = s;
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

std::string Duration(double secs) {
  if (secs < 120) return fmt::format("{:.0f} s", secs);
  if (secs < 7200) return fmt::format("{:.1f} min", secs / 60);
  return fmt::format("{:.1f} h", secs / 3600);
}

}  // namespace

std::string FormatSnapshotProgressLine(const SnapshotProgress& p) {
  std::string line = "snapshot";
  if (p.rows_estimated && *p.rows_estimated > 0) {
    line += fmt::format(" {:.1f}% ({} of ~{} rows", 100.0 * static_cast<double>(p.rows_done) / *p.rows_estimated,
                        p.rows_done, *p.rows_estimated);
  } else {
    line += fmt::format(" ({} rows", p.rows_done);
  }
  line += fmt::format(", {:.0f} rows/s", p.rows_per_second);
  if (p.eta_seconds && p.state == "running") line += ", ~" + Duration(*p.eta_seconds) + " left";
  line += ")";
  size_t done = 0;
  const SnapshotTableProgress* reading = nullptr;
  for (const auto& t : p.tables) {
    if (t.state == "done") ++done;
    if (t.state == "reading" && !reading) reading = &t;
  }
  line += fmt::format(", {}/{} tables done", done, p.tables.size());
  if (reading) {
    line += ", reading " + Printable(reading->table);
    if (reading->rows_estimated && *reading->rows_estimated > 0) {
      line += fmt::format(" {:.1f}%", 100.0 * static_cast<double>(reading->rows_done.value_or(0)) /
                                          static_cast<double>(*reading->rows_estimated));
    }
  }
  if (p.state != "running" && !p.state.empty()) line += " [" + p.state + "]";
  return line;
}

SnapshotProgressPublisher::SnapshotProgressPublisher(PipelineStateHub* hub)
    : hub_(hub), line_("snapshot", 0, "rows") {}

void SnapshotProgressPublisher::Start(const std::vector<std::shared_ptr<const event::TableSchema>>& tables,
                                      const std::vector<pg::SnapshotRange>& ranges,
                                      const std::vector<std::optional<uint64_t>>& estimates,
                                      const std::optional<pg::ParallelSnapshotPosition>& from) {
  std::vector<SnapshotProgressTracker::Table> t;
  for (size_t i = 0; i < tables.size(); ++i) {
    t.push_back({tables[i]->schema + "." + tables[i]->table, i < estimates.size() ? estimates[i] : std::nullopt});
  }
  uint64_t attributed = 0;
  if (from) {
    // A table is done when each of its ranges is; the rows of ranges read in part count for their table.
    std::vector<bool> done(tables.size(), true);
    for (size_t r = 0; r < ranges.size(); ++r) {
      size_t ti = ranges[r].table_index;
      if (ti >= tables.size()) continue;
      if (!from->Done(r)) done[ti] = false;
      auto it = from->ranges.find(r);
      if (it != from->ranges.end()) {
        t[ti].rows += it->second.rows;
        attributed += it->second.rows;
      }
    }
    for (size_t i = 0; i < tables.size(); ++i) {
      t[i].done = done[i];
      if (done[i]) {
        attributed -= std::min(attributed, t[i].rows);  // a done table's rows are in the unattributed sum
        t[i].rows = 0;
      }
    }
  }
  uint64_t before = from ? from->rows : 0;
  tracker_.Start(std::move(t), before >= attributed ? before - attributed : 0, from.has_value(), MonoMicros(),
                 WallMillis());
  Publish(true);
}

void SnapshotProgressPublisher::Update(const pg::TableProgress& p) {
  tracker_.Update(p.table_index, p.rows, p.done, MonoMicros(), WallMillis());
  Publish(p.done);
}

void SnapshotProgressPublisher::Finish(const std::string& state) {
  tracker_.Finish(state, MonoMicros(), WallMillis());
  Publish(true);
}

void SnapshotProgressPublisher::Publish(bool force) {
  const SnapshotProgress& p = tracker_.progress();
  if (hub_) hub_->Update([&](PipelineState& s) { s.snapshot = p; });
  line_.Show(FormatSnapshotProgressLine(p), force);
}

}  // namespace cdc::jobs
