// The Gaussian-process model of the GP sampler: a Matérn-5/2 kernel with one lengthscale per input (ARD) on the
// unit cube, fitted by maximising the log marginal likelihood (with weak priors) over its hyperparameters, and the
// posterior it implies, with gradients in the input for acquisition maximisation.
//
// Outputs are expected standardised (mean 0, variance 1): the prior mean is the constant 0.
#pragma once

#include <Eigen/Dense>
#include <cstdint>
#include <optional>
#include <vector>

namespace dial::internal::gp {

// k(x, x') = σ² m(r), m(r) = (1 + √5 r + 5r²/3) exp(−√5 r), r² = Σᵢ (xᵢ − x'ᵢ)² / ℓᵢ²; observations add
// σ²_noise on the diagonal. Every hyperparameter is kept as its log, and packed for the optimiser as
// θ = (log ℓ₁, …, log ℓ_D, log σ², log σ²_noise).
struct KernelParams {
  Eigen::VectorXd log_lengthscales;
  double log_signal_variance = 0.0;
  double log_noise_variance = -9.0;

  int dims() const { return static_cast<int>(log_lengthscales.size()); }
  Eigen::VectorXd Pack() const;
  static KernelParams Unpack(const Eigen::VectorXd& theta);
};

// m(r) with unit variance.
double Matern52(double r);
// −m'(r) / r = (5/3)(1 + √5 r) exp(−√5 r): finite at r = 0, the factor every derivative of k shares, since
// ∂k/∂xᵢ = −σ² (5/3)(1 + √5 r) e^{−√5 r} (xᵢ − x'ᵢ) / ℓᵢ².
double Matern52GradientFactor(double r);

// The kernel matrix k(aᵢ, bⱼ) for the rows of a and b, without noise.
Eigen::MatrixXd KernelMatrix(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, const KernelParams& params);

// Priors on the hyperparameters and the box the fit searches. Each prior is from the Gamma family, written as the
// penalty −log p it adds (constants dropped):
//   lengthscales: a ℓ² + b / ℓ² per coordinate (a Gamma-like prior on 1/ℓ²): mode ℓ = (b/a)^¼, steep against
//     lengthscales far below or above it, which stops the fit explaining a few points by a spike or everything by
//     one flat trend;
//   signal variance: r σ² − (k − 1) log σ², a Gamma(k, r) density: mode (k − 1)/r;
//   noise variance: r η − (k − 1) log η, Gamma(k, r) with a large rate: nearly flat for small η and costly as η
//     grows, so deterministic structure is not written off as noise when few points are seen.
struct HyperPrior {
  double lengthscale_long_penalty = 0.1;   // a
  double lengthscale_short_penalty = 0.1;  // b
  double signal_shape = 2.0;
  double signal_rate = 1.0;
  double noise_shape = 1.1;
  double noise_rate = 30.0;
  double min_log_lengthscale = -4.6;      // ℓ ≥ 0.01
  double max_log_lengthscale = 6.9;       // ℓ ≤ 1000
  double min_log_signal_variance = -6.9;  // σ² ≥ 1e-3
  double max_log_signal_variance = 4.6;   // σ² ≤ 100
  double min_log_noise_variance = -13.8;  // the noise floor: 1e-6 of the standardised variance
  double max_log_noise_variance = 0.0;

  static HyperPrior WithNoiseFloor(double min_noise_variance);
  // −log p(θ) and, when non-null, its gradient in θ.
  double NegativeLogDensity(const Eigen::VectorXd& theta, Eigen::VectorXd* gradient) const;
  // The prior's mode for `dims` inputs (within the box): where a fit starts when nothing better is known.
  KernelParams Mode(int dims) const;
};

// −log p(y | X, θ) − log p(θ), with log p(y | X, θ) = −½ yᵀK⁻¹y − ½ log|K| − (n/2) log 2π, and its gradient in θ:
// ∂ log p(y | X, θ) / ∂θⱼ = ½ tr((ααᵀ − K⁻¹) ∂K/∂θⱼ), α = K⁻¹y. Precomputes the pairwise squared differences of X
// once so each evaluation costs one Cholesky factorisation and inverse, O(n³), plus O(n² D).
class MarginalLikelihood {
 public:
  MarginalLikelihood(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, const HyperPrior& prior);
  // +inf when K is not positive definite. `gradient` may be null.
  double NegativeLogPosterior(const Eigen::VectorXd& theta, Eigen::VectorXd* gradient) const;

 private:
  Eigen::VectorXd y_;
  HyperPrior prior_;
  std::vector<Eigen::MatrixXd> squared_differences_;  // one n × n matrix per input dimension
};

struct FitOptions {
  int max_iterations = 100;  // L-BFGS iterations per start
};

// The θ with the least NegativeLogPosterior found by L-BFGS-B (within the prior's box) from each start.
KernelParams FitKernelParams(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, const HyperPrior& prior,
                             const std::vector<KernelParams>& starts, const FitOptions& options);

// The posterior of f given noisy observations y at the rows of X, for fixed hyperparameters.
class GaussianProcess {
 public:
  // nullopt when K is not positive definite even after adding jitter.
  static std::optional<GaussianProcess> Create(Eigen::MatrixXd x, Eigen::VectorXd y, const KernelParams& params);

  // Posterior mean μ(x) = k(x, X) α and variance v(x) = σ² − k(x, X) K⁻¹ k(X, x) of the latent f (no noise),
  // the variance floored at a tiny positive value; gradients in x when the pointers are non-null.
  void Predict(const Eigen::VectorXd& x, double* mean, double* variance, Eigen::VectorXd* mean_gradient = nullptr,
               Eigen::VectorXd* variance_gradient = nullptr) const;
  // Mean and variance for each row of xs.
  void PredictBatch(const Eigen::MatrixXd& xs, Eigen::VectorXd* mean, Eigen::VectorXd* variance) const;

  const KernelParams& params() const { return params_; }
  int size() const { return static_cast<int>(x_.rows()); }

 private:
  GaussianProcess() = default;
  Eigen::MatrixXd x_;
  KernelParams params_;
  Eigen::VectorXd inverse_squared_lengthscales_;
  Eigen::LLT<Eigen::MatrixXd> cholesky_;
  Eigen::VectorXd alpha_;  // K⁻¹ y
};

}  // namespace dial::internal::gp
