// `cdcpipe batch`: rebuilds klienci/pracownicy from the committed raw change events and writes the two
// analytics results (analytics_output.h). docs/ANALYTICS.md has the whole design.
//
// AnalyticsBuilder holds a ChangelogState plus how far into raw-kafka-data it has read, and knows how
// to catch up from the committed files:
//   - committed files = the entries of the latest `_spark_metadata/<N>.compact` at or before the last
//     batch plus every `_spark_metadata/<N>` after it (found by listing, so any compaction interval
//     works), with "delete" entries compacted away; in that order: batch, then file within the batch;
//   - rows are applied in file order (the raw sink writes each topic-partition in offset order);
//   - the position is (last batch id, number of committed files consumed, name of the last one): the
//     committed file list only grows at its end, so the consumed files are a prefix of it.
// Checkpoint (incremental runs), under <output>/_checkpoints/batch/, every object written with an
// atomic PutDerived (not fsynced on a local store: RunBatch recomputes from all raw data, with a
// warning, when an OS crash left it missing or damaged; docs/ANALYTICS.md, "Durability"):
//   segment-<seq>-<random>  immutable: the first listed one is a ChangelogState base, the others
//                           deltas on top of it, in order (changelog_state.cc has their layouts);
//   state                   the manifest, the single commit point: "CDCBAT02", i64 last_batch_id,
//                           u64 files_consumed, u32 len + last_file URI, u64 max_lsn, u64 next seq,
//                           u32 n, n x (u32 len + segment key, u64 size, u64 checksum), u64 checksum
//                           of all preceding bytes.
// SaveCheckpoint writes a delta holding only the keys changed since the checkpoint was loaded (none:
// no segment), then the manifest. It writes a new base instead (and then deletes the segments no
// manifest names) when there is none yet, after a truncate, or when the deltas have grown past the
// compaction policy, so an incremental run costs what it changed, not the size of the state.
//
// RunBatch order: catch up -> write the result (WriteAnalytics, failpoints batch.after_files_written,
// batch.after_success, then batch.after_result) and, at the same time on a second thread, the
// checkpoint (failpoint batch.after_segment between its segment and its manifest). A crash at any
// point leaves the previous result readable; the rerun recomputes from the last checkpoint that
// committed, and the result is always rewritten, so the rerun's answer is right whatever step the
// crash hit (also when the checkpoint committed and the result did not).
//
// Thread-safety: none; one thread per builder.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/progress.h"
#include "base/status.h"
#include "jobs/analytics_output.h"
#include "jobs/changelog_state.h"
#include "jobs/committed_batch.h"
#include "parquet/reader.h"
#include "store/object_store.h"

namespace cdc::jobs {

inline constexpr std::string_view kRawDataDir = "raw-kafka-data";
inline constexpr std::string_view kBatchCheckpointKey = "_checkpoints/batch/state";

struct RawPosition {
  int64_t last_batch_id = -1;   // -1: nothing read
  uint64_t files_consumed = 0;  // prefix of the committed file list
  std::string last_file;        // URI of the last consumed file ("" when none)
};

struct CatchUpStats {
  uint64_t files = 0;        // data files read
  uint64_t rows = 0;         // raw rows read
  uint64_t events = 0;       // events applied to the state (klienci + pracownicy)
  int64_t latest_batch = -1; // last committed batch found
};

class AnalyticsBuilder {
 public:
  explicit AnalyticsBuilder(store::ObjectStore* output);
  ~AnalyticsBuilder();

  const ChangelogState& state() const { return state_; }
  const RawPosition& position() const { return position_; }

  // Loads <output>/_checkpoints/batch/state and its segments. NotFound when there is none; Corruption
  // when it is damaged; FailedPrecondition when an older cdcpipe wrote it (recompute then).
  Status LoadCheckpoint();
  // LoadCheckpoint in two steps, so that the second can overlap StartCatchUp's decoding: the manifest
  // (small: the position and the segment list; same errors), then its segments (Corruption when one
  // is missing or damaged; then the builder is Reset). The segments step does nothing after a Reset
  // (StartCatchUp resets when the position does not match the raw data).
  Status LoadCheckpointManifest();
  Status LoadCheckpointSegments();
  Status SaveCheckpoint();
  // Compaction policy: a new base once there are more than `max_deltas` deltas or the changed keys
  // exceed `max_changed_share` of the base's rows. Default 16 and 0.25.
  void set_compaction(size_t max_deltas, double max_changed_share) {
    max_deltas_ = max_deltas;
    max_changed_share_ = max_changed_share;
  }
  // The segments the loaded or last saved checkpoint consists of (base first).
  size_t checkpoint_segments() const { return segments_.size(); }
  // Forgets everything (state and position).
  void Reset();

