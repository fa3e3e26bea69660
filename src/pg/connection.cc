#include "pg/connection.h"

#include <cstdlib>
#include <cstring>

#include "base/redact.h"

namespace cdc::pg {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

// libpq messages for connection failures may echo parts of the conninfo; never the password, but be
// safe: strip anything that looks like a password assignment.
std::string CleanMessage(const char* msg) { return Trim(RedactConninfo(msg ? msg : "")); }

}  // namespace

StatusCode StatusCodeForSqlState(std::string_view s) {
  if (s.size() != 5) return StatusCode::kInvalidArgument;
  if (s.substr(0, 2) == "28") return StatusCode::kUnauthenticated;
  if (s == "42501") return StatusCode::kPermissionDenied;
  if (s == "42P01" || s == "42704" || s == "3D000") return StatusCode::kNotFound;
  if (s == "42710" || s == "42P07" || s == "42P04") return StatusCode::kAlreadyExists;
  if (s == "40001" || s == "40P01") return StatusCode::kAborted;
  if (s.substr(0, 2) == "08" || s == "57P01" || s == "57P02" || s == "57P03" || s == "53300")
    return StatusCode::kUnavailable;
  if (s == "57014") return StatusCode::kCancelled;
  if (s.substr(0, 2) == "55" || s.substr(0, 2) == "0A") return StatusCode::kFailedPrecondition;
  return StatusCode::kInvalidArgument;
}

uint64_t PgResult::AffectedRows() const {
  const char* t = PQcmdTuples(res_.get());
  return (t && *t) ? std::strtoull(t, nullptr, 10) : 0;
}

Result<PgConnection> PgConnection::Connect(const std::string& conninfo, bool replication) {
  // The entry point to libpq: no other libpq call happens before a connection exists.
  CDC_RETURN_IF_ERROR(LoadLibpq());
  std::string redacted = RedactConninfo(conninfo);
  // Expand the conninfo (URI or key=value) and add our own keys on top.
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (!opts) {
    std::string m = CleanMessage(err);
    if (err) PQfreemem(err);
    return Status::InvalidArgument("invalid connection string '" + redacted + "': " + m);
  }
  std::vector<const char*> keys, values;
  for (PQconninfoOption* o = opts; o->keyword; ++o) {
    if (o->val && *o->val) {
      keys.push_back(o->keyword);
      values.push_back(o->val);
    }
  }
  auto add_default = [&](const char* key, const char* value) {
    for (const char* k : keys) {
      if (std::strcmp(k, key) == 0) return;  // the connection string's own value wins
    }
    keys.push_back(key);
    values.push_back(value);
  };
  add_default("application_name", "cdcpipe");
  // A connection that hangs instead of closing (a dropped NAT entry, a vanished peer): TCP keepalives
  // (first probe after 10 s idle, then every 5 s, dead after 3 unanswered) and TCP_USER_TIMEOUT (sent
  // data unacknowledged for 30 s) make the kernel report it dead, so a blocked call returns an error.
  // docs/RELIABILITY.md. Ignored on Unix sockets.
  add_default("keepalives", "1");
  add_default("keepalives_idle", "10");
  add_default("keepalives_interval", "5");
  add_default("keepalives_count", "3");
  add_default("tcp_user_timeout", "30000");
  // ... and a connection attempt that is accepted but never answered (startup and authentication
  // included) gives up after 10 s instead of waiting forever.
  add_default("connect_timeout", "10");
  if (replication) {
    keys.push_back("replication");
    values.push_back("database");
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/0);
  PQconninfoFree(opts);
  if (!conn) return Status::Internal("libpq could not allocate a connection");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string m = CleanMessage(PQerrorMessage(conn));
    PQfinish(conn);
    std::string where = redacted.empty() ? std::string("(PG* environment)") : redacted;
    StatusCode code = StatusCode::kUnavailable;
    if (m.find("password authentication failed") != std::string::npos ||
        m.find("no password supplied") != std::string::npos ||
        m.find("authentication failed") != std::string::npos || m.find("no pg_hba.conf entry") != std::string::npos) {
      code = StatusCode::kUnauthenticated;
    } else if (m.find("does not exist") != std::string::npos) {
      code = StatusCode::kNotFound;
    } else if (m.find("server certificate") != std::string::npos || m.find("certificate verify failed") != std::string::npos ||
               m.find("root certificate") != std::string::npos) {
      // Not retried: a certificate does not become trusted by waiting.
      code = StatusCode::kFailedPrecondition;
      m += " (TLS: with sslmode=verify-full the server's certificate must be signed by a CA in sslrootcert and "
           "name the host of the connection string)";
    }
    return Status(code, "cannot connect to PostgreSQL at " + where + ": " + m);
  }
  return PgConnection(conn, redacted);
}

