#include "analytics/view_output.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>


namespace cdc::analytics {

Status WriteViews(store::ObjectStore* store, const ViewEngine& engine, const lake::ResultPosition& position,
                  std::string_view failpoint_prefix) {
  std::vector<size_t> all(engine.view_count());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  return WriteViews(store, engine, position, failpoint_prefix, all);
}

Status WriteViews(store::ObjectStore* store, const ViewEngine& engine, const lake::ResultPosition& position,
                  std::string_view failpoint_prefix, const std::vector<size_t>& which) {
  std::vector<lake::FolderResult> results;
  results.reserve(which.size());
  for (size_t i : which) {
    lake::FolderResult r;
    r.folder = engine.view(i).name;
    // Streamed from the engine's sorted rows: a big view is never held whole as Datums.
    CDC_ASSIGN_OR_RETURN(r.bytes, EncodeParquet(engine, i, &r.rows));
    results.push_back(std::move(r));
  }
  if (results.empty()) return Status::OK();
  return lake::ReplaceResults(store, results, position, failpoint_prefix);
}

Result<std::string> FormatViews(const ViewEngine& engine, size_t max_rows) {
  std::string out;
  for (size_t i = 0; i < engine.view_count(); ++i) {
    const sql::ViewPlan& view = engine.view(i);
    // The first max_rows rows and the count, without holding a big view's rows whole.
    ViewRows rows;
    size_t total = 0;
    CDC_RETURN_IF_ERROR(engine.ForEachRowChunk(i, 1024, [&](const ViewRows& chunk) {
      for (const auto& row : chunk.rows) {
        if (rows.rows.size() < max_rows) rows.rows.push_back(row);
      }
      total += chunk.rows.size();
      return Status::OK();
    }));
    size_t shown = rows.rows.size();
    std::vector<std::vector<std::string>> cells;
    std::vector<size_t> width;
    std::vector<std::string> header;
    for (const sql::OutputColumn& c : view.outputs) {
      header.push_back(c.name);
      width.push_back(c.name.size());
    }
    for (size_t r = 0; r < shown; ++r) {
      std::vector<std::string> row;
      for (size_t c = 0; c < rows.rows[r].size() && c < view.outputs.size(); ++c) {
        const sql::Datum& d = rows.rows[r][c];
        row.push_back(d.is_null() ? "NULL" : sql::ToText(d, view.outputs[c].type));
        width[c] = std::max(width[c], row.back().size());
      }
      cells.push_back(std::move(row));
    }
    out += fmt::format("{} ({} row{})\n", view.name, total, total == 1 ? "" : "s");
    auto line = [&](const std::vector<std::string>& row) {
      out += " ";
      for (size_t c = 0; c < row.size(); ++c) out += fmt::format(" {:<{}}", row[c], width[c]);
      out += "\n";
    };
    line(header);
    for (const auto& row : cells) line(row);
    if (total > shown) out += fmt::format("  ... {} more\n", total - shown);
  }
  return out;
}

}  // namespace cdc::analytics
