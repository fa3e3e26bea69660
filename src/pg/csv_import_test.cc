// Value and row validation of the CSV import (no database: the import itself is tested in
// tests/import_test.cc against a private PostgreSQL).
#include "pg/csv_import.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

namespace cdc::pg {
namespace {

TEST(CheckInt4, ValidValues) {
  int32_t v = 0;
  EXPECT_EQ(CheckInt4("0", &v), nullptr);
  EXPECT_EQ(v, 0);
  EXPECT_EQ(CheckInt4("42", &v), nullptr);
  EXPECT_EQ(v, 42);
  EXPECT_EQ(CheckInt4("+7", &v), nullptr);
  EXPECT_EQ(v, 7);
  EXPECT_EQ(CheckInt4("-2147483648", &v), nullptr);
  EXPECT_EQ(v, INT32_MIN);
  EXPECT_EQ(CheckInt4("2147483647", &v), nullptr);
  EXPECT_EQ(v, INT32_MAX);
  EXPECT_EQ(CheckInt4("007", &v), nullptr);
  EXPECT_EQ(v, 7);
}

TEST(CheckInt4, InvalidValues) {
  int32_t v = 0;
  for (const char* s : {"", "-", "+", "abc", "1.5", "1e3", " ", "1 2", "0x10", "--1", "١٢", "1_000"}) {
    EXPECT_STREQ(CheckInt4(s, &v), "not an integer") << s;
  }
  EXPECT_STREQ(CheckInt4("2147483648", &v), "out of range for integer (-2147483648..2147483647)");
  EXPECT_STREQ(CheckInt4("-2147483649", &v), "out of range for integer (-2147483648..2147483647)");
  EXPECT_STREQ(CheckInt4("99999999999999999999999", &v), "out of range for integer (-2147483648..2147483647)");
}

TEST(CheckInt, WhiteSpaceAroundIsAllowedAsPostgresAllows) {
  int64_t v = 0;
  EXPECT_EQ(CheckInt(" 12\t", 32, &v), nullptr);
  EXPECT_EQ(v, 12);
  EXPECT_EQ(CheckInt("\n-3 ", 16, &v), nullptr);
  EXPECT_EQ(v, -3);
}

TEST(CheckInt, RangesOfEachWidth) {
  int64_t v = 0;
  EXPECT_EQ(CheckInt("-32768", 16, &v), nullptr);
  EXPECT_EQ(v, -32768);
  EXPECT_STREQ(CheckInt("32768", 16, &v), "out of range for smallint (-32768..32767)");
  EXPECT_EQ(CheckInt("-9223372036854775808", 64, &v), nullptr);
  EXPECT_EQ(v, INT64_MIN);
  EXPECT_EQ(CheckInt("9223372036854775807", 64, &v), nullptr);
  EXPECT_EQ(v, INT64_MAX);
  EXPECT_STREQ(CheckInt("9223372036854775808", 64, &v),
               "out of range for bigint (-9223372036854775808..9223372036854775807)");
  EXPECT_STREQ(CheckInt("3000000000", 32, &v), "out of range for integer (-2147483648..2147483647)");
  EXPECT_EQ(CheckInt("3000000000", 64, &v), nullptr);
}

TEST(CheckBool, AcceptsWhatBoolinAccepts) {
  for (const char* s : {"t", "true", "TRUE", "tr", "y", "yes", "on", "ON", "1", "f", "false", "FaLsE", "n", "no",
                        "off", "of", "0", " true ", "\tf"}) {
    EXPECT_EQ(CheckBool(s), nullptr) << s;
  }
  for (const char* s : {"", "o", "truex", "yess", "2", "10", "-1", "nope", "ok", "t rue"}) {
    EXPECT_NE(CheckBool(s), nullptr) << s;
  }
}

TEST(CheckVarchar, CountsCharactersAndAllowsTrailingSpaces) {
  EXPECT_EQ(CheckVarchar("abc", 3), nullptr);
  EXPECT_EQ(CheckVarchar("żółw", 4), nullptr);
  EXPECT_EQ(CheckVarchar("abc   ", 3), nullptr);  // PostgreSQL cuts the spaces off
  EXPECT_NE(CheckVarchar("abcd", 3), nullptr);
  EXPECT_NE(CheckVarchar("żółwi", 4), nullptr);
  EXPECT_NE(CheckVarchar("abc  x", 3), nullptr);
}

const char* CheckIsoDate(const char* s) {
  bool decided = false;
  const char* why = CheckDate(s, &decided);
  EXPECT_TRUE(decided) << s;
  return why;
}

TEST(CheckDate, ValidDates) {
  for (const char* s : {"2024-01-31", "2024-02-29", "2000-02-29", "0001-01-01", "9999-12-31", "2023-04-30"}) {
    EXPECT_EQ(CheckIsoDate(s), nullptr) << s;
  }
}

TEST(CheckDate, InvalidDates) {
  EXPECT_STREQ(CheckIsoDate("2023-02-29"), "invalid date: no such day in that month");
  EXPECT_STREQ(CheckIsoDate("1900-02-29"), "invalid date: no such day in that month");
  EXPECT_STREQ(CheckIsoDate("2023-04-31"), "invalid date: no such day in that month");
  EXPECT_STREQ(CheckIsoDate("2023-01-00"), "invalid date: no such day in that month");
  EXPECT_STREQ(CheckIsoDate("2023-13-01"), "invalid date: month must be 01-12");
  EXPECT_STREQ(CheckIsoDate("2023-00-10"), "invalid date: month must be 01-12");
  EXPECT_STREQ(CheckIsoDate("0000-01-01"), "invalid date: year 0000 does not exist");
}

TEST(CheckDate, OtherSpellingsAreLeftToPostgres) {
  for (const char* s : {"", "2023-1-01", "01.02.2023", "2023/01/01", "2023-01-01T00", "abcd-ef-gh", " 2023-01-01",
                        "today", "Jan 5 2024"}) {
    bool decided = true;
    EXPECT_EQ(CheckDate(s, &decided), nullptr) << s;
    EXPECT_FALSE(decided) << s;
  }
}

TEST(ShowValue, CutsAt80CharactersOnUtf8Boundary) {
  std::string ascii(100, 'a');
  EXPECT_EQ(ShowValue(ascii), std::string(80, 'a') + "...");
  std::string pl;
  for (int i = 0; i < 100; ++i) pl += "ż";
  std::string want;
  for (int i = 0; i < 80; ++i) want += "ż";
  EXPECT_EQ(ShowValue(pl), want + "...");
  EXPECT_EQ(ShowValue("short"), "short");
}

TEST(ShowValue, EscapesControlAndInvalidBytes) {
  EXPECT_EQ(ShowValue("a\nb\tc\r"), "a\\nb\\tc\\r");
  EXPECT_EQ(ShowValue(std::string("x\0y", 3)), "x\\x00y");
  EXPECT_EQ(ShowValue("caf\xE9"), "caf\\xE9");
}

TEST(IdSet, DenseIdsBecomeBitmapsAndStillDetectDuplicates) {
  IdSet set;
  for (int32_t i = -5000; i < 300000; ++i) ASSERT_TRUE(set.Insert(i)) << i;
  for (int32_t i = -5000; i < 300000; i += 997) ASSERT_FALSE(set.Insert(i)) << i;
  EXPECT_EQ(set.size(), 305000u);
  EXPECT_TRUE(set.Insert(INT32_MAX));
  EXPECT_FALSE(set.Insert(INT32_MAX));
}

TEST(IdSet, Int64KeysFarApartDoNotCollide) {
  IdSet set;
  // Same low 16 bits, different pages; and the extremes.
  for (int64_t k : {int64_t{1}, (int64_t{1} << 40) + 1, -(int64_t{1} << 40) + 1, INT64_MIN, INT64_MAX, int64_t{-1}}) {
    EXPECT_TRUE(set.Insert(k)) << k;
    EXPECT_FALSE(set.Insert(k)) << k;
  }
  EXPECT_EQ(set.size(), 6u);
}

TEST(IdSet, DetectsDuplicatesAcrossGrowth) {
  IdSet set;
  std::mt19937 rng(7);
  std::set<int32_t> ref;
  for (int i = 0; i < 200000; ++i) {
    auto id = static_cast<int32_t>(rng() % 150000) - 20000;  // includes 0 and negatives
    bool fresh = ref.insert(id).second;
    ASSERT_EQ(set.Insert(id), fresh) << id;
  }
  EXPECT_EQ(set.size(), ref.size());
  EXPECT_TRUE(set.Insert(INT32_MIN));
  EXPECT_FALSE(set.Insert(INT32_MIN));
}

TableColumn Col(const char* name, const char* type_name, bool not_null = false, int key = 0) {
  TableColumn c;
  c.name = name;
  c.type = type_name;
  c.type_name = type_name;
  c.not_null = not_null || key > 0;
  c.key_position = key;
  return c;
}

// Tables as LoadTable would describe them (the demo tables and one with other types).
TableInfo Table(const std::string& name) {
  TableInfo t;
  t.name.name = name;
  if (name == "klienci") {
    t.columns = {Col("id", "int4", true, 1), Col("nazwa", "text", true), Col("email", "text"), Col("kraj", "text"),
                 Col("telefon", "text")};
  } else if (name == "pracownicy") {
    t.columns = {Col("id", "int4", true, 1), Col("imie", "text"), Col("nazwisko", "text"), Col("email", "text"),
                 Col("wiek", "int4"), Col("stanowisko", "text")};
  } else if (name == "projekty") {
    t.columns = {Col("id", "int4", true, 1), Col("nazwa", "text", true), Col("opis", "text"),
                 Col("data_rozpoczecia", "date"), Col("data_zakonczenia", "date")};
  } else if (name == "customers") {
    t.columns = {Col("id", "int8", true, 1), Col("name", "text", true), Col("code", "varchar"), Col("active", "bool"),
                 Col("balance", "numeric"), Col("created", "timestamptz", true), Col("total", "numeric")};
    t.columns[2].typmod = 3 + 4;   // varchar(3)
    t.columns[5].has_default = true;
    t.columns[6].generated = true;
  } else if (name == "lines") {
    t.columns = {Col("order_id", "uuid", true, 1), Col("line", "int4", true, 2), Col("qty", "int4")};
  }
  for (size_t i = 0; i < t.columns.size(); ++i) {
    if (t.columns[i].key_position > 0) t.key.push_back(i);
  }
  return t;
}

// Reads the CSV text, builds the validator from its header and checks each row; returns the
// messages of the bad rows (or the header error).
std::vector<std::string> Validate(const std::string& table, const std::string& csv) {
  auto reader = CsvReader::FromString(csv, CsvReader::Options(), "f.csv");
  CsvRecord rec;
  EXPECT_TRUE(*reader->Next(&rec));
  static std::map<std::string, TableInfo> tables;  // outlives the validator's column pointers
  if (!tables.count(table)) tables[table] = Table(table);
  auto v = RowValidator::FromHeader(tables[table], rec, "f.csv");
  if (!v.ok()) return {v.status().message()};
  std::vector<std::string> errors;
  RowError err;
  for (;;) {
    auto more = reader->Next(&rec);
    EXPECT_TRUE(more.ok());
    if (!more.ok() || !*more) break;
    if (!v->Check(rec, &err)) errors.push_back(err.Message());
  }
  return errors;
}

TEST(RowValidator, HeaderInAnyOrderCaseAndSpaces) {
  EXPECT_TRUE(Validate("klienci", "Telefon, kraj ,EMAIL,nazwa,id\n+48 1,PL,a@b.pl,Firma,1\n").empty());
}

TEST(RowValidator, HeaderMissingRequiredColumn) {
  auto e = Validate("klienci", "id,email\n1,a@b\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0],
            "f.csv:1: header: missing required column \"nazwa\" for table klienci (its columns: "
            "id,nazwa,email,kraj,telefon)");
  e = Validate("pracownicy", "imie,nazwisko\nA,B\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NE(e[0].find("missing required column \"id\""), std::string::npos);
}

TEST(RowValidator, OptionalColumnsMayBeMissing) {
  EXPECT_TRUE(Validate("pracownicy", "id,wiek\n1,30\n").empty());
}

TEST(RowValidator, HeaderUnknownAndRepeatedColumn) {
  auto e = Validate("klienci", "id,nazwa,fax\n1,a,2\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0], "f.csv:1:10: header: unknown column \"fax\" for table klienci (its columns: "
                  "id,nazwa,email,kraj,telefon)");
  e = Validate("klienci", "id,nazwa,id\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0], "f.csv:1:10: header: column \"id\" appears twice");
}

TEST(RowValidator, IntegerErrorsNameLineColumnValueAndReason) {
  auto e = Validate("pracownicy", "id,imie,wiek\n1,Ala,30\n2,Ola,trzydzieści\n3,Ela,99999999999\n");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0], "f.csv:3:7: column \"wiek\": value \"trzydzieści\": not an integer");
  EXPECT_EQ(e[1], "f.csv:4:7: column \"wiek\": value \"99999999999\": out of range for integer "
                  "(-2147483648..2147483647)");
}

