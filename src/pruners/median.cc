// The percentile pruner and its special case the median pruner (Optuna 3.1's PercentilePruner and MedianPruner):
// stops a trial whose best intermediate value so far is worse than the given percentile of the COMPLETE
// trials' values at the same step.
#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <vector>

#include "dial/pruner.h"
#include "dial/study.h"
#include "pruners/builtin_pruners.h"
#include "pruners/pruner_util.h"
#include "util/options.h"

namespace dial {
namespace {

// The q-th percentile (0 ≤ q ≤ 100) with linear interpolation between the closest ranks (NumPy's default):
// position p = q/100 · (n − 1), value = v[⌊p⌋] + (p − ⌊p⌋)(v[⌊p⌋+1] − v[⌊p⌋]).
double Percentile(std::vector<double> values, double q) {
  std::sort(values.begin(), values.end());
  const double pos = q / 100.0 * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (pos - static_cast<double>(lo)) * (values[hi] - values[lo]);
}

class PercentilePruner final : public Pruner {
 public:
  PercentilePruner(std::string name, const PercentilePrunerOptions& options)
      : name_(std::move(name)), options_(options) {}

  std::string Name() const override { return name_; }

  Result<bool> Prune(const Study& study, const FrozenTrial& trial) override {
    if (study.is_multi_objective()) {
      return FailedPrecondition("pruner '" + name_ + "' cannot prune a study with " +
                                std::to_string(study.directions().size()) +
                                " objectives: it compares single intermediate values");
    }
    if (trial.intermediate_values.empty()) return false;
    const int64_t step = trial.intermediate_values.rbegin()->first;
    if (step < options_.n_warmup_steps) return false;
    if (!internal::IsFirstInIntervalStep(step, trial.intermediate_values, options_.n_warmup_steps,
                                         options_.interval_steps)) {
      return false;
    }
    DIAL_ASSIGN_OR_RETURN(std::vector<FrozenTrial> completed,
                          study.GetTrials(std::vector<TrialState>{TrialState::kComplete}));
    if (completed.empty() || static_cast<int64_t>(completed.size()) < options_.n_startup_trials) return false;

    const bool maximize = study.directions().front() == StudyDirection::kMaximize;
    // The trial's best value so far, NaNs ignored; a trial that reported only NaN is pruned.
    double best = std::numeric_limits<double>::quiet_NaN();
    for (const auto& [s, v] : trial.intermediate_values) {
      if (std::isnan(v)) continue;
      if (std::isnan(best) || (maximize ? v > best : v < best)) best = v;
    }
    if (std::isnan(best)) return true;

    // n_min_trials counts the trials that reported this step, NaN reports included (as Optuna counts).
    int64_t n_reported = 0;
    std::vector<double> others;
    for (const FrozenTrial& t : completed) {
      if (t.trial_id == trial.trial_id) continue;
      auto it = t.intermediate_values.find(step);
      if (it == t.intermediate_values.end()) continue;
      ++n_reported;
      if (!std::isnan(it->second)) others.push_back(it->second);
    }
    if (n_reported < options_.n_min_trials || others.empty()) return false;
    // For a maximised value the bar is the (100 − q)-th percentile: "keep the top q %" either way round.
    const double bar = Percentile(std::move(others), maximize ? 100.0 - options_.percentile : options_.percentile);
    return maximize ? best < bar : best > bar;
  }

