// Debezium JSON column values -> sql::Datum, per the column's catalog type and the capture's
// decimal.handling.mode (docs/DEBEZIUM.md; src/event/debezium_encoder.cc writes these forms):
//   bool                         true/false                         -> Bool
//   int2/int4/int8/oid           JSON integer                       -> Int
//   float4/float8                JSON number, "NaN"/"Infinity"/"-Infinity"  -> Float
//   numeric(p,s), precise        base64 of the big-endian two's-complement unscaled value at scale s
//   numeric, precise             {"scale":n,"value":"<base64>"}     -> Numeric
//   numeric, string              "12.34" ("NAN"/"POSITIVE_INFINITY"/"NEGATIVE_INFINITY" -> NULL, as
//                                precise mode sends them)            -> Numeric
//   numeric, double              JSON number or "NaN"/"Infinity"     -> Float
//   date                         int32 days                          -> Int (days)
//   timestamp(0..3)              int64 milliseconds (adaptive)       -> Int (microseconds)
//   timestamp(4..6), timestamp   int64 microseconds                  -> Int
//   timestamptz                  "2024-01-02T10:00:00.123456Z"       -> Int (UTC microseconds);
//                                "infinity"/"-infinity" -> INT64 max/min
//   everything else (text, varchar, bpchar, name, uuid, enum, json, ...)  JSON string -> Text
// Domains decode as their base type. A numeric beyond 38 digits is InvalidArgument.
//
// Thread-safety: plain functions.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "event/change_event.h"
#include "event/debezium_encoder.h"
#include "sql/datum.h"

namespace cdc::analytics {

// How one column's JSON value decodes.
struct ValueReader {
  enum class Form : uint8_t {
    kBool,
    kInt,
    kFloat,
    kDecimalFixed,     // base64 at `scale`
    kDecimalVariable,  // {"scale","value"}
    kDecimalString,    // "12.34"
    kDecimalDouble,    // a number -> Float
    kDate,
    kTimestampMillis,
    kTimestampMicros,
    kTimestamptz,
    kText,
  };
  Form form = Form::kText;
  int scale = 0;
  sql::Type type;  // the SQL type the value has in views (for messages and output)
};

ValueReader ReaderFor(const event::Column& column, event::DecimalMode mode);

// Decodes one value (JSON null -> Null). InvalidArgument naming the column when the value does not
// have the form its type requires.
Status DecodeValue(simdjson::ondemand::value& v, const ValueReader& reader, std::string_view column,
                   sql::Datum* out);

// The same value from the PostgreSQL text the encoder converted (as capture decoded it from pgoutput;
// nullopt = NULL), without the JSON: for every value the encoder accepts, the Datum and the error are
// those DecodeValue gives for the JSON the encoder writes (tested: change_projector_test).
// REQUIRES: ReadableFromText(column) for the column `reader` was made for; the value is not an unchanged
// TOAST value (its JSON is a placeholder that only the JSON path reads).
Status DecodeText(std::optional<std::string_view> text, const ValueReader& reader, std::string_view column,
                  sql::Datum* out);
// Whether DecodeText reads `column`'s values (by its type): the types views read (docs/VIEWS.md:
// boolean, integers, oid, real, double, numeric, date, timestamp, timestamptz, text, varchar, char,
// name, uuid, enums, and domains over those). Other columns are read from the JSON only.
bool ReadableFromText(const event::Column& column);

// Parsing helpers, exposed for tests.
// Big-endian two's-complement bytes -> unscaled value; false when beyond 38 digits.
bool UnscaledFromBytes(std::string_view bytes, __int128* out);
bool DecodeBase64(std::string_view text, std::string* out);
// "-12.340" -> unscaled -12340, scale 3; false when not a decimal or beyond 38 digits.
bool ParseDecimal(std::string_view text, __int128* unscaled, int* scale);
// "2024-01-02T10:00:00.123456Z" (any fraction length up to 9, 'Z' or +hh:mm) -> UTC microseconds.
bool ParseIsoTimestamp(std::string_view text, int64_t* micros);

}  // namespace cdc::analytics
