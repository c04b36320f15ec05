#include "samplers/cmaes/cma_es.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace dial::internal {
namespace {

constexpr int kDim = 3;
constexpr int kPopsize = 7;

// The fixed candidates of cma_reference.py: a spiral around the mean, scored by the distance² to (0.3, 0.6, 0.2).
std::vector<std::pair<std::vector<double>, double>> Solutions(int generation) {
  std::vector<std::pair<std::vector<double>, double>> out;
  const std::vector<double> optimum = {0.3, 0.6, 0.2};
  for (int i = 0; i < kPopsize; ++i) {
    std::vector<double> x = {0.5 + 0.15 * std::cos(i + generation), 0.5 + 0.12 * std::sin(2 * i + generation),
                             0.5 + 0.1 * std::cos(3 * i + 0.5 * generation)};
    double f = 0;
    for (int j = 0; j < kDim; ++j) f += (x[j] - optimum[j]) * (x[j] - optimum[j]);
    out.push_back({x, f});
  }
  return out;
}

void ExpectNear(const std::vector<double>& actual, const std::vector<double>& expected, const char* what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (size_t i = 0; i < actual.size(); ++i) EXPECT_NEAR(actual[i], expected[i], 1e-12) << what << "[" << i << "]";
}

// Table 1 of the tutorial for n = 3, λ = 7, as the `cmaes` package computes it.
TEST(CmaEsTest, ParametersMatchTheTutorialsDefaults) {
  EXPECT_EQ(CmaParameters::DefaultPopsize(3), 7);
  EXPECT_EQ(CmaParameters::DefaultPopsize(10), 10);
  EXPECT_EQ(CmaParameters::DefaultPopsize(1), 4);
  const CmaParameters p = CmaParameters::Default(kDim, kPopsize);
  EXPECT_EQ(p.mu, 3);
  ExpectNear(p.weights,
             {0.585645106509765, 0.2928225532548825, 0.12153234023535245, 0.0, -0.4241269418431741, -0.7706638857059224,
              -1.0636566969842556},
             "weights");
  EXPECT_NEAR(p.mu_eff, 2.2548150822016044, 1e-14);
  EXPECT_NEAR(p.c_sigma, 0.4149090010980616, 1e-14);
  EXPECT_NEAR(p.d_sigma, 1.4149090010980616, 1e-14);
  EXPECT_NEAR(p.c_c, 0.5588013228860189, 1e-14);
  EXPECT_NEAR(p.c_1, 0.09640963257927214, 1e-14);
  EXPECT_NEAR(p.c_mu, 0.05124308701358615, 1e-14);
}

// Two generations told the same solutions as the `cmaes` package (numbers printed by cma_reference.py).
TEST(CmaEsTest, TwoGenerationsMatchTheCmaesPackage) {
  CmaEs cma({0.5, 0.5, 0.5}, 0.2, kPopsize);
  cma.Tell(Solutions(0));
  ExpectNear(cma.mean(), {0.44193538532809906, 0.5043809979493017, 0.4084182240278317}, "mean 1");
  EXPECT_NEAR(cma.sigma(), 0.1684131076639482, 1e-13);
  ExpectNear(cma.covariance(),
             {0.7930088556340557, 0.025768069926558994, -0.06578490514564682, 0.025768069926558994, 0.9321700977883047,
              0.041090217060818064, -0.06578490514564682, 0.041090217060818064, 0.9194792351190968},
             "C 1");
  ExpectNear(cma.p_sigma(), {-0.3535416190075887, 0.026674853809278254, -0.5576196368777289}, "p_sigma 1");
  ExpectNear(cma.p_c(), {-0.39122595414144024, 0.029518151674511373, -0.6170568407133143}, "p_c 1");

  cma.Tell(Solutions(1));
  ExpectNear(cma.mean(), {0.40625352918589, 0.5371452555739153, 0.4260482347790313}, "mean 2");
  EXPECT_NEAR(cma.sigma(), 0.1402214661973092, 1e-13);
  ExpectNear(
      cma.covariance(),
      {0.6892860767211484, -0.031148449022759362, -0.18796757080582452, -0.031148449022759386, 0.8968263173633622,
       -0.024837682110320197, -0.18796757080582455, -0.024837682110320156, 0.7361014883454503},
      "C 2");
  ExpectNear(cma.p_sigma(), {-0.4961376094350509, 0.2627476200910186, -0.20957183043632477}, "p_sigma 2");
  ExpectNear(cma.p_c(), {-0.4581159606396685, 0.2751858563136535, -0.13117851851374582}, "p_c 2");
  EXPECT_EQ(cma.generation(), 2);
}

double Distance(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (a[i] - b[i]) * (a[i] - b[i]);
  return std::sqrt(s);
}

// On an ill-conditioned quadratic the mean moves to the optimum, σ shrinks, and C learns the scaling: the
// variance along the steep axis ends far below the flat one's.
TEST(CmaEsTest, MeanMovesToTheOptimumAndSigmaShrinksOnAQuadratic) {
  const std::vector<double> optimum = {0.2, 0.7, 0.4, 0.55};
  const std::vector<double> scale = {1.0, 10.0, 1.0, 1.0};
  CmaEs cma({0.5, 0.5, 0.5, 0.5}, 0.2, CmaParameters::DefaultPopsize(4));
  SplitMix64 rng(42);
  const double start_distance = Distance(cma.mean(), optimum);
  for (int g = 0; g < 100; ++g) {
    std::vector<std::pair<std::vector<double>, double>> population;
    for (int k = 0; k < cma.popsize(); ++k) {
      std::vector<double> x = cma.Sample(StandardNormals(rng, cma.dim()));
      double f = 0;
      for (int j = 0; j < cma.dim(); ++j) f += std::pow(scale[j] * (x[j] - optimum[j]), 2);
      population.push_back({x, f});
    }
    cma.Tell(population);
    EXPECT_EQ(cma.ShouldStop(), CmaStop::kNone) << "generation " << g;
  }
  EXPECT_LT(Distance(cma.mean(), optimum), 1e-3 * start_distance);
  EXPECT_LT(cma.sigma(), 0.01 * 0.2);
  const std::vector<double>& c = cma.covariance();
  EXPECT_LT(c[1 * 4 + 1], 0.1 * c[0 * 4 + 0]);  // steep axis 1 vs flat axis 0
}

TEST(CmaEsTest, FlatFunctionStopsByTolFun) {
  CmaEs cma({0.5, 0.5}, 0.2, 6);
  SplitMix64 rng(1);
  int generations = 0;
  while (cma.ShouldStop() == CmaStop::kNone && generations < 1000) {
    std::vector<std::pair<std::vector<double>, double>> population;
    for (int k = 0; k < cma.popsize(); ++k) population.push_back({cma.Sample(StandardNormals(rng, 2)), 3.0});
    cma.Tell(population);
    ++generations;
  }
  EXPECT_EQ(cma.ShouldStop(), CmaStop::kTolFun);
  EXPECT_EQ(generations, 10 + 10);  // 10 + ⌈30·2/6⌉
}

// A value better than all later ones, with later values still varying (so TolFun does not hold): the run stops
// for lack of improvement after 10 + ⌈30n/λ⌉ generations.
TEST(CmaEsTest, RunWithoutImprovementStops) {
  CmaEs cma({0.5, 0.5}, 0.2, 6);
  SplitMix64 rng(2);
  int generations = 0;
  while (cma.ShouldStop() == CmaStop::kNone && generations < 1000) {
    std::vector<std::pair<std::vector<double>, double>> population;
    for (int k = 0; k < cma.popsize(); ++k) {
      const double f = generations == 0 && k == 0 ? -1.0 : static_cast<double>(k);
      population.push_back({cma.Sample(StandardNormals(rng, 2)), f});
    }
    cma.Tell(population);
    ++generations;
  }
  EXPECT_EQ(cma.ShouldStop(), CmaStop::kNoImprovement);
  EXPECT_EQ(generations, 1 + 20);
}

TEST(CmaEsTest, StandardNormalsHaveUnitVariance) {
  SplitMix64 rng(7);
  double sum = 0, sum_sq = 0;
  constexpr int kDraws = 100001;  // odd: the last pair is cut
  const std::vector<double> z = StandardNormals(rng, kDraws);
  for (double v : z) sum += v, sum_sq += v * v;
  EXPECT_NEAR(sum / kDraws, 0.0, 0.01);
  EXPECT_NEAR(sum_sq / kDraws, 1.0, 0.02);
}

}  // namespace
}  // namespace dial::internal
