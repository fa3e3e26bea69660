#include "lake/result_folders.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "base/clock.h"
#include "base/failpoint.h"
#include "parquet/writer.h"

namespace cdc::lake {

namespace {

std::string Key(std::string_view dir, std::string_view name) { return std::string(dir) + "/" + std::string(name); }

// Puts every (key, data) at once: each Put waits for its own fsyncs (or S3 round trip), so the waits
// overlap. The first error (in list order) wins.
Status PutAll(store::ObjectStore* store, const std::vector<std::pair<std::string, std::string_view>>& puts) {
  std::vector<Status> results(puts.size());
  {
    std::vector<std::jthread> threads;
    threads.reserve(puts.size());
    for (size_t i = 1; i < puts.size(); ++i) {
      threads.emplace_back([&, i] { results[i] = store->Put(puts[i].first, puts[i].second); });
    }
    if (!puts.empty()) results[0] = store->Put(puts[0].first, puts[0].second);
  }
  for (Status& st : results) {
    if (!st.ok()) return st;
  }
  return Status::OK();
}

}  // namespace

std::string SerializeSuccess(const SuccessManifest& m) {
  nlohmann::json j;
  j["version"] = 1;
  j["files"] = m.files;
  j["rows"] = m.rows;
  j["source_lsn"] = m.source_lsn;
  j["raw_batch_id"] = m.raw_batch_id;
  j["written_at_ms"] = m.written_at_ms;
  return j.dump();
}

Result<SuccessManifest> ParseSuccess(std::string_view text, std::string_view name) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto bad = [&](const std::string& what) {
    return Status::Corruption(fmt::format("{}: {} (rerun `cdcpipe batch --full` to rewrite the result)", name, what));
  };
  if (j.is_discarded() || !j.is_object()) return bad("not a JSON object");
  if (!j.contains("version") || j["version"] != 1) return bad("unknown version");
  SuccessManifest m;
  try {
    for (const auto& f : j.at("files")) {
      std::string file = f.get<std::string>();
      if (file.empty() || file.find('/') != std::string::npos || file == kSuccessFile) return bad("bad file name " + file);
      m.files.push_back(std::move(file));
    }
    m.rows = j.at("rows").get<int64_t>();
    m.source_lsn = j.at("source_lsn").get<std::string>();
    m.raw_batch_id = j.at("raw_batch_id").get<int64_t>();
    m.written_at_ms = j.at("written_at_ms").get<int64_t>();
  } catch (const nlohmann::json::exception& ex) {
    return bad(std::string("missing or mistyped field: ") + ex.what());
  }
  return m;
}

Status ReplaceResults(store::ObjectStore* store, const std::vector<FolderResult>& results,
                      const ResultPosition& position, std::string_view failpoint_prefix) {
  const std::string prefix(failpoint_prefix);
  // 1. New data files under fresh names.
  std::vector<std::string> files;
  std::vector<std::pair<std::string, std::string_view>> puts;
  for (const FolderResult& r : results) {
    files.push_back(parquet::SparkFileName(0, parquet::Compression::kSnappy));
    puts.emplace_back(Key(r.folder, files.back()), r.bytes);
  }
  CDC_RETURN_IF_ERROR(PutAll(store, puts));
  CDC_FAILPOINT(prefix + ".after_files_written");

  // 2. The manifests: the commit point of each folder (each folder is a result of its own).
  int64_t now = WallMillis();
  std::vector<std::string> manifests;
  puts.clear();
  for (size_t i = 0; i < results.size(); ++i) {
    SuccessManifest m;
    m.files = {files[i]};
    m.rows = results[i].rows;
    m.source_lsn = position.source_lsn.valid() ? position.source_lsn.ToString() : "";
    m.raw_batch_id = position.raw_batch_id;
    m.written_at_ms = now;
    manifests.push_back(SerializeSuccess(m));
  }
  for (size_t i = 0; i < results.size(); ++i) puts.emplace_back(Key(results[i].folder, kSuccessFile), manifests[i]);
  CDC_RETURN_IF_ERROR(PutAll(store, puts));
  CDC_FAILPOINT(prefix + ".after_success");

  // 3. Everything else in the folders is garbage now (old results, files of crashed runs).
  for (size_t i = 0; i < results.size(); ++i) {
    const std::string& dir = results[i].folder;
    CDC_ASSIGN_OR_RETURN(auto objects, store->List(dir + "/"));
    for (const store::ObjectInfo& o : objects) {
      std::string_view name = std::string_view(o.key).substr(dir.size() + 1);
      if (name == kSuccessFile || name == files[i] || name.find('/') != std::string_view::npos) continue;
      CDC_RETURN_IF_ERROR(store->Delete(o.key));
    }
  }
  return Status::OK();
}

Status AdvanceResult(store::ObjectStore* store, std::string_view folder, const ResultPosition& position) {
  CDC_ASSIGN_OR_RETURN(SuccessManifest m, ReadManifest(store, folder));
  m.source_lsn = position.source_lsn.valid() ? position.source_lsn.ToString() : "";
  m.raw_batch_id = position.raw_batch_id;
  m.written_at_ms = WallMillis();
  return store->Put(Key(folder, kSuccessFile), SerializeSuccess(m));
}

Result<SuccessManifest> ReadManifest(store::ObjectStore* store, std::string_view folder) {
  std::string key = Key(folder, kSuccessFile);
  CDC_ASSIGN_OR_RETURN(std::string text, store->Get(key));
  return ParseSuccess(text, store->Describe() + "/" + key);
}

}  // namespace cdc::lake
