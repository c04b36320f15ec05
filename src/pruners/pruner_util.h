// Helpers the step-based pruners share.
#pragma once

#include <cstdint>
#include <map>

namespace dial::internal {

// True when `step` is the first report at or after the latest pruning checkpoint (warm-up + k·interval): a
// trial reporting every step is then checked every `interval`, and one reporting sparsely is checked at the
// first report past each checkpoint rather than never (Optuna's _is_first_in_interval_step).
inline bool IsFirstInIntervalStep(int64_t step, const std::map<int64_t, double>& reported, int64_t warmup,
                                  int64_t interval) {
  const int64_t checkpoint = (step - warmup) / interval * interval + warmup;
  int64_t previous = -1;  // the latest earlier-reported step, as Optuna counts it
  for (const auto& [s, v] : reported) {
    if (s != step && s > previous) previous = s;
  }
  return previous < checkpoint;
}

}  // namespace dial::internal
