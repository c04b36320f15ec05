// A random forest of regression trees grown as scikit-learn's RandomForestRegressor grows them (bootstrap samples,
// every feature tried at every split in a random order, best squared-error split at midpoints), which is the model
// under Optuna's fANOVA and MDI importances. Internal to src/analysis.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dial::internal {

// Rows of features, row-major: x[i * n_features + j] is feature j of sample i.
struct RegressionData {
  std::vector<double> x;
  std::vector<double> y;
  int n_features = 0;
  int n_samples() const { return static_cast<int>(y.size()); }
  double at(int sample, int feature) const { return x[static_cast<size_t>(sample) * n_features + feature]; }
};

struct TreeNode {
  int feature = -1;        // < 0 for a leaf
  double threshold = 0.0;  // a sample goes left when x[feature] ≤ threshold
  int left = -1;
  int right = -1;
  double value = 0.0;             // weighted mean of y over the node's samples
  double weighted_samples = 0.0;  // Σ w over the node's samples (bootstrap counts)
  double impurity = 0.0;          // weighted variance of y over the node's samples
  bool is_leaf() const { return feature < 0; }
};

struct TreeOptions {
  int max_depth = 64;
  int min_samples_split = 2;  // a node with fewer distinct samples is a leaf
  int min_samples_leaf = 1;   // each child of a split keeps at least this many distinct samples
};

// One tree; nodes[0] is the root, children always come after their parent.
struct RegressionTree {
  std::vector<TreeNode> nodes;
  double Predict(const double* features) const;
};

// Grows a tree on the samples with weight > 0 (weights are bootstrap counts). `seed` orders the features tried at
// each split; the result is a function of (data, weights, options, seed).
RegressionTree GrowTree(const RegressionData& data, const std::vector<double>& weights, const TreeOptions& options,
                        uint64_t seed);

struct ForestOptions {
  int n_trees = 64;
  TreeOptions tree;
  uint64_t seed = 0;
};

// n_trees trees, each grown on a bootstrap sample (n draws with replacement) of `data`, with its own stream of the
// seed. Trees are grown on up to two threads; the result does not depend on how many.
std::vector<RegressionTree> GrowForest(const RegressionData& data, const ForestOptions& options);

// Mean decrease in impurity per feature (Breiman 2001), as scikit-learn's feature_importances_: for each tree,
//   MDI_j = Σ_{nodes t splitting on j} (w_t i_t − w_left i_left − w_right i_right),
// normalised to add up to 1 within the tree; averaged over the trees that split at all; normalised again. All zeros
// when no tree splits.
std::vector<double> MeanDecreaseImpurity(const std::vector<RegressionTree>& forest, int n_features);

}  // namespace dial::internal
