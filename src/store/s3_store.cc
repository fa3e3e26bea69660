#include "store/s3_store.h"

#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include <fmt/format.h>

#include "base/log.h"
#include "base/random_seed.h"
#include "base/redact.h"
#include "store/crypto_api.h"
#include "store/curl_api.h"
#include "store/s3_xml.h"

#if LIBCURL_VERSION_NUM < 0x074b00
#error "cdcpipe's S3 store needs libcurl >= 7.75.0 (CURLOPT_AWS_SIGV4)"
#endif

namespace cdc::store {
namespace {

constexpr std::string_view kComponent = "store";

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool IsRetryableCurl(CURLcode c) {
  switch (c) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

bool IsRetryableHttp(long status) { return status == 429 || status >= 500; }

struct UploadState {
  std::string_view body;
  size_t pos = 0;
};

size_t ReadBody(char* buf, size_t size, size_t n, void* userp) {
  auto* st = static_cast<UploadState*>(userp);
  size_t want = std::min(size * n, st->body.size() - st->pos);
  std::memcpy(buf, st->body.data() + st->pos, want);
  st->pos += want;
  return want;
}

int SeekBody(void* userp, curl_off_t offset, int origin) {
  auto* st = static_cast<UploadState*>(userp);
  if (origin != SEEK_SET || offset < 0 || static_cast<size_t>(offset) > st->body.size()) return CURL_SEEKFUNC_FAIL;
  st->pos = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

size_t WriteBody(char* data, size_t size, size_t n, void* userp) {
  static_cast<std::string*>(userp)->append(data, size * n);
  return size * n;
}

size_t WriteHeader(char* data, size_t size, size_t n, void* userp) {
  auto* headers = static_cast<std::map<std::string, std::string>*>(userp);
  std::string_view line(data, size * n);
  if (line.substr(0, 5) == "HTTP/") {
    headers->clear();  // a new response (after 100 Continue)
    return size * n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) value.remove_suffix(1);
  (*headers)[name] = std::string(value);
  return size * n;
}

std::string Unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

}  // namespace

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

std::string AwsUriEncode(std::string_view s, bool keep_slash) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

S3Store::S3Store(std::string bucket, std::string prefix, StoreOptions options)
    : bucket_(std::move(bucket)), prefix_(std::move(prefix)), options_(std::move(options)) {
  GlobalInit();
  endpoint_ = options_.s3_endpoint.empty() ? fmt::format("https://s3.{}.amazonaws.com", options_.region)
                                           : options_.s3_endpoint;
  while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
  sigv4_param_ = fmt::format("aws:amz:{}:s3", options_.region);
}

S3Store::~S3Store() {
  for (void* h : idle_handles_) curl_easy_cleanup(static_cast<CURL*>(h));
}

Result<std::unique_ptr<S3Store>> S3Store::Open(const std::string& bucket, const std::string& prefix,
                                               const StoreOptions& options) {
  // The entry point to libcurl and libcrypto: no other call into them happens before a store exists.
  CDC_RETURN_IF_ERROR(LoadLibcurl());
  CDC_RETURN_IF_ERROR(LoadLibcrypto());
  const std::string& ep = options.s3_endpoint;
  if (!ep.empty()) {
    if (ep.rfind("http://", 0) != 0 && ep.rfind("https://", 0) != 0) {
      return Status::InvalidArgument(
          fmt::format("S3 endpoint '{}' must start with http:// or https:// (e.g. http://127.0.0.1:9000)", ep));
    }
    std::string_view auth = std::string_view(ep).substr(ep.find("://") + 3);
    auth = auth.substr(0, auth.find('/'));
    if (auth.find('@') != std::string_view::npos) {
      return Status::InvalidArgument(
          "the S3 endpoint must not contain credentials; use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
    }
  }
  if (!options.ca_file.empty() && access(options.ca_file.c_str(), R_OK) != 0) {
    return Status::InvalidArgument(fmt::format("output.s3_ca_file '{}' cannot be read: {}", options.ca_file,
                                               std::strerror(errno)));
  }
  if (options.access_key_id.empty() || options.secret_access_key.empty()) {
    return Status::Unauthenticated(fmt::format(
        "no S3 credentials for s3://{}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or MINIO_ROOT_USER and "
        "MINIO_ROOT_PASSWORD)",
        bucket));
  }
  std::unique_ptr<S3Store> store(new S3Store(bucket, prefix, options));
  Request probe;
  probe.method = "GET";
  probe.query = {{"list-type", "2"}, {"max-keys", "1"}};
  if (!prefix.empty()) probe.query.push_back({"prefix", prefix});
  CDC_ASSIGN_OR_RETURN(Response resp, store->Send(probe));
  if (resp.status / 100 != 2) {
    Status s = store->ErrorFor(resp, "list", prefix);
    if (s.IsFailedPrecondition() && options.create_bucket) {
      CDC_RETURN_IF_ERROR(store->CreateBucket());
      return store;
    }
    return s;
  }
  return store;
}

void* S3Store::AcquireHandle() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_handles_.empty()) {
      void* h = idle_handles_.back();
      idle_handles_.pop_back();
      return h;
    }
  }
  return curl_easy_init();
}

void S3Store::ReleaseHandle(void* h) {
  std::lock_guard<std::mutex> lock(mu_);
  idle_handles_.push_back(h);
}

std::string S3Store::UrlFor(const Request& req) const {
  std::string url;
  if (options_.path_style) {
    url = fmt::format("{}/{}", endpoint_, AwsUriEncode(bucket_, false));
  } else {
    size_t p = endpoint_.find("://") + 3;
    url = fmt::format("{}{}.{}", endpoint_.substr(0, p), bucket_, endpoint_.substr(p));
  }
  url += "/";
  url += AwsUriEncode(req.object_key, true);
  auto query = req.query;
  std::sort(query.begin(), query.end());
  for (size_t i = 0; i < query.size(); ++i) {
    url += i == 0 ? '?' : '&';
    url += AwsUriEncode(query[i].first, false);
    url += '=';
    url += AwsUriEncode(query[i].second, false);
  }
  return url;
}

std::string S3Store::Location(std::string_view full_key) const {
  return fmt::format("s3://{}/{} at {}", bucket_, full_key, endpoint_);
}

Result<S3Store::Response> S3Store::SendOnce(const Request& req, const std::string& url, void* handle) {
  CURL* h = static_cast<CURL*>(handle);
  curl_easy_reset(h);
  Response resp;
  UploadState upload{req.body, 0};
  char errbuf[CURL_ERROR_SIZE] = {0};

  curl_slist* headers = nullptr;
  const std::string sha = "x-amz-content-sha256: " + Sha256Hex(req.body);
  headers = curl_slist_append(headers, sha.c_str());
  std::string token;
  if (!options_.session_token.empty()) {
    token = "x-amz-security-token: " + options_.session_token;
    headers = curl_slist_append(headers, token.c_str());
  }
  for (const std::string& hdr : req.headers) headers = curl_slist_append(headers, hdr.c_str());
  const bool has_body = req.method == "PUT" || req.method == "POST";
  if (has_body) {
    headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
  }

  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4_param_.c_str());
  curl_easy_setopt(h, CURLOPT_USERNAME, options_.access_key_id.c_str());
  curl_easy_setopt(h, CURLOPT_PASSWORD, options_.secret_access_key.c_str());
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
  if (!options_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, std::max(1L, static_cast<long>(options_.low_speed_timeout_ms / 1000)));
  // Bigger receive buffer: fewer callbacks for objects of megabytes (default 16 KiB).
  curl_easy_setopt(h, CURLOPT_BUFFERSIZE, 256L * 1024);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp.body);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, WriteHeader);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &resp.headers);
  // Ask before sending big bodies only briefly: servers that do not answer 100 cost 100 ms.
  curl_easy_setopt(h, CURLOPT_EXPECT_100_TIMEOUT_MS, 100L);
  if (!req.range.empty()) curl_easy_setopt(h, CURLOPT_RANGE, req.range.c_str());
  if (req.method == "HEAD") {
    curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (has_body) {
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, ReadBody);
    curl_easy_setopt(h, CURLOPT_READDATA, &upload);
    curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, SeekBody);
    curl_easy_setopt(h, CURLOPT_SEEKDATA, &upload);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    if (req.method != "PUT") curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  } else if (req.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }

  CURLcode rc = curl_easy_perform(h);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    std::string text = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE) {
      // Not retried: a certificate does not become trusted by waiting.
      text = fmt::format("TLS: {} (curl: {}); the certificate of {} must be signed by a CA in {} and name the "
                         "endpoint's host: for a private CA set output.s3_ca_file to its PEM file",
                         text, curl_easy_strerror(rc), endpoint_,
                         options_.ca_file.empty() ? "the system's CA store" : "output.s3_ca_file " + options_.ca_file);
    }
    Status s = Status::Unavailable(RedactSecret(text, options_.secret_access_key));
    if (!IsRetryableCurl(rc)) s = Status(StatusCode::kFailedPrecondition, s.message());
    return s;
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
  return resp;
}

