// The Tree-structured Parzen Estimator sampler ("tpe"), with Optuna 3.1's defaults and behaviour.
//
// After n_startup_trials observations (random draws until then), each trial's observations are split into the
// γ(n) best ("below") and the rest ("above"); a Parzen estimator l(x) is fitted to the first and g(x) to the second,
// n_ei_candidates points are drawn from l, and the one with the largest l(x)/g(x) is proposed. Univariate by
// default (one estimator per parameter, as Optuna's sample_independent); `multivariate` models the parameters
// every trial has jointly, `group` does so separately for each group of parameters that appear together
// (conditional spaces). Several objectives use MOTPE's split (non-domination ranks, then hypervolume subset
// selection). Formulas and measured figures: docs/samplers/tpe.md.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "dial/sampler.h"
#include "dial/status.h"

namespace dial {

struct TpeSamplerOptions {
  // Observations (COMPLETE and PRUNED trials) before TPE takes over from random sampling.
  int n_startup_trials = 10;
  // Candidates drawn from l(x) per proposal.
  int n_ei_candidates = 24;
  // Every draw is a function of (seed, trial number, parameter): reproducible, and distinct across workers.
  uint64_t seed = 0;
  bool consider_prior = true;
  double prior_weight = 1.0;  // > 0
  bool consider_magic_clip = true;
  bool consider_endpoints = false;
  // Joint kernels over the intersection search space (parameters every finished trial has).
  bool multivariate = false;
  // With multivariate: decompose the space into groups of parameters that always appear together, each modelled
  // on the trials that have it (conditional spaces: `momentum` only on the `optimizer: sgd` trials).
  bool group = false;
  // Count RUNNING trials as the worst observations, so parallel workers do not all propose the same region.
  // Single objective only, as in Optuna.
  bool constant_liar = false;
  // With multivariate: say once (stderr) when a parameter had to be sampled independently.
  bool warn_independent_sampling = true;
  // γ(n): how many of n observations form l(x). Empty: Optuna's default min(⌈0.1 n⌉, 25).
  std::function<int(int)> gamma;
  // Weights of n observations, oldest first. Empty: Optuna's default (1, with a ramp for old trials when n ≥ 25).
  std::function<std::vector<double>(int)> weights;

  // InvalidArgument naming the option: negative n_startup_trials, n_ei_candidates < 1, prior_weight not > 0,
  // group without multivariate.
  Status Validate() const;
};

// Options must be valid (see Validate). The sampler is used by one Study object (one thread) at a time.
std::unique_ptr<Sampler> NewTpeSampler(const TpeSamplerOptions& options);

}  // namespace dial
