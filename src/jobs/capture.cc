#include "jobs/capture.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <fmt/chrono.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/clock.h"
#include "base/failpoint.h"
#include "base/log.h"
#include "base/shutdown.h"
#include "jobs/capture_state.h"
#include "jobs/snapshot_progress.h"
#include "pg/connection.h"
#include "pg/pgoutput_decoder.h"
#include "pg/relation_cache.h"
#include "pg/replication_stream.h"
#include "pg/parallel_snapshot.h"
#include "pg/snapshot_reader.h"
#include "pg/source_check.h"
#include "pg/table_catalog.h"

namespace cdc::jobs {

namespace {

constexpr const char* kComponent = "capture";
constexpr const char* kHeartbeatPrefix = "cdcpipe_heartbeat";

using Clock = std::chrono::steady_clock;

// Now as RFC 3339 UTC, for the snapshot marker.
std::string UtcNow() {
  return fmt::format("{:%Y-%m-%dT%H:%M:%SZ}", fmt::gmtime(static_cast<std::time_t>(WallMicros() / 1000000)));
}

// Sleeps up to `d`, waking early on shutdown.
void SleepUnlessShutdown(std::chrono::milliseconds d) {
  auto until = Clock::now() + d;
  while (Clock::now() < until && !ShutdownRequested()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

}  // namespace

Result<SnapshotMode> ParseSnapshotMode(std::string_view text) {
  if (text == "initial") return SnapshotMode::kInitial;
  if (text == "never") return SnapshotMode::kNever;
  if (text == "initial_only") return SnapshotMode::kInitialOnly;
  return Status::InvalidArgument(fmt::format("--snapshot '{}': expected initial, never or initial_only", text));
}

struct CaptureJob::Impl {
  CaptureOptions opts;
  log::RecordSink* sink;
  std::unique_ptr<event::DebeziumEncoder> encoder;  // made in SetUp (needs the database name)

  std::optional<pg::PgConnection> conn;  // normal connection: set-up, catalog, heartbeats
  std::optional<pg::PgCatalogSource> catalog;
  pg::RelationCache relations;
  std::vector<std::shared_ptr<const event::TableSchema>> tables;

  // Set-up (SetUp's pre-flight): what the catalog said and what this run changed, the replication
  // connection opened to check it, capture's state location and this slot's marker there.
  pg::SourcePlan plan;
  std::optional<pg::ReplicationStream> repl;
  std::string system_id;
  std::unique_ptr<CaptureState> state;
  std::optional<SnapshotMarker> marker;  // this cluster's and database's, or none
  // With configured tables, changes of other tables the publication carries (FOR ALL TABLES, or a
  // publication shared with others) are dropped: `captured` holds the tables' "schema.table",
  // `skipped_relations` the relation ids of the Relation messages that named another table.
  std::set<std::string> captured;
  std::unordered_set<uint32_t> skipped_relations;

  // Per-transaction state of the stream.
  bool in_tx = false;
  uint32_t tx_xid = 0;
  Lsn tx_commit_lsn;
  int64_t tx_commit_time_us = 0;
  uint64_t tx_order = 0;
  Lsn last_commit_lsn;
  Lsn last_end_lsn;  // the highest end LSN passed to EndTransaction
  // Replay after an in-process reconnect: the slot resends from its confirmed position, which may be
  // behind what this process already handed to the sink. A transaction whose commit LSN is before
  // last_end_lsn was handed over whole and is skipped; one cut by the lost connection (its commit LSN is
  // interrupted_commit_lsn) skips the interrupted_events events it had already emitted. Without this,
  // a reconnect duplicated events (harmless for at-least-once Kafka, wrong for `cdcpipe run`).
  bool skip_tx = false;
  uint64_t skip_events = 0;
  Lsn interrupted_commit_lsn;
  uint64_t interrupted_events = 0;
  Lsn idle_lsn;      // WAL end of a keepalive received outside a transaction
  // The server process (walsender) of this session's replication connection, read once streaming; and
  // that of a connection given up as hung (server_timeout), which may still hold the slot.
  int walsender_pid = 0;
  int hung_walsender_pid = 0;
  Lsn confirmed;     // last flush position sent

  // Reused buffers: no allocation per event once warm.
  pg::PgOutputDecoder decoder;
  pg::PgOutputMessage msg;
  event::ChangeEvent ev;
  std::vector<event::EncodedRecord> encoded;
  std::vector<std::string> spare_strings;  // from the sink to the encoder (RecordSink::TakeSpareStrings)

  // The snapshot in chunks (docs/CAPTURE.md, "Snapshot in chunks" and "Resuming").
  bool resume = false;     // PrepareSlot: continue the pending snapshot in a new transaction
  uint64_t chunk_seq = 0;  // chunks handed to the sink in this run
  std::deque<std::pair<uint64_t, pg::ParallelSnapshotPosition>> chunks_pending;  // not yet known durable
  // The snapshot's ranges (marker->ranges, or one per table for a marker of an earlier version) and,
  // per table, its ranges' indices: the filter places a change in them.
  std::vector<pg::SnapshotRange> ranges;
  std::vector<std::vector<size_t>> table_ranges;
  int64_t position_saved_us = 0;
  // The resume filter: one per resumed read (marker->resumes). A change of a row that a resumed read
  // took from its own snapshot is dropped when that snapshot saw the change's transaction.
  struct ResumeFilter {
    pg::ParallelSnapshotPosition from;  // the read covers the rows `from` does not, up to the next filter's `from`
    uint32_t xmax = 0;          // the snapshot's xmax and in-progress transactions (32-bit xids)
    std::vector<uint32_t> xip;
    Lsn wal_insert_lsn;         // no transaction committed after it is in the snapshot
    // The rows after `from` up to here may hold an older `r` in the sink (SnapshotResume): none of
    // their changes is dropped.
    std::optional<pg::ParallelSnapshotPosition> uncertain_upto;
  };
  std::vector<ResumeFilter> filters;
  Lsn filter_until;  // the highest wal_insert_lsn: later transactions are never filtered
  std::unordered_map<uint32_t, std::pair<std::shared_ptr<const event::TableSchema>, pg::PrimaryKey>> filter_keys;

  // Latency log: transactions not yet durable (end LSN, commit time).
  std::FILE* latency_file = nullptr;
  struct PendingLatency {
    Lsn end;
    int64_t commit_us;   // commit time in PostgreSQL
    int64_t received_us; // when its Commit message was decoded here
  };
  std::deque<PendingLatency> latency_pending;

  // Incremental snapshots (jobs/incremental_snapshot.h): their chunks handed to the sink and not yet
  // known durable (chunk number, what was emitted).
  std::unique_ptr<IncrementalSnapshotter> incremental;
  std::deque<std::pair<uint64_t, IncrementalSnapshotter::EmittedChunk>> incremental_pending;
  uint64_t incremental_saved_version = 0;  // the snapshotter's version() the marker reflects
  int64_t incremental_flush_us = 0;       // the last Flush asked for (sinks that track no chunks)

  mutable std::mutex stats_mu;
  CaptureStats stats;
  // CaptureStats::last_heard_ms and keepalive_asked_ms, kept apart from stats_mu: the streaming loop
  // writes them once per message without a lock, stats() reads them.
  std::atomic<int64_t> heard_ms{0};
  std::atomic<int64_t> keepalive_asked_ms{0};

  Impl(CaptureOptions o, log::RecordSink* s) : opts(std::move(o)), sink(s) {
    incremental = std::make_unique<IncrementalSnapshotter>(opts.snapshot_chunk_rows);
  }

  Status Connect() {
    CDC_ASSIGN_OR_RETURN(pg::PgConnection c, pg::PgConnection::Connect(opts.conninfo));
    conn.emplace(std::move(c));
    catalog.emplace(&*conn);
    relations = pg::RelationCache(&*catalog);
    return Status::OK();
  }

  Status SetUp();
  // Fails when two captured tables map to one topic (Kafka topic names: event::KafkaTopicName).
  Status CheckTopicNames() const;
  Status LoadMarker();
  Status PrepareSlot(bool* need_snapshot, std::optional<pg::CreatedSlot>* created,
                     std::optional<pg::ReplicationStream>* stream);
  Status Snapshot(const pg::CreatedSlot* created);
  std::vector<std::string> TableNames() const;
  Status QueueBackfills();
  Status IncrementalStep();
  Status EmitIncremental(Lsn high);
  Status SaveIncremental();
  Status SaveDurablePosition(bool force);
  void SetRanges(std::vector<pg::SnapshotRange> plan);
  Status BuildFilters();
  Result<bool> Filtered(event::Op op, const std::shared_ptr<const event::TableSchema>& table);
  Result<const pg::PrimaryKey*> KeyOf(const std::shared_ptr<const event::TableSchema>& table);
  Result<bool> Covers(const pg::ParallelSnapshotPosition& p, size_t table_index,
                      const std::shared_ptr<const event::TableSchema>& table, const event::Row* row);
  Status Stream(std::optional<pg::ReplicationStream> stream, Lsn start);
  Status StreamSession(pg::ReplicationStream& stream, Lsn start, bool* streamed_something);
  Status HandleMessage(std::string_view payload, Lsn wal_start);
  Status EmitRow(event::Op op, const std::shared_ptr<const event::TableSchema>& table, Lsn lsn);
  Status Append(const event::ChangeEvent& e);
  // Hands `encoded` to the sink; `change` (may be empty) goes with the event's record.
  Status AppendEncoded(std::string change = {});
  Status WaitDurable(Lsn lsn);
  Lsn ConfirmPosition() const {
    Lsn durable = sink->DurableLsn();
    if (durable >= last_end_lsn && !in_tx && idle_lsn > durable) return idle_lsn;
    return durable;
  }
  void Heartbeat();
  void DrainLatencies();
  Status SlotGone(bool exists, bool lost, Lsn slot_confirmed) const;
  Status DiagnoseSlot(const Status& failure);

  void SetRowValues(const std::vector<pg::TupleValue>& tuple, event::Row* row) {
    row->resize(tuple.size());
    for (size_t i = 0; i < tuple.size(); ++i) {
      event::Value& v = (*row)[i];
      switch (tuple[i].kind) {
        case pg::TupleValue::Kind::kNull:
          v.kind = event::Value::Kind::kNull;
          v.text.clear();
          break;
        case pg::TupleValue::Kind::kUnchangedToast:
          v.kind = event::Value::Kind::kUnchangedToast;
          v.text.clear();
          break;
        case pg::TupleValue::Kind::kText:
        case pg::TupleValue::Kind::kBinary:
          v.kind = event::Value::Kind::kText;
          v.text.assign(tuple[i].data);
          break;
      }
    }
  }
};

Status CaptureJob::Impl::CheckTopicNames() const {
  std::map<std::string, const event::TableSchema*> by_topic;
  auto quoted = [](const event::TableSchema& t) {
    return pg::QuoteIdentifier(t.schema) + "." + pg::QuoteIdentifier(t.table);
  };
  for (const auto& t : tables) {
    std::string topic = encoder->TopicFor(*t);
    auto [it, fresh] = by_topic.emplace(topic, t.get());
    if (!fresh) {
      // One topic for two tables would mix their events, and everything downstream that reads a table
      // from its topic (stream's per-table counts, the views) would take one for the other.
      return Status::InvalidArgument(
          "tables " + quoted(*it->second) + " and " + quoted(*t) + " both map to Kafka topic " + topic +
          " (characters not valid in a topic name become '_', as in Debezium): rename one of them, or capture them "
          "with separate configs and kafka.topic_prefix values (docs/DEBEZIUM.md, \"Topic names\"); nothing was changed");
    }
    if (topic != opts.encoder.topic_prefix + "." + t->schema + "." + t->table) {
      log::Warn(kComponent, "table {}: its name is not valid in a Kafka topic name: its events go to topic {}",
                quoted(*t), topic);
    }
  }
  return Status::OK();
}

Status CaptureJob::Impl::SetUp() {
  // Pre-flight: only reads, until ApplySourcePlan below.
  CDC_ASSIGN_OR_RETURN(state, CaptureState::Open(opts.state_uri, opts.state_store));
  CDC_RETURN_IF_ERROR(Connect());
  pg::PgConnection& c = *conn;
  pg::SourceCheckOptions sc;
  sc.tables = opts.tables;
  sc.tables_origin = opts.tables_origin;
  sc.slot = opts.slot;
  sc.publication = opts.publication;
  sc.create_publication = opts.create_publication;
  sc.replica_identity_full = opts.replica_identity_full;
  CDC_ASSIGN_OR_RETURN(plan, pg::CheckSource(c, sc));
  opts.encoder.database = plan.database;
  encoder = std::make_unique<event::DebeziumEncoder>(opts.encoder);

  tables.clear();
  captured.clear();
  for (const auto& t : plan.tables) {
    CDC_ASSIGN_OR_RETURN(pg::CatalogTable ct, pg::LookupTable(c, t.schema, t.table));
    tables.push_back(pg::SchemaFromCatalog(ct));
    if (!opts.tables.empty()) captured.insert(t.schema + "." + t.table);
  }
  CDC_RETURN_IF_ERROR(CheckTopicNames());
  {
    auto s = pg::ReplicationStream::Connect(opts.conninfo);
    if (!s.ok()) {
      return s.status().WithContext(fmt::format(
          "opening a replication connection (check pg_hba.conf and max_wal_senders; nothing in database \"{}\" "
          "was changed)",
          plan.database));
    }
    repl.emplace(std::move(*s));
    CDC_ASSIGN_OR_RETURN(pg::SystemIdentity id, repl->IdentifySystem());
    system_id = id.system_id;
  }
  CDC_RETURN_IF_ERROR(LoadMarker());
  for (const auto& t : plan.key_only_tables) {
    log::Info(kComponent,
              "{} has REPLICA IDENTITY DEFAULT: its updates and deletes carry only the primary key as the old row "
              "(before); set replica_identity_full for whole old rows",
              t);
  }

  // Everything checked: make what the plan needs (one transaction).
  return pg::ApplySourcePlan(c, plan, kComponent);
}

// Reads this slot's marker from the state location; a marker of another cluster or database is
// ignored; with none, the legacy row in public.cdcpipe_offsets (read-only) is moved to the state.
Status CaptureJob::Impl::LoadMarker() {
  CDC_ASSIGN_OR_RETURN(marker, state->Read(opts.slot));
  if (marker && (marker->system_identifier != system_id || marker->database != plan.database)) {
    log::Warn(kComponent,
              "ignoring snapshot marker {}: it was written for database \"{}\" of system {}, this is \"{}\" of "
              "system {}",
              state->Describe(opts.slot), marker->database, marker->system_identifier, plan.database, system_id);
    marker.reset();
  }
  if (marker || !plan.slot_exists) return Status::OK();
  CDC_ASSIGN_OR_RETURN(std::optional<SnapshotMarker> legacy, ReadLegacyMarker(*conn, opts.slot));
  if (!legacy) return Status::OK();
  legacy->database = plan.database;
  legacy->system_identifier = system_id;
  CDC_RETURN_IF_ERROR(state->Write(*legacy));
  log::Info(kComponent,
            "moved the snapshot marker of slot \"{}\" from public.cdcpipe_offsets (left as it is; it is no longer "
            "used and may be dropped) to {}",
            opts.slot, state->Describe(opts.slot));
  marker = std::move(legacy);
  return Status::OK();
}

// The slot cannot give capture the changes it needs: PostgreSQL invalidated it (its WAL was removed),
// or it was dropped after its snapshot had completed (capture's marker says so; a slot of a new name,
// or one whose snapshot never completed, is made and snapshotted as usual). Either way the changes after
// the position the destination holds are gone, and neither retrying nor a silent new snapshot would
// say so: the job stops (FailedPrecondition, exit 6) naming the slot, the LSN and what to do. OK when
// the slot is usable.
Status CaptureJob::Impl::SlotGone(bool exists, bool lost, Lsn slot_confirmed) const {
  bool dropped = !exists && marker && marker->complete;
  if (!lost && !dropped) return Status::OK();
  // The last position known to be in the destination: the slot's confirmed one, what this process
  // confirmed or handed over durably, the caller's committed position; at least the snapshot's end.
  Lsn needed = std::max({slot_confirmed, confirmed, sink->DurableLsn(), opts.committed_lsn});
  std::string needed_text =
      needed.valid() ? "the changes after LSN " + needed.ToString()
                     : "the changes after its snapshot (consistent point " +
                           (marker ? marker->snapshot_lsn.ToString() : std::string("unknown")) + ")";
  std::string what =
      lost ? fmt::format("replication slot \"{}\" was invalidated by PostgreSQL (pg_replication_slots.wal_status = "
                         "'lost': the WAL it retained passed max_slot_wal_keep_size and was removed)",
                         opts.slot)
           : fmt::format("replication slot \"{}\" no longer exists (it was dropped after its snapshot completed{})",
                         opts.slot,
                         marker && !marker->completed_at.empty() ? " at " + marker->completed_at : std::string());
  return Status::FailedPrecondition(fmt::format(
      "{}: cdcpipe needed {}, and PostgreSQL can no longer send them; nothing after it was written. Changes "
      "made since are lost to this pipeline: take a new snapshot with a new slot (--slot <new name> --snapshot "
      "initial; its rows follow what is already in the output){}",
      what, needed_text,
      exists ? fmt::format(", and drop the old slot: SELECT pg_drop_replication_slot('{}');", opts.slot)
             : std::string()));
}

// A replication session failed for a reason other than a lost connection: when the slot was dropped or
// invalidated meanwhile, the clear error of SlotGone; otherwise `failure` as it is.
Status CaptureJob::Impl::DiagnoseSlot(const Status& failure) {
  if (!conn || PQstatus(conn->raw()) != CONNECTION_OK) {
    if (!Connect().ok()) return failure;
  }
  auto r = conn->ExecParams(
      "SELECT coalesce(wal_status, ''), confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1",
      {opts.slot});
  if (!r.ok()) return failure;
  bool exists = r->rows() == 1;
  bool lost = exists && r->Get(0, 0) == "lost";
  Lsn slot_confirmed = exists && !r->IsNull(0, 1) ? Lsn::Parse(r->Get(0, 1)).value_or(Lsn()) : Lsn();
  Status gone = SlotGone(exists, lost, slot_confirmed);
  return gone.ok() ? failure : gone;
}

Status CaptureJob::Impl::PrepareSlot(bool* need_snapshot, std::optional<pg::CreatedSlot>* created,
                                     std::optional<pg::ReplicationStream>* stream) {
  pg::PgConnection& c = *conn;
  bool exists = plan.slot_exists;
  bool snapshot_done = marker && marker->complete;
  bool want_snapshot = opts.snapshot != SnapshotMode::kNever;
  *need_snapshot = false;
  if (!(snapshot_done && opts.snapshot == SnapshotMode::kInitialOnly)) {
    CDC_RETURN_IF_ERROR(SlotGone(exists, plan.slot_lost, plan.slot_confirmed_lsn));
  }
  if (exists && want_snapshot && !snapshot_done) {
    // An interrupted snapshot continues where its durable rows end, in a new transaction (its exported
    // snapshot died with the last run), unless it stopped inside a table without a primary key.
    if (marker && marker->snapshot_lsn.valid() && (!marker->position || marker->position->resumable)) {
      resume = true;
      *need_snapshot = true;
    } else {
      log::Warn(kComponent, "slot \"{}\" exists but its snapshot never completed{}: dropping it and starting over",
                opts.slot,
                marker && marker->position ? " and stopped inside a table without a primary key" : "");
      CDC_RETURN_IF_ERROR(c.ExecParams("SELECT pg_drop_replication_slot($1)", {opts.slot}).status());
      exists = false;
    }
  }
  if (!exists) {
    // Pending before the slot exists, so that a crash from here on is seen as an unfinished snapshot
    // (a marker left by an older slot of that name would otherwise say "complete").
    marker = SnapshotMarker{opts.slot, plan.database, system_id, false, Lsn(), "", std::nullopt, {}, std::nullopt, {}};
    Status st = state->Write(*marker);
    if (st.ok()) st = FailpointHit("capture.before_create_slot");
    Result<pg::CreatedSlot> cs = st.ok() ? repl->CreateSlot(opts.slot, want_snapshot) : Result<pg::CreatedSlot>(st);
    if (!cs.ok()) {
      if (plan.changes()) {
        Status undo = pg::UndoSourcePlan(c, plan);
        if (undo.ok()) {
          log::Info(kComponent, "put back what this start had changed in database \"{}\"", plan.database);
        } else {
          log::Warn(kComponent, "could not put back the publication / replica identity set up by this start: {}",
                    undo.ToString());
        }
      }
      return cs.status().WithContext("creating replication slot \"" + opts.slot + "\"");
    }
    log::Info(kComponent, "created replication slot \"{}\" at {}", opts.slot, cs->consistent_point.ToString());
    if (opts.committed_lsn.valid() && want_snapshot) {
      log::Warn(kComponent,
                "the output already holds changes up to {} from an earlier slot: the new snapshot's rows are "
                "appended after them",
                opts.committed_lsn.ToString());
    }
    marker->snapshot_lsn = cs->consistent_point;
    CDC_RETURN_IF_ERROR(state->Write(*marker));
    *need_snapshot = want_snapshot;
    created->emplace(std::move(*cs));
  } else if (snapshot_done && opts.snapshot == SnapshotMode::kInitialOnly) {
    log::Info(kComponent, "snapshot of slot \"{}\" already completed", opts.slot);
  }
  stream->emplace(std::move(*repl));
  repl.reset();
  return Status::OK();
}

Status CaptureJob::Impl::Append(const event::ChangeEvent& e) {
  encoded.clear();
  if (encoder->NeedsSpareStrings()) {
    sink->TakeSpareStrings(&spare_strings);
    encoder->AddSpareStrings(&spare_strings);
  }
  CDC_RETURN_IF_ERROR(encoder->Encode(e, WallMillis(), &encoded));
  std::string change;
  // Only when the JSON carries every column: the shared change must have the values the JSON has.
  if (opts.share_change && !encoded.empty() && opts.encoder.columns.empty() && !opts.share_change(e, &change)) {
    change.clear();
  }
  return AppendEncoded(std::move(change));
}

Status CaptureJob::Impl::AppendEncoded(std::string change) {
  // The event's own record is the last one with a value (a transaction BEGIN may come before it, a
  // tombstone after it).
  size_t event_record = encoded.size();
  for (size_t i = encoded.size(); !change.empty() && i-- > 0;) {
    if (encoded[i].value) {
      event_record = i;
      break;
    }
  }
  for (size_t i = 0; i < encoded.size(); ++i) {
    auto& r = encoded[i];
    log::Record rec{std::move(r.topic), std::move(r.key), std::move(r.value), r.timestamp_ms};
    if (i == event_record) rec.change = std::move(change);
    CDC_RETURN_IF_ERROR(sink->Append(std::move(rec)));
  }
  std::lock_guard<std::mutex> l(stats_mu);
  stats.records += encoded.size();
  return Status::OK();
}

Status CaptureJob::Impl::WaitDurable(Lsn lsn) {
  Status last;
  for (;;) {
    CDC_RETURN_IF_ERROR(sink->Poll());
    if (sink->DurableLsn() >= lsn) return Status::OK();
    if (ShutdownRequested()) return Status::Cancelled("stopped while waiting for the sink");
    Status st = sink->Flush(std::chrono::milliseconds(1000));
    if (!st.ok() && !st.IsUnavailable()) return st;
    if (!st.ok() && st.message() != last.message()) {
      log::Warn(kComponent, "waiting for the destination to acknowledge up to {}: {}", lsn.ToString(), st.ToString());
      last = st;
    }
  }
}

Status CaptureJob::Impl::SaveDurablePosition(bool force) {
  if (chunks_pending.empty()) return Status::OK();
  int64_t now = MonoMicros();
  if (!force && now - position_saved_us < 1000000) return Status::OK();  // at most once a second
  position_saved_us = now;
  std::optional<uint64_t> durable = sink->DurableSnapshotChunk();
  if (!durable) {
    // The sink tracks no chunks (Kafka): everything appended is durable once Flush succeeds.
    for (Status last;;) {
      Status st = sink->Flush(std::chrono::milliseconds(1000));
      if (st.ok()) break;
      if (!st.IsUnavailable()) return st;
      if (ShutdownRequested()) return Status::Cancelled("stopped while waiting for the sink");
      if (st.message() != last.message()) log::Warn(kComponent, "waiting for the destination: {}", st.ToString());
      last = st;
    }
    durable = chunks_pending.back().first;
  }
  std::optional<pg::ParallelSnapshotPosition> pos;
  while (!chunks_pending.empty() && chunks_pending.front().first <= *durable) {
    pos = std::move(chunks_pending.front().second);
    chunks_pending.pop_front();
  }
  if (!pos) return Status::OK();
  marker->position = std::move(*pos);
  CDC_RETURN_IF_ERROR(state->Write(*marker));
  log::Debug(kComponent, "snapshot durable up to {} rows ({} of {} ranges read whole before the first open one)",
             marker->position->rows, marker->position->done_below, ranges.size());
  return Status::OK();
}

namespace {

// "xmin:xmax:xip,..." (pg_snapshot's text, 64-bit xids) -> the 32-bit xmax and in-progress xids.
bool ParsePgSnapshot(const std::string& text, uint32_t* xmax, std::vector<uint32_t>* xip) {
  size_t a = text.find(':'), b = a == std::string::npos ? a : text.find(':', a + 1);
  if (b == std::string::npos) return false;
  try {
    *xmax = static_cast<uint32_t>(std::stoull(text.substr(a + 1, b - a - 1)));
    xip->clear();
    for (size_t at = b + 1; at < text.size();) {
      size_t comma = text.find(',', at);
      if (comma == std::string::npos) comma = text.size();
      xip->push_back(static_cast<uint32_t>(std::stoull(text.substr(at, comma - at))));
      at = comma + 1;
    }
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

// Whether the committed transaction `xid` is visible to a snapshot (PostgreSQL's XidInMVCCSnapshot for
// top-level xids, which is what the stream's Begin carries): before xmax and not in progress. xids are
// compared modulo 2^32 like TransactionIdPrecedes; stream transactions are recent, so this is exact.
bool VisibleTo(uint32_t xid, uint32_t xmax, const std::vector<uint32_t>& xip) {
  if (static_cast<int32_t>(xid - xmax) >= 0) return false;
  return std::find(xip.begin(), xip.end(), xid) == xip.end();
}

}  // namespace

// The ranges are matched with the captured tables by name: a table added since the snapshot has none
// (its changes are never filtered), and one no longer captured is not looked at.
void CaptureJob::Impl::SetRanges(std::vector<pg::SnapshotRange> plan) {
  ranges = std::move(plan);
  table_ranges.assign(tables.size(), {});
  for (size_t i = 0; i < ranges.size(); ++i) {
    for (size_t t = 0; t < tables.size(); ++t) {
      if (ranges[i].table == tables[t]->schema + "." + tables[t]->table) table_ranges[t].push_back(i);
    }
  }
}

Status CaptureJob::Impl::BuildFilters() {
  filters.clear();
  filter_until = Lsn();
  if (!marker) return Status::OK();
  // A marker of an earlier version has linear positions (one range per table) and no plan.
  SetRanges(marker->ranges.empty() ? pg::WholeTableRanges(tables) : marker->ranges);
  for (const SnapshotResume& r : marker->resumes) {
    ResumeFilter f;
    f.from = r.from;
    f.wal_insert_lsn = r.view.wal_insert_lsn;
    f.uncertain_upto = r.uncertain_upto;
    if (!ParsePgSnapshot(r.view.snapshot, &f.xmax, &f.xip)) {
      return Status::Corruption(fmt::format("capture's snapshot marker {} has a bad resume snapshot '{}'",
                                            state->Describe(opts.slot), r.view.snapshot));
    }
    filter_until = std::max(filter_until, f.wal_insert_lsn);
    filters.push_back(std::move(f));
  }
  return Status::OK();
}

// The primary key of `table` (cached per relation and schema), for key comparisons.
Result<const pg::PrimaryKey*> CaptureJob::Impl::KeyOf(const std::shared_ptr<const event::TableSchema>& table) {
  auto& cached = filter_keys[table->relation_id];
  if (cached.first != table) {
    CDC_ASSIGN_OR_RETURN(pg::PrimaryKey pk, pg::LookupPrimaryKey(*conn, *table));
    cached = {table, std::move(pk)};
  }
  return &cached.second;
}

// Whether the row `row` of table `table_index` was read at or before `p` (in a range `p` has read whole,
// or at or below its key in a range read in part). Asks PostgreSQL only when the table was read in
// part: which range holds the key, and how it compares with that range's position.
Result<bool> CaptureJob::Impl::Covers(const pg::ParallelSnapshotPosition& p, size_t table_index,
                                      const std::shared_ptr<const event::TableSchema>& table, const event::Row* row) {
  const std::vector<size_t>& mine = table_ranges[table_index];
  bool all_done = std::all_of(mine.begin(), mine.end(), [&](size_t r) { return p.Done(r); });
  bool none_started = std::none_of(mine.begin(), mine.end(), [&](size_t r) { return p.Started(r); });
  if (all_done || none_started) return all_done;
  std::string name = table->schema + "." + table->table;
  CDC_ASSIGN_OR_RETURN(const pg::PrimaryKey* pk, KeyOf(table));
  if (pk->names.empty() || !row) return Status::FailedPrecondition("no primary key to place a change of " + name);
  std::vector<std::string> key;
  for (size_t c : pk->index) {
    if (c >= row->size() || (*row)[c].kind != event::Value::Kind::kText) {
      return Status::FailedPrecondition("a change of " + name + " without its primary key value");
    }
    key.push_back((*row)[c].text);
  }
  CDC_ASSIGN_OR_RETURN(size_t r, pg::FindRange(*conn, ranges, mine, pk->types[0], key[0]));
  if (p.Done(r) || !p.Started(r)) return p.Done(r);
  auto at = p.ranges.find(r);
  if (at->second.key.empty()) return false;
  CDC_ASSIGN_OR_RETURN(int cmp, pg::CompareKeys(*conn, *pk, key, at->second.key));
  return cmp <= 0;
}

Result<bool> CaptureJob::Impl::Filtered(event::Op op, const std::shared_ptr<const event::TableSchema>& table) {
  if (filters.empty() || tx_commit_lsn > filter_until) return false;
  std::string name = table->schema + "." + table->table;
  size_t ti = 0;
  while (ti < tables.size() && tables[ti]->schema + "." + tables[ti]->table != name) ++ti;
  if (ti == tables.size()) return false;
  if (op == event::Op::kTruncate) {
    for (const ResumeFilter& f : filters) {
      bool read_whole_before = std::all_of(table_ranges[ti].begin(), table_ranges[ti].end(),
                                           [&](size_t r) { return f.from.Done(r); });
      if (!read_whole_before && tx_commit_lsn <= f.wal_insert_lsn && VisibleTo(tx_xid, f.xmax, f.xip)) {
        return Status::FailedPrecondition(fmt::format(
            "{} was truncated while the initial snapshot was interrupted, and a resumed read already took its rows "
            "after the truncate: the truncate cannot be placed; stop, `cdcpipe capture --drop-slot` and start again",
            name));
      }
    }
    return false;
  }
  const event::Row* row = op == event::Op::kDelete ? (ev.before ? &*ev.before : nullptr) : (ev.after ? &*ev.after : nullptr);
  // The read that took this key: the last one whose start position does not cover it.
  for (size_t r = filters.size(); r-- > 0;) {
    const ResumeFilter& f = filters[r];
    CDC_ASSIGN_OR_RETURN(bool covered, Covers(f.from, ti, table, row));
    if (covered) continue;
    if (tx_commit_lsn > f.wal_insert_lsn || !VisibleTo(tx_xid, f.xmax, f.xip)) return false;
    if (f.uncertain_upto) {
      // An earlier run may have sent an older `r` of this key that the read's own `r` follows: the change
      // is streamed again, so that the key's last event is its latest change (docs/CAPTURE.md).
      CDC_ASSIGN_OR_RETURN(bool uncertain, Covers(*f.uncertain_upto, ti, table, row));
      if (uncertain) return false;
    }
    return true;
  }
  return false;  // read in the exported snapshot: every change of it is streamed
}

Status CaptureJob::Impl::Snapshot(const pg::CreatedSlot* created) {
  const Lsn cp = marker->snapshot_lsn;
  pg::ParallelSnapshotOptions so;
  so.conninfo = opts.conninfo;
  so.snapshot_name = created ? created->snapshot_name : "";
  so.tables = tables;
  so.snapshot_lsn = cp;
  so.chunk_rows = opts.snapshot_chunk_rows;
  so.position_rows = opts.snapshot_position_rows;
  so.parallelism = opts.snapshot_parallelism > 0 ? opts.snapshot_parallelism
                                                 : std::max<size_t>(1, std::thread::hardware_concurrency());
  // Positions of an earlier run name the ranges of its plan (a marker of an earlier version: one range
  // per table); with nothing read yet the snapshot is planned afresh in its own transaction.
  if (marker->position || !marker->resumes.empty()) {
    so.ranges = marker->ranges.empty() ? pg::WholeTableRanges(tables) : marker->ranges;
  }
  if (resume) {
    pg::ParallelSnapshotPosition from = marker->position.value_or(pg::ParallelSnapshotPosition{});
    std::string open;
    for (const auto& [i, r] : from.ranges) {
      if (r.done || i >= so.ranges.size()) continue;
      open += fmt::format(", at table {} after key ({})", so.ranges[i].table, fmt::join(r.key, ", "));
    }
    log::Info(kComponent,
              "resuming the initial snapshot of slot \"{}\" (consistent point {}) after {} durable rows{}, in a new "
              "transaction ({} of {} ranges read whole)",
              opts.slot, cp.ToString(), from.rows, open, from.done_below, so.ranges.size());
    so.resume_after = std::move(from);
  }
  SnapshotProgressPublisher progress(opts.state);
  uint64_t n = 0;
  pg::ParallelSnapshotCallbacks cb;
  cb.progress = [&](const pg::TableProgress& p) { progress.Update(p); };
  cb.emit = [&](const event::ChangeEvent& e) -> Status {
    CDC_RETURN_IF_ERROR(Append(e));
    if ((++n & 1023) == 0) {
      CDC_RETURN_IF_ERROR(sink->Poll());
      CDC_RETURN_IF_ERROR(SaveDurablePosition(false));
      CDC_FAILPOINT("capture.during_snapshot");
    }
    return Status::OK();
  };
  cb.chunk_done = [&](const pg::ParallelSnapshotPosition& p) -> Status {
    uint64_t seq = ++chunk_seq;
    CDC_RETURN_IF_ERROR(sink->EndSnapshotChunk(seq, SerializeSnapshotPosition(cp, p)));
    chunks_pending.emplace_back(seq, p);
    CDC_RETURN_IF_ERROR(SaveDurablePosition(false));
    CDC_FAILPOINT("capture.snapshot_chunk_done");
    return Status::OK();
  };
  if (resume) {
    // Recorded before any row of the new transaction is emitted: the stream must filter with it from now
    // on, whatever happens next.
    cb.started = [&](const pg::SnapshotView& v) -> Status {
      SnapshotResume r{*so.resume_after, v};
      if (marker->sent_upto) {
        // An earlier run handed rows past the durable position to a sink that tracks no chunks.
        r.uncertain_upto = marker->sent_upto;
        log::Info(kComponent,
                  "the interrupted run may have sent rows up to the end of every range already (a sink that tracks no "
                  "chunks, ranges read at once): their changes made before this read are streamed again (at least "
                  "once), so no older `r` stays their last event");
      }
      marker->resumes.push_back(std::move(r));
      return state->Write(*marker);
    };
  }
  const bool tracks_chunks = sink->DurableSnapshotChunk().has_value();
  cb.planned = [&](const std::vector<pg::SnapshotRange>& plan) -> Status {
    marker->ranges = plan;
    if (!tracks_chunks) {
      // The sink tracks no chunks (Kafka): what it holds past the durable position is unknown after a
      // crash. With several ranges read at once, the marker says beforehand that any row may have been
      // sent (docs/CAPTURE.md, "Kafka: what a crash sends twice").
      marker->sent_upto = pg::ParallelSnapshotPosition::End(plan.size());
    }
    CDC_RETURN_IF_ERROR(state->Write(*marker));
    CDC_RETURN_IF_ERROR(BuildFilters());
    CDC_ASSIGN_OR_RETURN(auto estimates, pg::EstimateRows(*conn, tables));
    progress.Start(tables, ranges, estimates, so.resume_after);
    return Status::OK();
  };
  auto rows = pg::ReadSnapshotParallel(*conn, so, cb);
  if (!rows.ok()) {
    progress.Finish(rows.status().IsCancelled() ? "stopped" : "failed");
    return rows.status();
  }
  CDC_RETURN_IF_ERROR(sink->EndTransaction(cp));
  last_end_lsn = cp;
  CDC_RETURN_IF_ERROR(WaitDurable(cp));
  CDC_FAILPOINT("capture.before_snapshot_marker");
  marker->complete = true;
  marker->completed_at = UtcNow();
  marker->tables = TableNames();
  marker->position.reset();
  marker->sent_upto.reset();
  CDC_RETURN_IF_ERROR(state->Write(*marker));
  progress.Finish("complete");
  {
    std::lock_guard<std::mutex> l(stats_mu);
    stats.snapshot_rows = *rows;
  }
  log::Info(kComponent, "snapshot complete: {} rows{}, streaming from {}", *rows, resume ? " (resumed)" : "",
            cp.ToString());
  return Status::OK();
}

std::vector<std::string> CaptureJob::Impl::TableNames() const {
  std::vector<std::string> names;
  for (const auto& t : tables) names.push_back(t->schema + "." + t->table);
  return names;
}

// Before streaming: incremental snapshots the marker says were under way continue after their durable
// key, and a captured table the marker does not list as snapshotted (added to source.tables or to the
// publication since) is backfilled.
Status CaptureJob::Impl::QueueBackfills() {
  if (!marker) return Status::OK();
  for (const auto& inc : marker->incremental) {
    IncrementalSnapshot s;
    s.table = inc.table;
    s.where = inc.where;
    s.key = inc.key;
    s.rows = s.durable_rows = inc.rows;
    Status st = incremental->Request(std::move(s));
    if (!st.ok() && !st.IsAlreadyExists()) return st;
  }
  if (!marker->complete) return Status::OK();
  std::vector<std::string> names = TableNames();
  if (!marker->tables) {
    // A marker of an earlier version: its snapshot covered the tables captured now.
    marker->tables = names;
    return state->Write(*marker);
  }
  for (const auto& name : names) {
    if (std::find(marker->tables->begin(), marker->tables->end(), name) != marker->tables->end()) continue;
    log::Info(kComponent, "{} is captured but was never snapshotted (added since the snapshot): backfilling it with "
              "an incremental snapshot while streaming", name);
    IncrementalSnapshot s;
    s.table = name;
    Status st = incremental->Request(std::move(s));
    if (!st.ok() && !st.IsAlreadyExists()) return st;
  }
  return SaveIncremental();
}

// Between transactions of the stream: emit the held chunk once the stream passed its high watermark (a
// keepalive's WAL end counts: every transaction committed before it was sent), read the next chunk
// when none is held, and record what became durable.
Status CaptureJob::Impl::IncrementalStep() {
  Lsn position = std::max(last_end_lsn, idle_lsn);
  if (incremental->Due(position)) CDC_RETURN_IF_ERROR(EmitIncremental(incremental->high_watermark()));
  if (incremental->NeedsNudge() && conn) {
    // One transactional logical message: its commit flushes the WAL before it (no table is written).
    Status st = conn->Run("SELECT pg_logical_emit_message(true, 'cdcpipe_watermark', '" +
                          incremental->high_watermark().ToString() + "')");
    if (!st.ok()) log::Warn(kComponent, "incremental snapshot: could not flush the WAL up to its window's end: {}", st.ToString());
  }
  if (incremental->WantsChunk()) {
    if (!conn || PQstatus(conn->raw()) != CONNECTION_OK) CDC_RETURN_IF_ERROR(Connect());
    incremental->ReadChunk(*conn);
  }
  return SaveIncremental();
}

// The held chunk's rows go to the sink at the stream position `high` (or the last commit end, when
// that is later). Each row is followed by an end of transaction at that position, so that `run` may cut
// a batch after any row: the rows are independent reads, and a restart from that position re-reads
// what was not durable.
Status CaptureJob::Impl::EmitIncremental(Lsn high) {
  Lsn at = std::max(last_end_lsn, high);
  if (at > last_end_lsn) {
    CDC_RETURN_IF_ERROR(sink->EndTransaction(at));
    last_end_lsn = at;
  }
  auto emitted = incremental->EmitHeld(at, last_commit_lsn, [&](const event::ChangeEvent& e) -> Status {
    CDC_RETURN_IF_ERROR(Append(e));
    return sink->EndTransaction(at);
  });
  CDC_RETURN_IF_ERROR(emitted.status());
  uint64_t seq = ++chunk_seq;
  CDC_RETURN_IF_ERROR(sink->EndSnapshotChunk(seq, ""));
  incremental_pending.emplace_back(seq, std::move(*emitted));
  CDC_FAILPOINT("capture.after_incremental_chunk");
  return Status::OK();
}

// Marks the chunks the sink made durable and keeps the marker's list of unfinished incremental
// snapshots (and of snapshotted tables) up to date.
Status CaptureJob::Impl::SaveIncremental() {
  if (!incremental_pending.empty()) {
    std::optional<uint64_t> durable = sink->DurableSnapshotChunk();
    if (!durable && MonoMicros() - incremental_flush_us >= 1000000) {
      // The sink tracks no chunks (Kafka): a successful flush makes everything appended durable. At
      // most once a second.
      incremental_flush_us = MonoMicros();
      Status st = sink->Flush(std::chrono::milliseconds(1000));
      if (st.ok()) durable = incremental_pending.back().first;
      else if (!st.IsUnavailable()) return st;
    }
    while (durable && !incremental_pending.empty() && incremental_pending.front().first <= *durable) {
      const auto& c = incremental_pending.front().second;
      incremental->MarkDurable(c.table, c.key, c.rows, c.last);
      incremental_pending.pop_front();
    }
  }
  uint64_t version = incremental->version();
  if (!marker || version == incremental_saved_version) return Status::OK();
  incremental_saved_version = version;
  std::vector<SnapshotMarker::Incremental> pending;
  for (const auto& s : incremental->Pending()) pending.push_back({s.table, s.where, s.durable_key, s.durable_rows});
  bool changed = pending.size() != marker->incremental.size();
  for (size_t i = 0; !changed && i < pending.size(); ++i) {
    const auto& a = pending[i];
    const auto& b = marker->incremental[i];
    changed = a.table != b.table || a.where != b.where || a.key != b.key || a.rows != b.rows;
  }
  if (marker->tables) {
    for (const auto& s : incremental->List()) {
      if (s.state != "done" || !s.where.empty()) continue;
      if (std::find(marker->tables->begin(), marker->tables->end(), s.table) != marker->tables->end()) continue;
      marker->tables->push_back(s.table);
      changed = true;
    }
  }
  if (!changed) return Status::OK();
  marker->incremental = std::move(pending);
  return state->Write(*marker);
}

Status CaptureJob::Impl::EmitRow(event::Op op, const std::shared_ptr<const event::TableSchema>& table, Lsn lsn) {
  // A change inside a held incremental chunk's window drops that row of the chunk (the stream has it).
  incremental->OnChange(*table, tx_xid,
                        op == event::Op::kTruncate ? nullptr
                        : op == event::Op::kDelete ? (ev.before ? &*ev.before : nullptr)
                                                   : (ev.after ? &*ev.after : nullptr));
  if (!filters.empty()) {
    // Before order_in_tx is counted: the filter is deterministic, so a replay counts the same events.
    CDC_ASSIGN_OR_RETURN(bool filtered, Filtered(op, table));
    if (filtered) return Status::OK();
  }
  ev.op = op;
  ev.table = table;
  ev.xid = tx_xid;
  ev.lsn = lsn;
  ev.commit_lsn = tx_commit_lsn;
  ev.last_commit_lsn = last_commit_lsn;
  ev.commit_time_us = tx_commit_time_us;
  ev.snapshot = event::SnapshotMarker::kFalse;
  ev.order_in_tx = ++tx_order;
  if (skip_tx || ev.order_in_tx <= skip_events) return Status::OK();  // already handed over (replay)
  {
    std::lock_guard<std::mutex> l(stats_mu);
    ++stats.events;
  }
  return Append(ev);
}

Status CaptureJob::Impl::HandleMessage(std::string_view payload, Lsn wal_start) {
  CDC_RETURN_IF_ERROR(decoder.Decode(payload, &msg).WithContext("at WAL " + wal_start.ToString()));
  switch (msg.type) {
    case pg::PgOutputType::kBegin:
      // Every transaction committed before this one was streamed: a chunk whose high watermark is at
      // or before its commit can be emitted.
      if (incremental->Due(msg.begin.final_lsn)) CDC_RETURN_IF_ERROR(EmitIncremental(incremental->high_watermark()));
      in_tx = true;
      tx_xid = msg.begin.xid;
      tx_commit_lsn = msg.begin.final_lsn;
      tx_commit_time_us = msg.begin.commit_time_us;
      tx_order = 0;
      skip_tx = last_end_lsn.valid() && msg.begin.final_lsn < last_end_lsn;
      skip_events = (msg.begin.final_lsn == interrupted_commit_lsn) ? interrupted_events : 0;
      return Status::OK();
    case pg::PgOutputType::kCommit: {
      CDC_FAILPOINT("capture.before_end_transaction");
      Lsn end = msg.commit.end_lsn;
      if (end > last_end_lsn) {
        // provide.transaction.metadata: the END record on <prefix>.transaction, in the same durable unit.
        encoded.clear();
        encoder->EndTransaction(WallMillis(), &encoded);
        CDC_RETURN_IF_ERROR(AppendEncoded());
        CDC_RETURN_IF_ERROR(sink->EndTransaction(end));
        last_end_lsn = end;
      }
      last_commit_lsn = msg.commit.commit_lsn;
      in_tx = false;
      if (incremental->Due(end)) CDC_RETURN_IF_ERROR(EmitIncremental(incremental->high_watermark()));
      if (latency_file) latency_pending.push_back({end, msg.commit.commit_time_us, WallMicros()});
      std::lock_guard<std::mutex> l(stats_mu);
      ++stats.transactions;
      return Status::OK();
    }
    case pg::PgOutputType::kRelation:
      if (!captured.empty()) {
        std::string name = std::string(msg.relation.schema) + "." + std::string(msg.relation.table);
        if (captured.count(name)) {
          skipped_relations.erase(msg.relation.relation_id);
        } else {
          skipped_relations.insert(msg.relation.relation_id);
        }
      }
      return relations.Apply(msg.relation);
    case pg::PgOutputType::kInsert:
    case pg::PgOutputType::kUpdate:
    case pg::PgOutputType::kDelete: {
      if (!skipped_relations.empty() && skipped_relations.count(msg.row.relation_id)) return Status::OK();
      auto table = relations.Find(msg.row.relation_id);
      if (!table) {
        return Status::Corruption(fmt::format("pgoutput {} for relation {} at WAL {} before its Relation message",
                                              pg::PgOutputTypeName(static_cast<char>(msg.type)),
                                              msg.row.relation_id, wal_start.ToString()));
      }
      if (msg.type == pg::PgOutputType::kInsert) {
        ev.before.reset();
        if (!ev.after) ev.after.emplace();
        SetRowValues(msg.row.new_tuple, &*ev.after);
        return EmitRow(event::Op::kCreate, table, wal_start);
      }
      if (msg.type == pg::PgOutputType::kDelete) {
        ev.after.reset();
        if (!ev.before) ev.before.emplace();
        SetRowValues(msg.row.old_tuple, &*ev.before);
        return EmitRow(event::Op::kDelete, table, wal_start);
      }
      // Update.
      if (!ev.after) ev.after.emplace();
      SetRowValues(msg.row.new_tuple, &*ev.after);
      if (msg.row.old_kind == 0) {
        ev.before.reset();
        return EmitRow(event::Op::kUpdate, table, wal_start);
      }
      if (!ev.before) ev.before.emplace();
      SetRowValues(msg.row.old_tuple, &*ev.before);
      // A changed primary key becomes a delete of the old key and a create of the new one (as Debezium
      // does), so that a consumer keyed by the primary key sees the old row go away.
      bool key_changed = false;
      for (size_t i = 0; i < table->columns.size() && i < ev.before->size() && i < ev.after->size(); ++i) {
        if (table->columns[i].key && !((*ev.before)[i] == (*ev.after)[i])) key_changed = true;
      }
      if (!key_changed) {
        if (msg.row.old_kind == 'K') ev.before.reset();  // only the key: Debezium sends before=null
        return EmitRow(event::Op::kUpdate, table, wal_start);
      }
      event::Row after = std::move(*ev.after);
      ev.after.reset();
      CDC_RETURN_IF_ERROR(EmitRow(event::Op::kDelete, table, wal_start));
      ev.before.reset();
      ev.after = std::move(after);
      return EmitRow(event::Op::kCreate, table, wal_start);
    }
    case pg::PgOutputType::kTruncate:
      for (uint32_t id : msg.truncate.relation_ids) {
        auto table = relations.Find(id);
        if (!table || skipped_relations.count(id)) continue;  // not captured (e.g. truncated with CASCADE)
        ev.before.reset();
        ev.after.reset();
        CDC_RETURN_IF_ERROR(EmitRow(event::Op::kTruncate, table, wal_start));
      }
      return Status::OK();
    case pg::PgOutputType::kType:
      relations.ApplyType(msg.type_info);  // names of non-built-in column types (docs/PGOUTPUT.md)
      return Status::OK();
    case pg::PgOutputType::kOrigin:   // decoded and ignored, like Debezium
    case pg::PgOutputType::kMessage:
      return Status::OK();
  }
  return Status::OK();
}

void CaptureJob::Impl::DrainLatencies() {
  if (!latency_file || latency_pending.empty()) return;
  Lsn durable = sink->DurableLsn();
  int64_t now = WallMicros();
  while (!latency_pending.empty() && latency_pending.front().end <= durable) {
    const PendingLatency& p = latency_pending.front();
    // <end LSN> <commit -> durable us> <commit -> received us>
    std::fprintf(latency_file, "%s %lld %lld\n", p.end.ToString().c_str(), static_cast<long long>(now - p.commit_us),
                 static_cast<long long>(p.received_us - p.commit_us));
    latency_pending.pop_front();
  }
}

void CaptureJob::Impl::Heartbeat() {
  if (!conn || PQstatus(conn->raw()) != CONNECTION_OK) {
    auto c = pg::PgConnection::Connect(opts.conninfo);
    if (!c.ok()) {
      log::Warn(kComponent, "heartbeat: {}", c.status().ToString());
      return;
    }
    conn.emplace(std::move(*c));
    catalog.emplace(&*conn);
  }
  Status st = conn->Run(std::string("SELECT pg_logical_emit_message(false, '") + kHeartbeatPrefix + "', now()::text)");
  if (!st.ok()) log::Warn(kComponent, "heartbeat failed: {}", st.ToString());
  auto ret = conn->ExecParams(
      "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint FROM pg_replication_slots WHERE slot_name = $1",
      {opts.slot});
  if (ret.ok() && ret->rows() == 1 && !ret->IsNull(0, 0)) {
    uint64_t bytes = std::stoull(std::string(ret->Get(0, 0)));
    if (bytes > opts.retained_wal_warn_bytes) {
      log::Warn(kComponent, "slot \"{}\" retains {} MiB of WAL (more than {} MiB): is the destination keeping up?",
                opts.slot, bytes >> 20, opts.retained_wal_warn_bytes >> 20);
    } else {
      log::Debug(kComponent, "slot \"{}\" retains {} KiB of WAL", opts.slot, bytes >> 10);
    }
  }
}

Status CaptureJob::Impl::StreamSession(pg::ReplicationStream& stream, Lsn start, bool* streamed_something) {
  pg::StartOptions so;
  so.slot = opts.slot;
  so.start_lsn = start;
  so.publications = {opts.publication};
  so.messages = true;
  if (!conn || PQstatus(conn->raw()) != CONNECTION_OK) CDC_RETURN_IF_ERROR(Connect());
  CDC_RETURN_IF_ERROR(stream.Start(so));
  walsender_pid = 0;
  {
    auto r = conn->ExecParams("SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1", {opts.slot});
    if (r.ok() && r->rows() == 1 && !r->IsNull(0, 0)) walsender_pid = std::stoi(std::string(r->Get(0, 0)));
  }
  log::Info(kComponent, "streaming from slot \"{}\" at {}", opts.slot, start.valid() ? start.ToString() : "confirmed");
  relations.Clear();
  if (in_tx) {
    interrupted_commit_lsn = tx_commit_lsn;
    interrupted_events = tx_order;
  }
  in_tx = false;
  auto next_status = Clock::now();
  auto next_heartbeat = Clock::now() + opts.heartbeat;
  auto last_sent = Clock::now();
  auto last_heard = Clock::now();  // the last message from the server (server_timeout)
  auto last_ping = Clock::time_point();
  uint64_t poll_counter = 0;
  for (;;) {
    if (ShutdownRequested()) return Status::Cancelled("shutdown requested");
    auto now = Clock::now();
    Lsn confirm = ConfirmPosition();
    bool due = now >= next_status || (confirm > confirmed && now - last_sent >= std::chrono::milliseconds(100));
    if (due) {
      CDC_RETURN_IF_ERROR(stream.SendStatus(std::max(last_end_lsn, confirm), confirm, confirm));
      if (confirm > confirmed) confirmed = confirm;
      {
        std::lock_guard<std::mutex> l(stats_mu);
        stats.durable_lsn = confirmed;
      }
      last_sent = now;
      next_status = now + opts.status_interval;
    }
    if (opts.end_lsn.valid() && !in_tx && ConfirmPosition() >= opts.end_lsn) {
      log::Info(kComponent, "end position {} reached (durable {}, last commit end {}, idle {})", opts.end_lsn.ToString(), sink->DurableLsn().ToString(), last_end_lsn.ToString(), idle_lsn.ToString());
      return Status::OK();
    }
    if (opts.heartbeat.count() > 0 && now >= next_heartbeat) {
      Heartbeat();
      next_heartbeat = now + opts.heartbeat;
    }
    if (!in_tx) CDC_RETURN_IF_ERROR(IncrementalStep());
    bool outstanding = sink->DurableLsn() < last_end_lsn;
    auto wait = outstanding ? std::chrono::milliseconds(2) : std::chrono::milliseconds(500);
    auto deadline = std::min(now + wait, next_status);
    CDC_ASSIGN_OR_RETURN(pg::ReplicationEvent rev, stream.Receive(deadline));
    // Serve delivery reports every 64 messages and whenever idle; a fatal sink error ends the job.
    if (rev.kind != pg::ReplicationEvent::Kind::kXLogData || (++poll_counter & 63) == 0) {
      CDC_RETURN_IF_ERROR(sink->Poll());
      DrainLatencies();
    }
    if (rev.kind != pg::ReplicationEvent::Kind::kTimeout) {
      last_heard = Clock::now();
      heard_ms.store(WallMillis(), std::memory_order_relaxed);
      if (keepalive_asked_ms.load(std::memory_order_relaxed) != 0) keepalive_asked_ms.store(0, std::memory_order_relaxed);
    }
    switch (rev.kind) {
      case pg::ReplicationEvent::Kind::kTimeout:
        // Silence is measured here only, after the socket was read and found empty.
        if (opts.server_timeout.count() > 0) {
          auto t = Clock::now();
          if (t - last_heard >= opts.server_timeout) {
            {
              std::lock_guard<std::mutex> l(stats_mu);
              ++stats.hung_connections;
            }
            hung_walsender_pid = walsender_pid;
            return Status::Unavailable(fmt::format(
                "PostgreSQL sent nothing for {} ms on the replication connection, not even an asked-for keepalive "
                "(source.replication_timeout): taking it as hung and replacing it",
                std::chrono::duration_cast<std::chrono::milliseconds>(t - last_heard).count()));
          }
          if (t - last_heard >= opts.server_timeout / 2 && t - last_ping >= opts.server_timeout / 4) {
            CDC_RETURN_IF_ERROR(stream.SendStatus(std::max(last_end_lsn, confirmed), confirmed, confirmed,
                                                  /*reply_requested=*/true));
            last_ping = t;
            if (keepalive_asked_ms.load(std::memory_order_relaxed) == 0) keepalive_asked_ms.store(WallMillis());
          }
        }
        break;
      case pg::ReplicationEvent::Kind::kEnd:
        return Status::Unavailable("the server ended the replication stream");
      case pg::ReplicationEvent::Kind::kKeepalive:
        if (!in_tx && rev.wal_end > idle_lsn) idle_lsn = rev.wal_end;
        if (rev.reply_requested) next_status = Clock::now();
        break;
      case pg::ReplicationEvent::Kind::kXLogData:
        if (opts.end_lsn.valid() && !in_tx && rev.wal_start > opts.end_lsn && sink->DurableLsn() >= last_end_lsn) {
          log::Info(kComponent, "end position {} passed by WAL {}", opts.end_lsn.ToString(), rev.wal_start.ToString());
          return Status::OK();  // the next transaction starts after the end position
        }
        *streamed_something = true;
        CDC_RETURN_IF_ERROR(HandleMessage(rev.payload, rev.wal_start));
        break;
    }
  }
}

Status CaptureJob::Impl::Stream(std::optional<pg::ReplicationStream> stream, Lsn start) {
  auto backoff = opts.reconnect_initial;
  // When the slot is still held by the walsender of a process that just stopped or died, PostgreSQL
  // releases it once that walsender exits (at most wal_sender_timeout): wait for it, but not forever,
  // since a second capture on the same slot is a real error.
  int64_t slot_busy_since_us = 0;  // 0 = the slot is not known to be busy
  constexpr int64_t kSlotBusyPatienceUs = 90 * 1000000;
  for (;;) {
    std::string connect_error = "cannot connect to PostgreSQL";  // retried whatever libpq said, as a lost connection
    if (!stream) {
      auto s = pg::ReplicationStream::Connect(opts.conninfo);
      if (s.ok()) {
        stream.emplace(std::move(*s));
      } else {
        connect_error = s.status().message();
      }
    }
    Status st;
    bool progressed = false;
    if (stream) {
      st = StreamSession(*stream, start, &progressed);
      keepalive_asked_ms.store(0);  // that connection is given up: nothing is owed on it any more
    } else {
      st = Status::Unavailable(connect_error);
    }
    if (st.IsCancelled() || (st.ok() && opts.end_lsn.valid())) {
      // Shutdown or end position: flush what was appended, confirm it, stop.
      Status flush = sink->Flush(std::chrono::milliseconds(30000));
      if (!flush.ok()) log::Warn(kComponent, "stopping with undelivered records: {}", flush.ToString());
      DrainLatencies();
      Lsn confirm = ConfirmPosition();
      if (stream && stream->streaming()) {
        Status s2 = stream->SendStatus(confirm, confirm, confirm);
        if (s2.ok()) confirmed = std::max(confirmed, confirm);
        (void)stream->Stop();
      }
      std::lock_guard<std::mutex> l(stats_mu);
      stats.durable_lsn = confirmed;
      log::Info(kComponent, "stopped; confirmed {} to PostgreSQL", confirmed.ToString());
      return Status::OK();
    }
    bool slot_busy = st.code() == StatusCode::kFailedPrecondition &&
                     st.message().find("(SQLSTATE 55006)") != std::string::npos;
    if (slot_busy && hung_walsender_pid != 0 && conn) {
      // The slot is held by the walsender of the connection this process gave up as hung: PostgreSQL
      // would free it only after wal_sender_timeout (60 s by default). End that walsender, and only it.
      auto r = conn->ExecParams(
          "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid = $2",
          {opts.slot, std::to_string(hung_walsender_pid)});
      if (r.ok() && r->rows() == 1) {
        log::Info(kComponent, "ended walsender {} of the hung replication connection, which still held slot \"{}\"",
                  hung_walsender_pid, opts.slot);
      }
      hung_walsender_pid = 0;
    }
    if (slot_busy) {
      int64_t now = MonoMicros();
      if (slot_busy_since_us == 0) slot_busy_since_us = now;
      if (now - slot_busy_since_us >= kSlotBusyPatienceUs) {
        return st.WithContext("the slot stayed in use by another process for 90 s (is another cdcpipe capturing it?)");
      }
      st = Status::Unavailable(st.message());
    } else if (st.ok() || st.IsUnavailable()) {
      slot_busy_since_us = 0;
    }
    if (st.code() == StatusCode::kNotFound || st.code() == StatusCode::kFailedPrecondition) return DiagnoseSlot(st);
    if (!st.IsUnavailable()) return st;
    // Lost connection or server restart: resume from the slot (its confirmed position), with a fresh
    // normal connection too (a server restart broke it as well).
    stream.reset();
    conn.reset();
    start = Lsn();
    if (progressed) backoff = opts.reconnect_initial;
    {
      std::lock_guard<std::mutex> l(stats_mu);
      ++stats.reconnects;
      stats.last_disconnect = st.message();
    }
    log::Warn(kComponent, "replication connection lost ({}); reconnecting in {} ms", st.message(), backoff.count());
    SleepUnlessShutdown(backoff);
    backoff = std::min(backoff * 2, opts.reconnect_max);
    if (ShutdownRequested()) {
      Status flush = sink->Flush(std::chrono::milliseconds(30000));
      (void)flush;
      return Status::OK();
    }
  }
}

CaptureJob::CaptureJob(CaptureOptions options, log::RecordSink* sink) : impl_(new Impl(std::move(options), sink)) {}
CaptureJob::~CaptureJob() {
  if (impl_->latency_file) std::fclose(impl_->latency_file);
  delete impl_;
}

CaptureStats CaptureJob::stats() const {
  CaptureStats s;
  {
    std::lock_guard<std::mutex> l(impl_->stats_mu);
    s = impl_->stats;
  }
  s.last_heard_ms = impl_->heard_ms.load(std::memory_order_relaxed);
  s.keepalive_asked_ms = impl_->keepalive_asked_ms.load(std::memory_order_relaxed);
  return s;
}

Result<std::string> CaptureJob::RequestSnapshot(const std::string& table, const std::string& where) {
  std::set<std::string> captured;
  for (const auto& t : impl_->opts.tables) {
    CDC_ASSIGN_OR_RETURN(pg::TableName name, pg::ParseTableName(t));
    captured.insert(name.schema + "." + name.name);
  }
  CDC_ASSIGN_OR_RETURN(pg::PgConnection c, pg::PgConnection::Connect(impl_->opts.conninfo));
  CDC_ASSIGN_OR_RETURN(std::string name,
                       CheckIncrementalRequest(c, table, where, impl_->opts.publication, captured));
  IncrementalSnapshot s;
  s.table = name;
  s.where = where;
  CDC_RETURN_IF_ERROR(impl_->incremental->Request(std::move(s)));
  return name;
}

std::vector<IncrementalSnapshot> CaptureJob::Snapshots() const { return impl_->incremental->List(); }

Status CaptureJob::Run() {
  Impl& im = *impl_;
  if (!im.opts.latency_log.empty()) {
    im.latency_file = std::fopen(im.opts.latency_log.c_str(), "a");
    if (!im.latency_file) return Status::IoError("cannot open latency log " + im.opts.latency_log);
  }
  CDC_RETURN_IF_ERROR(im.SetUp());
  {
    std::vector<std::string> topics;
    for (const auto& t : im.tables) topics.push_back(im.encoder->TopicFor(*t));
    im.sink->Prepare(topics);
  }
  bool need_snapshot = false;
  std::optional<pg::CreatedSlot> created;
  std::optional<pg::ReplicationStream> stream;
  CDC_RETURN_IF_ERROR(im.PrepareSlot(&need_snapshot, &created, &stream));
  Lsn start;
  CDC_RETURN_IF_ERROR(im.BuildFilters());
  if (need_snapshot) {
    Status st = im.Snapshot(created ? &*created : nullptr);
    if (st.IsCancelled()) {
      log::Info(kComponent, "stopped during the snapshot; the next start resumes it");
      return Status::OK();
    }
    CDC_RETURN_IF_ERROR(st);
    start = im.marker->snapshot_lsn;
  } else if (created) {
    start = created->consistent_point;
  }
  if (im.opts.snapshot == SnapshotMode::kInitialOnly) return Status::OK();
  CDC_RETURN_IF_ERROR(im.QueueBackfills());
  return im.Stream(std::move(stream), start);
}

Status DropCapture(const std::string& conninfo, const std::string& slot, const std::string& publication,
                   const std::string& state_uri, const store::StoreOptions& state_store) {
  std::unique_ptr<CaptureState> state;
  if (!state_uri.empty()) {
    CDC_ASSIGN_OR_RETURN(state, CaptureState::Open(state_uri, state_store));
  }
  CDC_ASSIGN_OR_RETURN(pg::PgConnection c, pg::PgConnection::Connect(conninfo));
  CDC_ASSIGN_OR_RETURN(pg::PgResult s, c.ExecParams("SELECT active FROM pg_replication_slots WHERE slot_name = $1",
                                                    {slot}));
  if (s.rows() == 1) {
    if (s.Get(0, 0) == "t") {
      return Status::FailedPrecondition("replication slot \"" + slot +
                                        "\" is in use by a running capture: stop it first");
    }
    CDC_RETURN_IF_ERROR(c.ExecParams("SELECT pg_drop_replication_slot($1)", {slot}).status());
    log::Info(kComponent, "dropped replication slot \"{}\"", slot);
  }
  CDC_RETURN_IF_ERROR(c.Run("DROP PUBLICATION IF EXISTS " + c.QuoteIdent(publication)));
  log::Info(kComponent, "dropped publication \"{}\"", publication);
  if (state) {
    CDC_RETURN_IF_ERROR(state->Remove(slot));
    log::Info(kComponent, "removed the snapshot marker {}", state->Describe(slot));
  }
  return Status::OK();
}

}  // namespace cdc::jobs
