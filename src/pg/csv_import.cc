#include "pg/csv_import.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>

#include "base/log.h"
#include "base/progress.h"
#include "base/shutdown.h"

namespace cdc::pg {

// ---- values ---------------------------------------------------------------------------------------------

const char* CheckInt4(std::string_view s, int32_t* out) {
  size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    neg = s[i] == '-';
    ++i;
  }
  if (i == s.size()) return "not an integer";
  int64_t v = 0;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c < '0' || c > '9') return "not an integer";
    v = v * 10 + (c - '0');
    if (v > 2147483648LL) return "out of range for integer (-2147483648..2147483647)";
  }
  if (neg) v = -v;
  if (v > 2147483647LL) return "out of range for integer (-2147483648..2147483647)";
  if (out) *out = static_cast<int32_t>(v);
  return nullptr;
}

const char* CheckDate(std::string_view s) {
  static constexpr const char* kFormat = "not a date (expected YYYY-MM-DD)";
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return kFormat;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (s[i] < '0' || s[i] > '9') return kFormat;
  }
  int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
  int m = (s[5] - '0') * 10 + (s[6] - '0');
  int d = (s[8] - '0') * 10 + (s[9] - '0');
  if (y < 1) return "invalid date: year 0000 does not exist";
  if (m < 1 || m > 12) return "invalid date: month must be 01-12";
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  int dim = kDays[m - 1] + ((m == 2 && leap) ? 1 : 0);
  if (d < 1 || d > dim) return "invalid date: no such day in that month";
  return nullptr;
}

std::string ShowValue(std::string_view v) {
  static constexpr size_t kMaxChars = 80;
  std::string out;
  size_t chars = 0, i = 0;
  while (i < v.size() && chars < kMaxChars) {
    auto c = static_cast<unsigned char>(v[i]);
    if (c < 0x80) {
      if (c == '\n') out += "\\n";
      else if (c == '\r') out += "\\r";
      else if (c == '\t') out += "\\t";
      else if (c < 0x20 || c == 0x7F) {
        char hex[8];
        std::snprintf(hex, sizeof hex, "\\x%02X", c);
        out += hex;
      } else {
        out.push_back(static_cast<char>(c));
      }
      ++i;
    } else {
      size_t len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      size_t bad = 0;
      if (i + len <= v.size() && ValidUtf8(v.substr(i, len), &bad)) {
        out.append(v.substr(i, len));
        i += len;
      } else {
        char hex[8];
        std::snprintf(hex, sizeof hex, "\\x%02X", c);
        out += hex;
        ++i;
      }
    }
    ++chars;
  }
  if (i < v.size()) out += "...";
  return out;
}

IdSet::IdSet() : pages_(1 << 16) {}

bool IdSet::Insert(int32_t id) {
  static constexpr size_t kDenseAt = 4096;  // 4096 x 2 bytes = the 8 KiB of a bitmap
  const auto key = static_cast<uint32_t>(id);
  Page& page = pages_[key >> 16];
  const auto low = static_cast<uint16_t>(key & 0xFFFF);
  if (!page.bits.empty()) {
    uint64_t& word = page.bits[low >> 6];
    const uint64_t mask = uint64_t{1} << (low & 63);
    if (word & mask) return false;
    word |= mask;
    ++size_;
    return true;
  }
  auto it = std::lower_bound(page.sorted.begin(), page.sorted.end(), low);
  if (it != page.sorted.end() && *it == low) return false;
  page.sorted.insert(it, low);
  ++size_;
  if (page.sorted.size() >= kDenseAt) {
    page.bits.assign(1024, 0);
    for (uint16_t v : page.sorted) page.bits[v >> 6] |= uint64_t{1} << (v & 63);
    std::vector<uint16_t>().swap(page.sorted);
  }
  return true;
}

// ---- header and rows ------------------------------------------------------------------------------------

std::string RowError::Message() const {
  std::string m = file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": ";
  if (!column_name.empty()) m += "column \"" + column_name + "\": ";
  m += "value \"" + value + "\": " + reason;
  return m;
}

