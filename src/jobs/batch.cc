#include "jobs/batch.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>

#include "base/clock.h"
#include "base/failpoint.h"
#include "base/fixed_bytes.h"
#include "base/huge_pages.h"
#include "base/log.h"
#include "base/thread_placement.h"
#include "jobs/spark_metadata_log.h"
#include "parquet/reader.h"
#include "parquet/writer.h"

namespace cdc::jobs {

namespace {

constexpr std::string_view kCheckpointMagic = "CDCBAT02";
constexpr std::string_view kOldCheckpointMagic = "CDCBAT01";
constexpr std::string_view kSegmentPrefix = "_checkpoints/batch/segment-";

// A checksum against torn or damaged checkpoint objects (not a cryptographic hash): four independent
// multiply-xorshift lanes over 8-byte words, so a 5 MB base costs well under a millisecond.
uint64_t Checksum64(std::string_view data) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  uint64_t lane[4] = {0x243F6A8885A308D3ull, 0x13198A2E03707344ull, 0xA4093822299F31D0ull, 0x082EFA98EC4E6C89ull};
  auto mix = [](uint64_t h, uint64_t w) {
    h = (h ^ w) * kMul;
    return h ^ (h >> 31);
  };
  size_t i = 0;
  for (; i + 32 <= data.size(); i += 32) {
    for (int l = 0; l < 4; ++l) {
      uint64_t w;
      std::memcpy(&w, data.data() + i + 8 * l, 8);
      lane[l] = mix(lane[l], w);
    }
  }
  for (int l = 0; i < data.size(); i += 8, l = (l + 1) % 4) {
    uint64_t w = 0;
    std::memcpy(&w, data.data() + i, std::min<size_t>(8, data.size() - i));
    lane[l] = mix(lane[l], w);
  }
  uint64_t h = mix(data.size(), lane[0]);
  for (int l = 1; l < 4; ++l) h = mix(h, lane[l]);
  return h;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 &&
        HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

void AnalyticsBuilder::Reset() {
  state_.Clear();
  position_ = RawPosition{};
  files_unknown_ = false;
  source_lsn_ = Lsn();
  segments_.clear();  // the next save writes a new base
  manifest_segments_.clear();
  prefetcher_.reset();
  pending_files_.clear();
}

Status AnalyticsBuilder::LoadCheckpoint() {
  CDC_RETURN_IF_ERROR(LoadCheckpointManifest());
  return LoadCheckpointSegments();
}

Status AnalyticsBuilder::LoadCheckpointManifest() {
  CDC_ASSIGN_OR_RETURN(std::string data, output_->Get(kBatchCheckpointKey));
  std::string where = output_->Describe() + "/" + std::string(kBatchCheckpointKey);
  auto corrupt = [&](std::string_view what) {
    return Status::Corruption(fmt::format("{}: {}", where, what));
  };
  if (std::string_view(data).substr(0, kOldCheckpointMagic.size()) == kOldCheckpointMagic) {
    return Status::FailedPrecondition(where + " was written by an older cdcpipe (format 1)");
  }
  if (data.size() < kCheckpointMagic.size() + 8 || std::string_view(data).substr(0, 8) != kCheckpointMagic) {
    return corrupt("not an analytics checkpoint");
  }
  std::string_view body(data.data(), data.size() - 8);
  uint64_t stored;
  std::memcpy(&stored, data.data() + data.size() - 8, 8);
  if (Checksum64(body) != stored) return corrupt("checksum mismatch");
  std::string_view in = body.substr(kCheckpointMagic.size());
  RawPosition pos;
  uint32_t len;
  if (!GetFixed(&in, &pos.last_batch_id) || !GetFixed(&in, &pos.files_consumed) || !GetFixed(&in, &len) ||
      in.size() < len) {
    return corrupt("truncated position");
  }
  pos.last_file = std::string(in.substr(0, len));
  in.remove_prefix(len);
  uint64_t max_lsn, next_segment;
  uint32_t n;
  if (!GetFixed(&in, &max_lsn) || !GetFixed(&in, &next_segment) || !GetFixed(&in, &n) || n == 0 || n > 4096) {
    return corrupt("bad segment list");
  }
  std::vector<SegmentRef> segments(n);
  for (SegmentRef& s : segments) {
    if (!GetFixed(&in, &len) || in.size() < len) return corrupt("truncated segment list");
    s.key = std::string(in.substr(0, len));
    in.remove_prefix(len);
    if (!GetFixed(&in, &s.size) || !GetFixed(&in, &s.checksum)) return corrupt("truncated segment list");
    if (s.key.rfind(kSegmentPrefix, 0) != 0) return corrupt("segment key outside " + std::string(kSegmentPrefix));
  }
  if (!in.empty()) return corrupt("trailing bytes");
  state_.Clear();
  position_ = std::move(pos);
  manifest_segments_ = std::move(segments);
  manifest_max_lsn_ = Lsn(max_lsn);
  next_segment_ = next_segment;
  segments_.clear();
  return Status::OK();
}

Status AnalyticsBuilder::LoadCheckpointSegments() {
  if (manifest_segments_.empty()) return Status::OK();  // nothing pending (or Reset since)
  std::vector<SegmentRef> segments = std::move(manifest_segments_);
  manifest_segments_.clear();
  std::string where = output_->Describe() + "/" + std::string(kBatchCheckpointKey);
  auto fail = [&](Status st) {
    Reset();
    return st;
  };
  auto corrupt = [&](std::string_view what) {
    return fail(Status::Corruption(fmt::format("{}: {}", where, what)));
  };
  for (size_t i = 0; i < segments.size(); ++i) {
    const SegmentRef& s = segments[i];
    auto seg = output_->GetBytes(s.key);
    if (!seg.ok()) {
      if (seg.status().IsNotFound()) return corrupt("its segment " + s.key + " is missing");
      return fail(seg.status());
    }
    if (seg->data.size() != s.size || Checksum64(seg->data) != s.checksum) {
      return corrupt("segment " + s.key + " is damaged");
    }
    Status st;
    if (i == 0) {
      st = state_.ReadBase(seg->data, seg->owner);
    } else {
      std::string_view sin = seg->data;
      st = state_.ApplyDelta(&sin);
      if (st.ok() && !sin.empty()) st = Status::Corruption("trailing bytes");
    }
    if (!st.ok()) return corrupt("segment " + s.key + ": " + st.message());
  }
  state_.MarkSaved();
  state_.set_max_lsn(manifest_max_lsn_);
  segments_ = std::move(segments);
  return Status::OK();
}

Status AnalyticsBuilder::SaveCheckpoint() {
  bool new_base = segments_.empty() || state_.needs_new_base() || segments_.size() > max_deltas_ ||
                  static_cast<double>(state_.changed_rows()) > max_changed_share_ * static_cast<double>(state_.base_rows());
  std::vector<SegmentRef> segments = new_base ? std::vector<SegmentRef>{} : segments_;
  if (new_base || state_.unsaved_rows() > 0) {
    std::string data;
    if (new_base) {
      state_.AppendBase(&data);
    } else {
      state_.AppendDelta(&data);
    }
    SegmentRef ref{fmt::format("{}{:08d}-{}", kSegmentPrefix, next_segment_++, parquet::RandomUuid().substr(0, 8)),
                   data.size(), Checksum64(data)};
    CDC_RETURN_IF_ERROR(output_->PutDerived(ref.key, data));
    segments.push_back(std::move(ref));
  }
  CDC_FAILPOINT("batch.after_segment");
  std::string data(kCheckpointMagic);
  PutFixed<int64_t>(&data, position_.last_batch_id);
  PutFixed<uint64_t>(&data, position_.files_consumed);
  PutFixed<uint32_t>(&data, static_cast<uint32_t>(position_.last_file.size()));
  data += position_.last_file;
  PutFixed<uint64_t>(&data, state_.max_lsn().value());
  PutFixed<uint64_t>(&data, next_segment_);
  PutFixed<uint32_t>(&data, static_cast<uint32_t>(segments.size()));
  for (const SegmentRef& s : segments) {
    PutFixed<uint32_t>(&data, static_cast<uint32_t>(s.key.size()));
    data += s.key;
    PutFixed<uint64_t>(&data, s.size);
    PutFixed<uint64_t>(&data, s.checksum);
  }
  PutFixed<uint64_t>(&data, Checksum64(data));
  CDC_RETURN_IF_ERROR(output_->PutDerived(kBatchCheckpointKey, data));
  state_.MarkSaved();
  segments_ = std::move(segments);
  if (new_base) DeleteStaleSegments();
  return Status::OK();
}

void AnalyticsBuilder::DeleteStaleSegments() {
  // Best effort: a segment left behind costs space, never correctness (only the manifest names segments).
  auto listed = output_->List(kSegmentPrefix);
  if (!listed.ok()) {
    log::Warn("batch", "cannot list old checkpoint segments to delete them: {}", listed.status().ToString());
    return;
  }
  for (const store::ObjectInfo& o : *listed) {
    bool live = std::any_of(segments_.begin(), segments_.end(), [&](const SegmentRef& s) { return s.key == o.key; });
    if (live) continue;
    Status st = output_->Delete(o.key);
    if (!st.ok()) log::Warn("batch", "cannot delete old checkpoint segment {}: {}", o.key, st.ToString());
  }
}

Result<AnalyticsBuilder::CommittedList> AnalyticsBuilder::ListCommitted() const {
  std::string meta_prefix = std::string(kRawDataDir) + "/_spark_metadata/";
  CDC_ASSIGN_OR_RETURN(auto objects, output_->List(meta_prefix));
  // batch id -> is compaction
  std::map<int64_t, bool> batches;
  for (const store::ObjectInfo& o : objects) {
    std::string_view name = std::string_view(o.key).substr(meta_prefix.size());
    auto id = SparkMetadataLog::ParseFileName(name);
    if (!id) continue;  // temp files and anything else
    bool compact = name.ends_with(".compact");
    auto [it, inserted] = batches.emplace(*id, compact);
    if (!inserted) it->second = it->second || compact;
  }
  CommittedList list;
  if (batches.empty()) return list;
  list.latest_batch = batches.rbegin()->first;
  // Start at the latest compaction (it holds everything up to itself), else at the first batch.
  auto start = batches.begin();
  for (auto it = batches.begin(); it != batches.end(); ++it) {
    if (it->second) start = it;
  }
  if (!start->second && start->first != 0) {
    return Status::Corruption(fmt::format(
        "{}/{}: batch {} is the first batch but there is no compaction before it (raw data incomplete)",
        output_->Describe(), meta_prefix, start->first));
  }
  std::vector<SinkFileStatus> entries;
  int64_t expect = start->first;
  for (auto it = start; it != batches.end(); ++it, ++expect) {
    if (it->first != expect) {
      return Status::Corruption(fmt::format("{}/{}: batch {} is missing (found {} after it)", output_->Describe(),
                                            meta_prefix, expect, it->first));
    }
    std::string name = std::to_string(it->first) + (it->second ? ".compact" : "");
    CDC_ASSIGN_OR_RETURN(std::string data, output_->Get(meta_prefix + name));
    CDC_ASSIGN_OR_RETURN(auto parsed, SparkMetadataLog::Parse(data, output_->Describe() + "/" + meta_prefix + name));
    entries.insert(entries.end(), parsed.begin(), parsed.end());
  }
  entries = SparkMetadataLog::Compact(std::move(entries));
  list.files.reserve(entries.size());
  for (auto& e : entries) {
    if (e.action == "add" && !e.is_dir) list.files.push_back(std::move(e.path));
  }
  return list;
}

Status AnalyticsBuilder::ApplyRaw(std::string_view topic, std::optional<std::string_view> value,
                                  const std::string& where) {
  AnalyticsTable table = TableOfTopic(topic);
  if (table == AnalyticsTable::kOther || !value) return Status::OK();
  Status st = extractor_.Extract(*value, table, &change_);
  if (st.ok()) st = state_.Apply(table, change_);
  if (!st.ok()) return Status(st.code(), where + ": " + st.message());
  return Status::OK();
}

// One event of a row group, extracted ahead of being applied: ExtractedChange without views (its
// group name is in its chunk's arena), 48 bytes.
struct PackedChange {
  enum : uint8_t { kHasBefore = 1, kHasAfter = 2, kHasGroup = 4, kHasWiek = 8 };
  int64_t before_id;
  int64_t after_id;
  int64_t wiek;
  uint64_t lsn;  // Lsn::value() (0: none)
  uint32_t group_off;
  uint32_t group_len;
  char op;
  uint8_t has;
  AnalyticsTable table;  // kOther: nothing to apply (another table, or a tombstone)
};
static_assert(std::is_trivially_copyable_v<PackedChange>);

// The tools a thread needs to decode and extract pages of raw events (each thread has its own).
struct AnalyticsBuilder::PageWorker {
  ChangeExtractor extractor;
  parquet::PageDecoder decoder;
  parquet::ColumnVector values;  // the page being extracted (its buffers reused page after page)
};

// A row group whose topics are decoded and whose value pages are located: each value page is a task
// (decode it, extract its events) done by whichever thread claims it first (the decoding thread after
// publishing the row group, or the applying thread when it reaches a page nobody has claimed, or while
// it waits for one); the events are then applied in row order. Pages are decoded straight into a
// thread's page-sized scratch and extracted from there: the row group's values are never held whole.
struct AnalyticsBuilder::PrefetchedRowGroup {
  struct Chunk {             // one value page
    size_t begin = 0, end = 0;  // its rows
    std::string arena;     // group names of its events
    Status error;          // failed at error_row: the rows before it are extracted
    size_t error_row = 0;
    bool page_error = false;  // the page itself could not be decoded (error names it)
  };

