#define CDC_RDKAFKA_API_IMPL
#include "log/rdkafka_api.h"

#include "base/dynlib.h"

namespace cdc::log {

CDC_DYNLIB_DEFINE_API(RdkafkaApi, CDC_RDKAFKA_FUNCTIONS, LoadRdkafka, Rdkafka, "librdkafka.so.1", "Kafka (--brokers)",
                      "librdkafka1")

}  // namespace cdc::log
