#include "pg/parallel_snapshot.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/shutdown.h"

namespace cdc::pg {

ParallelSnapshotPosition ParallelSnapshotPosition::FromLinear(const SnapshotPosition& linear) {
  ParallelSnapshotPosition p;
  p.done_below = linear.table_index;
  p.rows = linear.rows;
  p.resumable = linear.resumable;
  if (!linear.key.empty()) p.ranges[linear.table_index] = RangePosition{linear.key, false, linear.table_rows};
  return p;
}

std::vector<SnapshotRange> WholeTableRanges(const std::vector<std::shared_ptr<const event::TableSchema>>& tables) {
  std::vector<SnapshotRange> out;
  for (size_t i = 0; i < tables.size(); ++i) out.push_back({i, tables[i]->schema + "." + tables[i]->table, {}, {}});
  return out;
}

Result<std::vector<SnapshotRange>> PlanSnapshotRanges(PgConnection& conn,
                                                      const std::vector<std::shared_ptr<const event::TableSchema>>& tables,
                                                      size_t parallelism, uint64_t chunk_rows) {
  std::vector<SnapshotRange> out;
  CDC_ASSIGN_OR_RETURN(auto estimates, EstimateRows(conn, tables));
  for (size_t ti = 0; ti < tables.size(); ++ti) {
    const event::TableSchema& t = *tables[ti];
    SnapshotRange whole{ti, t.schema + "." + t.table, {}, {}};
    uint64_t rows = estimates[ti].value_or(0);
    size_t parts = static_cast<size_t>(std::min<uint64_t>(parallelism, (rows + chunk_rows - 1) / chunk_rows));
    if (parallelism < 2 || rows <= 2 * chunk_rows || parts < 2) {
      out.push_back(std::move(whole));
      continue;
    }
    CDC_ASSIGN_OR_RETURN(ChunkPlan plan, PlanChunks(conn, t, chunk_rows));
    std::vector<std::string> bounds;  // the ranges' boundaries, in order
    if (plan.key.empty()) {
      for (size_t i = 1; i < parts; ++i) {
        uint64_t page = plan.pages * i / parts;
        if (page > 0 && (bounds.empty() || std::to_string(page) != bounds.back())) bounds.push_back(std::to_string(page));
      }
    } else {
      // The histogram of the first key column (equal-frequency bounds, from the last ANALYZE), as text.
      const event::Column& first = t.columns[plan.key[0].index];
      CDC_ASSIGN_OR_RETURN(PgResult h, conn.ExecParams(
          "SELECT u.b FROM pg_stats s CROSS JOIN LATERAL unnest(s.histogram_bounds::text::text[]) WITH ORDINALITY "
          "AS u(b, n) WHERE s.schemaname = $1 AND s.tablename = $2 AND s.attname = $3 AND NOT s.inherited ORDER BY u.n",
          {t.schema, t.table, first.name}));
      size_t m = static_cast<size_t>(h.rows());
      for (size_t i = 1; m >= 2 && i < parts; ++i) {
        std::string b(h.Get(static_cast<int>((m - 1) * i / parts), 0));
        if (bounds.empty() || b != bounds.back()) bounds.push_back(std::move(b));
      }
    }
    if (bounds.empty()) {
      out.push_back(std::move(whole));
      continue;
    }
    for (size_t i = 0; i <= bounds.size(); ++i) {
      SnapshotRange r = whole;
      if (i > 0) r.lo = bounds[i - 1];
      if (i < bounds.size()) r.hi = bounds[i];
      out.push_back(std::move(r));
    }
  }
  return out;
}

Result<size_t> FindRange(PgConnection& conn, const std::vector<SnapshotRange>& ranges,
                         const std::vector<size_t>& table_ranges, const std::string& first_key_type,
                         const std::string& first_key_value) {
  if (table_ranges.size() < 2) return table_ranges.empty() ? Status::InvalidArgument("no range") : Result<size_t>(table_ranges[0]);
  // Range i (i > 0) starts at its lo: the value is in the range after the last lo it is not below.
  std::vector<std::optional<std::string>> params = {first_key_value};
  std::string los;
  for (size_t i = 1; i < table_ranges.size(); ++i) {
    params.push_back(ranges[table_ranges[i]].lo.value_or(""));
    los += fmt::format("{}(CAST(${} AS {}))", i > 1 ? ", " : "", i + 1, first_key_type);
  }
  CDC_ASSIGN_OR_RETURN(PgResult r, conn.ExecParams(fmt::format("SELECT count(*) FROM (VALUES {}) AS l(b) WHERE CAST($1 "
                                                               "AS {}) >= l.b",
                                                               los, first_key_type),
                                                   params));
  return table_ranges[std::stoul(std::string(r.Get(0, 0)))];
}

namespace {

// What a reader hands the merger, in its order.
struct Item {
  enum class Kind { kRow, kPosition };
  Kind kind = Kind::kRow;
  size_t range = 0;
  event::Row row;      // kRow
  bool last = false;   // kRow: the last row of its range (the range is read once it is emitted)
  RangePosition pos;   // kPosition
  uint64_t chunks = 0; // kPosition with pos.done: the chunks this run read of the range
  std::string how;     // kPosition with pos.done: how the range was cut into chunks, for the log
};
using Batch = std::vector<Item>;

constexpr size_t kBatchRows = 256;

// The readers' batches on their way to the merger (bounded), and the emptied ones on their way back.
class BatchQueue {
 public:
  explicit BatchQueue(size_t capacity) : capacity_(capacity) {}
  // Blocks while full; false when stopped.
  bool Push(Batch b) {
    std::unique_lock<std::mutex> l(mu_);
    not_full_.wait(l, [&] { return stopped_ || full_.size() < capacity_; });
    if (stopped_) return false;
    full_.push_back(std::move(b));
    not_empty_.notify_one();
    return true;
  }
  // A batch, or nullopt once every reader finished and everything was taken (or on stop).
  std::optional<Batch> Pop() {
    std::unique_lock<std::mutex> l(mu_);
    not_empty_.wait(l, [&] { return stopped_ || !full_.empty() || finished_ == readers_; });
    if (stopped_ || full_.empty()) return std::nullopt;
    Batch b = std::move(full_.front());
    full_.pop_front();
    not_full_.notify_one();
    return b;
  }
  void Recycle(Batch b) {
    std::lock_guard<std::mutex> l(mu_);
    if (free_.size() < capacity_ + 8) free_.push_back(std::move(b));
  }
  Batch Fresh() {
    std::lock_guard<std::mutex> l(mu_);
    if (free_.empty()) return Batch{};
    Batch b = std::move(free_.back());
    free_.pop_back();
    return b;
  }
  void SetReaders(size_t n) {
    std::lock_guard<std::mutex> l(mu_);
    readers_ = n;
  }
  // A reader ended; the first error wins.
  void Finished(Status st) {
    std::lock_guard<std::mutex> l(mu_);
    ++finished_;
    if (!st.ok() && error_.ok()) {
      error_ = std::move(st);
      stopped_ = true;
      not_full_.notify_all();
    }
    not_empty_.notify_all();
  }
  void Stop() {
    std::lock_guard<std::mutex> l(mu_);
    stopped_ = true;
    not_full_.notify_all();
    not_empty_.notify_all();
  }
  bool stopped() {
    std::lock_guard<std::mutex> l(mu_);
    return stopped_;
  }
  Status error() {
    std::lock_guard<std::mutex> l(mu_);
    return error_;
  }

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Batch> full_;
  std::vector<Batch> free_;
  size_t readers_ = 0, finished_ = 0;
  bool stopped_ = false;
  Status error_;
};

// Reads ranges on its own connection, in the imported snapshot, and hands their rows to the queue.
class RangeReader {
 public:
  RangeReader(const ParallelSnapshotOptions& opts, const std::vector<SnapshotRange>& ranges, BatchQueue* queue,
              uint64_t position_rows)
      : opts_(opts), ranges_(ranges), queue_(queue), position_rows_(position_rows) {}

