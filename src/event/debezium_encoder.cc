#include "event/debezium_encoder.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include "base/json_escape.h"
#include "event/debezium_default.h"
#include "event/pg_type_oids.h"

namespace cdc::event {
namespace {

constexpr std::string_view kUnavailable = "__debezium_unavailable_value";

// The element type of a built-in array type whose elements Debezium converts (PostgresValueConverter's
// *_ARRAY schemas), or 0. Arrays of money, interval, name, xml, bit ... have no Debezium schema and stay
// strings here, like every other type cdcpipe does not convert.
uint32_t SupportedArrayElement(uint32_t array_oid) {
  switch (array_oid) {
    case 1000: return kBoolOid;
    case 1001: return kByteaOid;
    case 1002: return kCharOid;
    case 1005: return kInt2Oid;
    case 1007: return kInt4Oid;
    case 1009: return kTextOid;
    case 1014: return kBpcharOid;
    case 1015: return kVarcharOid;
    case 1016: return kInt8Oid;
    case 1021: return kFloat4Oid;
    case 1022: return kFloat8Oid;
    case 1028: return kOidOid;
    case 1115: return kTimestampOid;
    case 1182: return kDateOid;
    case 1183: return kTimeOid;
    case 1185: return kTimestamptzOid;
    case 1231: return kNumericOid;
    case 1270: return kTimetzOid;
    case 199: return kJsonOid;
    case 2951: return kUuidOid;
    case 3807: return kJsonbOid;
    case 651: return kCidrOid;
    case 775: return kMacaddr8Oid;
    case 1040: return kMacaddrOid;
    case 1041: return kInetOid;
    case 3905: return kInt4RangeOid;
    case 3907: return kNumRangeOid;
    case 3909: return kTsRangeOid;
    case 3911: return kTsTzRangeOid;
    case 3913: return kDateRangeOid;
    case 3927: return kInt8RangeOid;
    default: return 0;
  }
}
bool IsSupportedArrayElement(uint32_t oid) {
  switch (oid) {
    case kBoolOid: case kByteaOid: case kCharOid: case kInt2Oid: case kInt4Oid: case kTextOid: case kBpcharOid:
    case kVarcharOid: case kInt8Oid: case kFloat4Oid: case kFloat8Oid: case kOidOid: case kTimestampOid:
    case kDateOid: case kTimeOid: case kTimestamptzOid: case kNumericOid: case kTimetzOid: case kJsonOid:
    case kUuidOid: case kJsonbOid: case kCidrOid: case kMacaddr8Oid: case kMacaddrOid: case kInetOid:
    case kInt4RangeOid: case kNumRangeOid: case kTsRangeOid: case kTsTzRangeOid: case kDateRangeOid:
    case kInt8RangeOid:
      return true;
    default:
      return false;
  }
}

// How one value is written.
enum class Kind : uint8_t {
  kInt,             // int2/int4/int8/oid: the text is the JSON number
  kFloat,           // float4/float8: the text is the JSON number, NaN/Infinity quoted
  kBool,            // "t"/"f"
  kString,          // any text
  kBytes,           // bytea -> base64
  kDecimalVariable, // numeric without typmod, precise: {"scale":s,"value":"<b64>"}
  kDecimalFixed,    // numeric(p,s), precise: "<b64>" at the column's scale
  kDecimalString,   // numeric as string
  kDecimalDouble,   // numeric as JSON double
  kDate,            // int32 days
  kTimestampMillis, // timestamp(0..3): int64 millis (io.debezium.time.Timestamp)
  kTimestamp,       // timestamp(4..6) and plain timestamp: int64 micros (io.debezium.time.MicroTimestamp)
  kTimestamptz,     // ISO string UTC, fraction padded to TypePlan::time_precision
  kTimeMillis,      // time(0..3): int32 millis (io.debezium.time.Time)
  kTime,            // time(4..6) and plain time: int64 micros (io.debezium.time.MicroTime)
  kTimetz,          // ISO time string UTC
  kInterval,        // int64 micros (io.debezium.time.MicroDuration)
  kIntervalString,  // ISO 8601 string (io.debezium.time.Interval), interval.handling.mode=string
  kMoneyPrecise,    // money, precise: "<b64>" at scale 2 (org.apache.kafka.connect.data.Decimal)
  kMoneyString,     // money as Debezium's string
  kMoneyDouble,     // money as JSON double
  kBit,             // bit(1), varbit(1): boolean
  kBits,            // bit(n > 1), varbit: bytes io.debezium.data.Bits (little-endian), TypePlan::bits_length
  kPoint,           // point: struct io.debezium.data.geometry.Point {x, y, wkb, srid}
  kEnum,            // a string; the schema is io.debezium.data.Enum with the labels
  kArray,           // a JSON array of ColumnPlan::element values
};

// How one value (a column, or an element of an array column) is written and described.
struct TypePlan {
  Kind kind = Kind::kString;
  uint32_t oid = 0;          // the built-in type it is written as (after domain resolution)
  int32_t type_modifier = -1;
  int scale = -1;            // kDecimalFixed: the scale
  // time, timetz, timestamp, timestamptz: fractional-second digits the column keeps (pgjdbc's
  // TypeInfoCache.getScale: the typmod, 6 without one). Debezium's PostgresValueConverter.getTimePrecision.
  int time_precision = 6;
  int64_t bits_length = 0;   // kBits: Debezium's "length" parameter (the column's bit count)
  bool connect_time = false;  // kDate/kTimeMillis/kTimestampMillis: Kafka Connect's logical type names
                              // (time.precision.mode=connect) instead of io.debezium.time.*
  BinaryMode binary = BinaryMode::kBytes;  // kBytes: binary.handling.mode
  std::string enum_labels;   // kEnum: Debezium's "allowed" parameter
};

struct ColumnPlan {
  TypePlan type;
  TypePlan element;       // type.kind == kArray: each element
  std::string name_json;  // "\"name\":"
  std::optional<std::string> default_json;  // the schema's "default" value (JSON), as Debezium derives it
};

void AppendInt(std::string* out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}
void AppendUint(std::string* out, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}
void AppendDouble(std::string* out, double d) {
  char buf[32];
  auto w = std::to_chars(buf, buf + sizeof buf, d);
  out->append(buf, w.ptr);
}

bool IsIntegerText(std::string_view t) {
  size_t i = (!t.empty() && t[0] == '-') ? 1 : 0;
  if (i == t.size()) return false;
  for (; i < t.size(); ++i)
    if (t[i] < '0' || t[i] > '9') return false;
  return true;
}

// A finite float in PostgreSQL's output ("-1.5", "1e+100", "3.4028235e+38") is already a JSON number
// when it matches the JSON number grammar; check that instead of trusting it.
bool IsJsonNumber(std::string_view t) {
  size_t i = 0, n = t.size();
  if (i < n && t[i] == '-') ++i;
  if (i >= n || t[i] < '0' || t[i] > '9') return false;
  if (t[i] == '0') ++i;
  else
    while (i < n && t[i] >= '0' && t[i] <= '9') ++i;
  if (i < n && t[i] == '.') {
    ++i;
    if (i >= n || t[i] < '0' || t[i] > '9') return false;
    while (i < n && t[i] >= '0' && t[i] <= '9') ++i;
  }
  if (i < n && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < n && (t[i] == '+' || t[i] == '-')) ++i;
    if (i >= n || t[i] < '0' || t[i] > '9') return false;
    while (i < n && t[i] >= '0' && t[i] <= '9') ++i;
  }
  return i == n;
}

// Jackson (QUOTE_NON_NUMERIC_NUMBERS, its default) writes non-finite doubles as quoted strings.
bool AppendSpecialFloat(std::string* out, std::string_view t) {
  if (t == "NaN" || t == "Infinity" || t == "-Infinity") {
    out->push_back('"');
    out->append(t);
    out->push_back('"');
    return true;
  }
  return false;
}

// The scale of a numeric(p,s) typmod (PostgreSQL 15 allows negative scales: an 11-bit signed field).
int NumericTypmodScale(int32_t typmod) { return ((((typmod - 4) & 0x7ff) ^ 1024) - 1024); }
int NumericTypmodPrecision(int32_t typmod) { return ((typmod - 4) >> 16) & 0xffff; }

// The fractional-second precision of a time/timestamp typmod, as pgjdbc's TypeInfoCache.getScale gives it
// to Debezium (column.scale()): the typmod itself, 6 when there is none (-1).
int TimeTypmodPrecision(int32_t typmod) { return typmod < 0 ? 6 : typmod; }

// The plan of a built-in scalar type; types cdcpipe does not convert are strings.
//
// time and timestamp follow Debezium's time.precision.mode=adaptive (its default): JdbcValueConverters
// picks io.debezium.time.Time / Timestamp (milliseconds) for a precision <= 3 and MicroTime / MicroTimestamp
// for <= 6, the precision being PostgresValueConverter.getTimePrecision(column) = column.scale(), which is
// pgjdbc's getScale(oid, atttypmod): 6 for a column declared without one. So `timestamp(3)` is milliseconds
// and a plain `timestamp` microseconds.
//
// time.precision.mode=adaptive_time_microseconds makes every time MicroTime; connect makes date, time and
// timestamp Kafka Connect's Date, Time (ms) and Timestamp (ms) whatever the precision (JdbcValueConverters.
// schemaBuilder, `adaptiveTimePrecisionMode` / `adaptiveTimeMicrosecondsPrecisionMode` / neither).
TypePlan ScalarPlan(uint32_t oid, int32_t typmod, const EncoderOptions& o) {
  const DecimalMode mode = o.decimal_mode;
  const bool connect = o.time_precision == TimePrecisionMode::kConnect;
  TypePlan p;
  p.connect_time = connect;
  p.binary = o.binary_mode;
  p.oid = oid;
  p.type_modifier = typmod;
  switch (oid) {
    case kTimestampOid: case kTimestamptzOid: case kTimeOid: case kTimetzOid:
      p.time_precision = TimeTypmodPrecision(typmod);
      break;
    default:
      break;
  }
  switch (oid) {
    case kInt2Oid: case kInt4Oid: case kInt8Oid: case kOidOid: p.kind = Kind::kInt; break;
    case kFloat4Oid: case kFloat8Oid: p.kind = Kind::kFloat; break;
    case kBoolOid: p.kind = Kind::kBool; break;
    case kByteaOid: p.kind = Kind::kBytes; break;
    case kDateOid: p.kind = Kind::kDate; break;
    case kTimestampOid:
      p.kind = connect || p.time_precision <= 3 ? Kind::kTimestampMillis : Kind::kTimestamp;
      break;
    case kTimestamptzOid: p.kind = Kind::kTimestamptz; break;
    case kTimeOid:
      p.kind = connect ? Kind::kTimeMillis
               : o.time_precision == TimePrecisionMode::kAdaptiveTimeMicroseconds || p.time_precision > 3
                   ? Kind::kTime
                   : Kind::kTimeMillis;
      break;
    case kTimetzOid: p.kind = Kind::kTimetz; break;
    case kIntervalOid: p.kind = o.interval_mode == IntervalMode::kString ? Kind::kIntervalString : Kind::kInterval; break;
    case kBitOid:
    case kVarbitOid: {
      // PostgresValueConverter: BIT/VARBIT -> column.length() > 1 ? Bits.builder(length) : boolean. The length is
      // pgjdbc's TypeInfoCache.getPrecision: the typmod (bit(n), varbit(n)); a varbit without one reports the
      // driver's unknownLength, Integer.MAX_VALUE (Debezium's docs: "2^31 - 1").
      int64_t length = oid == kVarbitOid && typmod < 0 ? 2147483647 : typmod;
      p.kind = length > 1 ? Kind::kBits : Kind::kBit;
      p.bits_length = length;
      break;
    }
    case kPointOid: p.kind = Kind::kPoint; break;
    case kMoneyOid:
      p.kind = mode == DecimalMode::kString ? Kind::kMoneyString
               : mode == DecimalMode::kDouble ? Kind::kMoneyDouble
                                              : Kind::kMoneyPrecise;
      break;
    case kNumericOid:
      switch (mode) {
        case DecimalMode::kString: p.kind = Kind::kDecimalString; break;
        case DecimalMode::kDouble: p.kind = Kind::kDecimalDouble; break;
        case DecimalMode::kPrecise:
          if (typmod >= 4 && NumericTypmodScale(typmod) >= 0) {
            p.kind = Kind::kDecimalFixed;
            p.scale = NumericTypmodScale(typmod);
          } else {
            p.kind = Kind::kDecimalVariable;
          }
          break;
      }
      break;
    default: p.kind = Kind::kString; break;
  }
  return p;
}

// A column's plan: built-in scalars and arrays by OID; enums, domains and arrays of them by what the
// catalog resolved (Column::user_type); anything else as a string.
ColumnPlan PlanFor(const Column& c, const EncoderOptions& mode) {
  ColumnPlan p;
  uint32_t oid = c.type_oid;
  int32_t typmod = c.type_modifier;
  bool user_array = false;
  if (c.type_oid >= kFirstNonBuiltinTypeOid) {
    if (!c.user_type) return p;  // string
    if (c.user_type->kind == UserType::Kind::kOther) {
      // Arrays of the extension types Debezium knows as strings (PostgresValueConverter: the TypeRegistry's
      // citext[] and ltree[] oids -> SchemaBuilder.array(OPTIONAL_STRING_SCHEMA)) are arrays of strings; other
      // extension types and their arrays stay their PostgreSQL text.
      std::string_view name = c.type_name;
      name = name.substr(name.rfind('.') == std::string_view::npos ? 0 : name.rfind('.') + 1);
      if (c.user_type->array && (name == "_citext" || name == "_ltree")) p.type.kind = Kind::kArray;
      return p;
    }
    const UserType& u = *c.user_type;
    if (u.kind == UserType::Kind::kEnum) {
      TypePlan e;
      e.kind = Kind::kEnum;
      e.enum_labels = u.enum_labels;
      if (!u.array) {
        p.type = std::move(e);
      } else {
        p.type.kind = Kind::kArray;
        p.element = std::move(e);
      }
      return p;
    }
    // A domain: written as its built-in base type, with the typmod the domain declares.
    oid = u.base_type_oid;
    if (u.base_type_modifier != -1) typmod = u.base_type_modifier;
    user_array = u.array;
    if (oid >= kFirstNonBuiltinTypeOid) return p;  // resolution stopped at a non-built-in type: string
  }
  if (uint32_t elem = SupportedArrayElement(oid); elem != 0) {
    if (user_array) return p;  // an array of a domain over an array: more than one dimension, string
    p.type.kind = Kind::kArray;
    p.element = ScalarPlan(elem, typmod, mode);
    return p;
  }
  if (user_array) {
    if (!IsSupportedArrayElement(oid)) return p;
    p.type.kind = Kind::kArray;
    p.element = ScalarPlan(oid, typmod, mode);
    return p;
  }
  p.type = ScalarPlan(oid, typmod, mode);
  return p;
}

// The JsonConverter schema of one value type, without the closing brace (JsonConverter's key order:
// type, items/fields, optional, name, version, doc, parameters, default).
void AppendTypeSchema(std::string* out, const TypePlan& t, bool optional) {
  const char* opt = optional ? "true" : "false";
  auto simple = [&](const char* type, const char* name) {
    *out += "{\"type\":\"";
    *out += type;
    *out += "\",\"optional\":";
    *out += opt;
    if (name) {
      *out += ",\"name\":\"";
      *out += name;
      *out += "\",\"version\":1";
    }
  };
  switch (t.kind) {
    case Kind::kInt:
      simple(t.oid == kInt2Oid ? "int16" : t.oid == kInt4Oid ? "int32" : "int64", nullptr);
      break;
    case Kind::kFloat: simple(t.oid == kFloat4Oid ? "float" : "double", nullptr); break;
    case Kind::kBool: simple("boolean", nullptr); break;
    case Kind::kBytes: simple(t.binary == BinaryMode::kBytes ? "bytes" : "string", nullptr); break;
    case Kind::kDate:
      simple("int32", t.connect_time ? "org.apache.kafka.connect.data.Date" : "io.debezium.time.Date");
      break;
    case Kind::kTimestampMillis:
      simple("int64", t.connect_time ? "org.apache.kafka.connect.data.Timestamp" : "io.debezium.time.Timestamp");
      break;
    case Kind::kTimestamp: simple("int64", "io.debezium.time.MicroTimestamp"); break;
    case Kind::kTimestamptz: simple("string", "io.debezium.time.ZonedTimestamp"); break;
    case Kind::kTimeMillis:
      simple("int32", t.connect_time ? "org.apache.kafka.connect.data.Time" : "io.debezium.time.Time");
      break;
    case Kind::kTime: simple("int64", "io.debezium.time.MicroTime"); break;
    case Kind::kTimetz: simple("string", "io.debezium.time.ZonedTime"); break;
    case Kind::kInterval: simple("int64", "io.debezium.time.MicroDuration"); break;
    case Kind::kIntervalString: simple("string", "io.debezium.time.Interval"); break;
    case Kind::kDecimalString: simple("string", nullptr); break;
    case Kind::kDecimalDouble: simple("double", nullptr); break;
    case Kind::kMoneyString: simple("string", nullptr); break;
    case Kind::kMoneyDouble: simple("double", nullptr); break;
    case Kind::kMoneyPrecise:
      // Decimal.builder(money.fraction.digits): only the scale parameter, no precision.
      simple("bytes", "org.apache.kafka.connect.data.Decimal");
      *out += ",\"parameters\":{\"scale\":\"2\"}";
      break;
    case Kind::kDecimalVariable:
      *out += "{\"type\":\"struct\",\"fields\":[{\"type\":\"int32\",\"optional\":false,\"field\":\"scale\"},"
              "{\"type\":\"bytes\",\"optional\":false,\"field\":\"value\"}],\"optional\":";
      *out += opt;
      *out += ",\"name\":\"io.debezium.data.VariableScaleDecimal\",\"version\":1,\"doc\":\"Variable scaled decimal\"";
      break;
    case Kind::kDecimalFixed:
      simple("bytes", "org.apache.kafka.connect.data.Decimal");
      *out += ",\"parameters\":{\"scale\":\"";
      AppendInt(out, t.scale);
      *out += "\",\"connect.decimal.precision\":\"";
      AppendInt(out, NumericTypmodPrecision(t.type_modifier));
      *out += "\"}";
      break;
    case Kind::kBit: simple("boolean", nullptr); break;
    case Kind::kBits:
      simple("bytes", "io.debezium.data.Bits");
      *out += ",\"parameters\":{\"length\":\"";
      AppendInt(out, t.bits_length);
      *out += "\"}";
      break;
    case Kind::kPoint:
      // io.debezium.data.geometry.Point.builder(): x, y required doubles; wkb, srid optional.
      *out += "{\"type\":\"struct\",\"fields\":[{\"type\":\"double\",\"optional\":false,\"field\":\"x\"},"
              "{\"type\":\"double\",\"optional\":false,\"field\":\"y\"},"
              "{\"type\":\"bytes\",\"optional\":true,\"field\":\"wkb\"},"
              "{\"type\":\"int32\",\"optional\":true,\"field\":\"srid\"}],\"optional\":";
      *out += opt;
      *out += ",\"name\":\"io.debezium.data.geometry.Point\",\"version\":1,\"doc\":\"Geometry (POINT)\"";
      break;
    case Kind::kEnum:
      simple("string", "io.debezium.data.Enum");
      *out += ",\"parameters\":{\"allowed\":";
      AppendJsonString(out, t.enum_labels);
      *out += '}';
      break;
    case Kind::kString:
      if (t.oid == kJsonOid || t.oid == kJsonbOid) simple("string", "io.debezium.data.Json");
      else if (t.oid == kUuidOid) simple("string", "io.debezium.data.Uuid");
      else if (t.oid == kXmlOid) simple("string", "io.debezium.data.Xml");
      else simple("string", nullptr);
      break;
    case Kind::kArray:  // not an element kind; PlanFor never nests arrays
      simple("string", nullptr);
      break;
  }
}

// The JsonConverter schema of one column field.
void AppendFieldSchema(std::string* out, const Column& c, const ColumnPlan& p, bool optional) {
  if (p.type.kind == Kind::kArray) {
    // SchemaBuilder.array(<element schema>): elements are optional (NULL elements), except Debezium's enum
    // element schema, which it builds without optional().
    *out += "{\"type\":\"array\",\"items\":";
    AppendTypeSchema(out, p.element, p.element.kind != Kind::kEnum);
    *out += "},\"optional\":";
    *out += optional ? "true" : "false";
  } else {
    AppendTypeSchema(out, p.type, optional);
  }
  if (p.default_json) {
    *out += ",\"default\":";
    *out += *p.default_json;
  }
  *out += ",\"field\":";
  AppendJsonString(out, c.name);
  *out += '}';
}

const char* SnapshotText(SnapshotMarker m) {
  switch (m) {
    case SnapshotMarker::kTrue: return "true";
    case SnapshotMarker::kFirst: return "first";
    case SnapshotMarker::kLastInDataCollection: return "last_in_data_collection";
    case SnapshotMarker::kLast: return "last";
    case SnapshotMarker::kIncremental: return "incremental";
    case SnapshotMarker::kFalse: return "false";
  }
  return "false";
}

// The schema's "default" of a column (JSON), or nullopt: Debezium's default converter (debezium_default.h),
// then the column's value conversion. Defined with the value conversions below.
std::optional<std::string> DefaultJson(const Column& c, const ColumnPlan& p);

Status ColumnError(const TableSchema& t, const Column& c, const Status& s) {
  return Status::InvalidArgument("table " + t.schema + "." + t.table + " column " + c.name + ": " + s.message());
}

}  // namespace

