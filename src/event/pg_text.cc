// Conversions of PostgreSQL text output to the values Debezium emits. See debezium_encoder.h (pgtext).
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <utility>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "event/debezium_encoder.h"

namespace cdc::event::pgtext {
namespace {

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kMicrosPerDay = 86400LL * kMicrosPerSecond;

// pgjdbc's PGStatement.DATE_POSITIVE_INFINITY / DATE_NEGATIVE_INFINITY (milliseconds in pgjdbc). Debezium's
// PostgreSQL connector turns a timestamp 'infinity' into Conversions.toInstantFromMicros(<that constant>)
// (PostgresValueConverter.POSITIVE_INFINITY_INSTANT / _LOCAL_DATE_TIME, and the pgoutput column value's
// asInstant), so MicroTimestamp carries the constant itself as microseconds and Timestamp (milliseconds, via
// Instant.toEpochMilli) the constant / 1000.
constexpr int64_t kPgjdbcPositiveInfinity = 9223372036825200000LL;
constexpr int64_t kPgjdbcNegativeInfinity = -9223372036832400000LL;

Status Bad(std::string_view kind, std::string_view text) {
  std::string shown(text.substr(0, 64));
  return Status::InvalidArgument("cannot parse " + std::string(kind) + " value '" + shown +
                                 (text.size() > 64 ? "...'" : "'") +
                                 " (expected PostgreSQL text output with DateStyle ISO)");
}

// Days since 1970-01-01 of a proleptic Gregorian date (year 0 = 1 BC). Civil-from-days arithmetic
// on 400-year eras (each era has exactly 146097 days).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

// A cursor over the text with small parsing steps.
struct Cursor {
  std::string_view s;
  size_t i = 0;
  bool done() const { return i >= s.size(); }
  bool Eat(char c) {
    if (i < s.size() && s[i] == c) {
      ++i;
      return true;
    }
    return false;
  }
  // Reads at least `min` and at most `max` digits.
  bool Digits(size_t min, size_t max, int64_t* out) {
    size_t start = i;
    int64_t v = 0;
    while (i < s.size() && i - start < max && s[i] >= '0' && s[i] <= '9') v = v * 10 + (s[i++] - '0');
    *out = v;
    return i - start >= min;
  }
  bool EatSuffix(std::string_view suffix) {
    if (s.size() - i >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix) {
      s = s.substr(0, s.size() - suffix.size());
      return true;
    }
    return false;
  }
};

// "YYYY-MM-DD" (year 4+ digits) -> days; `bc` applies the BC era (1 BC = year 0).
bool ParseDatePart(Cursor& c, bool bc, int64_t* days) {
  int64_t y, m, d;
  if (!c.Digits(4, 9, &y) || !c.Eat('-') || !c.Digits(2, 2, &m) || !c.Eat('-') || !c.Digits(2, 2, &d)) return false;
  if (m < 1 || m > 12 || d < 1 || d > 31) return false;
  if (bc) y = 1 - y;
  *days = DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  return true;
}

// "HH:MM:SS[.ffffff]" -> micros since midnight.
bool ParseTimePart(Cursor& c, int64_t* micros) {
  int64_t h, mi, s;
  if (!c.Digits(2, 2, &h) || !c.Eat(':') || !c.Digits(2, 2, &mi) || !c.Eat(':') || !c.Digits(2, 2, &s)) return false;
  int64_t frac = 0;
  if (c.Eat('.')) {
    size_t start = c.i;
    if (!c.Digits(1, 6, &frac)) return false;
    for (size_t n = c.i - start; n < 6; ++n) frac *= 10;
  }
  if (h > 24 || mi > 59 || s > 60) return false;
  *micros = ((h * 60 + mi) * 60 + s) * kMicrosPerSecond + frac;
  return true;
}

// "+HH[:MM[:SS]]" or "-HH..." -> offset seconds east of UTC.
bool ParseOffset(Cursor& c, int64_t* seconds) {
  int sign = 0;
  if (c.Eat('+')) sign = 1;
  else if (c.Eat('-')) sign = -1;
  else return false;
  int64_t h, m = 0, s = 0;
  if (!c.Digits(2, 2, &h)) return false;
  if (c.Eat(':') && !c.Digits(2, 2, &m)) return false;
  if (c.Eat(':') && !c.Digits(2, 2, &s)) return false;
  *seconds = sign * (h * 3600 + m * 60 + s);
  return true;
}

void AppendPadded(std::string* out, int64_t v, int width) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  for (int n = static_cast<int>(r.ptr - buf); n < width; ++n) out->push_back('0');
  out->append(buf, r.ptr);
}

// Appends "HH:MM:SS[.fraction]". fraction_digits 1..9: exactly that many digits (DateTimeFormatterBuilder.
// appendFraction(NANO_OF_SECOND, w, w, true), what ZonedTimestamp.getDateTimeFormatter builds for a width);
// otherwise as java.time's ISO formatters: trailing zeros dropped, none when zero.
void AppendIsoTime(std::string* out, int64_t micros_of_day, int fraction_digits = -1) {
  int64_t secs = micros_of_day / kMicrosPerSecond, frac = micros_of_day % kMicrosPerSecond;
  AppendPadded(out, secs / 3600, 2);
  out->push_back(':');
  AppendPadded(out, secs / 60 % 60, 2);
  out->push_back(':');
  AppendPadded(out, secs % 60, 2);
  if (fraction_digits >= 1 && fraction_digits <= 9) {
    int64_t nanos = frac * 1000;
    int64_t scaled = nanos;
    for (int n = fraction_digits; n < 9; ++n) scaled /= 10;  // truncates, as appendFraction does
    out->push_back('.');
    AppendPadded(out, scaled, fraction_digits);
    return;
  }
  if (frac != 0) {
    int digits = 6;
    while (frac % 10 == 0) {
      frac /= 10;
      --digits;
    }
    out->push_back('.');
    AppendPadded(out, frac, digits);
  }
}

// Appends the ISO year like java.time: 4 digits, '-' before negative years, '+' beyond 9999.
void AppendIsoYear(std::string* out, int64_t y) {
  if (y < 0) {
    out->push_back('-');
    AppendPadded(out, -y, 4);
  } else {
    if (y > 9999) out->push_back('+');
    AppendPadded(out, y, 4);
  }
}

}  // namespace

