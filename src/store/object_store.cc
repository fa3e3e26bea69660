#include "store/object_store.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <fmt/format.h>

#include "store/local_store.h"
#include "store/s3_store.h"

namespace cdc::store {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

// The first non-empty environment variable of `names`.
std::string FirstEnv(std::initializer_list<const char*> names) {
  for (const char* n : names) {
    std::string v = Env(n);
    if (!v.empty()) return v;
  }
  return {};
}

bool StartsWith(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

}  // namespace

StoreOptions StoreOptions::FromEnvironment(StoreOptions o) {
  if (o.s3_endpoint.empty()) o.s3_endpoint = Env("CDCPIPE_S3_ENDPOINT");
  if (o.ca_file.empty()) o.ca_file = Env("CDCPIPE_S3_CA_FILE");
  if (o.region.empty()) o.region = FirstEnv({"AWS_REGION", "AWS_DEFAULT_REGION"});
  if (o.region.empty()) o.region = "us-east-1";
  if (o.access_key_id.empty() && o.secret_access_key.empty()) {
    // Take a pair from one source, never a key from one and a secret from another.
    const std::pair<const char*, const char*> pairs[] = {{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"},
                                                         {"MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD"},
                                                         {"MINIO_ACCESS_KEY", "MINIO_SECRET_KEY"}};
    for (const auto& [id, secret] : pairs) {
      if (!Env(id).empty()) {
        o.access_key_id = Env(id);
        o.secret_access_key = Env(secret);
        break;
      }
    }
  }
  if (o.session_token.empty()) o.session_token = Env("AWS_SESSION_TOKEN");
  return o;
}

Status ValidateKey(std::string_view key) {
  if (key.empty()) return Status::InvalidArgument("object key is empty");
  if (key.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument(fmt::format("object key '{}' contains a NUL byte", key.substr(0, key.find('\0'))));
  }
  size_t start = 0;
  while (true) {
    size_t end = key.find('/', start);
    std::string_view seg = key.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (seg.empty() || seg == "." || seg == "..") {
      return Status::InvalidArgument(fmt::format(
          "object key '{}' is not valid: it must be '/'-separated non-empty names, none of them '.' or '..'", key));
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return Status::OK();
}

Result<StoreLocation> ParseStoreUri(std::string_view uri) {
  StoreLocation loc;
  if (uri.empty()) return Status::InvalidArgument("store URI is empty; give a directory, file:///dir or s3://bucket/prefix");
  if (StartsWith(uri, "s3://") || StartsWith(uri, "s3a://")) {
    std::string_view rest = uri.substr(uri.find("://") + 3);
    size_t slash = rest.find('/');
    loc.kind = StoreLocation::Kind::kS3;
    loc.bucket = std::string(rest.substr(0, slash));
    if (loc.bucket.empty()) {
      return Status::InvalidArgument(fmt::format("store URI '{}' names no bucket; use s3://bucket/prefix", uri));
    }
    if (loc.bucket.find_first_of("@:?#") != std::string::npos) {
      return Status::InvalidArgument(fmt::format(
          "store URI '{}': '{}' is not a bucket name (credentials and endpoints go in options or the environment)",
          uri.substr(0, uri.find("://") + 3), "<bucket>"));
    }
    std::string prefix = slash == std::string_view::npos ? std::string() : std::string(rest.substr(slash + 1));
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    if (!prefix.empty()) {
      CDC_RETURN_IF_ERROR(ValidateKey(prefix).WithContext(fmt::format("store URI '{}'", uri)));
      prefix += '/';
    }
    loc.prefix = std::move(prefix);
    return loc;
  }
  std::string path;
  if (StartsWith(uri, "file://")) {
    std::string_view rest = uri.substr(7);
    if (!StartsWith(rest, "/")) {
      // file://host/path: only localhost is a local file.
      if (StartsWith(rest, "localhost/")) {
        rest = rest.substr(9);
      } else {
        return Status::InvalidArgument(fmt::format("store URI '{}': file:// URIs need an absolute path (file:///dir)", uri));
      }
    }
    // Decode %XX (AbsoluteUri encodes).
    for (size_t i = 0; i < rest.size(); ++i) {
      if (rest[i] == '%' && i + 2 < rest.size() && std::isxdigit(static_cast<unsigned char>(rest[i + 1])) &&
          std::isxdigit(static_cast<unsigned char>(rest[i + 2]))) {
        path.push_back(static_cast<char>(std::stoi(std::string(rest.substr(i + 1, 2)), nullptr, 16)));
        i += 2;
      } else {
        path.push_back(rest[i]);
      }
    }
  } else if (StartsWith(uri, "file:/")) {
    path = std::string(uri.substr(5));
  } else if (uri.find("://") != std::string_view::npos) {
    return Status::InvalidArgument(
        fmt::format("store URI '{}' has an unknown scheme; use a directory, file:///dir or s3://bucket/prefix",
                    uri.substr(0, uri.find("://") + 3)));
  } else {
    path = std::string(uri);
  }
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(path, ec);
  if (ec) return Status::InvalidArgument(fmt::format("store path '{}': {}", path, ec.message()));
  std::string s = abs.lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  loc.kind = StoreLocation::Kind::kLocal;
  loc.local_dir = s;
  return loc;
}

Result<std::unique_ptr<ObjectStore>> OpenStore(std::string_view uri, const StoreOptions& options) {
  CDC_ASSIGN_OR_RETURN(StoreLocation loc, ParseStoreUri(uri));
  if (loc.kind == StoreLocation::Kind::kLocal) {
    CDC_ASSIGN_OR_RETURN(std::unique_ptr<LocalStore> s, LocalStore::Open(loc.local_dir, options));
    return std::unique_ptr<ObjectStore>(std::move(s));
  }
  CDC_ASSIGN_OR_RETURN(std::unique_ptr<S3Store> s,
                       S3Store::Open(loc.bucket, loc.prefix, StoreOptions::FromEnvironment(options)));
  return std::unique_ptr<ObjectStore>(std::move(s));
}

}  // namespace cdc::store

namespace cdc::store {

std::string EncodeUriPath(std::string_view path) {
  static constexpr std::string_view kKeep = "-._~!$&'()*+,;=:@/";
  std::string out;
  out.reserve(path.size());
  for (unsigned char c : path) {
    if (std::isalnum(c) || kKeep.find(static_cast<char>(c)) != std::string_view::npos) {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

Result<ObjectBytes> ObjectStore::GetBytes(std::string_view key) {
  CDC_ASSIGN_OR_RETURN(std::string data, Get(key));
  auto owned = std::make_shared<const std::string>(std::move(data));
  return ObjectBytes{std::string_view(*owned), owned};
}

}  // namespace cdc::store
