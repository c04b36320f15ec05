// fANOVA variance decomposition of one tree; see fanova.h.
#include "analysis/fanova.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <utility>

namespace dial::internal {
namespace {

// Σ w (v − v̄)² / Σ w with v̄ = Σ w v / Σ w; 0 when the weights add up to nothing.
double WeightedVariance(const std::vector<double>& values, const std::vector<double>& weights) {
  double total = 0.0, mean = 0.0;
  for (size_t i = 0; i < values.size(); ++i) {
    total += weights[i];
    mean += weights[i] * values[i];
  }
  if (!(total > 0)) return 0.0;
  mean /= total;
  double variance = 0.0;
  for (size_t i = 0; i < values.size(); ++i) variance += weights[i] * (values[i] - mean) * (values[i] - mean);
  return variance / total;
}

}  // namespace

FanovaTree::FanovaTree(const RegressionTree& tree, std::vector<FeatureBounds> bounds)
    : tree_(tree), bounds_(std::move(bounds)), n_features_(static_cast<int>(bounds_.size())) {
  const size_t n_nodes = tree_.nodes.size();
  node_value_.assign(n_nodes, 0.0);
  node_volume_.assign(n_nodes, 0.0);
  subtree_splits_on_.assign(n_nodes * n_features_, 0);
  split_values_.assign(n_features_, {});

  // Top-down: each node's box, the search space cut by the splits on its path. Leaves take the tree's value and their
  // box's volume.
  std::vector<std::vector<FeatureBounds>> boxes(n_nodes);
  boxes[0] = bounds_;
  for (size_t i = 0; i < n_nodes; ++i) {
    const TreeNode& node = tree_.nodes[i];
    if (node.is_leaf()) {
      double volume = 1.0;
      for (const FeatureBounds& b : boxes[i]) volume *= b.high - b.low;
      node_value_[i] = node.value;
      node_volume_[i] = volume;
      continue;
    }
    split_values_[node.feature].push_back(node.threshold);
    boxes[node.left] = boxes[i];
    boxes[node.left][node.feature].high = node.threshold;
    boxes[node.right] = boxes[i];
    boxes[node.right][node.feature].low = node.threshold;
    boxes[i].clear();  // no longer needed once the children have theirs
  }
  // Bottom-up (children come after parents): an inner node's value is its children's volume-weighted mean.
  for (size_t k = n_nodes; k-- > 0;) {
    const TreeNode& node = tree_.nodes[k];
    if (node.is_leaf()) continue;
    const double wl = node_volume_[node.left], wr = node_volume_[node.right];
    node_volume_[k] = wl + wr;
    node_value_[k] = wl + wr > 0 ? (wl * node_value_[node.left] + wr * node_value_[node.right]) / (wl + wr) : 0.0;
    char* row = &subtree_splits_on_[k * n_features_];
    row[node.feature] = 1;
    for (int child : {node.left, node.right}) {
      const char* child_row = &subtree_splits_on_[static_cast<size_t>(child) * n_features_];
      for (int j = 0; j < n_features_; ++j) row[j] = static_cast<char>(row[j] | child_row[j]);
    }
  }
  for (std::vector<double>& v : split_values_) {
    std::sort(v.begin(), v.end());
    v.erase(std::unique(v.begin(), v.end()), v.end());
  }
  std::vector<double> leaf_values, leaf_volumes;
  for (size_t i = 0; i < n_nodes; ++i) {
    if (!tree_.nodes[i].is_leaf()) continue;
    leaf_values.push_back(node_value_[i]);
    leaf_volumes.push_back(node_volume_[i]);
  }
  variance_ = WeightedVariance(leaf_values, leaf_volumes);
}

void FanovaTree::MarginalizedStatistics(const std::vector<double>& point, const std::vector<int>& group, double* value,
                                        double* weight) const {
  // Walk down from the root. A split on a feature of the group sends the walk one way and narrows that feature's
  // range; a split elsewhere is averaged over, so both ways are taken, unless nothing below it splits on the group:
  // then the node's precomputed mean stands for its whole subtree.
  struct Visit {
    int node;
    std::vector<FeatureBounds> box;  // the group features' ranges, in group order
  };
  std::vector<FeatureBounds> root_box;
  for (int f : group) root_box.push_back(bounds_[f]);
  std::vector<Visit> stack = {{0, std::move(root_box)}};
  double sum_value = 0.0, sum_weight = 0.0;
  while (!stack.empty()) {
    Visit visit = std::move(stack.back());
    stack.pop_back();
    const TreeNode& node = tree_.nodes[visit.node];
    if (!node.is_leaf()) {
      const auto in_group = std::find(group.begin(), group.end(), node.feature);
      if (in_group != group.end()) {
        const size_t g = static_cast<size_t>(in_group - group.begin());
        if (point[node.feature] <= node.threshold) {
          visit.box[g].high = node.threshold;
          stack.push_back({node.left, std::move(visit.box)});
        } else {
          visit.box[g].low = node.threshold;
          stack.push_back({node.right, std::move(visit.box)});
        }
        continue;
      }
      const char* row = &subtree_splits_on_[static_cast<size_t>(visit.node) * n_features_];
      bool below = false;
      for (int f : group) below = below || row[f] != 0;
      if (below) {
        stack.push_back({node.left, visit.box});
        stack.push_back({node.right, std::move(visit.box)});
        continue;
      }
    }
    // The node's volume divided by its extent along the group: the volume of the other features' part.
    double group_extent = 1.0;
    for (const FeatureBounds& b : visit.box) group_extent *= b.high - b.low;
    const double w = node_volume_[visit.node] / group_extent;
    sum_value += w * node_value_[visit.node];
    sum_weight += w;
  }
  *value = sum_weight > 0 ? sum_value / sum_weight : 0.0;
  *weight = sum_weight;
}

double FanovaTree::MarginalVariance(const std::vector<int>& group) const {
  assert(!group.empty());
  bool any_split = false;
  for (int f : group) any_split = any_split || !split_values_[f].empty();
  if (!any_split) return 0.0;  // the marginal is constant
  // Cells along each feature of the group: between consecutive values of low, the split values, high.
  std::vector<std::vector<double>> midpoints(group.size()), sizes(group.size());
  for (size_t g = 0; g < group.size(); ++g) {
    std::vector<double> edges = {bounds_[group[g]].low};
    edges.insert(edges.end(), split_values_[group[g]].begin(), split_values_[group[g]].end());
    edges.push_back(bounds_[group[g]].high);
    for (size_t e = 0; e + 1 < edges.size(); ++e) {
      midpoints[g].push_back(0.5 * (edges[e] + edges[e + 1]));
      sizes[g].push_back(edges[e + 1] - edges[e]);
    }
  }
  // Every combination of one cell per feature (an odometer over the cell indices).
  std::vector<size_t> cell(group.size(), 0);
  std::vector<double> point(n_features_, std::numeric_limits<double>::quiet_NaN());
  std::vector<double> values, weights;
  while (true) {
    double size = 1.0;
    for (size_t g = 0; g < group.size(); ++g) {
      point[group[g]] = midpoints[g][cell[g]];
      size *= sizes[g][cell[g]];
    }
    double value = 0.0, weight = 0.0;
    MarginalizedStatistics(point, group, &value, &weight);
    values.push_back(value);
    weights.push_back(weight * size);
    size_t g = 0;
    while (g < group.size() && ++cell[g] == midpoints[g].size()) cell[g++] = 0;
    if (g == group.size()) break;
  }
  return std::max(0.0, WeightedVariance(values, weights));
}

}  // namespace dial::internal