Result<int32_t> DateToEpochDays(std::string_view text) {
  if (text == "infinity") return std::numeric_limits<int32_t>::max();
  if (text == "-infinity") return std::numeric_limits<int32_t>::min();
  Cursor c{text};
  bool bc = c.EatSuffix(" BC");
  int64_t days;
  if (!ParseDatePart(c, bc, &days) || !c.done()) return Bad("date", text);
  return static_cast<int32_t>(days);
}

Result<int64_t> TimestampToEpochMicros(std::string_view text) {
  if (text == "infinity") return kPgjdbcPositiveInfinity;
  if (text == "-infinity") return kPgjdbcNegativeInfinity;
  Cursor c{text};
  bool bc = c.EatSuffix(" BC");
  int64_t days, tod;
  if (!ParseDatePart(c, bc, &days) || !(c.Eat(' ') || c.Eat('T')) || !ParseTimePart(c, &tod) || !c.done())
    return Bad("timestamp", text);
  // PostgreSQL's timestamps reach 294276 AD, microseconds since 1970 only 294247 AD: beyond that the value is
  // clamped to the int64 range (docs/DEBEZIUM.md: Debezium's result there is not pinned down) instead of overflowing.
  const __int128 micros = static_cast<__int128>(days) * kMicrosPerDay + tod;
  if (micros > std::numeric_limits<int64_t>::max()) return std::numeric_limits<int64_t>::max();
  if (micros < std::numeric_limits<int64_t>::min()) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(micros);
}

Result<int64_t> TimestampToEpochMillis(std::string_view text) {
  CDC_ASSIGN_OR_RETURN(int64_t micros, TimestampToEpochMicros(text));
  return micros >= 0 ? micros / 1000 : -((-micros + 999) / 1000);  // floor, as Instant.toEpochMilli
}

Result<std::string> TimestamptzToIsoUtc(std::string_view text, int fraction_digits) {
  if (text == "infinity" || text == "-infinity") return std::string(text);
  Cursor c{text};
  bool bc = c.EatSuffix(" BC");
  int64_t days, tod, offset;
  if (!ParseDatePart(c, bc, &days) || !(c.Eat(' ') || c.Eat('T')) || !ParseTimePart(c, &tod) ||
      !ParseOffset(c, &offset) || !c.done())
    return Bad("timestamptz", text);
  // Day and time of day apart: days * kMicrosPerDay overflows int64 near PostgreSQL's maximum (294276 AD).
  const int64_t local_tod = tod - offset * kMicrosPerSecond;  // within (-2 days, 2 days)
  const int64_t carry = local_tod >= 0 ? local_tod / kMicrosPerDay : -((-local_tod + kMicrosPerDay - 1) / kMicrosPerDay);
  const int64_t day = days + carry;
  const int64_t utc_tod = local_tod - carry * kMicrosPerDay;
  int64_t y;
  unsigned m, d;
  CivilFromDays(day, &y, &m, &d);
  std::string out;
  out.reserve(32);
  AppendIsoYear(&out, y);
  out.push_back('-');
  AppendPadded(&out, m, 2);
  out.push_back('-');
  AppendPadded(&out, d, 2);
  out.push_back('T');
  AppendIsoTime(&out, utc_tod, fraction_digits);
  out.push_back('Z');
  return out;
}

