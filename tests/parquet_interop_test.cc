// Parquet interoperability: every file cdcpipe's writer produces here is read back by DuckDB
// (@duckdb/node-api) and by hyparquet, and the values, types and nulls must equal what was written;
// files written by DuckDB (snappy, zstd, uncompressed, dictionary, PARQUET_VERSION v2 with data
// page v2 and DELTA encodings, small row groups) are read by cdcpipe's reader and compared.
#include <gtest/gtest.h>

#include <charconv>
#include <cmath>
#include <sstream>

#include "base/json_escape.h"
#include "parquet/reader.h"
#include "parquet/writer.h"
#include "support/test_env.h"

namespace cdc::parquet {
namespace {

using cdc::testing::RunNode;
using cdc::testing::TempDir;

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// The JSON spelling both Node scripts use: integers beyond 2^53 as strings, doubles shortest.
std::string JsonInt(int64_t v) {
  if (v > 9007199254740991ll || v < -9007199254740991ll) return "\"" + std::to_string(v) + "\"";
  return std::to_string(v);
}
std::string JsonDouble(double d) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), d);
  return std::string(buf, res.ptr);
}
std::string JsonString(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

Schema EventSchema() {
  return Schema{{
      {"s", ColumnType::kString, true},
      {"s_req", ColumnType::kString, false},
      {"i32", ColumnType::kInt32, true},
      {"i64", ColumnType::kInt64, false},
      {"d", ColumnType::kDouble, true},
      {"b", ColumnType::kBoolean, true},
      {"ts", ColumnType::kTimestampMicros, true},
  }};
}

// Fills rows and returns the expected JSON line per row.
std::vector<std::string> Fill(RecordBatch* batch, int rows) {
  std::vector<std::string> expected;
  for (int r = 0; r < rows; ++r) {
    bool null = r % 7 == 3;
    std::string s;
    switch (r % 6) {
      case 0: s = ""; break;
      case 1: s = "grüße 日本語 🚀 \"quoted\" \\ " + std::to_string(r); break;
      case 2: s = "topic-" + std::to_string(r % 3); break;
      case 3: s = r % 1000 == 3 ? std::string(70000, 'L') : "mid-" + std::to_string(r); break;  // > 64 KiB
      case 4: s = "unique value number " + std::to_string(r) + std::string(static_cast<size_t>(r % 40), 'u'); break;
      default: s = "é"; break;
    }
    std::string s_req = r % 2 ? "zé" : "plain " + std::to_string(r % 11);
    int32_t i32 = r % 2 ? -r : r % 100;
    int64_t i64 = r == 1 ? INT64_MAX : r == 2 ? INT64_MIN : static_cast<int64_t>(r) * 1000003 - (1ll << 40);
    double d = r / 4.0 - 100;
    bool b = r % 3 == 0;
    int64_t ts = 1700000000000000ll + static_cast<int64_t>(r) * 1234567;
    if (null) batch->column(0).AppendNull();
    else batch->column(0).AppendString(s);
    batch->column(1).AppendString(s_req);
    if (null) batch->column(2).AppendNull();
    else batch->column(2).AppendInt32(i32);
    batch->column(3).AppendInt64(i64);
    if (null) batch->column(4).AppendNull();
    else batch->column(4).AppendDouble(d);
    if (null) batch->column(5).AppendNull();
    else batch->column(5).AppendBool(b);
    if (null) batch->column(6).AppendNull();
    else batch->column(6).AppendInt64(ts);
    std::string line = "[";
    line += null ? "null" : JsonString(s);
    line += "," + JsonString(s_req);
    line += "," + (null ? std::string("null") : std::to_string(i32));
    line += "," + JsonInt(i64);
    line += "," + (null ? std::string("null") : JsonDouble(d));
    line += "," + (null ? std::string("null") : std::string(b ? "true" : "false"));
    line += "," + (null ? std::string("null") : JsonInt(ts));
    line += "]";
    expected.push_back(line);
  }
  return expected;
}

struct WriteCase {
  const char* name;
  Compression compression;
  int64_t dictionary_bytes;  // small: forces the fallback to PLAIN inside a chunk
};

class OurFilesReadByPeers : public ::testing::TestWithParam<WriteCase> {};

TEST_P(OurFilesReadByPeers, DuckDbAndHyparquetSeeTheSameValuesTypesAndNulls) {
  const WriteCase& wc = GetParam();
  TempDir dir("cdcpipe-parquet-interop");
  std::string path = dir / SparkFileName(0, wc.compression);
  Schema schema = EventSchema();
  RecordBatch batch(schema);
  const int kRows = 5000;
  std::vector<std::string> expected = Fill(&batch, kRows);
  WriterOptions opts;
  opts.compression = wc.compression;
  opts.row_group_rows = 2000;
  opts.page_rows = 700;
  opts.dictionary_bytes = wc.dictionary_bytes;
  auto w = ParquetWriter::OpenFile(path, schema, opts);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE((*w)->Write(batch).ok());
  ASSERT_TRUE((*w)->Close().ok());
  ASSERT_EQ((*w)->num_row_groups(), 3);

  // DuckDB: types, repetition, values in file order, null counts from the statistics.
  auto q = [&](const std::string& sql) {
    auto r = RunNode("parquet_duckdb.mjs", {sql});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    return Lines(r.out);
  };
  EXPECT_EQ(q("SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet('" + path + "'))"),
            (std::vector<std::string>{R"(["s","VARCHAR"])", R"(["s_req","VARCHAR"])", R"(["i32","INTEGER"])",
                                      R"(["i64","BIGINT"])", R"(["d","DOUBLE"])", R"(["b","BOOLEAN"])",
                                      R"(["ts","TIMESTAMP WITH TIME ZONE"])"}));
  EXPECT_EQ(q("SELECT name, repetition_type, converted_type FROM parquet_schema('" + path + "') WHERE num_children IS NULL"),
            (std::vector<std::string>{R"(["s","OPTIONAL","UTF8"])", R"(["s_req","REQUIRED","UTF8"])",
                                      R"(["i32","OPTIONAL",null])", R"(["i64","REQUIRED",null])",
                                      R"(["d","OPTIONAL",null])", R"(["b","OPTIONAL",null])",
                                      R"(["ts","OPTIONAL","TIMESTAMP_MICROS"])"}));
  std::vector<std::string> duck =
      q("SELECT s, s_req, i32, i64, d, b, epoch_us(ts) FROM read_parquet('" + path +
        "', file_row_number = true) ORDER BY file_row_number");
  ASSERT_EQ(duck.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) ASSERT_EQ(duck[i], expected[i]) << "DuckDB row " << i;
  int nulls = 0;
  for (int r = 0; r < kRows; ++r) nulls += r % 7 == 3;
  EXPECT_EQ(q("SELECT path_in_schema, sum(stats_null_count) FROM parquet_metadata('" + path +
              "') GROUP BY ALL ORDER BY min(column_id)"),
            (std::vector<std::string>{
                "[\"s\"," + std::to_string(nulls) + "]", "[\"s_req\",0]", "[\"i32\"," + std::to_string(nulls) + "]",
                "[\"i64\",0]", "[\"d\"," + std::to_string(nulls) + "]", "[\"b\"," + std::to_string(nulls) + "]",
                "[\"ts\"," + std::to_string(nulls) + "]"}));
  // DuckDB compares min/max with the statistics it reads; a wrong byte order would show here.
  EXPECT_EQ(q("SELECT min(s_req), max(s_req), min(i64), max(i64) FROM read_parquet('" + path + "')"),
            (std::vector<std::string>{R"(["plain 0","zé","-9223372036854775808","9223372036854775807"])"}));

  // hyparquet: schema line, then the same rows.
  auto h = RunNode("parquet_hyparquet.mjs", {path});
  ASSERT_EQ(h.exit_code, 0) << h.Describe();
  std::vector<std::string> hy = Lines(h.out);
  ASSERT_EQ(hy.size(), expected.size() + 1);
  EXPECT_EQ(hy[0],
            R"({"schema":[{"name":"s","type":"BYTE_ARRAY","repetition":"OPTIONAL","converted":"UTF8","logical":"{\"type\":\"STRING\"}"},)"
            R"({"name":"s_req","type":"BYTE_ARRAY","repetition":"REQUIRED","converted":"UTF8","logical":"{\"type\":\"STRING\"}"},)"
            R"({"name":"i32","type":"INT32","repetition":"OPTIONAL","converted":null,"logical":null},)"
            R"({"name":"i64","type":"INT64","repetition":"REQUIRED","converted":null,"logical":null},)"
            R"({"name":"d","type":"DOUBLE","repetition":"OPTIONAL","converted":null,"logical":null},)"
            R"({"name":"b","type":"BOOLEAN","repetition":"OPTIONAL","converted":null,"logical":null},)"
            R"({"name":"ts","type":"INT64","repetition":"OPTIONAL","converted":"TIMESTAMP_MICROS","logical":"{\"type\":\"TIMESTAMP\",\"isAdjustedToUTC\":true,\"unit\":\"MICROS\"}"}]})");
  for (size_t i = 0; i < expected.size(); ++i) ASSERT_EQ(hy[i + 1], expected[i]) << "hyparquet row " << i;
}

