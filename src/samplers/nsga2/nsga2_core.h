// NSGA-II's building blocks, independent of studies: constrained domination, fast non-dominated sorting,
// crowding distance, elitist selection, crowded binary tournament and the crossovers on the unit cube.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "util/random.h"

namespace dial::internal {

struct Individual {
  std::vector<double> values;                      // objectives, all to be minimised
  std::optional<std::vector<double>> constraints;  // feasible when every value ≤ 0; nullopt: none recorded
};

// Σ max(0, c_i); NaN counts as an infinite violation.
double TotalViolation(const std::vector<double>& constraints);

// Pareto domination of minimised values: no worse in every objective, better in one.
bool Dominates(const std::vector<double>& a, const std::vector<double>& b);
// Deb's constrained domination. With constraints on both: feasible beats infeasible, the smaller total violation
// wins between infeasible ones, Pareto domination between feasible ones. With constraints on one only, that one
// wins (Optuna's rule); with none, Pareto domination.
bool ConstrainedDominates(const Individual& a, const Individual& b);

// Fronts of indices into `population`: front 0 is dominated by nobody, front k only by members of fronts < k.
// Members keep their order in `population` within a front. O(M N²) (Deb et al. 2002, fast-non-dominated-sort).
std::vector<std::vector<int>> NonDominatedSort(const std::vector<Individual>& population);

// The crowding distance of each member of `front` (indices into `population`), in the order of `front`:
// Σ over objectives of (f_{next} − f_{previous}) / (f_max − f_min) around the member in that objective's order,
// infinite for the extremes; an objective whose values are all equal adds nothing. Infinite values count as
// extremes; f_max − f_min is taken over finite values.
std::vector<double> CrowdingDistances(const std::vector<Individual>& population, const std::vector<int>& front);

// The `n` survivors (indices): whole fronts in rank order, the last one cut by decreasing crowding distance.
std::vector<int> SelectElite(const std::vector<Individual>& population, int n);

// Rank and crowding distance of every member, for the crowded-comparison tournament.
struct Fitness {
  std::vector<int> rank;
  std::vector<double> crowding;
};
Fitness ComputeFitness(const std::vector<Individual>& population);

// Binary tournament with Deb's crowded comparison: two distinct random members (other than `exclude`), the lower
// rank wins, then the larger crowding distance, then the first drawn.
int Tournament(const Fitness& fitness, SplitMix64& rng, int exclude = -1);

// Crossovers of two parents in [0, 1]^d.
std::vector<double> UniformCrossover(const std::vector<double>& a, const std::vector<double>& b, double swapping_prob,
                                     SplitMix64& rng);
std::vector<double> SbxCrossover(const std::vector<double>& a, const std::vector<double>& b, double eta,
                                 SplitMix64& rng);
std::vector<double> BlxAlphaCrossover(const std::vector<double>& a, const std::vector<double>& b, double alpha,
                                      SplitMix64& rng);

}  // namespace dial::internal
