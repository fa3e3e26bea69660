// CaptureState: capture's own state, kept outside the user's database (docs/CAPTURE.md, "State").
//
// One small JSON object per replication slot, key "slot-<slot>.json", in an object store (a local
// directory, file:///dir or s3://bucket/prefix; store/object_store.h, whose Put is atomic). Like
// Debezium Server's file offset store, it records what the database cannot tell: whether the initial
// snapshot of the slot was completed (made durable in the sink).
//
//   {"format":1,"slot":"cdcpipe","database":"shop","system_identifier":"7361...",
//    "snapshot":"complete","snapshot_lsn":"0/16B3748","completed_at":"2026-11-25T10:00:00Z",
//    "ranges":[{"table_index":0,"table":"public.orders","hi":"500000"},{"table_index":0,...,"lo":"500000"}],
//    "position":{"done_below":1,"ranges":[{"range":2,"key":["41234"],"done":false,"rows":41234}],
//                "rows":91234,"resumable":true},
//    "sent_upto":{...position...},
//    "resumes":[{"from":{...position...},"snapshot":"812:815:813","wal_insert_lsn":"0/1A2B3C4",
//                "uncertain_upto":{...position...}}]}
//
// `ranges` is the parallel snapshot's plan (pg/parallel_snapshot.h), written before any row is read;
// the positions name its ranges by index. `position` (while pending) is how far the snapshot's rows are
// durable in the sink, per range; `sent_upto` (Kafka)
// how far they may have been handed to it; `resumes` lists the reads that continued an interrupted
// snapshot in a new transaction (all optional).
//
// `snapshot` is "pending" from just before the slot is created until the snapshot is durable, then
// "complete". A "pending" object (or none) for an existing slot means the previous run died during
// the snapshot. An object whose system identifier or database differs from the server's is not this
// slot's (another cluster wrote it): it is ignored with a warning.
//
// Migration: before this file existed the marker was a row of public.cdcpipe_offsets in the user's
// database. When a slot has no object here, ReadLegacyMarker reads that row (read-only; the table is
// never created or written) and the job writes it here.
//
// Thread-safety: one thread at a time.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/lsn.h"
#include "base/status.h"
#include "pg/connection.h"
#include "pg/parallel_snapshot.h"
#include "pg/snapshot_reader.h"
#include "store/object_store.h"

namespace cdc::jobs {

// One resumed read of an interrupted snapshot (docs/CAPTURE.md, "Resuming"): it read the rows after
// `from` (up to the next resume's `from`, or to the end) in a new transaction whose snapshot is `view`.
// The stream drops the changes of those rows made by transactions that `view` saw.
struct SnapshotResume {
  pg::ParallelSnapshotPosition from;
  pg::SnapshotView view;
  // A sink that tracks no chunks (Kafka): the highest position an earlier run may have handed to the
  // sink (the marker's sent_upto when this read began). The rows after `from` up to it may be in the
  // destination as `r` of an older snapshot, so the stream drops none of their changes (even those
  // `view` saw): each such key's last event is then its latest change. nullopt: none (`run`).
  std::optional<pg::ParallelSnapshotPosition> uncertain_upto = std::nullopt;
};

struct SnapshotMarker {
  std::string slot;
  std::string database;
  std::string system_identifier;  // IDENTIFY_SYSTEM's systemid
  bool complete = false;          // false = "pending"
  Lsn snapshot_lsn;               // the slot's consistent point; invalid while unknown
  std::string completed_at;       // RFC 3339 UTC, when complete
  // Pending: how far the snapshot's rows are durable in the sink (none: nothing yet).
  std::optional<pg::ParallelSnapshotPosition> position;
  // Every resumed read, in order; kept after completion (the stream filters with them).
  std::vector<SnapshotResume> resumes;
  // The tables whose rows were snapshotted (initial or incremental), so that a table added to the
  // captured tables is backfilled by an incremental snapshot at the next start. nullopt: a marker
  // written before this field existed (every captured table counts as snapshotted).
  std::optional<std::vector<std::string>> tables = std::nullopt;
  // Incremental snapshots not finished (jobs/incremental_snapshot.h): a restart continues each after
  // the last key the sink made durable.
  struct Incremental {
    std::string table;
    std::string where;
    std::vector<std::string> key;
    uint64_t rows = 0;
  };
  std::vector<Incremental> incremental = {};
  // Pending, with a sink that tracks no chunks (Kafka): every snapshot row any run handed to the sink
  // is at or before this position. Written before the rows after it are appended (pg::SnapshotCallbacks::
  // announce); never moves back. nullopt: nothing handed over past `position` (always so for `run`).
  std::optional<pg::ParallelSnapshotPosition> sent_upto = std::nullopt;
  // The snapshot's ranges (the positions' indices point into it). Empty: not planned yet, or a marker
  // written before ranges existed whose positions are linear (then one range per table).
  std::vector<pg::SnapshotRange> ranges = {};
};

// A chunk position as it travels with the records (RecordSink::EndSnapshotChunk) and into the raw
// checkpoint of `cdcpipe run`: the marker's position JSON plus "snapshot_lsn", which ties it to one slot
// (its consistent point). A linear position of an earlier version ({"table_index", "table", "key", ...})
// is read as one range per table.
std::string SerializeSnapshotPosition(Lsn snapshot_lsn, const pg::ParallelSnapshotPosition& position);
Result<std::pair<Lsn, pg::ParallelSnapshotPosition>> ParseSnapshotPosition(std::string_view text);

class CaptureState {
 public:
  // Opens (a local directory is created) the state location `uri`. InvalidArgument when empty.
  static Result<std::unique_ptr<CaptureState>> Open(const std::string& uri, const store::StoreOptions& options);

  // The marker of `slot`, or nullopt when there is none. Corruption (naming the object) when it
  // cannot be parsed.
  Result<std::optional<SnapshotMarker>> Read(const std::string& slot);
  // Replaces the marker of marker.slot (atomic).
  Status Write(const SnapshotMarker& marker);
  // Removes the marker of `slot`; OK when there is none.
  Status Remove(const std::string& slot);
  // "file:///dir/slot-cdcpipe.json": where the marker of `slot` lives, for messages.
  std::string Describe(const std::string& slot) const;

 private:
  explicit CaptureState(std::unique_ptr<store::ObjectStore> store) : store_(std::move(store)) {}
  std::unique_ptr<store::ObjectStore> store_;
};

// The legacy marker row of `slot` in public.cdcpipe_offsets, read-only; nullopt when the table or the
// row does not exist. The result is complete; database and system identifier are left empty.
Result<std::optional<SnapshotMarker>> ReadLegacyMarker(pg::PgConnection& conn, const std::string& slot);

}  // namespace cdc::jobs
