// Distribution helpers shared inside the library (not public API): finding a categorical's duplicate choices,
// for Validate and for the study-file parser, which names the line of the duplicate.
#pragma once

#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "dial/distribution.h"

namespace dial::internal {

// The first choice that repeats an earlier one under ParamValueEquals, as {earlier, later} positions with `later` the
// smallest such; nullopt when all differ. Linear time, so that a categorical of a million choices loads at once.
std::optional<std::pair<size_t, size_t>> FindDuplicateChoice(const std::vector<ParamValue>& choices);

}  // namespace dial::internal
