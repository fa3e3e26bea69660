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
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <algorithm>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/huge_pages.h"
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
  // A hint that an event of `table` about key `id` is applied soon: starts loading the memory its
  // lookups read first, so that the cache misses of several events overlap.
  void Prefetch(AnalyticsTable table, int64_t id) const {
    if (table == AnalyticsTable::kKlienci) {
      klienci_.Prefetch(id);
    } else if (table == AnalyticsTable::kPracownicy) {
      pracownicy_.Prefetch(id);
    }
  }
  // Room for `n` more changed keys of `table`, so that applying a file of known size does not grow
  // (and rehash) the overlay step by step.
  void ReserveChanges(AnalyticsTable table, size_t n);

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

  // Persistence as a base plus deltas (docs/ANALYTICS.md, "Checkpoint"), so that an incremental run
  // writes only what it changed:
  //   AppendBase   the whole per-key state, id-sorted and columnar (read back without hashing);
  //   AppendDelta  only the keys changed since the last ReadBase/ApplyDelta/MarkSaved (a row or a
  //                "deleted" mark each), id-sorted;
  //   ReadBase     replaces this state by a base (kept and read in place: no copy, no hashing);
  //   ApplyDelta   applies a delta on top of it;
  //   MarkSaved    what is in memory is now what is saved (AppendDelta starts empty again).
  // ReadBase/ApplyDelta return Corruption when the bytes are malformed (and leave a state that must be
  // cleared). The max LSN is not part of them: the caller saves it (set_max_lsn).
  void AppendBase(std::string* out) const;
  void AppendDelta(std::string* out) const;
  // `owner` keeps `bytes` alive for as long as the state (or a copy of it) uses the base.
  Status ReadBase(std::string_view bytes, std::shared_ptr<const void> owner);
  Status ReadBase(std::string bytes);
  Status ApplyDelta(std::string_view* in);
  void MarkSaved();
  // Rows in the base, and keys changed on top of it (saved deltas plus unsaved changes).
  size_t base_rows() const { return klienci_.base_size() + pracownicy_.base_size(); }
  size_t changed_rows() const { return klienci_.overlay_size() + pracownicy_.overlay_size(); }
  // Keys changed since the last save (what AppendDelta would write).
  size_t unsaved_rows() const { return klienci_.dirty_size() + pracownicy_.dirty_size(); }
  // True when a delta cannot express the changes (a truncate since the base): save a new base.
  bool needs_new_base() const { return klienci_.base_dropped() || pracownicy_.base_dropped(); }

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
    // Moves leave the source empty and usable (slots_ points into slot_mem_, so the defaults would
    // leave it dangling); copies are not needed.
    FlatIdMap(FlatIdMap&& o) : FlatIdMap() { Swap(o); }
    FlatIdMap& operator=(FlatIdMap&& o) {
      FlatIdMap taken(std::move(o));
      Swap(taken);
      return *this;
    }
    FlatIdMap(const FlatIdMap&) = delete;
    FlatIdMap& operator=(const FlatIdMap&) = delete;
    void Swap(FlatIdMap& o) noexcept {
      std::swap(slot_mem_, o.slot_mem_);
      std::swap(slots_, o.slots_);
      std::swap(cap_, o.cap_);
      used_.swap(o.used_);
      std::swap(mask_, o.mask_);
      std::swap(size_, o.size_);
    }
    size_t size() const { return size_; }
    void clear() {
      std::fill(used_.begin(), used_.end(), 0);
      size_ = 0;
    }
    void reserve(size_t n) {
      size_t cap = 16;
      while (cap < n * 2) cap <<= 1;
      if (cap > cap_) Rehash(cap);
    }
    void Prefetch(int64_t key) const {
      __builtin_prefetch(&used_[Home(key)]);
      __builtin_prefetch(slots_ + Home(key));
    }
    V* Find(int64_t key) { return const_cast<V*>(static_cast<const FlatIdMap*>(this)->Find(key)); }
    const V* Find(int64_t key) const {
      for (size_t i = Home(key);; i = (i + 1) & mask_) {
        if (!used_[i]) return nullptr;
        if (slots_[i].key == key) return &slots_[i].value;
      }
    }
    // Inserts (key, value) unless the key exists; returns the stored value and whether it was inserted.
    std::pair<V*, bool> TryEmplace(int64_t key, const V& value) {
      if ((size_ + 1) * 2 > cap_) Rehash(cap_ * 2);
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
      for (size_t i = 0; i < cap_; ++i) {
        if (used_[i]) f(slots_[i].key, slots_[i].value);
      }
    }
    template <typename F>
    void ForEachMutable(F&& f) {
      for (size_t i = 0; i < cap_; ++i) {
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
    // Slot storage from 256 KiB on is huge-page backed: inserting a few thousand random keys would
    // otherwise first-touch nearly every 4 KiB page of it. Slots are uninitialised until used.
    static constexpr size_t kHugeFrom = size_t{256} << 10;
    void Rehash(size_t cap) {
      std::unique_ptr<Slot, FreeBytes> old_mem = std::move(slot_mem_);
      Slot* old_slots = slots_;
      size_t old_cap = cap_;
      std::vector<uint8_t> old_used = std::move(used_);
      size_t bytes = cap * sizeof(Slot);
      slot_mem_.reset(static_cast<Slot*>(AllocatePages(&bytes, kHugeFrom)));
      if (bytes >= kHugeFrom) {
        // Fault it in now, in one go per huge page, rather than at the first insert: Reserve is
        // called ahead of the inserts, off the critical path when it can be (FinishCatchUp).
        char* p = reinterpret_cast<char*>(slot_mem_.get());
        for (size_t off = 0; off < bytes; off += 4096) p[off] = 0;
      }
      slots_ = slot_mem_.get();
      cap_ = cap;
      used_.assign(cap, 0);
      mask_ = cap - 1;
      size_ = 0;
      for (size_t i = 0; i < old_cap; ++i) {
        if (old_used[i]) TryEmplace(old_slots[i].key, old_slots[i].value);
      }
    }
    std::unique_ptr<Slot, FreeBytes> slot_mem_;  // (Slot is an aggregate: malloc'd memory holds them)
    Slot* slots_ = nullptr;
    size_t cap_ = 0;
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

  // Fixed-width little-endian loads from a saved base, read in place (unaligned).
  template <typename T>
  static T LoadAt(const char* column, size_t i) {
    T v;
    std::memcpy(&v, column + i * sizeof(T), sizeof(T));
    return v;
  }
  // What a base read in place needs kept alive: its bytes, and its group numbers -> pool indices.
  struct BaseStorage {
    std::shared_ptr<const void> owner;
    std::vector<uint32_t> country_map;
    std::vector<uint32_t> position_map;
  };
  // The base of each table: columns inside the saved bytes, group numbers mapped through `map`.
  struct KlientBase {
    const char* ids = nullptr;     // i64[n], strictly increasing
    const char* groups = nullptr;  // u32[n], saved group numbers
    const uint32_t* map = nullptr;
    size_t n = 0;
    uint32_t value(size_t i) const { return map[LoadAt<uint32_t>(groups, i)]; }
  };
  struct EmployeeBase {
    const char* ids = nullptr;  // i64[n], strictly increasing
    const char* groups = nullptr;
    const char* has_age = nullptr;
    const char* ages = nullptr;
    const uint32_t* map = nullptr;
    size_t n = 0;
    Employee value(size_t i) const {
      return Employee{map[LoadAt<uint32_t>(groups, i)], LoadAt<uint8_t>(has_age, i) == 1, LoadAt<int64_t>(ages, i)};
    }
  };

  // The rows of one table: an id-sorted base (as read from a saved base) under an overlay of changed
  // keys (a hash map). Lookups try the overlay, then binary-search the base. A key deleted from the
  // base stays in the overlay as "absent" until the next base is written.
  template <typename V, typename Base>
  class LayeredTable {
   public:
    size_t size() const { return size_; }
    size_t base_size() const { return base_.n; }
    size_t overlay_size() const { return overlay_.size(); }
    void ReserveOverlay(size_t more) { overlay_.reserve(overlay_.size() + more); }
    size_t dirty_size() const { return dirty_; }
    bool base_dropped() const { return base_dropped_; }

    // Sets the row of `id`; true (and *old) when it had one.
    bool Put(int64_t id, const V& value, V* old) {
      bool existed;
      if (Change* c = overlay_.Find(id)) {
        existed = c->present;
        if (existed) *old = c->value;
        c->value = value;
        c->present = true;
        MarkDirty(c);
      } else {
        existed = BaseFind(id, old);
        overlay_.TryEmplace(id, Change{value, true, true, existed});
        ++dirty_;
      }
      if (!existed) ++size_;
      return existed;
    }
    // Removes the row of `id`; true (and *old) when it had one.
    bool Erase(int64_t id, V* old) {
      if (Change* c = overlay_.Find(id)) {
        if (!c->present) return false;
        *old = c->value;
        if (!c->saved_present && !InBase(id)) {
          // Never saved and not in the base: nothing to record.
          if (c->dirty) --dirty_;
          Change gone;
          overlay_.Erase(id, &gone);
        } else {
          c->present = false;
          MarkDirty(c);
        }
      } else {
        if (!BaseFind(id, old)) return false;
        overlay_.TryEmplace(id, Change{*old, false, true, true});
        ++dirty_;
      }
      --size_;
      return true;
    }
    // Truncate: no rows; the base is gone, so only a new base can be saved.
    void Drop() {
      base_ = Base{};
      overlay_.clear();
      size_ = 0;
      dirty_ = 0;
      base_dropped_ = true;
    }
    void Clear() {
      Drop();
      base_dropped_ = false;
    }
    // REQUIRES: base ids strictly increasing; the table is empty; the base's bytes outlive it.
    void SetBase(const Base& base) {
      base_ = base;
      size_ = base.n;
      if (base.n > 0) {
        first_id_ = LoadAt<int64_t>(base.ids, 0);
        last_id_ = LoadAt<int64_t>(base.ids, base.n - 1);
        uint64_t span = static_cast<uint64_t>(last_id_) - static_cast<uint64_t>(first_id_);
        rows_per_id_ = span == 0 ? 0.0 : static_cast<double>(base.n - 1) / static_cast<double>(span);
      }
    }
    // A hint that `id` is looked up soon: starts loading the memory its lookup reads first.
    void Prefetch(int64_t id) const {
      overlay_.Prefetch(id);
      if (base_.n > 16 && id >= first_id_ && id <= last_id_) {
        __builtin_prefetch(base_.ids + BaseEstimate(id) * sizeof(int64_t));
      }
    }
    void MarkSaved() {
      std::vector<int64_t> forget;
      overlay_.ForEachMutable([&](int64_t id, Change& c) {
        c.dirty = false;
        c.saved_present = c.present;
        if (!c.present && !InBase(id)) forget.push_back(id);
      });
      Change gone;
      for (int64_t id : forget) overlay_.Erase(id, &gone);
      dirty_ = 0;
      base_dropped_ = false;
    }
    // Every live row in id order: f(id, const V&).
    template <typename F>
    void ForEachRow(F&& f) const {
      auto changes = SortedOverlay(false);
      size_t b = 0;
      auto base_id = [&](size_t i) { return LoadAt<int64_t>(base_.ids, i); };
      for (const auto& [id, c] : changes) {
        for (; b < base_.n && base_id(b) < id; ++b) f(base_id(b), base_.value(b));
        if (b < base_.n && base_id(b) == id) ++b;  // replaced or deleted by the overlay
        if (c->present) f(id, c->value);
      }
      for (; b < base_.n; ++b) f(base_id(b), base_.value(b));
    }
    // Every unsaved change in id order: f(id, const V* row or nullptr when deleted).
    template <typename F>
    void ForEachUnsaved(F&& f) const {
      for (const auto& [id, c] : SortedOverlay(true)) f(id, c->present ? &c->value : nullptr);
    }
    // The same in no particular order (no sort).
    template <typename F>
    void ForEachUnsavedUnordered(F&& f) const {
      overlay_.ForEach([&](int64_t id, const Change& c) {
        if (c.dirty) f(id, c.present ? &c.value : nullptr);
      });
    }

   private:
    struct Change {
      V value{};
      bool present = false;        // the key has a row now
      bool dirty = false;          // changed since the last save
      bool saved_present = false;  // the key had a row in the saved state
    };
    void MarkDirty(Change* c) {
      if (!c->dirty) ++dirty_;
      c->dirty = true;
    }
    // Where `id` would be in the base if its ids were spread evenly: its index estimate.
    size_t BaseEstimate(int64_t id) const {
      double ahead = static_cast<double>(static_cast<uint64_t>(id) - static_cast<uint64_t>(first_id_)) * rows_per_id_;
      return static_cast<size_t>(std::min(ahead, static_cast<double>(base_.n - 1)));
    }
    // The base's index of `id`, or n when absent (ids are strictly increasing: ReadBase checks). Ids
    // are usually spread evenly (serial keys, some deleted), so two interpolation probes land at or
    // within a few rows of the key and a gallop from there stays in a cache line or two; a binary
    // search would touch ~log2(n) lines, most of them cache misses. Keys spread any other way cost the
    // gallop (2 log2(distance) probes) plus a binary search: still O(log n).
    size_t BaseIndex(int64_t id) const {
      const size_t n = base_.n;
      if (n == 0 || id < first_id_ || id > last_id_) return n;
      auto at = [&](size_t i) { return LoadAt<int64_t>(base_.ids, i); };
      size_t lo = 0, hi = n;  // the key, if present, is in [lo, hi)
      if (n > 16) {
        // The first probe is where id would be at the base's average density; the second corrects by
        // the same density from where the first landed (the first's error is local unevenness).
        size_t m = BaseEstimate(id);
        int64_t v = at(m);
        if (v == id) return m;
        uint64_t off = v < id ? static_cast<uint64_t>(id) - static_cast<uint64_t>(v)
                              : static_cast<uint64_t>(v) - static_cast<uint64_t>(id);
        size_t jump = static_cast<size_t>(
            std::min(std::max(static_cast<double>(off) * rows_per_id_, 1.0), static_cast<double>(n - 1)));
        m = v < id ? std::min(n - 1, m + jump) : (m >= jump ? m - jump : 0);
        v = at(m);
        if (v == id) return m;
        if (v < id) {  // gallop right: at(lo - 1) < id
          size_t step = 1;
          lo = m + 1;
          while (lo + step - 1 < n && at(lo + step - 1) < id) {
            lo += step;
            step *= 2;
          }
          hi = std::min(n, lo + step);
        } else {  // gallop left: at(hi) > id
          size_t step = 1;
          hi = m;
          while (hi >= step && at(hi - step) > id) {
            hi -= step;
            step *= 2;
          }
          lo = hi >= step ? hi - step : 0;
        }
      }
      while (lo < hi) {  // the first index in [lo, hi] whose id is >= id
        size_t mid = lo + (hi - lo) / 2;
        if (at(mid) < id) {
          lo = mid + 1;
        } else {
          hi = mid;
        }
      }
      return lo < n && at(lo) == id ? lo : n;
    }
    bool InBase(int64_t id) const { return BaseIndex(id) != base_.n; }
    bool BaseFind(int64_t id, V* out) const {
      size_t i = BaseIndex(id);
      if (i == base_.n) return false;
      *out = base_.value(i);
      return true;
    }
    std::vector<std::pair<int64_t, const Change*>> SortedOverlay(bool dirty_only) const {
      std::vector<std::pair<int64_t, const Change*>> v;
      v.reserve(dirty_only ? dirty_ : overlay_.size());
      overlay_.ForEach([&](int64_t id, const Change& c) {
        if (!dirty_only || c.dirty) v.emplace_back(id, &c);
      });
      std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
      return v;
    }

    Base base_;
    int64_t first_id_ = 0, last_id_ = 0;  // of the base (when it has rows)
    double rows_per_id_ = 0;              // (n - 1) / (last_id_ - first_id_)
    FlatIdMap<Change> overlay_;
    size_t size_ = 0;
    size_t dirty_ = 0;
    bool base_dropped_ = false;  // truncated since the base was read
  };

  void ApplyKlienci(const ExtractedChange& c);
  void ApplyPracownicy(const ExtractedChange& c);
  void RetractKlient(int64_t id);
  void UpsertKlient(int64_t id, uint32_t group);
  void RetractEmployee(int64_t id);
  void UpsertEmployee(int64_t id, const Employee& e);
  void AddEmployee(const Employee& e, int64_t sign);

  GroupPool countries_;
  GroupPool positions_;
  std::shared_ptr<const BaseStorage> base_;              // the saved base both tables read in place
  LayeredTable<uint32_t, KlientBase> klienci_;           // id -> country index
  LayeredTable<Employee, EmployeeBase> pracownicy_;      // id -> employee
  std::vector<int64_t> country_counts_;                  // by country index
  std::vector<PositionAgg> position_aggs_;               // by position index
  Lsn max_lsn_;
};

}  // namespace cdc::jobs