  size_t file = 0;  // index into the file list
  int group = 0;
  parquet::RecordBatch batch;  // column 0: topic
  std::shared_ptr<const parquet::ColumnPages> values;
  std::vector<AnalyticsTable> tables;  // of each row (from its topic)
  size_t per_table[3] = {0, 0, 0};     // rows per AnalyticsTable
  std::vector<Chunk> chunks;
  // The extracted event of every row (row i at changes[i]), written once per row group: huge-page
  // backed from 256 KiB on, since fresh 4 KiB pages would cost a page fault every 85 rows.
  std::unique_ptr<PackedChange[], FreeBytes> changes;
  size_t changes_capacity = 0;
  std::unique_ptr<std::atomic<bool>[]> ready;  // per chunk: extracted (release/acquire)
  size_t ready_capacity = 0;
  std::atomic<size_t> next_claim{0};  // chunks below it are claimed

  size_t rows() const { return batch.num_rows(); }
  size_t num_chunks() const { return chunks.size(); }

  // Prepares the tasks once the topics are decoded and the value pages located: the table of every
  // row, counted, and one chunk per value page.
  void Prepare() {
    size_t n = rows();
    const parquet::ColumnVector& topic = batch.column(0);
    tables.resize(n);
    per_table[0] = per_table[1] = per_table[2] = 0;
    for (size_t i = 0; i < n; ++i) {
      tables[i] = topic.IsNull(i) ? AnalyticsTable::kOther : TableOfTopic(topic.String(i));
      ++per_table[static_cast<int>(tables[i])];
    }
    if (n > changes_capacity) {
      size_t bytes = n * sizeof(PackedChange);
      changes.reset(static_cast<PackedChange*>(AllocatePages(&bytes, size_t{256} << 10)));
      changes_capacity = bytes / sizeof(PackedChange);
    }
    size_t k = values->num_pages();
    chunks.resize(k);
    for (size_t j = 0; j < k; ++j) {
      chunks[j].begin = static_cast<size_t>(values->first_row(j));
      chunks[j].end = chunks[j].begin + static_cast<size_t>(values->num_rows(j));
    }
    if (k > ready_capacity) {
      ready = std::make_unique<std::atomic<bool>[]>(k);
      ready_capacity = k;
    }
    for (size_t j = 0; j < k; ++j) ready[j].store(false, std::memory_order_relaxed);
    next_claim.store(0, std::memory_order_release);
  }

