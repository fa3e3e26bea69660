#include "pg/csv_import.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "base/log.h"
#include "base/progress.h"
#include "base/shutdown.h"

namespace cdc::pg {

// ---- values ---------------------------------------------------------------------------------------------

namespace {
// isspace() in the C locale, as PostgreSQL's input functions use it.
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

std::string_view TrimSpace(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}
}  // namespace

const char* CheckInt(std::string_view s, int bits, int64_t* out) {
  // pg_strtoint16/32/64 of PostgreSQL 15: white space, sign, digits, white space; the range is checked
  // while the digits are read (so "99999999999x" is out of range, as there).
  const char* range = bits == 16   ? "out of range for smallint (-32768..32767)"
                      : bits == 32 ? "out of range for integer (-2147483648..2147483647)"
                                   : "out of range for bigint (-9223372036854775808..9223372036854775807)";
  s = TrimSpace(s);
  size_t i = 0;
  bool neg = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    neg = s[i] == '-';
    ++i;
  }
  if (i == s.size()) return "not an integer";
  const uint64_t limit = (uint64_t{1} << (bits - 1)) - (neg ? 0 : 1);
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    char c = s[i];
    if (c < '0' || c > '9') return "not an integer";
    auto d = static_cast<uint64_t>(c - '0');
    if (v > (limit - d) / 10) return range;
    v = v * 10 + d;
  }
  if (out) *out = neg ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
  return nullptr;
}

const char* CheckBool(std::string_view s) {
  // parse_bool_with_len of PostgreSQL 15.
  static constexpr const char* kBad = "not a boolean (true/false, yes/no, on/off, 1/0)";
  s = TrimSpace(s);
  auto prefix_of = [&](std::string_view word, size_t min_len) {
    if (s.size() < min_len || s.size() > word.size()) return false;
    for (size_t i = 0; i < s.size(); ++i) {
      char c = s[i] >= 'A' && s[i] <= 'Z' ? static_cast<char>(s[i] - 'A' + 'a') : s[i];
      if (c != word[i]) return false;
    }
    return true;
  };
  if (prefix_of("true", 1) || prefix_of("false", 1) || prefix_of("yes", 1) || prefix_of("no", 1) ||
      prefix_of("on", 2) || prefix_of("off", 2) || s == "1" || s == "0") {
    return nullptr;
  }
  return kBad;
}

const char* CheckVarchar(std::string_view s, int64_t max_chars) {
  int64_t chars = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) continue;  // a continuation byte
    if (++chars > max_chars) {
      // varchar(n) drops extra characters that are all spaces, and refuses anything else.
      for (size_t j = i; j < s.size(); ++j) {
        if (s[j] != ' ') return "value too long for the column's character varying(n)";
      }
      return nullptr;
    }
  }
  return nullptr;
}

const char* CheckDate(std::string_view s, bool* decided) {
  *decided = false;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return nullptr;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (s[i] < '0' || s[i] > '9') return nullptr;
  }
  *decided = true;
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

bool IdSet::Insert(int64_t id) {
  static constexpr size_t kDenseAt = 4096;  // 4096 x 2 bytes = the 8 KiB of a bitmap
  const auto key = static_cast<uint64_t>(id);
  const uint64_t high = key >> 16;
  if (last_page_ == nullptr || high != last_high_) {
    last_page_ = &pages_[high];
    last_high_ = high;
  }
  Page& page = *last_page_;
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
std::string TrimName(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}
}  // namespace

