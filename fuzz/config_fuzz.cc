// libFuzzer target for the config file (src/config/config.h, LoadFile over yaml-cpp): any file bytes
// must give a Config or an InvalidArgument that names the file, never a crash, an exception escaping
// or another kind of status. Beyond memory safety it checks:
//   - an error is one or more lines, each starting with the file's path;
//   - a password written in a URL (scheme://user:PASSWORD@host) appears neither in an error nor in
//     `cdcpipe config`'s output (Config::Describe), when the input holds it only there;
//   - a loaded config describes itself without failing, and loading is deterministic.
// Seeds: fuzz/corpus/config/, cdcpipe.yaml, deploy/cdcpipe.compose.yaml (CDC_FUZZ_WRITE_CORPUS=DIR on
// config_fuzz_replay_test writes them into one directory); dictionary: fuzz/config.dict.
//   cmake -S . -B build-fuzz -DCDC_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ && cmake --build build-fuzz --target config_fuzz
//   build-fuzz/fuzz/config_fuzz -max_len=4096 -dict=fuzz/config.dict fuzz/corpus/config
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>

#include "config/config.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

size_t Occurrences(std::string_view haystack, std::string_view needle) {
  size_t n = 0;
  for (size_t i = haystack.find(needle); i != std::string_view::npos; i = haystack.find(needle, i + 1)) ++n;
  return n;
}

// The password of the first `url:` line whose value has userinfo ("" when none): between the ':' after
// "scheme://user" and the last '@' of the authority. (A URL in another key's value is not a secret:
// errors may quote it.)
std::string UrlPassword(std::string_view text) {
  for (size_t line = 0; line < text.size();) {
    size_t nl = text.find('\n', line);
    std::string_view l = text.substr(line, nl == std::string_view::npos ? std::string_view::npos : nl - line);
    line = nl == std::string_view::npos ? text.size() : nl + 1;
    size_t first = l.find_first_not_of(" \t");
    if (first == std::string_view::npos || l.substr(first, 4) != "url:") continue;
    size_t scheme = l.find("://");
    if (scheme == std::string_view::npos) continue;
    std::string_view rest = l.substr(scheme + 3);
    rest = rest.substr(0, rest.find_first_of("/?#\"' "));  // the authority, as RFC 3986 and libpq end it
    size_t at = rest.rfind('@');
    if (at == std::string_view::npos) continue;
    size_t colon = rest.substr(0, at).find(':');
    if (colon == std::string_view::npos) continue;
    return std::string(rest.substr(colon + 1, at - colon - 1));
  }
  return "";
}

const std::string& Path() {
  static const std::string path = "/tmp/cdcpipe-config-fuzz-" + std::to_string(::getpid()) + ".yaml";
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  {
    std::ofstream out(Path(), std::ios::binary | std::ios::trunc);
    out.write(input.data(), static_cast<std::streamsize>(input.size()));
    Check(out.good());
  }
  auto loaded = cdc::config::LoadFile(Path());
  // A password given only in a URL, long enough not to occur by chance in a message.
  std::string password = UrlPassword(input);
  bool secret = password.size() >= 6 && Occurrences(input, password) == 1;
  if (!loaded.ok()) {
    const cdc::Status& st = loaded.status();
    Check(st.code() == cdc::StatusCode::kInvalidArgument);
    std::string_view msg = st.message();
    Check(!msg.empty());
    for (size_t line = 0; line < msg.size();) {
      Check(msg.substr(line, Path().size()) == Path());
      size_t nl = msg.find('\n', line);
      line = nl == std::string_view::npos ? msg.size() : nl + 1;
    }
    if (secret) Check(msg.find(password) == std::string_view::npos);
    return 0;
  }
  std::string described = loaded->Describe();
  Check(!described.empty());
  if (secret) Check(described.find(password) == std::string::npos);
  auto again = cdc::config::LoadFile(Path());
  Check(again.ok() && again->Describe() == described);
  return 0;
}
