// ChangelogState: the current state of the two analysed tables, per primary key, rebuilt from their
// Debezium change events in commit order, with both aggregates maintained incrementally.
//
//   klienci     id -> kraj                 aggregate: kraj -> count(*)
//   pracownicy  id -> (stanowisko, wiek)   aggregate: stanowisko -> count(*), sum(wiek), count(wiek)
//
// Semantics (docs/ANALYTICS.md):
//   r, c   upsert the after image (an existing row with that key is retracted first, so replaying a
//          snapshot over existing state does not double-count)
//   u      retract the row under before.id (when the event has a before image whose id differs from
//          after.id: a primary-key change is a delete of the old key), then upsert the after image
//   d      retract the row under before.id (missing keys are ignored)
//   t      truncate: the table becomes empty
// `count` is SQL count(*) (rows in the group, whatever their wiek); avg_age is SQL avg(wiek): the
// average over non-null ages, NULL when the group has none. Ages are summed as exact integers, so the
// average does not depend on the order in which rows came and went.
//
// ChangeExtractor pulls only the needed fields out of an event's JSON with simdjson's on-demand API
// (no DOM), accepting the value with or without JsonConverter's {"schema","payload"} wrapper.
//
// Thread-safety: none; one ChangelogState / ChangeExtractor per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/lsn.h"
#include "base/status.h"

namespace cdc::jobs {

enum class AnalyticsTable : uint8_t {
  kOther,       // any table the aggregates do not read (projekty)
  kKlienci,
  kPracownicy,
};

// The table of a Debezium topic "<prefix>.<schema>.<table>" (the last '.'-separated segment).
AnalyticsTable TableOfTopic(std::string_view topic);

// The parts of one change event that the aggregates need. String views point into the extractor's
// buffers and stay valid until its next Extract call.
struct ExtractedChange {
  char op = 0;                        // 'r', 'c', 'u', 'd' or 't'
  std::optional<int64_t> before_id;   // nullopt when there is no before image (or it has no id)
  std::optional<int64_t> after_id;
  // After image: kraj (klienci) or stanowisko (pracownicy); nullopt = NULL or absent.
  std::optional<std::string_view> group;
  std::optional<int64_t> wiek;        // pracownicy after image; nullopt = NULL or absent
  Lsn lsn;                            // source.lsn; Invalid when null or absent
};

class ChangeExtractor {
 public:
  ChangeExtractor();
  ~ChangeExtractor();
  ChangeExtractor(const ChangeExtractor&) = delete;
  ChangeExtractor& operator=(const ChangeExtractor&) = delete;

  // Extracts `value` (a Debezium envelope, with or without schema wrapper) of a `table` event.
  // Corruption (with simdjson's reason) when it is not JSON or has no valid "op".
  Status Extract(std::string_view value, AnalyticsTable table, ExtractedChange* out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One row of klienci-by-country.
struct CountryCount {
  std::optional<std::string> kraj;  // nullopt = SQL NULL
  int64_t count = 0;
  bool operator==(const CountryCount&) const = default;
};

// One row of avg-age-by-position.
struct PositionAge {
  std::optional<std::string> stanowisko;  // nullopt = SQL NULL
  std::optional<double> avg_age;          // nullopt when no employee of the group has an age
  int64_t count = 0;                      // employees in the group (count(*))
  bool operator==(const PositionAge&) const = default;
};

class ChangelogState {
 public:
  ChangelogState();

  // Applies one extracted event of `table` (kOther is ignored). InvalidArgument when the event lacks
  // the id it needs (c/r/u without after.id, d without before.id) or has an unknown op.
  Status Apply(AnalyticsTable table, const ExtractedChange& change);

  // Number of current rows.
  size_t klienci_rows() const { return klienci_.size(); }
  size_t pracownicy_rows() const { return pracownicy_.size(); }
  // The highest source LSN applied so far (Invalid if none).
  Lsn max_lsn() const { return max_lsn_; }
  void set_max_lsn(Lsn lsn) { max_lsn_ = lsn; }

  // The aggregates, groups with at least one row, ordered by count descending, then by group name
  // (NULL last).
  std::vector<CountryCount> KlienciByCountry() const;
  std::vector<PositionAge> AvgAgeByPosition() const;

  // A compact binary snapshot of the per-key state (see changelog_state.cc for the layout).
  void AppendSnapshot(std::string* out) const;
  // Replaces this state by a snapshot read from *in (advanced past it); Corruption when malformed.
  Status ReadSnapshot(std::string_view* in);

  void Clear();

 private:
  // Interned group names: index 0 is NULL, every other index a distinct string.
  class GroupPool {
   public:
    GroupPool();
    uint32_t Intern(std::optional<std::string_view> name);
    const std::optional<std::string>& Name(uint32_t index) const { return names_[index]; }
    size_t size() const { return names_.size(); }
    void Clear();

   private:
    struct Hash {
      using is_transparent = void;
      size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    std::unordered_map<std::string, uint32_t, Hash, std::equal_to<>> index_;
    std::vector<std::optional<std::string>> names_;
  };

  struct Employee {
    uint32_t group = 0;
    bool has_age = false;
    int64_t age = 0;
  };
  struct PositionAgg {
    int64_t count = 0;      // rows
    int64_t aged = 0;       // rows with non-null wiek
    int64_t age_sum = 0;    // sum of non-null wiek (exact)
  };

  void ApplyKlienci(const ExtractedChange& c);
  void ApplyPracownicy(const ExtractedChange& c);
  void RetractKlient(int64_t id);
  void RetractEmployee(int64_t id);

  GroupPool countries_;
  GroupPool positions_;
  std::unordered_map<int64_t, uint32_t> klienci_;        // id -> country index
  std::unordered_map<int64_t, Employee> pracownicy_;     // id -> employee
  std::vector<int64_t> country_counts_;                  // by country index
  std::vector<PositionAgg> position_aggs_;               // by position index
  Lsn max_lsn_;
};

}  // namespace cdc::jobs
