// Random-forest regression as scikit-learn grows it; see random_forest.h.
#include "analysis/random_forest.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <numeric>
#include <thread>

#include "util/random.h"

namespace dial::internal {
namespace {

// Features whose values differ by at most this are constant within a node (scikit-learn's FEATURE_THRESHOLD).
constexpr double kFeatureThreshold = 1e-7;
// A node whose impurity is at most this is pure and becomes a leaf (scikit-learn uses the machine epsilon).
constexpr double kPureImpurity = std::numeric_limits<double>::epsilon();
// Distinct seed streams for a forest's bootstrap draws and each tree's feature orders.
constexpr uint64_t kBootstrapStream = 0x626F6F7473747261ULL;  // "bootstra"
constexpr uint64_t kTreeStream = 0x7472656573656564ULL;       // "treeseed"

struct NodeStats {
  double weight = 0.0;  // Σ w
  double sum = 0.0;     // Σ w y
  double sum_sq = 0.0;  // Σ w y²
  void Add(double w, double y) {
    weight += w;
    sum += w * y;
    sum_sq += w * y * y;
  }
  double Mean() const { return weight > 0 ? sum / weight : 0.0; }
  // Weighted variance: Σ w y² / W − (Σ w y / W)², never below 0.
  double Variance() const {
    if (weight <= 0) return 0.0;
    const double mean = sum / weight;
    return std::max(0.0, sum_sq / weight - mean * mean);
  }
};

class TreeGrower {
 public:
  TreeGrower(const RegressionData& data, const std::vector<double>& weights, const TreeOptions& options, uint64_t seed)
      : data_(data), weights_(weights), options_(options), rng_(seed) {
    for (int i = 0; i < data.n_samples(); ++i) {
      if (weights[i] > 0) samples_.push_back(i);
    }
    values_.resize(samples_.size());
  }

  RegressionTree Grow() {
    RegressionTree tree;
    if (samples_.empty()) {
      tree.nodes.push_back(TreeNode{});
      return tree;
    }
    // Depth-first with an explicit stack, so a degenerate tree 64 levels deep needs no deep recursion. Children are
    // appended when their parent is split, which keeps every child after its parent.
    struct Pending {
      int node, begin, end, depth;
    };
    tree.nodes.push_back(TreeNode{});
    std::vector<Pending> stack = {{0, 0, static_cast<int>(samples_.size()), 0}};
    while (!stack.empty()) {
      const Pending p = stack.back();
      stack.pop_back();
      NodeStats stats;
      for (int k = p.begin; k < p.end; ++k) stats.Add(weights_[samples_[k]], data_.y[samples_[k]]);
      TreeNode& node = tree.nodes[p.node];
      node.value = stats.Mean();
      node.weighted_samples = stats.weight;
      node.impurity = stats.Variance();
      const int n = p.end - p.begin;
      const bool leaf = p.depth >= options_.max_depth || n < options_.min_samples_split ||
                        n < 2 * options_.min_samples_leaf || node.impurity <= kPureImpurity;
      if (leaf) continue;
      const Split split = BestSplit(p.begin, p.end, stats);
      if (split.feature < 0) continue;  // every feature is constant here
      // Partition [begin, end) so that samples going left come first.
      const int mid =
          static_cast<int>(std::partition(samples_.begin() + p.begin, samples_.begin() + p.end,
                                          [&](int s) { return data_.at(s, split.feature) <= split.threshold; }) -
                           samples_.begin());
      assert(mid > p.begin && mid < p.end);
      const int left = static_cast<int>(tree.nodes.size());
      tree.nodes.push_back(TreeNode{});
      tree.nodes.push_back(TreeNode{});
      TreeNode& parent = tree.nodes[p.node];  // re-read: push_back may have moved it
      parent.feature = split.feature;
      parent.threshold = split.threshold;
      parent.left = left;
      parent.right = left + 1;
      // Right pushed first so the left subtree is grown first, as scikit-learn's depth-first builder does.
      stack.push_back({left + 1, mid, p.end, p.depth + 1});
      stack.push_back({left, p.begin, mid, p.depth + 1});
    }
    return tree;
  }

 private:
  struct Split {
    int feature = -1;
    double threshold = 0.0;
  };

