// Pareto fronts and hypervolumes against values worked out by hand and by inclusion–exclusion.
#include "analysis/pareto.h"

#include <gtest/gtest.h>

#include <random>

#include "dial/analysis.h"
#include "dial/study.h"

namespace dial {
namespace {

TEST(ParetoTest, NonDominatedIndicesKeepDuplicatesAndDropDominated) {
  const std::vector<std::vector<double>> points = {{1, 5}, {2, 2}, {5, 1}, {3, 3}, {2, 2}, {6, 6}, {1, 6}};
  EXPECT_EQ(NonDominatedIndices(points), (std::vector<size_t>{0, 1, 2, 4}));
  EXPECT_TRUE(NonDominatedIndices({}).empty());
  // Three objectives: (2,2,2) is dominated by (1,2,2); (3,0,9) is not dominated by anyone.
  EXPECT_EQ(NonDominatedIndices({{2, 2, 2}, {1, 2, 2}, {3, 0, 9}}), (std::vector<size_t>{1, 2}));
}

TEST(ParetoTest, Hypervolume2dByHand) {
  // Staircase (1,3), (2,2), (3,1) under (4,4): 3·1 + 2·1 + 1·1 = 6.
  EXPECT_DOUBLE_EQ(*Hypervolume({{1, 3}, {2, 2}, {3, 1}}, {4, 4}), 6.0);
  // A dominated point and one outside the reference add nothing.
  EXPECT_DOUBLE_EQ(*Hypervolume({{1, 3}, {2, 2}, {3, 1}, {3, 3}, {5, 0}}, {4, 4}), 6.0);
  EXPECT_DOUBLE_EQ(*Hypervolume({}, {4, 4}), 0.0);
  EXPECT_DOUBLE_EQ(*Hypervolume({{1}, {3}}, {4}), 3.0);
}

TEST(ParetoTest, Hypervolume3dByHand) {
  EXPECT_DOUBLE_EQ(*Hypervolume({{0, 0, 0}}, {1, 2, 3}), 6.0);
  // Boxes 2·2·1 = 4 and 1·1·2 = 2 overlapping in [1,2]³ = 1: 5.
  EXPECT_DOUBLE_EQ(*Hypervolume({{0, 0, 1}, {1, 1, 0}}, {2, 2, 2}), 5.0);
  // Three unit-corner points of the cube [0,2]³: each box 2·1·1... (1,0,0),(0,1,0),(0,0,1) under (2,2,2):
  // each box has volume 1·2·2 = 4; pairwise overlaps 1·1·2 = 2; the triple overlap 1: 12 − 6 + 1 = 7.
  EXPECT_DOUBLE_EQ(*Hypervolume({{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}, {2, 2, 2}), 7.0);
}

// The exact hypervolume by inclusion–exclusion: Σ_{S ≠ ∅} (−1)^{|S|+1} Π_k (r_k − max_{p ∈ S} p_k).
double InclusionExclusion(const std::vector<std::vector<double>>& points, const std::vector<double>& ref) {
  const size_t n = points.size(), d = ref.size();
  double total = 0.0;
  for (size_t mask = 1; mask < (size_t{1} << n); ++mask) {
    double volume = 1.0;
    int bits = 0;
    for (size_t k = 0; k < d; ++k) {
      double worst = -1e300;
      for (size_t i = 0; i < n; ++i) {
        if (mask & (size_t{1} << i)) worst = std::max(worst, points[i][k]);
      }
      volume *= std::max(0.0, ref[k] - worst);
    }
    for (size_t i = 0; i < n; ++i) bits += (mask >> i) & 1;
    total += (bits % 2 == 1 ? 1.0 : -1.0) * volume;
  }
  return total;
}

TEST(ParetoTest, HypervolumeMatchesInclusionExclusionInTwoToFourObjectives) {
  std::mt19937_64 rng(17);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (size_t d = 2; d <= 4; ++d) {
    for (int rep = 0; rep < 20; ++rep) {
      std::vector<std::vector<double>> points(8, std::vector<double>(d));
      for (auto& p : points) {
        for (double& v : p) v = u(rng);
      }
      if (rep % 5 == 0) points[3] = points[2];  // ties
      const std::vector<double> ref(d, 1.0);
      EXPECT_NEAR(*Hypervolume(points, ref), InclusionExclusion(points, ref), 1e-12) << "d=" << d;
    }
  }
}

TEST(ParetoTest, HypervolumeErrors) {
  EXPECT_EQ(Hypervolume({{1, 2, 3}}, {4, 4}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Hypervolume({{NAN, 2}}, {4, 4}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Hypervolume({{1, 2}}, {}).status().code(), StatusCode::kInvalidArgument);
}

FrozenTrial Trial(int64_t number, std::vector<double> values, TrialState state = TrialState::kComplete) {
  FrozenTrial t;
  t.number = number;
  t.state = state;
  t.values = std::move(values);
  return t;
}

TEST(ParetoTest, FrontOfTrialsHonoursDirectionsConstraintsAndStates) {
  // Minimise error, maximise speed.
  const std::vector<StudyDirection> dirs = {StudyDirection::kMinimize, StudyDirection::kMaximize};
  std::vector<FrozenTrial> trials = {Trial(0, {0.1, 10}),
                                     Trial(1, {0.2, 38}),
                                     Trial(2, {0.3, 20}),
                                     Trial(3, {0.05, 40}),
                                     Trial(4, {0.0, 100}, TrialState::kPruned),
                                     Trial(5, {0.15, 35})};
  // Trial 3 would dominate everything, but it violates its constraint.
  trials[3].system_attrs["constraints"] = Json::array({0.5, -1.0});
  trials[1].system_attrs["constraints"] = Json::array({0.0});  // ≤ 0 is feasible
  std::vector<int64_t> numbers;
  for (const FrozenTrial& t : ParetoFront(trials, dirs)) numbers.push_back(t.number);
  EXPECT_EQ(numbers, (std::vector<int64_t>{0, 1, 5}));
  EXPECT_FALSE(SatisfiesConstraints(trials[3]));
  trials[2].system_attrs["constraints"] = Json::array({nullptr});
  EXPECT_FALSE(SatisfiesConstraints(trials[2]));
  EXPECT_EQ(ToMinimisation({1, 2}, dirs), (std::vector<double>{1, -2}));
}

TEST(ParetoTest, ReferencePointAndBalancedTradeOff) {
  const std::vector<std::vector<double>> front = {{0, 10}, {4, 4}, {5, 6}, {10, 0}};
  EXPECT_EQ(DefaultReferencePoint(front), (std::vector<double>{11, 11}));
  EXPECT_EQ(DefaultReferencePoint({{1, 2}}), (std::vector<double>{2, 3}));
  // Scaled to [0,1]: (0.4, 0.4) is nearest the ideal (0, 0).
  EXPECT_EQ(BalancedTradeOff(front), 1u);
  EXPECT_FALSE(BalancedTradeOff({}).has_value());
}

}  // namespace
}  // namespace dial
