// Multi-fidelity studies (docs/fidelity.md): fidelity levels that change what a trial runs (less data, fewer
// layers, fewer epochs), and a successive-halving schedule over them: start many configurations at the cheapest
// level, promote the best `keep` fraction of each level to the next, and so on (64 → 16 → 4 with keep 0.25).
//
// Every evaluation is a trial of its own, carrying system attrs dial:fidelity:level (0-based) and, when promoted,
// dial:fidelity:parent (the trial number it was promoted from). When two consecutive levels differ only in
// `resume_keys` (epochs by default), the promoted trial also carries dial:fidelity:resume_from and continues from
// its parent's checkpoint; otherwise the configuration runs again from scratch at the new level.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "dial/distribution.h"
#include "dial/frozen_trial.h"
#include "dial/status.h"

namespace dial {

inline constexpr std::string_view kFidelityLevelAttr = "dial:fidelity:level";
inline constexpr std::string_view kFidelityParentAttr = "dial:fidelity:parent";
inline constexpr std::string_view kFidelityResumeFromAttr = "dial:fidelity:resume_from";

struct FidelityOptions {
  // The values each level gives the objective, cheapest first; they reach it like parameters.
  std::vector<std::map<std::string, ParamValue>> levels;
  std::string schedule = "successive_halving";
  int64_t start_trials = 27;  // configurations started at level 0
  double keep = 1.0 / 3.0;    // fraction of a level's configurations promoted to the next
  // Keys whose growth alone lets a promoted trial continue from its parent's checkpoint.
  std::vector<std::string> resume_keys = {"epochs"};
  // The sampler models the trials of the highest level with at least this many COMPLETE trials (BOHB's rule: the
  // largest budget with enough observations). 0: the number of searched parameters + 1.
  int64_t min_points_in_model = 0;

  // InvalidArgument naming the key: fewer than two levels, keep outside (0, 1), start_trials < 1, a level that is
  // not a mapping of scalars, an unknown schedule.
  Status Validate() const;
  // Configurations planned at each level: max(1, round(start_trials · keep^k)).
  std::vector<int64_t> RungSizes() const;
  int64_t TotalTrials() const;
  // True when levels `from` and `from + 1` differ only in resume_keys.
  bool ResumesAt(int from) const;
};

// The trial's level (0 when it has no level attr).
int FidelityLevelOf(const FrozenTrial& trial);
// The trial number it was promoted from, or -1.
int64_t FidelityParentOf(const FrozenTrial& trial);

// What a worker should do next in a multi-fidelity study.
struct FidelityDecision {
  enum class Kind {
    kRunWaiting,  // a WAITING trial exists (a promotion or an enqueued trial): take it
    kPromote,     // enqueue `parent_number`'s configuration at `level`
    kNewTrial,    // sample a new configuration at level 0
    kWait,        // the next promotions need trials that are still running
    kDone,        // every level's trials have finished
  };
  Kind kind = Kind::kDone;
  int level = 0;
  int64_t parent_number = -1;
};

// Synchronous successive halving over `trials` (all of the study's): a level's promotions are decided once all of
// its planned trials have finished; the best `RungSizes()[k+1]` COMPLETE trials of level k (by the first
// objective in `direction`), not yet promoted, go up one level, best first.
FidelityDecision DecideNextFidelityStep(const std::vector<FrozenTrial>& trials, const FidelityOptions& options,
                                        StudyDirection direction);

// The level the sampler should model (see min_points_in_model), given the number of searched parameters.
int FidelityModelLevel(const std::vector<FrozenTrial>& trials, const FidelityOptions& options, int n_params);

// Rank correlation between two levels over the configurations evaluated (COMPLETE) at both, paired through the
// parent links (a level-2 trial pairs with its level-0 ancestor).
struct FidelityCorrelation {
  int from_level = 0;
  int to_level = 0;
  int64_t n_pairs = 0;
  double spearman = 0.0;  // ρ of the ranks (average ranks for ties)
  double kendall = 0.0;   // τ-b
  bool reliable = true;   // false: too few pairs or a weak correlation; `warning` says which and why
  std::string warning;
};
inline constexpr int64_t kMinCorrelationPairs = 5;
inline constexpr double kMinProxySpearman = 0.5;
std::vector<FidelityCorrelation> FidelityCorrelations(const std::vector<FrozenTrial>& trials);

// ρ and τ-b of paired samples (NaN when either side is constant or n < 2).
double SpearmanCorrelation(const std::vector<double>& x, const std::vector<double>& y);
double KendallTauB(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace dial
