// libmicrohttpd (GNU libmicrohttpd 0.9.75, Debian libmicrohttpd12), opened on first use (base/dynlib.h
// says why): libmicrohttpd.so.12 links GnuTLS and eight more libraries, which every cdcpipe process
// would otherwise map at start-up although only `cdcpipe run` serves HTTP.
//
// Include this header instead of <microhttpd.h>; it works like store/curl_api.h. Entry point:
// StartHttpServer (LoadLibmicrohttpd) before any other call; every other call runs on its daemon.
//
// To call a new libmicrohttpd function: add it to CDC_LIBMICROHTTPD_FUNCTIONS and add its #define.
#pragma once

#include <microhttpd.h>

#include "base/dynlib.h"

#define CDC_LIBMICROHTTPD_FUNCTIONS(X)                                                                  \
  X(MHD_start_daemon) X(MHD_stop_daemon) X(MHD_get_connection_values) X(MHD_get_connection_info)       \
  X(MHD_create_response_from_buffer) X(MHD_add_response_header) X(MHD_queue_response)                  \
  X(MHD_destroy_response)

namespace cdc::http {

// LoadLibmicrohttpd opens libmicrohttpd.so.12 and fills the table (thread-safe, once); Libmicrohttpd()
// returns it (base/dynlib.h).
CDC_DYNLIB_DECLARE_API(LibmicrohttpdApi, CDC_LIBMICROHTTPD_FUNCTIONS, LoadLibmicrohttpd, Libmicrohttpd)

}  // namespace cdc::http

// The redirections (not in mhd_api.cc, which names the members themselves).
#ifndef CDC_LIBMICROHTTPD_API_IMPL
#define MHD_start_daemon (::cdc::http::Libmicrohttpd().MHD_start_daemon)
#define MHD_stop_daemon (::cdc::http::Libmicrohttpd().MHD_stop_daemon)
#define MHD_get_connection_values (::cdc::http::Libmicrohttpd().MHD_get_connection_values)
#define MHD_get_connection_info (::cdc::http::Libmicrohttpd().MHD_get_connection_info)
#define MHD_create_response_from_buffer (::cdc::http::Libmicrohttpd().MHD_create_response_from_buffer)
#define MHD_add_response_header (::cdc::http::Libmicrohttpd().MHD_add_response_header)
#define MHD_queue_response (::cdc::http::Libmicrohttpd().MHD_queue_response)
#define MHD_destroy_response (::cdc::http::Libmicrohttpd().MHD_destroy_response)
#endif  // CDC_LIBMICROHTTPD_API_IMPL
