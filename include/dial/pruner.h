// Pruner: decides from a running trial's reported values whether to stop it early. Shaped like Optuna's
// BasePruner.prune(study, trial). Registered by name ("nop", "median", ...).
//
// Thread safety: a pruner belongs to one Study object and is called from that Study's thread only; it is not
// thread-safe. Pruners of several workers may decide on one study at once: what must be agreed across workers
// (ASHA's rung values, "auto" resources) lives in the study's and trials' system attributes, written with
// Storage::SetStudySystemAttrIfAbsent or the trial's own attributes, never in process memory. The registry
// functions (RegisterPruner, CreatePruner, RegisteredPrunerNames) are thread-safe.
//
// Failures: Prune and SamplerView return Status/Result and never throw or exit. A storage error read through the
// Study is passed on unchanged (the trial then fails with it as its reason); InvalidArgument for options that
// cannot apply to the study (several objectives where one is needed) when the pruner is created or first used.
// A trial whose value is NaN or infinite at a decision point is pruned, not an error.
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

// A predicate over trials (true: keep). An empty std::function keeps every trial.
using TrialFilter = std::function<bool(const FrozenTrial&)>;

class Pruner {
 public:
  virtual ~Pruner() = default;
  virtual std::string Name() const = 0;
  // True when `trial` (RUNNING, with its intermediate values so far) should stop now.
  virtual Result<bool> Prune(const Study& study, const FrozenTrial& trial) = 0;
  // Which trials a sampler may learn from while it samples `trial`: Study::GetTrials keeps only the trials this
  // filter accepts inside the sampler's calls for `trial` (not in BeforeTrial). Hyperband shows the trial's
  // bracket only. Default: an empty filter, every trial. A wrapping pruner should forward its inner pruner's.
  virtual Result<TrialFilter> SamplerView(const Study& study, const FrozenTrial& trial) { return TrialFilter(); }
  // True when SamplerView may hide trials from the sampler (Hyperband's brackets).
  virtual bool FiltersSamplerView() const { return false; }
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

// Asynchronous successive halving, ASHA (Li et al. 2018, arXiv:1810.05934; Optuna's SuccessiveHalvingPruner).
// Rung k ends at step min_resource · reduction_factor^(min_early_stopping_rate + k). When a trial first reports at
// or past the end of its current rung, its value there is recorded in its system attribute `completed_rung_<k>`
// (Optuna's key) and compared with every value recorded at that rung so far, its own included: it goes on
// when it is in the best ⌊n / reduction_factor⌋ of those n (the best one while n < reduction_factor), and is
// pruned otherwise. Nothing waits for a rung to fill: the decision uses what is known when the trial reports.
// Single objective only. A NaN or infinite value at a rung end prunes the trial (a diverged run).
struct SuccessiveHalvingPrunerOptions {
  // The first rung's length in steps (r in the paper). Nullopt: "auto", max(⌊last step / 100⌋, 1) of the
  // first COMPLETE trial(s) seen, agreed once across workers through the study; no pruning before that.
  std::optional<int64_t> min_resource;
  int reduction_factor = 4;         // η ≥ 2: about 1/η of the trials reaching a rung go on to the next
  int min_early_stopping_rate = 0;  // s ≥ 0: the first rung ends at min_resource · η^s
  // ≥ 0: a trial is pruned at a rung while at most this many values (its own included) are recorded there.
  // Needs an explicit min_resource.
  int bootstrap_count = 0;
  Status Validate() const;
};
std::unique_ptr<Pruner> NewSuccessiveHalvingPruner(const SuccessiveHalvingPrunerOptions& options);

// Hyperband (Li et al. 2018, JMLR 18(185); Optuna's HyperbandPruner) run as several ASHA brackets. With
// n = ⌊log_η(max_resource / min_resource)⌋ + 1 brackets, bracket b is an ASHA with min_early_stopping_rate b;
// a trial belongs to one bracket, chosen by CRC-32 of "<study name>_<trial number>" modulo the total budget,
// bracket b getting ⌈n · η^(n−1−b) / (n−b)⌉ of it (Optuna's assignment: a study is split the same way by both).
// A trial competes only with its bracket's trials, and samplers see only its bracket's trials (SamplerView).
// The bracket is recorded in the trial's system attribute `dial:hyperband_bracket` at its first rung.
struct HyperbandPrunerOptions {
  int64_t min_resource = 1;  // ≥ 1: the shortest rung, in steps
  // ≥ min_resource: the longest training, in steps. Nullopt: "auto", the last step + 1 of the first COMPLETE
  // trial(s) seen, agreed once across workers through the study; no pruning before that.
  std::optional<int64_t> max_resource;
  int reduction_factor = 3;  // η ≥ 2
  int bootstrap_count = 0;   // as SuccessiveHalvingPrunerOptions::bootstrap_count; needs an explicit max_resource
  Status Validate() const;
};
std::unique_ptr<Pruner> NewHyperbandPruner(const HyperbandPrunerOptions& options);

}  // namespace dial
