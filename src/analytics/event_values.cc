#include "analytics/event_values.h"

#include <charconv>
#include <cmath>
#include <limits>

#include "sql/datetime.h"

namespace cdc::analytics {

namespace od = simdjson::ondemand;

namespace {

enum : uint32_t {
  kBoolOid = 16, kInt8Oid = 20, kInt2Oid = 21, kInt4Oid = 23, kOidOid = 26, kFloat4Oid = 700, kFloat8Oid = 701,
  kDateOid = 1082, kTimestampOid = 1114, kTimestamptzOid = 1184, kNumericOid = 1700,
  kNameOid = 19, kTextOid = 25, kBpcharOid = 1042, kVarcharOid = 1043, kUuidOid = 2950,
};

int NumericTypmodScale(int32_t typmod) { return ((((typmod - 4) & 0x7ff) ^ 1024) - 1024); }
int NumericTypmodPrecision(int32_t typmod) { return ((typmod - 4) >> 16) & 0xffff; }

Status Bad(std::string_view column, std::string_view what) {
  return Status::InvalidArgument("column \"" + std::string(column) + "\": " + std::string(what));
}

bool Digits(std::string_view* in, size_t n, int64_t* v) {
  if (in->size() < n) return false;
  int64_t r = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = (*in)[i];
    if (c < '0' || c > '9') return false;
    r = r * 10 + (c - '0');
  }
  in->remove_prefix(n);
  *v = r;
  return true;
}

bool Expect(std::string_view* in, char c) {
  if (in->empty() || (*in)[0] != c) return false;
  in->remove_prefix(1);
  return true;
}

}  // namespace

namespace {

// The built-in type a column's values have: a domain's base type (with the typmod it sets).
void BaseType(const event::Column& column, uint32_t* oid, int32_t* typmod) {
  *oid = column.type_oid;
  *typmod = column.type_modifier;
  if (*oid >= event::kFirstNonBuiltinTypeOid && column.user_type &&
      column.user_type->kind == event::UserType::Kind::kDomain && !column.user_type->array) {
    *oid = column.user_type->base_type_oid;
    if (column.user_type->base_type_modifier != -1) *typmod = column.user_type->base_type_modifier;
  }
}

}  // namespace

ValueReader ReaderFor(const event::Column& column, event::DecimalMode mode) {
  using F = ValueReader::Form;
  using sql::TypeId;
  uint32_t oid;
  int32_t typmod;
  BaseType(column, &oid, &typmod);
  ValueReader r;
  switch (oid) {
    case kBoolOid: r.form = F::kBool; r.type.id = TypeId::kBool; break;
    case kInt2Oid: r.form = F::kInt; r.type.id = TypeId::kInt2; break;
    case kInt4Oid: r.form = F::kInt; r.type.id = TypeId::kInt4; break;
    case kInt8Oid:
    case kOidOid: r.form = F::kInt; r.type.id = TypeId::kInt8; break;
    case kFloat4Oid: r.form = F::kFloat; r.type.id = TypeId::kFloat4; break;
    case kFloat8Oid: r.form = F::kFloat; r.type.id = TypeId::kFloat8; break;
    case kDateOid: r.form = F::kDate; r.type.id = TypeId::kDate; break;
    case kTimestampOid:
      r.form = (typmod >= 0 && typmod <= 3) ? F::kTimestampMillis : F::kTimestampMicros;
      r.type.id = TypeId::kTimestamp;
      break;
    case kTimestamptzOid: r.form = F::kTimestamptz; r.type.id = TypeId::kTimestampTz; break;
    case kNumericOid: {
      r.type.id = TypeId::kNumeric;
      bool fixed = typmod >= 4 && NumericTypmodScale(typmod) >= 0;
      if (fixed) {
        r.type.precision = static_cast<int16_t>(NumericTypmodPrecision(typmod));
        r.type.scale = static_cast<int16_t>(NumericTypmodScale(typmod));
      }
      switch (mode) {
        case event::DecimalMode::kPrecise:
          r.form = fixed ? F::kDecimalFixed : F::kDecimalVariable;
          r.scale = fixed ? r.type.scale : 0;
          break;
        case event::DecimalMode::kString: r.form = F::kDecimalString; break;
        case event::DecimalMode::kDouble: r.form = F::kDecimalDouble; break;
      }
      break;
    }
    default: r.form = F::kText; r.type.id = TypeId::kText; break;
  }
  return r;
}

