// Pruner: decides from a running trial's reported values whether to stop it early. Shaped like Optuna's
// BasePruner.prune(study, trial). Registered by name ("nop", "median", ...).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dial/frozen_trial.h"
#include "dial/status.h"

namespace dial {

class Study;

class Pruner {
 public:
  virtual ~Pruner() = default;
  virtual std::string Name() const = 0;
  // True when `trial` (RUNNING, with its intermediate values so far) should stop now.
  virtual Result<bool> Prune(const Study& study, const FrozenTrial& trial) = 0;
};

using PrunerFactory = std::function<Result<std::unique_ptr<Pruner>>(const Json& options)>;
void RegisterPruner(const std::string& name, PrunerFactory factory);
Result<std::unique_ptr<Pruner>> CreatePruner(const std::string& name, const Json& options);
std::vector<std::string> RegisteredPrunerNames();

std::unique_ptr<Pruner> NewNopPruner();

// Prunes a trial whose best intermediate value so far is worse than the median of the other trials'
// intermediate values at the same step (Optuna's MedianPruner).
struct MedianPrunerOptions {
  int n_startup_trials = 5;  // never prune until this many trials have COMPLETEd
  int n_warmup_steps = 0;    // never prune a trial at a step below this
  int interval_steps = 1;    // only consider pruning every this many steps (from the warm-up step)
  int n_min_trials = 1;      // at least this many trials must have reported at the step
  Status Validate() const;
};
std::unique_ptr<Pruner> NewMedianPruner(const MedianPrunerOptions& options);

// The median pruner at any percentile (Optuna's PercentilePruner): prunes a trial whose best value so far is
// worse than the `percentile`-th percentile of the COMPLETE trials' values at the same step (for a maximised
// objective, the (100 − percentile)-th: percentile 25 keeps the best quarter either way round).
struct PercentilePrunerOptions {
  double percentile = 50.0;  // in [0, 100]
  int n_startup_trials = 5;
  int n_warmup_steps = 0;
  int interval_steps = 1;
  int n_min_trials = 1;
  Status Validate() const;
};
std::unique_ptr<Pruner> NewPercentilePruner(const PercentilePrunerOptions& options);

// Prunes a trial whose latest value is outside [lower, upper], or is NaN or infinite (a diverged run), from
// step n_warmup_steps on, checked every interval_steps (Optuna's ThresholdPruner, plus infinities).
struct ThresholdPrunerOptions {
  std::optional<double> lower;
  std::optional<double> upper;
  int n_warmup_steps = 0;
  int interval_steps = 1;
  Status Validate() const;  // lower ≤ upper, steps ≥ 0 / ≥ 1
};
std::unique_ptr<Pruner> NewThresholdPruner(const ThresholdPrunerOptions& options);

// Patience around another pruner (Optuna's PatientPruner): while the trial's best value over its last
// `patience` + 1 reports improved on its best before them by at least `min_delta`, never prune; otherwise
// defer to `wrapped` (prune outright when there is none).
struct PatientPrunerOptions {
  int patience = 0;
  double min_delta = 0.0;  // ≥ 0
  Status Validate() const;
};
std::unique_ptr<Pruner> NewPatientPruner(const PatientPrunerOptions& options, std::unique_ptr<Pruner> wrapped);

}  // namespace dial