TEST(RowValidator, DateErrorsOfIsoDatesHereOthersLeftToPostgres) {
  auto e = Validate("projekty", "id,nazwa,data_rozpoczecia\n1,P,2024-02-30\n2,P,30.01.2024\n3,P,\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0], "f.csv:2:5: column \"data_rozpoczecia\": value \"2024-02-30\": invalid date: no such day in that month");
}

TEST(RowValidator, EmptyIsNullOnlyForNullableColumns) {
  auto e = Validate("klienci", "id,nazwa,email\n1,,x\n2,\"\",\n,N,\n");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0], "f.csv:2:3: column \"nazwa\": value \"\": empty value in a NOT NULL column");
  // Quoted empty is an empty string, not NULL: allowed for nazwa. Empty id is not.
  EXPECT_EQ(e[1], "f.csv:4:1: column \"id\": value \"\": empty value in a NOT NULL column");
}

TEST(RowValidator, QuotedEmptyIsNotAnInteger) {
  auto e = Validate("pracownicy", "id,wiek\n1,\"\"\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0], "f.csv:2:3: column \"wiek\": value \"\": not an integer");
}

TEST(RowValidator, InvalidUtf8) {
  auto e = Validate("klienci", "id,nazwa\n1,Caf\xE9 Paris\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0], "f.csv:2:3: column \"nazwa\": value \"Caf\\xE9 Paris\": invalid UTF-8 (byte 4 of the value; save "
                  "the file as UTF-8)");
}

