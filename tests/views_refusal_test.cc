// Refusals (issue 16, "How it must be shown"): SQL outside the views subset, or invalid, each case in a
// views file of its own. `cdcpipe run --views F` and `cdcpipe batch --views F` must exit 2 with a line
//   <F>:<line>:<column>: view "<name>": <what>
// naming the construct at its position in the file, and nothing may start or change: no replication
// slot, no publication (run), no REPLICA IDENTITY change, nothing in the output directory.
//
// Positions: a construct's column is where it starts in the file, 1-based, counted in bytes (the files
// are ASCII). Where two positions are equally defensible (the ORDER BY keyword or its expression, a
// window function's name or its OVER) the case accepts either; each case lists the anchors (text in
// the file) whose start it accepts.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "support/test_env.h"

namespace cdc::testing {
namespace {

struct Problem {
  std::vector<std::string> anchors;  // the construct starts where one of these starts (first occurrence)
  std::string view;                  // the view the line names; "" = no view (a statement that is not one)
  std::vector<std::string> any_of;   // the line names the construct: one of these (case-insensitive)
  std::vector<std::string> all_of;   // and all of these (case-insensitive)
};

struct Case {
  std::string name;
  std::string sql;
  std::vector<Problem> problems;
};

// A valid view, placed before some of the bad ones so that line numbers count across statements.
const char* kValid =
    "-- a valid view first\nCREATE VIEW fine AS\n  SELECT status, count(*) AS n FROM orders GROUP BY status;\n\n";

std::vector<Case> Cases() {
  return {
      {"window_function",
       "-- a window function\nCREATE VIEW ranked AS\n  SELECT status, count(*) OVER (PARTITION BY status) AS n\n  FROM "
       "orders;\n",
       {{{"count(*) OVER", "OVER ("}, "ranked", {"window", "OVER"}, {}}}},
      {"subquery_in_where",
       std::string(kValid) + "CREATE VIEW sub_where AS\n  SELECT status, count(*) AS n\n  FROM orders\n"
                             "  WHERE customer_id IN (SELECT id FROM customers WHERE vip)\n  GROUP BY status;\n",
       {{{"customer_id IN", "IN (SELECT", "(SELECT id", "SELECT id"},
         "sub_where",
         {"subquer", "sub-select", "subselect", "sublink"},
         {}}}},
      {"subquery_in_from",
       "CREATE VIEW sub_from AS\n  SELECT s.status, count(*) AS n\n  FROM (SELECT status FROM orders WHERE qty > 1) s\n"
       "  GROUP BY s.status;\n",
       {{{"(SELECT status", "SELECT status FROM"}, "sub_from", {"subquer", "sub-select", "subselect", "derived"}, {}}}},
      {"order_by",
       "CREATE VIEW sorted AS\n  SELECT status, count(*) AS n\n  FROM orders\n  GROUP BY status\n  ORDER BY status;\n",
       {{{"ORDER BY", "status;"}, "sorted", {"ORDER BY"}, {}}}},
      {"limit",
       std::string(kValid) + "CREATE VIEW limited AS\n  SELECT id, amount FROM orders\n  LIMIT 10;\n",
       {{{"LIMIT", "10;"}, "limited", {"LIMIT"}, {}}}},
      {"three_table_join",
       "CREATE VIEW three AS\n  SELECT c.country, count(*) AS n\n  FROM orders o\n  JOIN customers c ON o.customer_id "
       "= c.id\n"
       "  JOIN customers c2 ON c2.id = c.id\n  GROUP BY c.country;\n",
       {{{"JOIN customers c2", "customers c2"},
         "three",
         {"three", "more than", "two tables", "2 tables", "join"},
         {}}}},
      {"right_join",
       "CREATE VIEW righty AS\n  SELECT c.country, count(*) AS n\n  FROM orders o RIGHT JOIN customers c ON "
       "o.customer_id = c.id\n"
       "  GROUP BY c.country;\n",
       {{{"RIGHT JOIN", "orders o RIGHT", "customers c ON"}, "righty", {"RIGHT"}, {}}}},
      {"full_join",
       "CREATE VIEW fully AS\n  SELECT c.country, count(*) AS n\n  FROM orders o FULL JOIN customers c ON "
       "o.customer_id = c.id\n"
       "  GROUP BY c.country;\n",
       {{{"FULL JOIN", "orders o FULL", "customers c ON"}, "fully", {"FULL"}, {}}}},
      {"cross_join",
       "CREATE VIEW crossed AS\n  SELECT c.country, count(*) AS n\n  FROM orders o CROSS JOIN customers c\n  GROUP BY "
       "c.country;\n",
       {{{"CROSS JOIN", "orders o CROSS", "customers c\n"}, "crossed", {"CROSS", "equi", "ON"}, {}}}},
      {"non_equi_join",
       "CREATE VIEW nonequi AS\n  SELECT c.country, count(*) AS n\n  FROM orders o JOIN customers c ON o.customer_id < "
       "c.id\n"
       "  GROUP BY c.country;\n",
       {{{"o.customer_id < c.id", "< c.id"}, "nonequi", {"equi", "equal", "="}, {}}}},
      {"unknown_column",
       std::string(kValid) + "CREATE VIEW typo AS\n  SELECT stauts, count(*) AS n\n  FROM orders\n  GROUP BY stauts;\n",
       {{{"stauts"}, "typo", {"did you mean"}, {"stauts", "status"}}}},
      {"unknown_table",
       "CREATE VIEW nowhere AS\n  SELECT count(*) AS n\n  FROM ordres;\n",
       {{{"ordres"},
         "nowhere",
         {"does not exist", "unknown", "not captured", "no table", "did you mean"},
         {"ordres"}}}},
      {"table_not_captured",
       std::string(kValid) + "CREATE VIEW leak AS\n  SELECT owner, count(*) AS n\n  FROM secrets\n  GROUP BY owner;\n",
       {{{"secrets"}, "leak", {"captured", "--tables", "source.tables"}, {"secrets"}}}},
      {"type_error",
       "CREATE VIEW badtype AS\n  SELECT name + 1 AS x\n  FROM customers;\n",
       {{{"+ 1", "name + 1"}, "badtype", {"operator", "text + integer", "type"}, {}}}},
      {"sum_of_text",
       "CREATE VIEW sumtext AS\n  SELECT country, sum(name) AS s\n  FROM customers\n  GROUP BY country;\n",
       {{{"sum(name)", "name) AS s"}, "sumtext", {"sum"}, {"text"}}}},
      {"syntax_error",
       std::string(kValid) + "CREATE VIEW broken AS\n  SELECT status, count(* AS n\n  FROM orders GROUP BY status;\n",
       {{{"AS n\n"}, "broken", {"syntax error"}, {}}}},
      {"non_grouped_column",
       "CREATE VIEW ungrouped AS\n  SELECT status, qty, count(*) AS n\n  FROM orders\n  GROUP BY status;\n",
       {{{"qty,"}, "ungrouped", {"GROUP BY", "aggregate"}, {"qty"}}}},
      {"aggregate_in_where",
       "CREATE VIEW aggwhere AS\n  SELECT status\n  FROM orders\n  WHERE count(*) > 1\n  GROUP BY status;\n",
       {{{"count(*) > 1"}, "aggwhere", {"aggregate"}, {"WHERE"}}}},
      {"name_starting_with_underscore",
       "CREATE VIEW _x AS\n  SELECT status FROM orders;\n",
       {{{"_x AS", "CREATE VIEW _x"}, "_x", {"folder", "name", "'_'", "\"_\"", "underscore"}, {}}}},
      {"name_with_slash",
       std::string(kValid) + "CREATE VIEW \"a/b\" AS\n  SELECT status FROM orders;\n",
       {{{"\"a/b\" AS", "CREATE VIEW \"a/b\""}, "a/b", {"folder", "name", "'/'", "\"/\"", "slash"}, {}}}},
      // The raw data's own folder under the output root: a view there would overwrite the raw log.
      {"name_of_the_raw_folder",
       "CREATE VIEW \"raw-kafka-data\" AS\n  SELECT status FROM orders;\n",
       {{{"\"raw-kafka-data\" AS", "CREATE VIEW"}, "raw-kafka-data", {"folder", "reserved"}, {}}}},
      {"duplicate_view_name",
       "CREATE VIEW dup AS SELECT status FROM orders;\n-- the same name again\nCREATE VIEW dup AS SELECT country FROM "
       "customers;\n",
       {{{"dup AS SELECT country", "CREATE VIEW dup AS SELECT country"},
         "dup",
         {"duplicate", "twice", "more than once", "already"},
         {}}}},
      {"insert_statement",
       std::string(kValid) + "INSERT INTO orders(id) VALUES (1);\n",
       {{{"INSERT"}, "", {"INSERT "}, {}}}},  // the statement named as written, not as a parse node
      // Every problem of the file at once, not only the first.
      {"two_problems",
       "CREATE VIEW first_bad AS SELECT status FROM orders ORDER BY status;\n\n"
       "CREATE VIEW second_bad AS\n  SELECT nope FROM orders;\n",
       {{{"ORDER BY", "status;"}, "first_bad", {"ORDER BY"}, {}}, {{"nope"}, "second_bad", {"nope"}, {}}}},
  };
}

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// 1-based line and byte column of the first occurrence of `anchor` in `text`.
std::pair<int, int> PositionOf(const std::string& text, const std::string& anchor) {
  size_t at = text.find(anchor);
  EXPECT_NE(at, std::string::npos) << "test bug: anchor '" << anchor << "' not in the file";
  if (at == std::string::npos) return {0, 0};
  int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(at), '\n'));
  size_t nl = text.rfind('\n', at == 0 ? 0 : at - 1);
  int col = static_cast<int>(nl == std::string::npos || at == 0 ? at + 1 : at - nl);
  return {line, col};
}

class ViewsRefusalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = pg().CreateTestDatabase();
    Sql("CREATE TABLE customers(id serial PRIMARY KEY, name text, country text, vip boolean, signup date, "
        "credit numeric(12,2));"
        "CREATE TABLE orders(id bigint PRIMARY KEY, customer_id int, amount numeric(10,2), qty int, "
        "price double precision, status text, created_at timestamptz, shipped timestamp);"
        // exists in the database, but is not captured
        "CREATE TABLE secrets(id int PRIMARY KEY, owner text, secret text);"
        "INSERT INTO orders(id, status, qty) VALUES (1, 'new', 1)");
  }
  void TearDown() override { pg().DropSlots(db_); }
  static PgCluster& pg() { return PgCluster::Shared(); }
  std::string Sql(const std::string& sql) { return pg().Psql(db_, sql); }

  // Runs cdcpipe with a 15 s limit (a file that is wrongly accepted would make `run` run forever).
  CommandResult Cdcpipe(const std::vector<std::string>& args) {
    std::string config = dir_ / "empty.yaml";  // settings from the flags alone, not ./cdcpipe.yaml
    if (!std::filesystem::exists(config)) WriteFile(config, "");
    std::vector<std::string> argv = {"timeout", "-s", "KILL", "15", CdcpipeBin(), args[0], "--config", config};
    argv.insert(argv.end(), args.begin() + 1, args.end());
    return RunCommand(argv);
  }

  // Checks the exit code and the error lines of one case; returns a description of what is wrong.
  std::string CheckRefusal(const Case& c, const std::string& file, const CommandResult& r) {
    std::string wrong;
    if (r.exit_code != 2) {
      wrong += "exit " + std::to_string(r.exit_code) +
               (r.exit_code == 137 ? " (still running after 15 s: the file was accepted)" : "") + ", expected 2\n";
    }
    // One record per problem: from one "<file>:<line>:" to the next or to the end of the line.
    std::vector<std::string> lines;
    std::istringstream in(r.err);
    std::regex start(std::regex_replace(file, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") + ":[0-9]+:[0-9]+:");
    int lines_naming_file = 0;
    for (std::string l; std::getline(in, l);) {
      std::vector<size_t> at;
      for (auto it = std::sregex_iterator(l.begin(), l.end(), start); it != std::sregex_iterator(); ++it)
        at.push_back(static_cast<size_t>(it->position()));
      if (at.empty()) continue;
      ++lines_naming_file;
      for (size_t i = 0; i < at.size(); ++i)
        lines.push_back(l.substr(at[i], i + 1 < at.size() ? at[i + 1] - at[i] : std::string::npos));
    }
    if (c.problems.size() > 1 && lines_naming_file < static_cast<int>(c.problems.size())) {
      wrong += std::to_string(c.problems.size()) + " problems, but " + std::to_string(lines_naming_file) +
               " line(s) name the file: each problem must be a line of its own\n";
    }
    for (const Problem& p : c.problems) {
      std::vector<std::string> positions;
      for (const auto& a : p.anchors) {
        auto [line, col] = PositionOf(c.sql, a);
        positions.push_back(file + ":" + std::to_string(line) + ":" + std::to_string(col) + ":");
      }
      bool found = false;
      std::string near;  // a line that names the file, for the message
      for (const auto& l : lines) {
        if (near.empty()) near = l;
        bool at = false;
        for (const auto& pos : positions) at = at || l.find(pos) != std::string::npos;
        if (!at) continue;
        bool ok = p.view.empty() || l.find("view \"" + p.view + "\"") != std::string::npos;
        bool any = p.any_of.empty();
        for (const auto& w : p.any_of) any = any || Lower(l).find(Lower(w)) != std::string::npos;
        for (const auto& w : p.all_of) ok = ok && Lower(l).find(Lower(w)) != std::string::npos;
        if (ok && any) found = true;
      }
      if (!found) {
        std::string want;
        for (const auto& pos : positions) want += (want.empty() ? "" : " or ") + pos;
        want += p.view.empty() ? "" : " view \"" + p.view + "\":";
        want += " ... one of {";
        for (const auto& w : p.any_of) want += " '" + w + "'";
        want += " }";
        if (!p.all_of.empty()) {
          want += " and all of {";
          for (const auto& w : p.all_of) want += " '" + w + "'";
          want += " }";
        }
        wrong += "no error line " + want + (near.empty() ? " (no line names the file)" : "") + "\n";
      }
    }
    return wrong;
  }

  // What must not have changed: no slot, the publications as before, REPLICA IDENTITY, the output.
  std::string CheckNothingChanged(const std::string& out, const std::string& publications) {
    std::string wrong;
    // One query (each psql start costs ~0.3 s here): slots | publications | replica identities.
    std::string state =
        Sql("SELECT (SELECT count(*) FROM pg_replication_slots WHERE database = current_database()) || '|' || "
            "(SELECT coalesce(string_agg(pubname, ',' ORDER BY pubname), '') FROM pg_publication) || '|' || "
            "(SELECT string_agg(relname || '=' || relreplident::text, ',' ORDER BY relname) FROM pg_class "
            "WHERE relname IN ('customers', 'orders', 'secrets') AND relkind = 'r')");
    std::string slots = state.substr(0, state.find('|'));
    std::string rest = state.substr(state.find('|') + 1);
    std::string pubs = rest.substr(0, rest.find('|'));
    std::string ident = rest.substr(rest.find('|') + 1);
    if (slots != "0") wrong += slots + " replication slot(s) were created\n";
    if (pubs != publications) wrong += "publications are '" + pubs + "', were '" + publications + "'\n";
    if (ident != "customers=d,orders=d,secrets=d") wrong += "REPLICA IDENTITY changed: " + ident + "\n";
    if (std::filesystem::exists(out) && !std::filesystem::is_empty(out)) {
      wrong += "the output directory " + out + " is not empty:";
      for (const auto& e : std::filesystem::recursive_directory_iterator(out)) {
        wrong += ' ';
        wrong += e.path().string();
      }
      wrong += "\n";
    }
    return wrong;
  }
  // Undo whatever a wrongly accepted file created, so that one failure does not cascade.
  void CleanUp(const std::string& out, const std::string& keep_publication) {
    pg().DropSlots(db_);
    for (const auto& p : std::vector<std::string>{"cdcpipe"}) {
      if (p != keep_publication) pg().PsqlResult(db_, "DROP PUBLICATION IF EXISTS " + p);
    }
    Sql("ALTER TABLE customers REPLICA IDENTITY DEFAULT; ALTER TABLE orders REPLICA IDENTITY DEFAULT");
    std::filesystem::remove_all(out);
  }

  TempDir dir_{"cdcpipe-views-refusal"};
  std::string db_;
};

TEST_F(ViewsRefusalTest, RunRefusesEachFileAndCreatesNothing) {
  int refused = 0;
  for (const Case& c : Cases()) {
    std::string file = dir_ / (c.name + ".sql");
    WriteFile(file, c.sql);
    std::string out = dir_ / ("run-out-" + c.name);
    CommandResult r = Cdcpipe({"run", "--db", pg().Uri(db_), "--output", out, "--http", "off", "--heartbeat", "0",
                               "--trigger", "200ms", "--tables", "public.customers,public.orders", "--views", file});
    std::string wrong = CheckRefusal(c, file, r) + CheckNothingChanged(out, "");
    if (wrong.empty()) {
      ++refused;
      std::printf("[refusal] run %s: %s", c.name.c_str(), r.err.c_str());
    } else {
      ADD_FAILURE() << "case " << c.name << ": `cdcpipe run --views " << file << "`:\n"
                    << wrong << "--- file ---\n"
                    << c.sql << "--- stderr ---\n"
                    << r.err;
      CleanUp(out, "");
    }
  }
  std::printf("[refusal] run: %d/%zu cases refused as specified\n", refused, Cases().size());
}

TEST_F(ViewsRefusalTest, BatchRefusesEachFileAndWritesNothing) {
  // batch reads the captured tables from the publication (it has no --tables): one as run would have
  // created it.
  Sql("CREATE PUBLICATION cdcpipe FOR TABLE customers, orders");
  int refused = 0;
  for (const Case& c : Cases()) {
    std::string file = dir_ / (c.name + ".sql");
    WriteFile(file, c.sql);
    std::string out = dir_ / ("batch-out-" + c.name);
    CommandResult r = Cdcpipe({"batch", "--db", pg().Uri(db_), "--output", out, "--views", file});
    std::string wrong = CheckRefusal(c, file, r) + CheckNothingChanged(out, "cdcpipe");
    if (wrong.empty()) {
      ++refused;
    } else {
      ADD_FAILURE() << "case " << c.name << ": `cdcpipe batch --views " << file << "`:\n"
                    << wrong << "--- file ---\n"
                    << c.sql << "--- stderr ---\n"
                    << r.err;
      CleanUp(out, "cdcpipe");
    }
  }
  std::printf("[refusal] batch: %d/%zu cases refused as specified\n", refused, Cases().size());
}

}  // namespace
}  // namespace cdc::testing
