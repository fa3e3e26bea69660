// DebeziumEncoder: ChangeEvent -> Kafka (topic, key JSON, value JSON) exactly as Debezium's PostgreSQL
// connector (2.x) with Kafka Connect's JsonConverter writes them. Format: docs/DEBEZIUM.md.
//
//   key   = the primary-key struct                  {"id":1}   (nullopt when the table has no key)
//   value = the envelope {before, after, source, op, ts_ms, transaction}
//   with schemas=true each is {"schema":{...},"payload":{...}} (schema names "<prefix>.<schema>.<table>.Key",
//   ".Value", ".Envelope", "io.debezium.connector.postgresql.Source").
//
// Values arrive in PostgreSQL's text output format (DateStyle ISO, bytea_output hex or escape,
// extra_float_digits >= 1 / PostgreSQL >= 12 defaults) and are converted to Debezium's default types:
//   int2/int4/int8/oid -> int16/int32/int64, float4/float8 -> float/double, bool -> boolean,
//   numeric -> see DecimalMode, date -> int32 days (io.debezium.time.Date), timestamp(0..3) -> int64 millis
//   (io.debezium.time.Timestamp), other timestamps -> int64 micros (io.debezium.time.MicroTimestamp),
//   timestamptz -> UTC ISO-8601 string with the fraction padded to the column's precision
//   (io.debezium.time.ZonedTimestamp), time(0..3) -> int32 millis
//   (io.debezium.time.Time), other times -> int64 micros (io.debezium.time.MicroTime) (Debezium's default
//   time.precision.mode=adaptive), timetz -> string (io.debezium.time.ZonedTime),
//   json/jsonb -> string (io.debezium.data.Json), uuid -> string (io.debezium.data.Uuid), bytea -> base64
//   bytes, interval -> int64 micros (io.debezium.time.MicroDuration, 365.25 / 12 days a month), money -> see
//   DecimalMode (Decimal at scale 2), one-dimensional arrays of those -> JSON arrays (schema type "array"),
//   enums the catalog resolved -> string (io.debezium.data.Enum with the labels), domains -> their base type,
//   bit(1) -> boolean, bit(n>1)/varbit -> bytes (io.debezium.data.Bits), point -> io.debezium.data.geometry.Point,
//   everything else (text, varchar, bpchar, unknown types) -> string; NULL -> null.
// An unchanged TOAST value is taken from the old row when the event carries it there, otherwise it is
// Debezium's placeholder "__debezium_unavailable_value".
//
// Hot path: JSON is appended straight into reusable strings; per-table schema fragments are built once
// and cached (keyed by the TableSchema object, which is immutable; a schema change is a new object).
//
// Thread-safety: not thread-safe (keeps caches and per-transaction counters); one encoder per capture loop.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/status.h"
#include "event/change_event.h"
#include "event/column_selection.h"

