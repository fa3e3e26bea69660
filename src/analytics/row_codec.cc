#include "analytics/row_codec.h"

#include <bit>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>

#include "base/fixed_bytes.h"

namespace cdc::analytics {

void PutVarint(std::string* out, uint64_t v) {
  char buf[10];
  int n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out->append(buf, n);
}

bool GetVarint(std::string_view* in, uint64_t* v) {
  uint64_t r = 0;
  for (int shift = 0, i = 0; i < 10 && static_cast<size_t>(i) < in->size(); ++i, shift += 7) {
    uint8_t b = static_cast<uint8_t>((*in)[i]);
    r |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      in->remove_prefix(i + 1);
      *v = r;
      return true;
    }
  }
  return false;
}

void PutZigzag(std::string* out, int64_t v) {
  PutVarint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

bool GetZigzag(std::string_view* in, int64_t* v) {
  uint64_t u;
  if (!GetVarint(in, &u)) return false;
  *v = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  return true;
}

void PutZigzag128(std::string* out, __int128 v) {
  using U = unsigned __int128;
  U u = (static_cast<U>(v) << 1) ^ static_cast<U>(v >> 127);
  char buf[19];
  int n = 0;
  while (u >= 0x80) {
    buf[n++] = static_cast<char>(static_cast<uint8_t>(u & 0x7f) | 0x80);
    u >>= 7;
  }
  buf[n++] = static_cast<char>(static_cast<uint8_t>(u));
  out->append(buf, n);
}

bool GetZigzag128(std::string_view* in, __int128* v) {
  using U = unsigned __int128;
  U r = 0;
  for (int shift = 0, i = 0; i < 19 && static_cast<size_t>(i) < in->size(); ++i, shift += 7) {
    uint8_t b = static_cast<uint8_t>((*in)[i]);
    r |= static_cast<U>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) {
      in->remove_prefix(i + 1);
      *v = static_cast<__int128>((r >> 1) ^ (~(r & 1) + 1));
      return true;
    }
  }
  return false;
}

void PutBytes(std::string* out, std::string_view bytes) {
  PutVarint(out, bytes.size());
  out->append(bytes);
}

