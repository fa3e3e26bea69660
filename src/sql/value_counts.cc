#include "sql/value_counts.h"

#include <algorithm>

namespace cdc::sql {

namespace {

size_t TextBytes(const Datum& d) {
  return d.kind == Datum::Kind::kText && d.s.capacity() > 15 ? d.s.capacity() + 1 : 0;
}

}  // namespace

int64_t ValueCounts::Find(const Datum& v, uint32_t hash) const {
  if (index_.empty()) return -1;
  const size_t mask = index_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    uint64_t slot = index_[i];
    if (slot == 0) return -1;
    if (HashOf(slot) == hash && Equal(entries_[EntryOf(slot)].value, v)) return static_cast<int64_t>(i);
  }
}

void ValueCounts::PrefetchSlot(uint64_t hash) const {
  if (index_.empty()) return;
  __builtin_prefetch(&index_[static_cast<uint32_t>(hash) & (index_.size() - 1)]);
  __builtin_prefetch(entries_.data() + entries_.size());
  for (const auto& heap : heap_) {
    if (!heap.empty()) __builtin_prefetch(heap.data() + heap.size());
  }
}

void ValueCounts::PrefetchEntry(uint64_t hash) const {
  if (index_.empty()) return;
  const uint32_t h = static_cast<uint32_t>(hash);
  uint64_t slot = index_[h & (index_.size() - 1)];
  if (slot != 0 && HashOf(slot) == h) __builtin_prefetch(&entries_[EntryOf(slot)]);
}

void ValueCounts::GrowIndex() {
  size_t n = index_.empty() ? 4 : index_.size();
  while ((indexed_ + 1) * 8 > n * 5) n *= 2;
  if (n == index_.size()) return;
  index_.assign(n, 0);
  const size_t mask = n - 1;
  for (uint32_t e = 0; e < entries_.size(); ++e) {
    if (!entries_[e].used) continue;
    size_t i = entries_[e].hash & mask;
    while (index_[i] != 0) i = (i + 1) & mask;
    index_[i] = SlotOf(e, entries_[e].hash);
  }
}

uint32_t ValueCounts::Insert(const Datum& v, uint32_t hash) {
  if ((indexed_ + 1) * 8 > index_.size() * 5) GrowIndex();
  uint32_t e;
  if (!free_.empty()) {
    e = free_.back();
    free_.pop_back();
  } else {
    e = static_cast<uint32_t>(entries_.size());
    entries_.emplace_back();
  }
  Entry& entry = entries_[e];
  entry.value = v;
  entry.count = 0;
  entry.hash = hash;
  entry.in_heap = 0;
  entry.used = true;
  text_bytes_ += TextBytes(entry.value);
  const size_t mask = index_.size() - 1;
  size_t i = hash & mask;
  while (index_[i] != 0) i = (i + 1) & mask;
  index_[i] = SlotOf(e, hash);
  ++indexed_;
  return e;
}

void ValueCounts::Erase(uint32_t e) {
  Entry& entry = entries_[e];
  const size_t mask = index_.size() - 1;
  size_t i = entry.hash & mask;
  while (index_[i] != SlotOf(e, entry.hash)) i = (i + 1) & mask;
  // Backward-shift deletion: move up every later slot of the run whose home is not in (i, j].
  for (size_t j = i;;) {
    j = (j + 1) & mask;
    if (index_[j] == 0) break;
    size_t home = HashOf(index_[j]) & mask;
    bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (stays) continue;
    index_[i] = index_[j];
    i = j;
  }
  index_[i] = 0;
  --indexed_;
  text_bytes_ -= TextBytes(entry.value);
  entry.value = Datum();
  entry.used = false;
  free_.push_back(e);
}

bool ValueCounts::Below(int h, uint32_t a, uint32_t b) const {
  int c = Compare(entries_[a].value, entries_[b].value);
  return h == kMinHeap ? c > 0 : c < 0;
}

void ValueCounts::Push(int h, uint32_t e) {
  entries_[e].in_heap |= static_cast<uint8_t>(1 << h);
  heap_[h].push_back(e);
  std::push_heap(heap_[h].begin(), heap_[h].end(), [&](uint32_t a, uint32_t b) { return Below(h, a, b); });
}

int64_t ValueCounts::Add(const Datum& v, int64_t n) {
  const uint32_t hash = static_cast<uint32_t>(Hash(v));
  int64_t at = Find(v, hash);
  uint32_t e = at >= 0 ? EntryOf(index_[at]) : Insert(v, hash);
  if (entries_[e].count == 0) {
    ++live_;
    for (int h : {kMinHeap, kMaxHeap}) {
      if (Uses(h) && !(entries_[e].in_heap & (1 << h))) Push(h, e);
    }
  }
  entries_[e].count += n;
  return entries_[e].count;
}

int64_t ValueCounts::Remove(const Datum& v) {
  int64_t at = Find(v, static_cast<uint32_t>(Hash(v)));
  if (at < 0) return -1;
  const uint32_t e = EntryOf(index_[at]);
  Entry& entry = entries_[e];
  if (entry.count == 0) return -1;
  if (--entry.count > 0) return entry.count;
  --live_;
  if (entry.in_heap == 0) {
    Erase(e);
    return 0;
  }
  for (int h : {kMinHeap, kMaxHeap}) {
    // A top that left: pop it and every zero-count entry that surfaces after it.
    while (!heap_[h].empty() && entries_[heap_[h].front()].count == 0) PopTop(h);
  }
  if (heap_[kMinHeap].size() > 2 * live_ + 32 || heap_[kMaxHeap].size() > 2 * live_ + 32) Compact();
  return 0;
}

void ValueCounts::PopTop(int h) {
  std::pop_heap(heap_[h].begin(), heap_[h].end(), [&](uint32_t a, uint32_t b) { return Below(h, a, b); });
  uint32_t e = heap_[h].back();
  heap_[h].pop_back();
  Entry& entry = entries_[e];
  entry.in_heap &= static_cast<uint8_t>(~(1 << h));
  if (entry.count == 0 && entry.in_heap == 0) Erase(e);
}

void ValueCounts::Compact() {
  std::vector<uint32_t> dead;
  for (int h : {kMinHeap, kMaxHeap}) {
    size_t kept = 0;
    for (uint32_t e : heap_[h]) {
      if (entries_[e].count > 0) {
        heap_[h][kept++] = e;
      } else {
        entries_[e].in_heap &= static_cast<uint8_t>(~(1 << h));
        if (entries_[e].in_heap == 0) dead.push_back(e);
      }
    }
    heap_[h].resize(kept);
    std::make_heap(heap_[h].begin(), heap_[h].end(), [&](uint32_t a, uint32_t b) { return Below(h, a, b); });
  }
  for (uint32_t e : dead) Erase(e);
}

size_t ValueCounts::MemoryBytes() const {
  return sizeof(ValueCounts) + entries_.capacity() * sizeof(Entry) + index_.capacity() * sizeof(uint64_t) +
         free_.capacity() * sizeof(uint32_t) + (heap_[0].capacity() + heap_[1].capacity()) * sizeof(uint32_t) +
         text_bytes_;
}

}  // namespace cdc::sql
