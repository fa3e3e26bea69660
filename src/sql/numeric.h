// Exact numeric arithmetic with PostgreSQL's result scales, over datum.h's representation (a 128-bit
// unscaled integer and a decimal scale). Internal to src/sql.
//
// Every operation is exact or fails: a result with more than 38 significant digits is
// InvalidArgument(kNumericOverflowMessage), never a rounded value. Nothing here allocates except the
// text conversions.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace cdc::sql::numeric {

inline constexpr char kNumericOverflowMessage[] =
    "numeric field overflow (views compute numeric with at most 38 significant digits)";

// 10^k for 0 <= k <= 38.
__int128 Pow10(int k);

// The value at `to` digits after the point: exact when scaling up (false on overflow), rounded half
// away from zero when scaling down (PostgreSQL's round()).
bool Rescale(__int128 v, int from, int to, __int128* out);

// Three-way comparison of a/10^sa and b/10^sb by value.
int Compare(__int128 a, int sa, __int128 b, int sb);

// a op b, result scale as PostgreSQL's: + and - max(sa, sb); * sa + sb; % max(sa, sb);
// / per select_div_scale (numeric.c), rounded half away from zero. Division by zero is
// InvalidArgument "division by zero".
Status Add(__int128 a, int sa, __int128 b, int sb, __int128* r, int16_t* sr);
Status Sub(__int128 a, int sa, __int128 b, int sb, __int128* r, int16_t* sr);
Status Mul(__int128 a, int sa, __int128 b, int sb, __int128* r, int16_t* sr);
Status Div(__int128 a, int sa, __int128 b, int sb, __int128* r, int16_t* sr);
Status Mod(__int128 a, int sa, __int128 b, int sb, __int128* r, int16_t* sr);

// PostgreSQL's select_div_scale: the scale of a / b.
int DivScale(__int128 a, int sa, __int128 b, int sb);

// a / b rounded half away from zero at `rscale` digits.
Status DivRound(__int128 a, int sa, __int128 b, int sb, int rscale, __int128* r);

// The value rounded half away from zero to an integer (numeric -> int casts); false when it does not
// fit an int64.
bool ToInt64(__int128 v, int scale, int64_t* out);

double ToDouble(__int128 v, int scale);

// The numeric nearest to `v` with PostgreSQL's float8 -> numeric digits (15 significant for float8,
// 6 for float4). InvalidArgument for NaN/Infinity ("cannot convert NaN to numeric").
Status FromDouble(double v, int significant_digits, __int128* out, int16_t* scale);

// Checks that the value fits numeric(precision, scale) after rounding to `scale`: the rounded value,
// or InvalidArgument "numeric field overflow".
Status ApplyTypmod(__int128 v, int scale, int precision, int target_scale, __int128* out);

// "-12.50": all `scale` digits after the point (PostgreSQL prints a numeric at its display scale).
std::string ToString(__int128 v, int scale);
void AppendString(__int128 v, int scale, std::string* out);

// Parses PostgreSQL numeric input ("  -1.50 ", "1e3", ".5"): InvalidArgument
// "invalid input syntax for type numeric: \"x\"" on anything else.
Status Parse(std::string_view text, __int128* v, int16_t* scale);

}  // namespace cdc::sql::numeric
