// Result folders: a batch result (one folder per view) replaced atomically for readers that follow
// the `_SUCCESS` manifest, Spark's batch-output convention plus a manifest (docs/VIEWS.md, "Output").
//
//   <root>/<folder>/part-00000-<uuid>-c000.snappy.parquet
//   <root>/<folder>/_SUCCESS      one JSON object:
//     {"version":1,"files":["part-00000-<uuid>-c000.snappy.parquet"],"rows":12,
//      "source_lsn":"0/16B3748","raw_batch_id":41,"written_at_ms":1732500000000}
// `files` are the only data files of the current result (names relative to the folder);
// `source_lsn` is the highest source LSN whose change the result includes ("" when unknown);
// `raw_batch_id` the last raw-kafka-data batch it includes (-1: none).
//
// Replacement protocol (ReplaceResults): 1. write the new data files of every folder under fresh
// names (failpoint "<prefix>.after_files_written"); 2. put each folder's _SUCCESS, an atomic replace
// naming them ("<prefix>.after_success"); 3. delete every other object of those folders. A reader
// that reads _SUCCESS and then the files it lists sees the old or the new result, never a mix and
// never nothing. A reader that globs *.parquet sees old and new files together between steps 2 and 3.
//
// Thread-safety: stateless; two writers on the same folders must not run at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/lsn.h"
#include "base/status.h"
#include "store/object_store.h"

namespace cdc::lake {

inline constexpr std::string_view kSuccessFile = "_SUCCESS";

struct SuccessManifest {
  std::vector<std::string> files;  // relative to the folder
  int64_t rows = 0;
  std::string source_lsn;          // "" when unknown
  int64_t raw_batch_id = -1;
  int64_t written_at_ms = 0;
};

std::string SerializeSuccess(const SuccessManifest& manifest);
// Corruption naming `name` when the text is not a manifest.
Result<SuccessManifest> ParseSuccess(std::string_view text, std::string_view name);

// One folder's new result: a single Parquet file.
struct FolderResult {
  std::string folder;  // relative to the store's root, no '/'
  std::string bytes;   // the Parquet file
  int64_t rows = 0;
};

struct ResultPosition {
  Lsn source_lsn;             // Invalid when unknown
  int64_t raw_batch_id = -1;  // -1 = none
};

// Replaces every listed folder's result (protocol above). `failpoint_prefix` names the failpoints.
Status ReplaceResults(store::ObjectStore* store, const std::vector<FolderResult>& results,
                      const ResultPosition& position, std::string_view failpoint_prefix);

// Moves `folder`'s current result to `position` without rewriting its files: for a result known
// not to have changed since it was written. Rewrites its _SUCCESS (an atomic replace) with the new
// position and time and the same files; NotFound when the folder has no result.
Status AdvanceResult(store::ObjectStore* store, std::string_view folder, const ResultPosition& position);

// The manifest of `folder`'s current result (NotFound when it has none).
Result<SuccessManifest> ReadManifest(store::ObjectStore* store, std::string_view folder);

}  // namespace cdc::lake
