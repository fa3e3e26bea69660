// librdkafka, opened on first use (base/dynlib.h says why).
//
// Include this header instead of <librdkafka/rdkafka.h>. It declares RdkafkaApi, a table of pointers
// to the librdkafka functions cdcpipe calls, and then redirects each name to the table with a macro
// (`rd_kafka_poll(...)` becomes `(::cdc::log::Rdkafka().rd_kafka_poll)(...)`), so call sites read
// like plain librdkafka. Nothing in cdcpipe links librdkafka: a function used without an entry in
// the table fails to link. Programs that link it themselves (tools/kafka_mock.cc, tests using the
// mock cluster) include <librdkafka/rdkafka.h> directly; the table then points into the same copy.
//
// Entry points: KafkaSink::Create, KafkaConsumer::Create and `cdcpipe status`'s Kafka check call
// LoadRdkafka() and return its Status (FailedPrecondition, naming librdkafka.so.1 and the package)
// before any other librdkafka call. Rdkafka() on a path that skipped it loads the library then, and
// aborts with the same message if it cannot.
//
// To call a new librdkafka function: add it to CDC_RDKAFKA_FUNCTIONS and add its #define at the end.
#pragma once

#include <librdkafka/rdkafka.h>

#include <utility>

#include "base/dynlib.h"

#define CDC_RDKAFKA_FUNCTIONS(X)                                                                          \
  X(rd_kafka_commit_queue) X(rd_kafka_committed) X(rd_kafka_conf_destroy) X(rd_kafka_conf_new)            \
  X(rd_kafka_conf_set) X(rd_kafka_conf_set_dr_msg_cb) X(rd_kafka_conf_set_error_cb)                       \
  X(rd_kafka_conf_set_log_cb) X(rd_kafka_conf_set_opaque) X(rd_kafka_consumer_close)                      \
  X(rd_kafka_consumer_poll) X(rd_kafka_destroy) X(rd_kafka_err2name) X(rd_kafka_err2str)                  \
  X(rd_kafka_error_destroy) X(rd_kafka_error_string) X(rd_kafka_event_destroy) X(rd_kafka_event_error)    \
  X(rd_kafka_event_error_string) X(rd_kafka_event_topic_partition_list) X(rd_kafka_event_type)            \
  X(rd_kafka_fatal_error) X(rd_kafka_flush) X(rd_kafka_message_destroy) X(rd_kafka_message_errstr)        \
  X(rd_kafka_message_timestamp) X(rd_kafka_metadata) X(rd_kafka_metadata_destroy) X(rd_kafka_new)         \
  X(rd_kafka_poll) X(rd_kafka_poll_set_consumer) X(rd_kafka_producev) X(rd_kafka_purge)                   \
  X(rd_kafka_query_watermark_offsets) X(rd_kafka_queue_destroy) X(rd_kafka_queue_new)                     \
  X(rd_kafka_queue_poll) X(rd_kafka_seek_partitions) X(rd_kafka_subscribe) X(rd_kafka_topic_destroy)      \
  X(rd_kafka_topic_name) X(rd_kafka_topic_new) X(rd_kafka_topic_partition_list_add)                       \
  X(rd_kafka_topic_partition_list_destroy) X(rd_kafka_topic_partition_list_new)

namespace cdc::log {

// LoadRdkafka opens librdkafka.so.1 and fills the table (thread-safe, once); Rdkafka() returns it (base/dynlib.h).
CDC_DYNLIB_DECLARE_API(RdkafkaApi, CDC_RDKAFKA_FUNCTIONS, LoadRdkafka, Rdkafka)

// Every Kafka client's defaults for a connection that hangs instead of closing (a dropped NAT entry, a
// paused broker; docs/RELIABILITY.md): a request unanswered for 30 s times out and librdkafka replaces
// the broker connection; TCP keepalives on. And for a broker that was down: librdkafka doubles the wait
// between connection attempts up to 10 s by default, so a broker back after a few seconds was found
// only up to 10 s later (by each connection: the group coordinator's too, long enough for the group
// session to expire); the Java client's maximum, 1 s, finds it within a second. kafka.properties
// override them.
inline constexpr std::pair<const char*, const char*> kHungConnectionSettings[] = {
    {"socket.timeout.ms", "30000"},
    {"socket.keepalive.enable", "true"},
    {"reconnect.backoff.max.ms", "1000"},
};

}  // namespace cdc::log

