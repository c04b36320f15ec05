// Study: create/load, ask/tell, the optimisation loop, enqueued trials and best trials.
#include "dial/study.h"

#include <cmath>
#include <limits>
#include <random>
#include <sstream>

namespace dial {
namespace {

uint64_t FreshSeed() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd() ^
         static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
}

std::string DirectionsToString(const std::vector<StudyDirection>& dirs) {
  std::string out = "[";
  for (size_t k = 0; k < dirs.size(); ++k) {
    out += (k ? ", " : "");
    std::string name(StudyDirectionName(dirs[k]));
    for (auto& c : name) c = static_cast<char>(std::tolower(c));
    out += name;
  }
  return out + "]";
}

Status ValidateDirections(const std::vector<StudyDirection>& dirs) {
  if (dirs.empty()) return InvalidArgument("a study needs at least one direction");
  for (auto d : dirs) {
    if (d == StudyDirection::kNotSet) return InvalidArgument("direction must be minimize or maximize");
  }
  return Status::Ok();
}

struct Components {
  std::unique_ptr<Sampler> sampler;
  std::unique_ptr<Pruner> pruner;
};

Result<Components> MakeComponents(const StudyOptions& options) {
  Components c;
  const uint64_t seed = options.seed ? *options.seed : FreshSeed();
  DIAL_ASSIGN_OR_RETURN(c.sampler, CreateSampler(options.sampler, options.sampler_options, seed));
  DIAL_ASSIGN_OR_RETURN(c.pruner, CreatePruner(options.pruner, options.pruner_options));
  if (c.pruner->FiltersSamplerView() && !c.sampler->SupportsFilteredView()) {
    return InvalidArgument("sampler '" + c.sampler->Name() + "' cannot run with pruner '" + c.pruner->Name() +
                           "': the pruner shows each trial only its bracket's trials, and the sampler keeps one " +
                           "state across the whole study; use tpe, gp or random with it, or successive_halving");
  }
  return c;
}

// A study loaded under `options` must agree with them: the same directions, and every parameter of
// options.search_space that a stored trial uses keeps its kind, log flag and choices (Optuna's rule), or the old and
// new trials would not be comparable.
Status CheckStoredStudyAgrees(Storage& storage, StudyId id, const std::vector<StudyDirection>& stored,
                              const StudyOptions& options) {
  const std::string where = options.source.empty() ? "" : options.source + ": ";
  if (!options.directions.empty() && options.directions != stored) {
    return InvalidArgument(where + "direction(s) " + DirectionsToString(options.directions) + " differ from study '" +
                           options.study_name + "' in " + storage.url() + ", created with " +
                           DirectionsToString(stored) + " (choose another study name, or delete that study)");
  }
  if (options.search_space.empty()) return Status::Ok();
  DIAL_ASSIGN_OR_RETURN(std::vector<FrozenTrial> trials, storage.GetAllTrials(id));
  for (const DeclaredParam& param : options.search_space) {
    for (const FrozenTrial& trial : trials) {
      auto it = trial.distributions.find(param.name);
      if (it == trial.distributions.end()) continue;
      if (Status compatible = CheckCompatible(it->second, param.distribution); !compatible.ok()) {
        std::string at = options.source;
        if (!at.empty() && param.line > 0) at += ":" + std::to_string(param.line);
        return InvalidArgument((at.empty() ? "" : at + ": ") + "search_space." + param.name + ": " +
                               DistributionToString(param.distribution) + " conflicts with the distribution " +
                               DistributionToString(it->second) + " that study '" + options.study_name +
                               "' already uses for it (" + compatible.message() + ")");
      }
      break;  // the study enforces one distribution kind per name, so the first occurrence speaks for all
    }
  }
  return Status::Ok();
}

}  // namespace

