#include "sql/datum.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "sql/datetime.h"
#include "sql/numeric.h"

namespace cdc::sql {
namespace {

uint64_t Mix(uint64_t x) {  // splitmix64's finaliser
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

uint64_t HashBytes(std::string_view s) {
  uint64_t h = 0x9e3779b97f4a7c15ull ^ s.size();
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = Mix(h ^ w) + 0x9e3779b97f4a7c15ull;
  }
  uint64_t tail = 0;
  std::memcpy(&tail, s.data() + i, s.size() - i);
  return Mix(h ^ tail);
}

int CompareFloat(double a, double b) {
  // PostgreSQL: NaN equals NaN and sorts above every other value.
  bool na = std::isnan(a), nb = std::isnan(b);
  if (na || nb) return na == nb ? 0 : (na ? 1 : -1);
  return a < b ? -1 : (a > b ? 1 : 0);
}

// PostgreSQL 15's float output (extra_float_digits = 1): the shortest text that reads back as the
// same value, in fixed notation when the decimal exponent is in [-4, 15) for float8 or [-4, 6) for
// float4, else "1.5e+20".
void AppendFloat(double v, bool float4, std::string* out) {
  if (std::isnan(v)) { out->append("NaN"); return; }
  if (std::isinf(v)) { out->append(v > 0 ? "Infinity" : "-Infinity"); return; }
  if (v == 0) { out->append(std::signbit(v) ? "-0" : "0"); return; }
  char buf[64];
  std::to_chars_result r = float4 ? std::to_chars(buf, buf + sizeof buf, static_cast<float>(v), std::chars_format::scientific)
                                  : std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(r.ptr - buf));
  size_t epos = sci.find('e');
  int exp = std::atoi(std::string(sci.substr(epos + 1)).c_str());
  if (exp < -4 || exp >= (float4 ? 6 : 15)) {
    out->append(sci);
    return;
  }
  char digits[32];
  size_t nd = 0;
  for (char c : sci.substr(0, epos)) {
    if (c >= '0' && c <= '9' && nd < sizeof digits) digits[nd++] = c;
  }
  if (sci[0] == '-') out->push_back('-');
  if (exp < 0) {
    out->append("0.");
    for (int i = 0; i < -exp - 1; ++i) out->push_back('0');
    out->append(digits, nd);
    return;
  }
  size_t int_len = static_cast<size_t>(exp) + 1;
  for (size_t i = 0; i < int_len; ++i) out->push_back(i < nd ? digits[i] : '0');
  if (nd > int_len) {
    out->push_back('.');
    for (size_t i = int_len; i < nd; ++i) out->push_back(digits[i]);
  }
}

}  // namespace

std::string TypeName(const Type& type) {
  switch (type.id) {
    case TypeId::kUnknown: return "unknown";
    case TypeId::kBool: return "boolean";
    case TypeId::kInt2: return "smallint";
    case TypeId::kInt4: return "integer";
    case TypeId::kInt8: return "bigint";
    case TypeId::kNumeric:
      if (type.precision < 0) return "numeric";
      return "numeric(" + std::to_string(type.precision) + "," + std::to_string(type.scale) + ")";
    case TypeId::kFloat4: return "real";
    case TypeId::kFloat8: return "double precision";
    case TypeId::kText: return "text";
    case TypeId::kDate: return "date";
    case TypeId::kTimestamp: return "timestamp without time zone";
    case TypeId::kTimestampTz: return "timestamp with time zone";
  }
  return "unknown";
}

