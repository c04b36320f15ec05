// Storage: where studies and trials live. A small set of primitive operations with Optuna's semantics
// (optuna/storages/_base.py); conveniences are free functions built on them. Backends are chosen by URL:
//   memory://                       in-process, lost on exit
//   sqlite:///relative/path.db      a SQLite file in Optuna 3.1's table format (the default: sqlite:///dial.db)
//   sqlite:////absolute/path.db
// Every backend passes the conformance suite in src/storage/storage_conformance.h.
//
// Thread safety: every method of every backend is safe to call from several threads; SQLite is also safe
// from several processes on one file. Finished trials (COMPLETE, PRUNED, FAIL) are never modified.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dial/frozen_trial.h"
#include "dial/status.h"

namespace dial {

struct StudySummary {
  StudyId study_id = -1;
  std::string study_name;
  std::vector<StudyDirection> directions;
  AttrMap user_attrs;
  AttrMap system_attrs;
  int64_t n_trials = 0;
  std::optional<Timestamp> datetime_start;  // start of the first trial
};

class Storage {
 public:
  virtual ~Storage() = default;

  // ---- studies ----
  // AlreadyExists if `study_name` is taken. `directions` is non-empty.
  virtual Result<StudyId> CreateNewStudy(const std::vector<StudyDirection>& directions,
                                         const std::string& study_name) = 0;
  // Deletes the study and all its trials. NotFound if there is no such study.
  virtual Status DeleteStudy(StudyId study_id) = 0;
  virtual Status SetStudyUserAttr(StudyId study_id, const std::string& key, const Json& value) = 0;
  virtual Status SetStudySystemAttr(StudyId study_id, const std::string& key, const Json& value) = 0;
  // Compare-and-set: stores the attribute only if the study has none under `key`. Returns true when this
  // call stored it. Used to claim shared work once (a grid point, a promotion) across workers.
  virtual Result<bool> SetStudySystemAttrIfAbsent(StudyId study_id, const std::string& key, const Json& value) = 0;
  virtual Result<StudyId> GetStudyIdFromName(const std::string& study_name) = 0;
  virtual Result<std::string> GetStudyNameFromId(StudyId study_id) = 0;
  virtual Result<std::vector<StudyDirection>> GetStudyDirections(StudyId study_id) = 0;
  virtual Result<AttrMap> GetStudyUserAttrs(StudyId study_id) = 0;
  virtual Result<AttrMap> GetStudySystemAttrs(StudyId study_id) = 0;
  virtual Result<std::vector<StudySummary>> GetAllStudies() = 0;

  // ---- trials ----
  // Creates a trial numbered as the count of the study's earlier trials; two workers never get the same
  // number. Without a template the trial is RUNNING with datetime_start now. With one, its state, values,
  // params, intermediate values, attributes and datetimes are copied (WAITING for an enqueued trial).
  virtual Result<TrialId> CreateNewTrial(StudyId study_id,
                                         const std::optional<FrozenTrial>& template_trial = std::nullopt) = 0;
  // As CreateNewTrial(study_id) (a new RUNNING trial), but only while the study has fewer than `max_trials` trials
  // of any state, checked and created in one step so that workers sharing a budget never exceed it. nullopt,
  // creating nothing, when the study already has `max_trials` or more.
  virtual Result<std::optional<TrialId>> CreateNewTrialIfFewerThan(StudyId study_id, int64_t max_trials) = 0;
  // FailedPrecondition if the trial is finished; InvalidArgument if the study already uses `name` with an
  // incompatible distribution (see CheckCompatible) or `internal` is outside `dist`.
  virtual Status SetTrialParam(TrialId trial_id, const std::string& name, double internal,
                               const Distribution& dist) = 0;
  // Sets the state, and the values when given. Returns false, changing nothing, when asked to move a trial
  // to RUNNING that is not WAITING (another worker took it). Sets datetime_start on RUNNING and
  // datetime_complete on a finished state. FailedPrecondition if the trial is already finished.
  virtual Result<bool> SetTrialStateValues(TrialId trial_id, TrialState state,
                                           const std::vector<double>& values = {}) = 0;
  // FailedPrecondition if the trial is finished. A step reported twice keeps the latest value.
  virtual Status SetTrialIntermediateValue(TrialId trial_id, int64_t step, double value) = 0;
  virtual Status SetTrialUserAttr(TrialId trial_id, const std::string& key, const Json& value) = 0;
  virtual Status SetTrialSystemAttr(TrialId trial_id, const std::string& key, const Json& value) = 0;
  virtual Result<FrozenTrial> GetTrial(TrialId trial_id) = 0;
  // The study's trials ordered by number, optionally only those in `states`.
  virtual Result<std::vector<FrozenTrial>> GetAllTrials(
      StudyId study_id, const std::optional<std::vector<TrialState>>& states = std::nullopt) = 0;
  virtual Result<int64_t> GetNTrials(StudyId study_id,
                                     const std::optional<std::vector<TrialState>>& states = std::nullopt) = 0;

