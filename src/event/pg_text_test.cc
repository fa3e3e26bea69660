// Unit tests of the PostgreSQL text -> Debezium value conversions. Expected decimal bytes were computed
// independently (Node BigInt, the same bytes Java's BigInteger.toByteArray gives).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "event/debezium_encoder.h"

namespace cdc::event::pgtext {
namespace {

std::string B64(std::string_view bytes) {
  std::string out;
  AppendBase64(&out, bytes);
  return out;
}

std::string DecimalB64(std::string_view text, int target_scale, int32_t* scale) {
  auto r = DecimalToUnscaledBytes(text, target_scale, scale);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
  return r.ok() ? B64(*r) : "";
}

TEST(PgTextTest, Base64) {
  EXPECT_EQ(B64(""), "");
  EXPECT_EQ(B64("f"), "Zg==");
  EXPECT_EQ(B64("fo"), "Zm8=");
  EXPECT_EQ(B64("foo"), "Zm9v");
  EXPECT_EQ(B64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(B64(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(PgTextTest, DecimalUnscaledTwosComplement) {
  int32_t scale = -1;
  EXPECT_EQ(DecimalB64("0", -1, &scale), "AA==");
  EXPECT_EQ(scale, 0);
  EXPECT_EQ(DecimalB64("0.00", -1, &scale), "AA==");
  EXPECT_EQ(scale, 2);
  EXPECT_EQ(DecimalB64("-1", -1, &scale), "/w==");
  EXPECT_EQ(DecimalB64("128", -1, &scale), "AIA=");
  EXPECT_EQ(DecimalB64("-128", -1, &scale), "gA==");
  EXPECT_EQ(DecimalB64("-129", -1, &scale), "/38=");
  EXPECT_EQ(DecimalB64("255", -1, &scale), "AP8=");
  EXPECT_EQ(DecimalB64("-256", -1, &scale), "/wA=");
  EXPECT_EQ(DecimalB64("1.23", -1, &scale), "ew==");
  EXPECT_EQ(scale, 2);
  EXPECT_EQ(DecimalB64("-12.340", -1, &scale), "z8w=");
  EXPECT_EQ(scale, 3);
  EXPECT_EQ(DecimalB64("99999999999999999999", -1, &scale), "BWvHXi1jD///");
  EXPECT_EQ(DecimalB64("-99999999999999999999", -1, &scale), "+pQ4odKc8AAB");
  EXPECT_EQ(DecimalB64("12345678901234567890123456789.0123456789", -1, &scale), "XODppWAV/sWq36MorjmBFQ==");
  EXPECT_EQ(scale, 10);
  EXPECT_EQ(DecimalB64("0.000000001", -1, &scale), "AQ==");
  EXPECT_EQ(scale, 9);
}

TEST(PgTextTest, DecimalRescalesToColumnScale) {
  int32_t scale = -1;
  EXPECT_EQ(DecimalB64("1.2", 2, &scale), "eA==");  // 120
  EXPECT_EQ(scale, 2);
  EXPECT_EQ(DecimalB64("-12.34", 3, &scale), "z8w=");  // -12340
  EXPECT_FALSE(DecimalToUnscaledBytes("1.234", 2, &scale).ok());
}

TEST(PgTextTest, DecimalSpecialAndGarbageRejected) {
  int32_t scale;
  for (const char* t : {"NaN", "Infinity", "-Infinity", "", "-", "1.2.3", "1e5", "abc"}) {
    auto r = DecimalToUnscaledBytes(t, -1, &scale);
    EXPECT_TRUE(r.status().IsInvalidArgument()) << t;
  }
}

TEST(PgTextTest, Dates) {
  EXPECT_EQ(*DateToEpochDays("1970-01-01"), 0);
  EXPECT_EQ(*DateToEpochDays("2024-01-02"), 19724);
  EXPECT_EQ(*DateToEpochDays("1969-12-31"), -1);
  EXPECT_EQ(*DateToEpochDays("1900-02-28"), -25509);
  EXPECT_EQ(*DateToEpochDays("2000-02-29"), 11016);
  EXPECT_EQ(*DateToEpochDays("0001-01-01"), -719162);
  EXPECT_EQ(*DateToEpochDays("0001-12-31 BC"), -719163);  // 1 BC = proleptic year 0
  EXPECT_EQ(*DateToEpochDays("0001-01-01 BC"), -719528);  // year 0 is a leap year
  EXPECT_EQ(*DateToEpochDays("infinity"), std::numeric_limits<int32_t>::max());
  EXPECT_EQ(*DateToEpochDays("-infinity"), std::numeric_limits<int32_t>::min());
  EXPECT_TRUE(DateToEpochDays("2024-13-01").status().IsInvalidArgument());
  EXPECT_TRUE(DateToEpochDays("01/02/2024").status().IsInvalidArgument());
  EXPECT_TRUE(DateToEpochDays("2024-01-02x").status().IsInvalidArgument());
}

TEST(PgTextTest, Timestamps) {
  EXPECT_EQ(*TimestampToEpochMicros("1970-01-01 00:00:00"), 0);
  EXPECT_EQ(*TimestampToEpochMicros("2024-01-02 03:04:05.123456"), 1704164645123456);
  EXPECT_EQ(*TimestampToEpochMicros("2024-01-02 03:04:05.5"), 1704164645500000);
  EXPECT_EQ(*TimestampToEpochMicros("1969-12-31 23:59:59.5"), -500000);
  // pgjdbc's PGStatement.DATE_POSITIVE_INFINITY / DATE_NEGATIVE_INFINITY as microseconds: Debezium's
  // PostgresValueConverter.POSITIVE_INFINITY_INSTANT = Conversions.toInstantFromMicros(DATE_POSITIVE_INFINITY).
  EXPECT_EQ(*TimestampToEpochMicros("infinity"), 9223372036825200000LL);
  EXPECT_EQ(*TimestampToEpochMicros("-infinity"), -9223372036832400000LL);
  EXPECT_TRUE(TimestampToEpochMicros("2024-01-02").status().IsInvalidArgument());
  EXPECT_TRUE(TimestampToEpochMicros("2024-01-02 03:04:05.1234567").status().IsInvalidArgument());
}

// io.debezium.time.Timestamp (timestamp(0..3) under time.precision.mode=adaptive): epoch milliseconds as
// Instant.toEpochMilli gives them (floor); io.debezium.time.Time: milliseconds of the day.
TEST(PgTextTest, MillisecondTimestampsAndTimes) {
  EXPECT_EQ(*TimestampToEpochMillis("2024-01-02 03:04:05.123"), 1704164645123);
  EXPECT_EQ(*TimestampToEpochMillis("2024-01-02 03:04:05"), 1704164645000);
  EXPECT_EQ(*TimestampToEpochMillis("1969-12-31 23:59:59.999"), -1);
  EXPECT_EQ(*TimestampToEpochMillis("1969-12-31 23:59:59.9995"), -1);  // floor, not truncation towards 0
  EXPECT_TRUE(TimestampToEpochMillis("2024-01-02").status().IsInvalidArgument());
  // The same instants in milliseconds (Instant.toEpochMilli of POSITIVE_/NEGATIVE_INFINITY_INSTANT).
  EXPECT_EQ(*TimestampToEpochMillis("infinity"), 9223372036825200LL);
  EXPECT_EQ(*TimestampToEpochMillis("-infinity"), -9223372036832400LL);
  EXPECT_EQ(*TimeToMillis("03:04:05.123"), 11045123);
  EXPECT_EQ(*TimeToMillis("24:00:00"), 86400000);
  EXPECT_TRUE(TimeToMillis("25:00:00").status().IsInvalidArgument());
}

TEST(PgTextTest, TimestamptzToUtc) {
  EXPECT_EQ(*TimestamptzToIsoUtc("2024-01-02 03:04:05.123456+00"), "2024-01-02T03:04:05.123456Z");
  EXPECT_EQ(*TimestamptzToIsoUtc("2024-01-02 04:04:05.123456+01"), "2024-01-02T03:04:05.123456Z");
  EXPECT_EQ(*TimestamptzToIsoUtc("2024-01-02 08:34:05+05:30"), "2024-01-02T03:04:05Z");
  EXPECT_EQ(*TimestamptzToIsoUtc("2024-01-01 19:04:05.12-08"), "2024-01-02T03:04:05.12Z");
  EXPECT_EQ(*TimestamptzToIsoUtc("1969-12-31 23:00:00-02"), "1970-01-01T01:00:00Z");
  // Beyond int64 microseconds (PostgreSQL allows 294276 AD): clamped, no overflow.
  EXPECT_EQ(*TimestampToEpochMicros("294247-01-10 04:00:54.775807"), 9223372036854775807);
  EXPECT_EQ(*TimestampToEpochMicros("294276-12-31 23:59:59.999999"), 9223372036854775807);
  // PostgreSQL's extremes (issue 17 golden records): no int64 overflow near 294276 AD; java.time's year signs.
  EXPECT_EQ(*TimestamptzToIsoUtc("294276-12-31 23:59:59.999999+00", 6), "+294276-12-31T23:59:59.999999Z");
  EXPECT_EQ(*TimestamptzToIsoUtc("294276-12-31 23:59:59.999999+00:30", 6), "+294276-12-31T23:29:59.999999Z");
  EXPECT_EQ(*TimestamptzToIsoUtc("4713-01-01 00:00:00+00 BC", 6), "-4712-01-01T00:00:00.000000Z");
  EXPECT_EQ(*TimestamptzToIsoUtc("1969-12-31 23:59:59.999999+00"), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(*TimestamptzToIsoUtc("1900-01-01 00:00:00+01:24:00"), "1899-12-31T22:36:00Z");
  EXPECT_EQ(*TimestamptzToIsoUtc("0044-03-15 12:00:00+00 BC"), "-0043-03-15T12:00:00Z");
  EXPECT_EQ(*TimestamptzToIsoUtc("infinity"), "infinity");
  EXPECT_EQ(*TimestamptzToIsoUtc("-infinity"), "-infinity");
  EXPECT_TRUE(TimestamptzToIsoUtc("2024-01-02 03:04:05").status().IsInvalidArgument());
}

// Debezium's ZonedTimestamp.toIsoString with the column's precision as fractionalWidth (1..9: exactly that
// many digits; 0 or none: java.time's ISO_OFFSET_DATE_TIME, trailing zeros dropped). debezium-core
// io/debezium/time/ZonedTimestamp.java, getDateTimeFormatter.
TEST(PgTextTest, TimestamptzFractionPaddedToPrecision) {
  EXPECT_EQ(*TimestamptzToIsoUtc("2024-01-02 04:04:30+01", 6), "2024-01-02T03:04:30.000000Z");
  EXPECT_EQ(*TimestamptzToIsoUtc("2024-01-02 04:04:30.5+01", 6), "2024-01-02T03:04:30.500000Z");
  EXPECT_EQ(*TimestamptzToIsoUtc("2024-01-02 04:04:30.123456+01", 6), "2024-01-02T03:04:30.123456Z");
  EXPECT_EQ(*TimestamptzToIsoUtc("2024-01-02 04:04:30.1+01", 3), "2024-01-02T03:04:30.100Z");
  EXPECT_EQ(*TimestamptzToIsoUtc("2024-01-02 04:04:30.1+01", 1), "2024-01-02T03:04:30.1Z");
  EXPECT_EQ(*TimestamptzToIsoUtc("2024-01-02 04:04:30+01", 0), "2024-01-02T03:04:30Z");
  EXPECT_EQ(*TimestamptzToIsoUtc("1969-12-31 23:59:59.999999+00", 6), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(*TimestamptzToIsoUtc("1969-12-31 23:59:59+00", 9), "1969-12-31T23:59:59.000000000Z");
  EXPECT_EQ(*TimestamptzToIsoUtc("infinity", 6), "infinity");
}

// PostgresValueConverter.convertBits: the rightmost character is bit 0; BitSet.toByteArray() is little-endian
// and as short as the highest set bit allows.
TEST(PgTextTest, BitsAsDebeziumBytes) {
  EXPECT_EQ(*BitStringToDebeziumBits("1"), std::string("\x01", 1));
  EXPECT_EQ(*BitStringToDebeziumBits("10"), std::string("\x02", 1));
  EXPECT_EQ(*BitStringToDebeziumBits("000"), "");
  EXPECT_EQ(*BitStringToDebeziumBits("100000000"), std::string("\x00\x01", 2));
  EXPECT_EQ(*BitStringToDebeziumBits("11111111"), std::string("\xff", 1));
  EXPECT_EQ(*BitStringToDebeziumBits(""), "");
  EXPECT_TRUE(BitStringToDebeziumBits("102").status().IsInvalidArgument());
}

TEST(PgTextTest, PointsAndTheirWkb) {
  double x = 0, y = 0;
  ASSERT_TRUE(ParsePoint("(1.5,-2)", &x, &y).ok());
  EXPECT_EQ(x, 1.5);
  EXPECT_EQ(y, -2.0);
  ASSERT_TRUE(ParsePoint("(1e+100,-0.000123)", &x, &y).ok());
  EXPECT_EQ(x, 1e100);
  ASSERT_TRUE(ParsePoint("(NaN,-Infinity)", &x, &y).ok());
  EXPECT_TRUE(std::isnan(x));
  EXPECT_TRUE(std::isinf(y) && y < 0);
  EXPECT_TRUE(ParsePoint("1,2", &x, &y).IsInvalidArgument());
  EXPECT_TRUE(ParsePoint("(1,)", &x, &y).IsInvalidArgument());
  EXPECT_TRUE(ParsePoint("(+1,2)", &x, &y).IsInvalidArgument());
  // Point.buildWKBPoint(1.5, -2): 01 | 01 00 00 00 | 1.5 LE | -2.0 LE
  EXPECT_EQ(PointWkb(1.5, -2), std::string("\x01\x01\x00\x00\x00"
                                           "\x00\x00\x00\x00\x00\x00\xf8\x3f"
                                           "\x00\x00\x00\x00\x00\x00\x00\xc0", 21));
}

TEST(PgTextTest, Times) {
  EXPECT_EQ(*TimeToMicros("00:00:00"), 0);
  EXPECT_EQ(*TimeToMicros("03:04:05.123456"), 11045123456);
  EXPECT_EQ(*TimeToMicros("24:00:00"), 86400000000);
  EXPECT_TRUE(TimeToMicros("25:00:00").status().IsInvalidArgument());
  EXPECT_EQ(*TimetzToIsoUtc("03:04:05.5+02"), "01:04:05.5Z");
  EXPECT_EQ(*TimetzToIsoUtc("23:30:00-01"), "00:30:00Z");
}

TEST(PgTextTest, Bytea) {
  EXPECT_EQ(*ByteaToBytes("\\x"), "");
  EXPECT_EQ(*ByteaToBytes("\\x00ff41"), std::string("\x00\xff" "A", 3));
  EXPECT_EQ(*ByteaToBytes("a\\\\b\\001"), std::string("a\\b\x01", 4));
  EXPECT_TRUE(ByteaToBytes("\\x0").status().IsInvalidArgument());
  EXPECT_TRUE(ByteaToBytes("\\xzz").status().IsInvalidArgument());
}

// Debezium's MicroDuration: ((years * 12 + months) * 365.25 / 12 + days) days + time, in double precision,
// truncated. Expected values computed independently (Python floats, the same IEEE doubles Java uses).
TEST(PgTextTest, IntervalPostgresStyle) {
  EXPECT_EQ(*IntervalToMicros("00:00:00"), 0);
  EXPECT_EQ(*IntervalToMicros("1 mon"), 2629800000000);    // 30.4375 days, not 30
  EXPECT_EQ(*IntervalToMicros("1 year"), 31557600000000);  // 365.25 days
  EXPECT_EQ(*IntervalToMicros("1 year 2 mons 3 days 04:05:06.78"), 37091106780000);
  EXPECT_EQ(*IntervalToMicros("-1 years -2 mons +3 days -04:05:06.78"), -36572706780000);
  EXPECT_EQ(*IntervalToMicros("1 day 02:00:00.3"), 93600300000);
  EXPECT_EQ(*IntervalToMicros("00:00:00.000001"), 1);
  EXPECT_EQ(*IntervalToMicros("-00:00:00.5"), -500000);
  EXPECT_EQ(*IntervalToMicros("2562047788:00:54.775807"), 9223372036854775807);  // hours beyond int32
  // Debezium's double arithmetic truncates 5.287137 s to 5287136 us; so do we, to match it.
  EXPECT_EQ(*IntervalToMicros("00:00:05.287137"), 5287136);
  EXPECT_EQ(*IntervalToMicros("7 days"), 604800000000);
}

// interval.handling.mode=string: Debezium's Interval.toIsoString(years, months, days, hours, minutes,
// new BigDecimal(PGInterval.getSeconds())): "P..Y..M..DT..H..M..S", seconds truncated (RoundingMode.DOWN) to 6 digits
// of the double's exact value, trailing zeros stripped (debezium-core io/debezium/time/Interval.java). The exact
// values of the doubles were printed with Node's toPrecision(30): 5.287137 -> 5.28713699999999953..., 6.78 ->
// 6.78000000000000024..., 1e-6 -> 9.99999999999999954...e-7.
TEST(PgTextTest, IntervalIsoStringAsDebezium) {
  EXPECT_EQ(*IntervalToIsoString("00:00:00"), "P0Y0M0DT0H0M0S");
  EXPECT_EQ(*IntervalToIsoString("1 year 2 mons 3 days 04:05:06.78"), "P1Y2M3DT4H5M6.78S");
  EXPECT_EQ(*IntervalToIsoString("-1 years -2 mons +3 days -04:05:06.78"), "P-1Y-2M3DT-4H-5M-6.78S");
  EXPECT_EQ(*IntervalToIsoString("-178000000 years"), "P-178000000Y0M0DT0H0M0S");
  EXPECT_EQ(*IntervalToIsoString("00:00:05.287137"), "P0Y0M0DT0H0M5.287136S");
  EXPECT_EQ(*IntervalToIsoString("00:00:00.000001"), "P0Y0M0DT0H0M0S");
  EXPECT_EQ(*IntervalToIsoString("-00:00:04.5"), "P0Y0M0DT0H0M-4.5S");
  EXPECT_EQ(*IntervalToIsoString("00:01:00"), "P0Y0M0DT0H1M0S");
  EXPECT_EQ(*IntervalToIsoString("P1Y2M3DT4H5M6.78S"), "P1Y2M3DT4H5M6.78S");
  EXPECT_FALSE(IntervalToIsoString("1 fortnight").ok());
}

TEST(PgTextTest, IntervalVerboseAndIsoStyles) {
  EXPECT_EQ(*IntervalToMicros("@ 0"), 0);
  EXPECT_EQ(*IntervalToMicros("@ 1 year 2 mons 3 days 4 hours 5 mins 6.78 secs"), 37091106780000);
  EXPECT_EQ(*IntervalToMicros("@ 1 year 2 mons -3 days 4 hours 5 mins 6.78 secs ago"), -36572706780000);
  EXPECT_EQ(*IntervalToMicros("@ 1 sec"), 1000000);
  EXPECT_EQ(*IntervalToMicros("P1Y2M3DT4H5M6.78S"), 37091106780000);
  EXPECT_EQ(*IntervalToMicros("P-1Y-2M3DT-4H-5M-6.78S"), -36572706780000);
  EXPECT_EQ(*IntervalToMicros("PT0S"), 0);
}

TEST(PgTextTest, IntervalGarbageIsAClearError) {
  for (const char* bad : {"", " ", "1", "1 fortnight", "1 year 2", "04:5:06", "04:05:6", "4:05:60", "P", "PT",
                          "P1H", "PT1Y", "1 year ago", "@ 1 year ago 2 days", "--1 day", "1 day 1 day 04:05"}) {
    auto r = IntervalToMicros(bad);
    EXPECT_TRUE(r.status().IsInvalidArgument()) << "'" << bad << "' gave " << (r.ok() ? std::to_string(*r) : "");
  }
  EXPECT_NE(IntervalToMicros("1 fortnight").status().message().find("cannot parse interval value '1 fortnight'"),
            std::string::npos);
}

TEST(PgTextTest, Money) {
  EXPECT_EQ(*MoneyToDecimal("$0.00"), "0.00");
  EXPECT_EQ(*MoneyToDecimal("$1,234.56"), "1234.56");
  EXPECT_EQ(*MoneyToDecimal("-$0.07"), "-0.07");
  EXPECT_EQ(*MoneyToDecimal("-$92,233,720,368,547,758.08"), "-92233720368547758.08");
  EXPECT_EQ(*MoneyToDecimal("($5.00)"), "-5.00");
  int32_t scale = 0;
  EXPECT_EQ(B64(*DecimalToUnscaledBytes(*MoneyToDecimal("$1,234.56"), 2, &scale)), "AeJA");
  EXPECT_EQ(B64(*DecimalToUnscaledBytes(*MoneyToDecimal("-$0.07"), 2, &scale)), "+Q==");
  for (const char* bad : {"", "$", "1.234,56 zł", "$1,23.00", "$1234,567.00", "$,1", "$1.", "-", "($5.00", "$1 "}) {
    EXPECT_TRUE(MoneyToDecimal(bad).status().IsInvalidArgument()) << bad;
  }
  // decimal.handling.mode=string: what Java's BigDecimal.valueOf(double).toPlainString() prints.
  EXPECT_EQ(*MoneyToDebeziumString("$1,000.00"), "1000.0");
  EXPECT_EQ(*MoneyToDebeziumString("$1,234.50"), "1234.5");
  EXPECT_EQ(*MoneyToDebeziumString("-$0.07"), "-0.07");
  EXPECT_EQ(*MoneyToDebeziumString("$0.00"), "0.0");
  EXPECT_EQ(*MoneyToDebeziumString("$12,345,678.90"), "12345678.9");
  EXPECT_EQ(*MoneyToDebeziumString("$10,000,000.00"), "10000000");
}

std::vector<std::string> Elements(std::string_view text) {
  std::vector<ArrayElement> els;
  std::string storage;
  Status st = ParseArray(text, ',', &els, &storage);
  EXPECT_TRUE(st.ok()) << text << ": " << st.ToString();
  std::vector<std::string> out;
  for (const auto& e : els) out.push_back(e.null ? "<NULL>" : std::string(e.text));
  return out;
}

TEST(PgTextTest, ArrayLiterals) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Elements("{}"), V{});
  EXPECT_EQ(Elements("{1,2,3}"), (V{"1", "2", "3"}));
  EXPECT_EQ(Elements("{1,NULL,-3}"), (V{"1", "<NULL>", "-3"}));
  EXPECT_EQ(Elements("{null,Null}"), (V{"<NULL>", "<NULL>"}));
  // Quoted: the empty string, the word NULL, delimiters, braces, spaces, quotes and backslashes.
  EXPECT_EQ(Elements(R"({"","NULL","a,b","{x}"," sp ","q\"uote","back\\slash"})"),
            (V{"", "NULL", "a,b", "{x}", " sp ", "q\"uote", "back\\slash"}));
  EXPECT_EQ(Elements(R"({zażółć,"gęślą jaźń"})"), (V{"zażółć", "gęślą jaźń"}));
  EXPECT_EQ(Elements("[0:2]={7,8,9}"), (V{"7", "8", "9"}));
  EXPECT_EQ(Elements(R"({a\,b,N\ULL})"), (V{"a,b", "NULL"}));  // array_in-style escapes outside quotes
  EXPECT_EQ(Elements("{ 1 , 2 }"), (V{"1", "2"}));               // array_in trims unquoted whitespace
}

TEST(PgTextTest, ArrayGarbageIsAClearError) {
  struct Case {
    const char* text;
    const char* message;
  };
  for (const Case& c : {Case{"", "expected '{' at byte 0"}, Case{"1,2", "expected '{' at byte 0"},
                        Case{"{1,2", "unexpected end (expected ',' or '}') at byte 4"},
                        Case{"{1,,2}", "empty element at byte 3"}, Case{"{,}", "empty element at byte 1"},
                        Case{"{\"abc}", "unterminated quoted element at byte 6"},
                        Case{"{\"a\"b}", "expected ',' or '}' at byte 4"},
                        Case{"{1}x", "unexpected characters after '}' at byte 3"},
                        Case{"{{1,2},{3,4}}", "multidimensional arrays are not supported at byte 1"},
                        Case{"[1:2][1:2]={{1,2},{3,4}}", "multidimensional arrays are not supported at byte 5"},
                        Case{"[1:2={1,2}", "unterminated dimension decoration at byte 0"},
                        Case{"[1-2]={1,2}", "malformed dimension decoration at byte 0"},
                        Case{"[1:2]{1,2}", "expected '=' after the dimensions at byte 5"},
                        Case{"{a\"b}", "unexpected character in an unquoted element at byte 2"},
                        Case{"{a\\", "backslash at the end at byte 2"}, Case{"{", "unexpected end (expected an element) at byte 1"}}) {
    std::vector<ArrayElement> els;
    std::string storage;
    Status st = ParseArray(c.text, ',', &els, &storage);
    ASSERT_TRUE(st.IsInvalidArgument()) << c.text;
    EXPECT_NE(st.message().find(c.message), std::string::npos) << c.text << " -> " << st.message();
    EXPECT_NE(st.message().find("cannot parse array value '"), std::string::npos) << st.message();
  }
}

// Every prefix of valid literals and every single-byte change parses or fails cleanly (ASan runs this).
TEST(PgTextTest, ArrayParserNeverReadsOutOfBounds) {
  std::vector<ArrayElement> els;
  std::string storage;
  for (std::string lit : {std::string(R"([2:3]={"a\"b",NULL,"",x})"), std::string(R"({"\\",{},"}")")}) {
    for (size_t n = 0; n <= lit.size(); ++n) {
      std::string cut = lit.substr(0, n);
      (void)ParseArray(cut, ',', &els, &storage);
      for (char ch : std::string("{}\",\\[]:= N")) {
        for (size_t i = 0; i < cut.size(); ++i) {
          std::string m = cut;
          m[i] = ch;
          Status st = ParseArray(m, ',', &els, &storage);
          if (st.ok()) {
            for (const auto& e : els) (void)std::string(e.text);
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace cdc::event::pgtext
