// Pruner: decides from a running trial's reported values whether to stop it early. Shaped like Optuna's
// BasePruner.prune(study, trial). Registered by name ("nop", "median", ...).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
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

}  // namespace dial
