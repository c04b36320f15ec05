// The Parzen estimator against Optuna 3.1's own _ParzenEstimator. Every expected number below was printed by
// /usr/bin/python3 with optuna 3.1.0: _ParzenEstimator(observations, search_space,
// _ParzenEstimatorParameters(consider_prior, 1.0, consider_magic_clip, consider_endpoints, default_weights,
// multivariate)) and its _weights, _mus, _sigmas, _categorical_weights and log_pdf(points). Optuna 3.1's continuous
// kernels lack the 1/σ factor of the normal density, so those comparisons set unscaled_kernels; the true density
// is checked by integration.
#include "samplers/tpe/parzen_estimator.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace dial::internal::tpe {
namespace {

constexpr double kTol = 1e-12;

// Options reproducing Optuna 3.1's numbers.
ParzenOptions Optuna31() {
  ParzenOptions o;
  o.unscaled_kernels = true;
  return o;
}

void ExpectVector(const std::vector<double>& actual, const std::vector<double>& expected, double tol = kTol) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(actual[i], expected[i], tol) << "index " << i;
}

std::vector<double> LogPdf(const ParzenEstimator& pe, const std::vector<double>& points) {
  std::vector<double> out;
  pe.LogPdf(points, static_cast<int>(points.size()) / pe.dims(), &out);
  return out;
}

TEST(TpeGammaWeightsTest, OptunaDefaults) {
  // γ(n) = min(⌈n/10⌉, 25).
  EXPECT_EQ(DefaultGamma(0), 0);
  EXPECT_EQ(DefaultGamma(1), 1);
  EXPECT_EQ(DefaultGamma(10), 1);
  EXPECT_EQ(DefaultGamma(11), 2);
  EXPECT_EQ(DefaultGamma(30), 3);
  EXPECT_EQ(DefaultGamma(240), 24);
  EXPECT_EQ(DefaultGamma(250), 25);
  EXPECT_EQ(DefaultGamma(1000), 25);
  // Below 25 observations every weight is 1.
  ExpectVector(DefaultWeights(3), {1, 1, 1});
  EXPECT_TRUE(DefaultWeights(0).empty());
  ExpectVector(DefaultWeights(25), std::vector<double>(25, 1.0));
  // n = 26: one old observation at 1/26. n = 30: five at linspace(1/30, 1, 5) = 1/30 + k (29/30)/4.
  std::vector<double> w26 = DefaultWeights(26);
  EXPECT_NEAR(w26[0], 1.0 / 26, kTol);
  EXPECT_EQ(w26[1], 1.0);
  std::vector<double> w30 = DefaultWeights(30);
  ExpectVector(std::vector<double>(w30.begin(), w30.begin() + 6),
               {1.0 / 30, 1.0 / 30 + 29.0 / 120, 1.0 / 30 + 58.0 / 120, 1.0 / 30 + 87.0 / 120, 1.0, 1.0});
}

TEST(TpeParzenEstimatorTest, UnivariateFloatWithMagicClipAndPrior) {
  ParzenEstimator pe({FloatDistribution{0, 10}}, {1.0, 1.5, 9.0}, {1, 1, 1}, Optuna31());
  ASSERT_EQ(pe.n_components(), 4);
  ExpectVector(pe.weights(), {0.25, 0.25, 0.25, 0.25});
  ExpectVector(pe.mus(0), {1, 1.5, 9, 5});
  // Gaps among sorted centres {1, 1.5, 5 (prior), 9}: 0.5 → clipped up to 10/min(100, 5) = 2; max(0.5, 3.5);
  // the last centre's inner gap 4; the prior spans the range.
  ExpectVector(pe.sigmas(0), {2, 3.5, 4, 10});
  ExpectVector(LogPdf(pe, {0.0, 1.2, 5.0, 9.9}),
               {-0.6755366211796316, -0.5759209267533095, -0.7444094228897491, -0.9030981322438396});
}

TEST(TpeParzenEstimatorTest, UnivariateFloatWithoutPrior) {
  ParzenOptions o = Optuna31();
  o.consider_prior = false;
  ParzenEstimator pe({FloatDistribution{0, 10}}, {1.0, 1.5, 9.0}, {1, 1, 1}, o);
  ExpectVector(pe.weights(), {1.0 / 3, 1.0 / 3, 1.0 / 3});
  ExpectVector(pe.sigmas(0), {2.5, 7.5, 7.5});
  ExpectVector(LogPdf(pe, {0.0, 1.2, 5.0, 9.9}),
               {-0.4710751591989042, -0.39467720885568136, -0.5371602914041519, -0.7778560437735227});
}

