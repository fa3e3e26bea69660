// DynLib: a shared library opened at run time, on first use, instead of by the dynamic loader at
// start-up.
//
// Why: libpq, librdkafka and libcurl (with OpenSSL's libcrypto) pull in ~30 further libraries, and
// loading them all cost every cdcpipe process ~15 ms of its ~25 ms start-up, even `cdcpipe batch`
// on local files and `cdcpipe --help`, which use none of them. Each of those libraries now has a
// function table (pg/libpq_api.h, log/rdkafka_api.h, store/curl_api.h) that a DynLib fills from
// the library's exported symbols the first time a job needs it; see docs/ARCHITECTURE.md, "Libraries
// loaded on first use".
//
// Contract: Load() opens the library by soname (dlopen, RTLD_NOW | RTLD_LOCAL) and resolves every
// symbol in the list, once; every later call returns the first call's Status without doing
// anything. Either all symbols are resolved and the status is OK, or the status names the library,
// what it is needed for, the Debian package that ships it, and dlerror()'s text or the missing
// symbols. A library that is already in the process (a test that links librdkafka for its mock
// cluster) is found by dlopen and shared, not loaded twice. The library is never closed.
//
// Thread-safety: Load() and loaded() may be called from any thread, concurrently.
#pragma once

#include <atomic>
#include <mutex>
#include <span>
#include <string>

#include "base/status.h"

namespace cdc {

class DynLib {
 public:
  // One function the library must export, and where its address goes.
  struct Symbol {
    const char* name;  // the exported name, e.g. "PQexec"
    void* slot;        // the address of a function-pointer variable; receives the symbol's address
  };

  // soname: what dlopen is given, e.g. "libpq.so.5" (the SONAME of the library linked at build time).
  // purpose: what it is needed for, for messages, e.g. "PostgreSQL connections".
  // package: the Debian package that ships it, e.g. "libpq5".
  // The three strings must outlive the DynLib (string literals). constexpr, so that a namespace-scope
  // DynLib is initialised before any static constructor can call Load().
  constexpr DynLib(const char* soname, const char* purpose, const char* package)
      : soname_(soname), purpose_(purpose), package_(package) {}
  DynLib(const DynLib&) = delete;
  DynLib& operator=(const DynLib&) = delete;

  // Opens the library and fills every symbol's slot, on the first call; returns the first call's
  // Status on every call. FailedPrecondition when the library or a symbol is missing.
  // REQUIRES: every call passes the same symbols.
  Status Load(std::span<const Symbol> symbols);

  // Load(), and on failure prints the Status to stderr and aborts. For code that can only run after
  // an entry point has loaded the library (an entry point returns Load()'s Status instead).
  void LoadOrDie(std::span<const Symbol> symbols);

  // True once Load() has succeeded.
  bool loaded() const { return loaded_.load(std::memory_order_acquire); }

  const char* soname() const { return soname_; }

 private:
  Status Open(std::span<const Symbol> symbols);

  const char* const soname_;
  const char* const purpose_;
  const char* const package_;
  std::once_flag once_;
  Status status_;                     // written once, inside once_
  std::atomic<bool> loaded_{false};  // status_.ok(), readable without once_
};

}  // namespace cdc

// Declares, in a library's api header (pg/libpq_api.h and the like), in the current namespace:
//   struct Api { <one function pointer per name in the X-list FUNCTIONS, typed decltype(&::name)> };
//   Status LoadFn();        // opens the library and fills the table, once; later calls return the
//                           // first call's Status (DynLib::Load)
//   const Api& AccessFn();  // the table; loads it first if needed and aborts with the Status's
//                           // message if that fails (DynLib::LoadOrDie)
#define CDC_DYNLIB_DECLARE_API(Api, FUNCTIONS, LoadFn, AccessFn) \
  struct Api {                                                  \
    FUNCTIONS(CDC_DYNLIB_MEMBER)                                \
  };                                                            \
  ::cdc::Status LoadFn();                                       \
  const Api& AccessFn();
#define CDC_DYNLIB_MEMBER(fn) decltype(&::fn) fn = nullptr;

// Defines, in a library's api .cc file (pg/libpq_api.cc and the like), the table `Api` (a struct of
// function pointers named after the functions in the X-list FUNCTIONS), its DynLib, and
//   Status LoadFn();          // DynLib::Load of the table
//   const Api& AccessFn();    // the table; loads it first if needed, aborts if that fails
// in the current namespace. The api header declares the two functions.
#define CDC_DYNLIB_DEFINE_API(Api, FUNCTIONS, LoadFn, AccessFn, soname, purpose, package) \
  namespace {                                                                          \
  constinit Api dynlib_api;                                                            \
  constinit ::cdc::DynLib dynlib(soname, purpose, package);                            \
  constinit const ::cdc::DynLib::Symbol dynlib_symbols[] = {FUNCTIONS(CDC_DYNLIB_SYMBOL)}; \
  }                                                                                    \
  ::cdc::Status LoadFn() { return dynlib.Load(dynlib_symbols); }                       \
  const Api& AccessFn() {                                                              \
    if (!dynlib.loaded()) [[unlikely]] dynlib.LoadOrDie(dynlib_symbols);               \
    return dynlib_api;                                                                 \
  }
#define CDC_DYNLIB_SYMBOL(fn) ::cdc::DynLib::Symbol{#fn, &dynlib_api.fn},
