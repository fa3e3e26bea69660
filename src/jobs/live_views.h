// LiveViews: the views of the views file kept up to date inside `cdcpipe run` (docs/VIEWS.md).
//
// It consumes every committed raw batch through the CommittedBatchObserver hook (committed_batch.h)
// and applies its events to an analytics::ViewBuilder. A publisher thread writes the views' folders
// (analytics::WriteViews, failpoint prefix "live") and publishes the views into the PipelineStateHub
// (stage "analytics", PipelineState::views) once changes are pending, at most once per
// `publish_interval`, and, when a publication took W, not before 10 W after it: writing results
// stays under about a tenth of the time whatever their size, while a 1,000,000-row backlog is
// applied at full speed. A view whose result did not change keeps its files; only its _SUCCESS
// moves to the new position (lake::AdvanceResult). Stop() publishes what is still pending.
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
// The observer does not apply a batch itself: it copies the batch's events into a queue that an
// applier thread drains (OnBatch), so that the raw sink (capture, Parquet, commit) does not wait for
// the views and the two run on different cores. At most kMaxQueuedBytes of event values wait (plus one
// batch); beyond that the observer blocks until the applier catches up, so memory stays bounded and
// a slow view slows the pipeline down instead of falling behind without limit. Stop() applies what
// is queued before it publishes and saves.
//
// Thread-safety: Start(), the observer and Stop() are called from one thread (the raw sink's, then
// the caller's after the sink stopped); the applier and publisher threads share the engine under a
// mutex.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <utility>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "analytics/view_builder.h"
#include "base/status.h"
#include "jobs/committed_batch.h"
#include "jobs/observed_store.h"
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
  // Write the view folders. Default true.
  bool materialize = true;
  // Publish (write the folders, update the state) at most this often while changes are pending.
  // Default 1 s, run's default trigger: the views are as fresh as the raw output.
  std::chrono::milliseconds publish_interval = std::chrono::seconds(1);
  // Save the views checkpoint (analytics/view_builder.h) at most this often, and at Stop(), so that a
  // restart continues from it instead of recomputing from all raw data. 0 = only at Stop().
  // Default 5 minutes: a save writes the whole state.
  std::chrono::milliseconds checkpoint_interval = std::chrono::minutes(5);
};

class LiveViews {
 public:
  explicit LiveViews(LiveViewsOptions options);
  ~LiveViews();
  LiveViews(const LiveViews&) = delete;
  LiveViews& operator=(const LiveViews&) = delete;

  // Catches up with the batches committed so far, materialises the views once and starts the
  // publisher thread.
  Status Start();
  // The hook for the raw sink. The LiveViews must outlive the sink.
  CommittedBatchObserver Observer();
  // For CaptureOptions::share_change (Pipeline::ShareChanges): reduces capture's change events to the
  // columns these views read (analytics::ChangeProjector), so that the applier applies them without
  // parsing their JSON. Empty when there are no views. Call from one thread (capture's).
  std::function<bool(const event::ChangeEvent&, std::string*)> ChangeSharing() const;
  // Applies one committed batch now, on the caller's thread (the applier's; tests call it directly,
  // without Observer()).
  Status OnBatch(const CommittedBatch& batch);

  // Event bytes (JSON values, or the shared changes) the observer lets wait for the applier before it
  // blocks.
  static constexpr size_t kMaxQueuedBytes = size_t{64} << 20;

  // Stops the publisher, publishes what is pending and saves the checkpoint (when the views are
  // maintained). Call after the raw sink stopped.
  Status Stop();

  // The builder; only while no batch is being applied (tests, after OnBatch returned).
  const analytics::ViewBuilder& builder() const { return builder_; }
  // Publications so far (tests).
  uint64_t publications() const;

 private:
  Status Rebuild();
  // Writes the changed views and publishes all of them. REQUIRES: mu_ held.
  Status PublishLocked();
  void PublisherLoop();
  // Ends the publisher thread (what it has not published stays pending).
  void StopPublisher();
  void PublishError(const Status& st, bool fatal);
  Status SaveCheckpoint();
  void ApplierLoop();
  // Ends the applier thread; with `drain`, after it applied every queued batch (else they are dropped:
  // the views then lag the raw data until the next start recomputes them).
  void StopApplier(bool drain);

  // Applies events (views into the caller's memory) of committed batch `batch_id`. REQUIRES: mu_ not held.
  Status Apply(int64_t batch_id, const std::vector<analytics::RawEventRef>& events, int64_t newest_us,
               Lsn source_lsn, bool withdrawal);

  // A committed batch copied for the applier (the sink reuses its events once the observer returns):
  // of each event its shared change (RawEvent::change, a few dozen bytes), or else its JSON value, one
  // after the other in one buffer (one allocation a batch, not one an event).
  struct QueuedBatch {
    struct Event {
      size_t value_at = 0;  // in `values`; kTombstone: no value
      size_t value_size = 0;
      size_t topic = 0;     // in `topics`
      int32_t partition = 0;
      int64_t offset = 0;
      bool change = false;  // the bytes are the shared change, not the JSON value
    };
    static constexpr size_t kTombstone = SIZE_MAX;
    int64_t batch_id = 0;
    std::string values;
    std::vector<std::string> topics;  // distinct
    std::vector<Event> events;
    int64_t newest_us = 0;
    Lsn source_lsn;
    bool withdrawal = false;
  };


  // What the views read and write: options_.output, shown as the "analytics" stage's wait while a
  // request is in flight (ObservedStore) when there is a state to show it in.
  store::ObjectStore* output() { return observed_ ? observed_.get() : options_.output; }

  LiveViewsOptions options_;
  std::unique_ptr<ObservedStore> observed_;  // null without options_.state
  mutable std::mutex mu_;  // guards everything below and the builder against the publisher thread
  std::condition_variable wake_;
  analytics::ViewBuilder builder_;
  Status failed_;  // set once a view could not be evaluated: nothing more is applied
  uint64_t errors_ = 0;
  int64_t last_checkpoint_ms_ = 0;
  bool pending_ = false;            // applied changes not published yet
  int64_t newest_event_us_ = 0;     // Kafka timestamp of the newest event applied
  int64_t next_publish_us_ = 0;     // monotonic time before which nothing is published
  uint64_t publications_ = 0;
  std::vector<uint64_t> written_;   // per view: engine changes() at its last write (none: UINT64_MAX)
  std::vector<ViewState> shown_;    // per view: as last published
  bool stop_ = false;
  std::thread publisher_;

  std::mutex queue_mu_;  // guards the members below (never held with mu_ by the observer)
  std::condition_variable queue_cv_;
  std::deque<QueuedBatch> queue_;  // committed batches not applied yet, oldest first
  size_t queued_bytes_ = 0;
  bool stop_applier_ = false;
  std::thread applier_;
};

}  // namespace cdc::jobs
