// Pareto fronts, hypervolume and the balanced trade-off; see include/dial/analysis.h and pareto.h.
#include "analysis/pareto.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <numeric>

#include "dial/analysis.h"
#include "dial/study.h"

namespace dial {
namespace internal {

double SweepHypervolume2d(std::vector<std::vector<double>> points, const std::vector<double>& reference) {
  std::sort(points.begin(), points.end());
  double volume = 0.0;
  double y_prev = reference[1];
  for (const std::vector<double>& p : points) {
    if (p[1] >= y_prev) continue;  // dominated by an earlier point
    volume += (reference[0] - p[0]) * (y_prev - p[1]);
    y_prev = p[1];
  }
  return volume;
}

double SlicingHypervolume(std::vector<std::vector<double>> points, const std::vector<double>& reference) {
  const size_t d = reference.size();
  assert(d >= 2);
  if (points.empty()) return 0.0;
  if (d == 2) return SweepHypervolume2d(std::move(points), reference);
  std::sort(points.begin(), points.end(),
            [d](const std::vector<double>& a, const std::vector<double>& b) { return a[d - 1] < b[d - 1]; });
  const std::vector<double> lower_reference(reference.begin(), reference.end() - 1);
  std::vector<std::vector<double>> slab;  // the points at or below the current slice, projected
  double volume = 0.0;
  for (size_t k = 0; k < points.size(); ++k) {
    slab.emplace_back(points[k].begin(), points[k].end() - 1);
    // Points with equal z share one slice: add the slab once, after the last of them.
    if (k + 1 < points.size() && points[k + 1][d - 1] == points[k][d - 1]) continue;
    const double next_z = k + 1 < points.size() ? points[k + 1][d - 1] : reference[d - 1];
    // Only the slab's non-dominated points matter; dropping the rest keeps the recursion small.
    std::vector<std::vector<double>> front;
    for (size_t i : NonDominatedIndices(slab)) front.push_back(slab[i]);
    slab = front;
    volume += SlicingHypervolume(std::move(front), lower_reference) * (next_z - points[k][d - 1]);
  }
  return volume;
}

}  // namespace internal

Result<double> Hypervolume(const std::vector<std::vector<double>>& minimised_points,
                           const std::vector<double>& reference) {
  if (reference.empty()) return InvalidArgument("hypervolume: the reference point is empty");
  for (double r : reference) {
    if (std::isnan(r)) return InvalidArgument("hypervolume: the reference point has a NaN coordinate");
  }
  std::vector<std::vector<double>> inside;
  for (size_t i = 0; i < minimised_points.size(); ++i) {
    const std::vector<double>& p = minimised_points[i];
    if (p.size() != reference.size()) {
      return InvalidArgument("hypervolume: point " + std::to_string(i) + " has " + std::to_string(p.size()) +
                             " objective(s), the reference point " + std::to_string(reference.size()));
    }
    bool better = true;
    for (size_t k = 0; k < p.size(); ++k) {
      if (std::isnan(p[k])) return InvalidArgument("hypervolume: point " + std::to_string(i) + " has a NaN value");
      better = better && p[k] < reference[k];
    }
    if (better) inside.push_back(p);
  }
  if (inside.empty()) return 0.0;
  if (reference.size() == 1) {
    double best = inside[0][0];
    for (const auto& p : inside) best = std::min(best, p[0]);
    return reference[0] - best;
  }
  return internal::SlicingHypervolume(std::move(inside), reference);
}

std::vector<double> DefaultReferencePoint(const std::vector<std::vector<double>>& minimised_points) {
  // A margin of this share of each objective's range keeps the worst front points' contribution above zero.
  constexpr double kReferenceMargin = 0.1;
  if (minimised_points.empty()) return {};
  const size_t d = minimised_points[0].size();
  std::vector<double> reference(d);
  for (size_t k = 0; k < d; ++k) {
    double lo = std::numeric_limits<double>::infinity(), hi = -std::numeric_limits<double>::infinity();
    for (const auto& p : minimised_points) {
      if (!std::isfinite(p[k])) continue;
      lo = std::min(lo, p[k]);
      hi = std::max(hi, p[k]);
    }
    if (!std::isfinite(lo)) lo = hi = 0.0;
    const double range = hi - lo;
    reference[k] = hi + (range > 0 ? kReferenceMargin * range : 1.0);
  }
  return reference;
}

std::optional<size_t> BalancedTradeOff(const std::vector<std::vector<double>>& minimised_points) {
  if (minimised_points.empty()) return std::nullopt;
  const size_t d = minimised_points[0].size();
  std::vector<double> lo(d, std::numeric_limits<double>::infinity()), hi(d, -std::numeric_limits<double>::infinity());
  for (const auto& p : minimised_points) {
    for (size_t k = 0; k < d; ++k) {
      lo[k] = std::min(lo[k], p[k]);
      hi[k] = std::max(hi[k], p[k]);
    }
  }
  // distance² = Σ_k ((p_k − min_k) / (max_k − min_k))²; an objective with zero range counts 0.
  std::optional<size_t> best;
  double best_distance = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < minimised_points.size(); ++i) {
    double distance = 0.0;
    for (size_t k = 0; k < d; ++k) {
      const double range = hi[k] - lo[k];
      const double z = range > 0 && std::isfinite(range) ? (minimised_points[i][k] - lo[k]) / range : 0.0;
      distance += z * z;
    }
    if (distance < best_distance) {
      best_distance = distance;
      best = i;
    }
  }
  return best;
}

}  // namespace dial
