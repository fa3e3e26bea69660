#include "sql/value_counts.h"

#include <algorithm>

namespace cdc::sql {

namespace {

size_t TextBytes(const Datum& d) {
  return d.kind == Datum::Kind::kText && d.s.capacity() > 15 ? d.s.capacity() + 1 : 0;
}

// std::push_heap's "less" for heap h: the top is the smallest value (min heap) or the largest.
struct Below {
  int h;
  template <class N>
  bool operator()(const N* a, const N* b) const {
    int c = Compare(a->first, b->first);
    return h == 0 ? c > 0 : c < 0;
  }
};

}  // namespace

void ValueCounts::Push(int h, Node* n) {
  n->second.in_heap |= static_cast<uint8_t>(1 << h);
  heap_[h].push_back(n);
  std::push_heap(heap_[h].begin(), heap_[h].end(), Below{h});
}

int64_t ValueCounts::Add(const Datum& v, int64_t n) {
  auto [it, inserted] = counts_.try_emplace(v);
  if (inserted) text_bytes_ += TextBytes(it->first);
  Entry& e = it->second;
  if (e.count == 0) {
    ++live_;
    for (int h : {kMinHeap, kMaxHeap}) {
      if (Uses(h) && !(e.in_heap & (1 << h))) Push(h, &*it);
    }
  }
  e.count += n;
  return e.count;
}

int64_t ValueCounts::Remove(const Datum& v) {
  auto it = counts_.find(v);
  if (it == counts_.end() || it->second.count == 0) return -1;
  Entry& e = it->second;
  if (--e.count > 0) return e.count;
  --live_;
  if (e.in_heap == 0) {
    Erase(&*it);
    return 0;
  }
  for (int h : {kMinHeap, kMaxHeap}) {
    // A top that left: pop it and every zero-count entry that surfaces after it.
    while (!heap_[h].empty() && heap_[h].front()->second.count == 0) PopTop(h);
  }
  if (heap_[kMinHeap].size() > 2 * live_ + 32 || heap_[kMaxHeap].size() > 2 * live_ + 32) Compact();
  return 0;
}

void ValueCounts::Erase(Node* n) {
  text_bytes_ -= TextBytes(n->first);
  counts_.erase(n->first);
}

void ValueCounts::PopTop(int h) {
  std::pop_heap(heap_[h].begin(), heap_[h].end(), Below{h});
  Node* n = heap_[h].back();
  heap_[h].pop_back();
  n->second.in_heap &= static_cast<uint8_t>(~(1 << h));
  if (n->second.count == 0 && n->second.in_heap == 0) Erase(n);
}

void ValueCounts::Compact() {
  std::vector<Node*> dead;
  for (int h : {kMinHeap, kMaxHeap}) {
    size_t kept = 0;
    for (Node* n : heap_[h]) {
      if (n->second.count > 0) {
        heap_[h][kept++] = n;
      } else {
        n->second.in_heap &= static_cast<uint8_t>(~(1 << h));
        if (n->second.in_heap == 0) dead.push_back(n);
      }
    }
    heap_[h].resize(kept);
    std::make_heap(heap_[h].begin(), heap_[h].end(), Below{h});
  }
  for (Node* n : dead) Erase(n);
}

size_t ValueCounts::MemoryBytes() const {
  // A node: the Datum, the entry, the next pointer and the cached hash, rounded to malloc's 16.
  constexpr size_t kNode = (sizeof(Node) + 2 * sizeof(void*) + 15) / 16 * 16;
  return sizeof(ValueCounts) + counts_.size() * kNode + counts_.bucket_count() * sizeof(void*) +
         (heap_[0].capacity() + heap_[1].capacity()) * sizeof(Node*) + text_bytes_;
}

}  // namespace cdc::sql
