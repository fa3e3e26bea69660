#include "jobs/views.h"

#include <fmt/format.h>

#include <fstream>
#include <set>
#include <sstream>

#include "lake/committed_files.h"
#include "pg/connection.h"
#include "pg/relation_cache.h"
#include "pg/table_catalog.h"

namespace cdc::jobs {

Status CheckViewNames(const sql::ViewSet& views) {
  std::string problems;
  for (const sql::ViewPlan& v : views.views) {
    const std::string& n = v.name;
    std::string why;
    if (n.empty() || n == "." || n == "..") {
      why = "is not a folder name";
    } else if (n.find('/') != std::string::npos || n.find('\0') != std::string::npos) {
      why = "contains '/'";
    } else if (n[0] == '_' || n[0] == '.') {
      why = "starts with '" + std::string(1, n[0]) + "' (Spark and Hive readers skip such folders)";
    } else if (n == lake::kRawDataDir) {
      why = "is the raw change events' folder";
    }
    if (why.empty()) continue;
    if (!problems.empty()) problems += "\n";
    problems += fmt::format("{}:{}:{}: view \"{}\": the name {}; the view's output folder is named after it",
                            views.file, v.line, v.column, n, why);
  }
  return problems.empty() ? Status::OK() : Status::InvalidArgument(problems);
}

Result<std::shared_ptr<const LoadedViews>> LoadViewsFile(const ViewsOptions& o) {
  auto loaded = std::make_shared<LoadedViews>();
  loaded->views.file = o.file;
  if (o.file.empty()) return std::shared_ptr<const LoadedViews>(loaded);
  std::ifstream in(o.file, std::ios::binary);
  if (!in) return Status::NotFound(fmt::format("views file {}: cannot open it", o.file));
  std::stringstream text;
  text << in.rdbuf();

  CDC_ASSIGN_OR_RETURN(pg::PgConnection conn, pg::PgConnection::Connect(o.conninfo));
  std::vector<std::pair<std::string, std::string>> names;
  if (!o.tables.empty()) {
    for (const std::string& t : o.tables) {
      CDC_ASSIGN_OR_RETURN(pg::TableName name, pg::ParseTableName(t));
      names.emplace_back(name.schema, name.name);
    }
  } else {
    CDC_ASSIGN_OR_RETURN(pg::PgResult pt, conn.ExecParams("SELECT schemaname, tablename FROM pg_publication_tables "
                                                          "WHERE pubname = $1 ORDER BY 1, 2",
                                                          {o.publication}));
    for (int i = 0; i < pt.rows(); ++i) names.emplace_back(std::string(pt.Get(i, 0)), std::string(pt.Get(i, 1)));
  }
  for (const auto& [schema, table] : names) {
    auto ct = pg::LookupTable(conn, schema, table);
    if (ct.status().IsNotFound()) continue;  // capture reports a missing table; views over it are refused
    CDC_RETURN_IF_ERROR(ct.status());
    loaded->catalog[schema + "." + table] = *pg::SchemaFromCatalog(*ct);
  }
  CDC_ASSIGN_OR_RETURN(loaded->views, sql::LoadViews(o.file, text.str(), loaded->catalog));
  CDC_RETURN_IF_ERROR(CheckViewNames(loaded->views));
  return std::shared_ptr<const LoadedViews>(loaded);
}

}  // namespace cdc::jobs