Result<DecimalMode> ParseDecimalMode(std::string_view text) {
  if (text == "precise") return DecimalMode::kPrecise;
  if (text == "string") return DecimalMode::kString;
  if (text == "double") return DecimalMode::kDouble;
  return Status::InvalidArgument("unknown decimal mode '" + std::string(text) + "' (use precise, string or double)");
}

Result<TimePrecisionMode> ParseTimePrecisionMode(std::string_view text) {
  if (text == "adaptive") return TimePrecisionMode::kAdaptive;
  if (text == "adaptive_time_microseconds") return TimePrecisionMode::kAdaptiveTimeMicroseconds;
  if (text == "connect") return TimePrecisionMode::kConnect;
  return Status::InvalidArgument("unknown time.precision.mode '" + std::string(text) +
                                 "' (use adaptive, adaptive_time_microseconds or connect)");
}

Result<BinaryMode> ParseBinaryMode(std::string_view text) {
  if (text == "bytes") return BinaryMode::kBytes;
  if (text == "base64") return BinaryMode::kBase64;
  if (text == "base64-url-encoded") return BinaryMode::kBase64Url;
  if (text == "hex") return BinaryMode::kHex;
  return Status::InvalidArgument("unknown binary.handling.mode '" + std::string(text) +
                                 "' (use bytes, base64, base64-url-encoded or hex)");
}

