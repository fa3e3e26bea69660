// ValueCounts: the value -> multiplicity multiset that min/max and DISTINCT aggregates keep per group
// (plan.h's AggregateState::values), so that a retraction is exact and never rescans the group.
//
// Values are counted in a flat hash table (sql::Hash / sql::Equal: 1.50 and 1.5 are one value; the
// first form seen is kept, as a red-black tree keyed by Compare did): the entries (value, count) in one
// array, and an open-addressing index over them (linear probing, backward-shift deletion, 8-byte
// slots holding the entry's number and 32 bits of its hash), so that a lookup touches one slot and
// one entry, not a bucket, a predecessor node and a node. min and max also keep a binary heap of
// entry numbers ordered by Compare, whose top is the current min (max); a min(x) and a max(x) of one
// view share one multiset with both heaps (Order::kBoth).
//   - adding a value is a hash update, plus a heap push when the value was absent (O(1) on average:
//     a push into a binary heap moves up about 1.6 levels for random values);
//   - removing a value is a hash update; when its count reaches 0 and it is a top, that top is
//     popped, and so are the zero-count entries that surface after it (O(log n) each);
//   - a value whose count reaches 0 below a top stays in the heap with count 0 until it surfaces or
//     until a heap holds more than twice the live values (+32), when the heaps are compacted in O(n):
//     amortized O(1) per removal, and at most 2n + 32 entries per heap.
// DISTINCT alone (count/sum/avg(DISTINCT x)) needs no order and keeps no heap.
//
// Thread-safety: none (one group's state, used by one thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "sql/datum.h"

namespace cdc::sql {

class ValueCounts {
 public:
  enum class Order : uint8_t { kNone, kMin, kMax, kBoth };

  explicit ValueCounts(Order order) : order_(order) {}
  ValueCounts(const ValueCounts&) = delete;
  ValueCounts& operator=(const ValueCounts&) = delete;

  Order order() const { return order_; }
  // Adds `n` (> 0) copies of `v`; returns its multiplicity afterwards.
  int64_t Add(const Datum& v, int64_t n = 1);
  // Removes one copy of `v`; returns its multiplicity afterwards, or -1 when `v` is absent.
  int64_t Remove(const Datum& v);

  // Prefetching for a caller about to Add or Remove `v` (with hash = Hash(v)) among other independent
  // work (ViewEngine prefetches a whole event's deltas in stages, so that their cache misses
  // overlap): PrefetchSlot brings in the index slot the lookup starts at and the ends of the entry
  // array and heaps (where an Add appends); PrefetchEntry, called later, reads that slot and brings
  // in the entry it names. Hints only; nothing changes.
  void PrefetchSlot(uint64_t hash) const;
  void PrefetchEntry(uint64_t hash) const;

  // Distinct values present (multiplicity > 0).
  size_t size() const { return live_; }
  bool empty() const { return live_ == 0; }
  // The smallest (largest) value present. Requires !empty() and order kMin or kBoth (kMax or kBoth).
  const Datum& min() const { return entries_[heap_[kMinHeap].front()].value; }
  const Datum& max() const { return entries_[heap_[kMaxHeap].front()].value; }

  // Calls f(value, multiplicity) for each value present, in no particular order.
  template <class F>
  void ForEach(F&& f) const {
    for (const Entry& e : entries_) {
      if (e.count > 0) f(e.value, e.count);
    }
  }

  // Approximate heap bytes held (this object, the entries, the index, the heaps, long text values).
  size_t MemoryBytes() const;
  // Entries of the min (max) heap, live and not (tests check the 2n + 32 bound).
  size_t heap_entries(bool max_heap) const { return heap_[max_heap ? kMaxHeap : kMinHeap].size(); }

 private:
  static constexpr int kMinHeap = 0, kMaxHeap = 1;
  struct Entry {
    Datum value;
    int64_t count = 0;     // 0: absent (erased, or waiting in a heap to surface)
    uint32_t hash = 0;     // low 32 bits of Hash(value)
    uint8_t in_heap = 0;   // bit h: heap h holds this entry (it may not be erased)
    bool used = false;     // false: on the free list
  };
  // An index slot: 0 empty, else (entry number + 1) | (entry hash << 32).
  static uint64_t SlotOf(uint32_t entry, uint32_t hash) { return (uint64_t{hash} << 32) | (uint64_t{entry} + 1); }
  static uint32_t EntryOf(uint64_t slot) { return static_cast<uint32_t>(slot) - 1; }
  static uint32_t HashOf(uint64_t slot) { return static_cast<uint32_t>(slot >> 32); }

  bool Uses(int h) const {
    return order_ == Order::kBoth || (h == kMinHeap ? order_ == Order::kMin : order_ == Order::kMax);
  }
  // The index slot of `v` (hash `hash`), or -1.
  int64_t Find(const Datum& v, uint32_t hash) const;
  // A new entry for `v` (count 0), indexed.
  uint32_t Insert(const Datum& v, uint32_t hash);
  void GrowIndex();
  // The heap order's "less" for heap h (std::push_heap's): the top is the smallest value (min heap)
  // or the largest (max heap).
  bool Below(int h, uint32_t a, uint32_t b) const;
  void Push(int h, uint32_t e);
  void PopTop(int h);
  void Compact();
  void Erase(uint32_t e);

  Order order_;
  size_t live_ = 0;
  size_t text_bytes_ = 0;  // heap bytes of long text values
  std::vector<Entry> entries_;
  std::vector<uint32_t> free_;    // entry numbers to reuse
  std::vector<uint64_t> index_;   // power-of-two size, at most 5/8 full
  size_t indexed_ = 0;            // entries in the index (used ones)
  std::vector<uint32_t> heap_[2];  // entry numbers
};

}  // namespace cdc::sql
