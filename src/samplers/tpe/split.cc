// TPE's below/above split and the multi-objective pieces it needs; see split.h.
#include "samplers/tpe/split.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <tuple>

namespace dial::internal::tpe {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
// Optuna's EPS: a reference coordinate of exactly 0 becomes this, and every hypervolume contribution gets it.
constexpr double kEps = 1e-12;
// MOTPE's reference point: max(1.1 w, 0.9 w) per objective, w the worst (largest) loss of the set.
constexpr double kReferenceStretch = 1.1;
constexpr double kReferenceShrink = 0.9;
// Score key of a PRUNED trial with no intermediate value: after every trial that reported a step.
constexpr double kNoStepKey = 1.0;

bool Dominates(const std::vector<double>& a, const std::vector<double>& b) {
  bool strictly = false;
  for (size_t k = 0; k < a.size(); ++k) {
    if (a[k] > b[k]) return false;
    strictly = strictly || a[k] < b[k];
  }
  return strictly;
}

bool AllFinite(const std::vector<std::vector<double>>& points) {
  for (const auto& p : points) {
    for (double v : p) {
      if (!std::isfinite(v)) return false;
    }
  }
  return true;
}

std::vector<double> ReferencePoint(const std::vector<std::vector<double>>& points) {
  std::vector<double> worst(points[0].size(), -kInf);
  for (const auto& p : points) {
    for (size_t k = 0; k < p.size(); ++k) worst[k] = std::max(worst[k], p[k]);
  }
  for (double& w : worst) {
    w = std::max(kReferenceStretch * w, kReferenceShrink * w);
    if (w == 0.0) w = kEps;
  }
  return worst;
}

// Volume of the box between `p` and the reference (0 when p is not below it in every coordinate).
double BoxVolume(const std::vector<double>& p, const std::vector<double>& reference) {
  double v = 1.0;
  for (size_t k = 0; k < p.size(); ++k) v *= std::max(reference[k] - p[k], 0.0);
  return v;
}

// Two objectives: sweep the points by the first loss, adding the slab each one adds below the previous ones.
double Hypervolume2d(std::vector<std::vector<double>>& points, const std::vector<double>& reference) {
  std::sort(points.begin(), points.end(),
            [](const auto& a, const auto& b) { return a[0] < b[0] || (a[0] == b[0] && a[1] > b[1]); });
  double volume = 0.0;
  double ceiling = reference[1];
  for (const auto& p : points) {
    if (p[1] >= ceiling || p[0] >= reference[0]) continue;
    volume += (reference[0] - p[0]) * (ceiling - p[1]);
    ceiling = p[1];
  }
  return volume;
}

// WFG (While, Bradstreet & Barone 2012): hv(S) = Σᵢ exclusive(sᵢ, S[i+1:]), with the points sorted by the first
// loss; exclusive(p, T) = box(p) − hv({max(p, t) : t ∈ T} reduced to its non-dominated points).
double HypervolumeWfg(std::vector<std::vector<double>> points, const std::vector<double>& reference) {
  if (points.empty()) return 0.0;
  if (reference.size() == 2) return Hypervolume2d(points, reference);
  if (points.size() == 1) return BoxVolume(points[0], reference);
  std::sort(points.begin(), points.end(), [](const auto& a, const auto& b) { return a[0] < b[0]; });
  double volume = 0.0;
  std::vector<std::vector<double>> limited;
  for (size_t i = 0; i < points.size(); ++i) {
    volume += BoxVolume(points[i], reference);
    limited.clear();
    for (size_t j = i + 1; j < points.size(); ++j) {
      std::vector<double> q(points[j].size());
      for (size_t k = 0; k < q.size(); ++k) q[k] = std::max(points[i][k], points[j][k]);
      limited.push_back(std::move(q));
    }
    // Keep the non-dominated ones (and one copy of duplicates).
    std::vector<std::vector<double>> front;
    for (size_t a = 0; a < limited.size(); ++a) {
      bool dominated = false;
      for (size_t b = 0; b < limited.size() && !dominated; ++b) {
        if (a == b) continue;
        dominated = Dominates(limited[b], limited[a]) || (b < a && limited[b] == limited[a]);
      }
      if (!dominated) front.push_back(limited[a]);
    }
    volume -= HypervolumeWfg(std::move(front), reference);
  }
  return volume;
}

}  // namespace

