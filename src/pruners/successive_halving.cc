// Asynchronous successive halving (ASHA, Li et al. 2018, arXiv:1810.05934), as Optuna 3.1's
// SuccessiveHalvingPruner keeps it in storage: a trial's value at each rung end is a trial system attribute
// `completed_rung_<k>`, so a study is shared with Optuna and across workers without any other state.
#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "dial/pruner.h"
#include "dial/study.h"
#include "pruners/builtin_pruners.h"
#include "util/options.h"

namespace dial {
namespace {

// Where workers agree on an "auto" min_resource (dial's own key; Optuna keeps it in the pruner object only).
constexpr char kAutoMinResourceAttr[] = "dial:successive_halving_min_resource";
// "auto" min_resource: the longest COMPLETE trial's last step over this, at least 1 (Optuna's heuristic).
constexpr int64_t kAutoMinResourceDivisor = 100;
constexpr int64_t kIntMax = std::numeric_limits<int>::max();

// The number of rungs the trial has completed: its consecutive completed_rung_0, _1, … attributes.
int CurrentRung(const AttrMap& system_attrs) {
  int rung = 0;
  while (system_attrs.count(internal::CompletedRungKey(rung))) ++rung;
  return rung;
}

// ASHA's promotion test. With the n values recorded at the rung (the trial's own included) sorted best first, the
// trial goes on when it is among the first max(⌊n / η⌋, 1): the top 1/η, or the best while n < η (a trial cannot
// be paused to wait for more competitors, so the lone early ones are judged against what is there).
bool IsPromotable(double value, std::vector<double> competing, int reduction_factor, bool maximize) {
  const size_t n_promoted = std::max<size_t>(competing.size() / static_cast<size_t>(reduction_factor), 1);
  std::sort(competing.begin(), competing.end());
  return maximize ? value >= competing[competing.size() - n_promoted] : value <= competing[n_promoted - 1];
}

class SuccessiveHalvingPruner final : public Pruner {
 public:
  explicit SuccessiveHalvingPruner(const SuccessiveHalvingPrunerOptions& options)
      : options_(options), min_resource_(options.min_resource) {}

  std::string Name() const override { return "successive_halving"; }

  Result<bool> Prune(const Study& study, const FrozenTrial& trial) override {
    if (study.is_multi_objective()) {
      return FailedPrecondition("pruner 'successive_halving' cannot prune a study with " +
                                std::to_string(study.directions().size()) +
                                " objectives: it ranks single intermediate values");
    }
    if (trial.intermediate_values.empty()) return false;
    if (!min_resource_) {
      DIAL_ASSIGN_OR_RETURN(min_resource_, internal::AgreedAutoResource(study, kAutoMinResourceAttr, [](int64_t last) {
                              return std::max<int64_t>(last / kAutoMinResourceDivisor, 1);
                            }));
      if (!min_resource_) return false;  // no COMPLETE trial yet: nothing to size the rungs by
    }
    internal::SuccessiveHalvingRule rule;
    rule.min_resource = *min_resource_;
    rule.reduction_factor = options_.reduction_factor;
    rule.min_early_stopping_rate = options_.min_early_stopping_rate;
    rule.bootstrap_count = options_.bootstrap_count;
    return internal::PruneBySuccessiveHalving(study, trial, rule, TrialFilter(), AttrMap(), open_rungs_);
  }