Result<S3Store::Response> S3Store::Send(const Request& req) {
  const std::string url = UrlFor(req);
  const std::string what = fmt::format("{} {}", req.method, Location(req.object_key));
  thread_local std::mt19937_64 rng{RandomSeed()};
  const int attempts = std::max(1, options_.max_attempts);
  std::string last_error;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    void* h = AcquireHandle();
    if (h == nullptr) return Status::Internal("curl_easy_init failed");
    Result<Response> r = SendOnce(req, url, h);
    ReleaseHandle(h);
    if (r.ok()) {
      const long st = r->status;
      if (!(IsRetryableHttp(st) || (req.retry_conflict && st == 409))) {
        r->attempts = attempt;
        return r;
      }
      s3xml::ErrorBody e = s3xml::ParseError(r->body);
      last_error = e.code.empty() ? fmt::format("HTTP {}", st) : fmt::format("HTTP {} {}: {}", st, e.code, e.message);
      if (attempt == attempts) {
        r->attempts = attempt;
        return r;  // the caller maps the final 5xx/429
      }
    } else {
      if (!r.status().IsUnavailable()) {
        // A certificate that fails verification (SendOnce's "TLS: " errors) stays FailedPrecondition
        // (exit 6): retrying the whole operation cannot help either.
        StatusCode code = r.status().message().rfind("TLS: ", 0) == 0 ? StatusCode::kFailedPrecondition
                                                                       : StatusCode::kUnavailable;
        return Status(code, fmt::format("{} failed: {}; check the endpoint URL (--s3-endpoint / CDCPIPE_S3_ENDPOINT)",
                                        what, r.status().message()));
      }
      last_error = r.status().message();
    }
    if (attempt == attempts) break;
    const int64_t cap = std::min<int64_t>(options_.retry_max_delay_ms,
                                          static_cast<int64_t>(options_.retry_base_delay_ms) << std::min(attempt - 1, 20));
    const int64_t delay = cap > 0 ? static_cast<int64_t>(rng() % static_cast<uint64_t>(cap + 1)) : 0;
    log::Warn(kComponent, "{} attempt {}/{} failed ({}); retrying in {} ms", what, attempt, attempts,
              RedactSecret(last_error, options_.secret_access_key), delay);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
  }
  return Status::Unavailable(RedactSecret(
      fmt::format("{} failed after {} attempts: {}; check that the S3 endpoint is running and reachable", what,
                  attempts, last_error),
      options_.secret_access_key));
}

