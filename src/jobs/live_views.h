// LiveViews: the views of the views file kept up to date inside `cdcpipe run` (docs/VIEWS.md).
//
// It consumes every committed raw batch through the CommittedBatchObserver hook (committed_batch.h),
// applies its events to an analytics::ViewBuilder, and after each batch writes every view's folder
// (analytics::WriteViews, failpoint prefix "live") and publishes the views into the PipelineStateHub
// (stage "analytics", PipelineState::views).
//
// Start() first rebuilds the state from the raw batches already committed (the same code as
// `cdcpipe batch`, starting from its checkpoint when it was built for the same views), so a restarted
// `run` continues with the right results, and a view added to the file is computed from the raw
// history without capturing again. A batch that does not follow the last one applied (a gap) makes it
// rebuild from the committed files, which include that batch.
//
// An event a view cannot evaluate (division by zero, a numeric overflow), or one that cannot be
// decoded, stops the views (retrying would hit it again at every batch): the stage
// becomes "failed" with the error (table, key, LSN), the folders keep the last good result, and the
// raw pipeline goes on (the raw data is the durable log: fix the view and restart, and it is
// recomputed). It never skips the event and never loops.
//
// Thread-safety: Start() and the observer are called from one thread (the raw sink's).
#pragma once

#include <chrono>
#include <memory>

#include "analytics/view_builder.h"
#include "base/status.h"
#include "jobs/committed_batch.h"
#include "jobs/pipeline_state.h"
#include "jobs/views.h"
#include "store/object_store.h"

namespace cdc::jobs {

struct LiveViewsOptions {
  // Output root (holds raw-kafka-data/ and gets the view folders). Not owned; required.
  store::ObjectStore* output = nullptr;
  // The views and their catalog. Required (an empty set: nothing is computed).
  std::shared_ptr<const LoadedViews> views;
  analytics::EventSettings events;
  // Where the views are published. Not owned; may be null.
  PipelineStateHub* state = nullptr;
  // Write the view folders at each batch. Default true.
  bool materialize = true;
  // Save the views checkpoint (analytics/view_builder.h) at most this often, and at Stop(), so that a
  // restart continues from it instead of recomputing from all raw data. 0 = only at Stop().
  // Default 5 minutes: a save writes the whole state.
  std::chrono::milliseconds checkpoint_interval = std::chrono::minutes(5);
};

class LiveViews {
 public:
  explicit LiveViews(LiveViewsOptions options);

  // Catches up with the batches committed so far and materialises the views once.
  Status Start();
  // The hook for the raw sink. The LiveViews must outlive the sink.
  CommittedBatchObserver Observer();
  // What the observer does (exposed for tests).
  Status OnBatch(const CommittedBatch& batch);

  // Saves the checkpoint (when the views are maintained). Call after the raw sink stopped.
  Status Stop();

  const analytics::ViewBuilder& builder() const { return builder_; }

 private:
  Status Rebuild();
  // `newest_event_us`: the Kafka timestamp of the newest event just applied (0: none).
  Status Publish(int64_t newest_event_us);
  void PublishError(const Status& st, bool fatal);

  LiveViewsOptions options_;
  analytics::ViewBuilder builder_;
  Status SaveCheckpoint();

  Status failed_;  // set once a view could not be evaluated: nothing more is applied
  uint64_t errors_ = 0;
  int64_t last_checkpoint_ms_ = 0;
};

}  // namespace cdc::jobs
