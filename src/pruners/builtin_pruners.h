// The built-in pruners' factories from JSON options, used by the registry to register them by name, and the
// successive-halving pieces that the successive_halving and hyperband pruners share.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dial/pruner.h"

namespace dial::internal {

Result<std::unique_ptr<Pruner>> CreateNopPrunerFromJson(const Json& options);
Result<std::unique_ptr<Pruner>> CreateMedianPrunerFromJson(const Json& options);
Result<std::unique_ptr<Pruner>> CreatePercentilePrunerFromJson(const Json& options);
Result<std::unique_ptr<Pruner>> CreateThresholdPrunerFromJson(const Json& options);
Result<std::unique_ptr<Pruner>> CreatePatientPrunerFromJson(const Json& options);
Result<std::unique_ptr<Pruner>> CreateSuccessiveHalvingPrunerFromJson(const Json& options);
Result<std::unique_ptr<Pruner>> CreateHyperbandPrunerFromJson(const Json& options);

// ---- successive halving, shared by successive_halving and hyperband ----

// The trial system attribute holding a trial's value at the end of rung `rung`: "completed_rung_<rung>" (Optuna's).
std::string CompletedRungKey(int rung);

// One ASHA bracket's rule (see SuccessiveHalvingPrunerOptions).
struct SuccessiveHalvingRule {
  int64_t min_resource = 1;
  int reduction_factor = 4;
  int min_early_stopping_rate = 0;
  int bootstrap_count = 0;
};

// The step at which rung `rung` ends: min_resource · η^(min_early_stopping_rate + rung), saturated at INT64_MAX.
int64_t RungEndStep(const SuccessiveHalvingRule& rule, int rung);

// ASHA's decision for `trial` (single objective). Records the trial's value at each rung end it has passed in
// `completed_rung_<k>` (with `first_rung_attrs` at its first rung) and competes against the values recorded at
// that rung by the trials `competes` accepts (every trial when empty). Reads the stored trial, not only `trial`,
// to know which rungs it has completed: a caller's copy may miss attributes written by an earlier call.
// `open_rungs` (the pruner's own, per trial: the first rung this pruner has not seen the trial complete) lets a
// report inside a rung be decided without reading storage; it is only a lower bound, so it may be empty.
using OpenRungs = std::map<TrialId, int>;
Result<bool> PruneBySuccessiveHalving(const Study& study, const FrozenTrial& trial, const SuccessiveHalvingRule& rule,
                                      const TrialFilter& competes, const AttrMap& first_rung_attrs,
                                      OpenRungs& open_rungs);

// A resource set to "auto", agreed once by all workers on a study: the integer in study system attribute `key`
// when present; else `estimate` of the largest last step of the COMPLETE trials, stored there unless another
// worker stored one first (then that one). Nullopt while no COMPLETE trial has reported a step.
Result<std::optional<int64_t>> AgreedAutoResource(const Study& study, const std::string& key,
                                                  const std::function<int64_t(int64_t)>& estimate);

// Hyperband's brackets over [min_resource, max_resource] with reduction factor η (see HyperbandPrunerOptions).
struct HyperbandBrackets {
  // n = ⌊log_η(max_resource / min_resource)⌋ + 1 brackets (none when max_resource < min_resource).
  static HyperbandBrackets Make(int64_t min_resource, int64_t max_resource, int reduction_factor);
  int n_brackets() const { return static_cast<int>(budgets.size()); }
  // The bracket of trial `number` in study `study_name`: CRC-32("<name>_<number>") mod total_budget, counted
  // off against each bracket's budget in order. Needs n_brackets() ≥ 1.
  int BracketOf(std::string_view study_name, int64_t number) const;

  std::vector<int64_t> budgets;  // bracket b: ⌈n · η^(n−1−b) / (n−b)⌉
  int64_t total_budget = 0;
};

// CRC-32 (IEEE 802.3, as zlib and Python's binascii.crc32) of `bytes`.
uint32_t Crc32(std::string_view bytes);

}  // namespace dial::internal
