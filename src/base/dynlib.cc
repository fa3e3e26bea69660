#include "base/dynlib.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace cdc {

Status DynLib::Open(std::span<const Symbol> symbols) {
  dlerror();  // clear a stale error
  void* handle = dlopen(soname_, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = dlerror();
    return Status::FailedPrecondition(std::string("cannot load ") + soname_ + ", needed for " + purpose_ + ": " +
                                      (err ? err : "unknown dlopen error") + " (install the Debian package " +
                                      package_ + ")");
  }
  std::string missing;
  size_t missing_count = 0;
  for (const Symbol& s : symbols) {
    dlerror();
    void* address = dlsym(handle, s.name);
    if (!address) {
      if (missing_count++ < 8) missing += std::string(missing.empty() ? "" : ", ") + s.name;
      continue;
    }
    // The slot is a function pointer; POSIX guarantees it has the representation of a void*.
    std::memcpy(s.slot, &address, sizeof address);
  }
  if (missing_count > 0) {
    if (missing_count > 8) missing += ", ...";
    // The handle stays open: dlclose of a library another part of the process may use is not safe.
    return Status::FailedPrecondition(std::string(soname_) + ", needed for " + purpose_ + ", lacks " +
                                      std::to_string(missing_count) + " function(s) cdcpipe uses (" + missing +
                                      "): it is older than the version cdcpipe was built with (upgrade the Debian "
                                      "package " +
                                      package_ + ")");
  }
  return Status::OK();
}

Status DynLib::Load(std::span<const Symbol> symbols) {
  std::call_once(once_, [&] {
    status_ = Open(symbols);
    loaded_.store(status_.ok(), std::memory_order_release);
  });
  return status_;
}

void DynLib::LoadOrDie(std::span<const Symbol> symbols) {
  Status s = Load(symbols);
  if (s.ok()) return;
  std::fprintf(stderr, "cdcpipe: fatal: %s\n", s.ToString().c_str());
  std::abort();
}

}  // namespace cdc