namespace cdc::event {

// How numeric/decimal columns are encoded (Debezium's decimal.handling.mode).
enum class DecimalMode : uint8_t {
  kPrecise,  // bytes: Decimal (typmod present) or VariableScaleDecimal struct (no typmod); NaN/Infinity -> null
  kString,   // "12.34"; NaN -> "NAN", Infinity -> "POSITIVE_INFINITY", -Infinity -> "NEGATIVE_INFINITY"
             // (SpecialValueDecimal's enum names, what SpecialValueDecimal.fromLogical writes in string mode)
  kDouble,   // 12.34 (JSON number); NaN/Infinity as the quoted strings Jackson writes ("NaN", "Infinity")
};

// Parses "precise|string|double"; InvalidArgument otherwise.
Result<DecimalMode> ParseDecimalMode(std::string_view text);

// How time, date and timestamp columns are encoded (Debezium's time.precision.mode). timestamptz and timetz are
// ZonedTimestamp / ZonedTime strings in every mode.
enum class TimePrecisionMode : uint8_t {
  kAdaptive,                  // by the column's precision: Timestamp/Time (ms) for 0..3, MicroTimestamp/MicroTime
                              // (us) for 4..6; date -> io.debezium.time.Date
  kAdaptiveTimeMicroseconds,  // as adaptive, but every time column is MicroTime (us)
  kConnect,                   // Kafka Connect's logical types: org.apache.kafka.connect.data.Date (days),
                              // .Time (int32 ms of the day), .Timestamp (int64 ms); finer digits are dropped
};
// Parses "adaptive|adaptive_time_microseconds|connect"; InvalidArgument listing them otherwise.
Result<TimePrecisionMode> ParseTimePrecisionMode(std::string_view text);

// How bytea columns are encoded (Debezium's binary.handling.mode).
enum class BinaryMode : uint8_t {
  kBytes,      // schema bytes: JsonConverter writes base64
  kBase64,     // schema string: base64 (RFC 4648, padded)
  kBase64Url,  // schema string: URL-safe base64 (- and _, padded, as Java's Base64.getUrlEncoder())
  kHex,        // schema string: lowercase hex (Debezium's HexConverter)
};
// Parses "bytes|base64|base64-url-encoded|hex"; InvalidArgument listing them otherwise.
Result<BinaryMode> ParseBinaryMode(std::string_view text);

// How interval columns are encoded (Debezium's interval.handling.mode).
enum class IntervalMode : uint8_t {
  kNumeric,  // int64 io.debezium.time.MicroDuration: approximate microseconds (365.25 / 12 days a month)
  kString,   // string io.debezium.time.Interval: "P<y>Y<m>M<d>DT<h>H<min>M<s>S" (Interval.toIsoString)
};
// Parses "numeric|string"; InvalidArgument listing them otherwise.
Result<IntervalMode> ParseIntervalMode(std::string_view text);

// Debezium's skipped.operations: the ops whose events are not written. A bit per op (SkippedOps::Bit(op)).
struct SkippedOps {
  uint8_t bits = 0;
  static constexpr uint8_t Bit(Op op) {
    return op == Op::kCreate ? 1 : op == Op::kUpdate ? 2 : op == Op::kDelete ? 4 : op == Op::kTruncate ? 8 : 0;
  }
  bool Skips(Op op) const { return (bits & Bit(op)) != 0; }
  bool operator==(const SkippedOps&) const = default;
};
// Parses "none" or a comma-separated list of c, u, d, t (Debezium's names; "" is none); InvalidArgument listing
// what is allowed otherwise. Snapshot reads (r) cannot be skipped, as in Debezium.
Result<SkippedOps> ParseSkippedOperations(std::string_view text);

// A topic name as Debezium's topic naming strategy makes it valid for Kafka (sanitizedTopicName):
// every character outside [a-zA-Z0-9._-] becomes '_' (one per UTF-16 unit, as Java counts them: two
// for a character beyond U+FFFF; one per byte of invalid UTF-8), the result is cut to 249 characters,
// and "." and ".." become "_" and "__". A valid name is returned unchanged.
std::string KafkaTopicName(std::string_view name);

struct EncoderOptions {
  // Debezium's topic.prefix: source.name, topic "<prefix>.<schema>.<table>", schema names. Default "dbserver1".
  std::string topic_prefix = "dbserver1";
  // The database name (source.db). Default "postgres".
  std::string database = "postgres";
  // JsonConverter schemas.enable: wrap key and value in {"schema","payload"}. Default true.
  bool schemas = true;
  // decimal.handling.mode. Default precise.
  DecimalMode decimal_mode = DecimalMode::kPrecise;
  // time.precision.mode. Default adaptive (Debezium's default).
  TimePrecisionMode time_precision = TimePrecisionMode::kAdaptive;
  // binary.handling.mode. Default bytes (Debezium's default).
  BinaryMode binary_mode = BinaryMode::kBytes;
  // interval.handling.mode. Default numeric (Debezium's default).
  IntervalMode interval_mode = IntervalMode::kNumeric;
  // skipped.operations. Default none: cdcpipe writes truncates, which Debezium skips by default (its default is
  // "t"), because cdcpipe's own views need them (docs/DEBEZIUM.md, "Deliberate differences").
  SkippedOps skipped_ops = {};
  // column.include.list / column.exclude.list / message.key.columns (column_selection.h). Default: every column,
  // the primary key as the key.
  ColumnSelection columns;
  // tombstones.on.delete: a delete is followed by a record with the same key and a null value. Default true.
  bool tombstones = true;
  // provide.transaction.metadata: fill the envelope's `transaction` block (else null), and write BEGIN and END
  // records to "<topic_prefix>.transaction" (EndTransaction). Default false.
  bool transaction_metadata = false;
  // Topic names valid in Kafka (KafkaTopicName), as Debezium produces them: set where the records go to
  // Kafka. The embedded pipeline, which has no such limit, keeps the names whole. Default false.
  bool kafka_topic_names = false;
  // source.version. Default "2.5.4.Final" (the Debezium release whose format is reproduced).
  std::string connector_version = "2.5.4.Final";
};

// One Kafka message produced by the encoder (the same shape as log::Record, which lives downstream).
struct EncodedRecord {
  std::string topic;
  std::optional<std::string> key;    // nullopt: table without primary key, or a truncate
  std::optional<std::string> value;  // nullopt: tombstone
  int64_t timestamp_ms = 0;          // the envelope's ts_ms (processing time)
};

class DebeziumEncoder {
 public:
  explicit DebeziumEncoder(EncoderOptions options);
  ~DebeziumEncoder();
  DebeziumEncoder(const DebeziumEncoder&) = delete;
  DebeziumEncoder& operator=(const DebeziumEncoder&) = delete;

