#include "pg/snapshot_reader.h"

#include <fmt/format.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/progress.h"
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

Result<uint64_t> ReadSnapshot(PgConnection& conn, const SnapshotOptions& opts,
                              const std::function<Status(const event::ChangeEvent&)>& emit) {
  CDC_RETURN_IF_ERROR(conn.Run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  if (!opts.snapshot_name.empty()) {
    Status st = conn.Run("SET TRANSACTION SNAPSHOT " + conn.QuoteLiteral(opts.snapshot_name));
    if (!st.ok()) {
      (void)conn.Run("ROLLBACK");
      return st.WithContext("importing exported snapshot " + opts.snapshot_name);
    }
  }
  int64_t ts = opts.snapshot_time_us ? opts.snapshot_time_us : WallMicros();
  // Two events: `pending` waits until we know whether another row follows (source.snapshot=last).
  event::ChangeEvent ev[2];
  int cur = 0;
  bool have_pending = false;
  uint64_t total = 0;
  auto fail = [&](Status st) -> Status {
    (void)conn.Run("ROLLBACK");
    return st;
  };
  for (const auto& table : opts.tables) {
    std::string qualified = conn.QuoteIdent(table->schema) + "." + conn.QuoteIdent(table->table);
    uint64_t estimate = 0;
    if (opts.show_progress) {
      auto est = conn.ExecParams("SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = $1",
                                 {std::to_string(table->relation_id)});
      if (est.ok() && est->rows() == 1) estimate = std::stoull(std::string(est->Get(0, 0)));
    }
    ProgressLine progress("snapshot " + table->table, estimate, "rows");
    std::string cols;
    for (size_t i = 0; i < table->columns.size(); ++i) {
      if (i) cols += ", ";
      cols += conn.QuoteIdent(table->columns[i].name);
    }
    Status st = conn.CopyOutBegin(fmt::format("COPY {} ({}) TO STDOUT", qualified, cols));
    if (!st.ok()) return fail(st.WithContext("snapshot of " + qualified));
    uint64_t rows = 0;
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
      e.order_in_tx = 0;
      if (have_pending) {
        st = emit(ev[1 - cur]);
        if (!st.ok()) return fail(st);
      }
      have_pending = true;
      cur = 1 - cur;
      ++rows;
      if ((rows & 0xfff) == 0) {
        progress.Update(rows);
        if (ShutdownRequested()) return fail(Status::Cancelled("snapshot interrupted"));
      }
    }
    total += rows;
    log::Info("snapshot", "{}: {} rows", qualified, rows);
  }
  if (have_pending) {
    event::ChangeEvent& last = ev[1 - cur];
    last.snapshot = event::SnapshotMarker::kLast;
    Status st = emit(last);
    if (!st.ok()) return fail(st);
  }
  CDC_RETURN_IF_ERROR(conn.Run("COMMIT"));
  return total;
}

}  // namespace cdc::pg
