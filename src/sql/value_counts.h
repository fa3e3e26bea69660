// ValueCounts: the value -> multiplicity multiset that min/max and DISTINCT aggregates keep per group
// (plan.h's AggregateState::values), so that a retraction is exact and never rescans the group.
//
// Values are counted in a hash table (sql::Hash / sql::Equal: 1.50 and 1.5 are one value; the first
// form seen is kept, as a red-black tree keyed by Compare did). min and max also keep a binary heap
// of pointers to the table's entries, ordered by Compare, whose top is the current min (max); a
// min(x) and a max(x) of one view share one multiset with both heaps (Order::kBoth).
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
#include <unordered_map>
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

  // Distinct values present (multiplicity > 0).
  size_t size() const { return live_; }
  bool empty() const { return live_ == 0; }
  // The smallest (largest) value present. Requires !empty() and order kMin or kBoth (kMax or kBoth).
  const Datum& min() const { return heap_[kMinHeap].front()->first; }
  const Datum& max() const { return heap_[kMaxHeap].front()->first; }

  // Calls f(value, multiplicity) for each value present, in no particular order.
  template <class F>
  void ForEach(F&& f) const {
    for (const auto& [v, e] : counts_) {
      if (e.count > 0) f(v, e.count);
    }
  }

  // Approximate heap bytes held (this object, hash nodes and buckets, the heaps, long text values).
  size_t MemoryBytes() const;
  // Entries of the min (max) heap, live and not (tests check the 2n + 32 bound).
  size_t heap_entries(bool max_heap) const { return heap_[max_heap ? kMaxHeap : kMinHeap].size(); }

 private:
  static constexpr int kMinHeap = 0, kMaxHeap = 1;
  struct Entry {
    int64_t count = 0;
    uint8_t in_heap = 0;  // bit h: heap h points at this node (it may not be erased)
  };
  struct DatumHash {
    size_t operator()(const Datum& d) const { return static_cast<size_t>(Hash(d)); }
  };
  struct DatumEq {
    bool operator()(const Datum& a, const Datum& b) const { return Equal(a, b); }
  };
  using Map = std::unordered_map<Datum, Entry, DatumHash, DatumEq>;
  using Node = Map::value_type;

  bool Uses(int h) const {
    return order_ == Order::kBoth || (h == kMinHeap ? order_ == Order::kMin : order_ == Order::kMax);
  }
  void Push(int h, Node* n);
  void PopTop(int h);
  void Compact();
  void Erase(Node* n);

  Order order_;
  size_t live_ = 0;
  size_t text_bytes_ = 0;  // heap bytes of long text keys
  Map counts_;
  std::vector<Node*> heap_[2];  // node pointers stay valid across rehashes
};

}  // namespace cdc::sql
