// Helpers shared by the storage backends (not public API): argument checks and Optuna's encodings that every
// backend applies the same way, so that the conformance suite sees one behaviour.
#pragma once

#include <cmath>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dial/frozen_trial.h"
#include "dial/status.h"
#include "dial/storage.h"

namespace dial::storage_internal {

// Optuna's default study name, "no-name-<uuid4>", used when a study is created with an empty name.
std::string NewDefaultStudyName();

// InvalidArgument when `directions` is empty.
Status CheckDirections(const std::vector<StudyDirection>& directions);

// Objective values are finite or ±inf (Optuna's trial_values cannot hold NaN): InvalidArgument naming the
// trial and the objective otherwise.
Status CheckObjectiveValues(TrialId trial_id, const std::vector<double>& values);

// The FailedPrecondition every backend returns for a write to a finished trial.
Status FinishedTrialError(TrialId trial_id, int64_t number, TrialState state);

// Checks a parameter write against its distribution and the study's earlier distribution for the same name
// (`previous`, when the study has one): InvalidArgument naming the parameter.
Status CheckParam(const std::string& name, double internal, const Distribution& dist,
                  const std::optional<Distribution>& previous);

// Checks a whole Storage::TrialUpdate before anything of it is written, so that a bad update leaves the trial as
// it was: values only with a state, every parameter against its distribution and the study's earlier one
// (`previous(name)`, nullopt when the study has none) or an earlier one of the same update, a move to RUNNING
// only from WAITING (FailedPrecondition), well-formed objective values.
Status CheckTrialUpdate(TrialId trial_id, TrialState current, const Storage::TrialUpdate& update,
                        const std::function<Result<std::optional<Distribution>>(const std::string&)>& previous);

// True when `trial` is in one of `states` (or `states` is nullopt: no filter).
inline bool StateMatches(TrialState state, const std::optional<std::vector<TrialState>>& states) {
  if (!states) return true;
  for (TrialState s : *states) {
    if (s == state) return true;
  }
  return false;
}

}  // namespace dial::storage_internal
