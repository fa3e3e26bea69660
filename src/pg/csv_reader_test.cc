#include "pg/csv_reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace cdc::pg {
namespace {

struct Rec {
  std::vector<std::string> values;
  std::vector<bool> quoted;
  std::vector<std::pair<uint32_t, uint32_t>> pos;  // line, column
  std::string raw;
  uint64_t line;
  std::string error;
  uint32_t error_line, error_column;
};

// Reads every record of `data` with the given block size; fails the test on a hard error.
std::vector<Rec> ReadAll(const std::string& data, size_t block) {
  CsvReader::Options o;
  o.block_size = block;
  auto r = CsvReader::FromString(data, o, "t.csv");
  std::vector<Rec> out;
  CsvRecord rec;
  for (;;) {
    auto more = r->Next(&rec);
    EXPECT_TRUE(more.ok()) << more.status().ToString();
    if (!more.ok() || !*more) break;
    Rec x;
    for (size_t i = 0; i < rec.size(); ++i) {
      x.values.emplace_back(rec[i].value);
      x.quoted.push_back(rec[i].quoted);
      x.pos.emplace_back(rec[i].line, rec.Column(i));
    }
    x.raw = std::string(rec.raw());
    x.line = rec.line();
    x.error = std::string(rec.error());
    x.error_line = rec.error_line();
    x.error_column = rec.error_column();
    out.push_back(x);
  }
  return out;
}

// Every test runs with several block sizes so that records straddle block boundaries everywhere.
class CsvReaderTest : public ::testing::TestWithParam<size_t> {};

TEST_P(CsvReaderTest, SimpleRecordsLfAndCrlf) {
  auto recs = ReadAll("id,name\n1,Ala\r\n2,Olek", GetParam());
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[0].values, (std::vector<std::string>{"id", "name"}));
  EXPECT_EQ(recs[1].values, (std::vector<std::string>{"1", "Ala"}));
  EXPECT_EQ(recs[1].raw, "1,Ala");  // no CR in raw
  EXPECT_EQ(recs[2].values, (std::vector<std::string>{"2", "Olek"}));
  EXPECT_EQ(recs[2].line, 3u);
  EXPECT_EQ(recs[2].pos[1], (std::pair<uint32_t, uint32_t>{3, 3}));
}

TEST_P(CsvReaderTest, BomIsSkipped) {
  auto recs = ReadAll("\xEF\xBB\xBFid,x\n1,2\n", GetParam());
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].values[0], "id");
  EXPECT_EQ(recs[0].pos[0], (std::pair<uint32_t, uint32_t>{1, 1}));
}

TEST_P(CsvReaderTest, BomOnlyFileHasNoRecords) { EXPECT_TRUE(ReadAll("\xEF\xBB\xBF", GetParam()).empty()); }

TEST_P(CsvReaderTest, EmptyInputHasNoRecords) {
  EXPECT_TRUE(ReadAll("", GetParam()).empty());
  EXPECT_TRUE(ReadAll("\n\r\n\n", GetParam()).empty());
}

TEST_P(CsvReaderTest, QuotedFieldsWithCommasQuotesAndNewlines) {
  std::string data = "a,b,c\n\"x, y\",\"say \"\"hi\"\"\",\"line1\nline2\r\nline3\"\n4,5,6\n";
  auto recs = ReadAll(data, GetParam());
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_EQ(recs[1].values, (std::vector<std::string>{"x, y", "say \"hi\"", "line1\nline2\r\nline3"}));
  EXPECT_EQ(recs[1].quoted, (std::vector<bool>{true, true, true}));
  EXPECT_EQ(recs[1].raw, "\"x, y\",\"say \"\"hi\"\"\",\"line1\nline2\r\nline3\"");
  // The record after a multi-line one starts on the right line.
  EXPECT_EQ(recs[2].line, 5u);
  EXPECT_EQ(recs[2].values, (std::vector<std::string>{"4", "5", "6"}));
}

