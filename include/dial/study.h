// Study and Trial: the user-facing optimisation API, define-by-run as in Optuna.
//
//   auto storage = dial::OpenStorage("sqlite:///dial.db");
//   auto study = dial::Study::Create(*storage, {.study_name = "lr", .directions = {StudyDirection::kMinimize}});
//   (*study)->Optimize([](dial::Trial& t) -> dial::Result<std::vector<double>> {
//     DIAL_ASSIGN_OR_RETURN(double lr, t.SuggestFloat("lr", 1e-5, 1e-1, {.log = true}));
//     return std::vector<double>{Train(lr)};
//   }, {.n_trials = 50});
//
// A Study object is used from one thread at a time; several Study objects (threads or processes) may share
// one storage and one study name.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dial/distribution.h"
#include "dial/frozen_trial.h"
#include "dial/pruner.h"
#include "dial/sampler.h"
#include "dial/status.h"
#include "dial/stopper.h"
#include "dial/storage.h"

namespace dial {

class Study;

struct SuggestFloatOptions {
  std::optional<double> step;
  bool log = false;
};
struct SuggestIntOptions {
  int64_t step = 1;
  bool log = false;
};

// A running trial. Obtained from Study::Ask; finished by Study::Tell. Not thread-safe.
class Trial {
 public:
  // Suggest* return the parameter's value, sampled on first use and the same on every later call in this
  // trial. InvalidArgument naming the parameter when the distribution is invalid or differs from an earlier
  // suggestion of the same name in this trial (or, for kind/log/choices, in the study).
  Result<double> SuggestFloat(const std::string& name, double low, double high, SuggestFloatOptions opts = {});
  Result<int64_t> SuggestInt(const std::string& name, int64_t low, int64_t high, SuggestIntOptions opts = {});
  Result<ParamValue> SuggestCategorical(const std::string& name, const std::vector<ParamValue>& choices);
  Result<ParamValue> Suggest(const std::string& name, const Distribution& dist);

  // Records an intermediate value (a learning-curve point). FailedPrecondition once the trial is finished.
  Status Report(int64_t step, double value);
  // Asks the study's pruner whether this trial should stop now, comparing it with the trials its view provider shows
  // (Study::SetPrunerViewProvider: in a multi-fidelity study, the trial's level and bracket).
  Result<bool> ShouldPrune();
  Status SetUserAttr(const std::string& key, const Json& value);
  Status SetSystemAttr(const std::string& key, const Json& value);

  int64_t number() const { return frozen_.number; }
  TrialId id() const { return frozen_.trial_id; }
  const std::map<std::string, ParamValue>& params() const { return params_; }
  // The trial as stored, with the parameters and reports made through this object.
  const FrozenTrial& frozen() const { return frozen_; }
  Study& study() { return *study_; }

 private:
  friend class Study;
  Trial(Study* study, FrozenTrial frozen);
  Status SampleRelativeIfNeeded();

  Study* study_;
  FrozenTrial frozen_;
  std::map<std::string, ParamValue> params_;
  std::map<std::string, ParamValue> fixed_params_;  // from enqueue (system attr fixed_params)
  SearchSpace relative_space_;
  std::map<std::string, double> relative_params_;
  bool relative_sampled_ = false;
};

// A parameter as a study definition declares it, for StudyOptions::search_space.
struct DeclaredParam {
  std::string name;
  Distribution distribution;
  int line = 0;  // its line in StudyOptions::source, for messages; 0: unknown
};

struct StudyOptions {
  std::string study_name;  // empty: Optuna's default "no-name-<uuid4>"
  std::vector<StudyDirection> directions = {StudyDirection::kMinimize};
  std::string sampler = "auto";
  Json sampler_options = Json::object();
  std::string pruner = "nop";
  Json pruner_options = Json::object();
  // The sampler's seed. Unset: a fresh random seed, as Optuna's default (no two runs alike). Set: every trial's
  // parameters are a function of (seed, trial number), so a study is reproducible whichever worker ran what.
  std::optional<uint64_t> seed;
  // Create: when the name exists, load it instead of failing (directions must match).
  bool load_if_exists = false;
  // Load (and Create when it loads): the parameters this run will suggest, each checked against the distribution the
  // study's trials already store for it (CheckCompatible: kind, log flag and choices, Optuna's rule), so that old
  // and new trials stay comparable. Empty: no check.
  std::vector<DeclaredParam> search_space;
  // Where these options come from ("study.yaml"), to begin Load's messages about a mismatch. Empty: not shown.
  std::string source;
};

// What the objective returns: one value per direction, or a Status (TrialPruned() to prune, any other error
// to fail the trial with that message as its reason).
using ObjectiveFunction = std::function<Result<std::vector<double>>(Trial&)>;

struct OptimizeOptions {
  std::optional<int64_t> n_trials;  // this call's trials; nullopt: until timeout or stop
  std::optional<std::chrono::duration<double>> timeout;
  // Checked between trials and passed to long objectives; set by a signal handler to stop cleanly.
  const std::atomic<bool>* stop_flag = nullptr;
  // Called after each trial is finished, with the stored trial.
  std::function<void(Study&, const FrozenTrial&)> on_trial_finished;
  // Study-wide stoppers, checked before each trial; when one holds the loop ends (OK) and the reason is recorded
  // as the study's system attr dial:stopped_by (include/dial/stopper.h).
  StopperOptions stoppers;
};

class Study {
 public:
  // AlreadyExists if the name is taken (unless load_if_exists); InvalidArgument for an unknown sampler/pruner
  // or bad options. Nothing is written to storage unless every check passes.
  static Result<std::unique_ptr<Study>> Create(std::shared_ptr<Storage> storage, const StudyOptions& options);
  // NotFound naming the study if it does not exist. When `options.directions` is non-empty it must match the
  // stored directions, and every parameter of `options.search_space` that a stored trial uses must keep that
  // trial's distribution kind, log flag and choices: InvalidArgument naming the source (file:line: search_space.NAME
  // for a parameter) and the study otherwise. Writes nothing.
  static Result<std::unique_ptr<Study>> Load(std::shared_ptr<Storage> storage, const StudyOptions& options);

