// Pareto fronts (one definition, used by Study::BestTrials, the report, the dashboard and the status line): which
// points no other point dominates, and the trials on a study's front.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "dial/study.h"

namespace dial {

std::vector<size_t> NonDominatedIndices(const std::vector<std::vector<double>>& minimised_points) {
  const size_t n = minimised_points.size();
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  // In lexicographic order a point can only be dominated by one before it, and it is dominated by some earlier point
  // exactly when it is dominated by an earlier non-dominated one (domination is transitive). So each point is
  // compared with the front found so far: O(n log n + n·|front|·d).
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return minimised_points[a] < minimised_points[b]; });
  auto dominates = [](const std::vector<double>& a, const std::vector<double>& b) {
    bool strictly = false;
    for (size_t k = 0; k < a.size(); ++k) {
      if (a[k] > b[k]) return false;
      if (a[k] < b[k]) strictly = true;
    }
    return strictly;
  };
  std::vector<size_t> front;
  for (size_t i : order) {
    const bool dominated = std::any_of(front.begin(), front.end(),
                                       [&](size_t f) { return dominates(minimised_points[f], minimised_points[i]); });
    if (!dominated) front.push_back(i);
  }
  std::sort(front.begin(), front.end());
  return front;
}

std::vector<double> ToMinimisation(const std::vector<double>& values, const std::vector<StudyDirection>& directions) {
  std::vector<double> out = values;
  for (size_t k = 0; k < out.size() && k < directions.size(); ++k) {
    if (directions[k] == StudyDirection::kMaximize) out[k] = -out[k];
  }
  return out;
}

std::vector<FrozenTrial> ParetoFront(const std::vector<FrozenTrial>& trials,
                                     const std::vector<StudyDirection>& directions) {
  std::vector<const FrozenTrial*> candidates;
  std::vector<std::vector<double>> points;
  for (const FrozenTrial& t : trials) {
    if (t.state != TrialState::kComplete || t.values.size() != directions.size() || !SatisfiesConstraints(t)) continue;
    if (std::any_of(t.values.begin(), t.values.end(), [](double v) { return std::isnan(v); })) continue;
    candidates.push_back(&t);
    points.push_back(ToMinimisation(t.values, directions));
  }
  std::vector<FrozenTrial> front;
  for (size_t i : NonDominatedIndices(points)) front.push_back(*candidates[i]);
  std::sort(front.begin(), front.end(), [](const FrozenTrial& a, const FrozenTrial& b) { return a.number < b.number; });
  return front;
}

}  // namespace dial