Result<int64_t> TimeToMicros(std::string_view text) {
  Cursor c{text};
  int64_t tod;
  if (!ParseTimePart(c, &tod) || !c.done() || tod > kMicrosPerDay) return Bad("time", text);
  return tod;
}

Result<int32_t> TimeToMillis(std::string_view text) {
  // io.debezium.time.Time.toMilliOfDay: the Duration pgjdbc's text becomes, in whole milliseconds.
  CDC_ASSIGN_OR_RETURN(int64_t micros, TimeToMicros(text));
  return static_cast<int32_t>(micros / 1000);
}

Result<std::string> TimetzToIsoUtc(std::string_view text) {
  Cursor c{text};
  int64_t tod, offset;
  if (!ParseTimePart(c, &tod) || !ParseOffset(c, &offset) || !c.done() || tod > kMicrosPerDay)
    return Bad("timetz", text);
  int64_t utc = ((tod - offset * kMicrosPerSecond) % kMicrosPerDay + kMicrosPerDay) % kMicrosPerDay;
  std::string out;
  AppendIsoTime(&out, utc);
  out.push_back('Z');
  return out;
}

Result<std::string> BitStringToDebeziumBits(std::string_view text) {
  std::string bytes;
  const size_t n = text.size();
  for (size_t i = 0; i < n; ++i) {
    char ch = text[n - 1 - i];  // bit i, counted from the right
    if (ch != '0' && ch != '1') return Bad("bit", text);
    if (ch == '1') {
      if (bytes.size() <= i / 8) bytes.resize(i / 8 + 1, '\0');
      bytes[i / 8] = static_cast<char>(static_cast<unsigned char>(bytes[i / 8]) | (1u << (i % 8)));
    }
  }
  return bytes;
}

Status ParsePoint(std::string_view text, double* x, double* y) {
  if (text.size() < 5 || text.front() != '(' || text.back() != ')') return Bad("point", text);
  std::string_view inner = text.substr(1, text.size() - 2);
  size_t comma = inner.find(',');
  if (comma == std::string_view::npos) return Bad("point", text);
  auto parse = [](std::string_view t, double* d) {
    if (t.empty() || t.front() == '+') return false;
    auto r = std::from_chars(t.data(), t.data() + t.size(), *d);  // also "NaN", "Infinity", "-Infinity"
    return r.ec == std::errc() && r.ptr == t.data() + t.size();
  };
  if (!parse(inner.substr(0, comma), x) || !parse(inner.substr(comma + 1), y)) return Bad("point", text);
  return Status::OK();
}

std::string PointWkb(double x, double y) {
  std::string wkb;
  wkb.reserve(21);
  wkb.push_back('\x01');  // byte order: little-endian
  auto put_le = [&wkb](uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) wkb.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  };
  put_le(1, 4);  // wkbPoint
  uint64_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  put_le(bits, 8);
  std::memcpy(&bits, &y, sizeof bits);
  put_le(bits, 8);
  return wkb;
}

Result<std::string> ByteaToBytes(std::string_view text) {
  std::string out;
  auto hexval = [](char ch) -> int {
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
  };
  if (text.size() >= 2 && text[0] == '\\' && text[1] == 'x') {
    if (text.size() % 2 != 0) return Bad("bytea", text);
    out.reserve((text.size() - 2) / 2);
    for (size_t i = 2; i < text.size(); i += 2) {
      int hi = hexval(text[i]), lo = hexval(text[i + 1]);
      if (hi < 0 || lo < 0) return Bad("bytea", text);
      out.push_back(static_cast<char>(hi << 4 | lo));
    }
    return out;
  }
  // Escape format: "\\" is a backslash, "\ooo" an octal byte, everything else literal.
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out.push_back(text[i]);
    } else if (i + 1 < text.size() && text[i + 1] == '\\') {
      out.push_back('\\');
      ++i;
    } else if (i + 3 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '3' && text[i + 2] >= '0' &&
               text[i + 2] <= '7' && text[i + 3] >= '0' && text[i + 3] <= '7') {
      out.push_back(static_cast<char>((text[i + 1] - '0') << 6 | (text[i + 2] - '0') << 3 | (text[i + 3] - '0')));
      i += 3;
    } else {
      return Bad("bytea", text);
    }
  }
  return out;
}

void AppendBase64(std::string* out, std::string_view bytes) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t v = p[i] << 16 | p[i + 1] << 8 | p[i + 2];
    out->push_back(kAlphabet[v >> 18]);
    out->push_back(kAlphabet[v >> 12 & 63]);
    out->push_back(kAlphabet[v >> 6 & 63]);
    out->push_back(kAlphabet[v & 63]);
  }
  size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t v = p[i] << 16;
    out->push_back(kAlphabet[v >> 18]);
    out->push_back(kAlphabet[v >> 12 & 63]);
    out->append("==");
  } else if (rest == 2) {
    uint32_t v = p[i] << 16 | p[i + 1] << 8;
    out->push_back(kAlphabet[v >> 18]);
    out->push_back(kAlphabet[v >> 12 & 63]);
    out->push_back(kAlphabet[v >> 6 & 63]);
    out->push_back('=');
  }
}