Study::Study(std::shared_ptr<Storage> storage, StudyId id, std::string name, std::vector<StudyDirection> directions,
             std::unique_ptr<Sampler> sampler, std::unique_ptr<Pruner> pruner)
    : storage_(std::move(storage)),
      study_id_(id),
      name_(std::move(name)),
      directions_(std::move(directions)),
      sampler_(std::move(sampler)),
      pruner_(std::move(pruner)) {}

Result<std::unique_ptr<Study>> Study::Create(std::shared_ptr<Storage> storage, const StudyOptions& options) {
  DIAL_RETURN_IF_ERROR(ValidateDirections(options.directions));
  DIAL_ASSIGN_OR_RETURN(Components c, MakeComponents(options));
  // An empty name gets Optuna's default "no-name-<uuid4>" from the storage.
  auto id = storage->CreateNewStudy(options.directions, options.study_name);
  if (!id.ok()) {
    if (id.status().code() == StatusCode::kAlreadyExists && options.load_if_exists)
      return Load(std::move(storage), options);
    return id.status();
  }
  DIAL_ASSIGN_OR_RETURN(std::string name, storage->GetStudyNameFromId(*id));
  return std::unique_ptr<Study>(
      new Study(std::move(storage), *id, name, options.directions, std::move(c.sampler), std::move(c.pruner)));
}

Result<std::unique_ptr<Study>> Study::Load(std::shared_ptr<Storage> storage, const StudyOptions& options) {
  auto id = storage->GetStudyIdFromName(options.study_name);
  if (!id.ok()) {
    if (id.status().code() == StatusCode::kNotFound) {
      return NotFound("study '" + options.study_name + "' does not exist in " + storage->url());
    }
    return id.status();
  }
  DIAL_ASSIGN_OR_RETURN(auto directions, storage->GetStudyDirections(*id));
  DIAL_RETURN_IF_ERROR(CheckStoredStudyAgrees(*storage, *id, directions, options));
  DIAL_ASSIGN_OR_RETURN(Components c, MakeComponents(options));
  return std::unique_ptr<Study>(new Study(std::move(storage), *id, options.study_name, std::move(directions),
                                          std::move(c.sampler), std::move(c.pruner)));
}

Result<std::unique_ptr<Trial>> Study::PopWaitingTrial() {
  DIAL_ASSIGN_OR_RETURN(auto waiting, storage_->GetAllTrials(study_id_, std::vector{TrialState::kWaiting}));
  for (const auto& w : waiting) {
    auto won = storage_->SetTrialStateValues(w.trial_id, TrialState::kRunning);
    if (!won.ok()) {
      // Another worker finished or failed it between our read and our write.
      if (won.status().code() == StatusCode::kFailedPrecondition) continue;
      return won.status();
    }
    if (!*won) continue;
    DIAL_ASSIGN_OR_RETURN(FrozenTrial frozen, storage_->GetTrial(w.trial_id));
    return std::unique_ptr<Trial>(new Trial(this, std::move(frozen)));
  }
  return std::unique_ptr<Trial>();
}

Result<std::unique_ptr<Trial>> Study::Ask() { return AskWithin(std::numeric_limits<int64_t>::max()); }

Result<std::unique_ptr<Trial>> Study::AskWithin(int64_t max_trials) {
  DIAL_ASSIGN_OR_RETURN(std::unique_ptr<Trial> trial, PopWaitingTrial());
  if (!trial) {
    TrialId id = -1;
    if (max_trials == std::numeric_limits<int64_t>::max()) {
      DIAL_ASSIGN_OR_RETURN(id, storage_->CreateNewTrial(study_id_));
    } else {
      DIAL_ASSIGN_OR_RETURN(std::optional<TrialId> created, storage_->CreateNewTrialIfFewerThan(study_id_, max_trials));
      if (!created.has_value()) return std::unique_ptr<Trial>();
      id = *created;
    }
    DIAL_ASSIGN_OR_RETURN(FrozenTrial frozen, storage_->GetTrial(id));
    trial.reset(new Trial(this, std::move(frozen)));
  }
  if (Status s = sampler_->BeforeTrial(*this, trial->frozen_); !s.ok()) {
    // The trial exists but cannot be sampled (an exhausted grid): fail it so nothing stays RUNNING.
    DIAL_RETURN_IF_ERROR(Finish(*trial, TrialState::kFail, {}, s.message()));
    if (s.code() == StatusCode::kOutOfRange) Stop();
    return s;
  }
  return trial;
}

