#include "store/local_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>

#include <fmt/format.h>

#include "base/random_seed.h"

namespace cdc::store {
namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

// Closes a file descriptor on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // Closes now and reports the error of close() (NFS reports write errors here).
  int Close() {
    int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

// Opens the regular file holding an object, for reading: *fd (the caller closes it) and its size.
Status OpenObjectFile(const std::string& path, int* fd, uint64_t* size) {
  *fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (*fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::NotFound(fmt::format("object {} does not exist", path));
    return Status::IoError(fmt::format("cannot open {}: {}", path, ErrnoText(errno)));
  }
  struct stat st {};
  Status result;
  if (::fstat(*fd, &st) != 0) {
    result = Status::IoError(fmt::format("cannot stat {}: {}", path, ErrnoText(errno)));
  } else if (!S_ISREG(st.st_mode)) {
    result = Status::NotFound(fmt::format("object {} does not exist (not a file)", path));
  }
  if (!result.ok()) {
    ::close(*fd);
    *fd = -1;
    return result;
  }
  *size = static_cast<uint64_t>(st.st_size);
  return Status::OK();
}

Status WriteAll(int fd, const char* p, size_t n, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(fmt::format("cannot write {}: {}", path, ErrnoText(errno)));
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return Status::OK();
}

// A WriteAndPublish fill that writes `data`.
struct WriteBytes {
  std::string_view data;
  Status operator()(int fd, const std::string& name) const { return WriteAll(fd, data.data(), data.size(), name); }
};

Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::IoError(fmt::format("cannot open directory {}: {}", dir, ErrnoText(errno)));
  Fd guard(fd);
  if (::fsync(fd) != 0) return Status::IoError(fmt::format("cannot fsync directory {}: {}", dir, ErrnoText(errno)));
  return Status::OK();
}

std::string TempSuffix() {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng{RandomSeed()};
  return fmt::format("{}.{}.{:x}", ::getpid(), counter.fetch_add(1), rng() & 0xffffffffu);
}

bool IsTempName(std::string_view name) { return name.substr(0, kLocalTempPrefix.size()) == kLocalTempPrefix; }

std::string DirOf(const std::string& path) { return path.substr(0, path.rfind('/')); }
std::string BaseOf(const std::string& path) { return path.substr(path.rfind('/') + 1); }

int64_t MtimeMicros(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000 + st.st_mtim.tv_nsec / 1000;
}

}  // namespace

Result<std::unique_ptr<LocalStore>> LocalStore::Open(const std::string& root, const StoreOptions& options) {
  if (root.empty() || root[0] != '/') {
    return Status::InvalidArgument(fmt::format("local store root '{}' is not an absolute path", root));
  }
  std::string clean = root;
  while (clean.size() > 1 && clean.back() == '/') clean.pop_back();
  std::error_code ec;
  std::filesystem::create_directories(clean, ec);
  if (ec) {
    return Status::IoError(fmt::format("cannot create store directory {}: {}; check the path and its permissions",
                                       clean, ec.message()));
  }
  if (!std::filesystem::is_directory(clean, ec)) {
    return Status::InvalidArgument(fmt::format("local store root {} exists and is not a directory", clean));
  }
  if (clean == "/") clean.clear();  // keys then become "/key"
  return std::unique_ptr<LocalStore>(new LocalStore(clean, options));
}

std::string LocalStore::Where(std::string_view key) const { return fmt::format("{}/{}", root_, key); }

