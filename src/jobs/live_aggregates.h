// LiveAggregates: the two analytics results kept up to date inside `cdcpipe run`.
//
// It consumes every committed raw batch through the CommittedBatchObserver hook (committed_batch.h),
// applies its events to a ChangelogState (an update retracts the old row and adds the new one), and
// at each trigger (each committed batch) materialises both results through WriteAnalytics (failpoint
// prefix "live") and publishes them into the PipelineStateHub (stage "analytics",
// klienci_by_country, avg_age_by_position, analytics_lsn).
//
// Start() first rebuilds the state from the raw batches already committed (the same code as
// `cdcpipe batch`, starting from its checkpoint when there is one), so a restarted `run` continues
// with the right totals. A batch that does not follow the last one applied (a gap), or an event that
// fails to apply, makes it rebuild from the committed files, which include that batch.
//
// Usage in `cdcpipe run`:
//   LiveAggregates live({.output = output_store, .state = &hub});
//   CDC_RETURN_IF_ERROR(live.Start());          // before the raw sink commits anything
//   raw_sink_options.observer = live.Observer();
//
// Thread-safety: Start() and the observer are called from one thread (the raw sink's); Current()
// from any thread. Errors never propagate into the raw sink: they are logged, counted in the
// "analytics" stage and retried at the next batch.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>

#include "base/status.h"
#include "jobs/analytics_output.h"
#include "jobs/batch.h"
#include "jobs/committed_batch.h"
#include "jobs/pipeline_state.h"
#include "store/object_store.h"

namespace cdc::jobs {

struct LiveAggregatesOptions {
  // Output root (holds raw-kafka-data/ and gets the two result folders). Not owned; required.
  store::ObjectStore* output = nullptr;
  // Where the results are published. Not owned; may be null.
  PipelineStateHub* state = nullptr;
  // Write the result folders at each trigger. Default true.
  bool materialize = true;
};

class LiveAggregates {
 public:
  explicit LiveAggregates(LiveAggregatesOptions options);

  // Catches up with the batches committed so far and materialises the result once.
  Status Start();
  // The hook for RawSinkOptions::observer. The LiveAggregates must outlive the sink.
  CommittedBatchObserver Observer();
  // What the observer does (exposed for tests).
  Status OnBatch(const CommittedBatch& batch);

  // The latest materialised result (a copy).
  AnalyticsResult Current() const;
  uint64_t errors_total() const;

 private:
  Status Rebuild();
  Status Publish();
  void PublishError(const Status& st);

  LiveAggregatesOptions options_;
  AnalyticsBuilder builder_;
  bool dirty_ = false;  // the last batch was applied but not materialised (an error happened)
  mutable std::mutex mu_;
  AnalyticsResult current_;  // guarded by mu_
  uint64_t errors_ = 0;      // guarded by mu_
};

}  // namespace cdc::jobs
