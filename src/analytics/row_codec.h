// Compact byte encodings of the view engine's state (keys, stored rows, group states) and ByteTable,
// the hash table that holds them. Memory is the point: a stored row or a group is one heap block of
// its encoded bytes plus one 8-byte slot, not a node of Datums.
//
// Datum encoding (self-describing, so rows decode without their types):
//   tag byte: 0 null, 1 false, 2 true, 3 int (zigzag LEB128), 4 float (8 bytes, little-endian),
//             5 numeric (zigzag LEB128 scale, then zigzag LEB128 of the 128-bit unscaled value),
//             6 text (LEB128 length, bytes)
//   In canonical form (keys: equal per sql::Equal <=> equal bytes) numerics drop trailing zeros of
//   the fraction (1.50 -> 1.5), -0.0 becomes 0.0 and every NaN the same NaN.
// A row is its Datums one after the other; a key is the same, canonical.
//
// AggregateState encoding: a flags byte (1 count, 2 isum, 4 fsum, 8 scale, 16 values), then the
// fields whose flag is set: count and scale zigzag LEB128, isum zigzag LEB128 (128-bit), fsum 8
// bytes. `values` (the min/max/DISTINCT multiset) is, in memory, the raw pointer of the map the
// group owns (8 bytes); in a checkpoint, LEB128 entry count then (Datum, zigzag multiplicity) pairs.
//
// Thread-safety: none (values).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "sql/datum.h"
#include "sql/plan.h"

namespace cdc::analytics {

void PutVarint(std::string* out, uint64_t v);
bool GetVarint(std::string_view* in, uint64_t* v);
void PutZigzag(std::string* out, int64_t v);
bool GetZigzag(std::string_view* in, int64_t* v);
void PutZigzag128(std::string* out, __int128 v);
bool GetZigzag128(std::string_view* in, __int128* v);
void PutBytes(std::string* out, std::string_view bytes);  // LEB128 length, bytes
bool GetBytes(std::string_view* in, std::string_view* bytes);

// Appends one Datum (canonical: see above).
void PutDatum(std::string* out, const sql::Datum& d, bool canonical);
// Reads one Datum; false when the bytes are damaged.
bool GetDatum(std::string_view* in, sql::Datum* d);
// Skips one Datum; false when damaged.
bool SkipDatum(std::string_view* in);

// Sort keys: an order-preserving encoding (memcmp order = sql::Compare order, NULLs last) that
// decodes back to equal Datums (numerics lose trailing fraction zeros: 1.50 -> 1.5; -0.0 -> 0.0).
//   tag byte: 0x10 bool, 0x11 int, 0x12 float, 0x13 numeric, 0x14 text, 0xff null; then
//   bool 1 byte; int 8 bytes big-endian with the sign bit flipped; float the IEEE bits big-endian,
//   flipped so that negative < positive (NaN canonical, above +Infinity as PostgreSQL orders it);
//   numeric 0x01 negative / 0x02 zero / 0x03 positive, then (inverted when negative) the decimal
//   exponent + 128 and the significant digits as bytes 1..10, ended by 0x00;
//   text its bytes with 0x00 escaped as 0x00 0xff, ended by 0x00 0x00.
void PutSortKey(std::string* out, const sql::Datum& d);
bool GetSortKey(std::string_view* in, sql::Datum* d);

// In-memory form: `values` as a raw pointer; ownership stays with whoever holds the bytes.
void PutStateInMemory(std::string* out, const sql::AggregateState& s);
// REQUIRES: `s` default-constructed. Takes the `values` pointer into s->values (the caller must
// release() it again unless it means to own it).
bool GetStateInMemory(std::string_view* in, sql::AggregateState* s);
// Checkpoint form: the multiset written out (in no particular order). `order`: what the
// aggregate's values keep (sql::ValuesOrder of its spec).
void PutStateSaved(std::string* out, const sql::AggregateState& s);
bool GetStateSaved(std::string_view* in, sql::ValueCounts::Order order, sql::AggregateState* s);

// ByteTable: key bytes -> value bytes, open addressing (linear probing) over 8-byte slots, each
// holding one malloc'd block [LEB128 key length][key][LEB128 value length][value] and, in the
// pointer's unused top 16 bits, 16 bits of the key's hash, so that a probe past another key rarely
// touches its block. Live entries stay at or under 5/8 of the slots (a new table has 4 slots; one
// that falls under 1/16 shrinks). Memory per entry: the block (malloc rounds it up to 24, 40, 56 ...
// bytes) plus 8 / load (13 to 26) bytes of slots.
class ByteTable {
 public:
  ByteTable() = default;
  ~ByteTable() { Clear(); }
  ByteTable(const ByteTable&) = delete;
  ByteTable& operator=(const ByteTable&) = delete;
  ByteTable(ByteTable&& o) noexcept { Swap(o); }
  ByteTable& operator=(ByteTable&& o) noexcept {
    Clear();
    Swap(o);
    return *this;
  }
  void Swap(ByteTable& o) noexcept {
    slots_.swap(o.slots_);
    std::swap(size_, o.size_);
    std::swap(used_, o.used_);
    std::swap(block_bytes_, o.block_bytes_);
  }

