// RawSink: micro-batch commit protocol (docs/STREAM.md).
#include "jobs/raw_sink.h"

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "base/clock.h"
#include "base/failpoint.h"
#include "base/log.h"
#include "base/shutdown.h"
#include "jobs/observed_store.h"
#include "parquet/writer.h"

namespace cdc::jobs {
namespace {

constexpr std::string_view kComponent = "raw-sink";
using json = nlohmann::json;

json OffsetsToJson(const PartitionOffsets& offsets) {
  json j = json::object();
  for (const auto& [topic, parts] : offsets) {
    json p = json::object();
    for (const auto& [partition, offset] : parts) p[std::to_string(partition)] = offset;
    j[topic] = std::move(p);
  }
  return j;
}

Result<PartitionOffsets> OffsetsFromJson(const json& j, std::string_view name) {
  if (!j.is_object()) return Status::Corruption(std::string(name) + ": offsets are not a JSON object");
  PartitionOffsets out;
  for (const auto& [topic, parts] : j.items()) {
    if (!parts.is_object()) return Status::Corruption(std::string(name) + ": offsets of " + topic + " are not an object");
    for (const auto& [partition, offset] : parts.items()) {
      if (!offset.is_number_integer()) {
        return Status::Corruption(std::string(name) + ": offset of " + topic + "/" + partition + " is not an integer");
      }
      out[topic][std::stoi(partition)] = offset.get<int64_t>();
    }
  }
  return out;
}

bool Retryable(const Status& st) { return st.IsUnavailable() || st.IsIoError(); }

}  // namespace

std::string SerializeBatchPlan(const BatchPlan& plan) {
  json meta = {{"batchId", plan.batch_id},
               {"batchTimestampMs", plan.timestamp_ms},
               {"files", plan.files},
               {"sourceLsn", plan.source_lsn.valid() ? plan.source_lsn.ToString() : ""},
               {"sourceSkip", plan.source_skip}};
  if (!plan.snapshot_position.empty()) meta["snapshotPosition"] = plan.snapshot_position;
  return "v1\n" + meta.dump() + "\n" + OffsetsToJson(plan.start).dump() + "\n" + OffsetsToJson(plan.end).dump();
}

Result<BatchPlan> ParseBatchPlan(std::string_view data, std::string_view name) {
  std::vector<std::string_view> lines;
  size_t pos = 0;
  while (pos <= data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string_view::npos) nl = data.size();
    lines.push_back(data.substr(pos, nl - pos));
    pos = nl + 1;
  }
  if (lines.size() != 4 || lines[0] != "v1") {
    return Status::Corruption(std::string(name) + ": not a batch plan (expected \"v1\" and 3 JSON lines; " +
                              std::to_string(lines.size()) + " lines found)");
  }
  BatchPlan plan;
  try {
    json meta = json::parse(lines[1]);
    plan.batch_id = meta.at("batchId").get<int64_t>();
    plan.timestamp_ms = meta.at("batchTimestampMs").get<int64_t>();
    plan.files = meta.at("files").get<std::vector<std::string>>();
    std::string lsn = meta.at("sourceLsn").get<std::string>();
    if (!lsn.empty()) {
      auto parsed = Lsn::Parse(lsn);
      if (!parsed) return Status::Corruption(std::string(name) + ": bad sourceLsn '" + lsn + "'");
      plan.source_lsn = *parsed;
    }
    plan.source_skip = meta.at("sourceSkip").get<uint64_t>();
    if (meta.contains("snapshotPosition")) plan.snapshot_position = meta.at("snapshotPosition").get<std::string>();
    CDC_ASSIGN_OR_RETURN(plan.start, OffsetsFromJson(json::parse(lines[2]), name));
    CDC_ASSIGN_OR_RETURN(plan.end, OffsetsFromJson(json::parse(lines[3]), name));
  } catch (const json::exception& e) {
    return Status::Corruption(std::string(name) + ": bad batch plan: " + e.what());
  }
  return plan;
}

std::string TableOfTopic(std::string_view topic, std::string_view prefix) {
  if (!prefix.empty() && topic.size() > prefix.size() + 1 && topic.substr(0, prefix.size()) == prefix &&
      topic[prefix.size()] == '.') {
    std::string_view rest = topic.substr(prefix.size() + 1);
    constexpr std::string_view kPublic = "public.";
    if (rest.size() > kPublic.size() && rest.substr(0, kPublic.size()) == kPublic) rest.remove_prefix(kPublic.size());
    return std::string(rest);
  }
  size_t dot = topic.rfind('.');
  return std::string(dot == std::string_view::npos ? topic : topic.substr(dot + 1));
}