bool DecodeBase64(std::string_view text, std::string* out) {
  out->clear();
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (char c : text) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else if (c == '=') { ++pad; continue; }
    else return false;
    if (pad) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return pad <= 2;
}

bool UnscaledFromBytes(std::string_view bytes, __int128* out) {
  if (bytes.empty()) {
    *out = 0;
    return true;
  }
  bool negative = static_cast<uint8_t>(bytes[0]) & 0x80;
  // Drop sign-extension bytes beyond 16.
  while (bytes.size() > 16) {
    uint8_t b = static_cast<uint8_t>(bytes[0]);
    if (b != (negative ? 0xff : 0x00)) return false;
    bytes.remove_prefix(1);
  }
  if ((static_cast<uint8_t>(bytes[0]) & 0x80) != (negative ? 0x80 : 0)) return false;
  unsigned __int128 u = negative ? ~static_cast<unsigned __int128>(0) : 0;
  for (char c : bytes) u = (u << 8) | static_cast<uint8_t>(c);
  __int128 v = static_cast<__int128>(u);
  if (v > sql::kMaxNumericUnscaled || v < -sql::kMaxNumericUnscaled) return false;
  *out = v;
  return true;
}

bool ParseDecimal(std::string_view text, __int128* unscaled, int* scale) {
  bool negative = false;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  __int128 v = 0;
  int digits = 0, sc = 0;
  bool seen_point = false, any = false;
  for (char c : text) {
    if (c == '.') {
      if (seen_point) return false;
      seen_point = true;
      continue;
    }
    if (c < '0' || c > '9') return false;
    any = true;
    if (seen_point) ++sc;
    if (v == 0 && c == '0') {
      continue;  // leading zeros add no digit
    }
    if (++digits > 38) return false;
    v = v * 10 + (c - '0');
  }
  if (!any || sc > 38) return false;
  *unscaled = negative ? -v : v;
  *scale = sc;
  return true;
}

bool ParseIsoTimestamp(std::string_view t, int64_t* micros) {
  int64_t sign = 1;
  if (!t.empty() && (t[0] == '-' || t[0] == '+')) {
    sign = t[0] == '-' ? -1 : 1;
    t.remove_prefix(1);
  }
  size_t dash = t.find('-');
  if (dash == std::string_view::npos || dash < 4) return false;
  int64_t year, month, day, hour, minute, second;
  std::string_view y = t.substr(0, dash);
  if (!Digits(&y, dash, &year)) return false;
  t.remove_prefix(dash + 1);
  if (!Digits(&t, 2, &month) || !Expect(&t, '-') || !Digits(&t, 2, &day) || !Expect(&t, 'T') ||
      !Digits(&t, 2, &hour) || !Expect(&t, ':') || !Digits(&t, 2, &minute))
    return false;
  second = 0;
  if (!t.empty() && t[0] == ':' && (t.remove_prefix(1), !Digits(&t, 2, &second))) return false;
  int64_t frac = 0;
  if (!t.empty() && t[0] == '.') {
    t.remove_prefix(1);
    int n = 0;
    while (!t.empty() && t[0] >= '0' && t[0] <= '9') {
      if (n < 6) frac = frac * 10 + (t[0] - '0');
      ++n;
      t.remove_prefix(1);
    }
    if (n == 0) return false;
    for (int i = n; i < 6; ++i) frac *= 10;
  }
  int64_t offset_s = 0;
  if (!t.empty() && t[0] == 'Z') {
    t.remove_prefix(1);
  } else if (!t.empty() && (t[0] == '+' || t[0] == '-')) {
    int64_t osign = t[0] == '-' ? -1 : 1, oh, om = 0;
    t.remove_prefix(1);
    if (!Digits(&t, 2, &oh)) return false;
    if (!t.empty() && t[0] == ':') t.remove_prefix(1);
    if (!t.empty() && !Digits(&t, 2, &om)) return false;
    offset_s = osign * (oh * 3600 + om * 60);
  } else {
    return false;
  }
  if (!t.empty() || month < 1 || month > 12 || day < 1 || day > 31 || hour > 24 || minute > 59 || second > 60)
    return false;
  int64_t days = sql::datetime::DaysFromCivil(sign * year, static_cast<int>(month), static_cast<int>(day));
  int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_s;
  *micros = secs * 1000000 + frac;
  return true;
}

