// Optuna's intersection search space kept up to date across trials: finished trials never change, so each
// COMPLETE trial is intersected once, and asking again after more trials costs a scan of their states only.
// Used by the cmaes and nsga2 samplers, which ask once per trial. Same result as IntersectionSearchSpace(trials).
#pragma once

#include <vector>

#include "dial/distribution.h"
#include "dial/frozen_trial.h"
#include "samplers/search_space.h"

namespace dial::internal {

class IntersectionCache {
 public:
  // `trials`: every trial of one study (any states, any order). Call Reset() before using another study.
  SearchSpace Update(const std::vector<FrozenTrial>& trials) {
    for (const FrozenTrial& t : trials) {
      if (t.state != TrialState::kComplete || t.number < 0) continue;
      if (static_cast<size_t>(t.number) >= counted_.size()) counted_.resize(t.number + 1, false);
      if (counted_[t.number]) continue;
      counted_[t.number] = true;
      if (!any_) {
        space_ = t.distributions;
        any_ = true;
        continue;
      }
      for (auto it = space_.begin(); it != space_.end();) {
        auto other = t.distributions.find(it->first);
        it = other == t.distributions.end() || !DistributionEquals(other->second, it->second) ? space_.erase(it)
                                                                                              : std::next(it);
      }
    }
    SearchSpace out;
    for (const auto& [name, dist] : space_) {
      if (!IsSingle(dist)) out.emplace(name, dist);
    }
    return out;
  }
  void Reset() { *this = IntersectionCache(); }

 private:
  SearchSpace space_;  // intersection of the counted trials' distributions, single-valued ones included
  bool any_ = false;
  std::vector<bool> counted_;  // by trial number
};

}  // namespace dial::internal
