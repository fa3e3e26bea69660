// ObjectStore: one interface for a bucket-like store of immutable objects addressed by key.
//
// Implementations, chosen by URI (OpenStore):
//   /abs/path, rel/path, file:///abs/path   LocalStore: files under a directory (the embedded default)
//   s3://bucket  s3://bucket/prefix         S3Store: AWS S3, MinIO and compatible servers (SigV4)
//
// Keys are relative to the store's root (the directory, or bucket+prefix): "part-0.parquet",
// "_spark_metadata/0". A key is one or more non-empty '/'-separated segments, none of them "." or
// "..", no NUL; see ValidateKey. The same key means the same object in every implementation.
//
// Contracts every implementation keeps (tests in store_test.cc and tests/store_s3_test.cc):
//   - Put is atomic: a reader sees the old object, nothing, or the whole new object; never a part.
//   - PutIfAbsent creates the object only when no object has the key and returns AlreadyExists
//     otherwise. Locally and on servers that honour `If-None-Match: *` (AWS S3 since 2024, MinIO)
//     it is atomic against concurrent writers; on servers that ignore it (s3rver) it degrades to
//     HEAD-then-PUT, which is only safe with a single writer per key (docs/STORE.md).
//   - List returns every object under a prefix in key order, handling pagination internally. It
//     never returns in-flight temporary files of a local Put.
//   - Errors name the store, bucket and key, never credentials. Codes: NotFound (no such object),
//     AlreadyExists (PutIfAbsent), Unauthenticated (bad credentials), PermissionDenied (403),
//     FailedPrecondition (missing bucket), Unavailable (could not reach the server after retries),
//     IoError (local filesystem), InvalidArgument (bad key, bad range).
//
// Thread-safety: an ObjectStore may be used from several threads at once.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace cdc::store {

// What List and Head report about one object.
struct ObjectInfo {
  std::string key;          // relative to the store root
  uint64_t size = 0;        // bytes
  int64_t mtime_micros = 0; // last modification, microseconds since the Unix epoch (UTC)
  std::string etag;         // S3 ETag without quotes; empty for local files
};

// How to open a store. Every field has a default that works for a local store; S3 fields fall back
// to the environment (see FromEnvironment) when empty.
struct StoreOptions {
  // S3 endpoint, e.g. "http://127.0.0.1:9000". Default: empty = CDCPIPE_S3_ENDPOINT, else AWS
  // (https://s3.<region>.amazonaws.com).
  std::string s3_endpoint;
  // PEM file of the CA certificates trusted for an https endpoint (a private CA). Default: empty = the
  // system's CA store (CDCPIPE_S3_CA_FILE when set).
  std::string ca_file;
  // Region used in the SigV4 scope. Default: empty = AWS_REGION, AWS_DEFAULT_REGION, else "us-east-1".
  std::string region;
  // Credentials. Default: empty = AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, else MINIO_ROOT_USER /
  // MINIO_ROOT_PASSWORD, else MINIO_ACCESS_KEY / MINIO_SECRET_KEY. Never logged.
  std::string access_key_id;
  std::string secret_access_key;
  // Optional session token (AWS_SESSION_TOKEN) sent as x-amz-security-token. Default: empty.
  std::string session_token;
  // Path-style URLs (http://endpoint/bucket/key). Default true; false = virtual-hosted
  // (http://bucket.endpoint/key), which AWS prefers and MinIO/s3rver usually do not support.
  bool path_style = true;
  // Create the bucket when opening the store if it does not exist. Default false (a missing bucket
  // is a FailedPrecondition error).
  bool create_bucket = false;
  // Objects of at least this many bytes are uploaded with multipart upload. Default 64 MiB.
  uint64_t multipart_threshold = 64ull << 20;
  // Size of each multipart part (S3 requires >= 5 MiB except the last). Default 16 MiB.
  uint64_t multipart_part_size = 16ull << 20;
  // Attempts per request, including the first, for timeouts, connection errors, 5xx and 429.
  // Default 5.
  int max_attempts = 5;
  // Backoff before retry n (1-based) is a random value in [0, min(max, base * 2^(n-1))] ("full
  // jitter"). Defaults 100 ms and 5000 ms.
  int retry_base_delay_ms = 100;
  int retry_max_delay_ms = 5000;
  // Connect timeout per attempt. Default 5000 ms.
  int connect_timeout_ms = 5000;
  // A request whose transfer stays below 1 byte/s for this long is aborted and retried. Default 30000 ms.
  int low_speed_timeout_ms = 30000;
  // ListObjectsV2 max-keys per page (1..1000). Default 1000; tests use small pages.
  int list_page_size = 1000;
  // Local store: fsync files and directories on Put. Default true (turning it off loses the
  // crash guarantee but not atomicity).
  bool local_fsync = true;
  // Local store: write objects as unnamed files (O_TMPFILE) when the filesystem can. Default true;
  // false (or a filesystem without O_TMPFILE) writes them under a temp name first.
  bool local_tmpfile = true;

