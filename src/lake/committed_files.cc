#include "lake/committed_files.h"

#include <fmt/format.h>

#include <map>

#include "lake/spark_metadata_log.h"

namespace cdc::lake {

namespace {

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
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

Result<CommittedFiles> ListCommittedFiles(store::ObjectStore* store, std::string_view dir) {
  std::string meta_prefix = std::string(dir) + "/_spark_metadata/";
  CDC_ASSIGN_OR_RETURN(auto objects, store->List(meta_prefix));
  std::map<int64_t, bool> batches;  // batch id -> is a compaction
  for (const store::ObjectInfo& o : objects) {
    std::string_view name = std::string_view(o.key).substr(meta_prefix.size());
    auto id = SparkMetadataLog::ParseFileName(name);
    if (!id) continue;  // temp files and anything else
    bool compact = name.ends_with(".compact");
    auto [it, inserted] = batches.emplace(*id, compact);
    if (!inserted) it->second = it->second || compact;
  }
  CommittedFiles list;
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
        store->Describe(), meta_prefix, start->first));
  }
  std::vector<SinkFileStatus> entries;
  int64_t expect = start->first;
  for (auto it = start; it != batches.end(); ++it, ++expect) {
    if (it->first != expect) {
      return Status::Corruption(fmt::format("{}/{}: batch {} is missing (found {} after it)", store->Describe(),
                                            meta_prefix, expect, it->first));
    }
    std::string name = std::to_string(it->first) + (it->second ? ".compact" : "");
    CDC_ASSIGN_OR_RETURN(std::string data, store->Get(meta_prefix + name));
    CDC_ASSIGN_OR_RETURN(auto parsed, SparkMetadataLog::Parse(data, store->Describe() + "/" + meta_prefix + name));
    entries.insert(entries.end(), parsed.begin(), parsed.end());
  }
  entries = SparkMetadataLog::Compact(std::move(entries));
  list.files.reserve(entries.size());
  for (auto& e : entries) {
    if (e.action == "add" && !e.is_dir) list.files.push_back(std::move(e.path));
  }
  return list;
}

Result<std::unique_ptr<RawFileReader>> RawFileReader::Open(store::ObjectStore* store, std::string_view dir,
                                                           const std::string& uri) {
  std::unique_ptr<RawFileReader> r(new RawFileReader());
  r->uri_ = uri;
  // The data file as a key of the output store (the usual case), else as a local file.
  std::string prefix = store->AbsoluteUri(std::string(dir) + "/x");
  prefix.pop_back();
  if (uri.starts_with(prefix)) {
    std::string key = std::string(dir) + "/" + PercentDecode(std::string_view(uri).substr(prefix.size()));
    CDC_ASSIGN_OR_RETURN(store::ObjectBytes bytes, store->GetBytes(key));  // a local store maps the file
    CDC_ASSIGN_OR_RETURN(r->reader_, parquet::ParquetReader::OpenView(bytes.data, std::move(bytes.owner), uri));
  } else if (uri.starts_with("file://")) {
    CDC_ASSIGN_OR_RETURN(r->reader_, parquet::ParquetReader::OpenFile(PercentDecode(std::string_view(uri).substr(7))));
  } else {
    return Status::FailedPrecondition(fmt::format(
        "raw file {} listed in {}/{}/_spark_metadata is outside the output root; use the --output the "
        "stream wrote to",
        uri, store->Describe(), dir));
  }
  CDC_ASSIGN_OR_RETURN(r->columns_, r->reader_->ResolveColumns({"topic", "value"}));
  return r;
}

Status RawFileReader::ReadRowGroup(int g, parquet::RecordBatch* out) { return reader_->ReadRowGroup(g, columns_, out); }

std::string RawFileReader::WhereInKafka(int g, size_t row) {
  auto cols = reader_->ResolveColumns({"partition", "offset"});
  parquet::RecordBatch batch;
  if (!cols.ok() || !reader_->ReadRowGroup(g, *cols, &batch).ok() || row >= batch.num_rows()) {
    return "partition ? offset ?";
  }
  const parquet::ColumnVector& part = batch.column(0);
  const parquet::ColumnVector& off = batch.column(1);
  return fmt::format("partition {} offset {}", part.IsNull(row) ? -1 : part.Int32(row),
                     off.IsNull(row) ? -1 : off.Int64(row));
}

}  // namespace cdc::lake
