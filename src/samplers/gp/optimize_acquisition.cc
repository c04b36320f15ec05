// Acquisition maximisation for the GP sampler; see optimize_acquisition.h.
#include "samplers/gp/optimize_acquisition.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <numeric>

#include "samplers/gp/acquisition.h"
#include "samplers/gp/lbfgsb.h"

namespace dial::internal::gp {
namespace {

constexpr double kLocalFraction = 0.25;    // of the candidates, perturbations of the incumbents
constexpr double kMinPerturbation = 1e-3;  // local candidates move by N(0, s²), s log-uniform in this range
constexpr double kMaxPerturbation = 0.3;
constexpr double kPerturbedCoordinates = 20.0;  // expected number of coordinates a local candidate moves
constexpr double kCategoricalResample = 0.1;    // chance that a local candidate draws a fresh categorical choice

double Normal(SplitMix64& rng) {
  // Box–Muller: √(−2 log u₁) cos(2π u₂), u₁ in (0, 1].
  const double u1 = 1.0 - UniformUnit(rng);
  const double u2 = UniformUnit(rng);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

// Sets row `row` of `x` to a uniformly drawn choice of the categorical whose one-hot columns are `columns`.
void DrawOneHot(const std::vector<int>& columns, SplitMix64& rng, Eigen::MatrixXd& x, Eigen::Index row) {
  const uint64_t pick = UniformIndex(rng, columns.size());
  for (size_t c = 0; c < columns.size(); ++c) x(row, columns[c]) = c == pick ? 1.0 : 0.0;
}

// Latin hypercube on the continuous coordinates (each stratum of each coordinate used once), one-hots drawn
// uniformly; then local perturbations of the incumbents.
Eigen::MatrixXd Candidates(const CubeLayout& layout, const Eigen::MatrixXd& incumbents, int count, SplitMix64& rng) {
  const int n_local = incumbents.rows() > 0 ? static_cast<int>(kLocalFraction * count) : 0;
  const int n_random = count - n_local;
  Eigen::MatrixXd out = Eigen::MatrixXd::Zero(count, layout.dims);
  std::vector<int> strata(n_random);
  for (int column : layout.continuous) {
    std::iota(strata.begin(), strata.end(), 0);
    for (int i = n_random - 1; i > 0; --i) std::swap(strata[i], strata[UniformIndex(rng, i + 1)]);
    for (int i = 0; i < n_random; ++i) out(i, column) = (strata[i] + UniformUnit(rng)) / n_random;
  }
  for (int i = 0; i < n_random; ++i) {
    for (const auto& group : layout.categoricals) DrawOneHot(group, rng, out, i);
  }
  const double move_probability =
      layout.continuous.empty() ? 0.0 : std::min(1.0, kPerturbedCoordinates / layout.continuous.size());
  const double log_min = std::log(kMinPerturbation), log_max = std::log(kMaxPerturbation);
  for (int i = n_random; i < count; ++i) {
    // Half the local candidates start from the best incumbent, the rest from any of them.
    const Eigen::Index base = (i % 2 == 0) ? 0 : static_cast<Eigen::Index>(UniformIndex(rng, incumbents.rows()));
    out.row(i) = incumbents.row(base);
    const double scale = std::exp(log_min + UniformUnit(rng) * (log_max - log_min));
    bool moved = false;
    for (int column : layout.continuous) {
      if (UniformUnit(rng) >= move_probability) continue;
      out(i, column) = std::clamp(out(i, column) + scale * Normal(rng), 0.0, 1.0);
      moved = true;
    }
    if (!moved && !layout.continuous.empty()) {
      const int column = layout.continuous[UniformIndex(rng, layout.continuous.size())];
      out(i, column) = std::clamp(out(i, column) + scale * Normal(rng), 0.0, 1.0);
    }
    for (const auto& group : layout.categoricals) {
      if (UniformUnit(rng) < kCategoricalResample) DrawOneHot(group, rng, out, i);
    }
  }
  return out;
}

Eigen::VectorXd ScoreBatch(const GaussianProcess& gp, const AcquisitionOptions& options, const Eigen::MatrixXd& xs) {
  Eigen::VectorXd mean, variance;
  gp.PredictBatch(xs, &mean, &variance);
  Eigen::VectorXd score(xs.rows());
  for (Eigen::Index i = 0; i < xs.rows(); ++i) {
    const double stddev = std::sqrt(variance[i]);
    score[i] = options.kind == AcquisitionKind::kLogEi
                   ? LogExpectedImprovement(mean[i], stddev, options.best).value
                   : NegatedLowerConfidenceBound(mean[i], stddev, options.beta).value;
  }
  return score;
}

// For each categorical in turn, the choice with the best acquisition with every other coordinate fixed.
double EnumerateCategoricals(const GaussianProcess& gp, const CubeLayout& layout, const AcquisitionOptions& options,
                             Eigen::VectorXd* x) {
  double best = Acquisition(gp, options, *x, nullptr);
  for (const auto& group : layout.categoricals) {
    Eigen::VectorXd trial = *x;
    for (int column : group) {
      for (int c : group) trial[c] = c == column ? 1.0 : 0.0;
      const double value = Acquisition(gp, options, trial, nullptr);
      if (value > best) best = value, *x = trial;
    }
  }
  return best;
}

// L-BFGS-B on the continuous coordinates of x, the others fixed; returns the refined acquisition value.
double RefineContinuous(const GaussianProcess& gp, const CubeLayout& layout, const AcquisitionOptions& options,
                        Eigen::VectorXd* x) {
  const int m = static_cast<int>(layout.continuous.size());
  Eigen::VectorXd u(m);
  for (int j = 0; j < m; ++j) u[j] = (*x)[layout.continuous[j]];
  Eigen::VectorXd full = *x, full_gradient;
  const ObjectiveWithGradient negated = [&](const Eigen::VectorXd& v, Eigen::VectorXd* g) {
    for (int j = 0; j < m; ++j) full[layout.continuous[j]] = v[j];
    const double value = Acquisition(gp, options, full, &full_gradient);
    g->resize(m);
    for (int j = 0; j < m; ++j) (*g)[j] = -full_gradient[layout.continuous[j]];
    return -value;
  };
  LbfgsOptions lbfgs;
  lbfgs.max_iterations = options.max_local_iterations;
  lbfgs.gradient_tolerance = 1e-6;
  lbfgs.relative_tolerance = 1e-9;
  const LbfgsResult r = MinimizeLbfgsB(negated, u, Eigen::VectorXd::Zero(m), Eigen::VectorXd::Ones(m), lbfgs);
  for (int j = 0; j < m; ++j) (*x)[layout.continuous[j]] = r.x[j];
  return -r.value;
}

}  // namespace

double Acquisition(const GaussianProcess& gp, const AcquisitionOptions& options, const Eigen::VectorXd& x,
                   Eigen::VectorXd* gradient) {
  double mean = 0.0, variance = 0.0;
  Eigen::VectorXd mean_gradient, variance_gradient;
  gp.Predict(x, &mean, &variance, gradient ? &mean_gradient : nullptr, gradient ? &variance_gradient : nullptr);
  const double stddev = std::sqrt(variance);
  const AcquisitionValue a = options.kind == AcquisitionKind::kLogEi
                                 ? LogExpectedImprovement(mean, stddev, options.best)
                                 : NegatedLowerConfidenceBound(mean, stddev, options.beta);
  // ∂σ/∂x = (∂v/∂x) / (2σ).
  if (gradient) *gradient = a.d_mean * mean_gradient + (a.d_stddev / (2.0 * stddev)) * variance_gradient;
  return a.value;
}

Eigen::VectorXd MaximizeAcquisition(const GaussianProcess& gp, const CubeLayout& layout,
                                    const Eigen::MatrixXd& incumbents, const AcquisitionOptions& options,
                                    SplitMix64& rng) {
  Eigen::MatrixXd candidates = Candidates(layout, incumbents, std::max(1, options.n_candidates), rng);
  if (layout.has_discrete) {
    for (Eigen::Index i = 0; i < candidates.rows(); ++i) {
      candidates.row(i) = layout.snap(candidates.row(i).transpose()).transpose();
    }
  }
  const Eigen::VectorXd scores = ScoreBatch(gp, options, candidates);
  std::vector<Eigen::Index> order(candidates.rows());
  std::iota(order.begin(), order.end(), 0);
  const size_t n_starts = std::min<size_t>(order.size(), static_cast<size_t>(std::max(0, options.n_local_search)));
  std::partial_sort(order.begin(), order.begin() + n_starts, order.end(),
                    [&](Eigen::Index a, Eigen::Index b) { return scores[a] > scores[b]; });

  Eigen::VectorXd best_x = candidates.row(order[0]).transpose();
  double best_value = scores[order[0]];
  if (!std::isfinite(best_value)) best_value = -std::numeric_limits<double>::infinity();
  for (size_t s = 0; s < n_starts; ++s) {
    Eigen::VectorXd x = candidates.row(order[s]).transpose();
    if (!layout.categoricals.empty()) EnumerateCategoricals(gp, layout, options, &x);
    if (!layout.continuous.empty()) RefineContinuous(gp, layout, options, &x);
    if (layout.has_discrete) x = layout.snap(x);
    const double value = layout.categoricals.empty() ? Acquisition(gp, options, x, nullptr)
                                                     : EnumerateCategoricals(gp, layout, options, &x);
    if (value > best_value) best_value = value, best_x = x;
  }
  return best_x;
}

}  // namespace dial::internal::gp