Status DecodeValue(od::value& v, const ValueReader& reader, std::string_view column, sql::Datum* out) {
  using F = ValueReader::Form;
  od::json_type type;
  if (v.type().get(type)) return Bad(column, "not JSON");
  if (type == od::json_type::null) {
    *out = sql::Datum::Null();
    return Status::OK();
  }
  auto get_string = [&](std::string_view* s) { return !v.get_string().get(*s); };
  switch (reader.form) {
    case F::kBool: {
      bool b;
      if (v.get_bool().get(b)) return Bad(column, "expected a boolean");
      *out = sql::Datum::Bool(b);
      return Status::OK();
    }
    case F::kInt:
    case F::kDate:
    case F::kTimestampMillis:
    case F::kTimestampMicros: {
      int64_t i;
      if (v.get_int64().get(i)) return Bad(column, "expected an integer");
      if (reader.form == F::kTimestampMillis) {
        if (__builtin_mul_overflow(i, int64_t{1000}, &i)) return Bad(column, "timestamp out of range");
      }
      *out = sql::Datum::Int(i);
      return Status::OK();
    }
    case F::kFloat:
    case F::kDecimalDouble: {
      if (type == od::json_type::string) {
        std::string_view s;
        if (!get_string(&s)) return Bad(column, "expected a number");
        double d;
        if (s == "NaN") d = std::numeric_limits<double>::quiet_NaN();
        else if (s == "Infinity") d = std::numeric_limits<double>::infinity();
        else if (s == "-Infinity") d = -std::numeric_limits<double>::infinity();
        else return Bad(column, "expected a number, got \"" + std::string(s) + "\"");
        *out = sql::Datum::Float(d);
        return Status::OK();
      }
      double d;
      if (v.get_double().get(d)) return Bad(column, "expected a number");
      *out = sql::Datum::Float(d);
      return Status::OK();
    }
    case F::kDecimalFixed: {
      std::string_view s;
      if (!get_string(&s)) return Bad(column, "expected a base64 decimal");
      std::string bytes;
      __int128 n;
      if (!DecodeBase64(s, &bytes)) return Bad(column, "bad base64 decimal \"" + std::string(s) + "\"");
      if (!UnscaledFromBytes(bytes, &n))
        return Bad(column, "numeric value out of range: more than 38 digits are not supported in views");
      *out = sql::Datum::Numeric(n, static_cast<int16_t>(reader.scale));
      return Status::OK();
    }
    case F::kDecimalVariable: {
      od::object obj;
      if (v.get_object().get(obj)) return Bad(column, "expected {\"scale\",\"value\"}");
      int64_t scale = -1;
      std::string bytes;
      bool have_value = false;
      for (auto field : obj) {
        std::string_view key;
        if (field.unescaped_key().get(key)) return Bad(column, "bad decimal struct");
        od::value fv = field.value();
        if (key == "scale") {
          if (fv.get_int64().get(scale)) return Bad(column, "bad decimal scale");
        } else if (key == "value") {
          std::string_view s;
          if (fv.get_string().get(s) || !DecodeBase64(s, &bytes)) return Bad(column, "bad decimal value");
          have_value = true;
        }
      }
      if (!have_value || scale < 0) return Bad(column, "decimal struct without scale or value");
      __int128 n;
      if (scale > 38 || !UnscaledFromBytes(bytes, &n))
        return Bad(column, "numeric value out of range: more than 38 digits are not supported in views");
      *out = sql::Datum::Numeric(n, static_cast<int16_t>(scale));
      return Status::OK();
    }
    case F::kDecimalString: {
      std::string_view s;
      if (!get_string(&s)) return Bad(column, "expected a decimal string");
      if (s == "NAN" || s == "POSITIVE_INFINITY" || s == "NEGATIVE_INFINITY") {
        *out = sql::Datum::Null();  // as decimal.handling.mode=precise delivers them
        return Status::OK();
      }
      __int128 n;
      int scale;
      if (!ParseDecimal(s, &n, &scale))
        return Bad(column, "not a numeric within 38 digits: \"" + std::string(s) + "\"");
      *out = sql::Datum::Numeric(n, static_cast<int16_t>(scale));
      return Status::OK();
    }
    case F::kTimestamptz: {
      std::string_view s;
      if (!get_string(&s)) return Bad(column, "expected an ISO timestamp string");
      int64_t us;
      if (s == "infinity") us = std::numeric_limits<int64_t>::max();
      else if (s == "-infinity") us = std::numeric_limits<int64_t>::min();
      else if (!ParseIsoTimestamp(s, &us)) return Bad(column, "bad timestamptz \"" + std::string(s) + "\"");
      *out = sql::Datum::Int(us);
      return Status::OK();
    }
    case F::kText: {
      std::string_view s;
      if (!get_string(&s)) return Bad(column, "expected a string");
      *out = sql::Datum::Text(std::string(s));
      return Status::OK();
    }
  }
  return Bad(column, "unknown form");
}

