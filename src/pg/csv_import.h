// CSV import: loads a CSV file into any table, described by the catalog (pg/table_catalog.h), with
// COPY, all-or-nothing, in one transaction per file. The user-facing contract (modes, error format,
// rejects file, exit codes) is in docs/IMPORT.md.
//
//   insert   rows are added; a key that already exists in the table is an error naming it.
//   upsert   new keys are inserted, existing keys get the file's values for the columns the file has;
//            rows whose values do not change are not touched (no no-op updates for capture to see).
//   replace  as upsert, and rows whose key is not in the file are deleted; existing rows' nullable
//            columns without a default that the file lacks become NULL.
// upsert and replace match rows on the table's primary key (any types, composite too).
//
// Who validates what. Every row is checked here for its shape (field count, quoting, UTF-8, NUL, NULL
// in a NOT NULL column) and, for the types whose input rules are simple (int2/int4/int8, bool, text,
// varchar(n)), for its values, exactly as PostgreSQL 15's input functions would: those errors are
// found while reading. Every other type (dates not written YYYY-MM-DD, numeric, timestamps, uuid,
// arrays, enums, domains, ...) is checked by PostgreSQL itself: the rows go into a temp staging table
// of text columns and are cast in one statement (into a typed temp table, or straight into the table
// for an insert whose repeated keys were found while reading), and only if that fails does a temp
// function (pg_temp, gone with the session) cast value by value to find each bad one with the
// server's own message. Either way every bad row is reported as file:line:column, and with
// --max-errors skipped and written to the rejects file, in file order.
//
// Paths: when every column is checked here, an insert (or any mode into an empty table) COPYs the
// file's bytes (CsvRecord::raw()) straight into the table, as fast as psql \copy; otherwise the rows
// go through the staging table(s) and the differences are applied with one join.
//
// Thread-safety: functions are reentrant; a PgConnection is used by one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "pg/connection.h"
#include "pg/csv_reader.h"
#include "pg/table_catalog.h"

namespace cdc::pg {

// ---- value validation (pure; unit-tested) ---------------------------------------------------------
// Each returns nullptr when PostgreSQL 15's input function accepts the value, else the reason.

// int2 / int4 / int8 (bits = 16, 32, 64): optional white space, an optional sign, 1+ decimal digits,
// optional white space, within the type's range. Reasons: "not an integer", "out of range for
// integer (-2147483648..2147483647)" (smallint, bigint likewise).
const char* CheckInt(std::string_view s, int bits, int64_t* out);
inline const char* CheckInt4(std::string_view s, int32_t* out) {
  int64_t v = 0;
  const char* why = CheckInt(s, 32, &v);
  if (!why && out) *out = static_cast<int32_t>(v);
  return why;
}
// boolean: t/true/y/yes/on/1 and f/false/n/no/off/0, any case, prefixes (tr, fa, of, ...) and
// surrounding white space allowed, as boolin does.
const char* CheckBool(std::string_view s);
// varchar(n): at most `max_chars` characters, or longer only by spaces (PostgreSQL cuts those off).
// `s` must be valid UTF-8.
const char* CheckVarchar(std::string_view s, int64_t max_chars);
// A date written YYYY-MM-DD: decided here (*decided = true; nullptr when it exists in the calendar).
// Any other spelling (ISO with white space, 'today', 'Jan 5 2024', BC, ...) is left to PostgreSQL,
// whose reading depends on DateStyle: *decided = false and nullptr.
const char* CheckDate(std::string_view s, bool* decided);

// A value cut to 80 characters (at a UTF-8 boundary, "..." appended when cut), with control
// characters shown as \n, \r, \t, \xNN and invalid UTF-8 bytes as \xNN: safe on one line.
std::string ShowValue(std::string_view v);

// A set of int64 keys, to find a repeated integer key in a file. Keys are grouped by all but their
// low 16 bits into pages of 65536; a page is a sorted vector of the low 16 bits until it holds 4096
// keys, then an 8 KiB bitmap. So a page never costs more than 8 KiB (plus its hash-map entry) and a
// key at most 2 bytes: dense keys (1..N) take N/8 bytes, 1M random int4 keys about 4 MB.
class IdSet {
 public:
  // Adds `id`; false when it was already present.
  bool Insert(int64_t id);
  size_t size() const { return size_; }