TEST(RowValidator, WrongFieldCount) {
  auto e = Validate("klienci", "id,nazwa,kraj\n1,A,PL,extra\n2,B\n");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0], "f.csv:2:8: value \"extra\": wrong field count: 4 fields, the header has 3 (an unquoted comma?)");
  EXPECT_EQ(e[1], "f.csv:3:4: column \"kraj\": value \"\": wrong field count: 2 fields, the header has 3 (column "
                  "\"kraj\" is missing)");
}

TEST(RowValidator, DuplicateIdWithinFile) {
  auto e = Validate("klienci", "nazwa,id\nA,1\nB,2\nC,1\nD, 2\n");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0], "f.csv:4:3: column \"id\": value \"1\": duplicate key within the file");
  // " 2" is the integer 2, as PostgreSQL reads it.
  EXPECT_EQ(e[1], "f.csv:5:3: column \"id\": value \" 2\": duplicate key within the file");
}

TEST(RowValidator, OtherTypesAreCheckedHereWhereExactOrLeftToPostgres) {
  auto e = Validate("customers", "ID,Name,code,active,balance\n1,A,abc,yes,12.50\n2,B,abcd,t,x\n3,C,ab,maybe,\n"
                                 "9223372036854775808,D,,,\n");
  ASSERT_EQ(e.size(), 3u);
  EXPECT_NE(e[0].find("f.csv:3:5: column \"code\": value \"abcd\": value too long"), std::string::npos) << e[0];
  EXPECT_NE(e[1].find("f.csv:4:8: column \"active\": value \"maybe\": not a boolean"), std::string::npos) << e[1];
  EXPECT_NE(e[2].find("f.csv:5:1: column \"id\": value \"9223372036854775808\": out of range for bigint"),
            std::string::npos)
      << e[2];
}

