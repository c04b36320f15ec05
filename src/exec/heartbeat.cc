// Heartbeats, stale-trial failing and the retry policy (see heartbeat.h).
#include "exec/heartbeat.h"

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

Result<std::vector<int64_t>> FailStaleTrials(Storage& storage, StudyId study_id,
                                             std::chrono::duration<double> grace_period, const RetryPolicy& retry) {
  DIAL_ASSIGN_OR_RETURN(std::vector<TrialId> stale, storage.GetStaleTrialIds(study_id, grace_period));
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