  // Claims the next unclaimed chunk: its index, or num_chunks() when all are claimed.
  size_t Claim() {
    size_t j = next_claim.load(std::memory_order_relaxed);
    while (j < num_chunks() && !next_claim.compare_exchange_weak(j, j + 1, std::memory_order_acq_rel)) {
    }
    return std::min(j, num_chunks());
  }

  // Decodes and extracts chunk j (claimed by the caller) with the caller's tools, then marks it ready.
  void Extract(size_t j, PageWorker* w) {
    Chunk& chunk = chunks[j];
    chunk.arena.clear();
    chunk.error = Status::OK();
    chunk.page_error = false;
    chunk.error_row = chunk.end;
    Status decoded = w->decoder.Decode(*values, j, &w->values);
    if (!decoded.ok()) {
      chunk.error = std::move(decoded);
      chunk.error_row = chunk.begin;
      chunk.page_error = true;
    } else {
      ExtractRows(chunk, w);
    }
    ready[j].store(true, std::memory_order_release);
    ready[j].notify_all();
  }

  void ExtractRows(Chunk& chunk, PageWorker* w) {
    const parquet::ColumnVector& value = w->values;  // row i of the row group at i - chunk.begin
    ExtractedChange e;
    for (size_t i = chunk.begin; i < chunk.end; ++i) {
      PackedChange& p = changes[i];
      size_t v = i - chunk.begin;
      p.table = value.IsNull(v) ? AnalyticsTable::kOther : tables[i];
      if (p.table == AnalyticsTable::kOther) continue;
      Status st = w->extractor.Extract(value.String(v), p.table, &e);
      if (!st.ok()) {
        chunk.error = std::move(st);
        chunk.error_row = i;
        return;
      }
      p.op = e.op;
      p.has = 0;
      p.before_id = e.before_id.value_or(0);
      p.after_id = e.after_id.value_or(0);
      p.wiek = e.wiek.value_or(0);
      if (e.before_id) p.has |= PackedChange::kHasBefore;
      if (e.after_id) p.has |= PackedChange::kHasAfter;
      if (e.wiek) p.has |= PackedChange::kHasWiek;
      if (e.group) {
        p.has |= PackedChange::kHasGroup;
        p.group_off = static_cast<uint32_t>(chunk.arena.size());
        p.group_len = static_cast<uint32_t>(e.group->size());
        chunk.arena.append(*e.group);
      }
      p.lsn = e.lsn.value();
    }
  }

