// Decoder tests: golden files of real pgoutput bytes (captured from PostgreSQL 15 with
// pgoutput-capture, see src/pg/testdata/README.md), hand-checked fields, and corruption: every
// truncation and byte flip of every golden message must give a clean Corruption error or a valid
// decode, never a crash or an out-of-bounds read (ASan runs this too).
#include "pg/pgoutput_decoder.h"
#include "pg/pgoutput_testdata.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace cdc::pg {
namespace {

std::string TestData(const std::string& name) { return std::string(CDC_PG_TESTDATA) + "/" + name; }

std::vector<std::string> ReadHexLines(const std::string& path) { return ReadPgOutputHex(path); }

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The golden files: pgoutput_v1 (the three tables' workload) and pgoutput_v1_types (Type messages of an
// enum, an enum array, a domain and a domain array, and an Origin message).
const char* const kGoldenFiles[] = {"pgoutput_v1", "pgoutput_v1_types"};

std::vector<std::string> Golden() {
  std::vector<std::string> all;
  for (const char* name : kGoldenFiles) {
    auto msgs = ReadHexLines(TestData(std::string(name) + ".hex"));
    all.insert(all.end(), msgs.begin(), msgs.end());
  }
  return all;
}

TEST(PgOutputDecoderTest, GoldenFilesDecodeToExpectedMessages) {
  for (const auto& [name, count] : {std::pair<std::string, size_t>{"pgoutput_v1", 41}, {"pgoutput_v1_types", 15}}) {
    auto msgs = ReadHexLines(TestData(name + ".hex"));
    ASSERT_EQ(msgs.size(), count) << name;
    PgOutputDecoder dec;
    PgOutputMessage m;
    std::string got;
    for (const auto& bytes : msgs) {
      Status st = dec.Decode(bytes, &m);
      ASSERT_TRUE(st.ok()) << st.ToString();
      got += DescribePgOutputMessage(m) + "\n";
    }
    std::string expected_path = TestData(name + ".expected");
    if (std::getenv("CDCPIPE_UPDATE_GOLDEN")) {
      std::ofstream(expected_path) << got;
    }
    EXPECT_EQ(got, ReadAll(expected_path)) << name;
  }
}

TEST(PgOutputDecoderTest, HandCheckedFields) {
  auto msgs = ReadHexLines(TestData("pgoutput_v1.hex"));
  PgOutputDecoder dec;
  PgOutputMessage m;
  // 0: Begin of the first INSERT transaction.
  ASSERT_TRUE(dec.Decode(msgs[0], &m).ok());
  EXPECT_EQ(m.type, PgOutputType::kBegin);
  EXPECT_GT(m.begin.xid, 0u);
  EXPECT_GT(m.begin.commit_time_us, 1700000000000000LL);  // after 2023: the epoch shift is applied
  Lsn final_lsn = m.begin.final_lsn;
  // 1: Relation klienci with id as the key column.
  ASSERT_TRUE(dec.Decode(msgs[1], &m).ok());
  ASSERT_EQ(m.type, PgOutputType::kRelation);
  EXPECT_EQ(m.relation.schema, "public");
  EXPECT_EQ(m.relation.table, "klienci");
  EXPECT_EQ(m.relation.replica_identity, 'd');
  ASSERT_EQ(m.relation.columns.size(), 5u);
  EXPECT_EQ(m.relation.columns[0].name, "id");
  EXPECT_EQ(m.relation.columns[0].type_oid, 23u);
  EXPECT_TRUE(m.relation.columns[0].key());
  EXPECT_FALSE(m.relation.columns[1].key());
  EXPECT_EQ(m.relation.columns[1].type_oid, 25u);
  // 3: the second inserted row: tab, quotes, backslash come through verbatim; NULL email.
  ASSERT_TRUE(dec.Decode(msgs[3], &m).ok());
  ASSERT_EQ(m.type, PgOutputType::kInsert);
  ASSERT_EQ(m.row.new_tuple.size(), 5u);
  EXPECT_EQ(m.row.new_tuple[0].data, "2");
  EXPECT_EQ(m.row.new_tuple[1].data, "Tab\tand \"quote\" \\ back");
  EXPECT_EQ(m.row.new_tuple[2].kind, TupleValue::Kind::kNull);
  EXPECT_EQ(m.row.new_tuple[4].data, "+48 123");
  // 4: Commit of that transaction: its commit LSN is Begin's final LSN.
  ASSERT_TRUE(dec.Decode(msgs[4], &m).ok());
  ASSERT_EQ(m.type, PgOutputType::kCommit);
  EXPECT_EQ(m.commit.commit_lsn, final_lsn);
  EXPECT_GT(m.commit.end_lsn, m.commit.commit_lsn);
  // 9: UPDATE klienci SET id = 3 WHERE id = 2: old key tuple 'K' with only the key set.
  ASSERT_TRUE(dec.Decode(msgs[9], &m).ok());
  ASSERT_EQ(m.type, PgOutputType::kUpdate);
  EXPECT_EQ(m.row.old_kind, 'K');
  EXPECT_EQ(m.row.old_tuple[0].data, "2");
  EXPECT_EQ(m.row.old_tuple[1].kind, TupleValue::Kind::kNull);
  EXPECT_EQ(m.row.new_tuple[0].data, "3");
}

TEST(PgOutputDecoderTest, EveryMessageTypeIsCovered) {
  std::string seen;
  PgOutputDecoder dec;
  PgOutputMessage m;
  for (const auto& bytes : Golden()) {
    ASSERT_TRUE(dec.Decode(bytes, &m).ok());
    if (seen.find(static_cast<char>(m.type)) == std::string::npos) seen += static_cast<char>(m.type);
  }
  for (char t : std::string("BCORYIUDTM")) EXPECT_NE(seen.find(t), std::string::npos) << t;
}

// Real Type and Origin messages (pgoutput_v1_types, see testdata/README.md).
TEST(PgOutputDecoderTest, HandCheckedTypeAndOriginMessages) {
  auto msgs = ReadHexLines(TestData("pgoutput_v1_types.hex"));
  PgOutputDecoder dec;
  PgOutputMessage m;
  // 1: the enum column's type; 3: a domain over numeric is named by its base type, in pg_catalog ("").
  ASSERT_TRUE(dec.Decode(msgs[1], &m).ok());
  ASSERT_EQ(m.type, PgOutputType::kType);
  EXPECT_EQ(m.type_info.schema, "public");
  EXPECT_EQ(m.type_info.name, "mood");
  EXPECT_GE(m.type_info.type_oid, 16384u);
  ASSERT_TRUE(dec.Decode(msgs[3], &m).ok());
  ASSERT_EQ(m.type, PgOutputType::kType);
  EXPECT_EQ(m.type_info.schema, "");
  EXPECT_EQ(m.type_info.name, "numeric");
  // 12: the Origin of a transaction replayed with pg_replication_origin_xact_setup('0/ABCDEF0', ...).
  ASSERT_TRUE(dec.Decode(msgs[12], &m).ok());
  ASSERT_EQ(m.type, PgOutputType::kOrigin);
  EXPECT_EQ(m.origin.origin_commit_lsn, Lsn(0xABCDEF0));
  EXPECT_EQ(m.origin.name, "node_a");
}

TEST(PgOutputDecoderTest, HandMadeOriginAndTypeMessages) {
  PgOutputDecoder dec;
  PgOutputMessage m;
  std::string origin("O\0\0\0\0\x01\x02\x03\x04node_a\0", 16);
  ASSERT_TRUE(dec.Decode(origin, &m).ok());
  EXPECT_EQ(m.type, PgOutputType::kOrigin);
  EXPECT_EQ(m.origin.origin_commit_lsn, Lsn(0x01020304));
  EXPECT_EQ(m.origin.name, "node_a");
  std::string type("Y\0\0\x40\x01public\0mood\0", 17);
  ASSERT_TRUE(dec.Decode(type, &m).ok());
  EXPECT_EQ(m.type, PgOutputType::kType);
  EXPECT_EQ(m.type_info.type_oid, 0x4001u);
  EXPECT_EQ(m.type_info.schema, "public");
  EXPECT_EQ(m.type_info.name, "mood");
}

// Regression: a commit time near INT64_MAX overflowed the epoch shift (undefined behaviour, UBSan abort).
TEST(PgOutputDecoderTest, ExtremeTimestampsDoNotOverflow) {
  PgOutputDecoder dec;
  PgOutputMessage m;
  std::string begin("B\0\0\0\0\0\0\0\x01\x7f\xff\xff\xff\xff\xff\xff\xff\0\0\0\x07", 21);
  ASSERT_TRUE(dec.Decode(begin, &m).ok());
  EXPECT_EQ(m.begin.xid, 7u);
  std::string commit("C\0\0\0\0\0\0\0\0\x01\0\0\0\0\0\0\0\x02\x80\0\0\0\0\0\0\0", 26);
  ASSERT_TRUE(dec.Decode(commit, &m).ok());
  EXPECT_EQ(m.commit.commit_time_us, std::numeric_limits<int64_t>::min() + kPgEpochOffsetMicros);
}

TEST(PgOutputDecoderTest, ExactErrorMessages) {
  PgOutputDecoder dec;
  PgOutputMessage m;
  Status st = dec.Decode(std::string_view(), &m);
  EXPECT_TRUE(st.IsCorruption());
  EXPECT_EQ(st.message(), "pgoutput message: empty message (no type byte at byte 0)");
  st = dec.Decode("Z", &m);
  EXPECT_EQ(st.message(), "pgoutput message: unknown message type 0x5a at byte 0 of 1");
  // Insert with a text value claiming 5 bytes but carrying 2.
  std::string ins("I\0\0\0\x07N\0\x01t\0\0\0\x05" "ab", 16);
  st = dec.Decode(ins, &m);
  EXPECT_TRUE(st.IsCorruption());
  EXPECT_EQ(st.message(), "pgoutput Insert message: truncated at byte 13 of 16 (column value needs 5 bytes)");
  std::string bad_kind("I\0\0\0\x07N\0\x01x", 9);
  st = dec.Decode(bad_kind, &m);
  EXPECT_EQ(st.message(), "pgoutput Insert message: unknown column kind 0x78 at byte 8 (column 1)");
  std::string trailing("I\0\0\0\x07N\0\0!", 9);
  st = dec.Decode(trailing, &m);
  EXPECT_EQ(st.message(), "pgoutput Insert message: 1 unexpected trailing bytes at byte 8 of 9");
}

TEST(PgOutputDecoderTest, EveryTruncationIsACleanCorruptionError) {
  PgOutputDecoder dec;
  PgOutputMessage m;
  size_t checked = 0;
  for (const auto& bytes : Golden()) {
    for (size_t len = 0; len < bytes.size(); ++len) {
      std::string cut = bytes.substr(0, len);  // a copy, so ASan sees reads past the end
      Status st = dec.Decode(cut, &m);
      ASSERT_TRUE(st.IsCorruption()) << "len " << len << " of " << DescribePgOutputMessage(m);
      if (len > 0) {
        EXPECT_NE(st.message().find(std::string(PgOutputTypeName(bytes[0]))), std::string::npos) << st.message();
        EXPECT_NE(st.message().find("byte"), std::string::npos) << st.message();
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 1000u);
}

TEST(PgOutputDecoderTest, FlippedBytesNeverCrash) {
  PgOutputDecoder dec;
  PgOutputMessage m;
  size_t corrupt = 0, total = 0;
  for (const auto& bytes : Golden()) {
    for (size_t i = 0; i < bytes.size() && i < 400; ++i) {
      for (unsigned char x : {0x01, 0x80, 0xff}) {
        std::string b = bytes;
        b[i] = static_cast<char>(b[i] ^ x);
        Status st = dec.Decode(b, &m);
        ++total;
        if (!st.ok()) {
          ASSERT_TRUE(st.IsCorruption()) << st.ToString();
          ++corrupt;
        } else {
          (void)DescribePgOutputMessage(m);  // every view must be readable
        }
      }
    }
  }
  EXPECT_GT(corrupt, 0u);
  EXPECT_GT(total, corrupt);
}

}  // namespace
}  // namespace cdc::pg
