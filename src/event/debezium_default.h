// Column defaults in the Kafka Connect schema, as Debezium's PostgreSQL connector derives them (its default-value
// converter, PostgresDefaultValueConverter in 2.5). Format and sources: docs/DEBEZIUM.md, "Column defaults".
//
// The input is the default expression as the catalog prints it (pg_get_expr(pg_attrdef.adbin, adrelid):
// `nextval('t_id_seq'::regclass)`, `'-1'::integer`, `now()`, `CURRENT_DATE`, `'ab'::character varying`, `true`).
// Debezium parses it per column type, without evaluating anything:
//   - a function call (`name(...)`, `(name(...)`) or CURRENT_TIMESTAMP / CURRENT_TIME / CURRENT_DATE /
//     LOCALTIME / LOCALTIMESTAMP becomes a fixed placeholder of the type: 0 for integers (so a serial key
//     column says "default":0), 0.0 for numeric and floats, false, "", "{}" for json, the zero UUID, the epoch
//     for dates and times, a zero interval;
//   - `NULL::type` is no default;
//   - otherwise the text inside the first pair of single quotes, or the whole expression when it has none
//     (the quotes are matched lazily, as Debezium's `'(.*?)'`: `'it''s'::text` gives `it`);
//   - the result is parsed as the type (an integer must be an integer ...); what does not parse is no default.
// Only the types Debezium has a parser for get a default: bool, int2/int4/int8, float4/float8, numeric, bpchar,
// varchar, text, json, jsonb, xml, uuid, date, time, timestamp, timestamptz, interval, bit, varbit and enums.
// Domains, arrays, bytea, money, timetz, point and the rest get none. The encoder then converts the value like a
// column value of the same type (DebeziumEncoder), and drops it where Debezium does (a struct schema:
// VariableScaleDecimal, KAFKA-12694).
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "event/change_event.h"

namespace cdc::event {

// The default of `column` in PostgreSQL's text output form of its type ("0", "t", "1970-01-01 00:00:00",
// "it", "101"), ready for the encoder's value conversion; nullopt when Debezium would write no default.
std::optional<std::string> DebeziumDefaultText(const Column& column);

}  // namespace cdc::event