 private:
  SuccessiveHalvingPrunerOptions options_;
  std::optional<int64_t> min_resource_;  // resolved once when "auto"
  internal::OpenRungs open_rungs_;
};

}  // namespace

namespace internal {

std::string CompletedRungKey(int rung) { return "completed_rung_" + std::to_string(rung); }

int64_t RungEndStep(const SuccessiveHalvingRule& rule, int rung) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t end = rule.min_resource;
  for (int k = 0; k < rule.min_early_stopping_rate + rung; ++k) {
    if (end > kMax / rule.reduction_factor) return kMax;
    end *= rule.reduction_factor;
  }
  return end;
}

Result<bool> PruneBySuccessiveHalving(const Study& study, const FrozenTrial& trial, const SuccessiveHalvingRule& rule,
                                      const TrialFilter& competes, const AttrMap& first_rung_attrs,
                                      OpenRungs& open_rungs) {
  if (trial.intermediate_values.empty()) return false;
  const auto [step, value] = *trial.intermediate_values.rbegin();
  // Most reports fall inside a rung: decided from what this pruner already knows, without touching storage.
  auto known = open_rungs.find(trial.trial_id);
  const int open_rung = std::max(CurrentRung(trial.system_attrs), known == open_rungs.end() ? 0 : known->second);
  if (step < RungEndStep(rule, open_rung)) return false;
  Storage& storage = study.storage();
  DIAL_ASSIGN_OR_RETURN(FrozenTrial stored, storage.GetTrial(trial.trial_id));
  const bool maximize = study.directions().front() == StudyDirection::kMaximize;
  // A trial reporting sparsely may pass several rung ends at once: it competes at each in turn.
  for (int rung = CurrentRung(stored.system_attrs);; ++rung) {
    if (step < RungEndStep(rule, rung)) {
      open_rungs[trial.trial_id] = rung;
      return false;
    }
    if (!std::isfinite(value)) return true;  // diverged: never promoted, and not recorded as a competitor
    if (rung == 0) {
      for (const auto& [key, attr] : first_rung_attrs) {
        DIAL_RETURN_IF_ERROR(storage.SetTrialSystemAttr(trial.trial_id, key, attr));
      }
    }
    const std::string key = CompletedRungKey(rung);
    DIAL_RETURN_IF_ERROR(storage.SetTrialSystemAttr(trial.trial_id, key, value));
    // Read after writing: of two trials ending a rung at the same time, at least one sees the other's value.
    DIAL_ASSIGN_OR_RETURN(std::vector<FrozenTrial> trials, study.GetTrials());
    std::vector<double> competing = {value};
    for (const FrozenTrial& t : trials) {
      if (t.trial_id == trial.trial_id || (competes && !competes(t))) continue;
      auto it = t.system_attrs.find(key);
      if (it != t.system_attrs.end() && it->second.is_number()) competing.push_back(it->second.get<double>());
    }
    // Until more than bootstrap_count values are in, the rung only collects them (Optuna prunes these trials).
    if (static_cast<int64_t>(competing.size()) <= rule.bootstrap_count) return true;
    if (!IsPromotable(value, std::move(competing), rule.reduction_factor, maximize)) return true;
  }
}

Result<std::optional<int64_t>> AgreedAutoResource(const Study& study, const std::string& key,
                                                  const std::function<int64_t(int64_t)>& estimate) {
  Storage& storage = study.storage();
  auto agreed = [&]() -> Result<std::optional<int64_t>> {
    DIAL_ASSIGN_OR_RETURN(AttrMap attrs, storage.GetStudySystemAttrs(study.id()));
    auto it = attrs.find(key);
    if (it == attrs.end()) return std::optional<int64_t>();
    if (!it->second.is_number_integer()) {
      return FailedPrecondition("study '" + study.name() + "' system attribute " + key + " should be an integer, got " +
                                it->second.dump());
    }
    return std::optional<int64_t>(it->second.get<int64_t>());
  };
  DIAL_ASSIGN_OR_RETURN(std::optional<int64_t> known, agreed());
  if (known) return known;
  DIAL_ASSIGN_OR_RETURN(std::vector<FrozenTrial> complete,
                        study.GetTrials(std::vector<TrialState>{TrialState::kComplete}));
  std::optional<int64_t> longest;
  for (const FrozenTrial& t : complete) {
    if (auto last = t.LastStep(); last && (!longest || *last > *longest)) longest = last;
  }
  if (!longest) return std::optional<int64_t>();
  const int64_t mine = estimate(*longest);
  DIAL_ASSIGN_OR_RETURN(bool stored, storage.SetStudySystemAttrIfAbsent(study.id(), key, Json(mine)));
  if (stored) return std::optional<int64_t>(mine);
  return agreed();  // another worker decided first
}

}  // namespace internal

Status SuccessiveHalvingPrunerOptions::Validate() const {
  const std::string what = "pruner 'successive_halving': ";
  if (min_resource && *min_resource < 1) {
    return InvalidArgument(what + "min_resource must be >= 1 or \"auto\", got " + std::to_string(*min_resource));
  }
  if (reduction_factor < 2) {
    return InvalidArgument(what + "reduction_factor must be >= 2, got " + std::to_string(reduction_factor));
  }
  if (min_early_stopping_rate < 0) {
    return InvalidArgument(what + "min_early_stopping_rate must be >= 0, got " +
                           std::to_string(min_early_stopping_rate));
  }
  if (bootstrap_count < 0) {
    return InvalidArgument(what + "bootstrap_count must be >= 0, got " + std::to_string(bootstrap_count));
  }
  if (bootstrap_count > 0 && !min_resource) {
    return InvalidArgument(what + "bootstrap_count > 0 needs an explicit min_resource, not \"auto\"");
  }
  return Status::Ok();
}

std::unique_ptr<Pruner> NewSuccessiveHalvingPruner(const SuccessiveHalvingPrunerOptions& options) {
  assert(options.Validate().ok() && "NewSuccessiveHalvingPruner needs valid options");
  return std::make_unique<SuccessiveHalvingPruner>(options);
}

namespace internal {

Result<std::unique_ptr<Pruner>> CreateSuccessiveHalvingPrunerFromJson(const Json& options) {
  const std::string what = "pruner 'successive_halving'";
  DIAL_RETURN_IF_ERROR(CheckOptionKeys(
      what, options, {"min_resource", "reduction_factor", "min_early_stopping_rate", "bootstrap_count"}));
  SuccessiveHalvingPrunerOptions opts;
  DIAL_ASSIGN_OR_RETURN(opts.min_resource, GetIntOrAutoOption(what, options, "min_resource", "an integer >= 1", 1));
  DIAL_ASSIGN_OR_RETURN(opts.reduction_factor,
                        GetIntOption(what, options, "reduction_factor", opts.reduction_factor, 2, kIntMax));
  DIAL_ASSIGN_OR_RETURN(opts.min_early_stopping_rate, GetIntOption(what, options, "min_early_stopping_rate",
                                                                   opts.min_early_stopping_rate, 0, kIntMax));
  DIAL_ASSIGN_OR_RETURN(opts.bootstrap_count,
                        GetIntOption(what, options, "bootstrap_count", opts.bootstrap_count, 0, kIntMax));
  DIAL_RETURN_IF_ERROR(opts.Validate());
  return NewSuccessiveHalvingPruner(opts);
}

}  // namespace internal
}  // namespace dial
