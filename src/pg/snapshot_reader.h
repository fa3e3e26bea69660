// SnapshotReader: the initial snapshot of the captured tables, read in the snapshot exported by
// CREATE_REPLICATION_SLOT so that it joins the replication stream with no gap and no overlap.
//
//   BEGIN ISOLATION LEVEL REPEATABLE READ; SET TRANSACTION SNAPSHOT '<exported>';
//   -- each table in chunks of about `chunk_rows` rows, one table after the other (docs/CAPTURE.md):
//   COPY (SELECT cols FROM t [WHERE (k1, k2) > (last k1, last k2)] ORDER BY k1, k2 LIMIT n) TO STDOUT
//   -- a table without a primary key: ranges of heap pages (TID range scans)
//   COPY (SELECT cols FROM t WHERE ctid >= '(p,0)' AND ctid < '(p+m,0)') TO STDOUT
//   COMMIT
//
// Keys are taken in the primary key's index order (so each chunk is an index range scan) and compared
// as a row value, which is the index's order; the last key of a chunk is passed back as literals cast
// to the columns' types. Every chunk reads the same snapshot, so the chunks together are exactly the
// table as of the snapshot, whatever concurrent writers do.
//
// Memory: one row at a time (COPY rows are streamed, the reader keeps the last row and one parsed
// event back), whatever the table size and chunk size; the chunk size bounds only the server's work
// per statement. A sink that buffers until the next position is bounded by SnapshotOptions::position_rows.
//
// Rows become op `r` ChangeEvents (after = the row, xid = the reading transaction's txid_current()) with
// Debezium's source.snapshot markers: "first" on the first row, "last_in_data_collection" on each table's
// last row, "last" on the very last, "true" otherwise. The reader holds one event back to know which one
// a row is. A resumed read (resume_after with rows > 0) writes no "first": the earlier run delivered it.
// COPY's text format (tab-separated, \N for NULL, backslash escapes) is undone by ParseCopyTextRow.
//
// Thread-safety: one thread; uses the given connection exclusively while reading.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/lsn.h"
#include "base/status.h"
#include "event/change_event.h"
#include "pg/connection.h"

