// Multi-fidelity studies (docs/fidelity.md): fidelity levels that change what a trial runs (less data, fewer
// layers, fewer epochs), and a successive-halving schedule over them: start many configurations at the cheapest
// level, promote the best `keep` fraction of each level to the next, and so on (64 → 16 → 4 with keep 0.25).
// `hyperband` runs several such brackets, each starting at a higher level with fewer configurations; `bohb` is
// Hyperband whose new configurations come from a TPE model of the largest budget with enough observations.
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
#include "dial/pruner.h"
#include "dial/status.h"

namespace dial {

class Study;

inline constexpr std::string_view kFidelityLevelAttr = "dial:fidelity:level";
inline constexpr std::string_view kFidelityParentAttr = "dial:fidelity:parent";
inline constexpr std::string_view kFidelityResumeFromAttr = "dial:fidelity:resume_from";
// The bracket (0-based, in the order the schedule runs them) of a trial of a `hyperband` or `bohb` schedule.
inline constexpr std::string_view kFidelityBracketAttr = "dial:fidelity:bracket";

// The schedules by name.
inline constexpr std::string_view kSuccessiveHalvingSchedule = "successive_halving";
inline constexpr std::string_view kHyperbandSchedule = "hyperband";
inline constexpr std::string_view kBohbSchedule = "bohb";

// One successive-halving bracket of a schedule: configurations start at `start_level`, and `sizes[i]` of them are
// planned at level start_level + i.
struct FidelityBracket {
  int start_level = 0;
  std::vector<int64_t> sizes;
};

struct FidelityOptions {
  // The values each level gives the objective, cheapest first; they reach it like parameters.
  std::vector<std::map<std::string, ParamValue>> levels;
  // successive_halving (one bracket), hyperband or bohb (one bracket per starting level, Hyperband's sizes).
  std::string schedule = std::string(kSuccessiveHalvingSchedule);
  int64_t start_trials = 27;  // configurations started at level 0 (in the first bracket of hyperband/bohb)
  double keep = 1.0 / 3.0;    // fraction of a level's configurations promoted to the next (1/η)
  int64_t rounds = 1;         // hyperband/bohb: how many times the whole set of brackets runs
  // Keys whose growth alone lets a promoted trial continue from its parent's checkpoint.
  std::vector<std::string> resume_keys = {"epochs"};
  // The sampler models the trials of the highest level with at least this many COMPLETE trials (BOHB's rule: the
  // largest budget with enough observations). 0: the number of searched parameters + 1.
  int64_t min_points_in_model = 0;

  // InvalidArgument naming the key: fewer than two levels, keep outside (0, 1), start_trials < 1, rounds < 1, a
  // level that is not a mapping of scalars, an unknown schedule.
  Status Validate() const;
  bool HasBrackets() const { return schedule != kSuccessiveHalvingSchedule; }
  // Configurations planned at each level of the first bracket: max(1, round(start_trials · keep^k)).
  std::vector<int64_t> RungSizes() const;
  // The brackets in the order they run (`rounds` times the set): successive_halving has one, starting at level 0.
  // hyperband/bohb have one per starting level b = 0 … L−1, with Hyperband's sizes for s = L−1−b and η = 1/keep:
  // n_b = ceil(start_trials · L/(s+1) · keep^(L−1−s)) configurations at level b (start_trials at b = 0; with
  // start_trials = η^(L−1) this is Hyperband's ceil(L/(s+1) · η^s)), then max(1, round(n_b · keep^i)) at b + i.
  std::vector<FidelityBracket> Brackets() const;
  int64_t TotalTrials() const;
  // True when levels `from` and `from + 1` differ only in resume_keys.
  bool ResumesAt(int from) const;
};

// The trial's level (0 when it has no level attr).
int FidelityLevelOf(const FrozenTrial& trial);
// The trial number it was promoted from, or -1.
int64_t FidelityParentOf(const FrozenTrial& trial);
// The trial's bracket (0 when it has no bracket attr: successive_halving's only bracket).
int FidelityBracketOf(const FrozenTrial& trial);
// The pruner's view of `trial` in a multi-fidelity study (Study::SetPrunerViewProvider): its peers, the trials of its
// level and bracket, since a promoted trial's curve says nothing set against the cheaper level's curves at the same
// step. Every trial (an empty filter) when `trial` has no level. The worker loop installs it.
Result<TrialFilter> FidelityPrunerView(const Study& study, const FrozenTrial& trial);

// What a worker should do next in a multi-fidelity study.
struct FidelityDecision {
  enum class Kind {
    kRunWaiting,  // a WAITING trial exists (a promotion or an enqueued trial): take it
    kPromote,     // enqueue `parent_number`'s configuration at `level` (in `bracket`)
    kNewTrial,    // sample a new configuration at `level`, the start level of `bracket`
    kWait,        // the next promotions need trials that are still running
    kDone,        // every level's trials have finished
  };
  Kind kind = Kind::kDone;
  int level = 0;
  int64_t parent_number = -1;
  int bracket = 0;
};

// Synchronous successive halving in each bracket over `trials` (all of the study's): a level's promotions are
// decided once all of its planned trials in the bracket have finished; the best `sizes[i+1]` COMPLETE trials of the
// bracket's level (by the first objective in `direction`), not yet promoted, go up one level, best first. Brackets
// are served in order; a bracket that waits for running trials lets the next one start (so idle workers start the
// next bracket rather than wait), and the study is done when every bracket is.
FidelityDecision DecideNextFidelityStep(const std::vector<FrozenTrial>& trials, const FidelityOptions& options,
                                        StudyDirection direction);

// The level the sampler should model (see min_points_in_model), given the number of searched parameters.
int FidelityModelLevel(const std::vector<FrozenTrial>& trials, const FidelityOptions& options, int n_params);

// Which trials the sampler sees when it proposes `trial`'s configuration: those of the model level (above) among
// all brackets for successive_halving and bohb (BOHB: one model per budget, fed by every bracket), among the
// trial's own bracket only for hyperband (as Hyperband requires).
TrialFilter FidelitySamplerView(const std::vector<FrozenTrial>& trials, const FidelityOptions& options, int n_params,
                                const FrozenTrial& trial);

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
