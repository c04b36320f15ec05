// Matérn-5/2 GP regression: kernel, marginal likelihood and its gradient, hyperparameter fit, posterior.
#include "samplers/gp/gaussian_process.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>

#include "samplers/gp/lbfgsb.h"

namespace dial::internal::gp {
namespace {

constexpr double kSqrt5 = 2.2360679774997896964;
constexpr double kFiveThirds = 5.0 / 3.0;
constexpr double kLog2Pi = 1.8378770664093454836;
// Posterior variances below this (relative to σ²) are rounding noise: floor them so log σ stays finite.
constexpr double kMinRelativeVariance = 1e-12;
// Jitter tried on the diagonal, relative to σ², when K is not numerically positive definite.
constexpr double kFirstJitter = 1e-10;
constexpr double kJitterGrowth = 100.0;
constexpr int kJitterTries = 4;

// r²ᵢⱼ = Σ_d (aᵢ_d − bⱼ_d)² / ℓ_d², through |a|² + |b|² − 2 a bᵀ on inputs divided by ℓ (one matrix product).
Eigen::MatrixXd ScaledSquaredDistances(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b,
                                       const Eigen::VectorXd& inverse_lengthscales) {
  const Eigen::MatrixXd as = a * inverse_lengthscales.asDiagonal();
  const Eigen::MatrixXd bs = b * inverse_lengthscales.asDiagonal();
  Eigen::MatrixXd r2 = -2.0 * as * bs.transpose();
  r2.colwise() += as.rowwise().squaredNorm();
  r2.rowwise() += bs.rowwise().squaredNorm().transpose();
  return r2.cwiseMax(0.0);
}

}  // namespace

Eigen::VectorXd KernelParams::Pack() const {
  Eigen::VectorXd theta(log_lengthscales.size() + 2);
  theta.head(log_lengthscales.size()) = log_lengthscales;
  theta[log_lengthscales.size()] = log_signal_variance;
  theta[log_lengthscales.size() + 1] = log_noise_variance;
  return theta;
}

KernelParams KernelParams::Unpack(const Eigen::VectorXd& theta) {
  KernelParams p;
  const Eigen::Index d = theta.size() - 2;
  p.log_lengthscales = theta.head(d);
  p.log_signal_variance = theta[d];
  p.log_noise_variance = theta[d + 1];
  return p;
}

double Matern52(double r) { return (1.0 + kSqrt5 * r + kFiveThirds * r * r) * std::exp(-kSqrt5 * r); }

double Matern52GradientFactor(double r) { return kFiveThirds * (1.0 + kSqrt5 * r) * std::exp(-kSqrt5 * r); }

Eigen::MatrixXd KernelMatrix(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b, const KernelParams& params) {
  const Eigen::VectorXd inverse_lengthscales = (-params.log_lengthscales.array()).exp();
  const double signal = std::exp(params.log_signal_variance);
  return ScaledSquaredDistances(a, b, inverse_lengthscales).unaryExpr([signal](double r2) {
    return signal * Matern52(std::sqrt(r2));
  });
}

HyperPrior HyperPrior::WithNoiseFloor(double min_noise_variance) {
  HyperPrior prior;
  prior.min_log_noise_variance = std::log(min_noise_variance);
  return prior;
}

double HyperPrior::NegativeLogDensity(const Eigen::VectorXd& theta, Eigen::VectorXd* gradient) const {
  const Eigen::Index dims = theta.size() - 2;
  if (gradient) gradient->resize(theta.size());
  double value = 0.0;
  for (Eigen::Index d = 0; d < dims; ++d) {
    // a ℓ² + b ℓ⁻² with ℓ² = exp(2 log ℓ); d/d log ℓ = 2a ℓ² − 2b ℓ⁻².
    const double l2 = std::exp(2.0 * theta[d]);
    value += lengthscale_long_penalty * l2 + lengthscale_short_penalty / l2;
    if (gradient) (*gradient)[d] = 2.0 * (lengthscale_long_penalty * l2 - lengthscale_short_penalty / l2);
  }
  // r x − (k − 1) log x with x = exp(θ); d/dθ = r x − (k − 1).
  const double signal = std::exp(theta[dims]), noise = std::exp(theta[dims + 1]);
  value += signal_rate * signal - (signal_shape - 1.0) * theta[dims];
  value += noise_rate * noise - (noise_shape - 1.0) * theta[dims + 1];
  if (gradient) {
    (*gradient)[dims] = signal_rate * signal - (signal_shape - 1.0);
    (*gradient)[dims + 1] = noise_rate * noise - (noise_shape - 1.0);
  }
  return value;
}

KernelParams HyperPrior::Mode(int dims) const {
  KernelParams p;
  const double log_lengthscale = 0.25 * std::log(lengthscale_short_penalty / lengthscale_long_penalty);
  p.log_lengthscales =
      Eigen::VectorXd::Constant(dims, std::clamp(log_lengthscale, min_log_lengthscale, max_log_lengthscale));
  p.log_signal_variance =
      std::clamp(std::log((signal_shape - 1.0) / signal_rate), min_log_signal_variance, max_log_signal_variance);
  p.log_noise_variance =
      std::clamp(std::log((noise_shape - 1.0) / noise_rate), min_log_noise_variance, max_log_noise_variance);
  return p;
}

MarginalLikelihood::MarginalLikelihood(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, const HyperPrior& prior)
    : y_(y), prior_(prior) {
  const Eigen::Index n = x.rows();
  squared_differences_.reserve(x.cols());
  for (Eigen::Index d = 0; d < x.cols(); ++d) {
    Eigen::MatrixXd s(n, n);
    for (Eigen::Index j = 0; j < n; ++j) {
      s.col(j) = (x.col(d).array() - x(j, d)).square();
    }
    squared_differences_.push_back(std::move(s));
  }
}

double MarginalLikelihood::NegativeLogPosterior(const Eigen::VectorXd& theta, Eigen::VectorXd* gradient) const {
  const int dims = static_cast<int>(squared_differences_.size());
  const Eigen::Index n = y_.size();
  const Eigen::ArrayXd inverse_squared_lengthscales = (-2.0 * theta.head(dims).array()).exp();
  const double signal = std::exp(theta[dims]);
  const double noise = std::exp(theta[dims + 1]);

  Eigen::MatrixXd r2 = Eigen::MatrixXd::Zero(n, n);
  for (int d = 0; d < dims; ++d) r2 += inverse_squared_lengthscales[d] * squared_differences_[d];
  const Eigen::ArrayXXd r = r2.array().sqrt();
  const Eigen::ArrayXXd decay = (-kSqrt5 * r).exp();
  const Eigen::MatrixXd k_signal = (signal * (1.0 + kSqrt5 * r + kFiveThirds * r2.array()) * decay).matrix();
  Eigen::MatrixXd k = k_signal;
  k.diagonal().array() += noise;
  const Eigen::LLT<Eigen::MatrixXd> llt(k);
  if (llt.info() != Eigen::Success) return std::numeric_limits<double>::infinity();
  const Eigen::VectorXd alpha = llt.solve(y_);
  const double log_det = 2.0 * llt.matrixLLT().diagonal().array().log().sum();
  // −log p(y | X, θ) = ½ yᵀα + ½ log|K| + (n/2) log 2π.
  double value = 0.5 * y_.dot(alpha) + 0.5 * log_det + 0.5 * static_cast<double>(n) * kLog2Pi;
  Eigen::VectorXd prior_gradient;
  value += prior_.NegativeLogDensity(theta, gradient ? &prior_gradient : nullptr);
  if (!gradient) return value;

  // W = ααᵀ − K⁻¹; ∂ log p / ∂θⱼ = ½ Σᵢₖ Wᵢₖ (∂K/∂θⱼ)ᵢₖ with
  //   ∂K/∂ log ℓ_d = σ² (5/3)(1 + √5 r) e^{−√5 r} Δ_d² / ℓ_d²,  ∂K/∂ log σ² = K_signal,  ∂K/∂ log σ²_noise = σ²_noise
  //   I.
  Eigen::MatrixXd w = -llt.solve(Eigen::MatrixXd::Identity(n, n));
  w.noalias() += alpha * alpha.transpose();
  const Eigen::ArrayXXd weighted = w.array() * (signal * kFiveThirds * (1.0 + kSqrt5 * r) * decay);
  *gradient = prior_gradient;
  for (int d = 0; d < dims; ++d) {
    (*gradient)[d] -= 0.5 * inverse_squared_lengthscales[d] * (weighted * squared_differences_[d].array()).sum();
  }
  (*gradient)[dims] -= 0.5 * (w.array() * k_signal.array()).sum();
  (*gradient)[dims + 1] -= 0.5 * noise * w.trace();
  return value;
}

KernelParams FitKernelParams(const Eigen::MatrixXd& x, const Eigen::VectorXd& y, const HyperPrior& prior,
                             const std::vector<KernelParams>& starts, const FitOptions& options) {
  const int dims = static_cast<int>(x.cols());
  const MarginalLikelihood likelihood(x, y, prior);
  Eigen::VectorXd lower(dims + 2), upper(dims + 2);
  lower.head(dims).setConstant(prior.min_log_lengthscale);
  upper.head(dims).setConstant(prior.max_log_lengthscale);
  lower[dims] = prior.min_log_signal_variance, upper[dims] = prior.max_log_signal_variance;
  lower[dims + 1] = prior.min_log_noise_variance, upper[dims + 1] = prior.max_log_noise_variance;
  const ObjectiveWithGradient objective = [&](const Eigen::VectorXd& theta, Eigen::VectorXd* g) {
    return likelihood.NegativeLogPosterior(theta, g);
  };
  LbfgsOptions lbfgs;
  lbfgs.max_iterations = options.max_iterations;
  lbfgs.gradient_tolerance = 1e-4;
  lbfgs.relative_tolerance = 1e-7;
  KernelParams best = prior.Mode(dims);
  double best_value = std::numeric_limits<double>::infinity();
  for (const KernelParams& start : starts) {
    if (start.dims() != dims) continue;
    const LbfgsResult r = MinimizeLbfgsB(objective, start.Pack(), lower, upper, lbfgs);
    if (r.value < best_value) best_value = r.value, best = KernelParams::Unpack(r.x);
  }
  return best;
}

std::optional<GaussianProcess> GaussianProcess::Create(Eigen::MatrixXd x, Eigen::VectorXd y,
                                                       const KernelParams& params) {
  GaussianProcess gp;
  gp.x_ = std::move(x);
  gp.params_ = params;
  gp.inverse_squared_lengthscales_ = (-2.0 * params.log_lengthscales.array()).exp();
  const double signal = std::exp(params.log_signal_variance);
  Eigen::MatrixXd k = KernelMatrix(gp.x_, gp.x_, params);
  k.diagonal().array() += std::exp(params.log_noise_variance);
  double jitter = kFirstJitter * signal;
  for (int attempt = 0;; ++attempt) {
    gp.cholesky_.compute(k);
    if (gp.cholesky_.info() == Eigen::Success) break;
    if (attempt == kJitterTries) return std::nullopt;
    k.diagonal().array() += jitter;
    jitter *= kJitterGrowth;
  }
  gp.alpha_ = gp.cholesky_.solve(y);
  return gp;
}

void GaussianProcess::Predict(const Eigen::VectorXd& x, double* mean, double* variance, Eigen::VectorXd* mean_gradient,
                              Eigen::VectorXd* variance_gradient) const {
  const double signal = std::exp(params_.log_signal_variance);
  const Eigen::MatrixXd diff = (-x_).rowwise() + x.transpose();  // row i: x − xᵢ
  const Eigen::ArrayXd r = (diff.array().square().matrix() * inverse_squared_lengthscales_).array().sqrt();
  const Eigen::VectorXd k = (signal * r.unaryExpr([](double v) { return Matern52(v); })).matrix();
  const Eigen::VectorXd v = cholesky_.solve(k);  // K⁻¹ k(X, x)
  *mean = k.dot(alpha_);
  *variance = std::max(signal - k.dot(v), kMinRelativeVariance * signal);
  if (!mean_gradient && !variance_gradient) return;
  // ∂kᵢ/∂x = −A_i (x − xᵢ) / ℓ², A_i = σ² (5/3)(1 + √5 rᵢ) e^{−√5 rᵢ}.
  const Eigen::ArrayXd a = signal * r.unaryExpr([](double v) { return Matern52GradientFactor(v); });
  if (mean_gradient) {
    *mean_gradient = -(diff.transpose() * (a * alpha_.array()).matrix()).cwiseProduct(inverse_squared_lengthscales_);
  }
  if (variance_gradient) {  // ∂v/∂x = −2 Σᵢ (∂kᵢ/∂x) (K⁻¹k)ᵢ
    *variance_gradient =
        2.0 * (diff.transpose() * (a * v.array()).matrix()).cwiseProduct(inverse_squared_lengthscales_);
  }
}

void GaussianProcess::PredictBatch(const Eigen::MatrixXd& xs, Eigen::VectorXd* mean, Eigen::VectorXd* variance) const {
  const double signal = std::exp(params_.log_signal_variance);
  const Eigen::MatrixXd k = KernelMatrix(xs, x_, params_);  // m × n
  *mean = k * alpha_;
  const Eigen::MatrixXd v = cholesky_.matrixL().solve(k.transpose());  // L⁻¹ k(X, xs)
  *variance = (signal - v.colwise().squaredNorm().transpose().array()).cwiseMax(kMinRelativeVariance * signal);
}

}  // namespace dial::internal::gp
