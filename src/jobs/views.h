// Loading the views file for `run` and `batch` (docs/VIEWS.md): the catalog of the captured tables
// from PostgreSQL (read-only queries on an ordinary connection), then the file, parsed and checked
// against it (sql::LoadViews). Nothing is created or changed anywhere; every problem is reported
// before the pipeline starts.
//
// The captured tables are `tables` when given, else the publication's tables (what capture reads).
// A view over any other table is refused, naming the captured ones.
//
// View names become folder names under the output root, so a name must be usable as one: no '/',
// not "." or "..", not starting with '_' or '.' (Spark and Hive readers skip such folders), and not
// "raw-kafka-data".
//
// Thread-safety: LoadedViews is immutable; share it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "sql/plan.h"

namespace cdc::jobs {

struct ViewsOptions {
  // The views file; "" = no views (Load returns an empty set). Required otherwise.
  std::string file;
  // The source database (libpq conninfo; "" = the PG* environment).
  std::string conninfo;
  // The captured tables ("table" or "schema.table"); empty = the publication's tables.
  std::vector<std::string> tables;
  std::string publication;
};

struct LoadedViews {
  sql::Catalog catalog;
  sql::ViewSet views;
};

// InvalidArgument (exit 2) for a problem in the file, naming file:line:column; NotFound when the
// file does not exist; the connection's error when the database cannot be read.
Result<std::shared_ptr<const LoadedViews>> LoadViewsFile(const ViewsOptions& options);

// The folder-name rule above, for each view (InvalidArgument naming file:line:column).
Status CheckViewNames(const sql::ViewSet& views);

}  // namespace cdc::jobs
