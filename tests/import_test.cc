// `cdcpipe import` end to end: the real binary against a private PostgreSQL 15. Results are checked
// with psql, and loaded data is compared with what psql's own `\copy ... CSV HEADER` makes of the
// same file (an independent CSV parser).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <string>
#include <vector>

#include "pg/schema.h"
#include "support/test_env.h"

namespace cdc::testing {
namespace {

const char* kKlienciDdl =
    "CREATE TABLE klienci (id integer PRIMARY KEY, nazwa text NOT NULL, email text, kraj text, telefon text)";

class ImportTest : public ::testing::Test {
 protected:
  // Import creates no table: the demo tables come from their DDL (what `cdcpipe schema --apply` runs).
  void SetUp() override {
    db_ = pg().CreateTestDatabase();
    pg().Psql(db_, pg::SchemaSql());
  }
  static PgCluster& pg() { return PgCluster::Shared(); }

  CommandResult Import(std::vector<std::string> args) {
    std::vector<std::string> argv = {CdcpipeBin(), "import", "--db", pg().Uri(db_)};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunCommand(argv, {{"CDCPIPE_NO_PROGRESS", "1"}});
  }
  // Writes `csv` to a file in the temp dir and imports it into `table`.
  CommandResult ImportText(const std::string& table, const std::string& csv, std::vector<std::string> extra = {},
                           const std::string& name = "f.csv") {
    WriteFile(tmp_ / name, csv);
    std::vector<std::string> args = {"--table", table, "--file", tmp_ / name};
    args.insert(args.end(), extra.begin(), extra.end());
    return Import(args);
  }
  std::string Dump(const std::string& table) {
    return pg().Psql(db_, "SELECT * FROM " + table + " ORDER BY id");
  }
  std::string Count(const std::string& table) { return pg().Psql(db_, "SELECT count(*) FROM " + table); }
  // Loads `path` into a twin of `table` with psql \copy and checks both hold exactly the same rows.
  void ExpectSameAsPsqlCopy(const std::string& table, const std::string& path) {
    pg().Psql(db_, "DROP TABLE IF EXISTS twin_" + table + "; CREATE TABLE twin_" + table + " (LIKE " + table +
                       " INCLUDING ALL)");
    CommandResult r = RunCommand({"psql", "-X", "-v", "ON_ERROR_STOP=1", "-c",
                                  "\\copy twin_" + table + " FROM '" + path + "' WITH (FORMAT csv, HEADER true)"},
                                 pg().Env(db_));
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    EXPECT_EQ(pg().Psql(db_, "SELECT count(*) FROM ((TABLE " + table + " EXCEPT ALL TABLE twin_" + table +
                                 ") UNION ALL (TABLE twin_" + table + " EXCEPT ALL TABLE " + table + ")) d"),
              "0");
    EXPECT_EQ(Count(table), Count("twin_" + table));
  }

