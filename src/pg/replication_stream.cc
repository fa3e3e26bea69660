#include "pg/replication_stream.h"

#include <poll.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "pg/pgoutput_decoder.h"

namespace cdc::pg {

uint64_t ReadBigEndian64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

void WriteBigEndian64(char* p, uint64_t v) {
  for (int i = 7; i >= 0; --i) {
    p[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

namespace {

int64_t NowPgMicros() {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::microseconds>(now).count() - kPgEpochOffsetMicros;
}

std::string QuoteIdent(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string QuoteLiteral(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

}  // namespace

Result<ReplicationStream> ReplicationStream::Connect(const std::string& conninfo) {
  CDC_ASSIGN_OR_RETURN(PgConnection conn, PgConnection::Connect(conninfo, /*replication=*/true));
  return ReplicationStream(std::move(conn));
}

Result<SystemIdentity> ReplicationStream::IdentifySystem() {
  CDC_ASSIGN_OR_RETURN(PgResult res, conn_.Exec("IDENTIFY_SYSTEM"));
  if (res.rows() != 1 || res.columns() < 4) {
    return Status::Internal(fmt::format("IDENTIFY_SYSTEM returned {} rows and {} columns, expected 1 and 4",
                                        res.rows(), res.columns()));
  }
  SystemIdentity id;
  id.system_id = std::string(res.Get(0, 0));
  id.timeline = static_cast<uint32_t>(std::strtoul(std::string(res.Get(0, 1)).c_str(), nullptr, 10));
  auto lsn = Lsn::Parse(res.Get(0, 2));
  if (!lsn) return Status::Internal("IDENTIFY_SYSTEM returned an invalid xlogpos '" + std::string(res.Get(0, 2)) + "'");
  id.xlogpos = *lsn;
  id.dbname = std::string(res.Get(0, 3));
  if (id.dbname.empty()) {
    return Status::FailedPrecondition("the replication connection is not bound to a database (replication=database)");
  }
  return id;
}

Result<CreatedSlot> ReplicationStream::CreateSlot(const std::string& slot, bool export_snapshot) {
  std::string sql = fmt::format("CREATE_REPLICATION_SLOT {} LOGICAL pgoutput (SNAPSHOT '{}')", QuoteIdent(slot),
                                export_snapshot ? "export" : "nothing");
  auto res = conn_.Exec(sql);
  if (!res.ok()) return res.status().WithContext("creating replication slot \"" + slot + "\"");
  if (res->rows() != 1 || res->columns() < 4) return Status::Internal("CREATE_REPLICATION_SLOT returned no row");
  CreatedSlot created;
  created.slot_name = std::string(res->Get(0, 0));
  auto lsn = Lsn::Parse(res->Get(0, 1));
  if (!lsn) return Status::Internal("CREATE_REPLICATION_SLOT returned an invalid consistent point");
  created.consistent_point = *lsn;
  if (!res->IsNull(0, 2)) created.snapshot_name = std::string(res->Get(0, 2));
  return created;
}

Status ReplicationStream::Start(const StartOptions& opts) {
  std::string pubs;
  for (size_t i = 0; i < opts.publications.size(); ++i) {
    if (i) pubs += ',';
    pubs += QuoteIdent(opts.publications[i]);
  }
  std::string sql = fmt::format(
      "START_REPLICATION SLOT {} LOGICAL {} (proto_version '{}', publication_names {}, messages '{}')",
      QuoteIdent(opts.slot), opts.start_lsn.ToString(), opts.proto_version, QuoteLiteral(pubs),
      opts.messages ? "true" : "false");
  PGresult* raw = PQexec(conn_.raw(), sql.c_str());
  PgResult res(raw);
  if (!raw || PQresultStatus(raw) != PGRES_COPY_BOTH) {
    return conn_.ResultError(fmt::format("START_REPLICATION of slot \"{}\" at {}", opts.slot,
                                         opts.start_lsn.ToString()),
                             raw);
  }
  streaming_ = true;
  return Status::OK();
}

Result<ReplicationEvent> ReplicationStream::Receive(std::chrono::steady_clock::time_point deadline) {
  PGconn* c = conn_.raw();
  buf_.reset();
  for (;;) {
    char* data = nullptr;
    int n = PQgetCopyData(c, &data, /*async=*/1);
    if (n == 0) {
      // Nothing buffered: wait for the socket until the deadline.
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return ReplicationEvent{};
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
      pollfd pfd{PQsocket(c), POLLIN, 0};
      if (pfd.fd < 0) return Status::Unavailable("replication connection lost (no socket)");
      int rc = ::poll(&pfd, 1, static_cast<int>(std::min<int64_t>(wait, 60'000)));
      if (rc < 0 && errno != EINTR) return Status::IoError(std::string("poll on replication socket: ") + std::strerror(errno));
      if (rc > 0 && PQconsumeInput(c) == 0) return conn_.ConnectionError("replication connection lost");
      continue;
    }
    if (n == -1) {
      // The COPY ended: read the final result.
      streaming_ = false;
      Status st;
      while (PGresult* r = PQgetResult(c)) {
        PgResult res(r);
        ExecStatusType s = PQresultStatus(r);
        if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && s != PGRES_COPY_OUT && st.ok()) {
          st = conn_.ResultError("replication stream ended", r);
        }
        if (s == PGRES_COPY_OUT || s == PGRES_COPY_BOTH) break;
      }
      if (PQstatus(c) == CONNECTION_BAD && st.ok()) st = conn_.ConnectionError("replication connection lost");
      if (!st.ok()) return st;
      ReplicationEvent ev;
      ev.kind = ReplicationEvent::Kind::kEnd;
      return ev;
    }
    if (n == -2) {
      streaming_ = false;
      return conn_.ConnectionError("replication stream read failed");
    }
    buf_.reset(data);
    ReplicationEvent ev;
    if (data[0] == 'w') {
      if (n < 25) return Status::Corruption(fmt::format("XLogData message of {} bytes, expected at least 25", n));
      ev.kind = ReplicationEvent::Kind::kXLogData;
      ev.wal_start = Lsn(ReadBigEndian64(data + 1));
      ev.wal_end = Lsn(ReadBigEndian64(data + 9));
      ev.server_time_us = static_cast<int64_t>(ReadBigEndian64(data + 17)) + kPgEpochOffsetMicros;
      ev.payload = std::string_view(data + 25, static_cast<size_t>(n - 25));
      return ev;
    }
    if (data[0] == 'k') {
      if (n < 18) return Status::Corruption(fmt::format("keepalive message of {} bytes, expected 18", n));
      ev.kind = ReplicationEvent::Kind::kKeepalive;
      ev.wal_end = Lsn(ReadBigEndian64(data + 1));
      ev.server_time_us = static_cast<int64_t>(ReadBigEndian64(data + 9)) + kPgEpochOffsetMicros;
      ev.reply_requested = data[17] != 0;
      return ev;
    }
    return Status::Corruption(fmt::format("unknown replication message type 0x{:02x} ({} bytes)",
                                          static_cast<uint8_t>(data[0]), n));
  }
}

Status ReplicationStream::SendStatus(Lsn write, Lsn flush, Lsn apply, bool reply_requested) {
  char msg[34];
  msg[0] = 'r';
  WriteBigEndian64(msg + 1, write.value());
  WriteBigEndian64(msg + 9, flush.value());
  WriteBigEndian64(msg + 17, apply.value());
  WriteBigEndian64(msg + 25, static_cast<uint64_t>(NowPgMicros()));
  msg[33] = reply_requested ? 1 : 0;
  PGconn* c = conn_.raw();
  if (PQputCopyData(c, msg, sizeof msg) <= 0 || PQflush(c) != 0) {
    return conn_.ConnectionError("sending standby status update");
  }
  return Status::OK();
}

Status ReplicationStream::Stop() {
  if (!streaming_) return Status::OK();
  streaming_ = false;
  buf_.reset();
  PGconn* c = conn_.raw();
  if (PQputCopyEnd(c, nullptr) <= 0 || PQflush(c) != 0) return conn_.ConnectionError("ending replication COPY");
  // Drain what the server still sends until it acknowledges the CopyDone.
  for (int i = 0; i < 100000; ++i) {
    char* data = nullptr;
    int n = PQgetCopyData(c, &data, 0);
    if (data) PQfreemem(data);
    if (n < 0) break;
  }
  Status st;
  while (PGresult* r = PQgetResult(c)) {
    PgResult res(r);
    ExecStatusType s = PQresultStatus(r);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && st.ok()) st = conn_.ResultError("ending replication", r);
  }
  return st;
}

}  // namespace cdc::pg
