// Lsn: a PostgreSQL WAL position (XLogRecPtr). A strong type so that an LSN is never mixed up with
// an offset, a count or a timestamp. Text form is PostgreSQL's "XXXXXXXX/XXXXXXXX" (hex high/low 32 bits).
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cdc {

class Lsn {
 public:
  constexpr Lsn() = default;
  constexpr explicit Lsn(uint64_t value) : value_(value) {}

  static constexpr Lsn Invalid() { return Lsn(0); }
  // Parses "16/B374D848"; nullopt when the text is not an LSN.
  static std::optional<Lsn> Parse(std::string_view text);

  constexpr uint64_t value() const { return value_; }
  constexpr bool valid() const { return value_ != 0; }
  std::string ToString() const;

  constexpr auto operator<=>(const Lsn&) const = default;

 private:
  uint64_t value_ = 0;  // InvalidXLogRecPtr is 0
};

}  // namespace cdc