  // Options with the S3 fields filled in from the environment where they are empty.
  static StoreOptions FromEnvironment(StoreOptions base);
};

// The bytes of an object, kept alive by `owner` (a read-only mapping of a local file, or a string).
struct ObjectBytes {
  std::string_view data;
  std::shared_ptr<const void> owner;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;

  // Writes `data` under `key`, replacing any object with that key. Atomic (see above).
  virtual Status Put(std::string_view key, std::string_view data) = 0;
  // Uploads the local file `path` under `key`, streaming it (memory stays bounded by one multipart
  // part on S3). Atomic like Put.
  virtual Status PutFile(std::string_view key, const std::string& path) = 0;
  // Put for derived data that its reader validates and can rebuild (the batch checkpoint): atomic like
  // Put, but a local store does not fsync it, so an operating-system crash may lose it or leave it
  // damaged (a process crash cannot). Elsewhere the same as Put.
  virtual Status PutDerived(std::string_view key, std::string_view data) { return Put(key, data); }
  // Creates `key` with `data` only when absent; AlreadyExists when an object has the key.
  virtual Status PutIfAbsent(std::string_view key, std::string_view data) = 0;
  // The whole object; NotFound when absent.
  virtual Result<std::string> Get(std::string_view key) = 0;
  // The whole object without a copy where the store can (a local store maps the file read-only, which
  // is safe because Put never changes a file in place); otherwise Get. NotFound when absent.
  virtual Result<ObjectBytes> GetBytes(std::string_view key);
  // Bytes [offset, min(offset + length, size)). REQUIRES: length > 0.
  // InvalidArgument when offset >= size; NotFound when absent.
  virtual Result<std::string> GetRange(std::string_view key, uint64_t offset, uint64_t length) = 0;
  // Size and mtime of one object; NotFound when absent.
  virtual Result<ObjectInfo> Head(std::string_view key) = 0;
  // Every object whose key starts with `prefix` (plain string prefix, "" = all), in key order.
  virtual Result<std::vector<ObjectInfo>> List(std::string_view prefix) = 0;
  // Removes `key`. OK when it did not exist (like S3).
  virtual Status Delete(std::string_view key) = 0;

  // The absolute URI of `key` for metadata written for other engines (Spark `_spark_metadata`):
  // "file:///abs/dir/key" for a local store, "s3a://bucket/prefix/key" for S3. Characters outside
  // RFC 3986 unreserved and '/' are percent-encoded in the file:// form (as Hadoop's Path.toUri).
  virtual std::string AbsoluteUri(std::string_view key) const = 0;
  // The store's root URI for messages: "file:///abs/dir" or "s3://bucket/prefix". No credentials.
  virtual std::string Describe() const = 0;
};

// What a store URI names.
struct StoreLocation {
  enum class Kind { kLocal, kS3 };
  Kind kind = Kind::kLocal;
  std::string local_dir;  // kLocal: absolute directory path, no trailing '/'
  std::string bucket;     // kS3
  std::string prefix;     // kS3: "" or "dir/sub/" (always ends with '/')
};

// Parses "/abs", "rel", "file:///abs", "file:/abs", "s3://bucket[/prefix]" (also "s3a://").
// Relative local paths are made absolute against the working directory.
Result<StoreLocation> ParseStoreUri(std::string_view uri);

// Opens the store named by `uri`. A local directory is created if missing. An S3 store checks the
// bucket (HEAD) and creates it when options.create_bucket is set.
Result<std::unique_ptr<ObjectStore>> OpenStore(std::string_view uri, const StoreOptions& options = {});

// Percent-encodes the characters that may not appear in a URI path (RFC 3986 pchar plus '/' stay,
// so "date=2026-11-25/part 0" becomes "date=2026-11-25/part%200"). Used by AbsoluteUri.
std::string EncodeUriPath(std::string_view path);

// InvalidArgument naming `key` when it is not a valid key (see the top of this file).
Status ValidateKey(std::string_view key);

}  // namespace cdc::store
