// DebeziumDecoder: parses a Debezium change-event value (as DebeziumEncoder or Debezium itself writes it,
// with or without JsonConverter's {"schema","payload"} wrapper) back into its parts. Column values stay
// JSON text (e.g. "1", "\"abc\"", "null", "{\"scale\":2,\"value\":\"BNI=\"}"), so nothing is lost.
// Format: docs/DEBEZIUM.md.
//
// Thread-safety: not thread-safe (reuses its parser buffers); one decoder per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/lsn.h"
#include "base/status.h"

namespace cdc::event {

// A row as (column name, JSON value text) pairs in the order of the message.
struct DecodedRow {
  std::vector<std::pair<std::string, std::string>> fields;
  // The JSON text of column `name`, or nullptr when the row has no such column.
  const std::string* Find(std::string_view name) const;
};

struct DecodedEvent {
  char op = 0;                       // 'c', 'u', 'd', 'r' or 't'
  std::optional<DecodedRow> before;  // nullopt when JSON null
  std::optional<DecodedRow> after;
  std::string schema;                // source.schema
  std::string table;                 // source.table
  std::string snapshot;              // source.snapshot: "true", "last", "false" ...
  std::optional<int64_t> tx_id;      // source.txId
  Lsn lsn;                           // source.lsn (Invalid when null)
  int64_t source_ts_ms = 0;          // source.ts_ms (commit time)
  int64_t ts_ms = 0;                 // the envelope's ts_ms (processing time)
};

class DebeziumDecoder {
 public:
  DebeziumDecoder();
  ~DebeziumDecoder();
  DebeziumDecoder(const DebeziumDecoder&) = delete;
  DebeziumDecoder& operator=(const DebeziumDecoder&) = delete;

  // Corruption (with the parser's reason) when `value` is not JSON or not a Debezium envelope.
  // A tombstone (null value) is the caller's business: it has no envelope.
  Result<DecodedEvent> Decode(std::string_view value);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cdc::event