  size_t size() const { return size_; }
  // Heap bytes held: slots plus blocks (without malloc's rounding and header).
  uint64_t bytes() const { return slots_.size() * sizeof(uint64_t) + block_bytes_; }

  bool Get(std::string_view key, std::string_view* value) const;
  // Batched lookups: each lookup into a large table is two dependent cache misses (the slot, then
  // the block), and a miss costs up to ~1 us on a loaded VM, but independent misses overlap (about
  // 16 at once). So a caller with many keys hashes them all (Hash), issues PrefetchSlot for each,
  // then PrefetchBlock for each (which reads the now-cached slot lines), then Gets them (with the
  // hash): the misses of a batch cost about as much as one. Prefetches are hints; any table may be
  // prefetched, nothing changes.
  static uint64_t Hash(std::string_view key) { return HashKey(key); }
  void PrefetchSlot(uint64_t hash) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[hash & (slots_.size() - 1)]);
  }
  void PrefetchBlock(uint64_t hash) const;
  bool Get(std::string_view key, uint64_t hash, std::string_view* value) const;
  // Appends every key to `out` (views into the blocks: valid while the table does not change), in no
  // particular order, prefetching the blocks ahead of reading them.
  void Keys(std::vector<std::string_view>* out) const;
  bool Contains(std::string_view key) const {
    std::string_view v;
    return Get(key, &v);
  }
  // Inserts or replaces.
  void Put(std::string_view key, std::string_view value);
  // True when the key was there. Shrinks the slots when they are under 1/16 used.
  bool Erase(std::string_view key);
  void Clear();
  void Reserve(size_t n);

  // f(key, value) for every entry, in no particular order. The table must not change meanwhile.
  template <typename F>
  void ForEach(F&& f) const {
    for (uint64_t slot : slots_) {
      if (slot == kEmpty || slot == kTombstone) continue;
      std::string_view k, v;
      Split(Block(slot), &k, &v);
      f(k, v);
    }
  }

 private:
  static constexpr uint64_t kEmpty = 0;
  static constexpr uint64_t kTombstone = 1;
  static constexpr uint64_t kPointerMask = (uint64_t{1} << 48) - 1;  // x86-64 / arm64 user pointers
  static char* Block(uint64_t slot) { return reinterpret_cast<char*>(slot & kPointerMask); }
  static uint64_t Tag(uint64_t hash) { return hash >> 48 << 48; }
  static uint64_t Slot(char* block, uint64_t hash) { return reinterpret_cast<uintptr_t>(block) | Tag(hash); }
  static void Split(const char* block, std::string_view* key, std::string_view* value);
  static size_t BlockSize(const char* block);
  static uint64_t HashKey(std::string_view key);
  // The slot holding `key`, or -1.
  int64_t Find(std::string_view key, uint64_t hash) const;
  void Grow();
  // REQUIRES: n a power of two above size() * 8 / 5.
  void Rehash(size_t n);

  std::vector<uint64_t> slots_;  // kEmpty, kTombstone (erased), or a block pointer | hash tag
  size_t size_ = 0;              // live entries
  size_t used_ = 0;              // live entries + tombstones
  uint64_t block_bytes_ = 0;
};

}  // namespace cdc::analytics