Status S3Store::ErrorFor(const Response& resp, std::string_view op, std::string_view full_key) const {
  s3xml::ErrorBody e = s3xml::ParseError(resp.body);
  const std::string detail =
      e.code.empty() ? fmt::format("HTTP {}", resp.status) : fmt::format("HTTP {} {}: {}", resp.status, e.code, e.message);
  const std::string where = Location(full_key);
  std::string msg;
  StatusCode code;
  if (resp.status == 404 && e.code == "NoSuchBucket") {
    code = StatusCode::kFailedPrecondition;
    msg = fmt::format("{} {}: bucket '{}' does not exist ({}); create it first or enable bucket creation", op,
                      where, bucket_, detail);
  } else if (resp.status == 404) {
    code = StatusCode::kNotFound;
    msg = fmt::format("{} {}: object does not exist ({})", op, where, detail);
  } else if (resp.status == 401 || ((resp.status == 403 || resp.status == 400) && (e.code == "InvalidAccessKeyId" ||
                                                            e.code == "SignatureDoesNotMatch" ||
                                                            e.code == "ExpiredToken" || e.code == "InvalidToken" ||
                                                            e.code == "AuthorizationHeaderMalformed"))) {
    code = StatusCode::kUnauthenticated;
    msg = fmt::format(
        "{} {}: the server refused the credentials ({}); check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or "
        "MINIO_ROOT_USER / MINIO_ROOT_PASSWORD) and AWS_REGION",
        op, where, detail);
  } else if (resp.status == 403) {
    code = StatusCode::kPermissionDenied;
    msg = fmt::format("{} {}: access denied ({}); check the credentials and the bucket policy", op, where, detail);
  } else if (resp.status == 412) {
    code = StatusCode::kAlreadyExists;
    msg = fmt::format("{} {}: object already exists ({})", op, where, detail);
  } else if (resp.status == 416) {
    code = StatusCode::kInvalidArgument;
    msg = fmt::format("{} {}: range not satisfiable ({})", op, where, detail);
  } else if (IsRetryableHttp(resp.status)) {
    code = StatusCode::kUnavailable;
    msg = fmt::format("{} {}: server error after {} attempts ({}); try again later", op, where, resp.attempts, detail);
  } else {
    code = resp.status == 400 ? StatusCode::kInvalidArgument : StatusCode::kFailedPrecondition;
    msg = fmt::format("{} {}: request refused ({})", op, where, detail);
  }
  return Status(code, RedactSecret(msg, options_.secret_access_key));
}