Result<IntervalMode> ParseIntervalMode(std::string_view text) {
  if (text == "numeric") return IntervalMode::kNumeric;
  if (text == "string") return IntervalMode::kString;
  return Status::InvalidArgument("unknown interval.handling.mode '" + std::string(text) + "' (use numeric or string)");
}

Result<SkippedOps> ParseSkippedOperations(std::string_view text) {
  SkippedOps out;
  if (text == "none" || text.empty()) return out;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    uint8_t bit = item.size() == 1 ? SkippedOps::Bit(static_cast<Op>(item[0])) : 0;
    if (item == "r") bit = 0;
    if (bit == 0) {
      return Status::InvalidArgument("unknown operation '" + std::string(item) +
                                     "' in skipped.operations (use none, or any of c, u, d, t separated by commas)");
    }
    out.bits |= bit;
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  return out;
}

struct DebeziumEncoder::TableCache {
  std::shared_ptr<const TableSchema> table;  // keeps the key object alive, so its address is not reused
  std::string topic;
  std::vector<ColumnPlan> columns;
  std::vector<size_t> value_columns;  // the columns records carry (column.include/exclude.list), in table order
  std::vector<size_t> key_columns;    // the primary key, or message.key.columns
  bool custom_key = false;            // key_columns come from message.key.columns
  std::string key_error;              // message.key.columns names a column the table lacks: Encode fails
  std::string key_prefix;    // "{\"schema\":{...},\"payload\":" or "" (schemas off)
  std::string value_prefix;  // "{\"schema\":{...},\"payload\":" or ""
  std::string source_head;   // ",\"source\":{\"version\":..,\"name\":..,\"ts_ms\":"
  std::string source_db;     // ",\"db\":\"...\",\"sequence\":"
  std::string source_table;  // ",\"schema\":\"public\",\"table\":\"t\",\"txId\":"
  size_t value_bytes = 0;    // the last value's length: the next one reserves a little more
};

