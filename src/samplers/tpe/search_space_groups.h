// Optuna's _SearchSpaceGroup (the group-decomposed search space of TPE's `group` option): a partition of the
// parameters seen so far such that every trial's parameters are a union of whole groups. In a conditional space
// (`momentum` only when `optimizer` is sgd) each group is modelled jointly on exactly the trials that have it.
#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "dial/distribution.h"

namespace dial::internal::tpe {

class SearchSpaceGroups {
 public:
  // Refines the partition with one trial's parameters: each group splits into the part the trial has and the
  // part it has not; parameters never seen before form a new group (with this trial's distributions). Adding the
  // same set of names again changes nothing.
  void Add(const std::map<std::string, Distribution>& distributions) {
    std::set<std::string> remaining;
    for (const auto& [name, dist] : distributions) remaining.insert(name);
    std::vector<SearchSpace> next;
    for (const SearchSpace& group : groups_) {
      SearchSpace inside, outside;
      for (const auto& [name, dist] : group) (remaining.count(name) ? inside : outside).emplace(name, dist);
      for (const auto& [name, dist] : group) remaining.erase(name);
      if (!inside.empty()) next.push_back(std::move(inside));
      if (!outside.empty()) next.push_back(std::move(outside));
    }
    SearchSpace fresh;
    for (const std::string& name : remaining) fresh.emplace(name, distributions.at(name));
    if (!fresh.empty()) next.push_back(std::move(fresh));
    groups_ = std::move(next);
  }
  const std::vector<SearchSpace>& groups() const { return groups_; }

 private:
  std::vector<SearchSpace> groups_;
};

}  // namespace dial::internal::tpe
