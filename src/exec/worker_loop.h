// The worker loop: what one process does to take part in a study, alone or beside other workers on this or other
// machines. Before each trial it fails stale trials (heartbeats), then takes a WAITING trial or creates a new one
// within the study's budget, runs the objective with a heartbeat, and tells the result (docs/parallel.md).
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>

#include "dial/fidelity.h"
#include "dial/pbt.h"
#include "dial/status.h"
#include "dial/stopper.h"
#include "dial/study.h"
#include "exec/heartbeat.h"
#include "exec/resources.h"
#include "exec/run_budget.h"

namespace dial {

struct WorkerLoopOptions {
  // Trials this worker runs at most (nullopt: no limit of its own).
  std::optional<int64_t> n_trials;
  // The study-wide budget: no new trial is created once the study holds this many trials, not counting the failed
  // trials that a retry replaces. WAITING trials (enqueued, retries) are run whatever the count. nullopt: none.
  std::optional<int64_t> study_n_trials;
  // The budget of the run this worker belongs to (a pool's workers share one: `dial tune --n-jobs N --n-trials K`
  // creates K new trials, whatever other runs do on the study). No new trial is created once it is spent; WAITING
  // trials are still run, uncounted. A worker whose run budget is spent ends at once: its pool looks after its
  // siblings. nullptr: none. Not owned.
  RunBudget* run_budget = nullptr;
  // No trial is started after this long.
  std::optional<std::chrono::duration<double>> timeout;
  std::chrono::duration<double> heartbeat_interval{60.0};
  std::chrono::duration<double> grace_period{120.0};
  RetryPolicy retry;
  // Set by a signal handler: no new trial starts; the objective sees it too and ends its trial, which is failed
  // with reason "interrupted".
  const std::atomic<bool>* stop_flag = nullptr;
  // Called with each trial this worker finishes (as stored), and with the numbers of the stale trials it failed.
  std::function<void(Study&, const FrozenTrial&)> on_trial_finished;
  std::function<void(const std::vector<int64_t>&)> on_stale_trials_failed;
  // Study-wide stoppers, checked before each trial: when one holds no trial is started, the reason is recorded as
  // study system attr dial:stopped_by (once, by the first worker), on_stopped is called with it, and the loop ends OK.
  StopperOptions stoppers;
  std::function<void(const StopDecision&)> on_stopped;
  // A multi-fidelity study (include/dial/fidelity.h): trials follow the schedule (promotions enqueued with their
  // level and parent, new configurations at level 0 until start_trials, then waiting for running levels) and the
  // sampler models the trials of FidelityModelLevel. The loop ends when the schedule is done.
  std::optional<FidelityOptions> fidelity;
  // How long a worker waits before looking again when the schedule needs trials that others are running.
  std::chrono::duration<double> fidelity_poll_interval{0.5};
  // A population-based-training study (include/dial/pbt.h, docs/pbt.md): new members until population_size, then
  // each member's next segment (exploit/explore or continue) enqueued once its generation ranks it, claimed once in
  // storage; waits (fidelity_poll_interval) while that needs running segments. Ends when every member has run its
  // last segment. Not combined with `fidelity`.
  std::optional<PbtOptions> pbt;
  // resources_per_trial (exec/resources.h): before each trial is taken the worker waits (honouring stop_flag) until
  // the ledger grants the trial's resources; the grant is recorded as trial system attr dial:resources and given back
  // when the trial ends, however it ends. nullptr: trials need nothing. Not owned.
  ResourceLedger* resources = nullptr;

  // InvalidArgument naming the option: non-positive counts or durations, a grace period not above the interval.
  Status Validate() const;
};

// Runs trials of `study` until its own n_trials, the study budget, the timeout, a stopper, Study::Stop, an exhausted
// sampler, or the stop flag. Each trial is run by RunTrial (include/dial/study.h), the loop Study::Optimize runs too,
// so a trial ends the same way in both; here it also carries system attr dial:worker ({host, pid}) and beats while
// the objective runs. A trial that another worker failed meanwhile (stale) is skipped, not an error. Returns
// Cancelled when stopped by the flag (the running trial failed "interrupted"), OK otherwise; a storage error ends
// the loop with that error, after the running trial is failed when the storage still takes that write.
Status RunWorkerLoop(Study& study, const ObjectiveFunction& objective, const WorkerLoopOptions& options);

// The study's budget count as WorkerLoopOptions::study_n_trials uses it: every trial, less the failed trials that
// a retry replaces.
Result<int64_t> StudyBudgetCount(Storage& storage, StudyId study_id);

// This process's identity as stored in dial:worker.
Json WorkerIdentity();
// The machine's host name ("localhost" when it cannot be read).
std::string HostName();

}  // namespace dial
