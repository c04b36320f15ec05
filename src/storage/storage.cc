// The storage registry (OpenStorage dispatches on the URL scheme), Storage::UpdateTrial's default, the
// conveniences built on the primitives, and the helpers that every backend shares (storage_internal.h).
#include "dial/storage.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>

#include "dial/study.h"
#include "storage/memory_storage.h"
#include "storage/postgres/postgres_storage.h"
#include "storage/sqlite/sqlite_storage.h"
#include "storage/storage_internal.h"

namespace dial {
namespace {

constexpr std::string_view kSchemeSeparator = "://";

struct Registry {
  std::mutex mu;
  std::map<std::string, StorageFactory> factories;  // GUARDED_BY(mu)
};

Registry& GetRegistry() {
  static Registry* registry = new Registry;  // never destroyed: storages may be opened during exit
  return *registry;
}

// Built-in backends are registered here, explicitly, rather than by static initialisers in their own files:
// a linker drops an object file of a static library that nothing references, and its initialiser with it.
void RegisterBuiltinStorages() {
  static std::once_flag once;
  std::call_once(once, [] {
    Registry& registry = GetRegistry();
    std::lock_guard<std::mutex> lock(registry.mu);
    // emplace: a backend the user registered under the same scheme first keeps precedence.
    // A read-only memory storage is an empty one that refuses writes (OpenStorage wraps it): nothing to open.
    registry.factories.emplace(
        "memory", [](const std::string& url, const StorageOpenOptions&) -> Result<std::shared_ptr<Storage>> {
          DIAL_RETURN_IF_ERROR(CheckMemoryStorageUrl(url));
          return std::shared_ptr<Storage>(NewMemoryStorage());
        });
    registry.factories.emplace(
        "sqlite", [](const std::string& url, const StorageOpenOptions& open) -> Result<std::shared_ptr<Storage>> {
          DIAL_ASSIGN_OR_RETURN(SqliteStorageOptions options, ParseSqliteUrl(url));
          options.read_only = open.read_only;
          DIAL_ASSIGN_OR_RETURN(std::unique_ptr<Storage> storage, NewSqliteStorage(options));
          return std::shared_ptr<Storage>(std::move(storage));
        });
    for (const char* scheme : {"postgresql", "postgres", "postgresql+psycopg2"}) {
      registry.factories.emplace(
          scheme, [](const std::string& url, const StorageOpenOptions& open) -> Result<std::shared_ptr<Storage>> {
            DIAL_ASSIGN_OR_RETURN(PostgresStorageOptions options, ParsePostgresUrl(url));
            options.read_only = open.read_only;
            DIAL_ASSIGN_OR_RETURN(std::unique_ptr<Storage> storage, NewPostgresStorage(options));
            return std::shared_ptr<Storage>(std::move(storage));
          });
    }
  });
}

// What OpenStorage returns for StorageOpenOptions::read_only: the backend's reads, and a FailedPrecondition for
// every write, so that a reading command cannot change the study whatever the backend does with writes.
class ReadOnlyStorage final : public Storage {
 public:
  explicit ReadOnlyStorage(std::shared_ptr<Storage> base) : base_(std::move(base)) {}

  Result<StudyId> CreateNewStudy(const std::vector<StudyDirection>&, const std::string&) override { return Refuse(); }
  Status DeleteStudy(StudyId) override { return Refuse(); }
  Status SetStudyUserAttr(StudyId, const std::string&, const Json&) override { return Refuse(); }
  Status SetStudySystemAttr(StudyId, const std::string&, const Json&) override { return Refuse(); }
  Result<bool> SetStudySystemAttrIfAbsent(StudyId, const std::string&, const Json&) override { return Refuse(); }
  Result<StudyId> GetStudyIdFromName(const std::string& study_name) override {
    return base_->GetStudyIdFromName(study_name);
  }
  Result<std::string> GetStudyNameFromId(StudyId study_id) override { return base_->GetStudyNameFromId(study_id); }
  Result<std::vector<StudyDirection>> GetStudyDirections(StudyId study_id) override {
    return base_->GetStudyDirections(study_id);
  }
  Result<AttrMap> GetStudyUserAttrs(StudyId study_id) override { return base_->GetStudyUserAttrs(study_id); }
  Result<AttrMap> GetStudySystemAttrs(StudyId study_id) override { return base_->GetStudySystemAttrs(study_id); }
  Result<std::vector<StudySummary>> GetAllStudies() override { return base_->GetAllStudies(); }

