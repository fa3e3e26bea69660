#include "jobs/observed_store.h"

#include "base/clock.h"

namespace cdc::jobs {

template <typename Call>
auto ObservedStore::Observe(std::string_view method, std::string_view key, Call&& call) -> decltype(call()) {
  std::string what = "object store: " + std::string(method) + " " + inner_->Describe() + "/" + std::string(key);
  hub_->Update([&](PipelineState& s) {
    StageState& st = s.Stage(stage_);
    st.waiting_on = std::move(what);
    st.waiting_since_ms = WallMillis();
  });
  auto result = call();
  hub_->Update([&](PipelineState& s) {
    StageState& st = s.Stage(stage_);
    st.waiting_on.clear();
    st.waiting_since_ms = 0;
    st.last_progress_ms = WallMillis();
  });
  return result;
}

Status ObservedStore::Put(std::string_view key, std::string_view data) {
  return Observe("PUT", key, [&] { return inner_->Put(key, data); });
}
Status ObservedStore::PutFile(std::string_view key, const std::string& path) {
  return Observe("PUT", key, [&] { return inner_->PutFile(key, path); });
}
Status ObservedStore::PutDerived(std::string_view key, std::string_view data) {
  return Observe("PUT", key, [&] { return inner_->PutDerived(key, data); });
}
Status ObservedStore::PutIfAbsent(std::string_view key, std::string_view data) {
  return Observe("PUT (if absent)", key, [&] { return inner_->PutIfAbsent(key, data); });
}
Result<std::string> ObservedStore::Get(std::string_view key) {
  return Observe("GET", key, [&] { return inner_->Get(key); });
}
Result<store::ObjectBytes> ObservedStore::GetBytes(std::string_view key) {
  return Observe("GET", key, [&] { return inner_->GetBytes(key); });
}
Result<std::string> ObservedStore::GetRange(std::string_view key, uint64_t offset, uint64_t length) {
  return Observe("GET (range)", key, [&] { return inner_->GetRange(key, offset, length); });
}
Result<store::ObjectInfo> ObservedStore::Head(std::string_view key) {
  return Observe("HEAD", key, [&] { return inner_->Head(key); });
}
Result<std::vector<store::ObjectInfo>> ObservedStore::List(std::string_view prefix) {
  return Observe("LIST", prefix, [&] { return inner_->List(prefix); });
}
Status ObservedStore::Delete(std::string_view key) {
  return Observe("DELETE", key, [&] { return inner_->Delete(key); });
}

}  // namespace cdc::jobs