Status S3Store::CreateBucket() {
  Request req;
  req.method = "PUT";
  std::string body;
  if (options_.region != "us-east-1") {
    body = fmt::format(
        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>{}"
        "</LocationConstraint></CreateBucketConfiguration>",
        XmlEscape(options_.region));
  }
  req.body = body;
  CDC_ASSIGN_OR_RETURN(Response resp, Send(req));
  if (resp.status / 100 == 2) {
    log::Info(kComponent, "created bucket s3://{} at {}", bucket_, endpoint_);
    return Status::OK();
  }
  if (resp.status == 409 && s3xml::ParseError(resp.body).code == "BucketAlreadyOwnedByYou") return Status::OK();
  return ErrorFor(resp, "create bucket", "");
}

Status S3Store::PutSingle(const std::string& full_key, std::string_view data, bool if_none_match, int* attempts) {
  Request req;
  req.method = "PUT";
  req.object_key = full_key;
  req.body = data;
  if (if_none_match) {
    req.headers.push_back("If-None-Match: *");
    req.retry_conflict = true;
  }
  CDC_ASSIGN_OR_RETURN(Response resp, Send(req));
  if (attempts) *attempts = resp.attempts;
  if (resp.status / 100 == 2) return Status::OK();
  return ErrorFor(resp, "put", full_key);
}

template <typename NextPart>
Status S3Store::PutMultipart(const std::string& full_key, NextPart&& next_part) {
  Request init;
  init.method = "POST";
  init.object_key = full_key;
  init.query = {{"uploads", ""}};
  CDC_ASSIGN_OR_RETURN(Response iresp, Send(init));
  if (iresp.status / 100 != 2) return ErrorFor(iresp, "start multipart upload of", full_key);
  CDC_ASSIGN_OR_RETURN(auto upload_id, s3xml::FirstText(iresp.body, "UploadId"));
  if (!upload_id || upload_id->empty()) {
    return Status::Corruption(fmt::format("start multipart upload of {}: no UploadId in the answer", Location(full_key)));
  }
  auto abort = [&](Status s) {
    Request del;
    del.method = "DELETE";
    del.object_key = full_key;
    del.query = {{"uploadId", *upload_id}};
    auto r = Send(del);
    if (!r.ok() || r->status / 100 != 2) {
      log::Warn(kComponent, "could not abort multipart upload of {}; the bucket may keep its parts until a lifecycle "
                "rule removes them", Location(full_key));
    }
    return s;
  };
  std::string complete = "<CompleteMultipartUpload>";
  int part_number = 0;
  std::string_view part;
  Status read_status;
  while (next_part(&part, &read_status)) {
    ++part_number;
    Request up;
    up.method = "PUT";
    up.object_key = full_key;
    up.query = {{"partNumber", std::to_string(part_number)}, {"uploadId", *upload_id}};
    up.body = part;
    Result<Response> r = Send(up);
    if (!r.ok()) return abort(r.status());
    if (r->status / 100 != 2) return abort(ErrorFor(*r, fmt::format("upload part {} of", part_number), full_key));
    auto etag = r->headers.find("etag");
    if (etag == r->headers.end()) {
      return abort(Status::Corruption(
          fmt::format("upload part {} of {}: no ETag in the answer", part_number, Location(full_key))));
    }
    complete += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>", part_number,
                            XmlEscape(etag->second));
  }
  if (!read_status.ok()) return abort(read_status);
  complete += "</CompleteMultipartUpload>";
  Request fin;
  fin.method = "POST";
  fin.object_key = full_key;
  fin.query = {{"uploadId", *upload_id}};
  fin.body = complete;
  Result<Response> r = Send(fin);
  if (!r.ok()) return abort(r.status());
  // CompleteMultipartUpload can answer 200 with an <Error> body.
  if (r->status / 100 != 2 || r->body.find("<Error>") != std::string::npos) {
    Response copy = *r;
    if (copy.status / 100 == 2) copy.status = 500;
    return abort(ErrorFor(copy, "complete multipart upload of", full_key));
  }
  return Status::OK();
}