DebeziumEncoder::DebeziumEncoder(EncoderOptions options) : options_(std::move(options)) {}
DebeziumEncoder::~DebeziumEncoder() = default;

std::string KafkaTopicName(std::string_view name) {
  constexpr size_t kMaxLength = 249;  // Kafka's limit (and Debezium's MAX_NAME_LENGTH)
  std::string out;
  out.reserve(name.size());
  for (size_t i = 0; i < name.size();) {
    auto c = static_cast<unsigned char>(name[i]);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
        c == '-') {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    // One '_' per UTF-16 unit of the character (a 4-byte UTF-8 sequence is a surrogate pair in Java).
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool whole = len > 0 && i + len <= name.size();
    for (size_t k = 1; whole && k < len; ++k) whole = (static_cast<unsigned char>(name[i + k]) >> 6) == 0x2;
    if (!whole) len = 1;  // invalid UTF-8: one '_' per byte
    out.append(whole && len == 4 ? 2 : 1, '_');
    i += len;
  }
  if (out.size() > kMaxLength) out.resize(kMaxLength);
  if (out == ".") out = "_";
  if (out == "..") out = "__";
  return out;
}

std::string DebeziumEncoder::TopicFor(const TableSchema& table) const {
  std::string topic = options_.topic_prefix + "." + table.schema + "." + table.table;
  return options_.kafka_topic_names ? KafkaTopicName(topic) : topic;
}

