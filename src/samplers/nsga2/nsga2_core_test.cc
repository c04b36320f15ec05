#include "samplers/nsga2/nsga2_core.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "samplers/nsga2/hypervolume.h"

namespace dial::internal {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

std::vector<Individual> Points(const std::vector<std::vector<double>>& values) {
  std::vector<Individual> out;
  for (const auto& v : values) out.push_back({v, std::nullopt});
  return out;
}

std::vector<int> Ranks(const std::vector<Individual>& population) {
  std::vector<int> rank(population.size(), -1);
  const auto fronts = NonDominatedSort(population);
  for (size_t r = 0; r < fronts.size(); ++r) {
    for (int i : fronts[r]) rank[i] = static_cast<int>(r);
  }
  return rank;
}

// Two objectives, worked by hand:
//   A(1,5) B(2,3) C(3,2) D(4,1.5) E(6,1) H(2,3) are dominated by nobody: front 0 (H equals B: neither wins);
//   F(3,4) is dominated by B, H and C; I(6,1.5) by D and E: front 1; G(5,5) is dominated by F as well: front 2.
const std::vector<std::vector<double>> kPoints = {{1, 5}, {2, 3}, {3, 2}, {4, 1.5}, {6, 1},
                                                  {3, 4}, {5, 5}, {2, 3}, {6, 1.5}};
enum { A, B, C, D, E, F, G, H, I };

TEST(NonDominatedSortTest, HandWorkedFronts) {
  EXPECT_EQ(Ranks(Points(kPoints)), (std::vector<int>{0, 0, 0, 0, 0, 1, 2, 0, 1}));
  const auto fronts = NonDominatedSort(Points(kPoints));
  ASSERT_EQ(fronts.size(), 3u);
  EXPECT_EQ(fronts[1], (std::vector<int>{F, I}));
  EXPECT_EQ(fronts[2], (std::vector<int>{G}));
}

TEST(NonDominatedSortTest, OneObjectiveRanksByValue) {
  EXPECT_EQ(Ranks(Points({{3}, {1}, {2}, {1}, {kInf}})), (std::vector<int>{2, 0, 1, 0, 3}));
}

// Front A…E: f1 spans 1…6 (5), f2 spans 1…5 (4). Interior distances:
//   B: (3 − 1)/5 + (5 − 2)/4 = 1.15;  C: (4 − 2)/5 + (3 − 1.5)/4 = 0.775;  D: (6 − 3)/5 + (2 − 1)/4 = 0.85.
TEST(CrowdingDistanceTest, HandWorkedFront) {
  const auto population = Points(kPoints);
  const std::vector<double> d = CrowdingDistances(population, {A, B, C, D, E});
  EXPECT_EQ(d[0], kInf);
  EXPECT_NEAR(d[1], 1.15, 1e-12);
  EXPECT_NEAR(d[2], 0.775, 1e-12);
  EXPECT_NEAR(d[3], 0.85, 1e-12);
  EXPECT_EQ(d[4], kInf);
}

TEST(CrowdingDistanceTest, EqualObjectiveAddsNothingAndInfinitiesAreExtremes) {
  // f2 is constant: only f1 counts. f1 = 0, 1, 3: the middle one gets (3 − 0)/3 = 1.
  const auto flat = Points({{0, 7}, {1, 7}, {3, 7}});
  const std::vector<double> d = CrowdingDistances(flat, {0, 1, 2});
  EXPECT_EQ(d[0], kInf);
  EXPECT_NEAR(d[1], 1.0, 1e-12);
  EXPECT_EQ(d[2], kInf);
  // An infinite value is an extreme; the width is taken over finite values (2 − 1 = 1): the middle point's gap
  // is ∞ − 1 = ∞.
  const auto with_inf = Points({{1, 2}, {2, 1}, {kInf, 0}});
  const std::vector<double> e = CrowdingDistances(with_inf, {0, 1, 2});
  EXPECT_EQ(e[1], kInf);
}

// Survivors, n = 4 among the nine points: front 0 (A B C D E H) overflows, so it is cut by crowding distance.
// With the duplicates B = H in the front: A and E are extremes (∞); D = (6 − 3)/5 + (2 − 1)/4 = 0.85;
// C = (4 − 2)/5 + (3 − 1.5)/4 = 0.775; B = (2 − 1)/5 + (3 − 2)/4 = 0.45; H = (3 − 2)/5 + (5 − 3)/4 = 0.7.
TEST(SelectEliteTest, CutsTheOverflowingFrontByCrowding) {
  const auto population = Points(kPoints);
  const std::vector<double> d = CrowdingDistances(population, {A, B, C, D, E, H});
  EXPECT_NEAR(d[1], 0.45, 1e-12);
  EXPECT_NEAR(d[5], 0.7, 1e-12);
  EXPECT_EQ(SelectElite(population, 4), (std::vector<int>{A, E, D, C}));
  // n = 7: all of front 0, then one of front 1 (F and I both extremes: the first).
  EXPECT_EQ(SelectElite(population, 7), (std::vector<int>{A, B, C, D, E, H, F}));
  EXPECT_EQ(SelectElite(population, 9).size(), 9u);
}

TEST(ConstrainedDominationTest, FeasibilityFirstThenViolationThenValues) {
  const Individual feasible_bad{{10, 10}, std::vector<double>{-1, 0}};
  const Individual feasible_good{{1, 1}, std::vector<double>{-2, -3}};
  const Individual infeasible_great{{0, 0}, std::vector<double>{0.5, -1}};   // violation 0.5
  const Individual infeasible_worse{{0, 0}, std::vector<double>{0.2, 0.4}};  // violation 0.6
  EXPECT_TRUE(ConstrainedDominates(feasible_bad, infeasible_great));
  EXPECT_FALSE(ConstrainedDominates(infeasible_great, feasible_bad));
  EXPECT_TRUE(ConstrainedDominates(infeasible_great, infeasible_worse));
  EXPECT_FALSE(ConstrainedDominates(infeasible_worse, infeasible_great));
  EXPECT_TRUE(ConstrainedDominates(feasible_good, feasible_bad));
  EXPECT_FALSE(ConstrainedDominates(feasible_bad, feasible_good));
  // Without constraints on either: Pareto domination; a trial with constraints beats one without (Optuna).
  const Individual plain_good{{1, 1}, std::nullopt};
  EXPECT_TRUE(ConstrainedDominates(plain_good, Individual{{2, 2}, std::nullopt}));
  EXPECT_TRUE(ConstrainedDominates(infeasible_worse, plain_good));
  EXPECT_FALSE(ConstrainedDominates(plain_good, infeasible_worse));
  EXPECT_EQ(TotalViolation({0.2, std::nan("")}), kInf);
  // Fronts under constrained domination: feasible ones first, then infeasible ones by violation.
  EXPECT_EQ(Ranks({infeasible_worse, feasible_bad, infeasible_great, feasible_good}), (std::vector<int>{3, 1, 2, 0}));
}

TEST(TournamentTest, LowerRankThenLargerCrowdingWins) {
  Fitness fitness{{1, 0}, {kInf, 0.1}};
  SplitMix64 rng(3);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(Tournament(fitness, rng), 1);
  Fitness tie{{0, 0, 0}, {0.2, 0.9, 0.5}};
  for (int i = 0; i < 50; ++i) {
    const int w = Tournament(tie, rng, 1);
    EXPECT_EQ(w, 2);  // 0 and 2 are drawn (1 is excluded): 2 is less crowded
  }
}

TEST(CrossoverTest, ChildrenStayInsideTheirBounds) {
  SplitMix64 rng(11);
  for (int k = 0; k < 2000; ++k) {
    std::vector<double> a(4), b(4);
    for (double& v : a) v = UniformUnit(rng);
    for (double& v : b) v = UniformUnit(rng);
    for (double eta : {2.0, 20.0}) {
      for (double v : SbxCrossover(a, b, eta, rng)) {
        EXPECT_GE(v, 0.0);
        EXPECT_LE(v, 1.0);
      }
    }
    const std::vector<double> u = UniformCrossover(a, b, 0.5, rng);
    const std::vector<double> blx = BlxAlphaCrossover(a, b, 0.5, rng);
    for (size_t i = 0; i < 4; ++i) {
      EXPECT_TRUE(u[i] == a[i] || u[i] == b[i]);
      const double lo = std::min(a[i], b[i]), hi = std::max(a[i], b[i]);
      EXPECT_GE(blx[i], lo - 0.5 * (hi - lo) - 1e-15);
      EXPECT_LE(blx[i], hi + 0.5 * (hi - lo) + 1e-15);
    }
  }
  // Swapping probability 0 keeps the first parent, 1 takes the second.
  EXPECT_EQ(UniformCrossover({0.1, 0.2}, {0.8, 0.9}, 0.0, rng), (std::vector<double>{0.1, 0.2}));
  EXPECT_EQ(UniformCrossover({0.1, 0.2}, {0.8, 0.9}, 1.0, rng), (std::vector<double>{0.8, 0.9}));
}

// (1,3), (2,2), (3,1) under (4,4): slabs 3·1 + 2·1 + 1·1 = 6. A dominated point and one beyond the reference
// add nothing.
TEST(HypervolumeTest, HandWorkedStaircase) {
  EXPECT_DOUBLE_EQ(Hypervolume2d({{1, 3}, {2, 2}, {3, 1}}, {4, 4}), 6.0);
  EXPECT_DOUBLE_EQ(Hypervolume2d({{3, 1}, {3, 3}, {1, 3}, {2, 2}, {5, 0}, {0, 4}}, {4, 4}), 6.0);
  EXPECT_DOUBLE_EQ(Hypervolume2d({}, {1, 1}), 0.0);
  EXPECT_DOUBLE_EQ(Hypervolume2d({{0, 0}}, {1, 2}), 2.0);
}

}  // namespace
}  // namespace dial::internal
