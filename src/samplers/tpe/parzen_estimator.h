// The Parzen estimator of TPE: a weighted mixture with one kernel per observation (plus a prior kernel), over one
// parameter (univariate TPE) or several jointly (multivariate TPE). Numerical parameters get truncated-normal
// kernels on their (log-)scale, stepped and integer ones the kernel's mass over the grid cell, categorical ones
// a smoothed one-hot kernel. This is Optuna 3.1's _ParzenEstimator, rewritten for speed: every per-component
// constant is computed once, and the mixture log-density is a tight loop over components.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "dial/distribution.h"
#include "util/random.h"

namespace dial::internal::tpe {

// Optuna's default split size: the number of "good" observations among n, γ(n) = min(⌈0.1 n⌉, 25).
int DefaultGamma(int n);

// Optuna's default observation weights, oldest first: 1 for all when n < 25; otherwise the 25 newest get 1 and
// the n − 25 older ones a ramp linspace(1/n, 1, n − 25), so old trials fade out.
std::vector<double> DefaultWeights(int n);

struct ParzenOptions {
  bool consider_prior = true;  // add a wide kernel at the centre of the range (always when there is no observation)
  double prior_weight = 1.0;   // its weight, relative to the observations' weights
  bool consider_magic_clip = true;  // smallest bandwidth (high − low) / min(100, 1 + n_components), else 1e-12
  bool consider_endpoints = false;  // let the first and last observation's bandwidth reach the range ends
  // Bandwidths: false (univariate TPE) from the gaps between neighbouring observations; true (multivariate TPE)
  // from Scott's rule, σ = 0.2 n^(−1/(d+4)) (high − low).
  bool multivariate = false;
  // Optuna 3.1's continuous kernels omit the 1/σ of the normal density (its _truncnorm.logpdf drops the scale), so
  // wide kernels count for more than they should. True reproduces that; false uses the true density.
  bool unscaled_kernels = false;
};

class ParzenEstimator {
 public:
  ParzenEstimator() = default;
  // Fit(space, observations, weights, options).
  ParzenEstimator(const std::vector<Distribution>& space, const std::vector<double>& observations,
                  const std::vector<double>& weights, const ParzenOptions& options) {
    Fit(space, observations, weights, options);
  }

  // Builds the mixture. `space`: the d parameters' distributions. `observations`: n rows of d internal values,
  // row-major. `weights`: n non-negative observation weights (normalised here, together with the prior's). A
  // refit reuses the memory of the previous one.
  void Fit(const std::vector<Distribution>& space, const std::vector<double>& observations,
           const std::vector<double>& weights, const ParzenOptions& options);

  int dims() const { return static_cast<int>(dims_.size()); }
  // Observations, plus one when the prior is included (the prior is the last component).
  int n_components() const { return static_cast<int>(weights_.size()); }
  // Normalised mixture weights.
  const std::vector<double>& weights() const { return weights_; }
  // Kernel centres and bandwidths of a numerical dimension, on its (log-)scale; its kernels' support.
  const std::vector<double>& mus(int dim) const { return dims_[dim].mu; }
  const std::vector<double>& sigmas(int dim) const { return dims_[dim].sigma; }
  double low(int dim) const { return dims_[dim].low; }
  double high(int dim) const { return dims_[dim].high; }
  // The probability that component `component` gives to choice `choice` of a categorical dimension.
  double CategoricalProbability(int dim, int component, int choice) const;

  // Draws `size` points from the mixture; `out` gets size × d internal values (on the grid, inside the
  // distributions), row-major.
  void Sample(SplitMix64& rng, int size, std::vector<double>* out) const;
  // The mixture's log density (log mass on grid cells for stepped and integer dimensions, log probability for
  // categorical ones) at each of the `size` rows of `points` (internal values), into `out`. Not thread-safe
  // (it reuses scratch space).
  void LogPdf(const std::vector<double>& points, int size, std::vector<double>* out) const;

 private:
  enum class Kind { kContinuous, kGrid, kCategorical };
  struct Dim {
    Kind kind = Kind::kContinuous;
    Distribution dist;
    bool log = false;                    // the kernels live on log(x)
    bool round_exp = false;              // an int log parameter: x = round(exp(s))
    double low = 0, high = 0;            // kernel support on the kernels' scale (grids widened by half a step)
    double step = 0;                     // grid dimensions: the grid spacing
    double grid_low = 0, grid_high = 0;  // grid dimensions: first and last grid point
    // Numerical: per component.
    std::vector<double> mu, sigma, inv_sigma;
    std::vector<double> log_mass;  // log(Φ(b) − Φ(a)) of the component over [low, high]
    // Categorical: the component's observed choice (−1 for the prior) and its log probabilities.
    int n_choices = 0;
    std::vector<int> observed;
    double log_other = 0, log_observed = 0, log_prior = 0;
    double p_other = 0, p_observed = 0;
  };

  double ToKernelScale(const Dim& dim, double internal) const;
  double FromKernelScale(const Dim& dim, double s) const;
  void FitNumerical(Dim& dim, const std::vector<double>& values, const ParzenOptions& options, double sigma0);
  void FitCategorical(Dim& dim, const std::vector<double>& values, const ParzenOptions& options);

  int n_observations_ = 0;
  bool has_prior_ = false;
  std::vector<Dim> dims_;
  std::vector<double> weights_;
  std::vector<double> cumulative_weights_;
  std::vector<double> log_weights_plus_constants_;      // log w_i − Σ_continuous (log σ_i + log √(2π) + log Z_i)
  std::vector<double> univariate_categorical_log_pdf_;  // d = 1 categorical: log p(choice) per choice
  std::vector<double> column_;
  std::vector<int> order_;
  std::vector<double> sorted_;
  mutable std::vector<double> scratch_;
};

}  // namespace dial::internal::tpe
