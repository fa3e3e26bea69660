// libcurl, opened on first use (base/dynlib.h says why).
//
// Include this header instead of <curl/curl.h>. It declares LibcurlApi, a table of pointers to the
// libcurl functions cdcpipe calls, and then redirects each name to the table with a macro
// (`curl_easy_perform(h)` becomes `(::cdc::store::Libcurl().curl_easy_perform)(h)`), so call sites
// read like plain libcurl. Nothing links libcurl: a function used without an entry in the table fails
// to link. curl.h's own curl_easy_setopt/curl_easy_getinfo wrapper macros are replaced by these.
//
// Entry point: S3Store::Open calls LoadLibcurl() (and LoadLibcrypto(), store/crypto_api.h) and
// returns its Status (FailedPrecondition, naming libcurl.so.4 and the package) before any other
// libcurl call; every other call goes through an S3Store. Libcurl() on a path that skipped it loads
// the library then, and aborts with the same message if it cannot.
//
// To call a new libcurl function: add it to CDC_LIBCURL_FUNCTIONS and add its #define at the end.
#pragma once

#include <curl/curl.h>

#include "base/dynlib.h"

#define CDC_LIBCURL_FUNCTIONS(X)                                                                          \
  X(curl_easy_cleanup) X(curl_easy_getinfo) X(curl_easy_init) X(curl_easy_perform) X(curl_easy_reset)    \
  X(curl_easy_setopt) X(curl_easy_strerror) X(curl_getdate) X(curl_global_init) X(curl_slist_append)     \
  X(curl_slist_free_all)

namespace cdc::store {

// LoadLibcurl opens libcurl.so.4 and fills the table (thread-safe, once); Libcurl() returns it (base/dynlib.h).
CDC_DYNLIB_DECLARE_API(LibcurlApi, CDC_LIBCURL_FUNCTIONS, LoadLibcurl, Libcurl)

}  // namespace cdc::store

// The redirections (not in curl_api.cc, which names the members themselves).
#ifndef CDC_LIBCURL_API_IMPL
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_easy_cleanup (::cdc::store::Libcurl().curl_easy_cleanup)
#define curl_easy_getinfo (::cdc::store::Libcurl().curl_easy_getinfo)
#define curl_easy_init (::cdc::store::Libcurl().curl_easy_init)
#define curl_easy_perform (::cdc::store::Libcurl().curl_easy_perform)
#define curl_easy_reset (::cdc::store::Libcurl().curl_easy_reset)
#define curl_easy_setopt (::cdc::store::Libcurl().curl_easy_setopt)
#define curl_easy_strerror (::cdc::store::Libcurl().curl_easy_strerror)
#define curl_getdate (::cdc::store::Libcurl().curl_getdate)
#define curl_global_init (::cdc::store::Libcurl().curl_global_init)
#define curl_slist_append (::cdc::store::Libcurl().curl_slist_append)
#define curl_slist_free_all (::cdc::store::Libcurl().curl_slist_free_all)
#endif  // CDC_LIBCURL_API_IMPL
