// The threshold pruner: stops a trial whose latest value leaves [lower, upper] or stops being finite.
#include <cassert>
#include <cmath>
#include <limits>
#include <memory>
#include <string>

#include "dial/pruner.h"
#include "dial/study.h"
#include "pruners/builtin_pruners.h"
#include "pruners/pruner_util.h"
#include "util/options.h"

namespace dial {
namespace {

class ThresholdPruner final : public Pruner {
 public:
  explicit ThresholdPruner(const ThresholdPrunerOptions& options) : options_(options) {}
  std::string Name() const override { return "threshold"; }

  Result<bool> Prune(const Study& study, const FrozenTrial& trial) override {
    if (trial.intermediate_values.empty()) return false;
    const auto& [step, latest] = *trial.intermediate_values.rbegin();
    if (step < options_.n_warmup_steps) return false;
    if (!internal::IsFirstInIntervalStep(step, trial.intermediate_values, options_.n_warmup_steps,
                                         options_.interval_steps)) {
      return false;
    }
    if (!std::isfinite(latest)) return true;  // NaN or ±inf: the run diverged
    if (options_.lower && latest < *options_.lower) return true;
    if (options_.upper && latest > *options_.upper) return true;
    return false;
  }

 private:
  ThresholdPrunerOptions options_;
};

}  // namespace

Status ThresholdPrunerOptions::Validate() const {
  if (lower && upper && *lower > *upper) {
    return InvalidArgument("pruner 'threshold': lower (" + std::to_string(*lower) + ") must not exceed upper (" +
                           std::to_string(*upper) + ")");
  }
  if (n_warmup_steps < 0) return InvalidArgument("pruner 'threshold': n_warmup_steps must be >= 0");
  if (interval_steps < 1) return InvalidArgument("pruner 'threshold': interval_steps must be >= 1");
  return Status::Ok();
}

std::unique_ptr<Pruner> NewThresholdPruner(const ThresholdPrunerOptions& options) {
  assert(options.Validate().ok() && "NewThresholdPruner needs valid options");
  return std::make_unique<ThresholdPruner>(options);
}

namespace internal {

Result<std::unique_ptr<Pruner>> CreateThresholdPrunerFromJson(const Json& options) {
  const std::string what = "pruner 'threshold'";
  DIAL_RETURN_IF_ERROR(CheckOptionKeys(what, options, {"lower", "upper", "n_warmup_steps", "interval_steps"}));
  constexpr int64_t kIntMax = std::numeric_limits<int>::max();
  ThresholdPrunerOptions opts;
  DIAL_ASSIGN_OR_RETURN(opts.lower, GetOptionalDoubleOption(what, options, "lower"));
  DIAL_ASSIGN_OR_RETURN(opts.upper, GetOptionalDoubleOption(what, options, "upper"));
  DIAL_ASSIGN_OR_RETURN(opts.n_warmup_steps,
                        GetIntOption(what, options, "n_warmup_steps", opts.n_warmup_steps, 0, kIntMax));
  DIAL_ASSIGN_OR_RETURN(opts.interval_steps,
                        GetIntOption(what, options, "interval_steps", opts.interval_steps, 1, kIntMax));
  DIAL_RETURN_IF_ERROR(opts.Validate());
  return NewThresholdPruner(opts);
}

}  // namespace internal
}  // namespace dial
