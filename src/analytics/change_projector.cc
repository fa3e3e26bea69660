#include "analytics/change_projector.h"

#include <simdjson.h>

#include <utility>

#include "analytics/event_values.h"
#include "analytics/row_codec.h"

namespace cdc::analytics {

namespace {

bool Utf8(std::string_view s) { return simdjson::validate_utf8(s.data(), s.size()); }

// Every text value is UTF-8 (the JSON parser checks the whole value, columns the views skip included).
bool RowUtf8(const event::Row& row) {
  for (const event::Value& v : row) {
    if (v.kind == event::Value::Kind::kText && !Utf8(v.text)) return false;
  }
  return true;
}

}  // namespace

ChangeProjector::ChangeProjector(std::vector<event::TableSchema> tables) : tables_(std::move(tables)) {}

ChangeProjector::Plan ChangeProjector::MakePlan(const std::shared_ptr<const event::TableSchema>& source) const {
  Plan plan;
  plan.source = source;
  const event::TableSchema* wanted = nullptr;
  for (const event::TableSchema& t : tables_) {
    if (t.schema == source->schema && t.table == source->table) wanted = &t;
  }
  if (wanted == nullptr) return plan;
  // The names the JSON carries (keys, the source block) must be UTF-8 too.
  if (!Utf8(source->schema) || !Utf8(source->table)) return plan;
  for (const event::Column& c : source->columns) {
    if (!Utf8(c.name)) return plan;
  }
  for (const event::Column& want : wanted->columns) {
    size_t found = source->columns.size();
    for (size_t i = 0; i < source->columns.size(); ++i) {
      if (source->columns[i].name == want.name) found = i;
    }
    if (found == source->columns.size()) return plan;  // the JSON lacks it: the engine reads it as unseen
    const event::Column& have = source->columns[found];
    if (have.type_oid != want.type_oid || have.type_modifier != want.type_modifier || have.user_type != want.user_type ||
        !ReadableFromText(want)) {
      return plan;  // encoded by another type than the one the engine reads it as
    }
    plan.columns.push_back(found);
  }
  plan.projected = true;
  return plan;
}

bool ChangeProjector::Project(const event::ChangeEvent& event, std::string* out) {
  if (!event.table) return false;
  if (last_ == nullptr || last_->source.get() != event.table.get()) {
    auto it = plans_.find(event.table.get());
    if (it == plans_.end()) it = plans_.emplace(event.table.get(), MakePlan(event.table)).first;
    last_ = &it->second;
  }
  const Plan& plan = *last_;
  if (!plan.projected) return false;
  const size_t width = plan.source->columns.size();
  if ((event.before && (event.before->size() != width || !RowUtf8(*event.before))) ||
      (event.after && (event.after->size() != width || !RowUtf8(*event.after)))) {
    return false;
  }
  using Kind = event::Value::Kind;
  out->clear();
  out->push_back(static_cast<char>(event.op));
  uint64_t lsn = event.lsn.valid() ? event.lsn.value() : 0;
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>((lsn >> (8 * i)) & 0xff));
  out->push_back(static_cast<char>((event.before ? 1 : 0) | (event.after ? 2 : 0)));
  PutVarint(out, plan.columns.size());
  auto put = [out](const event::Value& v) {
    if (v.kind == Kind::kNull) {
      out->push_back(0);
      return;
    }
    out->push_back(1);
    PutVarint(out, v.text.size());
    out->append(v.text);
  };
  if (event.before) {
    for (size_t i : plan.columns) {
      if ((*event.before)[i].kind == Kind::kUnchangedToast) return false;  // the JSON has the placeholder
      put((*event.before)[i]);
    }
  }
  if (event.after) {
    for (size_t i : plan.columns) {
      const event::Value* v = &(*event.after)[i];
      // The encoder takes an unchanged TOAST value from the before image when that carries it.
      if (v->kind == Kind::kUnchangedToast && event.before && (*event.before)[i].kind != Kind::kUnchangedToast) {
        v = &(*event.before)[i];
      }
      if (v->kind == Kind::kUnchangedToast) return false;
      put(*v);
    }
  }
  return true;
}

bool ProjectedChangeReader::Header(size_t columns, char* op, Lsn* lsn) {
  if (in_.size() < 10) return false;
  *op = in_[0];
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(in_[1 + i])) << (8 * i);
  *lsn = v == 0 ? Lsn() : Lsn(v);
  images_ = static_cast<uint8_t>(in_[9]);
  in_.remove_prefix(10);
  uint64_t n = 0;
  return GetVarint(&in_, &n) && n == columns;
}

bool ProjectedChangeReader::Value(std::optional<std::string_view>* text) {
  if (in_.empty()) return false;
  char kind = in_[0];
  in_.remove_prefix(1);
  if (kind == 0) {
    text->reset();
    return true;
  }
  uint64_t n = 0;
  if (kind != 1 || !GetVarint(&in_, &n) || n > in_.size()) return false;
  *text = in_.substr(0, n);
  in_.remove_prefix(n);
  return true;
}

}  // namespace cdc::analytics