Result<FrozenTrial> Study::Tell(Trial& trial, TrialState state, const std::vector<double>& values,
                                const std::string& reason) {
  DIAL_RETURN_IF_ERROR(Finish(trial, state, values, reason));
  return trial.frozen_;
}

Status Study::Finish(Trial& trial, TrialState state, const std::vector<double>& values, const std::string& reason) {
  FrozenTrial& frozen = trial.frozen_;
  if (IsFinished(frozen.state)) {
    return FailedPrecondition("trial " + std::to_string(frozen.number) + " is already " +
                              std::string(TrialStateName(frozen.state)));
  }
  if (state == TrialState::kRunning || state == TrialState::kWaiting) {
    return InvalidArgument("Tell needs a finished state (COMPLETE, PRUNED or FAIL), got " +
                           std::string(TrialStateName(state)));
  }
  Storage::TrialUpdate update;
  std::string fail_reason = reason;
  std::vector<double> stored_values;
  if (state == TrialState::kComplete) {
    if (values.size() != directions_.size()) {
      state = TrialState::kFail;
      fail_reason = "the objective returned " + std::to_string(values.size()) + " value(s) for " +
                    std::to_string(directions_.size()) + " direction(s)";
    } else {
      for (size_t k = 0; k < values.size(); ++k) {
        if (std::isnan(values[k])) {
          state = TrialState::kFail;
          fail_reason = "the objective returned NaN" + (values.size() > 1 ? " for objective " + std::to_string(k) : "");
        }
      }
      if (state == TrialState::kComplete) stored_values = values;
    }
  } else if (state == TrialState::kPruned) {
    if (!values.empty()) {
      stored_values = values;
    } else if (directions_.size() == 1 && !frozen.intermediate_values.empty()) {
      // Optuna keeps a pruned trial's last reported value as its value.
      const double last = frozen.intermediate_values.rbegin()->second;
      if (!std::isnan(last)) stored_values = {last};
    }
  }
  if (state == TrialState::kFail) {
    if (fail_reason.empty()) fail_reason = "failed";
    update.system_attrs.emplace_back(std::string(kFailReasonAttr), fail_reason);
    frozen.system_attrs[std::string(kFailReasonAttr)] = fail_reason;
  }
  update.state = state;
  update.values = stored_values;
  // Asked before the write, so that a failure leaves the trial as it was.
  DIAL_ASSIGN_OR_RETURN(TrialFilter view, SamplerViewFor(frozen));
  DIAL_RETURN_IF_ERROR(storage_->UpdateTrial(frozen.trial_id, update));
  frozen.state = state;
  frozen.values = stored_values;
  frozen.datetime_complete = std::chrono::system_clock::now();
  ScopedSamplerView scope(*this, std::move(view));
  sampler_->AfterTrial(*this, frozen, state, stored_values);
  return Status::Ok();
}

Result<FrozenTrial> Study::Tell(int64_t trial_number, TrialState state, const std::vector<double>& values,
                                const std::string& reason) {
  DIAL_ASSIGN_OR_RETURN(FrozenTrial frozen, GetTrialByNumber(*storage_, study_id_, trial_number));
  Trial trial(this, std::move(frozen));
  return Tell(trial, state, values, reason);
}

