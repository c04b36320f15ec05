// Heartbeats, stale-trial failing and the retry policy (see heartbeat.h).
#include "exec/heartbeat.h"

#include <algorithm>

namespace dial {
namespace {

// Attributes of a failed trial that describe that run only and must not follow its parameters into the retry.
bool IsRunSpecificAttr(const std::string& key) {
  return key == kFailReasonAttr || key == kStderrTailAttr || key == kWorkerAttr;
}

}  // namespace

HeartbeatThread::HeartbeatThread(Storage& storage, TrialId trial_id, std::chrono::duration<double> interval)
    : storage_(storage), trial_id_(trial_id), interval_(interval) {
  thread_ = std::thread([this] { Run(); });
}

HeartbeatThread::~HeartbeatThread() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

bool HeartbeatThread::abandoned() const {
  std::lock_guard<std::mutex> lock(mu_);
  return abandoned_;
}

void HeartbeatThread::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    lock.unlock();
    const Status beat = storage_.RecordHeartbeat(trial_id_);
    lock.lock();
    if (beat.code() == StatusCode::kFailedPrecondition || beat.code() == StatusCode::kNotFound) {
      abandoned_ = true;
      return;
    }
    cv_.wait_for(lock, interval_, [this] { return stop_; });
  }
}

Result<bool> FailAbandonedTrial(Storage& storage, StudyId study_id, TrialId trial_id, const std::string& reason,
                                const RetryPolicy& retry) {
  Storage::TrialUpdate update;
  update.system_attrs.emplace_back(std::string(kFailReasonAttr), reason);
  update.state = TrialState::kFail;
  Status failed = storage.UpdateTrial(trial_id, update);
  // Another worker failed (or its own worker finished) the trial first.
  if (failed.code() == StatusCode::kFailedPrecondition) return false;
  DIAL_RETURN_IF_ERROR(failed);
  if (retry.max_retries > 0) {
    DIAL_ASSIGN_OR_RETURN(FrozenTrial trial, storage.GetTrial(trial_id));
    DIAL_RETURN_IF_ERROR(EnqueueRetry(storage, study_id, trial, retry).status());
  }
  return true;
}

// The study's RUNNING trials that have not recorded a heartbeat although `grace_period` has passed since they
// started (datetime_start, by this machine's clock): their worker died, or lost its storage, before its first beat
// (a full disk), since a dial worker beats as soon as it starts a trial. The storage's own stale check leaves them
// alone (as Optuna's does); dial, whose every trial beats, treats them as stale.
Result<std::vector<TrialId>> TrialsThatNeverBeat(Storage& storage, StudyId study_id,
                                                 std::chrono::duration<double> grace_period) {
  DIAL_ASSIGN_OR_RETURN(std::vector<FrozenTrial> running,
                        storage.GetAllTrials(study_id, std::vector{TrialState::kRunning}));
  const Timestamp now = std::chrono::system_clock::now();
  std::vector<TrialId> old;
  for (const FrozenTrial& trial : running) {
    if (trial.datetime_start && now - *trial.datetime_start > grace_period) old.push_back(trial.trial_id);
  }
  if (old.empty()) return old;  // the common case: one read, no more
  // "Stale for longer than minus a day": every RUNNING trial that has a heartbeat, whatever the clocks' skew.
  DIAL_ASSIGN_OR_RETURN(std::vector<TrialId> beating, storage.GetStaleTrialIds(study_id, -std::chrono::hours(24)));
  std::vector<TrialId> never;
  for (TrialId id : old) {
    if (std::find(beating.begin(), beating.end(), id) == beating.end()) never.push_back(id);
  }
  return never;
}

Result<std::vector<int64_t>> FailStaleTrials(Storage& storage, StudyId study_id,
                                             std::chrono::duration<double> grace_period, const RetryPolicy& retry,
                                             bool include_never_beat) {
  DIAL_ASSIGN_OR_RETURN(std::vector<TrialId> stale, storage.GetStaleTrialIds(study_id, grace_period));
  if (include_never_beat) {
    DIAL_ASSIGN_OR_RETURN(std::vector<TrialId> never, TrialsThatNeverBeat(storage, study_id, grace_period));
    stale.insert(stale.end(), never.begin(), never.end());
  }
  std::vector<int64_t> failed_numbers;
  for (TrialId id : stale) {
    DIAL_ASSIGN_OR_RETURN(bool failed, FailAbandonedTrial(storage, study_id, id, kStaleHeartbeatReason, retry));
    if (!failed) continue;
    DIAL_ASSIGN_OR_RETURN(FrozenTrial trial, storage.GetTrial(id));
    failed_numbers.push_back(trial.number);
  }
  return failed_numbers;
}

Result<bool> AnyTrialBeating(Storage& storage, StudyId study_id) {
  // "Stale for longer than minus a day": every RUNNING trial with a heartbeat, whatever the clocks' skew.
  DIAL_ASSIGN_OR_RETURN(std::vector<TrialId> beating, storage.GetStaleTrialIds(study_id, -std::chrono::hours(24)));
  return !beating.empty();
}

Result<bool> EnqueueRetry(Storage& storage, StudyId study_id, const FrozenTrial& failed, const RetryPolicy& retry) {
  // Optuna's RetryFailedTrialCallback: failed_trial keeps the chain's first number; retry_history lists the chain.
  Json history = Json::array();
  if (auto it = failed.system_attrs.find(std::string(kRetryHistoryAttr));
      it != failed.system_attrs.end() && it->second.is_array()) {
    history = it->second;
  }
  history.push_back(failed.number);
  if (static_cast<int64_t>(history.size()) > retry.max_retries) return false;
  FrozenTrial waiting;
  waiting.state = TrialState::kWaiting;
  waiting.params = failed.params;
  waiting.distributions = failed.distributions;
  waiting.user_attrs = failed.user_attrs;
  for (const auto& [key, value] : failed.system_attrs) {
    if (!IsRunSpecificAttr(key)) waiting.system_attrs[key] = value;
  }
  if (!waiting.system_attrs.count(std::string(kFailedTrialAttr))) {
    waiting.system_attrs[std::string(kFailedTrialAttr)] = failed.number;
  }
  waiting.system_attrs[std::string(kRetryHistoryAttr)] = history;
  DIAL_RETURN_IF_ERROR(storage.CreateNewTrial(study_id, waiting).status());
  return true;
}

int64_t CountRetries(const std::vector<FrozenTrial>& trials) {
  int64_t n = 0;
  for (const FrozenTrial& trial : trials) n += trial.system_attrs.count(std::string(kFailedTrialAttr)) > 0 ? 1 : 0;
  return n;
}

}  // namespace dial
