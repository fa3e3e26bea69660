#include "jobs/changelog_state.h"

#include <simdjson.h>

#include <algorithm>
#include <cstring>

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
  klienci_.clear();
  pracownicy_.clear();
  country_counts_.assign(1, 0);
  position_aggs_.assign(1, PositionAgg{});
  max_lsn_ = Lsn();
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

void ChangelogState::ApplyKlienci(const ExtractedChange& c) {
  if (c.op == 't') {
    klienci_.clear();
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
  auto [value, inserted] = klienci_.TryEmplace(*c.after_id, group);
  if (!inserted) {
    --country_counts_[*value];
    *value = group;
  }
  ++country_counts_[group];
}

void ChangelogState::RetractEmployee(int64_t id) {
  Employee old;
  if (!pracownicy_.Erase(id, &old)) return;
  PositionAgg& agg = position_aggs_[old.group];
  --agg.count;
  if (old.has_age) {
    --agg.aged;
    agg.age_sum -= old.age;
  }
}

void ChangelogState::ApplyPracownicy(const ExtractedChange& c) {
  if (c.op == 't') {
    pracownicy_.clear();
    std::fill(position_aggs_.begin(), position_aggs_.end(), PositionAgg{});
    return;
  }
  if (c.op == 'd') {
    RetractEmployee(*c.before_id);
    return;
  }
  if (c.op == 'u' && c.before_id && *c.before_id != *c.after_id) RetractEmployee(*c.before_id);
  RetractEmployee(*c.after_id);
  Employee e;
  e.group = positions_.Intern(c.group);
  if (e.group >= position_aggs_.size()) position_aggs_.resize(e.group + 1);
  e.has_age = c.wiek.has_value();
  e.age = c.wiek.value_or(0);
  PositionAgg& agg = position_aggs_[e.group];
  ++agg.count;
  if (e.has_age) {
    ++agg.aged;
    agg.age_sum += e.age;
  }
  pracownicy_.TryEmplace(*c.after_id, e);
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
// Snapshot layout (all integers little-endian, fixed width):
//   u64 max_lsn
//   for countries, then positions:  u32 n (names after the NULL slot), n x (u32 len, bytes)
//   u64 klienci rows,    each: i64 id, u32 country index
//   u64 pracownicy rows, each: i64 id, u32 position index, u8 has_age, i64 age
// Only group names referenced by a row are written (indices are renumbered), so deleted groups do
// not accumulate across runs.

namespace {

template <typename T>
void PutFixed(std::string* out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));  // little-endian hosts only (x86-64, arm64)
  out->append(buf, sizeof(T));
}

template <typename T>
bool GetFixed(std::string_view* in, T* v) {
  if (in->size() < sizeof(T)) return false;
  std::memcpy(v, in->data(), sizeof(T));
  in->remove_prefix(sizeof(T));
  return true;
}

}  // namespace

void ChangelogState::AppendSnapshot(std::string* out) const {
  PutFixed<uint64_t>(out, max_lsn_.value());
  // Renumber the groups that are in use.
  auto write_pool = [out](const GroupPool& pool, const std::vector<bool>& used, std::vector<uint32_t>* remap) {
    remap->assign(pool.size(), 0);
    uint32_t n = 0;
    for (size_t i = 1; i < pool.size(); ++i) {
      if (used[i]) (*remap)[i] = ++n;
    }
    PutFixed<uint32_t>(out, n);
    for (size_t i = 1; i < pool.size(); ++i) {
      if (!used[i]) continue;
      const std::string& s = *pool.Name(static_cast<uint32_t>(i));
      PutFixed<uint32_t>(out, static_cast<uint32_t>(s.size()));
      out->append(s);
    }
  };
  std::vector<bool> used(countries_.size(), false);
  klienci_.ForEach([&](int64_t, uint32_t g) { used[g] = true; });
  std::vector<uint32_t> country_map;
  write_pool(countries_, used, &country_map);
  used.assign(positions_.size(), false);
  pracownicy_.ForEach([&](int64_t, const Employee& e) { used[e.group] = true; });
  std::vector<uint32_t> position_map;
  write_pool(positions_, used, &position_map);

  out->reserve(out->size() + klienci_.size() * 12 + pracownicy_.size() * 21 + 16);
  PutFixed<uint64_t>(out, klienci_.size());
  klienci_.ForEach([&](int64_t id, uint32_t g) {
    PutFixed<int64_t>(out, id);
    PutFixed<uint32_t>(out, country_map[g]);
  });
  PutFixed<uint64_t>(out, pracownicy_.size());
  pracownicy_.ForEach([&](int64_t id, const Employee& e) {
    PutFixed<int64_t>(out, id);
    PutFixed<uint32_t>(out, position_map[e.group]);
    PutFixed<uint8_t>(out, e.has_age ? 1 : 0);
    PutFixed<int64_t>(out, e.age);
  });
}

Status ChangelogState::ReadSnapshot(std::string_view* in) {
  Clear();
  auto corrupt = [](const char* what) { return Status::Corruption(std::string("analytics state snapshot: ") + what); };
  uint64_t lsn;
  if (!GetFixed(in, &lsn)) return corrupt("truncated header");
  auto read_pool = [&](GroupPool* pool) -> Status {
    uint32_t n;
    if (!GetFixed(in, &n)) return corrupt("truncated group count");
    for (uint32_t i = 0; i < n; ++i) {
      uint32_t len;
      if (!GetFixed(in, &len) || in->size() < len) return corrupt("truncated group name");
      uint32_t idx = pool->Intern(in->substr(0, len));
      if (idx != i + 1) return corrupt("duplicate group name");
      in->remove_prefix(len);
    }
    return Status::OK();
  };
  CDC_RETURN_IF_ERROR(read_pool(&countries_));
  CDC_RETURN_IF_ERROR(read_pool(&positions_));
  country_counts_.assign(countries_.size(), 0);
  position_aggs_.assign(positions_.size(), PositionAgg{});

  uint64_t n;
  if (!GetFixed(in, &n) || n > in->size() / 12) return corrupt("bad klienci row count");
  klienci_.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    int64_t id = 0;
    uint32_t g = 0;
    GetFixed(in, &id);
    GetFixed(in, &g);
    if (g >= countries_.size()) return corrupt("country index out of range");
    if (!klienci_.TryEmplace(id, g).second) return corrupt("duplicate klienci id");
    ++country_counts_[g];
  }
  if (!GetFixed(in, &n) || n > in->size() / 21) return corrupt("bad pracownicy row count");
  pracownicy_.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    int64_t id = 0;
    Employee e;
    uint8_t has_age = 0;
    GetFixed(in, &id);
    GetFixed(in, &e.group);
    GetFixed(in, &has_age);
    GetFixed(in, &e.age);
    if (e.group >= positions_.size() || has_age > 1) return corrupt("bad pracownicy row");
    e.has_age = has_age == 1;
    if (!pracownicy_.TryEmplace(id, e).second) return corrupt("duplicate pracownicy id");
    PositionAgg& agg = position_aggs_[e.group];
    ++agg.count;
    if (e.has_age) {
      ++agg.aged;
      agg.age_sum += e.age;
    }
  }
  max_lsn_ = Lsn(lsn);
  return Status::OK();
}

}  // namespace cdc::jobs