TEST_P(CsvReaderTest, EmptyFieldsAndQuotedEmpty) {
  auto recs = ReadAll("a,b,c\n,\"\",\n", GetParam());
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1].values, (std::vector<std::string>{"", "", ""}));
  EXPECT_EQ(recs[1].quoted, (std::vector<bool>{false, true, false}));
}

TEST_P(CsvReaderTest, TrailingCommaMakesEmptyLastField) {
  auto recs = ReadAll("a,\n", GetParam());
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].values, (std::vector<std::string>{"a", ""}));
}

TEST_P(CsvReaderTest, ColumnsCountUtf8Characters) {
  // "Łódź" is 4 characters, 7 bytes.
  auto recs = ReadAll("Łódź,x,\"Zażółć\",y\n", GetParam());
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].pos[1].second, 6u);
  EXPECT_EQ(recs[0].pos[2].second, 8u);
  EXPECT_EQ(recs[0].pos[3].second, 17u);
  EXPECT_EQ(recs[0].values[2], "Zażółć");
}

TEST_P(CsvReaderTest, FieldAfterQuotedNewlineHasItsLineAndColumn) {
  auto recs = ReadAll("h\n\"a\nbc\",d\n", GetParam());
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1].pos[0], (std::pair<uint32_t, uint32_t>{2, 1}));
  EXPECT_EQ(recs[1].pos[1], (std::pair<uint32_t, uint32_t>{3, 5}));
}

TEST_P(CsvReaderTest, QuoteInsideUnquotedFieldIsMalformedAndReaderResumes) {
  auto recs = ReadAll("a,b\n1,ab\"c,d\n2,ok\n", GetParam());
  ASSERT_EQ(recs.size(), 3u);
  EXPECT_NE(recs[1].error.find("quote inside an unquoted field"), std::string::npos);
  EXPECT_EQ(recs[1].error_line, 2u);
  EXPECT_EQ(recs[1].error_column, 5u);
  EXPECT_EQ(recs[1].raw, "1,ab\"c,d");
  EXPECT_EQ(recs[2].error, "");
  EXPECT_EQ(recs[2].values, (std::vector<std::string>{"2", "ok"}));
  EXPECT_EQ(recs[2].line, 3u);
}

TEST_P(CsvReaderTest, TextAfterClosingQuoteIsMalformed) {
  auto recs = ReadAll("\"ab\"c,d\r\nx,y\r\n", GetParam());
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_NE(recs[0].error.find("after the closing quote"), std::string::npos);
  EXPECT_EQ(recs[0].error_column, 5u);
  EXPECT_EQ(recs[0].raw, "\"ab\"c,d");
  EXPECT_EQ(recs[1].values, (std::vector<std::string>{"x", "y"}));
}

TEST_P(CsvReaderTest, BareCarriageReturnIsMalformed) {
  auto recs = ReadAll("a\rb,c\nd,e\n", GetParam());
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_NE(recs[0].error.find("carriage return"), std::string::npos);
  EXPECT_EQ(recs[1].values, (std::vector<std::string>{"d", "e"}));
}

TEST_P(CsvReaderTest, QuotedFieldAtEndWithoutNewline) {
  auto recs = ReadAll("a,\"b\"\"\"", GetParam());
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].values, (std::vector<std::string>{"a", "b\""}));
}

TEST_P(CsvReaderTest, UnterminatedQuoteIsAHardErrorWithPosition) {
  CsvReader::Options o;
  o.block_size = GetParam();
  auto r = CsvReader::FromString("a,b\n1,\"never\nends\n", o, "t.csv");
  CsvRecord rec;
  ASSERT_TRUE(*r->Next(&rec));
  auto more = r->Next(&rec);
  ASSERT_FALSE(more.ok());
  EXPECT_EQ(more.status().message(), "t.csv:2:3: unterminated quoted field: the '\"' that opens it never closes");
}

INSTANTIATE_TEST_SUITE_P(BlockSizes, CsvReaderTest, ::testing::Values(1, 2, 3, 5, 7, 64, 1 << 20));

