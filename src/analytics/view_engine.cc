#include "analytics/view_engine.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_map>

#include "analytics/change_projector.h"
#include "analytics/event_values.h"
#include "analytics/row_codec.h"
#include "base/fixed_bytes.h"

namespace cdc::analytics {

namespace od = simdjson::ondemand;

namespace {

// Checkpoint layout (all integers LEB128 unless said otherwise):
//   "CDCVIEWS" | fixed32 version | body | fixed64 checksum of everything before it
//   body: views: count, (name, fingerprint)*
//         tables: count, (name, columns: count, (name, oid, typmod, key)*)*
//         fixed64 max_lsn
//         per table: row count, (key bytes, row bytes)*
//         per view: group count, (key bytes, row count, AggregateState (saved form) per aggregate)*
// The join indexes are not saved: Load rebuilds them from the row stores.
constexpr std::string_view kMagic = "CDCVIEWS";
// 2: a min(x)/max(x) pair keeps one multiset (AggregateSpec::values_from); a version-1 checkpoint
// is not read (the views are recomputed from the raw data once).
constexpr uint32_t kVersion = 2;

// The text Debezium puts in place of an unchanged TOASTed value it did not receive.
constexpr std::string_view kToastPlaceholder = "__debezium_unavailable_value";

uint64_t Checksum(std::string_view data) {
  // 64-bit FNV-1a over 8-byte words then the tail: detects flipped bytes and truncation; not
  // meant to resist an adversary.
  uint64_t h = 1469598103934665603ull;
  size_t i = 0;
  for (; i + 8 <= data.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, data.data() + i, 8);
    h = (h ^ w) * 1099511628211ull;
    h ^= h >> 31;
  }
  for (; i < data.size(); ++i) h = (h ^ static_cast<uint8_t>(data[i])) * 1099511628211ull;
  return h ^ (h >> 29);
}

// True when a and b are the same value in the same form (so every encoding of them is the same).
bool Identical(const sql::Datum& a, const sql::Datum& b) {
  if (a.kind != b.kind || a.scale != b.scale) return false;
  switch (a.kind) {
    case sql::Datum::Kind::kNull: return true;
    case sql::Datum::Kind::kBool: return a.b == b.b;
    case sql::Datum::Kind::kInt: return a.i == b.i;
    case sql::Datum::Kind::kFloat: return std::memcmp(&a.f, &b.f, sizeof a.f) == 0;
    case sql::Datum::Kind::kNumeric: return a.n == b.n;
    case sql::Datum::Kind::kText: return a.s == b.s;
  }
  return false;
}

// A join key: canonical, and a numeric of scale 0 that fits an int64 encodes as an int, so that an
// int column joins a numeric one.
void PutJoinKey(std::string* out, const sql::Datum& d) {
  if (d.kind == sql::Datum::Kind::kNumeric) {
    __int128 n = d.n;
    int s = d.scale;
    while (s > 0 && n % 10 == 0) {
      n /= 10;
      --s;
    }
    if (s == 0 && n >= INT64_MIN && n <= INT64_MAX) {
      PutDatum(out, sql::Datum::Int(static_cast<int64_t>(n)), true);
      return;
    }
  }
  PutDatum(out, d, /*canonical=*/true);
}

struct Table {
  std::string name;  // "schema.table"
  const event::TableSchema* schema = nullptr;
  std::string topic_suffix;  // ".schema.table"
  // The suffix of the table's topic when it went through Kafka (event::KafkaTopicName: characters not
  // valid in a topic name became '_'); "" when the same as topic_suffix.
  std::string kafka_topic_suffix;
  std::vector<int> decode;   // catalog column indexes decoded from an image: key and stored columns
  std::vector<ValueReader> readers;  // per decoded column
  std::vector<int> stored;   // positions in `decode` of the columns a row stores (the ones views read)
  std::vector<int> keys;     // positions in `decode` of the primary key columns; empty: no key
  // Keyed: key bytes -> the stored columns' Datums. Keyless: the stored Datums -> LEB128 count.
  ByteTable rows;
  std::vector<std::pair<int, int>> users;  // (view, side) reading this table
  bool joined = false;                     // a join view reads it (its rows are in join indexes)
  int join_columns = 0;                    // stored columns up to the last join column (decoded to index)
  bool keyless() const { return keys.empty(); }
};

// Join key bytes -> the set of row keys (row store keys) with that join key, as a ByteTable of keys
// with empty values: O(1) to add or remove a row however many share the key, and its rows are read
// from a flat slot array whose blocks can be prefetched (a fan-out of thousands of rows is not a
// chain of dependent cache misses, as a node-based set's is).
using JoinIndex = std::unordered_map<std::string, ByteTable>;

// Estimated bytes of a join key's entry in the index, without its set's ByteTable::bytes() (a libstdc++
// node with its cached hash, malloc's 16-byte rounding and header, a bucket pointer) and of a string's
// heap buffer.
size_t HeapBytes(const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 : 0; }
size_t IndexKeyBytes(const std::string& join_key) { return 112 + 8 + HeapBytes(join_key); }

struct Side {
  int table = -1;
  std::vector<int> slot;  // per input column of this side: its position in the table's stored row
  int offset = 0;         // of this side's part in the input row
  int join_slot = -1;     // the join column's position in the stored row (join views)
};

struct View {
  const sql::ViewPlan* plan = nullptr;
  int sides = 1;
  Side side[2];
  bool self_join = false;
  // Join views: per side, join key bytes -> the row keys (row store keys) with that join key. A set,
  // so that moving a row between join keys costs O(1) however many rows share a key.
  JoinIndex index[2];
  // Estimated bytes of `index` and of the groups' value multisets, kept up to date as they change
  // (Stats runs every batch and must not walk the state).
  int64_t index_bytes = 0;
  int64_t values_bytes = 0;
  // Counts the changes to the view's groups (a result that may differ), for writers that skip a
  // view whose result did not change.
  uint64_t changes = 0;
  // Group key bytes -> LEB128 row count, then the aggregates' states (in-memory form).
  ByteTable groups;
  bool keeps_values = false;  // an aggregate keeps a value multiset (min, max, DISTINCT)
};

// One aggregate state set of a group, decoded; its `values` maps are owned by the group's bytes
// unless the group is new. Release() hands them back before the scratch dies.
struct GroupState {
  int64_t rows = 0;
  std::vector<sql::AggregateState> aggs;
  void Release() {
    for (auto& a : aggs) (void)a.values.release();
  }
  void FreeMaps() {
    for (auto& a : aggs) a.values.reset();
  }
};

bool DecodeGroup(std::string_view val, size_t naggs, GroupState* g) {
  uint64_t rows;
  if (!GetVarint(&val, &rows)) return false;
  g->rows = static_cast<int64_t>(rows);
  g->aggs.clear();
  g->aggs.resize(naggs);
  for (size_t j = 0; j < naggs; ++j) {
    if (!GetStateInMemory(&val, &g->aggs[j])) {
      g->Release();
      return false;
    }
  }
  return val.empty();
}

int64_t ValuesBytes(const GroupState& g) {
  int64_t n = 0;
  for (const auto& a : g.aggs) {
    if (a.values) n += static_cast<int64_t>(a.values->MemoryBytes());
  }
  return n;
}

void EncodeGroup(const GroupState& g, std::string* out) {
  out->clear();
  PutVarint(out, static_cast<uint64_t>(g.rows));
  for (const auto& a : g.aggs) PutStateInMemory(out, a);
}

void FreeGroups(View& v, ByteTable* groups) {
  GroupState g;
  groups->ForEach([&](std::string_view, std::string_view val) {
    if (DecodeGroup(val, v.plan->aggregates.size(), &g)) {
      for (auto& a : g.aggs) a.values.reset();
    }
  });
  groups->Clear();
}

// A change of one row: at row-store key `key`, `rm` copies of `old_row` leave and `add` copies of
// `new_row` arrive (keyed tables: 0 or 1 each). `new_value` is what the row store holds afterwards.
struct Change {
  std::string key;
  std::vector<sql::Datum> old_row, new_row;  // stored columns
  int64_t rm = 0, add = 0;
  std::optional<std::string> old_value, new_value;
};

struct Delta {
  int view = 0;
  std::string key;
  std::vector<sql::Datum> args;
  int sign = 1;
  int64_t times = 1;
};

// Deltas reused from event to event: clear() keeps every Delta's buffers (its key and args), so that
// producing a delta allocates nothing once the list has grown to an event's size.
class DeltaList {
 public:
  // A new delta at the end, its key empty and its other fields to be set by the caller.
  Delta& Add() {
    if (n_ == items_.size()) items_.emplace_back();
    Delta& d = items_[n_++];
    d.key.clear();
    return d;
  }
  void Pop() { --n_; }
  size_t size() const { return n_; }
  void resize(size_t n) { n_ = n; }  // REQUIRES: n <= size()
  void clear() { n_ = 0; }
  Delta& operator[](size_t i) { return items_[i]; }
  Delta* begin() { return items_.data(); }
  Delta* end() { return items_.data() + n_; }

