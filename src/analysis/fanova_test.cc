// fANOVA's decomposition of hand-made trees, against variances worked out by hand.
#include "analysis/fanova.h"

#include <gtest/gtest.h>

namespace dial::internal {
namespace {

TreeNode Split(int feature, double threshold, int left, int right) {
  TreeNode n;
  n.feature = feature;
  n.threshold = threshold;
  n.left = left;
  n.right = right;
  return n;
}
TreeNode Leaf(double value) {
  TreeNode n;
  n.value = value;
  return n;
}

TEST(FanovaTreeTest, OneSplitExplainsAllItsVariance) {
  // ŷ = 0 for x0 ≤ 0.5, 1 above, on [0,1]²: V = ¼, all of it x0's.
  RegressionTree tree{{Split(0, 0.5, 1, 2), Leaf(0), Leaf(1)}};
  FanovaTree f(tree, {{0, 1}, {0, 1}});
  EXPECT_DOUBLE_EQ(f.Variance(), 0.25);
  EXPECT_DOUBLE_EQ(f.MarginalVariance({0}), 0.25);
  EXPECT_DOUBLE_EQ(f.MarginalVariance({1}), 0.0);
}

TEST(FanovaTreeTest, UnequalCellsWeighByVolume) {
  // x0 ∈ [0, 4], split at 1: ŷ = 4 on a quarter, 0 on three quarters. μ = 1, V = ¼·9 + ¾·1 = 3.
  RegressionTree tree{{Split(0, 1.0, 1, 2), Leaf(4), Leaf(0)}};
  FanovaTree f(tree, {{0, 4}, {10, 20}});
  EXPECT_DOUBLE_EQ(f.Variance(), 3.0);
  EXPECT_DOUBLE_EQ(f.MarginalVariance({0}), 3.0);
}

TEST(FanovaTreeTest, AdditiveTreeSplitsItsVarianceByParameter) {
  // ŷ = 2·[x0 > ½] + [x1 > ½] on [0,1]²: values 0, 1, 2, 3 on four equal cells.
  // V = var{0,1,2,3} = 1.25; V_0 = var{0.5, 2.5} = 1; V_1 = var{1, 2} = 0.25; V_0 + V_1 = V (no interaction).
  RegressionTree tree{
      {Split(0, 0.5, 1, 2), Split(1, 0.5, 3, 4), Split(1, 0.5, 5, 6), Leaf(0), Leaf(1), Leaf(2), Leaf(3)}};
  FanovaTree f(tree, {{0, 1}, {0, 1}});
  EXPECT_DOUBLE_EQ(f.Variance(), 1.25);
  EXPECT_DOUBLE_EQ(f.MarginalVariance({0}), 1.0);
  EXPECT_DOUBLE_EQ(f.MarginalVariance({1}), 0.25);
}

TEST(FanovaTreeTest, PureInteractionHasNoMainEffects) {
  // XOR: ŷ = 1 when exactly one of x0, x1 is above ½. Each marginal is flat at ½: V_0 = V_1 = 0, V = ¼.
  RegressionTree tree{
      {Split(0, 0.5, 1, 2), Split(1, 0.5, 3, 4), Split(1, 0.5, 5, 6), Leaf(0), Leaf(1), Leaf(1), Leaf(0)}};
  FanovaTree f(tree, {{0, 1}, {0, 1}});
  EXPECT_DOUBLE_EQ(f.Variance(), 0.25);
  EXPECT_DOUBLE_EQ(f.MarginalVariance({0}), 0.0);
  EXPECT_DOUBLE_EQ(f.MarginalVariance({1}), 0.0);
  // Both together explain everything.
  EXPECT_DOUBLE_EQ(f.MarginalVariance({0, 1}), 0.25);
}

TEST(FanovaTreeTest, OneHotColumnsAreAssessedAsOneGroup) {
  // A categorical with 2 choices as columns 0, 1 (one-hot), and a number as column 2. The tree splits on column 0:
  // ŷ = 0 when choice 0 is off, 3 when it is on. The group {0, 1} explains V = var{0, 3} = 2.25.
  RegressionTree tree{{Split(0, 0.5, 1, 2), Leaf(0), Leaf(3)}};
  FanovaTree f(tree, {{0, 1}, {0, 1}, {-5, 5}});
  EXPECT_DOUBLE_EQ(f.Variance(), 2.25);
  EXPECT_DOUBLE_EQ(f.MarginalVariance({0, 1}), 2.25);
  EXPECT_DOUBLE_EQ(f.MarginalVariance({2}), 0.0);
}

}  // namespace
}  // namespace dial::internal
