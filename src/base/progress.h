// A progress line for long operations (import, snapshot, batch): redrawn in place on stderr when
// stderr is a terminal, silent otherwise (pipes and CI logs stay clean).
// Thread-safety: one thread updates a ProgressLine.
#pragma once

#include <cstdint>
#include <string>

namespace cdc {

class ProgressLine {
 public:
  // `what` names the operation ("import klienci.csv"); `total` is the expected amount of work in
  // `unit`s (0 when unknown).
  ProgressLine(std::string what, uint64_t total, std::string unit);
  ~ProgressLine();  // clears the line

  // Records progress; redraws at most 10 times a second.
  void Update(uint64_t done);
  // Draws `line` instead of the built-in format (the caller computes it), at most 10 times a second
  // unless `force`. Nothing is drawn when disabled.
  void Show(const std::string& line, bool force = false);
  // Whether anything is drawn (stderr is a terminal and CDCPIPE_NO_PROGRESS is unset).
  bool enabled() const { return enabled_; }

 private:
  std::string what_;
  uint64_t total_;
  std::string unit_;
  bool enabled_;
  int64_t start_us_;
  int64_t last_draw_us_ = 0;
  bool drawn_ = false;
};

}  // namespace cdc
