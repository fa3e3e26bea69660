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
#include <algorithm>
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

  // An open-addressing hash map int64 id -> V (linear probing, backward-shift deletion): no node
  // allocations, so rebuilding 10^5..10^6 keys from a snapshot costs one allocation per table.
  template <typename V>
  class FlatIdMap {
   public:
    FlatIdMap() { Rehash(16); }
    size_t size() const { return size_; }
    void clear() {
      std::fill(used_.begin(), used_.end(), 0);
      size_ = 0;
    }
    void reserve(size_t n) {
      size_t cap = 16;
      while (cap < n * 2) cap <<= 1;
      if (cap > slots_.size()) Rehash(cap);
    }
    V* Find(int64_t key) {
      for (size_t i = Home(key);; i = (i + 1) & mask_) {
        if (!used_[i]) return nullptr;
        if (slots_[i].key == key) return &slots_[i].value;
      }
    }
    // Inserts (key, value) unless the key exists; returns the stored value and whether it was inserted.
    std::pair<V*, bool> TryEmplace(int64_t key, const V& value) {
      if ((size_ + 1) * 2 > slots_.size()) Rehash(slots_.size() * 2);
      size_t i = Home(key);
      for (; used_[i]; i = (i + 1) & mask_) {
        if (slots_[i].key == key) return {&slots_[i].value, false};
      }
      used_[i] = 1;
      slots_[i] = Slot{key, value};
      ++size_;
      return {&slots_[i].value, true};
    }
    // Removes `key`; copies its value to *old. False when absent.
    bool Erase(int64_t key, V* old) {
      size_t i = Home(key);
      for (;; i = (i + 1) & mask_) {
        if (!used_[i]) return false;
        if (slots_[i].key == key) break;
      }
      *old = slots_[i].value;
      // Backward shift: pull later entries of the probe run into the hole when their home allows.
      size_t j = i;
      for (;;) {
        j = (j + 1) & mask_;
        if (!used_[j]) break;
        size_t home = Home(slots_[j].key);
        bool movable = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
        if (movable) {
          slots_[i] = slots_[j];
          i = j;
        }
      }
      used_[i] = 0;
      --size_;
      return true;
    }
    template <typename F>
    void ForEach(F&& f) const {
      for (size_t i = 0; i < slots_.size(); ++i) {
        if (used_[i]) f(slots_[i].key, slots_[i].value);
      }
    }

   private:
    struct Slot {
      int64_t key;
      V value;
    };
    size_t Home(int64_t key) const {
      uint64_t x = static_cast<uint64_t>(key) * 0x9E3779B97F4A7C15ull;
      return static_cast<size_t>(x ^ (x >> 29)) & mask_;
    }
    void Rehash(size_t cap) {
      std::vector<Slot> old_slots = std::move(slots_);
      std::vector<uint8_t> old_used = std::move(used_);
      slots_.assign(cap, Slot{});
      used_.assign(cap, 0);
      mask_ = cap - 1;
      size_ = 0;
      for (size_t i = 0; i < old_slots.size(); ++i) {
        if (old_used[i]) TryEmplace(old_slots[i].key, old_slots[i].value);
      }
    }
    std::vector<Slot> slots_;
    std::vector<uint8_t> used_;  // 1 = slot holds an entry
    size_t mask_ = 0;
    size_t size_ = 0;
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
  FlatIdMap<uint32_t> klienci_;                          // id -> country index
  FlatIdMap<Employee> pracownicy_;                        // id -> employee
  std::vector<int64_t> country_counts_;                  // by country index
  std::vector<PositionAgg> position_aggs_;               // by position index
  Lsn max_lsn_;
};

}  // namespace cdc::jobs
