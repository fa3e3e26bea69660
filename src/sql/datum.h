// Datum and Type: the SQL values views compute with, and their PostgreSQL types.
//
// A Datum carries its storage class (null, bool, int, float, numeric, text), not its SQL type: the
// plan knows the type of every expression (plan.h), the Datum only what is needed to compare, hash
// and print it. Integers, dates and timestamps share the int class:
//   int2/int4/int8   the value
//   date             days since 1970-01-01
//   timestamp        microseconds since 1970-01-01 00:00:00 (no zone)
//   timestamptz      microseconds since 1970-01-01 00:00:00 UTC (views evaluate in UTC, as Debezium
//                    carries timestamptz)
// numeric is exact: a 128-bit unscaled integer and a decimal scale (value = unscaled / 10^scale), so
// at most 38 significant digits; a result outside that range is an error (NumericOverflow), never a
// rounded value. NaN and ±Infinity numerics are not supported in views (Debezium's default
// decimal.handling.mode=precise turns them into null anyway).
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace cdc::sql {

enum class TypeId : uint8_t {
  kUnknown,      // a bare NULL literal before it is coerced to a type
  kBool,
  kInt2,
  kInt4,
  kInt8,
  kNumeric,
  kFloat4,
  kFloat8,
  kText,         // text, varchar(n), char(n), name, uuid and enum columns are read as text
  kDate,
  kTimestamp,
  kTimestampTz,
};

// A SQL type. precision/scale only for kNumeric: numeric(p,s), or -1/-1 for unconstrained numeric
// (whose values keep their own scale).
struct Type {
  TypeId id = TypeId::kUnknown;
  int16_t precision = -1;
  int16_t scale = -1;
  bool operator==(const Type&) const = default;
};

// PostgreSQL's name for the type: "bigint", "numeric(10,2)", "timestamp with time zone" ...
std::string TypeName(const Type& type);

// Largest unscaled magnitude a numeric may have (10^38 - 1).
inline constexpr __int128 kMaxNumericUnscaled =
    static_cast<__int128>(10000000000000000000ull) * static_cast<__int128>(10000000000000000000ull) - 1;

struct Datum {
  enum class Kind : uint8_t { kNull, kBool, kInt, kFloat, kNumeric, kText };
  Kind kind = Kind::kNull;
  int16_t scale = 0;  // kNumeric: digits after the decimal point (0..38)
  union {
    bool b;
    int64_t i;
    double f;
    __int128 n;  // kNumeric: the unscaled value
  };
  std::string s;  // kText

  Datum() : n(0) {}
  static Datum Null() { return Datum(); }
  static Datum Bool(bool v) { Datum d; d.kind = Kind::kBool; d.b = v; return d; }
  static Datum Int(int64_t v) { Datum d; d.kind = Kind::kInt; d.i = v; return d; }
  static Datum Float(double v) { Datum d; d.kind = Kind::kFloat; d.f = v; return d; }
  static Datum Numeric(__int128 unscaled, int16_t scale) {
    Datum d; d.kind = Kind::kNumeric; d.n = unscaled; d.scale = scale; return d;
  }
  static Datum Text(std::string v) { Datum d; d.kind = Kind::kText; d.s = std::move(v); return d; }
  bool is_null() const { return kind == Kind::kNull; }
};

// PostgreSQL's ordering of two non-null values of the same SQL type (numerics of different scales
// compare by value; floats order NaN above everything, as PostgreSQL does; text compares bytewise,
// PostgreSQL's "C" collation: docs/VIEWS.md says so). Nulls sort after every value (NULLS LAST).
int Compare(const Datum& a, const Datum& b);
// Equal per Compare (so 1.50 = 1.5), and a hash consistent with it.
bool Equal(const Datum& a, const Datum& b);
uint64_t Hash(const Datum& d);
// Compare(a, b) < 0: the strict weak order of ordered containers (AggregateState::values).
bool DatumLess(const Datum& a, const Datum& b);

// PostgreSQL's text output of a value of `type` ("12.50", "2024-01-02 10:00:00+00", "t", NULL -> "").
std::string ToText(const Datum& d, const Type& type);

}  // namespace cdc::sql