template <typename Fill>
Status LocalStore::WriteAndPublish(std::string_view key, Publish how, bool sync, Fill&& fill) {
  sync = sync && options_.local_fsync;
  CDC_RETURN_IF_ERROR(ValidateKey(key));
  const std::string path = PathOf(key);
  const std::string dir = DirOf(path);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError(fmt::format("cannot create directory {}: {}", dir, ec.message()));

  // Preferred: an unnamed file (O_TMPFILE), named once it is complete and durable. Nobody can see it
  // before, a crash leaves nothing behind, and its fsync has no new directory entry to write.
  // Filesystems without O_TMPFILE (and machines without /proc to link it from) use a named temp file.
  static const bool proc_fd = ::access("/proc/self/fd", X_OK) == 0;
  const bool unnamed = proc_fd && options_.local_tmpfile;
  int fd = unnamed ? ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644) : -1;
  if (fd >= 0) {
    Fd file(fd);
    CDC_RETURN_IF_ERROR(fill(fd, path));
    if (sync && ::fsync(fd) != 0) {
      return Status::IoError(fmt::format("cannot fsync {}: {}", path, ErrnoText(errno)));
    }
    const std::string self = fmt::format("/proc/self/fd/{}", fd);
    if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, path.c_str(), AT_SYMLINK_FOLLOW) != 0) {
      int err = errno;
      if (err == EEXIST && how == Publish::kLinkIfAbsent) {
        return Status::AlreadyExists(fmt::format("object {} already exists", path));
      }
      if (err != EEXIST) return Status::IoError(fmt::format("cannot create {}: {}", path, ErrnoText(err)));
      // Replacing: name it, then rename that name over the object (atomic for readers).
      const std::string tmp = fmt::format("{}/{}{}.{}", dir, kLocalTempPrefix, BaseOf(path), TempSuffix());
      if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, tmp.c_str(), AT_SYMLINK_FOLLOW) != 0) {
        return Status::IoError(fmt::format("cannot create {}: {}", tmp, ErrnoText(errno)));
      }
      if (::rename(tmp.c_str(), path.c_str()) != 0) {
        err = errno;
        ::unlink(tmp.c_str());
        return Status::IoError(fmt::format("cannot rename {} to {}: {}", tmp, path, ErrnoText(err)));
      }
    }
    if (file.Close() != 0) return Status::IoError(fmt::format("cannot close {}: {}", path, ErrnoText(errno)));
    if (sync) CDC_RETURN_IF_ERROR(FsyncDir(dir));
    return Status::OK();
  }
  if (unnamed && errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
    return Status::IoError(fmt::format("cannot create a file in {}: {}", dir, ErrnoText(errno)));
  }

  const std::string tmp = fmt::format("{}/{}{}.{}", dir, kLocalTempPrefix, BaseOf(path), TempSuffix());
  fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError(fmt::format("cannot create {}: {}", tmp, ErrnoText(errno)));
  Fd file(fd);
  auto fail = [&](Status s) {
    ::unlink(tmp.c_str());
    return s;
  };
  Status s = fill(fd, tmp);
  if (!s.ok()) return fail(s);
  if (sync && ::fsync(fd) != 0) {
    return fail(Status::IoError(fmt::format("cannot fsync {}: {}", tmp, ErrnoText(errno))));
  }
  if (file.Close() != 0) return fail(Status::IoError(fmt::format("cannot close {}: {}", tmp, ErrnoText(errno))));

  if (how == Publish::kRename) {
    if (::rename(tmp.c_str(), path.c_str()) != 0) {
      return fail(Status::IoError(fmt::format("cannot rename {} to {}: {}", tmp, path, ErrnoText(errno))));
    }
  } else {
    if (::link(tmp.c_str(), path.c_str()) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      if (err == EEXIST) return Status::AlreadyExists(fmt::format("object {} already exists", path));
      return Status::IoError(fmt::format("cannot create {}: {}", path, ErrnoText(err)));
    }
    ::unlink(tmp.c_str());
  }
  if (sync) CDC_RETURN_IF_ERROR(FsyncDir(dir));
  return Status::OK();
}

Status LocalStore::Put(std::string_view key, std::string_view data) {
  return WriteAndPublish(key, Publish::kRename, /*sync=*/true, WriteBytes{data});
}

Status LocalStore::PutDerived(std::string_view key, std::string_view data) {
  return WriteAndPublish(key, Publish::kRename, /*sync=*/false, WriteBytes{data});
}

Status LocalStore::PutIfAbsent(std::string_view key, std::string_view data) {
  return WriteAndPublish(key, Publish::kLinkIfAbsent, /*sync=*/true, WriteBytes{data});
}

