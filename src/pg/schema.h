// The demo schema of `cdcpipe schema`: the three tables of the seed's CSV files (csv_files/). Only
// `cdcpipe schema` (and tests that want the demo tables) use it: `cdcpipe import` reads any table
// from the catalog (pg/table_catalog.h) and never creates one.
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

// The three demo tables, in a fixed order (klienci, pracownicy, projekty).
const std::vector<TableDef>& KnownTables();

// "CREATE TABLE IF NOT EXISTS public.<name> (...);" for one table / all tables.
std::string CreateTableSql(const TableDef& table);
std::string SchemaSql();

// Creates the missing tables of `tables` (all demo ones when empty) in one transaction.
Status EnsureSchema(PgConnection& conn, const std::vector<std::string>& tables = {});

}  // namespace cdc::pg