  const EncoderOptions& options() const { return options_; }

  // Appends the records for `event` to `out` (one record; two for a delete with tombstones on; none when
  // skipped_ops skips its op).
  // `now_ms` is the envelope's ts_ms (processing time); pass WallMillis().
  // Errors: InvalidArgument when a value does not parse as its column type (names table, column, value),
  // or when the event does not match its table schema.
  Status Encode(const ChangeEvent& event, int64_t now_ms, std::vector<EncodedRecord>* out);

  // Buffers of records the destination is done with (RecordSink::TakeSpareStrings): Encode writes the next
  // records' topics, keys and values into them before it allocates new ones. Takes them all (`strings` is
  // left empty); they are kept in two pools by capacity (values; topics and keys), so that a short string
  // does not take a value's buffer and the other way round, of at most 32768 strings each (more are freed).
  void AddSpareStrings(std::vector<std::string>* strings);
  // Whether either pool is low (fewer strings than the records of one event take).
  bool NeedsSpareStrings() const;

  // "<prefix>.<schema>.<table>".
  std::string TopicFor(const TableSchema& table) const;

  // provide.transaction.metadata: appends the END record of the transaction whose streamed events were encoded
  // since its BEGIN (Encode writes the BEGIN record before a transaction's first event), to
  // "<prefix>.transaction": {status, id, event_count, data_collections [{data_collection, event_count}], ts_ms}
  // as Debezium's TransactionMonitor writes it. Nothing when the option is off or no event of the transaction was
  // written (an empty or fully skipped transaction has neither BEGIN nor END, as in Debezium). Call at each commit,
  // before the transaction is made durable.
  void EndTransaction(int64_t now_ms, std::vector<EncodedRecord>* out);

 private:
  struct TableCache;
  TableCache* CacheFor(const std::shared_ptr<const TableSchema>& table);
  Status AppendRow(const TableCache& tc, const Row& row, const Row* old_row, std::string* out);

  // A spare string (emptied) from the pool of values or of short strings, or a new one.
  std::string TakeSpare(bool value);