bool TrialScore(const FrozenTrial& trial, const std::vector<StudyDirection>& directions, bool constant_liar,
                Score* score) {
  const bool multi = directions.size() > 1;
  const double sign0 = directions.empty() || directions[0] != StudyDirection::kMaximize ? 1.0 : -1.0;
  switch (trial.state) {
    case TrialState::kComplete:
      if (trial.values.size() != directions.size() || directions.empty()) return false;
      score->step_key = -kInf;
      score->values.resize(directions.size());
      for (size_t k = 0; k < directions.size(); ++k) {
        score->values[k] = (directions[k] == StudyDirection::kMaximize ? -1.0 : 1.0) * trial.values[k];
      }
      return true;
    case TrialState::kPruned:
      if (multi) return false;
      if (trial.intermediate_values.empty()) {
        score->step_key = kNoStepKey;
        score->values = {0.0};
      } else {
        // The last step reached ranks first: a trial pruned later got further.
        const auto& [step, value] = *trial.intermediate_values.rbegin();
        score->step_key = -static_cast<double>(step);
        score->values = {std::isnan(value) ? kInf : sign0 * value};
      }
      return true;
    case TrialState::kRunning:
      if (multi || !constant_liar) return false;
      score->step_key = kInf;
      score->values = {sign0 * kInf};
      return true;
    default:
      return false;
  }
}

std::vector<int> NondominationRanks(const std::vector<std::vector<double>>& losses, int enough) {
  const int n = static_cast<int>(losses.size());
  std::vector<int> ranks(n, -1);
  // Sorted by the first loss, a point can only be dominated by one before it (or tied with it on that loss).
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return losses[a][0] < losses[b][0]; });
  int ranked = 0;
  int rank = 0;
  for (; ranked < n && ranked < enough; ++rank) {
    std::vector<int> front;
    for (int a_pos = 0; a_pos < n; ++a_pos) {
      const int a = order[a_pos];
      if (ranks[a] != -1) continue;
      bool dominated = false;
      for (int b_pos = 0; b_pos < n && !dominated; ++b_pos) {
        const int b = order[b_pos];
        if (losses[b][0] > losses[a][0]) break;
        if (b == a || (ranks[b] != -1 && ranks[b] < rank)) continue;
        dominated = Dominates(losses[b], losses[a]);
      }
      if (!dominated) front.push_back(a);
    }
    for (int a : front) ranks[a] = rank;
    ranked += static_cast<int>(front.size());
  }
  for (int& r : ranks) r = r == -1 ? rank : r;  // not ranked: after every ranked front
  return ranks;
}

double Hypervolume(std::vector<std::vector<double>> points, const std::vector<double>& reference) {
  return HypervolumeWfg(std::move(points), reference);
}

std::vector<int> SolveHssp(const std::vector<std::vector<double>>& points, const std::vector<int>& indices,
                           int subset_size, const std::vector<double>& reference) {
  const int n = static_cast<int>(points.size());
  std::vector<int> picked;
  if (!AllFinite(points) || !AllFinite({reference})) {
    // Infinite losses make every volume infinite: keep the first ones rather than compare infinities.
    for (int i = 0; i < subset_size && i < n; ++i) picked.push_back(indices[i]);
    return picked;
  }
  // contribution[j]: the hypervolume point j would add to the picked set, updated as points are picked.
  std::vector<double> contribution(n);
  for (int j = 0; j < n; ++j) contribution[j] = BoxVolume(points[j], reference);
  std::vector<bool> taken(n, false);
  std::vector<std::vector<double>> selected;
  double hv_selected = 0.0;
  while (static_cast<int>(picked.size()) < subset_size && static_cast<int>(picked.size()) < n) {
    int best = -1;
    for (int j = 0; j < n; ++j) {
      if (!taken[j] && (best < 0 || contribution[j] > contribution[best])) best = j;
    }
    taken[best] = true;
    for (int j = 0; j < n; ++j) {
      if (taken[j]) continue;
      // The part of j's box that the new pick covers and the earlier picks did not.
      std::vector<double> corner(points[j].size());
      for (size_t k = 0; k < corner.size(); ++k) corner[k] = std::max(points[best][k], points[j][k]);
      std::vector<std::vector<double>> with = selected;
      with.push_back(std::move(corner));
      contribution[j] -= Hypervolume(std::move(with), reference) - hv_selected;
    }
    selected.push_back(points[best]);
    picked.push_back(indices[best]);
    hv_selected = Hypervolume(selected, reference);
  }
  return picked;
}

