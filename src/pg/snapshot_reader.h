// SnapshotReader: the initial snapshot of the captured tables, read in the snapshot exported by
// CREATE_REPLICATION_SLOT so that it joins the replication stream with no gap and no overlap.
//
//   BEGIN ISOLATION LEVEL REPEATABLE READ; SET TRANSACTION SNAPSHOT '<exported>';
//   COPY "schema"."table" TO STDOUT   -- text format, one table after the other
//   COMMIT
//
// Rows become op `r` ChangeEvents (after = the row, source.snapshot = "true", and "last" for the very
// last row of the snapshot; the reader holds one event back to know which one that is).
// COPY's text format (tab-separated, \N for NULL, backslash escapes) is undone by ParseCopyTextRow.
//
// Thread-safety: one thread; uses the given connection exclusively while reading.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "event/change_event.h"
#include "pg/connection.h"

namespace cdc::pg {

// Splits one COPY text-format line (with or without its trailing newline) into `ncols` values and
// undoes the escapes (\b \f \n \r \t \v \\, \NNN octal, \xHH hex, \<other> = <other>); \N is NULL.
// Reuses the strings in `row`. Wrong column count -> Corruption.
Status ParseCopyTextRow(std::string_view line, size_t ncols, event::Row* row);

struct SnapshotOptions {
  std::string snapshot_name;  // exported snapshot; "" = a fresh REPEATABLE READ snapshot (tests)
  std::vector<std::shared_ptr<const event::TableSchema>> tables;  // read in this order
  Lsn snapshot_lsn;           // the slot's consistent point: the events' lsn/commit_lsn
  int64_t snapshot_time_us = 0;  // the events' commit time (default: now)
  bool show_progress = true;  // a progress line per table on a terminal
};

// Reads every table; calls `emit` once per row in order. Stops at the first error from `emit`.
// Returns the number of rows read.
Result<uint64_t> ReadSnapshot(PgConnection& conn, const SnapshotOptions& opts,
                              const std::function<Status(const event::ChangeEvent&)>& emit);

}  // namespace cdc::pg
