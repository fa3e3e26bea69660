// Calendar arithmetic and PostgreSQL's ISO text forms of date, timestamp and timestamptz, over
// datum.h's representation (days / microseconds since 1970-01-01, timestamptz in UTC). Internal to
// src/sql. The proleptic Gregorian calendar, as PostgreSQL's; years <= 0 print as "... BC".
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace cdc::sql::datetime {

inline constexpr int64_t kMicrosPerSecond = 1000000;
inline constexpr int64_t kMicrosPerDay = 86400 * kMicrosPerSecond;
// PostgreSQL's DATEVAL_NOBEGIN/NOEND and DT_NOBEGIN/NOEND: -infinity and infinity.
inline constexpr int64_t kDateNegInfinity = INT32_MIN;
inline constexpr int64_t kDatePosInfinity = INT32_MAX;
inline constexpr int64_t kTimestampNegInfinity = INT64_MIN;
inline constexpr int64_t kTimestampPosInfinity = INT64_MAX;

// Days since 1970-01-01 of the civil date (year 0 = 1 BC).
int64_t DaysFromCivil(int64_t y, int m, int d);
void CivilFromDays(int64_t days, int64_t* y, int* m, int* d);

// Floor division and modulo (towards -infinity), for negative timestamps.
inline int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }
inline int64_t FloorMod(int64_t a, int64_t b) { return a - FloorDiv(a, b) * b; }

// "2024-01-02", "2024-01-02 10:00:00.5", "2024-01-02 10:00:00.5+00" (DateStyle ISO, TimeZone UTC).
void AppendDate(int64_t days, std::string* out);
void AppendTimestamp(int64_t micros, bool with_zone, std::string* out);

// PostgreSQL's input forms that views accept: "YYYY-MM-DD", optionally followed by (space or T)
// "HH:MM[:SS[.fraction]]" and a zone ("Z", "UTC", "+HH", "+HH:MM", "-HHMM"), and "infinity",
// "-infinity", "epoch"; an optional " BC". A zone is applied to timestamptz and ignored by timestamp
// (as PostgreSQL does). InvalidArgument "invalid input syntax for type <name>: \"x\"" otherwise,
// "date/time field value out of range" for a bad day or hour.
Status ParseDate(std::string_view text, int64_t* days);
Status ParseTimestamp(std::string_view text, bool with_zone, int64_t* micros);

}  // namespace cdc::sql::datetime
