// Tests of log-EI: agreement with a direct EI where EI is not tiny, stability and accuracy deep in the tail
// (z = −40 and beyond), continuity across the formula's branches, and derivatives against finite differences.
#include "samplers/gp/acquisition.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

namespace dial::internal::gp {
namespace {

double DirectExpectedImprovement(double mean, double stddev, double best) {
  // EI = (f* − μ) Φ(z) + σ φ(z), z = (f* − μ)/σ.
  const double z = (best - mean) / stddev;
  const double pdf = std::exp(-0.5 * z * z) / std::sqrt(2 * std::numbers::pi);
  const double cdf = 0.5 * std::erfc(-z / std::numbers::sqrt2);
  return (best - mean) * cdf + stddev * pdf;
}

TEST(ErfcxTest, MatchesDefinitionAndAsymptotics) {
  for (double x : {-3.0, -0.5, 0.0, 0.3, 1.0, 5.0, 20.0}) {
    EXPECT_NEAR(Erfcx(x), std::exp(x * x) * std::erfc(x), 1e-13 * Erfcx(x)) << "x = " << x;
  }
  // Continuity at the switch to the asymptotic series (x = 25): exp(x²) erfc(x) is still accurate there.
  EXPECT_NEAR(Erfcx(25.0 + 1e-12), std::exp(625.0) * std::erfc(25.0), 1e-12 * Erfcx(25.0));
  // erfcx(x) ≈ 1/(x√π) (1 − 1/(2x²)) far out.
  const double x = 1e4;
  EXPECT_NEAR(Erfcx(x), (1 - 1 / (2 * x * x)) / (x * std::sqrt(std::numbers::pi)), 1e-16);
}

TEST(LogExpectedImprovementTest, MatchesDirectEiWhereEiIsNotTiny) {
  for (double mean : {-1.0, 0.0, 0.7, 2.0}) {
    for (double stddev : {0.05, 0.3, 1.0, 4.0}) {
      const double best = 0.5;
      const double ei = DirectExpectedImprovement(mean, stddev, best);
      if (ei < 1e-8) continue;
      EXPECT_NEAR(LogExpectedImprovement(mean, stddev, best).value, std::log(ei), 1e-9)
          << "mean " << mean << " stddev " << stddev;
    }
  }
}

TEST(LogExpectedImprovementTest, StableAndAccurateAtZMinus40) {
  // Direct EI underflows to 0 here (φ(−40) ≈ 1e-348); log h(z) = −z²/2 − ½ log 2π + log B(z) with
  // B(z) = 1/z² − 3/z⁴ + 15/z⁶ − 105/z⁸ + 945/z¹⁰ − … .
  EXPECT_EQ(DirectExpectedImprovement(40.0, 1.0, 0.0), 0.0);
  const double z = -40.0;
  const double u = 1 / (z * z);
  const double expected = -0.5 * z * z - 0.5 * std::log(2 * std::numbers::pi) + std::log(u) +
                          std::log(1 - 3 * u + 15 * u * u - 105 * u * u * u + 945 * u * u * u * u);
  const AcquisitionValue v = LogExpectedImprovement(40.0, 1.0, 0.0);
  ASSERT_TRUE(std::isfinite(v.value));
  EXPECT_NEAR(v.value, expected, 1e-10 * std::fabs(expected));
  EXPECT_NEAR(LogH(z), expected, 1e-10 * std::fabs(expected));
  // Gradients stay finite and point towards improvement.
  EXPECT_TRUE(std::isfinite(v.d_mean) && std::isfinite(v.d_stddev));
  EXPECT_LT(v.d_mean, 0.0);
  EXPECT_GT(v.d_stddev, 0.0);
  // Further out, still finite and decreasing.
  EXPECT_TRUE(std::isfinite(LogH(-1e3)));
  EXPECT_TRUE(std::isfinite(LogH(-1e6)));
  EXPECT_LT(LogH(-1e6), LogH(-1e3));
}

TEST(LogHTest, ContinuousAndIncreasingAcrossBranches) {
  for (double boundary : {-1.0, -100.0}) {
    const double below = LogH(boundary - 1e-9), above = LogH(boundary + 1e-9);
    EXPECT_NEAR(below, above, 1e-7 * std::fabs(above)) << "at z = " << boundary;
  }
  double previous = LogH(-200.0);
  for (double z = -199.5; z <= 10.0; z += 0.5) {
    const double v = LogH(z);
    EXPECT_GT(v, previous) << "z = " << z;
    previous = v;
  }
}

TEST(LogHTest, DerivativeMatchesFiniteDifferences) {
  for (double z : {-150.0, -40.0, -5.0, -1.5, -0.5, 0.0, 1.0, 6.0}) {
    const double h = 1e-6 * std::max(1.0, std::fabs(z));
    double derivative = 0;
    LogH(z, &derivative);
    const double numeric = (LogH(z + h) - LogH(z - h)) / (2 * h);
    EXPECT_NEAR(derivative, numeric, 1e-6 * std::max(1.0, std::fabs(numeric))) << "z = " << z;
  }
}

TEST(LogExpectedImprovementTest, PartialDerivativesMatchFiniteDifferences) {
  for (double mean : {-0.5, 0.4, 3.0}) {
    const double stddev = 0.6, best = 0.2, h = 1e-6;
    const AcquisitionValue v = LogExpectedImprovement(mean, stddev, best);
    const double d_mean =
        (LogExpectedImprovement(mean + h, stddev, best).value - LogExpectedImprovement(mean - h, stddev, best).value) /
        (2 * h);
    const double d_stddev =
        (LogExpectedImprovement(mean, stddev + h, best).value - LogExpectedImprovement(mean, stddev - h, best).value) /
        (2 * h);
    EXPECT_NEAR(v.d_mean, d_mean, 1e-6 * std::max(1.0, std::fabs(d_mean))) << "mean " << mean;
    EXPECT_NEAR(v.d_stddev, d_stddev, 1e-6 * std::max(1.0, std::fabs(d_stddev))) << "mean " << mean;
  }
}

TEST(LowerConfidenceBoundTest, ValueAndDerivatives) {
  const AcquisitionValue v = NegatedLowerConfidenceBound(1.5, 0.5, 4.0);
  EXPECT_DOUBLE_EQ(v.value, -1.5 + 2.0 * 0.5);
  EXPECT_DOUBLE_EQ(v.d_mean, -1.0);
  EXPECT_DOUBLE_EQ(v.d_stddev, 2.0);
}

}  // namespace
}  // namespace dial::internal::gp
