// S3Store: an ObjectStore over the S3 REST API (AWS S3, MinIO, s3rver), using libcurl with its
// built-in SigV4 signing (CURLOPT_AWS_SIGV4 "aws:amz:<region>:s3").
//
// Every request carries x-amz-content-sha256 = hex SHA-256 of the body (also for empty bodies);
// libcurl puts every header we set into SignedHeaders, so the hash is signed too. Range is set with
// CURLOPT_RANGE (not signed, as the AWS SDKs do). Query strings are built sorted and RFC 3986
// encoded, which is already the canonical form, so servers and curl versions that re-canonicalize
// agree with those that do not.
//
// Put: one PUT below options.multipart_threshold, else CreateMultipartUpload, UploadPart per
// multipart_part_size, CompleteMultipartUpload (aborted on failure). Both are atomic on S3.
// PutIfAbsent: HEAD (AlreadyExists if present), then PUT with `If-None-Match: *`; see
// docs/STORE.md for servers that ignore the header.
// Retries: timeouts, connection errors, 5xx and 429 are retried up to options.max_attempts with
// full-jitter exponential backoff; 4xx are not retried. Wire details: docs/STORE.md.
//
// Thread-safety: all methods may be called concurrently; curl handles are pooled under a mutex.
#pragma once

#include <map>
#include <mutex>
#include <vector>

#include "store/object_store.h"

namespace cdc::store {

class S3Store final : public ObjectStore {
 public:
  // REQUIRES: options already merged with the environment (StoreOptions::FromEnvironment).
  // Probes the bucket with a one-key listing: FailedPrecondition when it does not exist (unless
  // options.create_bucket), Unauthenticated / PermissionDenied when the credentials are refused,
  // Unavailable when the endpoint cannot be reached. Loads libcurl and libcrypto first
  // (store/curl_api.h): FailedPrecondition naming the library when one cannot be loaded.
  static Result<std::unique_ptr<S3Store>> Open(const std::string& bucket, const std::string& prefix,
                                               const StoreOptions& options);
  ~S3Store() override;

  Status Put(std::string_view key, std::string_view data) override;
  Status PutFile(std::string_view key, const std::string& path) override;
  Status PutIfAbsent(std::string_view key, std::string_view data) override;
  Result<std::string> Get(std::string_view key) override;
  Result<std::string> GetRange(std::string_view key, uint64_t offset, uint64_t length) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override;
  Status Delete(std::string_view key) override;
  std::string AbsoluteUri(std::string_view key) const override;
  std::string Describe() const override;

  // PUT bucket. OK when it already exists and is ours.
  Status CreateBucket();

  // An HTTP exchange; public for the tests of the wire format.
  struct Request {
    std::string method;                                       // GET, PUT, POST, HEAD, DELETE
    std::string object_key;                                   // full key (with prefix); "" = the bucket
    std::vector<std::pair<std::string, std::string>> query;   // unencoded; sorted by Send
    std::vector<std::string> headers;                         // "Name: value", signed
    std::string_view body;                                    // request body
    std::string range;                                        // "a-b" for CURLOPT_RANGE, or ""
    bool retry_conflict = false;                              // also retry 409 (conditional writes)
  };
  struct Response {
    long status = 0;
    std::string body;
    std::map<std::string, std::string> headers;  // lower-case names
    int attempts = 0;                            // how many were needed
  };

 private:
  S3Store(std::string bucket, std::string prefix, StoreOptions options);

  // Sends with retries. Returns a Response for any HTTP status that is not retried (callers map
  // 4xx); Unavailable when every attempt failed to connect or got 5xx/429.
  Result<Response> Send(const Request& req);
  Result<Response> SendOnce(const Request& req, const std::string& url, void* curl);
  std::string UrlFor(const Request& req) const;
  // Maps a non-2xx response to a Status naming the operation and s3://bucket/key.
  Status ErrorFor(const Response& resp, std::string_view op, std::string_view full_key) const;
  Status PutSingle(const std::string& full_key, std::string_view data, bool if_none_match, int* attempts);
  // Multipart upload of parts produced by next_part(buffer) (returns false at the end).
  template <typename NextPart>
  Status PutMultipart(const std::string& full_key, NextPart&& next_part);
  std::string FullKey(std::string_view key) const { return prefix_ + std::string(key); }
  std::string Location(std::string_view full_key) const;

  void* AcquireHandle();
  void ReleaseHandle(void* h);

  const std::string bucket_;
  const std::string prefix_;  // "" or ends with '/'
  const StoreOptions options_;
  std::string endpoint_;      // scheme://host[:port], no trailing '/'
  std::string sigv4_param_;   // "aws:amz:<region>:s3"

  std::mutex mu_;
  std::vector<void*> idle_handles_;  // guarded by mu_: CURL* ready for reuse (keeps connections)
};

// Lower-case hex SHA-256 of `data` (OpenSSL's; loads libcrypto if S3Store::Open has not).
std::string Sha256Hex(std::string_view data);
// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters stay, everything else is
// %XX (upper case); '/' stays when keep_slash.
std::string AwsUriEncode(std::string_view s, bool keep_slash);

}  // namespace cdc::store
