// Status and Result<T>: how every fallible call across a module boundary reports failure.
//
// A Status is cheap when OK (no allocation). A failed Status carries a code, which callers branch
// on (retry or not, exit code), and a message meant for a person: what failed, where, and what to do.
// Adapters (libpq, librdkafka, curl, the filesystem) map their errors to a Status and keep the
// original text in the message. Messages never contain secrets (see base/redact.h).
//
// Thread-safety: values; safe to copy between threads.
#pragma once

#include <cassert>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace cdc {

enum class StatusCode : int {
  kOk = 0,
  kInvalidArgument = 1,     // bad input from the user: a flag, a config value, a CSV row
  kNotFound = 2,            // a file, table, object, slot that does not exist
  kAlreadyExists = 3,       // create-if-absent found something there (a commit marker)
  kCorruption = 4,          // bytes that do not decode: a Parquet file, a wire message
  kIoError = 5,             // local I/O failure
  kUnavailable = 6,         // a peer cannot be reached now; retrying may help
  kPermissionDenied = 7,    // the peer refused: missing privilege, 403
  kUnauthenticated = 8,     // bad credentials
  kFailedPrecondition = 9,  // the environment is not as required (wal_level, missing bucket)
  kAborted = 10,            // the operation was rolled back (transaction aborted)
  kCancelled = 11,          // stopped on request (SIGINT)
  kInternal = 12,           // a bug: an invariant does not hold
};

// The short name of a code, e.g. "Corruption".
std::string_view StatusCodeName(StatusCode code);

class Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message);

  static Status OK() { return Status(); }
  static Status InvalidArgument(std::string msg) { return {StatusCode::kInvalidArgument, std::move(msg)}; }
  static Status NotFound(std::string msg) { return {StatusCode::kNotFound, std::move(msg)}; }
  static Status AlreadyExists(std::string msg) { return {StatusCode::kAlreadyExists, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {StatusCode::kCorruption, std::move(msg)}; }
  static Status IoError(std::string msg) { return {StatusCode::kIoError, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {StatusCode::kUnavailable, std::move(msg)}; }
  static Status PermissionDenied(std::string msg) { return {StatusCode::kPermissionDenied, std::move(msg)}; }
  static Status Unauthenticated(std::string msg) { return {StatusCode::kUnauthenticated, std::move(msg)}; }
  static Status FailedPrecondition(std::string msg) { return {StatusCode::kFailedPrecondition, std::move(msg)}; }
  static Status Aborted(std::string msg) { return {StatusCode::kAborted, std::move(msg)}; }
  static Status Cancelled(std::string msg) { return {StatusCode::kCancelled, std::move(msg)}; }
  static Status Internal(std::string msg) { return {StatusCode::kInternal, std::move(msg)}; }

  bool ok() const { return state_ == nullptr; }
  StatusCode code() const { return state_ ? state_->code : StatusCode::kOk; }
  // The message without the code name; empty when OK.
  const std::string& message() const;

  bool IsInvalidArgument() const { return code() == StatusCode::kInvalidArgument; }
  bool IsNotFound() const { return code() == StatusCode::kNotFound; }
  bool IsAlreadyExists() const { return code() == StatusCode::kAlreadyExists; }
  bool IsCorruption() const { return code() == StatusCode::kCorruption; }
  bool IsIoError() const { return code() == StatusCode::kIoError; }
  bool IsUnavailable() const { return code() == StatusCode::kUnavailable; }
  bool IsPermissionDenied() const { return code() == StatusCode::kPermissionDenied; }
  bool IsUnauthenticated() const { return code() == StatusCode::kUnauthenticated; }
  bool IsFailedPrecondition() const { return code() == StatusCode::kFailedPrecondition; }
  bool IsCancelled() const { return code() == StatusCode::kCancelled; }
  // Whether retrying the same operation later may succeed (policy is decided in jobs/).
  bool IsRetryable() const { return code() == StatusCode::kUnavailable; }

  // "Corruption: <message>" or "OK".
  std::string ToString() const;

  // The same code with "<context>: " in front of the message. OK stays OK.
  Status WithContext(std::string_view context) const;

 private:
  struct State {
    StatusCode code;
    std::string message;
  };
  std::shared_ptr<const State> state_;  // null when OK
};

// A value or the Status that explains why there is none.
// REQUIRES: a Result is never constructed from an OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design, like absl::StatusOr
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok() && "Result built from an OK Status has no value");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status::OK() : std::get<Status>(v_); }

  // REQUIRES: ok()
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace cdc

#define CDC_STATUS_CONCAT_INNER(a, b) a##b
#define CDC_STATUS_CONCAT(a, b) CDC_STATUS_CONCAT_INNER(a, b)

// Returns the Status from the enclosing function when `expr` (a Status) is not OK.
#define CDC_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::cdc::Status cdc_status_ = (expr);        \
    if (!cdc_status_.ok()) return cdc_status_; \
  } while (0)

// `lhs = value of expr` (a Result<T>), or returns its Status from the enclosing function.
#define CDC_ASSIGN_OR_RETURN(lhs, expr) \
  CDC_ASSIGN_OR_RETURN_IMPL(CDC_STATUS_CONCAT(cdc_result_, __LINE__), lhs, expr)
#define CDC_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