  Result<TrialId> CreateNewTrial(StudyId, const std::optional<FrozenTrial>&) override { return Refuse(); }
  Result<std::optional<TrialId>> CreateNewTrialIfFewerThan(StudyId, int64_t) override { return Refuse(); }
  Status SetTrialParam(TrialId, const std::string&, double, const Distribution&) override { return Refuse(); }
  Result<bool> SetTrialStateValues(TrialId, TrialState, const std::vector<double>&) override { return Refuse(); }
  Status SetTrialIntermediateValue(TrialId, int64_t, double) override { return Refuse(); }
  Status SetTrialUserAttr(TrialId, const std::string&, const Json&) override { return Refuse(); }
  Status SetTrialSystemAttr(TrialId, const std::string&, const Json&) override { return Refuse(); }
  Result<FrozenTrial> GetTrial(TrialId trial_id) override { return base_->GetTrial(trial_id); }
  Result<std::vector<FrozenTrial>> GetAllTrials(StudyId study_id,
                                                const std::optional<std::vector<TrialState>>& states) override {
    return base_->GetAllTrials(study_id, states);
  }
  Result<int64_t> GetNTrials(StudyId study_id, const std::optional<std::vector<TrialState>>& states) override {
    return base_->GetNTrials(study_id, states);
  }
  Status UpdateTrial(TrialId, const TrialUpdate&) override { return Refuse(); }
  Status RecordHeartbeat(TrialId) override { return Refuse(); }
  Result<std::vector<TrialId>> GetStaleTrialIds(StudyId study_id, std::chrono::duration<double> grace) override {
    return base_->GetStaleTrialIds(study_id, grace);
  }
  std::string url() const override { return base_->url(); }

 private:
  Status Refuse() const {
    return FailedPrecondition("storage " + base_->url() + " is open read-only; it cannot be changed");
  }

  const std::shared_ptr<Storage> base_;
};

}  // namespace

void RegisterStorage(const std::string& scheme, StorageFactory factory) {
  RegisterBuiltinStorages();
  Registry& registry = GetRegistry();
  std::lock_guard<std::mutex> lock(registry.mu);
  registry.factories[scheme] = std::move(factory);
}

Result<std::shared_ptr<Storage>> OpenStorage(const std::string& url, const StorageOpenOptions& options) {
  RegisterBuiltinStorages();
  size_t sep = url.find(kSchemeSeparator);
  if (sep == std::string::npos || sep == 0) {
    return InvalidArgument("storage URL '" + url +
                           "' has no scheme; expected for example sqlite:///dial.db or memory://");
  }
  std::string scheme = url.substr(0, sep);
  StorageFactory factory;
  std::string known;
  {
    Registry& registry = GetRegistry();
    std::lock_guard<std::mutex> lock(registry.mu);
    auto it = registry.factories.find(scheme);
    if (it != registry.factories.end()) {
      factory = it->second;
    } else {
      for (const auto& [name, unused] : registry.factories) {
        if (!known.empty()) known += ", ";
        known += name;
      }
    }
  }
  if (!factory) {
    return InvalidArgument("unknown storage scheme '" + scheme + "' in URL '" + url + "'; known schemes: " + known);
  }
  DIAL_ASSIGN_OR_RETURN(std::shared_ptr<Storage> storage, factory(url, options));
  if (!options.read_only) return storage;
  return std::shared_ptr<Storage>(std::make_shared<ReadOnlyStorage>(std::move(storage)));
}

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

namespace storage_internal {

std::string NewDefaultStudyName() {
  // A version-4 UUID (RFC 4122): 122 random bits, the version nibble 4 and the variant bits 10.
  static std::mutex mu;
  static std::mt19937_64 rng{std::random_device{}()};
  uint64_t hi, lo;
  {
    std::lock_guard<std::mutex> lock(mu);
    hi = rng();
    lo = rng();
  }
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "no-name-%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(hi >> 32),
                static_cast<unsigned>((hi >> 16) & 0xffff), static_cast<unsigned>(hi & 0xffff),
                static_cast<unsigned>(lo >> 48), static_cast<unsigned long long>(lo & 0xffffffffffffULL));
  return buf;
}

Status CheckDirections(const std::vector<StudyDirection>& directions) {
  if (directions.empty()) return InvalidArgument("a study needs at least one direction");
  return Status::Ok();
}

Status CheckObjectiveValues(TrialId trial_id, const std::vector<double>& values) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (std::isnan(values[i])) {
      return InvalidArgument("trial " + std::to_string(trial_id) + ": objective value " + std::to_string(i) +
                             " is NaN, which cannot be stored");
    }
  }
  return Status::Ok();
}