Result<std::string> DecimalToUnscaledBytes(std::string_view text, int target_scale, int32_t* scale) {
  std::string_view t = text;
  bool negative = false;
  if (!t.empty() && (t[0] == '-' || t[0] == '+')) {
    negative = t[0] == '-';
    t.remove_prefix(1);
  }
  std::string digits;
  digits.reserve(t.size() + 8);
  int frac_digits = -1;  // -1 until '.' is seen
  for (char ch : t) {
    if (ch >= '0' && ch <= '9') {
      digits.push_back(ch);
      if (frac_digits >= 0) ++frac_digits;
    } else if (ch == '.' && frac_digits < 0) {
      frac_digits = 0;
    } else {
      return Bad("numeric", text);  // includes NaN / Infinity, which have no unscaled form
    }
  }
  if (digits.empty()) return Bad("numeric", text);
  int s = frac_digits < 0 ? 0 : frac_digits;
  if (target_scale >= 0 && target_scale != s) {
    if (target_scale < s) return Bad("numeric (more fraction digits than the column's scale)", text);
    digits.append(static_cast<size_t>(target_scale - s), '0');
    s = target_scale;
  }
  *scale = s;
  // Magnitude as little-endian base-256 limbs: multiply by 10^k and add, 9 digits at a time.
  std::vector<uint8_t> mag;
  size_t pos = 0;
  size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) pos = digits.size();
  else pos = first;
  while (pos < digits.size()) {
    size_t n = std::min<size_t>(9, digits.size() - pos);
    uint32_t chunk = 0, mul = 1;
    for (size_t k = 0; k < n; ++k) {
      chunk = chunk * 10 + static_cast<uint32_t>(digits[pos + k] - '0');
      mul *= 10;
    }
    pos += n;
    uint64_t carry = chunk;
    for (auto& b : mag) {
      uint64_t v = static_cast<uint64_t>(b) * mul + carry;
      b = static_cast<uint8_t>(v & 0xff);
      carry = v >> 8;
    }
    while (carry) {
      mag.push_back(static_cast<uint8_t>(carry & 0xff));
      carry >>= 8;
    }
  }
  if (mag.empty()) return std::string(1, '\0');  // zero: Java's BigInteger.ZERO.toByteArray() = {0}
  std::string out(mag.rbegin(), mag.rend());     // big-endian, minimal magnitude
  if (!negative) {
    if (static_cast<unsigned char>(out[0]) & 0x80) out.insert(out.begin(), '\0');
    return out;
  }
  // Two's complement: invert and add one, then make sure the sign bit is set.
  for (auto& ch : out) ch = static_cast<char>(~static_cast<unsigned char>(ch));
  for (size_t i = out.size(); i-- > 0;) {
    unsigned char b = static_cast<unsigned char>(out[i]);
    out[i] = static_cast<char>(b + 1);
    if (b != 0xff) break;
  }
  if (!(static_cast<unsigned char>(out[0]) & 0x80)) out.insert(out.begin(), '\xff');
  return out;
}


