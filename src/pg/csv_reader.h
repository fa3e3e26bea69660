// CsvReader: a streaming RFC 4180 reader that hands out one record at a time without allocating per
// field. Format details (BOM, CRLF, quoting, NULL vs empty, blank lines, malformed rows) are in
// docs/IMPORT.md.
//
//   - a UTF-8 byte order mark at the start of the file is skipped;
//   - records end with LF or CRLF; the last record may lack a line end; empty lines are skipped;
//   - a field is either unquoted (no '"' and no CR inside) or quoted: "..." with "" for a quote, and
//     commas, CR and LF allowed inside;
//   - every field carries the line where it starts and its 1-based column (in UTF-8 characters);
//   - a malformed record (a quote inside an unquoted field, text after a closing quote, a bare CR)
//     is returned with error() set and the reader resumes at the next line, so the caller may reject
//     it and go on; an unterminated quote at the end of the file is a hard error (the rest of the
//     file was swallowed by the quote).
//
// The reader reads the file in large blocks (1 MiB by default) into one buffer; a record's views
// (fields, raw()) point into that buffer or into a per-record scratch string, and stay valid until
// the next call to Next(). raw() is the record's exact bytes without its line end: a well-formed
// record can be forwarded verbatim to PostgreSQL's COPY ... (FORMAT csv), whose quoting rules match.
//
// Thread-safety: one thread uses a CsvReader. Not copyable.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace cdc::pg {

struct CsvField {
  std::string_view value;  // unescaped value ("" for an empty field)
  bool quoted = false;     // written as "..." (a quoted empty field is an empty string, not NULL)
  uint32_t line = 0;       // 1-based line where the field starts
  uint32_t line_start = 0; // offset in the record's raw() where that line starts
  uint32_t offset = 0;     // offset of the field's first byte in raw()
};

class CsvRecord {
 public:
  size_t size() const { return fields_.size(); }
  const CsvField& operator[](size_t i) const { return fields_[i]; }
  // 1-based line where the record starts.
  uint64_t line() const { return line_; }
  // The record's bytes without its line end (for a malformed record: up to the end of the line where
  // the reader resumed).
  std::string_view raw() const { return raw_; }
  // 1-based column (in UTF-8 characters) where field `i` starts on its line.
  uint32_t Column(size_t i) const;
  // 1-based column of byte `offset` of raw() on the line that starts at raw()[line_start].
  uint32_t ColumnAt(uint32_t line_start, uint32_t offset) const;

  // Why the record is malformed ("" when it is well-formed), and where (line, column).
  std::string_view error() const { return error_; }
  uint32_t error_line() const { return error_line_; }
  uint32_t error_column() const { return error_column_; }

 private:
  friend class CsvReader;
  std::vector<CsvField> fields_;
  std::string_view raw_;
  uint64_t line_ = 0;
  std::string_view error_;
  uint32_t error_line_ = 0;
  uint32_t error_column_ = 0;
};

class CsvReader {
 public:
  struct Options {
    size_t block_size = 1 << 20;           // bytes read per read(2); tests use tiny blocks
    size_t max_record_bytes = 64u << 20;   // a longer record is a hard error (bounded memory)
  };

  // Opens `path`. NotFound when missing, IoError when unreadable (a directory, no permission).
  static Result<std::unique_ptr<CsvReader>> Open(const std::string& path, const Options& opts);
  static Result<std::unique_ptr<CsvReader>> Open(const std::string& path) { return Open(path, Options()); }
  // Reads from memory (tests). `name` is used in messages.
  static std::unique_ptr<CsvReader> FromString(std::string data, const Options& opts, std::string name = "<string>");

  ~CsvReader();
  CsvReader(const CsvReader&) = delete;
  CsvReader& operator=(const CsvReader&) = delete;

  // Reads the next record into `rec`. Returns false at the end of the file. A hard error (I/O,
  // unterminated quote, record too long) is a Status naming file:line:column.
  Result<bool> Next(CsvRecord* rec);

  const std::string& name() const { return name_; }
  // Bytes consumed from the source so far (for progress).
  uint64_t bytes_read() const { return bytes_read_; }
  // Size of the file (0 for a string source or when unknown).
  uint64_t file_size() const { return file_size_; }

 private:
  CsvReader(int fd, std::string name, const Options& opts);
  // Moves the unparsed tail to the front of the buffer and reads more; grows the buffer when the
  // tail fills it. Sets eof_ at the end of the source.
  Status Refill();
  // Parses one record starting at pos_. Returns 1 = parsed, 0 = needs more data, -1 = hard error
  // (in *err).
  int ParseRecord(CsvRecord* rec, Status* err);

  struct Slot {  // a field while parsing: offsets into the buffer (or scratch) survive a regrowth
    uint32_t begin, len;
    bool in_scratch, quoted;
    uint32_t line, line_start, offset;
  };

  int fd_ = -1;
  std::string name_;
  Options opts_;
  std::string mem_;      // string source
  size_t mem_pos_ = 0;
  std::unique_ptr<char[]> buf_;
  size_t cap_ = 0;
  size_t pos_ = 0;       // start of the next record in buf_
  size_t end_ = 0;       // end of valid data in buf_
  bool eof_ = false;
  bool at_start_ = true; // BOM check pending
  uint64_t line_ = 1;    // line of the next record
  uint64_t bytes_read_ = 0;
  uint64_t file_size_ = 0;
  std::vector<Slot> slots_;
  std::string scratch_;  // unescaped values of quoted fields that contain ""
};

// Whether `s` is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). On failure *bad_at is the
// offset of the first invalid byte.
bool ValidUtf8(std::string_view s, size_t* bad_at);

// Appends `v` to `out` as one RFC 4180 field: quoted (with "" for ") when it holds a comma, a quote, a
// line break, or leading/trailing spaces, so CsvReader gives back exactly `v`.
void AppendCsvField(std::string* out, std::string_view v);

}  // namespace cdc::pg
