#define CDC_LIBCRYPTO_API_IMPL
#include "store/crypto_api.h"

#include "base/dynlib.h"

namespace cdc::store {

CDC_DYNLIB_DEFINE_API(LibcryptoApi, CDC_LIBCRYPTO_FUNCTIONS, LoadLibcrypto, Libcrypto, "libcrypto.so.3",
                      "S3 request signing (SHA-256)", "libssl3")

}  // namespace cdc::store