  // The split of [begin, end) with the largest decrease of weighted squared error. For squared error that is the
  // split maximising the proxy S_L² / W_L + S_R² / W_R (S = Σ w y, W = Σ w), as the parent's terms are fixed.
  Split BestSplit(int begin, int end, const NodeStats& total) {
    std::vector<int> features(data_.n_features);
    std::iota(features.begin(), features.end(), 0);
    // Fisher–Yates: the order features are tried decides ties between equally good splits.
    for (int i = data_.n_features - 1; i > 0; --i) {
      std::swap(features[i], features[UniformIndex(rng_, static_cast<uint64_t>(i) + 1)]);
    }
    Split best;
    double best_proxy = -std::numeric_limits<double>::infinity();
    std::vector<int> order(samples_.begin() + begin, samples_.begin() + end);
    const int n = end - begin;
    for (int f : features) {
      for (int k = 0; k < n; ++k) values_[k] = data_.at(order[k], f);
      std::vector<int> idx(n);
      std::iota(idx.begin(), idx.end(), 0);
      std::sort(idx.begin(), idx.end(), [&](int a, int b) { return values_[a] < values_[b]; });
      if (values_[idx[n - 1]] <= values_[idx[0]] + kFeatureThreshold) continue;  // constant in this node
      double w_left = 0.0, s_left = 0.0;
      for (int k = 0; k + 1 < n; ++k) {
        const int s = order[idx[k]];
        w_left += weights_[s];
        s_left += weights_[s] * data_.y[s];
        const double here = values_[idx[k]], next = values_[idx[k + 1]];
        if (next <= here + kFeatureThreshold) continue;  // no threshold between equal values
        const int n_left = k + 1, n_right = n - n_left;
        if (n_left < options_.min_samples_leaf || n_right < options_.min_samples_leaf) continue;
        const double w_right = total.weight - w_left, s_right = total.sum - s_left;
        if (w_left <= 0 || w_right <= 0) continue;
        const double proxy = s_left * s_left / w_left + s_right * s_right / w_right;
        if (proxy > best_proxy) {
          best_proxy = proxy;
          best.feature = f;
          // The midpoint, unless rounding puts it on the upper value (then the lower one keeps the sides apart).
          double threshold = here / 2.0 + next / 2.0;
          if (threshold == next || std::isinf(threshold)) threshold = here;
          best.threshold = threshold;
        }
      }
    }
    return best;
  }

  const RegressionData& data_;
  const std::vector<double>& weights_;
  TreeOptions options_;
  SplitMix64 rng_;
  std::vector<int> samples_;    // the samples with weight > 0, partitioned node by node
  std::vector<double> values_;  // scratch: one feature's values over a node's samples
};

}  // namespace

double RegressionTree::Predict(const double* features) const {
  int node = 0;
  while (!nodes[node].is_leaf()) {
    node = features[nodes[node].feature] <= nodes[node].threshold ? nodes[node].left : nodes[node].right;
  }
  return nodes[node].value;
}

RegressionTree GrowTree(const RegressionData& data, const std::vector<double>& weights, const TreeOptions& options,
                        uint64_t seed) {
  return TreeGrower(data, weights, options, seed).Grow();
}

std::vector<RegressionTree> GrowForest(const RegressionData& data, const ForestOptions& options) {
  std::vector<RegressionTree> forest(options.n_trees);
  const int n = data.n_samples();
  auto grow = [&](int first, int stride) {
    for (int t = first; t < options.n_trees; t += stride) {
      // Each tree's bootstrap and feature orders come from streams keyed on (seed, tree), so the forest is the same
      // however the trees are spread over threads.
      SplitMix64 bootstrap(StreamSeed(options.seed ^ kBootstrapStream, t, "bootstrap"));
      std::vector<double> counts(n, 0.0);
      for (int i = 0; i < n; ++i) counts[UniformIndex(bootstrap, static_cast<uint64_t>(n))] += 1.0;
      forest[t] = GrowTree(data, counts, options.tree, StreamSeed(options.seed ^ kTreeStream, t, "features"));
    }
  };
  constexpr int kThreads = 2;
  if (options.n_trees >= kThreads && n >= 64) {
    std::thread other(grow, 1, kThreads);
    grow(0, kThreads);
    other.join();
  } else {
    grow(0, 1);
  }
  return forest;
}

std::vector<double> MeanDecreaseImpurity(const std::vector<RegressionTree>& forest, int n_features) {
  std::vector<double> total(n_features, 0.0);
  int n_used = 0;
  for (const RegressionTree& tree : forest) {
    if (tree.nodes.size() <= 1) continue;  // a lone leaf explains nothing (scikit-learn skips it too)
    std::vector<double> decrease(n_features, 0.0);
    for (const TreeNode& node : tree.nodes) {
      if (node.is_leaf()) continue;
      const TreeNode& l = tree.nodes[node.left];
      const TreeNode& r = tree.nodes[node.right];
      decrease[node.feature] +=
          node.weighted_samples * node.impurity - l.weighted_samples * l.impurity - r.weighted_samples * r.impurity;
    }
    const double sum = std::accumulate(decrease.begin(), decrease.end(), 0.0);
    if (sum > 0) {
      for (int j = 0; j < n_features; ++j) total[j] += decrease[j] / sum;
    }
    ++n_used;
  }
  const double sum = std::accumulate(total.begin(), total.end(), 0.0);
  if (n_used == 0 || sum <= 0) return std::vector<double>(n_features, 0.0);
  for (double& v : total) v /= sum;
  return total;
}

}  // namespace dial::internal
