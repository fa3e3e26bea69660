#include "jobs/capture_state.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace cdc::jobs {

namespace {

constexpr int kFormat = 1;

std::string KeyOf(const std::string& slot) { return "slot-" + slot + ".json"; }

nlohmann::json PositionJson(const pg::ParallelSnapshotPosition& p) {
  nlohmann::json ranges = nlohmann::json::array();
  for (const auto& [i, r] : p.ranges) ranges.push_back({{"range", i}, {"key", r.key}, {"done", r.done}, {"rows", r.rows}});
  return {{"done_below", p.done_below}, {"ranges", std::move(ranges)}, {"rows", p.rows}, {"resumable", p.resumable}};
}

std::optional<std::vector<std::string>> KeyFrom(const nlohmann::json& j) {
  if (!j.is_array()) return std::nullopt;
  std::vector<std::string> key;
  for (const auto& k : j) {
    if (!k.is_string()) return std::nullopt;
    key.push_back(k.get<std::string>());
  }
  return key;
}

// An earlier version's linear position: {"table_index", "table", "key", "resumable", "rows", "table_rows"}.
std::optional<pg::SnapshotPosition> LinearPositionFrom(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("table_index") || !j["table_index"].is_number_unsigned() ||
      !j.contains("key") || !j["key"].is_array()) {
    return std::nullopt;
  }
  auto key = KeyFrom(j["key"]);
  if (!key) return std::nullopt;
  pg::SnapshotPosition p;
  p.table_index = j["table_index"].get<size_t>();
  p.table = j.value("table", std::string());
  p.key = std::move(*key);
  p.resumable = j.value("resumable", false);
  p.rows = j.value("rows", uint64_t{0});
  p.table_rows = j.value("table_rows", uint64_t{0});
  return p;
}

std::optional<pg::ParallelSnapshotPosition> PositionFrom(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  if (j.contains("table_index")) {
    auto linear = LinearPositionFrom(j);
    if (!linear) return std::nullopt;
    return pg::ParallelSnapshotPosition::FromLinear(*linear);
  }
  if (!j.contains("done_below") || !j["done_below"].is_number_unsigned() || !j.contains("ranges") ||
      !j["ranges"].is_array()) {
    return std::nullopt;
  }
  pg::ParallelSnapshotPosition p;
  p.done_below = j["done_below"].get<size_t>();
  p.rows = j.value("rows", uint64_t{0});
  p.resumable = j.value("resumable", false);
  for (const auto& r : j["ranges"]) {
    if (!r.is_object() || !r.contains("range") || !r["range"].is_number_unsigned()) return std::nullopt;
    auto key = KeyFrom(r.value("key", nlohmann::json::array()));
    if (!key) return std::nullopt;
    p.ranges[r["range"].get<size_t>()] = pg::RangePosition{std::move(*key), r.value("done", false), r.value("rows", uint64_t{0})};
  }
  return p;
}

}  // namespace

std::string SerializeSnapshotPosition(Lsn snapshot_lsn, const pg::ParallelSnapshotPosition& position) {
  nlohmann::json j = PositionJson(position);
  j["snapshot_lsn"] = snapshot_lsn.ToString();
  return j.dump();
}

Result<std::pair<Lsn, pg::ParallelSnapshotPosition>> ParseSnapshotPosition(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  auto p = PositionFrom(j);
  std::optional<Lsn> lsn;
  if (p && j.contains("snapshot_lsn") && j["snapshot_lsn"].is_string()) lsn = Lsn::Parse(j["snapshot_lsn"].get<std::string>());
  if (!p || !lsn) return Status::Corruption(fmt::format("bad snapshot position '{}'", text.substr(0, 200)));
  return std::make_pair(*lsn, std::move(*p));
}

Result<std::unique_ptr<CaptureState>> CaptureState::Open(const std::string& uri, const store::StoreOptions& options) {
  if (uri.empty()) {
    return Status::InvalidArgument(
        "capture needs a state location (state_uri: a directory, file:///dir or s3://bucket/prefix) for its "
        "snapshot marker");
  }
  auto opened = store::OpenStore(uri, store::StoreOptions::FromEnvironment(options));
  if (!opened.ok()) return opened.status().WithContext("opening capture's state location " + uri);
  return std::unique_ptr<CaptureState>(new CaptureState(std::move(*opened)));
}

