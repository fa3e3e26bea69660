// libFuzzer target for the pgoutput decoder: any bytes must decode or give Corruption, never crash
// or read out of bounds. Seeds: the messages of src/pg/testdata/pgoutput_v1*.hex (one per line, hex);
// pgoutput_decoder_fuzz_replay_test runs this on them and on 40,000 mutations in every build, and writes
// them as files with CDC_FUZZ_WRITE_CORPUS=DIR for a libFuzzer run:
//   cmake -S . -B build-fuzz -DCDC_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ && cmake --build build-fuzz --target pgoutput_decoder_fuzz
//   build-fuzz/fuzz/pgoutput_decoder_fuzz -max_len=65536 DIR
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