Status S3Store::Put(std::string_view key, std::string_view data) {
  CDC_RETURN_IF_ERROR(ValidateKey(key));
  const std::string full = FullKey(key);
  if (data.size() < options_.multipart_threshold) return PutSingle(full, data, false, nullptr);
  // S3 allows at most 10,000 parts.
  const uint64_t part_size = std::max<uint64_t>(options_.multipart_part_size, (data.size() + 9999) / 10000);
  size_t pos = 0;
  return PutMultipart(full, [&](std::string_view* part, Status*) {
    if (pos >= data.size()) return false;
    *part = data.substr(pos, part_size);
    pos += part->size();
    return true;
  });
}

Status S3Store::PutFile(std::string_view key, const std::string& path) {
  CDC_RETURN_IF_ERROR(ValidateKey(key));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Status::IoError(fmt::format("cannot stat {}: {}", path, std::strerror(errno)));
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  auto read_exact = [&](std::string* buf, uint64_t n) -> Status {
    buf->resize(n);
    uint64_t done = 0;
    while (done < n) {
      ssize_t r = ::read(fd, buf->data() + done, n - done);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Status::IoError(fmt::format("cannot read {}: {}", path, std::strerror(errno)));
      if (r == 0) break;
      done += static_cast<uint64_t>(r);
    }
    buf->resize(done);
    return Status::OK();
  };
  const std::string full = FullKey(key);
  std::string buf;
  if (size < options_.multipart_threshold) {
    CDC_RETURN_IF_ERROR(read_exact(&buf, size));
    return PutSingle(full, buf, false, nullptr);
  }
  const uint64_t part_size = std::max<uint64_t>(options_.multipart_part_size, (size + 9999) / 10000);
  return PutMultipart(full, [&](std::string_view* part, Status* err) {
    *err = read_exact(&buf, part_size);
    if (!err->ok() || buf.empty()) return false;
    *part = buf;
    return true;
  });
}

Status S3Store::PutIfAbsent(std::string_view key, std::string_view data) {
  CDC_RETURN_IF_ERROR(ValidateKey(key));
  const std::string full = FullKey(key);
  // HEAD first: servers that ignore If-None-Match (s3rver) would otherwise overwrite silently.
  Result<ObjectInfo> head = Head(key);
  if (head.ok()) return Status::AlreadyExists(fmt::format("put-if-absent {}: object already exists", Location(full)));
  if (!head.status().IsNotFound()) return head.status();
  int attempts = 0;
  Status s = PutSingle(full, data, true, &attempts);
  if (s.IsAlreadyExists() && attempts > 1) {
    // An earlier attempt may have succeeded with its answer lost: then the object holds our bytes.
    Result<std::string> existing = Get(key);
    if (existing.ok() && *existing == data) return Status::OK();
  }
  return s;
}

Result<ObjectInfo> S3Store::Head(std::string_view key) {
  CDC_RETURN_IF_ERROR(ValidateKey(key));
  Request req;
  req.method = "HEAD";
  req.object_key = FullKey(key);
  CDC_ASSIGN_OR_RETURN(Response resp, Send(req));
  if (resp.status / 100 != 2) return ErrorFor(resp, "head", req.object_key);
  ObjectInfo info;
  info.key = std::string(key);
  if (auto it = resp.headers.find("content-length"); it != resp.headers.end()) {
    info.size = std::strtoull(it->second.c_str(), nullptr, 10);
  }
  if (auto it = resp.headers.find("last-modified"); it != resp.headers.end()) {
    time_t t = curl_getdate(it->second.c_str(), nullptr);
    if (t > 0) info.mtime_micros = static_cast<int64_t>(t) * 1000000;
  }
  if (auto it = resp.headers.find("etag"); it != resp.headers.end()) info.etag = Unquote(it->second);
  return info;
}

