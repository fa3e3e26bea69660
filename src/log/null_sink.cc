#include "log/null_sink.h"

namespace cdc::log {

Status NullSink::Append(Record record) {
  records_.fetch_add(1, std::memory_order_relaxed);
  bytes_.fetch_add((record.key ? record.key->size() : 0) + (record.value ? record.value->size() : 0),
                   std::memory_order_relaxed);
  return Status::OK();
}

Status NullSink::EndTransaction(Lsn end_lsn) {
  transactions_.fetch_add(1, std::memory_order_relaxed);
  if (end_lsn.value() > durable_.load(std::memory_order_relaxed))
    durable_.store(end_lsn.value(), std::memory_order_release);
  return Status::OK();
}

}  // namespace cdc::log
