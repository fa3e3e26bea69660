// Test helpers for raw-kafka-data: an independent reader of `_spark_metadata` (written from Spark's
// file-sink format, not from jobs/spark_metadata_log) and DuckDB queries over the committed files only.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "support/test_env.h"

namespace cdc::testing {

struct MetadataCheck {
  int64_t latest = -1;
  std::vector<std::string> files;  // base names of the committed data files
};

// Reads <root>/raw-kafka-data/_spark_metadata like Spark's reader: the latest compaction at or before
// the latest batch, then every later batch. Checks the format of every file it reads, and that every
// entry's path starts with `uri_prefix` ("s3a://bucket/prefix/raw-kafka-data/" for S3 output copied to
// `root` with tests/node/s3_mirror.mjs).
inline MetadataCheck ReadSparkMetadata(const std::string& root, const std::string& uri_prefix = "file:///") {
  namespace fs = std::filesystem;
  MetadataCheck out;
  std::string dir = root + "/raw-kafka-data/_spark_metadata";
  if (!fs::exists(dir)) return out;
  std::map<int64_t, std::string> batches;  // id -> file name
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::string num = name.substr(0, name.find('.'));
    if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos) continue;
    int64_t id = std::stoll(num);
    bool compact = name.size() > num.size();
    EXPECT_EQ(compact, (id + 1) % 10 == 0) << "batch " << id << " named " << name;
    if (compact) {
      EXPECT_EQ(name, num + ".compact");
    }
    batches[id] = name;
  }
  if (batches.empty()) return out;
  out.latest = batches.rbegin()->first;
  int64_t start = 0;
  for (int64_t id = out.latest; id >= 0; --id) {
    if ((id + 1) % 10 == 0) {
      start = id;
      break;
    }
  }
  std::set<std::string> live;
  for (int64_t id = start; id <= out.latest; ++id) {
    EXPECT_TRUE(batches.count(id)) << "missing _spark_metadata for batch " << id;
    if (!batches.count(id)) continue;
    std::string data = ReadFile(dir + "/" + batches[id]);
    std::istringstream in(data);
    std::string line;
    std::getline(in, line);
    EXPECT_EQ(line, "v1") << batches[id];
    EXPECT_NE(data.back(), '\n') << batches[id] << ": Spark writes no trailing newline";
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line);
      for (const char* k : {"path", "size", "isDir", "modificationTime", "blockReplication", "blockSize", "action"}) {
        EXPECT_TRUE(j.contains(k)) << batches[id] << " lacks " << k << ": " << line;
      }
      std::string path = j["path"].get<std::string>();
      EXPECT_EQ(path.rfind(uri_prefix, 0), 0u) << path;
      EXPECT_FALSE(j["isDir"].get<bool>());
      EXPECT_GT(j["size"].get<int64_t>(), 0);
      std::string base = path.substr(path.rfind('/') + 1);
      EXPECT_TRUE(std::filesystem::exists(root + "/raw-kafka-data/" + base)) << path;
      EXPECT_EQ(std::filesystem::file_size(root + "/raw-kafka-data/" + base), j["size"].get<uint64_t>()) << path;
      if (j["action"] == "add") live.insert(base); else live.erase(base);
    }
  }
  out.files.assign(live.begin(), live.end());
  return out;
}

// Runs `select` (which reads the relation `raw`) over the committed files only: DuckDB globs every
// part file and keeps the rows of files listed in `_spark_metadata`.
inline std::string QueryCommitted(const std::string& root, const std::string& select, const std::string& list_file,
                                  const std::string& uri_prefix = "file:///") {
  MetadataCheck m = ReadSparkMetadata(root, uri_prefix);
  std::string list = "name\n";
  for (const auto& f : m.files) list += f + "\n";
  WriteFile(list_file, list);
  if (m.files.empty()) return "";
  std::string sql = "WITH raw AS (SELECT * EXCLUDE (filename) FROM read_parquet('" + root +
                    "/raw-kafka-data/part-*.parquet', filename=true) WHERE parse_filename(filename) IN "
                    "(SELECT name FROM read_csv('" + list_file + "', header=true, columns={'name':'VARCHAR'}))) " +
                    select;
  return DuckDbQuery(sql);
}

