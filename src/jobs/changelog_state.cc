#include "jobs/changelog_state.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>

#include "base/fixed_bytes.h"

namespace cdc::jobs {

namespace od = simdjson::ondemand;

AnalyticsTable TableOfTopic(std::string_view topic) {
  size_t dot = topic.rfind('.');
  std::string_view table = dot == std::string_view::npos ? topic : topic.substr(dot + 1);
  if (table == "klienci") return AnalyticsTable::kKlienci;
  if (table == "pracownicy") return AnalyticsTable::kPracownicy;
  return AnalyticsTable::kOther;
}

// ---------------------------------------------------------------------------------------------------
// ChangeExtractor

struct ChangeExtractor::Impl {
  od::parser parser;
  std::string padded;  // the value copied with SIMDJSON_PADDING bytes behind it
};

ChangeExtractor::ChangeExtractor() : impl_(std::make_unique<Impl>()) {}
ChangeExtractor::~ChangeExtractor() = default;

namespace {

Status JsonError(simdjson::error_code code, std::string_view where) {
  return Status::Corruption("Debezium event: " + std::string(where) + ": " + simdjson::error_message(code));
}

// Reads the fields the aggregates need from a before/after image. A JSON null leaves everything unset.
simdjson::error_code ReadImage(od::value& v, AnalyticsTable table, bool want_columns, std::optional<int64_t>* id,
                               ExtractedChange* out) {
  od::json_type type;
  if (auto e = v.type().get(type)) return e;
  if (type == od::json_type::null) return simdjson::SUCCESS;
  od::object obj;
  if (auto e = v.get_object().get(obj)) return e;
  for (auto field : obj) {
    od::raw_json_string key;
    if (auto e = field.key().get(key)) return e;
    od::value fv = field.value();
    if (key == "id") {
      int64_t x;
      if (auto e = fv.get_int64().get(x)) return e;
      *id = x;
      continue;
    }
    if (!want_columns) continue;
    bool is_group = (table == AnalyticsTable::kKlienci && key == "kraj") ||
                    (table == AnalyticsTable::kPracownicy && key == "stanowisko");
    if (is_group) {
      od::json_type t;
      if (auto e = fv.type().get(t)) return e;
      if (t == od::json_type::null) {
        out->group.reset();
      } else {
        std::string_view s;
        if (auto e = fv.get_string().get(s)) return e;
        out->group = s;
      }
    } else if (table == AnalyticsTable::kPracownicy && key == "wiek") {
      od::json_type t;
      if (auto e = fv.type().get(t)) return e;
      if (t == od::json_type::null) {
        out->wiek.reset();
      } else {
        int64_t x;
        if (auto e = fv.get_int64().get(x)) return e;
        out->wiek = x;
      }
    }
  }
  return simdjson::SUCCESS;
}

simdjson::error_code ReadSource(od::value& v, ExtractedChange* out) {
  od::json_type type;
  if (auto e = v.type().get(type)) return e;
  if (type != od::json_type::object) return simdjson::SUCCESS;
  od::object obj;
  if (auto e = v.get_object().get(obj)) return e;
  for (auto field : obj) {
    od::raw_json_string key;
    if (auto e = field.key().get(key)) return e;
    if (key == "lsn") {
      od::value fv = field.value();
      od::json_type t;
      if (auto e = fv.type().get(t)) return e;
      if (t == od::json_type::number) {
        uint64_t x;
        if (auto e = fv.get_uint64().get(x)) return e;
        out->lsn = Lsn(x);
      }
    }
  }
  return simdjson::SUCCESS;
}

// Reads an envelope object; when it meets "payload" it descends into it (the schema wrapper).
simdjson::error_code ReadEnvelope(od::object& obj, AnalyticsTable table, ExtractedChange* out, int depth) {
  for (auto field : obj) {
    od::raw_json_string key;
    if (auto e = field.key().get(key)) return e;
    od::value v = field.value();
    if (key == "before") {
      if (auto e = ReadImage(v, table, /*want_columns=*/false, &out->before_id, out)) return e;
    } else if (key == "after") {
      if (auto e = ReadImage(v, table, /*want_columns=*/true, &out->after_id, out)) return e;
    } else if (key == "op") {
      std::string_view op;
      if (auto e = v.get_string().get(op)) return e;
      out->op = op.size() == 1 ? op[0] : '?';
    } else if (key == "source") {
      if (auto e = ReadSource(v, out)) return e;
    } else if (key == "payload" && depth == 0) {
      od::object inner;
      if (auto e = v.get_object().get(inner)) return e;
      return ReadEnvelope(inner, table, out, depth + 1);
    }
  }
  return simdjson::SUCCESS;
}

}  // namespace

Status ChangeExtractor::Extract(std::string_view value, AnalyticsTable table, ExtractedChange* out) {
  *out = ExtractedChange{};
  std::string& buf = impl_->padded;
  if (buf.size() < value.size() + simdjson::SIMDJSON_PADDING) buf.resize(value.size() + simdjson::SIMDJSON_PADDING);
  std::memcpy(buf.data(), value.data(), value.size());
  od::document doc;
  if (auto e = impl_->parser.iterate(buf.data(), value.size(), buf.size()).get(doc)) return JsonError(e, "not JSON");
  od::object obj;
  if (auto e = doc.get_object().get(obj)) return JsonError(e, "not a JSON object");
  if (auto e = ReadEnvelope(obj, table, out, 0)) return JsonError(e, "bad envelope");
  if (out->op == 0) return Status::Corruption("Debezium event: no \"op\" field in the envelope");
  return Status::OK();
}

// ---------------------------------------------------------------------------------------------------
// ChangelogState

ChangelogState::GroupPool::GroupPool() { Clear(); }

void ChangelogState::GroupPool::Clear() {
  index_.clear();
  names_.clear();
  names_.emplace_back(std::nullopt);
}

uint32_t ChangelogState::GroupPool::Intern(std::optional<std::string_view> name) {
  if (!name) return 0;
  auto it = index_.find(*name);
  if (it != index_.end()) return it->second;
  uint32_t idx = static_cast<uint32_t>(names_.size());
  names_.emplace_back(std::string(*name));
  index_.emplace(std::string(*name), idx);
  return idx;
}

ChangelogState::ChangelogState() { Clear(); }

void ChangelogState::Clear() {
  countries_.Clear();
  positions_.Clear();
  klienci_.Clear();
  pracownicy_.Clear();
  country_counts_.assign(1, 0);
  position_aggs_.assign(1, PositionAgg{});
  max_lsn_ = Lsn();
  base_.reset();
}

void ChangelogState::ReserveChanges(AnalyticsTable table, size_t n) {
  if (table == AnalyticsTable::kKlienci) klienci_.ReserveOverlay(n);
  if (table == AnalyticsTable::kPracownicy) pracownicy_.ReserveOverlay(n);
}

Status ChangelogState::Apply(AnalyticsTable table, const ExtractedChange& c) {
  if (table == AnalyticsTable::kOther) return Status::OK();
  switch (c.op) {
    case 'r':
    case 'c':
    case 'u':
      if (!c.after_id) {
        return Status::InvalidArgument(std::string("change event op '") + c.op + "' has no after.id");
      }
      break;
    case 'd':
      if (!c.before_id) return Status::InvalidArgument("change event op 'd' has no before.id");
      break;
    case 't':
      break;
    default:
      return Status::InvalidArgument(std::string("change event has unknown op '") + c.op + "'");
  }
  if (c.lsn.valid() && c.lsn.value() > max_lsn_.value()) max_lsn_ = c.lsn;
  if (table == AnalyticsTable::kKlienci) {
    ApplyKlienci(c);
  } else {
    ApplyPracownicy(c);
  }
  return Status::OK();
}

void ChangelogState::RetractKlient(int64_t id) {
  uint32_t old;
  if (klienci_.Erase(id, &old)) --country_counts_[old];
}

void ChangelogState::UpsertKlient(int64_t id, uint32_t group) {
  uint32_t old;
  if (klienci_.Put(id, group, &old)) --country_counts_[old];
  ++country_counts_[group];
}

void ChangelogState::ApplyKlienci(const ExtractedChange& c) {
  if (c.op == 't') {
    klienci_.Drop();
    std::fill(country_counts_.begin(), country_counts_.end(), 0);
    return;
  }
  if (c.op == 'd') {
    RetractKlient(*c.before_id);
    return;
  }
  if (c.op == 'u' && c.before_id && *c.before_id != *c.after_id) RetractKlient(*c.before_id);
  uint32_t group = countries_.Intern(c.group);
  if (group >= country_counts_.size()) country_counts_.resize(group + 1, 0);
  UpsertKlient(*c.after_id, group);
}

void ChangelogState::AddEmployee(const Employee& e, int64_t sign) {
  PositionAgg& agg = position_aggs_[e.group];
  agg.count += sign;
  if (e.has_age) {
    agg.aged += sign;
    agg.age_sum += sign * e.age;
  }
}

void ChangelogState::RetractEmployee(int64_t id) {
  Employee old;
  if (pracownicy_.Erase(id, &old)) AddEmployee(old, -1);
}

void ChangelogState::UpsertEmployee(int64_t id, const Employee& e) {
  Employee old;
  if (pracownicy_.Put(id, e, &old)) AddEmployee(old, -1);
  AddEmployee(e, +1);
}

void ChangelogState::ApplyPracownicy(const ExtractedChange& c) {
  if (c.op == 't') {
    pracownicy_.Drop();
    std::fill(position_aggs_.begin(), position_aggs_.end(), PositionAgg{});
    return;
  }
  if (c.op == 'd') {
    RetractEmployee(*c.before_id);
    return;
  }
  if (c.op == 'u' && c.before_id && *c.before_id != *c.after_id) RetractEmployee(*c.before_id);
  Employee e;
  e.group = positions_.Intern(c.group);
  if (e.group >= position_aggs_.size()) position_aggs_.resize(e.group + 1);
  e.has_age = c.wiek.has_value();
  e.age = c.wiek.value_or(0);
  UpsertEmployee(*c.after_id, e);
}

namespace {

// Count descending, then name ascending with NULL last.
bool GroupOrder(const std::optional<std::string>& a_name, int64_t a_count, const std::optional<std::string>& b_name,
                int64_t b_count) {
  if (a_count != b_count) return a_count > b_count;
  if (a_name.has_value() != b_name.has_value()) return a_name.has_value();
  return a_name.has_value() && *a_name < *b_name;
}

}  // namespace

std::vector<CountryCount> ChangelogState::KlienciByCountry() const {
  std::vector<CountryCount> rows;
  for (size_t i = 0; i < country_counts_.size(); ++i) {
    if (country_counts_[i] > 0) rows.push_back(CountryCount{countries_.Name(static_cast<uint32_t>(i)), country_counts_[i]});
  }
  std::sort(rows.begin(), rows.end(), [](const CountryCount& a, const CountryCount& b) {
    return GroupOrder(a.kraj, a.count, b.kraj, b.count);
  });
  return rows;
}

std::vector<PositionAge> ChangelogState::AvgAgeByPosition() const {
  std::vector<PositionAge> rows;
  for (size_t i = 0; i < position_aggs_.size(); ++i) {
    const PositionAgg& agg = position_aggs_[i];
    if (agg.count <= 0) continue;
    PositionAge row;
    row.stanowisko = positions_.Name(static_cast<uint32_t>(i));
    row.count = agg.count;
    if (agg.aged > 0) row.avg_age = static_cast<double>(agg.age_sum) / static_cast<double>(agg.aged);
    rows.push_back(std::move(row));
  }
  std::sort(rows.begin(), rows.end(), [](const PositionAge& a, const PositionAge& b) {
    return GroupOrder(a.stanowisko, a.count, b.stanowisko, b.count);
  });
  return rows;
}

// ---------------------------------------------------------------------------------------------------
// Base and delta layouts (all integers little-endian, fixed width). Both start with the group names
// their rows use (indices renumbered from 1; 0 is NULL):
//   for countries, then positions:  u32 n, n x (u32 len, bytes)
// Base (columns, ids strictly increasing):
//   u64 k; i64 id[k]; u32 country[k]
//   u64 p; i64 id[p]; u32 position[p]; u8 has_age[p]; i64 age[p]
// Delta (rows, ids strictly increasing; a deleted key has present = 0 and zero fields):
//   u64 k; k x (i64 id, u8 present, u32 country)
//   u64 p; p x (i64 id, u8 present, u32 position, u8 has_age, i64 age)

namespace {

template <typename T>
void PutArray(std::string* out, const std::vector<T>& v) {
  out->append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

Status SnapshotCorrupt(const char* what) { return Status::Corruption(std::string("analytics state: ") + what); }

// Maps the indices of `pool` in use (used[i]) to 1..n and writes those names.
template <typename Pool>
std::vector<uint32_t> WritePool(std::string* out, const Pool& pool, const std::vector<bool>& used) {
  std::vector<uint32_t> remap(pool.size(), 0);
  uint32_t n = 0;
  for (size_t i = 1; i < pool.size(); ++i) {
    if (used[i]) remap[i] = ++n;
  }
  PutFixed<uint32_t>(out, n);
  for (size_t i = 1; i < pool.size(); ++i) {
    if (!used[i]) continue;
    const std::string& s = *pool.Name(static_cast<uint32_t>(i));
    PutFixed<uint32_t>(out, static_cast<uint32_t>(s.size()));
    out->append(s);
  }
  return remap;
}

// Reads names written by WritePool into `pool`; returns saved index -> pool index (0 -> 0).
template <typename Pool>
Result<std::vector<uint32_t>> ReadPool(std::string_view* in, Pool* pool) {
  uint32_t n;
  if (!GetFixed(in, &n) || n > in->size() / 4) return SnapshotCorrupt("truncated group names");
  std::vector<uint32_t> map(n + 1, 0);
  for (uint32_t i = 1; i <= n; ++i) {
    uint32_t len;
    if (!GetFixed(in, &len) || in->size() < len) return SnapshotCorrupt("truncated group name");
    map[i] = pool->Intern(in->substr(0, len));
    in->remove_prefix(len);
  }
  return map;
}

}  // namespace

void ChangelogState::AppendBase(std::string* out) const {
  std::vector<int64_t> ids;
  std::vector<uint32_t> groups;
  ids.reserve(klienci_.size());
  groups.reserve(klienci_.size());
  std::vector<bool> used(countries_.size(), false);
  klienci_.ForEachRow([&](int64_t id, uint32_t g) {
    ids.push_back(id);
    groups.push_back(g);
    used[g] = true;
  });
  std::vector<int64_t> pids;
  std::vector<uint32_t> pgroups;
  std::vector<uint8_t> has_age;
  std::vector<int64_t> ages;
  std::vector<bool> pused(positions_.size(), false);
  pracownicy_.ForEachRow([&](int64_t id, const Employee& e) {
    pids.push_back(id);
    pgroups.push_back(e.group);
    has_age.push_back(e.has_age ? 1 : 0);
    ages.push_back(e.age);
    pused[e.group] = true;
  });
  std::vector<uint32_t> cmap = WritePool(out, countries_, used);
  std::vector<uint32_t> pmap = WritePool(out, positions_, pused);
  for (uint32_t& g : groups) g = cmap[g];
  for (uint32_t& g : pgroups) g = pmap[g];
  out->reserve(out->size() + ids.size() * 12 + pids.size() * 21 + 16);
  PutFixed<uint64_t>(out, ids.size());
  PutArray(out, ids);
  PutArray(out, groups);
  PutFixed<uint64_t>(out, pids.size());
  PutArray(out, pids);
  PutArray(out, pgroups);
  PutArray(out, has_age);
  PutArray(out, ages);
}

Status ChangelogState::ReadBase(std::string bytes) {
  auto owned = std::make_shared<const std::string>(std::move(bytes));
  return ReadBase(std::string_view(*owned), owned);
}

Status ChangelogState::ReadBase(std::string_view bytes, std::shared_ptr<const void> owner) {
  Clear();
  auto storage = std::make_shared<BaseStorage>();
  storage->owner = std::move(owner);
  std::string_view all = bytes;
  std::string_view* in = &all;
  CDC_ASSIGN_OR_RETURN(storage->country_map, ReadPool(in, &countries_));
  CDC_ASSIGN_OR_RETURN(storage->position_map, ReadPool(in, &positions_));
  country_counts_.assign(countries_.size(), 0);
  position_aggs_.assign(positions_.size(), PositionAgg{});
  // The columns are used where they lie: no copy, no hashing.
  auto column = [&](uint64_t n, size_t width, const char** at) {
    if (n > in->size() / width) return false;
    *at = in->data();
    in->remove_prefix(n * width);
    return true;
  };
  auto strictly_increasing = [](const char* ids, uint64_t n) {
    for (uint64_t i = 1; i < n; ++i) {
      if (LoadAt<int64_t>(ids, i) <= LoadAt<int64_t>(ids, i - 1)) return false;
    }
    return true;
  };
  uint64_t n;
  KlientBase kb;
  kb.map = storage->country_map.data();
  if (!GetFixed(in, &n) || !column(n, 8, &kb.ids) || !column(n, 4, &kb.groups)) {
    return SnapshotCorrupt("truncated klienci rows");
  }
  kb.n = n;
  if (!strictly_increasing(kb.ids, n)) return SnapshotCorrupt("klienci ids out of order");
  for (uint64_t i = 0; i < n; ++i) {
    if (LoadAt<uint32_t>(kb.groups, i) >= storage->country_map.size()) {
      return SnapshotCorrupt("country index out of range");
    }
    ++country_counts_[kb.value(i)];
  }

  EmployeeBase eb;
  eb.map = storage->position_map.data();
  if (!GetFixed(in, &n) || !column(n, 8, &eb.ids) || !column(n, 4, &eb.groups) || !column(n, 1, &eb.has_age) ||
      !column(n, 8, &eb.ages)) {
    return SnapshotCorrupt("truncated pracownicy rows");
  }
  eb.n = n;
  if (!in->empty()) return SnapshotCorrupt("trailing bytes");
  if (!strictly_increasing(eb.ids, n)) return SnapshotCorrupt("pracownicy ids out of order");
  for (uint64_t i = 0; i < n; ++i) {
    if (LoadAt<uint32_t>(eb.groups, i) >= storage->position_map.size() || LoadAt<uint8_t>(eb.has_age, i) > 1) {
      return SnapshotCorrupt("bad pracownicy row");
    }
    AddEmployee(eb.value(i), +1);
  }
  base_ = std::move(storage);
  klienci_.SetBase(kb);
  pracownicy_.SetBase(eb);
  return Status::OK();
}

void ChangelogState::AppendDelta(std::string* out) const {
  // Which groups the delta names (any order), then the rows in id order.
  std::vector<bool> used(countries_.size(), false);
  klienci_.ForEachUnsavedUnordered([&](int64_t, const uint32_t* g) {
    if (g) used[*g] = true;
  });
  std::vector<bool> pused(positions_.size(), false);
  pracownicy_.ForEachUnsavedUnordered([&](int64_t, const Employee* e) {
    if (e) pused[e->group] = true;
  });
  std::vector<uint32_t> cmap = WritePool(out, countries_, used);
  std::vector<uint32_t> pmap = WritePool(out, positions_, pused);
  PutFixed<uint64_t>(out, klienci_.dirty_size());
  klienci_.ForEachUnsaved([&](int64_t id, const uint32_t* g) {
    PutFixed<int64_t>(out, id);
    PutFixed<uint8_t>(out, g ? 1 : 0);
    PutFixed<uint32_t>(out, g ? cmap[*g] : 0);
  });
  PutFixed<uint64_t>(out, pracownicy_.dirty_size());
  pracownicy_.ForEachUnsaved([&](int64_t id, const Employee* e) {
    PutFixed<int64_t>(out, id);
    PutFixed<uint8_t>(out, e ? 1 : 0);
    PutFixed<uint32_t>(out, e ? pmap[e->group] : 0);
    PutFixed<uint8_t>(out, e && e->has_age ? 1 : 0);
    PutFixed<int64_t>(out, e ? e->age : 0);
  });
}

Status ChangelogState::ApplyDelta(std::string_view* in) {
  CDC_ASSIGN_OR_RETURN(std::vector<uint32_t> cmap, ReadPool(in, &countries_));
  CDC_ASSIGN_OR_RETURN(std::vector<uint32_t> pmap, ReadPool(in, &positions_));
  country_counts_.resize(countries_.size(), 0);
  position_aggs_.resize(positions_.size());
  uint64_t n;
  if (!GetFixed(in, &n) || n > in->size() / 13) return SnapshotCorrupt("truncated klienci changes");
  int64_t prev = 0;
  for (uint64_t i = 0; i < n; ++i) {
    int64_t id = 0;
    uint8_t present = 0;
    uint32_t g = 0;
    GetFixed(in, &id);
    GetFixed(in, &present);
    GetFixed(in, &g);
    if (present > 1 || g >= cmap.size() || (i > 0 && id <= prev)) return SnapshotCorrupt("bad klienci change");
    prev = id;
    if (present) {
      UpsertKlient(id, cmap[g]);
    } else {
      RetractKlient(id);
    }
  }
  if (!GetFixed(in, &n) || n > in->size() / 22) return SnapshotCorrupt("truncated pracownicy changes");
  prev = 0;
  for (uint64_t i = 0; i < n; ++i) {
    int64_t id = 0;
    uint8_t present = 0, has_age = 0;
    Employee e;
    GetFixed(in, &id);
    GetFixed(in, &present);
    GetFixed(in, &e.group);
    GetFixed(in, &has_age);
    GetFixed(in, &e.age);
    if (present > 1 || has_age > 1 || e.group >= pmap.size() || (i > 0 && id <= prev)) {
      return SnapshotCorrupt("bad pracownicy change");
    }
    prev = id;
    e.group = pmap[e.group];
    e.has_age = has_age == 1;
    if (present) {
      UpsertEmployee(id, e);
    } else {
      RetractEmployee(id);
    }
  }
  return Status::OK();
}

void ChangelogState::MarkSaved() {
  klienci_.MarkSaved();
  pracownicy_.MarkSaved();
}

}  // namespace cdc::jobs