  // Returns once chunk j is extracted, extracting it, or later unclaimed chunks while another thread
  // extracts it.
  void AwaitChunk(size_t j, PageWorker* w) {
    while (!ready[j].load(std::memory_order_acquire)) {
      size_t k = Claim();
      if (k < num_chunks()) {
        Extract(k, w);
      } else {
        ready[j].wait(false, std::memory_order_acquire);
      }
    }
  }
};

// Opens and decodes raw files on its own thread, at most kAhead row groups ahead of the consumer, in
// order, and extracts the events of each row group it publishes while the consumer has not claimed
// them. Row groups are recycled (their buffers reused) once the consumer asks for the next one.
// On kernels that pack threads onto one vCPU, this thread and the consumer (the thread that constructs
// and destroys the Prefetcher) are pinned to different CPUs while it lives (base/thread_placement.h).
class AnalyticsBuilder::Prefetcher {
 public:
  using RowGroup = PrefetchedRowGroup;

  Prefetcher(AnalyticsBuilder* builder, const std::vector<std::string>& uris)
      : builder_(builder), uris_(uris), thread_([this] { Run(); }) {
    placement_.emplace(thread_);
  }
  ~Prefetcher() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  // The next row group, valid until the next call; nullptr after the last; the first error ends it.
  // After an error, failed_file() is the index of the file that could not be read.
  Result<RowGroup*> Next() {
    std::unique_lock lock(mu_);
    if (current_) free_.push_back(std::move(current_));
    cv_.notify_all();
    cv_.wait(lock, [&] { return !ready_.empty() || done_; });
    if (!ready_.empty()) {
      current_ = std::move(ready_.front());
      ready_.pop_front();
      cv_.notify_all();
      return current_.get();
    }
    if (!error_.ok()) return error_;
    return static_cast<RowGroup*>(nullptr);
  }
  size_t failed_file() {
    std::lock_guard lock(mu_);
    return file_;
  }
  // The number of rows of the first file (as its footer says, capped at 2^18: a hint for reserving
  // memory), as soon as the footer is read; 0 when there are no files or it cannot be read.
  size_t FirstFileRows() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return first_rows_known_ || done_; });
    return first_rows_;
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
      int64_t t0 = MonoMicros();
      CDC_ASSIGN_OR_RETURN(auto reader, builder_->OpenRawFile(uris_[f]));
      // Partition and offset are only needed to name a bad event: read then (WhereInKafka).
      CDC_ASSIGN_OR_RETURN(std::vector<int> cols, reader->ResolveColumns({"topic", "value"}));
      const int topic_col[1] = {cols[0]};
      if (f == 0) {
        std::lock_guard lock(mu_);
        first_rows_ = static_cast<size_t>(std::clamp<int64_t>(reader->num_rows(), 0, int64_t{1} << 18));
        first_rows_known_ = true;
        cv_.notify_all();
      }
      int64_t busy_us = MonoMicros() - t0;  // opening, decoding and extracting, not waiting for the consumer
      for (int g = 0; g < reader->num_row_groups(); ++g) {
        RowGroup* rg;
        {
          std::unique_lock lock(mu_);
          cv_.wait(lock, [&] { return stop_ || ready_.size() < kAhead; });
          if (stop_) return Status::Cancelled("stopped");
          std::unique_ptr<RowGroup> fresh;
          if (!free_.empty()) {
            fresh = std::move(free_.back());
            free_.pop_back();
          } else {
            fresh = std::make_unique<RowGroup>();
          }
          rg = fresh.get();
          decoding_ = std::move(fresh);
        }
        rg->file = f;
        rg->group = g;
        int64_t t = MonoMicros();
        CDC_RETURN_IF_ERROR(reader->ReadRowGroup(g, topic_col, &rg->batch));
        CDC_ASSIGN_OR_RETURN(rg->values, reader->ReadColumnPages(g, cols[1]));
        rg->Prepare();
        {
          std::lock_guard lock(mu_);
          ready_.push_back(std::move(decoding_));
        }
        cv_.notify_all();
        // The consumer may be applying an earlier row group: decode and extract this one's pages
        // meanwhile (it owns the row group from now on, and claims pages itself when it gets there first).
        for (size_t j = rg->Claim(); j < rg->num_chunks(); j = rg->Claim()) rg->Extract(j, &worker_);
        busy_us += MonoMicros() - t;
      }
      log::Debug("batch", "{}: {} rows decoded (and events extracted) in {:.1f} ms", uris_[f], reader->num_rows(),
                 static_cast<double>(busy_us) / 1000.0);
    }
    return Status::OK();
  }

  AnalyticsBuilder* builder_;
  const std::vector<std::string>& uris_;
  PageWorker worker_;  // this thread's
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<RowGroup>> ready_;
  std::vector<std::unique_ptr<RowGroup>> free_;
  std::unique_ptr<RowGroup> current_;   // the consumer's
  std::unique_ptr<RowGroup> decoding_;  // this thread's, until published
  Status error_;
  size_t file_ = 0;  // being decoded
  size_t first_rows_ = 0;
  bool first_rows_known_ = false;
  bool done_ = false;
  bool stop_ = false;
  // This thread and the consumer on different CPUs, on kernels that would pack them onto one.
  std::optional<ThreadPairPlacement> placement_;
  std::thread thread_;  // last: started once the rest is initialised
};