namespace {

// Java's (long) cast of a double: truncation towards zero, saturating, NaN -> 0.
int64_t JavaDoubleToLong(double d) {
  if (std::isnan(d)) return 0;
  if (d >= 9223372036854775808.0) return std::numeric_limits<int64_t>::max();
  if (d < -9223372036854775808.0) return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(d);
}

// The fields of an interval as pgjdbc's PGInterval keeps them (seconds as whole + micros).
struct IntervalFields {
  int64_t years = 0, months = 0, days = 0, hours = 0, minutes = 0;
  int64_t second_micros = 0;  // seconds and their fraction, in microseconds, signed
};

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// "[+-]digits" -> value (at most 18 digits, so that it cannot overflow).
bool ParseSignedInt(std::string_view t, int64_t* out) {
  size_t i = 0;
  bool neg = false;
  if (i < t.size() && (t[i] == '+' || t[i] == '-')) neg = t[i++] == '-';
  if (i == t.size() || t.size() - i > 18) return false;
  int64_t v = 0;
  for (; i < t.size(); ++i) {
    if (!IsDigit(t[i])) return false;
    v = v * 10 + (t[i] - '0');
  }
  *out = neg ? -v : v;
  return true;
}

// "[+-]digits[.fraction]" (fraction up to 6 digits) -> signed microseconds.
bool ParseSecondsMicros(std::string_view t, int64_t* out) {
  size_t dot = t.find('.');
  int64_t whole = 0;
  std::string_view ip = t.substr(0, dot);
  bool neg = !ip.empty() && ip[0] == '-';
  if (ip == "-" || ip == "+") ip = "0";  // "-.5" is not printed by PostgreSQL, but be exact if it comes
  if (!ParseSignedInt(ip, &whole) || whole > 9223372036854LL || whole < -9223372036854LL) return false;
  int64_t frac = 0;
  if (dot != std::string_view::npos) {
    std::string_view f = t.substr(dot + 1);
    if (f.empty() || f.size() > 6) return false;
    for (char c : f) {
      if (!IsDigit(c)) return false;
      frac = frac * 10 + (c - '0');
    }
    for (size_t n = f.size(); n < 6; ++n) frac *= 10;
  }
  int64_t abs_whole = whole < 0 ? -whole : whole;
  int64_t micros = abs_whole * kMicrosPerSecond + frac;
  *out = (neg || whole < 0) ? -micros : micros;
  return true;
}

// "[+-]H+:MM[:SS[.f]]" -> hours, minutes, second micros, all carrying the sign (PostgreSQL prints one
// sign for the whole time part).
bool ParseTimeToken(std::string_view t, IntervalFields* f) {
  bool neg = false;
  if (!t.empty() && (t[0] == '+' || t[0] == '-')) {
    neg = t[0] == '-';
    t.remove_prefix(1);
  }
  size_t c1 = t.find(':');
  if (c1 == std::string_view::npos || c1 == 0) return false;
  size_t c2 = t.find(':', c1 + 1);
  std::string_view hs = t.substr(0, c1);
  std::string_view ms = t.substr(c1 + 1, c2 == std::string_view::npos ? std::string_view::npos : c2 - c1 - 1);
  int64_t h, m, s = 0;
  if (hs[0] == '+' || hs[0] == '-' || ms.size() != 2 || ms[0] == '+' || ms[0] == '-') return false;
  if (!ParseSignedInt(hs, &h) || !ParseSignedInt(ms, &m) || m > 59) return false;
  if (c2 != std::string_view::npos) {
    std::string_view ss = t.substr(c2 + 1);
    if (ss.size() < 2 || !IsDigit(ss[0]) || !IsDigit(ss[1]) || !ParseSecondsMicros(ss, &s) || s >= 60 * kMicrosPerSecond)
      return false;
  }
  f->hours = neg ? -h : h;
  f->minutes = neg ? -m : m;
  f->second_micros = neg ? -s : s;
  return true;
}

// IntervalStyle postgres ("1 year 2 mons -3 days +04:05:06.78", "00:00:00") and postgres_verbose
// ("@ 1 year 2 mons 3 days 4 hours 5 mins 6.78 secs ago").
bool ParsePostgresInterval(std::string_view text, IntervalFields* f) {
  if (text == "@ 0") return true;  // postgres_verbose prints a zero interval so
  bool verbose = false, ago = false, any = false;
  std::string_view pending;  // a number waiting for its unit
  size_t i = 0;
  auto next = [&](std::string_view* tok) {
    while (i < text.size() && text[i] == ' ') ++i;
    if (i == text.size()) return false;
    size_t start = i;
    while (i < text.size() && text[i] != ' ') ++i;
    *tok = text.substr(start, i - start);
    return true;
  };
  std::string_view tok;
  bool first = true;
  unsigned seen = 0;  // each unit (and the time part) at most once, as PostgreSQL prints them
  auto once = [&](unsigned bit) {
    if (seen & bit) return false;
    seen |= bit;
    return true;
  };
  while (next(&tok)) {
    if (first && tok == "@") {
      verbose = true;
      first = false;
      continue;
    }
    first = false;
    if (!pending.empty()) {
      int64_t v = 0;
      auto unit = [&](std::string_view singular, std::string_view plural) { return tok == singular || tok == plural; };
      if (unit("year", "years")) {
        if (!once(1) || !ParseSignedInt(pending, &v)) return false;
        f->years = v;
      } else if (unit("mon", "mons")) {
        if (!once(2) || !ParseSignedInt(pending, &v)) return false;
        f->months = v;
      } else if (unit("day", "days")) {
        if (!once(4) || !ParseSignedInt(pending, &v)) return false;
        f->days = v;
      } else if (verbose && unit("hour", "hours")) {
        if (!once(8) || !ParseSignedInt(pending, &v)) return false;
        f->hours = v;
      } else if (verbose && unit("min", "mins")) {
        if (!once(16) || !ParseSignedInt(pending, &v)) return false;
        f->minutes = v;
      } else if (verbose && unit("sec", "secs")) {
        if (!once(32) || !ParseSecondsMicros(pending, &v)) return false;
        f->second_micros = v;
      } else {
        return false;
      }
      pending = {};
      any = true;
      continue;
    }
    if (verbose && tok == "ago") {
      ago = true;
      if (next(&tok)) return false;  // "ago" ends the value
      break;
    }
    if (tok.find(':') != std::string_view::npos) {
      if (verbose || !once(8 | 16 | 32) || !ParseTimeToken(tok, f)) return false;
      any = true;
      continue;
    }
    pending = tok;
  }
  if (!pending.empty() || !any) return false;
  if (ago) {
    f->years = -f->years;
    f->months = -f->months;
    f->days = -f->days;
    f->hours = -f->hours;
    f->minutes = -f->minutes;
    f->second_micros = -f->second_micros;
  }
  return true;
}

// IntervalStyle iso_8601: "P1Y2M3DT4H5M6.78S", "P-1Y-2M", "PT0S".
bool ParseIsoInterval(std::string_view text, IntervalFields* f) {
  if (text.size() < 2 || text[0] != 'P') return false;
  bool time = false, any = false;
  size_t i = 1;
  while (i < text.size()) {
    if (text[i] == 'T') {
      if (time) return false;
      time = true;
      ++i;
      continue;
    }
    size_t start = i;
    while (i < text.size() && (IsDigit(text[i]) || text[i] == '-' || text[i] == '+' || text[i] == '.')) ++i;
    if (i == start || i == text.size()) return false;
    std::string_view num = text.substr(start, i - start);
    char unit = text[i++];
    int64_t v = 0;
    if (unit == 'S' && time) {
      if (!ParseSecondsMicros(num, &v)) return false;
      f->second_micros = v;
    } else {
      if (!ParseSignedInt(num, &v)) return false;
      if (!time && unit == 'Y') f->years = v;
      else if (!time && unit == 'M') f->months = v;
      else if (!time && unit == 'D') f->days = v;
      else if (time && unit == 'H') f->hours = v;
      else if (time && unit == 'M') f->minutes = v;
      else return false;
    }
    any = true;
  }
  return any;
}

}  // namespace

