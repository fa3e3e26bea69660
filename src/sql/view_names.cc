#include "sql/view_names.h"

#include <fmt/format.h>
#include <pg_query.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace cdc::sql {

namespace {

// 1-based line and column of byte `offset` of `text`.
std::pair<int, int> LineColumn(std::string_view text, size_t offset) {
  int line = 1, column = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

}  // namespace

Result<std::vector<std::string>> ViewNames(std::string_view file, std::string_view text) {
  std::string input(text);  // NUL-terminated for the parser
  PgQueryParseResult parsed = pg_query_parse(input.c_str());
  if (parsed.error != nullptr) {
    size_t at = parsed.error->cursorpos > 0 ? static_cast<size_t>(parsed.error->cursorpos - 1) : 0;
    auto [line, column] = LineColumn(text, at);
    std::string message = parsed.error->message;
    pg_query_free_parse_result(parsed);
    return Status::InvalidArgument(fmt::format("{}:{}:{}: {}", file, line, column, message));
  }
  auto tree = nlohmann::json::parse(parsed.parse_tree, nullptr, /*allow_exceptions=*/false);
  pg_query_free_parse_result(parsed);
  std::vector<std::string> names;
  if (tree.is_discarded()) return Status::Internal("libpg_query returned a parse tree that is not JSON");
  for (const auto& stmt : tree.value("stmts", nlohmann::json::array())) {
    const auto& node = stmt.value("stmt", nlohmann::json::object());
    if (!node.contains("ViewStmt")) continue;
    names.push_back(node["ViewStmt"]["view"].value("relname", std::string()));
  }
  return names;
}

Result<std::vector<std::string>> ViewNamesInFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(fmt::format("views file {}: cannot open it", path));
  std::stringstream text;
  text << in.rdbuf();
  return ViewNames(path, text.str());
}

}  // namespace cdc::sql