AnalyticsBuilder::AnalyticsBuilder(store::ObjectStore* output)
    : output_(output), worker_(std::make_unique<PageWorker>()) {}
AnalyticsBuilder::~AnalyticsBuilder() = default;

Result<std::unique_ptr<parquet::ParquetReader>> AnalyticsBuilder::OpenRawFile(const std::string& uri) {
  // The data file as a key of the output store (the usual case), else as a local file.
  std::string prefix = output_->AbsoluteUri(std::string(kRawDataDir) + "/x");
  prefix.pop_back();
  if (uri.starts_with(prefix)) {
    std::string key = std::string(kRawDataDir) + "/" + PercentDecode(std::string_view(uri).substr(prefix.size()));
    CDC_ASSIGN_OR_RETURN(store::ObjectBytes bytes, output_->GetBytes(key));  // a local store maps the file
    return parquet::ParquetReader::OpenView(bytes.data, std::move(bytes.owner), uri);
  }
  if (uri.starts_with("file://")) {
    std::string_view path = std::string_view(uri).substr(7);
    return parquet::ParquetReader::OpenFile(PercentDecode(path));
  }
  return Status::FailedPrecondition(fmt::format(
      "raw file {} listed in {}/{}/_spark_metadata is outside the output root; run `cdcpipe batch` with "
      "the --output the stream wrote to",
      uri, output_->Describe(), kRawDataDir));
}

