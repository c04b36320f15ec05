// Small string helpers shared by every module (one copy each): trimming, joining, edit distance for "did you
// mean" hints.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace dial {

// `s` without leading and trailing spaces, tabs, CR and LF (a view into `s`).
std::string_view Trim(std::string_view s);
// The items with `separator` between them: Join({"a", "b"}) == "a, b".
std::string Join(const std::vector<std::string>& items, std::string_view separator = ", ");
// Levenshtein distance: the fewest single-character insertions, deletions and substitutions from a to b.
size_t EditDistance(std::string_view a, std::string_view b);
// The entry of `known` nearest to `word` by EditDistance (the first on a tie) if it is at most `max_distance`
// away; empty otherwise (no near miss to suggest).
std::string NearestWord(std::string_view word, const std::vector<std::string>& known, size_t max_distance);

}  // namespace dial