TEST(TpeParzenEstimatorTest, LogFloatLivesOnTheLogScale) {
  FloatDistribution lr{1e-4, 1.0};
  lr.log = true;
  ParzenEstimator pe({lr}, {1e-3, 2e-2}, {1, 1}, Optuna31());
  ExpectVector(pe.mus(0), {-6.907755278982137, -3.912023005428146, -4.605170185988091});
  ExpectVector(pe.sigmas(0), {2.302585092994046, 2.3025850929940455, 9.210340371976182});
  ExpectVector(LogPdf(pe, {1e-4, 1e-3, 0.5}), {-0.8856087178767776, -0.5882601815528091, -0.9822825130199149});
}

TEST(TpeParzenEstimatorTest, SteppedIntUsesTheMassOfEachGridCell) {
  ParzenEstimator pe({IntDistribution{0, 10, 2, false}}, {2, 4, 8}, {1, 1, 1}, ParzenOptions{});
  EXPECT_EQ(pe.low(0), -1.0);
  EXPECT_EQ(pe.high(0), 11.0);
  ExpectVector(pe.sigmas(0), {2.4, 2.4, 3, 12});
  ExpectVector(LogPdf(pe, {0, 2, 6, 10}),
               {-2.0434643811202022, -1.594234812948092, -1.6623634247872827, -2.2324590046678416});
}

TEST(TpeParzenEstimatorTest, LogIntIsContinuousOnLogScale) {
  ParzenEstimator pe({IntDistribution{1, 512, 1, true}}, {4, 64}, {1, 1}, Optuna31());
  EXPECT_NEAR(pe.low(0), -0.6931471805599453, kTol);
  EXPECT_NEAR(pe.high(0), 6.239300711012563, kTol);
  ExpectVector(pe.sigmas(0), {1.733111972893127, 1.733111972893127, 6.932447891572508});
  ExpectVector(LogPdf(pe, {1, 4, 100}), {-0.8244164825640252, -0.6291888132743293, -0.6772759459776336});
}

TEST(TpeParzenEstimatorTest, CategoricalKernelsWithPrior) {
  CategoricalDistribution c{{ParamValue{"a"}, ParamValue{"b"}, ParamValue{"c"}}};
  ParzenEstimator pe({c}, {0, 2, 2}, {1, 1, 1}, ParzenOptions{});
  // prior_weight / (n + 1) = 1/4 for every choice, +1 for the observed one, rows normalised: 5/7 and 1/7.
  EXPECT_NEAR(pe.CategoricalProbability(0, 0, 0), 0.7142857142857143, kTol);
  EXPECT_NEAR(pe.CategoricalProbability(0, 0, 1), 0.14285714285714285, kTol);
  EXPECT_NEAR(pe.CategoricalProbability(0, 3, 2), 1.0 / 3, kTol);
  ExpectVector(LogPdf(pe, {0, 1, 2}), {-1.0986122886681096, -1.6582280766035324, -0.7419373447293772});
}

TEST(TpeParzenEstimatorTest, MultivariateScottBandwidthClippedAndJointDensity) {
  FloatDistribution v{1e-3, 1.0};
  v.log = true;
  CategoricalDistribution c{{ParamValue{"a"}, ParamValue{"b"}}};
  ParzenOptions o = Optuna31();
  o.multivariate = true;
  // Space sorted by name as dial passes it: c, u, v.
  ParzenEstimator pe({c, FloatDistribution{0, 1}, v}, {0, 0.1, 0.01, 1, 0.7, 0.5, 1, 0.4, 0.002}, {1, 1, 1}, o);
  // σ₀ = 0.2 · 3^(−1/7) ≈ 0.171 is below the magic clip 1/min(100, 5) = 0.2.
  ExpectVector(pe.sigmas(1), {0.2, 0.2, 0.2, 1.0});
  ExpectVector(pe.mus(2), {-4.605170185988091, -0.6931471805599453, -6.214608098422191, -3.4538776394910684});
  ExpectVector(pe.sigmas(2), {1.3815510557964275, 1.3815510557964275, 1.3815510557964275, 6.907755278982137});
  EXPECT_NEAR(pe.CategoricalProbability(0, 0, 0), 0.8333333333333334, kTol);
  ExpectVector(LogPdf(pe, {0, 0.2, 0.01, 1, 0.9, 0.3}), {-1.7406378069376607, -1.9114410752087698});
}

