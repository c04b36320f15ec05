// The patient pruner: gives a trial `patience` reports to improve before another pruner may stop it.
#include <algorithm>
#include <cassert>
#include <cmath>
#include <iterator>
#include <limits>
#include <memory>
#include <string>

#include "dial/pruner.h"
#include "dial/study.h"
#include "pruners/builtin_pruners.h"
#include "util/options.h"

namespace dial {
namespace {

class PatientPruner final : public Pruner {
 public:
  PatientPruner(const PatientPrunerOptions& options, std::unique_ptr<Pruner> wrapped)
      : options_(options), wrapped_(std::move(wrapped)) {}
  std::string Name() const override { return "patient"; }
  Result<TrialFilter> SamplerView(const Study& study, const FrozenTrial& trial) override {
    return wrapped_ ? wrapped_->SamplerView(study, trial) : Result<TrialFilter>(TrialFilter());
  }
  bool FiltersSamplerView() const override { return wrapped_ && wrapped_->FiltersSamplerView(); }

  Result<bool> Prune(const Study& study, const FrozenTrial& trial) override {
    if (study.is_multi_objective()) {
      return FailedPrecondition("pruner 'patient' cannot prune a study with several objectives");
    }
    const auto& values = trial.intermediate_values;  // ordered by step
    const size_t recent = static_cast<size_t>(options_.patience) + 1;
    if (values.size() <= recent) return false;
    // The best (NaN-ignoring) value before the last patience + 1 reports against the best among them:
    // minimise: stalled when best_before + min_delta < best_recent; maximise: best_before − min_delta > best_recent.
    const bool maximize = study.directions().front() == StudyDirection::kMaximize;
    const double worst = maximize ? -std::numeric_limits<double>::infinity() : std::numeric_limits<double>::infinity();
    double before = worst, after = worst;
    bool any_before = false, any_after = false;
    size_t i = 0;
    const size_t split = values.size() - recent;
    for (const auto& [step, v] : values) {
      const bool is_before = i++ < split;
      if (std::isnan(v)) continue;
      double& best = is_before ? before : after;
      (is_before ? any_before : any_after) = true;
      best = maximize ? std::max(best, v) : std::min(best, v);
    }
    if (!any_before || !any_after) return false;  // nothing to compare (Optuna: NaN comparison is false)
    const bool stalled = maximize ? before - options_.min_delta > after : before + options_.min_delta < after;
    if (!stalled) return false;
    return wrapped_ ? wrapped_->Prune(study, trial) : Result<bool>(true);
  }

 private:
  PatientPrunerOptions options_;
  std::unique_ptr<Pruner> wrapped_;
};

}  // namespace

Status PatientPrunerOptions::Validate() const {
  if (patience < 0) return InvalidArgument("pruner 'patient': patience must be >= 0, got " + std::to_string(patience));
  if (!(min_delta >= 0.0)) {
    return InvalidArgument("pruner 'patient': min_delta must be >= 0, got " + std::to_string(min_delta));
  }
  return Status::Ok();
}

std::unique_ptr<Pruner> NewPatientPruner(const PatientPrunerOptions& options, std::unique_ptr<Pruner> wrapped) {
  assert(options.Validate().ok() && "NewPatientPruner needs valid options");
  return std::make_unique<PatientPruner>(options, std::move(wrapped));
}

namespace internal {

Result<std::unique_ptr<Pruner>> CreatePatientPrunerFromJson(const Json& options) {
  const std::string what = "pruner 'patient'";
  DIAL_RETURN_IF_ERROR(CheckOptionKeys(what, options, {"patience", "min_delta", "wrapped_pruner"}));
  if (!options.is_object() || !options.contains("patience")) {
    return InvalidArgument(what + ": needs 'patience' (reports without improvement before pruning is allowed)");
  }
  PatientPrunerOptions opts;
  DIAL_ASSIGN_OR_RETURN(int64_t patience,
                        GetIntOption(what, options, "patience", 0, 0, std::numeric_limits<int>::max()));
  opts.patience = static_cast<int>(patience);
  DIAL_ASSIGN_OR_RETURN(opts.min_delta, GetDoubleOption(what, options, "min_delta", 0.0));
  DIAL_RETURN_IF_ERROR(opts.Validate());
  std::unique_ptr<Pruner> wrapped;
  if (options.contains("wrapped_pruner") && !options.at("wrapped_pruner").is_null()) {
    // `wrapped_pruner: median` or `wrapped_pruner: {name: median, n_startup_trials: 3}`.
    const Json& w = options.at("wrapped_pruner");
    std::string name;
    Json wrapped_options = Json::object();
    if (w.is_string()) {
      name = w.get<std::string>();
    } else if (w.is_object() && w.contains("name") && w.at("name").is_string()) {
      name = w.at("name").get<std::string>();
      for (auto it = w.begin(); it != w.end(); ++it) {
        if (it.key() != "name") wrapped_options[it.key()] = it.value();
      }
    } else {
      return InvalidArgument(what + ": 'wrapped_pruner' must be a pruner name or a mapping with 'name', got " +
                             w.dump());
    }
    auto inner = CreatePruner(name, wrapped_options);
    if (!inner.ok()) return Status(inner.status().code(), what + ": wrapped_pruner: " + inner.status().message());
    wrapped = std::move(inner).value();
  }
  return NewPatientPruner(opts, std::move(wrapped));
}

}  // namespace internal
}  // namespace dial