  // Starts a trial: the oldest WAITING (enqueued) trial if any, else a new RUNNING one.
  Result<std::unique_ptr<Trial>> Ask();
  // As Ask, but a new trial is created only while the study has fewer than `max_trials` trials (any state), checked
  // atomically in the storage, so that workers sharing a study-wide budget never exceed it. A WAITING trial is
  // taken whatever the count. Returns nullptr when there is neither.
  Result<std::unique_ptr<Trial>> AskWithin(int64_t max_trials);
  // Finishes a trial. For COMPLETE, `values` has one finite-or-infinite value per direction (NaN fails the
  // trial instead, with that reason). For PRUNED with no values, a single-objective trial keeps its last
  // intermediate value. For FAIL, `reason` is stored as the system attribute dial:fail_reason.
  Result<FrozenTrial> Tell(Trial& trial, TrialState state, const std::vector<double>& values = {},
                           const std::string& reason = "");
  Result<FrozenTrial> Tell(int64_t trial_number, TrialState state, const std::vector<double>& values = {},
                           const std::string& reason = "");

  // Runs trials (RunTrial: ask → objective → tell) until n_trials, timeout, a stopper, Stop(), an exhausted sampler,
  // or the stop flag. A failing objective fails its trial and the loop goes on. Returns Cancelled when stopped by the
  // flag (the running trial is failed with reason "interrupted"), InvalidArgument for stoppers that fail
  // ValidateFor, OK otherwise; a storage error ends the loop with that error, after the running trial is failed
  // when the storage still takes that write.
  Status Optimize(const ObjectiveFunction& objective, const OptimizeOptions& options = {});
  // Adds a WAITING trial whose parameters (external values) are fixed to `params`.
  Status EnqueueTrial(const std::map<std::string, ParamValue>& params, const AttrMap& user_attrs = {},
                      const AttrMap& system_attrs = {});
  // Ends Optimize (or a worker loop) before its next trial; Optimize clears it when it starts.
  void Stop() { stop_requested_ = true; }
  bool stop_requested() const { return stop_requested_; }
  // An extra restriction of what the sampler sees, on top of the pruner's (Pruner::SamplerView): multi-fidelity
  // studies show it only the trials of the level it should model (include/dial/fidelity.h). Empty: none.
  using ViewProvider = std::function<Result<TrialFilter>(const Study&, const FrozenTrial& trial)>;
  using SamplerViewProvider = ViewProvider;
  void SetSamplerViewProvider(ViewProvider provider) { view_provider_ = std::move(provider); }
  // Which trials the pruner compares `trial` with (what GetTrials returns inside Pruner::Prune for it, in
  // Trial::ShouldPrune). Multi-fidelity studies show it the trial's level and bracket (FidelityPrunerView,
  // include/dial/fidelity.h; the worker loop installs it). Empty, or a provider that returns an empty filter: every
  // trial.
  void SetPrunerViewProvider(ViewProvider provider) { pruner_view_provider_ = std::move(provider); }

  // ---- reading ----
  // The study's trials by number, optionally only those in `states`. Inside a sampler's calls for one trial
  // (its suggestions and its AfterTrial) only those the pruner shows it (Pruner::SamplerView: Hyperband's bracket).
  Result<std::vector<FrozenTrial>> GetTrials(const std::optional<std::vector<TrialState>>& states = std::nullopt) const;
  Result<FrozenTrial> BestTrial() const;                // single objective; NotFound when none completed
  Result<std::vector<FrozenTrial>> BestTrials() const;  // the Pareto set (any number of objectives)
  Status SetUserAttr(const std::string& key, const Json& value);
  Status SetSystemAttr(const std::string& key, const Json& value);

  const std::string& name() const { return name_; }
  StudyId id() const { return study_id_; }
  const std::vector<StudyDirection>& directions() const { return directions_; }
  bool is_multi_objective() const { return directions_.size() > 1; }
  Storage& storage() const { return *storage_; }
  const std::shared_ptr<Storage>& shared_storage() const { return storage_; }
  Sampler& sampler() const { return *sampler_; }
  Pruner& pruner() const { return *pruner_; }

