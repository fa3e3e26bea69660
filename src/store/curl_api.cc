#define CDC_LIBCURL_API_IMPL
#include "store/curl_api.h"

#include "base/dynlib.h"

namespace cdc::store {

CDC_DYNLIB_DEFINE_API(LibcurlApi, CDC_LIBCURL_FUNCTIONS, LoadLibcurl, Libcurl, "libcurl.so.4", "S3 storage (s3://)",
                      "libcurl4")

}  // namespace cdc::store
