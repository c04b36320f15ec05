// The GP sampler: Gaussian-process Bayesian optimisation, the most sample-efficient of dial's samplers for small
// continuous (and mixed) search spaces of up to a few hundred trials. See docs/samplers/gp.md.
//
// After `n_startup_trials` random trials, each trial fits a GP (Matérn-5/2 kernel with one lengthscale per
// coordinate of the unit-cube encoding; hyperparameters by maximum a posteriori) to the completed trials of the
// intersection search space and samples the point that maximises log expected improvement (or the confidence
// bound). Trials still running in other workers are conditioned on at their predicted mean (kriging believer), so
// parallel workers spread out. Parameters outside the intersection space (conditional ones) and studies with
// several objectives get the random sampler's draw.
//
// Deterministic for a seed: a study replays identically when it is run the same way (the fit is warm-started from
// the previous trial's hyperparameters held by this sampler object, so a study resumed in a new process may take
// a slightly different path than one run without a break). Not thread-safe: one sampler per Study object.
#pragma once

#include <cstdint>
#include <memory>

#include "dial/sampler.h"
#include "dial/status.h"

namespace dial {

enum class GpAcquisitionFunction {
  kLogEi,  // "logei": log expected improvement (default)
  kUcb,    // "ucb": the confidence bound μ − √β σ (minimised; maximised for maximise studies)
};

// How objective values are warped before the GP models them (all keep the order of the values).
enum class GpOutputTransform {
  kNone,  // "none": standardised only
  kLog,   // "log": y' = log(1 + (y − min y) / median(y − min y)), for heavy upper tails
  kRank,  // "rank": y' = Φ⁻¹((rank − ½) / n), a Gaussian copula
};

struct GpSamplerOptions {
  int n_startup_trials = 10;  // random trials before the GP is used (at least 2 completed trials are needed)
  GpAcquisitionFunction acquisition = GpAcquisitionFunction::kLogEi;
  double beta = 2.0;  // UCB's exploration weight, ≥ 0
  uint64_t seed = 0;
  int n_candidates = 2048;  // acquisition candidates scored per trial before the best are refined
  // The objective gives the same value for the same parameters: the noise variance is pinned at its small floor
  // instead of being fitted.
  bool deterministic_objective = false;
  GpOutputTransform output_transform = GpOutputTransform::kLog;

  // InvalidArgument naming the option: n_startup_trials < 0, n_candidates < 1 or > 1e6, beta negative or not finite.
  Status Validate() const;
};

std::unique_ptr<Sampler> NewGpSampler(const GpSamplerOptions& options);

}  // namespace dial
