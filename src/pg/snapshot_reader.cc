#include "pg/snapshot_reader.h"

#include <algorithm>

#include <fmt/format.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/shutdown.h"

namespace cdc::pg {

namespace {

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Appends the unescaped form of one field.
void Unescape(std::string_view f, std::string* out) {
  out->clear();
  size_t bs = f.find('\\');
  if (bs == std::string_view::npos) {
    out->assign(f);
    return;
  }
  out->reserve(f.size());
  for (size_t i = 0; i < f.size(); ++i) {
    char c = f[i];
    if (c != '\\' || i + 1 == f.size()) {
      out->push_back(c);
      continue;
    }
    char e = f[++i];
    switch (e) {
      case 'b': out->push_back('\b'); break;
      case 'f': out->push_back('\f'); break;
      case 'n': out->push_back('\n'); break;
      case 'r': out->push_back('\r'); break;
      case 't': out->push_back('\t'); break;
      case 'v': out->push_back('\v'); break;
      case 'x': {
        int v = 0, n = 0;
        while (n < 2 && i + 1 < f.size() && HexDigit(f[i + 1]) >= 0) v = v * 16 + HexDigit(f[++i]), ++n;
        if (n == 0) out->push_back('x');
        else out->push_back(static_cast<char>(v));
        break;
      }
      default:
        if (e >= '0' && e <= '7') {
          int v = e - '0', n = 1;
          while (n < 3 && i + 1 < f.size() && f[i + 1] >= '0' && f[i + 1] <= '7') v = v * 8 + (f[++i] - '0'), ++n;
          out->push_back(static_cast<char>(v & 0xff));
        } else {
          out->push_back(e);
        }
    }
  }
}

}  // namespace

Status ParseCopyTextRow(std::string_view line, size_t ncols, event::Row* row) {
  if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
  row->resize(ncols);
  size_t col = 0, start = 0;
  for (;;) {
    size_t tab = line.find('\t', start);
    std::string_view f = line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start);
    if (col >= ncols) {
      return Status::Corruption(fmt::format("COPY row has more than {} columns: '{}'", ncols, line.substr(0, 200)));
    }
    event::Value& v = (*row)[col++];
    if (f == "\\N") {
      v.kind = event::Value::Kind::kNull;
      v.text.clear();
    } else {
      v.kind = event::Value::Kind::kText;
      Unescape(f, &v.text);
    }
    if (tab == std::string_view::npos) break;
    start = tab + 1;
  }
  if (col != ncols) {
    return Status::Corruption(fmt::format("COPY row has {} columns, expected {}: '{}'", col, ncols, line.substr(0, 200)));
  }
  return Status::OK();
}

Result<ChunkPlan> PlanChunks(PgConnection& conn, const event::TableSchema& table, uint64_t chunk_rows) {
  ChunkPlan plan;
  std::string oid = std::to_string(table.relation_id);
  CDC_ASSIGN_OR_RETURN(PrimaryKey pk, LookupPrimaryKey(conn, table));
  for (size_t i = 0; i < pk.names.size(); ++i) plan.key.push_back({conn.QuoteIdent(pk.names[i]), pk.types[i], pk.index[i]});
  if (!plan.key.empty()) return plan;
  // Pages of the relation now (not MVCC: pages added after the snapshot hold no row it sees, reading
  // them costs a little and is harmless) and the rows per page from the last ANALYZE/VACUUM.
  CDC_ASSIGN_OR_RETURN(PgResult p, conn.ExecParams(
      "SELECT pg_relation_size($1::oid) / current_setting('block_size')::bigint, "
      "CASE WHEN relpages > 0 AND reltuples > 0 THEN ceil(reltuples / relpages)::bigint ELSE 0 END "
      "FROM pg_class WHERE oid = $1::oid",
      {oid}));
  if (p.rows() != 1) return Status::NotFound(fmt::format("table {}.{} (oid {}) is gone", table.schema, table.table, oid));
  plan.pages = std::stoull(std::string(p.Get(0, 0)));
  uint64_t per_page = std::stoull(std::string(p.Get(0, 1)));
  // Never analyzed: assume 100 rows per 8 kB page (rows of ~80 bytes), so a chunk is not far above
  // chunk_rows for narrow rows and below it for wide ones.
  if (per_page == 0) per_page = 100;
  plan.pages_per_chunk = std::max<uint64_t>(1, chunk_rows / per_page);
  return plan;
}

