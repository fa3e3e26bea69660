#include "analytics/view_builder.h"

#include <fmt/format.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "base/checksum.h"
#include "base/fixed_bytes.h"
#include "base/log.h"

namespace cdc::analytics {

namespace {

constexpr std::string_view kMagic = "CDCVIEW1";

}  // namespace

// Decodes the raw files' row groups on its own thread, at most kAhead ahead of the consumer, in order.
class ViewBuilder::Prefetcher {
 public:
  struct Group {
    size_t file = 0;  // index into the file list
    int group = 0;
    parquet::RecordBatch batch;  // topic, value
  };

  Prefetcher(store::ObjectStore* store, const std::vector<std::string>& uris)
      : store_(store), uris_(uris), thread_([this] { Run(); }) {}
  ~Prefetcher() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  // The next row group (valid until the next call), nullptr after the last; the first error ends it
  // (failed_file() is then the file that could not be read).
  Result<Group*> Next() {
    std::unique_lock lock(mu_);
    current_.reset();
    cv_.notify_all();
    cv_.wait(lock, [&] { return !ready_.empty() || done_; });
    if (!ready_.empty()) {
      current_ = std::move(ready_.front());
      ready_.pop_front();
      cv_.notify_all();
      return current_.get();
    }
    if (!error_.ok()) return error_;
    return static_cast<Group*>(nullptr);
  }
  size_t failed_file() {
    std::lock_guard lock(mu_);
    return file_;
  }
  // Names row `row` of a row group in Kafka terms (re-reads the file: errors only).
  std::string WhereInKafka(size_t file, int group, size_t row) {
    auto reader = lake::RawFileReader::Open(store_, lake::kRawDataDir, uris_[file]);
    if (!reader.ok()) return "partition ? offset ?";
    return (*reader)->WhereInKafka(group, row);
  }

 private:
  static constexpr size_t kAhead = 2;

  void Run() {
    Status st = DecodeAll();
    std::lock_guard lock(mu_);
    error_ = st;
    done_ = true;
    cv_.notify_all();
  }
  Status DecodeAll() {
    for (size_t f = 0; f < uris_.size(); ++f) {
      {
        std::lock_guard lock(mu_);
        file_ = f;
      }
      CDC_ASSIGN_OR_RETURN(auto reader, lake::RawFileReader::Open(store_, lake::kRawDataDir, uris_[f]));
      for (int g = 0; g < reader->num_row_groups(); ++g) {
        {
          std::unique_lock lock(mu_);
          cv_.wait(lock, [&] { return stop_ || ready_.size() < kAhead; });
          if (stop_) return Status::Cancelled("stopped");
        }
        auto group = std::make_unique<Group>();
        group->file = f;
        group->group = g;
        CDC_RETURN_IF_ERROR(reader->ReadRowGroup(g, &group->batch));
        std::lock_guard lock(mu_);
        ready_.push_back(std::move(group));
        cv_.notify_all();
      }
    }
    std::lock_guard lock(mu_);
    file_ = uris_.size();
    return Status::OK();
  }

