#include "lake/spark_metadata_log.h"

#include <nlohmann/json.hpp>

#include <set>

#include "base/json_escape.h"

namespace cdc::lake {

std::string SparkMetadataLog::FileName(int64_t batch_id) const {
  std::string name = std::to_string(batch_id);
  if (IsCompactionBatch(batch_id)) name += ".compact";
  return name;
}

std::optional<int64_t> SparkMetadataLog::ParseFileName(std::string_view name) {
  constexpr std::string_view kSuffix = ".compact";
  if (name.size() > kSuffix.size() && name.substr(name.size() - kSuffix.size()) == kSuffix) {
    name.remove_suffix(kSuffix.size());
  }
  if (name.empty() || name.size() > 18) return std::nullopt;
  int64_t v = 0;
  for (char c : name) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

std::vector<int64_t> SparkMetadataLog::ValidBatches(int64_t latest) const {
  std::vector<int64_t> out;
  if (latest < 0) return out;
  int64_t start = std::max<int64_t>(0, (latest + 1) / interval_ * interval_ - 1);
  for (int64_t id = start; id <= latest; ++id) out.push_back(id);
  return out;
}

std::vector<int64_t> SparkMetadataLog::BatchesBeforeCompaction(int64_t batch_id) const {
  std::vector<int64_t> out;
  for (int64_t id = std::max<int64_t>(0, batch_id - interval_); id < batch_id; ++id) out.push_back(id);
  return out;
}

std::string SparkMetadataLog::Serialize(const std::vector<SinkFileStatus>& entries) {
  std::string out = "v1";
  for (const auto& e : entries) {
    out += "\n{\"path\":";
    AppendJsonString(&out, e.path);
    out += ",\"size\":" + std::to_string(e.size);
    out += ",\"isDir\":";
    out += e.is_dir ? "true" : "false";
    out += ",\"modificationTime\":" + std::to_string(e.modification_time);
    out += ",\"blockReplication\":" + std::to_string(e.block_replication);
    out += ",\"blockSize\":" + std::to_string(e.block_size);
    out += ",\"action\":";
    AppendJsonString(&out, e.action);
    out += "}";
  }
  return out;
}

Result<std::vector<SinkFileStatus>> SparkMetadataLog::Parse(std::string_view data, std::string_view name) {
  std::vector<SinkFileStatus> out;
  size_t pos = 0;
  int line_no = 0;
  while (pos <= data.size()) {
    size_t nl = data.find('\n', pos);
    if (nl == std::string_view::npos) nl = data.size();
    std::string_view line = data.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (line_no == 1) {
      if (line != "v1") {
        return Status::Corruption(std::string(name) + ":1: expected version line 'v1', found '" +
                                  std::string(line.substr(0, 20)) + "'");
      }
      continue;
    }
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    auto where = std::string(name) + ":" + std::to_string(line_no);
    if (j.is_discarded() || !j.is_object()) return Status::Corruption(where + ": not a JSON object");
    SinkFileStatus e;
    try {
      e.path = j.at("path").get<std::string>();
      e.size = j.at("size").get<int64_t>();
      e.is_dir = j.at("isDir").get<bool>();
      e.modification_time = j.at("modificationTime").get<int64_t>();
      e.block_replication = j.at("blockReplication").get<int32_t>();
      e.block_size = j.at("blockSize").get<int64_t>();
      e.action = j.at("action").get<std::string>();
    } catch (const nlohmann::json::exception& ex) {
      return Status::Corruption(where + ": bad SinkFileStatus entry: " + ex.what());
    }
    if (e.action != "add" && e.action != "delete") {
      return Status::Corruption(where + ": unknown action '" + e.action + "'");
    }
    out.push_back(std::move(e));
  }
  if (line_no == 0 || data.empty()) return Status::Corruption(std::string(name) + ": empty metadata file");
  return out;
}

std::vector<SinkFileStatus> SparkMetadataLog::Compact(std::vector<SinkFileStatus> entries) {
  std::set<std::string> deleted;
  for (const auto& e : entries) {
    if (e.action == "delete") deleted.insert(e.path);
  }
  if (deleted.empty()) return entries;
  std::vector<SinkFileStatus> out;
  for (auto& e : entries) {
    if (!deleted.count(e.path)) out.push_back(std::move(e));
  }
  return out;
}

}  // namespace cdc::lake