 private:
  std::vector<Delta> items_;
  size_t n_ = 0;
};

// True when applying `a` and then `b` leaves every group as it was: the same group, the same number
// of rows retracted and added, and the same argument values (kind and scale too: 1.5 and 1.50 print
// differently, and min/max keep the first form seen).
bool CancelOut(const Delta& a, const Delta& b) {
  if (a.view != b.view || a.sign != -b.sign || a.times != b.times || a.key != b.key) return false;
  for (size_t j = 0; j < a.args.size(); ++j) {
    const sql::Datum& x = a.args[j];
    const sql::Datum& y = b.args[j];
    if (x.kind != y.kind || x.scale != y.scale || sql::Compare(x, y) != 0) return false;
    if (x.kind == sql::Datum::Kind::kFloat && std::signbit(x.f) != std::signbit(y.f)) return false;
  }
  return true;
}

struct Image {
  bool present = false;
  std::vector<sql::Datum> values;  // per decoded column
  std::vector<bool> seen;
};

struct Decoded {
  char op = 0;
  Image before, after;
  Lsn lsn;
  Status value_error;  // the first column value that did not decode
};

}  // namespace

struct ViewEngine::Impl {
  const sql::ViewSet* views;
  const sql::Catalog* catalog;
  EventSettings settings;
  std::vector<Table> tables;
  std::vector<View> vstate;
  Lsn max_lsn;
  od::parser parser;
  std::string padded;
  std::string last_topic;
  int last_table = -1;
  DeltaList deltas;  // ApplyRaw's deltas of the current event
  // Scratch reused from event to event (no allocation per event once grown).
  Decoded event;
  std::vector<sql::Datum> input_row, other_row;  // ChangeDeltas
  std::vector<std::string_view> fanout_keys;     // ChangeDeltas: the other side's rows of a join key
  std::vector<Change> change_pool;               // ApplyRaw's changes of the current event
  // ApplyDelta's scratch (reused: no allocation per change). Between calls its `values` are null.
  GroupState group;
  std::string group_bytes;
  // PrefetchDeltas' scratch: the value multisets the deltas will update, with their values' hashes.
  GroupState prefetch_group;
  std::vector<std::pair<const sql::ValueCounts*, uint64_t>> prefetch_sets;

  int TableOf(std::string_view topic);
  Status Decode(const Table& t, std::string_view value, Decoded* out);
  Status ReadEnvelope(const Table& t, od::object& obj, int depth, Decoded* out);
  Status ReadImage(const Table& t, od::value& v, Image* img, Status* value_error);
  // ApplyChange's Decode: the change's columns are t.decode's (ChangeProjector).
  Status DecodeChange(const Table& t, std::string_view change, Decoded* out);

  std::string KeyText(const Table& t, const std::vector<sql::Datum>& decoded) const;
  std::string RowKey(const Table& t, const std::vector<sql::Datum>& decoded) const;
  // The stored columns of a decoded image, into *row (whose buffers are reused).
  void StoredOf(const Table& t, const std::vector<sql::Datum>& decoded, std::vector<sql::Datum>* row) const;
  bool LoadRow(const Table& t, std::string_view key, std::vector<sql::Datum>* row, int64_t* mult) const;
  // The stored row of row-store entry (key, value) into *row, its multiplicity into *mult.
  void DecodeStored(const Table& t, std::string_view key, std::string_view val, std::vector<sql::Datum>* row,
                    int64_t* mult) const;
  // Calls fn(row, multiplicity) for the stored row of each of `keys` (keys not in the store are
  // skipped, and so is `skip` when `skipping`), in the order of `keys`, looking them up in batches
  // (ByteTable::PrefetchSlot/PrefetchBlock). Stops at fn's first error.
  template <typename F>
  Status ForEachStoredRow(const Table& t, const std::vector<std::string_view>& keys, bool skipping,
                          std::string_view skip, F&& fn);

  Status EvalRow(int vi, const std::vector<sql::Datum>& input, int sign, int64_t times, DeltaList* out);
  void BuildInput(const View& v, const std::vector<sql::Datum>* left, const std::vector<sql::Datum>* right,
                  std::vector<sql::Datum>* input) const;
  // The deltas of change `c` of side `s`'s table to view `vi`. `post_left`: enumerate the left side
  // as it is after `c` (the second half of a self-join's change).
  Status ChangeDeltas(int vi, int s, const Change& c, bool post_left, DeltaList* out);
  Status ApplyDelta(View& v, ByteTable* groups, const Delta& d);
  // Brings in what applying deltas[begin, end) will touch: each stage issues its cache misses for all
  // the deltas at once (the groups' slots, their blocks, the value multisets, their index slots, their
  // entries), so that they overlap instead of following one another (docs/VIEWS.md, "Groups").
  void PrefetchDeltas(size_t begin, size_t end);
  void EnsureOneGroup(View& v, ByteTable* groups);
  // `old_row` / `new_row` (may be null): the stored rows `old_value` / `new_value` encode, already
  // decoded by the caller (ReindexRow then does not decode them again).
  void SetRow(int ti, const std::string& key, const std::optional<std::string>& old_value,
              const std::optional<std::string>& new_value, const std::vector<sql::Datum>* old_row = nullptr,
              const std::vector<sql::Datum>* new_row = nullptr);
  // Moves row `key` of table `ti` in the join indexes from the join keys of `old_value` to those of
  // `new_value` (a null one: the row arrives or leaves); unchanged join keys are left alone. A non-null
  // `*_row` is the decoded value (at least the stored columns up to the last join column).
  void ReindexRow(int ti, const std::string& key, const std::string* old_value, const std::string* new_value,
                  const std::vector<sql::Datum>* old_row = nullptr, const std::vector<sql::Datum>* new_row = nullptr);
  // Recomputes v.index_bytes and v.values_bytes by walking the view's state.
  void RecountBytes(View& v);
  Status Rebuild(int vi, ByteTable* groups);
  Status Truncate(int ti);
  void ClearAll();
};

// ---------------------------------------------------------------------------------------------------
// Setup

ViewEngine::ViewEngine(const sql::ViewSet* views, const sql::Catalog* catalog, EventSettings settings)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.views = views;
  m.catalog = catalog;
  m.settings = settings;
  std::map<std::string, int> by_name;
  // Which catalog columns each table stores.
  std::vector<std::vector<bool>> wanted;
  for (const sql::ViewPlan& plan : views->views) {
    for (const sql::InputTable& in : plan.inputs) {
      std::string name = in.schema + "." + in.table;
      auto it = catalog->find(name);
      if (it == catalog->end()) continue;  // LoadViews checked the plan against this catalog
      auto [pos, inserted] = by_name.emplace(name, static_cast<int>(m.tables.size()));
      if (inserted) {
        Table t;
        t.name = name;
        t.schema = &it->second;
        t.topic_suffix = "." + name;
        std::string kafka_suffix = event::KafkaTopicName(name);
        kafka_suffix.insert(kafka_suffix.begin(), '.');  // not "." + ...: GCC 12's -Wrestrict misfires on it
        if (kafka_suffix != t.topic_suffix) t.kafka_topic_suffix = std::move(kafka_suffix);
        m.tables.push_back(std::move(t));
        wanted.emplace_back(it->second.columns.size(), false);
      }
      for (int c : in.columns) wanted[pos->second][c] = true;
    }
  }
  for (size_t ti = 0; ti < m.tables.size(); ++ti) {
    Table& t = m.tables[ti];
    const auto& cols = t.schema->columns;
    for (size_t c = 0; c < cols.size(); ++c) {
      if (!wanted[ti][c] && !cols[c].key) continue;
      int pos = static_cast<int>(t.decode.size());
      t.decode.push_back(static_cast<int>(c));
      t.readers.push_back(ReaderFor(cols[c], settings.decimal_mode));
      if (wanted[ti][c]) t.stored.push_back(pos);
      if (cols[c].key) t.keys.push_back(pos);
    }
  }
  m.vstate.resize(views->views.size());
  for (size_t vi = 0; vi < views->views.size(); ++vi) {
    const sql::ViewPlan& plan = views->views[vi];
    View& v = m.vstate[vi];
    v.plan = &plan;
    v.sides = static_cast<int>(plan.inputs.size());
    int offset = 0;
    for (int s = 0; s < v.sides; ++s) {
      const sql::InputTable& in = plan.inputs[s];
      auto it = by_name.find(in.schema + "." + in.table);
      if (it == by_name.end()) continue;
      Side& side = v.side[s];
      side.table = it->second;
      side.offset = offset;
      Table& t = m.tables[side.table];
      for (int c : in.columns) {
        int slot = -1;
        for (size_t k = 0; k < t.stored.size(); ++k) {
          if (t.decode[t.stored[k]] == c) slot = static_cast<int>(k);
        }
        side.slot.push_back(slot);
      }
      offset += static_cast<int>(in.columns.size());
      t.users.emplace_back(static_cast<int>(vi), s);
      if (plan.join) t.joined = true;
    }
    if (plan.join && v.sides == 2) {
      // Input-row positions; right_key counts from the start of the input row.
      v.side[0].join_slot = v.side[0].slot[plan.join->left_key];
      v.side[1].join_slot = v.side[1].slot[plan.join->right_key - v.side[1].offset];
      v.self_join = v.side[0].table == v.side[1].table;
      for (const Side& side : v.side) {
        if (side.table < 0) continue;
        Table& t = m.tables[side.table];
        t.join_columns = std::max(t.join_columns, side.join_slot + 1);
      }
    }
    for (const sql::AggregateSpec& a : plan.aggregates) {
      v.keeps_values |= a.distinct || a.kind == sql::AggregateKind::kMin || a.kind == sql::AggregateKind::kMax;
    }
    m.EnsureOneGroup(v, &v.groups);
  }
}