std::vector<double> MultiObjectiveWeightsBelow(const std::vector<std::vector<double>>& losses_below) {
  const int n = static_cast<int>(losses_below.size());
  if (n == 0) return {};
  if (n == 1) return {1.0};
  if (!AllFinite(losses_below)) return std::vector<double>(n, 1.0);
  const std::vector<double> reference = ReferencePoint(losses_below);
  const double hv = Hypervolume(losses_below, reference);
  std::vector<double> contribution(n);
  double max_contribution = 0.0;
  for (int i = 0; i < n; ++i) {
    std::vector<std::vector<double>> others;
    others.reserve(n - 1);
    for (int j = 0; j < n; ++j) {
      if (j != i) others.push_back(losses_below[j]);
    }
    contribution[i] = hv - Hypervolume(std::move(others), reference) + kEps;
    max_contribution = std::max(max_contribution, contribution[i]);
  }
  for (double& c : contribution) c = std::clamp(c / max_contribution, 0.0, 1.0);
  return contribution;
}

void SplitObservations(const std::vector<Score>& scores, int n_below, std::vector<int>* below,
                       std::vector<int>* above) {
  const int n = static_cast<int>(scores.size());
  n_below = std::clamp(n_below, 0, n);
  below->clear();
  above->clear();
  const bool multi = n > 0 && scores[0].values.size() > 1;
  if (!multi) {
    // (step key, value, index) tuples sort like Optuna's stable sort on (step key, value).
    std::vector<std::tuple<double, double, int>> order(n);
    for (int i = 0; i < n; ++i) order[i] = {scores[i].step_key, scores[i].values[0], i};
    std::sort(order.begin(), order.end());
    for (int k = 0; k < n; ++k) (k < n_below ? below : above)->push_back(std::get<2>(order[k]));
    std::sort(below->begin(), below->end());  // chronological: the weights ramp by age
    std::sort(above->begin(), above->end());
    return;
  }
  std::vector<std::vector<double>> losses(n);
  for (int i = 0; i < n; ++i) losses[i] = scores[i].values;
  const std::vector<int> ranks = NondominationRanks(losses, n_below);
  // Whole ranks while they fit, in index order.
  int rank = 0;
  for (;; ++rank) {
    const int count = static_cast<int>(std::count(ranks.begin(), ranks.end(), rank));
    if (count == 0 || static_cast<int>(below->size()) + count > n_below) break;
    for (int i = 0; i < n; ++i) {
      if (ranks[i] == rank) below->push_back(i);
    }
    if (static_cast<int>(below->size()) == n_below) break;
  }
  // The rest from the next rank, by greedy hypervolume subset selection.
  const int missing = n_below - static_cast<int>(below->size());
  if (missing > 0) {
    std::vector<std::vector<double>> rank_losses;
    std::vector<int> rank_indices;
    for (int i = 0; i < n; ++i) {
      if (ranks[i] == rank) {
        rank_losses.push_back(losses[i]);
        rank_indices.push_back(i);
      }
    }
    for (int i : SolveHssp(rank_losses, rank_indices, missing, ReferencePoint(rank_losses))) below->push_back(i);
  }
  std::vector<bool> is_below(n, false);
  for (int i : *below) is_below[i] = true;
  for (int i = 0; i < n; ++i) {
    if (!is_below[i]) above->push_back(i);
  }
}

}  // namespace dial::internal::tpe
