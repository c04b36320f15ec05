// The median pruner (Optuna 3.1's MedianPruner, i.e. its PercentilePruner at 50): stops a trial whose best
// intermediate value so far is worse than the median of the COMPLETE trials' values at the same step.
#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <vector>

#include "dial/pruner.h"
#include "dial/study.h"
#include "pruners/builtin_pruners.h"
#include "samplers/component_options.h"

namespace dial {
namespace {

// The median with linear interpolation between the two middle values (NumPy's default percentile).
double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

// True when `step` is the first report at or after the latest pruning checkpoint (warm-up + k·interval): a
// trial reporting every step is then checked every `interval_steps`, and one reporting sparsely is checked
// at the first report past each checkpoint rather than never.
bool IsFirstInIntervalStep(int64_t step, const std::map<int64_t, double>& reported, int64_t warmup, int64_t interval) {
  const int64_t checkpoint = (step - warmup) / interval * interval + warmup;
  int64_t previous = -1;  // the latest earlier-reported step, as Optuna counts it
  for (const auto& [s, v] : reported) {
    if (s != step && s > previous) previous = s;
  }
  return previous < checkpoint;
}

class MedianPruner final : public Pruner {
 public:
  explicit MedianPruner(const MedianPrunerOptions& options) : options_(options) {}

  std::string Name() const override { return "median"; }

  Result<bool> Prune(const Study& study, const FrozenTrial& trial) override {
    if (study.is_multi_objective()) {
      return FailedPrecondition("pruner 'median' cannot prune a study with " +
                                std::to_string(study.directions().size()) +
                                " objectives: it compares single intermediate values");
    }
    if (trial.intermediate_values.empty()) return false;
    const int64_t step = trial.intermediate_values.rbegin()->first;
    if (step < options_.n_warmup_steps) return false;
    if (!IsFirstInIntervalStep(step, trial.intermediate_values, options_.n_warmup_steps, options_.interval_steps)) {
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
    const double median = Median(std::move(others));
    return maximize ? best < median : best > median;
  }

 private:
  MedianPrunerOptions options_;
};

}  // namespace

Status MedianPrunerOptions::Validate() const {
  if (n_startup_trials < 0) {
    return InvalidArgument("pruner 'median': n_startup_trials must be >= 0, got " + std::to_string(n_startup_trials));
  }
  if (n_warmup_steps < 0) {
    return InvalidArgument("pruner 'median': n_warmup_steps must be >= 0, got " + std::to_string(n_warmup_steps));
  }
  if (interval_steps < 1) {
    return InvalidArgument("pruner 'median': interval_steps must be >= 1, got " + std::to_string(interval_steps));
  }
  if (n_min_trials < 1) {
    return InvalidArgument("pruner 'median': n_min_trials must be >= 1, got " + std::to_string(n_min_trials));
  }
  return Status::Ok();
}

std::unique_ptr<Pruner> NewMedianPruner(const MedianPrunerOptions& options) {
  assert(options.Validate().ok() && "NewMedianPruner needs valid options");
  return std::make_unique<MedianPruner>(options);
}

namespace internal {

Result<std::unique_ptr<Pruner>> CreateMedianPrunerFromJson(const Json& options) {
  const std::string what = "pruner 'median'";
  DIAL_RETURN_IF_ERROR(
      CheckOptionKeys(what, options, {"n_startup_trials", "n_warmup_steps", "interval_steps", "n_min_trials"}));
  constexpr int64_t kIntMax = std::numeric_limits<int>::max();
  MedianPrunerOptions opts;
  DIAL_ASSIGN_OR_RETURN(opts.n_startup_trials,
                        GetIntOption(what, options, "n_startup_trials", opts.n_startup_trials, 0, kIntMax));
  DIAL_ASSIGN_OR_RETURN(opts.n_warmup_steps,
                        GetIntOption(what, options, "n_warmup_steps", opts.n_warmup_steps, 0, kIntMax));
  DIAL_ASSIGN_OR_RETURN(opts.interval_steps,
                        GetIntOption(what, options, "interval_steps", opts.interval_steps, 1, kIntMax));
  DIAL_ASSIGN_OR_RETURN(opts.n_min_trials, GetIntOption(what, options, "n_min_trials", opts.n_min_trials, 1, kIntMax));
  DIAL_RETURN_IF_ERROR(opts.Validate());
  return NewMedianPruner(opts);
}

}  // namespace internal
}  // namespace dial