const parquet::Schema& RawEventSchema() {
  using parquet::ColumnType;
  static const parquet::Schema schema{{
      {"key", ColumnType::kString, true},
      {"value", ColumnType::kString, true, 0, 0, /*dictionary=*/false},  // unique JSON documents
      {"topic", ColumnType::kString, true},
      {"partition", ColumnType::kInt32, true},
      {"offset", ColumnType::kInt64, true},
      {"timestamp", ColumnType::kTimestampMicros, true},
      {"timestampType", ColumnType::kInt32, true},
  }};
  return schema;
}

RawSink::RawSink(RawSinkOptions options)
    : options_(std::move(options)), log_(options_.compact_interval), batch_(RawEventSchema()) {
  if (options_.state) {
    observed_output_ = std::make_unique<ObservedStore>(options_.output, options_.state, options_.stage);
    observed_checkpoint_ = std::make_unique<ObservedStore>(options_.checkpoint, options_.state, options_.stage);
    options_.output = observed_output_.get();
    options_.checkpoint = observed_checkpoint_.get();
  }
}

Result<std::unique_ptr<RawSink>> RawSink::Open(RawSinkOptions options) {
  if (!options.output || !options.checkpoint) return Status::InvalidArgument("RawSink needs an output and a checkpoint store");
  std::unique_ptr<RawSink> sink(new RawSink(std::move(options)));
  CDC_RETURN_IF_ERROR(sink->Retry("recovery", [&] { return sink->Recover(); }));
  return sink;
}