std::string AnalyticsBuilder::WhereInKafka(const std::string& uri, int group, size_t row) {
  auto reader = OpenRawFile(uri);
  if (!reader.ok()) return "partition ? offset ?";
  auto cols = (*reader)->ResolveColumns({"partition", "offset"});
  parquet::RecordBatch batch;
  if (!cols.ok() || !(*reader)->ReadRowGroup(group, *cols, &batch).ok() || row >= batch.num_rows()) {
    return "partition ? offset ?";
  }
  const parquet::ColumnVector& part = batch.column(0);
  const parquet::ColumnVector& off = batch.column(1);
  return fmt::format("partition {} offset {}", part.IsNull(row) ? -1 : part.Int32(row),
                     off.IsNull(row) ? -1 : off.Int64(row));
}

Status AnalyticsBuilder::ApplyRowGroup(const std::string& uri, PrefetchedRowGroup& rg, CatchUpStats* stats) {
  state_.ReserveChanges(AnalyticsTable::kKlienci, rg.per_table[static_cast<int>(AnalyticsTable::kKlienci)]);
  state_.ReserveChanges(AnalyticsTable::kPracownicy, rg.per_table[static_cast<int>(AnalyticsTable::kPracownicy)]);
  auto failed = [&](size_t i, const Status& st) {
    const parquet::ColumnVector& topic = rg.batch.column(0);
    return Status(st.code(), fmt::format("{} row group {} row {} (topic {} {}): {}", uri, rg.group, i,
                                         topic.IsNull(i) ? "null" : topic.String(i), WhereInKafka(uri, rg.group, i),
                                         st.message()));
  };
  // Events are applied in order, each after the lookups of the previous one; prefetching the memory
  // of the event kPrefetchAhead rows on overlaps their cache misses.
  constexpr size_t kPrefetchAhead = 8;
  ExtractedChange e;
  const PackedChange* changes = rg.changes.get();
  for (size_t j = 0; j < rg.num_chunks(); ++j) {
    rg.AwaitChunk(j, worker_.get());
    const PrefetchedRowGroup::Chunk& chunk = rg.chunks[j];
    if (chunk.page_error) return chunk.error;  // names the file, row group, column and page
    std::string_view arena = chunk.arena;
    for (size_t i = chunk.begin; i < chunk.end; ++i) {
      if (i + kPrefetchAhead < chunk.error_row) {
        const PackedChange& q = changes[i + kPrefetchAhead];
        if (q.table != AnalyticsTable::kOther) {
          state_.Prefetch(q.table, q.op == 'd' ? q.before_id : q.after_id);
        }
      }
      if (i == chunk.error_row) return failed(i, chunk.error);  // (error_row is `end` when none failed)
      const PackedChange& p = changes[i];
      if (p.table == AnalyticsTable::kOther) continue;
      e.op = p.op;
      e.before_id = (p.has & PackedChange::kHasBefore) ? std::optional<int64_t>(p.before_id) : std::nullopt;
      e.after_id = (p.has & PackedChange::kHasAfter) ? std::optional<int64_t>(p.after_id) : std::nullopt;
      e.wiek = (p.has & PackedChange::kHasWiek) ? std::optional<int64_t>(p.wiek) : std::nullopt;
      e.group = (p.has & PackedChange::kHasGroup) ? std::optional<std::string_view>(arena.substr(p.group_off, p.group_len))
                                                  : std::nullopt;
      e.lsn = Lsn(p.lsn);
      Status st = state_.Apply(p.table, e);
      if (!st.ok()) return failed(i, st);
      ++stats->events;
    }
  }
  stats->rows += rg.rows();
  return Status::OK();
}