ViewEngine::~ViewEngine() {
  for (View& v : impl_->vstate) FreeGroups(v, &v.groups);
}

int ViewEngine::Impl::TableOf(std::string_view topic) {
  if (topic == last_topic) return last_table;
  last_topic = std::string(topic);
  last_table = -1;
  for (size_t i = 0; i < tables.size(); ++i) {
    if (topic.ends_with(tables[i].topic_suffix)) last_table = static_cast<int>(i);
  }
  // A topic from Kafka, whose name lost the characters Kafka does not allow; a table whose name is the
  // topic's as it stands comes first (capture refuses two tables of one topic).
  for (size_t i = 0; i < tables.size() && last_table < 0; ++i) {
    const std::string& k = tables[i].kafka_topic_suffix;
    if (!k.empty() && topic.ends_with(k)) last_table = static_cast<int>(i);
  }
  return last_table;
}

bool ViewEngine::Reads(std::string_view topic) const { return impl_->TableOf(topic) >= 0; }

Lsn ViewEngine::max_lsn() const { return impl_->max_lsn; }
size_t ViewEngine::view_count() const { return impl_->vstate.size(); }
const sql::ViewPlan& ViewEngine::view(size_t i) const { return *impl_->vstate[i].plan; }

uint64_t ViewEngine::stored_rows() const {
  uint64_t n = 0;
  for (const Table& t : impl_->tables) n += t.rows.size();
  return n;
}

uint64_t ViewEngine::changes(size_t i) const { return impl_->vstate[i].changes; }

ViewStats ViewEngine::Stats(size_t i) const {
  const View& v = impl_->vstate[i];
  ViewStats s;
  s.groups = v.groups.size();
  if (v.plan->bag && !v.plan->distinct) {
    // A bag's rows repeat: count them (one pass over the groups).
    s.groups = 0;
    v.groups.ForEach([&](std::string_view, std::string_view val) {
      uint64_t rows = 0;
      GetVarint(&val, &rows);
      s.groups += rows;
    });
  }
  s.state_bytes = v.groups.bytes() + static_cast<uint64_t>(std::max<int64_t>(0, v.index_bytes)) +
                  static_cast<uint64_t>(std::max<int64_t>(0, v.values_bytes));
  return s;
}

// ---------------------------------------------------------------------------------------------------
// Decoding

Status ViewEngine::Impl::ReadImage(const Table& t, od::value& v, Image* img, Status* value_error) {
  od::json_type type;
  if (auto e = v.type().get(type)) return Status::Corruption(simdjson::error_message(e));
  if (type == od::json_type::null) return Status::OK();
  od::object obj;
  if (auto e = v.get_object().get(obj)) return Status::Corruption(simdjson::error_message(e));
  img->present = true;
  img->values.assign(t.decode.size(), sql::Datum());
  img->seen.assign(t.decode.size(), false);
  const auto& cols = t.schema->columns;
  for (auto field : obj) {
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return Status::Corruption(simdjson::error_message(e));
    for (size_t i = 0; i < t.decode.size(); ++i) {
      if (cols[t.decode[i]].name != key) continue;
      od::value fv;
      if (auto e = field.value().get(fv)) return Status::Corruption(simdjson::error_message(e));
      Status st = DecodeValue(fv, t.readers[i], key, &img->values[i]);
      if (!st.ok() && value_error->ok()) *value_error = st;
      img->seen[i] = st.ok();
      break;
    }
  }
  return Status::OK();
}

Status ViewEngine::Impl::ReadEnvelope(const Table& t, od::object& obj, int depth, Decoded* out) {
  for (auto field : obj) {
    std::string_view key;
    if (auto e = field.unescaped_key().get(key)) return Status::Corruption(simdjson::error_message(e));
    od::value v;
    if (auto e = field.value().get(v)) return Status::Corruption(simdjson::error_message(e));
    if (key == "before") {
      CDC_RETURN_IF_ERROR(ReadImage(t, v, &out->before, &out->value_error));
    } else if (key == "after") {
      CDC_RETURN_IF_ERROR(ReadImage(t, v, &out->after, &out->value_error));
    } else if (key == "op") {
      std::string_view op;
      if (v.get_string().get(op) || op.size() != 1) return Status::Corruption("\"op\" is not a one-letter string");
      out->op = op[0];
    } else if (key == "source") {
      od::object src;
      if (v.get_object().get(src)) continue;
      for (auto sf : src) {
        std::string_view sk;
        if (sf.unescaped_key().get(sk)) return Status::Corruption("bad source block");
        if (sk != "lsn") continue;
        uint64_t lsn;
        if (sf.value().get_uint64().get(lsn) == simdjson::SUCCESS) out->lsn = Lsn(lsn);
      }
    } else if (key == "payload" && depth == 0) {
      // Kafka Connect's {"schema","payload"} wrapper: the envelope is inside.
      od::object inner;
      if (v.get_object().get(inner)) return Status::Corruption("\"payload\" is not an object");
      return ReadEnvelope(t, inner, depth + 1, out);
    }
  }
  return Status::OK();
}

Status ViewEngine::Impl::Decode(const Table& t, std::string_view value, Decoded* out) {
  if (padded.size() < value.size() + simdjson::SIMDJSON_PADDING) padded.resize(value.size() + simdjson::SIMDJSON_PADDING);
  std::memcpy(padded.data(), value.data(), value.size());
  od::document doc;
  if (auto e = parser.iterate(padded.data(), value.size(), padded.size()).get(doc))
    return Status::Corruption(std::string("not JSON: ") + simdjson::error_message(e));
  od::object obj;
  if (doc.get_object().get(obj)) return Status::Corruption("not a JSON object");
  CDC_RETURN_IF_ERROR(ReadEnvelope(t, obj, 0, out));
  if (out->op == 0) return Status::Corruption("no \"op\" field in the envelope");
  return Status::OK();
}

Status ViewEngine::Impl::DecodeChange(const Table& t, std::string_view change, Decoded* out) {
  const auto& cols = t.schema->columns;
  const size_t n = t.decode.size();
  ProjectedChangeReader reader(change);
  if (!reader.Header(n, &out->op, &out->lsn)) return Status::Corruption("not a change of " + t.name + "'s columns");
  // As ReadImage does for a JSON image that has every column.
  for (Image* img : {&out->before, &out->after}) {
    if (!reader.HasImage()) continue;
    img->present = true;
    img->values.assign(n, sql::Datum());
    img->seen.assign(n, false);
    for (size_t i = 0; i < n; ++i) {
      std::optional<std::string_view> text;
      if (!reader.Value(&text)) return Status::Corruption("a truncated change of " + t.name);
      Status st = DecodeText(text, t.readers[i], cols[t.decode[i]].name, &img->values[i]);
      if (!st.ok() && out->value_error.ok()) out->value_error = st;
      img->seen[i] = st.ok();
    }
  }
  if (!reader.AtEnd()) return Status::Corruption("a change of " + t.name + " with bytes after it");
  return Status::OK();
}

