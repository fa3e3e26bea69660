// TableCatalog: what `cdcpipe import` needs to know about a table, read from PostgreSQL's catalog
// (pg_class, pg_attribute, pg_type, pg_index) at import time. Nothing here knows a table by name.
//
// Thread-safety: the pure functions are reentrant; LoadTable/ListTables use the caller's connection.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "pg/connection.h"

namespace cdc::pg {

// A table's schema and name as PostgreSQL stores them (case kept, unquoted).
struct TableName {
  std::string schema = "public";
  std::string name;
  // "customers" for public tables, else "sales.orders" (quoted where a part needs it: "My Table").
  std::string Display() const;
  // "public.customers", "sales.\"My Table\"": both parts, each quoted where it needs it.
  std::string Qualified() const;
  // The SQL reference: "public"."customers".
  std::string Sql() const;
};

// Parses "name" or "schema.name" as PostgreSQL parses an identifier: an unquoted part is folded to
// lower case, a double-quoted part keeps its case and may hold dots ("" is a quote). The schema
// defaults to public. InvalidArgument on an empty part, an unterminated quote, or more than two parts.
Result<TableName> ParseTableName(std::string_view text);

// `ident` as a double-quoted SQL identifier ("a""b" for a"b). Always quoted: safe for any name.
std::string QuoteIdentifier(std::string_view ident);

struct TableColumn {
  std::string name;         // as in pg_attribute (case kept)
  std::string type;         // format_type(): "numeric(12,2)", "text[]", "character varying(20)", a domain
  std::string type_name;    // pg_type.typname of the column's own type: "int4", "varchar", "_text", a domain's name
  std::string cast_type;    // the type (a domain's base type) without its modifier, schema-qualified
                            // ("pg_catalog"."varchar"): a value cast to it, then assigned to the column,
                            // gets the checks of a COPY (an explicit cast to varchar(n) or to a domain over
                            // it would cut the value silently)
  bool is_domain = false;   // a domain (its constraints are PostgreSQL's to check)
  int32_t typmod = -1;      // atttypmod (-1 = none; varchar(n) has n + 4)
  bool not_null = false;    // NOT NULL on the column or on its domain
  bool has_default = false; // a DEFAULT or an identity: may be left out of the file
  bool generated = false;   // GENERATED ALWAYS AS (...) STORED: cannot be written
  bool identity_always = false;  // GENERATED ALWAYS AS IDENTITY: written with OVERRIDING SYSTEM VALUE
  bool compare_as_text = false;  // no equality operator (json, xml, geometric types): compare ::text
  int key_position = 0;     // 1-based position in the primary key; 0 when not part of it
};

struct TableInfo {
  TableName name;
  std::vector<TableColumn> columns;  // in attnum order, dropped columns left out
  std::vector<size_t> key;           // indices into columns of the primary key, in key order; empty: none
  // The column a CSV header names: the exact name, else the one column equal ignoring ASCII case.
  // nullptr when none (or when several differ only in case and none matches exactly).
  const TableColumn* Find(std::string_view header_name) const;
  // "id,name,email" (for messages).
  std::string ColumnList() const;
};

// Reads `name` from the catalog (ordinary and partitioned tables). NotFound when there is no such
// table, with a message naming it and listing the tables of its schema.
Result<TableInfo> LoadTable(PgConnection& conn, const TableName& name);

// The ordinary and partitioned tables of `schema`, sorted by name.
Result<std::vector<std::string>> ListTables(PgConnection& conn, const std::string& schema);

}  // namespace cdc::pg
