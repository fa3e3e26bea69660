// CSV import: validates the rows of a CSV file against one of the known tables (pg/schema.h) and
// loads them with COPY, all-or-nothing, in one transaction per file. The user-facing contract (modes,
// error format, rejects file, exit codes) is in docs/IMPORT.md.
//
//   insert   rows are added; an id that already exists in the table is an error naming it. The rows
//            are COPYed straight into the table (as fast as psql \copy).
//   upsert   new ids are inserted, existing ids get the file's values for the columns the file has;
//            rows whose values do not change are not touched (no no-op updates for capture to see).
//   replace  the table ends up exactly as the file: rows whose id is not in the file are deleted,
//            the others inserted or updated (columns missing from the file become NULL).
//
// upsert and replace COPY into a temp staging table and apply the differences found by one join;
// into an empty table every mode COPYs straight into it.
//
// Validated rows are forwarded to COPY ... (FORMAT csv) as their original bytes (CsvRecord::raw()),
// so nothing is re-encoded; the validation below is at least as strict as PostgreSQL's input
// functions, so a row that passes never fails on the server.
//
// Thread-safety: functions are reentrant; a PgConnection is used by one thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "pg/connection.h"
#include "pg/csv_reader.h"
#include "pg/schema.h"

namespace cdc::pg {

// ---- value validation (pure; unit-tested) ---------------------------------------------------------

// Parses a PostgreSQL integer (int4): optional sign, 1+ digits, no spaces, within
// [-2147483648, 2147483647]. Returns nullptr when valid, else the reason ("not an integer", "out of
// range for integer (-2147483648..2147483647)").
const char* CheckInt4(std::string_view s, int32_t* out);
// A date written YYYY-MM-DD that exists in the calendar (years 0001-9999). nullptr when valid.
const char* CheckDate(std::string_view s);

// A value cut to 80 characters (at a UTF-8 boundary, "..." appended when cut), with control
// characters shown as \n, \r, \t, \xNN and invalid UTF-8 bytes as \xNN: safe on one line.
std::string ShowValue(std::string_view v);

// A set of int32 ids, to find a repeated id in a file. Ids are grouped by their high 16 bits into
// 65536 pages; a page is a sorted vector of the low 16 bits until it holds 4096 ids, then an 8 KiB
// bitmap. So a page never costs more than 8 KiB and an id at most 2 bytes (plus vector slack):
// dense ids (1..N) take N/8 bytes, 1M random ids about 4 MB, and the whole set never exceeds
// 512 MiB + 1.5 MB whatever the file.
class IdSet {
 public:
  IdSet();
  // Adds `id`; false when it was already present.
  bool Insert(int32_t id);
  size_t size() const { return size_; }

 private:
  struct Page {
    std::vector<uint16_t> sorted;  // low bits, ascending, while the page is sparse
    std::vector<uint64_t> bits;    // 1024 words once dense (sorted is then empty)
  };
  std::vector<Page> pages_;  // indexed by the id's high 16 bits
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
  // Checks the header: names (trimmed, case-insensitive) in any order; every NOT NULL column present;
  // no unknown or repeated column. InvalidArgument naming the column otherwise.
  static Result<RowValidator> FromHeader(const TableDef& table, const CsvRecord& header, const std::string& file);

  // Checks one record; false with *err filled when bad. Also rejects a repeated id.
  bool Check(const CsvRecord& rec, RowError* err);

  // The table's column for CSV field i.
  const ColumnDef& column(size_t i) const { return *cols_[i]; }
  size_t width() const { return cols_.size(); }
  // The CSV header's names, in file order (as table column names).
  std::vector<std::string> ColumnNames() const;
  size_t id_index() const { return id_index_; }

 private:
  std::string file_;
  std::vector<const ColumnDef*> cols_;
  size_t id_index_ = 0;
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

// Imports `path` into `table` (which must exist: call EnsureSchema first) in one transaction.
// On any failure the transaction is rolled back and the table is unchanged. Errors: bad rows and bad
// headers -> InvalidArgument with the RowError message; missing file -> NotFound; unreadable -> IoError;
// empty file -> InvalidArgument; database errors as mapped by PgConnection.
Result<ImportStats> ImportCsvFile(PgConnection& conn, const TableDef& table, const std::string& path,
                                  const ImportOptions& opts);

}  // namespace cdc::pg
