#include "pg/relation_cache.h"

#include <fmt/format.h>

#include <string_view>
#include <unordered_map>

namespace cdc::pg {

namespace {

constexpr const char* kColumnsSql =
    "SELECT n.nspname, c.relname, a.attname, a.atttypid, a.atttypmod, a.attnotnull, "
    "       coalesce(a.attnum = ANY(i.indkey), false), c.oid, pg_get_expr(d.adbin, d.adrelid) "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' "
    "LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum "
    "LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary ";

// Every type a column of a type that is not built in leads to: the column types themselves, the base types
// of domains and the element types of arrays, recursively (UNION stops at types already seen).
constexpr const char* kTypesSql =
    "WITH RECURSIVE r(oid) AS ("
    "  SELECT unnest($1::oid[]) "
    "  UNION "
    "  SELECT x.oid FROM r JOIN pg_type t ON t.oid = r.oid "
    "  CROSS JOIN LATERAL (VALUES (t.typbasetype), (t.typelem)) AS x(oid) WHERE x.oid >= 10000) "
    "SELECT t.oid, n.nspname, t.typname, t.typtype, t.typbasetype, t.typtypmod, t.typelem, "
    "       t.typcategory = 'A' AND t.typlen = -1 AND t.typelem <> 0, "
    "       (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid) "
    "FROM r JOIN pg_type t ON t.oid = r.oid JOIN pg_namespace n ON n.oid = t.typnamespace";

struct TypeRow {
  std::string name;      // "schema.name"
  char typtype = 'b';    // b base, c composite, d domain, e enum, p pseudo, r range, m multirange
  uint32_t base = 0;     // typbasetype (domains)
  int32_t typmod = -1;   // typtypmod (domains)
  uint32_t element = 0;  // typelem
  bool array = false;    // a true array type (not a fixed-length type with typelem, like point)
  std::string labels;    // enums: labels in sort order joined by ','
};

uint32_t ParseOid(std::string_view text) { return static_cast<uint32_t>(std::stoul(std::string(text))); }

// What `oid` is for the encoder, following domains and array elements down to a built-in type or an enum.
event::UserType Resolve(const std::unordered_map<uint32_t, TypeRow>& types, uint32_t oid, int depth = 0) {
  event::UserType u;  // kOther
  auto it = types.find(oid);
  if (it == types.end() || depth > 16) return u;
  const TypeRow& t = it->second;
  if (t.typtype == 'e') {
    u.kind = event::UserType::Kind::kEnum;
    u.enum_labels = t.labels;
    return u;
  }
  if (t.typtype == 'd') {
    if (t.base < event::kFirstNonBuiltinTypeOid) {
      u.kind = event::UserType::Kind::kDomain;
      u.base_type_oid = t.base;
      u.base_type_modifier = t.typmod;
      return u;
    }
    return Resolve(types, t.base, depth + 1);  // a domain over a domain, an enum or a user array
  }
  if (t.array && t.element >= event::kFirstNonBuiltinTypeOid) {
    event::UserType e = Resolve(types, t.element, depth + 1);
    if (e.array) return u;  // two dimensions
    if (e.kind == event::UserType::Kind::kOther) {
      u.array = true;  // an array of an extension type (citext[]): the encoder decides by the type's name
      return u;
    }
    e.array = true;
    return e;
  }
  return u;
}

// Fills type_name and user_type of the columns whose types are not built in (one query, only for tables
// that have such columns).
Status ResolveUserTypes(PgConnection& conn, CatalogTable* table) {
  std::string oids;
  for (const auto& c : table->columns) {
    if (c.type_oid < event::kFirstNonBuiltinTypeOid) continue;
    oids += oids.empty() ? "{" : ",";
    oids += std::to_string(c.type_oid);
  }
  if (oids.empty()) return Status::OK();
  oids += "}";
  auto res = conn.ExecParams(kTypesSql, {oids});
  if (!res.ok()) {
    return res.status().WithContext(fmt::format("reading the types of {}.{}", table->schema, table->table));
  }
  std::unordered_map<uint32_t, TypeRow> types;
  for (int r = 0; r < res->rows(); ++r) {
    TypeRow t;
    t.name = fmt::format("{}.{}", res->Get(r, 1), res->Get(r, 2));
    t.typtype = res->Get(r, 3).empty() ? 'b' : res->Get(r, 3)[0];
    t.base = ParseOid(res->Get(r, 4));
    t.typmod = std::stoi(std::string(res->Get(r, 5)));
    t.element = ParseOid(res->Get(r, 6));
    t.array = res->Get(r, 7) == "t";
    if (!res->IsNull(r, 8)) t.labels = std::string(res->Get(r, 8));
    types.emplace(ParseOid(res->Get(r, 0)), std::move(t));
  }
  for (auto& c : table->columns) {
    if (c.type_oid < event::kFirstNonBuiltinTypeOid) continue;
    auto it = types.find(c.type_oid);
    if (it == types.end()) continue;  // dropped meanwhile: stays a string
    c.type_name = it->second.name;
    c.user_type = Resolve(types, c.type_oid);
  }
  return Status::OK();
}

// The built-in types (and arrays of them) a Type message can name as a domain's base type: pgoutput names
// a domain by its base type, in pg_catalog.
uint32_t BuiltinTypeOid(std::string_view name) {
  static const std::unordered_map<std::string_view, uint32_t> kTypes = {
      {"bool", 16},          {"bytea", 17},        {"char", 18},         {"name", 19},
      {"int8", 20},          {"int2", 21},         {"int4", 23},         {"text", 25},
      {"oid", 26},           {"json", 114},        {"xml", 142},         {"cidr", 650},
      {"float4", 700},       {"float8", 701},      {"macaddr8", 774},    {"money", 790},
      {"macaddr", 829},      {"inet", 869},        {"bpchar", 1042},     {"varchar", 1043},
      {"date", 1082},        {"time", 1083},       {"timestamp", 1114},  {"timestamptz", 1184},
      {"interval", 1186},    {"timetz", 1266},     {"numeric", 1700},    {"uuid", 2950},
      {"jsonb", 3802},       {"_bool", 1000},      {"_bytea", 1001},     {"_char", 1002},
      {"_int2", 1005},       {"_int4", 1007},      {"_text", 1009},      {"_bpchar", 1014},
      {"_varchar", 1015},    {"_int8", 1016},      {"_float4", 1021},    {"_float8", 1022},
      {"_oid", 1028},        {"_timestamp", 1115}, {"_date", 1182},      {"_time", 1183},
      {"_timestamptz", 1185}, {"_numeric", 1231},  {"_timetz", 1270},    {"_uuid", 2951},
      {"_json", 199},        {"_jsonb", 3807},
  };
  auto it = kTypes.find(name);
  return it == kTypes.end() ? 0 : it->second;
}

constexpr std::string_view kPgCatalogPrefix = "pg_catalog.";

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
    if (!res.IsNull(r, 8)) c.default_expr = std::string(res.Get(r, 8));
    t.columns.push_back(std::move(c));
  }
  return t;
}

}  // namespace