// The validator of the header line `header` for `table` (which must outlive it).
Result<RowValidator> ValidatorFor(const TableInfo& table, const std::string& header) {
  auto reader = CsvReader::FromString(header + "\n", CsvReader::Options(), "f.csv");
  CsvRecord rec;
  EXPECT_TRUE(*reader->Next(&rec));
  return RowValidator::FromHeader(table, rec, "f.csv");
}

TEST(RowValidator, WhoDecidesWhichColumn) {
  TableInfo t = Table("customers");
  auto v = ValidatorFor(t, "id,name,balance,active");
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_TRUE(v->decides(0));
  EXPECT_TRUE(v->decides(1));
  EXPECT_FALSE(v->decides(2));  // numeric: PostgreSQL
  EXPECT_TRUE(v->decides(3));
  EXPECT_FALSE(v->decides_all());
  EXPECT_TRUE(v->checks_key());
  ASSERT_EQ(v->key_fields().size(), 1u);
}

TEST(RowValidator, CompositeKeyFieldsInKeyOrderAndCheckedByPostgres) {
  TableInfo t = Table("lines");
  auto v = ValidatorFor(t, "qty,line,order_id");
  ASSERT_TRUE(v.ok()) << v.status().message();
  EXPECT_EQ(v->key_fields(), (std::vector<size_t>{2, 1}));
  EXPECT_FALSE(v->checks_key());
}

