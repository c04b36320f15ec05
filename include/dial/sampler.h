// Sampler: proposes parameter values. Shaped like Optuna's BaseSampler: a sampler may model several
// parameters jointly (relative search space, sampled once when the trial starts) and samples any other
// parameter independently when the objective first asks for it. Samplers are found by name in a registry
// ("random", "grid", ...), the same name in YAML, storage, logs and benchmarks.
//
// Thread safety: a sampler belongs to one Study object and is called from that Study's thread only; it is not
// thread-safe. Samplers of several Study objects (threads, processes, hosts) may work on one study at once: a
// sampler keeps nothing that another worker needs in its own memory (state that must be shared lives in trial and
// study system attributes, claimed with Storage::SetStudySystemAttrIfAbsent where only one worker may win).
// The registry functions (RegisterSampler, CreateSampler, RegisteredSamplerNames) are thread-safe.
//
// Failures: every method that can fail returns Status/Result and never throws or exits. InvalidArgument for bad
// options or a distribution it cannot sample; OutOfRange from BeforeTrial when the search space is exhausted (the
// trial is failed and the study stops); a storage error read through the Study is passed on unchanged (the trial
// then fails with it as its reason). A sampler never returns a value outside the distribution it was given.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dial/distribution.h"
#include "dial/frozen_trial.h"
#include "dial/status.h"

namespace dial {

class Study;

class Sampler {
 public:
  virtual ~Sampler() = default;
  virtual std::string Name() const = 0;

  // Called once per trial after it is created and before any parameter is sampled. A sampler may claim
  // shared work here (the grid claims a point); values it decides here it answers later from SampleIndependent
  // (the snapshot passed to the sampler is not re-read after this call). Returns
  // OutOfRange when its search space is exhausted: the trial is then failed and the study stops.
  virtual Status BeforeTrial(Study& study, const FrozenTrial& trial) { return Status::Ok(); }
  // The parameters to sample jointly for `trial`; empty for purely independent samplers.
  virtual SearchSpace InferRelativeSearchSpace(const Study& study, const FrozenTrial& trial) { return {}; }
  // Internal values for the parameters of `space` (a subset is allowed: the rest are sampled independently).
  virtual Result<std::map<std::string, double>> SampleRelative(const Study& study, const FrozenTrial& trial,
                                                               const SearchSpace& space) {
    return std::map<std::string, double>{};
  }
  // The internal value of one parameter that the relative sample did not cover.
  virtual Result<double> SampleIndependent(const Study& study, const FrozenTrial& trial, const std::string& name,
                                           const Distribution& dist) = 0;
  // Called after the trial is finished with its state and values.
  virtual void AfterTrial(Study& study, const FrozenTrial& trial, TrialState state, const std::vector<double>& values) {
  }
  // True when no new trial can be proposed (an exhausted grid); the optimisation loop stops before asking.
  virtual bool IsExhausted(const Study& study) { return false; }
  // False for a sampler whose shared state spans the whole study and so cannot model a pruner's partial view
  // (Pruner::FiltersSamplerView): CMA-ES's generations list members from every bracket. Such a pairing is
  // refused when the study is created or loaded.
  virtual bool SupportsFilteredView() const { return true; }
};

// Creates a sampler from its name and options (a JSON object, as written under `sampler:` in YAML).
// InvalidArgument naming the sampler or the option for an unknown name, an unknown option or a bad value.
using SamplerFactory = std::function<Result<std::unique_ptr<Sampler>>(const Json& options, uint64_t seed)>;
void RegisterSampler(const std::string& name, SamplerFactory factory);
Result<std::unique_ptr<Sampler>> CreateSampler(const std::string& name, const Json& options, uint64_t seed);
std::vector<std::string> RegisteredSamplerNames();

// ---- built-in samplers ----
struct RandomSamplerOptions {
  uint64_t seed = 0;
};
std::unique_ptr<Sampler> NewRandomSampler(const RandomSamplerOptions& options);

// Every combination of `search_space`'s values exactly once, in an order shuffled by `seed`, even with
// several workers on one study (each point is claimed in storage). Exhausted once all are claimed.
struct GridSamplerOptions {
  std::map<std::string, std::vector<ParamValue>> search_space;
  uint64_t seed = 0;
  Status Validate() const;
};
std::unique_ptr<Sampler> NewGridSampler(const GridSamplerOptions& options);

}  // namespace dial
