// TPE's Parzen estimator; see parzen_estimator.h for what it models.
#include "samplers/tpe/parzen_estimator.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <variant>

#include "samplers/tpe/numpy_argsort.h"
#include "samplers/tpe/truncnorm.h"

namespace dial::internal::tpe {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kLogSqrt2Pi = 0.91893853320467274178;  // log √(2π)
// The smallest bandwidth when the magic clip is off, and Optuna's EPS.
constexpr double kMinSigmaWithoutClip = 1e-12;
// Magic clip: σ ≥ (high − low) / min(kMagicClipMaxDivisor, 1 + n_components).
constexpr double kMagicClipMaxDivisor = 100.0;
// exp(d) for d below this is subnormal or 0: negligible against the largest term (exp(0) = 1), and slow to compute.
constexpr double kNegligibleLogRatio = -708.0;
// Scott's-rule factor of multivariate TPE (the BOHB paper's bandwidth): σ₀ = 0.2 n^(−1/(d+4)).
constexpr double kSigma0Magnitude = 0.2;
// Default weights: the newest kFlatWeights observations weigh 1, older ones ramp up from 1/n.
constexpr int kFlatWeights = 25;
constexpr int kMaxGamma = 25;
constexpr double kGammaFraction = 0.1;

// exp(d) for d ∈ [kNegligibleLogRatio, 0], to within 2 ulp, written so the compiler can vectorise a loop of it:
// d = k ln 2 + r with |r| ≤ ln 2 / 2 (Cody–Waite: ln 2 split in a high part exact in k·ln2_hi and a low part),
// e^r by its Taylor polynomial to r¹³ (truncation error < 5e-18 there), then 2^k from the exponent bits.
inline double ExpNonPositive(double d) {
  constexpr double kLog2e = 1.4426950408889634074;
  constexpr double kLn2Hi = 6.93147180369123816490e-01;
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  constexpr double kRoundMagic = 0x1.8p52;  // adding it rounds to an integer kept in the low mantissa bits
  const double shifted = d * kLog2e + kRoundMagic;
  const double k = shifted - kRoundMagic;
  const double r = (d - k * kLn2Hi) - k * kLn2Lo;
  double p = 1.0 / 6227020800.0;  // 1/13!
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  // 2^k for k ∈ [−1022, 0]: the biased exponent k + 1023 in bits 52–62; k is in shifted's low bits.
  const int64_t k_bits = std::bit_cast<int64_t>(shifted) - std::bit_cast<int64_t>(kRoundMagic);
  return p * std::bit_cast<double>((k_bits + 1023) << 52);
}

// log Σᵢ exp(vᵢ), stable for any magnitudes; −inf when every vᵢ is −inf. Overwrites v with exp(vᵢ − max).
double LogSumExp(double* v, int n) {
  double max = -kInf;
  for (int i = 0; i < n; ++i) max = v[i] > max ? v[i] : max;
  if (max == -kInf || !std::isfinite(max)) return max;
  // Terms below e^−708 relative to the largest (which contributes 1) are clamped there: they add < 1e-300 each.
  // An element-wise pass (vectorised), then the sum in four lanes.
  for (int i = 0; i < n; ++i) {
    const double d = v[i] - max;
    v[i] = ExpNonPositive(d > kNegligibleLogRatio ? d : kNegligibleLogRatio);
  }
  double lanes[4] = {0.0, 0.0, 0.0, 0.0};
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    for (int l = 0; l < 4; ++l) lanes[l] += v[i + l];
  }
  for (; i < n; ++i) lanes[0] += v[i];
  return max + std::log((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]));
}

}  // namespace

int DefaultGamma(int n) {
  return std::min(static_cast<int>(std::ceil(kGammaFraction * static_cast<double>(n))), kMaxGamma);
}

std::vector<double> DefaultWeights(int n) {
  if (n <= 0) return {};
  std::vector<double> w(n, 1.0);
  if (n < kFlatWeights) return w;
  // numpy's linspace(1/n, 1, n − 25): start + k·step, with the last point set to exactly 1.
  const int ramp = n - kFlatWeights;
  const double start = 1.0 / n;
  const double step = ramp > 1 ? (1.0 - start) / (ramp - 1) : 0.0;
  for (int k = 0; k < ramp; ++k) w[k] = start + k * step;
  if (ramp > 1) w[ramp - 1] = 1.0;
  return w;
}