Result<int64_t> IntervalToMicros(std::string_view text) {
  IntervalFields f;
  bool ok = (!text.empty() && text[0] == 'P') ? ParseIsoInterval(text, &f) : ParsePostgresInterval(text, &f);
  if (!ok) return Bad("interval", text);
  // pgjdbc keeps years..minutes as int: a field beyond that range is out of what PostgreSQL prints (hours
  // are the exception: an interval of 2^31 hours is valid in PostgreSQL, so they stay 64-bit here).
  constexpr int64_t kIntMax = std::numeric_limits<int32_t>::max();
  if (f.years > kIntMax || f.years < -kIntMax || f.months > kIntMax || f.months < -kIntMax || f.days > kIntMax ||
      f.days < -kIntMax)
    return Bad("interval", text);
  // Debezium (MicroDuration.durationMicros with DAYS_PER_MONTH_AVG = 365.25 / 12), step by step in
  // double precision so that the result matches it to the microsecond.
  const double days_per_month = 365.25 / 12.0;
  const int64_t whole = f.second_micros / kMicrosPerSecond, frac = f.second_micros % kMicrosPerSecond;
  const double seconds = static_cast<double>(whole) + static_cast<double>(frac) / static_cast<double>(kMicrosPerSecond);
  const int32_t total_months = static_cast<int32_t>(static_cast<uint32_t>(f.years * 12 + f.months));  // Java int
  double number_of_days = static_cast<double>(total_months) * days_per_month + static_cast<double>(f.days);
  double number_of_seconds =
      ((number_of_days * 24 + static_cast<double>(f.hours)) * 60 + static_cast<double>(f.minutes)) * 60 + seconds;
  return JavaDoubleToLong(number_of_seconds * 1e6);
}

Result<std::string> IntervalToIsoString(std::string_view text) {
  IntervalFields f;
  bool ok = (!text.empty() && text[0] == 'P') ? ParseIsoInterval(text, &f) : ParsePostgresInterval(text, &f);
  if (!ok) return Bad("interval", text);
  // pgjdbc's PGInterval.getSeconds(): wholeSeconds + microSeconds / 1e6, a double; Debezium takes it as
  // new BigDecimal(double) (its exact binary value), truncates it to 6 fraction digits (RoundingMode.DOWN) and
  // prints stripTrailingZeros().toPlainString(). The truncation is exact here: |seconds| * 10^6 computed on the
  // double's integer mantissa.
  const int64_t whole = f.second_micros / kMicrosPerSecond, frac = f.second_micros % kMicrosPerSecond;
  const double seconds = static_cast<double>(whole) + static_cast<double>(frac) / static_cast<double>(kMicrosPerSecond);
  int exponent = 0;
  const double mantissa = std::frexp(std::fabs(seconds), &exponent);  // |seconds| = mantissa * 2^exponent
  const auto m53 = static_cast<unsigned __int128>(std::ldexp(mantissa, 53));  // an integer below 2^53
  const int shift = exponent - 53;  // |seconds| = m53 * 2^shift
  unsigned __int128 micros = m53 * 1000000u;
  if (shift >= 0) {
    micros <<= shift;  // |seconds| < 2^44 here (PostgreSQL's interval), so this stays far below 2^128
  } else {
    micros = -shift >= 128 ? 0 : micros >> -shift;
  }
  auto u64 = [](unsigned __int128 v) { return static_cast<uint64_t>(v); };
  std::string sec;
  if (seconds < 0 && micros != 0) sec.push_back('-');
  sec.append(std::to_string(u64(micros / 1000000u)));
  if (uint64_t fraction = u64(micros % 1000000u); fraction != 0) {
    char digits[8];
    std::snprintf(digits, sizeof digits, "%06llu", static_cast<unsigned long long>(fraction));
    size_t n = 6;
    while (digits[n - 1] == '0') --n;
    sec.push_back('.');
    sec.append(digits, n);
  }
  std::string out = "P";
  for (auto [value, unit] : {std::pair{f.years, 'Y'}, {f.months, 'M'}, {f.days, 'D'}, {f.hours, 'H'}, {f.minutes, 'M'}}) {
    out.append(std::to_string(value));
    out.push_back(unit);
    if (unit == 'D') out.push_back('T');
  }
  out.append(sec);
  out.push_back('S');
  return out;
}

