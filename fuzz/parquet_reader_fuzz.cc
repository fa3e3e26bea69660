// libFuzzer target for the Parquet reader: any bytes must open and read (every row group, every
// column) or give a Corruption status — never crash, read out of bounds or allocate without bound.
// Seeds: fuzz/corpus/parquet/ (files written by cdcpipe's writer and by DuckDB, incl. v2 pages).
//   cmake -S . -B build-fuzz -DCDC_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ && cmake --build build-fuzz --target parquet_reader_fuzz
//   build-fuzz/fuzz/parquet_reader_fuzz -max_len=65536 -rss_limit_mb=1024 fuzz/corpus/parquet
#include <cstddef>
#include <cstdint>
#include <string>

#include "parquet/reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cdc::parquet::ReaderOptions options;
  options.max_row_group_rows = 1 << 20;  // keep a hostile row count within the fuzzer's RSS limit
  options.max_page_bytes = 16 << 20;
  auto reader = cdc::parquet::ParquetReader::OpenBuffer(std::string(reinterpret_cast<const char*>(data), size),
                                                        "fuzz.parquet", options);
  if (!reader.ok()) {
    if (!reader.status().IsCorruption()) __builtin_trap();  // a buffer cannot fail with I/O errors
    return 0;
  }
  cdc::parquet::RecordBatch batch;
  for (int g = 0; g < (*reader)->num_row_groups(); ++g) {
    cdc::Status st = (*reader)->ReadRowGroup(g, &batch);
    if (!st.ok()) {
      if (!st.IsCorruption()) __builtin_trap();
      break;
    }
    // Touch every value so that out-of-range offsets would show up under ASan.
    for (size_t c = 0; c < batch.num_columns(); ++c) {
      const auto& col = batch.column(c);
      if (col.type() == cdc::parquet::ColumnType::kString || col.type() == cdc::parquet::ColumnType::kBinary) {
        size_t total = 0;
        for (size_t i = 0; i < col.size(); ++i) total += col.String(i).size();
        if (total > col.string_bytes().size()) __builtin_trap();
      }
    }
  }
  return 0;
}
