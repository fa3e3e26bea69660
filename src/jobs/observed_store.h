// ObservedStore: an ObjectStore that publishes each request in flight as its stage's wait in the
// PipelineStateHub (StageState::waiting_on "object store: PUT <uri>", waiting_since_ms), and each
// request that completes, well or not, as the stage's last progress. A request that hangs (an S3
// endpoint that accepted the connection and never answers) is thus visible on /api/status and
// /metrics (cdcpipe_stage_stalled_seconds) while it lasts, until the store's own timeout
// (output.s3_timeout) gives up on it.
//
// Requests may run at once (the views' folders are written in parallel): the stage shows the oldest
// request still in flight, and waits on nothing once none is. Two ObservedStores of one stage must not
// have requests in flight at once (RawSink's output and checkpoint stores are used from its one thread).
//
// Thread-safety: like the wrapped store. Owns nothing: `inner` and `hub` must outlive it.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jobs/pipeline_state.h"
#include "store/object_store.h"

namespace cdc::jobs {

class ObservedStore : public store::ObjectStore {
 public:
  ObservedStore(store::ObjectStore* inner, PipelineStateHub* hub, std::string stage)
      : inner_(inner), hub_(hub), stage_(std::move(stage)) {}

  Status Put(std::string_view key, std::string_view data) override;
  Status PutFile(std::string_view key, const std::string& path) override;
  Status PutDerived(std::string_view key, std::string_view data) override;
  Status PutIfAbsent(std::string_view key, std::string_view data) override;
  Result<std::string> Get(std::string_view key) override;
  Result<store::ObjectBytes> GetBytes(std::string_view key) override;
  Result<std::string> GetRange(std::string_view key, uint64_t offset, uint64_t length) override;
  Result<store::ObjectInfo> Head(std::string_view key) override;
  Result<std::vector<store::ObjectInfo>> List(std::string_view prefix) override;
  Status Delete(std::string_view key) override;
  std::string AbsoluteUri(std::string_view key) const override { return inner_->AbsoluteUri(key); }
  std::string Describe() const override { return inner_->Describe(); }

 private:
  // Runs `call` with "<method> <uri of key>" published as the stage's wait.
  template <typename Call>
  auto Observe(std::string_view method, std::string_view key, Call&& call) -> decltype(call());
  // Shows the oldest request in flight as the stage's wait (none: no wait). REQUIRES: mu_ held.
  void PublishLocked(bool progress);

  store::ObjectStore* inner_;
  PipelineStateHub* hub_;
  std::string stage_;
  std::mutex mu_;  // taken before the hub's lock, never after
  uint64_t next_id_ = 0;
  std::map<uint64_t, std::pair<std::string, int64_t>> in_flight_;  // id (start order) -> (what, since ms)
};

}  // namespace cdc::jobs