void ParzenEstimator::Fit(const std::vector<Distribution>& space, const std::vector<double>& observations,
                          const std::vector<double>& weights, const ParzenOptions& options) {
  const int d = static_cast<int>(space.size());
  assert(d > 0);
  n_observations_ = d > 0 ? static_cast<int>(observations.size()) / d : 0;
  assert(static_cast<int>(weights.size()) == n_observations_);
  has_prior_ = options.consider_prior || n_observations_ == 0;
  const int m = n_observations_ + (has_prior_ ? 1 : 0);

  // Mixture weights: the observations' then the prior's, normalised to sum 1.
  weights_.assign(m, 0.0);
  std::copy(weights.begin(), weights.end(), weights_.begin());
  if (has_prior_) weights_[m - 1] = options.prior_weight;
  const double total = std::accumulate(weights_.begin(), weights_.end(), 0.0);
  for (double& w : weights_) w /= total;
  cumulative_weights_.resize(m);
  std::partial_sum(weights_.begin(), weights_.end(), cumulative_weights_.begin());

  // Scott's rule, only for multivariate: σ₀ = 0.2 · max(n, 1)^(−1/(d + 4)).
  const double sigma0 = kSigma0Magnitude * std::pow(static_cast<double>(std::max(n_observations_, 1)), -1.0 / (d + 4));

  dims_.resize(d);
  std::vector<double>& column = column_;
  column.resize(n_observations_);
  for (int j = 0; j < d; ++j) {
    Dim& dim = dims_[j];
    dim.dist = space[j];
    dim.kind = Kind::kContinuous;
    dim.log = dim.round_exp = false;
    for (int i = 0; i < n_observations_; ++i) column[i] = observations[static_cast<size_t>(i) * d + j];
    if (const auto* c = std::get_if<CategoricalDistribution>(&space[j])) {
      dim.kind = Kind::kCategorical;
      dim.n_choices = static_cast<int>(c->choices.size());
      FitCategorical(dim, column, options);
      continue;
    }
    // Kernel support ("Parzen bounds"): log scale for log parameters; a grid widened by half a step each side.
    if (const auto* f = std::get_if<FloatDistribution>(&space[j])) {
      if (f->log) {
        dim.log = true;
        dim.low = std::log(f->low), dim.high = std::log(f->high);
      } else if (f->step) {
        dim.kind = Kind::kGrid;
        dim.step = *f->step;
        dim.grid_low = f->low, dim.grid_high = f->high;
        dim.low = f->low - 0.5 * dim.step, dim.high = f->high + 0.5 * dim.step;
      } else {
        dim.low = f->low, dim.high = f->high;
      }
    } else {
      const auto& i = std::get<IntDistribution>(space[j]);
      if (i.log) {
        // Optuna models int log parameters with a continuous kernel on [log(low − ½), log(high + ½)] and
        // rounds exp(s) when sampling.
        dim.log = true;
        dim.round_exp = true;
        dim.grid_low = static_cast<double>(i.low), dim.grid_high = static_cast<double>(i.high);
        dim.low = std::log(static_cast<double>(i.low) - 0.5), dim.high = std::log(static_cast<double>(i.high) + 0.5);
      } else {
        dim.kind = Kind::kGrid;
        dim.step = static_cast<double>(i.step);
        dim.grid_low = static_cast<double>(i.low), dim.grid_high = static_cast<double>(i.high);
        dim.low = dim.grid_low - 0.5 * dim.step, dim.high = dim.grid_high + 0.5 * dim.step;
      }
    }
    for (double& v : column) v = ToKernelScale(dim, v);
    FitNumerical(dim, column, options, options.multivariate ? sigma0 : 0.0);
  }

  // Per-component constants of the log density: log wᵢ − Σ_numerical log Zᵢ − Σ_continuous (log σᵢ + log √(2π)).
  log_weights_plus_constants_.resize(m);
  for (int i = 0; i < m; ++i) {
    double c = std::log(weights_[i]);
    for (const Dim& dim : dims_) {
      if (dim.kind == Kind::kCategorical) continue;
      c -= dim.log_mass[i];
      if (dim.kind == Kind::kContinuous) c -= (options.unscaled_kernels ? 0.0 : std::log(dim.sigma[i])) + kLogSqrt2Pi;
    }
    log_weights_plus_constants_[i] = c;
  }

  // One categorical parameter alone: p(k) = Σᵢ wᵢ pᵢ(k) is a table computed once.
  univariate_categorical_log_pdf_.clear();
  if (d == 1 && dims_[0].kind == Kind::kCategorical) {
    const Dim& dim = dims_[0];
    std::vector<double> p(dim.n_choices, 0.0);
    for (int i = 0; i < m; ++i) {
      if (dim.observed[i] < 0) {
        for (double& v : p) v += weights_[i] / dim.n_choices;
      } else {
        for (double& v : p) v += weights_[i] * dim.p_other;
        p[dim.observed[i]] += weights_[i] * (dim.p_observed - dim.p_other);
      }
    }
    univariate_categorical_log_pdf_.resize(dim.n_choices);
    for (int k = 0; k < dim.n_choices; ++k) univariate_categorical_log_pdf_[k] = std::log(p[k]);
  }
}

