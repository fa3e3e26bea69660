// The names of the views a views file defines, without a catalog: for `cdcpipe status`, which checks
// each view's output folder and must work while the database is down. LoadViews (plan.h) is the
// full check.
//
// Thread-safety: reentrant.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace cdc::sql {

// The view names of every CREATE VIEW statement in `text`, in file order. InvalidArgument
// "<file>:<line>:<column>: <parser message>" on a syntax error.
Result<std::vector<std::string>> ViewNames(std::string_view file, std::string_view text);
// The same for a file read from disk (NotFound when it cannot be opened).
Result<std::vector<std::string>> ViewNamesInFile(const std::string& path);

}  // namespace cdc::sql
