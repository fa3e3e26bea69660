#include "event/column_selection.h"

namespace cdc::event {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// Splits on `sep`, trimming each part and dropping empty ones.
std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    size_t at = s.find(sep);
    std::string_view part = Trim(s.substr(0, at));
    if (!part.empty()) out.push_back(part);
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

Status Compile(std::string_view option, std::string_view text, std::regex* out) {
  try {
    *out = std::regex(std::string(text), std::regex::ECMAScript | std::regex::icase);
  } catch (const std::regex_error& e) {
    return Status::InvalidArgument(std::string(option) + ": '" + std::string(text) +
                                   "' is not a valid regular expression (" + e.what() + ")");
  }
  return Status::OK();
}

bool AnyMatches(const auto& patterns, const std::string& name) {
  for (const auto& p : patterns) {
    if (std::regex_match(name, p.re)) return true;
  }
  return false;
}

}  // namespace

Result<ColumnSelection> ColumnSelection::Parse(std::string_view include_list, std::string_view exclude_list,
                                               std::string_view message_key_columns) {
  ColumnSelection s;
  if (!Trim(include_list).empty() && !Trim(exclude_list).empty()) {
    return Status::InvalidArgument(
        "column.include.list and column.exclude.list cannot both be set (Debezium allows one of them)");
  }
  for (auto [option, list, out] : {std::tuple{"column.include.list", include_list, &s.include_},
                                   std::tuple{"column.exclude.list", exclude_list, &s.exclude_}}) {
    for (std::string_view text : Split(list, ',')) {
      Pattern p{std::string(text), {}};
      CDC_RETURN_IF_ERROR(Compile(option, text, &p.re));
      out->push_back(std::move(p));
    }
  }
  for (std::string_view entry : Split(message_key_columns, ';')) {
    size_t colon = entry.find(':');
    std::string_view table = colon == std::string_view::npos ? entry : Trim(entry.substr(0, colon));
    std::vector<std::string_view> columns =
        colon == std::string_view::npos ? std::vector<std::string_view>{} : Split(entry.substr(colon + 1), ',');
    if (table.empty() || columns.empty()) {
      return Status::InvalidArgument("message.key.columns: '" + std::string(entry) +
                                     "' is not <schema.table>:<column>[,<column>...] (entries separated by ';')");
    }
    KeyMapping k{{std::string(table), {}}, {}};
    CDC_RETURN_IF_ERROR(Compile("message.key.columns", table, &k.table.re));
    for (std::string_view c : columns) k.columns.emplace_back(c);
    s.keys_.push_back(std::move(k));
  }
  return s;
}

bool ColumnSelection::Includes(std::string_view schema, std::string_view table, std::string_view column) const {
  if (include_.empty() && exclude_.empty()) return true;
  std::string name;
  name.reserve(schema.size() + table.size() + column.size() + 2);
  name.append(schema).append(".").append(table).append(".").append(column);
  return include_.empty() ? !AnyMatches(exclude_, name) : AnyMatches(include_, name);
}

const std::vector<std::string>* ColumnSelection::KeyColumns(std::string_view schema, std::string_view table) const {
  if (keys_.empty()) return nullptr;
  std::string name = std::string(schema) + "." + std::string(table);
  for (const auto& k : keys_) {
    if (std::regex_match(name, k.table.re)) return &k.columns;
  }
  return nullptr;
}

}  // namespace cdc::event
