// Helpers shared by the storage backends (not public API): argument checks and Optuna's encodings that every
// backend applies the same way, so that the conformance suite sees one behaviour.
#pragma once

#include <cmath>
#include <functional>
#include <optional>
#include <set>
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

// ---- Optuna 3.1's relational schema (shared/docs/optuna-storage-format.md), as both SQL backends check it ----
inline constexpr int kSchemaVersion = 12;                    // version_info.schema_version
inline constexpr const char* kAlembicRevision = "v3.0.0.d";  // alembic_version.version_num
inline constexpr const char* kLibraryVersion = "3.1.0";      // version_info.library_version
// dial's index on trials(study_id): Optuna 3.1 scans `trials` for a study's trials, which at scale needs an index.
// Later Optuna revisions add one named trials_study_id_key, so ours has another name and an upgrade by Optuna
// does not collide with it.
inline constexpr const char* kTrialsStudyIndexName = "ix_trials_study_id";

enum class SchemaState {
  kEmpty,              // no tables: dial creates Optuna's schema
  kKnown,              // Optuna 3.1's schema with dial's index on trials(study_id)
  kKnownWithoutIndex,  // Optuna 3.1's schema as Optuna created it: dial adds the index (Optuna ignores it)
};

// What a backend read of an existing database: its tables and indexes, then (when the version tables exist)
// the version stamps.
struct FoundSchema {
  std::set<std::string, std::less<>> tables;
  std::set<std::string, std::less<>> indexes;
  std::string schema_version = "(none)";  // "NULL" for a NULL stamp
  std::string revision = "(none)";
  int n_revisions = 0;
};

// FailedPrecondition naming the database (`what`, e.g. "sqlite database 'a.db'") when it has tables but not
// both version tables: not an Optuna/dial storage.
Status CheckVersionTablesExist(const FoundSchema& found, const std::string& what);
// The state of a database whose version tables exist: FailedPrecondition naming it when its stamps are not
// Optuna 3.1's (`instead` says what to use: "use another file") or a table of the schema is missing.
Result<SchemaState> ClassifyStampedSchema(const FoundSchema& found, const std::string& what,
                                          const std::string& instead);

}  // namespace dial::storage_internal