 private:
  struct Page {
    std::vector<uint16_t> sorted;  // low bits, ascending, while the page is sparse
    std::vector<uint64_t> bits;    // 1024 words once dense (sorted is then empty)
  };
  std::unordered_map<uint64_t, Page> pages_;  // by the key's high 48 bits
  uint64_t last_high_ = 0;                     // the page of the previous key (ids often come in order)
  Page* last_page_ = nullptr;                  // nodes of an unordered_map never move
  size_t size_ = 0;
};

// ---- header and rows --------------------------------------------------------------------------------

// Why a row is bad and where. Rendered by Message().
struct RowError {
  std::string file;
  uint64_t line = 0;
  uint32_t column = 0;
  std::string column_name;  // "" when the problem is not tied to a column
  std::string value;        // already cut by ShowValue
  std::string reason;
  // "<file>:<line>:<column>: column \"<name>\": value \"<value>\": <reason>"
  std::string Message() const;
};

// Maps the CSV header to the table and checks each row.
class RowValidator {
 public:
  // Checks the header: names (trimmed; exact, else case-insensitive) in any order; no column the
  // table lacks (named, with the table's columns), no repeated or generated column, every NOT NULL
  // column without a default present. InvalidArgument "file:line:column: header: ..." otherwise.
  static Result<RowValidator> FromHeader(const TableInfo& table, const CsvRecord& header, const std::string& file);

  // Checks one record; false with *err filled when bad. Also rejects a repeated integer key (see
  // checks_key()): then *duplicate_key holds the key (else it is left alone).
  bool Check(const CsvRecord& rec, RowError* err, std::optional<int64_t>* duplicate_key = nullptr);

  const TableColumn& column(size_t i) const { return *cols_[i].col; }
  size_t width() const { return cols_.size(); }
  // Whether field i's values are decided here exactly; else PostgreSQL decides them.
  bool decides(size_t i) const { return cols_[i].kind != Kind::kServer && cols_[i].kind != Kind::kDate; }
  // Every field's values are decided here.
  bool decides_all() const;
  // The header fields holding the table's primary key, in key order; empty when the table has no key
  // or the header lacks one of its columns.
  const std::vector<size_t>& key_fields() const { return key_fields_; }
  // A repeated key is found by Check() (the key is one integer column); else the import finds it.
  bool checks_key() const { return key_fields_.size() == 1 && IsInteger(cols_[key_fields_[0]].kind); }

 private:
  enum class Kind { kInt2, kInt4, kInt8, kBool, kText, kVarchar, kDate, kServer };
  static bool IsInteger(Kind k) { return k == Kind::kInt2 || k == Kind::kInt4 || k == Kind::kInt8; }
  struct Field {
    const TableColumn* col;
    Kind kind;
    int64_t max_chars;  // kVarchar
  };
  std::string file_;
  std::vector<Field> cols_;
  std::vector<size_t> key_fields_;
  IdSet ids_;
};

// ---- import -------------------------------------------------------------------------------------------

enum class ImportMode { kInsert, kUpsert, kReplace };
const char* ImportModeName(ImportMode mode);
// "insert" | "upsert" | "replace"; false when unknown.
bool ParseImportMode(std::string_view text, ImportMode* out);

struct ImportOptions {
  ImportMode mode = ImportMode::kUpsert;  // default: upsert
  uint64_t max_errors = 0;                // bad rows tolerated (written to rejects_path); default 0
  std::string rejects_path;               // CSV of rejected rows + reason; "" = none (then max_errors must be 0)
  bool progress = true;                   // a progress line on a terminal for files over 4 MiB
  size_t block_size = 1 << 20;            // read block (tests use small ones)
};

struct ImportStats {
  uint64_t rows_read = 0;  // data records in the file (header excluded)
  uint64_t inserted = 0;
  uint64_t updated = 0;    // existing rows whose values changed
  uint64_t unchanged = 0;  // existing rows already equal to the file's
  uint64_t deleted = 0;    // replace mode: rows not in the file
  uint64_t rejected = 0;   // bad rows written to the rejects file
  double seconds = 0;
};

// Imports `path` into `table` (as read by LoadTable) in one transaction. On any failure the
// transaction is rolled back and the table is unchanged. Errors: bad rows and bad headers ->
// InvalidArgument with the RowError message; upsert/replace into a table without a primary key ->
// InvalidArgument; missing file -> NotFound; unreadable -> IoError; empty file -> InvalidArgument;
// database errors as mapped by PgConnection. Creates nothing but temp tables and temp functions.
Result<ImportStats> ImportCsvFile(PgConnection& conn, const TableInfo& table, const std::string& path,
                                  const ImportOptions& opts);

}  // namespace cdc::pg
