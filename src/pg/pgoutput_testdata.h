// Test helper: reads the pgoutput golden files (src/pg/testdata/*.hex, one hex-encoded message per line).
// Used by the decoder, relation cache and fuzz replay tests; not part of cdc_pg.
#pragma once

#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace cdc::pg {

// The messages of `path`, in order. Throws when the file cannot be read (a test setup error).
inline std::vector<std::string> ReadPgOutputHex(const std::string& path) {
  std::ifstream in(path);
  if (!in.good()) throw std::runtime_error("cannot read " + path);
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::string bytes;
    for (size_t i = 0; i + 1 < line.size(); i += 2) {
      bytes.push_back(static_cast<char>(std::stoi(line.substr(i, 2), nullptr, 16)));
    }
    out.push_back(std::move(bytes));
  }
  return out;
}

}  // namespace cdc::pg