Status LocalStore::PutFile(std::string_view key, const std::string& src) {
  int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
  if (in < 0) return Status::IoError(fmt::format("cannot open {}: {}", src, ErrnoText(errno)));
  Fd input(in);
  return WriteAndPublish(key, Publish::kRename, /*sync=*/true, [&](int fd, const std::string& tmp) {
    std::string buf(1 << 20, '\0');
    for (;;) {
      ssize_t r = ::read(in, buf.data(), buf.size());
      if (r < 0) {
        if (errno == EINTR) continue;
        return Status::IoError(fmt::format("cannot read {}: {}", src, ErrnoText(errno)));
      }
      if (r == 0) return Status::OK();
      CDC_RETURN_IF_ERROR(WriteAll(fd, buf.data(), static_cast<size_t>(r), tmp));
    }
  });
}

Result<std::string> LocalStore::GetRange(std::string_view key, uint64_t offset, uint64_t length) {
  CDC_RETURN_IF_ERROR(ValidateKey(key));
  const std::string path = PathOf(key);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::NotFound(fmt::format("object {} does not exist", path));
    return Status::IoError(fmt::format("cannot open {}: {}", path, ErrnoText(errno)));
  }
  Fd file(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Status::IoError(fmt::format("cannot stat {}: {}", path, ErrnoText(errno)));
  if (S_ISDIR(st.st_mode)) return Status::NotFound(fmt::format("object {} does not exist (a directory)", path));
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (length == 0) return Status::InvalidArgument(fmt::format("empty range requested from {}", path));
  if (offset >= size && !(offset == 0 && size == 0)) {
    return Status::InvalidArgument(
        fmt::format("range start {} is beyond the end of {} ({} bytes)", offset, path, size));
  }
  const uint64_t n = std::min(length, size - offset);
  std::string out(n, '\0');
  uint64_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, out.data() + done, n - done, static_cast<off_t>(offset + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(fmt::format("cannot read {}: {}", path, ErrnoText(errno)));
    }
    if (r == 0) break;  // truncated underneath us
    done += static_cast<uint64_t>(r);
  }
  out.resize(done);
  return out;
}

Result<std::string> LocalStore::Get(std::string_view key) {
  CDC_RETURN_IF_ERROR(ValidateKey(key));
  // One open file, read to its end: a Put renaming a new file over the name meanwhile cannot mix
  // the old size with the new bytes.
  const std::string path = PathOf(key);
  int fd;
  uint64_t file_size;
  CDC_RETURN_IF_ERROR(OpenObjectFile(path, &fd, &file_size));
  Fd file(fd);
  std::string out;
  out.resize(static_cast<size_t>(file_size));
  size_t done = 0;
  char probe[4096];  // past the fstat size: normally just the end of file, without growing `out`
  for (;;) {
    bool full = done == out.size();
    ssize_t r = full ? ::read(fd, probe, sizeof probe) : ::read(fd, out.data() + done, out.size() - done);
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::IoError(fmt::format("cannot read {}: {}", path, ErrnoText(errno)));
    }
    if (r == 0) break;
    if (full) out.append(probe, static_cast<size_t>(r));  // the file grew since fstat
    done += static_cast<size_t>(r);
  }
  out.resize(done);
  return out;
}

Result<ObjectBytes> LocalStore::GetBytes(std::string_view key) {
  CDC_RETURN_IF_ERROR(ValidateKey(key));
  const std::string path = PathOf(key);
  int fd;
  uint64_t file_size;
  CDC_RETURN_IF_ERROR(OpenObjectFile(path, &fd, &file_size));
  Fd file(fd);
  size_t size = static_cast<size_t>(file_size);
  if (size == 0) return ObjectBytes{};
  // MAP_POPULATE maps the whole (usually cached) file at once instead of one page fault per page.
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  if (p == MAP_FAILED) return Status::IoError(fmt::format("cannot map {}: {}", path, ErrnoText(errno)));
  std::shared_ptr<const void> owner(p, [size](const void* q) { ::munmap(const_cast<void*>(q), size); });
  return ObjectBytes{std::string_view(static_cast<const char*>(p), size), std::move(owner)};
}