 private:
  Study(std::shared_ptr<Storage> storage, StudyId id, std::string name, std::vector<StudyDirection> directions,
        std::unique_ptr<Sampler> sampler, std::unique_ptr<Pruner> pruner);
  Result<std::unique_ptr<Trial>> PopWaitingTrial();
  // Tell without copying the finished trial out; `trial.frozen()` holds the result.
  Status Finish(Trial& trial, TrialState state, const std::vector<double>& values, const std::string& reason);
  // The pruner's sampler view of `trial`, narrowed by the view provider when there is one.
  Result<TrialFilter> SamplerViewFor(const FrozenTrial& trial) const;

  std::shared_ptr<Storage> storage_;
  StudyId study_id_;
  std::string name_;
  std::vector<StudyDirection> directions_;
  std::unique_ptr<Sampler> sampler_;
  std::unique_ptr<Pruner> pruner_;
  bool stop_requested_ = false;

  // Restricts GetTrials while alive: to the pruner's sampler view of one trial (Pruner::SamplerView), or to a
  // trial's peers while the pruner decides on it (Trial::ShouldPrune: the same fidelity level and bracket).
  friend class Trial;
  class ScopedSamplerView {
   public:
    ScopedSamplerView(Study& study, TrialFilter view) : study_(study) { study_.sampler_view_ = std::move(view); }
    ~ScopedSamplerView() { study_.sampler_view_ = nullptr; }
    ScopedSamplerView(const ScopedSamplerView&) = delete;
    ScopedSamplerView& operator=(const ScopedSamplerView&) = delete;

   private:
    Study& study_;
  };
  TrialFilter sampler_view_;  // empty outside a ScopedSamplerView
  ViewProvider view_provider_;
  ViewProvider pruner_view_provider_;
};

// What a trial loop adds around the one trial that RunTrial runs: Study::Optimize passes the stop flag and the
// callback; the worker loop (src/exec/worker_loop.h) also takes its trials within budgets and schedules, and records
// its identity on each. Every member may be empty.
struct TrialRunOptions {
  // Read after the objective returns: when set, a trial that did not complete (or prune) is failed "interrupted" and
  // RunTrial returns Cancelled.
  const std::atomic<bool>* stop_flag = nullptr;
  // Called with the trial as stored once this loop has finished it.
  std::function<void(Study&, const FrozenTrial&)> on_trial_finished;
  // Takes the trial to run; nullptr when there is none to run now. Empty: Study::Ask.
  std::function<Result<std::unique_ptr<Trial>>(Study&)> ask;
  // Called with the trial taken, before the objective (the worker records dial:worker on it). An error fails the
  // trial and ends RunTrial with that error.
  std::function<Status(Trial&)> on_started;
};

// Runs one trial of `study`: ask, the objective, tell. The one trial loop of dial: Study::Optimize and the worker loop
// both run their trials through it, so a trial ends the same way in either. The objective's error (or exception)
// fails the trial with its message as the reason, and RunTrial returns true (the loop goes on); TrialPruned prunes
// it; Cancelled, or the stop flag set, fails it "interrupted" and RunTrial returns Cancelled. A tell refused with
// FailedPrecondition means another process finished the trial meanwhile (failed it as stale): its result is not
// ours to store, and RunTrial returns true without calling on_trial_finished. Any other error of the storage (a full
// disk, a lost server) fails the trial if the storage still takes that write, so that it never stays RUNNING while
// this process lives, and is returned. Returns false, having run nothing, when `ask` finds no trial; the ask's
// error otherwise (OutOfRange: the sampler ran out of configurations, the trial it had created already failed).
Result<bool> RunTrial(Study& study, const ObjectiveFunction& objective, const TrialRunOptions& options = {});

// True when `a` dominates `b`: no worse in every objective and better in one (directions applied).
bool Dominates(const std::vector<double>& a, const std::vector<double>& b, const std::vector<StudyDirection>& dirs);
// The best of `trials` for one objective: the COMPLETE, feasible (SatisfiesConstraints) trial with one non-NaN value
// that is lowest (highest when maximising); on a tie the earliest in `trials` wins, as in Optuna. nullptr when none.
const FrozenTrial* FindBestTrial(const std::vector<FrozenTrial>& trials, StudyDirection direction);
// The Pareto front of a study: the COMPLETE, feasible (SatisfiesConstraints) trials with one non-NaN value per
// direction that no other such trial dominates (maximised objectives negated first). Ordered by trial number.
std::vector<FrozenTrial> ParetoFront(const std::vector<FrozenTrial>& trials, const std::vector<StudyDirection>& dirs);
// The indices of the points that no other point dominates (all objectives minimised; a dominates b when a ≤ b in
// every objective and a < b in one). Equal points do not dominate each other, so duplicates all stay. Ascending.
// Every point must have the same size.
std::vector<size_t> NonDominatedIndices(const std::vector<std::vector<double>>& minimised_points);
// Values turned to minimisation: maximised objectives negated.
std::vector<double> ToMinimisation(const std::vector<double>& values, const std::vector<StudyDirection>& directions);

}  // namespace dial
