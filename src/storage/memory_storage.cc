// The in-memory backend: every study and trial in maps guarded by one mutex. Reads copy only the trials they
// return (a state filter is applied before copying), so asking for the WAITING trials of a large study is
// cheap.
#include "storage/memory_storage.h"

#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "storage/storage_internal.h"

namespace dial {
namespace {

namespace si = storage_internal;

constexpr std::string_view kMemoryUrl = "memory://";

class MemoryStorage final : public Storage {
 public:
  Result<StudyId> CreateNewStudy(const std::vector<StudyDirection>& directions,
                                 const std::string& study_name) override {
    DIAL_RETURN_IF_ERROR(si::CheckDirections(directions));
    std::string name = study_name.empty() ? si::NewDefaultStudyName() : study_name;
    std::lock_guard<std::mutex> lock(mu_);
    if (study_ids_by_name_.count(name)) return AlreadyExists("study '" + name + "' already exists");
    StudyId id = next_study_id_++;
    StudyRecord& study = studies_[id];
    study.name = name;
    study.directions = directions;
    study_ids_by_name_[name] = id;
    return id;
  }

  Status DeleteStudy(StudyId study_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    DIAL_ASSIGN_OR_RETURN(StudyRecord * study, FindStudy(study_id));
    for (TrialId t : study->trial_ids) trials_.erase(t);
    study_ids_by_name_.erase(study->name);
    studies_.erase(study_id);
    return Status::Ok();
  }

  Status SetStudyUserAttr(StudyId study_id, const std::string& key, const Json& value) override {
    std::lock_guard<std::mutex> lock(mu_);
    DIAL_ASSIGN_OR_RETURN(StudyRecord * study, FindStudy(study_id));
    study->user_attrs[key] = value;
    return Status::Ok();
  }

  Status SetStudySystemAttr(StudyId study_id, const std::string& key, const Json& value) override {
    std::lock_guard<std::mutex> lock(mu_);
    DIAL_ASSIGN_OR_RETURN(StudyRecord * study, FindStudy(study_id));
    study->system_attrs[key] = value;
    return Status::Ok();
  }

  Result<bool> SetStudySystemAttrIfAbsent(StudyId study_id, const std::string& key, const Json& value) override {
    std::lock_guard<std::mutex> lock(mu_);
    DIAL_ASSIGN_OR_RETURN(StudyRecord * study, FindStudy(study_id));
    return study->system_attrs.emplace(key, value).second;
  }

  Result<StudyId> GetStudyIdFromName(const std::string& study_name) override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = study_ids_by_name_.find(study_name);
    if (it == study_ids_by_name_.end()) return NotFound("no study named '" + study_name + "'");
    return it->second;
  }

  Result<std::string> GetStudyNameFromId(StudyId study_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    DIAL_ASSIGN_OR_RETURN(StudyRecord * study, FindStudy(study_id));
    return study->name;
  }

  Result<std::vector<StudyDirection>> GetStudyDirections(StudyId study_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    DIAL_ASSIGN_OR_RETURN(StudyRecord * study, FindStudy(study_id));
    return study->directions;
  }

  Result<AttrMap> GetStudyUserAttrs(StudyId study_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    DIAL_ASSIGN_OR_RETURN(StudyRecord * study, FindStudy(study_id));
    return study->user_attrs;
  }

  Result<AttrMap> GetStudySystemAttrs(StudyId study_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    DIAL_ASSIGN_OR_RETURN(StudyRecord * study, FindStudy(study_id));
    return study->system_attrs;
  }

  Result<std::vector<StudySummary>> GetAllStudies() override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<StudySummary> out;
    out.reserve(studies_.size());
    for (const auto& [id, study] : studies_) {
      StudySummary s;
      s.study_id = id;
      s.study_name = study.name;
      s.directions = study.directions;
      s.user_attrs = study.user_attrs;
      s.system_attrs = study.system_attrs;
      s.n_trials = static_cast<int64_t>(study.trial_ids.size());
      if (!study.trial_ids.empty()) s.datetime_start = trials_.at(study.trial_ids.front()).trial.datetime_start;
      out.push_back(std::move(s));
    }
    return out;
  }

