// CaptureJob: PostgreSQL logical replication (pgoutput) -> Debezium change events -> a RecordSink.
//
// What Run() does (docs/CAPTURE.md has the whole protocol):
// 1. Pre-flight, before anything is created (pg/source_check.h): connection, wal_level, the role's
//    REPLICATION and SELECT privileges, the tables, the publication, replica identity, the slot name,
//    a free slot; then the replication connection and the state location (state_uri). Every problem
//    is reported at once with the statement that fixes it, and the database is left as it was. Only
//    then: the publication is created FOR TABLE ... when missing (create_publication) or missing
//    tables are added to it, REPLICA IDENTITY FULL is set when replica_identity_full asks for it.
//    Nothing else in the user's database is created or changed; capture's own state (the snapshot
//    marker) lives in state_uri (jobs/capture_state.h).
// 2. Slot: created with an exported snapshot when missing (a publication or replica identity this
//    run changed is put back if that fails). With snapshot mode initial, an existing slot without a
//    completed marker (a crash during the snapshot) is kept and the snapshot resumed (3), unless it
//    stopped inside a table without a primary key: then the slot is dropped and created again.
// 3. Snapshot: every table is read in chunks in the exported snapshot, by snapshot_parallelism
//    connections that read tables and key ranges of large tables at once (pg/parallel_snapshot.h), and
//    emitted as op `r`; after each
//    chunk EndSnapshotChunk, and the position of the last durable chunk is saved in the marker. A
//    resumed snapshot reads the rest in a new transaction whose snapshot is recorded in the marker
//    first; the stream then drops the changes that snapshot already holds (docs/CAPTURE.md,
//    "Resuming an interrupted snapshot"). The snapshot ends with EndTransaction(consistent point);
//    once the sink says it is durable, the marker is set to complete. Streaming then starts at the
//    consistent point: no gap, no duplicate.
// 4. Streaming: pgoutput messages are decoded and turned into events one at a time (a transaction
//    is never buffered: memory stays bounded however large it is); each Commit calls
//    EndTransaction(end LSN). The flushed LSN sent to PostgreSQL is only ever the sink's DurableLsn()
//    (plus, when everything is durable, the WAL end of an idle keepalive), so a crash loses nothing.
// 5. Faults: a lost connection (PostgreSQL restart) -> reconnect with exponential backoff and resume
//    from the slot. A sink that cannot deliver keeps the LSN where it is. A fatal sink error ends Run.
// 6. Stop: when ShutdownRequested() (SIGINT/SIGTERM) Run flushes the sink, confirms DurableLsn() to
//    PostgreSQL and returns OK.
//
// Driving capture with your own sink (`cdcpipe run`): construct a CaptureJob with any RecordSink
// (e.g. log::ChannelSink), call Run() on a thread; the sink decides durability through DurableLsn().
//
// Thread-safety: Run() on one thread; stats() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/lsn.h"
#include "base/status.h"
#include "event/debezium_encoder.h"
#include "jobs/incremental_snapshot.h"
#include "jobs/pipeline_state.h"
#include "log/record_sink.h"
#include "store/object_store.h"