std::string ViewEngine::Impl::KeyText(const Table& t, const std::vector<sql::Datum>& decoded) const {
  if (t.keyless()) return "(no primary key)";
  std::string names = "(", values = "(";
  for (size_t i = 0; i < t.keys.size(); ++i) {
    if (i) {
      names += ", ";
      values += ", ";
    }
    int k = t.keys[i];
    names += t.schema->columns[t.decode[k]].name;
    values += decoded.empty() ? "?" : sql::ToText(decoded[k], t.readers[k].type);
  }
  return names + ")=" + values + ")";
}

std::string ViewEngine::Impl::RowKey(const Table& t, const std::vector<sql::Datum>& decoded) const {
  std::string key;
  if (t.keyless()) {
    for (int s : t.stored) PutDatum(&key, decoded[s], false);
  } else {
    for (int k : t.keys) PutDatum(&key, decoded[k], true);
  }
  return key;
}

void ViewEngine::Impl::StoredOf(const Table& t, const std::vector<sql::Datum>& decoded,
                                std::vector<sql::Datum>* row) const {
  row->resize(t.stored.size());
  for (size_t i = 0; i < t.stored.size(); ++i) (*row)[i] = decoded[t.stored[i]];
}

bool ViewEngine::Impl::LoadRow(const Table& t, std::string_view key, std::vector<sql::Datum>* row,
                               int64_t* mult) const {
  std::string_view val;
  if (!t.rows.Get(key, &val)) return false;
  DecodeStored(t, key, val, row, mult);
  return true;
}

template <typename F>
Status ViewEngine::Impl::ForEachStoredRow(const Table& t, const std::vector<std::string_view>& keys, bool skipping,
                                          std::string_view skip, F&& fn) {
  constexpr size_t kBatch = 16;  // about the cache misses a core keeps in flight
  uint64_t hash[kBatch];
  std::vector<sql::Datum>& row = other_row;
  for (size_t base = 0; base < keys.size(); base += kBatch) {
    const size_t n = std::min(kBatch, keys.size() - base);
    for (size_t i = 0; i < n; ++i) {
      hash[i] = ByteTable::Hash(keys[base + i]);
      t.rows.PrefetchSlot(hash[i]);
    }
    for (size_t i = 0; i < n; ++i) t.rows.PrefetchBlock(hash[i]);
    for (size_t i = 0; i < n; ++i) {
      std::string_view key = keys[base + i], val;
      if (skipping && key == skip) continue;
      if (!t.rows.Get(key, hash[i], &val)) continue;
      int64_t mult;
      DecodeStored(t, key, val, &row, &mult);
      CDC_RETURN_IF_ERROR(fn(row, mult));
    }
  }
  return Status::OK();
}

void ViewEngine::Impl::DecodeStored(const Table& t, std::string_view key, std::string_view val,
                                    std::vector<sql::Datum>* row, int64_t* mult) const {
  std::string_view bytes = t.keyless() ? key : val;
  if (t.keyless()) {
    uint64_t n = 0;
    GetVarint(&val, &n);
    *mult = static_cast<int64_t>(n);
  } else {
    *mult = 1;
  }
  row->resize(t.stored.size());
  for (auto& d : *row) GetDatum(&bytes, &d);
}

// ---------------------------------------------------------------------------------------------------
// Maintenance

void ViewEngine::Impl::BuildInput(const View& v, const std::vector<sql::Datum>* left,
                                  const std::vector<sql::Datum>* right, std::vector<sql::Datum>* input) const {
  input->clear();
  const std::vector<sql::Datum>* parts[2] = {left, right};
  for (int s = 0; s < v.sides; ++s) {
    for (int slot : v.side[s].slot) {
      input->push_back(parts[s] ? (*parts[s])[slot] : sql::Datum::Null());
    }
  }
}

Status ViewEngine::Impl::EvalRow(int vi, const std::vector<sql::Datum>& input, int sign, int64_t times,
                                 DeltaList* out) {
  const sql::ViewPlan& plan = *vstate[vi].plan;
  sql::Datum tmp;
  if (plan.where) {
    CDC_RETURN_IF_ERROR(plan.where->Eval(input.data(), &tmp));
    if (tmp.kind != sql::Datum::Kind::kBool || !tmp.b) return Status::OK();
  }
  Delta& d = out->Add();
  d.view = vi;
  d.sign = sign;
  d.times = times;
  for (const auto& g : plan.group_keys) {
    if (Status st = g->Eval(input.data(), &tmp); !st.ok()) {
      out->Pop();
      return st;
    }
    PutDatum(&d.key, tmp, /*canonical=*/true);
  }
  d.args.resize(plan.aggregates.size());
  for (size_t j = 0; j < plan.aggregates.size(); ++j) {
    if (!plan.aggregates[j].arg) {
      d.args[j] = sql::Datum::Null();  // count(*): the list reuses deltas
      continue;
    }
    if (Status st = plan.aggregates[j].arg->Eval(input.data(), &d.args[j]); !st.ok()) {
      out->Pop();
      return st;
    }
  }
  return Status::OK();
}

Status ViewEngine::Impl::ChangeDeltas(int vi, int s, const Change& c, bool post_left, DeltaList* out) {
  View& v = vstate[vi];
  std::vector<sql::Datum>& input = input_row;
  if (v.sides == 1) {
    if (c.rm) {
      BuildInput(v, &c.old_row, nullptr, &input);
      CDC_RETURN_IF_ERROR(EvalRow(vi, input, -1, c.rm, out));
    }
    if (c.add) {
      BuildInput(v, &c.new_row, nullptr, &input);
      CDC_RETURN_IF_ERROR(EvalRow(vi, input, +1, c.add, out));
    }
    return Status::OK();
  }
  const bool left_join = v.plan->join->kind == sql::JoinSpec::Kind::kLeft;
  const int o = 1 - s;
  auto join_key = [&](const std::vector<sql::Datum>& row, int side, std::string* key) {
    const sql::Datum& d = row[v.side[side].join_slot];
    if (d.is_null()) return false;
    key->clear();
    PutJoinKey(key, d);
    return true;
  };
  auto combine = [&](const std::vector<sql::Datum>* mine, const std::vector<sql::Datum>* theirs) {
    if (s == 0) BuildInput(v, mine, theirs, &input);
    else BuildInput(v, theirs, mine, &input);
  };
  std::string k;
  // Calls fn(row, multiplicity) for each row of side `side` whose join key is `key`. With
  // `post_left`, side 0 is read as after `c`: its row at c.key is c's new row (a self-join).
  auto for_rows = [&](int side, const std::string& key, auto&& fn) -> Status {
    const Table& st = tables[v.side[side].table];
    bool patch = post_left && side == 0;
    if (auto it = v.index[side].find(key); it != v.index[side].end()) {
      fanout_keys.clear();
      it->second.Keys(&fanout_keys);
      CDC_RETURN_IF_ERROR(ForEachStoredRow(st, fanout_keys, patch, c.key, fn));
    }
    if (patch && c.add) {
      std::string nk;
      int64_t after = c.add;
      if (st.keyless()) {
        uint64_t n = 0;
        if (c.new_value) {
          std::string_view nv = *c.new_value;
          GetVarint(&nv, &n);
        }
        after = static_cast<int64_t>(n);
      }
      if (after > 0 && join_key(c.new_row, 0, &nk) && nk == key) {
        std::vector<sql::Datum> row = c.new_row;
        CDC_RETURN_IF_ERROR(fn(row, after));
      }
    }
    return Status::OK();
  };
  if (s == 0 || !left_join) {
    // The changed row against the other side's rows with its join key (null-extended for LEFT).
    for (int pass = 0; pass < 2; ++pass) {
      int64_t n = pass == 0 ? c.rm : c.add;
      if (n == 0) continue;
      const std::vector<sql::Datum>& row = pass == 0 ? c.old_row : c.new_row;
      int sign = pass == 0 ? -1 : +1;
      bool matched = false;
      if (join_key(row, s, &k)) {
        CDC_RETURN_IF_ERROR(for_rows(o, k, [&](const std::vector<sql::Datum>& r, int64_t m) {
          matched = true;
          combine(&row, &r);
          return EvalRow(vi, input, sign, n * m, out);
        }));
      }
      if (!matched && left_join) {
        combine(&row, nullptr);
        CDC_RETURN_IF_ERROR(EvalRow(vi, input, sign, n, out));
      }
    }
    return Status::OK();
  }
  // LEFT JOIN, a right row changed: the left rows with the old and the new join key lose and gain
  // combined rows; a left row whose match set becomes empty (non-empty) gains (loses) its
  // null-extended row.
  std::string ko, kn;
  bool has_ko = c.rm && join_key(c.old_row, 1, &ko);
  bool has_kn = c.add && join_key(c.new_row, 1, &kn);
  std::vector<std::string> keys;
  if (has_ko) keys.push_back(ko);
  if (has_kn && (!has_ko || kn != ko)) keys.push_back(kn);
  const Table& right = tables[v.side[1].table];
  for (const std::string& key : keys) {
    int64_t before = 0;
    if (auto it = v.index[1].find(key); it != v.index[1].end()) {
      fanout_keys.clear();
      it->second.Keys(&fanout_keys);
      CDC_RETURN_IF_ERROR(ForEachStoredRow(right, fanout_keys, false, {}, [&](const std::vector<sql::Datum>&, int64_t m) {
        before += m;
        return Status::OK();
      }));
    }
    int64_t after = before - (has_ko && ko == key ? c.rm : 0) + (has_kn && kn == key ? c.add : 0);
    if (before == 0 && after == 0) continue;
    CDC_RETURN_IF_ERROR(for_rows(0, key, [&](const std::vector<sql::Datum>& l, int64_t lm) -> Status {
      if (before == 0) {
        BuildInput(v, &l, nullptr, &input);
        CDC_RETURN_IF_ERROR(EvalRow(vi, input, -1, lm, out));
      } else if (has_ko && ko == key) {
        BuildInput(v, &l, &c.old_row, &input);
        CDC_RETURN_IF_ERROR(EvalRow(vi, input, -1, lm * c.rm, out));
      }
      if (after == 0) {
        BuildInput(v, &l, nullptr, &input);
        CDC_RETURN_IF_ERROR(EvalRow(vi, input, +1, lm, out));
      } else if (has_kn && kn == key) {
        BuildInput(v, &l, &c.new_row, &input);
        CDC_RETURN_IF_ERROR(EvalRow(vi, input, +1, lm * c.add, out));
      }
      return Status::OK();
    }));
  }
  return Status::OK();
}

