// LocalStore: an ObjectStore over a directory of the local filesystem.
//
// Key "a/b/c" is the file <root>/a/b/c; parent directories are created on Put.
// Put writes an unnamed file in the key's directory (O_TMPFILE), fsyncs it, links it to the final name
// (or, when the object exists, to "<dir>/.cdcpipe-tmp.<name>.<random>" renamed over it) and fsyncs the
// directory, so a reader (or a crash) sees the old file or the whole new one. On filesystems without
// O_TMPFILE the file is written under the temp name first. A crash can leave a temp file behind: List
// never reports names starting with ".cdcpipe-tmp." and RemoveStaleTempFiles deletes them.
// PutIfAbsent links the file to the final name: link fails with EEXIST when the name exists, which
// makes it atomic against other processes on the same filesystem.
//
// Thread-safety: safe from several threads (no shared mutable state besides the filesystem).
#pragma once

#include "store/object_store.h"

namespace cdc::store {

// Names of in-flight temporary files start with this.
inline constexpr std::string_view kLocalTempPrefix = ".cdcpipe-tmp.";

class LocalStore final : public ObjectStore {
 public:
  // REQUIRES: `root` is an absolute path. Creates it (and parents) when missing.
  static Result<std::unique_ptr<LocalStore>> Open(const std::string& root, const StoreOptions& options);

  Status Put(std::string_view key, std::string_view data) override;
  Status PutFile(std::string_view key, const std::string& path) override;
  Status PutIfAbsent(std::string_view key, std::string_view data) override;
  Status PutDerived(std::string_view key, std::string_view data) override;
  Result<std::string> Get(std::string_view key) override;
  Result<ObjectBytes> GetBytes(std::string_view key) override;
  Result<std::string> GetRange(std::string_view key, uint64_t offset, uint64_t length) override;
  Result<ObjectInfo> Head(std::string_view key) override;
  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override;
  Status Delete(std::string_view key) override;
  std::string AbsoluteUri(std::string_view key) const override;
  std::string Describe() const override;

  // Deletes temp files left by crashed Puts anywhere under the root; returns how many.
  Result<int> RemoveStaleTempFiles();

  const std::string& root() const { return root_; }

 private:
  LocalStore(std::string root, const StoreOptions& options) : root_(std::move(root)), options_(options) {}

  // How the temp file becomes the object.
  enum class Publish { kRename, kLinkIfAbsent };
  // Writes the object's bytes by calling `fill(fd, name for errors)`, then publishes them; `sync`:
  // fsync the file and the directory (when options.local_fsync).
  template <typename Fill>
  Status WriteAndPublish(std::string_view key, Publish how, bool sync, Fill&& fill);

  std::string PathOf(std::string_view key) const { return root_ + "/" + std::string(key); }
  std::string Where(std::string_view key) const;

  const std::string root_;  // absolute, no trailing '/'
  const StoreOptions options_;
};

}  // namespace cdc::store
