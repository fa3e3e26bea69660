// PgConnection: an owned libpq connection with errors mapped to Status.
//
// Error mapping (done here, once): connection refused / host down -> Unavailable; SQLSTATE class 28
// (invalid authorization) -> Unauthenticated; 42501 -> PermissionDenied; 42P01 -> NotFound;
// 40001/40P01 -> Aborted; 08xxx and a lost connection -> Unavailable; anything else -> the SQLSTATE
// and server message with code FailedPrecondition (for 55xxx/0A) or InvalidArgument. Messages keep
// the server's text and never contain the password (conninfo is redacted).
//
// Thread-safety: a PgConnection is used by one thread at a time. Movable, not copyable.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "pg/libpq_api.h"

namespace cdc::pg {

// The result of a query. Owns the PGresult.
class PgResult {
 public:
  explicit PgResult(PGresult* res) : res_(res) {}
  int rows() const { return PQntuples(res_.get()); }
  int columns() const { return PQnfields(res_.get()); }
  bool IsNull(int row, int col) const { return PQgetisnull(res_.get(), row, col); }
  // The text value ("" for NULL).
  std::string_view Get(int row, int col) const {
    return {PQgetvalue(res_.get(), row, col), static_cast<size_t>(PQgetlength(res_.get(), row, col))};
  }
  std::optional<std::string> GetOpt(int row, int col) const {
    if (IsNull(row, col)) return std::nullopt;
    return std::string(Get(row, col));
  }
  std::string_view ColumnName(int col) const { return PQfname(res_.get(), col); }
  // Affected rows of INSERT/UPDATE/DELETE/COPY (0 when not applicable).
  uint64_t AffectedRows() const;
  PGresult* raw() const { return res_.get(); }

 private:
  struct Clear {
    void operator()(PGresult* res) const { PQclear(res); }
  };
  std::unique_ptr<PGresult, Clear> res_;
};

class PgConnection {
 public:
  // Connects (blocking). `replication` adds replication=database for the walsender protocol.
  // Loads libpq first (pg/libpq_api.h): FailedPrecondition naming libpq.so.5 when it cannot.
  static Result<PgConnection> Connect(const std::string& conninfo, bool replication = false);

  PgConnection(PgConnection&&) noexcept = default;
  PgConnection& operator=(PgConnection&&) noexcept = default;

  // Runs one or more statements; returns the last result. Any error -> Status.
  Result<PgResult> Exec(const std::string& sql);
  // Runs one statement with text parameters ($1, $2 ...); std::nullopt is NULL.
  Result<PgResult> ExecParams(const std::string& sql, const std::vector<std::optional<std::string>>& params);
  // Convenience: Exec and ignore the result.
  Status Run(const std::string& sql) { return Exec(sql).status(); }

  // COPY ... FROM STDIN: Begin, Put as many times as needed, then End (or Abort).
  Status CopyInBegin(const std::string& copy_sql);
  Status CopyInPut(std::string_view data);
  // Finishes the COPY; returns the number of rows copied.
  Result<uint64_t> CopyInEnd();
  // Aborts the COPY with `reason` (the transaction is then in error).
  Status CopyInAbort(const std::string& reason);

  // COPY ... TO STDOUT: Begin, then Next until it returns false.
  Status CopyOutBegin(const std::string& copy_sql);
  // Reads the next COPY row into `row` (without copying: valid until the next call). Returns false at
  // the end of the data.
  Result<bool> CopyOutNext(std::string_view* row);

  // Quotes an identifier ("klienci" -> "\"klienci\"") / a literal, with libpq's escaping.
  std::string QuoteIdent(std::string_view ident) const;
  std::string QuoteLiteral(std::string_view literal) const;

  // The server's version number (e.g. 150020) and a setting value.
  int server_version() const { return PQserverVersion(conn_.get()); }
  PGconn* raw() const { return conn_.get(); }
  // The connection string with the password masked, for messages.
  const std::string& redacted_conninfo() const { return redacted_; }

  // Maps the current connection error (PQerrorMessage) to a Status, with `what` as context.
  Status ConnectionError(std::string_view what) const;
  // Maps a failed result to a Status with `what` as context.
  Status ResultError(std::string_view what, const PGresult* res) const;

 private:
  PgConnection(PGconn* conn, std::string redacted) : conn_(conn), redacted_(std::move(redacted)) {}
  struct Finish {
    void operator()(PGconn* conn) const { PQfinish(conn); }
  };
  std::unique_ptr<PGconn, Finish> conn_;
  std::string redacted_;
  struct FreeMem {
    void operator()(char* p) const { PQfreemem(p); }
  };
  std::unique_ptr<char, FreeMem> copy_buf_;  // the last row from PQgetCopyData
};

// Maps a SQLSTATE to a status code (see the header comment).
StatusCode StatusCodeForSqlState(std::string_view sqlstate);

}  // namespace cdc::pg
