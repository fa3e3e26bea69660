#include "pg/schema.h"

namespace cdc::pg {

const ColumnDef* TableDef::Find(std::string_view n) const {
  for (const auto& c : columns) {
    if (c.name == n) return &c;
  }
  return nullptr;
}

const std::vector<TableDef>& KnownTables() {
  static const std::vector<TableDef> tables = {
      {"klienci",
       {{"id", ColumnType::kInteger, true, true},
        {"nazwa", ColumnType::kText, true, false},
        {"email", ColumnType::kText},
        {"kraj", ColumnType::kText},
        {"telefon", ColumnType::kText}}},
      {"pracownicy",
       {{"id", ColumnType::kInteger, true, true},
        {"imie", ColumnType::kText},
        {"nazwisko", ColumnType::kText},
        {"email", ColumnType::kText},
        {"wiek", ColumnType::kInteger},
        {"stanowisko", ColumnType::kText}}},
      {"projekty",
       {{"id", ColumnType::kInteger, true, true},
        {"nazwa", ColumnType::kText, true, false},
        {"opis", ColumnType::kText},
        {"data_rozpoczecia", ColumnType::kDate},
        {"data_zakonczenia", ColumnType::kDate}}},
  };
  return tables;
}

std::string CreateTableSql(const TableDef& table) {
  std::string sql = "CREATE TABLE IF NOT EXISTS public." + table.name + " (\n";
  for (size_t i = 0; i < table.columns.size(); ++i) {
    const ColumnDef& c = table.columns[i];
    sql += "    " + c.name + " ";
    sql += c.type == ColumnType::kInteger ? "integer" : c.type == ColumnType::kDate ? "date" : "text";
    if (c.primary_key) sql += " PRIMARY KEY";
    else if (c.not_null) sql += " NOT NULL";
    sql += i + 1 < table.columns.size() ? ",\n" : "\n";
  }
  sql += ");\n";
  return sql;
}

std::string SchemaSql() {
  std::string sql;
  for (const auto& t : KnownTables()) sql += CreateTableSql(t);
  return sql;
}

Status EnsureSchema(PgConnection& conn, const std::vector<std::string>& tables) {
  // IF NOT EXISTS answers an existing table with a NOTICE; keep the output quiet.
  std::string sql = "SET client_min_messages TO warning;\nBEGIN;\n";
  for (const auto& t : KnownTables()) {
    bool wanted = tables.empty();
    for (const auto& n : tables) wanted |= (n == t.name);
    if (wanted) sql += CreateTableSql(t);
  }
  sql += "COMMIT;";
  Status st = conn.Run(sql);
  if (!st.ok()) {
    conn.Run("ROLLBACK").ok();
    return st.WithContext("creating the schema");
  }
  return Status::OK();
}

}  // namespace cdc::pg
