// fANOVA's functional variance decomposition of one regression tree (Hutter, Hoos & Leyton-Brown, "An Efficient
// Approach for Assessing Hyperparameter Importance", ICML 2014), as Optuna 3.1's _FanovaTree computes it. Internal to
// src/analysis.
//
// A tree is a piecewise-constant function ŷ(x) over the box B = Π_j [low_j, high_j]. With the uniform measure on B,
// its total variance is
//   V = Σ_leaves (|B_l| / |B|) (ŷ_l − μ)²,   μ = Σ_leaves (|B_l| / |B|) ŷ_l,
// and the marginal of a group of features S is â_S(x_S) = mean of ŷ over the other features with x_S fixed. â_S is
// constant on the cells cut by the tree's split values on S, so its variance is a finite weighted sum over those
// cells' midpoints, each weighted by the cell's size. The importance of S in the tree is V_S / V.
#pragma once

#include <vector>

#include "analysis/random_forest.h"

namespace dial::internal {

// A feature's range: the search space's bounds of one encoded column.
struct FeatureBounds {
  double low = 0.0;
  double high = 1.0;
};

class FanovaTree {
 public:
  // `bounds` has one entry per feature of the data the tree was grown on.
  FanovaTree(const RegressionTree& tree, std::vector<FeatureBounds> bounds);

  // V: the variance of the tree's prediction under the uniform measure on the search space.
  double Variance() const { return variance_; }

  // V_S: the variance of the marginal prediction over the features `group` (the encoded columns of one parameter:
  // one for a number, one per choice for a categorical), clipped at 0.
  double MarginalVariance(const std::vector<int>& group) const;

 private:
  // The marginal prediction at `point` (NaN for features that are marginalised) and its weight, the volume of the
  // marginalised features' part of the space.
  void MarginalizedStatistics(const std::vector<double>& point, const std::vector<int>& group, double* value,
                              double* weight) const;

  const RegressionTree& tree_;
  std::vector<FeatureBounds> bounds_;
  int n_features_;
  // Per node: the volume-weighted mean prediction over its box, and its box's volume.
  std::vector<double> node_value_;
  std::vector<double> node_volume_;
  // Per node, per feature (row-major): whether the node's subtree splits on the feature.
  std::vector<char> subtree_splits_on_;
  // Per feature: the sorted distinct split values of the tree on it.
  std::vector<std::vector<double>> split_values_;
  double variance_ = 0.0;
};

}  // namespace dial::internal
