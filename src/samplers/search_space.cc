// Intersection search space and the unit-cube encoding; see search_space.h.
#include "samplers/search_space.h"

#include <algorithm>
#include <cmath>
#include <variant>

namespace dial::internal {
namespace {

bool Counts(const FrozenTrial& t, bool include_pruned) {
  if (t.state == TrialState::kComplete) return true;
  return include_pruned && t.state == TrialState::kPruned && !t.values.empty();
}

}  // namespace

SearchSpace IntersectionSearchSpace(const std::vector<FrozenTrial>& trials, bool include_pruned) {
  SearchSpace space;
  bool first = true;
  for (const FrozenTrial& t : trials) {
    if (!Counts(t, include_pruned)) continue;
    if (first) {
      space = t.distributions;
      first = false;
      continue;
    }
    for (auto it = space.begin(); it != space.end();) {
      auto other = t.distributions.find(it->first);
      if (other == t.distributions.end() || !DistributionEquals(other->second, it->second)) {
        it = space.erase(it);
      } else {
        ++it;
      }
    }
    if (space.empty()) break;
  }
  for (auto it = space.begin(); it != space.end();) it = IsSingle(it->second) ? space.erase(it) : std::next(it);
  return space;
}

std::vector<const FrozenTrial*> TrialsCovering(const std::vector<FrozenTrial>& trials, const SearchSpace& space,
                                               bool include_pruned) {
  std::vector<const FrozenTrial*> out;
  for (const FrozenTrial& t : trials) {
    if (!Counts(t, include_pruned)) continue;
    bool all = true;
    for (const auto& [name, dist] : space) all = all && t.params.count(name) > 0;
    if (all) out.push_back(&t);
  }
  return out;
}

UnitCubeEncoding::UnitCubeEncoding(const SearchSpace& space) : space_(space) {
  for (const auto& [name, dist] : space_) {
    if (const auto* c = std::get_if<CategoricalDistribution>(&dist)) {
      for (size_t i = 0; i < c->choices.size(); ++i) columns_.push_back({name, static_cast<int>(i)});
      continue;
    }
    Column col{name};
    double low = 0, high = 0, half_step = 0;
    if (const auto* f = std::get_if<FloatDistribution>(&dist)) {
      low = f->low, high = f->high, col.log = f->log;
      if (f->step) half_step = *f->step / 2, col.discrete = true;
    } else {
      const auto& i = std::get<IntDistribution>(dist);
      low = static_cast<double>(i.low), high = static_cast<double>(i.high), col.log = i.log;
      half_step = static_cast<double>(i.step) / 2, col.discrete = true;
    }
    low -= half_step, high += half_step;
    if (col.log) low = std::log(low), high = std::log(high);
    col.low = low, col.high = high;
    columns_.push_back(col);
  }
}

std::vector<double> UnitCubeEncoding::Encode(const std::map<std::string, double>& params) const {
  std::vector<double> x(columns_.size(), 0.0);
  for (size_t j = 0; j < columns_.size(); ++j) {
    const Column& col = columns_[j];
    const double v = params.at(col.name);
    if (col.choice >= 0) {
      x[j] = static_cast<int>(v) == col.choice ? 1.0 : 0.0;
      continue;
    }
    const double s = col.log ? std::log(v) : v;
    x[j] = col.high > col.low ? (s - col.low) / (col.high - col.low) : 0.5;
  }
  return x;
}

std::map<std::string, double> UnitCubeEncoding::Decode(const std::vector<double>& x) const {
  std::map<std::string, double> out;
  std::map<std::string, double> best_onehot;
  for (size_t j = 0; j < columns_.size(); ++j) {
    const Column& col = columns_[j];
    if (col.choice >= 0) {
      auto it = best_onehot.find(col.name);
      if (it == best_onehot.end() || x[j] > it->second) {
        best_onehot[col.name] = x[j];
        out[col.name] = col.choice;
      }
      continue;
    }
    const double u = std::clamp(x[j], 0.0, 1.0);
    double v = col.low + u * (col.high - col.low);
    if (col.log) v = std::exp(v);
    const Distribution& dist = space_.at(col.name);
    if (const auto* f = std::get_if<FloatDistribution>(&dist)) {
      if (f->step) v = f->low + std::round((v - f->low) / *f->step) * *f->step;
      v = std::clamp(v, f->low, f->high);
    } else {
      const auto& i = std::get<IntDistribution>(dist);
      const double step = static_cast<double>(i.step);
      v = static_cast<double>(i.low) + std::round((v - static_cast<double>(i.low)) / step) * step;
      v = std::clamp(v, static_cast<double>(i.low), static_cast<double>(i.high));
    }
    out[col.name] = v;
  }
  return out;
}

}  // namespace dial::internal
