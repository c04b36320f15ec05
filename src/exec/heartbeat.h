// Heartbeats and the recovery of abandoned trials: a running trial's process records a heartbeat in the storage
// (Optuna's trial_heartbeats table) every interval; any worker fails a RUNNING trial whose heartbeat has gone stale,
// and the retry policy enqueues its parameters again as a new WAITING trial linked to it (docs/parallel.md).
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dial/frozen_trial.h"
#include "dial/status.h"
#include "dial/storage.h"

namespace dial {

// The reasons stored (system attr dial:fail_reason) on trials failed by the recovery machinery.
inline constexpr const char* kStaleHeartbeatReason = "heartbeat stale";
inline constexpr const char* kInterruptedReason = "interrupted";
// Which process runs a trial: {"host": ..., "pid": ...}. Set by the worker when it starts the trial, so that a
// supervisor can fail the trials of a worker that died.
inline constexpr std::string_view kWorkerAttr = "dial:worker";

// Records the trial's heartbeat at once and then every `interval` from a background thread until destroyed.
// A failed write is retried at the next beat (a storage briefly unavailable must not end the trial); a
// FailedPrecondition (another worker already failed the trial as stale) ends the beating and sets abandoned().
class HeartbeatThread {
 public:
  HeartbeatThread(Storage& storage, TrialId trial_id, std::chrono::duration<double> interval);
  ~HeartbeatThread();
  HeartbeatThread(const HeartbeatThread&) = delete;
  HeartbeatThread& operator=(const HeartbeatThread&) = delete;

  bool abandoned() const;

 private:
  void Run();

  Storage& storage_;
  const TrialId trial_id_;
  const std::chrono::duration<double> interval_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;       // GUARDED_BY(mu_)
  bool abandoned_ = false;  // GUARDED_BY(mu_)
  std::thread thread_;
};

struct RetryPolicy {
  // How many times a trial's parameters are run again after it was failed by a stale heartbeat or the death of its
  // worker (0: never). Counted over the chain, as Optuna's max_retry.
  int64_t max_retries = 0;
};

// Fails the RUNNING trial `trial_id` with `reason` (FAIL, system attr dial:fail_reason) and, when `retry` says so,
// enqueues its retry. Returns false, changing nothing, when the trial is already finished (another worker was
// first).
Result<bool> FailAbandonedTrial(Storage& storage, StudyId study_id, TrialId trial_id, const std::string& reason,
                                const RetryPolicy& retry);

// Fails the study's RUNNING trials whose heartbeat is older than `grace_period` with reason "heartbeat stale",
// enqueuing retries per `retry`; so are the RUNNING trials that never recorded a heartbeat although they started
// more than `grace_period` ago (by this machine's clock), since every dial worker beats from the moment it starts a
// trial (unless `include_never_beat` is false: that look costs one more read of the RUNNING trials, which a busy
// worker need not make before every trial). Returns the numbers of the trials this call failed.
Result<std::vector<int64_t>> FailStaleTrials(Storage& storage, StudyId study_id,
                                             std::chrono::duration<double> grace_period, const RetryPolicy& retry,
                                             bool include_never_beat = true);

// Whether any of the study's RUNNING trials has recorded a heartbeat (so a live worker is expected to end it, or its
// heartbeat will go stale). A worker whose budget is spent stays while one does, so that if that trial's worker dies
// now the trial is still failed and retried rather than left RUNNING with nobody to notice.
Result<bool> AnyTrialBeating(Storage& storage, StudyId study_id);

// Enqueues `failed`'s parameters (with their distributions) and user attributes as a new WAITING trial whose system
// attrs carry failed_trial (the chain's first number) and retry_history (the chain so far), unless the chain has
// already been retried `retry.max_retries` times. Returns whether a trial was enqueued.
Result<bool> EnqueueRetry(Storage& storage, StudyId study_id, const FrozenTrial& failed, const RetryPolicy& retry);

// How many of `trials` are retries (carry failed_trial): each replaces the failed trial it retries in a study's
// trial budget.
int64_t CountRetries(const std::vector<FrozenTrial>& trials);

}  // namespace dial
