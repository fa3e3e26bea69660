#include "jobs/incremental_snapshot.h"

#include <algorithm>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/clock.h"
#include "base/failpoint.h"
#include "base/log.h"
#include "base/shutdown.h"
#include "pg/relation_cache.h"
#include "pg/table_catalog.h"

namespace cdc::jobs {

namespace {

constexpr const char* kComponent = "capture";

// The schema and table of the "schema.table" CheckIncrementalRequest returned (split at the first dot:
// a table name may hold dots, a schema name with one is not supported here).
std::pair<std::string, std::string> SplitName(const std::string& name) {
  size_t dot = name.find('.');
  if (dot == std::string::npos) return {"public", name};
  return {name.substr(0, dot), name.substr(dot + 1)};
}

}  // namespace

bool TxSnapshot::Parse(const std::string& text) {
  size_t a = text.find(':');
  size_t b = a == std::string::npos ? a : text.find(':', a + 1);
  if (b == std::string::npos) return false;
  try {
    xmax = std::stoull(text.substr(a + 1, b - a - 1));
    xip.clear();
    for (size_t at = b + 1; at < text.size();) {
      size_t comma = std::min(text.find(',', at), text.size());
      xip.push_back(static_cast<uint32_t>(std::stoull(text.substr(at, comma - at))));
      at = comma + 1;
    }
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

// PostgreSQL's XidInMVCCSnapshot for a committed top-level xid (what the stream's Begin carries).
bool TxSnapshot::Sees(uint32_t xid) const {
  if (static_cast<int32_t>(xid - static_cast<uint32_t>(xmax)) >= 0) return false;
  return std::find(xip.begin(), xip.end(), xid) == xip.end();
}

Result<std::string> CheckIncrementalRequest(pg::PgConnection& conn, const std::string& table,
                                            const std::string& where, const std::string& publication,
                                            const std::set<std::string>& captured) {
  if (table.empty()) return Status::InvalidArgument("no table given (--table schema.table)");
  CDC_ASSIGN_OR_RETURN(pg::TableName parsed, pg::ParseTableName(table));
  const std::string& schema = parsed.schema;
  const std::string& name = parsed.name;
  std::string full = schema + "." + name;
  CDC_RETURN_IF_ERROR(conn.Run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  auto check = [&]() -> Status {
    CDC_ASSIGN_OR_RETURN(pg::PgResult t, conn.ExecParams(
        "SELECT c.oid, (SELECT count(*) FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary), "
        "EXISTS (SELECT 1 FROM pg_publication_tables p WHERE p.pubname = $3 AND p.schemaname = n.nspname AND "
        "p.tablename = c.relname), current_database() "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
        {schema, name, publication}));
    if (t.rows() == 0) {
      CDC_ASSIGN_OR_RETURN(pg::PgResult db, conn.Exec("SELECT current_database()"));
      return Status::NotFound(fmt::format("unknown table {}: database \"{}\" has no such table", full, db.Get(0, 0)));
    }
    std::string qualified = conn.QuoteIdent(schema) + "." + conn.QuoteIdent(name);
    if (t.Get(0, 2) != "t") {
      return Status::FailedPrecondition(fmt::format(
          "table {} is not in publication \"{}\", so its changes are not streamed and it cannot be snapshotted "
          "incrementally: ALTER PUBLICATION {} ADD TABLE {}; (and add it to source.tables when that is set)",
          full, publication, conn.QuoteIdent(publication), qualified));
    }
    if (!captured.empty() && !captured.count(full)) {
      return Status::FailedPrecondition(fmt::format(
          "table {} is in publication \"{}\" but not in source.tables, so its changes are not captured: add it to "
          "source.tables and restart (the restart backfills it)",
          full, publication));
    }
    if (t.Get(0, 1) == "0") {
      return Status::FailedPrecondition(fmt::format(
          "table {} has no primary key: an incremental snapshot needs one to match the stream's changes with the "
          "rows it read",
          full));
    }
    if (!where.empty()) {
      // One statement (the extended protocol refuses more), planned and run on no row, read-only.
      auto probe = conn.ExecParams(fmt::format("SELECT 1 FROM {} WHERE ({}) LIMIT 0", qualified, where), {});
      if (!probe.ok()) {
        return Status::InvalidArgument(
            fmt::format("--where \"{}\" on table {}: {}", where, full, probe.status().message()));
      }
    }
    return Status::OK();
  };
  Status st = check();
  (void)conn.Run("ROLLBACK");
  if (!st.ok()) return st;
  return full;
}

Status IncrementalSnapshotter::Request(IncrementalSnapshot s) {
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& e : all_) {
    if (e.table == s.table && (e.state == "queued" || e.state == "running")) {
      return Status::AlreadyExists(fmt::format("an incremental snapshot of {} is already {} ({} rows so far)", s.table,
                                               e.state, e.rows));
    }
  }
  s.state = "queued";
  if (s.durable_key.empty()) s.durable_key = s.key;
  log::Info(kComponent, "incremental snapshot of {}{} queued{}", s.table, s.where.empty() ? "" : " where " + s.where,
            s.key.empty() ? "" : fmt::format(" (resuming after key ({}), {} rows done)", fmt::join(s.key, ", "), s.rows));
  all_.push_back(std::move(s));
  ++version_;
  maybe_work_ = true;
  return Status::OK();
}

std::vector<IncrementalSnapshot> IncrementalSnapshotter::List() const {
  std::lock_guard<std::mutex> l(mu_);
  return {all_.begin(), all_.end()};
}

std::vector<IncrementalSnapshot> IncrementalSnapshotter::Pending() const {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<IncrementalSnapshot> out;
  for (const auto& e : all_) {
    if (e.state == "queued" || e.state == "running") out.push_back(e);
  }
  return out;
}

IncrementalSnapshot* IncrementalSnapshotter::Current() {
  for (auto& e : all_) {
    if ((e.state == "queued" || e.state == "running") && !e.read_all) return &e;
  }
  return nullptr;
}

bool IncrementalSnapshotter::WantsChunk() {
  if (held_ || !maybe_work_.load(std::memory_order_acquire)) return false;
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& e : all_) {
    // A snapshot whose last chunk was emitted waits for it to be durable.
    if ((e.state == "queued" || e.state == "running") && !e.read_all) return true;
  }
  maybe_work_ = false;  // Request sets it again
  return false;
}

std::string IncrementalSnapshotter::KeyOf(const event::Row& row) const {
  std::string k;
  for (size_t i : key_index_) {
    if (i >= row.size()) return {};
    k += row[i].text;
    k.push_back('\0');
  }
  return k;
}

void IncrementalSnapshotter::ReadChunk(pg::PgConnection& conn) {
  IncrementalSnapshot job;
  {
    std::lock_guard<std::mutex> l(mu_);
    IncrementalSnapshot* cur = Current();
    if (!cur) return;
    cur->state = "running";
    ++version_;
    job = *cur;
  }
  auto [schema_name, table_name] = SplitName(job.table);
  std::string qualified = conn.QuoteIdent(schema_name) + "." + conn.QuoteIdent(table_name);
  auto read = [&]() -> Status {
    CDC_RETURN_IF_ERROR(conn.Run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    // The first statement takes S; the insert position read after it is at or after the commit record
    // of every transaction S sees.
    CDC_ASSIGN_OR_RETURN(pg::PgResult view,
                         conn.Exec("SELECT pg_current_snapshot()::text, pg_current_wal_insert_lsn()::text"));
    std::string snapshot_text(view.Get(0, 0));
    if (!snapshot_.Parse(snapshot_text)) return Status::Corruption("bad pg_current_snapshot() '" + snapshot_text + "'");
    high_ = Lsn::Parse(view.Get(0, 1)).value_or(Lsn());
    if (!FailpointHit("capture.incremental_wide_window").ok()) {
      // Tests: widen the window deterministically. The transactions of this database writing when S
      // was taken (S sees none of them) are waited for, and the high watermark is read after they
      // ended: those that commit land inside the window, so the rows they change must be dropped from
      // the chunk.
      CDC_ASSIGN_OR_RETURN(pg::PgResult running, conn.Exec(
          "SELECT coalesce(array_agg(backend_xid::text), '{}') FROM pg_stat_activity WHERE backend_xid IS NOT NULL "
          "AND datname = current_database() AND pid <> pg_backend_pid()"));
      std::string xids(running.Get(0, 0));
      for (;;) {
        CDC_RETURN_IF_ERROR(conn.Run("SELECT pg_stat_clear_snapshot()"));
        CDC_ASSIGN_OR_RETURN(pg::PgResult busy, conn.ExecParams(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_xid::text = ANY($1::text[])", {xids}));
        if (busy.Get(0, 0) == "0" || ShutdownRequested()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      CDC_ASSIGN_OR_RETURN(pg::PgResult l, conn.Exec("SELECT pg_current_wal_insert_lsn()::text"));
      high_ = Lsn::Parse(l.Get(0, 0)).value_or(Lsn());
      log::Info(kComponent, "incremental snapshot of {}: window widened (failpoint) to {}", job.table, high_.ToString());
    }
    CDC_ASSIGN_OR_RETURN(pg::CatalogTable ct, pg::LookupTable(conn, schema_name, table_name));
    held_schema_ = pg::SchemaFromCatalog(ct);
    CDC_ASSIGN_OR_RETURN(pg::PrimaryKey pk, pg::LookupPrimaryKey(conn, *held_schema_));
    if (pk.names.empty()) return Status::FailedPrecondition("table " + job.table + " has no primary key");
    if (!job.key.empty() && job.key.size() != pk.names.size()) {
      return Status::FailedPrecondition(fmt::format("the primary key of {} changed during its incremental snapshot",
                                                    job.table));
    }
    key_index_ = pk.index;
    std::string cols, keys, after;
    for (size_t i = 0; i < held_schema_->columns.size(); ++i) {
      cols += (i ? ", " : "") + conn.QuoteIdent(held_schema_->columns[i].name);
    }
    for (size_t i = 0; i < pk.names.size(); ++i) {
      keys += (i ? ", " : "") + conn.QuoteIdent(pk.names[i]);
      if (!job.key.empty()) {
        after += fmt::format("{}CAST({} AS {})", i ? ", " : "", conn.QuoteLiteral(job.key[i]), pk.types[i]);
      }
    }
    std::vector<std::string> conditions;
    if (!job.where.empty()) conditions.push_back("(" + job.where + ")");
    if (!after.empty()) conditions.push_back(fmt::format("({}) > ({})", keys, after));
    std::string sql = fmt::format("COPY (SELECT {} FROM {}{}{} ORDER BY {} LIMIT {}) TO STDOUT", cols, qualified,
                                  conditions.empty() ? "" : " WHERE ", fmt::join(conditions, " AND "), keys,
                                  chunk_rows_);
    CDC_RETURN_IF_ERROR(conn.CopyOutBegin(sql));
    rows_.clear();
    by_key_.clear();
    for (;;) {
      std::string_view line;
      CDC_ASSIGN_OR_RETURN(bool more, conn.CopyOutNext(&line));
      if (!more) break;
      event::ChangeEvent& e = rows_.emplace_back();
      e.after.emplace();
      CDC_RETURN_IF_ERROR(pg::ParseCopyTextRow(line, held_schema_->columns.size(), &*e.after));
      e.op = event::Op::kRead;
      e.table = held_schema_;
      e.snapshot = event::SnapshotMarker::kIncremental;
      by_key_[KeyOf(*e.after)] = rows_.size() - 1;
    }
    CDC_RETURN_IF_ERROR(conn.Run("COMMIT"));
    dropped_.assign(rows_.size(), false);
    held_key_.clear();
    if (!rows_.empty()) {
      for (size_t i : key_index_) held_key_.push_back(rows_.back().after->at(i).text);
    }
    held_last_ = rows_.size() < chunk_rows_;
    held_table_ = job.table;
    held_relation_ = held_schema_->relation_id;
    held_ = true;
    held_since_us_ = MonoMicros();
    nudged_ = false;
    return Status::OK();
  };
  Status st = read();
  if (st.ok()) {
    log::Debug(kComponent, "incremental snapshot of {}: chunk of {} rows read, window until {}", job.table,
               rows_.size(), high_.ToString());
    return;
  }
  (void)conn.Run("ROLLBACK");
  held_ = false;
  rows_.clear();
  by_key_.clear();
  log::Error(kComponent, "incremental snapshot of {} failed: {}", job.table, st.ToString());
  std::lock_guard<std::mutex> l(mu_);
  if (IncrementalSnapshot* cur = Current(); cur && cur->table == job.table) {
    cur->state = "failed";
    cur->error = st.ToString();
    ++version_;
  }
}

bool IncrementalSnapshotter::NeedsNudge() {
  if (!held_ || nudged_ || MonoMicros() - held_since_us_ < 1000000) return false;
  nudged_ = true;
  return true;
}

void IncrementalSnapshotter::OnChange(const event::TableSchema& table, uint32_t xid, const event::Row* row) {
  if (!held_ || table.relation_id != held_relation_ || snapshot_.Sees(xid)) return;
  if (!row) {  // a truncate the chunk's snapshot did not see: none of its rows may be emitted
    dropped_.assign(rows_.size(), true);
    return;
  }
  auto it = by_key_.find(KeyOf(*row));
  if (it != by_key_.end()) dropped_[it->second] = true;
}

Result<IncrementalSnapshotter::EmittedChunk> IncrementalSnapshotter::EmitHeld(
    Lsn lsn, Lsn last_commit_lsn, const std::function<Status(const event::ChangeEvent&)>& emit) {
  EmittedChunk out;
  out.table = held_table_;
  out.last = held_last_;
  int64_t now = WallMicros();
  uint64_t dropped = 0;
  for (size_t i = 0; i < rows_.size(); ++i) {
    if (dropped_[i]) {
      ++dropped;
      continue;
    }
    event::ChangeEvent& e = rows_[i];
    e.lsn = lsn;
    e.commit_lsn = lsn;
    e.last_commit_lsn = last_commit_lsn;
    e.commit_time_us = now;
    CDC_RETURN_IF_ERROR(emit(e));
    ++out.rows;
  }
  held_ = false;
  rows_.clear();
  by_key_.clear();
  {
    std::lock_guard<std::mutex> l(mu_);
    IncrementalSnapshot* cur = Current();
    if (cur && cur->table == held_table_) {
      if (!held_key_.empty()) cur->key = held_key_;
      cur->rows += out.rows;
      cur->dropped += dropped;
      ++cur->chunks;
      cur->read_all = held_last_;
      ++version_;
      out.rows = cur->rows;
    }
  }
  out.key = held_key_;
  if (dropped > 0) {
    log::Info(kComponent, "incremental snapshot of {}: {} rows of the chunk dropped (changed by the stream inside the window)",
              held_table_, dropped);
  }
  return out;
}

void IncrementalSnapshotter::MarkDurable(const std::string& table, const std::vector<std::string>& key, uint64_t rows,
                                         bool last) {
  std::lock_guard<std::mutex> l(mu_);
  for (auto& e : all_) {
    if (e.table != table || e.state != "running") continue;
    if (!key.empty()) e.durable_key = key;
    e.durable_rows = rows;
    ++version_;
    if (last) {
      e.state = "done";
      log::Info(kComponent, "incremental snapshot of {} done: {} rows in {} chunks, {} dropped as changed in their window",
                e.table, e.rows, e.chunks, e.dropped);
    }
    return;
  }
}

}  // namespace cdc::jobs