Result<std::string> MoneyToDecimal(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  bool neg = false, paren = false;
  if (i < text.size() && text[i] == '-') {
    neg = true;
    ++i;
  } else if (i < text.size() && text[i] == '(') {  // some locales print negatives in parentheses
    neg = paren = true;
    ++i;
  }
  if (i < text.size() && text[i] == '$') ++i;
  if (neg) out.push_back('-');
  size_t digits = 0, group = 0;
  bool grouped = false;
  for (; i < text.size() && (IsDigit(text[i]) || text[i] == ','); ++i) {
    if (text[i] == ',') {
      // Thousands separators: only between digits, every 3 digits after the first group.
      if (digits == 0 || (grouped && group != 3) || (!grouped && group > 3)) return Bad("money", text);
      grouped = true;
      group = 0;
      continue;
    }
    out.push_back(text[i]);
    ++digits;
    ++group;
  }
  if (digits == 0 || (grouped && group != 3)) return Bad("money", text);
  if (i < text.size() && text[i] == '.') {
    out.push_back('.');
    size_t start = ++i;
    while (i < text.size() && IsDigit(text[i])) out.push_back(text[i++]);
    if (i == start) return Bad("money", text);
  }
  if (paren && !(i < text.size() && text[i++] == ')')) return Bad("money", text);
  if (i != text.size()) return Bad("money (expected lc_monetary C or en_US output such as -$1,234.56)", text);
  return out;
}

namespace {

// Java's BigDecimal.valueOf(d).toPlainString(): Double.toString's digits (the shortest that round-trip),
// plain notation, at least one fraction digit when Double.toString printed it in plain form
// (1e-3 <= |d| < 1e7), none added otherwise ("1.0E7" -> "10000000").
std::string JavaPlainStringOfDouble(double d) {
  if (d == 0) return "0.0";
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(r.ptr - buf));
  std::string out;
  if (sci[0] == '-') {
    out.push_back('-');
    sci.remove_prefix(1);
  }
  size_t e = sci.find('e');
  int exp10 = 0;
  std::from_chars(sci.data() + e + 1 + (sci[e + 1] == '+' ? 1 : 0), sci.data() + sci.size(), exp10);
  std::string digits;
  for (char c : sci.substr(0, e))
    if (c != '.') digits.push_back(c);
  const double a = std::fabs(d);
  if (a >= 1e-3 && a < 1e7) {
    // Plain: digits with the point after (exp10 + 1) of them, padded, and at least one fraction digit.
    int point = exp10 + 1;
    if (point <= 0) {
      out += "0.";
      out.append(static_cast<size_t>(-point), '0');
      out += digits;
    } else {
      if (static_cast<size_t>(point) >= digits.size()) {
        out += digits;
        out.append(static_cast<size_t>(point) - digits.size(), '0');
        out += ".0";
      } else {
        out += digits.substr(0, static_cast<size_t>(point));
        out += '.';
        out += digits.substr(static_cast<size_t>(point));
      }
    }
    return out;
  }
  // Scientific "d.ddd E n" (Java adds ".0" to a single digit) read back by BigDecimal: unscaled digits,
  // scale = fraction digits - n.
  if (digits.size() == 1) digits.push_back('0');
  int scale = static_cast<int>(digits.size()) - 1 - exp10;
  if (scale <= 0) {
    out += digits;
    out.append(static_cast<size_t>(-scale), '0');
  } else if (static_cast<size_t>(scale) >= digits.size()) {
    out += "0.";
    out.append(static_cast<size_t>(scale) - digits.size(), '0');
    out += digits;
  } else {
    out += digits.substr(0, digits.size() - static_cast<size_t>(scale));
    out += '.';
    out += digits.substr(digits.size() - static_cast<size_t>(scale));
  }
  return out;
}

}  // namespace

