// The CMA-ES sampler: the covariance matrix adaptation evolution strategy (Hansen 2016) on the numeric
// parameters every finished trial shares (the intersection search space), encoded to the unit cube, with
// IPOP or BIPOP restarts when a run stalls. Categorical parameters and parameters outside that space are the
// random sampler's draws for the same seed, as in Optuna's CmaEsSampler. Single-objective only: a study with
// several objectives is sampled at random (with one warning).
//
// Several workers share one run through storage. Each trial records the generation it was sampled for in its
// system attributes ("dial:cma:generation", with "dial:cma:space" naming the search space); once λ trials of
// the current generation are COMPLETE, the first worker to notice fixes the generation's members in the study
// system attribute "dial:cma:<space>:generation:<g>" (compare-and-set), and every worker replays the same
// updates from those lists. A trial's candidate is a function of (seed, trial number, state), so the state
// never needs storing and a study replays identically whichever worker ran which trial.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "dial/sampler.h"
#include "dial/status.h"

namespace dial {

enum class CmaRestartStrategy {
  kNone,   // one run, however it stalls (Optuna's default)
  kIpop,   // restart with the population multiplied by inc_popsize (Auger & Hansen 2005)
  kBipop,  // alternate large-population (IPOP) and small-population, small-σ runs (Hansen 2009)
};

struct CmaesSamplerOptions {
  // The initial step size as a fraction of each parameter's range (on its log scale for log parameters).
  // Unset: 0.2. Optuna uses 1/6 of the smallest range in its own coordinates.
  std::optional<double> sigma0;
  // Trials drawn at random before CMA-ES starts, counted as COMPLETE trials. The first trial is always random:
  // the search space is not known before a trial has finished.
  int n_startup_trials = 0;
  // λ, the population of the first run. Unset: 4 + ⌊3 ln d⌋ for d parameters.
  std::optional<int> popsize;
  CmaRestartStrategy restart_strategy = CmaRestartStrategy::kIpop;
  int inc_popsize = 2;  // IPOP/BIPOP population growth per (large) restart
  uint64_t seed = 0;
  // InvalidArgument naming the option: sigma0 outside (0, 1], negative n_startup_trials, popsize < 2,
  // inc_popsize < 1.
  Status Validate() const;
};

// Thread-compatible: one sampler per Study object (workers share state through storage, not through this).
std::unique_ptr<Sampler> NewCmaesSampler(const CmaesSamplerOptions& options);

}  // namespace dial
