// Columnar in-memory data for the Parquet writer and reader: a Schema of flat columns, a
// ColumnVector per column (values in contiguous buffers, strings as offsets + one byte buffer) and a
// RecordBatch of equally long columns.
//
// Building a batch allocates nothing per value: fixed-width values go to a typed vector, string
// bytes are appended to one buffer. A null row still takes a slot (0 or "") so row i is at index i.
// Thread-safety: none (values; move them between threads).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "parquet/byte_buffer.h"

namespace cdc::parquet {

// The logical type of a column; each maps to one Parquet physical + logical type (docs/PARQUET.md).
enum class ColumnType : uint8_t {
  kString,           // BYTE_ARRAY, STRING (UTF8)
  kBinary,           // BYTE_ARRAY without a logical type (reader only: the writer writes kString)
  kBoolean,          // BOOLEAN
  kInt32,            // INT32
  kInt64,            // INT64
  kDouble,           // DOUBLE (the reader also maps FLOAT here)
  kTimestampMicros,  // INT64, TIMESTAMP(isAdjustedToUTC=true, MICROS); reader converts millis/nanos
  kDate,             // INT32, DATE: days since 1970-01-01
  // Writer only (the views' output types, issue 16):
  kFloat,                 // FLOAT: appended as doubles (AppendDouble), written as 4-byte floats
  kTimestampMicrosLocal,  // INT64, TIMESTAMP(isAdjustedToUTC=false, MICROS): a timestamp without zone
  kDecimal,               // FIXED_LEN_BYTE_ARRAY(16), DECIMAL(precision, scale): AppendString of the
                          // unscaled value as 16 bytes of big-endian two's complement
};

std::string_view ColumnTypeName(ColumnType type);

struct ColumnSpec {
  std::string name;
  ColumnType type = ColumnType::kString;
  bool nullable = true;  // OPTIONAL when true, REQUIRED otherwise
  int precision = 0;     // kDecimal: DECIMAL(precision, scale)
  int scale = 0;
  // Writer: try dictionary encoding for this column (when WriterOptions::dictionary is on too). Off for a
  // column whose values are known to be unique (raw events' JSON values): hashing and keeping them until
  // the first page shows that the dictionary does not pay costs more than writing them. Default true.
  bool dictionary = true;
};

struct Schema {
  std::vector<ColumnSpec> columns;
  int FindColumn(std::string_view name) const;  // index or -1
};

class ColumnVector {
 public:
  ColumnVector() = default;
  ColumnVector(ColumnType type, bool nullable) : type_(type), nullable_(nullable) { Clear(); }

  ColumnType type() const { return type_; }
  bool nullable() const { return nullable_; }
  size_t size() const { return size_; }
  size_t null_count() const { return null_count_; }

  // REQUIRES: nullable().
  void AppendNull();
  // REQUIRES: the Append matching type() (Int32 for kInt32/kDate, Int64 for kInt64/kTimestampMicros/
  // kTimestampMicrosLocal, Double for kDouble/kFloat, String for kString/kBinary/kDecimal).
  void AppendInt32(int32_t v) { ints32_.push_back(v); MarkValid(); }
  void AppendInt64(int64_t v) { ints64_.push_back(v); MarkValid(); }
  void AppendDouble(double v) { doubles_.push_back(v); MarkValid(); }
  void AppendBool(bool v) { bools_.push_back(v ? 1 : 0); MarkValid(); }
  void AppendString(std::string_view v) {
    bytes_.Append(v.data(), v.size());
    offsets_.push_back(bytes_.size());
    MarkValid();
  }
  // Appends a string the vector does not copy: `v` must stay valid and unchanged while the vector is used
  // (RawSink hands its events' keys and values to the writer this way, saving a copy of each). A vector
  // holds either borrowed or copied strings, not both, until Clear(); AppendBorrowedNull is its AppendNull.
  // REQUIRES: type() kString/kBinary, and no AppendString/AppendNull since the last Clear().
  void AppendBorrowedString(std::string_view v) {
    borrowed_ = true;
    views_.push_back(v);
    MarkValid();
  }
  // REQUIRES: nullable(), and as AppendBorrowedString.
  void AppendBorrowedNull() {
    borrowed_ = true;
    views_.emplace_back();
    valid_.push_back(0);
    ++null_count_;
    ++size_;
  }
  // True when the strings are borrowed: string_offsets() and string_bytes() are then empty, String(i) works.
  bool borrowed() const { return borrowed_; }

  bool IsNull(size_t i) const { return !valid_.empty() && valid_[i] == 0; }
  int32_t Int32(size_t i) const { return ints32_[i]; }
  int64_t Int64(size_t i) const { return ints64_[i]; }
  double Double(size_t i) const { return doubles_[i]; }
  bool Bool(size_t i) const { return bools_[i] != 0; }
  std::string_view String(size_t i) const {
    if (borrowed_) return views_[i];
    return std::string_view(bytes_.data() + offsets_[i], offsets_[i + 1] - offsets_[i]);
  }

  // Raw access for fast paths. validity(): one byte per row (1 = value), empty if not nullable.
  std::span<const uint8_t> validity() const { return valid_; }
  std::span<const int32_t> int32_values() const { return ints32_; }
  std::span<const int64_t> int64_values() const { return ints64_; }
  std::span<const double> double_values() const { return doubles_; }
  std::span<const uint8_t> bool_values() const { return bools_; }
  std::span<const uint64_t> string_offsets() const { return offsets_; }  // size()+1 entries
  std::string_view string_bytes() const { return bytes_.view(); }

  // Empties the vector but keeps its capacity (reuse a batch to avoid reallocation).
  void Clear();
  void Reserve(size_t rows, size_t string_bytes = 0);
  // String bytes of `bytes` and more are huge-page backed from now on (ByteBuffer; default 4 MiB).
  void set_huge_pages_from(size_t bytes) { bytes_.set_huge_from(bytes); }

 private:
  friend class ColumnDecoder;  // reader.cc fills the buffers directly
  void MarkValid() {
    if (nullable_) valid_.push_back(1);
    ++size_;
  }

  ColumnType type_ = ColumnType::kString;
  bool nullable_ = true;
  size_t size_ = 0;
  size_t null_count_ = 0;
  std::vector<uint8_t> valid_;
  std::vector<int32_t> ints32_;
  std::vector<int64_t> ints64_;
  std::vector<double> doubles_;
  std::vector<uint8_t> bools_;
  std::vector<uint64_t> offsets_;  // strings: offsets_[i]..offsets_[i+1] in bytes_
  ByteBuffer bytes_;
  bool borrowed_ = false;
  std::vector<std::string_view> views_;  // borrowed strings (AppendBorrowedString); empty otherwise
};

// Equally long columns in schema order.
class RecordBatch {
 public:
  RecordBatch() = default;
  explicit RecordBatch(const Schema& schema);

  size_t num_columns() const { return columns_.size(); }
  size_t num_rows() const { return columns_.empty() ? num_rows_ : columns_[0].size(); }
  ColumnVector& column(size_t i) { return columns_[i]; }
  const ColumnVector& column(size_t i) const { return columns_[i]; }
  std::vector<ColumnVector>& columns() { return columns_; }
  void Clear();
  void set_num_rows(size_t n) { num_rows_ = n; }  // for a projection of zero columns

 private:
  std::vector<ColumnVector> columns_;
  size_t num_rows_ = 0;
};

}  // namespace cdc::parquet