Result<std::string> MoneyToDebeziumString(std::string_view text) {
  CDC_ASSIGN_OR_RETURN(std::string dec, MoneyToDecimal(text));
  double d = 0;
  auto r = std::from_chars(dec.data(), dec.data() + dec.size(), d);
  if (r.ec != std::errc() || r.ptr != dec.data() + dec.size()) return Bad("money", text);
  return JavaPlainStringOfDouble(d);
}

Status ParseArray(std::string_view text, char delimiter, std::vector<ArrayElement>* elements, std::string* storage) {
  elements->clear();
  storage->clear();
  storage->reserve(text.size());  // unescaped elements are shorter than the text: views stay valid
  auto fail = [&](size_t at, std::string_view what) {
    std::string shown(text.substr(0, 64));
    return Status::InvalidArgument("cannot parse array value '" + shown + (text.size() > 64 ? "...'" : "'") +
                                   ": " + std::string(what) + " at byte " + std::to_string(at));
  };
  size_t i = 0;
  auto skip_space = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
  };
  skip_space();
  if (i < text.size() && text[i] == '[') {
    // Dimension decoration "[lower:upper]=": one pair for a one-dimensional array.
    size_t close = text.find(']', i);
    if (close == std::string_view::npos) return fail(i, "unterminated dimension decoration");
    std::string_view dims = text.substr(i + 1, close - i - 1);
    size_t colon = dims.find(':');
    int64_t lo, hi;
    if (colon == std::string_view::npos || !ParseSignedInt(dims.substr(0, colon), &lo) ||
        !ParseSignedInt(dims.substr(colon + 1), &hi))
      return fail(i, "malformed dimension decoration");
    i = close + 1;
    if (i < text.size() && text[i] == '[') return fail(i, "multidimensional arrays are not supported");
    if (i >= text.size() || text[i] != '=') return fail(i, "expected '=' after the dimensions");
    ++i;
    skip_space();
  }
  if (i >= text.size() || text[i] != '{') return fail(i, "expected '{'");
  ++i;
  skip_space();
  if (i < text.size() && text[i] == '}') {
    ++i;
    skip_space();
    if (i != text.size()) return fail(i, "unexpected characters after '}'");
    return Status::OK();
  }
  for (;;) {
    skip_space();
    if (i >= text.size()) return fail(i, "unexpected end (expected an element)");
    char c = text[i];
    ArrayElement el;
    if (c == '{') return fail(i, "multidimensional arrays are not supported");
    if (c == '"') {
      size_t start = storage->size();
      ++i;
      bool closed = false;
      while (i < text.size()) {
        char ch = text[i++];
        if (ch == '\\') {
          if (i >= text.size()) break;
          storage->push_back(text[i++]);
        } else if (ch == '"') {
          closed = true;
          break;
        } else {
          storage->push_back(ch);
        }
      }
      if (!closed) return fail(i, "unterminated quoted element");
      el.text = std::string_view(storage->data() + start, storage->size() - start);
      skip_space();
    } else {
      if (c == delimiter || c == '}') return fail(i, "empty element");
      size_t start = i;
      bool escaped = false;
      while (i < text.size() && text[i] != delimiter && text[i] != '}') {
        if (text[i] == '"' || text[i] == '{') return fail(i, "unexpected character in an unquoted element");
        if (text[i] == '\\') {
          escaped = true;
          if (i + 1 >= text.size()) return fail(i, "backslash at the end");
          i += 2;
        } else {
          ++i;
        }
      }
      size_t end = i;
      while (end > start && (text[end - 1] == ' ' || text[end - 1] == '\t' || text[end - 1] == '\n' ||
                             text[end - 1] == '\r'))
        --end;
      std::string_view raw = text.substr(start, end - start);
      if (!escaped && raw.size() == 4 && (raw[0] == 'N' || raw[0] == 'n') && (raw[1] == 'U' || raw[1] == 'u') &&
          (raw[2] == 'L' || raw[2] == 'l') && (raw[3] == 'L' || raw[3] == 'l')) {
        el.null = true;
      } else if (!escaped) {
        el.text = raw;
      } else {
        size_t s0 = storage->size();
        for (size_t k = 0; k < raw.size(); ++k) {
          if (raw[k] == '\\' && k + 1 < raw.size()) ++k;
          storage->push_back(raw[k]);
        }
        el.text = std::string_view(storage->data() + s0, storage->size() - s0);
      }
    }
    elements->push_back(el);
    if (i >= text.size()) return fail(i, "unexpected end (expected ',' or '}')");
    if (text[i] == delimiter) {
      ++i;
      continue;
    }
    if (text[i] != '}') return fail(i, std::string("expected '") + delimiter + "' or '}'");
    ++i;
    skip_space();
    if (i != text.size()) return fail(i, "unexpected characters after '}'");
    return Status::OK();
  }
}

}  // namespace cdc::event::pgtext
