// libFuzzer target for the pgoutput decoder: any bytes must decode or give Corruption, never crash
// or read out of bounds. Seeds: src/pg/testdata/pgoutput_v1.hex (one message per line, hex).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "pg/pgoutput_decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static cdc::pg::PgOutputMessage msg;
  cdc::pg::PgOutputDecoder decoder;
  cdc::Status st = decoder.Decode(std::string_view(reinterpret_cast<const char*>(data), size), &msg);
  if (st.ok()) {
    (void)cdc::pg::DescribePgOutputMessage(msg);  // touches every view
  } else if (!st.IsCorruption()) {
    __builtin_trap();  // the decoder reports nothing but Corruption
  }
  return 0;
}
