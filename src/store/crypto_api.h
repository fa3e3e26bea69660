// OpenSSL's libcrypto, opened on first use (base/dynlib.h says why), for SHA-256 only.
//
// Why not our own SHA-256: the S3 store hashes every request body (up to a 16 MiB multipart part),
// and OpenSSL's SHA-256 uses the CPU's SHA extensions (several times faster than portable code);
// libcurl, which the S3 store needs anyway, depends on libcrypto.so.3 itself, so loading it costs
// nothing more once the store is open, and there is no cryptographic code of ours to keep right.
//
// Include this header instead of <openssl/evp.h>; it works like store/curl_api.h. Entry point:
// S3Store::Open (LoadLibcrypto). Sha256Hex outside a store (tests) loads it through Libcrypto().
#pragma once

#include <openssl/evp.h>

#include "base/dynlib.h"

#define CDC_LIBCRYPTO_FUNCTIONS(X) X(EVP_Digest) X(EVP_sha256)

namespace cdc::store {

// LoadLibcrypto opens libcrypto.so.3 and fills the table (thread-safe, once); Libcrypto() returns it (base/dynlib.h).
CDC_DYNLIB_DECLARE_API(LibcryptoApi, CDC_LIBCRYPTO_FUNCTIONS, LoadLibcrypto, Libcrypto)

}  // namespace cdc::store

// The redirections (not in crypto_api.cc, which names the members themselves).
#ifndef CDC_LIBCRYPTO_API_IMPL
#define EVP_Digest (::cdc::store::Libcrypto().EVP_Digest)
#define EVP_sha256 (::cdc::store::Libcrypto().EVP_sha256)
#endif  // CDC_LIBCRYPTO_API_IMPL