namespace {
std::string NormalizeName(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string ColumnList(const TableDef& t) {
  std::string s;
  for (const auto& c : t.columns) s += (s.empty() ? "" : ",") + c.name;
  return s;
}
}  // namespace

Result<RowValidator> RowValidator::FromHeader(const TableDef& table, const CsvRecord& header, const std::string& file) {
  std::string where = file + ":" + std::to_string(header.line()) + ": header: ";
  if (!header.error().empty()) {
    return Status::InvalidArgument(file + ":" + std::to_string(header.error_line()) + ":" +
                                   std::to_string(header.error_column()) + ": header: " +
                                   std::string(header.error()));
  }
  RowValidator v;
  v.file_ = file;
  bool has_id = false;
  for (size_t i = 0; i < header.size(); ++i) {
    std::string name = NormalizeName(header[i].value);
    const ColumnDef* col = table.Find(name);
    if (col == nullptr) {
      return Status::InvalidArgument(file + ":" + std::to_string(header[i].line) + ":" +
                                     std::to_string(header.Column(i)) + ": header: unknown column \"" +
                                     ShowValue(header[i].value) + "\" for table " + table.name +
                                     " (its columns: " + ColumnList(table) + ")");
    }
    for (const ColumnDef* seen : v.cols_) {
      if (seen == col) {
        return Status::InvalidArgument(file + ":" + std::to_string(header[i].line) + ":" +
                                       std::to_string(header.Column(i)) + ": header: column \"" + name +
                                       "\" appears twice");
      }
    }
    if (col->primary_key) {
      v.id_index_ = i;
      has_id = true;
    }
    v.cols_.push_back(col);
  }
  for (const auto& c : table.columns) {
    if (!c.not_null) continue;
    bool found = false;
    for (const ColumnDef* seen : v.cols_) found |= (seen == &c);
    if (!found) {
      return Status::InvalidArgument(where + "missing required column \"" + c.name + "\" for table " + table.name +
                                     " (its columns: " + ColumnList(table) + ")");
    }
  }
  if (!has_id) return Status::InvalidArgument(where + "missing required column \"id\"");
  return v;
}

std::vector<std::string> RowValidator::ColumnNames() const {
  std::vector<std::string> names;
  for (const ColumnDef* c : cols_) names.push_back(c->name);
  return names;
}

bool RowValidator::Check(const CsvRecord& rec, RowError* err) {
  auto fail = [&](size_t field, uint64_t line, uint32_t column, std::string_view value, std::string reason) {
    err->file = file_;
    err->line = line;
    err->column = column;
    err->column_name = field < cols_.size() ? cols_[field]->name : std::string();
    err->value = ShowValue(value);
    err->reason = std::move(reason);
    return false;
  };
  if (!rec.error().empty()) {
    size_t last = rec.size() - 1;
    return fail(last, rec.error_line(), rec.error_column(), rec[last].value, std::string(rec.error()));
  }
  if (rec.size() != cols_.size()) {
    std::string reason = "wrong field count: " + std::to_string(rec.size()) + " fields, the header has " +
                         std::to_string(cols_.size());
    if (rec.size() > cols_.size()) {
      size_t i = cols_.size();
      return fail(i, rec[i].line, rec.Column(i), rec[i].value, reason + " (an unquoted comma?)");
    }
    const CsvField& lastf = rec[rec.size() - 1];
    return fail(rec.size(), lastf.line, rec.ColumnAt(lastf.line_start, static_cast<uint32_t>(rec.raw().size())), "",
                reason + " (column \"" + cols_[rec.size()]->name + "\" is missing)");
  }
  int32_t id = 0;
  for (size_t i = 0; i < cols_.size(); ++i) {
    const CsvField& f = rec[i];
    const ColumnDef& c = *cols_[i];
    if (f.value.empty() && !f.quoted) {
      if (c.not_null) return fail(i, f.line, rec.Column(i), f.value, "empty value in a NOT NULL column");
      continue;  // NULL
    }
    const char* why = nullptr;
    switch (c.type) {
      case ColumnType::kInteger: {
        int32_t x = 0;
        why = CheckInt4(f.value, &x);
        if (!why && c.primary_key) id = x;
        break;
      }
      case ColumnType::kDate:
        why = CheckDate(f.value);
        break;
      case ColumnType::kText: {
        size_t bad = 0;
        if (!ValidUtf8(f.value, &bad)) {
          return fail(i, f.line, rec.Column(i), f.value,
                      "invalid UTF-8 (byte " + std::to_string(bad + 1) + " of the value; save the file as UTF-8)");
        }
        if (std::memchr(f.value.data(), '\0', f.value.size()) != nullptr) why = "contains a NUL byte";
        break;
      }
    }
    if (why) return fail(i, f.line, rec.Column(i), f.value, why);
  }
  if (!ids_.Insert(id)) {
    const CsvField& f = rec[id_index_];
    return fail(id_index_, f.line, rec.Column(id_index_), f.value, "duplicate id within the file");
  }
  return true;
}

// ---- import ---------------------------------------------------------------------------------------------

const char* ImportModeName(ImportMode mode) {
  switch (mode) {
    case ImportMode::kInsert: return "insert";
    case ImportMode::kUpsert: return "upsert";
    case ImportMode::kReplace: return "replace";
  }
  return "?";
}

bool ParseImportMode(std::string_view text, ImportMode* out) {
  if (text == "insert") *out = ImportMode::kInsert;
  else if (text == "upsert") *out = ImportMode::kUpsert;
  else if (text == "replace") *out = ImportMode::kReplace;
  else return false;
  return true;
}

namespace {

constexpr size_t kCopyChunk = 1 << 20;
constexpr const char* kStage = "cdcpipe_stage";
constexpr const char* kChanges = "cdcpipe_changes";

// The rejects file: the header's fields plus "reject_reason", then each bad row's fields plus the reason.
class RejectsWriter {
 public:
  static Result<std::unique_ptr<RejectsWriter>> Open(const std::string& path, const CsvRecord& header) {
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return Status::IoError("cannot write the rejects file " + path + ": " + std::strerror(errno));
    std::unique_ptr<RejectsWriter> w(new RejectsWriter(f, path));
    std::string line;
    for (size_t i = 0; i < header.size(); ++i) {
      AppendCsvField(&line, header[i].value);
      line.push_back(',');
    }
    line += "reject_reason\n";
    w->Write(line);
    return w;
  }
  ~RejectsWriter() {
    if (f_) std::fclose(f_);
  }
  void Add(const CsvRecord& rec, const std::string& reason) {
    line_.clear();
    for (size_t i = 0; i < rec.size(); ++i) {
      if (rec[i].quoted && rec[i].value.empty()) line_ += "\"\"";  // keep "" (empty string) apart from NULL
      AppendCsvField(&line_, rec[i].value);
      line_.push_back(',');
    }
    AppendCsvField(&line_, reason);
    line_.push_back('\n');
    Write(line_);
  }
  Status Close() {
    bool bad = failed_ || std::fclose(f_) != 0;
    f_ = nullptr;
    if (bad) return Status::IoError("writing the rejects file " + path_ + " failed (disk full?)");
    return Status::OK();
  }

