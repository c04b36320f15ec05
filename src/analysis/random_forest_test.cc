// The regression forest: splits where scikit-learn would put them, fits what it can, stays reproducible.
#include "analysis/random_forest.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace dial::internal {
namespace {

RegressionData Make(const std::vector<std::vector<double>>& rows, const std::vector<double>& y) {
  RegressionData d;
  d.n_features = static_cast<int>(rows[0].size());
  for (const auto& r : rows) d.x.insert(d.x.end(), r.begin(), r.end());
  d.y = y;
  return d;
}

TEST(RandomForestTest, SplitsAtTheMidpointOfTheBestGap) {
  // y jumps between x = 2 and x = 3: one split at 2.5 separates it perfectly; feature 1 is noise-free constant.
  const RegressionData d = Make({{0, 7}, {1, 7}, {2, 7}, {3, 7}, {4, 7}}, {0, 0, 0, 5, 5});
  const RegressionTree tree = GrowTree(d, std::vector<double>(5, 1.0), TreeOptions{}, 1);
  ASSERT_EQ(tree.nodes.size(), 3u);  // two pure leaves: no further split
  EXPECT_EQ(tree.nodes[0].feature, 0);
  EXPECT_DOUBLE_EQ(tree.nodes[0].threshold, 2.5);
  EXPECT_DOUBLE_EQ(tree.nodes[tree.nodes[0].left].value, 0.0);
  EXPECT_DOUBLE_EQ(tree.nodes[tree.nodes[0].right].value, 5.0);
  // Root impurity: the variance of {0,0,0,5,5} = 6.
  EXPECT_DOUBLE_EQ(tree.nodes[0].impurity, 6.0);
}

TEST(RandomForestTest, WeightsCountSamplesAndZeroWeightsDropThem) {
  const RegressionData d = Make({{0}, {1}, {2}}, {1, 2, 100});
  const RegressionTree tree = GrowTree(d, {2.0, 1.0, 0.0}, TreeOptions{}, 1);
  // The third sample has weight 0: it is not in the tree at all, so the root's mean is (2·1 + 2)/3.
  EXPECT_NEAR(tree.nodes[0].value, 4.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(tree.nodes[0].weighted_samples, 3.0);
  ASSERT_EQ(tree.nodes.size(), 3u);
  EXPECT_DOUBLE_EQ(tree.nodes[0].threshold, 0.5);
}

TEST(RandomForestTest, DepthLimitAndConstantFeaturesMakeLeaves) {
  const RegressionData d = Make({{0}, {1}, {2}, {3}}, {0, 1, 2, 3});
  TreeOptions shallow;
  shallow.max_depth = 1;
  EXPECT_EQ(GrowTree(d, std::vector<double>(4, 1.0), shallow, 1).nodes.size(), 3u);
  const RegressionData constant = Make({{1}, {1}, {1}}, {0, 1, 2});
  EXPECT_EQ(GrowTree(constant, std::vector<double>(3, 1.0), TreeOptions{}, 1).nodes.size(), 1u);
}

TEST(RandomForestTest, FitsASmoothFunctionAndIsReproducible) {
  std::mt19937_64 rng(3);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  RegressionData d;
  d.n_features = 2;
  for (int i = 0; i < 300; ++i) {
    const double a = u(rng), b = u(rng);
    d.x.push_back(a);
    d.x.push_back(b);
    d.y.push_back(std::sin(6 * a) + 0.1 * b);
  }
  ForestOptions options;
  options.n_trees = 16;
  options.seed = 11;
  const auto forest = GrowForest(d, options);
  double sq = 0.0;
  for (int i = 0; i < 100; ++i) {
    const double p[2] = {u(rng), u(rng)};
    double mean = 0.0;
    for (const auto& t : forest) mean += t.Predict(p) / forest.size();
    sq += std::pow(mean - (std::sin(6 * p[0]) + 0.1 * p[1]), 2);
  }
  EXPECT_LT(std::sqrt(sq / 100), 0.1);  // the function's range is 2.1
  const auto again = GrowForest(d, options);
  for (size_t t = 0; t < forest.size(); ++t) {
    ASSERT_EQ(forest[t].nodes.size(), again[t].nodes.size());
    for (size_t k = 0; k < forest[t].nodes.size(); ++k) {
      EXPECT_EQ(forest[t].nodes[k].threshold, again[t].nodes[k].threshold);
    }
  }
  // MDI credits the feature the function depends on.
  const std::vector<double> mdi = MeanDecreaseImpurity(forest, 2);
  EXPECT_NEAR(mdi[0] + mdi[1], 1.0, 1e-12);
  EXPECT_GT(mdi[0], 0.9);
}

TEST(RandomForestTest, MeanDecreaseImpurityOfOneHandMadeTree) {
  // Root (w 4, impurity 2) splits on feature 1 into leaves (w 2, impurity 0.5) and (w 2, impurity 0):
  // decrease 4·2 − 2·0.5 − 0 = 7, all of it feature 1's.
  RegressionTree tree;
  tree.nodes = {{1, 0.5, 1, 2, 0.0, 4.0, 2.0}, {-1, 0, -1, -1, 0.0, 2.0, 0.5}, {-1, 0, -1, -1, 0.0, 2.0, 0.0}};
  const std::vector<double> mdi = MeanDecreaseImpurity({tree, RegressionTree{{TreeNode{}}}}, 3);
  EXPECT_EQ(mdi, (std::vector<double>{0.0, 1.0, 0.0}));
}

}  // namespace
}  // namespace dial::internal