void ViewEngine::Impl::EnsureOneGroup(View& v, ByteTable* groups) {
  if (!v.plan->always_one_group || groups->Contains("")) return;
  GroupState g;
  g.aggs.resize(v.plan->aggregates.size());
  std::string bytes;
  EncodeGroup(g, &bytes);
  groups->Put("", bytes);
}

void ViewEngine::Impl::PrefetchDeltas(size_t begin, size_t end) {
  constexpr size_t kMax = 32;
  uint64_t hash[kMax];
  end = std::min(end, begin + kMax);
  bool values = false;
  for (size_t i = begin; i < end; ++i) {
    const View& v = vstate[deltas[i].view];
    hash[i - begin] = ByteTable::Hash(deltas[i].key);
    v.groups.PrefetchSlot(hash[i - begin]);
    values |= v.keeps_values;
  }
  for (size_t i = begin; i < end; ++i) vstate[deltas[i].view].groups.PrefetchBlock(hash[i - begin]);
  if (!values) return;
  prefetch_sets.clear();
  for (size_t i = begin; i < end; ++i) {
    const Delta& d = deltas[i];
    const View& v = vstate[d.view];
    std::string_view val;
    if (!v.keeps_values || !v.groups.Get(d.key, hash[i - begin], &val)) continue;
    GroupState& g = prefetch_group;
    if (!DecodeGroup(val, v.plan->aggregates.size(), &g)) continue;
    for (size_t j = 0; j < g.aggs.size(); ++j) {
      const sql::ValueCounts* set = g.aggs[j].values.get();
      if (set == nullptr || d.args[j].is_null()) continue;
      __builtin_prefetch(set);
      prefetch_sets.emplace_back(set, sql::Hash(d.args[j]));
    }
    g.Release();
  }
  for (const auto& [set, h] : prefetch_sets) set->PrefetchSlot(h);
  for (const auto& [set, h] : prefetch_sets) set->PrefetchEntry(h);
}

Status ViewEngine::Impl::ApplyDelta(View& v, ByteTable* groups, const Delta& d) {
  const sql::ViewPlan& plan = *v.plan;
  const size_t n = plan.aggregates.size();
  GroupState& g = group;
  std::string_view val;
  bool existed = groups->Get(d.key, &val);
  if (existed) {
    if (!DecodeGroup(val, n, &g)) return Status::Internal("view state: a damaged group");
  } else {
    if (d.sign < 0) return Status::Internal("view state: retracting a row from a group that does not exist");
    g.rows = 0;
    g.aggs.clear();
    g.aggs.resize(n);
  }
  const bool counted = groups == &v.groups;  // a rebuild's scratch groups are recounted when swapped in
  if (counted) ++v.changes;
  const int64_t bytes_before = counted && existed ? ValuesBytes(g) : 0;
  for (int64_t t = 0; t < d.times; ++t) {
    for (size_t j = 0; j < n; ++j) {
      Status st = sql::Accumulate(plan.aggregates[j], &g.aggs[j], d.args[j], d.sign);
      if (st.ok()) continue;
      // Undo this delta's earlier steps, so the group is as before.
      for (int64_t u = t; u >= 0; --u) {
        for (size_t i = (u == t ? j : n); i-- > 0;) {
          (void)sql::Accumulate(plan.aggregates[i], &g.aggs[i], d.args[i], -d.sign);
        }
      }
      if (existed) {
        g.Release();  // the maps stay the group's
      } else {
        g.FreeMaps();  // a new group's maps were never stored
      }
      return st;
    }
  }
  g.rows += d.sign * d.times;
  if (g.rows == 0 && !plan.always_one_group) {
    groups->Erase(d.key);
    g.FreeMaps();
    if (counted) v.values_bytes -= bytes_before;
    return Status::OK();
  }
  if (counted) v.values_bytes += ValuesBytes(g) - bytes_before;
  EncodeGroup(g, &group_bytes);
  groups->Put(d.key, group_bytes);
  g.Release();
  return Status::OK();
}

void ViewEngine::Impl::ReindexRow(int ti, const std::string& key, const std::string* old_value,
                                  const std::string* new_value, const std::vector<sql::Datum>* old_decoded,
                                  const std::vector<sql::Datum>* new_decoded) {
  const Table& t = tables[ti];
  if (!t.joined) return;
  std::vector<sql::Datum> old_scratch, new_scratch;
  auto decode = [&](const std::string* value, const std::vector<sql::Datum>* given,
                    std::vector<sql::Datum>* scratch) -> const std::vector<sql::Datum>* {
    if (!value) return nullptr;
    if (given) return given;
    scratch->resize(static_cast<size_t>(t.join_columns));  // the columns after the last join column are not needed
    std::string_view bytes = t.keyless() ? std::string_view(key) : std::string_view(*value);
    for (auto& d : *scratch) GetDatum(&bytes, &d);
    return scratch;
  };
  const std::vector<sql::Datum>* old_row = decode(old_value, old_decoded, &old_scratch);
  const std::vector<sql::Datum>* new_row = decode(new_value, new_decoded, &new_scratch);
  std::string ok, nk;
  for (auto [vi, s] : t.users) {
    View& v = vstate[vi];
    if (v.sides != 2) continue;
    const int slot = v.side[s].join_slot;
    bool has_old = old_row && !(*old_row)[slot].is_null();
    bool has_new = new_row && !(*new_row)[slot].is_null();
    // The same value (kind, scale and bits) has the same join key: the row stays where it is.
    if (has_old && has_new && Identical((*old_row)[slot], (*new_row)[slot])) continue;
    ok.clear();
    nk.clear();
    if (has_old) PutJoinKey(&ok, (*old_row)[slot]);
    if (has_new) PutJoinKey(&nk, (*new_row)[slot]);
    if (has_old && has_new && ok == nk) continue;  // same join key: the row stays where it is
    JoinIndex& index = v.index[s];
    // Both sets first, then their slots (and the old set's block) prefetched together, so that the
    // removal's and the insertion's cache misses overlap. Pointers to map values survive a rehash.
    ByteTable* from = nullptr;
    ByteTable* to = nullptr;
    if (has_old) {
      if (auto it = index.find(ok); it != index.end()) from = &it->second;
    }
    if (has_new) {
      auto [it, new_key] = index.try_emplace(nk);
      if (new_key) v.index_bytes += IndexKeyBytes(it->first);
      to = &it->second;
    }
    const uint64_t h = ByteTable::Hash(key);
    if (from) from->PrefetchSlot(h);
    if (to) to->PrefetchSlot(h);
    if (from) {
      from->PrefetchBlock(h);
      v.index_bytes -= static_cast<int64_t>(from->bytes());
      from->Erase(key);
      if (from->size() == 0) {
        auto it = index.find(ok);
        v.index_bytes -= IndexKeyBytes(it->first);
        index.erase(it);
      } else {
        v.index_bytes += static_cast<int64_t>(from->bytes());
      }
    }
    if (to) {
      v.index_bytes -= static_cast<int64_t>(to->bytes());
      to->Put(key, {});
      v.index_bytes += static_cast<int64_t>(to->bytes());
    }
  }
}

