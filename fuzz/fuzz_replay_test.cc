// Runs a libFuzzer target's entry point (LLVMFuzzerTestOneInput, linked in from fuzz/<target>.cc) on its
// seed corpus and on a fixed number of deterministic mutations of it, as an ordinary unit test: the fuzz
// targets are built only with -DCDC_FUZZ=ON and clang, so without this they would never run in CI. Under
// the ASan+UBSan unit build (run-tests.sh) an out-of-bounds read, a leak or undefined behaviour fails the
// test; in every build a target's __builtin_trap() (a status it must never return) does.
//
// Not a fuzzer: no coverage feedback, the same inputs on every run (seeded PRNG), so a failure reproduces.
// The mutations are the kinds libFuzzer starts with: bit flips, random and "interesting" bytes and 16/32-bit
// values (0, -1, 0x7fff..., lengths just past the end), erased, inserted and duplicated ranges, truncation,
// splices of two seeds, and tokens of the format (the target's libFuzzer dictionary, or the pgoutput
// value-text tokens below).
//
// What it replays comes from fuzz/fuzz_replay_config.h (seeds, dictionary, framing, number of mutations),
// defined per target by fuzz/fuzz_replay_config.cc; this file is compiled once for every target.
// CDC_FUZZ_WRITE_CORPUS=DIR (environment) writes the seeds there as files, for a real libFuzzer run;
// CDC_FUZZ_LAST_INPUT=FILE writes each input there before running it (the one a failure stopped on).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "fuzz_replay_config.h"
#include "pg/pgoutput_testdata.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

using cdc::fuzz_replay::kDict;
using cdc::fuzz_replay::kFramed;
using cdc::fuzz_replay::kRuns;
using cdc::fuzz_replay::kSeeds;