Result<ObjectInfo> LocalStore::Head(std::string_view key) {
  CDC_RETURN_IF_ERROR(ValidateKey(key));
  const std::string path = PathOf(key);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT || errno == ENOTDIR) return Status::NotFound(fmt::format("object {} does not exist", path));
    return Status::IoError(fmt::format("cannot stat {}: {}", path, ErrnoText(errno)));
  }
  if (!S_ISREG(st.st_mode)) return Status::NotFound(fmt::format("object {} does not exist (not a file)", path));
  return ObjectInfo{std::string(key), static_cast<uint64_t>(st.st_size), MtimeMicros(st), ""};
}

Result<std::vector<ObjectInfo>> LocalStore::List(std::string_view prefix) {
  // Walk only the deepest directory that the prefix names completely.
  std::string start_rel(prefix.substr(0, prefix.rfind('/') == std::string_view::npos ? 0 : prefix.rfind('/')));
  std::vector<ObjectInfo> out;
  std::vector<std::string> stack = {start_rel};
  while (!stack.empty()) {
    std::string rel = std::move(stack.back());
    stack.pop_back();
    const std::string dir = rel.empty() ? root_ : root_ + "/" + rel;
    DIR* d = ::opendir(dir.empty() ? "/" : dir.c_str());
    if (d == nullptr) {
      if (errno == ENOENT || errno == ENOTDIR) continue;  // nothing under this prefix
      return Status::IoError(fmt::format("cannot list {}: {}", dir, ErrnoText(errno)));
    }
    while (dirent* e = ::readdir(d)) {
      std::string_view name = e->d_name;
      if (name == "." || name == ".." || IsTempName(name)) continue;
      std::string child = rel.empty() ? std::string(name) : rel + "/" + std::string(name);
      struct stat st {};
      if (::fstatat(dirfd(d), e->d_name, &st, 0) != 0) continue;  // removed meanwhile
      if (S_ISDIR(st.st_mode)) {
        // Descend only when something under it can match the prefix.
        std::string as_dir = child + "/";
        if (as_dir.compare(0, std::min(as_dir.size(), prefix.size()), prefix.substr(0, as_dir.size())) == 0) {
          stack.push_back(std::move(child));
        }
      } else if (S_ISREG(st.st_mode) && std::string_view(child).substr(0, prefix.size()) == prefix) {
        out.push_back(ObjectInfo{std::move(child), static_cast<uint64_t>(st.st_size), MtimeMicros(st), ""});
      }
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

Status LocalStore::Delete(std::string_view key) {
  CDC_RETURN_IF_ERROR(ValidateKey(key));
  const std::string path = PathOf(key);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT && errno != ENOTDIR) {
    return Status::IoError(fmt::format("cannot delete {}: {}", path, ErrnoText(errno)));
  }
  return Status::OK();
}

Result<int> LocalStore::RemoveStaleTempFiles() {
  int removed = 0;
  std::error_code ec;
  std::filesystem::recursive_directory_iterator it(root_.empty() ? "/" : root_, ec), end;
  if (ec) return Status::IoError(fmt::format("cannot list {}: {}", root_, ec.message()));
  for (; it != end; it.increment(ec)) {
    if (ec) return Status::IoError(fmt::format("cannot list {}: {}", root_, ec.message()));
    if (it->is_regular_file(ec) && IsTempName(it->path().filename().string())) {
      if (std::filesystem::remove(it->path(), ec)) ++removed;
    }
  }
  return removed;
}

std::string LocalStore::AbsoluteUri(std::string_view key) const {
  return "file://" + EncodeUriPath(root_ + "/" + std::string(key));
}

std::string LocalStore::Describe() const { return "file://" + EncodeUriPath(root_.empty() ? "/" : root_); }

}  // namespace cdc::store