Result<CatchUpStats> AnalyticsBuilder::CatchUp(ProgressLine* progress) {
  CDC_RETURN_IF_ERROR(StartCatchUp());
  return FinishCatchUp(progress);
}

Status AnalyticsBuilder::StartCatchUp() { return StartCatchUp(ListCommitted()); }

Status AnalyticsBuilder::StartCatchUp(Result<CommittedList> listed) {
  prefetcher_.reset();
  pending_stats_ = CatchUpStats{};
  CDC_RETURN_IF_ERROR(listed.status());
  std::vector<std::string>& files = listed->files;
  const int64_t latest = listed->latest_batch;
  pending_stats_.latest_batch = latest;
  bool consistent = position_.files_consumed <= files.size() &&
                    (position_.files_consumed == 0 || files[position_.files_consumed - 1] == position_.last_file) &&
                    position_.last_batch_id <= latest && !files_unknown_;
  if (!consistent) {
    log::Warn("batch",
              "the analytics checkpoint (batch {}, {} files) does not match {}/{}/_spark_metadata (last batch {}, {} "
              "files): recomputing from all raw data",
              position_.last_batch_id, position_.files_consumed, output_->Describe(), kRawDataDir, latest,
              files.size());
    Reset();
  }
  pending_files_.assign(std::make_move_iterator(files.begin() + static_cast<std::ptrdiff_t>(position_.files_consumed)),
                        std::make_move_iterator(files.end()));
  prefetcher_ = std::make_unique<Prefetcher>(this, pending_files_);
  return Status::OK();
}

Result<CatchUpStats> AnalyticsBuilder::FinishCatchUp(ProgressLine* progress) {
  if (!prefetcher_) return Status::Internal("AnalyticsBuilder::FinishCatchUp without StartCatchUp");
  CatchUpStats stats = pending_stats_;
  // The changed-key overlays get room for the first file's rows (in either table) while its first row
  // group decodes, so that their memory is faulted in now rather than by the first inserts.
  if (size_t rows = prefetcher_->FirstFileRows(); rows > 0) {
    state_.ReserveChanges(AnalyticsTable::kKlienci, rows);
    state_.ReserveChanges(AnalyticsTable::kPracownicy, rows);
  }
  // Files before the one being read are consumed (also files without row groups).
  auto consumed_up_to = [&](size_t end) {
    for (; stats.files < end; ++stats.files) {
      ++position_.files_consumed;
      position_.last_file = pending_files_[stats.files];
    }
    if (progress) progress->Update(stats.files);
  };
  for (;;) {
    Result<Prefetcher::RowGroup*> next = prefetcher_->Next();
    if (!next.ok()) {
      consumed_up_to(prefetcher_->failed_file());  // the files before it were applied whole
      prefetcher_.reset();
      return next.status();
    }
    Prefetcher::RowGroup* rg = *next;
    if (rg == nullptr) break;
    consumed_up_to(rg->file);
    Status st = ApplyRowGroup(pending_files_[rg->file], *rg, &stats);
    if (!st.ok()) {
      prefetcher_.reset();
      return st;
    }
    if (progress) progress->Update(stats.files);
  }
  prefetcher_.reset();
  consumed_up_to(pending_files_.size());
  position_.last_batch_id = stats.latest_batch;
  pending_files_.clear();
  return stats;
}

Status AnalyticsBuilder::ApplyCommittedBatch(const CommittedBatch& batch) {
  if (batch.batch_id <= position_.last_batch_id) return Status::OK();
  if (batch.batch_id != position_.last_batch_id + 1) {
    return Status::FailedPrecondition(
        fmt::format("committed batch {} follows batch {}: a gap", batch.batch_id, position_.last_batch_id));
  }
  if (batch.withdrawal) {
    return Status::FailedPrecondition(fmt::format("committed batch {} withdrew earlier files", batch.batch_id));
  }
  if (batch.events != nullptr) {
    for (const RawEvent& e : *batch.events) {
      std::optional<std::string_view> value;
      if (e.value) value = *e.value;
      CDC_RETURN_IF_ERROR(ApplyRaw(e.topic, value,
                                   fmt::format("batch {} topic {} partition {} offset {}", batch.batch_id, e.topic,
                                               e.partition, e.offset)));
    }
  }
  position_.last_batch_id = batch.batch_id;
  // The file-level position is unknown here; a later CatchUp re-derives it (see LiveAggregates).
  position_.files_consumed = 0;
  position_.last_file.clear();
  files_unknown_ = true;
  if (batch.source_lsn.valid()) source_lsn_ = batch.source_lsn;
  return Status::OK();
}