bool ReadableFromText(const event::Column& column) {
  uint32_t oid;
  int32_t typmod;
  BaseType(column, &oid, &typmod);
  switch (oid) {
    case kBoolOid: case kInt2Oid: case kInt4Oid: case kInt8Oid: case kOidOid: case kFloat4Oid: case kFloat8Oid:
    case kNumericOid: case kDateOid: case kTimestampOid: case kTimestamptzOid:
    case kTextOid: case kVarcharOid: case kBpcharOid: case kNameOid: case kUuidOid:
      return true;
    default:
      // An enum is written as its label (a string); other types the encoder converts in ways
      // DecodeText does not reproduce.
      return column.user_type && column.user_type->kind == event::UserType::Kind::kEnum && !column.user_type->array;
  }
}

namespace {

// A numeric's text ("-12.340") -> unscaled value and scale, as the encoder's bytes carry it
// (event::pgtext::DecimalToUnscaledBytes: the text's scale, or `target_scale` when >= 0, padded with
// zeros) and as DecodeValue then reads them (at most 38 digits, scale at most 38). Errors as
// DecodeValue's for the same value.
Status UnscaledFromText(std::string_view text, int target_scale, std::string_view column, __int128* unscaled,
                        int* scale) {
  const Status out_of_range = Bad(column, "numeric value out of range: more than 38 digits are not supported in views");
  std::string_view t = text;
  bool negative = false;
  if (!t.empty() && (t[0] == '-' || t[0] == '+')) {
    negative = t[0] == '-';
    t.remove_prefix(1);
  }
  __int128 v = 0;
  int digits = 0, frac = -1;  // significant digits; fraction digits (-1 until '.')
  bool any = false;
  for (char c : t) {
    if (c == '.' && frac < 0) {
      frac = 0;
      continue;
    }
    if (c < '0' || c > '9') return Bad(column, "bad decimal \"" + std::string(text) + "\"");
    any = true;
    if (frac >= 0) ++frac;
    if (v == 0 && c == '0') continue;  // leading zeros add no digit
    if (++digits > 38) return out_of_range;
    v = v * 10 + (c - '0');
  }
  if (!any) return Bad(column, "bad decimal \"" + std::string(text) + "\"");
  int s = frac < 0 ? 0 : frac;
  if (target_scale >= 0 && target_scale != s) {
    if (target_scale < s) return Bad(column, "bad decimal \"" + std::string(text) + "\" (more fraction digits than the scale)");
    for (; s < target_scale; ++s) {
      if (v != 0 && ++digits > 38) return out_of_range;
      v *= 10;
    }
  }
  if (s > 38) return out_of_range;
  *unscaled = negative ? -v : v;
  *scale = s;
  return Status::OK();
}

// The whole of `s` as a number (std::from_chars: integers, or doubles correctly rounded).
template <typename T>
bool ParseWhole(std::string_view s, T* v) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), *v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool SpecialFloat(std::string_view s, double* d) {
  if (s == "NaN") *d = std::numeric_limits<double>::quiet_NaN();
  else if (s == "Infinity") *d = std::numeric_limits<double>::infinity();
  else if (s == "-Infinity") *d = -std::numeric_limits<double>::infinity();
  else return false;
  return true;
}

}  // namespace