bool GetBytes(std::string_view* in, std::string_view* bytes) {
  uint64_t n;
  if (!GetVarint(in, &n) || n > in->size()) return false;
  *bytes = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

namespace {
enum Tag : uint8_t { kNullTag = 0, kFalseTag = 1, kTrueTag = 2, kIntTag = 3, kFloatTag = 4, kNumericTag = 5, kTextTag = 6 };
}  // namespace

void PutDatum(std::string* out, const sql::Datum& d, bool canonical) {
  using K = sql::Datum::Kind;
  switch (d.kind) {
    case K::kNull: out->push_back(kNullTag); return;
    case K::kBool: out->push_back(d.b ? kTrueTag : kFalseTag); return;
    case K::kInt:
      out->push_back(kIntTag);
      PutZigzag(out, d.i);
      return;
    case K::kFloat: {
      out->push_back(kFloatTag);
      double f = d.f;
      if (canonical) {
        if (std::isnan(f)) f = std::numeric_limits<double>::quiet_NaN();
        if (f == 0) f = 0.0;  // -0.0 = 0.0
      }
      PutFixed(out, f);
      return;
    }
    case K::kNumeric: {
      out->push_back(kNumericTag);
      __int128 n = d.n;
      int scale = d.scale;
      if (canonical) {
        if (n == 0) scale = 0;
        while (scale > 0 && n % 10 == 0) {
          n /= 10;
          --scale;
        }
      }
      PutZigzag(out, scale);
      PutZigzag128(out, n);
      return;
    }
    case K::kText:
      out->push_back(kTextTag);
      PutBytes(out, d.s);
      return;
  }
}

bool GetDatum(std::string_view* in, sql::Datum* d) {
  if (in->empty()) return false;
  uint8_t tag = static_cast<uint8_t>((*in)[0]);
  in->remove_prefix(1);
  switch (tag) {
    case kNullTag: *d = sql::Datum::Null(); return true;
    case kFalseTag: *d = sql::Datum::Bool(false); return true;
    case kTrueTag: *d = sql::Datum::Bool(true); return true;
    case kIntTag: {
      int64_t v;
      if (!GetZigzag(in, &v)) return false;
      *d = sql::Datum::Int(v);
      return true;
    }
    case kFloatTag: {
      double f;
      if (!GetFixed(in, &f)) return false;
      *d = sql::Datum::Float(f);
      return true;
    }
    case kNumericTag: {
      int64_t scale;
      __int128 n;
      if (!GetZigzag(in, &scale) || scale < 0 || scale > 38 || !GetZigzag128(in, &n)) return false;
      if (n > sql::kMaxNumericUnscaled || n < -sql::kMaxNumericUnscaled) return false;
      *d = sql::Datum::Numeric(n, static_cast<int16_t>(scale));
      return true;
    }
    case kTextTag: {
      std::string_view s;
      if (!GetBytes(in, &s)) return false;
      *d = sql::Datum::Text(std::string(s));
      return true;
    }
    default: return false;
  }
}

bool SkipDatum(std::string_view* in) {
  sql::Datum d;
  return GetDatum(in, &d);
}

namespace {
enum SortTag : uint8_t { kSortBool = 0x10, kSortInt = 0x11, kSortFloat = 0x12, kSortNumeric = 0x13, kSortText = 0x14,
                         kSortNull = 0xff };

void PutBigEndian(std::string* out, uint64_t v) {
  char b[8];
  for (int i = 7; i >= 0; --i) {
    b[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  out->append(b, 8);
}

bool GetBigEndian(std::string_view* in, uint64_t* v) {
  if (in->size() < 8) return false;
  uint64_t r = 0;
  for (int i = 0; i < 8; ++i) r = (r << 8) | static_cast<uint8_t>((*in)[i]);
  in->remove_prefix(8);
  *v = r;
  return true;
}
}  // namespace

void PutSortKey(std::string* out, const sql::Datum& d) {
  using K = sql::Datum::Kind;
  switch (d.kind) {
    case K::kNull: out->push_back(static_cast<char>(kSortNull)); return;
    case K::kBool:
      out->push_back(static_cast<char>(kSortBool));
      out->push_back(d.b ? 1 : 0);
      return;
    case K::kInt:
      out->push_back(static_cast<char>(kSortInt));
      PutBigEndian(out, static_cast<uint64_t>(d.i) ^ (uint64_t{1} << 63));
      return;
    case K::kFloat: {
      out->push_back(static_cast<char>(kSortFloat));
      double f = std::isnan(d.f) ? std::numeric_limits<double>::quiet_NaN() : (d.f == 0 ? 0.0 : d.f);
      uint64_t u = std::bit_cast<uint64_t>(f);
      if (std::isnan(f)) u &= ~(uint64_t{1} << 63);  // a positive NaN: above +Infinity
      u = (u >> 63) ? ~u : (u | (uint64_t{1} << 63));
      PutBigEndian(out, u);
      return;
    }
    case K::kNumeric: {
      out->push_back(static_cast<char>(kSortNumeric));
      if (d.n == 0) {
        out->push_back(2);
        return;
      }
      bool negative = d.n < 0;
      unsigned __int128 m = negative ? static_cast<unsigned __int128>(-d.n) : static_cast<unsigned __int128>(d.n);
      char digits[40];
      int len = 0;
      while (m > 0) {
        digits[len++] = static_cast<char>(m % 10);
        m /= 10;
      }
      // digits[] is least significant first; the exponent counts the digits before the point.
      int exponent = len - d.scale;
      int last = 0;  // drop trailing zeros of the significand
      while (last < len && digits[last] == 0) ++last;
      uint8_t flip = negative ? 0xff : 0x00;
      out->push_back(negative ? 1 : 3);
      out->push_back(static_cast<char>(static_cast<uint8_t>(exponent + 128) ^ flip));
      for (int i = len - 1; i >= last; --i) out->push_back(static_cast<char>(static_cast<uint8_t>(digits[i] + 1) ^ flip));
      out->push_back(static_cast<char>(flip));
      return;
    }
    case K::kText:
      out->push_back(static_cast<char>(kSortText));
      for (char c : d.s) {
        out->push_back(c);
        if (c == 0) out->push_back(static_cast<char>(0xff));
      }
      out->push_back(0);
      out->push_back(0);
      return;
  }
}

bool GetSortKey(std::string_view* in, sql::Datum* d) {
  if (in->empty()) return false;
  uint8_t tag = static_cast<uint8_t>((*in)[0]);
  in->remove_prefix(1);
  switch (tag) {
    case kSortNull: *d = sql::Datum::Null(); return true;
    case kSortBool:
      if (in->empty()) return false;
      *d = sql::Datum::Bool((*in)[0] != 0);
      in->remove_prefix(1);
      return true;
    case kSortInt: {
      uint64_t u;
      if (!GetBigEndian(in, &u)) return false;
      *d = sql::Datum::Int(static_cast<int64_t>(u ^ (uint64_t{1} << 63)));
      return true;
    }
    case kSortFloat: {
      uint64_t u;
      if (!GetBigEndian(in, &u)) return false;
      u = (u >> 63) ? (u & ~(uint64_t{1} << 63)) : ~u;
      *d = sql::Datum::Float(std::bit_cast<double>(u));
      return true;
    }
    case kSortNumeric: {
      if (in->empty()) return false;
      uint8_t sign = static_cast<uint8_t>((*in)[0]);
      in->remove_prefix(1);
      if (sign == 2) {
        *d = sql::Datum::Numeric(0, 0);
        return true;
      }
      if ((sign != 1 && sign != 3) || in->empty()) return false;
      uint8_t flip = sign == 1 ? 0xff : 0x00;
      int exponent = static_cast<int>(static_cast<uint8_t>((*in)[0]) ^ flip) - 128;
      in->remove_prefix(1);
      __int128 n = 0;
      int len = 0;
      while (true) {
        if (in->empty()) return false;
        uint8_t b = static_cast<uint8_t>((*in)[0]) ^ flip;
        in->remove_prefix(1);
        if (b == 0) break;
        if (b > 10 || ++len > 38) return false;
        n = n * 10 + (b - 1);
      }
      int scale = len - exponent;
      while (scale < 0) {
        if (n > sql::kMaxNumericUnscaled / 10) return false;
        n *= 10;
        ++scale;
      }
      if (scale > 38) return false;
      *d = sql::Datum::Numeric(sign == 1 ? -n : n, static_cast<int16_t>(scale));
      return true;
    }
    case kSortText: {
      std::string s;
      while (true) {
        if (in->size() < 2) return false;
        char c = (*in)[0];
        if (c == 0) {
          uint8_t next = static_cast<uint8_t>((*in)[1]);
          in->remove_prefix(2);
          if (next == 0) break;
          if (next != 0xff) return false;
          s.push_back(0);
          continue;
        }
        s.push_back(c);
        in->remove_prefix(1);
      }
      *d = sql::Datum::Text(std::move(s));
      return true;
    }
    default: return false;
  }
}

namespace {

enum StateFlag : uint8_t { kCount = 1, kIsum = 2, kFsum = 4, kScale = 8, kValues = 16 };

uint8_t FlagsOf(const sql::AggregateState& s) {
  uint8_t f = 0;
  if (s.count != 0) f |= kCount;
  if (s.isum != 0) f |= kIsum;
  if (std::bit_cast<uint64_t>(s.fsum) != 0) f |= kFsum;
  if (s.scale != 0) f |= kScale;
  if (s.values) f |= kValues;
  return f;
}

void PutScalars(std::string* out, const sql::AggregateState& s, uint8_t f) {
  out->push_back(static_cast<char>(f));
  if (f & kCount) PutZigzag(out, s.count);
  if (f & kIsum) PutZigzag128(out, s.isum);
  if (f & kFsum) PutFixed(out, s.fsum);
  if (f & kScale) PutZigzag(out, s.scale);
}

bool GetScalars(std::string_view* in, sql::AggregateState* s, uint8_t* flags) {
  if (in->empty()) return false;
  uint8_t f = static_cast<uint8_t>((*in)[0]);
  in->remove_prefix(1);
  if (f & ~(kCount | kIsum | kFsum | kScale | kValues)) return false;
  if ((f & kCount) && !GetZigzag(in, &s->count)) return false;
  if ((f & kIsum) && !GetZigzag128(in, &s->isum)) return false;
  if ((f & kFsum) && !GetFixed(in, &s->fsum)) return false;
  if (f & kScale) {
    int64_t sc;
    if (!GetZigzag(in, &sc) || sc < 0 || sc > 38) return false;
    s->scale = static_cast<int16_t>(sc);
  }
  *flags = f;
  return true;
}

}  // namespace

void PutStateInMemory(std::string* out, const sql::AggregateState& s) {
  uint8_t f = FlagsOf(s);
  PutScalars(out, s, f);
  if (f & kValues) PutFixed(out, reinterpret_cast<uintptr_t>(s.values.get()));
}

bool GetStateInMemory(std::string_view* in, sql::AggregateState* s) {
  uint8_t f;
  if (!GetScalars(in, s, &f)) return false;
  if (f & kValues) {
    uintptr_t p;
    if (!GetFixed(in, &p)) return false;
    s->values.reset(reinterpret_cast<sql::ValueCounts*>(p));
  }
  return true;
}

void PutStateSaved(std::string* out, const sql::AggregateState& s) {
  uint8_t f = FlagsOf(s);
  PutScalars(out, s, f);
  if (f & kValues) {
    PutVarint(out, s.values->size());
    s.values->ForEach([&](const sql::Datum& v, int64_t m) {
      PutDatum(out, v, /*canonical=*/false);
      PutZigzag(out, m);
    });
  }
}

bool GetStateSaved(std::string_view* in, sql::ValueCounts::Order order, sql::AggregateState* s) {
  uint8_t f;
  if (!GetScalars(in, s, &f)) return false;
  if (f & kValues) {
    uint64_t n;
    if (!GetVarint(in, &n) || n > in->size()) return false;
    s->values = std::make_unique<sql::ValueCounts>(order);
    for (uint64_t i = 0; i < n; ++i) {
      sql::Datum d;
      int64_t m;
      if (!GetDatum(in, &d) || !GetZigzag(in, &m) || m <= 0) return false;
      if (s->values->Add(d, m) != m) return false;  // the same value twice
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------
// ByteTable

namespace {
// LEB128 from a block this table wrote (always well formed).
inline uint64_t ReadLength(const char** p) {
  uint64_t r = 0;
  for (int shift = 0;; shift += 7) {
    uint8_t b = static_cast<uint8_t>(*(*p)++);
    r |= static_cast<uint64_t>(b & 0x7f) << shift;
    if ((b & 0x80) == 0) return r;
  }
}
}  // namespace

namespace {
size_t EncodeLength(uint64_t v, char* out) {
  size_t n = 0;
  while (v >= 0x80) {
    out[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out[n++] = static_cast<char>(v);
  return n;
}
}  // namespace

void ByteTable::Split(const char* block, std::string_view* key, std::string_view* value) {
  const char* p = block;
  uint64_t kn = ReadLength(&p);
  *key = std::string_view(p, kn);
  p += kn;
  uint64_t vn = ReadLength(&p);
  *value = std::string_view(p, vn);
}

size_t ByteTable::BlockSize(const char* block) {
  std::string_view k, v;
  Split(block, &k, &v);
  return static_cast<size_t>(v.data() + v.size() - block);
}

uint64_t ByteTable::HashKey(std::string_view key) {
  uint64_t h = std::hash<std::string_view>{}(key);
  return h ^ (h >> 29);
}

int64_t ByteTable::Find(std::string_view key, uint64_t hash) const {
  if (slots_.empty()) return -1;
  const size_t mask = slots_.size() - 1;
  const uint64_t tag = Tag(hash);
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    uint64_t slot = slots_[i];
    if (slot == kEmpty) return -1;
    if (slot == kTombstone || Tag(slot) != tag) continue;
    std::string_view k, v;
    Split(Block(slot), &k, &v);
    if (k == key) return static_cast<int64_t>(i);
  }
}

bool ByteTable::Get(std::string_view key, std::string_view* value) const { return Get(key, HashKey(key), value); }

bool ByteTable::Get(std::string_view key, uint64_t hash, std::string_view* value) const {
  int64_t i = Find(key, hash);
  if (i < 0) return false;
  std::string_view k;
  Split(Block(slots_[i]), &k, value);
  return true;
}

void ByteTable::PrefetchBlock(uint64_t hash) const {
  if (slots_.empty()) return;
  const size_t mask = slots_.size() - 1;
  const uint64_t tag = Tag(hash);
  // The first slots of the probe (a miss here only costs the prefetch).
  for (size_t i = hash & mask, n = 0; n < 4; i = (i + 1) & mask, ++n) {
    uint64_t slot = slots_[i];
    if (slot == kEmpty) return;
    if (slot != kTombstone && Tag(slot) == tag) {
      __builtin_prefetch(Block(slot));
      return;
    }
  }
}

void ByteTable::Keys(std::vector<std::string_view>* out) const {
  constexpr size_t kAhead = 16;
  const size_t n = slots_.size();
  auto live = [&](size_t i) { return slots_[i] != kEmpty && slots_[i] != kTombstone; };
  for (size_t i = 0; i < n; ++i) {
    if (i + kAhead < n && live(i + kAhead)) __builtin_prefetch(Block(slots_[i + kAhead]));
    if (!live(i)) continue;
    std::string_view k, v;
    Split(Block(slots_[i]), &k, &v);
    out->push_back(k);
  }
}

void ByteTable::Grow() {
  // A rehash at the same size only drops tombstones.
  size_t n = slots_.empty() ? 4 : slots_.size();
  while ((size_ + 1) * 8 > n * 5) n *= 2;
  Rehash(n);
}

void ByteTable::Rehash(size_t n) {
  std::vector<uint64_t> old;
  old.swap(slots_);
  slots_.assign(n, kEmpty);
  used_ = size_;
  const size_t mask = n - 1;
  for (uint64_t slot : old) {
    if (slot == kEmpty || slot == kTombstone) continue;
    std::string_view k, v;
    Split(Block(slot), &k, &v);
    size_t i = HashKey(k) & mask;
    while (slots_[i] != kEmpty) i = (i + 1) & mask;
    slots_[i] = slot;
  }
}

void ByteTable::Reserve(size_t n) {
  size_t want = 16;
  while (want * 5 < n * 8) want *= 2;
  if (want <= slots_.size()) return;
  size_t keep = size_;
  size_ = n;  // Grow() sizes for size_ entries
  Grow();
  size_ = keep;
  used_ = keep;
}

void ByteTable::Put(std::string_view key, std::string_view value) {
  const uint64_t h = HashKey(key);
  int64_t at = Find(key, h);
  // The block's head (lengths and key) is built in place; no temporary string.
  char klen[10], vlen[10];
  size_t kl = EncodeLength(key.size(), klen), vl = EncodeLength(value.size(), vlen);
  const size_t head_size = kl + key.size() + vl;
  const size_t need = head_size + value.size();
  auto fill = [&](char* block) {
    std::memcpy(block, klen, kl);
    std::memcpy(block + kl, key.data(), key.size());
    std::memcpy(block + kl + key.size(), vlen, vl);
  };
  if (at >= 0) {
    char* b = Block(slots_[at]);
    size_t have = BlockSize(b);
    if (have == need) {
      std::memmove(b + head_size, value.data(), value.size());
      return;
    }
    // `value` may point into the old block: fill the new one before freeing the old.
    char* nb = static_cast<char*>(std::malloc(need));
    if (nb == nullptr || reinterpret_cast<uintptr_t>(nb) > kPointerMask) std::abort();  // as below
    fill(nb);
    if (!value.empty()) std::memcpy(nb + head_size, value.data(), value.size());
    std::free(b);
    slots_[at] = Slot(nb, h);
    block_bytes_ += need;
    block_bytes_ -= have;
    return;
  }
  if ((used_ + 1) * 8 > slots_.size() * 5) Grow();
  const size_t mask = slots_.size() - 1;
  size_t i = h & mask;
  while (slots_[i] != kEmpty && slots_[i] != kTombstone) i = (i + 1) & mask;
  if (slots_[i] == kEmpty) ++used_;
  char* b = static_cast<char*>(std::malloc(need));
  // The hash tag lives in the top 16 bits: user-space pointers never reach them (47-bit address
  // space on x86-64 and arm64 unless a mapping asks for more).
  if (b == nullptr || reinterpret_cast<uintptr_t>(b) > kPointerMask) std::abort();
  fill(b);
  if (!value.empty()) std::memcpy(b + head_size, value.data(), value.size());
  slots_[i] = Slot(b, h);
  ++size_;
  block_bytes_ += need;
}

bool ByteTable::Erase(std::string_view key) {
  int64_t at = Find(key, HashKey(key));
  if (at < 0) return false;
  char* b = Block(slots_[at]);
  block_bytes_ -= BlockSize(b);
  std::free(b);
  slots_[at] = kTombstone;
  --size_;
  // Shrink a table that emptied (a join key's rows that moved away), so that ForEach and Keys cost
  // about its size, not the most it ever held: to 4 times its size, when under 1/16 of its slots.
  if (slots_.size() > 64 && size_ * 16 < slots_.size()) {
    size_t n = 16;
    while (n < size_ * 4) n *= 2;
    Rehash(n);
  }
  return true;
}

void ByteTable::Clear() {
  for (uint64_t slot : slots_) {
    if (slot != kEmpty && slot != kTombstone) std::free(Block(slot));
  }
  slots_.clear();
  slots_.shrink_to_fit();
  size_ = used_ = 0;
  block_bytes_ = 0;
}

}  // namespace cdc::analytics
