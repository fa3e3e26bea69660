#include "base/progress.h"

#include <unistd.h>

#include <cstdio>
#include <algorithm>
#include <cstdlib>

#include "base/clock.h"

namespace cdc {

ProgressLine::ProgressLine(std::string what, uint64_t total, std::string unit)
    : what_(std::move(what)),
      total_(total),
      unit_(std::move(unit)),
      enabled_(isatty(STDERR_FILENO) && std::getenv("CDCPIPE_NO_PROGRESS") == nullptr),
      start_us_(MonoMicros()) {}

ProgressLine::~ProgressLine() {
  if (drawn_) std::fprintf(stderr, "\r\033[K");
}

void ProgressLine::Update(uint64_t done) {
  if (!enabled_) return;
  int64_t now = MonoMicros();
  if (now - last_draw_us_ < 100000) return;
  last_draw_us_ = now;
  double secs = static_cast<double>(now - start_us_) / 1e6;
  double rate = secs > 0 ? static_cast<double>(done) / secs : 0;
  if (total_ > 0) {
    double pct = 100.0 * static_cast<double>(done) / static_cast<double>(total_);
    double eta = rate > 0 ? static_cast<double>(total_ - std::min(done, total_)) / rate : 0;
    std::fprintf(stderr, "\r\033[K%s: %5.1f%% (%llu/%llu %s, %.0f %s/s, ~%.0fs left)", what_.c_str(), pct,
                 static_cast<unsigned long long>(done), static_cast<unsigned long long>(total_), unit_.c_str(),
                 rate, unit_.c_str(), eta);
  } else {
    std::fprintf(stderr, "\r\033[K%s: %llu %s (%.0f %s/s)", what_.c_str(), static_cast<unsigned long long>(done),
                 unit_.c_str(), rate, unit_.c_str());
  }
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressLine::Show(const std::string& line, bool force) {
  if (!enabled_) return;
  int64_t now = MonoMicros();
  if (!force && now - last_draw_us_ < 100000) return;
  last_draw_us_ = now;
  std::fprintf(stderr, "\r\033[K%s", line.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace cdc