  // Reads every committed raw file after position() and applies its events. If the position does not
  // match the committed file list (raw data rewritten), starts over from the beginning, with a warning.
  // `progress` may be null.
  Result<CatchUpStats> CatchUp(ProgressLine* progress);
  // CatchUp in two steps: StartCatchUp lists the committed files, checks the position and starts
  // decoding the new files on a background thread (a row group or two ahead of the consumer);
  // FinishCatchUp applies them in order. Decoding overlaps applying, and whatever runs in between
  // (LoadCheckpointSegments in `cdcpipe batch`).
  Status StartCatchUp();
  Result<CatchUpStats> FinishCatchUp(ProgressLine* progress);
  // The committed raw files in order, and the last committed batch (-1: none). Reads only the store:
  // safe to call on another thread while this one loads the checkpoint manifest.
  struct CommittedList {
    std::vector<std::string> files;
    int64_t latest_batch = -1;
  };
  Result<CommittedList> ListCommitted() const;
  // StartCatchUp with a listing made earlier (by ListCommitted).
  Status StartCatchUp(Result<CommittedList> listed);

  // Applies the events of a batch committed after position() (the live path of `cdcpipe run`).
  // Skips batches at or before position(); FailedPrecondition when batch_id leaves a gap or the batch
  // withdrew earlier files (the caller then rebuilds from the files).
  Status ApplyCommittedBatch(const CommittedBatch& batch);

  // One raw event (value nullopt = tombstone, ignored). `where` names it in errors.
  Status ApplyRaw(std::string_view topic, std::optional<std::string_view> value, const std::string& where);

  // The aggregates and position as a result.
  AnalyticsResult Snapshot() const;
  // The source position of the result: the live path's CommittedBatch::source_lsn when it is known,
  // else the highest source.lsn seen.
  void set_source_lsn(Lsn lsn) { source_lsn_ = lsn; }

 private:
  struct SegmentRef {
    std::string key;
    uint64_t size = 0;
    uint64_t checksum = 0;
  };
  struct PageWorker;
  struct PrefetchedRowGroup;
  class Prefetcher;
  Result<std::unique_ptr<parquet::ParquetReader>> OpenRawFile(const std::string& uri);
  Status ApplyRowGroup(const std::string& uri, PrefetchedRowGroup& rg, CatchUpStats* stats);
  // "partition P offset O" of a row of a raw file (read again: only errors need them).
  std::string WhereInKafka(const std::string& uri, int group, size_t row);
  void DeleteStaleSegments();

  store::ObjectStore* output_;
  ChangelogState state_;
  ChangeExtractor extractor_;  // for ApplyRaw
  std::unique_ptr<PageWorker> worker_;  // this thread's page decoding and extraction (the prefetcher has its own)
  ExtractedChange change_;
  RawPosition position_;
  Lsn source_lsn_;
  bool files_unknown_ = false;  // ApplyCommittedBatch ran: the file-level position is unknown
  std::vector<SegmentRef> segments_;  // of the checkpoint the state was loaded from or saved to
  uint64_t next_segment_ = 0;
  // Between LoadCheckpointManifest and LoadCheckpointSegments: what the manifest names.
  std::vector<SegmentRef> manifest_segments_;
  Lsn manifest_max_lsn_;
  // Between StartCatchUp and FinishCatchUp.
  std::vector<std::string> pending_files_;
  CatchUpStats pending_stats_;
  std::unique_ptr<Prefetcher> prefetcher_;
  size_t max_deltas_ = 16;
  double max_changed_share_ = 0.25;
};

struct BatchOptions {
  // Output root URI (holds raw-kafka-data/, gets the results and _checkpoints/batch/). Required.
  std::string output;
  // Recompute from all raw data, ignoring the checkpoint. Default false (incremental).
  bool full = false;
  // Draw a progress line on a terminal. Default true.
  bool progress = true;
  store::StoreOptions store_options;
};

struct BatchReport {
  AnalyticsResult result;
  CatchUpStats stats;
  bool incremental = false;   // started from a checkpoint
  RawPosition position;
};

// Runs the batch job once (see the header comment).
Result<BatchReport> RunBatch(const BatchOptions& options);

}  // namespace cdc::jobs
