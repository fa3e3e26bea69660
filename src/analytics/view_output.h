// The views' results as folders under the output root: <root>/<view name>/part-*.snappy.parquet and
// _SUCCESS, replaced with the crash-safe protocol of lake/result_folders.h (each view's folder is
// named exactly as the view). A view removed from the views file keeps its last folder: nothing
// here deletes a folder it was not asked to write.
//
// Thread-safety: stateless.
#pragma once

#include <string_view>
#include <vector>

#include "analytics/view_engine.h"
#include "base/status.h"
#include "lake/result_folders.h"
#include "store/object_store.h"

namespace cdc::analytics {

// Writes every view of `engine` (failpoints "<prefix>.after_files_written", "<prefix>.after_success").
Status WriteViews(store::ObjectStore* store, const ViewEngine& engine, const lake::ResultPosition& position,
                  std::string_view failpoint_prefix);
// Writes the views of `engine` whose indexes are in `which` (the others' folders are left as they are).
Status WriteViews(store::ObjectStore* store, const ViewEngine& engine, const lake::ResultPosition& position,
                  std::string_view failpoint_prefix, const std::vector<size_t>& which);

// Every view as a text table for a terminal: its name and row count, a header, at most `max_rows`
// rows (values as PostgreSQL prints them, NULL as "NULL").
Result<std::string> FormatViews(const ViewEngine& engine, size_t max_rows);

}  // namespace cdc::analytics
