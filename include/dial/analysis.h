// Analysis of a study's trials: which parameters mattered (importance, as Optuna's get_param_importances), and,
// for several objectives, the Pareto front, its hypervolume and a balanced trade-off on it. Pure functions over
// FrozenTrial values; nothing here reads or writes a storage. Every function is thread-safe (no shared state).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dial/frozen_trial.h"
#include "dial/status.h"

namespace dial {

// ---------------------------------------------------------------------------------------------------------------
// Parameter importance
// ---------------------------------------------------------------------------------------------------------------

enum class ImportanceEvaluator {
  // fANOVA (Hutter, Hoos & Leyton-Brown, ICML 2014) over a random forest, as Optuna's FanovaImportanceEvaluator:
  // the share of the forest's variance explained by each parameter alone. Optuna's default.
  kFanova,
  // PED-ANOVA (Watanabe et al., IJCAI 2023): the Pearson divergence between a parameter's density among the top
  // `baseline_quantile` trials and among all trials. Cheap; says what it takes to reach the top.
  kPedAnova,
  // Mean decrease in impurity of the same random forest (Breiman 2001), as Optuna's
  // MeanDecreaseImpurityImportanceEvaluator.
  kMeanDecreaseImpurity,
};
// "fanova", "ped-anova", "mdi": the names used by `dial importance --evaluator` and in reports.
std::string_view ImportanceEvaluatorName(ImportanceEvaluator evaluator);
std::optional<ImportanceEvaluator> ParseImportanceEvaluator(std::string_view name);

struct ImportanceOptions {
  ImportanceEvaluator evaluator = ImportanceEvaluator::kFanova;
  // Which objective value to explain (values[objective_index]); 0 for a single-objective study.
  size_t objective_index = 0;
  // The objective's direction. Only PED-ANOVA uses it (its "top" trials are the best ones); fANOVA and MDI explain
  // variance whichever way is better.
  StudyDirection direction = StudyDirection::kMinimize;
  // Parameters to assess. Empty: every parameter that all COMPLETE trials share with one distribution (Optuna's
  // intersection search space). Given: only trials that have them all are used, and their distributions must be
  // the same in every such trial.
  std::vector<std::string> params;
  // Seeds the forest's bootstrap samples and feature orders (fANOVA, MDI): equal seeds give equal results.
  uint64_t seed = 0;
  // The forest, with Optuna's defaults.
  int n_trees = 64;
  int max_depth = 64;
  // PED-ANOVA: the top trials are the best `baseline_quantile` of them (at least 2); with `evaluate_on_local` their
  // density is compared with all trials' density (importance during the study), else with the uniform density
  // over the search space.
  double baseline_quantile = 0.1;
  bool evaluate_on_local = true;

  // InvalidArgument naming the option: n_trees < 1, max_depth < 1, baseline_quantile outside (0, 1].
  Status Validate() const;
};

struct ParamImportance {
  std::string name;
  double importance = 0.0;  // in [0, 1]; a result's importances add up to 1
};

// The importance of each parameter for one objective, from the COMPLETE trials of `trials` whose target value is
// finite. Sorted by importance, largest first (ties by name); normalised to add up to 1. Parameters with a
// single-valued distribution get 0. Errors: InvalidArgument for bad options, an objective index that no trial has,
// an unknown parameter in `params` or a parameter whose distribution changes across trials; FailedPrecondition,
// with the counts, when fewer than two trials qualify, or (fANOVA) when every such trial has the same value, so that
// there is no variance to explain.
Result<std::vector<ParamImportance>> ComputeImportances(const std::vector<FrozenTrial>& trials,
                                                        const ImportanceOptions& options);

// ---------------------------------------------------------------------------------------------------------------
// Pareto front and hypervolume
// ---------------------------------------------------------------------------------------------------------------

// Feasibility under constraints: SatisfiesConstraints (dial/frozen_trial.h).

// The Pareto front itself (ParetoFront, NonDominatedIndices, ToMinimisation) is the core's: include/dial/study.h.

// The exact hypervolume (Lebesgue measure) dominated by minimised `points` and bounded by `reference`:
//   HV(P, r) = λ( ∪_{p ∈ P, p < r} [p_1, r_1] × … × [p_d, r_d] ).
// Points not strictly better than the reference in every objective add nothing. Exact for any dimension: a sweep in
// 2 objectives (O(n log n)), slicing along the last objective down to that sweep above (O(n^(d−1) log n)), so meant
// for d ≤ 4 and fronts of a few thousand points. InvalidArgument when a point's size differs from the reference's,
// or a coordinate is NaN.
Result<double> Hypervolume(const std::vector<std::vector<double>>& minimised_points,
                           const std::vector<double>& reference);

// A reference point for reports when the user gives none: in minimised form, the worst value of each objective over
// `minimised_points` plus 10% of its range (plus 1 when the range is 0), so that every front point adds volume.
// Empty for no points.
std::vector<double> DefaultReferencePoint(const std::vector<std::vector<double>>& minimised_points);

// The balanced trade-off on a front: the point nearest (Euclidean) to the ideal point (the best value of each
// objective) after scaling each objective to [0, 1] over the front. An objective with zero range counts 0. Index into
// `minimised_points`; nullopt when there are none.
std::optional<size_t> BalancedTradeOff(const std::vector<std::vector<double>>& minimised_points);

}  // namespace dial