Result<std::string> S3Store::Get(std::string_view key) {
  CDC_RETURN_IF_ERROR(ValidateKey(key));
  Request req;
  req.method = "GET";
  req.object_key = FullKey(key);
  CDC_ASSIGN_OR_RETURN(Response resp, Send(req));
  if (resp.status / 100 != 2) return ErrorFor(resp, "get", req.object_key);
  return std::move(resp.body);
}

Result<std::string> S3Store::GetRange(std::string_view key, uint64_t offset, uint64_t length) {
  CDC_RETURN_IF_ERROR(ValidateKey(key));
  if (length == 0) return Status::InvalidArgument(fmt::format("empty range requested from {}", Location(FullKey(key))));
  Request req;
  req.method = "GET";
  req.object_key = FullKey(key);
  const uint64_t last = length > UINT64_MAX - offset ? UINT64_MAX - 1 : offset + length - 1;
  req.range = fmt::format("{}-{}", offset, last);
  CDC_ASSIGN_OR_RETURN(Response resp, Send(req));
  if (resp.status == 206) return std::move(resp.body);
  if (resp.status == 200) {  // the server ignored Range: cut it ourselves
    if (offset >= resp.body.size() && !(offset == 0 && resp.body.empty())) {
      return Status::InvalidArgument(fmt::format("get {}: range start {} is beyond the end ({} bytes)",
                                                 Location(req.object_key), offset, resp.body.size()));
    }
    return resp.body.substr(offset, length);
  }
  if (resp.status == 416 && offset == 0) {
    // A zero-length object has no satisfiable range; answer like the local store.
    Result<ObjectInfo> head = Head(key);
    if (head.ok() && head->size == 0) return std::string();
  }
  return ErrorFor(resp, "get range of", req.object_key);
}

Result<std::vector<ObjectInfo>> S3Store::List(std::string_view prefix) {
  std::vector<ObjectInfo> out;
  const std::string full_prefix = prefix_ + std::string(prefix);
  std::string token;
  const int page_size = std::clamp(options_.list_page_size, 1, 1000);
  while (true) {
    Request req;
    req.method = "GET";
    req.query = {{"list-type", "2"}, {"max-keys", std::to_string(page_size)}};
    if (!full_prefix.empty()) req.query.push_back({"prefix", full_prefix});
    if (!token.empty()) req.query.push_back({"continuation-token", token});
    CDC_ASSIGN_OR_RETURN(Response resp, Send(req));
    if (resp.status / 100 != 2) return ErrorFor(resp, "list", full_prefix);
    Result<s3xml::ListPage> page = s3xml::ParseListObjectsV2(resp.body);
    if (!page.ok()) return page.status().WithContext(fmt::format("list {}", Location(full_prefix)));
    for (ObjectInfo& o : page->objects) {
      if (o.key.compare(0, prefix_.size(), prefix_) != 0) continue;
      o.key.erase(0, prefix_.size());
      out.push_back(std::move(o));
    }
    if (!page->truncated) break;
    if (page->next_token == token) {
      return Status::Corruption(fmt::format("list {}: the server repeated continuation token", Location(full_prefix)));
    }
    token = page->next_token;
  }
  std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

Status S3Store::Delete(std::string_view key) {
  CDC_RETURN_IF_ERROR(ValidateKey(key));
  Request req;
  req.method = "DELETE";
  req.object_key = FullKey(key);
  CDC_ASSIGN_OR_RETURN(Response resp, Send(req));
  if (resp.status / 100 == 2 || resp.status == 404) {
    if (resp.status == 404 && s3xml::ParseError(resp.body).code == "NoSuchBucket") {
      return ErrorFor(resp, "delete", req.object_key);
    }
    return Status::OK();
  }
  return ErrorFor(resp, "delete", req.object_key);
}

std::string S3Store::AbsoluteUri(std::string_view key) const {
  return "s3a://" + bucket_ + "/" + EncodeUriPath(FullKey(key));
}

std::string S3Store::Describe() const {
  std::string p = prefix_;
  if (!p.empty()) p.pop_back();
  return fmt::format("s3://{}{}{}", bucket_, p.empty() ? "" : "/", p);
}

}  // namespace cdc::store
