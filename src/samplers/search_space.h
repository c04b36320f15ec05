// What the model-based samplers share: which parameters to model jointly (the intersection search space) and
// a continuous encoding of a search space as the unit cube, so GP-BO, CMA-ES and QMC work on x ∈ [0, 1]^d.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "dial/distribution.h"
#include "dial/frozen_trial.h"

namespace dial::internal {

// The parameters every trial in `trials` has, with the same distribution in all of them, leaving out
// single-valued distributions (nothing to search). Trials in other states than COMPLETE (and PRUNED when
// `include_pruned`) are ignored. Empty when no trial qualifies. This is Optuna's IntersectionSearchSpace.
SearchSpace IntersectionSearchSpace(const std::vector<FrozenTrial>& trials, bool include_pruned = false);

// The trials in `trials` whose state is COMPLETE (or PRUNED with a value when `include_pruned`) and that have
// every parameter of `space`; in storage order.
std::vector<const FrozenTrial*> TrialsCovering(const std::vector<FrozenTrial>& trials, const SearchSpace& space,
                                               bool include_pruned = false);

// A search space as the unit cube. Floats and ints take one coordinate each, x = (v − low) / (high − low) on
// the (log-)scale of the distribution; an int or stepped float covers [low − step/2, high + step/2] so every
// grid point owns an equal share of the cube (as Optuna's SearchSpaceTransform). A categorical with k
// choices takes k coordinates (one-hot); decoding picks the largest.
class UnitCubeEncoding {
 public:
  explicit UnitCubeEncoding(const SearchSpace& space);

  int dims() const { return static_cast<int>(columns_.size()); }
  const SearchSpace& space() const { return space_; }
  // For each coordinate, the parameter name it encodes and whether it is a one-hot column.
  const std::string& ColumnParam(int column) const { return columns_[column].name; }
  bool IsOneHot(int column) const { return columns_[column].choice >= 0; }
  // True when the coordinate comes from an int or stepped float (decoding rounds it).
  bool IsDiscrete(int column) const { return columns_[column].discrete; }

  // `params` holds internal values of (at least) every parameter of the space.
  std::vector<double> Encode(const std::map<std::string, double>& params) const;
  // Internal values for every parameter of the space; coordinates outside [0, 1] are clamped, ints and steps
  // rounded to their grid, categoricals decoded by the largest one-hot coordinate.
  std::map<std::string, double> Decode(const std::vector<double>& x) const;

 private:
  struct Column {
    std::string name;
    int choice = -1;  // ≥ 0: this column is one-hot for that choice index
    bool log = false;
    bool discrete = false;
    double low = 0, high = 1;  // the range on the (log-)scale, widened by half a step for discrete ones
  };
  SearchSpace space_;
  std::vector<Column> columns_;
};

}  // namespace dial::internal