std::string CaptureState::Describe(const std::string& slot) const { return store_->AbsoluteUri(KeyOf(slot)); }

Result<std::optional<SnapshotMarker>> CaptureState::Read(const std::string& slot) {
  auto text = store_->Get(KeyOf(slot));
  if (!text.ok()) {
    if (text.status().IsNotFound()) return std::optional<SnapshotMarker>();
    return text.status().WithContext("reading capture's snapshot marker");
  }
  auto bad = [&](std::string_view why) {
    return Status::Corruption(fmt::format("capture's snapshot marker {} {}: remove it to take the snapshot again",
                                          Describe(slot), why));
  };
  auto j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return bad("is not a JSON object");
  auto str = [&](const char* field) -> std::string {
    auto it = j.find(field);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (!j.contains("format") || !j["format"].is_number_integer() || j["format"].get<int>() != kFormat) {
    return bad(fmt::format("has no \"format\": {}", kFormat));
  }
  SnapshotMarker m;
  m.slot = str("slot");
  m.database = str("database");
  m.system_identifier = str("system_identifier");
  std::string state = str("snapshot");
  if (state != "pending" && state != "complete") return bad("has no \"snapshot\": \"pending\" or \"complete\"");
  m.complete = state == "complete";
  std::string lsn = str("snapshot_lsn");
  if (!lsn.empty()) {
    auto parsed = Lsn::Parse(lsn);
    if (!parsed) return bad("has a bad snapshot_lsn '" + lsn + "'");
    m.snapshot_lsn = *parsed;
  }
  if (m.complete && !m.snapshot_lsn.valid()) return bad("is complete but has no snapshot_lsn");
  m.completed_at = str("completed_at");
  if (m.slot != slot) return bad("names slot '" + m.slot + "'");
  if (j.contains("position")) {
    m.position = PositionFrom(j["position"]);
    if (!m.position) return bad("has a bad \"position\"");
  }
  if (j.contains("sent_upto")) {
    m.sent_upto = PositionFrom(j["sent_upto"]);
    if (!m.sent_upto) return bad("has a bad \"sent_upto\"");
  }
  if (j.contains("resumes")) {
    if (!j["resumes"].is_array()) return bad("has a bad \"resumes\"");
    for (const auto& r : j["resumes"]) {
      auto from = r.is_object() && r.contains("from") ? PositionFrom(r["from"]) : std::nullopt;
      std::optional<Lsn> wal;
      if (r.is_object() && r.contains("wal_insert_lsn") && r["wal_insert_lsn"].is_string()) {
        wal = Lsn::Parse(r["wal_insert_lsn"].get<std::string>());
      }
      if (!from || !wal || !r.contains("snapshot") || !r["snapshot"].is_string()) return bad("has a bad \"resumes\"");
      SnapshotResume resume{std::move(*from), {r["snapshot"].get<std::string>(), *wal}};
      if (r.contains("uncertain_upto")) {
        resume.uncertain_upto = PositionFrom(r["uncertain_upto"]);
        if (!resume.uncertain_upto) return bad("has a bad \"resumes\" (uncertain_upto)");
      }
      m.resumes.push_back(std::move(resume));
    }
  }
  if (j.contains("ranges")) {
    if (!j["ranges"].is_array()) return bad("has a bad \"ranges\"");
    for (const auto& r : j["ranges"]) {
      if (!r.is_object() || !r.contains("table_index") || !r["table_index"].is_number_unsigned() ||
          !r.contains("table") || !r["table"].is_string() || (r.contains("lo") && !r["lo"].is_string()) ||
          (r.contains("hi") && !r["hi"].is_string())) {
        return bad("has a bad \"ranges\"");
      }
      pg::SnapshotRange range{r["table_index"].get<size_t>(), r["table"].get<std::string>(), {}, {}};
      if (r.contains("lo")) range.lo = r["lo"].get<std::string>();
      if (r.contains("hi")) range.hi = r["hi"].get<std::string>();
      m.ranges.push_back(std::move(range));
    }
  }
  if (j.contains("tables")) {
    if (!j["tables"].is_array()) return bad("has a bad \"tables\"");
    m.tables.emplace();
    for (const auto& t : j["tables"]) {
      if (!t.is_string()) return bad("has a bad \"tables\"");
      m.tables->push_back(t.get<std::string>());
    }
  }
  if (j.contains("incremental")) {
    if (!j["incremental"].is_array()) return bad("has a bad \"incremental\"");
    for (const auto& s : j["incremental"]) {
      if (!s.is_object() || !s.contains("table") || !s["table"].is_string() || !s.contains("key") ||
          !s["key"].is_array()) {
        return bad("has a bad \"incremental\"");
      }
      SnapshotMarker::Incremental inc{s["table"].get<std::string>(), s.value("where", std::string()), {},
                                      s.value("rows", uint64_t{0})};
      for (const auto& k : s["key"]) {
        if (!k.is_string()) return bad("has a bad \"incremental\"");
        inc.key.push_back(k.get<std::string>());
      }
      m.incremental.push_back(std::move(inc));
    }
  }
  return std::optional<SnapshotMarker>(std::move(m));
}

Status CaptureState::Write(const SnapshotMarker& m) {
  nlohmann::json j;
  j["format"] = kFormat;
  j["slot"] = m.slot;
  j["database"] = m.database;
  j["system_identifier"] = m.system_identifier;
  j["snapshot"] = m.complete ? "complete" : "pending";
  if (m.snapshot_lsn.valid()) j["snapshot_lsn"] = m.snapshot_lsn.ToString();
  if (!m.completed_at.empty()) j["completed_at"] = m.completed_at;
  if (m.position) j["position"] = PositionJson(*m.position);
  if (m.sent_upto) j["sent_upto"] = PositionJson(*m.sent_upto);
  if (!m.resumes.empty()) {
    j["resumes"] = nlohmann::json::array();
    for (const auto& r : m.resumes) {
      nlohmann::json resume = {{"from", PositionJson(r.from)},
                               {"snapshot", r.view.snapshot},
                               {"wal_insert_lsn", r.view.wal_insert_lsn.ToString()}};
      if (r.uncertain_upto) resume["uncertain_upto"] = PositionJson(*r.uncertain_upto);
      j["resumes"].push_back(std::move(resume));
    }
  }
  if (!m.ranges.empty()) {
    j["ranges"] = nlohmann::json::array();
    for (const auto& r : m.ranges) {
      nlohmann::json range = {{"table_index", r.table_index}, {"table", r.table}};
      if (r.lo) range["lo"] = *r.lo;
      if (r.hi) range["hi"] = *r.hi;
      j["ranges"].push_back(std::move(range));
    }
  }
  if (m.tables) j["tables"] = *m.tables;
  if (!m.incremental.empty()) {
    j["incremental"] = nlohmann::json::array();
    for (const auto& s : m.incremental) {
      j["incremental"].push_back({{"table", s.table}, {"where", s.where}, {"key", s.key}, {"rows", s.rows}});
    }
  }
  Status st = store_->Put(KeyOf(m.slot), j.dump() + "\n");
  return st.ok() ? st : st.WithContext("writing capture's snapshot marker " + Describe(m.slot));
}

Status CaptureState::Remove(const std::string& slot) {
  Status st = store_->Delete(KeyOf(slot));
  return st.ok() ? st : st.WithContext("removing capture's snapshot marker " + Describe(slot));
}

Result<std::optional<SnapshotMarker>> ReadLegacyMarker(pg::PgConnection& conn, const std::string& slot) {
  CDC_ASSIGN_OR_RETURN(pg::PgResult t, conn.Exec("SELECT to_regclass('public.cdcpipe_offsets') IS NOT NULL"));
  if (t.Get(0, 0) != "t") return std::optional<SnapshotMarker>();
  auto row = conn.ExecParams(
      "SELECT snapshot_lsn::text, to_char(snapshot_completed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') "
      "FROM public.cdcpipe_offsets WHERE slot_name = $1",
      {slot});
  if (!row.ok()) return row.status().WithContext("reading the legacy snapshot marker in public.cdcpipe_offsets");
  if (row->rows() == 0) return std::optional<SnapshotMarker>();
  SnapshotMarker m;
  m.slot = slot;
  m.complete = true;
  m.snapshot_lsn = Lsn::Parse(row->Get(0, 0)).value_or(Lsn());
  m.completed_at = std::string(row->Get(0, 1));
  if (!m.snapshot_lsn.valid()) return std::optional<SnapshotMarker>();
  return std::optional<SnapshotMarker>(std::move(m));
}

}  // namespace cdc::jobs
