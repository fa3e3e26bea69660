#include "jobs/capture_state.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

namespace cdc::jobs {

namespace {

constexpr int kFormat = 1;

std::string KeyOf(const std::string& slot) { return "slot-" + slot + ".json"; }

}  // namespace

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
