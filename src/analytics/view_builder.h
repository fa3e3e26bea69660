// ViewBuilder: a ViewEngine (view_engine.h) plus how far into raw-kafka-data it has read, and how to
// catch up from the committed raw files (lake/committed_files.h) or from batches the raw sink has just
// committed (the live path of `cdcpipe run`). `cdcpipe batch` and `run` share it.
//
// Position: (last batch id, number of committed files consumed, name of the last one): the committed
// file list only grows at its end, so the consumed files are a prefix of it. When the position does
// not match the list (raw data rewritten or withdrawn), CatchUp starts over from the first file.
//
// Checkpoint (incremental runs): one object, <output>/_checkpoints/views/state, written with an
// atomic PutDerived (not fsynced on a local store: a missing or damaged checkpoint only costs a
// recomputation from all raw data, with a warning):
//   "CDCVIEW1", i64 last_batch_id, u64 files_consumed, u32 len + last_file URI, u64 source_lsn,
//   u32 n + n x (u32 len + view name), u64 len + ViewEngine::Save bytes, u64 checksum of all before.
// It is only reused when it was built for the same views (their fingerprints, checked by
// ViewEngine::Load): a view added or changed makes the next run recompute every view from the raw
// history (no capture needed; FailedPrecondition tells the caller to).
//
// Thread-safety: none; one thread per builder (CatchUp decodes the next row group on a second thread
// of its own).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "analytics/view_engine.h"
#include "base/lsn.h"
#include "base/progress.h"
#include "base/status.h"
#include "lake/committed_files.h"
#include "store/object_store.h"

namespace cdc::analytics {

inline constexpr std::string_view kViewCheckpointKey = "_checkpoints/views/state";

struct RawPosition {
  int64_t last_batch_id = -1;   // -1: nothing read
  uint64_t files_consumed = 0;  // prefix of the committed file list
  std::string last_file;        // URI of the last consumed file ("" when none)
};

struct CatchUpStats {
  uint64_t files = 0;         // data files read
  uint64_t rows = 0;          // raw rows read
  int64_t latest_batch = -1;  // last committed batch found
};

// One raw event as the live path hands it over (the raw sink's committed batch).
struct RawEventRef {
  std::string_view topic;
  std::optional<std::string_view> value;  // nullopt: a tombstone
  int32_t partition = 0;                  // where it is in Kafka (for error messages)
  int64_t offset = 0;
  // The change `value` encodes, as ChangeProjector::Project wrote it (empty: read `value`).
  std::string_view change = {};
};

class ViewBuilder {
 public:
  // `output` holds raw-kafka-data/ and the checkpoint; `views` and `catalog` must outlive the builder.
  ViewBuilder(store::ObjectStore* output, const sql::ViewSet* views, const sql::Catalog* catalog,
              EventSettings settings);
  ~ViewBuilder();

  const ViewEngine& engine() const { return engine_; }
  const RawPosition& position() const { return position_; }
  // The source position of the state: the live path's committed source LSN when known, else the
  // highest source.lsn applied.
  Lsn source_lsn() const { return source_lsn_.valid() ? source_lsn_ : engine_.max_lsn(); }

  // NotFound when there is none; FailedPrecondition when it was built for other views or another
  // format (recompute then); Corruption when damaged. Any error leaves the builder Reset.
  Status LoadCheckpoint();
  Status SaveCheckpoint();
  // Forgets everything (state and position).
  void Reset();

  // Reads every committed raw file after position() and applies its events. `progress` may be null.
  Result<CatchUpStats> CatchUp(ProgressLine* progress);

  // After ApplyCommittedBatch, the file-level position is unknown; this recovers it from the committed
  // file list (every file of the batches up to position().last_batch_id has been applied), so that
  // SaveCheckpoint writes a checkpoint `cdcpipe batch` and the next start can continue from.
  // FailedPrecondition when the raw data has moved past the last batch applied.
  Status SyncFilePosition();

  // Applies the events of raw batch `batch_id`, committed right after position() (the live path).
  // Batches at or before position() are skipped; FailedPrecondition when batch_id leaves a gap (the
  // caller then catches up from the files, which include it). `source_lsn` (Invalid: unknown) is
  // the source position the batch completes.
  Status ApplyCommittedBatch(int64_t batch_id, const std::vector<RawEventRef>& events, Lsn source_lsn);

 private:
  class Prefetcher;

  store::ObjectStore* output_;
  const sql::ViewSet* views_;
  ViewEngine engine_;
  RawPosition position_;
  Lsn source_lsn_;
  bool files_unknown_ = false;  // ApplyCommittedBatch ran: the file-level position is unknown
};

}  // namespace cdc::analytics