namespace {

// The reason a trial ended by the stop flag is failed with (exec's kInterruptedReason is the same text).
constexpr const char* kInterrupted = "interrupted";

Result<std::vector<double>> CallObjective(const ObjectiveFunction& objective, Trial& trial) {
  try {
    return objective(trial);
  } catch (const std::exception& e) {
    return Internal(std::string("the objective threw: ") + e.what());
  } catch (...) {
    return Internal("the objective threw an unknown exception");
  }
}

// The loop ends with `error` (a storage that cannot be written: a full disk, a lost server) while `trial` is RUNNING:
// it is failed here if the storage still takes that write, so that it is not left RUNNING with nobody to end it
// (when this write fails too, a worker fails it once its heartbeat, or lack of one, is stale: docs/parallel.md).
// Not retried: the error would likely end the retry too. Returns `error`.
Status AbandonTrial(Study& study, Trial& trial, const Status& error) {
  const std::string reason = "the trial loop stopped on a storage error: " + error.message();
  Result<FrozenTrial> failed = study.Tell(trial, TrialState::kFail, {}, reason);
  if (!failed.ok() && failed.status().code() != StatusCode::kFailedPrecondition) {
    // Tell reads the study first (the sampler's view); the bare write may still pass where that read failed.
    Storage::TrialUpdate update;
    update.state = TrialState::kFail;
    update.system_attrs.emplace_back(std::string(kFailReasonAttr), reason);
    (void)study.storage().UpdateTrial(trial.id(), update);
  }
  return error;
}

}  // namespace

// One trial loop for Optimize and the worker loop (docs/design.md, "Trials never stay RUNNING"). Before it there were
// two, which ended a refused tell differently: Optimize returned the error and left the trial RUNNING, and a trial
// that another worker had failed as stale ended Optimize with FailedPrecondition, where the worker went on.
Result<bool> RunTrial(Study& study, const ObjectiveFunction& objective, const TrialRunOptions& options) {
  DIAL_ASSIGN_OR_RETURN(std::unique_ptr<Trial> trial, options.ask ? options.ask(study) : study.Ask());
  if (trial == nullptr) return false;
  if (options.on_started) {
    if (Status started = options.on_started(*trial); !started.ok()) return AbandonTrial(study, *trial, started);
  }
  const Result<std::vector<double>> result = CallObjective(objective, *trial);
  const bool flagged = options.stop_flag != nullptr && options.stop_flag->load();
  const bool pruned = result.status().code() == StatusCode::kPruned;
  const bool interrupted = result.status().code() == StatusCode::kCancelled || flagged;
  Result<FrozenTrial> told = InvalidArgument("not told");
  if (result.ok()) {
    told = study.Tell(*trial, TrialState::kComplete, *result);
  } else if (pruned) {
    told = study.Tell(*trial, TrialState::kPruned);
  } else {
    told = study.Tell(*trial, TrialState::kFail, {}, interrupted ? kInterrupted : result.status().message());
  }
  if (!told.ok()) {
    // FailedPrecondition: another process finished the trial meanwhile (failed it as stale), and its result is not
    // ours to store; the loop goes on. Anything else is the storage failing.
    if (told.status().code() != StatusCode::kFailedPrecondition) return AbandonTrial(study, *trial, told.status());
  } else if (options.on_trial_finished) {
    options.on_trial_finished(study, *told);
  }
  if (interrupted) return Cancelled("interrupted during trial " + std::to_string(trial->number()));
  return true;
}

Status Study::Optimize(const ObjectiveFunction& objective, const OptimizeOptions& options) {
  stop_requested_ = false;
  DIAL_RETURN_IF_ERROR(options.stoppers.ValidateFor(directions_).WithContext("stoppers"));
  const TrialRunOptions run{.stop_flag = options.stop_flag, .on_trial_finished = options.on_trial_finished};
  const auto start = std::chrono::steady_clock::now();
  for (int64_t done = 0;; ++done) {
    if (options.stop_flag && options.stop_flag->load()) return Cancelled("interrupted");
    if (stop_requested_) break;
    if (options.n_trials && done >= *options.n_trials) break;
    if (options.timeout && std::chrono::steady_clock::now() - start >= *options.timeout) break;
    DIAL_ASSIGN_OR_RETURN(std::optional<StopDecision> stop, CheckAndRecordStop(*this, options.stoppers));
    if (stop) break;
    if (sampler_->IsExhausted(*this)) break;
    Result<bool> ran = RunTrial(*this, objective, run);
    if (ran.status().code() == StatusCode::kOutOfRange) break;  // the sampler ran out of configurations
    if (!ran.ok()) return ran.status();
  }
  return Status::Ok();
}