namespace cdc::jobs {

enum class SnapshotMode {
  kInitial,      // snapshot once (when the slot is new), then stream
  kNever,        // stream only
  kInitialOnly,  // snapshot once, then return without streaming
};

// Parses "initial|never|initial_only".
Result<SnapshotMode> ParseSnapshotMode(std::string_view text);

struct CaptureOptions {
  // libpq connection string or URI; "" = libpq's PG* variables (the CLI passes source.url). Required.
  std::string conninfo;
  // Captured tables, "table" (schema public) or "schema.table". Default: empty = the publication's
  // tables (an error when there is no publication). When set, only these tables' changes are emitted
  // even if the publication has more (e.g. FOR ALL TABLES).
  std::vector<std::string> tables;
  // Where `tables` came from, named in the error for a table that does not exist, e.g.
  // "cdcpipe.yaml:4:11 (source.tables)". Default empty (not named).
  std::string tables_origin;
  // Replication slot name. Default "cdcpipe".
  std::string slot = "cdcpipe";
  // Publication name. Default "cdcpipe".
  std::string publication = "cdcpipe";
  // Default kInitial.
  SnapshotMode snapshot = SnapshotMode::kInitial;
  // Create the publication FOR TABLE <tables> when it is missing, and add tables it lacks. Default
  // true. False: a missing publication or table in it is a start-up error printing the statement.
  bool create_publication = true;
  // Run ALTER TABLE ... REPLICA IDENTITY FULL on the captured tables (updates and deletes then carry
  // the whole old row). Default false: replica identity is left alone, and a table without a primary
  // key whose identity is DEFAULT or NOTHING is a start-up error.
  bool replica_identity_full = false;
  // Capture's state location (the snapshot marker, one JSON object per slot): a directory,
  // file:///dir or s3://bucket/prefix. Required.
  std::string state_uri;
  // How to open state_uri (S3 endpoint, credentials; empty fields come from the environment).
  store::StoreOptions state_store;
  // Emit pg_logical_emit_message heartbeats this often, and check the slot's retained WAL. 0 = off.
  // Default 10 s.
  std::chrono::milliseconds heartbeat{10000};
  // Warn when the slot retains more WAL than this. Default 1 GiB.
  uint64_t retained_wal_warn_bytes = 1ull << 30;
  // Rows per chunk of the initial snapshot (pg/snapshot_reader.h). Default 10000 (docs/CAPTURE.md says
  // why). REQUIRES: > 0.
  uint64_t snapshot_chunk_rows = 10000;
  // A resumable position is handed to the sink (EndSnapshotChunk) at least every this many snapshot
  // rows, inside a chunk too (pg::SnapshotOptions::position_rows): what a crash makes the pipeline read
  // again, and what `cdcpipe run` buffers before it may commit, does not grow with the chunk size.
  // `run` sets it to its max_batch_rows. Default 10000; 0 = only at chunk ends.
  uint64_t snapshot_position_rows = 10000;
  // Connections that read the initial snapshot at once (pg/parallel_snapshot.h), each importing the
  // same snapshot; at most the number of ranges left to read. 0 (default) = the machine's cores.
  size_t snapshot_parallelism = 0;
  // Standby status updates are sent at least this often (and when the server asks). Default 10 s.
  std::chrono::milliseconds status_interval{10000};
  // Reconnect backoff: first wait, doubled up to the maximum. Defaults 200 ms and 10 s.
  std::chrono::milliseconds reconnect_initial{200};
  std::chrono::milliseconds reconnect_max{10000};
  // A replication connection on which PostgreSQL sends nothing for this long is taken as hung (a
  // dropped NAT entry, a paused server: nothing closes it) and replaced like a lost one. Halfway through
  // a silence capture asks for a keepalive (a standby status update with reply requested), so a live
  // idle server always answers in time. Measured only while capture waits on the socket (a sink that
  // blocks capture does not count as silence). Default 30 s; 0 = off.
  std::chrono::milliseconds server_timeout{30000};
  // Stop (flush, confirm, return OK) once everything up to this LSN is durable. Invalid = never.
  // Used by benchmarks and tests (like pg_recvlogical --endpos).
  Lsn end_lsn;
  // When non-empty, append "<commit LSN> <commit-to-durable latency in microseconds>" per transaction
  // to this file (benchmarks).
  std::string latency_log;
  // Encoder settings (topic prefix, schemas, decimal mode, tombstones). `database` is filled in.
  event::EncoderOptions encoder;
  // The source position the destination has committed, when the caller knows it (`cdcpipe run`: its
  // checkpoint's). Invalid = unknown. Only named in the error for a slot that is gone.
  Lsn committed_lsn;
  // Where the snapshot's progress is published (PipelineState::snapshot; `cdcpipe run` passes its hub).
  // Not owned; null = nowhere (the terminal progress line is drawn either way).
  PipelineStateHub* state = nullptr;
  // Called on the capture thread for each change event that produced records, when set and the encoder
  // writes every column (encoder.columns is empty): when it returns true, what it wrote to `out` is
  // attached to the event's record (log::Record::change), so that an in-process consumer (`cdcpipe
  // run`'s live views, analytics::ChangeProjector) reads the decoded change instead of parsing the JSON
  // again. It must only return true for a form with the same values as the record's JSON. Default none.
  std::function<bool(const event::ChangeEvent& event, std::string* out)> share_change;
};

struct CaptureStats {
  uint64_t snapshot_rows = 0;
  uint64_t events = 0;        // change events streamed (not counting the snapshot)
  uint64_t records = 0;       // records appended to the sink (snapshot + stream, incl. tombstones)
  uint64_t transactions = 0;  // Commit messages handled
  uint64_t reconnects = 0;
  uint64_t hung_connections = 0;  // replication connections replaced after server_timeout of silence
  std::string last_disconnect;    // why the replication connection was last lost or replaced
  // The last message from PostgreSQL on the replication connection (wall clock ms; 0 = none yet).
  int64_t last_heard_ms = 0;
  // A stall: when capture asked a silent server for a keepalive that has not come yet (wall clock ms;
  // 0 = none pending). A live server answers at once; a hung connection never does and is replaced
  // at server_timeout.
  int64_t keepalive_asked_ms = 0;
  Lsn durable_lsn;            // last DurableLsn() confirmed to PostgreSQL
};

class CaptureJob {
 public:
  // `sink` is not owned and must outlive the job.
  CaptureJob(CaptureOptions options, log::RecordSink* sink);
  ~CaptureJob();
  CaptureJob(const CaptureJob&) = delete;
  CaptureJob& operator=(const CaptureJob&) = delete;

  // Runs until shutdown, end_lsn, or a fatal error. See the header comment.
  Status Run();

  CaptureStats stats() const;

  // Incremental snapshots (jobs/incremental_snapshot.h, docs/CAPTURE.md): checks the request on a
  // connection of its own and queues it; the running job reads the table in chunks while it streams.
  // Returns the table as "schema.table". Thread-safe (the HTTP server calls it).
  Result<std::string> RequestSnapshot(const std::string& table, const std::string& where);
  // The incremental snapshots of this run (and those resumed from the marker). Thread-safe.
  std::vector<IncrementalSnapshot> Snapshots() const;

 private:
  struct Impl;
  Impl* impl_;
};

// `cdcpipe capture --drop-slot`: drops the slot (if present), the publication and the slot's marker
// in `state_uri` (never the legacy table public.cdcpipe_offsets). Fails with FailedPrecondition if the
// slot is in use by a running capture. An empty state_uri leaves the marker alone (only until every
// caller passes one; a marker whose slot is gone is ignored by the next start anyway).
Status DropCapture(const std::string& conninfo, const std::string& slot, const std::string& publication,
                   const std::string& state_uri = "", const store::StoreOptions& state_store = {});

}  // namespace cdc::jobs
