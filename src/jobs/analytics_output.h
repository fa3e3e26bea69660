// AnalyticsOutput: the two analytics results as Parquet folders under the output root, replaced
// atomically for readers that follow the `_SUCCESS` manifest (docs/ANALYTICS.md).
//
//   <root>/klienci-by-country/   kraj string (nullable), count int64
//   <root>/avg-age-by-position/  stanowisko string (nullable), avg_age double (nullable), count int64
//   each with part-00000-<uuid>-c000.snappy.parquet and _SUCCESS
//
// _SUCCESS is one JSON object:
//   {"version":1,"files":["part-00000-<uuid>-c000.snappy.parquet"],"rows":12,
//    "source_lsn":"0/16B3748","raw_batch_id":41,"written_at_ms":1732500000000}
// `files` are the only data files of the current result (names relative to the folder);
// `source_lsn` is the highest source LSN whose change the result includes ("" when unknown);
// `raw_batch_id` the last raw-kafka-data batch it includes (-1: none).
//
// Replacement protocol (WriteAnalytics): 1. write the new data files of both folders under fresh
// names; 2. Put each folder's _SUCCESS (an atomic replace) naming them; 3. delete every other object
// of the folders. A reader that reads _SUCCESS and then the files it lists sees the old or the new
// result, never a mix and never nothing (a file it was told about can only vanish if a newer
// _SUCCESS exists and the reader was slow: it retries with the new manifest). A reader that globs
// *.parquet sees old and new files together between steps 2 and 3.
//
// Thread-safety: the functions are stateless; two writers on the same root must not run at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/lsn.h"
#include "base/status.h"
#include "jobs/changelog_state.h"
#include "store/object_store.h"

namespace cdc::jobs {

inline constexpr std::string_view kKlienciByCountryDir = "klienci-by-country";
inline constexpr std::string_view kAvgAgeByPositionDir = "avg-age-by-position";

struct AnalyticsResult {
  std::vector<CountryCount> klienci_by_country;
  std::vector<PositionAge> avg_age_by_position;
  Lsn source_lsn;            // Invalid when unknown
  int64_t raw_batch_id = -1; // last raw batch included; -1 = none
};

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

struct AnalyticsWriteOptions {
  // Failpoints "<prefix>.after_files_written" (before any _SUCCESS) and "<prefix>.after_success"
  // (both manifests written, old files not yet removed). Default "batch".
  std::string failpoint_prefix = "batch";
};

// Replaces both result folders under `store` by `result` (protocol above).
Status WriteAnalytics(store::ObjectStore* store, const AnalyticsResult& result,
                      const AnalyticsWriteOptions& options = {});

// Reads the current result back through the manifests (NotFound when a folder has no _SUCCESS).
Result<AnalyticsResult> ReadAnalytics(store::ObjectStore* store);

// The tables as text for a terminal: a header and at most `max_rows` rows each.
std::string FormatAnalytics(const AnalyticsResult& result, size_t max_rows);

}  // namespace cdc::jobs