double ParzenEstimator::ToKernelScale(const Dim& dim, double internal) const {
  return dim.log ? std::log(internal) : internal;
}

double ParzenEstimator::FromKernelScale(const Dim& dim, double s) const {
  if (dim.kind == Kind::kGrid) {
    // Nearest grid point (ties to even, as numpy's round), kept on the grid's range.
    const double k = std::nearbyint((s - dim.grid_low) / dim.step);
    return std::clamp(dim.grid_low + k * dim.step, dim.grid_low, dim.grid_high);
  }
  if (dim.round_exp) return std::clamp(std::nearbyint(std::exp(s)), dim.grid_low, dim.grid_high);
  const auto& f = std::get<FloatDistribution>(dim.dist);
  return std::clamp(dim.log ? std::exp(s) : s, f.low, f.high);
}

void ParzenEstimator::FitNumerical(Dim& dim, const std::vector<double>& values, const ParzenOptions& options,
                                   double sigma0) {
  const int n = n_observations_;
  const int m = n + (has_prior_ ? 1 : 0);
  const double range = dim.high - dim.low;
  dim.mu.assign(values.begin(), values.end());
  if (has_prior_) dim.mu.push_back(0.5 * (dim.low + dim.high));
  dim.sigma.assign(m, 0.0);

  if (options.multivariate) {
    std::fill(dim.sigma.begin(), dim.sigma.end(), sigma0 * range);
  } else {
    // Each kernel's bandwidth is the larger gap to its neighbours among the sorted centres (the prior's included),
    // with the range ends as outer neighbours. Without consider_endpoints, the outermost centres use their inner
    // gap only (when there are at least two centres).
    // Sorted as numpy's argsort sorts them: tied centres (ints) get their bandwidths in Optuna's order.
    std::vector<int>& order = order_;
    NumpyArgsort(dim.mu, &order);
    std::vector<double>& sorted = sorted_;
    sorted.resize(m + 2);
    sorted[0] = dim.low;
    for (int k = 0; k < m; ++k) sorted[k + 1] = dim.mu[order[k]];
    sorted[m + 1] = dim.high;
    for (int k = 0; k < m; ++k) {
      double s = std::max(sorted[k + 1] - sorted[k], sorted[k + 2] - sorted[k + 1]);
      if (!options.consider_endpoints && m >= 2) {
        if (k == 0) s = sorted[2] - sorted[1];
        if (k == m - 1) s = sorted[m] - sorted[m - 1];
      }
      dim.sigma[order[k]] = s;
    }
  }
  // Clip to [σ_min, high − low]; σ_min = (high − low) / min(100, 1 + m) with the magic clip.
  const double max_sigma = range;
  const double min_sigma = options.consider_magic_clip
                               ? range / std::min(kMagicClipMaxDivisor, 1.0 + static_cast<double>(m))
                               : kMinSigmaWithoutClip;
  for (double& s : dim.sigma) s = std::clamp(s, min_sigma, max_sigma);
  if (has_prior_) dim.sigma[m - 1] = range;  // the prior spans the whole range

  dim.inv_sigma.resize(m);
  dim.log_mass.resize(m);
  for (int i = 0; i < m; ++i) {
    dim.inv_sigma[i] = 1.0 / dim.sigma[i];
    dim.log_mass[i] = LogGaussMass((dim.low - dim.mu[i]) * dim.inv_sigma[i], (dim.high - dim.mu[i]) * dim.inv_sigma[i]);
  }
}

void ParzenEstimator::FitCategorical(Dim& dim, const std::vector<double>& values, const ParzenOptions& options) {
  // Optuna's kernel: every choice gets prior_weight / n' (n' = n + 1 with the prior, n without), the observed
  // choice 1 more, then the row is normalised. The prior component is uniform.
  const int n = n_observations_;
  const int c = dim.n_choices;
  const double base = options.prior_weight / (has_prior_ ? n + 1 : n);
  const double row_total = c * base + 1.0;
  dim.p_other = base / row_total;
  dim.p_observed = (base + 1.0) / row_total;
  dim.log_other = std::log(dim.p_other);
  dim.log_observed = std::log(dim.p_observed);
  dim.log_prior = -std::log(static_cast<double>(c));
  dim.observed.resize(n + (has_prior_ ? 1 : 0));
  for (int i = 0; i < n; ++i) {
    const int k = static_cast<int>(values[i]);
    dim.observed[i] = k >= 0 && k < c ? k : 0;
  }
  if (has_prior_) dim.observed[n] = -1;
}

