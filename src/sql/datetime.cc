#include "sql/datetime.h"

#include <cctype>

namespace cdc::sql::datetime {
namespace {

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

void Append2(int v, std::string* out) {
  out->push_back(static_cast<char>('0' + v / 10));
  out->push_back(static_cast<char>('0' + v % 10));
}

// Appends the year as PostgreSQL prints it (at least 4 digits), returning whether it is BC.
bool AppendYear(int64_t y, std::string* out) {
  bool bc = y <= 0;
  if (bc) y = 1 - y;
  std::string digits = std::to_string(y);
  for (size_t i = digits.size(); i < 4; ++i) out->push_back('0');
  out->append(digits);
  return bc;
}

struct Parsed {
  int64_t days = 0;
  int64_t micros_of_day = 0;
  int64_t zone_seconds = 0;  // east of UTC
  int special = 0;           // -1 -infinity, +1 infinity
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

// 0 ok, 1 syntax, 2 out of range
int ParseParts(std::string_view text, Parsed* p) {
  size_t b = 0, e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  std::string_view t = text.substr(b, e - b);
  if (EqualsIgnoreCase(t, "infinity") || EqualsIgnoreCase(t, "+infinity")) { p->special = 1; return 0; }
  if (EqualsIgnoreCase(t, "-infinity")) { p->special = -1; return 0; }
  if (EqualsIgnoreCase(t, "epoch")) return 0;
  bool bc = false;
  if (t.size() >= 3 && EqualsIgnoreCase(t.substr(t.size() - 2), "BC") && t[t.size() - 3] == ' ') {
    bc = true;
    t = t.substr(0, t.size() - 3);
  }
  size_t i = 0;
  auto number = [&](int min_digits, int max_digits, int64_t* v) {
    int n = 0;
    int64_t acc = 0;
    while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i])) && n < max_digits) {
      acc = acc * 10 + (t[i] - '0');
      ++i;
      ++n;
    }
    *v = acc;
    return n >= min_digits;
  };
  int64_t y, m, d;
  if (!number(1, 9, &y) || i >= t.size() || t[i] != '-') return 1;
  ++i;
  if (!number(1, 2, &m) || i >= t.size() || t[i] != '-') return 1;
  ++i;
  if (!number(1, 2, &d)) return 1;
  if (bc) {
    if (y == 0) return 2;
    y = 1 - y;
  }
  if (m < 1 || m > 12 || d < 1 || d > DaysInMonth(y, static_cast<int>(m))) return 2;
  p->days = DaysFromCivil(y, static_cast<int>(m), static_cast<int>(d));
  if (i == t.size()) return 0;
  if (t[i] != ' ' && t[i] != 'T' && t[i] != 't') return 1;
  while (i < t.size() && (t[i] == ' ' || t[i] == 'T' || t[i] == 't')) ++i;
  int64_t hh, mi, ss = 0, frac = 0;
  if (!number(1, 2, &hh) || i >= t.size() || t[i] != ':') return 1;
  ++i;
  if (!number(2, 2, &mi)) return 1;
  if (i < t.size() && t[i] == ':') {
    ++i;
    if (!number(2, 2, &ss)) return 1;
    if (i < t.size() && t[i] == '.') {
      ++i;
      int n = 0;
      int64_t acc = 0;
      bool round_up = false;
      while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i]))) {
        if (n < 6) {
          acc = acc * 10 + (t[i] - '0');
        } else if (n == 6) {
          round_up = t[i] >= '5';
        }
        ++n;
        ++i;
      }
      if (n == 0) return 1;
      for (int k = n; k < 6; ++k) acc *= 10;
      frac = acc + (round_up ? 1 : 0);
    }
  }
  if (hh > 24 || mi > 59 || ss > 60 || (hh == 24 && (mi != 0 || ss != 0 || frac != 0))) return 2;
  p->micros_of_day = ((hh * 60 + mi) * 60 + ss) * kMicrosPerSecond + frac;
  while (i < t.size() && t[i] == ' ') ++i;
  if (i == t.size()) return 0;
  std::string_view zone = t.substr(i);
  if (EqualsIgnoreCase(zone, "Z") || EqualsIgnoreCase(zone, "UTC") || EqualsIgnoreCase(zone, "GMT")) return 0;
  if (zone[0] != '+' && zone[0] != '-') return 1;
  bool neg = zone[0] == '-';
  ++i;
  int64_t zh, zm = 0;
  size_t start = i;
  if (!number(1, 4, &zh)) return 1;
  if (i - start > 2) {  // "+0530"
    zm = zh % 100;
    zh /= 100;
  } else if (i < t.size() && t[i] == ':') {
    ++i;
    if (!number(2, 2, &zm)) return 1;
  }
  if (i != t.size()) return 1;
  if (zh > 15 || zm > 59) return 2;
  p->zone_seconds = (neg ? -1 : 1) * (zh * 3600 + zm * 60);
  return 0;
}