Status RawSink::Retry(std::string_view what, const std::function<Status()>& fn) {
  int delay = options_.retry_initial_ms;
  for (;;) {
    Status st = fn();
    if (st.ok() || !Retryable(st)) return st;
    ++stats_.store_retries;
    log::Warn(kComponent, "{} failed: {}; retrying in {} ms", what, st.ToString(), delay);
    if (options_.state) {
      options_.state->Update([&](PipelineState& s) {
        for (auto& stage : s.stages) {
          if (stage.name == options_.stage) {
            stage.state = "retrying";
            stage.detail = std::string(what) + ": " + st.message();
            ++stage.errors_total;
          }
        }
        s.recent_errors.push_back(std::string(what) + ": " + st.ToString());
        if (s.recent_errors.size() > 20) s.recent_errors.erase(s.recent_errors.begin());
      });
    }
    for (int waited = 0; waited < delay; waited += 50) {
      if (ShutdownRequested()) return Status::Cancelled(std::string(what) + ": stopped while retrying: " + st.message());
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    delay = std::min(delay * 2, options_.retry_max_ms);
  }
}

Result<std::vector<lake::SinkFileStatus>> RawSink::ReadEntries(int64_t batch_id) {
  std::string key = MetadataKey(batch_id);
  CDC_ASSIGN_OR_RETURN(std::string data, options_.output->Get(key));
  return lake::SparkMetadataLog::Parse(data, key);
}

Status RawSink::Recover() {
  recovery_ = RecoveryInfo{};
  std::string meta_prefix = options_.table_dir + "/_spark_metadata/";
  CDC_ASSIGN_OR_RETURN(auto metas, options_.output->List(meta_prefix));
  int64_t last = -1;
  for (const auto& m : metas) {
    auto id = lake::SparkMetadataLog::ParseFileName(std::string_view(m.key).substr(meta_prefix.size()));
    if (id && *id > last) last = *id;
  }
  recovery_.last_committed = last;
  next_batch_id_ = last + 1;

  std::set<std::string> committed;  // absolute URIs of the files the log names
  if (last >= 0) {
    std::string key = "offsets/" + std::to_string(last);
    auto data = options_.checkpoint->Get(key);
    if (!data.ok()) {
      if (data.status().IsNotFound()) {
        return Status::FailedPrecondition(
            "batch " + std::to_string(last) + " is committed in " + options_.output->Describe() + "/" + meta_prefix +
            " but the checkpoint " + options_.checkpoint->Describe() + " has no offsets/" + std::to_string(last) +
            ": the checkpoint does not belong to this output (pass the right --checkpoint, or a new --output)");
      }
      return data.status();
    }
    CDC_ASSIGN_OR_RETURN(BatchPlan plan, ParseBatchPlan(*data, options_.checkpoint->Describe() + "/" + key));
    recovery_.next = plan.end;
    recovery_.source_lsn = plan.source_lsn;
    recovery_.source_skip = plan.source_skip;
    recovery_.snapshot_position = plan.snapshot_position;
    // Every path the log still names, withdrawn ones included (like Spark's sink, a "delete" entry does
    // not remove the file; once a compaction forgets the path, the file is an orphan and goes).
    for (int64_t id : log_.ValidBatches(last)) {
      CDC_ASSIGN_OR_RETURN(auto entries, ReadEntries(id));
      for (auto& e : entries) committed.insert(e.path);
    }
  }
  auto pending = options_.checkpoint->Get("offsets/" + std::to_string(last + 1));
  if (pending.ok()) {
    CDC_ASSIGN_OR_RETURN(BatchPlan plan, ParseBatchPlan(*pending, "offsets/" + std::to_string(last + 1)));
    recovery_.pending = std::move(plan);
  } else if (!pending.status().IsNotFound()) {
    return pending.status();
  }

  if (options_.delete_orphans) {
    std::string data_prefix = options_.table_dir + "/part-";
    CDC_ASSIGN_OR_RETURN(auto files, options_.output->List(data_prefix));
    for (const auto& f : files) {
      if (committed.count(options_.output->AbsoluteUri(f.key))) continue;
      log::Info(kComponent, "deleting {}: no committed batch lists it (left by an interrupted batch)", f.key);
      CDC_RETURN_IF_ERROR(options_.output->Delete(f.key));
      ++recovery_.orphans_deleted;
    }
  }
  log::Info(kComponent, "recovered {}: last committed batch {}, {} pending plan, {} orphan file(s) deleted",
            options_.output->Describe(), last, recovery_.pending ? "a" : "no", recovery_.orphans_deleted);
  return Status::OK();
}

Result<std::vector<lake::SinkFileStatus>> RawSink::LiveEntries(int64_t last) {
  std::vector<lake::SinkFileStatus> all;
  for (int64_t id : log_.ValidBatches(last)) {
    CDC_ASSIGN_OR_RETURN(auto entries, ReadEntries(id));
    all.insert(all.end(), entries.begin(), entries.end());
  }
  return lake::SparkMetadataLog::Compact(std::move(all));
}

Result<size_t> RawSink::RetractAll(BatchPlan plan) {
  if (plan.batch_id != next_batch_id_) {
    return Status::Internal("RawSink::RetractAll: batch " + std::to_string(plan.batch_id) + " out of order (expected " +
                            std::to_string(next_batch_id_) + ")");
  }
  if (plan.timestamp_ms == 0) plan.timestamp_ms = WallMillis();
  plan.files.clear();
  std::string what = "batch " + std::to_string(plan.batch_id) + " (withdrawal)";
  std::vector<lake::SinkFileStatus> entries;
  std::vector<std::string> forgotten;
  if (next_batch_id_ > 0) {
    CDC_RETURN_IF_ERROR(Retry(what, [&]() -> Status {
      CDC_ASSIGN_OR_RETURN(entries, LiveEntries(next_batch_id_ - 1));
      return Status::OK();
    }));
  }
  if (entries.empty()) return size_t{0};  // nothing committed: nothing to withdraw
  for (lake::SinkFileStatus& e : entries) {
    e.action = "delete";
    e.modification_time = plan.timestamp_ms;  // like CommitOnce: a retry writes the same bytes
  }
  CDC_RETURN_IF_ERROR(Retry(what, [&]() -> Status {
    CDC_RETURN_IF_ERROR(
        options_.checkpoint->Put("offsets/" + std::to_string(plan.batch_id), SerializeBatchPlan(plan)));
    return WriteMetadata(plan.batch_id, entries, &forgotten);  // the commit point
  }));
  ScheduleForgotten(plan.batch_id, forgotten);
  size_t withdrawn = entries.size();
  if (options_.observer) {
    static const std::vector<RawEvent> kNoEvents;
    CommittedBatch cb;
    cb.batch_id = plan.batch_id;
    cb.events = &kNoEvents;
    cb.withdrawal = true;
    options_.observer(cb);
  }
  Status rec = options_.checkpoint->Put("commits/" + std::to_string(plan.batch_id), "v1\n{\"nextBatchWatermarkMs\":0}");
  if (!rec.ok()) log::Warn(kComponent, "batch {}: commit record not written ({}); the commit stands", plan.batch_id, rec.ToString());
  ++next_batch_id_;
  ++stats_.batches;
  return withdrawn;
}

Status RawSink::WriteMetadata(int64_t batch_id, const std::vector<lake::SinkFileStatus>& entries,
                              std::vector<std::string>* forgotten) {
  std::vector<lake::SinkFileStatus> all;
  if (forgotten) forgotten->clear();
  if (log_.IsCompactionBatch(batch_id)) {
    for (int64_t id : log_.BatchesBeforeCompaction(batch_id)) {
      CDC_ASSIGN_OR_RETURN(auto prev, ReadEntries(id));
      all.insert(all.end(), prev.begin(), prev.end());
    }
    if (forgotten) {
      // Compact drops every path that has a "delete" entry: from this batch on, no log names them.
      std::set<std::string> dropped;
      for (const auto& e : all) {
        if (e.action == "delete") dropped.insert(e.path);
      }
      forgotten->assign(dropped.begin(), dropped.end());
    }
    all = lake::SparkMetadataLog::Compact(std::move(all));
  }
  all.insert(all.end(), entries.begin(), entries.end());
  std::string data = lake::SparkMetadataLog::Serialize(all);
  std::string key = MetadataKey(batch_id);
  Status st = options_.output->PutIfAbsent(key, data);
  if (st.IsAlreadyExists()) {
    // A retried request whose first attempt succeeded, or another writer: only ours is accepted.
    CDC_ASSIGN_OR_RETURN(std::string existing, options_.output->Get(key));
    if (existing == data) return Status::OK();
    return Status::FailedPrecondition(options_.output->Describe() + "/" + key +
                                      " was committed by another writer: is a second stream or run using this "
                                      "output? Stop it; one writer per output.");
  }
  return st;
}

Status RawSink::CommitOnce(const BatchPlan& plan, const std::vector<RawEvent>& events, bool* plan_written,
                           std::vector<std::string>* forgotten) {
  const std::string prefix = options_.failpoint_prefix;
  if (!*plan_written) {
    CDC_RETURN_IF_ERROR(options_.checkpoint->Put("offsets/" + std::to_string(plan.batch_id), SerializeBatchPlan(plan)));
    *plan_written = true;
    CDC_RETURN_IF_ERROR(FailpointHit(prefix + ".after_offsets_planned"));
  }
  // One file per batch (the plan names exactly one).
  batch_.Clear();
  auto& cols = batch_.columns();
  // The strings are borrowed from `events` (not copied: the values are most of the bytes), which outlive
  // the writer below.
  for (const RawEvent& e : events) {
    if (e.key) cols[0].AppendBorrowedString(*e.key); else cols[0].AppendBorrowedNull();
    if (e.value) cols[1].AppendBorrowedString(*e.value); else cols[1].AppendBorrowedNull();
    cols[2].AppendBorrowedString(e.topic);
    cols[3].AppendInt32(e.partition);
    cols[4].AppendInt64(e.offset);
    cols[5].AppendInt64(e.timestamp_us);
    cols[6].AppendInt32(e.timestamp_type);
  }
  const std::string& file = plan.files.at(0);
  file_bytes_.Clear();
  auto sink = std::make_unique<parquet::BufferSink>(&file_bytes_, file);
  Status written = writer_ ? writer_->Reopen(std::move(sink)) : Status::OK();
  if (!writer_) {
    parquet::WriterOptions wo;
    wo.compression = options_.compression;
    CDC_ASSIGN_OR_RETURN(writer_, parquet::ParquetWriter::Open(std::move(sink), RawEventSchema(), wo));
  }
  if (written.ok()) written = writer_->Write(batch_);
  if (written.ok()) written = writer_->Close();
  if (!written.ok()) {
    writer_.reset();  // the next attempt starts with a new writer
    return written;
  }
  std::string_view bytes = file_bytes_.view();
  CDC_RETURN_IF_ERROR(options_.output->Put(DataKey(file), bytes));
  CDC_RETURN_IF_ERROR(FailpointHit(prefix + ".after_files_written"));

  lake::SinkFileStatus entry;
  entry.path = options_.output->AbsoluteUri(DataKey(file));
  entry.size = static_cast<int64_t>(bytes.size());
  // The plan's time, not the clock: a retry after a lost answer to the PutIfAbsent below must write the
  // same bytes, or WriteMetadata would take our own commit for another writer's.
  entry.modification_time = plan.timestamp_ms;
  CDC_RETURN_IF_ERROR(WriteMetadata(plan.batch_id, {entry}, forgotten));  // the commit point
  stats_.bytes += bytes.size();
  return Status::OK();
}

Status RawSink::Commit(BatchPlan plan, const std::vector<RawEvent>& events) {
  if (plan.batch_id != next_batch_id_) {
    return Status::Internal("RawSink::Commit: batch " + std::to_string(plan.batch_id) + " out of order (expected " +
                            std::to_string(next_batch_id_) + ")");
  }
  if (events.empty()) return Status::Internal("RawSink::Commit: empty batch");
  if (plan.files.empty()) plan.files.push_back(parquet::SparkFileName(0, options_.compression));
  if (plan.timestamp_ms == 0) plan.timestamp_ms = WallMillis();
  if (options_.validate_json) {
    static thread_local simdjson::dom::parser parser;
    for (const RawEvent& e : events) {
      if (!e.value) continue;
      auto doc = parser.parse(e.value->data(), e.value->size());
      if (doc.error() != simdjson::SUCCESS) {
        ++stats_.non_json;
        log::Warn(kComponent, "{}/{} offset {}: value is not JSON ({}); stored raw", e.topic, e.partition, e.offset,
                  simdjson::error_message(doc.error()));
      }
    }
  }
  bool plan_written = false;
  std::string what = "batch " + std::to_string(plan.batch_id);
  std::vector<std::string> forgotten;
  CDC_RETURN_IF_ERROR(Retry(what, [&] { return CommitOnce(plan, events, &plan_written, &forgotten); }));
  // Committed. Everything below only informs.
  ScheduleForgotten(plan.batch_id, forgotten);
  CDC_RETURN_IF_ERROR(FailpointHit(options_.failpoint_prefix + ".after_metadata_committed"));
  Status rec = options_.checkpoint->Put("commits/" + std::to_string(plan.batch_id), "v1\n{\"nextBatchWatermarkMs\":0}");
  if (!rec.ok()) log::Warn(kComponent, "batch {}: commit record not written ({}); the commit stands", plan.batch_id, rec.ToString());
  ++next_batch_id_;
  ++stats_.batches;
  stats_.rows += events.size();
  if (options_.state) {
    int64_t now_us = WallMicros();
    int64_t newest = 0;
    std::map<std::string, uint64_t> per_table;
    for (const RawEvent& e : events) {
      newest = std::max(newest, e.timestamp_us);
      ++per_table[TableOfTopic(e.topic, options_.topic_prefix)];
    }
    options_.state->Update([&](PipelineState& s) {
      for (auto& stage : s.stages) {
        if (stage.name == options_.stage) {
          stage.state = "running";
          stage.detail = "committed batch " + std::to_string(plan.batch_id) + " (" + std::to_string(events.size()) + " rows)";
        }
      }
      s.last_batch_id = plan.batch_id;
      ++s.batches_committed_total;
      s.bytes_written_total = stats_.bytes;
      if (newest > 0) s.freshness_seconds = std::max<double>(0, (now_us - newest) / 1e6);
      for (const auto& [table, n] : per_table) s.tables[table].events_written_total += n;
    });
  }
  if (options_.observer) {
    CommittedBatch cb;
    cb.batch_id = plan.batch_id;
    cb.events = &events;
    cb.source_lsn = plan.source_lsn;
    options_.observer(cb);
  }
  DeleteWithdrawnFiles(WallMillis());
  return Status::OK();
}

void RawSink::ScheduleForgotten(int64_t batch_id, const std::vector<std::string>& paths) {
  if (options_.withdrawn_file_grace_ms < 0) return;  // left to the next Open
  int64_t due = WallMillis() + options_.withdrawn_file_grace_ms;
  for (const std::string& p : paths) forgotten_.push_back({p, due, batch_id});
  if (!paths.empty()) {
    log::Info(kComponent, "batch {} compacted {} withdrawn file(s) out of the log; they are deleted in {} s", batch_id,
              paths.size(), options_.withdrawn_file_grace_ms / 1000);
  }
}

size_t RawSink::DeleteWithdrawnFiles(int64_t now_ms) {
  size_t deleted = 0;
  std::vector<Forgotten> keep;
  for (Forgotten& f : forgotten_) {
    if (f.due_ms > now_ms) {
      keep.push_back(std::move(f));
      continue;
    }
    // The log names a file by its absolute URI; ours are <table_dir>/<name> in the output store.
    size_t slash = f.path.rfind('/');
    std::string key = DataKey(slash == std::string::npos ? f.path : f.path.substr(slash + 1));
    if (options_.output->AbsoluteUri(key) != f.path) {
      log::Warn(kComponent, "not deleting withdrawn {}: it is not a file of {}", f.path, options_.output->Describe());
      continue;
    }
    Status st = options_.output->Delete(key);
    if (!st.ok() && !st.IsNotFound()) {
      log::Warn(kComponent, "deleting withdrawn {} failed ({}); trying again later", key, st.ToString());
      keep.push_back(std::move(f));
      continue;
    }
    log::Info(kComponent, "deleted {}: withdrawn, and no log names it since compaction batch {}", key, f.batch_id);
    ++deleted;
  }
  forgotten_ = std::move(keep);
  stats_.withdrawn_deleted += deleted;
  return deleted;
}

}  // namespace cdc::jobs
