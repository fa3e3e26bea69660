// RelationCache: pgoutput relation id -> the shared TableSchema of the captured table.
//
// pgoutput announces a table with a Relation message before the first change to it in a session
// (and again after its definition changes). Its column flag 1 marks the REPLICA IDENTITY columns,
// which are the primary key only with REPLICA IDENTITY DEFAULT: with FULL every column is flagged.
// The Debezium message key is the primary key, so the key and NOT NULL flags come from the catalog
// (pg_index.indisprimary, pg_attribute.attnotnull) over a normal connection when one is given;
// without one (unit tests, the fuzzer) the pgoutput flags are used as they are.
//
// Types that are not built in (pg_type.oid >= 10000: enums, domains, arrays of them, extension types):
// pgoutput sends a Type message for each such column type before the Relation message that uses it,
// with the oid and a name only (for a domain, the name of its base type: "numeric" in pg_catalog). ApplyType
// records them, and Apply puts the name on the columns (event::Column::type_name); a domain over a
// built-in type is resolved from that name alone. With a catalog the catalog is asked instead
// (pg_type, pg_enum): enums get their labels (io.debezium.data.Enum), domains their base type and typmod,
// arrays of enums and domains their element. What nothing resolves is encoded as a string.
//
// A schema change makes a new TableSchema; events already built keep the old one (shared_ptr).
// Thread-safety: one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "event/change_event.h"
#include "pg/connection.h"
#include "pg/pgoutput_decoder.h"

namespace cdc::pg {

// What the catalog says about a table's columns.
struct CatalogColumn {
  std::string name;
  uint32_t type_oid = 0;
  int32_t type_modifier = -1;
  bool not_null = false;
  bool primary_key = false;
  // Types that are not built in (type_oid >= 10000) only: "schema.name" and what the type resolves to.
  std::string type_name = {};
  std::optional<event::UserType> user_type = std::nullopt;
  std::optional<std::string> default_expr = std::nullopt;  // pg_get_expr(pg_attrdef.adbin, adrelid); none: nullopt
};

struct CatalogTable {
  uint32_t relation_id = 0;
  std::string schema;
  std::string table;
  std::vector<CatalogColumn> columns;  // attnum order, without dropped and generated columns
};

// Catalog lookups, an interface so that tests can do without a database.
class CatalogSource {
 public:
  virtual ~CatalogSource() = default;
  virtual Result<CatalogTable> LookupById(uint32_t relation_id) = 0;
};

// Reads pg_class/pg_attribute/pg_index (and pg_type/pg_enum for types that are not built in) over a
// normal (non-replication) connection.
class PgCatalogSource : public CatalogSource {
 public:
  explicit PgCatalogSource(PgConnection* conn) : conn_(conn) {}
  Result<CatalogTable> LookupById(uint32_t relation_id) override;

 private:
  PgConnection* conn_;  // not owned
};

// Looks a table up by name ("public", "klienci"); NotFound when it does not exist.
Result<CatalogTable> LookupTable(PgConnection& conn, std::string_view schema, std::string_view table);

// A TableSchema made from the catalog alone (the snapshot reader uses this).
std::shared_ptr<const event::TableSchema> SchemaFromCatalog(const CatalogTable& table);

class RelationCache {
 public:
  // `catalog` may be null (then the pgoutput key flags are used). Not owned.
  explicit RelationCache(CatalogSource* catalog = nullptr) : catalog_(catalog) {}

  // Records (or replaces) the schema announced by a Relation message. Columns of types that are not built
  // in get the name (and, for domains over built-in types, the base type) of the Type message that
  // announced them, or what the catalog says when there is one.
  Status Apply(const RelationMessage& msg);

  // Records the name of a type that is not built in, announced by a Type message (they precede the
  // Relation messages that use them). Only affects Relation messages applied afterwards.
  void ApplyType(const TypeMessage& msg);

  // The "namespace.name" a Type message gave `type_oid` ("pg_catalog.numeric" for a domain over numeric),
  // or "" when none did.
  std::string TypeName(uint32_t type_oid) const {
    auto it = types_.find(type_oid);
    return it == types_.end() ? std::string() : it->second;
  }

  // The schema of `relation_id`, or nullptr if no Relation message announced it.
  std::shared_ptr<const event::TableSchema> Find(uint32_t relation_id) const {
    auto it = schemas_.find(relation_id);
    return it == schemas_.end() ? nullptr : it->second;
  }

  // Forgets every schema and type (a new replication session announces them again).
  void Clear() {
    schemas_.clear();
    types_.clear();
  }

 private:
  CatalogSource* catalog_;
  std::unordered_map<uint32_t, std::shared_ptr<const event::TableSchema>> schemas_;
  std::unordered_map<uint32_t, std::string> types_;  // Type messages: oid -> "namespace.name"
};

}  // namespace cdc::pg