Result<std::vector<std::optional<uint64_t>>> EstimateRows(
    PgConnection& conn, const std::vector<std::shared_ptr<const event::TableSchema>>& tables) {
  std::vector<std::optional<uint64_t>> out;
  for (const auto& t : tables) {
    CDC_ASSIGN_OR_RETURN(PgResult r, conn.ExecParams("SELECT reltuples::bigint FROM pg_class WHERE oid = $1::oid",
                                                     {std::to_string(t->relation_id)}));
    std::optional<uint64_t> n;
    if (r.rows() == 1 && !r.IsNull(0, 0)) {
      int64_t v = std::stoll(std::string(r.Get(0, 0)));
      if (v >= 0) n = static_cast<uint64_t>(v);  // -1: never vacuumed or analyzed
    }
    out.push_back(n);
  }
  return out;
}

Result<PrimaryKey> LookupPrimaryKey(PgConnection& conn, const event::TableSchema& table) {
  PrimaryKey pk;
  CDC_ASSIGN_OR_RETURN(PgResult k, conn.ExecParams(
      "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_index i "
      "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
      "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
      "WHERE i.indrelid = $1::oid AND i.indisprimary ORDER BY k.n",
      {std::to_string(table.relation_id)}));
  for (int r = 0; r < k.rows(); ++r) {
    std::string name(k.Get(r, 0));
    auto col = std::find_if(table.columns.begin(), table.columns.end(),
                            [&](const event::Column& c) { return c.name == name; });
    if (col == table.columns.end()) return PrimaryKey{};  // the schema predates the key
    pk.names.push_back(std::move(name));
    pk.types.emplace_back(k.Get(r, 1));
    pk.index.push_back(static_cast<size_t>(col - table.columns.begin()));
  }
  return pk;
}

Result<int> CompareKeys(PgConnection& conn, const PrimaryKey& key, const std::vector<std::string>& a,
                        const std::vector<std::string>& b) {
  if (a.size() != key.names.size() || b.size() != key.names.size()) {
    return Status::InvalidArgument(fmt::format("comparing keys of {} and {} values for a key of {} columns", a.size(),
                                               b.size(), key.names.size()));
  }
  std::string ra, rb;
  std::vector<std::optional<std::string>> params;
  for (size_t i = 0; i < key.names.size(); ++i) {
    ra += fmt::format("{}CAST(${} AS {})", i ? ", " : "", i + 1, key.types[i]);
    rb += fmt::format("{}CAST(${} AS {})", i ? ", " : "", key.names.size() + i + 1, key.types[i]);
  }
  for (const auto& v : a) params.emplace_back(v);
  for (const auto& v : b) params.emplace_back(v);
  CDC_ASSIGN_OR_RETURN(PgResult r, conn.ExecParams(fmt::format("SELECT CASE WHEN ROW({0}) < ROW({1}) THEN -1 WHEN "
                                                               "ROW({0}) = ROW({1}) THEN 0 ELSE 1 END",
                                                               ra, rb),
                                                   params));
  return std::stoi(std::string(r.Get(0, 0)));
}

namespace {

// The position after table `ti`: the start of the next one (table_index == tables.size(): the end).
SnapshotPosition TableEnd(const SnapshotOptions& opts, size_t ti, uint64_t rows) {
  SnapshotPosition p;
  p.table_index = ti + 1;
  p.table = ti + 1 < opts.tables.size() ? opts.tables[ti + 1]->schema + "." + opts.tables[ti + 1]->table : "";
  p.rows = rows;
  return p;
}

}  // namespace

