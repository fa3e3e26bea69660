#define CDC_LIBPQ_API_IMPL
#include "pg/libpq_api.h"

#include "base/dynlib.h"

namespace cdc::pg {

CDC_DYNLIB_DEFINE_API(LibpqApi, CDC_LIBPQ_FUNCTIONS, LoadLibpq, Libpq, "libpq.so.5", "connecting to PostgreSQL",
                      "libpq5")

}  // namespace cdc::pg
