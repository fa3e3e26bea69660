#include "pg/relation_cache.h"

#include <fmt/format.h>

namespace cdc::pg {

namespace {

constexpr const char* kColumnsSql =
    "SELECT n.nspname, c.relname, a.attname, a.atttypid, a.atttypmod, a.attnotnull, "
    "       coalesce(a.attnum = ANY(i.indkey), false), c.oid "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' "
    "LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary ";

Result<CatalogTable> ParseColumns(const PgResult& res, const std::string& what) {
  if (res.rows() == 0) return Status::NotFound("table " + what + " does not exist (or has no columns)");
  CatalogTable t;
  t.schema = std::string(res.Get(0, 0));
  t.table = std::string(res.Get(0, 1));
  t.relation_id = static_cast<uint32_t>(std::stoul(std::string(res.Get(0, 7))));
  for (int r = 0; r < res.rows(); ++r) {
    CatalogColumn c;
    c.name = std::string(res.Get(r, 2));
    c.type_oid = static_cast<uint32_t>(std::stoul(std::string(res.Get(r, 3))));
    c.type_modifier = std::stoi(std::string(res.Get(r, 4)));
    c.not_null = res.Get(r, 5) == "t";
    c.primary_key = res.Get(r, 6) == "t";
    t.columns.push_back(std::move(c));
  }
  return t;
}

}  // namespace

Result<CatalogTable> PgCatalogSource::LookupById(uint32_t relation_id) {
  auto res = conn_->ExecParams(std::string(kColumnsSql) + "WHERE c.oid = $1 ORDER BY a.attnum",
                               {std::to_string(relation_id)});
  if (!res.ok()) return res.status().WithContext(fmt::format("reading the catalog of relation {}", relation_id));
  return ParseColumns(*res, fmt::format("with oid {}", relation_id));
}

Result<CatalogTable> LookupTable(PgConnection& conn, std::string_view schema, std::string_view table) {
  auto res = conn.ExecParams(std::string(kColumnsSql) + "WHERE n.nspname = $1 AND c.relname = $2 ORDER BY a.attnum",
                             {std::string(schema), std::string(table)});
  if (!res.ok()) return res.status().WithContext(fmt::format("reading the catalog of {}.{}", schema, table));
  return ParseColumns(*res, fmt::format("{}.{}", schema, table));
}

std::shared_ptr<const event::TableSchema> SchemaFromCatalog(const CatalogTable& table) {
  auto s = std::make_shared<event::TableSchema>();
  s->relation_id = table.relation_id;
  s->schema = table.schema;
  s->table = table.table;
  for (const auto& c : table.columns) {
    event::Column col;
    col.name = c.name;
    col.type_oid = c.type_oid;
    col.type_modifier = c.type_modifier;
    col.key = c.primary_key;
    col.optional = !c.not_null && !c.primary_key;
    s->columns.push_back(std::move(col));
  }
  return s;
}

Status RelationCache::Apply(const RelationMessage& msg) {
  auto s = std::make_shared<event::TableSchema>();
  s->relation_id = msg.relation_id;
  s->schema = std::string(msg.schema);
  s->table = std::string(msg.table);
  s->columns.reserve(msg.columns.size());
  for (const auto& c : msg.columns) {
    event::Column col;
    col.name = std::string(c.name);
    col.type_oid = c.type_oid;
    col.type_modifier = c.type_modifier;
    col.key = c.key();
    col.optional = !col.key;
    s->columns.push_back(std::move(col));
  }
  if (catalog_ != nullptr) {
    CDC_ASSIGN_OR_RETURN(CatalogTable cat, catalog_->LookupById(msg.relation_id));
    for (auto& col : s->columns) {
      col.key = false;
      col.optional = true;
      for (const auto& cc : cat.columns) {
        if (cc.name == col.name) {
          col.key = cc.primary_key;
          col.optional = !cc.not_null && !cc.primary_key;
          break;
        }
      }
    }
  }
  schemas_[msg.relation_id] = std::move(s);
  return Status::OK();
}

}  // namespace cdc::pg