  Result<TrialId> CreateNewTrial(StudyId study_id, const std::optional<FrozenTrial>& template_trial) override {
    std::lock_guard<std::mutex> lock(mu_);
    DIAL_ASSIGN_OR_RETURN(StudyRecord * study, FindStudy(study_id));
    TrialId id = next_trial_id_++;
    FrozenTrial trial;
    if (template_trial) {
      DIAL_RETURN_IF_ERROR(si::CheckObjectiveValues(id, template_trial->values).WithContext("template trial"));
      for (const auto& [name, internal] : template_trial->params) {
        auto dist = template_trial->distributions.find(name);
        if (dist == template_trial->distributions.end()) {
          return InvalidArgument("template trial: parameter '" + name + "' has no distribution");
        }
        DIAL_RETURN_IF_ERROR(si::CheckParam(name, internal, dist->second, PreviousDistribution(*study, name)));
      }
      trial = *template_trial;
    } else {
      trial.state = TrialState::kRunning;
      trial.datetime_start = std::chrono::system_clock::now();
    }
    trial.trial_id = id;
    trial.number = static_cast<int64_t>(study->trial_ids.size());
    for (const auto& [name, dist] : trial.distributions) study->param_distributions.emplace(name, dist);
    study->trial_ids.push_back(id);
    if (trial.state == TrialState::kWaiting) study->waiting_ids.insert(id);
    trials_.emplace(id, TrialRecord{study_id, std::move(trial), std::nullopt});
    return id;
  }

  Result<std::optional<TrialId>> CreateNewTrialIfFewerThan(StudyId study_id, int64_t max_trials) override {
    std::lock_guard<std::mutex> lock(mu_);
    DIAL_ASSIGN_OR_RETURN(StudyRecord * study, FindStudy(study_id));
    if (static_cast<int64_t>(study->trial_ids.size()) >= max_trials) return std::optional<TrialId>();
    TrialId id = next_trial_id_++;
    FrozenTrial trial;
    trial.state = TrialState::kRunning;
    trial.datetime_start = std::chrono::system_clock::now();
    trial.trial_id = id;
    trial.number = static_cast<int64_t>(study->trial_ids.size());
    study->trial_ids.push_back(id);
    trials_.emplace(id, TrialRecord{study_id, std::move(trial), std::nullopt});
    return std::optional<TrialId>(id);
  }

  Status SetTrialParam(TrialId trial_id, const std::string& name, double internal, const Distribution& dist) override {
    std::lock_guard<std::mutex> lock(mu_);
    DIAL_ASSIGN_OR_RETURN(TrialRecord * record, FindUpdatableTrial(trial_id));
    StudyRecord& study = studies_.at(record->study_id);
    DIAL_RETURN_IF_ERROR(si::CheckParam(name, internal, dist, PreviousDistribution(study, name)));
    study.param_distributions.try_emplace(name, dist);
    record->trial.params[name] = internal;
    record->trial.distributions.insert_or_assign(name, dist);
    return Status::Ok();
  }

  Result<bool> SetTrialStateValues(TrialId trial_id, TrialState state, const std::vector<double>& values) override {
    std::lock_guard<std::mutex> lock(mu_);
    DIAL_ASSIGN_OR_RETURN(TrialRecord * record, FindUpdatableTrial(trial_id));
    FrozenTrial& trial = record->trial;
    if (state == TrialState::kRunning && trial.state != TrialState::kWaiting) return false;
    DIAL_RETURN_IF_ERROR(si::CheckObjectiveValues(trial_id, values));
    auto& waiting = studies_.at(record->study_id).waiting_ids;
    if (state == TrialState::kWaiting)
      waiting.insert(trial_id);
    else
      waiting.erase(trial_id);
    trial.state = state;
    if (!values.empty()) trial.values = values;
    if (state == TrialState::kRunning) trial.datetime_start = std::chrono::system_clock::now();
    if (IsFinished(state)) trial.datetime_complete = std::chrono::system_clock::now();
    return true;
  }

