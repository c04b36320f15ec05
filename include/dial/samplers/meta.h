// Meta-samplers, built from the other samplers by name.
//
// `staged`: the production recipe "coarse search first, then a model" as one sampler. Stage i runs the trials
// numbered [start_i, start_i + n_trials_i); the last stage runs every trial after that. Later stages see the
// whole history, so a Bayesian stage models the coarse stage's results from its first trial. The stage of a
// trial depends only on its number, so every worker agrees on it; it is recorded in the trial's system attr
// `dial:stage` ("<index>:<sampler>").
//
// `auto`: the default. Picks a sampler for each trial from what the study looks like so far (see
// docs/samplers/auto.md for the rules and the measurements behind them) and records its choice in the trial's
// system attr `dial:auto:sampler` and, when it changes, in the study's system attr `dial:auto:choice`.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dial/sampler.h"

namespace dial {

struct SamplerStage {
  std::string sampler;              // a registered sampler name
  Json options = Json::object();    // its options
  std::optional<int64_t> n_trials;  // required on every stage but the last; absent on the last
};

struct StagedSamplerOptions {
  std::vector<SamplerStage> stages;
  uint64_t seed = 0;  // passed to every stage (a stage's own `seed` option wins)
  // InvalidArgument naming the stage: no stages, a missing or non-positive n_trials before the last stage,
  // n_trials on the last stage.
  Status Validate() const;
};
// InvalidArgument when the options are invalid or a stage's sampler cannot be created (naming the stage).
Result<std::unique_ptr<Sampler>> NewStagedSampler(const StagedSamplerOptions& options);

struct AutoSamplerOptions {
  uint64_t seed = 0;
  // Above this many completed trials GP-BO's O(n³) fit gets slow; `auto` hands over to TPE.
  int64_t max_gp_trials = 300;
  // Above this many parameters GP-BO is not used.
  int64_t max_gp_dims = 20;
  Status Validate() const;
};
std::unique_ptr<Sampler> NewAutoSampler(const AutoSamplerOptions& options);

}  // namespace dial
