#include "parquet/column.h"

namespace cdc::parquet {

std::string_view ColumnTypeName(ColumnType type) {
  switch (type) {
    case ColumnType::kString: return "string";
    case ColumnType::kBinary: return "binary";
    case ColumnType::kBoolean: return "boolean";
    case ColumnType::kInt32: return "int32";
    case ColumnType::kInt64: return "int64";
    case ColumnType::kDouble: return "double";
    case ColumnType::kTimestampMicros: return "timestamp_micros";
    case ColumnType::kDate: return "date";
    case ColumnType::kFloat: return "float";
    case ColumnType::kTimestampMicrosLocal: return "timestamp_micros_local";
    case ColumnType::kDecimal: return "decimal";
  }
  return "unknown";
}

int Schema::FindColumn(std::string_view name) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

void ColumnVector::AppendNull() {
  switch (type_) {
    case ColumnType::kString:
    case ColumnType::kBinary:
    case ColumnType::kDecimal: offsets_.push_back(bytes_.size()); break;
    case ColumnType::kBoolean: bools_.push_back(0); break;
    case ColumnType::kInt32:
    case ColumnType::kDate: ints32_.push_back(0); break;
    case ColumnType::kInt64:
    case ColumnType::kTimestampMicros:
    case ColumnType::kTimestampMicrosLocal: ints64_.push_back(0); break;
    case ColumnType::kDouble:
    case ColumnType::kFloat: doubles_.push_back(0); break;
  }
  valid_.push_back(0);
  ++null_count_;
  ++size_;
}

void ColumnVector::Clear() {
  size_ = 0;
  null_count_ = 0;
  valid_.clear();
  ints32_.clear();
  ints64_.clear();
  doubles_.clear();
  bools_.clear();
  offsets_.clear();
  bytes_.Clear();
  borrowed_ = false;
  views_.clear();
  if (type_ == ColumnType::kString || type_ == ColumnType::kBinary || type_ == ColumnType::kDecimal) offsets_.push_back(0);
}

void ColumnVector::Reserve(size_t rows, size_t string_bytes) {
  if (nullable_) valid_.reserve(rows);
  switch (type_) {
    case ColumnType::kString:
    case ColumnType::kBinary:
    case ColumnType::kDecimal:
      offsets_.reserve(rows + 1);
      bytes_.Reserve(string_bytes);
      break;
    case ColumnType::kBoolean: bools_.reserve(rows); break;
    case ColumnType::kInt32:
    case ColumnType::kDate: ints32_.reserve(rows); break;
    case ColumnType::kInt64:
    case ColumnType::kTimestampMicros:
    case ColumnType::kTimestampMicrosLocal: ints64_.reserve(rows); break;
    case ColumnType::kDouble:
    case ColumnType::kFloat: doubles_.reserve(rows); break;
  }
}

RecordBatch::RecordBatch(const Schema& schema) {
  columns_.reserve(schema.columns.size());
  for (const ColumnSpec& c : schema.columns) columns_.emplace_back(c.type, c.nullable);
}

void RecordBatch::Clear() {
  for (ColumnVector& c : columns_) c.Clear();
  num_rows_ = 0;
}

}  // namespace cdc::parquet