void ViewEngine::Impl::RecountBytes(View& v) {
  v.index_bytes = 0;
  for (const JoinIndex& index : v.index) {
    for (const auto& [jk, keys] : index) v.index_bytes += IndexKeyBytes(jk) + keys.bytes();
  }
  v.values_bytes = 0;
  GroupState g;
  v.groups.ForEach([&](std::string_view, std::string_view val) {
    if (!DecodeGroup(val, v.plan->aggregates.size(), &g)) return;
    v.values_bytes += ValuesBytes(g);
    g.Release();
  });
}

void ViewEngine::Impl::SetRow(int ti, const std::string& key, const std::optional<std::string>& old_value,
                              const std::optional<std::string>& new_value, const std::vector<sql::Datum>* old_row,
                              const std::vector<sql::Datum>* new_row) {
  Table& t = tables[ti];
  // A keyless row is in the join index while its count is above zero (its key is its values).
  if (!t.keyless() || !old_value || !new_value) {
    ReindexRow(ti, key, old_value ? &*old_value : nullptr, new_value ? &*new_value : nullptr, old_row, new_row);
  }
  if (new_value) {
    t.rows.Put(key, *new_value);
  } else {
    t.rows.Erase(key);
  }
}

Status ViewEngine::Impl::Rebuild(int vi, ByteTable* groups) {
  View& v = vstate[vi];
  EnsureOneGroup(v, groups);
  const Table& t = tables[v.side[0].table];
  DeltaList out;
  std::vector<sql::Datum> row;
  Status st;
  Change c;
  t.rows.ForEach([&](std::string_view key, std::string_view) {
    if (!st.ok()) return;
    int64_t mult;
    if (!LoadRow(t, key, &row, &mult)) return;
    // The row as an insertion into an empty left side (the right side's index is current).
    c.new_row = row;
    c.add = mult;
    out.clear();
    st = ChangeDeltas(vi, 0, c, /*post_left=*/false, &out);
    for (const Delta& d : out) {
      if (st.ok()) st = ApplyDelta(v, groups, d);
    }
  });
  return st;
}

Status ViewEngine::Impl::Truncate(int ti) {
  Table& t = tables[ti];
  ByteTable old_rows;
  old_rows.Swap(t.rows);
  std::vector<std::pair<int, JoinIndex>> old_index;
  for (auto [vi, s] : t.users) {
    old_index.emplace_back(vi * 2 + s, std::move(vstate[vi].index[s]));
    vstate[vi].index[s].clear();
  }
  std::vector<std::pair<int, ByteTable>> rebuilt;
  Status st;
  for (auto [vi, s] : t.users) {
    bool done = false;
    for (auto& r : rebuilt) done |= r.first == vi;
    if (done) continue;
    rebuilt.emplace_back(vi, ByteTable());
    st = Rebuild(vi, &rebuilt.back().second);
    if (!st.ok()) {
      st = st.WithContext("view \"" + vstate[vi].plan->name + "\"");
      break;
    }
  }
  if (!st.ok()) {
    for (auto& [vi, groups] : rebuilt) FreeGroups(vstate[vi], &groups);
    t.rows.Swap(old_rows);
    for (auto& [id, index] : old_index) vstate[id / 2].index[id % 2] = std::move(index);
    return st;
  }
  for (auto& [vi, groups] : rebuilt) {
    FreeGroups(vstate[vi], &vstate[vi].groups);
    vstate[vi].groups.Swap(groups);
  }
  for (auto [vi, s] : t.users) {
    RecountBytes(vstate[vi]);
    ++vstate[vi].changes;
  }
  return Status::OK();
}

Status ViewEngine::ApplyRaw(std::string_view topic, std::optional<std::string_view> value) {
  return Apply(topic, value, nullptr);
}

Status ViewEngine::ApplyChange(std::string_view topic, std::string_view change) {
  return Apply(topic, std::nullopt, &change);
}

std::vector<event::TableSchema> ViewEngine::DecodedColumns() const {
  std::vector<event::TableSchema> out;
  for (const Table& t : impl_->tables) {
    event::TableSchema& s = out.emplace_back();
    s.relation_id = t.schema->relation_id;
    s.schema = t.schema->schema;
    s.table = t.schema->table;
    for (int c : t.decode) s.columns.push_back(t.schema->columns[c]);
  }
  return out;
}

