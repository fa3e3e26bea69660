#include "jobs/observed_store.h"

#include "base/clock.h"

namespace cdc::jobs {

template <typename Call>
auto ObservedStore::Observe(std::string_view method, std::string_view key, Call&& call) -> decltype(call()) {
  std::string what = "object store: " + std::string(method) + " " + inner_->Describe() + "/" + std::string(key);
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_id_++;
    in_flight_.emplace(id, std::make_pair(std::move(what), WallMillis()));
    PublishLocked(/*progress=*/false);
  }
  auto result = call();
  std::lock_guard<std::mutex> lock(mu_);
  in_flight_.erase(id);
  PublishLocked(/*progress=*/true);
  return result;
}

void ObservedStore::PublishLocked(bool progress) {
  hub_->Update([&](PipelineState& s) {
    StageState& st = s.Stage(stage_);
    if (in_flight_.empty()) {
      st.waiting_on.clear();
      st.waiting_since_ms = 0;
    } else {
      st.waiting_on = in_flight_.begin()->second.first;
      st.waiting_since_ms = in_flight_.begin()->second.second;
    }
    if (progress) st.last_progress_ms = WallMillis();
  });
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
