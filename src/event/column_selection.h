// Debezium's column.include.list / column.exclude.list and message.key.columns (docs/DEBEZIUM.md, "Switches"):
// which columns a record carries and which columns form its key.
//
//   column.include.list / column.exclude.list: comma-separated regular expressions matched against the whole
//     "schema.table.column" name, case-insensitively (Debezium compiles them with Pattern.CASE_INSENSITIVE and
//     uses Matcher.matches()); at most one of the two may be set. Key columns stay in the key either way.
//   message.key.columns: "schema.table:col1,col2;schema.table2:col" — for each table whose "schema.table" matches
//     the regular expression before ':' (whole, case-insensitively), the key is those columns in that order instead
//     of the primary key; a table without a primary key gets a key this way.
//
// Thread-safety: immutable after parsing; copyable.
#pragma once

#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace cdc::event {

class ColumnSelection {
 public:
  ColumnSelection() = default;  // every column, primary keys as keys

  // Parses the three options; "" = not set. InvalidArgument naming the option and the bad part (an invalid regular
  // expression, an entry of message.key.columns without ':' or without columns, both lists set).
  static Result<ColumnSelection> Parse(std::string_view include_list, std::string_view exclude_list,
                                       std::string_view message_key_columns);

  // Whether the record carries column `column` of `schema`.`table`.
  bool Includes(std::string_view schema, std::string_view table, std::string_view column) const;
  // The key columns message.key.columns names for `schema`.`table` (the first entry that matches), or nullptr
  // when no entry matches (the primary key is the key).
  const std::vector<std::string>* KeyColumns(std::string_view schema, std::string_view table) const;
  bool empty() const { return include_.empty() && exclude_.empty() && keys_.empty(); }

 private:
  struct Pattern {
    std::string text;
    std::regex re;
  };
  struct KeyMapping {
    Pattern table;
    std::vector<std::string> columns;
  };
  std::vector<Pattern> include_, exclude_;
  std::vector<KeyMapping> keys_;
};

}  // namespace cdc::event