Status PgConnection::ConnectionError(std::string_view what) const {
  std::string m = CleanMessage(PQerrorMessage(conn_.get()));
  StatusCode code = PQstatus(conn_.get()) == CONNECTION_BAD ? StatusCode::kUnavailable : StatusCode::kInternal;
  return Status(code, std::string(what) + ": " + m);
}

Status PgConnection::ResultError(std::string_view what, const PGresult* res) const {
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string m = res ? CleanMessage(PQresultErrorMessage(res)) : std::string();
  if (m.empty()) m = CleanMessage(PQerrorMessage(conn_.get()));
  StatusCode code = state ? StatusCodeForSqlState(state) : StatusCode::kUnavailable;
  if (PQstatus(conn_.get()) == CONNECTION_BAD) code = StatusCode::kUnavailable;
  std::string msg = std::string(what) + ": " + m;
  if (state) msg += " (SQLSTATE " + std::string(state) + ")";
  return Status(code, std::move(msg));
}

Result<PgResult> PgConnection::Exec(const std::string& sql) {
  PGresult* res = PQexec(conn_.get(), sql.c_str());
  PgResult r(res);
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_COPY_IN || st == PGRES_COPY_OUT ||
      st == PGRES_COPY_BOTH) {
    return r;
  }
  std::string head = sql.substr(0, 60);
  for (auto& c : head) if (c == '\n') c = ' ';
  return ResultError("query failed [" + head + (sql.size() > 60 ? "...]" : "]"), res);
}

Result<PgResult> PgConnection::ExecParams(const std::string& sql,
                                          const std::vector<std::optional<std::string>>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PGresult* res = PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                               nullptr, nullptr, 0);
  PgResult r(res);
  ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return r;
  std::string head = sql.substr(0, 60);
  for (auto& c : head) if (c == '\n') c = ' ';
  return ResultError("query failed [" + head + (sql.size() > 60 ? "...]" : "]"), res);
}

Status PgConnection::CopyInBegin(const std::string& copy_sql) {
  PGresult* res = PQexec(conn_.get(), copy_sql.c_str());
  PgResult r(res);
  if (res && PQresultStatus(res) == PGRES_COPY_IN) return Status::OK();
  return ResultError("COPY failed to start", res);
}

Status PgConnection::CopyInPut(std::string_view data) {
  if (PQputCopyData(conn_.get(), data.data(), static_cast<int>(data.size())) != 1) {
    return ConnectionError("COPY send failed");
  }
  return Status::OK();
}

Result<uint64_t> PgConnection::CopyInEnd() {
  if (PQputCopyEnd(conn_.get(), nullptr) != 1) return ConnectionError("COPY end failed");
  uint64_t rows = 0;
  Status st;
  while (PGresult* res = PQgetResult(conn_.get())) {
    PgResult r(res);
    if (PQresultStatus(res) == PGRES_COMMAND_OK) {
      rows = r.AffectedRows();
    } else if (st.ok()) {
      st = ResultError("COPY failed", res);
    }
  }
  if (!st.ok()) return st;
  return rows;
}

Status PgConnection::CopyInAbort(const std::string& reason) {
  PQputCopyEnd(conn_.get(), reason.c_str());
  while (PGresult* res = PQgetResult(conn_.get())) PQclear(res);
  return Status::OK();
}

Status PgConnection::CopyOutBegin(const std::string& copy_sql) {
  PGresult* res = PQexec(conn_.get(), copy_sql.c_str());
  PgResult r(res);
  if (res && PQresultStatus(res) == PGRES_COPY_OUT) return Status::OK();
  return ResultError("COPY TO STDOUT failed to start", res);
}

Result<bool> PgConnection::CopyOutNext(std::string_view* row) {
  copy_buf_.reset();
  char* buf = nullptr;
  int n = PQgetCopyData(conn_.get(), &buf, 0);
  if (n >= 0) {
    copy_buf_.reset(buf);
    *row = std::string_view(buf, static_cast<size_t>(n));
    return true;
  }
  if (n == -2) return ConnectionError("COPY read failed");
  Status st;
  while (PGresult* res = PQgetResult(conn_.get())) {
    PgResult r(res);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && st.ok()) st = ResultError("COPY TO STDOUT failed", res);
  }
  if (!st.ok()) return st;
  return false;
}

std::string PgConnection::QuoteIdent(std::string_view ident) const {
  char* q = PQescapeIdentifier(conn_.get(), ident.data(), ident.size());
  std::string out = q ? q : "";
  if (q) PQfreemem(q);
  return out;
}

std::string PgConnection::QuoteLiteral(std::string_view literal) const {
  char* q = PQescapeLiteral(conn_.get(), literal.data(), literal.size());
  std::string out = q ? q : "";
  if (q) PQfreemem(q);
  return out;
}

}  // namespace cdc::pg