int Compare(const Datum& a, const Datum& b) {
  using K = Datum::Kind;
  if (a.kind == K::kNull || b.kind == K::kNull) {
    if (a.kind == b.kind) return 0;
    return a.kind == K::kNull ? 1 : -1;  // NULLS LAST
  }
  if (a.kind == b.kind) {
    switch (a.kind) {
      case K::kBool: return static_cast<int>(a.b) - static_cast<int>(b.b);
      case K::kInt: return a.i < b.i ? -1 : (a.i > b.i ? 1 : 0);
      case K::kFloat: return CompareFloat(a.f, b.f);
      case K::kNumeric: return numeric::Compare(a.n, a.scale, b.n, b.scale);
      case K::kText: {
        int c = a.s.compare(b.s);
        return c < 0 ? -1 : (c > 0 ? 1 : 0);
      }
      case K::kNull: return 0;
    }
  }
  // Mixed storage classes only meet when a caller compares across types; compare by value.
  if (a.kind == K::kInt && b.kind == K::kNumeric) return numeric::Compare(a.i, 0, b.n, b.scale);
  if (a.kind == K::kNumeric && b.kind == K::kInt) return numeric::Compare(a.n, a.scale, b.i, 0);
  auto as_double = [](const Datum& d) {
    switch (d.kind) {
      case K::kInt: return static_cast<double>(d.i);
      case K::kFloat: return d.f;
      case K::kNumeric: return numeric::ToDouble(d.n, d.scale);
      case K::kBool: return d.b ? 1.0 : 0.0;
      default: return 0.0;
    }
  };
  if (a.kind != K::kText && b.kind != K::kText) return CompareFloat(as_double(a), as_double(b));
  return static_cast<int>(a.kind) < static_cast<int>(b.kind) ? -1 : 1;
}

bool Equal(const Datum& a, const Datum& b) { return Compare(a, b) == 0; }

bool DatumLess(const Datum& a, const Datum& b) { return Compare(a, b) < 0; }

uint64_t Hash(const Datum& d) {
  using K = Datum::Kind;
  switch (d.kind) {
    case K::kNull: return 0x6e756c6cull;
    case K::kBool: return Mix(d.b ? 0x74727565ull : 0x66616c73ull);
    case K::kInt: return Mix(static_cast<uint64_t>(d.i));
    case K::kFloat: {
      if (std::isnan(d.f)) return Mix(0x7ff8000000000000ull);
      double f = d.f == 0 ? 0.0 : d.f;  // -0 = 0
      uint64_t bits;
      std::memcpy(&bits, &f, 8);
      return Mix(bits ^ 0x466c6f6174ull);
    }
    case K::kNumeric: {
      // Normalised (trailing fractional zeros dropped) so that 1.50 and 1.5 hash alike; an
      // integral value hashes as the integer, as Compare puts it equal to one.
      __int128 n = d.n;
      int scale = d.scale;
      while (scale > 0 && n % 10 == 0) {
        n /= 10;
        --scale;
      }
      if (scale == 0 && n >= INT64_MIN && n <= INT64_MAX) return Mix(static_cast<uint64_t>(static_cast<int64_t>(n)));
      uint64_t lo = static_cast<uint64_t>(n);
      uint64_t hi = static_cast<uint64_t>(static_cast<unsigned __int128>(n) >> 64);
      return Mix(Mix(lo ^ static_cast<uint64_t>(scale)) + hi);
    }
    case K::kText: return HashBytes(d.s);
  }
  return 0;
}

std::string ToText(const Datum& d, const Type& type) {
  std::string out;
  if (d.is_null()) return out;
  switch (type.id) {
    case TypeId::kBool:
      out.push_back(d.b ? 't' : 'f');
      break;
    case TypeId::kInt2:
    case TypeId::kInt4:
    case TypeId::kInt8:
      out = std::to_string(d.i);
      break;
    case TypeId::kNumeric:
      if (d.kind == Datum::Kind::kInt) {
        out = std::to_string(d.i);
      } else if (type.scale > d.scale && type.scale <= 38) {
        // numeric(p,s) prints s fraction digits in PostgreSQL (1.50, not 1.5), whatever scale the
        // value was computed at.
        __int128 n = d.n;
        int16_t scale = d.scale;
        while (scale < type.scale && n < kMaxNumericUnscaled / 10 && n > -kMaxNumericUnscaled / 10) {
          n *= 10;
          ++scale;
        }
        numeric::AppendString(n, scale, &out);
      } else {
        numeric::AppendString(d.n, d.scale, &out);
      }
      break;
    case TypeId::kFloat4:
    case TypeId::kFloat8:
      AppendFloat(d.f, type.id == TypeId::kFloat4, &out);
      break;
    case TypeId::kDate:
      datetime::AppendDate(d.i, &out);
      break;
    case TypeId::kTimestamp:
    case TypeId::kTimestampTz:
      datetime::AppendTimestamp(d.i, type.id == TypeId::kTimestampTz, &out);
      break;
    case TypeId::kText:
    case TypeId::kUnknown:
      if (d.kind == Datum::Kind::kText) out = d.s;
      break;
  }
  return out;
}

}  // namespace cdc::sql
