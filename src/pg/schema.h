// The pipeline's source schema: the three tables our users' CSV files fill.
//
//   klienci(id integer primary key, nazwa text not null, email text, kraj text, telefon text)
//   pracownicy(id integer primary key, imie text, nazwisko text, email text, wiek integer, stanowisko text)
//   projekty(id integer primary key, nazwa text not null, opis text, data_rozpoczecia date, data_zakonczenia date)
//
// The DDL only creates what is missing (CREATE TABLE IF NOT EXISTS): it never drops user data.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "pg/connection.h"

namespace cdc::pg {

enum class ColumnType { kInteger, kText, kDate };

struct ColumnDef {
  std::string name;
  ColumnType type;
  bool not_null = false;
  bool primary_key = false;
};

struct TableDef {
  std::string name;
  std::vector<ColumnDef> columns;
  // The column named `name`, or nullptr.
  const ColumnDef* Find(std::string_view name) const;
};

// The three known tables, in a fixed order (klienci, pracownicy, projekty).
const std::vector<TableDef>& KnownTables();
// The known table named `name`, or nullptr.
const TableDef* FindTable(std::string_view name);

// "CREATE TABLE IF NOT EXISTS public.<name> (...);" for one table / all tables.
std::string CreateTableSql(const TableDef& table);
std::string SchemaSql();

// Creates the missing tables of `tables` (all known ones when empty) in one transaction.
Status EnsureSchema(PgConnection& conn, const std::vector<std::string>& tables = {});

}  // namespace cdc::pg
