// ChangeProjector: reduces capture's decoded change events to the columns a ViewEngine reads, in a compact
// byte form, so that `cdcpipe run`'s live views apply the change (ViewEngine::ApplyChange) instead of
// parsing again the Debezium JSON the encoder made of it (CaptureOptions::share_change,
// log::Record::change). The bytes travel with the record and are copied into the live views' queue with
// their batch (one buffer a batch), so a change costs no allocation of its own after capture.
//
// Layout (ProjectedChangeReader reads it; n = the engine's DecodedColumns() of the table):
//   u8 op ('c','u','d','r','t')   u64 lsn (little-endian; 0 = none)   u8 images (bit 0 before, bit 1 after)
//   varint n   then per image present, before first: n values, each u8 0 (NULL) or 1 + varint length
//   + the value as PostgreSQL's text output (what the encoder converts).
// The engine converts the text (DecodeText) to the Datums it would have read from the JSON. Project()
// returns false, and the views then read the event's JSON as before, for anything that path reads
// differently:
//   - a table the views do not read;
//   - a column the views read that the event's relation lacks, or whose type (oid, typmod, user type)
//     differs from the views' catalog, or that DecodeText does not read (ReadableFromText);
//   - an unchanged TOAST value in a column the views read that the event does not carry in its before
//     image (the JSON has Debezium's placeholder there);
//   - text that is not UTF-8 anywhere in the event (the JSON parser refuses the whole value).
// An unchanged TOAST value that the before image carries is replaced by it, as the encoder does.
//
// Thread-safety: a ChangeProjector is not thread-safe (a cache of per-relation plans): one thread
// (capture's) calls Project(). ProjectedChangeReader is a plain value.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/lsn.h"
#include "event/change_event.h"

namespace cdc::analytics {

class ChangeProjector {
 public:
  // `tables`: ViewEngine::DecodedColumns() of the engine that will apply the changes.
  explicit ChangeProjector(std::vector<event::TableSchema> tables);

  // Writes `event` reduced as described above to *out (replacing it) and returns true, or returns false.
  bool Project(const event::ChangeEvent& event, std::string* out);

 private:
  // How the events of one relation (one TableSchema object: a schema change makes a new one) project.
  struct Plan {
    std::shared_ptr<const event::TableSchema> source;  // held: its address keys the cache
    bool projected = false;                            // false: its events are not projected
    std::vector<size_t> columns;                       // per projected column: its index in source
  };
  Plan MakePlan(const std::shared_ptr<const event::TableSchema>& source) const;

  std::vector<event::TableSchema> tables_;
  std::unordered_map<const event::TableSchema*, Plan> plans_;
  const Plan* last_ = nullptr;  // the most recently used plan (most events hit the same table)
};

// Reads the bytes Project() wrote: Header(), then HasImage() for the before and then the after image,
// and Value() n times after each one that is present; AtEnd() at the end.
class ProjectedChangeReader {
 public:
  explicit ProjectedChangeReader(std::string_view bytes) : in_(bytes) {}
  // False when the bytes are not a change of `columns` columns.
  bool Header(size_t columns, char* op, Lsn* lsn);
  bool HasImage() { return (images_ >> next_image_++) & 1; }
  // nullopt: NULL. False when the bytes end early.
  bool Value(std::optional<std::string_view>* text);
  bool AtEnd() const { return in_.empty(); }

 private:
  std::string_view in_;
  uint8_t images_ = 0;
  int next_image_ = 0;
};

}  // namespace cdc::analytics
