// ClosestName: the "did you mean" of error messages (an unknown config key, a table that does not exist).
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace cdc {

// Levenshtein distance (insertions, deletions, substitutions of bytes).
size_t EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `word` when it is within max(2, a third of the word's length) edits, else "".
// Ties go to the first candidate.
std::string ClosestName(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace cdc