  Status Open(const std::string& snapshot_name) {
    CDC_ASSIGN_OR_RETURN(PgConnection c, PgConnection::Connect(opts_.conninfo));
    conn_.emplace(std::move(c));
    CDC_RETURN_IF_ERROR(conn_->Run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    Status st = conn_->Run("SET TRANSACTION SNAPSHOT " + conn_->QuoteLiteral(snapshot_name));
    return st.ok() ? st : st.WithContext("importing snapshot " + snapshot_name);
  }

  // Reads range `ri` after `from` (a resumed range) and ends it with a done position.
  Status Read(size_t ri, const RangePosition& from) {
    const SnapshotRange& range = ranges_[ri];
    const auto& table = opts_.tables[range.table_index];
    PgConnection& conn = *conn_;
    std::string qualified = conn.QuoteIdent(table->schema) + "." + conn.QuoteIdent(table->table);
    auto ctx = [&](Status st) {
      return st.WithContext(fmt::format("snapshot of {}{}", qualified, ranges_.size() > 1 ? " (range " + std::to_string(ri) + ")" : ""));
    };
    auto planned = PlanChunks(conn, *table, opts_.chunk_rows);
    if (!planned.ok()) return ctx(planned.status());
    const ChunkPlan& plan = *planned;
    std::string cols, key_list;
    for (size_t i = 0; i < table->columns.size(); ++i) cols += (i ? ", " : "") + conn.QuoteIdent(table->columns[i].name);
    for (size_t i = 0; i < plan.key.size(); ++i) key_list += (i ? ", " : "") + plan.key[i].quoted;
    if (!from.key.empty() && from.key.size() != plan.key.size()) {
      return Status::FailedPrecondition(fmt::format(
          "the snapshot to resume stopped at a key of {} columns in {}, whose primary key now has {}", from.key.size(),
          qualified, plan.key.size()));
    }
    // The range's bounds on the first key column (keyed) or its pages (no key).
    std::string bounds;
    if (!plan.key.empty()) {
      if (range.lo) bounds += fmt::format(" AND {} >= CAST({} AS {})", plan.key[0].quoted, conn.QuoteLiteral(*range.lo), plan.key[0].type);
      if (range.hi) bounds += fmt::format(" AND {} < CAST({} AS {})", plan.key[0].quoted, conn.QuoteLiteral(*range.hi), plan.key[0].type);
    }
    // A page bound (no key): digits only (the marker is read back from storage).
    auto page = [&](const std::optional<std::string>& b, uint64_t unbounded) -> Result<uint64_t> {
      if (!b || !plan.key.empty()) return unbounded;
      if (b->empty() || b->size() > 18 || b->find_first_not_of("0123456789") != std::string::npos) {
        return Status::Corruption(fmt::format("snapshot range of {} has a bad page bound '{}'", qualified, *b));
      }
      return std::stoull(*b);
    };
    CDC_ASSIGN_OR_RETURN(uint64_t next_page, page(range.lo, 0));
    CDC_ASSIGN_OR_RETURN(const uint64_t end_page, page(range.hi, plan.pages));
    std::vector<std::string> last_key = from.key;
    RangePosition pos = from;
    uint64_t chunks = 0, since_position = 0;
    bool done = false;
    auto key_of = [&](const event::Row& row, std::vector<std::string>* key) -> Status {
      key->clear();
      for (const auto& k : plan.key) {
        if (row[k.index].kind != event::Value::Kind::kText) {
          return Status::Corruption(fmt::format("snapshot of {}: primary key column {} is NULL", qualified, k.quoted));
        }
        key->push_back(row[k.index].text);
      }
      return Status::OK();
    };
    while (!done) {
      std::string sql;
      if (!plan.key.empty()) {
        std::string where = " WHERE true" + bounds;
        if (!last_key.empty()) {
          std::string values;
          for (size_t i = 0; i < plan.key.size(); ++i) {
            values += fmt::format("{}CAST({} AS {})", i ? ", " : "", conn.QuoteLiteral(last_key[i]), plan.key[i].type);
          }
          where += fmt::format(" AND ({}) > ({})", key_list, values);
        }
        sql = fmt::format("COPY (SELECT {} FROM {}{} ORDER BY {} LIMIT {}) TO STDOUT", cols, qualified, where, key_list,
                          opts_.chunk_rows);
      } else {
        uint64_t end = next_page + plan.pages_per_chunk;
        // The table's last range is open-ended (pages added since its size was read hold no row of the
        // snapshot, and it then covers the table whatever its size); other ranges end at their hi.
        bool last_chunk = end >= end_page;
        if (last_chunk && range.hi) end = end_page;
        sql = last_chunk && !range.hi
                  ? fmt::format("COPY (SELECT {} FROM {} WHERE ctid >= '({},0)'::tid) TO STDOUT", cols, qualified, next_page)
                  : fmt::format("COPY (SELECT {} FROM {} WHERE ctid >= '({},0)'::tid AND ctid < '({},0)'::tid) TO STDOUT",
                                cols, qualified, next_page, end);
        next_page = end;
        done = last_chunk;
      }
      Status st = conn.CopyOutBegin(sql);
      if (!st.ok()) return ctx(st);
      ++chunks;
      uint64_t chunk_rows = 0;
      for (;;) {
        std::string_view line;
        auto more = conn.CopyOutNext(&line);
        if (!more.ok()) return ctx(more.status());
        if (!*more) break;
        Item& it = Append(Item::Kind::kRow, ri);
        st = ParseCopyTextRow(line, table->columns.size(), &it.row);
        if (!st.ok()) return ctx(st);
        ++chunk_rows;
        ++pos.rows;
        if (position_rows_ > 0 && ++since_position >= position_rows_) {
          since_position = 0;
          if (!plan.key.empty()) {
            CDC_RETURN_IF_ERROR(key_of(it.row, &pos.key));
          } else {
            pos.key = {std::to_string(next_page)};
          }
          Append(Item::Kind::kPosition, ri).pos = pos;
        }
        if (used_ >= kBatchRows) CDC_RETURN_IF_ERROR(Flush(false));
      }
      if (!plan.key.empty()) {
        if (chunk_rows < opts_.chunk_rows) {
          done = true;
        } else {
          CDC_RETURN_IF_ERROR(key_of(LastRow(), &last_key));
        }
      }
      if (!done && (since_position > 0 || chunk_rows == 0)) {
        pos.key = plan.key.empty() ? std::vector<std::string>{std::to_string(next_page)} : last_key;
        Append(Item::Kind::kPosition, ri).pos = pos;
      }
      since_position = 0;
      if (ShutdownRequested() || queue_->stopped()) return Status::Cancelled("snapshot interrupted");
    }
    // The last row of the range, if it has one, says so; then the range is done.
    for (size_t i = batch_.size(); i-- > 0;) {
      if (batch_[i].kind == Item::Kind::kRow) {
        batch_[i].last = true;
        break;
      }
    }
    pos.done = true;
    Item& end = Append(Item::Kind::kPosition, ri);
    end.pos = pos;
    end.chunks = chunks;
    end.how = plan.key.empty() ? fmt::format("chunks of {} pages (no primary key: ctid ranges)", plan.pages_per_chunk)
                               : fmt::format("chunks of at most {} rows (keyset on ({}))", opts_.chunk_rows, key_list);
    return Flush(true);
  }

  Status Close() { return conn_->Run("COMMIT"); }

 private:
  Item& Append(Item::Kind kind, size_t range) {
    if (batch_.capacity() == 0) batch_ = queue_->Fresh();
    // Reuses the items (and their rows' strings) of a recycled batch.
    if (used_ < batch_.size()) {
      Item& it = batch_[used_++];
      it.kind = kind;
      it.range = range;
      it.last = false;
      return it;
    }
    batch_.emplace_back();
    ++used_;
    batch_.back().kind = kind;
    batch_.back().range = range;
    return batch_.back();
  }
  // The last row read: always still in the batch (Flush keeps it), REQUIRES: a row was read in this range.
  const event::Row& LastRow() const {
    size_t i = used_;
    while (i > 0 && batch_[i - 1].kind != Item::Kind::kRow) --i;
    return batch_[i - 1].row;
  }
  // Hands the batch over. Unless `all`, the last row and what follows it stay: whether it is its range's
  // last row is known only when the next row or the range's end is read.
  Status Flush(bool all) {
    size_t keep_from = used_;
    if (!all) {
      for (size_t i = used_; i-- > 0;) {
        if (batch_[i].kind == Item::Kind::kRow) {
          keep_from = i;
          break;
        }
      }
    }
    if (keep_from == 0) return Status::OK();
    Batch out = queue_->Fresh();
    out.resize(std::max(out.size(), used_ - keep_from));
    // The kept items move to the front of a fresh batch; the handed-over part keeps its own storage.
    for (size_t i = keep_from; i < used_; ++i) std::swap(out[i - keep_from], batch_[i]);
    size_t kept = used_ - keep_from;
    batch_.resize(keep_from);
    std::swap(batch_, out);
    used_ = kept;
    if (!queue_->Push(std::move(out))) return Status::Cancelled("snapshot stopped");
    return Status::OK();
  }

  const ParallelSnapshotOptions& opts_;
  const std::vector<SnapshotRange>& ranges_;
  BatchQueue* queue_;
  const uint64_t position_rows_;
  std::optional<PgConnection> conn_;
  Batch batch_;          // items [0, used_) are this reader's, not handed over yet
  size_t used_ = 0;
};

}  // namespace

Result<uint64_t> ReadSnapshotParallel(PgConnection& coordinator, const ParallelSnapshotOptions& opts,
                                      const ParallelSnapshotCallbacks& cb) {
  if (opts.chunk_rows == 0) return Status::InvalidArgument("snapshot chunk_rows must be > 0");
  if (opts.resume_after && !opts.resume_after->resumable) {
    return Status::InvalidArgument("a snapshot position inside a table without a primary key cannot be resumed");
  }
  PgConnection& conn = coordinator;
  CDC_RETURN_IF_ERROR(conn.Run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  auto fail = [&](Status st) -> Status {
    (void)conn.Run("ROLLBACK");
    return st;
  };
  std::string snapshot_name = opts.snapshot_name;
  if (!snapshot_name.empty()) {
    Status st = conn.Run("SET TRANSACTION SNAPSHOT " + conn.QuoteLiteral(snapshot_name));
    if (!st.ok()) return fail(st.WithContext("importing exported snapshot " + snapshot_name));
  } else {
    // A resume: this transaction's snapshot is exported for the readers (its first statement takes it).
    auto exported = conn.Exec("SELECT pg_export_snapshot()");
    if (!exported.ok()) return fail(exported.status().WithContext("exporting the snapshot for the readers"));
    snapshot_name = std::string(exported->Get(0, 0));
  }
  uint64_t snapshot_xid = 0;
  {
    // The insert position read after the snapshot is at or after the commit record of every transaction
    // it sees; txid_current(): the events' source.txId, one for all readers (docs/DEBEZIUM.md).
    auto view = conn.Exec("SELECT pg_current_snapshot()::text, pg_current_wal_insert_lsn()::text, txid_current()");
    if (!view.ok()) return fail(view.status().WithContext("reading the snapshot's transaction state"));
    snapshot_xid = std::stoull(std::string(view->Get(0, 2)));
    if (cb.started) {
      Status st = cb.started(SnapshotView{std::string(view->Get(0, 0)), Lsn::Parse(view->Get(0, 1)).value_or(Lsn())});
      if (!st.ok()) return fail(st);
    }
  }
  std::vector<SnapshotRange> ranges = opts.ranges;
  if (ranges.empty()) {
    auto planned = PlanSnapshotRanges(conn, opts.tables, opts.parallelism, opts.chunk_rows);
    if (!planned.ok()) return fail(planned.status().WithContext("planning the snapshot's ranges"));
    ranges = std::move(*planned);
  }
  for (const SnapshotRange& r : ranges) {
    if (r.table_index >= opts.tables.size() ||
        r.table != opts.tables[r.table_index]->schema + "." + opts.tables[r.table_index]->table) {
      return fail(Status::FailedPrecondition(fmt::format(
          "the snapshot to resume was planned with table {} at place {}, but the captured tables changed since",
          r.table, r.table_index)));
    }
  }
  if (cb.planned) {
    Status st = cb.planned(ranges);
    if (!st.ok()) return fail(st);
  }
  // Per table: its ranges and whether it has a primary key; what the merger needs to know of each.
  const size_t ntables = opts.tables.size();
  std::vector<std::vector<size_t>> table_ranges(ntables);
  for (size_t i = 0; i < ranges.size(); ++i) table_ranges[ranges[i].table_index].push_back(i);
  std::vector<bool> keyless(ntables, false);
  std::vector<std::vector<size_t>> key_columns(ntables);  // each table's key columns in the row
  for (size_t t = 0; t < ntables; ++t) {
    auto pk = LookupPrimaryKey(conn, *opts.tables[t]);
    if (!pk.ok()) return fail(pk.status());
    keyless[t] = pk->names.empty();
    key_columns[t] = pk->index;
  }
  ParallelSnapshotPosition cur = opts.resume_after.value_or(ParallelSnapshotPosition{});
  std::vector<size_t> todo;
  std::vector<size_t> left(ntables, 0);  // ranges of each table whose last row (or end) was not merged yet
  std::vector<uint64_t> table_rows(ntables, 0), run_rows(ntables, 0), run_chunks(ntables, 0);
  std::vector<bool> table_read(ntables, false);  // this run reads some range of it
  std::vector<std::string> how(ntables);
  for (size_t i = 0; i < ranges.size(); ++i) {
    size_t t = ranges[i].table_index;
    auto it = cur.ranges.find(i);
    if (it != cur.ranges.end()) table_rows[t] += it->second.rows;
    if (cur.Done(i)) continue;
    todo.push_back(i);
    ++left[t];
    table_read[t] = true;
  }
  const size_t nreaders = std::max<size_t>(1, std::min(opts.parallelism, todo.size()));
  if (!todo.empty()) {
    log::Info("snapshot", "{} range(s) of {} table(s) to read with {} connection(s)", todo.size(), ntables, nreaders);
  }
  // Each reader reports a position every position_rows / N rows of its own: the merged rows then have
  // one about every position_rows rows.
  const uint64_t reader_position_rows =
      opts.position_rows == 0 ? 0 : std::max<uint64_t>(1, opts.position_rows / nreaders);
  BatchQueue queue(4 * nreaders + 4);
  queue.SetReaders(todo.empty() ? 0 : nreaders);
  std::atomic<size_t> next{0};
  std::vector<std::thread> threads;
  for (size_t n = 0; n < nreaders && !todo.empty(); ++n) {
    threads.emplace_back([&] {
      RangeReader reader(opts, ranges, &queue, reader_position_rows);
      Status st = reader.Open(snapshot_name);
      while (st.ok()) {
        size_t k = next.fetch_add(1);
        if (k >= todo.size()) break;
        RangePosition from;  // where an interrupted run left the range (the merger's `cur` is not read here)
        if (opts.resume_after) {
          auto r = opts.resume_after->ranges.find(todo[k]);
          if (r != opts.resume_after->ranges.end()) from = r->second;
        }
        st = reader.Read(todo[k], from);
      }
      if (st.ok()) st = reader.Close();
      queue.Finished(std::move(st));
    });
  }
  auto stop_readers = [&] {
    queue.Stop();
    for (auto& t : threads) t.join();
    threads.clear();
  };

  // The merger. Markers (Debezium's precedence, RelationalSnapshotChangeEventSource.setSnapshotMarker:
  // last, first, last_in_data_collection, true) need what comes after a row: whether its table has
  // another row (so each table's newest row is held until its next row, or the end of all its ranges,
  // is merged: `held`), and whether any row follows at all (so one row waits in `tail` before it is
  // handed to `emit`). A table whose last range to end turns out empty still gets its
  // last_in_data_collection: its newest row is still held when that range ends.
  int64_t ts = opts.snapshot_time_us ? opts.snapshot_time_us : WallMicros();
  struct Held {
    event::ChangeEvent ev;
    size_t range = 0;
    uint64_t seq = 0;  // the row's number in the merged order
    bool has = false;
  };
  std::vector<Held> held(ntables);
  struct Tail {
    event::ChangeEvent ev;
    size_t table = 0, range = 0;
    event::SnapshotMarker marker = event::SnapshotMarker::kTrue;  // unless it is the very last
    uint64_t seq = 0;
    bool has = false;
  } tail;
  uint64_t merged = 0;  // rows merged so far (the last one's seq)
  bool tailed_any = cur.rows > 0;  // a row went to the tail (a resumed snapshot with durable rows: no `first`)
  uint64_t rows_read = 0;
  std::vector<bool> closed(ranges.size(), false);  // the range's last row (or its end) was merged
  struct Reached {
    size_t range;
    RangePosition pos;
    uint64_t chunks;
    std::string how;
    uint64_t after = 0;  // rows merged before it: it is forwarded once all of them were handed to `emit`
  };
  std::deque<Reached> waiting;  // positions in merged order, waiting for held rows merged before them
  // The first row merged and not handed to `emit` yet (UINT64_MAX: none).
  auto first_unsent = [&]() {
    uint64_t m = tail.has ? tail.seq : UINT64_MAX;
    for (const Held& h : held) {
      if (h.has) m = std::min(m, h.seq);
    }
    return m;
  };
  auto all_done = [&](size_t t) {
    return std::all_of(table_ranges[t].begin(), table_ranges[t].end(), [&](size_t r) { return cur.Done(r); });
  };
  auto resumable = [&]() {
    for (size_t t = 0; t < ntables; ++t) {
      if (!keyless[t]) continue;
      bool started = std::any_of(table_ranges[t].begin(), table_ranges[t].end(), [&](size_t r) { return cur.Started(r); });
      if (started && !all_done(t)) return false;
    }
    return true;
  };
  auto report = [&](size_t t) {
    if (cb.progress) cb.progress(TableProgress{t, table_rows[t], all_done(t)});
  };
  // A reader's position says where the merged rows may be cut (`chunk_done`), once every row merged
  // before it was handed to `emit` (until then it waits); what the position then holds is the merger's
  // own account of every range: the key of its last row handed to `emit` (rows of other ranges were
  // emitted past their own last reported position) and whether it ended. So the rows before a position
  // are exactly the rows the position covers, and a position at a chunk end covers its chunk. A row
  // is held only while its table's next row or end is due from a range being read, so positions wait
  // for a few rows, not for a table.
  auto forward = [&](const Reached& p) -> Status {
    size_t t = ranges[p.range].table_index;
    if (p.pos.done) {
      RangePosition& r = cur.ranges[p.range];
      r.done = true;
      r.key.clear();
    }
    while (cur.done_below < ranges.size() && cur.Done(cur.done_below)) cur.ranges.erase(cur.done_below++);
    cur.resumable = resumable();
    if (p.pos.done) {
      run_chunks[t] += p.chunks;
      how[t] = p.how;
    }
    report(t);
    if (p.pos.done && table_read[t] && all_done(t)) {
      const auto& table = opts.tables[t];
      log::Info("snapshot", "{}.{}: {} rows in {} chunks{} {}", conn.QuoteIdent(table->schema),
                conn.QuoteIdent(table->table), run_rows[t], run_chunks[t],
                table_ranges[t].size() > 1 ? fmt::format(" ({} ranges)", table_ranges[t].size()) : "", how[t]);
    }
    return cb.chunk_done ? cb.chunk_done(cur) : Status::OK();
  };
  // Hands the tail's row to `emit`: with its marker when another row follows, else as `last`.
  auto send_tail = [&](bool another_follows) -> Status {
    if (!tail.has) return Status::OK();
    tail.has = false;
    tail.ev.snapshot = another_follows ? tail.marker : event::SnapshotMarker::kLast;
    CDC_RETURN_IF_ERROR(cb.emit(tail.ev));
    const size_t t = tail.table, r = tail.range;
    RangePosition& at = cur.ranges[r];
    ++at.rows;
    ++cur.rows;
    ++table_rows[t];  // progress counts the rows emitted, as positions do
    ++run_rows[t];
    if (!keyless[t]) {
      at.key.resize(key_columns[t].size());
      for (size_t k = 0; k < at.key.size(); ++k) at.key[k] = (*tail.ev.after)[key_columns[t][k]].text;
    }
    if (!waiting.empty()) {
      for (uint64_t first = first_unsent(); !waiting.empty() && waiting.front().after < first;) {
        Reached p = std::move(waiting.front());
        waiting.pop_front();
        CDC_RETURN_IF_ERROR(forward(p));
      }
    }
    return Status::OK();
  };
  // Moves table t's held row to the tail (sending the tail's row before it).
  auto release = [&](size_t t, bool table_ends) -> Status {
    if (!held[t].has) return Status::OK();
    CDC_RETURN_IF_ERROR(send_tail(true));
    held[t].has = false;
    std::swap(tail.ev, held[t].ev);
    tail.table = t;
    tail.range = held[t].range;
    tail.seq = held[t].seq;
    tail.marker = !tailed_any  ? event::SnapshotMarker::kFirst
                  : table_ends ? event::SnapshotMarker::kLastInDataCollection
                               : event::SnapshotMarker::kTrue;
    tail.has = true;
    tailed_any = true;
    return Status::OK();
  };
  // The range's last row (or its end) was merged; the table's newest row is its last once every range is.
  auto close = [&](size_t range) -> Status {
    if (closed[range]) return Status::OK();
    closed[range] = true;
    size_t t = ranges[range].table_index;
    return --left[t] == 0 ? release(t, /*table_ends=*/true) : Status::OK();
  };
  auto merge = [&](Batch& batch) -> Status {
    for (Item& it : batch) {
      size_t t = ranges[it.range].table_index;
      if (it.kind == Item::Kind::kPosition) {
        // A done position closes a range that had no row in this run (else its last row closed it).
        if (it.pos.done) CDC_RETURN_IF_ERROR(close(it.range));
        Reached p{it.range, it.pos, it.chunks, it.pos.done ? it.how : std::string(), merged};
        if (waiting.empty() && first_unsent() > merged) {
          CDC_RETURN_IF_ERROR(forward(p));
        } else {
          waiting.push_back(std::move(p));
        }
        continue;
      }
      CDC_RETURN_IF_ERROR(release(t, /*table_ends=*/false));  // the table's previous row: not its last
      event::ChangeEvent& e = held[t].ev;
      if (!e.after) e.after.emplace();
      e.after->swap(it.row);
      e.op = event::Op::kRead;
      e.table = opts.tables[t];
      e.before.reset();
      e.lsn = opts.snapshot_lsn;
      e.commit_lsn = opts.snapshot_lsn;
      e.commit_time_us = ts;
      e.xid = snapshot_xid;
      e.order_in_tx = 0;
      held[t].range = it.range;
      held[t].seq = ++merged;
      held[t].has = true;
      if (it.last) CDC_RETURN_IF_ERROR(close(it.range));
      ++rows_read;
      if ((rows_read & 0xfff) == 0) {
        report(t);
        if (ShutdownRequested()) return Status::Cancelled("snapshot interrupted");
      }
    }
    return Status::OK();
  };
  Status st;
  while (st.ok()) {
    std::optional<Batch> b = queue.Pop();
    if (!b) break;
    st = merge(*b);
    queue.Recycle(std::move(*b));
  }
  if (st.ok()) st = queue.error();
  stop_readers();
  // Every range ended, so every table's newest row went to the tail; the tail's row is the very last.
  for (size_t t = 0; st.ok() && t < ntables; ++t) st = release(t, /*table_ends=*/true);
  if (st.ok()) st = send_tail(false);
  for (size_t i = 0; st.ok() && i < waiting.size(); ++i) st = forward(waiting[i]);
  if (!st.ok()) return fail(st);
  CDC_RETURN_IF_ERROR(conn.Run("COMMIT"));
  return rows_read;
}

}  // namespace cdc::pg