DebeziumEncoder::TableCache* DebeziumEncoder::CacheFor(const std::shared_ptr<const TableSchema>& table) {
  if (last_ && last_->table.get() == table.get()) return last_;
  auto it = cache_.find(table.get());
  if (it != cache_.end()) return last_ = it->second.get();

  auto tc = std::make_unique<TableCache>();
  const TableSchema& t = *table;
  tc->table = table;
  tc->topic = TopicFor(t);
  for (size_t i = 0; i < t.columns.size(); ++i) {
    const Column& c = t.columns[i];
    ColumnPlan p = PlanFor(c, options_);
    if (options_.schemas) p.default_json = DefaultJson(c, p);
    AppendJsonString(&p.name_json, c.name);
    p.name_json += ':';
    tc->columns.push_back(std::move(p));
    if (options_.columns.Includes(t.schema, t.table, c.name)) tc->value_columns.push_back(i);
  }
  if (const std::vector<std::string>* names = options_.columns.KeyColumns(t.schema, t.table)) {
    tc->custom_key = true;
    for (const auto& name : *names) {
      size_t i = 0;
      while (i < t.columns.size() && t.columns[i].name != name) ++i;
      if (i == t.columns.size()) {
        tc->key_error = "message.key.columns names column " + name + ", which table " + t.schema + "." + t.table +
                        " does not have";
        break;
      }
      tc->key_columns.push_back(i);
    }
  } else {
    for (size_t i = 0; i < t.columns.size(); ++i) {
      if (t.columns[i].key) tc->key_columns.push_back(i);
    }
  }
  const std::string base = tc->topic;
  if (options_.schemas) {
    std::string key = "{\"schema\":{\"type\":\"struct\",\"fields\":[";
    for (size_t n = 0; n < tc->key_columns.size(); ++n) {
      if (n) key += ',';
      size_t i = tc->key_columns[n];
      // A message.key.columns column keeps its nullability (TableSchemaBuilder.addField); primary keys are not null.
      AppendFieldSchema(&key, t.columns[i], tc->columns[i], tc->custom_key && t.columns[i].optional);
    }
    key += "],\"optional\":false,\"name\":";
    AppendJsonString(&key, base + ".Key");
    key += "},\"payload\":";
    tc->key_prefix = std::move(key);

    std::string row = "{\"type\":\"struct\",\"fields\":[";
    for (size_t n = 0; n < tc->value_columns.size(); ++n) {
      if (n) row += ',';
      size_t i = tc->value_columns[n];
      AppendFieldSchema(&row, t.columns[i], tc->columns[i], t.columns[i].optional && !t.columns[i].key);
    }
    row += "],\"optional\":true,\"name\":";
    AppendJsonString(&row, base + ".Value");
    std::string v = "{\"schema\":{\"type\":\"struct\",\"fields\":[";
    v += row + ",\"field\":\"before\"},";
    v += row + ",\"field\":\"after\"},";
    v += "{\"type\":\"struct\",\"fields\":["
         "{\"type\":\"string\",\"optional\":false,\"field\":\"version\"},"
         "{\"type\":\"string\",\"optional\":false,\"field\":\"connector\"},"
         "{\"type\":\"string\",\"optional\":false,\"field\":\"name\"},"
         "{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"},"
         "{\"type\":\"string\",\"optional\":true,\"name\":\"io.debezium.data.Enum\",\"version\":1,"
         "\"parameters\":{\"allowed\":\"true,last,false,incremental\"},\"default\":\"false\",\"field\":\"snapshot\"},"
         "{\"type\":\"string\",\"optional\":false,\"field\":\"db\"},"
         "{\"type\":\"string\",\"optional\":true,\"field\":\"sequence\"},"
         "{\"type\":\"string\",\"optional\":false,\"field\":\"schema\"},"
         "{\"type\":\"string\",\"optional\":false,\"field\":\"table\"},"
         "{\"type\":\"int64\",\"optional\":true,\"field\":\"txId\"},"
         "{\"type\":\"int64\",\"optional\":true,\"field\":\"lsn\"},"
         "{\"type\":\"int64\",\"optional\":true,\"field\":\"xmin\"}],"
         "\"optional\":false,\"name\":\"io.debezium.connector.postgresql.Source\",\"field\":\"source\"},"
         "{\"type\":\"string\",\"optional\":false,\"field\":\"op\"},"
         "{\"type\":\"int64\",\"optional\":true,\"field\":\"ts_ms\"},"
         "{\"type\":\"struct\",\"fields\":["
         "{\"type\":\"string\",\"optional\":false,\"field\":\"id\"},"
         "{\"type\":\"int64\",\"optional\":false,\"field\":\"total_order\"},"
         "{\"type\":\"int64\",\"optional\":false,\"field\":\"data_collection_order\"}],"
         "\"optional\":true,\"name\":\"event.block\",\"version\":1,\"field\":\"transaction\"}],"
         "\"optional\":false,\"name\":";
    AppendJsonString(&v, base + ".Envelope");
    v += ",\"version\":1},\"payload\":";
    tc->value_prefix = std::move(v);
  }
  tc->source_head = ",\"source\":{\"version\":";
  AppendJsonString(&tc->source_head, options_.connector_version);
  tc->source_head += ",\"connector\":\"postgresql\",\"name\":";
  AppendJsonString(&tc->source_head, options_.topic_prefix);
  tc->source_head += ",\"ts_ms\":";
  tc->source_db = ",\"db\":";
  AppendJsonString(&tc->source_db, options_.database);
  tc->source_db += ",\"sequence\":";
  tc->source_table = ",\"schema\":";
  AppendJsonString(&tc->source_table, t.schema);
  tc->source_table += ",\"table\":";
  AppendJsonString(&tc->source_table, t.table);
  tc->source_table += ",\"txId\":";

  TableCache* raw = tc.get();
  cache_.emplace(table.get(), std::move(tc));
  return last_ = raw;
}