TEST(RowValidator, GeneratedColumnAndDefaultedRequiredColumn) {
  auto e = Validate("customers", "id,name,total\n1,A,3\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0], "f.csv:1:9: header: column \"total\" is a generated column, computed by PostgreSQL: leave it "
                  "out of the file");
  // created is NOT NULL with a default: may be left out; name may not.
  EXPECT_TRUE(Validate("customers", "id,name\n1,A\n").empty());
  e = Validate("customers", "id\n1\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NE(e[0].find("missing required column \"name\""), std::string::npos) << e[0];
}

TEST(RowValidator, RejectedRowDoesNotReserveItsId) {
  // Row 2 is bad (no nazwa); its id may appear again in a good row.
  EXPECT_EQ(Validate("klienci", "id,nazwa\n1,\n1,ok\n").size(), 1u);
}

TEST(RowValidator, MalformedQuotingIsARowError) {
  auto e = Validate("klienci", "id,nazwa\n1,ab\"c\n2,ok\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0], "f.csv:2:5: column \"nazwa\": value \"ab\"c\": a quote inside an unquoted field (quote the whole "
                  "field and double the quote: \"a \"\"b\"\"\")");
}

TEST(RowValidator, LongValueIsCutInMessage) {
  std::string big(200, 'x');
  auto e = Validate("pracownicy", "id,wiek\n1," + big + "\n");
  ASSERT_EQ(e.size(), 1u);
  EXPECT_NE(e[0].find("value \"" + std::string(80, 'x') + "...\": not an integer"), std::string::npos);
}

TEST(ImportMode, Parse) {
  ImportMode m;
  EXPECT_TRUE(ParseImportMode("insert", &m));
  EXPECT_EQ(m, ImportMode::kInsert);
  EXPECT_TRUE(ParseImportMode("replace", &m));
  EXPECT_EQ(m, ImportMode::kReplace);
  EXPECT_FALSE(ParseImportMode("merge", &m));
}

}  // namespace
}  // namespace cdc::pg
