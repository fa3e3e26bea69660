// libFuzzer target for the CSV reader of `cdcpipe import` (src/pg/csv_reader.h): any file bytes must give
// records, malformed records with a reason at line:column, or a hard error naming file:line:column —
// never crash, read out of bounds, or allocate past max_record_bytes. Beyond memory safety it checks:
//   - the records do not depend on how the file arrives: a block size of 1-11 bytes (chosen by the
//     input's length, so records straddle every boundary) gives exactly what one block gives;
//   - every position is 1-based and inside the record (fields' lines from the record's line on);
//   - a well-formed record's raw() read again alone gives the same fields (raw() is what import
//     forwards to COPY ... FORMAT csv);
//   - a hard error's message starts "fuzz.csv:LINE:COLUMN: ".
// Seeds: fuzz/corpus/csv_reader/; dictionary: fuzz/csv_reader.dict.
//   cmake -S . -B build-fuzz -DCDC_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ && cmake --build build-fuzz --target csv_reader_fuzz
//   build-fuzz/fuzz/csv_reader_fuzz -max_len=4096 -dict=fuzz/csv_reader.dict fuzz/corpus/csv_reader
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_checks.h"
#include "pg/csv_reader.h"

namespace {

using cdc::pg::CsvReader;
using cdc::pg::CsvRecord;

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

struct Field {
  std::string value;
  bool quoted;
  uint32_t line, column;
  bool operator==(const Field&) const = default;
};

struct Record {
  std::vector<Field> fields;
  std::string raw;
  uint64_t line;
  std::string error;
  uint32_t error_line, error_column;
  bool operator==(const Record&) const = default;
};

struct Read {
  std::vector<Record> records;
  std::string hard_error;  // "" when the file ended normally
  bool operator==(const Read&) const = default;
};

Read ReadAll(std::string_view data, size_t block, size_t max_record) {
  CsvReader::Options o;
  o.block_size = block;
  o.max_record_bytes = max_record;
  auto reader = CsvReader::FromString(std::string(data), o, "fuzz.csv");
  Read out;
  CsvRecord rec;
  while (true) {
    auto more = reader->Next(&rec);
    if (!more.ok()) {
      Check(more.status().IsInvalidArgument());
      out.hard_error = more.status().message();
      Check(cdc::fuzz::NamesFileLineColumn(out.hard_error, "fuzz.csv"));
      break;
    }
    if (!*more) break;
    Record r;
    r.raw = std::string(rec.raw());
    r.line = rec.line();
    r.error = std::string(rec.error());
    r.error_line = rec.error_line();
    r.error_column = rec.error_column();
    Check(rec.size() >= 1);
    Check(r.line >= 1);
    Check(r.raw.size() <= data.size());
    for (size_t i = 0; i < rec.size(); ++i) {
      Field f{std::string(rec[i].value), rec[i].quoted, rec[i].line, rec.Column(i)};
      Check(f.line >= r.line && f.column >= 1);
      Check(rec[i].offset <= r.raw.size() && rec[i].line_start <= rec[i].offset);
      r.fields.push_back(std::move(f));
    }
    if (!r.error.empty()) Check(r.error_line >= r.line && r.error_column >= 1);
    out.records.push_back(std::move(r));
  }
  Check(reader->bytes_read() <= data.size());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  constexpr size_t kLimit = 1 << 20;  // above any input the fuzzer makes: the limit is tested below
  Read whole = ReadAll(input, size + 1, kLimit);  // one block (no bigger: a block is allocated whole)
  Read blocks = ReadAll(input, 1 + size % 11, kLimit);
  Check(whole == blocks);

  // raw() of a well-formed record, alone, reads back as the same fields. (A record that starts with a
  // BOM anywhere but the file's start keeps it in raw(); alone, the reader would skip it.)
  for (const Record& r : whole.records) {
    if (!r.error.empty() || r.raw.compare(0, 3, "\xEF\xBB\xBF") == 0) continue;
    Read again = ReadAll(r.raw, r.raw.size() + 1, kLimit);
    Check(again.hard_error.empty() && again.records.size() == 1);
    const Record& a = again.records[0];
    Check(a.fields.size() == r.fields.size());
    for (size_t i = 0; i < a.fields.size(); ++i) {
      Check(a.fields[i].value == r.fields[i].value && a.fields[i].quoted == r.fields[i].quoted);
      Check(a.fields[i].line - 1 == r.fields[i].line - r.line && a.fields[i].column == r.fields[i].column);
    }
  }

  // A small record limit: records that fit read the same, a longer one is a hard error (bounded memory).
  Read bounded = ReadAll(input, 4, 64);
  if (bounded.hard_error.empty()) Check(bounded == whole);
  return 0;
}