double ParzenEstimator::CategoricalProbability(int dim, int component, int choice) const {
  const Dim& d = dims_[dim];
  if (d.observed[component] < 0) return 1.0 / d.n_choices;
  return d.observed[component] == choice ? d.p_observed : d.p_other;
}

void ParzenEstimator::Sample(SplitMix64& rng, int size, std::vector<double>* out) const {
  const int d = dims();
  const int m = n_components();
  out->resize(static_cast<size_t>(size) * d);
  for (int s = 0; s < size; ++s) {
    // The component: inverse CDF of the mixture weights.
    const double u = UniformUnit(rng) * cumulative_weights_.back();
    int active = static_cast<int>(std::upper_bound(cumulative_weights_.begin(), cumulative_weights_.end(), u) -
                                  cumulative_weights_.begin());
    active = std::min(active, m - 1);
    for (int j = 0; j < d; ++j) {
      const Dim& dim = dims_[j];
      double& x = (*out)[static_cast<size_t>(s) * d + j];
      const double v = UniformUnit(rng);
      if (dim.kind == Kind::kCategorical) {
        // The first choice whose cumulative probability reaches v.
        int k = 0;
        double cumulative = 0.0;
        for (; k < dim.n_choices - 1; ++k) {
          cumulative += CategoricalProbability(j, active, k);
          if (cumulative >= v) break;
        }
        x = k;
        continue;
      }
      const double mu = dim.mu[active], sigma = dim.sigma[active];
      const double z = TruncNormPpf(v, (dim.low - mu) / sigma, (dim.high - mu) / sigma);
      x = FromKernelScale(dim, std::clamp(mu + sigma * z, dim.low, dim.high));
    }
  }
}

void ParzenEstimator::LogPdf(const std::vector<double>& points, int size, std::vector<double>* out) const {
  const int d = dims();
  const int m = n_components();
  out->resize(size);
  if (!univariate_categorical_log_pdf_.empty()) {
    for (int s = 0; s < size; ++s) {
      const int k = static_cast<int>(points[s]);
      (*out)[s] = k >= 0 && k < dims_[0].n_choices ? univariate_categorical_log_pdf_[k] : -kInf;
    }
    return;
  }
  scratch_.resize(m);
  double* acc = scratch_.data();
  for (int s = 0; s < size; ++s) {
    const double* x = &points[static_cast<size_t>(s) * d];
    // One parameter: a value already seen among the points has the same density.
    if (d == 1) {
      int same = 0;
      while (same < s && points[same] != x[0]) ++same;
      if (same < s) {
        (*out)[s] = (*out)[same];
        continue;
      }
    }
    std::copy(log_weights_plus_constants_.begin(), log_weights_plus_constants_.end(), acc);
    for (int j = 0; j < d; ++j) {
      const Dim& dim = dims_[j];
      const double* mu = dim.mu.data();
      const double* inv_sigma = dim.inv_sigma.data();
      switch (dim.kind) {
        case Kind::kContinuous: {
          // log N(s; μᵢ, σᵢ) truncated = −½ ((s − μᵢ)/σᵢ)² + the constants folded in above.
          const double v = ToKernelScale(dim, x[j]);
          if (v < dim.low || v > dim.high) {
            std::fill(acc, acc + m, -kInf);
            break;
          }
          for (int i = 0; i < m; ++i) {
            const double z = (v - mu[i]) * inv_sigma[i];
            acc[i] -= 0.5 * z * z;
          }
          break;
        }
        case Kind::kGrid: {
          // The kernel's mass over the grid cell [x − step/2, x + step/2] ∩ [low, high].
          const double lower = std::max(x[j] - 0.5 * dim.step, dim.low);
          const double upper = std::min(x[j] + 0.5 * dim.step, dim.high);
          for (int i = 0; i < m; ++i)
            acc[i] += LogGaussMass((lower - mu[i]) * inv_sigma[i], (upper - mu[i]) * inv_sigma[i]);
          break;
        }
        case Kind::kCategorical: {
          const int k = static_cast<int>(x[j]);
          for (int i = 0; i < m; ++i) {
            const int o = dim.observed[i];
            acc[i] += o < 0 ? dim.log_prior : (o == k ? dim.log_observed : dim.log_other);
          }
          break;
        }
      }
    }
    (*out)[s] = LogSumExp(acc, m);
  }
}

}  // namespace dial::internal::tpe
