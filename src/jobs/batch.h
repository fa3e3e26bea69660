// `cdcpipe batch`: the views of the views file (docs/VIEWS.md) computed from the committed raw
// change events in raw-kafka-data, and written as one folder per view.
//
// Incremental by default: it starts from the views checkpoint (analytics/view_builder.h) and reads
// only the raw files committed since; `full` (or a checkpoint built for other views, or a damaged
// one) reads everything.
//
// Order: catch up -> write the views (analytics::WriteViews: failpoints batch.after_files_written,
// batch.after_success, then batch.after_result) -> save the checkpoint. A crash at any point leaves
// the previous results readable; the rerun recomputes from the last checkpoint that committed, and the
// results are always rewritten, so the rerun's answer is right whatever step the crash hit.
//
// Thread-safety: RunBatch is reentrant (one output root per run).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "analytics/view_builder.h"
#include "base/status.h"
#include "jobs/views.h"
#include "store/object_store.h"

namespace cdc::jobs {

struct BatchOptions {
  // Output root URI (holds raw-kafka-data/, gets the views and _checkpoints/views/). Required.
  std::string output;
  // The views and their catalog. Required (an empty set computes nothing).
  std::shared_ptr<const LoadedViews> views;
  analytics::EventSettings events;
  // Recompute from all raw data, ignoring the checkpoint. Default false (incremental).
  bool full = false;
  // Draw a progress line on a terminal. Default true.
  bool progress = true;
  // Rows of each view in BatchReport::text. Default 20.
  size_t print_rows = 20;
  store::StoreOptions store_options;
};

struct BatchReport {
  analytics::CatchUpStats stats;
  bool incremental = false;  // started from a checkpoint
  analytics::RawPosition position;
  Lsn source_lsn;
  size_t views = 0;
  std::string text;  // each view as a text table (analytics::FormatViews)
};

// Runs the batch job once (see the header comment).
Result<BatchReport> RunBatch(const BatchOptions& options);

}  // namespace cdc::jobs