Result<TrialFilter> Study::SamplerViewFor(const FrozenTrial& trial) const {
  DIAL_ASSIGN_OR_RETURN(TrialFilter view, pruner_->SamplerView(*this, trial));
  if (!view_provider_) return view;
  DIAL_ASSIGN_OR_RETURN(TrialFilter extra, view_provider_(*this, trial));
  if (!view) return extra;
  if (!extra) return view;
  return TrialFilter([view, extra](const FrozenTrial& t) { return view(t) && extra(t); });
}

Status Study::EnqueueTrial(const std::map<std::string, ParamValue>& params, const AttrMap& user_attrs,
                           const AttrMap& system_attrs) {
  FrozenTrial waiting;
  waiting.state = TrialState::kWaiting;
  waiting.system_attrs = system_attrs;
  Json fixed = Json::object();
  for (const auto& [name, value] : params) fixed[name] = ParamValueToJson(value);
  waiting.system_attrs[std::string(kFixedParamsAttr)] = fixed;
  waiting.user_attrs = user_attrs;
  DIAL_ASSIGN_OR_RETURN(TrialId id, storage_->CreateNewTrial(study_id_, waiting));
  (void)id;
  return Status::Ok();
}

Result<std::vector<FrozenTrial>> Study::GetTrials(const std::optional<std::vector<TrialState>>& states) const {
  DIAL_ASSIGN_OR_RETURN(std::vector<FrozenTrial> trials, storage_->GetAllTrials(study_id_, states));
  if (sampler_view_) std::erase_if(trials, [this](const FrozenTrial& t) { return !sampler_view_(t); });
  return trials;
}

Result<FrozenTrial> Study::BestTrial() const {
  if (is_multi_objective()) {
    return FailedPrecondition("study '" + name_ + "' has " + std::to_string(directions_.size()) +
                              " objectives: use BestTrials for its Pareto set");
  }
  return GetBestTrial(*storage_, study_id_);
}

Result<std::vector<FrozenTrial>> Study::BestTrials() const { return GetBestTrials(*storage_, study_id_); }

Status Study::SetUserAttr(const std::string& key, const Json& value) {
  return storage_->SetStudyUserAttr(study_id_, key, value);
}

Status Study::SetSystemAttr(const std::string& key, const Json& value) {
  return storage_->SetStudySystemAttr(study_id_, key, value);
}

bool Dominates(const std::vector<double>& a, const std::vector<double>& b, const std::vector<StudyDirection>& dirs) {
  assert(a.size() == b.size() && a.size() == dirs.size());
  bool strictly_better = false;
  for (size_t k = 0; k < a.size(); ++k) {
    // Compare as minimisation: negate maximised objectives.
    const double x = dirs[k] == StudyDirection::kMaximize ? -a[k] : a[k];
    const double y = dirs[k] == StudyDirection::kMaximize ? -b[k] : b[k];
    if (x > y) return false;
    if (x < y) strictly_better = true;
  }
  return strictly_better;
}

const FrozenTrial* FindBestTrial(const std::vector<FrozenTrial>& trials, StudyDirection direction) {
  const bool maximize = direction == StudyDirection::kMaximize;
  const FrozenTrial* best = nullptr;
  for (const FrozenTrial& t : trials) {
    if (t.state != TrialState::kComplete || t.values.size() != 1 || std::isnan(t.values[0]) ||
        !SatisfiesConstraints(t)) {
      continue;
    }
    // Strictly better only: on a tie the earliest trial wins.
    if (best == nullptr || (maximize ? t.values[0] > best->values[0] : t.values[0] < best->values[0])) best = &t;
  }
  return best;
}

}  // namespace dial
