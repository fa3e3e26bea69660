// ViewEngine: the views of a ViewSet (sql/plan.h), maintained incrementally from Debezium change
// events applied in commit order (docs/VIEWS.md). It knows no table, column or view by name.
//
// State:
//   - per source table a view reads: a row store, primary key -> the columns any view reads of it
//     (the before image of an update or delete may carry only the key: REPLICA IDENTITY DEFAULT;
//     the row store supplies the rest, and makes snapshot reads idempotent: an `r` or `c` for a key
//     that has a row retracts that row first);
//   - per join view: for each side, join key -> the primary keys of its rows with that key;
//   - per view: group key -> aggregate states (sql::AggregateState) and the group's row count.
// Cost of one change: O(1) hash operations per view reading the table, plus O(log m) for min/max/
// DISTINCT (m = distinct values in the group), plus, for a join view, the rows of the other side
// with the same join key (each is one retraction and one insertion). It does not grow with the
// size of the table or of the group.
//
// Events (ApplyRaw): the value as the raw sink stored it (Debezium JSON, with or without
// JsonConverter's {"schema","payload"} wrapper), decoded per column type from the catalog and the
// event settings (decimal.handling.mode, time.precision.mode) the capture used.
//   r, c  upsert after (retracting the key's existing row first)
//   u     retract the row under the before image's key (the after key when there is no before
//         image), then upsert after: a primary-key change moves the row
//   d     retract the row under before's key (an unknown key is ignored: its insert came before
//         the history this state has seen)
//   t     the table becomes empty (every view row it contributed is retracted)
// A table without a primary key has no row store key: its events are applied by full before/after
// images (REPLICA IDENTITY FULL is required for such a table, and capture checks it).
//
// Thread-safety: none; one thread applies events and reads results.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/lsn.h"
#include "base/status.h"
#include "event/change_event.h"
#include "event/debezium_encoder.h"
#include "sql/datum.h"
#include "sql/plan.h"

namespace cdc::analytics {

// How the events were encoded (capture's settings), which decides how column values decode.
struct EventSettings {
  event::DecimalMode decimal_mode = event::DecimalMode::kPrecise;  // decimal.handling.mode
};

// One view's current rows, in a deterministic order (ascending by every output column, NULLs last).
struct ViewRows {
  std::vector<std::vector<sql::Datum>> rows;
};

struct ViewStats {
  uint64_t groups = 0;        // groups held (rows before HAVING, with their repetition for a bag)
  uint64_t state_bytes = 0;   // memory the view's state holds (estimate)
};

class ViewEngine {
 public:
  // `views` must outlive the engine.
  ViewEngine(const sql::ViewSet* views, const sql::Catalog* catalog, EventSettings settings);
  ~ViewEngine();
  ViewEngine(const ViewEngine&) = delete;
  ViewEngine& operator=(const ViewEngine&) = delete;

  // True when an event of `topic` ("<prefix>.<schema>.<table>") can change a view.
  bool Reads(std::string_view topic) const;

  // Applies one raw event (nullopt value = a Kafka tombstone: ignored; a table no view reads:
  // ignored). InvalidArgument/Corruption naming the table, the key and the event's LSN when the
  // event cannot be decoded or a view's expression fails on it (division by zero ...); the state is
  // then unchanged by this event.
  Status ApplyRaw(std::string_view topic, std::optional<std::string_view> value);

  // The same event as the change the encoder wrote it from (capture's decoded pgoutput tuple; the live
  // path of `cdcpipe run`), reduced to DecodedColumns() of its table by ChangeProjector::Project
  // (change_projector.h, which documents the bytes): the same result and errors as ApplyRaw on the
  // event's JSON, without parsing it. Corruption when `change` is not in that form.
  Status ApplyChange(std::string_view topic, std::string_view change);
  // Per table the views read: its "schema"/"table" and the catalog columns an event of it is decoded
  // into (keys and the columns views read), in the order ApplyChange expects a change's columns.
  std::vector<event::TableSchema> DecodedColumns() const;

  // The highest source.lsn applied so far (Invalid when none).
  Lsn max_lsn() const;

  size_t view_count() const;
  const sql::ViewPlan& view(size_t i) const;
  // The current result of view i (after HAVING, bags repeated).
  Result<ViewRows> Rows(size_t i) const;
  // The same rows as Rows(i), in the same order, handed to `fn` in chunks of at most `chunk_rows`
  // rows. Memory: the rows sorted as order-preserving byte keys (row_codec.h; about 40 + 10 per
  // column bytes a distinct row) plus one chunk of Datums, where Rows() holds every row as Datums
  // (64 bytes a value). Numerics come back without trailing fraction zeros (1.5 for 1.50).
  Status ForEachRowChunk(size_t i, size_t chunk_rows, const std::function<Status(const ViewRows&)>& fn) const;
  ViewStats Stats(size_t i) const;
  // A counter that moves whenever view `i`'s result may have changed (an applied change to its
  // groups, a TRUNCATE, Load, Clear): a writer can skip a view whose counter did not move.
  uint64_t changes(size_t i) const;
  // Rows in the row stores (all tables).
  uint64_t stored_rows() const;

  // Checkpoint: the whole state, self-describing and checksummed, with the fingerprints of the views
  // it was built for. Load replaces this engine's state; FailedPrecondition when the saved views'
  // fingerprints or the tables' columns differ from this engine's (the caller then recomputes from
  // the raw history), Corruption when the bytes are damaged. After a failed Load the engine is
  // cleared.
  void Save(std::string* out) const;
  Status Load(std::string_view bytes);
  void Clear();

 private:
  // ApplyRaw (value) or ApplyChange (change, non-null).
  Status Apply(std::string_view topic, std::optional<std::string_view> value, const std::string_view* change);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A view's rows as one Parquet file (snappy), its schema from the view's output types:
// bigint INT64, integer/smallint INT32, numeric(p,s) DECIMAL(p,s) (FIXED_LEN_BYTE_ARRAY), unconstrained
// numeric DECIMAL(38, kUnconstrainedNumericScale) rounded half away from zero, text UTF8,
// timestamptz TIMESTAMP(MICROS, UTC), timestamp TIMESTAMP(MICROS, not UTC), date DATE, boolean
// BOOLEAN, real FLOAT, double precision DOUBLE; every column optional.
inline constexpr int kUnconstrainedNumericScale = 16;
Result<std::string> EncodeParquet(const sql::ViewPlan& view, const ViewRows& rows);
// The same file for view i of `engine`, streamed from ForEachRowChunk: memory the file plus the
// sorted keys, not every row as Datums (a 1,000,000-group view: see view_engine_test's memory test).
// `rows` (may be null) receives the number of rows written.
Result<std::string> EncodeParquet(const ViewEngine& engine, size_t i, int64_t* rows = nullptr);

}  // namespace cdc::analytics