TEST(TpeParzenEstimatorTest, RampWeightsForManyObservations) {
  std::vector<double> obs(30);
  for (int i = 0; i < 30; ++i) obs[i] = 0.05 + 0.9 * i / 29.0;  // numpy linspace(0.05, 0.95, 30)
  ParzenEstimator pe({FloatDistribution{0, 1}}, obs, DefaultWeights(30), Optuna31());
  ExpectVector(std::vector<double>(pe.weights().begin(), pe.weights().begin() + 3),
               {0.00116618075801749, 0.00962099125364431, 0.01807580174927114});
  EXPECT_NEAR(pe.weights().back(), 0.03498542274052478, kTol);
  ExpectVector(LogPdf(pe, {0.0, 0.33, 0.999}), {-3.4281031633756114, -2.6429044386815015, -3.295360602784991}, 1e-11);
}

// With the 1/σ factor the mixture is a density: it integrates to 1 over the kernels' support (trapezoid rule);
// without it (Optuna 3.1) it does not. The grid's masses sum to 1 either way.
TEST(TpeParzenEstimatorTest, TrueDensityIntegratesToOne) {
  for (bool unscaled : {false, true}) {
    ParzenOptions o;
    o.unscaled_kernels = unscaled;
    ParzenEstimator pe({FloatDistribution{0, 10}}, {1.0, 1.5, 9.0}, {1, 2, 1}, o);
    constexpr int kPoints = 20001;
    std::vector<double> xs(kPoints);
    for (int i = 0; i < kPoints; ++i) xs[i] = 10.0 * i / (kPoints - 1);
    std::vector<double> lp = LogPdf(pe, xs);
    double integral = 0;
    for (int i = 1; i < kPoints; ++i) integral += 0.5 * (std::exp(lp[i]) + std::exp(lp[i - 1])) * (xs[i] - xs[i - 1]);
    if (unscaled) {
      EXPECT_GT(std::fabs(integral - 1.0), 0.5);
    } else {
      EXPECT_NEAR(integral, 1.0, 1e-6);
    }
  }
  ParzenEstimator grid({IntDistribution{0, 10, 2, false}}, {2, 4, 8}, {1, 1, 1}, ParzenOptions{});
  double total = 0;
  for (double p : LogPdf(grid, {0, 2, 4, 6, 8, 10})) total += std::exp(p);
  EXPECT_NEAR(total, 1.0, 1e-12);
}

TEST(TpeParzenEstimatorTest, SamplesStayOnTheGridAndInRange) {
  SplitMix64 rng(3);
  FloatDistribution stepped{0.0, 1.0, 0.25};
  FloatDistribution log{1e-5, 1e-1};
  log.log = true;
  ParzenEstimator pe({stepped, IntDistribution{1, 512, 1, true}, IntDistribution{40, 127, 3, false}, log},
                     {0.5, 8, 70, 1e-3, 0.75, 256, 43, 1e-2}, {1, 1}, ParzenOptions{});
  std::vector<double> s;
  pe.Sample(rng, 500, &s);
  for (int i = 0; i < 500; ++i) {
    EXPECT_TRUE(Contains(stepped, s[i * 4 + 0])) << s[i * 4 + 0];
    EXPECT_TRUE(Contains(IntDistribution{1, 512, 1, true}, s[i * 4 + 1])) << s[i * 4 + 1];
    EXPECT_TRUE(Contains(IntDistribution{40, 127, 3, false}, s[i * 4 + 2])) << s[i * 4 + 2];
    EXPECT_TRUE(Contains(log, s[i * 4 + 3])) << s[i * 4 + 3];
  }
}

// The sampler draws from the density it evaluates: a histogram of draws matches exp(log_pdf) cell masses.
TEST(TpeParzenEstimatorTest, SamplesFollowTheDensity) {
  ParzenEstimator pe({IntDistribution{0, 10, 2, false}}, {2, 4, 8}, {1, 1, 1}, ParzenOptions{});
  SplitMix64 rng(11);
  constexpr int kDraws = 200000;
  std::vector<double> s;
  pe.Sample(rng, kDraws, &s);
  std::vector<double> counts(6, 0.0);
  for (double v : s) counts[static_cast<int>(v) / 2] += 1.0 / kDraws;
  std::vector<double> lp = LogPdf(pe, {0, 2, 4, 6, 8, 10});
  for (int k = 0; k < 6; ++k) EXPECT_NEAR(counts[k], std::exp(lp[k]), 0.005) << "value " << 2 * k;
}

}  // namespace
}  // namespace dial::internal::tpe