 private:
  std::string name_;
  PercentilePrunerOptions options_;
};

PercentilePrunerOptions AsPercentile(const MedianPrunerOptions& m) {
  PercentilePrunerOptions p;
  p.percentile = 50.0;
  p.n_startup_trials = m.n_startup_trials;
  p.n_warmup_steps = m.n_warmup_steps;
  p.interval_steps = m.interval_steps;
  p.n_min_trials = m.n_min_trials;
  return p;
}

Status ValidateCommon(const std::string& name, int n_startup_trials, int n_warmup_steps, int interval_steps,
                      int n_min_trials) {
  const std::string what = "pruner '" + name + "': ";
  if (n_startup_trials < 0) {
    return InvalidArgument(what + "n_startup_trials must be >= 0, got " + std::to_string(n_startup_trials));
  }
  if (n_warmup_steps < 0) {
    return InvalidArgument(what + "n_warmup_steps must be >= 0, got " + std::to_string(n_warmup_steps));
  }
  if (interval_steps < 1) {
    return InvalidArgument(what + "interval_steps must be >= 1, got " + std::to_string(interval_steps));
  }
  if (n_min_trials < 1) return InvalidArgument(what + "n_min_trials must be >= 1, got " + std::to_string(n_min_trials));
  return Status::Ok();
}

}  // namespace

Status MedianPrunerOptions::Validate() const {
  return ValidateCommon("median", n_startup_trials, n_warmup_steps, interval_steps, n_min_trials);
}

Status PercentilePrunerOptions::Validate() const {
  if (!(percentile >= 0.0 && percentile <= 100.0)) {
    return InvalidArgument("pruner 'percentile': percentile must be in [0, 100], got " + std::to_string(percentile));
  }
  return ValidateCommon("percentile", n_startup_trials, n_warmup_steps, interval_steps, n_min_trials);
}

std::unique_ptr<Pruner> NewMedianPruner(const MedianPrunerOptions& options) {
  assert(options.Validate().ok() && "NewMedianPruner needs valid options");
  return std::make_unique<PercentilePruner>("median", AsPercentile(options));
}

std::unique_ptr<Pruner> NewPercentilePruner(const PercentilePrunerOptions& options) {
  assert(options.Validate().ok() && "NewPercentilePruner needs valid options");
  return std::make_unique<PercentilePruner>("percentile", options);
}

namespace internal {
namespace {

// The options median and percentile share, read into `opts` (a MedianPrunerOptions or PercentilePrunerOptions).
template <typename Options>
Status ReadCommonOptions(const std::string& what, const Json& options, Options& opts) {
  constexpr int64_t kIntMax = std::numeric_limits<int>::max();
  DIAL_ASSIGN_OR_RETURN(opts.n_startup_trials,
                        GetIntOption(what, options, "n_startup_trials", opts.n_startup_trials, 0, kIntMax));
  DIAL_ASSIGN_OR_RETURN(opts.n_warmup_steps,
                        GetIntOption(what, options, "n_warmup_steps", opts.n_warmup_steps, 0, kIntMax));
  DIAL_ASSIGN_OR_RETURN(opts.interval_steps,
                        GetIntOption(what, options, "interval_steps", opts.interval_steps, 1, kIntMax));
  DIAL_ASSIGN_OR_RETURN(opts.n_min_trials, GetIntOption(what, options, "n_min_trials", opts.n_min_trials, 1, kIntMax));
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<Pruner>> CreateMedianPrunerFromJson(const Json& options) {
  const std::string what = "pruner 'median'";
  DIAL_RETURN_IF_ERROR(
      CheckOptionKeys(what, options, {"n_startup_trials", "n_warmup_steps", "interval_steps", "n_min_trials"}));
  MedianPrunerOptions opts;
  DIAL_RETURN_IF_ERROR(ReadCommonOptions(what, options, opts));
  DIAL_RETURN_IF_ERROR(opts.Validate());
  return NewMedianPruner(opts);
}

Result<std::unique_ptr<Pruner>> CreatePercentilePrunerFromJson(const Json& options) {
  const std::string what = "pruner 'percentile'";
  DIAL_RETURN_IF_ERROR(CheckOptionKeys(
      what, options, {"percentile", "n_startup_trials", "n_warmup_steps", "interval_steps", "n_min_trials"}));
  PercentilePrunerOptions opts;
  if (!options.is_object() || !options.contains("percentile")) {
    return InvalidArgument(what + ": needs 'percentile' (0–100: prune trials worse than this percentile)");
  }
  DIAL_ASSIGN_OR_RETURN(opts.percentile, GetDoubleOption(what, options, "percentile", 50.0));
  DIAL_RETURN_IF_ERROR(ReadCommonOptions(what, options, opts));
  DIAL_RETURN_IF_ERROR(opts.Validate());
  return NewPercentilePruner(opts);
}

}  // namespace internal
}  // namespace dial
