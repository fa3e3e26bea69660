#include "pg/table_catalog.h"

#include <algorithm>

namespace cdc::pg {

namespace {

char AsciiLower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

// Whether `part` needs quotes to read back as itself: anything but [a-z_][a-z0-9_$]*.
bool NeedsQuotes(std::string_view part) {
  if (part.empty() || !((part[0] >= 'a' && part[0] <= 'z') || part[0] == '_')) return true;
  for (char c : part) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '$')) return true;
  }
  return false;
}

std::string DisplayPart(std::string_view part) { return NeedsQuotes(part) ? QuoteIdentifier(part) : std::string(part); }

}  // namespace

std::string QuoteIdentifier(std::string_view ident) {
  std::string out = "\"";
  for (char c : ident) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

std::string TableName::Display() const {
  return (schema == "public" ? "" : DisplayPart(schema) + ".") + DisplayPart(name);
}

std::string TableName::Qualified() const { return DisplayPart(schema) + "." + DisplayPart(name); }

std::string TableName::Sql() const { return QuoteIdentifier(schema) + "." + QuoteIdentifier(name); }

Result<TableName> ParseTableName(std::string_view text) {
  std::vector<std::string> parts(1);
  size_t i = 0;
  bool part_started = false;
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("bad table name '" + std::string(text) + "': " + why +
                                   " (write name or schema.name; quote a part with \"...\" to keep its case)");
  };
  while (i < text.size()) {
    char c = text[i];
    if (c == '"') {
      if (part_started) return bad("a quote in the middle of a name");
      size_t j = i + 1;
      std::string quoted;
      for (;;) {
        if (j >= text.size()) return bad("unterminated quote");
        if (text[j] == '"') {
          if (j + 1 < text.size() && text[j + 1] == '"') {
            quoted.push_back('"');
            j += 2;
            continue;
          }
          break;
        }
        quoted.push_back(text[j++]);
      }
      if (quoted.empty()) return bad("an empty quoted name");
      parts.back() = quoted;
      part_started = true;
      i = j + 1;
      if (i < text.size() && text[i] != '.') return bad("text after a closing quote");
    } else if (c == '.') {
      if (parts.back().empty()) return bad("an empty part");
      parts.emplace_back();
      part_started = false;
      ++i;
    } else {
      parts.back().push_back(AsciiLower(c));
      part_started = true;
      ++i;
    }
  }
  if (parts.back().empty()) return bad("an empty part");
  if (parts.size() > 2) return bad("more than schema.name");
  TableName n;
  if (parts.size() == 2) n.schema = parts[0];
  n.name = parts.back();
  return n;
}

const TableColumn* TableInfo::Find(std::string_view header_name) const {
  const TableColumn* folded = nullptr;
  int folded_count = 0;
  for (const auto& c : columns) {
    if (c.name == header_name) return &c;
    if (EqualIgnoringCase(c.name, header_name)) {
      folded = &c;
      ++folded_count;
    }
  }
  return folded_count == 1 ? folded : nullptr;
}

std::string TableInfo::ColumnList() const {
  std::string s;
  for (const auto& c : columns) s += (s.empty() ? "" : ",") + c.name;
  return s;
}

Result<std::vector<std::string>> ListTables(PgConnection& conn, const std::string& schema) {
  CDC_ASSIGN_OR_RETURN(PgResult r, conn.ExecParams("SELECT c.relname FROM pg_catalog.pg_class c JOIN "
                                                   "pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                                                   "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') "
                                                   "AND NOT c.relispartition ORDER BY 1",
                                                   {schema}));
  std::vector<std::string> names;
  for (int i = 0; i < r.rows(); ++i) names.emplace_back(r.Get(i, 0));
  return names;
}

Result<TableInfo> LoadTable(PgConnection& conn, const TableName& name) {
  // The element (arrays) or base (domains) type decides whether values compare with "=": the
  // built-in types without an equality operator are compared as text.
  static const char* kSql = R"(
SELECT a.attname,
       pg_catalog.format_type(a.atttypid, a.atttypmod),
       t.typname,
       t.typtype = 'd',
       a.atttypmod,
       a.attnotnull OR t.typnotnull,
       a.atthasdef OR a.attidentity <> '',
       a.attgenerated <> '',
       a.attidentity = 'a',
       cmp.typname IN ('json', 'xml', 'point', 'line', 'lseg', 'box', 'path', 'polygon', 'circle'),
       coalesce((SELECT k.n FROM unnest(i.indkey) WITH ORDINALITY k(att, n) WHERE k.att = a.attnum), 0),
       pg_catalog.quote_ident(bn.nspname) || '.' || pg_catalog.quote_ident(b.typname)
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
JOIN pg_catalog.pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
JOIN pg_catalog.pg_namespace bn ON bn.oid = b.typnamespace
JOIN pg_catalog.pg_type cmp ON cmp.oid = CASE WHEN b.typelem <> 0 AND b.typlen = -1 THEN b.typelem ELSE b.oid END
LEFT JOIN pg_catalog.pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum)";
  CDC_ASSIGN_OR_RETURN(PgResult rel, conn.ExecParams("SELECT c.oid FROM pg_catalog.pg_class c JOIN "
                                                     "pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                                                     "WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')",
                                                     {name.schema, name.name}));
  if (rel.rows() == 0) {
    CDC_ASSIGN_OR_RETURN(std::vector<std::string> tables, ListTables(conn, name.schema));
    std::string list;
    for (size_t i = 0; i < tables.size() && i < 30; ++i) list += (i ? ", " : "") + DisplayPart(tables[i]);
    if (tables.size() > 30) list += ", ... (" + std::to_string(tables.size()) + " in all)";
    return Status::NotFound("no table " + name.Display() + " in the database (tables in schema " +
                            DisplayPart(name.schema) + ": " + (list.empty() ? "none" : list) +
                            "; create it first, e.g. `cdcpipe schema --apply` for the demo tables)");
  }
  CDC_ASSIGN_OR_RETURN(PgResult r, conn.ExecParams(kSql, {std::string(rel.Get(0, 0))}));
  TableInfo info;
  info.name = name;
  std::vector<std::pair<int, size_t>> key;
  for (int row = 0; row < r.rows(); ++row) {
    TableColumn c;
    c.name = r.Get(row, 0);
    c.type = r.Get(row, 1);
    c.type_name = r.Get(row, 2);
    c.is_domain = r.Get(row, 3) == "t";
    c.typmod = std::stoi(std::string(r.Get(row, 4)));
    c.not_null = r.Get(row, 5) == "t";
    c.has_default = r.Get(row, 6) == "t";
    c.generated = r.Get(row, 7) == "t";
    c.identity_always = r.Get(row, 8) == "t";
    c.compare_as_text = r.Get(row, 9) == "t";
    c.key_position = std::stoi(std::string(r.Get(row, 10)));
    c.cast_type = r.Get(row, 11);
    if (c.key_position > 0) key.emplace_back(c.key_position, info.columns.size());
    info.columns.push_back(std::move(c));
  }
  std::sort(key.begin(), key.end());
  for (const auto& k : key) info.key.push_back(k.second);
  return info;
}

}  // namespace cdc::pg