Status ParseError(int code, std::string_view type, std::string_view text) {
  if (code == 2) return Status::InvalidArgument("date/time field value out of range: \"" + std::string(text) + "\"");
  return Status::InvalidArgument("invalid input syntax for type " + std::string(type) + ": \"" + std::string(text) +
                                 "\"");
}

}  // namespace

int64_t DaysFromCivil(int64_t y, int m, int d) {
  // Howard Hinnant's days_from_civil.
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, int* m, int* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

void AppendDate(int64_t days, std::string* out) {
  if (days == kDateNegInfinity) { out->append("-infinity"); return; }
  if (days == kDatePosInfinity) { out->append("infinity"); return; }
  int64_t y;
  int m, d;
  CivilFromDays(days, &y, &m, &d);
  bool bc = AppendYear(y, out);
  out->push_back('-');
  Append2(m, out);
  out->push_back('-');
  Append2(d, out);
  if (bc) out->append(" BC");
}

void AppendTimestamp(int64_t micros, bool with_zone, std::string* out) {
  if (micros == kTimestampNegInfinity) { out->append("-infinity"); return; }
  if (micros == kTimestampPosInfinity) { out->append("infinity"); return; }
  int64_t days = FloorDiv(micros, kMicrosPerDay);
  int64_t rest = micros - days * kMicrosPerDay;
  int64_t y;
  int m, d;
  CivilFromDays(days, &y, &m, &d);
  bool bc = AppendYear(y, out);
  out->push_back('-');
  Append2(m, out);
  out->push_back('-');
  Append2(d, out);
  out->push_back(' ');
  int64_t secs = rest / kMicrosPerSecond;
  int64_t frac = rest % kMicrosPerSecond;
  Append2(static_cast<int>(secs / 3600), out);
  out->push_back(':');
  Append2(static_cast<int>(secs / 60 % 60), out);
  out->push_back(':');
  Append2(static_cast<int>(secs % 60), out);
  if (frac != 0) {
    char buf[8];
    int64_t f = frac;
    for (int i = 5; i >= 0; --i) {
      buf[i] = static_cast<char>('0' + f % 10);
      f /= 10;
    }
    int len = 6;
    while (len > 0 && buf[len - 1] == '0') --len;
    out->push_back('.');
    out->append(buf, static_cast<size_t>(len));
  }
  if (with_zone) out->append("+00");
  if (bc) out->append(" BC");
}

Status ParseDate(std::string_view text, int64_t* days) {
  Parsed p;
  int rc = ParseParts(text, &p);
  if (rc != 0) return ParseError(rc, "date", text);
  if (p.special != 0) {
    *days = p.special < 0 ? kDateNegInfinity : kDatePosInfinity;
    return Status::OK();
  }
  *days = p.days;
  return Status::OK();
}

Status ParseTimestamp(std::string_view text, bool with_zone, int64_t* micros) {
  Parsed p;
  int rc = ParseParts(text, &p);
  if (rc != 0) return ParseError(rc, with_zone ? "timestamp with time zone" : "timestamp without time zone", text);
  if (p.special != 0) {
    *micros = p.special < 0 ? kTimestampNegInfinity : kTimestampPosInfinity;
    return Status::OK();
  }
  int64_t v = p.days * kMicrosPerDay + p.micros_of_day;
  if (with_zone) v -= p.zone_seconds * kMicrosPerSecond;
  *micros = v;
  return Status::OK();
}

}  // namespace cdc::sql::datetime