namespace {

std::vector<std::string> Split(const std::string& list) {
  std::vector<std::string> out;
  std::stringstream ss(list);
  std::string item;
  while (std::getline(ss, item, '|'))
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string Frame(const std::vector<std::string>& msgs, size_t begin, size_t end, char mode) {
  std::string out(1, mode);
  for (size_t i = begin; i < end && i < msgs.size(); ++i) {
    size_t len = std::min<size_t>(msgs[i].size(), 0xffff);
    out.push_back(static_cast<char>(len >> 8));
    out.push_back(static_cast<char>(len & 0xff));
    out.append(msgs[i], 0, len);
  }
  return out;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in.good()) throw std::runtime_error("cannot read " + path.string());
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The seeds: every file of a corpus directory (sorted by name, so the mutations are the same on every
// machine); a file named alone (a views file, a config of the repository), whole;
// of a golden hex file, every message alone, or (framed targets) the file whole in every
// encoder mode, and each transaction with the Type/Relation messages before it.
std::vector<std::string> Seeds() {
  std::vector<std::string> seeds;
  for (const std::string& file : Split(kSeeds)) {
    if (std::filesystem::is_directory(file)) {
      std::vector<std::filesystem::path> paths;
      for (const auto& e : std::filesystem::directory_iterator(file))
        if (e.is_regular_file()) paths.push_back(e.path());
      std::sort(paths.begin(), paths.end());
      if (paths.empty()) throw std::runtime_error("no seed files in " + file);
      for (const auto& p : paths) seeds.push_back(ReadFile(p));
      continue;
    }
    if (std::filesystem::path(file).extension() != ".hex") {  // any other file: one seed, whole
      seeds.push_back(ReadFile(file));
      continue;
    }
    auto msgs = cdc::pg::ReadPgOutputHex(file);
    if (!kFramed) {
      seeds.insert(seeds.end(), msgs.begin(), msgs.end());
      continue;
    }
    for (char mode = 0; mode < 16; ++mode) seeds.push_back(Frame(msgs, 0, msgs.size(), mode));
    std::vector<std::string> schema;  // Type and Relation messages seen so far
    for (size_t i = 0; i < msgs.size(); ++i) {
      if (msgs[i].empty()) continue;
      if (msgs[i][0] == 'Y' || msgs[i][0] == 'R') schema.push_back(msgs[i]);
      if (msgs[i][0] != 'B') continue;
      size_t end = i;
      while (end < msgs.size() && msgs[end][0] != 'C') ++end;
      std::vector<std::string> tx = schema;
      tx.insert(tx.end(), msgs.begin() + static_cast<long>(i), msgs.begin() + static_cast<long>(std::min(end + 1, msgs.size())));
      seeds.push_back(Frame(tx, 0, tx.size(), static_cast<char>(i % 16)));
    }
  }
  return seeds;
}

// splitmix64: a fixed sequence, the same on every run and platform.
struct Rng {
  uint64_t state;
  uint64_t Next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  size_t Below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(Next() % n); }
};

const char* const kPgOutputTokens[] = {
    "{", "}", "\"", "\\", ",", "NULL", "{}", "[1:2]=", "{{1},{2}}", ":", ".", "-", "+", " years ", " mons ", " days ",
    "@ ", " ago", "P", "T", "Y", "M", "S", "$", "(", ")", "infinity", "NaN", "e+", "\\x", "24:00:00", " BC",
    "99999999999999999999"};

// One libFuzzer dictionary entry's value: `name="value"` or `"value"`, with \\, \" and \xNN escapes.
// Comments (#) and blank lines give nothing.
bool ParseDictLine(const std::string& line, std::string* out) {
  size_t open = line.find('"');
  size_t start = line.find_first_not_of(" \t");
  if (open == std::string::npos || start == std::string::npos || line[start] == '#') return false;
  size_t close = line.rfind('"');
  if (close <= open) return false;
  out->clear();
  for (size_t i = open + 1; i < close; ++i) {
    if (line[i] != '\\' || i + 1 >= close) {
      out->push_back(line[i]);
    } else if (line[i + 1] == 'x' && i + 3 < close) {
      out->push_back(static_cast<char>(std::stoi(line.substr(i + 2, 2), nullptr, 16)));
      i += 3;
    } else {
      out->push_back(line[++i]);
    }
  }
  return !out->empty();
}

// The tokens mutations insert: the target's dictionary when it has one, else the pgoutput value texts.
const std::vector<std::string>& Tokens() {
  static const std::vector<std::string> tokens = [] {
    std::vector<std::string> t;
    if (*kDict) {
      std::ifstream in(kDict);
      if (!in.good()) throw std::runtime_error(std::string("cannot read ") + kDict);
      std::string line, token;
      while (std::getline(in, line))
        if (ParseDictLine(line, &token)) t.push_back(token);
      if (t.empty()) throw std::runtime_error(std::string("no tokens in ") + kDict);
    } else {
      t.assign(std::begin(kPgOutputTokens), std::end(kPgOutputTokens));
    }
    return t;
  }();
  return tokens;
}

// Framed inputs only: mutates the text of one column value of one Insert message and fixes the value's
// and the message's lengths, so that the hostile text reaches the encoder's value parsers instead of
// stopping at the decoder.
bool MutateValueText(Rng& rng, std::string* s) {
  struct Frame {
    size_t at, len;  // message bytes at s[at, at + len)
  };
  std::vector<Frame> inserts;
  for (size_t pos = 1; pos + 2 <= s->size();) {
    size_t len = static_cast<size_t>(static_cast<unsigned char>((*s)[pos])) << 8 | static_cast<unsigned char>((*s)[pos + 1]);
    if (pos + 2 + len > s->size()) break;
    if (len > 0 && (*s)[pos + 2] == 'I') inserts.push_back({pos + 2, len});
    pos += 2 + len;
  }
  if (inserts.empty()) return false;
  Frame f = inserts[rng.Below(inserts.size())];
  std::string msg = s->substr(f.at, f.len);
  // 'I', Int32 relation, 'N', Int16 ncols, then per column 'n' | 'u' | 't'/'b' Int32 len + bytes.
  if (msg.size() < 8) return false;
  auto u32 = [&](size_t at) {
    return static_cast<uint32_t>(static_cast<unsigned char>(msg[at])) << 24 |
           static_cast<uint32_t>(static_cast<unsigned char>(msg[at + 1])) << 16 |
           static_cast<uint32_t>(static_cast<unsigned char>(msg[at + 2])) << 8 | static_cast<unsigned char>(msg[at + 3]);
  };
  std::vector<size_t> texts;  // offsets of the 't' kind bytes
  for (size_t at = 8; at < msg.size();) {
    char kind = msg[at];
    if (kind != 't' && kind != 'b') {
      ++at;
      continue;
    }
    if (at + 5 > msg.size() || at + 5 + u32(at + 1) > msg.size()) return false;
    texts.push_back(at);
    at += 5 + u32(at + 1);
  }
  if (texts.empty()) return false;
  size_t at = texts[rng.Below(texts.size())];
  std::string value = msg.substr(at + 5, u32(at + 1));
  for (int k = 0, steps = 1 + static_cast<int>(rng.Below(3)); k < steps; ++k) {
    size_t n = value.size();
    switch (rng.Below(4)) {
      case 0: value.insert(rng.Below(n + 1), Tokens()[rng.Below(Tokens().size())]); break;
      case 1: if (n) value.erase(rng.Below(n), 1 + rng.Below(4)); break;
      case 2: if (n) value[rng.Below(n)] = "0123456789:.,-+ {}\"\\NPTYMDHS$"[rng.Below(29)]; break;
      default: value.resize(rng.Below(n + 1)); break;
    }
  }
  std::string len(4, '\0');
  for (int b = 0; b < 4; ++b) len[b] = static_cast<char>(value.size() >> (8 * (3 - b)));
  msg = msg.substr(0, at + 1) + len + value + msg.substr(at + 5 + u32(at + 1));
  if (msg.size() > 0xffff) return false;
  (*s)[f.at - 2] = static_cast<char>(msg.size() >> 8);
  (*s)[f.at - 1] = static_cast<char>(msg.size() & 0xff);
  s->replace(f.at, f.len, msg);
  return true;
}

void Mutate(Rng& rng, const std::vector<std::string>& seeds, std::string* s) {
  if (kFramed && rng.Below(2) && MutateValueText(rng, s)) return;
  int steps = 1 + static_cast<int>(rng.Below(4));
  for (int k = 0; k < steps; ++k) {
    size_t n = s->size();
    switch (rng.Below(9)) {
      case 0:  // flip a bit
        if (n) (*s)[rng.Below(n)] ^= static_cast<char>(1 << rng.Below(8));
        break;
      case 1: {  // an interesting or random byte
        static const unsigned char kBytes[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 'n', 'u', 't', 'b', 'N', 'K', 'O'};
        if (n) (*s)[rng.Below(n)] = static_cast<char>(rng.Below(2) ? kBytes[rng.Below(sizeof kBytes)] : rng.Below(256));
        break;
      }
      case 2: {  // an interesting 16- or 32-bit big-endian value (counts, lengths, oids)
        static const uint32_t kValues[] = {0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff,
                                           0x80000000, 0xffffffff, 16384, 1186, 790, 1007, 1009};
        uint32_t v = kValues[rng.Below(sizeof kValues / sizeof kValues[0])];
        size_t width = rng.Below(2) ? 4 : 2;
        if (n >= width) {
          size_t at = rng.Below(n - width + 1);
          for (size_t b = 0; b < width; ++b) (*s)[at + b] = static_cast<char>(v >> (8 * (width - 1 - b)));
        }
        break;
      }
      case 3:  // erase a range
        if (n) {
          size_t at = rng.Below(n);
          s->erase(at, 1 + rng.Below(std::min<size_t>(16, n - at)));
        }
        break;
      case 4: {  // insert random bytes
        std::string bytes(1 + rng.Below(8), '\0');
        for (auto& b : bytes) b = static_cast<char>(rng.Below(256));
        s->insert(rng.Below(n + 1), bytes);
        break;
      }
      case 5:  // duplicate a range
        if (n) {
          size_t at = rng.Below(n), len = 1 + rng.Below(std::min<size_t>(32, n - at));
          s->insert(rng.Below(n + 1), s->substr(at, len));
        }
        break;
      case 6:  // truncate
        s->resize(rng.Below(n + 1));
        break;
      case 7: {  // splice: our head, another seed's tail
        const std::string& other = seeds[rng.Below(seeds.size())];
        *s = s->substr(0, rng.Below(n + 1)) + other.substr(rng.Below(other.size() + 1));
        break;
      }
      default: {  // a token of the text formats, inserted or overwriting
        const std::string& tok = Tokens()[rng.Below(Tokens().size())];
        size_t at = rng.Below(n + 1);
        if (rng.Below(2) && at + tok.size() <= n) s->replace(at, tok.size(), tok);
        else s->insert(at, tok);
        break;
      }
    }
    if (s->size() > 65536) s->resize(65536);
  }
}

void RunInput(const std::string& input) {
  // CDC_FUZZ_LAST_INPUT=FILE (environment): each input is written there before it runs, so that the one
  // a target trapped or crashed on can be read back and replayed with the libFuzzer binary.
  static const char* last = std::getenv("CDC_FUZZ_LAST_INPUT");
  if (last != nullptr) std::ofstream(last, std::ios::binary | std::ios::trunc) << input;
  // A copy of exactly the input's size, so that ASan sees any read past its end.
  std::vector<uint8_t> buf(input.begin(), input.end());
  LLVMFuzzerTestOneInput(buf.empty() ? nullptr : buf.data(), buf.size());
}

TEST(FuzzReplayTest, SeedCorpus) {
  auto seeds = Seeds();  // throws (and fails the test) when a seed file or directory is missing or empty
  ASSERT_GE(seeds.size(), 3u);
  for (const auto& s : seeds) RunInput(s);
  RunInput("");
  if (const char* dir = std::getenv("CDC_FUZZ_WRITE_CORPUS")) {
    std::filesystem::create_directories(dir);
    for (size_t i = 0; i < seeds.size(); ++i)
      std::ofstream(std::string(dir) + "/seed-" + std::to_string(i), std::ios::binary) << seeds[i];
  }
}

TEST(FuzzReplayTest, DeterministicMutations) {
  auto seeds = Seeds();
  ASSERT_FALSE(seeds.empty());
  Rng rng{0x0cdc0f22ULL};
  for (int i = 0; i < kRuns; ++i) {
    std::string input = seeds[rng.Below(seeds.size())];
    Mutate(rng, seeds, &input);
    RunInput(input);
  }
}

}  // namespace