  Status SetTrialIntermediateValue(TrialId trial_id, int64_t step, double value) override {
    std::lock_guard<std::mutex> lock(mu_);
    DIAL_ASSIGN_OR_RETURN(TrialRecord * record, FindUpdatableTrial(trial_id));
    record->trial.intermediate_values[step] = value;
    return Status::Ok();
  }

  Status SetTrialUserAttr(TrialId trial_id, const std::string& key, const Json& value) override {
    std::lock_guard<std::mutex> lock(mu_);
    DIAL_ASSIGN_OR_RETURN(TrialRecord * record, FindUpdatableTrial(trial_id));
    record->trial.user_attrs[key] = value;
    return Status::Ok();
  }

  Status SetTrialSystemAttr(TrialId trial_id, const std::string& key, const Json& value) override {
    std::lock_guard<std::mutex> lock(mu_);
    DIAL_ASSIGN_OR_RETURN(TrialRecord * record, FindUpdatableTrial(trial_id));
    record->trial.system_attrs[key] = value;
    return Status::Ok();
  }

  Result<FrozenTrial> GetTrial(TrialId trial_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    DIAL_ASSIGN_OR_RETURN(TrialRecord * record, FindTrial(trial_id));
    return record->trial;
  }

  Result<std::vector<FrozenTrial>> GetAllTrials(StudyId study_id,
                                                const std::optional<std::vector<TrialState>>& states) override {
    std::lock_guard<std::mutex> lock(mu_);
    DIAL_ASSIGN_OR_RETURN(StudyRecord * study, FindStudy(study_id));
    std::vector<FrozenTrial> out;
    if (states && states->size() == 1 && states->front() == TrialState::kWaiting) {
      for (TrialId id : study->waiting_ids) out.push_back(trials_.at(id).trial);
      return out;
    }
    out.reserve(states ? 0 : study->trial_ids.size());
    for (TrialId id : study->trial_ids) {
      const FrozenTrial& trial = trials_.at(id).trial;
      if (si::StateMatches(trial.state, states)) out.push_back(trial);
    }
    return out;
  }

  Result<int64_t> GetNTrials(StudyId study_id, const std::optional<std::vector<TrialState>>& states) override {
    std::lock_guard<std::mutex> lock(mu_);
    DIAL_ASSIGN_OR_RETURN(StudyRecord * study, FindStudy(study_id));
    if (!states) return static_cast<int64_t>(study->trial_ids.size());
    int64_t n = 0;
    for (TrialId id : study->trial_ids) n += si::StateMatches(trials_.at(id).trial.state, states) ? 1 : 0;
    return n;
  }

  // All of an update under one lock, checked before anything is written, so that a bad parameter leaves the
  // trial as it was (the default implementation would have applied the writes before it).
  Status UpdateTrial(TrialId trial_id, const TrialUpdate& update) override {
    std::lock_guard<std::mutex> lock(mu_);
    DIAL_ASSIGN_OR_RETURN(TrialRecord * record, FindUpdatableTrial(trial_id));
    StudyRecord& study = studies_.at(record->study_id);
    FrozenTrial& trial = record->trial;
    DIAL_RETURN_IF_ERROR(si::CheckTrialUpdate(trial_id, trial.state, update, [&](const std::string& name) {
      return Result<std::optional<Distribution>>(PreviousDistribution(study, name));
    }));
    for (const auto& [name, internal, dist] : update.params) {
      study.param_distributions.emplace(name, dist);
      trial.params[name] = internal;
      trial.distributions.insert_or_assign(name, dist);
    }
    for (const auto& [key, value] : update.user_attrs) trial.user_attrs[key] = value;
    for (const auto& [key, value] : update.system_attrs) trial.system_attrs[key] = value;
    if (update.state) {
      if (*update.state == TrialState::kWaiting)
        study.waiting_ids.insert(trial_id);
      else
        study.waiting_ids.erase(trial_id);
      trial.state = *update.state;
      if (!update.values.empty()) trial.values = update.values;
      if (trial.state == TrialState::kRunning) trial.datetime_start = std::chrono::system_clock::now();
      if (IsFinished(trial.state)) trial.datetime_complete = std::chrono::system_clock::now();
    }
    return Status::Ok();
  }

