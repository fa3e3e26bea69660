// EncodeParquet: a view's rows as one Parquet file, typed from the view's output types
// (view_engine.h lists the mapping).
#include <cmath>

#include "analytics/view_engine.h"
#include "parquet/writer.h"

namespace cdc::analytics {

namespace {

using parquet::ColumnType;

parquet::ColumnSpec SpecFor(const sql::OutputColumn& out) {
  parquet::ColumnSpec spec;
  spec.name = out.name;
  spec.nullable = true;
  switch (out.type.id) {
    case sql::TypeId::kBool: spec.type = ColumnType::kBoolean; break;
    case sql::TypeId::kInt2:
    case sql::TypeId::kInt4: spec.type = ColumnType::kInt32; break;
    case sql::TypeId::kInt8: spec.type = ColumnType::kInt64; break;
    case sql::TypeId::kNumeric:
      spec.type = ColumnType::kDecimal;
      if (out.type.precision > 0 && out.type.scale >= 0) {
        spec.precision = std::min<int>(out.type.precision, 38);
        spec.scale = std::min<int>(out.type.scale, spec.precision);
      } else {
        spec.precision = 38;
        spec.scale = kUnconstrainedNumericScale;
      }
      break;
    case sql::TypeId::kFloat4: spec.type = ColumnType::kFloat; break;
    case sql::TypeId::kFloat8: spec.type = ColumnType::kDouble; break;
    case sql::TypeId::kDate: spec.type = ColumnType::kDate; break;
    case sql::TypeId::kTimestamp: spec.type = ColumnType::kTimestampMicrosLocal; break;
    case sql::TypeId::kTimestampTz: spec.type = ColumnType::kTimestampMicros; break;
    case sql::TypeId::kText:
    case sql::TypeId::kUnknown: spec.type = ColumnType::kString; break;
  }
  return spec;
}

__int128 Pow10(int n) {
  __int128 p = 1;
  for (int i = 0; i < n; ++i) p *= 10;
  return p;
}

// `d` at `scale`, rounded half away from zero; false when it needs more than `precision` digits.
bool Unscaled(const sql::Datum& d, int precision, int scale, __int128* out) {
  __int128 limit = Pow10(precision) - 1;
  if (d.kind == sql::Datum::Kind::kFloat) {  // decimal.handling.mode=double delivers numerics as floats
    long double v = std::round(static_cast<long double>(d.f) * static_cast<long double>(Pow10(scale)));
    if (!std::isfinite(v) || std::fabs(v) > static_cast<long double>(limit)) return false;
    *out = static_cast<__int128>(v);
    return true;
  }
  __int128 n = d.kind == sql::Datum::Kind::kInt ? d.i : d.n;
  int from = d.kind == sql::Datum::Kind::kNumeric ? d.scale : 0;
  if (from < scale) {
    for (int i = from; i < scale; ++i) {
      if (n > limit || n < -limit) return false;
      n *= 10;
    }
  } else if (from > scale) {
    __int128 div = Pow10(from - scale);
    __int128 q = n / div, r = n % div;
    if (2 * (r < 0 ? -r : r) >= div) q += n < 0 ? -1 : 1;
    n = q;
  }
  if (n > limit || n < -limit) return false;
  *out = n;
  return true;
}

void AppendBigEndian(parquet::ColumnVector* col, __int128 v) {
  char b[16];
  unsigned __int128 u = static_cast<unsigned __int128>(v);
  for (int i = 15; i >= 0; --i) {
    b[i] = static_cast<char>(static_cast<uint8_t>(u & 0xff));
    u >>= 8;
  }
  col->AppendString(std::string_view(b, 16));
}

parquet::Schema SchemaOf(const sql::ViewPlan& view) {
  parquet::Schema schema;
  for (const sql::OutputColumn& out : view.outputs) schema.columns.push_back(SpecFor(out));
  return schema;
}

// Appends `rows` to `batch` (built from SchemaOf(view)).
Status AppendRows(const sql::ViewPlan& view, const parquet::Schema& schema, const ViewRows& rows,
                  parquet::RecordBatch* batch) {
  for (size_t c = 0; c < schema.columns.size(); ++c) batch->column(c).Reserve(rows.rows.size());
  for (const auto& row : rows.rows) {
    for (size_t c = 0; c < schema.columns.size(); ++c) {
      const sql::Datum& d = row[c];
      parquet::ColumnVector& col = batch->column(c);
      const parquet::ColumnSpec& spec = schema.columns[c];
      if (d.is_null()) {
        col.AppendNull();
        continue;
      }
      switch (spec.type) {
        case ColumnType::kBoolean: col.AppendBool(d.b); break;
        case ColumnType::kInt32:
        case ColumnType::kDate: col.AppendInt32(static_cast<int32_t>(d.i)); break;
        case ColumnType::kInt64:
        case ColumnType::kTimestampMicros:
        case ColumnType::kTimestampMicrosLocal: col.AppendInt64(d.i); break;
        case ColumnType::kFloat:
        case ColumnType::kDouble: col.AppendDouble(d.f); break;
        case ColumnType::kDecimal: {
          if (d.kind == sql::Datum::Kind::kFloat && !std::isfinite(d.f)) {
            col.AppendNull();  // NaN/Infinity have no DECIMAL form
            break;
          }
          __int128 v;
          if (!Unscaled(d, spec.precision, spec.scale, &v)) {
            return Status::InvalidArgument("view \"" + view.name + "\", column \"" + spec.name + "\": value " +
                                           sql::ToText(d, view.outputs[c].type) + " does not fit DECIMAL(" +
                                           std::to_string(spec.precision) + "," + std::to_string(spec.scale) + ")");
          }
          AppendBigEndian(&col, v);
          break;
        }
        case ColumnType::kString:
        case ColumnType::kBinary: col.AppendString(d.s); break;
      }
    }
  }
  return Status::OK();
}

}  // namespace

Result<std::string> EncodeParquet(const sql::ViewPlan& view, const ViewRows& rows) {
  parquet::Schema schema = SchemaOf(view);
  parquet::RecordBatch batch(schema);
  CDC_RETURN_IF_ERROR(AppendRows(view, schema, rows, &batch));
  auto sink = std::make_unique<parquet::StringSink>(view.name);
  parquet::StringSink* raw = sink.get();
  CDC_ASSIGN_OR_RETURN(auto writer, parquet::ParquetWriter::Open(std::move(sink), schema, {}));
  CDC_RETURN_IF_ERROR(writer->Write(batch));
  CDC_RETURN_IF_ERROR(writer->Close());
  return raw->Release();
}

Result<std::string> EncodeParquet(const ViewEngine& engine, size_t i, int64_t* rows) {
  const sql::ViewPlan& view = engine.view(i);
  int64_t written = 0;
  parquet::Schema schema = SchemaOf(view);
  parquet::RecordBatch batch(schema);
  auto sink = std::make_unique<parquet::StringSink>(view.name);
  parquet::StringSink* raw = sink.get();
  CDC_ASSIGN_OR_RETURN(auto writer, parquet::ParquetWriter::Open(std::move(sink), schema, {}));
  CDC_RETURN_IF_ERROR(engine.ForEachRowChunk(i, 65536, [&](const ViewRows& chunk) {
    batch.Clear();
    CDC_RETURN_IF_ERROR(AppendRows(view, schema, chunk, &batch));
    written += static_cast<int64_t>(chunk.rows.size());
    return writer->Write(batch);
  }));
  CDC_RETURN_IF_ERROR(writer->Close());
  if (rows != nullptr) *rows = written;
  return raw->Release();
}

}  // namespace cdc::analytics
