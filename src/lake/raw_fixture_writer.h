// Test and benchmark helper: writes raw-kafka-data in exactly the layout the raw sink
// (`cdcpipe stream`/`run`) produces, so the analytics can be tested without the stream:
//   <root>/raw-kafka-data/part-NNNNN-<uuid>-c000.snappy.parquet   (Spark's Kafka-source columns)
//   <root>/raw-kafka-data/_spark_metadata/<batchId>[.compact]      (every 10th batch compacted)
// Not product code: only tests and bench/ include it.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "lake/spark_metadata_log.h"
#include "parquet/writer.h"
#include "store/object_store.h"

namespace cdc::lake::testutil {

struct FixtureEvent {
  std::string topic;
  std::optional<std::string> key;
  std::optional<std::string> value;  // nullopt = tombstone
  int32_t partition = 0;
};

inline parquet::Schema FixtureRawSchema() {
  using parquet::ColumnType;
  return parquet::Schema{{{"key", ColumnType::kString, true},
                          {"value", ColumnType::kString, true},
                          {"topic", ColumnType::kString, true},
                          {"partition", ColumnType::kInt32, true},
                          {"offset", ColumnType::kInt64, true},
                          {"timestamp", ColumnType::kTimestampMicros, true},
                          {"timestampType", ColumnType::kInt32, true}}};
}

// Appends committed batches; offsets continue per topic-partition across batches.
class RawFixtureWriter {
 public:
  // `first_batch_id` > 0 appends after existing batches (offsets restart at `first_offset`); the
  // first batch written must then not be a compaction batch (it would need the earlier entries).
  explicit RawFixtureWriter(store::ObjectStore* store, int compact_interval = 10, int64_t first_batch_id = 0,
                            int64_t first_offset = 0)
      : store_(store), log_(compact_interval), next_batch_(first_batch_id), first_offset_(first_offset) {}

  // Options of the data files written from now on (e.g. small pages: many page tasks per row group).
  parquet::WriterOptions& options() { return options_; }

  // Writes one batch of `files` data files (events split evenly) and commits it. Returns the batch id.
  Result<int64_t> CommitBatch(const std::vector<FixtureEvent>& events, int files = 1) {
    int64_t batch_id = next_batch_++;
    if (batch_id > 0 && all_.empty() && log_.IsCompactionBatch(batch_id)) {
      return Status::InvalidArgument("RawFixtureWriter: cannot resume at compaction batch " + std::to_string(batch_id));
    }
    std::vector<lake::SinkFileStatus> entries;
    size_t per_file = files <= 0 ? events.size() : (events.size() + files - 1) / files;
    if (per_file == 0) per_file = 1;
    for (int f = 0; f * per_file < events.size() || (f == 0 && events.empty()); ++f) {
      parquet::Schema schema = FixtureRawSchema();
      parquet::RecordBatch batch(schema);
      for (size_t i = f * per_file; i < events.size() && i < (f + 1) * per_file; ++i) {
        const FixtureEvent& e = events[i];
        if (e.key) batch.column(0).AppendString(*e.key); else batch.column(0).AppendNull();
        if (e.value) batch.column(1).AppendString(*e.value); else batch.column(1).AppendNull();
        batch.column(2).AppendString(e.topic);
        batch.column(3).AppendInt32(e.partition);
        auto [oit, fresh] = offsets_.try_emplace(e.topic + "/" + std::to_string(e.partition), first_offset_);
        (void)fresh;
        batch.column(4).AppendInt64(oit->second++);
        batch.column(5).AppendInt64(1732500000000000 + static_cast<int64_t>(i));
        batch.column(6).AppendInt32(0);
      }
      auto sink = std::make_unique<parquet::StringSink>();
      parquet::StringSink* raw = sink.get();
      CDC_ASSIGN_OR_RETURN(auto w, parquet::ParquetWriter::Open(std::move(sink), schema, options_));
      CDC_RETURN_IF_ERROR(w->Write(batch));
      CDC_RETURN_IF_ERROR(w->Close());
      std::string key = "raw-kafka-data/" + parquet::SparkFileName(f, parquet::Compression::kSnappy);
      std::string bytes = raw->Release();
      CDC_RETURN_IF_ERROR(store_->Put(key, bytes));
      lake::SinkFileStatus s;
      s.path = store_->AbsoluteUri(key);
      s.size = static_cast<int64_t>(bytes.size());
      s.modification_time = 1732500000000;
      entries.push_back(s);
      if (events.empty()) break;
    }
    all_.insert(all_.end(), entries.begin(), entries.end());
    const std::vector<lake::SinkFileStatus>& listed = log_.IsCompactionBatch(batch_id) ? all_ : entries;
    CDC_RETURN_IF_ERROR(store_->PutIfAbsent("raw-kafka-data/_spark_metadata/" + log_.FileName(batch_id),
                                            lake::SparkMetadataLog::Serialize(listed)));
    return batch_id;
  }

 private:
  store::ObjectStore* store_;
  lake::SparkMetadataLog log_;
  int64_t next_batch_ = 0;
  int64_t first_offset_ = 0;
  std::vector<lake::SinkFileStatus> all_;
  std::map<std::string, int64_t> offsets_;
  parquet::WriterOptions options_;
};

}  // namespace cdc::lake::testutil