  Status RecordHeartbeat(TrialId trial_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    DIAL_ASSIGN_OR_RETURN(TrialRecord * record, FindUpdatableTrial(trial_id));
    record->heartbeat = std::chrono::system_clock::now();
    return Status::Ok();
  }

  Result<std::vector<TrialId>> GetStaleTrialIds(StudyId study_id, std::chrono::duration<double> grace_period) override {
    std::lock_guard<std::mutex> lock(mu_);
    DIAL_ASSIGN_OR_RETURN(StudyRecord * study, FindStudy(study_id));
    const auto now = std::chrono::system_clock::now();
    std::vector<TrialId> out;
    for (TrialId id : study->trial_ids) {
      const TrialRecord& record = trials_.at(id);
      if (record.trial.state == TrialState::kRunning && record.heartbeat.has_value() &&
          now - *record.heartbeat > grace_period) {
        out.push_back(id);
      }
    }
    return out;
  }

  std::string url() const override { return std::string(kMemoryUrl); }

 private:
  struct StudyRecord {
    std::string name;
    std::vector<StudyDirection> directions;
    AttrMap user_attrs;
    AttrMap system_attrs;
    std::vector<TrialId> trial_ids;  // index = trial number
    // The study's WAITING trials, in number order: every Ask looks for one, so it must not scan the study.
    std::set<TrialId> waiting_ids;
    // The first distribution stored for each parameter name: later ones must be compatible with it.
    std::map<std::string, Distribution> param_distributions;
  };
  struct TrialRecord {
    StudyId study_id;
    FrozenTrial trial;
    std::optional<Timestamp> heartbeat;  // the last RecordHeartbeat
  };

  Result<StudyRecord*> FindStudy(StudyId study_id) {
    auto it = studies_.find(study_id);
    if (it == studies_.end()) return NotFound("no study with id " + std::to_string(study_id));
    return &it->second;
  }
  Result<TrialRecord*> FindTrial(TrialId trial_id) {
    auto it = trials_.find(trial_id);
    if (it == trials_.end()) return NotFound("no trial with id " + std::to_string(trial_id));
    return &it->second;
  }
  Result<TrialRecord*> FindUpdatableTrial(TrialId trial_id) {
    DIAL_ASSIGN_OR_RETURN(TrialRecord * record, FindTrial(trial_id));
    if (IsFinished(record->trial.state)) {
      return si::FinishedTrialError(trial_id, record->trial.number, record->trial.state);
    }
    return record;
  }
  static std::optional<Distribution> PreviousDistribution(const StudyRecord& study, const std::string& name) {
    auto it = study.param_distributions.find(name);
    if (it == study.param_distributions.end()) return std::nullopt;
    return it->second;
  }

  std::mutex mu_;
  std::map<StudyId, StudyRecord> studies_;                      // GUARDED_BY(mu_)
  std::unordered_map<std::string, StudyId> study_ids_by_name_;  // GUARDED_BY(mu_)
  std::unordered_map<TrialId, TrialRecord> trials_;             // GUARDED_BY(mu_)
  StudyId next_study_id_ = 0;                                   // GUARDED_BY(mu_)
  TrialId next_trial_id_ = 0;                                   // GUARDED_BY(mu_)
};

}  // namespace

std::unique_ptr<Storage> NewMemoryStorage() { return std::make_unique<MemoryStorage>(); }

Status CheckMemoryStorageUrl(const std::string& url) {
  if (url != kMemoryUrl) {
    return InvalidArgument("storage URL '" + url + "': the memory backend takes no path; use memory://");
  }
  return Status::Ok();
}

}  // namespace dial