Status FinishedTrialError(TrialId trial_id, int64_t number, TrialState state) {
  return FailedPrecondition("trial " + std::to_string(number) + " (id " + std::to_string(trial_id) + ") is " +
                            std::string(TrialStateName(state)) + " and can no longer be modified");
}

Status CheckParam(const std::string& name, double internal, const Distribution& dist,
                  const std::optional<Distribution>& previous) {
  if (Status s = Validate(dist); !s.ok()) return s.WithContext("parameter '" + name + "'");
  if (previous) {
    if (Status s = CheckCompatible(*previous, dist); !s.ok()) {
      return InvalidArgument("parameter '" + name + "': " + DistributionToString(dist) +
                             " is incompatible with the study's earlier " + DistributionToString(*previous) + " (" +
                             s.message() + ")");
    }
  }
  if (!Contains(dist, internal)) {
    char value[32];
    std::snprintf(value, sizeof(value), "%.17g", internal);
    return InvalidArgument("parameter '" + name + "': internal value " + value + " is outside " +
                           DistributionToString(dist));
  }
  return Status::Ok();
}

Status CheckTrialUpdate(TrialId trial_id, TrialState current, const Storage::TrialUpdate& update,
                        const std::function<Result<std::optional<Distribution>>(const std::string&)>& previous) {
  if (!update.values.empty() && !update.state) {
    return InvalidArgument("trial " + std::to_string(trial_id) + ": values given without a state");
  }
  std::map<std::string, Distribution> batch;  // a name repeated within the update is checked against itself
  for (const auto& [name, internal, dist] : update.params) {
    DIAL_ASSIGN_OR_RETURN(std::optional<Distribution> earlier, previous(name));
    if (!earlier) {
      if (auto it = batch.find(name); it != batch.end()) earlier = it->second;
    }
    DIAL_RETURN_IF_ERROR(CheckParam(name, internal, dist, earlier));
    batch.emplace(name, dist);
  }
  if (update.state) {
    if (*update.state == TrialState::kRunning && current != TrialState::kWaiting) {
      return FailedPrecondition("trial " + std::to_string(trial_id) +
                                " cannot move to RUNNING: it is no longer WAITING (another worker took it)");
    }
    DIAL_RETURN_IF_ERROR(CheckObjectiveValues(trial_id, update.values));
  }
  return Status::Ok();
}

namespace {
constexpr const char* kOptunaTables[] = {"studies",
                                         "version_info",
                                         "study_directions",
                                         "study_user_attributes",
                                         "study_system_attributes",
                                         "trials",
                                         "trial_user_attributes",
                                         "trial_system_attributes",
                                         "trial_params",
                                         "trial_values",
                                         "trial_intermediate_values",
                                         "trial_heartbeats",
                                         "alembic_version"};
}  // namespace

Status CheckVersionTablesExist(const FoundSchema& found, const std::string& what) {
  if (found.tables.count("version_info") && found.tables.count("alembic_version")) return Status::Ok();
  return FailedPrecondition(what +
                            " has tables but no Optuna version stamp (version_info, alembic_version); it is not an "
                            "Optuna/dial storage and is left untouched");
}

Result<SchemaState> ClassifyStampedSchema(const FoundSchema& found, const std::string& what,
                                          const std::string& instead) {
  if (found.schema_version != std::to_string(kSchemaVersion) || found.revision != kAlembicRevision ||
      found.n_revisions != 1) {
    return FailedPrecondition(what + " has schema version " + found.schema_version + " and alembic revision '" +
                              found.revision + "', probably from a newer Optuna; dial knows schema version " +
                              std::to_string(kSchemaVersion) + " with alembic revision '" + kAlembicRevision +
                              "' (Optuna 3.0-3.1). The database is left untouched; " + instead);
  }
  for (const char* table : kOptunaTables) {
    if (!found.tables.count(table)) {
      return FailedPrecondition(what + " is stamped with Optuna's schema but lacks table '" + table +
                                "'; it is left untouched");
    }
  }
  return found.indexes.count(kTrialsStudyIndexName) ? SchemaState::kKnown : SchemaState::kKnownWithoutIndex;
}

}  // namespace storage_internal
}  // namespace dial