  // Several writes to one running trial at once (params of a sampled trial, or a trial's final state with its
  // attributes), in one transaction where the backend has them. Defaults to one call each.
  struct TrialUpdate {
    std::vector<std::tuple<std::string, double, Distribution>> params;
    std::vector<std::pair<std::string, Json>> user_attrs;
    std::vector<std::pair<std::string, Json>> system_attrs;
    std::optional<TrialState> state;  // applied last
    std::vector<double> values;
  };
  virtual Status UpdateTrial(TrialId trial_id, const TrialUpdate& update);

  // ---- heartbeats (Optuna's trial_heartbeats table) ----
  // Records that the process running the trial is alive now, by the storage's clock (the database server's for
  // PostgreSQL, this machine's UTC clock for SQLite and memory), replacing the trial's previous heartbeat.
  // NotFound for an unknown trial; FailedPrecondition once the trial is finished.
  virtual Status RecordHeartbeat(TrialId trial_id) = 0;
  // The ids of the study's RUNNING trials whose last heartbeat is more than `grace_period` old by the same
  // clock, in number order. A trial that never recorded a heartbeat is never stale. NotFound for no such study.
  virtual Result<std::vector<TrialId>> GetStaleTrialIds(StudyId study_id,
                                                        std::chrono::duration<double> grace_period) = 0;

  // The URL this storage was opened from (for logs and for child processes).
  virtual std::string url() const = 0;
};

// How OpenStorage opens a storage.
struct StorageOpenOptions {
  // For commands that only read (dial studies, trials, best, report, dashboard, ...). The storage is opened
  // without changing it in any way: no schema or index is created, no setting that persists is changed (a
  // SQLite file keeps its journal mode; it is opened with SQLITE_OPEN_READONLY, and a WAL-mode file on read-only
  // media is read as immutable), PostgreSQL sessions run with default_transaction_read_only. A storage that does
  // not exist or holds no Optuna/dial schema (an empty file, an empty database) is NotFound or
  // FailedPrecondition rather than created. Every write method of the storage returns FailedPrecondition.
  bool read_only = false;
};

// Opens a storage from its URL. InvalidArgument for an unknown scheme or a malformed URL; IoError (naming
// the path) when the file cannot be created or opened, for example in a missing or unwritable folder;
// FailedPrecondition for a database of a newer or unknown schema, which is never modified.
Result<std::shared_ptr<Storage>> OpenStorage(const std::string& url, const StorageOpenOptions& options = {});

// Backends register under their URL scheme ("sqlite", "memory"); OpenStorage dispatches on it. A factory given
// `read_only` must not write while opening; OpenStorage itself refuses every later write of a read-only storage.
using StorageFactory =
    std::function<Result<std::shared_ptr<Storage>>(const std::string& url, const StorageOpenOptions& options)>;
void RegisterStorage(const std::string& scheme, StorageFactory factory);

// ---- conveniences over the primitives ----
Result<FrozenTrial> GetTrialByNumber(Storage& storage, StudyId study_id, int64_t number);
// The COMPLETE trial with the best value (single objective). NotFound when there is none.
Result<FrozenTrial> GetBestTrial(Storage& storage, StudyId study_id);
// The COMPLETE trials not dominated by another (several objectives); feasible ones only when constraints are
// stored (all constraint values ≤ 0).
Result<std::vector<FrozenTrial>> GetBestTrials(Storage& storage, StudyId study_id);

}  // namespace dial
