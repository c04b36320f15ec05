// What the Storage interface offers beyond its primitives (include/dial/storage.h), written once over them: the
// trial update of one transaction's worth, a trial by number, the best trial and the Pareto set. Part of dial_core,
// with the interface, so that Study uses them without depending on any backend.
#include "dial/storage.h"
#include "dial/study.h"

namespace dial {

Status Storage::UpdateTrial(TrialId trial_id, const TrialUpdate& update) {
  if (!update.values.empty() && !update.state) {
    return InvalidArgument("trial " + std::to_string(trial_id) + ": values given without a state");
  }
  for (const auto& [name, internal, dist] : update.params) {
    DIAL_RETURN_IF_ERROR(SetTrialParam(trial_id, name, internal, dist));
  }
  for (const auto& [key, value] : update.user_attrs) DIAL_RETURN_IF_ERROR(SetTrialUserAttr(trial_id, key, value));
  for (const auto& [key, value] : update.system_attrs) {
    DIAL_RETURN_IF_ERROR(SetTrialSystemAttr(trial_id, key, value));
  }
  if (update.state) {
    DIAL_ASSIGN_OR_RETURN(bool changed, SetTrialStateValues(trial_id, *update.state, update.values));
    if (!changed) {
      return FailedPrecondition("trial " + std::to_string(trial_id) +
                                " cannot move to RUNNING: it is no longer WAITING (another worker took it)");
    }
  }
  return Status::Ok();
}

Result<FrozenTrial> GetTrialByNumber(Storage& storage, StudyId study_id, int64_t number) {
  DIAL_ASSIGN_OR_RETURN(std::vector<FrozenTrial> trials, storage.GetAllTrials(study_id));
  // Trials come ordered by number, and numbers are gap-free from 0, so the trial usually sits at its index.
  if (number >= 0 && number < static_cast<int64_t>(trials.size()) && trials[number].number == number) {
    return std::move(trials[number]);
  }
  for (FrozenTrial& t : trials) {
    if (t.number == number) return std::move(t);
  }
  return NotFound("study " + std::to_string(study_id) + " has no trial number " + std::to_string(number));
}

Result<FrozenTrial> GetBestTrial(Storage& storage, StudyId study_id) {
  DIAL_ASSIGN_OR_RETURN(std::vector<StudyDirection> directions, storage.GetStudyDirections(study_id));
  if (directions.size() != 1) {
    return InvalidArgument("study " + std::to_string(study_id) + " has " + std::to_string(directions.size()) +
                           " objectives; the best trial is defined for one (use the best trials instead)");
  }
  DIAL_ASSIGN_OR_RETURN(std::vector<FrozenTrial> trials,
                        storage.GetAllTrials(study_id, std::vector<TrialState>{TrialState::kComplete}));
  const FrozenTrial* best = FindBestTrial(trials, directions[0]);
  if (best == nullptr) {
    return NotFound("study " + std::to_string(study_id) + " has no COMPLETE (feasible) trial yet");
  }
  return *best;
}

Result<std::vector<FrozenTrial>> GetBestTrials(Storage& storage, StudyId study_id) {
  DIAL_ASSIGN_OR_RETURN(std::vector<StudyDirection> directions, storage.GetStudyDirections(study_id));
  DIAL_ASSIGN_OR_RETURN(std::vector<FrozenTrial> trials,
                        storage.GetAllTrials(study_id, std::vector<TrialState>{TrialState::kComplete}));
  return ParetoFront(trials, directions);
}

}  // namespace dial