Result<RowValidator> RowValidator::FromHeader(const TableInfo& table, const CsvRecord& header, const std::string& file) {
  std::string where = file + ":" + std::to_string(header.line()) + ": header: ";
  if (!header.error().empty()) {
    return Status::InvalidArgument(file + ":" + std::to_string(header.error_line()) + ":" +
                                   std::to_string(header.error_column()) + ": header: " +
                                   std::string(header.error()));
  }
  const std::string columns = " for table " + table.name.Display() + " (its columns: " + table.ColumnList() + ")";
  RowValidator v;
  v.file_ = file;
  for (size_t i = 0; i < header.size(); ++i) {
    const std::string at = file + ":" + std::to_string(header[i].line) + ":" + std::to_string(header.Column(i)) +
                           ": header: ";
    std::string name = TrimName(header[i].value);
    const TableColumn* col = table.Find(name);
    if (col == nullptr) {
      return Status::InvalidArgument(at + "unknown column \"" + ShowValue(header[i].value) + "\"" + columns);
    }
    for (const Field& seen : v.cols_) {
      if (seen.col == col) return Status::InvalidArgument(at + "column \"" + col->name + "\" appears twice");
    }
    if (col->generated) {
      return Status::InvalidArgument(at + "column \"" + col->name +
                                     "\" is a generated column, computed by PostgreSQL: leave it out of the file");
    }
    Field f{col, Kind::kServer, 0};
    if (!col->is_domain) {
      const std::string& t = col->type_name;
      if (t == "int2") f.kind = Kind::kInt2;
      else if (t == "int4") f.kind = Kind::kInt4;
      else if (t == "int8") f.kind = Kind::kInt8;
      else if (t == "bool") f.kind = Kind::kBool;
      else if (t == "text" || (t == "varchar" && col->typmod < 0)) f.kind = Kind::kText;
      else if (t == "varchar") f = Field{col, Kind::kVarchar, col->typmod - 4};  // typmod = n + VARHDRSZ
      else if (t == "date") f.kind = Kind::kDate;
    }
    v.cols_.push_back(f);
  }
  for (const auto& c : table.columns) {
    if (!c.not_null || c.has_default || c.generated) continue;
    bool found = false;
    for (const Field& seen : v.cols_) found |= (seen.col == &c);
    if (!found) return Status::InvalidArgument(where + "missing required column \"" + c.name + "\"" + columns);
  }
  for (size_t k : table.key) {
    for (size_t i = 0; i < v.cols_.size(); ++i) {
      if (v.cols_[i].col == &table.columns[k]) v.key_fields_.push_back(i);
    }
  }
  if (v.key_fields_.size() != table.key.size()) v.key_fields_.clear();
  return v;
}

bool RowValidator::decides_all() const {
  for (size_t i = 0; i < cols_.size(); ++i) {
    if (!decides(i)) return false;
  }
  return true;
}