  store::ObjectStore* store_;
  const std::vector<std::string>& uris_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Group>> ready_;  // guarded by mu_
  std::unique_ptr<Group> current_;            // the consumer's (freed at its next call)
  bool stop_ = false, done_ = false;          // guarded by mu_
  Status error_;                              // guarded by mu_
  size_t file_ = 0;                           // guarded by mu_: the file being read
  std::jthread thread_;  // last: starts after every member above exists
};

ViewBuilder::ViewBuilder(store::ObjectStore* output, const sql::ViewSet* views, const sql::Catalog* catalog,
                         EventSettings settings)
    : output_(output), views_(views), engine_(views, catalog, settings) {}

ViewBuilder::~ViewBuilder() = default;

void ViewBuilder::Reset() {
  engine_.Clear();
  position_ = RawPosition{};
  source_lsn_ = Lsn();
  files_unknown_ = false;
}

Status ViewBuilder::LoadCheckpoint() {
  Reset();
  std::string where = output_->Describe() + "/" + std::string(kViewCheckpointKey);
  auto fail = [&](Status st) {
    Reset();
    return st;
  };
  auto data = output_->Get(kViewCheckpointKey);
  if (!data.ok()) return fail(data.status());
  auto corrupt = [&](std::string_view what) { return fail(Status::Corruption(fmt::format("{}: {}", where, what))); };
  if (data->size() < kMagic.size() + 8 || std::string_view(*data).substr(0, kMagic.size()) != kMagic) {
    return fail(Status::FailedPrecondition(where + " is not a views checkpoint of this cdcpipe version"));
  }
  std::string_view body(data->data(), data->size() - 8);
  uint64_t stored;
  std::memcpy(&stored, data->data() + data->size() - 8, 8);
  if (Checksum64(body) != stored) return corrupt("checksum mismatch");
  std::string_view in = body.substr(kMagic.size());
  RawPosition pos;
  uint32_t len;
  uint64_t lsn, state_len;
  if (!GetFixed(&in, &pos.last_batch_id) || !GetFixed(&in, &pos.files_consumed) || !GetFixed(&in, &len) ||
      in.size() < len) {
    return corrupt("truncated position");
  }
  pos.last_file = std::string(in.substr(0, len));
  in.remove_prefix(len);
  uint32_t n;
  if (!GetFixed(&in, &lsn) || !GetFixed(&in, &n)) return corrupt("truncated header");
  for (uint32_t i = 0; i < n; ++i) {
    if (!GetFixed(&in, &len) || in.size() < len) return corrupt("truncated view list");
    in.remove_prefix(len);  // the names are for `cdcpipe status`; the engine checks the fingerprints
  }
  if (!GetFixed(&in, &state_len) || in.size() != state_len) return corrupt("truncated state");
  Status st = engine_.Load(in);
  if (!st.ok()) return fail(Status(st.code(), where + ": " + st.message()));
  position_ = std::move(pos);
  source_lsn_ = Lsn(lsn);
  return Status::OK();
}

Status ViewBuilder::SaveCheckpoint() {
  std::string data(kMagic);
  PutFixed<int64_t>(&data, position_.last_batch_id);
  PutFixed<uint64_t>(&data, position_.files_consumed);
  PutFixed<uint32_t>(&data, static_cast<uint32_t>(position_.last_file.size()));
  data += position_.last_file;
  PutFixed<uint64_t>(&data, source_lsn().value());
  PutFixed<uint32_t>(&data, static_cast<uint32_t>(views_->views.size()));
  for (const sql::ViewPlan& v : views_->views) {
    PutFixed<uint32_t>(&data, static_cast<uint32_t>(v.name.size()));
    data += v.name;
  }
  std::string state;
  engine_.Save(&state);
  PutFixed<uint64_t>(&data, state.size());
  data += state;
  PutFixed<uint64_t>(&data, Checksum64(data));
  return output_->PutDerived(kViewCheckpointKey, data);
}

Result<CatchUpStats> ViewBuilder::CatchUp(ProgressLine* progress) {
  CDC_ASSIGN_OR_RETURN(lake::CommittedFiles listed, lake::ListCommittedFiles(output_, lake::kRawDataDir));
  std::vector<std::string>& files = listed.files;
  CatchUpStats stats;
  stats.latest_batch = listed.latest_batch;
  bool consistent = position_.files_consumed <= files.size() &&
                    (position_.files_consumed == 0 || files[position_.files_consumed - 1] == position_.last_file) &&
                    position_.last_batch_id <= listed.latest_batch && !files_unknown_;
  if (!consistent) {
    if (position_.last_batch_id >= 0) {
      log::Warn("views",
                "the views' state (batch {}, {} files) does not match {}/{}/_spark_metadata (last batch {}, {} files): "
                "recomputing from all raw data",
                position_.last_batch_id, position_.files_consumed, output_->Describe(), lake::kRawDataDir,
                listed.latest_batch, files.size());
    }
    Reset();
  }
  std::vector<std::string> pending(std::make_move_iterator(files.begin() + static_cast<std::ptrdiff_t>(position_.files_consumed)),
                                   std::make_move_iterator(files.end()));
  Prefetcher prefetcher(output_, pending);
  auto consumed_up_to = [&](size_t end) {
    for (; stats.files < end; ++stats.files) {
      ++position_.files_consumed;
      position_.last_file = pending[stats.files];
    }
    if (progress) progress->Update(stats.files);
  };
  for (;;) {
    Result<Prefetcher::Group*> next = prefetcher.Next();
    if (!next.ok()) {
      consumed_up_to(prefetcher.failed_file());  // the files before it were applied whole
      return next.status();
    }
    Prefetcher::Group* g = *next;
    if (g == nullptr) break;
    consumed_up_to(g->file);
    const parquet::ColumnVector& topic = g->batch.column(0);
    const parquet::ColumnVector& value = g->batch.column(1);
    for (size_t i = 0; i < g->batch.num_rows(); ++i) {
      if (topic.IsNull(i) || value.IsNull(i)) continue;
      std::string_view t = topic.String(i);
      if (!engine_.Reads(t)) continue;
      Status st = engine_.ApplyRaw(t, value.String(i));
      if (!st.ok()) {
        return Status(st.code(), fmt::format("{} row group {} row {} (topic {} {}): {}", pending[g->file], g->group, i,
                                             t, prefetcher.WhereInKafka(g->file, g->group, i), st.message()));
      }
    }
    stats.rows += g->batch.num_rows();
  }
  consumed_up_to(pending.size());
  position_.last_batch_id = listed.latest_batch;
  return stats;
}

Status ViewBuilder::SyncFilePosition() {
  if (!files_unknown_) return Status::OK();
  CDC_ASSIGN_OR_RETURN(lake::CommittedFiles listed, lake::ListCommittedFiles(output_, lake::kRawDataDir));
  if (listed.latest_batch != position_.last_batch_id) {
    return Status::FailedPrecondition(fmt::format("the raw data is at batch {}, the views at batch {}",
                                                  listed.latest_batch, position_.last_batch_id));
  }
  position_.files_consumed = listed.files.size();
  position_.last_file = listed.files.empty() ? std::string() : listed.files.back();
  files_unknown_ = false;
  return Status::OK();
}

Status ViewBuilder::ApplyCommittedBatch(int64_t batch_id, const std::vector<RawEventRef>& events, Lsn source_lsn) {
  if (batch_id <= position_.last_batch_id) return Status::OK();
  if (batch_id != position_.last_batch_id + 1) {
    return Status::FailedPrecondition(
        fmt::format("committed batch {} follows batch {}: a gap", batch_id, position_.last_batch_id));
  }
  for (const RawEventRef& e : events) {
    if (!e.value || !engine_.Reads(e.topic)) continue;
    Status st = e.change.empty() ? engine_.ApplyRaw(e.topic, e.value) : engine_.ApplyChange(e.topic, e.change);
    if (!st.ok()) {
      // Where the event is, formatted only for an error (not per event).
      return Status(st.code(), fmt::format("batch {} topic {} partition {} offset {}: {}", batch_id, e.topic,
                                           e.partition, e.offset, st.message()));
    }
  }
  position_.last_batch_id = batch_id;
  // The file-level position is unknown here; a later CatchUp recomputes (see LiveViews).
  position_.files_consumed = 0;
  position_.last_file.clear();
  files_unknown_ = true;
  if (source_lsn.valid()) source_lsn_ = source_lsn;
  return Status::OK();
}

}  // namespace cdc::analytics