Status ViewEngine::Apply(std::string_view topic, std::optional<std::string_view> value,
                         const std::string_view* change) {
  Impl& m = *impl_;
  int ti = m.TableOf(topic);
  if (ti < 0 || (!value && !change)) return Status::OK();
  Table& t = m.tables[ti];
  Decoded& ev = m.event;  // reused: its images keep their buffers
  ev.op = 0;
  ev.before.present = ev.after.present = false;
  ev.lsn = Lsn();
  ev.value_error = Status::OK();
  Status st = change ? m.DecodeChange(t, *change, &ev) : m.Decode(t, *value, &ev);
  auto where = [&](const std::vector<sql::Datum>& decoded) {
    return "table " + t.name + ", key " + m.KeyText(t, decoded) + ", LSN " +
           (ev.lsn.valid() ? ev.lsn.ToString() : std::string("(none)"));
  };
  if (!st.ok()) {
    return Status::Corruption("Debezium event of " + t.name + " (topic " + std::string(topic) + "): " + st.message());
  }
  const std::vector<sql::Datum> none;
  const auto& key_source = ev.after.present ? ev.after.values : ev.before.present ? ev.before.values : none;
  if (!ev.value_error.ok()) {
    return Status::InvalidArgument(where(key_source) + ": " + ev.value_error.message());
  }
  auto done = [&]() {
    if (ev.lsn > m.max_lsn) m.max_lsn = ev.lsn;
    return Status::OK();
  };
  if (ev.op == 't') {
    Status ts = m.Truncate(ti);
    if (!ts.ok()) return Status::InvalidArgument("TRUNCATE of " + where({}) + ": " + ts.message());
    return done();
  }
  if (ev.op != 'r' && ev.op != 'c' && ev.op != 'u' && ev.op != 'd') {
    return Status::Corruption("Debezium event of " + t.name + ": unknown op '" + std::string(1, ev.op) + "'");
  }
  if (ev.op != 'd' && !ev.after.present) {
    return Status::Corruption("Debezium event of " + t.name + ": op '" + std::string(1, ev.op) + "' without \"after\"");
  }
  if (ev.op == 'd' && !ev.before.present) {
    return Status::Corruption("Debezium event of " + t.name + ": op 'd' without \"before\"");
  }
  auto has_key = [&](const Image& img) {
    for (int k : t.keys) {
      if (!img.seen[k] || img.values[k].is_null()) return false;
    }
    return true;
  };
  if (!t.keyless() && ev.after.present && !has_key(ev.after)) {
    return Status::Corruption("Debezium event of " + t.name + ": the after image has no primary key");
  }

  // The event as row changes (at most two), applied one after the other. The Changes are reused
  // from event to event (their rows keep their buffers).
  size_t nchanges = 0;
  auto new_change = [&]() -> Change& {
    if (nchanges == m.change_pool.size()) m.change_pool.emplace_back();
    Change& c = m.change_pool[nchanges++];
    c.old_row.clear();
    c.new_row.clear();
    c.rm = c.add = 0;
    c.old_value.reset();
    c.new_value.reset();
    return c;
  };
  auto remove_key = [&](const std::string& key) {
    std::string_view val;
    if (!t.rows.Get(key, &val)) return;  // unknown key: its insert predates this history
    Change& c = new_change();
    c.key = key;
    c.old_value = std::string(val);
  };
  if (t.keyless()) {
    // Value identity: the full before image names the row.
    if (ev.op == 'u' || ev.op == 'd') {
      if (ev.before.present) {
        Change& c = new_change();
        c.key = m.RowKey(t, ev.before.values);
        c.rm = 1;
      }
    }
    if (ev.op != 'd') {
      Change& c = new_change();
      c.key = m.RowKey(t, ev.after.values);
      c.add = 1;
    }
  } else {
    std::string after_key = ev.after.present ? m.RowKey(t, ev.after.values) : std::string();
    if (ev.op == 'u' || ev.op == 'd') {
      if (ev.before.present && has_key(ev.before)) {
        std::string before_key = m.RowKey(t, ev.before.values);
        if (ev.op == 'd' || before_key != after_key) remove_key(before_key);
      }
    }
    if (ev.op != 'd') {
      Change& c = new_change();
      c.key = std::move(after_key);
      c.add = 1;
    }
  }

  // Apply: deltas first (undone on failure), then the row store (undone on failure of a later change).
  // m.deltas holds the event's deltas, of every change; the first `applied` of them are applied, and
  // the first `stored` changes are in the row store.
  m.deltas.clear();
  size_t applied = 0;
  size_t stored[2], nstored = 0;  // the changes in the row store (an event has at most two changes)
  auto rollback = [&]() {
    for (size_t i = applied; i-- > 0;) {
      Delta& d = m.deltas[i];
      d.sign = -d.sign;
      (void)m.ApplyDelta(m.vstate[d.view], &m.vstate[d.view].groups, d);
    }
    for (size_t i = nstored; i-- > 0;) {
      const Change& c = m.change_pool[stored[i]];
      m.SetRow(ti, c.key, c.new_value, c.old_value);
    }
  };
  for (size_t ci = 0; ci < nchanges; ++ci) {
    Change& c = m.change_pool[ci];
    // Fill in the rows from the store and the image.
    std::string_view val;
    bool have = t.rows.Get(c.key, &val);
    if (have) c.old_value = std::string(val);
    if (t.keyless()) {
      std::string_view bytes = c.key;
      c.old_row.resize(t.stored.size());
      for (auto& d : c.old_row) GetDatum(&bytes, &d);
      c.new_row = c.old_row;
      uint64_t count = 0;
      if (have) {
        std::string_view v = val;
        GetVarint(&v, &count);
      }
      if (c.rm && count == 0) continue;  // a row this history has not seen
      uint64_t next = count - c.rm + c.add;
      if (next == 0) {
        c.new_value.reset();
      } else {
        c.new_value.emplace();
        PutVarint(&*c.new_value, next);
      }
    } else {
      if (have) {
        int64_t mult;
        m.LoadRow(t, c.key, &c.old_row, &mult);
        c.rm = 1;
      }
      if (c.add) {
        m.StoredOf(t, ev.after.values, &c.new_row);
        // An unchanged TOASTed value Debezium could not send: keep the stored one.
        if (have) {
          for (size_t i = 0; i < c.new_row.size(); ++i) {
            const sql::Datum& d = c.new_row[i];
            if (d.kind == sql::Datum::Kind::kText && d.s == kToastPlaceholder) c.new_row[i] = c.old_row[i];
          }
        }
        c.new_value.emplace();
        for (const auto& d : c.new_row) PutDatum(&*c.new_value, d, false);
      }
    }
    Status cs;
    for (auto [vi, s] : t.users) {
      // A self-join's change: (new L - L) x R, then L' x (new R - R).
      const size_t first = m.deltas.size();
      cs = m.ChangeDeltas(vi, s, c, /*post_left=*/m.vstate[vi].self_join && s == 1, &m.deltas);
      if (cs.ok() && m.deltas.size() == first + 2 && CancelOut(m.deltas[first], m.deltas[first + 1])) {
        // An update this view does not see (same group, same arguments): nothing to do. Exact, and
        // a float sum is not rounded twice for nothing.
        m.deltas.resize(first);
      }
      if (!cs.ok()) {
        cs = Status::InvalidArgument("view \"" + m.vstate[vi].plan->name + "\": " + where(ev.after.present ? ev.after.values : ev.before.values) + ": " + cs.message());
        break;
      }
    }
    if (cs.ok()) {
      for (size_t prefetched = applied; applied < m.deltas.size(); ++applied) {
        if (applied == prefetched) {
          prefetched = std::min(m.deltas.size(), applied + 16);
          m.PrefetchDeltas(applied, prefetched);
        }
        const Delta& d = m.deltas[applied];
        View& v = m.vstate[d.view];
        cs = m.ApplyDelta(v, &v.groups, d);
        if (!cs.ok()) {
          cs = Status::InvalidArgument("view \"" + v.plan->name + "\": " + where(ev.after.present ? ev.after.values : ev.before.values) + ": " + cs.message());
          break;
        }
      }
    }
    if (!cs.ok()) {
      rollback();
      return cs;
    }
    // c's rows are what its values encode (keyless: the key's values, whatever the count).
    auto decoded = [&](const std::optional<std::string>& value, const std::vector<sql::Datum>& row) {
      return value && row.size() == t.stored.size() ? &row : nullptr;
    };
    m.SetRow(ti, c.key, c.old_value, c.new_value, decoded(c.old_value, c.old_row), decoded(c.new_value, c.new_row));
    stored[nstored++] = ci;
  }
  return done();
}

// ---------------------------------------------------------------------------------------------------
// Results

Result<ViewRows> ViewEngine::Rows(size_t i) const {
  const View& v = impl_->vstate[i];
  const sql::ViewPlan& plan = *v.plan;
  const size_t nk = plan.group_keys.size(), na = plan.aggregates.size();
  ViewRows out;
  Status st;
  GroupState g;
  std::vector<sql::Datum> group_row(nk + na);
  v.groups.ForEach([&](std::string_view key, std::string_view val) {
    if (!st.ok()) return;
    for (size_t k = 0; k < nk; ++k) {
      if (!GetDatum(&key, &group_row[k])) {
        st = Status::Internal("view state: a damaged group key");
        return;
      }
      // Keys are canonical (1.5 for 1.50): give a typed numeric its declared scale back.
      const sql::Type& type = plan.group_keys[k]->type();
      sql::Datum& d = group_row[k];
      if (d.kind == sql::Datum::Kind::kNumeric && type.id == sql::TypeId::kNumeric && type.scale > d.scale) {
        while (d.scale < type.scale) {
          d.n *= 10;
          ++d.scale;
        }
      }
    }
    if (!DecodeGroup(val, na, &g)) {
      st = Status::Internal("view state: a damaged group");
      return;
    }
    for (size_t j = 0; j < na && st.ok(); ++j) {
      st = sql::Finalize(plan.aggregates[j], sql::FinalState(plan.aggregates, g.aggs, j), &group_row[nk + j]);
    }
    int64_t rows = g.rows;
    g.Release();
    if (!st.ok()) return;
    if (plan.having) {
      sql::Datum h;
      st = plan.having->Eval(group_row.data(), &h);
      if (!st.ok() || h.kind != sql::Datum::Kind::kBool || !h.b) return;
    }
    std::vector<sql::Datum> row(plan.outputs.size());
    for (size_t c = 0; c < plan.outputs.size() && st.ok(); ++c) st = plan.outputs[c].expr->Eval(group_row.data(), &row[c]);
    if (!st.ok()) return;
    int64_t repeat = plan.bag && !plan.distinct ? rows : 1;
    for (int64_t r = 1; r < repeat; ++r) out.rows.push_back(row);
    if (repeat > 0) out.rows.push_back(std::move(row));
  });
  if (!st.ok()) return st.WithContext("view \"" + plan.name + "\"");
  auto cmp = [](const std::vector<sql::Datum>& a, const std::vector<sql::Datum>& b) {
    for (size_t c = 0; c < a.size(); ++c) {
      int r = sql::Compare(a[c], b[c]);
      if (r != 0) return r;
    }
    return 0;
  };
  std::sort(out.rows.begin(), out.rows.end(), [&](const auto& a, const auto& b) { return cmp(a, b) < 0; });
  if (plan.distinct) {
    out.rows.erase(std::unique(out.rows.begin(), out.rows.end(), [&](const auto& a, const auto& b) { return cmp(a, b) == 0; }),
                   out.rows.end());
  }
  return out;
}