  EncoderOptions options_;
  std::vector<std::string> spare_values_, spare_short_;  // see AddSpareStrings
  std::unordered_map<const TableSchema*, std::unique_ptr<TableCache>> cache_;
  TableCache* last_ = nullptr;  // the most recently used entry (most events hit the same table)
  // Transaction metadata: per-table event counters of the current transaction.
  uint64_t tx_xid_ = 0;
  Lsn tx_commit_lsn_;
  std::unordered_map<const TableSchema*, uint64_t> tx_table_counts_;
  // The transaction topic: whether a BEGIN was written and its END is due, the commit time (ts_ms), the events
  // written and their count per "schema.table" in first-seen order (END's data_collections).
  bool tx_open_ = false;
  int64_t tx_commit_time_us_ = 0;
  uint64_t tx_events_ = 0;
  std::vector<std::pair<std::string, uint64_t>> tx_collections_;
  EncodedRecord TransactionRecord(bool end, int64_t now_ms) const;
};

// Value conversions, exposed for unit tests and for other encoders. Each appends the JSON form of one
// PostgreSQL text value to `out`, or returns InvalidArgument (naming the value) when it does not parse.
namespace pgtext {
// "2024-01-02" -> days since 1970-01-01 (negative before); "infinity" -> INT32_MAX, "-infinity" -> INT32_MIN.
Result<int32_t> DateToEpochDays(std::string_view text);
// "2024-01-02 03:04:05.123456" -> micros since epoch; "infinity" -> 9223372036825200000 and "-infinity" ->
// -9223372036832400000: pgjdbc's PGStatement.DATE_POSITIVE/NEGATIVE_INFINITY read as microseconds, which is
// what Debezium's PostgreSQL connector emits (PostgresValueConverter.POSITIVE_INFINITY_INSTANT).
Result<int64_t> TimestampToEpochMicros(std::string_view text);
// "2024-01-02 03:04:05.123" -> millis since epoch (io.debezium.time.Timestamp, Debezium's form of
// timestamp(0..3) with time.precision.mode=adaptive), rounded towards negative infinity like
// Instant.toEpochMilli (exact for a timestamp(0..3) value); infinity -> 9223372036825200 / -infinity ->
// -9223372036832400 (TimestampToEpochMicros' values in milliseconds, as Debezium computes them).
Result<int64_t> TimestampToEpochMillis(std::string_view text);
// "2024-01-02 04:04:05.123+01" -> "2024-01-02T03:04:05.123Z"; "infinity"/"-infinity" kept as is.
// `fraction_digits` 1..9 writes exactly that many fraction digits, as Debezium's ZonedTimestamp.toIsoString
// does with the column's precision ("...:05.000000Z" for a plain timestamptz, whose precision is 6); other
// values (0 = timestamptz(0), -1 = unspecified) write java.time's ISO form: trailing zeros dropped.
Result<std::string> TimestamptzToIsoUtc(std::string_view text, int fraction_digits = -1);
// "03:04:05.123456" -> micros since midnight ("24:00:00" -> 86400000000).
Result<int64_t> TimeToMicros(std::string_view text);
// "03:04:05.123" -> millis since midnight (io.debezium.time.Time, Debezium's form of time(0..3) with
// time.precision.mode=adaptive; "24:00:00" -> 86400000).
Result<int32_t> TimeToMillis(std::string_view text);
// "03:04:05.5+02" -> "01:04:05.5Z" (io.debezium.time.ZonedTime).
Result<std::string> TimetzToIsoUtc(std::string_view text);
// bytea text ("\x0a0b" hex or escape format) -> raw bytes.
Result<std::string> ByteaToBytes(std::string_view text);
// Base64 (RFC 4648, with padding) of `bytes`, appended to `out`.
void AppendBase64(std::string* out, std::string_view bytes);
// A decimal text ("-12.340") -> big-endian two's-complement unscaled bytes ("-12340") and its scale (3).
// `target_scale` >= 0 rescales (pads zeros) to that scale first. NaN/Infinity -> InvalidArgument.
Result<std::string> DecimalToUnscaledBytes(std::string_view text, int target_scale, int32_t* scale);

// interval text (IntervalStyle postgres "1 year 2 mons -3 days +04:05:06.78", postgres_verbose
// "@ 1 year 2 mons ago", or iso_8601 "P1Y2M3DT4H5M6.78S") -> Debezium's io.debezium.time.MicroDuration:
// ((years * 12 + months) * 30.4375 + days) days (365.25 / 12 days per month, so a year is 365.25 days)
// plus the time, computed in double precision and truncated towards zero exactly as Debezium's
// MicroDuration.durationMicros does with pgjdbc's PGInterval fields (saturating at INT64_MIN/MAX).
Result<int64_t> IntervalToMicros(std::string_view text);
// The same interval text -> Debezium's io.debezium.time.Interval (interval.handling.mode=string), as
// Interval.toIsoString builds it from pgjdbc's PGInterval fields: "P<years>Y<months>M<days>DT<hours>H<minutes>M
// <seconds>S", each field signed as PostgreSQL prints it ("1 year 2 mons 3 days 04:05:06.78" ->
// "P1Y2M3DT4H5M6.78S", "-1 days -02:00:00.5" -> "P0Y0M-1DT-2H0M-0.5S", "00:00:00" -> "P0Y0M0DT0H0M0S"). The seconds
// are pgjdbc's double (whole + micros / 1e6) taken exactly (new BigDecimal(double)), truncated to 6 digits and
// printed without trailing zeros, so a fraction whose double is just below it loses a microsecond as in Debezium
// ("00:00:05.287137" -> "5.287136S").
Result<std::string> IntervalToIsoString(std::string_view text);
// money text as lc_monetary C / en_US prints it ("$1,234.56", "-$0.07") -> the plain decimal "1234.56" /
// "-0.07" (sign, digits, '.', fraction digits as printed; no rounding).
Result<std::string> MoneyToDecimal(std::string_view text);
// The string Debezium writes for a money value with decimal.handling.mode=string: pgjdbc reads money as a
// Java double and Debezium prints BigDecimal.valueOf(double).toPlainString(), so "$1,000.00" -> "1000.0",
// "$1,234.50" -> "1234.5", "$12,345,678.90" -> "12345678.9".
Result<std::string> MoneyToDebeziumString(std::string_view text);

// bit/varbit text ("1011") -> io.debezium.data.Bits bytes as Debezium's PostgresValueConverter.convertBits builds
// them: the last character is bit 0, bits go into a java.util.BitSet and out through BitSet.toByteArray()
// (little-endian, as many bytes as the highest set bit needs: "00" -> no bytes, "11" -> {0x03},
// "1000000001" -> {0x01, 0x02}). Empty result = no bit set (what bit(1) -> false uses). Other characters:
// InvalidArgument.
Result<std::string> BitStringToDebeziumBits(std::string_view text);
// point text "(x,y)" -> its coordinates (float8 text each, NaN/Infinity accepted as pgjdbc's PGpoint does).
Status ParsePoint(std::string_view text, double* x, double* y);
// The 21-byte OGC WKB of a 2D point as io.debezium.data.geometry.Point.buildWKBPoint writes it: byte order
// marker 1, then type 1 (int32) and x, y (float64), all little-endian.
std::string PointWkb(double x, double y);

// One element of a parsed array literal.
struct ArrayElement {
  bool null = false;      // an unquoted NULL
  std::string_view text;  // the element with quotes and backslash escapes undone
};
// Parses PostgreSQL's text output of a one-dimensional array (array_out): {}  {1,2,NULL}
// {"a b","q\"x","NULL",""} (quoted elements undo \ escapes; only an unquoted NULL is SQL NULL), with an
// optional "[lower:upper]=" prefix. `delimiter` is the element type's
// typdelim (',' for every type cdcpipe converts). Views point into `text` or into `storage` (cleared and
// reused). Errors: InvalidArgument naming the byte offset and what was expected; multidimensional arrays
// are an error (only one dimension is converted).
Status ParseArray(std::string_view text, char delimiter, std::vector<ArrayElement>* elements, std::string* storage);
}  // namespace pgtext

}  // namespace cdc::event
