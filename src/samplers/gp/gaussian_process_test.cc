// Tests of the GP model: the posterior on a case worked out by hand, the kernel's and the marginal likelihood's
// gradients against finite differences, and hyperparameter fits that recover what the data say.
#include "samplers/gp/gaussian_process.h"

#include <gtest/gtest.h>

#include <cmath>

#include "util/random.h"

namespace dial::internal::gp {
namespace {

constexpr double kFiniteDifferenceStep = 1e-6;

KernelParams Params(std::vector<double> log_lengthscales, double log_signal, double log_noise) {
  KernelParams p;
  p.log_lengthscales = Eigen::Map<Eigen::VectorXd>(log_lengthscales.data(), log_lengthscales.size());
  p.log_signal_variance = log_signal;
  p.log_noise_variance = log_noise;
  return p;
}

Eigen::MatrixXd RandomMatrix(int rows, int cols, uint64_t seed) {
  SplitMix64 rng(seed);
  Eigen::MatrixXd m(rows, cols);
  for (int i = 0; i < rows; ++i) {
    for (int j = 0; j < cols; ++j) m(i, j) = UniformUnit(rng);
  }
  return m;
}

TEST(Matern52Test, ValuesAtKnownDistances) {
  // m(r) = (1 + √5 r + 5r²/3) e^{−√5 r}: m(0) = 1; m(1) = (1 + 2.2360680 + 1.6666667) × 0.1068779 = 0.5239941.
  EXPECT_DOUBLE_EQ(Matern52(0.0), 1.0);
  EXPECT_NEAR(Matern52(1.0), 0.5239941088318203, 1e-14);
  // The gradient factor is −m'(r)/r: compare with a central difference of m.
  for (double r : {0.1, 0.7, 2.5}) {
    const double h = 1e-6;
    const double derivative = (Matern52(r + h) - Matern52(r - h)) / (2 * h);
    EXPECT_NEAR(Matern52GradientFactor(r), -derivative / r, 1e-8) << "r = " << r;
  }
}

// Two observations in 1-d at x = 0 and 0.5 with y = (1, −1); ℓ = 0.5, σ² = 1, σ²_noise = 0.01.
//   k(0, 0.5) = m(1) = c = 0.5239941088, so K = [[1.01, c], [c, 1.01]].
//   K's eigenvectors are (1, 1) (eigenvalue 1.01 + c = 1.5339941) and (1, −1) (eigenvalue 1.01 − c = 0.4860059).
//   y = (1, −1) is the second, so α = K⁻¹y = y / 0.4860059 = (2.0575882, −2.0575882).
// At x* = 0.25: k* = (m(0.5), m(0.5)) = (0.8286491, 0.8286491), along (1, 1):
//   μ = k*·α = 0 (by symmetry), v = 1 − 2 × 0.8286491² / 1.5339941 = 0.1047431.
// At x* = 1: k* = (m(2), m(1)) = (0.1386602, 0.5239941) = s(1, 1) + a(1, −1), s = 0.3313272, a = −0.1926670:
//   μ = 2a × 2.0575882 = −0.7928585, v = 1 − 2s²/1.5339941 − 2a²/0.4860059 = 0.7041158.
TEST(GaussianProcessTest, PosteriorMatchesHandComputedCase) {
  Eigen::MatrixXd x(2, 1);
  x << 0.0, 0.5;
  Eigen::VectorXd y(2);
  y << 1.0, -1.0;
  auto gp = GaussianProcess::Create(x, y, Params({std::log(0.5)}, 0.0, std::log(0.01)));
  ASSERT_TRUE(gp.has_value());
  double mean = 0, variance = 0;
  gp->Predict(Eigen::VectorXd::Constant(1, 0.25), &mean, &variance);
  EXPECT_NEAR(mean, 0.0, 1e-12);
  EXPECT_NEAR(variance, 0.1047431, 1e-7);
  gp->Predict(Eigen::VectorXd::Constant(1, 1.0), &mean, &variance);
  EXPECT_NEAR(mean, -0.7928585, 1e-7);
  EXPECT_NEAR(variance, 0.7041158, 1e-7);

  Eigen::MatrixXd xs(2, 1);
  xs << 0.25, 1.0;
  Eigen::VectorXd means, variances;
  gp->PredictBatch(xs, &means, &variances);
  EXPECT_NEAR(means[0], 0.0, 1e-12);
  EXPECT_NEAR(variances[0], 0.1047431, 1e-7);
  EXPECT_NEAR(means[1], -0.7928585, 1e-7);
  EXPECT_NEAR(variances[1], 0.7041158, 1e-7);
}

TEST(GaussianProcessTest, KernelGradientMatchesFiniteDifferences) {
  const KernelParams p = Params({std::log(0.3), std::log(1.5), std::log(0.8)}, std::log(2.0), std::log(1e-3));
  const Eigen::MatrixXd b = RandomMatrix(1, 3, 1);
  Eigen::VectorXd x(3);
  x << 0.2, 0.9, 0.45;
  // ∂k/∂x_d = −σ² (5/3)(1 + √5 r) e^{−√5 r} (x_d − b_d) / ℓ_d².
  const double signal = std::exp(p.log_signal_variance);
  const double r =
      std::sqrt(((x.transpose() - b).array().square() * (-2.0 * p.log_lengthscales.array()).exp().transpose()).sum());
  for (int d = 0; d < 3; ++d) {
    Eigen::MatrixXd plus = x.transpose(), minus = x.transpose();
    plus(0, d) += kFiniteDifferenceStep;
    minus(0, d) -= kFiniteDifferenceStep;
    const double numeric =
        (KernelMatrix(plus, b, p)(0, 0) - KernelMatrix(minus, b, p)(0, 0)) / (2 * kFiniteDifferenceStep);
    const double analytic =
        -signal * Matern52GradientFactor(r) * (x[d] - b(0, d)) * std::exp(-2.0 * p.log_lengthscales[d]);
    EXPECT_NEAR(analytic, numeric, 1e-7) << "d = " << d;
  }
}

TEST(GaussianProcessTest, PosteriorGradientsMatchFiniteDifferences) {
  const Eigen::MatrixXd x = RandomMatrix(12, 3, 2);
  Eigen::VectorXd y(12);
  for (int i = 0; i < 12; ++i) y[i] = std::sin(5 * x(i, 0)) + x(i, 1) * x(i, 2);
  auto gp = GaussianProcess::Create(x, y, Params({std::log(0.4), std::log(0.7), std::log(1.1)}, 0.3, -6.0));
  ASSERT_TRUE(gp.has_value());
  Eigen::VectorXd at(3);
  at << 0.31, 0.62, 0.17;
  double mean = 0, variance = 0;
  Eigen::VectorXd mean_gradient, variance_gradient;
  gp->Predict(at, &mean, &variance, &mean_gradient, &variance_gradient);
  for (int d = 0; d < 3; ++d) {
    Eigen::VectorXd plus = at, minus = at;
    plus[d] += kFiniteDifferenceStep;
    minus[d] -= kFiniteDifferenceStep;
    double mp, vp, mm, vm;
    gp->Predict(plus, &mp, &vp);
    gp->Predict(minus, &mm, &vm);
    EXPECT_NEAR(mean_gradient[d], (mp - mm) / (2 * kFiniteDifferenceStep), 1e-6) << "d = " << d;
    EXPECT_NEAR(variance_gradient[d], (vp - vm) / (2 * kFiniteDifferenceStep), 1e-6) << "d = " << d;
  }
}

TEST(MarginalLikelihoodTest, GradientMatchesFiniteDifferences) {
  const Eigen::MatrixXd x = RandomMatrix(15, 3, 3);
  Eigen::VectorXd y(15);
  for (int i = 0; i < 15; ++i) y[i] = std::cos(4 * x(i, 0)) - 2 * x(i, 1) + 0.1 * x(i, 2);
  y = (y.array() - y.mean()) / std::sqrt((y.array() - y.mean()).square().mean());
  const HyperPrior prior = HyperPrior::WithNoiseFloor(1e-6);
  const MarginalLikelihood likelihood(x, y, prior);
  for (const KernelParams& p : {Params({-1.0, 0.2, 1.5}, 0.3, -4.0), Params({0.5, -0.5, 0.0}, -1.0, -9.0)}) {
    const Eigen::VectorXd theta = p.Pack();
    Eigen::VectorXd gradient;
    const double value = likelihood.NegativeLogPosterior(theta, &gradient);
    ASSERT_TRUE(std::isfinite(value));
    ASSERT_EQ(gradient.size(), 5);
    for (int j = 0; j < 5; ++j) {
      Eigen::VectorXd plus = theta, minus = theta;
      plus[j] += kFiniteDifferenceStep;
      minus[j] -= kFiniteDifferenceStep;
      const double numeric =
          (likelihood.NegativeLogPosterior(plus, nullptr) - likelihood.NegativeLogPosterior(minus, nullptr)) /
          (2 * kFiniteDifferenceStep);
      EXPECT_NEAR(gradient[j], numeric, 1e-5 * std::max(1.0, std::fabs(numeric))) << "theta[" << j << "]";
    }
  }
}

// y depends on the first coordinate only: the fit should give the second a far longer lengthscale.
TEST(FitKernelParamsTest, IrrelevantCoordinateGetsLongLengthscale) {
  const Eigen::MatrixXd x = RandomMatrix(30, 2, 4);
  Eigen::VectorXd y(30);
  for (int i = 0; i < 30; ++i) y[i] = std::sin(6 * x(i, 0));
  y = (y.array() - y.mean()) / std::sqrt((y.array() - y.mean()).square().mean());
  const HyperPrior prior = HyperPrior::WithNoiseFloor(1e-6);
  const KernelParams p = FitKernelParams(x, y, prior, {prior.Mode(2)}, {});
  EXPECT_GT(p.log_lengthscales[1] - p.log_lengthscales[0], std::log(5.0));
  EXPECT_LT(p.log_noise_variance, std::log(1e-2));  // a smooth deterministic function: little noise
  // The fit improves on its start.
  const MarginalLikelihood likelihood(x, y, prior);
  EXPECT_LT(likelihood.NegativeLogPosterior(p.Pack(), nullptr),
            likelihood.NegativeLogPosterior(prior.Mode(2).Pack(), nullptr));
}

// Pure noise around a constant: the fit should attribute most of the variance to noise.
TEST(FitKernelParamsTest, NoisyDataGetsLargeNoise) {
  const Eigen::MatrixXd x = RandomMatrix(40, 1, 5);
  SplitMix64 rng(6);
  Eigen::VectorXd y(40);
  for (int i = 0; i < 40; ++i) y[i] = UniformUnit(rng) - 0.5;
  y = (y.array() - y.mean()) / std::sqrt((y.array() - y.mean()).square().mean());
  const HyperPrior prior = HyperPrior::WithNoiseFloor(1e-6);
  const KernelParams p = FitKernelParams(x, y, prior, {prior.Mode(1)}, {});
  EXPECT_GT(p.log_noise_variance, std::log(0.3));
}

}  // namespace
}  // namespace dial::internal::gp
