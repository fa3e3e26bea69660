// libFuzzer target for capture's decoding path: a sequence of pgoutput messages goes through the decoder,
// the RelationCache (Type and Relation messages, no catalog) and the DebeziumEncoder (every row message of a
// known relation is encoded, in the decimal mode the first byte picks). Any bytes must give Corruption
// (decoder), InvalidArgument (encoder: a value that does not parse as its column type) or records, never a
// crash, an out-of-bounds read or another status. This is what reaches the value parsers (interval, money,
// arrays, dates ...) with hostile text.
//
// Input: Byte1 mode, then messages, each Int16 big-endian length + that many bytes (a short tail is ignored).
// Seeds: src/pg/testdata/pgoutput_v1*.hex framed like that; pgoutput_fuzz_replay_test writes them with
// CDC_FUZZ_WRITE_CORPUS=DIR.
//   cmake -S . -B build-fuzz -DCDC_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ && cmake --build build-fuzz --target pgoutput_stream_fuzz
//   build-fuzz/fuzz/pgoutput_stream_fuzz -max_len=65536 DIR
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "event/debezium_encoder.h"
#include "pg/pgoutput_decoder.h"
#include "pg/relation_cache.h"

namespace {

void ToRow(const std::vector<cdc::pg::TupleValue>& tuple, cdc::event::Row* row) {
  row->clear();
  for (const auto& v : tuple) {
    switch (v.kind) {
      case cdc::pg::TupleValue::Kind::kNull: row->push_back(cdc::event::Value::Null()); break;
      case cdc::pg::TupleValue::Kind::kUnchangedToast: row->push_back(cdc::event::Value::UnchangedToast()); break;
      default: row->push_back(cdc::event::Value::Text(std::string(v.data))); break;
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  cdc::event::EncoderOptions options;
  options.decimal_mode = static_cast<cdc::event::DecimalMode>(data[0] % 3);
  options.schemas = (data[0] & 4) != 0;
  options.transaction_metadata = (data[0] & 8) != 0;
  cdc::event::DebeziumEncoder encoder(options);
  cdc::pg::RelationCache relations;
  cdc::pg::PgOutputDecoder decoder;
  cdc::pg::PgOutputMessage msg;
  std::vector<cdc::event::EncodedRecord> out;
  size_t pos = 1;
  while (size - pos >= 2) {
    size_t len = static_cast<size_t>(data[pos]) << 8 | data[pos + 1];
    pos += 2;
    if (len > size - pos) break;
    std::string_view bytes(reinterpret_cast<const char*>(data + pos), len);
    pos += len;
    cdc::Status st = decoder.Decode(bytes, &msg);
    if (!st.ok()) {
      if (!st.IsCorruption()) __builtin_trap();
      continue;
    }
    cdc::event::ChangeEvent ev;
    switch (msg.type) {
      case cdc::pg::PgOutputType::kType: relations.ApplyType(msg.type_info); continue;
      case cdc::pg::PgOutputType::kRelation:
        if (!relations.Apply(msg.relation).ok()) __builtin_trap();  // without a catalog it cannot fail
        continue;
      case cdc::pg::PgOutputType::kInsert:
      case cdc::pg::PgOutputType::kUpdate:
      case cdc::pg::PgOutputType::kDelete:
        ev.table = relations.Find(msg.row.relation_id);
        if (!ev.table) continue;
        ev.op = msg.type == cdc::pg::PgOutputType::kInsert   ? cdc::event::Op::kCreate
                : msg.type == cdc::pg::PgOutputType::kUpdate ? cdc::event::Op::kUpdate
                                                             : cdc::event::Op::kDelete;
        if (msg.row.old_kind != 0) ToRow(msg.row.old_tuple, &ev.before.emplace());
        if (msg.type != cdc::pg::PgOutputType::kDelete) ToRow(msg.row.new_tuple, &ev.after.emplace());
        break;
      default: continue;
    }
    out.clear();
    st = encoder.Encode(ev, 0, &out);
    if (!st.ok() && !st.IsInvalidArgument()) __builtin_trap();
  }
  return 0;
}
