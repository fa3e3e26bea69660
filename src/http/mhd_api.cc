#define CDC_LIBMICROHTTPD_API_IMPL
#include "http/mhd_api.h"

#include "base/dynlib.h"

namespace cdc::http {

CDC_DYNLIB_DEFINE_API(LibmicrohttpdApi, CDC_LIBMICROHTTPD_FUNCTIONS, LoadLibmicrohttpd, Libmicrohttpd,
                      "libmicrohttpd.so.12", "the dashboard and HTTP API (http.listen)", "libmicrohttpd12")

}  // namespace cdc::http
