// Unit tests of the PostgreSQL text -> Debezium value conversions. Expected decimal bytes were computed
// independently (Node BigInt, the same bytes Java's BigInteger.toByteArray gives).
#include <gtest/gtest.h>

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
  EXPECT_EQ(*TimestampToEpochMicros("infinity"), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(*TimestampToEpochMicros("-infinity"), std::numeric_limits<int64_t>::min());
  EXPECT_TRUE(TimestampToEpochMicros("2024-01-02").status().IsInvalidArgument());
  EXPECT_TRUE(TimestampToEpochMicros("2024-01-02 03:04:05.1234567").status().IsInvalidArgument());
}

TEST(PgTextTest, TimestamptzToUtc) {
  EXPECT_EQ(*TimestamptzToIsoUtc("2024-01-02 03:04:05.123456+00"), "2024-01-02T03:04:05.123456Z");
  EXPECT_EQ(*TimestamptzToIsoUtc("2024-01-02 04:04:05.123456+01"), "2024-01-02T03:04:05.123456Z");
  EXPECT_EQ(*TimestamptzToIsoUtc("2024-01-02 08:34:05+05:30"), "2024-01-02T03:04:05Z");
  EXPECT_EQ(*TimestamptzToIsoUtc("2024-01-01 19:04:05.12-08"), "2024-01-02T03:04:05.12Z");
  EXPECT_EQ(*TimestamptzToIsoUtc("1969-12-31 23:00:00-02"), "1970-01-01T01:00:00Z");
  EXPECT_EQ(*TimestamptzToIsoUtc("1969-12-31 23:59:59.999999+00"), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(*TimestamptzToIsoUtc("1900-01-01 00:00:00+01:24:00"), "1899-12-31T22:36:00Z");
  EXPECT_EQ(*TimestamptzToIsoUtc("0044-03-15 12:00:00+00 BC"), "-0043-03-15T12:00:00Z");
  EXPECT_EQ(*TimestamptzToIsoUtc("infinity"), "infinity");
  EXPECT_EQ(*TimestamptzToIsoUtc("-infinity"), "-infinity");
  EXPECT_TRUE(TimestamptzToIsoUtc("2024-01-02 03:04:05").status().IsInvalidArgument());
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

}  // namespace
}  // namespace cdc::event::pgtext
