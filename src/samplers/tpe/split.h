// How TPE divides its observations into "below" (good, modelled by l(x)) and "above" (the rest, g(x)), as Optuna
// 3.1 does: single-objective trials ranked by (step key, value) so finished trials come first, pruned ones by how
// far they got, running ones (constant liar) last; several objectives by non-domination rank, the last rank cut
// by greedy hypervolume subset selection, with l(x)'s weights from hypervolume contributions (MOTPE).
#pragma once

#include <climits>
#include <vector>

#include "dial/frozen_trial.h"

namespace dial::internal::tpe {

// The rank key of one observation: lexicographic on (step_key, values), smaller is better. Values are signed so
// that smaller is better (maximised objectives negated).
struct Score {
  double step_key = 0.0;
  std::vector<double> values;
};

// Optuna's key for a trial, or false when the trial is not an observation: COMPLETE (−inf, values); PRUNED
// (−last step, last intermediate value, NaN counted as +inf) or (1, 0) without intermediate values; RUNNING
// (+inf, +inf) under the constant liar. Several objectives: only COMPLETE trials count.
bool TrialScore(const FrozenTrial& trial, const std::vector<StudyDirection>& directions, bool constant_liar,
                Score* score);

// Splits observations into the n_below best and the rest. One objective: `below` and `above` in chronological
// (index) order. Several: `below` in selection order (ranks, then the hypervolume greedy's picks), `above` sorted.
void SplitObservations(const std::vector<Score>& scores, int n_below, std::vector<int>* below, std::vector<int>* above);

// Non-domination rank (0 = Pareto front) of each loss vector (minimised), as Optuna ranks them. Stops once the
// fronts found hold at least `enough` points: the rest share the next rank.
std::vector<int> NondominationRanks(const std::vector<std::vector<double>>& losses, int enough = INT_MAX);

// The hypervolume dominated by `points` (minimised) up to `reference`; points not below it in every coordinate
// add nothing.
double Hypervolume(std::vector<std::vector<double>> points, const std::vector<double>& reference);

// Greedy hypervolume subset selection (Optuna's _solve_hssp): `subset_size` entries of `indices`, in pick order.
std::vector<int> SolveHssp(const std::vector<std::vector<double>>& points, const std::vector<int>& indices,
                           int subset_size, const std::vector<double>& reference);

// MOTPE's weights of the below observations: each one's hypervolume contribution (+1e-12), divided by the largest.
std::vector<double> MultiObjectiveWeightsBelow(const std::vector<std::vector<double>>& losses_below);

}  // namespace dial::internal::tpe