TEST(CsvReader, RecordLongerThanTheLimitIsAnError) {
  CsvReader::Options o;
  o.block_size = 16;
  o.max_record_bytes = 64;
  auto r = CsvReader::FromString("\"" + std::string(200, 'x') + "\"\n", o, "t.csv");
  CsvRecord rec;
  auto more = r->Next(&rec);
  ASSERT_FALSE(more.ok());
  EXPECT_NE(more.status().message().find("t.csv:1:1: a record longer than"), std::string::npos);
}

TEST(CsvReader, OpenMissingFileIsNotFound) {
  auto r = CsvReader::Open("/nonexistent/dir/x.csv");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotFound());
  EXPECT_NE(r.status().message().find("/nonexistent/dir/x.csv"), std::string::npos);
}

TEST(CsvReader, OpenDirectoryIsIoError) {
  auto r = CsvReader::Open("/tmp");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsIoError());
}

TEST(ValidUtf8, AcceptsAndRejects) {
  size_t bad = 99;
  EXPECT_TRUE(ValidUtf8("", &bad));
  EXPECT_TRUE(ValidUtf8("plain ascii text longer than eight", &bad));
  EXPECT_TRUE(ValidUtf8("Zażółć gęślą jaźń €𝄞", &bad));
  EXPECT_FALSE(ValidUtf8("abc\xC3", &bad));  // truncated
  EXPECT_EQ(bad, 3u);
  EXPECT_FALSE(ValidUtf8("\xC0\xAF", &bad));  // overlong '/'
  EXPECT_EQ(bad, 0u);
  EXPECT_FALSE(ValidUtf8("ab\xE0\x80\xAF", &bad));  // overlong 3-byte
  EXPECT_EQ(bad, 2u);
  EXPECT_FALSE(ValidUtf8("\xED\xA0\x80", &bad));  // surrogate
  EXPECT_FALSE(ValidUtf8("\xF4\x90\x80\x80", &bad));  // > U+10FFFF
  EXPECT_FALSE(ValidUtf8("12345678\xFF", &bad));  // after the ASCII fast path
  EXPECT_EQ(bad, 8u);
  EXPECT_FALSE(ValidUtf8("caf\xE9", &bad));  // Latin-1
  EXPECT_EQ(bad, 3u);
}

}  // namespace
}  // namespace cdc::pg

namespace cdc::pg {
namespace {

// Round trip: random records written with RFC 4180 quoting (random LF/CRLF line ends) read back
// field for field, whatever the block size.
TEST(CsvReader, RandomRecordsRoundTrip) {
  uint64_t state = 12345;
  auto next = [&state]() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(state >> 33);
  };
  const std::vector<std::string> pieces = {"a", "Ż", "ó", ",", "\"", "\n", "\r\n", " ", "x y", "1", "\t", ""};
  std::vector<std::vector<std::string>> want;
  std::string csv;
  for (int r = 0; r < 300; ++r) {
    std::vector<std::string> rec;
    size_t n = 1 + next() % 6;
    bool quoted_first = false;
    for (size_t i = 0; i < n; ++i) {
      std::string v;
      size_t len = next() % 5;
      for (size_t k = 0; k < len; ++k) v += pieces[next() % pieces.size()];
      rec.push_back(v);
      bool quote = v.find_first_of(",\"\r\n") != std::string::npos || next() % 4 == 0;
      if (i) csv += ',';
      if (i == 0) quoted_first = quote;
      if (quote) {
        csv += '"';
        for (char c : v) csv += (c == '"') ? std::string("\"\"") : std::string(1, c);
        csv += '"';
      } else {
        csv += v;
      }
    }
    // A record that is one empty unquoted field would be a blank line (skipped): quote it.
    if (n == 1 && rec[0].empty() && !quoted_first) csv += "\"\"";
    csv += (next() % 2) ? "\r\n" : "\n";
    want.push_back(rec);
  }
  for (size_t block : {1, 3, 17, 4096}) {
    auto recs = ReadAll(csv, block);
    ASSERT_EQ(recs.size(), want.size()) << "block " << block;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(recs[i].error, "") << i;
      EXPECT_EQ(recs[i].values, want[i]) << "record " << i << " block " << block;
    }
  }
}

}  // namespace
}  // namespace cdc::pg