Result<CatalogTable> PgCatalogSource::LookupById(uint32_t relation_id) {
  auto res = conn_->ExecParams(std::string(kColumnsSql) + "WHERE c.oid = $1 ORDER BY a.attnum",
                               {std::to_string(relation_id)});
  if (!res.ok()) return res.status().WithContext(fmt::format("reading the catalog of relation {}", relation_id));
  CDC_ASSIGN_OR_RETURN(CatalogTable t, ParseColumns(*res, fmt::format("with oid {}", relation_id)));
  CDC_RETURN_IF_ERROR(ResolveUserTypes(*conn_, &t));
  return t;
}

Result<CatalogTable> LookupTable(PgConnection& conn, std::string_view schema, std::string_view table) {
  auto res = conn.ExecParams(std::string(kColumnsSql) + "WHERE n.nspname = $1 AND c.relname = $2 ORDER BY a.attnum",
                             {std::string(schema), std::string(table)});
  if (!res.ok()) return res.status().WithContext(fmt::format("reading the catalog of {}.{}", schema, table));
  CDC_ASSIGN_OR_RETURN(CatalogTable t, ParseColumns(*res, fmt::format("{}.{}", schema, table)));
  CDC_RETURN_IF_ERROR(ResolveUserTypes(conn, &t));
  return t;
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
    col.type_name = c.type_name;
    col.user_type = c.user_type;
    col.default_expr = c.default_expr;
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
    if (col.type_oid >= event::kFirstNonBuiltinTypeOid) {
      auto it = types_.find(col.type_oid);
      if (it != types_.end()) {
        col.type_name = it->second;
        std::string_view name = col.type_name;
        if (name.substr(0, kPgCatalogPrefix.size()) == kPgCatalogPrefix) {
          uint32_t base = BuiltinTypeOid(name.substr(kPgCatalogPrefix.size()));
          if (base != 0) col.user_type = event::UserType{event::UserType::Kind::kDomain, false, base, -1, ""};
        }
      }
    }
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
          // The default as the catalog has it now (pgoutput carries none), for the column's current type only.
          if (cc.type_oid == col.type_oid) col.default_expr = cc.default_expr;
          // The catalog knows more than a Type message (enum labels, a domain's typmod), but only about
          // the column's current type: if it changed since this Relation message, keep what the stream said.
          if (cc.type_oid == col.type_oid && col.type_oid >= event::kFirstNonBuiltinTypeOid) {
            if (!cc.type_name.empty()) col.type_name = cc.type_name;
            if (cc.user_type) col.user_type = cc.user_type;
          }
          break;
        }
      }
    }
  }
  schemas_[msg.relation_id] = std::move(s);
  return Status::OK();
}

void RelationCache::ApplyType(const TypeMessage& msg) {
  // PostgreSQL sends "" for pg_catalog (logicalrep_write_namespace).
  std::string_view ns = msg.schema.empty() ? std::string_view("pg_catalog") : msg.schema;
  types_[msg.type_oid] = fmt::format("{}.{}", ns, msg.name);
}

}  // namespace cdc::pg