bool RowValidator::Check(const CsvRecord& rec, RowError* err, std::optional<int64_t>* duplicate_key) {
  auto fail = [&](size_t field, uint64_t line, uint32_t column, std::string_view value, std::string reason) {
    err->file = file_;
    err->line = line;
    err->column = column;
    err->column_name = field < cols_.size() ? cols_[field].col->name : std::string();
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
                reason + " (column \"" + cols_[rec.size()].col->name + "\" is missing)");
  }
  int64_t key = 0;
  for (size_t i = 0; i < cols_.size(); ++i) {
    const CsvField& f = rec[i];
    const Field& c = cols_[i];
    if (f.value.empty() && !f.quoted) {
      if (c.col->not_null) return fail(i, f.line, rec.Column(i), f.value, "empty value in a NOT NULL column");
      continue;  // NULL
    }
    // Every value travels as UTF-8 (client_encoding), whatever its type.
    size_t bad = 0;
    if (!ValidUtf8(f.value, &bad)) {
      return fail(i, f.line, rec.Column(i), f.value,
                  "invalid UTF-8 (byte " + std::to_string(bad + 1) + " of the value; save the file as UTF-8)");
    }
    if (std::memchr(f.value.data(), '\0', f.value.size()) != nullptr) {
      return fail(i, f.line, rec.Column(i), f.value, "contains a NUL byte");
    }
    const char* why = nullptr;
    int64_t x = 0;
    bool decided = true;
    switch (c.kind) {
      case Kind::kInt2: why = CheckInt(f.value, 16, &x); break;
      case Kind::kInt4: why = CheckInt(f.value, 32, &x); break;
      case Kind::kInt8: why = CheckInt(f.value, 64, &x); break;
      case Kind::kBool: why = CheckBool(f.value); break;
      case Kind::kVarchar: why = CheckVarchar(f.value, c.max_chars); break;
      case Kind::kDate: why = CheckDate(f.value, &decided); break;
      case Kind::kText:
      case Kind::kServer: break;
    }
    if (why) return fail(i, f.line, rec.Column(i), f.value, why);
    if (checks_key() && i == key_fields_[0]) key = x;
  }
  if (checks_key() && !ids_.Insert(key)) {
    size_t k = key_fields_[0];
    if (duplicate_key) *duplicate_key = key;
    return fail(k, rec[k].line, rec.Column(k), rec[k].value, "duplicate key within the file");
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
// Temp objects (pg_temp, dropped at COMMIT or with the session). The line column's name cannot clash
// with a header column: a dot is not in any name the header can bring ... unless quoted, hence the
// check in ImportCsvFile.
constexpr const char* kInput = "cdcpipe_input";
constexpr const char* kStage = "cdcpipe_stage";
constexpr const char* kChanges = "cdcpipe_changes";
constexpr const char* kLine = "\"cdcpipe.line\"";
constexpr const char* kKind = "\"cdcpipe.kind\"";

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

std::string Join(const std::vector<std::string>& items, const std::string& prefix, const std::string& sep = ", ") {
  std::string s;
  for (const auto& c : items) s += (s.empty() ? "" : sep) + prefix + c;
  return s;
}

// Reads `path` again from its start and calls `fn` on each data record (the header skipped) until it
// returns false. Used only on the way to an error or a rejects file.
Status ReadAgain(const std::string& path, size_t block_size, const std::function<bool(const CsvRecord&)>& fn) {
  CsvReader::Options ropts;
  ropts.block_size = block_size;
  CDC_ASSIGN_OR_RETURN(std::unique_ptr<CsvReader> reader, CsvReader::Open(path, ropts));
  CsvRecord rec;
  CDC_ASSIGN_OR_RETURN(bool more, reader->Next(&rec));  // the header
  while (more) {
    CDC_ASSIGN_OR_RETURN(more, reader->Next(&rec));
    if (more && !fn(rec)) break;
  }
  return Status::OK();
}

// A bad row, by the line where its record starts. Rows found while reading carry their complete
// error; rows found by PostgreSQL carry the field and the reason, and get their position when the
// file is read again.
struct BadRow {
  RowError err;
  size_t field = 0;
  bool located = false;      // err is complete
  bool duplicate = false;    // a repeated integer key (err.reason gets "first on line L")
  int64_t key = 0;           // that key
};
using BadRows = std::map<uint64_t, BadRow>;

// Completes the first `count` bad rows (their positions, the first line of a repeated key) in one
// pass over the file and writes the first `write` of them to `rejects` (when not null).
Status ResolveBadRows(const std::string& path, size_t block_size, const RowValidator& v, BadRows* bad, size_t count,
                      size_t write, RejectsWriter* rejects) {
  std::set<int64_t> dup_keys;
  size_t n = 0;
  uint64_t last_line = 0;
  for (auto& [line, row] : *bad) {
    if (n++ == count) break;
    if (row.duplicate) dup_keys.insert(row.key);
    last_line = line;
  }
  std::map<int64_t, uint64_t> first_line;  // of each repeated key, among the good rows
  auto it = bad->begin();
  size_t index = 0;
  return ReadAgain(path, block_size, [&](const CsvRecord& rec) {
    if (index >= count || it == bad->end() || rec.line() > last_line) return false;
    if (rec.line() != it->first) {
      if (!dup_keys.empty() && rec.error().empty() && rec.size() == v.width()) {
        int64_t key = 0;
        if (CheckInt(rec[v.key_fields()[0]].value, 64, &key) == nullptr && dup_keys.count(key)) {
          first_line.emplace(key, rec[v.key_fields()[0]].line);
        }
      }
      return true;
    }
    BadRow& row = it->second;
    if (!row.located && row.field < rec.size()) {
      const CsvField& f = rec[row.field];
      row.err.line = f.line;
      row.err.column = rec.Column(row.field);
      row.err.column_name = v.column(row.field).name;
      row.err.value = ShowValue(f.value);
      row.located = true;
    }
    if (row.duplicate) {
      auto first = first_line.find(row.key);
      if (first != first_line.end()) row.err.reason += " (first on line " + std::to_string(first->second) + ")";
    }
    if (rejects && index < write) rejects->Add(rec, row.err.Message());
    ++it;
    ++index;
    return true;
  });
}

// The error for more bad rows than --max-errors allows.
std::string TooManyBadRows(const std::string& message, uint64_t max_errors) {
  if (max_errors > 0) {
    return message + " (more than --max-errors " + std::to_string(max_errors) + " bad rows; nothing imported)";
  }
  return message + " (nothing imported; fix the row, or use --max-errors N --rejects PATH to skip bad rows)";
}

// "{1,5,7}" (an int8[] in text form) -> numbers.
std::vector<uint64_t> ParseLineArray(std::string_view s) {
  std::vector<uint64_t> out;
  uint64_t v = 0;
  bool in = false;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      v = v * 10 + static_cast<uint64_t>(c - '0');
      in = true;
    } else if (in) {
      out.push_back(v);
      v = 0;
      in = false;
    }
  }
  return out;
}