 private:
  RejectsWriter(FILE* f, std::string path) : f_(f), path_(std::move(path)) {}
  void Write(const std::string& s) {
    if (std::fwrite(s.data(), 1, s.size(), f_) != s.size()) failed_ = true;
  }
  FILE* f_;
  std::string path_;
  std::string line_;
  bool failed_ = false;
};

// Rolls back unless committed; aborts a COPY in progress first.
class Transaction {
 public:
  explicit Transaction(PgConnection& conn) : conn_(conn) {}
  ~Transaction() {
    if (copying_) conn_.CopyInAbort("cdcpipe import aborted").ok();
    if (open_) conn_.Run("ROLLBACK").ok();
  }
  Status Begin() {
    CDC_RETURN_IF_ERROR(conn_.Run("BEGIN"));
    open_ = true;
    return Status::OK();
  }
  Status Commit() {
    Status st = conn_.Run("COMMIT");
    open_ = false;
    return st;
  }
  void set_copying(bool c) { copying_ = c; }

 private:
  PgConnection& conn_;
  bool open_ = false;
  bool copying_ = false;
};

std::string Join(const std::vector<std::string>& cols, const std::string& prefix, const std::string& sep = ", ") {
  std::string s;
  for (const auto& c : cols) s += (s.empty() ? "" : sep) + prefix + c;
  return s;
}

// Finds the first record of `path` whose id field is `id` (for the "already exists" message).
std::optional<RowError> LocateId(const std::string& path, size_t id_index, int32_t id) {
  auto reader = CsvReader::Open(path);
  if (!reader.ok()) return std::nullopt;
  CsvRecord rec;
  bool header = true;
  for (;;) {
    auto more = (*reader)->Next(&rec);
    if (!more.ok() || !*more) return std::nullopt;
    if (header) {
      header = false;
      continue;
    }
    if (!rec.error().empty() || rec.size() <= id_index) continue;
    int32_t v = 0;
    if (CheckInt4(rec[id_index].value, &v) == nullptr && v == id) {
      RowError e;
      e.file = path;
      e.line = rec[id_index].line;
      e.column = rec.Column(id_index);
      e.column_name = "id";
      e.value = ShowValue(rec[id_index].value);
      return e;
    }
  }
}

}  // namespace

Result<ImportStats> ImportCsvFile(PgConnection& conn, const TableDef& table, const std::string& path,
                                  const ImportOptions& opts) {
  const auto t0 = std::chrono::steady_clock::now();
  auto last = t0;
  // Debug timing of each phase (--log-level debug), to see where an import spends its time.
  auto phase = [&](const char* what) {
    auto now = std::chrono::steady_clock::now();
    log::Debug("import", "{}: {} took {:.3f} s", table.name, what, std::chrono::duration<double>(now - last).count());
    last = now;
  };
  ImportStats stats;
  CsvReader::Options ropts;
  ropts.block_size = opts.block_size;
  CDC_ASSIGN_OR_RETURN(std::unique_ptr<CsvReader> reader, CsvReader::Open(path, ropts));
  CsvRecord rec;
  CDC_ASSIGN_OR_RETURN(bool has_header, reader->Next(&rec));
  if (!has_header) {
    return Status::InvalidArgument(path + ": the file is empty (expected a header line such as " +
                                   ColumnList(table) + ")");
  }
  CDC_ASSIGN_OR_RETURN(RowValidator validator, RowValidator::FromHeader(table, rec, path));
  const std::vector<std::string> file_cols = validator.ColumnNames();
  std::unique_ptr<RejectsWriter> rejects;
  if (!opts.rejects_path.empty()) {
    CDC_ASSIGN_OR_RETURN(rejects, RejectsWriter::Open(opts.rejects_path, rec));
  }

  const std::string target = "public." + table.name;
  CDC_RETURN_IF_ERROR(conn.Run("SET client_encoding TO 'UTF8'"));
  if (opts.mode != ImportMode::kInsert) {
    // Bigger session buffers keep the staging table in memory. Settable only before the session's
    // first temp table (an earlier file of the same run): then the old value stays, harmlessly.
    conn.Run("SET temp_buffers = '256MB'").ok();
  }
  Transaction tx(conn);
  CDC_RETURN_IF_ERROR(tx.Begin());
  // Writers wait until we commit, readers go on: the differences computed below stay true until COMMIT.
  CDC_RETURN_IF_ERROR(conn.Run("LOCK TABLE " + target + " IN SHARE ROW EXCLUSIVE MODE"));
  // insert, or any mode into an empty table: COPY straight into the table (an existing id fails the
  // COPY with 23505, reported below). upsert/replace: COPY into a staging table, then apply only the
  // differences.
  bool direct = opts.mode == ImportMode::kInsert;
  if (!direct) {
    CDC_ASSIGN_OR_RETURN(PgResult r, conn.Exec("SELECT NOT EXISTS (SELECT 1 FROM " + target + ")"));
    direct = r.Get(0, 0) == "t";
  }
  if (!direct) {
    CDC_RETURN_IF_ERROR(
        conn.Run(std::string("CREATE TEMP TABLE ") + kStage + " (LIKE " + target + ") ON COMMIT DROP"));
  }
  const std::string copy_target = direct ? target : kStage;
  CDC_RETURN_IF_ERROR(
      conn.CopyInBegin("COPY " + copy_target + " (" + Join(file_cols, "") + ") FROM STDIN WITH (FORMAT csv)"));
  tx.set_copying(true);

  std::unique_ptr<ProgressLine> progress;
  if (opts.progress && reader->file_size() > (4u << 20)) {
    std::string base = path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
    progress = std::make_unique<ProgressLine>("import " + base, reader->file_size(), "bytes");
  }
  std::string out;
  out.reserve(kCopyChunk + (64 << 10));
  RowError err;
  for (;;) {
    CDC_ASSIGN_OR_RETURN(bool more, reader->Next(&rec));
    if (!more) break;
    ++stats.rows_read;
    if (!validator.Check(rec, &err)) {
      ++stats.rejected;
      if (stats.rejected > opts.max_errors) {
        std::string msg = err.Message();
        if (opts.max_errors > 0) {
          msg += " (more than --max-errors " + std::to_string(opts.max_errors) + " bad rows; nothing imported)";
        } else {
          msg += " (nothing imported; fix the row, or use --max-errors N --rejects PATH to skip bad rows)";
        }
        return Status::InvalidArgument(msg);
      }
      if (rejects) rejects->Add(rec, err.Message());
      continue;
    }
    out.append(rec.raw());
    out.push_back('\n');
    if (out.size() >= kCopyChunk) {
      CDC_RETURN_IF_ERROR(conn.CopyInPut(out));
      out.clear();
    }
    if ((stats.rows_read & 0xFFFF) == 0) {
      if (progress) progress->Update(reader->bytes_read());
      if (ShutdownRequested()) return Status::Cancelled("import of " + path + " interrupted; nothing imported");
    }
  }
  if (!out.empty()) CDC_RETURN_IF_ERROR(conn.CopyInPut(out));
  tx.set_copying(false);
  Result<uint64_t> copy_result = conn.CopyInEnd();
  phase("COPY");
  progress.reset();
  if (rejects) CDC_RETURN_IF_ERROR(rejects->Close());

  if (direct) {
    if (!copy_result.ok()) {
      // 23505 on the primary key: name the id and where the file has it.
      const std::string& m = copy_result.status().message();
      size_t k = m.find("Key (id)=(");
      if (m.find("SQLSTATE 23505") == std::string::npos || k == std::string::npos) return copy_result.status();
      std::string id_text = m.substr(k + 10, m.find(')', k + 10) - (k + 10));
      int32_t id = 0;
      CheckInt4(id_text, &id);
      std::optional<RowError> where = LocateId(path, validator.id_index(), id);
      RowError e = where ? *where : RowError{path, 0, 0, "id", ShowValue(id_text), ""};
      e.reason = "id " + id_text + " already exists in table " + table.name +
                 " (nothing imported; use --mode upsert or --mode replace to change existing rows)";
      return Status::InvalidArgument(e.Message());
    }
    stats.inserted = *copy_result;
  } else {
    CDC_RETURN_IF_ERROR(copy_result.status());
    // Columns written to the table: all of them in replace mode (missing ones become NULL), else the
    // file's.
    std::vector<std::string> write_cols;
    if (opts.mode == ImportMode::kReplace) {
      for (const auto& c : table.columns) write_cols.push_back(c.name);
    } else {
      write_cols = file_cols;
    }
    std::vector<std::string> set_cols;
    for (const auto& c : write_cols) {
      if (c != "id") set_cols.push_back(c);
    }
    // One join finds every difference: 'i' new id, 'u' changed values, 'd' (replace) id not in the
    // file. Unchanged rows are not touched at all, so capture sees no no-op updates.
    const bool replace = opts.mode == ImportMode::kReplace;
    std::string changed = set_cols.empty() ? "false"
                                           : "ROW(" + Join(set_cols, "t.") + ") IS DISTINCT FROM ROW(" +
                                                 Join(set_cols, "s.") + ")";
    CDC_RETURN_IF_ERROR(conn.Run(
        std::string("CREATE TEMP TABLE ") + kChanges + " ON COMMIT DROP AS SELECT CASE WHEN s.id IS NULL THEN 'd' " +
        "WHEN t.id IS NULL THEN 'i' ELSE 'u' END AS cdc_kind, coalesce(s.id, t.id) AS cdc_id, " +
        Join(write_cols, "s.") + " FROM " + kStage + " s " + (replace ? "FULL" : "LEFT") + " JOIN " + target +
        " t ON t.id = s.id WHERE " + (replace ? "s.id IS NULL OR " : "") + "t.id IS NULL OR " + changed));
    phase("diff");
    if (replace) {
      CDC_ASSIGN_OR_RETURN(PgResult r, conn.Exec("DELETE FROM " + target + " t USING " + kChanges +
                                                 " c WHERE c.cdc_kind = 'd' AND t.id = c.cdc_id"));
      stats.deleted = r.AffectedRows();
      phase("DELETE");
    }
    if (!set_cols.empty()) {
      std::string sql = "UPDATE " + target + " t SET ";
      for (size_t i = 0; i < set_cols.size(); ++i) sql += (i ? ", " : "") + set_cols[i] + " = c." + set_cols[i];
      sql += std::string(" FROM ") + kChanges + " c WHERE c.cdc_kind = 'u' AND t.id = c.cdc_id";
      CDC_ASSIGN_OR_RETURN(PgResult r, conn.Exec(sql));
      stats.updated = r.AffectedRows();
      phase("UPDATE");
    }
    CDC_ASSIGN_OR_RETURN(PgResult r, conn.Exec("INSERT INTO " + target + " (" + Join(write_cols, "") + ") SELECT " +
                                               Join(write_cols, "c.") + " FROM " + kChanges +
                                               " c WHERE c.cdc_kind = 'i'"));
    stats.inserted = r.AffectedRows();
    phase("INSERT");
  }
  CDC_RETURN_IF_ERROR(tx.Commit());
  phase("COMMIT");
  uint64_t accepted = stats.rows_read - stats.rejected;
  stats.unchanged = accepted - std::min(accepted, stats.inserted + stats.updated);
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return stats;
}

}  // namespace cdc::pg
