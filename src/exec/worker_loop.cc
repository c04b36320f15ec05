// The worker loop (see worker_loop.h).
#include "exec/worker_loop.h"

#include <unistd.h>

#include <algorithm>
#include <climits>
#include <set>
#include <thread>

namespace dial {

Status WorkerLoopOptions::Validate() const {
  if (n_trials && *n_trials <= 0)
    return InvalidArgument("n_trials: must be positive, got " + std::to_string(*n_trials));
  if (study_n_trials && *study_n_trials <= 0) {
    return InvalidArgument("study n_trials: must be positive, got " + std::to_string(*study_n_trials));
  }
  if (timeout && !(timeout->count() > 0)) return InvalidArgument("timeout: must be a positive number of seconds");
  if (!(heartbeat_interval.count() > 0)) return InvalidArgument("heartbeat_interval: must be positive");
  if (!(grace_period > heartbeat_interval)) {
    return InvalidArgument("grace_period: must be longer than heartbeat_interval");
  }
  if (retry.max_retries < 0) return InvalidArgument("max_retries: must be non-negative");
  DIAL_RETURN_IF_ERROR(stoppers.Validate().WithContext("stop"));
  return Status::Ok();
}

std::string HostName() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

Json WorkerIdentity() { return Json{{"host", HostName()}, {"pid", static_cast<int64_t>(getpid())}}; }

Result<int64_t> StudyBudgetCount(Storage& storage, StudyId study_id) {
  DIAL_ASSIGN_OR_RETURN(std::vector<FrozenTrial> trials, storage.GetAllTrials(study_id));
  return static_cast<int64_t>(trials.size()) - CountRetries(trials);
}

namespace {

// Takes the next trial: a WAITING one, else a new one within the study budget. nullptr when the budget is spent.
Result<std::unique_ptr<Trial>> AskWithinStudyBudget(Study& study, const WorkerLoopOptions& options) {
  if (!options.study_n_trials) return study.Ask();
  int64_t retries = 0;
  if (options.retry.max_retries > 0) {
    // Each retry stands in for the trial it retries, so the budget grows by one per retry. (Without a retry policy
    // no retry exists, and the scan is skipped.)
    DIAL_ASSIGN_OR_RETURN(std::vector<FrozenTrial> trials, study.GetTrials());
    retries = CountRetries(trials);
  }
  return study.AskWithin(*options.study_n_trials + retries);
}

// As AskWithinStudyBudget, and within the run's budget when there is one: a WAITING trial first (never counted: an
// enqueued trial, or a retry standing in for a trial that was counted), else a new trial that the run's budget
// counts. nullptr when a budget is spent; `run_spent` says whether it was the run's.
Result<std::unique_ptr<Trial>> NextTrial(Study& study, const WorkerLoopOptions& options, bool& run_spent) {
  run_spent = false;
  if (options.run_budget == nullptr) return AskWithinStudyBudget(study, options);
  // AskWithin(0) creates nothing (a study never holds fewer than 0 trials): it only takes a WAITING trial.
  DIAL_ASSIGN_OR_RETURN(std::unique_ptr<Trial> waiting, study.AskWithin(0));
  if (waiting != nullptr) return waiting;
  bool asked = false;
  DIAL_ASSIGN_OR_RETURN(std::unique_ptr<Trial> trial, options.run_budget->CreateWithin([&] {
    asked = true;
    return AskWithinStudyBudget(study, options);
  }));
  run_spent = !asked;
  return trial;
}

// The next trial of a multi-fidelity study (see FidelityOptions), nullptr when its schedule is done or the stop flag
// was set while waiting for other workers' trials.
// How long a promotion claimed by another worker may stay without its trial before this worker enqueues it.
constexpr std::chrono::duration<double> kStalePromotionClaim{60.0};

// Claims the scheduling step `key` (a promotion, a PBT segment) once across workers through the study system attr
// of that name, written with the atomic SetStudySystemAttrIfAbsent with `payload` and the time. True: this worker
// enqueues it. False: another worker claimed it and is enqueuing it; the caller waits and reads the study again. A
// claim whose trial has not appeared after kStalePromotionClaim (its worker died between the claim and the enqueue)
// is taken over, so the schedule never waits forever.
Result<bool> ClaimOnce(Study& study, const std::string& key, Json payload) {
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  payload["at"] = now;
  DIAL_ASSIGN_OR_RETURN(bool claimed, study.storage().SetStudySystemAttrIfAbsent(study.id(), key, payload));
  if (claimed) return true;
  DIAL_ASSIGN_OR_RETURN(AttrMap attrs, study.storage().GetStudySystemAttrs(study.id()));
  auto claim = attrs.find(key);
  const double at = claim != attrs.end() && claim->second.is_object() ? claim->second.value("at", now) : now;
  return now - at >= kStalePromotionClaim.count();
}

Result<std::unique_ptr<Trial>> NextFidelityTrial(Study& study, const WorkerLoopOptions& options) {
  const FidelityOptions& fidelity = *options.fidelity;
  for (;;) {
    if (options.stop_flag != nullptr && options.stop_flag->load()) return std::unique_ptr<Trial>();
    DIAL_ASSIGN_OR_RETURN(std::vector<FrozenTrial> trials, study.storage().GetAllTrials(study.id()));
    const FidelityDecision next = DecideNextFidelityStep(trials, fidelity, study.directions()[0]);
    switch (next.kind) {
      case FidelityDecision::Kind::kRunWaiting: {
        // Bounded by the count just read: if another worker took the WAITING trial meanwhile, nothing is created
        // (an unbounded Ask would add an unplanned trial) and the schedule is read again.
        DIAL_ASSIGN_OR_RETURN(std::unique_ptr<Trial> trial, study.AskWithin(static_cast<int64_t>(trials.size())));
        if (trial == nullptr) continue;
        return trial;
      }
      case FidelityDecision::Kind::kPromote: {
        // Claimed once, so two workers deciding at the same moment never promote a parent twice.
        DIAL_ASSIGN_OR_RETURN(bool claimed,
                              ClaimOnce(study, "dial:fidelity:promoted:" + std::to_string(next.parent_number),
                                        Json{{"level", next.level}}));
        if (!claimed) {
          std::this_thread::sleep_for(options.fidelity_poll_interval);
          continue;  // another worker is enqueuing it
        }
        auto parent = std::find_if(trials.begin(), trials.end(),
                                   [&](const FrozenTrial& t) { return t.number == next.parent_number; });
        AttrMap attrs = {{std::string(kFidelityLevelAttr), next.level},
                         {std::string(kFidelityParentAttr), next.parent_number}};
        if (fidelity.HasBrackets()) attrs[std::string(kFidelityBracketAttr)] = next.bracket;
        if (fidelity.ResumesAt(next.level - 1)) attrs[std::string(kFidelityResumeFromAttr)] = next.parent_number;
        DIAL_RETURN_IF_ERROR(study.EnqueueTrial(parent->ExternalParams(), {}, attrs));
        continue;  // taken as a WAITING trial on the next pass (by this worker or another)
      }
      case FidelityDecision::Kind::kNewTrial: {
        // Created only if no other worker added a trial since `trials` was read, so level 0 never overshoots.
        DIAL_ASSIGN_OR_RETURN(std::unique_ptr<Trial> trial, study.AskWithin(static_cast<int64_t>(trials.size()) + 1));
        if (trial == nullptr) continue;
        // Set before the objective suggests anything, so the sampler's view (hyperband: the trial's bracket) sees them.
        if (trial->frozen().system_attrs.count(std::string(kFidelityLevelAttr)) == 0) {
          DIAL_RETURN_IF_ERROR(trial->SetSystemAttr(std::string(kFidelityLevelAttr), next.level));
          if (fidelity.HasBrackets()) {
            DIAL_RETURN_IF_ERROR(trial->SetSystemAttr(std::string(kFidelityBracketAttr), next.bracket));
          }
        }
        return trial;
      }
      case FidelityDecision::Kind::kWait:
        std::this_thread::sleep_for(options.fidelity_poll_interval);
        continue;
      case FidelityDecision::Kind::kDone:
        return std::unique_ptr<Trial>();
    }
  }
}

// The next trial of a PBT study (see PbtOptions), nullptr when its schedule is done or the stop flag was set while
// waiting for other workers' segments.
Result<std::unique_ptr<Trial>> NextPbtTrial(Study& study, const WorkerLoopOptions& options) {
  const PbtOptions& pbt = *options.pbt;
  for (;;) {
    if (options.stop_flag != nullptr && options.stop_flag->load()) return std::unique_ptr<Trial>();
    DIAL_ASSIGN_OR_RETURN(std::vector<FrozenTrial> trials, study.storage().GetAllTrials(study.id()));
    PbtDecision next = DecideNextPbtStep(trials, pbt, study.directions()[0]);
    switch (next.kind) {
      case PbtDecision::Kind::kRunWaiting:
      case PbtDecision::Kind::kNewMember: {
        // A WAITING trial is taken whatever the count. A new member is created only if no other worker added a
        // trial since `trials` was read (so the population never overshoots and `next.member` is this trial's
        // rank); and none when a WAITING trial was expected but another worker took it first.
        const int64_t at_most = static_cast<int64_t>(trials.size()) + (next.kind == PbtDecision::Kind::kNewMember);
        DIAL_ASSIGN_OR_RETURN(std::unique_ptr<Trial> trial, study.AskWithin(at_most));
        if (trial == nullptr) continue;
        if (trial->frozen().system_attrs.count(std::string(kPbtGenerationAttr)) == 0) {
          // A generation-0 member (sampled, or enqueued by the user): labelled with its rank before the objective
          // reads its steps. The rank is read again, since a WAITING trial may be any original.
          DIAL_ASSIGN_OR_RETURN(std::vector<FrozenTrial> now, study.storage().GetAllTrials(study.id()));
          const std::map<int64_t, PbtSegment> segments = PbtSegmentsByNumber(now);
          auto it = segments.find(trial->number());
          const PbtSegment segment = it != segments.end() ? it->second : PbtSegment{next.member, 0};
          AttrMap attrs = PbtNewMemberAttrs(pbt, segment.member);
          attrs[std::string(kPbtGenerationAttr)] = segment.generation;
          for (const auto& [key, value] : attrs) DIAL_RETURN_IF_ERROR(trial->SetSystemAttr(key, value));
        }
        return trial;
      }
      case PbtDecision::Kind::kNextSegment: {
        // Claimed once, as fidelity promotions are, so no segment is enqueued twice.
        DIAL_ASSIGN_OR_RETURN(bool claimed,
                              ClaimOnce(study,
                                        std::string(kPbtSegmentClaimPrefix) + std::to_string(next.member) + ":" +
                                            std::to_string(next.generation),
                                        Json{{"exploit", next.exploit}}));
        if (!claimed) {
          std::this_thread::sleep_for(options.fidelity_poll_interval);
          continue;  // another worker is enqueuing it
        }
        DIAL_RETURN_IF_ERROR(study.EnqueueTrial(next.params, {}, next.attrs));
        continue;  // taken as a WAITING trial on the next pass (by this worker or another)
      }
      case PbtDecision::Kind::kWait: {
        // The segments waited for may belong to a worker that died: fail them here once their heartbeat is stale
        // (and retry them under max_retries), or the population would wait for them forever.
        DIAL_ASSIGN_OR_RETURN(std::vector<int64_t> stale,
                              FailStaleTrials(study.storage(), study.id(), options.grace_period, options.retry));
        if (!stale.empty() && options.on_stale_trials_failed) options.on_stale_trials_failed(stale);
        if (stale.empty()) std::this_thread::sleep_for(options.fidelity_poll_interval);
        continue;
      }
      case PbtDecision::Kind::kDone:
        return std::unique_ptr<Trial>();
    }
  }
}

// Shows the sampler only the trials of the level it should model (BOHB's rule: the highest level with enough
// COMPLETE trials; hyperband: within the trial's bracket), so that configurations are proposed from the most
// faithful evidence available (FidelitySamplerView).
void InstallFidelityView(Study& study, const FidelityOptions& fidelity) {
  study.SetSamplerViewProvider([fidelity](const Study& s, const FrozenTrial& trial) -> Result<TrialFilter> {
    DIAL_ASSIGN_OR_RETURN(std::vector<FrozenTrial> trials, s.storage().GetAllTrials(s.id()));
    std::set<std::string> names;
    for (const FrozenTrial& t : trials) {
      for (const auto& [name, d] : t.distributions) names.insert(name);
    }
    return FidelitySamplerView(trials, fidelity, static_cast<int>(names.size()), trial);
  });
}

}  // namespace

// How often a worker whose budget is spent looks again at the trials other workers still run.
constexpr std::chrono::duration<double> kLingerPoll{1.0};

Status RunWorkerLoop(Study& study, const ObjectiveFunction& objective, const WorkerLoopOptions& options) {
  DIAL_RETURN_IF_ERROR(options.Validate());
  DIAL_RETURN_IF_ERROR(options.stoppers.ValidateFor(study.directions()).WithContext("stop"));
  const auto start = std::chrono::steady_clock::now();
  const Json identity = WorkerIdentity();
  // A trial that carries a fidelity level is pruned against its level's trials only (a study's levels may outlive
  // its fidelity options: a resumed or inspected study).
  study.SetPrunerViewProvider(FidelityPrunerView);
  if (options.fidelity) {
    DIAL_RETURN_IF_ERROR(options.fidelity->Validate());
    InstallFidelityView(study, *options.fidelity);
  }
  if (options.pbt) {
    if (options.fidelity) return InvalidArgument("pbt: a PBT study cannot also have fidelity levels");
    DIAL_RETURN_IF_ERROR(options.pbt->Validate());
  }
  auto stopped = [&] { return options.stop_flag != nullptr && options.stop_flag->load(); };
  // The trial beats while its objective runs, so that no other worker fails it as stale.
  const ObjectiveFunction with_heartbeat = [&](Trial& trial) {
    HeartbeatThread heartbeat(study.storage(), trial.id(), options.heartbeat_interval);
    return objective(trial);
  };
  std::optional<std::chrono::steady_clock::time_point> last_silent_look;
  for (int64_t done = 0;; ++done) {
    if (stopped()) return Cancelled("interrupted");
    if (study.stop_requested()) break;
    if (options.n_trials && done >= *options.n_trials) break;
    if (options.timeout && std::chrono::steady_clock::now() - start >= *options.timeout) break;
    if (study.sampler().IsExhausted(study)) break;
    DIAL_ASSIGN_OR_RETURN(std::optional<StopDecision> stop, CheckAndRecordStop(study, options.stoppers));
    if (stop) {
      if (options.on_stopped) options.on_stopped(*stop);
      break;
    }

    // Trials that never beat are looked for at most once a heartbeat interval: such a trial is stale only after
    // the grace period anyway, and the look costs a read of every RUNNING trial.
    const auto now = std::chrono::steady_clock::now();
    const bool look_for_silent = !last_silent_look || now - *last_silent_look >= options.heartbeat_interval;
    if (look_for_silent) last_silent_look = now;
    DIAL_ASSIGN_OR_RETURN(std::vector<int64_t> stale, FailStaleTrials(study.storage(), study.id(), options.grace_period,
                                                                      options.retry, look_for_silent));
    if (!stale.empty() && options.on_stale_trials_failed) options.on_stale_trials_failed(stale);

    // Taken before the trial is asked for, so that a trial never waits RUNNING for resources; given back when
    // this iteration ends (the trial told, the budget spent, or an error).
    std::unique_ptr<ResourceLease> lease;
    if (options.resources != nullptr) {
      DIAL_ASSIGN_OR_RETURN(lease, options.resources->Acquire(options.stop_flag));
      if (lease == nullptr) return Cancelled("interrupted");
    }
    bool run_spent = false;
    const TrialRunOptions run{.stop_flag = options.stop_flag,
                              .on_trial_finished = options.on_trial_finished,
                              .ask = [&](Study& s) -> Result<std::unique_ptr<Trial>> {
                                return options.fidelity ? NextFidelityTrial(s, options)
                                       : options.pbt    ? NextPbtTrial(s, options)
                                                        : NextTrial(s, options, run_spent);
                              },
                              .on_started = [&](Trial& trial) -> Status {
                                DIAL_RETURN_IF_ERROR(trial.SetSystemAttr(std::string(kWorkerAttr), identity));
                                if (lease == nullptr) return Status::Ok();
                                return trial.SetSystemAttr(kResourcesAttr, lease->grant().ToJson());
                              }};
    // The one trial loop (Study's RunTrial) runs the trial; a stale trial (another worker failed it meanwhile) is
    // skipped there, and a storage error fails the trial before it ends this loop.
    Result<bool> ran = RunTrial(study, with_heartbeat, run);
    if (!ran.ok()) {
      if (ran.status().code() == StatusCode::kOutOfRange) break;  // the sampler ran out of configurations
      return ran.status();
    }
    if (!*ran) {
      // The study's budget is spent (or its schedule done). Other workers' trials may still run: stay while one
      // beats, failing it here (and running its retry) if its worker dies, so that no trial is left RUNNING. A
      // pool's worker whose run is done leaves: the pool looks after its siblings, and other runs look after
      // their own trials.
      if (stopped() || run_spent) break;
      DIAL_ASSIGN_OR_RETURN(bool beating, AnyTrialBeating(study.storage(), study.id()));
      if (!beating) break;
      lease.reset();
      std::this_thread::sleep_for(std::min<std::chrono::duration<double>>(options.heartbeat_interval, kLingerPoll));
      --done;  // this pass ran no trial
      continue;
    }
  }
  return Status::Ok();
}

}  // namespace dial
