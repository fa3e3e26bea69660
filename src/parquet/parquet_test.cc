// Unit tests of the Parquet writer and reader: round trips of every type, nulls, long and Unicode
// strings, many row groups, millions of rows, dictionary fallback, statistics, and corruption
// (flipped and truncated bytes must give a Corruption status, never a crash).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <thread>
#include <fstream>
#include <random>
#include <regex>

#include "parquet/encoding.h"
#include "parquet/reader.h"
#include "parquet/thrift_compact.h"
#include "parquet/writer.h"

namespace cdc::parquet {
namespace {

Schema AllTypesSchema() {
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

// Deterministic rows; every 7th value of a nullable column is null.
void FillAllTypes(RecordBatch* batch, size_t rows, size_t first_row) {
  for (size_t k = 0; k < rows; ++k) {
    size_t r = first_row + k;
    bool null = r % 7 == 3;
    std::string s;
    switch (r % 5) {
      case 0: s = ""; break;
      case 1: s = "grüße 日本語 🚀 " + std::to_string(r); break;
      case 2: s = "topic-" + std::to_string(r % 3); break;
      case 3: s = std::string(70000 + r % 10, static_cast<char>('a' + r % 26)); break;  // > 64 KiB
      default: s = "row " + std::to_string(r); break;
    }
    if (null) batch->column(0).AppendNull();
    else batch->column(0).AppendString(s);
    batch->column(1).AppendString(r % 2 ? "\xff\xfe high bytes" : "plain " + std::to_string(r % 11));
    if (null) batch->column(2).AppendNull();
    else batch->column(2).AppendInt32(static_cast<int32_t>(r % 2 ? -static_cast<int64_t>(r) : r % 100));
    batch->column(3).AppendInt64(static_cast<int64_t>(r) * 1000003 - (1ll << 40));
    if (null) batch->column(4).AppendNull();
    else batch->column(4).AppendDouble(static_cast<double>(r) / 3.0 - 17.25);
    if (null) batch->column(5).AppendNull();
    else batch->column(5).AppendBool(r % 3 == 0);
    if (null) batch->column(6).AppendNull();
    else batch->column(6).AppendInt64(1700000000000000ll + static_cast<int64_t>(r) * 1234567);
  }
}

void ExpectColumnsEqual(const ColumnVector& want, size_t want_offset, const ColumnVector& got, size_t rows) {
  ASSERT_EQ(got.size(), rows);
  for (size_t i = 0; i < rows; ++i) {
    size_t w = want_offset + i;
    ASSERT_EQ(want.IsNull(w), got.IsNull(i)) << "row " << i;
    if (got.IsNull(i)) continue;
    switch (want.type()) {
      case ColumnType::kString:
      case ColumnType::kBinary:
      case ColumnType::kDecimal: ASSERT_EQ(want.String(w), got.String(i)) << "row " << i; break;
      case ColumnType::kInt32:
      case ColumnType::kDate: ASSERT_EQ(want.Int32(w), got.Int32(i)) << "row " << i; break;
      case ColumnType::kInt64:
      case ColumnType::kTimestampMicros:
      case ColumnType::kTimestampMicrosLocal: ASSERT_EQ(want.Int64(w), got.Int64(i)) << "row " << i; break;
      case ColumnType::kDouble:
      case ColumnType::kFloat: ASSERT_EQ(want.Double(w), got.Double(i)) << "row " << i; break;
      case ColumnType::kBoolean: ASSERT_EQ(want.Bool(w), got.Bool(i)) << "row " << i; break;
    }
  }
}

std::string WriteToString(const Schema& schema, const RecordBatch& batch, const WriterOptions& opts) {
  auto sink = std::make_unique<StringSink>("test.parquet");
  StringSink* raw = sink.get();
  auto w = ParquetWriter::Open(std::move(sink), schema, opts);
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_TRUE((*w)->Write(batch).ok());
  Status s = (*w)->Close();
  EXPECT_TRUE(s.ok()) << s.ToString();
  return raw->Release();
}

class RoundTrip : public ::testing::TestWithParam<Compression> {};

TEST_P(RoundTrip, AllTypesNullsUnicodeLongStrings) {
  Schema schema = AllTypesSchema();
  RecordBatch batch(schema);
  FillAllTypes(&batch, 3000, 0);
  WriterOptions opts;
  opts.compression = GetParam();
  opts.row_group_rows = 1000;
  std::string file = WriteToString(schema, batch, opts);
  ASSERT_EQ(file.substr(0, 4), "PAR1");

  auto r = ParquetReader::OpenBuffer(file, "rt.parquet");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ((*r)->num_rows(), 3000);
  ASSERT_EQ((*r)->num_row_groups(), 3);
  ASSERT_EQ((*r)->schema().columns.size(), schema.columns.size());
  for (size_t c = 0; c < schema.columns.size(); ++c) {
    EXPECT_EQ((*r)->schema().columns[c].name, schema.columns[c].name);
    EXPECT_EQ((*r)->schema().columns[c].type, schema.columns[c].type);
    EXPECT_EQ((*r)->schema().columns[c].nullable, schema.columns[c].nullable);
  }
  RecordBatch got;
  size_t offset = 0;
  for (int g = 0; g < 3; ++g) {
    ASSERT_TRUE((*r)->ReadRowGroup(g, &got).ok());
    ASSERT_EQ(got.num_rows(), 1000u);
    for (size_t c = 0; c < schema.columns.size(); ++c) {
      SCOPED_TRACE("column " + schema.columns[c].name);
      ExpectColumnsEqual(batch.column(c), offset, got.column(c), 1000);
    }
    offset += 1000;
  }
}

INSTANTIATE_TEST_SUITE_P(Codecs, RoundTrip,
                         ::testing::Values(Compression::kSnappy, Compression::kZstd, Compression::kUncompressed));

TEST(ParquetWriter, ManyRowGroupsAndProjection) {
  Schema schema{{{"k", ColumnType::kString, false}, {"n", ColumnType::kInt64, true}}};
  RecordBatch batch(schema);
  for (int i = 0; i < 10500; ++i) {
    batch.column(0).AppendString("key-" + std::to_string(i % 37));
    if (i % 10 == 0) batch.column(1).AppendNull();
    else batch.column(1).AppendInt64(i);
  }
  WriterOptions opts;
  opts.row_group_rows = 1000;
  std::string file = WriteToString(schema, batch, opts);
  auto r = ParquetReader::OpenBuffer(file);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ((*r)->num_row_groups(), 11);
  auto cols = (*r)->ResolveColumns({"n"});
  ASSERT_TRUE(cols.ok());
  RecordBatch got;
  size_t offset = 0;
  for (int g = 0; g < 11; ++g) {
    ASSERT_TRUE((*r)->ReadRowGroup(g, *cols, &got).ok());
    ASSERT_EQ(got.num_columns(), 1u);
    ExpectColumnsEqual(batch.column(1), offset, got.column(0), static_cast<size_t>((*r)->row_group_num_rows(g)));
    offset += static_cast<size_t>((*r)->row_group_num_rows(g));
  }
  EXPECT_EQ(offset, 10500u);
  EXPECT_TRUE((*r)->ResolveColumns({"nope"}).status().IsNotFound());
}

TEST(ParquetWriter, RowGroupsCutBySize) {
  Schema schema{{{"v", ColumnType::kString, false}}};
  RecordBatch batch(schema);
  for (int i = 0; i < 5000; ++i) batch.column(0).AppendString(std::string(1000, 'x') + std::to_string(i));
  WriterOptions opts;
  opts.row_group_bytes = 1 << 20;  // ~1000 rows each
  std::string file = WriteToString(schema, batch, opts);
  auto r = ParquetReader::OpenBuffer(file);
  ASSERT_TRUE(r.ok());
  EXPECT_GE((*r)->num_row_groups(), 4);
  EXPECT_LE((*r)->num_row_groups(), 6);
  EXPECT_EQ((*r)->num_rows(), 5000);
}

TEST(ParquetWriter, MillionsOfRows) {
  Schema schema{{{"small", ColumnType::kInt32, false}, {"seq", ColumnType::kInt64, false}}};
  RecordBatch batch(schema);
  auto sink = std::make_unique<StringSink>();
  StringSink* raw = sink.get();
  auto w = ParquetWriter::Open(std::move(sink), schema, WriterOptions{});
  ASSERT_TRUE(w.ok());
  const int kRows = 2'000'000;
  for (int start = 0; start < kRows; start += 100000) {
    batch.Clear();
    for (int i = start; i < start + 100000; ++i) {
      batch.column(0).AppendInt32(i % 13);
      batch.column(1).AppendInt64(i);
    }
    ASSERT_TRUE((*w)->Write(batch).ok());
  }
  ASSERT_TRUE((*w)->Close().ok());
  auto r = ParquetReader::OpenBuffer(raw->Release());
  ASSERT_TRUE(r.ok());
  ASSERT_EQ((*r)->num_rows(), kRows);
  // The small ints are dictionary-encoded, the sequence is not (its dictionary would not pay off).
  const auto& md = (*r)->metadata();
  auto has = [](const format::ColumnMetaData& m, format::Encoding e) {
    return std::find(m.encodings.begin(), m.encodings.end(), e) != m.encodings.end();
  };
  EXPECT_TRUE(has(md.row_groups[0].columns[0].meta, format::Encoding::kRleDictionary));
  EXPECT_FALSE(has(md.row_groups[0].columns[1].meta, format::Encoding::kRleDictionary));
  int64_t row = 0;
  RecordBatch got;
  for (int g = 0; g < (*r)->num_row_groups(); ++g) {
    ASSERT_TRUE((*r)->ReadRowGroup(g, &got).ok());
    auto small = got.column(0).int32_values();
    auto seq = got.column(1).int64_values();
    for (size_t i = 0; i < got.num_rows(); ++i, ++row) {
      ASSERT_EQ(small[i], row % 13);
      ASSERT_EQ(seq[i], row);
    }
  }
  EXPECT_EQ(row, kRows);
}

TEST(ParquetWriter, DictionaryFallsBackToPlain) {
  Schema schema{{{"s", ColumnType::kString, true}}};
  RecordBatch batch(schema);
  // Repetitive at first (dictionary pays off), then unique values overflow the small dictionary.
  for (int i = 0; i < 30000; ++i) {
    if (i < 20000) batch.column(0).AppendString("repeat-" + std::to_string(i % 5));
    else batch.column(0).AppendString("unique-value-" + std::to_string(i) + std::string(50, 'z'));
  }
  WriterOptions opts;
  opts.dictionary_bytes = 64 << 10;
  opts.page_rows = 5000;
  std::string file = WriteToString(schema, batch, opts);
  auto r = ParquetReader::OpenBuffer(file);
  ASSERT_TRUE(r.ok());
  const auto& m = (*r)->metadata().row_groups[0].columns[0].meta;
  EXPECT_TRUE(m.dictionary_page_offset.has_value());
  EXPECT_NE(std::find(m.encodings.begin(), m.encodings.end(), format::Encoding::kRleDictionary), m.encodings.end());
  EXPECT_NE(std::find(m.encodings.begin(), m.encodings.end(), format::Encoding::kPlain), m.encodings.end());
  RecordBatch got;
  ASSERT_TRUE((*r)->ReadRowGroup(0, &got).ok());
  ExpectColumnsEqual(batch.column(0), 0, got.column(0), 30000);
}

// RawSink's fast path: borrowed strings (no copy into the batch) and one writer reopened for file after
// file (buffers kept) write exactly the bytes a fresh writer writes from copied strings, nullable string
// pages (levels in the values' headroom) included, for every compression.
TEST(ParquetWriter, BorrowedStringsAndReopenWriteTheSameBytes) {
  Schema schema{{{"key", ColumnType::kString, true}, {"value", ColumnType::kString, true},
                 {"req", ColumnType::kString, false}, {"n", ColumnType::kInt64, true}}};
  for (Compression c : {Compression::kUncompressed, Compression::kSnappy, Compression::kZstd}) {
    WriterOptions opts;
    opts.compression = c;
    opts.page_rows = 700;  // several pages per chunk
    opts.dictionary_bytes = 16 << 10;
    std::unique_ptr<ParquetWriter> reused;
    ByteBuffer bytes;
    for (int file = 0; file < 3; ++file) {
      std::vector<std::string> values;
      for (int i = 0; i < 2500 + file * 300; ++i) {
        values.push_back("{\"schema\":" + std::string(200 + i % 50, 's') + ",\"id\":" + std::to_string(file * 10000 + i) + "}");
      }
      RecordBatch copied(schema), borrowed(schema);
      for (size_t i = 0; i < values.size(); ++i) {
        bool null = i % 11 == 4;
        std::string key = "k" + std::to_string(i % 7);  // repetitive: dictionary encoded
        if (null) copied.column(0).AppendNull(); else copied.column(0).AppendString(key);
        if (null) copied.column(1).AppendNull(); else copied.column(1).AppendString(values[i]);
        copied.column(2).AppendString(values[i]);
        copied.column(3).AppendInt64(static_cast<int64_t>(i));
      }
      std::vector<std::string> keys;
      for (size_t i = 0; i < values.size(); ++i) keys.push_back("k" + std::to_string(i % 7));
      for (size_t i = 0; i < values.size(); ++i) {
        bool null = i % 11 == 4;
        if (null) borrowed.column(0).AppendBorrowedNull(); else borrowed.column(0).AppendBorrowedString(keys[i]);
        if (null) borrowed.column(1).AppendBorrowedNull(); else borrowed.column(1).AppendBorrowedString(values[i]);
        borrowed.column(2).AppendBorrowedString(values[i]);
        borrowed.column(3).AppendInt64(static_cast<int64_t>(i));
      }
      ASSERT_TRUE(borrowed.column(1).borrowed());
      EXPECT_EQ(borrowed.column(1).null_count(), copied.column(1).null_count());
      std::string expected = WriteToString(schema, copied, opts);

      bytes.Clear();
      auto sink = std::make_unique<BufferSink>(&bytes, "reused.parquet");
      if (!reused) {
        auto w = ParquetWriter::Open(std::move(sink), schema, opts);
        ASSERT_TRUE(w.ok()) << w.status().ToString();
        reused = std::move(*w);
      } else {
        ASSERT_TRUE(reused->Reopen(std::move(sink)).ok());
      }
      ASSERT_TRUE(reused->Write(borrowed).ok());
      ASSERT_TRUE(reused->Close().ok());
      EXPECT_EQ(reused->rows_written(), static_cast<int64_t>(values.size()));
      ASSERT_EQ(std::string(bytes.view()), expected) << CompressionName(c) << " file " << file;

      auto r = ParquetReader::OpenBuffer(expected);
      ASSERT_TRUE(r.ok());
      RecordBatch got;
      ASSERT_TRUE((*r)->ReadRowGroup(0, &got).ok());
      ExpectColumnsEqual(copied.column(1), 0, got.column(1), values.size());
    }
    // Reopening a writer that is still open is refused.
    ByteBuffer other;
    ASSERT_TRUE(reused->Reopen(std::make_unique<BufferSink>(&other, "a.parquet")).ok());
    Status st = reused->Reopen(std::make_unique<BufferSink>(&other, "b.parquet"));
    EXPECT_TRUE(st.IsFailedPrecondition()) << st.ToString();
  }
}

TEST(ParquetWriter, StatisticsUseUnsignedByteOrder) {
  Schema schema{{{"s", ColumnType::kString, true}, {"i", ColumnType::kInt32, true}}};
  RecordBatch batch(schema);
  for (std::string_view v : {"b", "\xc3\xa9t\xc3\xa9", "a", "Z"}) batch.column(0).AppendString(v);
  batch.column(0).AppendNull();
  for (int v : {5, -3, 7, 0}) batch.column(1).AppendInt32(v);
  batch.column(1).AppendNull();
  WriterOptions opts;
  opts.dictionary = false;
  for (bool dict : {false, true}) {
    opts.dictionary = dict;
    auto r = ParquetReader::OpenBuffer(WriteToString(schema, batch, opts));
    ASSERT_TRUE(r.ok());
    const auto& st = (*r)->metadata().row_groups[0].columns[0].meta.statistics;
    EXPECT_EQ(st.min_value, "Z");
    EXPECT_EQ(st.max_value, "\xc3\xa9t\xc3\xa9");  // 0xc3 > 'b' when compared unsigned
    EXPECT_EQ(st.null_count, 1);
    const auto& si = (*r)->metadata().row_groups[0].columns[1].meta.statistics;
    int32_t mn, mx;
    ASSERT_EQ(si.min_value->size(), 4u);
    std::memcpy(&mn, si.min_value->data(), 4);
    std::memcpy(&mx, si.max_value->data(), 4);
    EXPECT_EQ(mn, -3);
    EXPECT_EQ(mx, 7);
  }
}

TEST(ParquetWriter, RejectsBatchesThatDoNotMatchTheSchema) {
  Schema schema{{{"k", ColumnType::kString, false}}};
  auto w = ParquetWriter::Open(std::make_unique<StringSink>(), schema);
  ASSERT_TRUE(w.ok());
  RecordBatch batch(Schema{{{"k", ColumnType::kString, true}}});
  batch.column(0).AppendNull();
  Status s = (*w)->Write(batch);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find("REQUIRED"), std::string::npos);
  RecordBatch wrong(Schema{{{"k", ColumnType::kInt32, false}}});
  wrong.column(0).AppendInt32(1);
  EXPECT_TRUE((*w)->Write(wrong).IsInvalidArgument());
}

TEST(ParquetWriter, FileSinkAndSparkNames) {
  std::string name = SparkFileName(3, Compression::kSnappy);
  EXPECT_TRUE(std::regex_match(name, std::regex("part-00003-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                                                "[0-9a-f]{12}-c000\\.snappy\\.parquet")))
      << name;
  EXPECT_EQ(SparkFileName(0, Compression::kZstd, "u"), "part-00000-u-c000.zstd.parquet");
  EXPECT_EQ(SparkFileName(12, Compression::kUncompressed, "u"), "part-00012-u-c000.parquet");

  std::string dir = ::testing::TempDir() + "/parquet_sink_test";
  std::filesystem::create_directories(dir);
  std::string path = dir + "/" + name;
  Schema schema{{{"x", ColumnType::kInt64, false}}};
  auto w = ParquetWriter::OpenFile(path, schema);
  ASSERT_TRUE(w.ok());
  RecordBatch b(schema);
  b.column(0).AppendInt64(42);
  ASSERT_TRUE((*w)->Write(b).ok());
  ASSERT_TRUE((*w)->Close().ok());
  auto r = ParquetReader::OpenFile(path);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  RecordBatch got;
  ASSERT_TRUE((*r)->ReadRowGroup(0, &got).ok());
  EXPECT_EQ(got.column(0).Int64(0), 42);
  std::filesystem::remove_all(dir);
  EXPECT_TRUE(ParquetReader::OpenFile(dir + "/missing.parquet").status().IsNotFound());
}

TEST(RleHybrid, RoundTripsRandomRunsAtEveryBitWidth) {
  std::mt19937 rng(7);
  for (int bw = 1; bw <= 20; ++bw) {
    std::vector<uint32_t> v;
    while (v.size() < 5000) {
      uint32_t x = rng() & ((1u << bw) - 1);
      size_t run = rng() % 3 == 0 ? rng() % 40 : 1;
      for (size_t k = 0; k < run; ++k) v.push_back(x);
    }
    std::string enc;
    EncodeRleHybrid(v.data(), v.size(), bw, &enc);
    std::vector<uint32_t> back(v.size());
    RleHybridDecoder dec(reinterpret_cast<const uint8_t*>(enc.data()), enc.size(), bw);
    ASSERT_TRUE(dec.Get(back.data(), back.size())) << bw;
    ASSERT_EQ(back, v) << bw;
    uint32_t extra;
    RleHybridDecoder dec2(reinterpret_cast<const uint8_t*>(enc.data()), enc.size() / 2, bw);
    std::vector<uint32_t> part(v.size());
    EXPECT_FALSE(dec2.Get(part.data(), part.size()) && dec2.Get(&extra, 1));
  }
}

TEST(ThriftCompact, DecoderRejectsHostileLengths) {
  // A list header claiming 2^28 elements in a 6-byte buffer.
  const uint8_t list[] = {0x19, 0xfc, 0xff, 0xff, 0xff, 0x01};
  CompactDecoder d(list, sizeof(list));
  int16_t id;
  TType t;
  ASSERT_TRUE(d.NextField(&id, &t));
  EXPECT_EQ(id, 1);
  EXPECT_EQ(t, TType::kList);
  TType et;
  uint32_t n;
  EXPECT_FALSE(d.ReadListHeader(&et, &n));
  EXPECT_NE(d.error().find("exceeds the"), std::string::npos) << d.error();
  // A string of 1000 bytes in a 3-byte buffer.
  const uint8_t str[] = {0x18, 0xe8, 0x07};
  CompactDecoder d2(str, sizeof(str));
  ASSERT_TRUE(d2.NextField(&id, &t));
  d2.ReadBinary();
  EXPECT_FALSE(d2.ok());
  // Deep nesting.
  std::string deep(200, '\x1c');
  CompactDecoder d3(reinterpret_cast<const uint8_t*>(deep.data()), deep.size());
  ASSERT_TRUE(d3.NextField(&id, &t));
  d3.Skip(t);
  EXPECT_FALSE(d3.ok());
}

// ---- corruption ----

std::string SmallFile(Compression c) {
  Schema schema{{{"s", ColumnType::kString, true}, {"i", ColumnType::kInt64, false}, {"b", ColumnType::kBoolean, true}}};
  RecordBatch batch(schema);
  for (int i = 0; i < 300; ++i) {
    if (i % 5 == 0) batch.column(0).AppendNull();
    else batch.column(0).AppendString(std::string(1, 'v').append(std::to_string(i % 9)));
    batch.column(1).AppendInt64(i * 7);
    batch.column(2).AppendBool(i % 2);
  }
  WriterOptions opts;
  opts.compression = c;
  opts.row_group_rows = 100;
  opts.page_rows = 40;
  return WriteToString(schema, batch, opts);
}

// Opens a damaged file: row groups may not claim more than 1M rows.
Result<std::unique_ptr<ParquetReader>> OpenDamaged(const std::string& bytes, const std::string& name) {
  ReaderOptions ro;
  ro.max_row_group_rows = 1 << 20;
  return ParquetReader::OpenBuffer(bytes, name, ro);
}

// Opens and reads everything; returns the first error (or OK).
Status ReadAll(const std::string& bytes, const std::string& name) {
  CDC_ASSIGN_OR_RETURN(auto r, OpenDamaged(bytes, name));
  RecordBatch b;
  for (int g = 0; g < r->num_row_groups(); ++g) CDC_RETURN_IF_ERROR(r->ReadRowGroup(g, &b));
  return Status::OK();
}

// The same through ReadColumnPages and PageDecoder, page by page.
Status ReadAllByPages(const std::string& bytes, const std::string& name) {
  CDC_ASSIGN_OR_RETURN(auto r, OpenDamaged(bytes, name));
  PageDecoder decoder;
  ColumnVector page;
  for (int g = 0; g < r->num_row_groups(); ++g) {
    for (size_t c = 0; c < r->schema().columns.size(); ++c) {
      CDC_ASSIGN_OR_RETURN(auto pages, r->ReadColumnPages(g, static_cast<int>(c)));
      for (size_t p = 0; p < pages->num_pages(); ++p) CDC_RETURN_IF_ERROR(decoder.Decode(*pages, p, &page));
    }
  }
  return Status::OK();
}

// Pages decoded one at a time (ColumnPages + PageDecoder), by two decoders on two threads taking every
// other page, give exactly what ReadRowGroup gives: every type, nulls, dictionary pages followed by PLAIN
// ones (the fallback), several row groups; from a buffer and from a file (whose chunk is copied).
TEST(ParquetPages, PagesDecodedSeparatelyEqualTheRowGroup) {
  Schema schema = AllTypesSchema();
  schema.columns.push_back({"dict_then_plain", ColumnType::kString, true});
  RecordBatch batch(schema);
  const size_t rows = 12000;
  FillAllTypes(&batch, rows, 0);
  for (size_t r = 0; r < rows; ++r) {
    if (r % 11 == 4) batch.column(7).AppendNull();
    else if (r < 6000) batch.column(7).AppendString("repeat-" + std::to_string(r % 5));
    else batch.column(7).AppendString("unique-" + std::to_string(r) + std::string(40, 'q'));
  }
  WriterOptions opts;
  opts.page_rows = 700;
  opts.row_group_rows = 5000;
  opts.dictionary_bytes = 16 << 10;
  std::string file = WriteToString(schema, batch, opts);
  auto path = std::filesystem::temp_directory_path() / ("cdc-pages-" + std::to_string(getpid()) + ".parquet");
  {
    std::ofstream(path, std::ios::binary) << file;
  }
  for (bool from_file : {false, true}) {
    auto r = from_file ? ParquetReader::OpenFile(path) : ParquetReader::OpenBuffer(file);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    ASSERT_EQ((*r)->num_row_groups(), 3);
    size_t row_base = 0;
    for (int g = 0; g < (*r)->num_row_groups(); ++g) {
      RecordBatch whole;
      ASSERT_TRUE((*r)->ReadRowGroup(g, &whole).ok());
      for (size_t c = 0; c < schema.columns.size(); ++c) {
        auto pages = (*r)->ReadColumnPages(g, static_cast<int>(c));
        ASSERT_TRUE(pages.ok()) << pages.status().ToString();
        ASSERT_GT((*pages)->num_pages(), 1u) << "column " << c;
        std::vector<ColumnVector> decoded((*pages)->num_pages());
        std::vector<Status> status((*pages)->num_pages());
        auto work = [&](size_t parity) {
          PageDecoder decoder;
          ColumnVector scratch;  // reused for every page of this thread
          for (size_t p = parity; p < (*pages)->num_pages(); p += 2) {
            status[p] = decoder.Decode(**pages, p, &scratch);
            decoded[p] = scratch;
          }
        };
        std::thread other(work, 1);
        work(0);
        other.join();
        int64_t next_row = 0;
        for (size_t p = 0; p < (*pages)->num_pages(); ++p) {
          ASSERT_TRUE(status[p].ok()) << status[p].ToString();
          ASSERT_EQ((*pages)->first_row(p), next_row);
          ASSERT_EQ(static_cast<int64_t>(decoded[p].size()), (*pages)->num_rows(p));
          ExpectColumnsEqual(whole.column(c), static_cast<size_t>(next_row), decoded[p], decoded[p].size());
          next_row += (*pages)->num_rows(p);
        }
        ASSERT_EQ(static_cast<size_t>(next_row), whole.num_rows());
      }
      row_base += whole.num_rows();
    }
    EXPECT_EQ(row_base, rows);
  }
  std::filesystem::remove(path);
}

// A damaged page fails alone, with the file, row group, column and page in the message; the others
// still decode.
TEST(ParquetPages, ADamagedPageFailsWithWhereItIs) {
  Schema schema{{{"v", ColumnType::kString, false}}};
  RecordBatch batch(schema);
  for (int i = 0; i < 3000; ++i) batch.column(0).AppendString("value " + std::to_string(i) + std::string(30, 'x'));
  WriterOptions opts;
  opts.page_rows = 1000;
  opts.dictionary = false;
  opts.compression = Compression::kUncompressed;
  std::string file = WriteToString(schema, batch, opts);
  auto clean = ParquetReader::OpenBuffer(file, "pages.parquet");
  ASSERT_TRUE(clean.ok());
  auto pages = (*clean)->ReadColumnPages(0, 0);
  ASSERT_TRUE(pages.ok());
  ASSERT_EQ((*pages)->num_pages(), 3u);
  // Damage the length prefix of row 1500's value (in the second page; the file is uncompressed).
  size_t at = file.find("value 1500" + std::string(30, 'x'));
  ASSERT_NE(at, std::string::npos);
  ASSERT_GE(at, 4u);
  std::string bad = file;
  for (size_t k = at - 4; k < at; ++k) bad[k] = static_cast<char>(0xff);
  auto r = ParquetReader::OpenBuffer(bad, "pages.parquet");
  ASSERT_TRUE(r.ok());
  auto bad_pages = (*r)->ReadColumnPages(0, 0);
  ASSERT_TRUE(bad_pages.ok()) << bad_pages.status().ToString();  // headers are intact
  PageDecoder decoder;
  ColumnVector out;
  EXPECT_TRUE(decoder.Decode(**bad_pages, 0, &out).ok());
  Status s = decoder.Decode(**bad_pages, 1, &out);
  ASSERT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(s.message().find("Parquet file pages.parquet: row group 0, column 'v': page 1"), std::string::npos)
      << s.ToString();
  // A failed page leaves no value and none of its bytes behind (PLAIN strings are decompressed and
  // compacted in the vector itself).
  EXPECT_EQ(out.size(), 0u);
  EXPECT_TRUE(out.string_bytes().empty());
  ASSERT_TRUE(decoder.Decode(**bad_pages, 2, &out).ok());
  EXPECT_EQ(out.String(0), "value 2000" + std::string(30, 'x'));
}

TEST(ParquetCorruption, TruncatedFilesAreRejectedWithAClearError) {
  std::string file = SmallFile(Compression::kSnappy);
  ASSERT_TRUE(ReadAll(file, "ok.parquet").ok());
  for (size_t len = 0; len < file.size(); ++len) {
    Status s = ReadAll(file.substr(0, len), "cut.parquet");
    ASSERT_TRUE(s.IsCorruption()) << len << ": " << s.ToString();
    ASSERT_EQ(s.message().rfind("Parquet file cut.parquet: ", 0), 0u) << s.message();
  }
  EXPECT_EQ(ReadAll(file.substr(0, 11), "x").message(),
            "Parquet file x: too short to be Parquet (11 bytes, need at least 12)");
  EXPECT_EQ(ReadAll(file.substr(0, file.size() - 1), "x").message(),
            "Parquet file x: does not end with the magic bytes PAR1 (truncated, or still being written)");
}

TEST(ParquetCorruption, FlippedBytesNeverCrash) {
  for (Compression c : {Compression::kSnappy, Compression::kUncompressed, Compression::kZstd}) {
    std::string file = SmallFile(c);
    int corrupt = 0;
    for (size_t pos = 0; pos < file.size(); ++pos) {
      for (uint8_t mask : {0x01, 0x80, 0xff}) {
        std::string bad = file;
        bad[pos] = static_cast<char>(bad[pos] ^ mask);
        Status s = ReadAll(bad, "flip.parquet");
        // Flipping a value byte may still decode (to other values); any error must be Corruption.
        if (!s.ok()) {
          ASSERT_TRUE(s.IsCorruption()) << pos << ": " << s.ToString();
          ++corrupt;
        }
        // Page by page: the same pages decode or fail.
        Status by_pages = ReadAllByPages(bad, "flip.parquet");
        ASSERT_EQ(by_pages.ok(), s.ok()) << pos << ": " << s.ToString() << " / " << by_pages.ToString();
        if (!by_pages.ok()) {
          ASSERT_TRUE(by_pages.IsCorruption()) << pos << ": " << by_pages.ToString();
        }
      }
    }
    EXPECT_GT(corrupt, 0);
  }
}

TEST(ParquetCorruption, ExactErrorsForDamagedFooters) {
  std::string file = SmallFile(Compression::kSnappy);
  std::string bad = file;
  bad[0] = 'X';
  EXPECT_EQ(ReadAll(bad, "f").message(), "Parquet file f: does not start with the magic bytes PAR1 (not a Parquet file)");
  bad = file;
  uint32_t huge = 0x7fffffff;
  std::memcpy(bad.data() + bad.size() - 8, &huge, 4);
  EXPECT_EQ(ReadAll(bad, "f").message(),
            "Parquet file f: footer length 2147483647 exceeds the file size " + std::to_string(file.size()));
  // A page body cut short inside an otherwise valid file: chop bytes out of the first chunk.
  bad = file.substr(0, 4) + file.substr(30);
  Status s = ReadAll(bad, "f");
  EXPECT_TRUE(s.IsCorruption());
}

}  // namespace
}  // namespace cdc::parquet