Status DecodeText(std::optional<std::string_view> text, const ValueReader& reader, std::string_view column,
                  sql::Datum* out) {
  using F = ValueReader::Form;
  if (!text) {
    *out = sql::Datum::Null();
    return Status::OK();
  }
  std::string_view s = *text;
  switch (reader.form) {
    case F::kBool:
      // The encoder writes "t"/"true" as true and "f"/"false" as false.
      if (s == "t" || s == "true") *out = sql::Datum::Bool(true);
      else if (s == "f" || s == "false") *out = sql::Datum::Bool(false);
      else return Bad(column, "expected a boolean");
      return Status::OK();
    case F::kInt: {
      // Written as it stands (digits and a sign); read as a JSON int64.
      int64_t i = 0;
      if (!ParseWhole(s, &i)) return Bad(column, "expected an integer");
      *out = sql::Datum::Int(i);
      return Status::OK();
    }
    case F::kDate:
    case F::kTimestampMillis:
    case F::kTimestampMicros: {
      int64_t i = 0;
      if (reader.form == F::kDate) {
        Result<int32_t> days = event::pgtext::DateToEpochDays(s);
        if (!days.ok()) return Bad(column, days.status().message());
        i = *days;
      } else {
        Result<int64_t> t = reader.form == F::kTimestampMillis ? event::pgtext::TimestampToEpochMillis(s)
                                                               : event::pgtext::TimestampToEpochMicros(s);
        if (!t.ok()) return Bad(column, t.status().message());
        i = *t;
        if (reader.form == F::kTimestampMillis && __builtin_mul_overflow(i, int64_t{1000}, &i))
          return Bad(column, "timestamp out of range");
      }
      *out = sql::Datum::Int(i);
      return Status::OK();
    }
    case F::kFloat:
    case F::kDecimalDouble: {
      // float4/float8: the text as a JSON number (NaN and the infinities as strings); numeric in double
      // mode: std::from_chars, written back with std::to_chars, which reads back to the same double.
      double d = 0;
      if (!SpecialFloat(s, &d) && !ParseWhole(s, &d)) return Bad(column, "expected a number");
      *out = sql::Datum::Float(d);
      return Status::OK();
    }
    case F::kDecimalFixed:
    case F::kDecimalVariable:
    case F::kDecimalString: {
      if (s == "NaN" || s == "Infinity" || s == "-Infinity") {
        *out = sql::Datum::Null();  // precise mode writes null, string mode "NAN"... which read as NULL
        return Status::OK();
      }
      __int128 n = 0;
      int scale = 0;
      if (reader.form == F::kDecimalString) {
        if (!ParseDecimal(s, &n, &scale))
          return Bad(column, "not a numeric within 38 digits: \"" + std::string(s) + "\"");
      } else {
        CDC_RETURN_IF_ERROR(
            UnscaledFromText(s, reader.form == F::kDecimalFixed ? reader.scale : -1, column, &n, &scale));
      }
      *out = sql::Datum::Numeric(n, static_cast<int16_t>(scale));
      return Status::OK();
    }
    case F::kTimestamptz: {
      int64_t us;
      if (s == "infinity") {
        us = std::numeric_limits<int64_t>::max();
      } else if (s == "-infinity") {
        us = std::numeric_limits<int64_t>::min();
      } else {
        // The encoder's conversion to UTC ISO text, read as the JSON path reads it.
        Result<std::string> iso = event::pgtext::TimestamptzToIsoUtc(s);
        if (!iso.ok()) return Bad(column, iso.status().message());
        if (*iso == "infinity") us = std::numeric_limits<int64_t>::max();
        else if (*iso == "-infinity") us = std::numeric_limits<int64_t>::min();
        else if (!ParseIsoTimestamp(*iso, &us)) return Bad(column, "bad timestamptz \"" + *iso + "\"");
      }
      *out = sql::Datum::Int(us);
      return Status::OK();
    }
    case F::kText:
      *out = sql::Datum::Text(std::string(s));
      return Status::OK();
  }
  return Bad(column, "unknown form");
}

}  // namespace cdc::analytics