namespace cdc::pg {

// Splits one COPY text-format line (with or without its trailing newline) into `ncols` values and
// undoes the escapes (\b \f \n \r \t \v \\, \NNN octal, \xHH hex, \<other> = <other>); \N is NULL.
// Reuses the strings in `row`. Wrong column count -> Corruption.
Status ParseCopyTextRow(std::string_view line, size_t ncols, event::Row* row);

// Where a chunked snapshot stands: every table before `table_index` was read whole, and of that table
// the rows whose primary key is <= `key` (in the key's index order; text as COPY writes it). An empty
// `key`: nothing of that table yet. table_index == tables.size(): the snapshot is read to its end.
struct SnapshotPosition {
  size_t table_index = 0;
  std::string table;             // "schema.table" at table_index ("" past the end); checked on resume
  std::vector<std::string> key;  // the last key read
  // False inside a table without a primary key (a page position does not survive the snapshot: rows
  // move between pages when they are updated): such a position cannot be resumed from.
  bool resumable = true;
  uint64_t rows = 0;             // snapshot rows emitted up to here (counting earlier runs)
  uint64_t table_rows = 0;       // of them, rows of the table at table_index (0 in a marker written before
                                 // this field existed: progress then counts that table from the resume)
};

// The snapshot a ReadSnapshot transaction reads, for the resume filter (docs/CAPTURE.md): a transaction
// of the stream is in it iff it is visible to `snapshot` (pg_current_snapshot(): "xmin:xmax:xip,..."),
// and every transaction that is committed at or before `wal_insert_lsn` might be, none after it.
struct SnapshotView {
  std::string snapshot;
  Lsn wal_insert_lsn;
};

struct SnapshotOptions {
  std::string snapshot_name;  // exported snapshot; "" = a fresh REPEATABLE READ snapshot (tests)
  std::vector<std::shared_ptr<const event::TableSchema>> tables;  // read in this order
  Lsn snapshot_lsn;           // the slot's consistent point: the events' lsn/commit_lsn
  int64_t snapshot_time_us = 0;  // the events' commit time (default: now)
  // Rows per chunk (keyset) or the page count that holds about that many rows (no primary key).
  // REQUIRES: > 0.
  uint64_t chunk_rows = 10000;
  // Also report a position (chunk_done) after every `position_rows` rows inside a chunk, so that a
  // sink that commits only at positions (`cdcpipe run`) never waits for more than this many rows,
  // whatever chunk_rows is. Inside a keyset chunk the position is the key of the row just read, as at
  // a chunk end; inside a ctid range it is not resumable (as every position of such a table). 0: only
  // at chunk ends. Default 0.
  uint64_t position_rows = 0;
  // Read only what follows this position (a resumed snapshot). REQUIRES: resumable.
  std::optional<SnapshotPosition> resume_after;
  // With SnapshotCallbacks::announce: how many rows of a keyed table one announcement covers at least
  // (the key that many rows ahead is looked up with one index range query, in the same transaction),
  // rounded up to whole chunks. 0: one chunk.
  uint64_t announce_rows = 0;
};

// A table's primary key in its index's column order, for keyset pagination and key comparisons.
struct PrimaryKey {
  std::vector<std::string> names;  // column names
  std::vector<std::string> types;  // format_type with the typmod: "integer", "character(5)"
  std::vector<size_t> index;       // each column's position in the TableSchema's columns
};
// The primary key of `table` as the catalog has it now (names.empty(): none, or a key column the schema
// does not have).
Result<PrimaryKey> LookupPrimaryKey(PgConnection& conn, const event::TableSchema& table);
// Compares two keys (text values in `key`'s order) as PostgreSQL orders them: -1, 0 or 1.
Result<int> CompareKeys(PgConnection& conn, const PrimaryKey& key, const std::vector<std::string>& a,
                        const std::vector<std::string>& b);

// How one table is cut into chunks: its primary key in index order, or heap page ranges.
struct ChunkPlan {
  struct KeyColumn {
    std::string quoted;  // "\"id\""
    std::string type;    // format_type with the typmod, for the literal's cast: "integer", "character(5)"
    size_t index = 0;    // position in the table's column list (the COPY row)
  };
  std::vector<KeyColumn> key;    // empty: no primary key -> ctid ranges
  uint64_t pages = 0;            // ctid ranges: the table's pages when its read began
  uint64_t pages_per_chunk = 1;  // ctid ranges: about chunk_rows rows
};
// The chunk plan of `table` now: its primary key, or (none) its pages and the pages per chunk.
Result<ChunkPlan> PlanChunks(PgConnection& conn, const event::TableSchema& table, uint64_t chunk_rows);

// pg_class.reltuples of each table (nullopt: never analyzed, reltuples < 0), for progress estimates.
Result<std::vector<std::optional<uint64_t>>> EstimateRows(
    PgConnection& conn, const std::vector<std::shared_ptr<const event::TableSchema>>& tables);

// How far the read of one table is: `rows` of table `table_index` read (counting the rows before a
// resume position), `done` once the table is read whole.
struct TableProgress {
  size_t table_index = 0;
  uint64_t rows = 0;
  bool done = false;
};

struct SnapshotCallbacks {
  // Each row, in order. An error stops the read.
  std::function<Status(const event::ChangeEvent&)> emit;
  // After the last row of each chunk was passed to `emit`: where the snapshot stands. Optional.
  std::function<Status(const SnapshotPosition&)> chunk_done;
  // Once, when the transaction's snapshot is taken (before any row). Optional.
  std::function<Status(const SnapshotView&)> started;
  // When a table's read starts, every 4096 rows, at each chunk end and when the table is read. Optional.
  std::function<void(const TableProgress&)> progress;
  // Before any row after the last announced position is emitted: every row emitted from now until the
  // next call is at or before `upto` (a keyed table: the key announce_rows rows ahead, or the table's
  // end; a table without a primary key: its end, since page positions do not survive the snapshot).
  // Called with the connection idle in the snapshot's transaction. Optional; used by capture to record
  // in its marker which rows a sink that tracks no chunks may hold past the durable position.
  std::function<Status(const SnapshotPosition& upto)> announce;
};

// Reads every table; calls `emit` once per row in order (a table in key order when it has a primary
// key). Stops at the first error from `emit`. Returns the number of rows read. Each table's row and
// chunk counts are logged.
Result<uint64_t> ReadSnapshot(PgConnection& conn, const SnapshotOptions& opts, const SnapshotCallbacks& callbacks);
inline Result<uint64_t> ReadSnapshot(PgConnection& conn, const SnapshotOptions& opts,
                                     std::function<Status(const event::ChangeEvent&)> emit) {
  return ReadSnapshot(conn, opts, SnapshotCallbacks{std::move(emit), nullptr, nullptr, nullptr, nullptr});
}

}  // namespace cdc::pg