Result<uint64_t> ReadSnapshot(PgConnection& conn, const SnapshotOptions& opts, const SnapshotCallbacks& cb) {
  if (opts.chunk_rows == 0) return Status::InvalidArgument("snapshot chunk_rows must be > 0");
  if (opts.resume_after && !opts.resume_after->resumable) {
    return Status::InvalidArgument("a snapshot position inside a table without a primary key cannot be resumed");
  }
  CDC_RETURN_IF_ERROR(conn.Run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  uint64_t snapshot_xid = 0;
  auto fail = [&](Status st) -> Status {
    (void)conn.Run("ROLLBACK");
    return st;
  };
  if (!opts.snapshot_name.empty()) {
    Status st = conn.Run("SET TRANSACTION SNAPSHOT " + conn.QuoteLiteral(opts.snapshot_name));
    if (!st.ok()) return fail(st.WithContext("importing exported snapshot " + opts.snapshot_name));
  }
  {
    // The first statement takes the transaction's snapshot; the insert position read after it is at
    // or after the commit record of every transaction the snapshot sees.
    // txid_current() gives the reading transaction an id, as Debezium's snapshot does (source.txId of the
    // snapshot rows); the transaction writes nothing, so its commit carries no change.
    auto view = conn.Exec("SELECT pg_current_snapshot()::text, pg_current_wal_insert_lsn()::text, txid_current()");
    if (!view.ok()) return fail(view.status().WithContext("reading the snapshot's transaction state"));
    snapshot_xid = std::stoull(std::string(view->Get(0, 2)));
    if (cb.started) {
      SnapshotView v{std::string(view->Get(0, 0)), Lsn::Parse(view->Get(0, 1)).value_or(Lsn())};
      Status st = cb.started(v);
      if (!st.ok()) return fail(st);
    }
  }
  int64_t ts = opts.snapshot_time_us ? opts.snapshot_time_us : WallMicros();
  // Two events: `pending` waits until we know whether another row follows and from which table: its
  // source.snapshot marker (docs/DEBEZIUM.md, "Snapshot markers") is decided when it is emitted.
  event::ChangeEvent ev[2];
  int cur = 0;
  bool have_pending = false;
  size_t pending_table = 0;  // the pending event's table index
  // The pending event is the snapshot's first row: no row was made durable by an earlier run (a resumed
  // snapshot's `first` was delivered then) and none was emitted yet by this one.
  bool pending_first = false;
  bool emitted_any = opts.resume_after && opts.resume_after->rows > 0;
  // The end of the last chunk read, reported once the pending event (its last row) is emitted.
  std::optional<SnapshotPosition> unreported;
  SnapshotPosition pos;
  if (opts.resume_after) pos = *opts.resume_after;
  const uint64_t rows_before = pos.rows;
  auto chunk_end = [&](SnapshotPosition p) -> Status {
    if (!cb.chunk_done) return Status::OK();
    if (have_pending) {
      unreported = std::move(p);
      return Status::OK();
    }
    return cb.chunk_done(p);
  };
  // `next_table`: the table index of the row that follows the pending one (nullopt: none follows).
  auto emit_pending = [&](event::ChangeEvent& e, std::optional<size_t> next_table) -> Status {
    // Debezium's precedence (RelationalSnapshotChangeEventSource.setSnapshotMarker): last, first,
    // last_in_data_collection, true.
    if (!next_table) e.snapshot = event::SnapshotMarker::kLast;
    else if (pending_first) e.snapshot = event::SnapshotMarker::kFirst;
    else if (*next_table != pending_table) e.snapshot = event::SnapshotMarker::kLastInDataCollection;
    else e.snapshot = event::SnapshotMarker::kTrue;
    pending_first = false;
    emitted_any = true;
    CDC_RETURN_IF_ERROR(cb.emit(e));
    if (unreported) {
      Status st = cb.chunk_done(*unreported);
      unreported.reset();
      return st;
    }
    return Status::OK();
  };
  for (size_t ti = pos.table_index; ti < opts.tables.size(); ++ti) {
    const auto& table = opts.tables[ti];
    std::string name = table->schema + "." + table->table;
    std::string qualified = conn.QuoteIdent(table->schema) + "." + conn.QuoteIdent(table->table);
    std::vector<std::string> last_key;  // the key after which the next chunk starts
    if (ti == pos.table_index && !pos.key.empty()) {
      if (pos.table != name) {
        return fail(Status::FailedPrecondition(fmt::format(
            "the snapshot to resume stopped in table {} but table {} is captured at that place", pos.table, name)));
      }
      last_key = pos.key;
    }
    // Rows of this table read before the resume position (0 for a table this run starts).
    const uint64_t table_rows_before = (ti == pos.table_index && !last_key.empty()) ? pos.table_rows : 0;
    pos.table_index = ti;
    pos.table = name;
    pos.key.clear();
    pos.resumable = true;
    pos.table_rows = table_rows_before;
    auto report = [&](uint64_t read, bool done) {
      if (cb.progress) cb.progress(TableProgress{ti, table_rows_before + read, done});
    };
    report(0, false);
    auto planned = PlanChunks(conn, *table, opts.chunk_rows);
    if (!planned.ok()) return fail(planned.status().WithContext("snapshot of " + qualified));
    const ChunkPlan& plan = *planned;
    if (!last_key.empty() && last_key.size() != plan.key.size()) {
      return fail(Status::FailedPrecondition(fmt::format(
          "the snapshot to resume stopped at a key of {} columns in {}, whose primary key now has {}",
          last_key.size(), qualified, plan.key.size())));
    }
    std::string cols;
    for (size_t i = 0; i < table->columns.size(); ++i) {
      if (i) cols += ", ";
      cols += conn.QuoteIdent(table->columns[i].name);
    }
    std::string key_list;  // "k1, k2"
    for (size_t i = 0; i < plan.key.size(); ++i) key_list += (i ? ", " : "") + plan.key[i].quoted;
    uint64_t rows = 0, chunks = 0;
    uint64_t next_page = 0;  // ctid ranges: the first page of the next chunk
    // The last row read is the pending event (emitted once the next row is known): its key.
    auto pending_key = [&](std::vector<std::string>* key) -> Status {
      const event::Row& last = *ev[1 - cur].after;
      key->clear();
      for (const auto& k : plan.key) {
        const event::Value& v = last[k.index];
        if (v.kind != event::Value::Kind::kText) {
          return Status::Corruption(fmt::format("snapshot of {}: primary key column {} is NULL", qualified, k.quoted));
        }
        key->push_back(v.text);
      }
      return Status::OK();
    };
    bool table_done = false;
    uint64_t range_start = 0;     // ctid ranges: the first page of the chunk being read
    uint64_t since_position = 0;  // rows read since the last position reported (position_rows)
    // Announcements (cb.announce): rows of this table that may still be read without a new one. A
    // table without a primary key is announced whole.
    uint64_t announced_left = 0;
    if (cb.announce && plan.key.empty()) {
      Status st = cb.announce(TableEnd(opts, ti, pos.rows));
      if (!st.ok()) return fail(st);
      announced_left = UINT64_MAX;
    }
    while (!table_done) {
      std::string sql;
      if (!plan.key.empty()) {
        std::string where;
        if (!last_key.empty()) {
          std::string values;
          for (size_t i = 0; i < plan.key.size(); ++i) {
            values += fmt::format("{}CAST({} AS {})", i ? ", " : "", conn.QuoteLiteral(last_key[i]), plan.key[i].type);
          }
          where = fmt::format(" WHERE ({}) > ({})", key_list, values);
        }
        if (cb.announce && announced_left < opts.chunk_rows) {
          // The key `ahead` rows on, in this transaction (so the next `ahead` rows read are at or
          // before it), or the table's end when fewer rows are left.
          uint64_t ahead = std::max<uint64_t>(1, (opts.announce_rows + opts.chunk_rows - 1) / opts.chunk_rows) *
                           opts.chunk_rows;
          auto next = conn.Exec(fmt::format("SELECT {} FROM {}{} ORDER BY {} OFFSET {} LIMIT 1", key_list, qualified,
                                            where, key_list, ahead - 1));
          if (!next.ok()) return fail(next.status().WithContext("snapshot of " + qualified));
          SnapshotPosition upto = TableEnd(opts, ti, pos.rows);
          announced_left = UINT64_MAX;
          if (next->rows() == 1) {
            upto = pos;
            upto.key.clear();
            for (size_t i = 0; i < plan.key.size(); ++i) upto.key.emplace_back(next->Get(0, static_cast<int>(i)));
            announced_left = ahead;
          }
          Status st = cb.announce(upto);
          if (!st.ok()) return fail(st);
        }
        sql = fmt::format("COPY (SELECT {} FROM {}{} ORDER BY {} LIMIT {}) TO STDOUT", cols, qualified, where,
                          key_list, opts.chunk_rows);
      } else {
        range_start = next_page;
        uint64_t end = next_page + plan.pages_per_chunk;
        // The last range is open-ended: rows of pages added since the size was read are not in the
        // snapshot anyway, and the range then covers the table whatever its size.
        sql = end >= plan.pages
                  ? fmt::format("COPY (SELECT {} FROM {} WHERE ctid >= '({},0)'::tid) TO STDOUT", cols, qualified,
                                next_page)
                  : fmt::format("COPY (SELECT {} FROM {} WHERE ctid >= '({},0)'::tid AND ctid < '({},0)'::tid) TO "
                                "STDOUT",
                                cols, qualified, next_page, end);
        next_page = end;
        table_done = end >= plan.pages;
      }
      Status st = conn.CopyOutBegin(sql);
      if (!st.ok()) return fail(st.WithContext("snapshot of " + qualified));
      ++chunks;
      uint64_t chunk_rows = 0;
      for (;;) {
        std::string_view line;
        auto more = conn.CopyOutNext(&line);
        if (!more.ok()) return fail(more.status().WithContext("snapshot of " + qualified));
        if (!*more) break;
        event::ChangeEvent& e = ev[cur];
        if (!e.after) e.after.emplace();
        st = ParseCopyTextRow(line, table->columns.size(), &*e.after);
        if (!st.ok()) return fail(st.WithContext("snapshot of " + qualified));
        e.op = event::Op::kRead;
        e.table = table;
        e.before.reset();
        e.lsn = opts.snapshot_lsn;
        e.commit_lsn = opts.snapshot_lsn;
        e.commit_time_us = ts;
        e.snapshot = event::SnapshotMarker::kTrue;
        e.xid = snapshot_xid;
        e.order_in_tx = 0;
        if (have_pending) {
          st = emit_pending(ev[1 - cur], ti);
          if (!st.ok()) return fail(st);
        }
        have_pending = true;
        pending_table = ti;
        pending_first = !emitted_any;
        cur = 1 - cur;
        ++rows;
        ++chunk_rows;
        ++pos.rows;
        ++pos.table_rows;
        ++since_position;
        if (opts.position_rows > 0 && since_position >= opts.position_rows) {
          // A position inside the chunk: after the row just read (SnapshotOptions::position_rows).
          since_position = 0;
          SnapshotPosition mid = pos;
          if (!plan.key.empty()) {
            st = pending_key(&mid.key);
            if (!st.ok()) return fail(st);
          } else {
            mid.key = {std::to_string(range_start)};
            mid.resumable = false;
          }
          st = chunk_end(std::move(mid));
          if (!st.ok()) return fail(st);
        }
        if ((rows & 0xfff) == 0) {
          report(rows, false);
          if (ShutdownRequested()) return fail(Status::Cancelled("snapshot interrupted"));
        }
      }
      if (announced_left != UINT64_MAX) announced_left -= std::min(announced_left, chunk_rows);
      report(rows, false);
      if (!plan.key.empty()) {
        if (chunk_rows < opts.chunk_rows) {
          table_done = true;  // the last chunk of the table
        } else {
          st = pending_key(&last_key);
          if (!st.ok()) return fail(st);
        }
      }
      // (since_position == 0 with rows read: this very position was just reported inside the chunk.)
      if (!table_done && (since_position > 0 || chunk_rows == 0)) {
        pos.key = plan.key.empty() ? std::vector<std::string>{std::to_string(next_page)} : last_key;
        pos.resumable = !plan.key.empty();
        st = chunk_end(pos);
        if (!st.ok()) return fail(st);
      }
      since_position = 0;
      if (ShutdownRequested()) return fail(Status::Cancelled("snapshot interrupted"));
    }
    report(rows, true);
    // The table is read: the next position is the start of the next table.
    pos = TableEnd(opts, ti, pos.rows);
    Status st = chunk_end(pos);
    if (!st.ok()) return fail(st);
    if (plan.key.empty()) {
      log::Info("snapshot", "{}: {} rows in {} chunks of {} pages (no primary key: ctid ranges)", qualified, rows,
                chunks, plan.pages_per_chunk);
    } else {
      log::Info("snapshot", "{}: {} rows in {} chunks of at most {} rows (keyset on ({}))", qualified, rows, chunks,
                opts.chunk_rows, key_list);
    }
  }
  if (have_pending) {
    Status st = emit_pending(ev[1 - cur], std::nullopt);
    if (!st.ok()) return fail(st);
  }
  CDC_RETURN_IF_ERROR(conn.Run("COMMIT"));
  return pos.rows - rows_before;
}

}  // namespace cdc::pg
