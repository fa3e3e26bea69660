#include "jobs/analytics_output.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "base/clock.h"
#include "base/failpoint.h"
#include "parquet/reader.h"
#include "parquet/writer.h"

namespace cdc::jobs {

namespace {

constexpr std::string_view kSuccess = "_SUCCESS";

parquet::Schema CountrySchema() {
  return parquet::Schema{{{"kraj", parquet::ColumnType::kString, true}, {"count", parquet::ColumnType::kInt64, false}}};
}

parquet::Schema PositionSchema() {
  return parquet::Schema{{{"stanowisko", parquet::ColumnType::kString, true},
                          {"avg_age", parquet::ColumnType::kDouble, true},
                          {"count", parquet::ColumnType::kInt64, false}}};
}

Result<std::string> EncodeParquet(const parquet::Schema& schema, const parquet::RecordBatch& batch,
                                  const std::string& name) {
  auto sink = std::make_unique<parquet::StringSink>(name);
  parquet::StringSink* raw = sink.get();
  CDC_ASSIGN_OR_RETURN(auto writer, parquet::ParquetWriter::Open(std::move(sink), schema, {}));
  CDC_RETURN_IF_ERROR(writer->Write(batch));
  CDC_RETURN_IF_ERROR(writer->Close());
  return raw->Release();
}

std::string Key(std::string_view dir, std::string_view name) {
  return std::string(dir) + "/" + std::string(name);
}

struct FolderWrite {
  std::string_view dir;
  std::string file;  // new data file name
  int64_t rows = 0;
  std::string bytes;  // its content
};

// Puts two objects at once: each Put waits for its own fsyncs (or S3 round trip), so the two waits
// overlap. The first error wins.
Status PutTwo(store::ObjectStore* store, const std::string& key0, std::string_view data0, const std::string& key1,
              std::string_view data1) {
  Status second;
  {
    std::jthread other([&] { second = store->Put(key1, data1); });
    Status first = store->Put(key0, data0);
    if (!first.ok()) return first;  // (joins `other` first)
  }
  return second;
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
      if (file.empty() || file.find('/') != std::string::npos || file == kSuccess) return bad("bad file name " + file);
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

Status WriteAnalytics(store::ObjectStore* store, const AnalyticsResult& result, const AnalyticsWriteOptions& options) {
  // 1. New data files under fresh names.
  FolderWrite folders[2];
  {
    parquet::Schema schema = CountrySchema();
    parquet::RecordBatch batch(schema);
    for (const CountryCount& row : result.klienci_by_country) {
      if (row.kraj) {
        batch.column(0).AppendString(*row.kraj);
      } else {
        batch.column(0).AppendNull();
      }
      batch.column(1).AppendInt64(row.count);
    }
    folders[0].dir = kKlienciByCountryDir;
    folders[0].file = parquet::SparkFileName(0, parquet::Compression::kSnappy);
    folders[0].rows = static_cast<int64_t>(batch.num_rows());
    CDC_ASSIGN_OR_RETURN(folders[0].bytes, EncodeParquet(schema, batch, folders[0].file));
  }
  {
    parquet::Schema schema = PositionSchema();
    parquet::RecordBatch batch(schema);
    for (const PositionAge& row : result.avg_age_by_position) {
      if (row.stanowisko) {
        batch.column(0).AppendString(*row.stanowisko);
      } else {
        batch.column(0).AppendNull();
      }
      if (row.avg_age) {
        batch.column(1).AppendDouble(*row.avg_age);
      } else {
        batch.column(1).AppendNull();
      }
      batch.column(2).AppendInt64(row.count);
    }
    folders[1].dir = kAvgAgeByPositionDir;
    folders[1].file = parquet::SparkFileName(0, parquet::Compression::kSnappy);
    folders[1].rows = static_cast<int64_t>(batch.num_rows());
    CDC_ASSIGN_OR_RETURN(folders[1].bytes, EncodeParquet(schema, batch, folders[1].file));
  }
  CDC_RETURN_IF_ERROR(PutTwo(store, Key(folders[0].dir, folders[0].file), folders[0].bytes,
                             Key(folders[1].dir, folders[1].file), folders[1].bytes));
  CDC_FAILPOINT(options.failpoint_prefix + ".after_files_written");

  // 2. The manifests: the commit point of each folder.
  int64_t now = WallMillis();
  std::string manifests[2];
  for (int i = 0; i < 2; ++i) {
    SuccessManifest m;
    m.files = {folders[i].file};
    m.rows = folders[i].rows;
    m.source_lsn = result.source_lsn.valid() ? result.source_lsn.ToString() : "";
    m.raw_batch_id = result.raw_batch_id;
    m.written_at_ms = now;
    manifests[i] = SerializeSuccess(m);
  }
  // The two folders are separate results; each _SUCCESS commits its own folder.
  CDC_RETURN_IF_ERROR(PutTwo(store, Key(folders[0].dir, kSuccess), manifests[0], Key(folders[1].dir, kSuccess),
                             manifests[1]));
  CDC_FAILPOINT(options.failpoint_prefix + ".after_success");

  // 3. Everything else in the folders is garbage now (old results, files of crashed runs).
  for (const FolderWrite& f : folders) {
    CDC_ASSIGN_OR_RETURN(auto objects, store->List(std::string(f.dir) + "/"));
    for (const store::ObjectInfo& o : objects) {
      std::string_view name = std::string_view(o.key).substr(f.dir.size() + 1);
      if (name == kSuccess || name == f.file || name.find('/') != std::string_view::npos) continue;
      CDC_RETURN_IF_ERROR(store->Delete(o.key));
    }
  }
  return Status::OK();
}

Result<AnalyticsResult> ReadAnalytics(store::ObjectStore* store) {
  AnalyticsResult result;
  for (std::string_view dir : {kKlienciByCountryDir, kAvgAgeByPositionDir}) {
    std::string success_key = Key(dir, kSuccess);
    CDC_ASSIGN_OR_RETURN(std::string text, store->Get(success_key));
    CDC_ASSIGN_OR_RETURN(SuccessManifest m, ParseSuccess(text, store->Describe() + "/" + success_key));
    result.raw_batch_id = m.raw_batch_id;
    result.source_lsn = Lsn::Parse(m.source_lsn).value_or(Lsn());
    for (const std::string& file : m.files) {
      CDC_ASSIGN_OR_RETURN(std::string bytes, store->Get(Key(dir, file)));
      CDC_ASSIGN_OR_RETURN(auto reader, parquet::ParquetReader::OpenBuffer(std::move(bytes), Key(dir, file)));
      parquet::RecordBatch batch;
      for (int g = 0; g < reader->num_row_groups(); ++g) {
        CDC_RETURN_IF_ERROR(reader->ReadRowGroup(g, &batch));
        if (dir == kKlienciByCountryDir) {
          if (batch.num_columns() != 2) return Status::Corruption(Key(dir, file) + ": expected 2 columns");
          for (size_t i = 0; i < batch.num_rows(); ++i) {
            CountryCount row;
            if (!batch.column(0).IsNull(i)) row.kraj = std::string(batch.column(0).String(i));
            row.count = batch.column(1).Int64(i);
            result.klienci_by_country.push_back(std::move(row));
          }
        } else {
          if (batch.num_columns() != 3) return Status::Corruption(Key(dir, file) + ": expected 3 columns");
          for (size_t i = 0; i < batch.num_rows(); ++i) {
            PositionAge row;
            if (!batch.column(0).IsNull(i)) row.stanowisko = std::string(batch.column(0).String(i));
            if (!batch.column(1).IsNull(i)) row.avg_age = batch.column(1).Double(i);
            row.count = batch.column(2).Int64(i);
            result.avg_age_by_position.push_back(std::move(row));
          }
        }
      }
    }
  }
  return result;
}

std::string FormatAnalytics(const AnalyticsResult& result, size_t max_rows) {
  std::string out;
  auto name = [](const std::optional<std::string>& s) { return s ? *s : std::string("NULL"); };
  out += fmt::format("klienci-by-country ({} groups)\n", result.klienci_by_country.size());
  out += fmt::format("  {:<24} {:>10}\n", "kraj", "count");
  for (size_t i = 0; i < result.klienci_by_country.size() && i < max_rows; ++i) {
    const auto& r = result.klienci_by_country[i];
    out += fmt::format("  {:<24} {:>10}\n", name(r.kraj), r.count);
  }
  if (result.klienci_by_country.size() > max_rows) {
    out += fmt::format("  ... {} more\n", result.klienci_by_country.size() - max_rows);
  }
  out += fmt::format("avg-age-by-position ({} groups)\n", result.avg_age_by_position.size());
  out += fmt::format("  {:<24} {:>10} {:>10}\n", "stanowisko", "avg_age", "count");
  for (size_t i = 0; i < result.avg_age_by_position.size() && i < max_rows; ++i) {
    const auto& r = result.avg_age_by_position[i];
    out += fmt::format("  {:<24} {:>10} {:>10}\n", name(r.stanowisko),
                       r.avg_age ? fmt::format("{:.2f}", *r.avg_age) : std::string("NULL"), r.count);
  }
  if (result.avg_age_by_position.size() > max_rows) {
    out += fmt::format("  ... {} more\n", result.avg_age_by_position.size() - max_rows);
  }
  return out;
}

}  // namespace cdc::jobs
