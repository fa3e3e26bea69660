// Conversions of PostgreSQL text output to the values Debezium emits. See debezium_encoder.h (pgtext).
#include <charconv>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "event/debezium_encoder.h"

namespace cdc::event::pgtext {
namespace {

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kMicrosPerDay = 86400LL * kMicrosPerSecond;

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

// Appends "HH:MM:SS[.fraction without trailing zeros]" like java.time's ISO formatters.
void AppendIsoTime(std::string* out, int64_t micros_of_day) {
  int64_t secs = micros_of_day / kMicrosPerSecond, frac = micros_of_day % kMicrosPerSecond;
  AppendPadded(out, secs / 3600, 2);
  out->push_back(':');
  AppendPadded(out, secs / 60 % 60, 2);
  out->push_back(':');
  AppendPadded(out, secs % 60, 2);
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
  if (text == "infinity") return std::numeric_limits<int64_t>::max();
  if (text == "-infinity") return std::numeric_limits<int64_t>::min();
  Cursor c{text};
  bool bc = c.EatSuffix(" BC");
  int64_t days, tod;
  if (!ParseDatePart(c, bc, &days) || !(c.Eat(' ') || c.Eat('T')) || !ParseTimePart(c, &tod) || !c.done())
    return Bad("timestamp", text);
  return days * kMicrosPerDay + tod;
}

Result<std::string> TimestamptzToIsoUtc(std::string_view text) {
  if (text == "infinity" || text == "-infinity") return std::string(text);
  Cursor c{text};
  bool bc = c.EatSuffix(" BC");
  int64_t days, tod, offset;
  if (!ParseDatePart(c, bc, &days) || !(c.Eat(' ') || c.Eat('T')) || !ParseTimePart(c, &tod) ||
      !ParseOffset(c, &offset) || !c.done())
    return Bad("timestamptz", text);
  int64_t utc = days * kMicrosPerDay + tod - offset * kMicrosPerSecond;
  int64_t day = utc >= 0 ? utc / kMicrosPerDay : -((-utc + kMicrosPerDay - 1) / kMicrosPerDay);
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
  AppendIsoTime(&out, utc - day * kMicrosPerDay);
  out.push_back('Z');
  return out;
}

Result<int64_t> TimeToMicros(std::string_view text) {
  Cursor c{text};
  int64_t tod;
  if (!ParseTimePart(c, &tod) || !c.done() || tod > kMicrosPerDay) return Bad("time", text);
  return tod;
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

}  // namespace cdc::event::pgtext