std::string LineArray(const std::vector<uint64_t>& lines) {
  std::string s = "{";
  for (uint64_t line : lines) {
    if (s.size() > 1) s.push_back(',');
    s.append(std::to_string(line));
  }
  s.push_back('}');
  return s;
}

}  // namespace

Result<ImportStats> ImportCsvFile(PgConnection& conn, const TableInfo& table, const std::string& path,
                                  const ImportOptions& opts) {
  const auto t0 = std::chrono::steady_clock::now();
  auto last = t0;
  const std::string display = table.name.Display();
  // Debug timing of each phase (--log-level debug), to see where an import spends its time.
  auto phase = [&](const char* what) {
    auto now = std::chrono::steady_clock::now();
    log::Debug("import", "{}: {} took {:.3f} s", display, what, std::chrono::duration<double>(now - last).count());
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
                                   table.ColumnList() + ")");
  }
  CDC_ASSIGN_OR_RETURN(RowValidator validator, RowValidator::FromHeader(table, rec, path));
  std::vector<std::string> file_cols;  // quoted, in file order
  for (size_t i = 0; i < validator.width(); ++i) {
    file_cols.push_back(QuoteIdentifier(validator.column(i).name));
    if ("\"" + validator.column(i).name + "\"" == kLine || "\"" + validator.column(i).name + "\"" == kKind) {
      return Status::InvalidArgument(path + ":1: header: column \"" + validator.column(i).name +
                                     "\" has the name cdcpipe import uses for its own bookkeeping");
    }
  }
  std::vector<std::string> key_cols;  // quoted, in key order
  for (size_t k : table.key) key_cols.push_back(QuoteIdentifier(table.columns[k].name));
  const char* mode_name = ImportModeName(opts.mode);
  if (opts.mode != ImportMode::kInsert) {
    if (table.key.empty()) {
      return Status::InvalidArgument(path + ": table " + display + " has no primary key, and --mode " + mode_name +
                                     " matches rows by it (use --mode insert, or add a primary key)");
    }
    if (validator.key_fields().empty()) {
      std::string names;
      for (size_t k : table.key) names += (names.empty() ? "\"" : ", \"") + table.columns[k].name + "\"";
      return Status::InvalidArgument(path + ":1: header: --mode " + std::string(mode_name) +
                                     " needs the primary key column(s) " + names + " of table " + display +
                                     " in the file");
    }
  }
  std::unique_ptr<RejectsWriter> rejects;
  if (!opts.rejects_path.empty()) {
    CDC_ASSIGN_OR_RETURN(rejects, RejectsWriter::Open(opts.rejects_path, rec));
  }

  const std::string target = table.name.Sql();
  CDC_RETURN_IF_ERROR(conn.Run("SET client_encoding TO 'UTF8'"));
  // Bigger session buffers keep the staging tables in memory. Settable only before the session's
  // first temp table (an earlier file of the same run): then the old value stays, harmlessly.
  conn.Run("SET temp_buffers = '256MB'").ok();
  Transaction tx(conn);
  CDC_RETURN_IF_ERROR(tx.Begin());
  // Writers wait until we commit, readers go on: the differences computed below stay true until COMMIT.
  CDC_RETURN_IF_ERROR(conn.Run("LOCK TABLE " + target + " IN SHARE ROW EXCLUSIVE MODE"));
  bool empty = false;
  if (opts.mode != ImportMode::kInsert) {
    CDC_ASSIGN_OR_RETURN(PgResult r, conn.Exec("SELECT NOT EXISTS (SELECT 1 FROM " + target + ")"));
    empty = r.Get(0, 0) == "t";
  }
  // Straight into the table when every value is decided here and a repeated key is found here (or
  // cannot occur): COPY's only failure left is a key that already exists (23505, located below).
  const bool direct = validator.decides_all() && (opts.mode == ImportMode::kInsert || empty) &&
                      (validator.key_fields().empty() || validator.checks_key());
  // Staged: COPY (with each record's line) into a typed stage when every value is decided here, else
  // into text columns that PostgreSQL casts afterwards.
  const bool typed_copy = validator.decides_all();
  // An insert whose repeated keys are found here (or cannot occur) casts straight into the table: no
  // typed stage, one pass fewer.
  const bool cast_into_target = !direct && !typed_copy && opts.mode == ImportMode::kInsert &&
                                (validator.key_fields().empty() || validator.checks_key());
  // Each staged row carries its record's line when PostgreSQL may have to point at it: a value it
  // refuses, or a repeated key it finds. (Not otherwise: 8 bytes a row that an upsert of integer keys
  // would pay for nothing, about 8 % of its time.)
  const bool with_lines = !typed_copy || (!validator.key_fields().empty() && !validator.checks_key());
  bool identity_always = false;  // writing such a column needs OVERRIDING SYSTEM VALUE (COPY does not)
  for (size_t i = 0; i < validator.width(); ++i) identity_always |= validator.column(i).identity_always;
  const std::string overriding = identity_always ? " OVERRIDING SYSTEM VALUE" : "";
  std::string copy_sql;
  if (direct) {
    copy_sql = "COPY " + target + " (" + Join(file_cols, "") + ") FROM STDIN WITH (FORMAT csv)";
  } else {
    if (!cast_into_target) {
      CDC_RETURN_IF_ERROR(conn.Run(std::string("CREATE TEMP TABLE ") + kStage + " ON COMMIT DROP AS SELECT " +
                                   (with_lines ? std::string("NULL::int8 AS ") + kLine + ", " : "") +
                                   Join(file_cols, "") + " FROM " + target + " WITH NO DATA"));
    }
    if (typed_copy) {
      copy_sql = std::string("COPY ") + kStage + " FROM STDIN WITH (FORMAT csv)";
    } else {
      CDC_RETURN_IF_ERROR(conn.Run(std::string("CREATE TEMP TABLE ") + kInput + " (" + kLine + " int8, " +
                                   Join(file_cols, "", " text, ") + " text) ON COMMIT DROP"));
      copy_sql = std::string("COPY ") + kInput + " FROM STDIN WITH (FORMAT csv)";
    }
  }
  CDC_RETURN_IF_ERROR(conn.CopyInBegin(copy_sql));
  tx.set_copying(true);

  std::unique_ptr<ProgressLine> progress;
  if (opts.progress && reader->file_size() > (4u << 20)) {
    std::string base = path.substr(path.find_last_of('/') == std::string::npos ? 0 : path.find_last_of('/') + 1);
    progress = std::make_unique<ProgressLine>("import " + base, reader->file_size(), "bytes");
  }
  BadRows bad;
  // Fails with the (max_errors + 1)-th bad row in file order; the rejects file gets the ones before.
  auto too_many = [&]() -> Status {
    CDC_RETURN_IF_ERROR(ResolveBadRows(path, opts.block_size, validator, &bad, opts.max_errors + 1, opts.max_errors,
                                       rejects.get()));
    if (rejects) rejects->Close().ok();
    auto it = std::next(bad.begin(), static_cast<std::ptrdiff_t>(opts.max_errors));
    return Status::InvalidArgument(TooManyBadRows(it->second.err.Message(), opts.max_errors));
  };
  std::string out;
  out.reserve(kCopyChunk + (64 << 10));
  RowError err;
  for (;;) {
    CDC_ASSIGN_OR_RETURN(bool more, reader->Next(&rec));
    if (!more) break;
    ++stats.rows_read;
    std::optional<int64_t> dup;
    if (!validator.Check(rec, &err, &dup)) {
      BadRow& row = bad[rec.line()];
      row.err = err;
      row.located = true;
      row.duplicate = dup.has_value();
      row.key = dup.value_or(0);
      if (bad.size() > opts.max_errors) {
        CDC_RETURN_IF_ERROR(conn.CopyInAbort("cdcpipe import: bad row"));
        tx.set_copying(false);
        return too_many();
      }
      continue;
    }
    if (with_lines && !direct) {
      out.append(std::to_string(rec.line()));
      out.push_back(',');
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

  // 23505 on the primary key, when it is one integer column (repeats within the file were found while
  // reading, so the key is one the table already has): the error names it and where the file has it.
  // Any other failure is returned as it is.
  auto existing_key = [&](const Status& failed) -> Status {
    if (!validator.checks_key()) return failed;
    const size_t field = validator.key_fields()[0];
    const std::string& m = failed.message();
    const std::string marker = "Key (" + validator.column(field).name + ")=(";
    size_t k = m.find(marker);
    if (m.find("SQLSTATE 23505") == std::string::npos || k == std::string::npos) return failed;
    std::string key_text = m.substr(k + marker.size(), m.find(')', k + marker.size()) - (k + marker.size()));
    int64_t key = 0;
    CheckInt(key_text, 64, &key);
    RowError e{path, 0, 0, validator.column(field).name, ShowValue(key_text), ""};
    CDC_RETURN_IF_ERROR(ReadAgain(path, opts.block_size, [&](const CsvRecord& r) {
      int64_t v = 0;
      if (!r.error().empty() || r.size() <= field || CheckInt(r[field].value, 64, &v) != nullptr || v != key) {
        return true;
      }
      e.line = r[field].line;
      e.column = r.Column(field);
      e.value = ShowValue(r[field].value);
      return false;
    }));
    e.reason = validator.column(field).name + " " + key_text + " already exists in table " + display +
               " (nothing imported; use --mode upsert or --mode replace to change existing rows)";
    return Status::InvalidArgument(e.Message());
  };
  if (direct) {
    if (!copy_result.ok()) return existing_key(copy_result.status());
    stats.inserted = *copy_result;
  } else {
    CDC_RETURN_IF_ERROR(copy_result.status());
    // Marks `lines` bad (field, reason) and drops them from `table_name`; fails past --max-errors.
    auto reject = [&](const std::vector<std::pair<uint64_t, BadRow>>& rows, const char* table_name) -> Status {
      if (rows.empty()) return Status::OK();
      std::vector<uint64_t> lines;
      for (const auto& [line, row] : rows) {
        bad.emplace(line, row);
        lines.push_back(line);
      }
      if (bad.size() > opts.max_errors) return too_many();
      return conn.ExecParams(std::string("DELETE FROM ") + table_name + " WHERE " + kLine + " = ANY($1::int8[])",
                             {LineArray(lines)})
          .status();
    };
    if (!typed_copy) {
      // PostgreSQL casts every value: each to the column's type without its modifier, then assigned to
      // the typed stage's column (which applies the modifier: varchar(n), numeric(p,s) ...), as its
      // input function would.
      std::string casts;
      for (size_t i = 0; i < validator.width(); ++i) {
        casts += ", " + file_cols[i] + "::" + validator.column(i).cast_type;
      }
      const std::string fill =
          cast_into_target ? "INSERT INTO " + target + " (" + Join(file_cols, "") + ")" + overriding + " SELECT " +
                                 casts.substr(2) + " FROM " + kInput
                           : std::string("INSERT INTO ") + kStage + " SELECT " + kLine + casts + " FROM " + kInput;
      CDC_RETURN_IF_ERROR(conn.Run("SAVEPOINT cdcpipe_cast"));
      Result<PgResult> filled = conn.Exec(fill);
      Status cast = filled.status();
      // A key the table has (23505) or a foreign key (23503) fails the file whatever the values.
      if (!cast.ok() && cast_into_target &&
          (cast.message().find("SQLSTATE 23505") != std::string::npos ||
           cast.message().find("SQLSTATE 23503") != std::string::npos)) {
        return existing_key(cast);
      }
      if (!cast.ok()) {
        // Find each bad value: a temp function per column casts one value inside an exception block
        // (PostgreSQL 15 has no pg_input_is_valid). Only on this path: a subtransaction per value.
        CDC_RETURN_IF_ERROR(conn.Run("ROLLBACK TO SAVEPOINT cdcpipe_cast"));
        std::string checks;
        for (size_t i = 0; i < validator.width(); ++i) {
          if (validator.decides(i)) continue;
          const TableColumn& c = validator.column(i);
          const std::string fn = "pg_temp.cdcpipe_check_" + std::to_string(i);
          CDC_RETURN_IF_ERROR(conn.Run("CREATE OR REPLACE FUNCTION " + fn + "(v text) RETURNS text LANGUAGE plpgsql AS " +
                                       "$cdcpipe$ DECLARE x " + c.type + "; BEGIN x := v::" + c.cast_type +
                                       "; RETURN NULL; EXCEPTION WHEN others THEN RETURN SQLERRM; END $cdcpipe$"));
          checks += std::string(checks.empty() ? "" : " UNION ALL ") + "SELECT " + kLine + " AS line, " +
                    std::to_string(i) + " AS field, " + fn + "(" + file_cols[i] + ") AS why FROM " + kInput +
                    " WHERE " + file_cols[i] + " IS NOT NULL";
        }
        if (checks.empty()) return existing_key(cast);
        CDC_ASSIGN_OR_RETURN(PgResult r, conn.Exec("SELECT line, field, why FROM (" + checks +
                                                   ") c WHERE why IS NOT NULL ORDER BY line, field"));
        if (r.rows() == 0) return existing_key(cast);
        std::vector<std::pair<uint64_t, BadRow>> rows;
        for (int i = 0; i < r.rows(); ++i) {
          uint64_t line = std::stoull(std::string(r.Get(i, 0)));
          if (!rows.empty() && rows.back().first == line) continue;  // one error per row: its first
          BadRow row;
          row.err.file = path;
          row.field = std::stoul(std::string(r.Get(i, 1)));
          row.err.reason = r.Get(i, 2);
          rows.emplace_back(line, std::move(row));
        }
        CDC_RETURN_IF_ERROR(reject(rows, kInput));
        filled = conn.Exec(fill);
        if (!filled.ok()) return existing_key(filled.status());
      }
      if (cast_into_target) stats.inserted = filled->AffectedRows();
      CDC_RETURN_IF_ERROR(conn.Run("RELEASE SAVEPOINT cdcpipe_cast"));
      phase("cast");
    }
    if (!validator.checks_key() && !validator.key_fields().empty()) {
      // Repeated keys, compared as PostgreSQL compares them: every occurrence after the first is bad.
      CDC_ASSIGN_OR_RETURN(PgResult r, conn.Exec(std::string("SELECT array_agg(") + kLine + " ORDER BY " + kLine +
                                                 ") FROM " + kStage + " GROUP BY " + Join(key_cols, "") +
                                                 " HAVING count(*) > 1"));
      std::vector<std::pair<uint64_t, BadRow>> rows;
      for (int i = 0; i < r.rows(); ++i) {
        std::vector<uint64_t> lines = ParseLineArray(r.Get(i, 0));
        for (size_t j = 1; j < lines.size(); ++j) {
          BadRow row;
          row.err.file = path;
          row.field = validator.key_fields()[0];
          row.err.reason = "duplicate key within the file (first on line " + std::to_string(lines[0]) + ")";
          rows.emplace_back(lines[j], std::move(row));
        }
      }
      std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      CDC_RETURN_IF_ERROR(reject(rows, kStage));
      phase("duplicate keys");
    }
    std::string join;
    for (const auto& k : key_cols) join += (join.empty() ? "" : " AND ") + ("t." + k + " = s." + k);
    if (cast_into_target) {
      // inserted by the cast
    } else if (opts.mode == ImportMode::kInsert) {
      if (!key_cols.empty() && !validator.key_fields().empty()) {
        // A key already in the table: named with its first line in the file, before inserting anything.
        std::string key_text = key_cols.size() == 1 ? "t." + key_cols[0] + "::text"
                                                    : "ROW(" + Join(key_cols, "t.") + ")::text";
        CDC_ASSIGN_OR_RETURN(PgResult r, conn.Exec(std::string("SELECT s.") + kLine + ", " + key_text + " FROM " +
                                                   kStage + " s JOIN " + target + " t ON " + join + " ORDER BY 1 LIMIT 1"));
        if (r.rows() > 0) {
          BadRows one;
          BadRow& row = one[std::stoull(std::string(r.Get(0, 0)))];
          row.err.file = path;
          row.field = validator.key_fields()[0];
          std::string what = key_cols.size() == 1 ? table.columns[table.key[0]].name + " " + std::string(r.Get(0, 1))
                                                  : "key (" + Join(key_cols, "") + ") = " + std::string(r.Get(0, 1));
          row.err.reason = what + " already exists in table " + display +
                           " (nothing imported; use --mode upsert or --mode replace to change existing rows)";
          CDC_RETURN_IF_ERROR(ResolveBadRows(path, opts.block_size, validator, &one, 1, 0, nullptr));
          return Status::InvalidArgument(one.begin()->second.err.Message());
        }
      }
      CDC_ASSIGN_OR_RETURN(PgResult r, conn.Exec("INSERT INTO " + target + " (" + Join(file_cols, "") + ")" +
                                                 overriding + " SELECT " + Join(file_cols, "") + " FROM " + kStage));
      stats.inserted = r.AffectedRows();
      phase("INSERT");
    } else {
      const bool replace = opts.mode == ImportMode::kReplace;
      // Columns written: the file's; in replace mode also the nullable columns without a default that
      // the file lacks (they become NULL). Columns with a default keep their value.
      std::vector<std::string> set_cols, set_exprs, cmp_t, cmp_s;
      for (const auto& c : table.columns) {
        std::string q = QuoteIdentifier(c.name);
        if (std::find(key_cols.begin(), key_cols.end(), q) != key_cols.end()) continue;
        bool in_file = std::find(file_cols.begin(), file_cols.end(), q) != file_cols.end();
        if (!in_file && !(replace && !c.has_default && !c.generated)) continue;
        set_cols.push_back(q);
        set_exprs.push_back(in_file ? "s." + q : "NULL::" + c.type);
        cmp_t.push_back("t." + q + (c.compare_as_text ? "::text" : ""));
        cmp_s.push_back(set_exprs.back() + (c.compare_as_text ? "::text" : ""));
      }
      // One join finds every difference: 'i' a new key, 'u' changed values, 'd' (replace) a key not in
      // the file. Unchanged rows are not touched at all, so capture sees no no-op updates.
      std::string select = "CASE WHEN s." + key_cols[0] + " IS NULL THEN 'd' WHEN t." + key_cols[0] +
                           " IS NULL THEN 'i' ELSE 'u' END AS " + kKind;
      for (const auto& k : key_cols) select += ", " + (replace ? "coalesce(s." + k + ", t." + k + ")" : "s." + k) + " AS " + k;
      for (size_t i = 0; i < set_cols.size(); ++i) select += ", " + set_exprs[i] + " AS " + set_cols[i];
      std::string changed = set_cols.empty() ? "false"
                                             : "ROW(" + Join(cmp_t, "") + ") IS DISTINCT FROM ROW(" + Join(cmp_s, "") + ")";
      CDC_RETURN_IF_ERROR(conn.Run(std::string("CREATE TEMP TABLE ") + kChanges + " ON COMMIT DROP AS SELECT " + select +
                                   " FROM " + kStage + " s " + (replace ? "FULL" : "LEFT") + " JOIN " + target +
                                   " t ON " + join + " WHERE " + (replace ? "s." + key_cols[0] + " IS NULL OR " : "") +
                                   "t." + key_cols[0] + " IS NULL OR " + changed));
      phase("diff");
      std::string match = std::string("c.") + kKind + " = '%' ";
      for (const auto& k : key_cols) match += " AND t." + k + " = c." + k;
      auto where = [&](char kind) { std::string m = match; m[m.find('%')] = kind; return m; };
      if (replace) {
        CDC_ASSIGN_OR_RETURN(PgResult r, conn.Exec("DELETE FROM " + target + " t USING " + kChanges + " c WHERE " +
                                                   where('d')));
        stats.deleted = r.AffectedRows();
        phase("DELETE");
      }
      if (!set_cols.empty()) {
        std::string sql = "UPDATE " + target + " t SET ";
        for (size_t i = 0; i < set_cols.size(); ++i) sql += (i ? ", " : "") + set_cols[i] + " = c." + set_cols[i];
        sql += std::string(" FROM ") + kChanges + " c WHERE " + where('u');
        CDC_ASSIGN_OR_RETURN(PgResult r, conn.Exec(sql));
        stats.updated = r.AffectedRows();
        phase("UPDATE");
      }
      std::vector<std::string> write_cols = key_cols;
      write_cols.insert(write_cols.end(), set_cols.begin(), set_cols.end());
      CDC_ASSIGN_OR_RETURN(PgResult r, conn.Exec("INSERT INTO " + target + " (" + Join(write_cols, "") + ")" +
                                                 overriding + " SELECT " + Join(write_cols, "c.") + " FROM " + kChanges +
                                                 " c WHERE c." + kKind + " = 'i'"));
      stats.inserted = r.AffectedRows();
      phase("INSERT");
    }
  }
  if (!bad.empty()) {
    CDC_RETURN_IF_ERROR(ResolveBadRows(path, opts.block_size, validator, &bad, bad.size(), bad.size(), rejects.get()));
  }
  if (rejects) CDC_RETURN_IF_ERROR(rejects->Close());
  stats.rejected = bad.size();
  CDC_RETURN_IF_ERROR(tx.Commit());
  phase("COMMIT");
  uint64_t accepted = stats.rows_read - stats.rejected;
  stats.unchanged = accepted - std::min(accepted, stats.inserted + stats.updated);
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return stats;
}

}  // namespace cdc::pg