// The first column of each row of QueryCommitted (a JSON line per row), as text, in DuckDB's order.
inline std::vector<std::string> QueryCommittedColumn(const std::string& root, const std::string& select,
                                                     const std::string& list_file) {
  std::vector<std::string> out;
  std::istringstream in(QueryCommitted(root, select, list_file));
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line);
    out.push_back(j.at(0).is_string() ? j.at(0).get<std::string>() : j.at(0).dump());
  }
  return out;
}

// One committed raw event, reduced to what the checks need.
struct RawRow {
  std::string topic;
  int64_t partition = 0;
  int64_t offset = 0;
  std::string op;  // c, u, d, r, or "tombstone"
  int64_t id = 0;  // the row's primary key
  std::string lsn;  // source.lsn ("" for tombstones)
  int64_t timestamp_type = -1;
};

// Every committed event (in topic, offset order).
inline std::vector<RawRow> ReadCommitted(const std::string& root, const std::string& list_file,
                                         const std::string& uri_prefix = "file:///") {
  std::string out = QueryCommitted(
      root,
      "SELECT topic, \"partition\", \"offset\", CASE WHEN NOT json_valid(value) THEN 'raw' ELSE coalesce(coalesce(json_extract_string(value, '$.payload.op'), "
      "json_extract_string(value, '$.op')), 'tombstone') END, coalesce(json_extract(key, '$.payload.id'), "
      "json_extract(key, '$.id'))::BIGINT, CASE WHEN json_valid(value) THEN coalesce(json_extract_string(value, '$.payload.source.lsn'), "
      "json_extract_string(value, '$.source.lsn'), '') ELSE '' END, timestampType FROM raw ORDER BY topic, \"offset\"",
      list_file, uri_prefix);
  std::vector<RawRow> rows;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line);
    RawRow r;
    r.topic = j[0].get<std::string>();
    r.partition = j[1].get<int64_t>();
    r.offset = j[2].get<int64_t>();
    r.op = j[3].get<std::string>();
    r.id = j[4].is_null() ? -1 : j[4].get<int64_t>();
    r.lsn = j[5].get<std::string>();
    r.timestamp_type = j[6].get<int64_t>();
    rows.push_back(std::move(r));
  }
  return rows;
}

// Exactly-once checks: (topic, partition, offset) unique and contiguous from 0 per partition (embedded
// run), and each (topic, op, id) at most once. Returns the count per "topic op".
inline std::map<std::string, int64_t> CheckExactlyOnce(const std::vector<RawRow>& rows, bool contiguous) {
  std::map<std::pair<std::string, int64_t>, int64_t> next;
  std::set<std::tuple<std::string, std::string, int64_t>> seen;
  std::map<std::string, int64_t> counts;
  for (const auto& r : rows) {
    auto key = std::make_pair(r.topic, r.partition);
    if (contiguous) {
      EXPECT_EQ(r.offset, next[key]) << r.topic << "/" << r.partition << ": gap or duplicate at offset " << r.offset;
    } else {
      EXPECT_GE(r.offset, next[key]) << r.topic << "/" << r.partition << ": duplicate offset " << r.offset;
    }
    next[key] = r.offset + 1;
    EXPECT_TRUE(seen.insert({r.topic, r.op, r.id}).second)
        << "duplicate event " << r.topic << " op " << r.op << " id " << r.id << " at offset " << r.offset;
    ++counts[r.topic.substr(r.topic.rfind('.') + 1) + " " + r.op];
  }
  return counts;
}

}  // namespace cdc::testing
