// Incremental snapshots (issue 18, item 3): a table is read in chunks while capture keeps streaming, by
// the watermark method of DBLog that Debezium's incremental snapshots use, in its read-only form (nothing
// is written to the user's database: the watermarks come from pg_current_snapshot() and the WAL
// position). docs/CAPTURE.md, "Incremental snapshots", argues its correctness; in short, per chunk:
//
//   BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY
//   SELECT pg_current_snapshot(), pg_current_wal_insert_lsn()    -- S (the low watermark) and L
//   COPY (SELECT cols FROM t WHERE (<where>) AND (k) > (last) ORDER BY k LIMIT n) TO STDOUT
//   COMMIT
//
// The chunk is held in memory, keyed by its primary key, while the stream goes on from where it was
// (every transaction it had passed committed before S). A streamed change of a key of the chunk by a
// transaction S does not see (not committed when S was taken) removes the key from the chunk: the stream
// carries the newer row. Once the stream has passed L (the high watermark: every transaction S sees
// committed before it), the rest of the chunk is emitted as op `r` (source.snapshot "incremental").
//
// Thread-safety: Request/List from any thread; everything else on capture's thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/lsn.h"
#include "base/status.h"
#include "event/change_event.h"
#include "pg/connection.h"
#include "pg/snapshot_reader.h"

namespace cdc::jobs {

// One incremental snapshot, as asked for (POST /api/snapshots, a table added to source.tables) and as it
// stands. `key` is the last key emitted (its chunk handed to the sink); `durable_key` the last key of a
// chunk the sink made durable, from which a restart continues.
struct IncrementalSnapshot {
  std::string table;  // "schema.table"
  std::string where;  // a SQL condition on the table's rows; "" = every row
  std::string state = "queued";  // queued, running, done, failed
  std::string error;             // when failed
  std::vector<std::string> key;
  std::vector<std::string> durable_key;
  uint64_t rows = 0;       // emitted as `r`
  uint64_t dropped = 0;    // read but dropped: the stream changed them inside their chunk's window
  uint64_t chunks = 0;
  uint64_t durable_rows = 0;
  bool read_all = false;   // its last chunk was emitted: waiting for it to be durable
};

// The snapshot S of a chunk's transaction: which committed top-level transactions it sees.
struct TxSnapshot {
  uint64_t xmax = 0;           // 32-bit xids are compared modulo 2^32 (the stream's are recent)
  std::vector<uint32_t> xip;   // in progress when S was taken
  // pg_current_snapshot()'s text "xmin:xmax:xip,...". False on a malformed text.
  bool Parse(const std::string& text);
  bool Sees(uint32_t xid) const;
};

// Checks a request before it is accepted, on a connection of its own (not capture's): the table (read as
// PostgreSQL reads a name, pg::ParseTableName; InvalidArgument when it is not one) exists
// and has a primary key, the publication publishes it, it is captured (`captured`: the configured
// tables, empty = every table of the publication), `where` is valid SQL on it (PostgreSQL's error is
// relayed, naming the table). Returns the table as "schema.table". Reads only (in a READ ONLY
// transaction). Errors: NotFound (unknown table), FailedPrecondition (not published or captured, no
// key), InvalidArgument (bad where).
Result<std::string> CheckIncrementalRequest(pg::PgConnection& conn, const std::string& table,
                                            const std::string& where, const std::string& publication,
                                            const std::set<std::string>& captured);

class IncrementalSnapshotter {
 public:
  explicit IncrementalSnapshotter(uint64_t chunk_rows) : chunk_rows_(chunk_rows ? chunk_rows : 1) {}

  // Queues a snapshot; AlreadyExists when one of that table is queued or running.
  Status Request(IncrementalSnapshot s);
  // Every snapshot of this process (and those resumed from the marker), oldest first.
  std::vector<IncrementalSnapshot> List() const;

  // --- capture's thread ---
  // True when a chunk should be read now: a snapshot is queued or running and no chunk is held.
  bool WantsChunk();
  // Reads the next chunk of the current snapshot on `conn` (in its own transaction). A snapshot whose
  // table is read to its end is done once its last chunk was emitted. An error of the read fails that
  // snapshot (logged, reported by List) and is not returned: streaming goes on.
  void ReadChunk(pg::PgConnection& conn);
  // A streamed change of transaction `xid` to a row of `table` (its key columns in `row`: after for
  // inserts and updates, before for deletes; null for a truncate, which empties the chunk).
  void OnChange(const event::TableSchema& table, uint32_t xid, const event::Row* row);
  // Whether the held chunk may be emitted: the stream has passed its high watermark.
  bool Due(Lsn stream_position) const { return held_ && stream_position.valid() && stream_position >= high_; }
  Lsn high_watermark() const { return high_; }
  // True once per chunk that has waited a second for the stream to pass its high watermark: WAL up to it
  // may not be flushed (a transaction in progress wrote it and nothing commits), and the walsender sends
  // only flushed WAL. The caller then commits a logical message, which flushes it (docs/CAPTURE.md).
  bool NeedsNudge();
  // Emits the held chunk's remaining rows through `emit` (lsn: the stream position they are placed at),
  // then returns the chunk's table and last key for the caller to track its durability.
  struct EmittedChunk {
    std::string table;
    std::vector<std::string> key;
    uint64_t rows = 0;
    bool last = false;  // the table is read to its end
  };
  Result<EmittedChunk> EmitHeld(Lsn lsn, Lsn last_commit_lsn,
                                const std::function<Status(const event::ChangeEvent&)>& emit);
  // A chunk of `table` ending at `key` is durable in the sink (`last`: the snapshot's last).
  void MarkDurable(const std::string& table, const std::vector<std::string>& key, uint64_t rows, bool last);
  // Snapshots not yet done (for the marker), and whether the set changed since the last call.
  std::vector<IncrementalSnapshot> Pending() const;
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

 private:
  IncrementalSnapshot* Current();  // REQUIRES: mu_ held

  const uint64_t chunk_rows_;
  mutable std::mutex mu_;
  std::deque<IncrementalSnapshot> all_;  // guarded by mu_
  // Bumped on every change of all_ (cheap checks from capture's loop, once per message).
  std::atomic<uint64_t> version_{0};
  std::atomic<bool> maybe_work_{false};  // a snapshot may want a chunk read

  // The held chunk (capture's thread only).
  bool held_ = false;
  bool held_last_ = false;
  std::string held_table_;
  uint32_t held_relation_ = 0;
  std::shared_ptr<const event::TableSchema> held_schema_;
  std::vector<size_t> key_index_;
  std::vector<event::ChangeEvent> rows_;
  std::vector<bool> dropped_;
  std::unordered_map<std::string, size_t> by_key_;
  std::vector<std::string> held_key_;  // the chunk's last key
  TxSnapshot snapshot_;
  Lsn high_;
  int64_t held_since_us_ = 0;
  bool nudged_ = false;
  std::string KeyOf(const event::Row& row) const;
};

}  // namespace cdc::jobs