AnalyticsResult AnalyticsBuilder::Snapshot() const {
  AnalyticsResult r;
  r.klienci_by_country = state_.KlienciByCountry();
  r.avg_age_by_position = state_.AvgAgeByPosition();
  r.source_lsn = source_lsn_.valid() ? source_lsn_ : state_.max_lsn();
  r.raw_batch_id = position_.last_batch_id;
  return r;
}

Result<BatchReport> RunBatch(const BatchOptions& options) {
  if (options.output.empty()) return Status::InvalidArgument("batch: --output is required");
  CDC_ASSIGN_OR_RETURN(auto store, store::OpenStore(options.output, store::StoreOptions::FromEnvironment(options.store_options)));
  AnalyticsBuilder builder(store.get());
  BatchReport report;
  int64_t t0 = MonoMicros();
  auto ms_since = [](int64_t* t) {
    int64_t now = MonoMicros();
    double ms = static_cast<double>(now - *t) / 1000.0;
    *t = now;
    return ms;
  };
  // The committed file list is read while this thread reads the checkpoint manifest (neither needs the
  // other; an early return waits for it in the future's destructor).
  std::future<Result<AnalyticsBuilder::CommittedList>> listing =
      std::async(std::launch::async, [&builder] { return builder.ListCommitted(); });
  bool segments_pending = false;
  if (!options.full) {
    Status st = builder.LoadCheckpointManifest();
    if (st.ok()) {
      report.incremental = true;
      segments_pending = true;
    } else if (st.IsNotFound()) {
      log::Info("batch", "no checkpoint in {}: reading all raw data", store->Describe());
    } else if (st.IsFailedPrecondition() || st.IsCorruption()) {
      // An older format, or damaged (the checkpoint is not fsynced: an OS crash can damage it).
      log::Warn("batch", "{}: reading all raw data", st.message());
      builder.Reset();
    } else {
      return st;
    }
  }
  // Decoding the new raw files starts now, on a second thread, while this one loads the checkpoint's
  // segments (the manifest alone says which files are new).
  CDC_RETURN_IF_ERROR(builder.StartCatchUp(listing.get()));
  if (segments_pending) {
    Status st = builder.LoadCheckpointSegments();
    if (st.IsCorruption()) {  // a segment is missing or damaged: start over from the first raw file
      log::Warn("batch", "{}: reading all raw data", st.message());
      report.incremental = false;
      CDC_RETURN_IF_ERROR(builder.StartCatchUp());  // (LoadCheckpointSegments has Reset the builder)
    } else if (!st.ok()) {
      return st;
    }
    log::Debug("batch", "checkpoint loaded in {:.1f} ms: {} segment(s), {} base rows, {} changed keys",
               ms_since(&t0), builder.checkpoint_segments(), builder.state().base_rows(),
               builder.state().changed_rows());
  }
  std::unique_ptr<ProgressLine> progress;
  if (options.progress) progress = std::make_unique<ProgressLine>("batch: raw files", 0, "files");
  CDC_ASSIGN_OR_RETURN(report.stats, builder.FinishCatchUp(progress.get()));
  progress.reset();
  log::Debug("batch", "{} raw files read in {:.1f} ms", report.stats.files, ms_since(&t0));
  report.result = builder.Snapshot();
  size_t unsaved = builder.state().unsaved_rows();
  // The result and the checkpoint are written at once (their fsyncs or S3 round trips overlap): they
  // do not depend on each other, since every run rewrites the result from the checkpointed state.
  Status saved;
  double save_ms = 0;
  {
    std::jthread saver([&] {
      int64_t t = MonoMicros();
      saved = builder.SaveCheckpoint();
      save_ms = static_cast<double>(MonoMicros() - t) / 1000.0;
    });
    CDC_RETURN_IF_ERROR(WriteAnalytics(store.get(), report.result, AnalyticsWriteOptions{"batch"}));
    log::Debug("batch", "result written in {:.1f} ms", ms_since(&t0));
    CDC_FAILPOINT("batch.after_result");
  }
  CDC_RETURN_IF_ERROR(saved);
  log::Debug("batch", "checkpoint saved in {:.1f} ms (alongside the result): {} segment(s), {} keys changed by this run",
             save_ms, builder.checkpoint_segments(), unsaved);
  report.position = builder.position();
  return report;
}

}  // namespace cdc::jobs