Status ViewEngine::ForEachRowChunk(size_t i, size_t chunk_rows,
                                   const std::function<Status(const ViewRows&)>& fn) const {
  const View& v = impl_->vstate[i];
  const sql::ViewPlan& plan = *v.plan;
  const size_t nk = plan.group_keys.size(), na = plan.aggregates.size();
  // Every result row as an order-preserving key in one buffer; sorted by memcmp.
  struct Entry {
    uint64_t offset;
    uint32_t size;
    int64_t repeat;
  };
  std::string keys;
  std::vector<Entry> entries;
  entries.reserve(v.groups.size());
  Status st;
  GroupState g;
  std::vector<sql::Datum> group_row(nk + na), row(plan.outputs.size());
  v.groups.ForEach([&](std::string_view key, std::string_view val) {
    if (!st.ok()) return;
    for (size_t k = 0; k < nk; ++k) {
      if (!GetDatum(&key, &group_row[k])) {
        st = Status::Internal("view state: a damaged group key");
        return;
      }
    }
    if (!DecodeGroup(val, na, &g)) {
      st = Status::Internal("view state: a damaged group");
      return;
    }
    for (size_t j = 0; j < na && st.ok(); ++j) {
      st = sql::Finalize(plan.aggregates[j], sql::FinalState(plan.aggregates, g.aggs, j), &group_row[nk + j]);
    }
    int64_t rows = g.rows;
    g.Release();
    if (!st.ok()) return;
    if (plan.having) {
      sql::Datum h;
      st = plan.having->Eval(group_row.data(), &h);
      if (!st.ok() || h.kind != sql::Datum::Kind::kBool || !h.b) return;
    }
    for (size_t c = 0; c < plan.outputs.size() && st.ok(); ++c) st = plan.outputs[c].expr->Eval(group_row.data(), &row[c]);
    if (!st.ok()) return;
    int64_t repeat = plan.bag && !plan.distinct ? rows : 1;
    if (repeat <= 0) return;
    uint64_t offset = keys.size();
    for (const auto& d : row) PutSortKey(&keys, d);
    entries.push_back({offset, static_cast<uint32_t>(keys.size() - offset), repeat});
  });
  if (!st.ok()) return st.WithContext("view \"" + plan.name + "\"");
  auto key_of = [&](const Entry& e) { return std::string_view(keys).substr(e.offset, e.size); };
  std::sort(entries.begin(), entries.end(), [&](const Entry& a, const Entry& b) { return key_of(a) < key_of(b); });
  ViewRows chunk;
  chunk_rows = std::max<size_t>(chunk_rows, 1);
  std::string_view previous;
  for (size_t e = 0; e < entries.size(); ++e) {
    std::string_view k = key_of(entries[e]);
    if (plan.distinct && e > 0 && k == previous) continue;
    previous = k;
    for (size_t c = 0; c < row.size(); ++c) {
      if (!GetSortKey(&k, &row[c])) return Status::Internal("view \"" + plan.name + "\": a damaged sort key");
    }
    // Typed numerics get their declared scale back (the key dropped trailing zeros).
    for (size_t c = 0; c < row.size(); ++c) {
      const sql::Type& type = plan.outputs[c].type;
      sql::Datum& d = row[c];
      if (d.kind == sql::Datum::Kind::kNumeric && type.id == sql::TypeId::kNumeric && type.scale > d.scale) {
        while (d.scale < type.scale) {
          d.n *= 10;
          ++d.scale;
        }
      }
    }
    for (int64_t r = 0; r < entries[e].repeat; ++r) {
      chunk.rows.push_back(row);
      if (chunk.rows.size() >= chunk_rows) {
        CDC_RETURN_IF_ERROR(fn(chunk));
        chunk.rows.clear();
      }
    }
  }
  if (!chunk.rows.empty()) CDC_RETURN_IF_ERROR(fn(chunk));
  return Status::OK();
}

// ---------------------------------------------------------------------------------------------------
// Checkpoint

void ViewEngine::Impl::ClearAll() {
  for (Table& t : tables) t.rows.Clear();
  for (View& v : vstate) {
    FreeGroups(v, &v.groups);
    v.index[0].clear();
    v.index[1].clear();
    v.index_bytes = 0;
    v.values_bytes = 0;
    ++v.changes;
    EnsureOneGroup(v, &v.groups);
  }
  max_lsn = Lsn();
}

void ViewEngine::Clear() { impl_->ClearAll(); }

namespace {

void PutHeader(std::string* out, const std::vector<View>& views, const std::vector<Table>& tables) {
  PutVarint(out, views.size());
  for (const View& v : views) {
    PutBytes(out, v.plan->name);
    PutBytes(out, v.plan->fingerprint);
  }
  PutVarint(out, tables.size());
  for (const Table& t : tables) {
    PutBytes(out, t.name);
    PutVarint(out, t.schema->columns.size());
    for (const event::Column& c : t.schema->columns) {
      PutBytes(out, c.name);
      PutVarint(out, c.type_oid);
      PutZigzag(out, c.type_modifier);
      out->push_back(c.key ? 1 : 0);
    }
  }
}

}  // namespace

void ViewEngine::Save(std::string* out) const {
  const Impl& m = *impl_;
  out->clear();
  out->append(kMagic);
  PutFixed<uint32_t>(out, kVersion);
  PutHeader(out, m.vstate, m.tables);
  PutFixed<uint64_t>(out, m.max_lsn.value());
  for (const Table& t : m.tables) {
    PutVarint(out, t.rows.size());
    t.rows.ForEach([&](std::string_view k, std::string_view v) {
      PutBytes(out, k);
      PutBytes(out, v);
    });
  }
  GroupState g;
  for (const View& v : m.vstate) {
    PutVarint(out, v.groups.size());
    v.groups.ForEach([&](std::string_view k, std::string_view val) {
      PutBytes(out, k);
      DecodeGroup(val, v.plan->aggregates.size(), &g);
      PutVarint(out, static_cast<uint64_t>(g.rows));
      for (const auto& a : g.aggs) PutStateSaved(out, a);
      g.Release();
    });
  }
  PutFixed<uint64_t>(out, Checksum(*out));
}

Status ViewEngine::Load(std::string_view bytes) {
  Impl& m = *impl_;
  m.ClearAll();
  auto corrupt = [&](std::string_view what) {
    m.ClearAll();
    return Status::Corruption("view state checkpoint: " + std::string(what) +
                              " (delete it to recompute the views from the raw history)");
  };
  if (bytes.size() < kMagic.size() + 4 + 8 || bytes.substr(0, kMagic.size()) != kMagic) return corrupt("bad magic");
  std::string_view body = bytes.substr(0, bytes.size() - 8);
  uint64_t sum = 0;
  std::string_view tail = bytes.substr(bytes.size() - 8);
  GetFixed(&tail, &sum);
  if (sum != Checksum(body)) return corrupt("checksum mismatch (damaged or truncated)");
  std::string_view in = body.substr(kMagic.size());
  uint32_t version = 0;
  GetFixed(&in, &version);
  if (version != kVersion) return corrupt("unknown version " + std::to_string(version));
  std::string header;
  PutHeader(&header, m.vstate, m.tables);
  if (in.size() < header.size() || in.substr(0, header.size()) != header) {
    m.ClearAll();
    return Status::FailedPrecondition(
        "view state checkpoint was built for other view definitions or table columns: the views are recomputed "
        "from the raw history");
  }
  in.remove_prefix(header.size());
  uint64_t lsn;
  if (!GetFixed(&in, &lsn)) return corrupt("truncated");
  for (Table& t : m.tables) {
    uint64_t n;
    if (!GetVarint(&in, &n) || n > in.size()) return corrupt("bad row count");
    t.rows.Reserve(n);
    for (uint64_t i = 0; i < n; ++i) {
      std::string_view k, v;
      if (!GetBytes(&in, &k) || !GetBytes(&in, &v)) return corrupt("truncated row");
      t.rows.Put(k, v);
    }
  }
  for (size_t ti = 0; ti < m.tables.size(); ++ti) {
    std::vector<std::string> keys;
    keys.reserve(m.tables[ti].rows.size());
    m.tables[ti].rows.ForEach([&](std::string_view k, std::string_view) { keys.emplace_back(k); });
    for (const std::string& k : keys) {
      std::string_view v;
      m.tables[ti].rows.Get(k, &v);
      const std::string value(v);
      m.ReindexRow(static_cast<int>(ti), k, nullptr, &value);
    }
  }
  std::string enc;
  for (View& v : m.vstate) {
    FreeGroups(v, &v.groups);
    uint64_t n;
    if (!GetVarint(&in, &n) || n > in.size()) return corrupt("bad group count");
    v.groups.Reserve(n);
    for (uint64_t i = 0; i < n; ++i) {
      std::string_view k;
      uint64_t rows;
      if (!GetBytes(&in, &k) || !GetVarint(&in, &rows)) return corrupt("truncated group");
      GroupState g;
      g.rows = static_cast<int64_t>(rows);
      g.aggs.resize(v.plan->aggregates.size());
      for (size_t j = 0; j < g.aggs.size(); ++j) {
        if (!GetStateSaved(&in, sql::ValuesOrder(v.plan->aggregates[j]), &g.aggs[j])) {
          return corrupt("bad aggregate state");
        }
      }
      EncodeGroup(g, &enc);
      v.groups.Put(k, enc);
      g.Release();  // the group's bytes own the maps now
    }
  }
  if (!in.empty()) return corrupt("trailing bytes");
  for (View& v : m.vstate) {
    m.RecountBytes(v);
    ++v.changes;
  }
  m.max_lsn = Lsn(lsn);
  return Status::OK();
}

}  // namespace cdc::analytics
