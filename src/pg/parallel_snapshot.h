// Parallel initial snapshot (issue 18 item 2; docs/CAPTURE.md "Parallel snapshot").
//
// The tables are cut into ranges (PlanSnapshotRanges): a small table is one range; a large keyed table
// is split on its first primary key column at values from pg_stats' histogram, a large table without a
// primary key into heap page ranges. N reader threads, each on its own connection, import one snapshot
// (`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '...'`) and take ranges in
// plan order, each range read in chunks like pg::ReadSnapshot reads a table (keyset on the key inside
// the range, or page ranges). The rows are merged on the caller's thread: `emit` sees the rows of one
// range in key order, the ranges interleaved.
//
// The snapshot: the one exported by CREATE_REPLICATION_SLOT (`snapshot_name`), or, to resume an
// interrupted snapshot, one the coordinator connection exports (`pg_export_snapshot()`). Either way the
// coordinator connection imports or exports it first and keeps its transaction open until every reader
// has read its ranges, so the snapshot stays importable while readers start.
//
// Where a parallel snapshot stands (ParallelSnapshotPosition) is per range: every range before
// `done_below` is read whole; of the others, those in `ranges` are read up to `key` (or whole: `done`);
// the rest not at all. A position is handed to `chunk_done` at every chunk end and every
// `position_rows` rows inside a chunk of some range (each reader reports every position_rows / N rows
// of its own, so the merged rows have a position about every position_rows rows), always after the
// rows it covers were passed to `emit`.
//
// Snapshot markers (docs/DEBEZIUM.md): `first` on the first row emitted (none when a resumed snapshot
// had durable rows), `last` on the very last, `last_in_data_collection` on each table's last row, `true`
// otherwise. The merger holds each table's newest row until the table's next row or the end of all its
// ranges is merged (so a range that ends last and turns out empty does not cost the table its marker),
// and one more row until it knows whether another follows.
//
// Thread-safety: ReadSnapshotParallel is called on one thread, which runs every callback; it starts
// and joins its reader threads itself.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/lsn.h"
#include "base/status.h"
#include "event/change_event.h"
#include "pg/connection.h"
#include "pg/snapshot_reader.h"

namespace cdc::pg {

// One part of a table that one reader reads alone. Rows of a keyed table whose first primary key
// column is >= lo and < hi (literals of that column's type); of a table without a primary key, the
// heap pages [lo, hi). nullopt: unbounded on that side.
struct SnapshotRange {
  size_t table_index = 0;
  std::string table;  // "schema.table" at table_index; checked on resume
  std::optional<std::string> lo;
  std::optional<std::string> hi;
  bool operator==(const SnapshotRange&) const = default;
};

// How far one range was read.
struct RangePosition {
  std::vector<std::string> key;  // the last key read (text as COPY writes it); empty: none yet
  bool done = false;             // read whole
  uint64_t rows = 0;             // rows of the range read (counting earlier runs)
  bool operator==(const RangePosition&) const = default;
};

// Where a parallel snapshot stands (see the header comment).
struct ParallelSnapshotPosition {
  size_t done_below = 0;
  std::map<size_t, RangePosition> ranges;  // ranges >= done_below that were started
  uint64_t rows = 0;                       // snapshot rows emitted up to here (counting earlier runs)
  // False while a table without a primary key is read in part (some of its ranges started, not all
  // done): its rows cannot be placed against such a position (they move between pages when updated).
  bool resumable = true;
  bool operator==(const ParallelSnapshotPosition&) const = default;

  bool Done(size_t range) const {
    if (range < done_below) return true;
    auto it = ranges.find(range);
    return it != ranges.end() && it->second.done;
  }
  bool Started(size_t range) const { return range < done_below || ranges.count(range) > 0; }
  // Every range read whole.
  static ParallelSnapshotPosition End(size_t range_count) {
    ParallelSnapshotPosition p;
    p.done_below = range_count;
    return p;
  }
  // The linear position of pg::ReadSnapshot (a marker of an earlier version), with one range per table.
  static ParallelSnapshotPosition FromLinear(const SnapshotPosition& linear);
};

// Cuts `tables` into ranges for `parallelism` readers, in the caller's transaction (the snapshot's):
// a table whose estimated rows (pg_class.reltuples) exceed 2 x chunk_rows is split into up to
// `parallelism` ranges (no more than its chunk count), a keyed one at values of pg_stats' histogram of
// its first key column (a table never analyzed, or whose first key column has no histogram, stays
// whole), one without a key into equal page ranges. Ranges are in table order, each table's in key /
// page order.
Result<std::vector<SnapshotRange>> PlanSnapshotRanges(PgConnection& conn,
                                                      const std::vector<std::shared_ptr<const event::TableSchema>>& tables,
                                                      size_t parallelism, uint64_t chunk_rows);
// One range per table (a marker written before ranges existed).
std::vector<SnapshotRange> WholeTableRanges(const std::vector<std::shared_ptr<const event::TableSchema>>& tables);

struct ParallelSnapshotOptions {
  std::string conninfo;       // the readers' connections
  std::string snapshot_name;  // the exported snapshot; "" = the coordinator exports one (a resume)
  std::vector<std::shared_ptr<const event::TableSchema>> tables;
  std::vector<SnapshotRange> ranges;  // the plan; empty = PlanSnapshotRanges in the snapshot
  Lsn snapshot_lsn;                   // the events' lsn / commit_lsn
  int64_t snapshot_time_us = 0;       // the events' commit time (default: now)
  uint64_t chunk_rows = 10000;        // REQUIRES: > 0
  uint64_t position_rows = 0;         // see the header comment; 0: only at chunk ends
  size_t parallelism = 1;             // readers (at most the ranges left to read). REQUIRES: > 0
  std::optional<ParallelSnapshotPosition> resume_after;  // REQUIRES: resumable
};

struct ParallelSnapshotCallbacks {
  std::function<Status(const event::ChangeEvent&)> emit;                 // each row, merged
  std::function<Status(const ParallelSnapshotPosition&)> chunk_done;     // optional
  std::function<Status(const SnapshotView&)> started;                    // optional: the snapshot's view
  // Optional: the plan, before any row (capture saves it: positions name its ranges).
  std::function<Status(const std::vector<SnapshotRange>&)> planned;
  std::function<void(const TableProgress&)> progress;                    // optional, as ReadSnapshot's
};

// Reads every range not read yet; `coordinator` runs the snapshot's transaction (see above) and is
// committed at the end. Returns the rows read by this call. Each table's rows and chunks are logged
// once it is read.
Result<uint64_t> ReadSnapshotParallel(PgConnection& coordinator, const ParallelSnapshotOptions& opts,
                                      const ParallelSnapshotCallbacks& callbacks);

// The range of `ranges` (indices into it, all of one table, in order) that holds a row whose first
// primary key column is `first_key_value` (text), compared as PostgreSQL orders that column's type.
Result<size_t> FindRange(PgConnection& conn, const std::vector<SnapshotRange>& ranges,
                         const std::vector<size_t>& table_ranges, const std::string& first_key_type,
                         const std::string& first_key_value);

}  // namespace cdc::pg
