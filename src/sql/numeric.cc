#include "sql/numeric.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "sql/datum.h"

namespace cdc::sql::numeric {
namespace {

using u128 = unsigned __int128;

constexpr int kMaxDigits = 38;

struct Pow10Table {
  __int128 v[kMaxDigits + 1];
  constexpr Pow10Table() : v() {
    __int128 p = 1;
    for (int i = 0; i <= kMaxDigits; ++i) {
      v[i] = p;
      if (i < kMaxDigits) p *= 10;
    }
  }
};
constexpr Pow10Table kPow10;

__int128 Abs(__int128 v) { return v < 0 ? -v : v; }

bool InRange(__int128 v) { return v <= kMaxNumericUnscaled && v >= -kMaxNumericUnscaled; }

Status Overflow() { return Status::InvalidArgument(kNumericOverflowMessage); }

// Number of decimal digits of |v| (0 for 0).
int DigitCount(__int128 v) {
  u128 m = static_cast<u128>(Abs(v));
  int n = 0;
  while (m != 0) {
    m /= 10;
    ++n;
  }
  return n;
}

// Aligns both operands to max(sa, sb).
bool Align(__int128* a, int* sa, __int128* b, int* sb) {
  if (*sa < *sb) {
    if (!Rescale(*a, *sa, *sb, a)) return false;
    *sa = *sb;
  } else if (*sb < *sa) {
    if (!Rescale(*b, *sb, *sa, b)) return false;
    *sb = *sa;
  }
  return true;
}

// PostgreSQL's NBASE (10000) weight and first base-10000 digit of a/10^scale (0, 0 for zero).
void WeightAndFirstDigit(__int128 v, int scale, int* weight, int* first) {
  if (v == 0) {
    *weight = 0;
    *first = 0;
    return;
  }
  int len = DigitCount(v);
  int p = len - 1 - scale;  // power of ten of the leading decimal digit
  int w = p >= 0 ? p / 4 : -((-p + 3) / 4);
  // The leading group holds positions p .. 4w, i.e. the first (p - 4w + 1) digits of |v|.
  int take = p - 4 * w + 1;
  u128 m = static_cast<u128>(Abs(v));
  int drop = len - take;
  int group;
  if (drop >= 0) {
    group = static_cast<int>(m / static_cast<u128>(kPow10.v[drop]));
  } else {
    group = static_cast<int>(m * static_cast<u128>(kPow10.v[-drop]));
  }
  *weight = w;
  *first = group;
}

}  // namespace

__int128 Pow10(int k) { return kPow10.v[static_cast<unsigned>(k) <= kMaxDigits ? k : 0]; }

namespace {
// The table entry for a digit count the caller has checked to be in [0, 38]; the unsigned index keeps
// GCC's -Warray-bounds from assuming a negative one.
__int128 Pow10At(int k) { return kPow10.v[static_cast<unsigned>(k) % (kMaxDigits + 1)]; }
}  // namespace

bool Rescale(__int128 v, int from, int to, __int128* out) {
  if (to == from) {
    *out = v;
    return true;
  }
  if (to > from) {
    int d = to - from;
    if (v == 0) {
      *out = 0;
      return true;
    }
    if (d > kMaxDigits) return false;
    __int128 r;
    if (__builtin_mul_overflow(v, Pow10At(d), &r) || !InRange(r)) return false;
    *out = r;
    return true;
  }
  int d = from - to;  // > 0 here
  if (d > kMaxDigits || d < 0) {
    *out = 0;  // |v| < 10^38 <= 0.5 * 10^d: rounds to zero
    return true;
  }
  __int128 p = Pow10At(d);
  __int128 q = v / p;
  __int128 rem = v % p;
  if (Abs(rem) * 2 >= p) q += v < 0 ? -1 : 1;
  *out = q;
  return true;
}

int Compare(__int128 a, int sa, __int128 b, int sb) {
  if (sa != sb) {
    // Scale the operand with the smaller scale up; if that overflows, its magnitude exceeds the
    // other's (which is at most 10^38 - 1), so its sign decides.
    if (sa < sb) {
      __int128 x;
      if (!Rescale(a, sa, sb, &x)) return a < 0 ? -1 : 1;
      a = x;
    } else {
      __int128 y;
      if (!Rescale(b, sb, sa, &y)) return b < 0 ? 1 : -1;
      b = y;
    }
  }
  return a < b ? -1 : (a > b ? 1 : 0);
}

Status Add(__int128 a, int sa, __int128 b, int sb, __int128* r, int16_t* sr) {
  if (!Align(&a, &sa, &b, &sb)) return Overflow();
  __int128 s = a + b;  // both below 10^38 in magnitude: no int128 overflow
  if (!InRange(s)) return Overflow();
  *r = s;
  *sr = static_cast<int16_t>(sa);
  return Status::OK();
}

Status Sub(__int128 a, int sa, __int128 b, int sb, __int128* r, int16_t* sr) {
  return Add(a, sa, -b, sb, r, sr);
}

Status Mul(__int128 a, int sa, __int128 b, int sb, __int128* r, int16_t* sr) {
  __int128 p;
  if (__builtin_mul_overflow(a, b, &p) || !InRange(p)) return Overflow();
  *r = p;
  *sr = static_cast<int16_t>(sa + sb);
  return Status::OK();
}

int DivScale(__int128 a, int sa, __int128 b, int sb) {
  constexpr int kMinSigDigits = 16;  // NUMERIC_MIN_SIG_DIGITS
  constexpr int kDecDigits = 4;      // DEC_DIGITS
  int w1, f1, w2, f2;
  WeightAndFirstDigit(a, sa, &w1, &f1);
  WeightAndFirstDigit(b, sb, &w2, &f2);
  int qweight = w1 - w2;
  if (f1 <= f2) qweight--;
  int rscale = kMinSigDigits - qweight * kDecDigits;
  if (rscale < sa) rscale = sa;
  if (rscale < sb) rscale = sb;
  if (rscale < 0) rscale = 0;        // NUMERIC_MIN_DISPLAY_SCALE
  if (rscale > 1000) rscale = 1000;  // NUMERIC_MAX_DISPLAY_SCALE
  return rscale;
}

Status DivRound(__int128 a, int sa, __int128 b, int sb, int rscale, __int128* r) {
  if (b == 0) return Status::InvalidArgument("division by zero");
  if (!Align(&a, &sa, &b, &sb)) return Overflow();
  bool negative = (a < 0) != (b < 0);
  u128 ua = static_cast<u128>(Abs(a));
  u128 ub = static_cast<u128>(Abs(b));
  // Long division, one decimal digit at a time. rem < ub <= 10^38 - 1, so rem * 10 < 2^128 only
  // while ub < 2^128 / 10; a larger divisor is refused rather than miscomputed.
  constexpr u128 kMaxDivisor = ~static_cast<u128>(0) / 10;
  if (ub >= kMaxDivisor) return Overflow();
  u128 q = ua / ub;
  u128 rem = ua % ub;
  const u128 limit = static_cast<u128>(kMaxNumericUnscaled);
  if (q > limit) return Overflow();
  for (int i = 0; i < rscale; ++i) {
    rem *= 10;
    u128 digit = rem / ub;
    rem %= ub;
    if (q > (limit - digit) / 10) {
      // More than 38 digits: acceptable only if all further digits are zeros of a tiny quotient,
      // which cannot be since q already has 38 digits.
      return Overflow();
    }
    q = q * 10 + digit;
  }
  // Round half away from zero on the next digit.
  rem *= 10;
  if (rem / ub >= 5) {
    if (q == limit) return Overflow();
    ++q;
  }
  __int128 v = static_cast<__int128>(q);
  *r = negative ? -v : v;
  return Status::OK();
}

Status Div(__int128 a, int sa, __int128 b, int sb, __int128* r, int16_t* sr) {
  if (b == 0) return Status::InvalidArgument("division by zero");
  int rscale = DivScale(a, sa, b, sb);
  CDC_RETURN_IF_ERROR(DivRound(a, sa, b, sb, rscale, r));
  *sr = static_cast<int16_t>(rscale);
  return Status::OK();
}

Status Mod(__int128 a, int sa, __int128 b, int sb, __int128* r, int16_t* sr) {
  if (b == 0) return Status::InvalidArgument("division by zero");
  if (!Align(&a, &sa, &b, &sb)) return Overflow();
  *r = a % b;  // truncated division: the sign of the dividend, as PostgreSQL's mod_var
  *sr = static_cast<int16_t>(sa);
  return Status::OK();
}

bool ToInt64(__int128 v, int scale, int64_t* out) {
  __int128 r;
  if (!Rescale(v, scale, 0, &r)) return false;
  if (r > INT64_MAX || r < INT64_MIN) return false;
  *out = static_cast<int64_t>(r);
  return true;
}

double ToDouble(__int128 v, int scale) {
  // Through the decimal text, so that the result is the correctly rounded double (strtod).
  std::string s = ToString(v, scale);
  return std::strtod(s.c_str(), nullptr);
}

Status FromDouble(double v, int significant_digits, __int128* out, int16_t* scale) {
  if (std::isnan(v)) return Status::InvalidArgument("cannot convert NaN to numeric");
  if (std::isinf(v)) return Status::InvalidArgument("cannot convert infinity to numeric");
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", significant_digits, v);
  return Parse(buf, out, scale);
}

Status ApplyTypmod(__int128 v, int scale, int precision, int target_scale, __int128* out) {
  __int128 r;
  if (!Rescale(v, scale, target_scale, &r)) return Overflow();
  if (precision > 0 && precision <= kMaxDigits && Abs(r) >= kPow10.v[precision]) {
    return Status::InvalidArgument("numeric field overflow");
  }
  *out = r;
  return Status::OK();
}

void AppendString(__int128 v, int scale, std::string* out) {
  char buf[1100];  // scale <= 1000 (NUMERIC_MAX_DISPLAY_SCALE) plus 39 digits, point and sign
  int n = 0;
  u128 m = static_cast<u128>(Abs(v));
  for (int i = 0; i < scale; ++i) {  // digits in reverse order
    buf[n++] = static_cast<char>('0' + static_cast<int>(m % 10));
    m /= 10;
  }
  if (scale > 0) buf[n++] = '.';
  do {
    buf[n++] = static_cast<char>('0' + static_cast<int>(m % 10));
    m /= 10;
  } while (m != 0);
  if (v < 0) buf[n++] = '-';
  for (int i = n - 1; i >= 0; --i) out->push_back(buf[i]);
}

std::string ToString(__int128 v, int scale) {
  std::string s;
  AppendString(v, scale, &s);
  return s;
}

Status Parse(std::string_view text, __int128* v, int16_t* scale) {
  auto bad = [&] {
    return Status::InvalidArgument("invalid input syntax for type numeric: \"" + std::string(text) + "\"");
  };
  size_t i = 0, n = text.size();
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (i < n && space(text[i])) ++i;
  bool negative = false;
  if (i < n && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  __int128 acc = 0;
  int digits = 0, frac = 0;
  bool any = false, point = false;
  bool overflow = false;
  for (; i < n; ++i) {
    char c = text[i];
    if (c >= '0' && c <= '9') {
      any = true;
      if (acc == 0 && c == '0') {
        if (point) ++frac;
        continue;
      }
      if (digits >= kMaxDigits) {
        overflow = true;
      } else {
        acc = acc * 10 + (c - '0');
        ++digits;
      }
      if (point) ++frac;
    } else if (c == '.' && !point) {
      point = true;
    } else {
      break;
    }
  }
  if (!any) return bad();
  int exp = 0;
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool eneg = false;
    if (i < n && (text[i] == '+' || text[i] == '-')) eneg = text[i++] == '-';
    if (i >= n || text[i] < '0' || text[i] > '9') return bad();
    while (i < n && text[i] >= '0' && text[i] <= '9') {
      exp = exp * 10 + (text[i] - '0');
      if (exp > 1000) return bad();
      ++i;
    }
    if (eneg) exp = -exp;
  }
  while (i < n && space(text[i])) ++i;
  if (i != n) return bad();
  if (overflow) return Overflow();
  int s = frac - exp;
  if (s < 0) {
    if (!Rescale(acc, 0, -s, &acc)) return Overflow();
    s = 0;
  }
  *v = negative ? -acc : acc;
  *scale = static_cast<int16_t>(s);
  return Status::OK();
}

}  // namespace cdc::sql::numeric
