#include "event/debezium_decoder.h"

#include <simdjson.h>

namespace cdc::event {

const std::string* DecodedRow::Find(std::string_view name) const {
  for (const auto& [k, v] : fields)
    if (k == name) return &v;
  return nullptr;
}

struct DebeziumDecoder::Impl {
  simdjson::dom::parser parser;
};

DebeziumDecoder::DebeziumDecoder() : impl_(std::make_unique<Impl>()) {}
DebeziumDecoder::~DebeziumDecoder() = default;

namespace {

Status Bad(std::string_view what) {
  return Status::Corruption("not a Debezium change event: " + std::string(what));
}

Result<std::optional<DecodedRow>> ReadRow(simdjson::dom::element e, const char* which) {
  if (e.is_null()) return std::optional<DecodedRow>();
  simdjson::dom::object obj;
  if (e.get_object().get(obj)) return Bad(std::string(which) + " is neither an object nor null");
  DecodedRow row;
  for (auto field : obj) row.fields.emplace_back(std::string(field.key), simdjson::minify(field.value));
  return std::optional<DecodedRow>(std::move(row));
}

}  // namespace

Result<DecodedEvent> DebeziumDecoder::Decode(std::string_view value) {
  simdjson::dom::element root;
  simdjson::padded_string padded(value);
  if (auto err = impl_->parser.parse(padded).get(root)) return Bad(simdjson::error_message(err));
  simdjson::dom::object env;
  if (root.get_object().get(env)) return Bad("the value is not a JSON object");
  simdjson::dom::element payload;
  if (!env["payload"].get(payload) && env["schema"].error() == simdjson::SUCCESS) {
    if (payload.get_object().get(env)) return Bad("payload is not an object");
  }
  DecodedEvent ev;
  std::string_view op;
  if (env["op"].get_string().get(op) || op.size() != 1) return Bad("missing or invalid \"op\"");
  ev.op = op[0];
  if (std::string_view("cudrt").find(ev.op) == std::string_view::npos) return Bad("unknown op '" + std::string(op) + "'");
  simdjson::dom::element e;
  if (!env["before"].get(e)) {
    CDC_ASSIGN_OR_RETURN(ev.before, ReadRow(e, "before"));
  }
  if (!env["after"].get(e)) {
    CDC_ASSIGN_OR_RETURN(ev.after, ReadRow(e, "after"));
  }
  int64_t n;
  if (!env["ts_ms"].get_int64().get(n)) ev.ts_ms = n;
  simdjson::dom::object src;
  if (env["source"].get_object().get(src)) return Bad("missing \"source\"");
  std::string_view s;
  if (!src["schema"].get_string().get(s)) ev.schema = s;
  if (!src["table"].get_string().get(s)) ev.table = s;
  if (!src["snapshot"].get_string().get(s)) ev.snapshot = s;
  if (!src["ts_ms"].get_int64().get(n)) ev.source_ts_ms = n;
  if (!src["txId"].get_int64().get(n)) ev.tx_id = n;
  uint64_t u;
  if (!src["lsn"].get_uint64().get(u)) ev.lsn = Lsn(u);
  return ev;
}

}  // namespace cdc::event