  std::string db_;
  TempDir tmp_{"cdcpipe-import"};
};

TEST_F(ImportTest, SampleDataInsertModeMatchesPsqlCopy) {
  std::string dir = SourceDir() + "/csv_files";
  CommandResult r = Import({"--dir", dir, "--mode", "insert"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.out.find("klienci (" + dir + "/klienci.csv, insert): 2000 rows read, 2000 inserted, 0 updated"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("pracownicy (" + dir + "/pracownicy.csv, insert): 800 rows read, 800 inserted"),
            std::string::npos);
  EXPECT_NE(r.out.find("projekty (" + dir + "/projekty.csv, insert): 150 rows read, 150 inserted"),
            std::string::npos);
  EXPECT_NE(r.out.find("rows/s"), std::string::npos);
  EXPECT_EQ(Count("klienci"), "2000");
  EXPECT_EQ(Count("pracownicy"), "800");
  EXPECT_EQ(Count("projekty"), "150");
  // A value with quotes and a comma inside, and one with a line break.
  EXPECT_EQ(pg().Psql(db_, "SELECT nazwa FROM klienci WHERE id = 1"), "Zakład \"Łosoś\", Stępień");
  EXPECT_EQ(pg().Psql(db_, "SELECT opis FROM projekty WHERE id = 1"),
            "Etap 1: analiza wymagań\nEtap 2: wdrożenie \"Bursztyn\"");
  EXPECT_NE(pg().Psql(db_, "SELECT count(*) FROM klienci WHERE email IS NULL"), "0");
  for (const char* t : {"klienci", "pracownicy", "projekty"}) {
    ExpectSameAsPsqlCopy(t, dir + "/" + t + ".csv");
  }
}

TEST_F(ImportTest, DefaultUpsertReimportIsIdempotentAndTouchesNoRow) {
  std::string dir = SourceDir() + "/csv_files";
  CommandResult r = Import({"--dir", dir});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  std::string before = Dump("klienci") + Dump("pracownicy") + Dump("projekty");
  std::string xmins = pg().Psql(db_, "SELECT string_agg(xmin::text, ',' ORDER BY id) FROM klienci");
  r = Import({"--dir", dir});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.out.find("2000 rows read, 0 inserted, 0 updated, 2000 unchanged, 0 rejected"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("150 rows read, 0 inserted, 0 updated, 150 unchanged"), std::string::npos) << r.out;
  EXPECT_EQ(Dump("klienci") + Dump("pracownicy") + Dump("projekty"), before);
  // No row was rewritten (an update would give it a new xmin and a change event downstream).
  EXPECT_EQ(pg().Psql(db_, "SELECT string_agg(xmin::text, ',' ORDER BY id) FROM klienci"), xmins);
  // replace with the same file changes nothing either.
  r = Import({"--dir", dir, "--mode", "replace"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.out.find("0 inserted, 0 updated, 2000 unchanged, 0 deleted"), std::string::npos) << r.out;
  EXPECT_EQ(pg().Psql(db_, "SELECT string_agg(xmin::text, ',' ORDER BY id) FROM klienci"), xmins);
}

TEST_F(ImportTest, UpsertInsertsNewUpdatesChangedKeepsMissingColumns) {
  ASSERT_EQ(ImportText("klienci", "id,nazwa,email\n1,A,a@x\n2,B,b@x\n3,C,c@x\n").exit_code, 0);
  CommandResult r = ImportText("klienci", "nazwa,id\nB2,2\nC,3\nD,4\n");
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.out.find("3 rows read, 1 inserted, 1 updated, 1 unchanged, 0 rejected"), std::string::npos) << r.out;
  // email is not in the second file: kept for existing rows, NULL for the new one.
  EXPECT_EQ(Dump("klienci"), "1|A|a@x||\n2|B2|b@x||\n3|C|c@x||\n4|D|||");
}

TEST_F(ImportTest, ReplaceLeavesExactlyTheFile) {
  ASSERT_EQ(ImportText("klienci", "id,nazwa,email,kraj\n1,A,a@x,PL\n2,B,b@x,PL\n3,C,c@x,DE\n").exit_code, 0);
  CommandResult r = ImportText("klienci", "id,nazwa,kraj\n2,B,PL\n4,D,CZ\n", {"--mode", "replace"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.out.find("2 rows read, 1 inserted, 1 updated, 0 unchanged, 2 deleted, 0 rejected"),
            std::string::npos)
      << r.out;
  // Columns missing from the file become NULL: the table is exactly the file.
  EXPECT_EQ(Dump("klienci"), "2|B||PL|\n4|D||CZ|");
}

TEST_F(ImportTest, InsertModeExistingIdIsAnErrorNamingItAndChangesNothing) {
  ASSERT_EQ(ImportText("klienci", "id,nazwa\n1,A\n2,B\n3,C\n").exit_code, 0);
  std::string before = Dump("klienci");
  std::string path = tmp_ / "g.csv";
  CommandResult r = ImportText("klienci", "id,nazwa\n4,D\n5,E\n2,X\n", {"--mode", "insert"}, "g.csv");
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  EXPECT_NE(r.err.find(path + ":4:1: column \"id\": value \"2\": id 2 already exists in table klienci"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(Dump("klienci"), before);
}

TEST_F(ImportTest, InsertModeIntoEmptyTableThenAgainConflicts) {
  ASSERT_EQ(ImportText("pracownicy", "id,imie,wiek\n1,Ala,30\n", {"--mode", "insert"}).exit_code, 0);
  CommandResult r = ImportText("pracownicy", "id,imie,wiek\n1,Ala,30\n", {"--mode", "insert"});
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  EXPECT_NE(r.err.find("id 1 already exists in table pracownicy"), std::string::npos) << r.err;
  EXPECT_EQ(Count("pracownicy"), "1");
}

TEST_F(ImportTest, BomCrlfQuotedNewlinesAndAnyColumnOrder) {
  std::string csv =
      "\xEF\xBB\xBF"
      "opis,id,data_zakonczenia,nazwa,data_rozpoczecia\r\n"
      "\"dwie\r\nlinie, \"\"cytat\"\"\",1,,Projekt,2024-02-29\r\n"
      ",2,2025-01-31,\"\",2024-01-01\r\n";
  CommandResult r = ImportText("projekty", csv);
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(pg().Psql(db_, "SELECT opis = E'dwie\\r\\nlinie, \"cytat\"' FROM projekty WHERE id = 1"), "t");
  EXPECT_EQ(pg().Psql(db_, "SELECT nazwa, data_rozpoczecia, data_zakonczenia IS NULL FROM projekty WHERE id = 1"),
            "Projekt|2024-02-29|t");
  // Unquoted empty = NULL, quoted empty = empty string.
  EXPECT_EQ(pg().Psql(db_, "SELECT opis IS NULL, nazwa = '' FROM projekty WHERE id = 2"), "t|t");
}

struct BadCase {
  const char* name;
  const char* table;
  std::string csv;
  std::string message;  // expected in stderr after "<path>:"
};

class ImportBadInputTest : public ImportTest, public ::testing::WithParamInterface<BadCase> {};

TEST_P(ImportBadInputTest, FirstBadRowAbortsWithPositionAndNothingChanges) {
  const BadCase& c = GetParam();
  // Existing rows that must survive untouched.
  std::string table = c.table;
  std::string second = table == "pracownicy" ? "imie" : "nazwa";
  ASSERT_EQ(ImportText(table, "id," + second + "\n1,stary\n", {}, "seed.csv").exit_code, 0);
  std::string before = Dump(table);
  std::string path = tmp_ / "bad.csv";
  for (const char* mode : {"upsert", "replace", "insert"}) {
    CommandResult r = ImportText(table, c.csv, {"--mode", mode}, "bad.csv");
    EXPECT_EQ(r.exit_code, 3) << mode << "\n" << r.Describe();
    EXPECT_NE(r.err.find(path + ":" + c.message), std::string::npos) << mode << "\n" << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
    EXPECT_EQ(Dump(table), before) << mode;
  }
}

std::string ManyGoodRows(int n) {
  std::string s;
  for (int i = 2; i < n + 2; ++i) s += std::to_string(i) + ",Imię " + std::to_string(i) + ",30\n";
  return s;
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ImportBadInputTest,
    ::testing::Values(
        BadCase{"NotAnInteger", "pracownicy", "id,imie,wiek\n2,Ala,30\n3,Ola,trzydzieści\n",
                "3:7: column \"wiek\": value \"trzydzieści\": not an integer"},
        BadCase{"OutOfRange", "pracownicy", "id,imie,wiek\n2,Ala,3000000000\n",
                "2:7: column \"wiek\": value \"3000000000\": out of range for integer"},
        BadCase{"InvalidDate", "projekty", "id,nazwa,data_rozpoczecia\n2,P,2023-02-29\n",
                "2:5: column \"data_rozpoczecia\": value \"2023-02-29\": invalid date: no such day in that month"},
        BadCase{"InvalidUtf8", "klienci", "id,nazwa\n2,Caf\xE9\n",
                "2:3: column \"nazwa\": value \"Caf\\xE9\": invalid UTF-8"},
        BadCase{"WrongFieldCount", "klienci", "id,nazwa\n2,A,extra\n",
                "2:5: value \"extra\": wrong field count: 3 fields, the header has 2"},
        BadCase{"DuplicateIdInFile", "klienci", "id,nazwa\n2,A\n3,B\n2,C\n",
                "4:1: column \"id\": value \"2\": duplicate key within the file (first on line 2)"},
        BadCase{"EmptyNotNull", "klienci", "id,nazwa\n2,\n",
                "2:3: column \"nazwa\": value \"\": empty value in a NOT NULL column"},
        BadCase{"UnknownColumn", "klienci", "id,nazwa,fax\n2,A,1\n", "1:10: header: unknown column \"fax\""},
        BadCase{"MissingRequiredColumn", "projekty", "id,opis\n2,x\n",
                "1: header: missing required column \"nazwa\""},
        BadCase{"QuoteInUnquotedField", "klienci", "id,nazwa\n2,a\"b\n",
                "2:4: column \"nazwa\": value \"a\"b\": a quote inside an unquoted field"},
        BadCase{"UnterminatedQuote", "klienci", "id,nazwa\n2,\"open\n3,x\n", "2:3: unterminated quoted field"},
        BadCase{"LongValueCut", "pracownicy", "id,wiek\n2," + std::string(300, '9') + "\n",
                "2:3: column \"wiek\": value \"" + std::string(80, '9') + "...\": out of range"},
        // The bad row comes after more than one COPY chunk was already sent: still all-or-nothing.
        BadCase{"BadRowAfterManyGoodRows", "pracownicy", "id,imie,wiek\n" + ManyGoodRows(100000) + "200000,Zły,x\n",
                "100002:12: column \"wiek\": value \"x\": not an integer"}),
    [](const ::testing::TestParamInfo<BadCase>& i) { return std::string(i.param.name); });

TEST_F(ImportTest, MaxErrorsWritesRejectsAndImportsTheRest) {
  std::string csv = "id,nazwa,kraj\n1,A,PL\n2,,DE\n3,\"C, z przecinkiem\",CZ\nx,D,PL\n5,E,PL\n";
  std::string rejects = tmp_ / "rejects.csv";
  // Two bad rows, one allowed: abort, nothing changes, exit 3.
  CommandResult r = ImportText("klienci", csv, {"--max-errors", "1", "--rejects", rejects});
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  EXPECT_NE(r.err.find("more than --max-errors 1 bad rows"), std::string::npos) << r.err;
  EXPECT_EQ(Count("klienci"), "0");
  // Two allowed: the good rows go in, the bad ones to the rejects file with the reason.
  r = ImportText("klienci", csv, {"--max-errors", "2", "--rejects", rejects});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.out.find("5 rows read, 3 inserted, 0 updated, 0 unchanged, 2 rejected (see " + rejects + ")"),
            std::string::npos)
      << r.out;
  EXPECT_EQ(Dump("klienci"), "1|A||PL|\n3|C, z przecinkiem||CZ|\n5|E||PL|");
  std::string path = tmp_ / "f.csv";
  // The reason contains quotes, so it is a quoted CSV field with doubled quotes.
  EXPECT_EQ(ReadFile(rejects),
            "id,nazwa,kraj,reject_reason\n"
            "2,,DE,\"" + path + ":3:3: column \"\"nazwa\"\": value \"\"\"\": empty value in a NOT NULL column\"\n"
            "x,D,PL,\"" + path + ":5:1: column \"\"id\"\": value \"\"x\"\": not an integer\"\n");
  // The rejects file is itself valid CSV: psql reads it.
  pg().Psql(db_, "CREATE TABLE rej (id text, nazwa text, kraj text, reason text)");
  CommandResult p = RunCommand(
      {"psql", "-X", "-v", "ON_ERROR_STOP=1", "-c", "\\copy rej FROM '" + rejects + "' WITH (FORMAT csv, HEADER true)"},
      pg().Env(db_));
  ASSERT_EQ(p.exit_code, 0) << p.Describe();
  EXPECT_EQ(pg().Psql(db_, "SELECT count(*) FROM rej"), "2");
}

TEST_F(ImportTest, MaxErrorsWithoutRejectsIsUsageError) {
  CommandResult r = ImportText("klienci", "id,nazwa\n1,A\n", {"--max-errors", "3"});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_NE(r.err.find("--max-errors needs --rejects PATH"), std::string::npos);
}

TEST_F(ImportTest, FileProblemsAreOneLineErrors) {
  CommandResult r = Import({"--table", "klienci", "--file", tmp_ / "nope.csv"});
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  EXPECT_EQ(r.err, "cdcpipe import: " + (tmp_ / "nope.csv") + ": no such file (check the path or --dir)\n");
  WriteFile(tmp_ / "empty.csv", "");
  r = Import({"--table", "klienci", "--file", tmp_ / "empty.csv"});
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  EXPECT_NE(r.err.find("empty.csv: the file is empty"), std::string::npos) << r.err;
  ::mkdir((tmp_ / "dir.csv").c_str(), 0755);
  r = Import({"--table", "klienci", "--file", tmp_ / "dir.csv"});
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  EXPECT_NE(r.err.find("dir.csv: is a directory"), std::string::npos) << r.err;
  r = Import({"--dir", tmp_ / "no-such-dir"});
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  EXPECT_NE(r.err.find("no-such-dir: no such directory"), std::string::npos) << r.err;
  // A table that does not exist: exit 6 (the environment is not as required), naming it and listing
  // the tables there are. Nothing is created.
  WriteFile(tmp_ / "faktury.csv", "id\n1\n");
  r = Import({"--table", "faktury", "--file", tmp_ / "faktury.csv"});
  EXPECT_EQ(r.exit_code, 6) << r.Describe();
  EXPECT_NE(r.err.find("no table faktury in the database (tables in schema public: klienci, pracownicy, projekty;"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(pg().Psql(db_, "SELECT to_regclass('faktury') IS NULL"), "t");
  r = Import({"--table", "a.b.c", "--file", tmp_ / "faktury.csv"});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_NE(r.err.find("bad table name 'a.b.c'"), std::string::npos) << r.err;
  // A BOM-only / blank file has no header either.
  WriteFile(tmp_ / "blank.csv", "\xEF\xBB\xBF\r\n");
  r = Import({"--table", "klienci", "--file", tmp_ / "blank.csv"});
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  EXPECT_NE(r.err.find("blank.csv: the file is empty"), std::string::npos) << r.err;
}

TEST_F(ImportTest, HeaderOnlyFileImportsNothing) {
  CommandResult r = ImportText("klienci", "id,nazwa\n");
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.out.find("0 rows read, 0 inserted"), std::string::npos) << r.out;
}

TEST_F(ImportTest, DatabaseDownIsExit4WithoutPassword) {
  WriteFile(tmp_ / "k.csv", "id,nazwa\n1,A\n");
  CommandResult r = RunCommand({CdcpipeBin(), "import", "--db",
                                "postgresql://postgres:TopSecret77@127.0.0.1:" + std::to_string(FreePort()) + "/x",
                                "--table", "klienci", "--file", tmp_ / "k.csv"});
  EXPECT_EQ(r.exit_code, 4) << r.Describe();
  EXPECT_NE(r.err.find("cannot connect to PostgreSQL"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("TopSecret77"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("TopSecret77"), std::string::npos);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}

TEST_F(ImportTest, HundredThousandRowsMatchPsqlCopy) {
  CommandResult g = RunCommand({BinaryDir() + "/gen-csv", "--table", "pracownicy", "--rows", "100000", "--out",
                                tmp_.path()});
  ASSERT_EQ(g.exit_code, 0) << g.Describe();
  std::string path = tmp_ / "pracownicy.csv";
  CommandResult r = Import({"--table", "pracownicy", "--file", path, "--mode", "insert"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.out.find("100000 rows read, 100000 inserted"), std::string::npos) << r.out;
  ExpectSameAsPsqlCopy("pracownicy", path);
  // Re-import in upsert mode: nothing changes.
  r = Import({"--table", "pracownicy", "--file", path});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.out.find("100000 rows read, 0 inserted, 0 updated, 100000 unchanged"), std::string::npos) << r.out;
}

// ---- tables that are not the seed's ---------------------------------------------------------------------

const char* kCustomersDdl =
    "CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, email text, "
    "created timestamptz NOT NULL DEFAULT now(), balance numeric(12,2), tags text[], active boolean)";
const char* kOrdersDdl =
    "CREATE TABLE orders (customer_id bigint, order_no int, placed date, amount numeric(10,2), note text, "
    "PRIMARY KEY (customer_id, order_no))";

class ImportAnyTableTest : public ImportTest {
 protected:
  void SetUp() override {
    db_ = pg().CreateTestDatabase();
    pg().Psql(db_, std::string(kCustomersDdl) + "; " + kOrdersDdl);
  }
  std::string Customers() {
    return pg().Psql(db_, "SELECT id, name, coalesce(email, '-'), balance, tags, active FROM customers ORDER BY id");
  }
};

TEST_F(ImportAnyTableTest, ReorderedHeaderMissingNullableAndDefaultedColumns) {
  CommandResult r = ImportText("customers",
                               "Active, TAGS ,balance,name,id\n"
                               "true,\"{vip,\"\"new, one\"\"}\",12.5,Ala,1\n"
                               "f,,-3,\"Ola, z\",2\n"
                               " yes ,{},,Ela,9000000000\n",
                               {"--mode", "insert"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.out.find("customers (" + (tmp_ / "f.csv") + ", insert): 3 rows read, 3 inserted"), std::string::npos)
      << r.out;
  EXPECT_EQ(Customers(),
            "1|Ala|-|12.50|{vip,\"new, one\"}|t\n"
            "2|Ola, z|-|-3.00||f\n"
            "9000000000|Ela|-||{}|t");
  // created was not in the file: its default, not NULL.
  EXPECT_EQ(pg().Psql(db_, "SELECT count(*) FROM customers WHERE created > now() - interval '1 hour'"), "3");
  // Equal to what psql's \copy makes of the same file (an independent reader of the CSV and the types).
  pg().Psql(db_, "CREATE TABLE twin (LIKE customers INCLUDING ALL)");
  CommandResult p = RunCommand({"psql", "-X", "-v", "ON_ERROR_STOP=1", "-c",
                                "\\copy twin (active, tags, balance, name, id) FROM '" + (tmp_ / "f.csv") +
                                    "' WITH (FORMAT csv, HEADER true)"},
                               pg().Env(db_));
  ASSERT_EQ(p.exit_code, 0) << p.Describe();
  EXPECT_EQ(pg().Psql(db_, "SELECT count(*) FROM (SELECT id, name, email, balance, tags, active FROM customers "
                           "EXCEPT SELECT id, name, email, balance, tags, active FROM twin) d"),
            "0");
}

TEST_F(ImportAnyTableTest, HeaderColumnTheTableLacksIsAnErrorNamingIt) {
  std::string path = tmp_ / "f.csv";
  CommandResult r = ImportText("customers", "id,name,fax\n1,A,123\n");
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  EXPECT_NE(r.err.find(path + ":1:9: header: unknown column \"fax\" for table customers (its columns: "
                              "id,name,email,created,balance,tags,active)"),
            std::string::npos)
      << r.err;
  // A NOT NULL column without a default must be there; one with a default need not.
  r = ImportText("customers", "id,email\n1,a@b\n");
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  EXPECT_NE(r.err.find(path + ":1: header: missing required column \"name\" for table customers"), std::string::npos)
      << r.err;
  EXPECT_EQ(Count("customers"), "0");
}

TEST_F(ImportAnyTableTest, BadValuesOfTypesPostgresChecksAreFileLineColumnErrorsAndChangeNothing) {
  ASSERT_EQ(ImportText("customers", "id,name,balance\n1,stary,1\n", {}, "seed.csv").exit_code, 0);
  std::string before = Customers();
  std::string path = tmp_ / "bad.csv";
  struct Case {
    std::string csv, message;
  };
  std::vector<Case> cases = {
      {"id,name,balance\n2,A,1\n3,B,12345678901.5\n",
       ":3:5: column \"balance\": value \"12345678901.5\": numeric field overflow"},
      {"id,name,balance\n2,A,abc\n", ":2:5: column \"balance\": value \"abc\": invalid input syntax for type numeric: \"abc\""},
      {"name,id,tags\nA,2,{a}\n\"B\nline 2\",3,\"{unclosed\"\n",
       ":4:11: column \"tags\": value \"{unclosed\": malformed array literal: \"{unclosed\""},
      {"id,created,name\n2,2024-01-01 10:00+02,A\n3,not a time,B\n",
       ":3:3: column \"created\": value \"not a time\": invalid input syntax for type timestamp with time zone"},
  };
  for (const Case& c : cases) {
    for (const char* mode : {"upsert", "replace", "insert"}) {
      CommandResult r = ImportText("customers", c.csv, {"--mode", mode}, "bad.csv");
      EXPECT_EQ(r.exit_code, 3) << mode << "\n" << r.Describe();
      EXPECT_NE(r.err.find(path + c.message), std::string::npos) << mode << "\n" << r.err;
      EXPECT_NE(r.err.find("nothing imported"), std::string::npos) << r.err;
      EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "one line: " << r.err;
      EXPECT_EQ(Customers(), before) << mode;
    }
  }
}

TEST_F(ImportAnyTableTest, InsertOfAKeyTheTableHasNamesItsLineWhateverTheTypes) {
  ASSERT_EQ(ImportText("customers", "id,name,balance\n7,stary,1\n", {}, "seed.csv").exit_code, 0);
  // balance makes PostgreSQL cast the rows straight into the table; the key is found there.
  CommandResult r = ImportText("customers", "id,name,balance\n5,A,1.5\n7,B,2\n", {"--mode", "insert"}, "ins.csv");
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  EXPECT_NE(r.err.find((tmp_ / "ins.csv") + ":3:1: column \"id\": value \"7\": id 7 already exists in table customers"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(Customers(), "7|stary|-|1.00||");
}

TEST_F(ImportAnyTableTest, RejectsOfTypesPostgresChecksAreWrittenInFileOrder) {
  std::string csv =
      "id,name,balance,active,created\n"
      "1,A,1.5,t,2024-05-01 12:00:00+00\n"
      "2,B,x,t,2024-05-01\n"     // balance: PostgreSQL
      "3,C,2,maybe,2024-05-01\n" // active: found while reading
      "4,D,3,f,2024-13-01\n"     // created: PostgreSQL
      "5,E,4,,2024-05-01\n";
  std::string rejects = tmp_ / "rejects.csv";
  // Three bad rows, two allowed: nothing changes, the rejects file holds the first two.
  CommandResult r = ImportText("customers", csv, {"--max-errors", "2", "--rejects", rejects});
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  EXPECT_NE(r.err.find(":5:9: column \"created\": value \"2024-13-01\": date/time field value out of range"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("more than --max-errors 2 bad rows"), std::string::npos) << r.err;
  EXPECT_EQ(Count("customers"), "0");
  std::string path = tmp_ / "f.csv";
  const std::string first_two =
      "id,name,balance,active,created,reject_reason\n"
      "2,B,x,t,2024-05-01,\"" + path + ":3:5: column \"\"balance\"\": value \"\"x\"\": invalid input syntax for type "
      "numeric: \"\"x\"\"\"\n"
      "3,C,2,maybe,2024-05-01,\"" + path + ":4:7: column \"\"active\"\": value \"\"maybe\"\": not a boolean (true/false, "
      "yes/no, on/off, 1/0)\"\n";
  EXPECT_EQ(ReadFile(rejects), first_two);
  r = ImportText("customers", csv, {"--max-errors", "3", "--rejects", rejects});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.out.find("5 rows read, 2 inserted, 0 updated, 0 unchanged, 3 rejected"), std::string::npos) << r.out;
  EXPECT_EQ(pg().Psql(db_, "SELECT string_agg(id || ':' || coalesce(balance::text, '-'), ',' ORDER BY id) FROM customers"),
            "1:1.50,5:4.00");
  EXPECT_EQ(ReadFile(rejects),
            first_two + "4,D,3,f,2024-13-01,\"" + path + ":5:9: column \"\"created\"\": value \"\"2024-13-01\"\": "
            "date/time field value out of range: \"\"2024-13-01\"\"\"\n");
}

TEST_F(ImportAnyTableTest, UpsertAndReplaceOnACompositeKey) {
  ASSERT_EQ(ImportText("orders",
                       "customer_id,order_no,placed,amount,note\n"
                       "1,1,2024-01-01,10,a\n1,2,2024-01-02,20,b\n2,1,2024-01-03,30,c\n")
                .exit_code,
            0);
  std::string xmin_12 = pg().Psql(db_, "SELECT xmin FROM orders WHERE customer_id = 1 AND order_no = 2");
  // Reordered, amount changed for (2,1), (1,2) unchanged, (3,1) new, note not in the file (kept).
  CommandResult r = ImportText("orders", "order_no,customer_id,amount,placed\n2,1,20.00,2024-01-02\n1,2,31,"
                                         "2024-01-03\n1,3,5,2024-02-01\n");
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.out.find("3 rows read, 1 inserted, 1 updated, 1 unchanged, 0 rejected"), std::string::npos) << r.out;
  EXPECT_EQ(pg().Psql(db_, "SELECT customer_id, order_no, amount, coalesce(note, '-') FROM orders ORDER BY 1, 2"),
            "1|1|10.00|a\n1|2|20.00|b\n2|1|31.00|c\n3|1|5.00|-");
  EXPECT_EQ(pg().Psql(db_, "SELECT xmin FROM orders WHERE customer_id = 1 AND order_no = 2"), xmin_12);
  // A repeated key within the file names both lines.
  r = ImportText("orders", "customer_id,order_no,amount\n1,1,1\n4,4,4\n01,1,2\n", {}, "dup.csv");
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  EXPECT_NE(r.err.find((tmp_ / "dup.csv") + ":4:1: column \"customer_id\": value \"01\": duplicate key within the "
                                            "file (first on line 2)"),
            std::string::npos)
      << r.err;
  // replace: the table is exactly the file's keys; note (nullable, no default, not in the file) is NULL.
  r = ImportText("orders", "customer_id,order_no,amount,placed\n1,1,10,2024-01-01\n9,9,9,2024-09-09\n",
                 {"--mode", "replace"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.out.find("2 rows read, 1 inserted, 1 updated, 0 unchanged, 3 deleted"), std::string::npos) << r.out;
  EXPECT_EQ(pg().Psql(db_, "SELECT customer_id, order_no, amount, coalesce(note, '-') FROM orders ORDER BY 1, 2"),
            "1|1|10.00|-\n9|9|9.00|-");
  // insert of a key the table has: named with its line.
  r = ImportText("orders", "customer_id,order_no\n5,5\n9,9\n", {"--mode", "insert"}, "ins.csv");
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  EXPECT_NE(r.err.find((tmp_ / "ins.csv") + ":3:1: column \"customer_id\": value \"9\": key (\"customer_id\", "
                                            "\"order_no\") = (9,9) already exists in table orders"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(Count("orders"), "2");
}

TEST_F(ImportAnyTableTest, UuidKeyComparedAsPostgresComparesIt) {
  pg().Psql(db_, "CREATE TABLE items (id uuid PRIMARY KEY, label text, data jsonb, doc json)");
  std::string path = tmp_ / "items.csv";
  WriteFile(path,
            "id,label,data,doc\n"
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,one,\"{\"\"k\"\": 1}\",\"{\"\"x\"\": 1}\"\n"
            "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11,two,,\n");
  CommandResult r = Import({"--file", path});
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  EXPECT_NE(r.err.find(path + ":3:1: column \"id\": value \"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11\": duplicate key "
                              "within the file (first on line 2)"),
            std::string::npos)
      << r.err;
  WriteFile(path,
            "id,label,data,doc\n"
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,one,\"{\"\"k\"\": 1}\",\"{\"\"x\"\": 1}\"\n");
  ASSERT_EQ(Import({"--file", path}).exit_code, 0);
  // Re-import: json has no equality operator; compared as text, the row is unchanged.
  r = Import({"--file", path});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.out.find("items (" + path + ", upsert): 1 rows read, 0 inserted, 0 updated, 1 unchanged"),
            std::string::npos)
      << r.out;
}

// Regression: a value cast explicitly to a domain over varchar(3) is cut to 3 characters without an
// error; import must refuse it as COPY does.
TEST_F(ImportAnyTableTest, DomainsAndEnumsAreCheckedAsCopyChecksThem) {
  pg().Psql(db_, "CREATE DOMAIN code3 AS varchar(3) CHECK (VALUE <> 'bad'); CREATE TYPE mood AS ENUM ('sad', 'ok'); "
                 "CREATE TABLE tagged (id int PRIMARY KEY, code code3, m mood)");
  std::string path = tmp_ / "tagged.csv";
  std::string rejects = tmp_ / "rejects.csv";
  WriteFile(path, "id,code,m\n1,abc,ok\n2,abcd,ok\n3,bad,sad\n4,ab,meh\n");
  CommandResult r = Import({"--file", path, "--max-errors", "3", "--rejects", rejects});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.out.find("4 rows read, 1 inserted, 0 updated, 0 unchanged, 3 rejected"), std::string::npos) << r.out;
  EXPECT_EQ(pg().Psql(db_, "SELECT id, code, m FROM tagged ORDER BY id"), "1|abc|ok");
  std::string rej = ReadFile(rejects);
  EXPECT_NE(rej.find(path + ":3:3: column \"\"code\"\": value \"\"abcd\"\": value too long for type character "
                            "varying(3)"),
            std::string::npos)
      << rej;
  EXPECT_NE(rej.find(path + ":4:3: column \"\"code\"\": value \"\"bad\"\": value for domain code3 violates check "
                            "constraint"),
            std::string::npos)
      << rej;
  EXPECT_NE(rej.find(path + ":5:6: column \"\"m\"\": value \"\"meh\"\": invalid input value for enum mood"),
            std::string::npos)
      << rej;
}

TEST_F(ImportAnyTableTest, TableWithoutPrimaryKeyInsertsButDoesNotUpsert) {
  pg().Psql(db_, "CREATE TABLE events (at timestamptz, what text)");
  std::string path = tmp_ / "events.csv";
  WriteFile(path, "what,at\nstart,2024-01-01 00:00:00+00\nstart,2024-01-01 00:00:00+00\n");
  CommandResult r = Import({"--file", path, "--mode", "insert"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(Count("events"), "2");
  for (const char* mode : {"upsert", "replace"}) {
    r = Import({"--file", path, "--mode", mode});
    EXPECT_EQ(r.exit_code, 3) << r.Describe();
    EXPECT_NE(r.err.find("table events has no primary key, and --mode " + std::string(mode) +
                         " matches rows by it (use --mode insert, or add a primary key)"),
              std::string::npos)
        << r.err;
  }
  EXPECT_EQ(Count("events"), "2");
}

TEST_F(ImportAnyTableTest, DirImportsEveryFileNamedAfterATableAndSaysWhichItSkipped) {
  pg().Psql(db_, "CREATE SCHEMA other; CREATE TABLE other.notes (id int PRIMARY KEY)");
  std::string dir = tmp_ / "in";
  ::mkdir(dir.c_str(), 0755);
  WriteFile(dir + "/customers.csv", "id,name\n1,A\n2,B\n");
  WriteFile(dir + "/Orders.csv", "customer_id,order_no\n1,1\n");
  WriteFile(dir + "/notes.csv", "id\n1\n");
  WriteFile(dir + "/readme.txt", "not a csv\n");
  CommandResult r = Import({"--dir", dir});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.out.find("customers (" + dir + "/customers.csv, upsert): 2 rows read, 2 inserted"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("orders (" + dir + "/Orders.csv, upsert): 1 rows read, 1 inserted"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("skipped " + dir + "/notes.csv: no table public.notes in the database"), std::string::npos)
      << r.out;
  EXPECT_EQ(r.out.find("readme"), std::string::npos) << r.out;
  EXPECT_EQ(Count("customers"), "2");
  EXPECT_EQ(Count("orders"), "1");
  EXPECT_EQ(Count("other.notes"), "0");
  // A schema-qualified --table.
  r = Import({"--table", "other.notes", "--file", dir + "/notes.csv"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_NE(r.out.find("other.notes (" + dir + "/notes.csv, upsert): 1 rows read, 1 inserted"), std::string::npos)
      << r.out;
}

// A second cluster that asks for passwords (scram) from every role but postgres.
class ImportAuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    PgCluster::Options o;
    o.password_auth = true;
    cluster_ = new PgCluster(o);
    cluster_->Psql("postgres", "CREATE ROLE importer LOGIN PASSWORD 'RightPass42'");
    cluster_->Psql("postgres", kKlienciDdl);
    cluster_->Psql("postgres", "INSERT INTO klienci VALUES (1, 'stary', NULL, NULL, NULL)");
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  CommandResult ImportAs(const std::string& conninfo) {
    WriteFile(tmp_ / "klienci.csv", "id,nazwa\n1,nowy\n2,B\n");
    return RunCommand({CdcpipeBin(), "import", "--db", conninfo, "--dir", tmp_.path()}, {{"PGPASSWORD", ""}});
  }
  static PgCluster* cluster_;
  TempDir tmp_{"cdcpipe-import-auth"};
};
PgCluster* ImportAuthTest::cluster_ = nullptr;

TEST_F(ImportAuthTest, WrongPasswordIsExit5AndNeverPrinted) {
  std::string port = std::to_string(cluster_->port());
  CommandResult r = ImportAs("postgresql://importer:WrongPass99@127.0.0.1:" + port + "/postgres");
  EXPECT_EQ(r.exit_code, 5) << r.Describe();
  EXPECT_NE(r.err.find("password authentication failed"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("WrongPass99"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("WrongPass99"), std::string::npos);
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  r = ImportAs("host=127.0.0.1 port=" + port + " dbname=postgres user=importer password=WrongPass99");
  EXPECT_EQ(r.exit_code, 5) << r.Describe();
  EXPECT_EQ(r.err.find("WrongPass99"), std::string::npos) << r.err;
  EXPECT_EQ(cluster_->Psql("postgres", "SELECT nazwa FROM klienci ORDER BY id"), "stary");
}

TEST_F(ImportAuthTest, MissingPrivilegeIsExit5AndChangesNothing) {
  std::string port = std::to_string(cluster_->port());
  CommandResult r = ImportAs("postgresql://importer:RightPass42@127.0.0.1:" + port + "/postgres");
  EXPECT_EQ(r.exit_code, 5) << r.Describe();
  EXPECT_NE(r.err.find("permission denied"), std::string::npos) << r.err;
  EXPECT_EQ(r.err.find("RightPass42"), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_EQ(cluster_->Psql("postgres", "SELECT nazwa FROM klienci ORDER BY id"), "stary");
  // With the privileges granted the same user imports.
  cluster_->Psql("postgres", "GRANT SELECT, INSERT, UPDATE, DELETE ON klienci TO importer");
  r = ImportAs("postgresql://importer:RightPass42@127.0.0.1:" + port + "/postgres");
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(cluster_->Psql("postgres", "SELECT string_agg(nazwa, ',' ORDER BY id) FROM klienci"), "nowy,B");
}

}  // namespace
}  // namespace cdc::testing