namespace {

// Appends a converted number or string, or passes the conversion's error on.
template <typename T>
Status AppendNumber(std::string* out, const Result<T>& r) {
  if (!r.ok()) return r.status();
  AppendInt(out, *r);
  return Status::OK();
}
Status AppendString(std::string* out, const Result<std::string>& r) {
  if (!r.ok()) return r.status();
  AppendJsonString(out, *r);
  return Status::OK();
}
Status AppendBase64Bytes(std::string* out, const Result<std::string>& r) {
  if (!r.ok()) return r.status();
  out->push_back('"');
  pgtext::AppendBase64(out, *r);
  out->push_back('"');
  return Status::OK();
}

// Bytes as binary.handling.mode writes them: base64 for bytes (JsonConverter) and base64, URL-safe base64, hex.
void AppendBinary(std::string* out, BinaryMode mode, std::string_view bytes) {
  out->push_back('"');
  if (mode == BinaryMode::kHex) {
    static constexpr char kHexDigits[] = "0123456789abcdef";
    for (unsigned char b : bytes) {
      out->push_back(kHexDigits[b >> 4]);
      out->push_back(kHexDigits[b & 15]);
    }
  } else {
    size_t start = out->size();
    pgtext::AppendBase64(out, bytes);
    if (mode == BinaryMode::kBase64Url) {
      for (size_t i = start; i < out->size(); ++i) {
        if ((*out)[i] == '+') (*out)[i] = '-';
        else if ((*out)[i] == '/') (*out)[i] = '_';
      }
    }
  }
  out->push_back('"');
}

Status AppendScalar(std::string* out, const TypePlan& p, std::string_view text) {
  switch (p.kind) {
    case Kind::kInt:
      if (!IsIntegerText(text)) return Status::InvalidArgument("not an integer: '" + std::string(text) + "'");
      out->append(text);
      return Status::OK();
    case Kind::kFloat:
      if (AppendSpecialFloat(out, text)) return Status::OK();
      if (!IsJsonNumber(text)) return Status::InvalidArgument("not a float: '" + std::string(text) + "'");
      out->append(text);
      return Status::OK();
    case Kind::kBool:
      if (text == "t" || text == "true") out->append("true");
      else if (text == "f" || text == "false") out->append("false");
      else return Status::InvalidArgument("not a boolean: '" + std::string(text) + "'");
      return Status::OK();
    case Kind::kDecimalString:
      // SpecialValueDecimal.fromLogical(.., STRING) writes a special value as its SpecialValue enum name.
      if (text == "NaN") {
        out->append("\"NAN\"");
        return Status::OK();
      }
      if (text == "Infinity") {
        out->append("\"POSITIVE_INFINITY\"");
        return Status::OK();
      }
      if (text == "-Infinity") {
        out->append("\"NEGATIVE_INFINITY\"");
        return Status::OK();
      }
      AppendJsonString(out, text);
      return Status::OK();
    case Kind::kString:
    case Kind::kEnum:
      AppendJsonString(out, text);
      return Status::OK();
    case Kind::kBytes: {
      CDC_ASSIGN_OR_RETURN(std::string bytes, pgtext::ByteaToBytes(text));
      AppendBinary(out, p.binary, bytes);
      return Status::OK();
    }
    case Kind::kBit: {
      // PostgresValueConverter.convertBit: Integer.valueOf(text, 2) != 0.
      CDC_ASSIGN_OR_RETURN(std::string bytes, pgtext::BitStringToDebeziumBits(text));
      out->append(bytes.empty() ? "false" : "true");
      return Status::OK();
    }
    case Kind::kBits: return AppendBase64Bytes(out, pgtext::BitStringToDebeziumBits(text));
    case Kind::kPoint: {
      double x = 0, y = 0;
      CDC_RETURN_IF_ERROR(pgtext::ParsePoint(text, &x, &y));
      auto coordinate = [out](double d) {
        if (std::isnan(d)) out->append("\"NaN\"");  // Jackson's QUOTE_NON_NUMERIC_NUMBERS, as for float8
        else if (std::isinf(d)) out->append(d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        else AppendDouble(out, d);
      };
      out->append("{\"x\":");
      coordinate(x);
      out->append(",\"y\":");
      coordinate(y);
      out->append(",\"wkb\":\"");
      pgtext::AppendBase64(out, pgtext::PointWkb(x, y));
      out->append("\",\"srid\":null}");
      return Status::OK();
    }
    case Kind::kDecimalVariable:
    case Kind::kDecimalFixed: {
      if (text == "NaN" || text == "Infinity" || text == "-Infinity") {
        out->append("null");  // precise mode has no representation for special values (as Debezium)
        return Status::OK();
      }
      int32_t scale = 0;
      CDC_ASSIGN_OR_RETURN(std::string bytes, pgtext::DecimalToUnscaledBytes(text, p.scale, &scale));
      if (p.kind == Kind::kDecimalVariable) {
        out->append("{\"scale\":");
        AppendInt(out, scale);
        out->append(",\"value\":\"");
      } else {
        out->push_back('"');
      }
      pgtext::AppendBase64(out, bytes);
      out->append(p.kind == Kind::kDecimalVariable ? "\"}" : "\"");
      return Status::OK();
    }
    case Kind::kDecimalDouble: {
      if (AppendSpecialFloat(out, text)) return Status::OK();
      double d = 0;
      auto r = std::from_chars(text.data(), text.data() + text.size(), d);
      if (r.ec != std::errc() || r.ptr != text.data() + text.size() || !std::isfinite(d))
        return Status::InvalidArgument("not a numeric: '" + std::string(text) + "'");
      AppendDouble(out, d);
      return Status::OK();
    }
    case Kind::kDate: return AppendNumber(out, pgtext::DateToEpochDays(text));
    case Kind::kTimestampMillis: return AppendNumber(out, pgtext::TimestampToEpochMillis(text));
    case Kind::kTimestamp: return AppendNumber(out, pgtext::TimestampToEpochMicros(text));
    case Kind::kTimeMillis: return AppendNumber(out, pgtext::TimeToMillis(text));
    case Kind::kTime: return AppendNumber(out, pgtext::TimeToMicros(text));
    case Kind::kTimestamptz:
      // PostgresValueConverter.convertTimestampWithZone: ZonedTimestamp.toIsoString(.., fraction =
      // column.scale()), the column's precision (6 without a typmod), also for array elements (their column
      // carries the array's scale).
      return AppendString(out, pgtext::TimestamptzToIsoUtc(text, p.time_precision));
    case Kind::kTimetz: return AppendString(out, pgtext::TimetzToIsoUtc(text));
    case Kind::kInterval: return AppendNumber(out, pgtext::IntervalToMicros(text));
    case Kind::kIntervalString: return AppendString(out, pgtext::IntervalToIsoString(text));
    case Kind::kMoneyPrecise: {
      CDC_ASSIGN_OR_RETURN(std::string dec, pgtext::MoneyToDecimal(text));
      int32_t scale = 0;
      return AppendBase64Bytes(out, pgtext::DecimalToUnscaledBytes(dec, 2, &scale));
    }
    case Kind::kMoneyString: return AppendString(out, pgtext::MoneyToDebeziumString(text));
    case Kind::kMoneyDouble: {
      CDC_ASSIGN_OR_RETURN(std::string dec, pgtext::MoneyToDecimal(text));
      double d = 0;
      std::from_chars(dec.data(), dec.data() + dec.size(), d);  // MoneyToDecimal made it a plain decimal
      AppendDouble(out, d);
      return Status::OK();
    }
    case Kind::kArray:
      break;  // arrays are written by AppendValue
  }
  return Status::Internal("unhandled column kind");
}

// Scratch space of AppendArray, kept per thread so that an array value allocates nothing once warm.
struct ArrayScratch {
  std::vector<pgtext::ArrayElement> elements;
  std::string storage;
};

Status AppendArray(std::string* out, const TypePlan& element, std::string_view text) {
  thread_local ArrayScratch scratch;
  CDC_RETURN_IF_ERROR(pgtext::ParseArray(text, ',', &scratch.elements, &scratch.storage));
  out->push_back('[');
  for (size_t i = 0; i < scratch.elements.size(); ++i) {
    if (i) out->push_back(',');
    const pgtext::ArrayElement& el = scratch.elements[i];
    if (el.null) {
      out->append("null");
      continue;
    }
    Status s = AppendScalar(out, element, el.text);
    if (!s.ok()) return Status::InvalidArgument("array element " + std::to_string(i + 1) + ": " + s.message());
  }
  out->push_back(']');
  return Status::OK();
}

inline Status AppendValue(std::string* out, const ColumnPlan& p, std::string_view text) {
  if (p.type.kind != Kind::kArray) [[likely]]
    return AppendScalar(out, p.type, text);
  return AppendArray(out, p.element, text);
}

std::optional<std::string> DefaultJson(const Column& c, const ColumnPlan& p) {
  // Arrays have no default parser in Debezium; a struct default (VariableScaleDecimal, Point) is dropped
  // (PostgresDefaultValueConverter's workaround for KAFKA-12694).
  if (p.type.kind == Kind::kArray || p.type.kind == Kind::kDecimalVariable || p.type.kind == Kind::kPoint) {
    return std::nullopt;
  }
  std::optional<std::string> text = DebeziumDefaultText(c);
  if (!text) return std::nullopt;
  std::string json;
  if (!AppendValue(&json, p, *text).ok()) return std::nullopt;  // Debezium logs and leaves the default out
  return json;
}

void AppendUnavailable(std::string* out, const ColumnPlan& p) {
  switch (p.type.kind) {
    case Kind::kString:
    case Kind::kDecimalString:
      AppendJsonString(out, kUnavailable);
      break;
    case Kind::kBytes:
      AppendBinary(out, p.type.binary, kUnavailable);  // the placeholder's bytes, as binary.handling.mode writes bytes
      break;
    case Kind::kArray:
      // Debezium's placeholders for unchanged TOASTed arrays (UnchangedToastedPlaceholder): a one-element
      // list for text-like and bytea arrays, the placeholder's bytes as numbers for int4/date/int8 arrays.
      switch (p.element.oid) {
        case kTextOid: case kVarcharOid: case kBpcharOid: case kJsonOid: case kJsonbOid:
          out->push_back('[');
          AppendJsonString(out, kUnavailable);
          out->push_back(']');
          break;
        case kByteaOid:
          out->push_back('[');
          AppendBinary(out, p.element.binary, kUnavailable);
          out->push_back(']');
          break;
        case kInt4Oid: case kDateOid: case kInt8Oid:
          out->push_back('[');
          for (size_t i = 0; i < kUnavailable.size(); ++i) {
            if (i) out->push_back(',');
            AppendInt(out, static_cast<signed char>(kUnavailable[i]));
          }
          out->push_back(']');
          break;
        default:
          out->append("null");
      }
      break;
    default:
      out->append("null");  // only varlena types are TOASTed; numbers have no placeholder
  }
}

}  // namespace

Status DebeziumEncoder::AppendRow(const TableCache& tc, const Row& row, const Row* old_row, std::string* out) {
  const TableSchema& t = *tc.table;
  if (row.size() != tc.columns.size())
    return Status::InvalidArgument("table " + t.schema + "." + t.table + ": row has " + std::to_string(row.size()) +
                                   " values but the relation has " + std::to_string(tc.columns.size()) + " columns");
  out->push_back('{');
  for (size_t n = 0; n < tc.value_columns.size(); ++n) {
    if (n) out->push_back(',');
    const size_t i = tc.value_columns[n];
    const ColumnPlan& p = tc.columns[i];
    out->append(p.name_json);
    const Value* v = &row[i];
    if (v->kind == Value::Kind::kUnchangedToast && old_row && i < old_row->size() &&
        (*old_row)[i].kind != Value::Kind::kUnchangedToast)
      v = &(*old_row)[i];
    switch (v->kind) {
      case Value::Kind::kNull: out->append("null"); break;
      case Value::Kind::kUnchangedToast: AppendUnavailable(out, p); break;
      case Value::Kind::kText: {
        Status s = AppendValue(out, p, v->text);
        if (!s.ok()) return ColumnError(t, t.columns[i], s);
        break;
      }
    }
  }
  out->push_back('}');
  return Status::OK();
}

Status DebeziumEncoder::Encode(const ChangeEvent& event, int64_t now_ms, std::vector<EncodedRecord>* out) {
  if (!event.table) return Status::InvalidArgument("change event without a table schema");
  if (options_.skipped_ops.Skips(event.op)) return Status::OK();  // skipped.operations: nothing is written
  TableCache* tc = CacheFor(event.table);
  const TableSchema& t = *tc->table;

  EncodedRecord rec;
  rec.topic = TakeSpare(false);
  rec.topic.assign(tc->topic);
  rec.timestamp_ms = now_ms;

  if (!tc->key_error.empty()) return Status::InvalidArgument(tc->key_error);
  // Key: from the new row, or the old one for deletes. Truncates and key-less tables have none.
  const Row* key_row = event.after ? &*event.after : event.before ? &*event.before : nullptr;
  if (event.op != Op::kTruncate && !tc->key_columns.empty() && key_row) {
    std::string key = TakeSpare(false);
    key.reserve(tc->key_prefix.size() + 32);
    key.append(tc->key_prefix);
    key.push_back('{');
    for (size_t n = 0; n < tc->key_columns.size(); ++n) {
      size_t i = tc->key_columns[n];
      if (n) key.push_back(',');
      key.append(tc->columns[i].name_json);
      if (i >= key_row->size())
        return Status::InvalidArgument("table " + t.schema + "." + t.table + ": row is shorter than its key");
      const Value& v = (*key_row)[i];
      if (v.kind == Value::Kind::kText) {
        Status s = AppendValue(&key, tc->columns[i], v.text);
        if (!s.ok()) return ColumnError(t, t.columns[i], s);
      } else {
        key.append("null");
      }
    }
    key.push_back('}');
    if (options_.schemas) key.push_back('}');
    rec.key = std::move(key);
  }

  std::string& v = rec.value.emplace(TakeSpare(true));
  // Rows of a table are mostly alike: the last value's length plus an eighth avoids growing the string.
  v.reserve(std::max(std::min<size_t>(tc->value_bytes + tc->value_bytes / 8, 1 << 20),
                     tc->value_prefix.size() + 256 + (event.after ? event.after->size() * 24 : 0) +
                         (event.before ? event.before->size() * 24 : 0)));
  v.append(tc->value_prefix);
  v.append("{\"before\":");
  if (event.before) CDC_RETURN_IF_ERROR(AppendRow(*tc, *event.before, nullptr, &v));
  else v.append("null");
  v.append(",\"after\":");
  if (event.after) CDC_RETURN_IF_ERROR(AppendRow(*tc, *event.after, event.before ? &*event.before : nullptr, &v));
  else v.append("null");
  v.append(tc->source_head);
  AppendInt(&v, event.commit_time_us / 1000);
  v.append(",\"snapshot\":\"");
  v.append(SnapshotText(event.snapshot));
  v.push_back('"');
  v.append(tc->source_db);
  // sequence: the JSON array ["<last commit lsn>","<lsn>"] as a string (null for unknown positions).
  v.append("\"[");
  if (event.last_commit_lsn.valid()) {
    v.append("\\\"");
    AppendUint(&v, event.last_commit_lsn.value());
    v.append("\\\"");
  } else {
    v.append("null");
  }
  v.push_back(',');
  if (event.lsn.valid()) {
    v.append("\\\"");
    AppendUint(&v, event.lsn.value());
    v.append("\\\"");
  } else {
    v.append("null");
  }
  v.append("]\"");
  v.append(tc->source_table);
  if (event.xid != 0) AppendUint(&v, event.xid);
  else v.append("null");
  v.append(",\"lsn\":");
  if (event.lsn.valid()) AppendUint(&v, event.lsn.value());
  else v.append("null");
  v.append(",\"xmin\":null},\"op\":\"");
  v.push_back(static_cast<char>(event.op));
  v.append("\",\"ts_ms\":");
  AppendInt(&v, now_ms);
  v.append(",\"transaction\":");
  if (options_.transaction_metadata && event.snapshot == SnapshotMarker::kFalse) {
    if (event.xid != tx_xid_ || event.commit_lsn != tx_commit_lsn_ || !tx_open_) {
      // A new transaction: Debezium's TransactionMonitor ends one whose commit it was not told about at the next
      // transaction's first event, then writes the BEGIN.
      if (tx_open_) EndTransaction(now_ms, out);
      tx_xid_ = event.xid;
      tx_commit_lsn_ = event.commit_lsn;
      tx_commit_time_us_ = event.commit_time_us;
      tx_table_counts_.clear();
      tx_collections_.clear();
      tx_events_ = 0;
      tx_open_ = true;
      out->push_back(TransactionRecord(false, now_ms));
    }
    ++tx_events_;
    const std::string collection = t.schema + "." + t.table;
    auto it = std::find_if(tx_collections_.begin(), tx_collections_.end(),
                           [&](const auto& c) { return c.first == collection; });
    if (it == tx_collections_.end()) tx_collections_.emplace_back(collection, 1);
    else ++it->second;
    uint64_t per_table = ++tx_table_counts_[&t];
    std::string id = std::to_string(event.xid) + ":" + std::to_string(event.commit_lsn.value());
    v.append("{\"id\":");
    AppendJsonString(&v, id);
    v.append(",\"total_order\":");
    AppendUint(&v, event.order_in_tx);
    v.append(",\"data_collection_order\":");
    AppendUint(&v, per_table);
    v.push_back('}');
  } else {
    v.append("null");
  }
  v.push_back('}');
  if (options_.schemas) v.push_back('}');
  tc->value_bytes = v.size();

  bool tombstone = event.op == Op::kDelete && options_.tombstones && rec.key.has_value();
  std::optional<std::string> tomb_key = tombstone ? rec.key : std::nullopt;
  out->push_back(std::move(rec));
  if (tombstone) out->push_back(EncodedRecord{tc->topic, std::move(tomb_key), std::nullopt, now_ms});
  return Status::OK();
}

namespace {
// Strings of at least this capacity are values' buffers (a key or topic is shorter).
constexpr size_t kValueCapacity = 1024;
// The strings one event takes at most: topic, key and value, and a tombstone's topic and key.
constexpr size_t kStringsPerEvent = 5;
// The most strings a pool keeps (more are freed): what `run` holds in flight at most with its defaults
// (2 x output.max_batch_rows + the channel: ~24,400 events), so that none is freed and allocated again.
constexpr size_t kMaxPool = 32768;
}  // namespace

void DebeziumEncoder::AddSpareStrings(std::vector<std::string>* strings) {
  for (std::string& s : *strings) {
    std::vector<std::string>& pool = s.capacity() >= kValueCapacity ? spare_values_ : spare_short_;
    if (pool.size() < kMaxPool) pool.push_back(std::move(s));
  }
  strings->clear();
}

bool DebeziumEncoder::NeedsSpareStrings() const {
  return spare_values_.size() < kStringsPerEvent || spare_short_.size() < kStringsPerEvent;
}

std::string DebeziumEncoder::TakeSpare(bool value) {
  std::vector<std::string>& pool = value ? spare_values_ : spare_short_;
  if (pool.empty()) return {};
  std::string s = std::move(pool.back());
  pool.pop_back();
  s.clear();
  return s;
}

void DebeziumEncoder::EndTransaction(int64_t now_ms, std::vector<EncodedRecord>* out) {
  if (!options_.transaction_metadata || !tx_open_) return;
  out->push_back(TransactionRecord(true, now_ms));
  tx_open_ = false;
}

// Debezium's transaction topic record (SchemaFactory.transactionKeySchema / transactionValueSchema, 2.x: key
// io.debezium.connector.common.TransactionMetadataKey {id}; value io.debezium.connector.common.TransactionMetadataValue
// {status, id, event_count (optional), data_collections (optional array of event.collection structs), ts_ms}).
EncodedRecord DebeziumEncoder::TransactionRecord(bool end, int64_t now_ms) const {
  std::string id_json;
  AppendJsonString(&id_json, std::to_string(tx_xid_) + ":" + std::to_string(tx_commit_lsn_.value()));
  std::string key;
  if (options_.schemas) {
    key = "{\"schema\":{\"type\":\"struct\",\"fields\":[{\"type\":\"string\",\"optional\":false,\"field\":\"id\"}],"
          "\"optional\":false,\"name\":\"io.debezium.connector.common.TransactionMetadataKey\",\"version\":1},\"payload\":";
  }
  key += "{\"id\":" + id_json + "}";
  if (options_.schemas) key += "}";
  std::string v;
  if (options_.schemas) {
    v = "{\"schema\":{\"type\":\"struct\",\"fields\":["
        "{\"type\":\"string\",\"optional\":false,\"field\":\"status\"},"
        "{\"type\":\"string\",\"optional\":false,\"field\":\"id\"},"
        "{\"type\":\"int64\",\"optional\":true,\"field\":\"event_count\"},"
        "{\"type\":\"array\",\"items\":{\"type\":\"struct\",\"fields\":["
        "{\"type\":\"string\",\"optional\":false,\"field\":\"data_collection\"},"
        "{\"type\":\"int64\",\"optional\":false,\"field\":\"event_count\"}],"
        "\"optional\":true,\"name\":\"event.collection\",\"version\":1},\"optional\":true,\"field\":\"data_collections\"},"
        "{\"type\":\"int64\",\"optional\":false,\"field\":\"ts_ms\"}],"
        "\"optional\":false,\"name\":\"io.debezium.connector.common.TransactionMetadataValue\",\"version\":1},\"payload\":";
  }
  v += end ? "{\"status\":\"END\",\"id\":" : "{\"status\":\"BEGIN\",\"id\":";
  v += id_json;
  v += ",\"event_count\":";
  if (end) {
    AppendUint(&v, tx_events_);
    v += ",\"data_collections\":[";
    for (size_t i = 0; i < tx_collections_.size(); ++i) {
      if (i) v.push_back(',');
      v += "{\"data_collection\":";
      AppendJsonString(&v, tx_collections_[i].first);
      v += ",\"event_count\":";
      AppendUint(&v, tx_collections_[i].second);
      v.push_back('}');
    }
    v.push_back(']');
  } else {
    v += "null,\"data_collections\":null";
  }
  v += ",\"ts_ms\":";
  AppendInt(&v, tx_commit_time_us_ / 1000);
  v.push_back('}');
  if (options_.schemas) v.push_back('}');
  std::string topic = options_.topic_prefix + ".transaction";
  if (options_.kafka_topic_names) topic = KafkaTopicName(topic);
  return EncodedRecord{std::move(topic), std::move(key), std::move(v), now_ms};
}

}  // namespace cdc::event