// The redirections (not in rdkafka_api.cc, which names the members themselves).
#ifndef CDC_RDKAFKA_API_IMPL
#define rd_kafka_commit_queue (::cdc::log::Rdkafka().rd_kafka_commit_queue)
#define rd_kafka_committed (::cdc::log::Rdkafka().rd_kafka_committed)
#define rd_kafka_conf_destroy (::cdc::log::Rdkafka().rd_kafka_conf_destroy)
#define rd_kafka_conf_new (::cdc::log::Rdkafka().rd_kafka_conf_new)
#define rd_kafka_conf_set (::cdc::log::Rdkafka().rd_kafka_conf_set)
#define rd_kafka_conf_set_dr_msg_cb (::cdc::log::Rdkafka().rd_kafka_conf_set_dr_msg_cb)
#define rd_kafka_conf_set_error_cb (::cdc::log::Rdkafka().rd_kafka_conf_set_error_cb)
#define rd_kafka_conf_set_log_cb (::cdc::log::Rdkafka().rd_kafka_conf_set_log_cb)
#define rd_kafka_conf_set_opaque (::cdc::log::Rdkafka().rd_kafka_conf_set_opaque)
#define rd_kafka_consumer_close (::cdc::log::Rdkafka().rd_kafka_consumer_close)
#define rd_kafka_consumer_poll (::cdc::log::Rdkafka().rd_kafka_consumer_poll)
#define rd_kafka_destroy (::cdc::log::Rdkafka().rd_kafka_destroy)
#define rd_kafka_err2name (::cdc::log::Rdkafka().rd_kafka_err2name)
#define rd_kafka_err2str (::cdc::log::Rdkafka().rd_kafka_err2str)
#define rd_kafka_error_destroy (::cdc::log::Rdkafka().rd_kafka_error_destroy)
#define rd_kafka_error_string (::cdc::log::Rdkafka().rd_kafka_error_string)
#define rd_kafka_event_destroy (::cdc::log::Rdkafka().rd_kafka_event_destroy)
#define rd_kafka_event_error (::cdc::log::Rdkafka().rd_kafka_event_error)
#define rd_kafka_event_error_string (::cdc::log::Rdkafka().rd_kafka_event_error_string)
#define rd_kafka_event_topic_partition_list (::cdc::log::Rdkafka().rd_kafka_event_topic_partition_list)
#define rd_kafka_event_type (::cdc::log::Rdkafka().rd_kafka_event_type)
#define rd_kafka_fatal_error (::cdc::log::Rdkafka().rd_kafka_fatal_error)
#define rd_kafka_flush (::cdc::log::Rdkafka().rd_kafka_flush)
#define rd_kafka_message_destroy (::cdc::log::Rdkafka().rd_kafka_message_destroy)
#define rd_kafka_message_errstr (::cdc::log::Rdkafka().rd_kafka_message_errstr)
#define rd_kafka_message_timestamp (::cdc::log::Rdkafka().rd_kafka_message_timestamp)
#define rd_kafka_metadata (::cdc::log::Rdkafka().rd_kafka_metadata)
#define rd_kafka_metadata_destroy (::cdc::log::Rdkafka().rd_kafka_metadata_destroy)
#define rd_kafka_new (::cdc::log::Rdkafka().rd_kafka_new)
#define rd_kafka_poll (::cdc::log::Rdkafka().rd_kafka_poll)
#define rd_kafka_poll_set_consumer (::cdc::log::Rdkafka().rd_kafka_poll_set_consumer)
#define rd_kafka_producev (::cdc::log::Rdkafka().rd_kafka_producev)
#define rd_kafka_purge (::cdc::log::Rdkafka().rd_kafka_purge)
#define rd_kafka_query_watermark_offsets (::cdc::log::Rdkafka().rd_kafka_query_watermark_offsets)
#define rd_kafka_queue_destroy (::cdc::log::Rdkafka().rd_kafka_queue_destroy)
#define rd_kafka_queue_new (::cdc::log::Rdkafka().rd_kafka_queue_new)
#define rd_kafka_queue_poll (::cdc::log::Rdkafka().rd_kafka_queue_poll)
#define rd_kafka_seek_partitions (::cdc::log::Rdkafka().rd_kafka_seek_partitions)
#define rd_kafka_subscribe (::cdc::log::Rdkafka().rd_kafka_subscribe)
#define rd_kafka_topic_destroy (::cdc::log::Rdkafka().rd_kafka_topic_destroy)
#define rd_kafka_topic_name (::cdc::log::Rdkafka().rd_kafka_topic_name)
#define rd_kafka_topic_new (::cdc::log::Rdkafka().rd_kafka_topic_new)
#define rd_kafka_topic_partition_list_add (::cdc::log::Rdkafka().rd_kafka_topic_partition_list_add)
#define rd_kafka_topic_partition_list_destroy (::cdc::log::Rdkafka().rd_kafka_topic_partition_list_destroy)
#define rd_kafka_topic_partition_list_new (::cdc::log::Rdkafka().rd_kafka_topic_partition_list_new)
#endif  // CDC_RDKAFKA_API_IMPL