INSTANTIATE_TEST_SUITE_P(Cases, OurFilesReadByPeers,
                         ::testing::Values(WriteCase{"snappy", Compression::kSnappy, 1 << 20},
                                           WriteCase{"zstd", Compression::kZstd, 1 << 20},
                                           WriteCase{"uncompressed", Compression::kUncompressed, 1 << 20},
                                           WriteCase{"snappy_dict_fallback", Compression::kSnappy, 2048}),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- DuckDB writes, cdcpipe reads ----

struct DuckCase {
  const char* name;
  const char* options;  // the COPY options after FORMAT parquet
  bool expect_delta;     // the file must use DELTA encodings (PARQUET_VERSION v2)
};

class DuckDbFilesReadByUs : public ::testing::TestWithParam<DuckCase> {};

TEST_P(DuckDbFilesReadByUs, ValuesTypesAndNullsMatch) {
  const DuckCase& dc = GetParam();
  TempDir dir("cdcpipe-parquet-duck");
  std::string path = dir / "duck.parquet";
  const int kRows = 5000;
  std::string sql = "COPY (SELECT i::BIGINT AS id, "
                    "CASE WHEN i % 7 = 3 THEN NULL ELSE 'k' || (i % 13)::VARCHAR END AS s, "
                    "'unique-' || i::VARCHAR || repeat('x', (i % 50)::INTEGER) AS u, "
                    "CASE WHEN i % 11 = 0 THEN NULL ELSE ((i * 31) % 1000 - 500)::INTEGER END AS i32, "
                    "(i * 1000003 - 1099511627776)::BIGINT AS i64, "
                    "CASE WHEN i % 9 = 0 THEN NULL ELSE i / 4.0 - 7 END::DOUBLE AS d, "
                    "CASE WHEN i % 5 = 0 THEN NULL ELSE i % 3 = 0 END AS b, "
                    "make_timestamp(1700000000000000 + i * 1234567) AS ts, "
                    "(DATE '2020-01-01' + (i % 1000)::INTEGER) AS dt, "
                    "(i / 2)::FLOAT AS f "
                    "FROM range(0, " + std::to_string(kRows) + ") t(i)) TO '" + path +
                    "' (FORMAT parquet, " + dc.options + ")";
  auto r = RunNode("parquet_duckdb.mjs", {sql});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();

  auto reader = ParquetReader::OpenFile(path);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  const Schema& schema = (*reader)->schema();
  std::vector<std::pair<std::string, ColumnType>> want_types = {
      {"id", ColumnType::kInt64},   {"s", ColumnType::kString},  {"u", ColumnType::kString},
      {"i32", ColumnType::kInt32},  {"i64", ColumnType::kInt64}, {"d", ColumnType::kDouble},
      {"b", ColumnType::kBoolean},  {"ts", ColumnType::kTimestampMicros}, {"dt", ColumnType::kDate},
      {"f", ColumnType::kDouble}};
  ASSERT_EQ(schema.columns.size(), want_types.size());
  for (size_t c = 0; c < want_types.size(); ++c) {
    EXPECT_EQ(schema.columns[c].name, want_types[c].first);
    EXPECT_EQ(schema.columns[c].type, want_types[c].second) << want_types[c].first;
  }
  bool saw_delta = false, saw_dict = false;
  for (const auto& rg : (*reader)->metadata().row_groups) {
    for (const auto& cc : rg.columns) {
      for (auto e : cc.meta.encodings) {
        saw_delta |= e == format::Encoding::kDeltaBinaryPacked || e == format::Encoding::kDeltaLengthByteArray ||
                     e == format::Encoding::kDeltaByteArray;
        saw_dict |= e == format::Encoding::kRleDictionary || e == format::Encoding::kPlainDictionary;
      }
    }
  }
  EXPECT_EQ(saw_delta, dc.expect_delta);
  EXPECT_TRUE(saw_dict) << "DuckDB is expected to dictionary-encode the low-cardinality column s";

  int64_t row = 0;
  RecordBatch batch;
  for (int g = 0; g < (*reader)->num_row_groups(); ++g) {
    Status s = (*reader)->ReadRowGroup(g, &batch);
    ASSERT_TRUE(s.ok()) << s.ToString();
    for (size_t k = 0; k < batch.num_rows(); ++k, ++row) {
      int64_t i = row;
      SCOPED_TRACE("row " + std::to_string(i));
      ASSERT_EQ(batch.column(0).Int64(k), i);
      ASSERT_EQ(batch.column(1).IsNull(k), i % 7 == 3);
      if (i % 7 != 3) {
        ASSERT_EQ(batch.column(1).String(k), "k" + std::to_string(i % 13));
      }
      ASSERT_EQ(batch.column(2).String(k), "unique-" + std::to_string(i) + std::string(static_cast<size_t>(i % 50), 'x'));
      ASSERT_EQ(batch.column(3).IsNull(k), i % 11 == 0);
      if (i % 11 != 0) {
        ASSERT_EQ(batch.column(3).Int32(k), (i * 31) % 1000 - 500);
      }
      ASSERT_EQ(batch.column(4).Int64(k), i * 1000003 - 1099511627776ll);
      ASSERT_EQ(batch.column(5).IsNull(k), i % 9 == 0);
      if (i % 9 != 0) {
        ASSERT_EQ(batch.column(5).Double(k), static_cast<double>(i) / 4.0 - 7);
      }
      ASSERT_EQ(batch.column(6).IsNull(k), i % 5 == 0);
      if (i % 5 != 0) {
        ASSERT_EQ(batch.column(6).Bool(k), i % 3 == 0);
      }
      ASSERT_EQ(batch.column(7).Int64(k), 1700000000000000ll + i * 1234567);
      ASSERT_EQ(batch.column(8).Int32(k), 18262 + i % 1000);  // 2020-01-01 is day 18262
      ASSERT_EQ(batch.column(9).Double(k), static_cast<double>(static_cast<float>(static_cast<double>(i) / 2)));
    }
  }
  EXPECT_EQ(row, kRows);

  // Projection: only two columns, in the order asked for.
  auto cols = (*reader)->ResolveColumns({"i64", "s"});
  ASSERT_TRUE(cols.ok());
  ASSERT_TRUE((*reader)->ReadRowGroup(0, *cols, &batch).ok());
  ASSERT_EQ(batch.num_columns(), 2u);
  EXPECT_EQ(batch.column(0).type(), ColumnType::kInt64);
  EXPECT_EQ(batch.column(1).type(), ColumnType::kString);
  EXPECT_EQ(batch.column(0).Int64(1), 1000003 - 1099511627776ll);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DuckDbFilesReadByUs,
    ::testing::Values(DuckCase{"snappy", "COMPRESSION snappy", false},
                      DuckCase{"zstd", "COMPRESSION zstd", false},
                      DuckCase{"uncompressed", "COMPRESSION uncompressed", false},
                      DuckCase{"small_row_groups", "COMPRESSION snappy, ROW_GROUP_SIZE 1000", false},
                      DuckCase{"v2_zstd", "COMPRESSION zstd, PARQUET_VERSION v2", true},
                      DuckCase{"v2_snappy", "COMPRESSION snappy, PARQUET_VERSION v2, ROW_GROUP_SIZE 2048", true}),
    [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace cdc::parquet
