// The SQLite backend: each primitive of dial::Storage as one short transaction over Optuna 3.1's tables.
// Writes take the write lock up front (BEGIN IMMEDIATE) so that checks and writes are atomic across
// processes (trial numbering, WAITING → RUNNING, finished-trial checks); finished trials are immutable, so
// this process caches them once read.
#include "storage/sqlite/sqlite_storage.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "storage/sqlite/sqlite_db.h"
#include "storage/sqlite/sqlite_schema.h"
#include "storage/storage_internal.h"

namespace dial {
namespace {

namespace si = storage_internal;
using sqlite::Database;
using sqlite::Statement;

constexpr std::string_view kUrlPrefix = "sqlite:///";
// Above this many trials to read in one GetAllTrials, read the study's rows table by table instead of one
// trial at a time.
constexpr size_t kPerTrialLoadLimit = 8;

// ---- Optuna's encodings ----
constexpr const char* kFinite = "FINITE";
constexpr const char* kInfPos = "INF_POS";
constexpr const char* kInfNeg = "INF_NEG";
constexpr const char* kNan = "NAN";
constexpr double kSecondsPerDay = 86400.0;

// value_type / intermediate_value_type: the value column is NULL for everything but FINITE.
const char* ValueType(double v) {
  if (std::isnan(v)) return kNan;
  if (std::isinf(v)) return v > 0 ? kInfPos : kInfNeg;
  return kFinite;
}

double DecodeValue(const Statement& stmt, int value_column, int type_column) {
  std::string type = stmt.Text(type_column);
  if (type == kInfPos) return std::numeric_limits<double>::infinity();
  if (type == kInfNeg) return -std::numeric_limits<double>::infinity();
  if (type == kNan || stmt.IsNull(value_column)) return std::numeric_limits<double>::quiet_NaN();
  return stmt.Double(value_column);
}

void BindValue(Statement& stmt, int value_index, int type_index, double v) {
  const char* type = ValueType(v);
  if (type == kFinite) {
    stmt.Bind(value_index, v);
  } else {
    stmt.BindNull(value_index);
  }
  stmt.Bind(type_index, type);
}

// value_json as Optuna writes it is Python's json.dumps, which spells non-finite floats NaN, Infinity and
// -Infinity where JSON has none; those are read back as numbers, anything else unparsable as its raw text.
Json ParseAttrJson(const std::string& text) {
  Json parsed = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_discarded()) return parsed;
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (text == "Infinity") return std::numeric_limits<double>::infinity();
  if (text == "-Infinity") return -std::numeric_limits<double>::infinity();
  return text;
}

void BindOptionalTimestamp(Statement& stmt, int index, const std::optional<Timestamp>& t) {
  if (t) {
    stmt.Bind(index, FormatTimestamp(*t));
  } else {
    stmt.BindNull(index);
  }
}

std::string ParentFolder(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

void RemoveDatabaseFiles(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) ::unlink((path + suffix).c_str());
}

// What identifies one stored trial row: a cached finished trial is reused only while its row still reads the
// same (trial ids can be reused by SQLite after another process deletes a study, datetimes cannot repeat).
struct TrialKey {
  StudyId study_id = -1;
  int64_t number = -1;
  std::string state;
  std::string datetime_start;
  bool operator==(const TrialKey&) const = default;
};

struct CachedTrial {
  TrialKey key;
  FrozenTrial trial;
};

// A read-only connection to a WAL-mode file without its -wal and -shm (no writer had it open) makes SQLite create
// them, and never removes them. Closing one plain connection does, as the last connection of a writer would, where
// nobody else has the file open; it only reads, and its log is empty (checked), so the database file is not written.
void TidyWalSideFiles(const std::string& path) {
  struct stat st;
  if (::stat((path + "-wal").c_str(), &st) != 0 || st.st_size != 0) return;  // a writer's commits: leave them be
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) == SQLITE_OK) {
    sqlite3_exec(db, "PRAGMA query_only = 1; SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
  }
  sqlite3_close_v2(db);
}

class SqliteStorage final : public Storage {
 public:
  SqliteStorage(std::unique_ptr<Database> db, std::string url) : db_(std::move(db)), url_(std::move(url)) {}
  ~SqliteStorage() override {
    db_.reset();
    if (!tidy_wal_of_.empty()) TidyWalSideFiles(tidy_wal_of_);
  }

  // For a read-only storage that made SQLite create the -wal and -shm files of `path` (see TidyWalSideFiles).
  void TidyWalSideFilesOnClose(std::string path) { tidy_wal_of_ = std::move(path); }

  // ---- studies ----

  Result<StudyId> CreateNewStudy(const std::vector<StudyDirection>& directions,
                                 const std::string& study_name) override {
    DIAL_RETURN_IF_ERROR(si::CheckDirections(directions));
    std::string name = study_name.empty() ? si::NewDefaultStudyName() : study_name;
    std::lock_guard<std::mutex> lock(mu_);
    StudyId id = -1;
    DIAL_RETURN_IF_ERROR(db_->WriteTransaction([&]() -> Status {
      {
        DIAL_ASSIGN_OR_RETURN(Statement find, db_->Prepare("SELECT study_id FROM studies WHERE study_name = ?"));
        DIAL_ASSIGN_OR_RETURN(bool exists, find.Bind(1, name).Step());
        if (exists) return AlreadyExists("study '" + name + "' already exists in " + url_);
      }
      {
        DIAL_ASSIGN_OR_RETURN(Statement insert, db_->Prepare("INSERT INTO studies (study_name) VALUES (?)"));
        DIAL_RETURN_IF_ERROR(insert.Bind(1, name).Run());
      }
      id = db_->LastInsertRowId();
      DIAL_ASSIGN_OR_RETURN(
          Statement direction,
          db_->Prepare("INSERT INTO study_directions (direction, study_id, objective) VALUES (?, ?, ?)"));
      for (size_t i = 0; i < directions.size(); ++i) {
        DIAL_RETURN_IF_ERROR(
            direction.Bind(1, StudyDirectionName(directions[i])).Bind(2, id).Bind(3, static_cast<int64_t>(i)).Run());
        direction.Reset();
      }
      return Status::Ok();
    }));
    return id;
  }

  Status DeleteStudy(StudyId study_id) override {
    static constexpr const char* kDeletes[] = {
        "DELETE FROM trial_params WHERE trial_id IN (SELECT trial_id FROM trials WHERE study_id = ?)",
        "DELETE FROM trial_values WHERE trial_id IN (SELECT trial_id FROM trials WHERE study_id = ?)",
        "DELETE FROM trial_intermediate_values WHERE trial_id IN (SELECT trial_id FROM trials WHERE study_id = ?)",
        "DELETE FROM trial_user_attributes WHERE trial_id IN (SELECT trial_id FROM trials WHERE study_id = ?)",
        "DELETE FROM trial_system_attributes WHERE trial_id IN (SELECT trial_id FROM trials WHERE study_id = ?)",
        "DELETE FROM trial_heartbeats WHERE trial_id IN (SELECT trial_id FROM trials WHERE study_id = ?)",
        "DELETE FROM trials WHERE study_id = ?",
        "DELETE FROM study_user_attributes WHERE study_id = ?",
        "DELETE FROM study_system_attributes WHERE study_id = ?",
        "DELETE FROM study_directions WHERE study_id = ?",
        "DELETE FROM studies WHERE study_id = ?",
    };
    std::lock_guard<std::mutex> lock(mu_);
    DIAL_RETURN_IF_ERROR(db_->WriteTransaction([&]() -> Status {
      DIAL_RETURN_IF_ERROR(CheckStudyExists(study_id));
      for (const char* sql : kDeletes) {
        DIAL_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(sql));
        DIAL_RETURN_IF_ERROR(stmt.Bind(1, study_id).Run());
      }
      return Status::Ok();
    }));
    std::erase_if(finished_trials_, [&](const auto& entry) { return entry.second.key.study_id == study_id; });
    std::erase_if(param_distributions_, [&](const auto& entry) { return entry.first.first == study_id; });
    return Status::Ok();
  }

  Status SetStudyUserAttr(StudyId study_id, const std::string& key, const Json& value) override {
    return SetStudyAttr(
               "INSERT INTO study_user_attributes (study_id, \"key\", value_json) VALUES (?, ?, ?) "
               "ON CONFLICT (study_id, \"key\") DO UPDATE SET value_json = excluded.value_json",
               study_id, key, value)
        .status();
  }

  Status SetStudySystemAttr(StudyId study_id, const std::string& key, const Json& value) override {
    return SetStudyAttr(
               "INSERT INTO study_system_attributes (study_id, \"key\", value_json) VALUES (?, ?, ?) "
               "ON CONFLICT (study_id, \"key\") DO UPDATE SET value_json = excluded.value_json",
               study_id, key, value)
        .status();
  }

  Result<bool> SetStudySystemAttrIfAbsent(StudyId study_id, const std::string& key, const Json& value) override {
    return SetStudyAttr(
        "INSERT INTO study_system_attributes (study_id, \"key\", value_json) VALUES (?, ?, ?) "
        "ON CONFLICT (study_id, \"key\") DO NOTHING",
        study_id, key, value);
  }

  Result<StudyId> GetStudyIdFromName(const std::string& study_name) override {
    std::lock_guard<std::mutex> lock(mu_);
    StudyId id = -1;
    DIAL_RETURN_IF_ERROR(db_->ReadTransaction([&]() -> Status {
      DIAL_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("SELECT study_id FROM studies WHERE study_name = ?"));
      DIAL_ASSIGN_OR_RETURN(bool row, stmt.Bind(1, study_name).Step());
      if (!row) return NotFound("no study named '" + study_name + "' in " + url_);
      id = stmt.Int(0);
      return Status::Ok();
    }));
    return id;
  }

  Result<std::string> GetStudyNameFromId(StudyId study_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::string name;
    DIAL_RETURN_IF_ERROR(db_->ReadTransaction([&]() -> Status {
      DIAL_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("SELECT study_name FROM studies WHERE study_id = ?"));
      DIAL_ASSIGN_OR_RETURN(bool row, stmt.Bind(1, study_id).Step());
      if (!row) return StudyNotFound(study_id);
      name = stmt.Text(0);
      return Status::Ok();
    }));
    return name;
  }

  Result<std::vector<StudyDirection>> GetStudyDirections(StudyId study_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<StudyDirection> directions;
    DIAL_RETURN_IF_ERROR(db_->ReadTransaction([&]() -> Status {
      DIAL_ASSIGN_OR_RETURN(directions, ReadDirections(study_id));
      if (directions.empty()) return StudyNotFound(study_id);
      return Status::Ok();
    }));
    return directions;
  }

  Result<AttrMap> GetStudyUserAttrs(StudyId study_id) override {
    return GetStudyAttrs("SELECT \"key\", value_json FROM study_user_attributes WHERE study_id = ?", study_id);
  }

  Result<AttrMap> GetStudySystemAttrs(StudyId study_id) override {
    return GetStudyAttrs("SELECT \"key\", value_json FROM study_system_attributes WHERE study_id = ?", study_id);
  }

  Result<std::vector<StudySummary>> GetAllStudies() override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<StudySummary> out;
    DIAL_RETURN_IF_ERROR(db_->ReadTransaction([&]() -> Status {
      out.clear();
      {
        DIAL_ASSIGN_OR_RETURN(Statement stmt,
                              db_->Prepare("SELECT study_id, study_name FROM studies ORDER BY study_id"));
        while (true) {
          DIAL_ASSIGN_OR_RETURN(bool row, stmt.Step());
          if (!row) break;
          StudySummary s;
          s.study_id = stmt.Int(0);
          s.study_name = stmt.Text(1);
          out.push_back(std::move(s));
        }
      }
      for (StudySummary& s : out) {
        DIAL_ASSIGN_OR_RETURN(s.directions, ReadDirections(s.study_id));
        DIAL_ASSIGN_OR_RETURN(
            s.user_attrs,
            ReadAttrs("SELECT \"key\", value_json FROM study_user_attributes WHERE study_id = ?", s.study_id));
        DIAL_ASSIGN_OR_RETURN(
            s.system_attrs,
            ReadAttrs("SELECT \"key\", value_json FROM study_system_attributes WHERE study_id = ?", s.study_id));
        DIAL_ASSIGN_OR_RETURN(Statement stmt,
                              db_->Prepare("SELECT COUNT(*), MIN(datetime_start) FROM trials WHERE study_id = ?"));
        DIAL_ASSIGN_OR_RETURN(bool row, stmt.Bind(1, s.study_id).Step());
        if (row) {
          s.n_trials = stmt.Int(0);
          if (!stmt.IsNull(1)) s.datetime_start = ParseTimestamp(stmt.Text(1));
        }
      }
      return Status::Ok();
    }));
    return out;
  }

  // ---- trials ----

  Result<TrialId> CreateNewTrial(StudyId study_id, const std::optional<FrozenTrial>& template_trial) override {
    std::lock_guard<std::mutex> lock(mu_);
    TrialId id = -1;
    DIAL_RETURN_IF_ERROR(db_->WriteTransaction([&]() -> Status {
      DIAL_RETURN_IF_ERROR(CheckStudyExists(study_id));
      FrozenTrial fresh;
      if (!template_trial) {
        fresh.state = TrialState::kRunning;
        fresh.datetime_start = std::chrono::system_clock::now();
      }
      const FrozenTrial& t = template_trial ? *template_trial : fresh;
      DIAL_RETURN_IF_ERROR(si::CheckObjectiveValues(-1, t.values).WithContext("template trial"));
      for (const auto& [name, internal] : t.params) {
        auto dist = t.distributions.find(name);
        if (dist == t.distributions.end()) {
          return InvalidArgument("template trial: parameter '" + name + "' has no distribution");
        }
        DIAL_ASSIGN_OR_RETURN(std::optional<Distribution> previous, PreviousDistribution(study_id, name));
        DIAL_RETURN_IF_ERROR(si::CheckParam(name, internal, dist->second, previous));
      }
      {
        DIAL_ASSIGN_OR_RETURN(Statement insert,
                              db_->Prepare("INSERT INTO trials (number, study_id, state, datetime_start, "
                                           "datetime_complete) VALUES (NULL, ?, ?, ?, ?)"));
        insert.Bind(1, study_id).Bind(2, TrialStateName(t.state));
        BindOptionalTimestamp(insert, 3, t.datetime_start);
        BindOptionalTimestamp(insert, 4, t.datetime_complete);
        DIAL_RETURN_IF_ERROR(insert.Run());
      }
      id = db_->LastInsertRowId();
      // Numbered inside the same write transaction that inserted it: no other writer can insert in between,
      // so the count of earlier trials is this trial's number, unique and gap-free.
      {
        DIAL_ASSIGN_OR_RETURN(Statement number,
                              db_->Prepare("UPDATE trials SET number = (SELECT COUNT(*) FROM trials WHERE "
                                           "study_id = ?1 AND trial_id < ?2) WHERE trial_id = ?2"));
        DIAL_RETURN_IF_ERROR(number.Bind(1, study_id).Bind(2, id).Run());
      }
      for (const auto& [name, internal] : t.params) {
        DIAL_RETURN_IF_ERROR(WriteParam(id, name, internal, t.distributions.at(name)));
      }
      for (size_t i = 0; i < t.values.size(); ++i) DIAL_RETURN_IF_ERROR(WriteValue(id, i, t.values[i]));
      for (const auto& [step, value] : t.intermediate_values) {
        DIAL_RETURN_IF_ERROR(WriteIntermediateValue(id, step, value));
      }
      for (const auto& [key, value] : t.user_attrs) DIAL_RETURN_IF_ERROR(WriteTrialAttr(kUserAttr, id, key, value));
      for (const auto& [key, value] : t.system_attrs) {
        DIAL_RETURN_IF_ERROR(WriteTrialAttr(kSystemAttr, id, key, value));
      }
      return Status::Ok();
    }));
    return id;
  }

  Result<std::optional<TrialId>> CreateNewTrialIfFewerThan(StudyId study_id, int64_t max_trials) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::optional<TrialId> id;
    DIAL_RETURN_IF_ERROR(db_->WriteTransaction([&]() -> Status {
      id.reset();
      DIAL_RETURN_IF_ERROR(CheckStudyExists(study_id));
      // The write transaction holds the database's write lock: no other process can add a trial between the
      // count and the insert.
      int64_t n = 0;
      {
        DIAL_ASSIGN_OR_RETURN(Statement count, db_->Prepare("SELECT COUNT(*) FROM trials WHERE study_id = ?"));
        DIAL_ASSIGN_OR_RETURN(bool row, count.Bind(1, study_id).Step());
        if (row) n = count.Int(0);
      }
      if (n >= max_trials) return Status::Ok();
      {
        DIAL_ASSIGN_OR_RETURN(Statement insert, db_->Prepare("INSERT INTO trials (number, study_id, state, "
                                                             "datetime_start, datetime_complete) VALUES "
                                                             "(?, ?, ?, ?, NULL)"));
        insert.Bind(1, n).Bind(2, study_id).Bind(3, TrialStateName(TrialState::kRunning));
        BindOptionalTimestamp(insert, 4, std::chrono::system_clock::now());
        DIAL_RETURN_IF_ERROR(insert.Run());
      }
      id = db_->LastInsertRowId();
      return Status::Ok();
    }));
    return id;
  }

  Status SetTrialParam(TrialId trial_id, const std::string& name, double internal, const Distribution& dist) override {
    std::lock_guard<std::mutex> lock(mu_);
    return db_->WriteTransaction([&]() -> Status {
      DIAL_ASSIGN_OR_RETURN(TrialRow row, ReadUpdatableTrialRow(trial_id));
      DIAL_ASSIGN_OR_RETURN(std::optional<Distribution> previous, PreviousDistribution(row.study_id, name));
      DIAL_RETURN_IF_ERROR(si::CheckParam(name, internal, dist, previous));
      return WriteParam(trial_id, name, internal, dist);
    });
  }

  Result<bool> SetTrialStateValues(TrialId trial_id, TrialState state, const std::vector<double>& values) override {
    std::lock_guard<std::mutex> lock(mu_);
    bool changed = false;
    DIAL_RETURN_IF_ERROR(db_->WriteTransaction([&]() -> Status {
      DIAL_ASSIGN_OR_RETURN(TrialRow row, ReadUpdatableTrialRow(trial_id));
      changed = false;
      if (state == TrialState::kRunning && row.state != TrialState::kWaiting) return Status::Ok();
      DIAL_RETURN_IF_ERROR(si::CheckObjectiveValues(trial_id, values));
      DIAL_RETURN_IF_ERROR(WriteStateValues(trial_id, state, values));
      changed = true;
      return Status::Ok();
    }));
    return changed;
  }

  Status SetTrialIntermediateValue(TrialId trial_id, int64_t step, double value) override {
    std::lock_guard<std::mutex> lock(mu_);
    return db_->WriteTransaction([&]() -> Status {
      DIAL_RETURN_IF_ERROR(ReadUpdatableTrialRow(trial_id).status());
      return WriteIntermediateValue(trial_id, step, value);
    });
  }

  Status SetTrialUserAttr(TrialId trial_id, const std::string& key, const Json& value) override {
    return SetTrialAttr(kUserAttr, trial_id, key, value);
  }

  Status SetTrialSystemAttr(TrialId trial_id, const std::string& key, const Json& value) override {
    return SetTrialAttr(kSystemAttr, trial_id, key, value);
  }

  Status UpdateTrial(TrialId trial_id, const TrialUpdate& update) override {
    std::lock_guard<std::mutex> lock(mu_);
    return db_->WriteTransaction([&]() -> Status {
      DIAL_ASSIGN_OR_RETURN(TrialRow row, ReadUpdatableTrialRow(trial_id));
      // Check everything before the first write; a failed check also rolls the transaction back.
      DIAL_RETURN_IF_ERROR(si::CheckTrialUpdate(trial_id, row.state, update, [&](const std::string& name) {
        return PreviousDistribution(row.study_id, name);
      }));
      for (const auto& [name, internal, dist] : update.params) {
        DIAL_RETURN_IF_ERROR(WriteParam(trial_id, name, internal, dist));
      }
      for (const auto& [key, value] : update.user_attrs) {
        DIAL_RETURN_IF_ERROR(WriteTrialAttr(kUserAttr, trial_id, key, value));
      }
      for (const auto& [key, value] : update.system_attrs) {
        DIAL_RETURN_IF_ERROR(WriteTrialAttr(kSystemAttr, trial_id, key, value));
      }
      if (update.state) DIAL_RETURN_IF_ERROR(WriteStateValues(trial_id, *update.state, update.values));
      return Status::Ok();
    });
  }

  Result<FrozenTrial> GetTrial(TrialId trial_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    FrozenTrial out;
    DIAL_RETURN_IF_ERROR(db_->ReadTransaction([&]() -> Status {
      DIAL_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("SELECT study_id, number, state, datetime_start FROM trials "
                                                         "WHERE trial_id = ?"));
      DIAL_ASSIGN_OR_RETURN(bool row, stmt.Bind(1, trial_id).Step());
      if (!row) return TrialNotFound(trial_id);
      TrialKey key{stmt.Int(0), stmt.Int(1), stmt.Text(2), stmt.Text(3)};
      if (const FrozenTrial* cached = FindCached(trial_id, key)) {
        out = *cached;
        return Status::Ok();
      }
      std::unordered_map<TrialId, FrozenTrial> loaded;
      DIAL_RETURN_IF_ERROR(LoadTrials({{trial_id, key}}, key.study_id, &loaded));
      out = std::move(loaded.at(trial_id));
      return Status::Ok();
    }));
    return out;
  }

  Result<std::vector<FrozenTrial>> GetAllTrials(StudyId study_id,
                                                const std::optional<std::vector<TrialState>>& states) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<FrozenTrial> out;
    DIAL_RETURN_IF_ERROR(db_->ReadTransaction([&]() -> Status {
      out.clear();
      DIAL_RETURN_IF_ERROR(CheckStudyExists(study_id));
      std::vector<std::pair<TrialId, TrialKey>> rows;
      {
        DIAL_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(ListTrialsSql(states)));
        stmt.Bind(1, study_id);
        while (true) {
          DIAL_ASSIGN_OR_RETURN(bool row, stmt.Step());
          if (!row) break;
          std::string state_name = stmt.Text(2);
          std::optional<TrialState> state = ParseTrialState(state_name);
          if (!state) return CorruptState(stmt.Int(0), state_name);
          if (!si::StateMatches(*state, states)) continue;
          rows.emplace_back(stmt.Int(0), TrialKey{study_id, stmt.Int(1), std::move(state_name), stmt.Text(3)});
        }
      }
      std::vector<std::pair<TrialId, TrialKey>> missing;
      for (const auto& [id, key] : rows) {
        if (FindCached(id, key) == nullptr) missing.emplace_back(id, key);
      }
      std::unordered_map<TrialId, FrozenTrial> loaded;
      DIAL_RETURN_IF_ERROR(LoadTrials(missing, study_id, &loaded));
      out.reserve(rows.size());
      for (const auto& [id, key] : rows) {
        auto it = loaded.find(id);
        if (it != loaded.end()) {
          out.push_back(std::move(it->second));
        } else {
          out.push_back(*FindCached(id, key));
        }
      }
      return Status::Ok();
    }));
    return out;
  }

  Result<int64_t> GetNTrials(StudyId study_id, const std::optional<std::vector<TrialState>>& states) override {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t n = 0;
    DIAL_RETURN_IF_ERROR(db_->ReadTransaction([&]() -> Status {
      n = 0;
      DIAL_RETURN_IF_ERROR(CheckStudyExists(study_id));
      DIAL_ASSIGN_OR_RETURN(Statement stmt,
                            db_->Prepare("SELECT state, COUNT(*) FROM trials WHERE study_id = ? GROUP BY state"));
      stmt.Bind(1, study_id);
      while (true) {
        DIAL_ASSIGN_OR_RETURN(bool row, stmt.Step());
        if (!row) break;
        std::optional<TrialState> state = ParseTrialState(stmt.Text(0));
        if (!states || (state && si::StateMatches(*state, states))) n += stmt.Int(1);
      }
      return Status::Ok();
    }));
    return n;
  }

  // Heartbeats use this machine's UTC clock, as Optuna's CURRENT_TIMESTAMP does on SQLite, with sub-second digits
  // (strftime %f) so that short grace periods work; julianday() compares both forms.
  Status RecordHeartbeat(TrialId trial_id) override {
    std::lock_guard<std::mutex> lock(mu_);
    return db_->WriteTransaction([&]() -> Status {
      DIAL_RETURN_IF_ERROR(ReadUpdatableTrialRow(trial_id).status());
      DIAL_ASSIGN_OR_RETURN(Statement stmt,
                            db_->Prepare("INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES "
                                         "(?, strftime('%Y-%m-%d %H:%M:%f', 'now')) ON CONFLICT (trial_id) "
                                         "DO UPDATE SET heartbeat = excluded.heartbeat"));
      return stmt.Bind(1, trial_id).Run();
    });
  }

  Result<std::vector<TrialId>> GetStaleTrialIds(StudyId study_id, std::chrono::duration<double> grace_period) override {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<TrialId> out;
    DIAL_RETURN_IF_ERROR(db_->ReadTransaction([&]() -> Status {
      out.clear();
      DIAL_RETURN_IF_ERROR(CheckStudyExists(study_id));
      // julianday counts days: the grace period in seconds / 86400.
      DIAL_ASSIGN_OR_RETURN(Statement stmt,
                            db_->Prepare("SELECT t.trial_id FROM trials t JOIN trial_heartbeats h ON "
                                         "h.trial_id = t.trial_id WHERE t.study_id = ? AND t.state = 'RUNNING' AND "
                                         "julianday(h.heartbeat) < julianday('now') - ? ORDER BY t.number"));
      stmt.Bind(1, study_id).Bind(2, grace_period.count() / kSecondsPerDay);
      while (true) {
        DIAL_ASSIGN_OR_RETURN(bool row, stmt.Step());
        if (!row) break;
        out.push_back(stmt.Int(0));
      }
      return Status::Ok();
    }));
    return out;
  }

  std::string url() const override { return url_; }

 private:
  enum AttrKind { kUserAttr, kSystemAttr };

  struct TrialRow {
    StudyId study_id;
    int64_t number;
    TrialState state;
  };

  static Status StudyNotFound(StudyId id) { return NotFound("no study with id " + std::to_string(id)); }
  static Status TrialNotFound(TrialId id) { return NotFound("no trial with id " + std::to_string(id)); }
  Status CorruptState(TrialId id, const std::string& state) const {
    return IoError("sqlite database '" + db_->path() + "': trial " + std::to_string(id) + " has unknown state '" +
                   state + "'");
  }

  // The query listing a study's trials, filtered by state in SQL: Study::Ask lists the WAITING trials before
  // every trial, and the rows it skips then cost no conversion. State names come from the closed enum, so the
  // text is safe to splice; each distinct filter is prepared once.
  static std::string ListTrialsSql(const std::optional<std::vector<TrialState>>& states) {
    std::string sql = "SELECT trial_id, number, state, datetime_start FROM trials WHERE study_id = ?";
    if (states) {
      std::set<std::string_view> names;
      for (TrialState s : *states) names.insert(TrialStateName(s));
      sql += " AND state IN (";
      bool first = true;
      for (std::string_view name : names) {
        sql += first ? "'" : ", '";
        sql += name;
        sql += "'";
        first = false;
      }
      sql += ")";
    }
    return sql + " ORDER BY number";
  }

  // ---- helpers; all run with mu_ held, inside a transaction ----

  Status CheckStudyExists(StudyId study_id) {
    DIAL_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("SELECT 1 FROM studies WHERE study_id = ?"));
    DIAL_ASSIGN_OR_RETURN(bool row, stmt.Bind(1, study_id).Step());
    return row ? Status::Ok() : StudyNotFound(study_id);
  }

  Result<TrialRow> ReadUpdatableTrialRow(TrialId trial_id) {
    DIAL_ASSIGN_OR_RETURN(Statement stmt,
                          db_->Prepare("SELECT study_id, number, state FROM trials WHERE trial_id = ?"));
    DIAL_ASSIGN_OR_RETURN(bool row, stmt.Bind(1, trial_id).Step());
    if (!row) return TrialNotFound(trial_id);
    std::string state_name = stmt.Text(2);
    std::optional<TrialState> state = ParseTrialState(state_name);
    if (!state) return CorruptState(trial_id, state_name);
    TrialRow out{stmt.Int(0), stmt.Int(1), *state};
    if (IsFinished(out.state)) return si::FinishedTrialError(trial_id, out.number, out.state);
    return out;
  }

  Result<std::vector<StudyDirection>> ReadDirections(StudyId study_id) {
    DIAL_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare("SELECT direction FROM study_directions WHERE study_id = ? "
                                                       "ORDER BY objective"));
    stmt.Bind(1, study_id);
    std::vector<StudyDirection> out;
    while (true) {
      DIAL_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      std::string name = stmt.Text(0);
      std::optional<StudyDirection> d = ParseStudyDirection(name);
      if (!d) {
        return IoError("sqlite database '" + db_->path() + "': study " + std::to_string(study_id) +
                       " has unknown direction '" + name + "'");
      }
      out.push_back(*d);
    }
    return out;
  }

  Result<AttrMap> ReadAttrs(const char* sql, int64_t id) {
    DIAL_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(sql));
    stmt.Bind(1, id);
    AttrMap out;
    while (true) {
      DIAL_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      out[stmt.Text(0)] = ParseAttrJson(stmt.Text(1));
    }
    return out;
  }

  Result<AttrMap> GetStudyAttrs(const char* sql, StudyId study_id) {
    std::lock_guard<std::mutex> lock(mu_);
    AttrMap out;
    DIAL_RETURN_IF_ERROR(db_->ReadTransaction([&]() -> Status {
      DIAL_RETURN_IF_ERROR(CheckStudyExists(study_id));
      DIAL_ASSIGN_OR_RETURN(out, ReadAttrs(sql, study_id));
      return Status::Ok();
    }));
    return out;
  }

  // Returns whether the statement stored a row (false for ON CONFLICT DO NOTHING that found one).
  Result<bool> SetStudyAttr(const char* sql, StudyId study_id, const std::string& key, const Json& value) {
    std::lock_guard<std::mutex> lock(mu_);
    bool stored = false;
    std::string json = value.dump();
    DIAL_RETURN_IF_ERROR(db_->WriteTransaction([&]() -> Status {
      DIAL_RETURN_IF_ERROR(CheckStudyExists(study_id));
      DIAL_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(sql));
      DIAL_RETURN_IF_ERROR(stmt.Bind(1, study_id).Bind(2, key).Bind(3, json).Run());
      stored = db_->Changes() > 0;
      return Status::Ok();
    }));
    return stored;
  }

  Status SetTrialAttr(AttrKind kind, TrialId trial_id, const std::string& key, const Json& value) {
    std::lock_guard<std::mutex> lock(mu_);
    return db_->WriteTransaction([&]() -> Status {
      DIAL_RETURN_IF_ERROR(ReadUpdatableTrialRow(trial_id).status());
      return WriteTrialAttr(kind, trial_id, key, value);
    });
  }

  // The distribution the study already uses for `name`, if any. Cached per process: once a study has a
  // distribution for a name, every later one must be compatible with it, and parameters are never removed
  // short of deleting the study (which clears the cache here; see TrialKey for other processes).
  Result<std::optional<Distribution>> PreviousDistribution(StudyId study_id, const std::string& name) {
    auto key = std::make_pair(study_id, name);
    auto it = param_distributions_.find(key);
    if (it != param_distributions_.end()) return std::optional<Distribution>(it->second);
    DIAL_ASSIGN_OR_RETURN(Statement stmt,
                          db_->Prepare("SELECT p.distribution_json FROM trial_params p JOIN trials t ON "
                                       "p.trial_id = t.trial_id WHERE t.study_id = ? AND p.param_name = ? LIMIT 1"));
    DIAL_ASSIGN_OR_RETURN(bool row, stmt.Bind(1, study_id).Bind(2, name).Step());
    if (!row) return std::optional<Distribution>();
    DIAL_ASSIGN_OR_RETURN(Distribution dist, ParseDistribution(stmt.Text(0)));
    param_distributions_.emplace(key, dist);
    return std::optional<Distribution>(std::move(dist));
  }

  // Distributions repeat across trials: each JSON text is parsed once.
  Result<Distribution> ParseDistribution(const std::string& json) {
    auto it = parsed_distributions_.find(json);
    if (it != parsed_distributions_.end()) return it->second;
    Result<Distribution> dist = DistributionFromJson(json);
    if (!dist.ok()) {
      return IoError("sqlite database '" + db_->path() + "': unreadable distribution_json " + json + ": " +
                     dist.status().message());
    }
    parsed_distributions_.emplace(json, *dist);
    return dist;
  }

  Status WriteParam(TrialId trial_id, const std::string& name, double internal, const Distribution& dist) {
    DIAL_ASSIGN_OR_RETURN(Statement stmt,
                          db_->Prepare("INSERT INTO trial_params (trial_id, param_name, param_value, "
                                       "distribution_json) VALUES (?, ?, ?, ?) ON CONFLICT (trial_id, param_name) "
                                       "DO UPDATE SET param_value = excluded.param_value, "
                                       "distribution_json = excluded.distribution_json"));
    return stmt.Bind(1, trial_id).Bind(2, name).Bind(3, internal).Bind(4, DistributionToJson(dist)).Run();
  }

  Status WriteValue(TrialId trial_id, size_t objective, double value) {
    DIAL_ASSIGN_OR_RETURN(Statement stmt,
                          db_->Prepare("INSERT INTO trial_values (trial_id, objective, value, value_type) "
                                       "VALUES (?, ?, ?, ?) ON CONFLICT (trial_id, objective) DO UPDATE SET "
                                       "value = excluded.value, value_type = excluded.value_type"));
    stmt.Bind(1, trial_id).Bind(2, static_cast<int64_t>(objective));
    BindValue(stmt, 3, 4, value);
    return stmt.Run();
  }

  Status WriteIntermediateValue(TrialId trial_id, int64_t step, double value) {
    DIAL_ASSIGN_OR_RETURN(Statement stmt,
                          db_->Prepare("INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, "
                                       "intermediate_value_type) VALUES (?, ?, ?, ?) ON CONFLICT (trial_id, step) "
                                       "DO UPDATE SET intermediate_value = excluded.intermediate_value, "
                                       "intermediate_value_type = excluded.intermediate_value_type"));
    stmt.Bind(1, trial_id).Bind(2, step);
    BindValue(stmt, 3, 4, value);
    return stmt.Run();
  }

  Status WriteTrialAttr(AttrKind kind, TrialId trial_id, const std::string& key, const Json& value) {
    DIAL_ASSIGN_OR_RETURN(
        Statement stmt,
        db_->Prepare(kind == kUserAttr
                         ? "INSERT INTO trial_user_attributes (trial_id, \"key\", value_json) VALUES (?, ?, ?) "
                           "ON CONFLICT (trial_id, \"key\") DO UPDATE SET value_json = excluded.value_json"
                         : "INSERT INTO trial_system_attributes (trial_id, \"key\", value_json) VALUES (?, ?, ?) "
                           "ON CONFLICT (trial_id, \"key\") DO UPDATE SET value_json = excluded.value_json"));
    return stmt.Bind(1, trial_id).Bind(2, key).Bind(3, value.dump()).Run();
  }

  Status WriteStateValues(TrialId trial_id, TrialState state, const std::vector<double>& values) {
    const char* sql = "UPDATE trials SET state = ?2 WHERE trial_id = ?1";
    if (state == TrialState::kRunning) sql = "UPDATE trials SET state = ?2, datetime_start = ?3 WHERE trial_id = ?1";
    if (IsFinished(state)) sql = "UPDATE trials SET state = ?2, datetime_complete = ?3 WHERE trial_id = ?1";
    {
      DIAL_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(sql));
      stmt.Bind(1, trial_id).Bind(2, TrialStateName(state));
      if (state == TrialState::kRunning || IsFinished(state)) {
        stmt.Bind(3, FormatTimestamp(std::chrono::system_clock::now()));
      }
      DIAL_RETURN_IF_ERROR(stmt.Run());
    }
    for (size_t i = 0; i < values.size(); ++i) DIAL_RETURN_IF_ERROR(WriteValue(trial_id, i, values[i]));
    return Status::Ok();
  }

  const FrozenTrial* FindCached(TrialId trial_id, const TrialKey& key) const {
    auto it = finished_trials_.find(trial_id);
    if (it == finished_trials_.end() || !(it->second.key == key)) return nullptr;
    return &it->second.trial;
  }

  // Reads the trials `wanted` (id and row key) of `study_id` into `out`, and caches the finished ones. A few
  // trials are read one by one through trial_id lookups; many are read table by table for the whole study.
  Status LoadTrials(const std::vector<std::pair<TrialId, TrialKey>>& wanted, StudyId study_id,
                    std::unordered_map<TrialId, FrozenTrial>* out) {
    if (wanted.empty()) return Status::Ok();
    out->reserve(wanted.size());
    for (const auto& [id, key] : wanted) {
      FrozenTrial& t = (*out)[id];
      t.trial_id = id;
      t.number = key.number;
      std::optional<TrialState> state = ParseTrialState(key.state);
      if (!state) return CorruptState(id, key.state);
      t.state = *state;
      if (!key.datetime_start.empty()) t.datetime_start = ParseTimestamp(key.datetime_start);
    }
    const bool per_trial = wanted.size() <= kPerTrialLoadLimit;
    // Each query's first column is the trial id; `fill` reads the rest of a row into its trial.
    auto read = [&](const char* by_trial_sql, const char* by_study_sql,
                    const std::function<Status(FrozenTrial&, const Statement&)>& fill) -> Status {
      DIAL_ASSIGN_OR_RETURN(Statement stmt, db_->Prepare(per_trial ? by_trial_sql : by_study_sql));
      for (size_t i = 0; i < (per_trial ? wanted.size() : 1); ++i) {
        stmt.Bind(1, per_trial ? wanted[i].first : study_id);
        while (true) {
          DIAL_ASSIGN_OR_RETURN(bool row, stmt.Step());
          if (!row) break;
          auto it = out->find(stmt.Int(0));
          if (it != out->end()) DIAL_RETURN_IF_ERROR(fill(it->second, stmt));
        }
        stmt.Reset();
      }
      return Status::Ok();
    };
    DIAL_RETURN_IF_ERROR(read("SELECT trial_id, datetime_complete FROM trials WHERE trial_id = ?",
                              "SELECT trial_id, datetime_complete FROM trials WHERE study_id = ?",
                              [](FrozenTrial& t, const Statement& s) {
                                if (!s.IsNull(1)) t.datetime_complete = ParseTimestamp(s.Text(1));
                                return Status::Ok();
                              }));
    DIAL_RETURN_IF_ERROR(
        read("SELECT trial_id, param_name, param_value, distribution_json FROM trial_params WHERE trial_id = ?",
             "SELECT p.trial_id, p.param_name, p.param_value, p.distribution_json FROM trial_params p "
             "JOIN trials t ON p.trial_id = t.trial_id WHERE t.study_id = ?",
             [this](FrozenTrial& t, const Statement& s) -> Status {
               DIAL_ASSIGN_OR_RETURN(Distribution dist, ParseDistribution(s.Text(3)));
               std::string name = s.Text(1);
               t.params[name] = s.Double(2);
               t.distributions.insert_or_assign(std::move(name), std::move(dist));
               return Status::Ok();
             }));
    DIAL_RETURN_IF_ERROR(read("SELECT trial_id, objective, value, value_type FROM trial_values WHERE trial_id = ?",
                              "SELECT v.trial_id, v.objective, v.value, v.value_type FROM trial_values v "
                              "JOIN trials t ON v.trial_id = t.trial_id WHERE t.study_id = ?",
                              [](FrozenTrial& t, const Statement& s) {
                                int64_t objective = s.Int(1);
                                if (objective >= 0) {
                                  if (t.values.size() <= static_cast<size_t>(objective)) {
                                    t.values.resize(objective + 1, std::numeric_limits<double>::quiet_NaN());
                                  }
                                  t.values[objective] = DecodeValue(s, 2, 3);
                                }
                                return Status::Ok();
                              }));
    DIAL_RETURN_IF_ERROR(
        read("SELECT trial_id, step, intermediate_value, intermediate_value_type FROM trial_intermediate_values "
             "WHERE trial_id = ?",
             "SELECT v.trial_id, v.step, v.intermediate_value, v.intermediate_value_type FROM "
             "trial_intermediate_values v JOIN trials t ON v.trial_id = t.trial_id WHERE t.study_id = ?",
             [](FrozenTrial& t, const Statement& s) {
               t.intermediate_values[s.Int(1)] = DecodeValue(s, 2, 3);
               return Status::Ok();
             }));
    DIAL_RETURN_IF_ERROR(read("SELECT trial_id, \"key\", value_json FROM trial_user_attributes WHERE trial_id = ?",
                              "SELECT a.trial_id, a.\"key\", a.value_json FROM trial_user_attributes a "
                              "JOIN trials t ON a.trial_id = t.trial_id WHERE t.study_id = ?",
                              [](FrozenTrial& t, const Statement& s) {
                                t.user_attrs[s.Text(1)] = ParseAttrJson(s.Text(2));
                                return Status::Ok();
                              }));
    DIAL_RETURN_IF_ERROR(read("SELECT trial_id, \"key\", value_json FROM trial_system_attributes WHERE trial_id = ?",
                              "SELECT a.trial_id, a.\"key\", a.value_json FROM trial_system_attributes a "
                              "JOIN trials t ON a.trial_id = t.trial_id WHERE t.study_id = ?",
                              [](FrozenTrial& t, const Statement& s) {
                                t.system_attrs[s.Text(1)] = ParseAttrJson(s.Text(2));
                                return Status::Ok();
                              }));
    for (const auto& [id, key] : wanted) {
      const FrozenTrial& t = out->at(id);
      if (IsFinished(t.state)) finished_trials_[id] = CachedTrial{key, t};
    }
    return Status::Ok();
  }

  std::mutex mu_;
  std::unique_ptr<Database> db_;  // GUARDED_BY(mu_)
  const std::string url_;
  std::unordered_map<TrialId, CachedTrial> finished_trials_;                     // GUARDED_BY(mu_)
  std::map<std::pair<StudyId, std::string>, Distribution> param_distributions_;  // GUARDED_BY(mu_)
  std::unordered_map<std::string, Distribution> parsed_distributions_;           // GUARDED_BY(mu_)
  std::string tidy_wal_of_;
};

// Runs a statement that needs no transaction (a PRAGMA) until it stops being busy or the deadline passes.
Status ExecWithRetry(Database& db, const char* sql, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (true) {
    Status s = db.Exec(sql);
    if (s.code() != StatusCode::kUnavailable || std::chrono::steady_clock::now() >= until) return s;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

Result<std::unique_ptr<Storage>> OpenSqlite(const SqliteStorageOptions& options, bool* created_file) {
  const std::string& path = options.path;
  const std::string folder = ParentFolder(path);
  struct stat st;
  if (::stat(folder.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return IoError("cannot open sqlite database '" + path + "': folder '" + folder + "' does not exist");
  }
  const bool existed = ::stat(path.c_str(), &st) == 0;
  if (existed && S_ISDIR(st.st_mode)) {
    return IoError("cannot open sqlite database '" + path + "': it is a folder");
  }
  if (existed) {
    // Inspect read-only first: a database of another schema must come out of this byte-for-byte unchanged.
    DIAL_ASSIGN_OR_RETURN(std::unique_ptr<Database> ro, Database::Open(path, SQLITE_OPEN_READONLY));
    ro->SetBusyTimeout(options.busy_timeout);
    DIAL_RETURN_IF_ERROR(sqlite::InspectSchema(*ro).status());
  } else if (::access(folder.c_str(), W_OK) != 0) {
    return IoError("cannot create sqlite database '" + path + "': folder '" + folder +
                   "' is not writable: " + std::strerror(errno));
  }
  *created_file = !existed;
  DIAL_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE));
  db->set_retry_deadline(options.retry_deadline);
  db->SetBusyTimeout(options.busy_timeout);
  // WAL lets readers run beside the one writer and makes a commit one append to the log.
  DIAL_RETURN_IF_ERROR(ExecWithRetry(*db, "PRAGMA journal_mode = WAL", options.retry_deadline));
  DIAL_RETURN_IF_ERROR(
      db->Exec(options.synchronous_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL"));
  // Checked again under the write lock: another process may have created (or stamped) the file meanwhile.
  DIAL_RETURN_IF_ERROR(db->WriteTransaction([&]() -> Status {
    DIAL_ASSIGN_OR_RETURN(sqlite::SchemaState state, sqlite::InspectSchema(*db));
    if (state != sqlite::SchemaState::kKnown) return sqlite::CreateSchema(*db);
    return Status::Ok();
  }));
  return std::unique_ptr<Storage>(new SqliteStorage(std::move(db), options.url));
}

// True when the file's header says WAL mode (its read and write format versions, bytes 18 and 19, are 2).
bool IsWalModeFile(const std::string& path) {
  constexpr long kFormatVersionOffset = 18;
  constexpr int kWalFormatVersion = 2;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  unsigned char versions[2] = {0, 0};
  const bool read = std::fseek(f, kFormatVersionOffset, SEEK_SET) == 0 && std::fread(versions, 1, 2, f) == 2;
  std::fclose(f);
  return read && versions[0] == kWalFormatVersion && versions[1] == kWalFormatVersion;
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// `file:` URI of `path` with immutable=1 (SQLite's URI format, https://sqlite.org/uri.html): the path
// percent-encoded where it holds characters that a URI gives a meaning.
std::string ImmutableUri(const std::string& path) {
  std::string uri = "file:";
  for (unsigned char c : path) {
    if (std::isalnum(c) || std::strchr("/-._~", c) != nullptr) {
      uri += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      uri += hex;
    }
  }
  return uri + "?mode=ro&immutable=1";
}

// The read-only open (SqliteStorageOptions::read_only): SQLITE_OPEN_READONLY and no statement that writes, so
// the file, its journal mode included, stays byte-for-byte as it was.
Result<std::unique_ptr<Storage>> OpenSqliteReadOnly(const SqliteStorageOptions& options) {
  const std::string& path = options.path;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return NotFound("sqlite database '" + path + "' does not exist");
    return IoError("cannot open sqlite database '" + path + "': " + std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) return IoError("cannot open sqlite database '" + path + "': it is a folder");
  if (st.st_size == 0) {
    return FailedPrecondition("sqlite database '" + path + "' is an empty file: it holds no study");
  }
  const bool wal_side_files_absent = !FileExists(path + "-wal") && !FileExists(path + "-shm");
  DIAL_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(path, SQLITE_OPEN_READONLY));
  db->SetBusyTimeout(options.busy_timeout);
  Result<sqlite::SchemaState> state = sqlite::InspectSchema(*db);
  if (!state.ok() && state.status().code() == StatusCode::kIoError && IsWalModeFile(path)) {
    // A WAL-mode file needs its -shm file to be read. Where SQLite could not create one (read-only media) and
    // no -wal file holds commits beyond the file, the file alone is the whole database and nobody can change it.
    if (FileExists(path + "-wal")) {
      if (!FileExists(path + "-shm")) {
        return FailedPrecondition("sqlite database '" + path + "' is in WAL mode and its last commits are in '" + path +
                                  "-wal', but there is no '" + path +
                                  "-shm' and none can be created here (read-only media?): copy the database with "
                                  "its -wal file to writable storage to read it");
      }
      return state.status();
    }
    DIAL_ASSIGN_OR_RETURN(db, Database::Open(path, SQLITE_OPEN_READONLY, ImmutableUri(path)));
    state = sqlite::InspectSchema(*db);
  }
  if (!state.ok()) return state.status();
  if (*state == sqlite::SchemaState::kEmpty) {
    return FailedPrecondition("sqlite database '" + path + "' has no tables: it holds no study");
  }
  db->set_retry_deadline(options.retry_deadline);
  db->SetBusyTimeout(options.busy_timeout);  // again: the immutable reopen is a new connection
  auto storage = std::make_unique<SqliteStorage>(std::move(db), options.url);
  if (wal_side_files_absent && FileExists(path + "-wal")) storage->TidyWalSideFilesOnClose(path);
  return std::unique_ptr<Storage>(std::move(storage));
}

}  // namespace

Status SqliteStorageOptions::Validate() const {
  if (path.empty()) return InvalidArgument("sqlite storage: the database path is empty");
  if (busy_timeout.count() < 0) return InvalidArgument("sqlite storage: busy_timeout is negative");
  if (retry_deadline.count() < 0) return InvalidArgument("sqlite storage: retry_deadline is negative");
  return Status::Ok();
}

Result<SqliteStorageOptions> ParseSqliteUrl(const std::string& url) {
  if (url.rfind(kUrlPrefix, 0) != 0) {
    return InvalidArgument("storage URL '" + url +
                           "' is not a sqlite URL; expected sqlite:///relative/path.db or sqlite:////absolute/path.db");
  }
  SqliteStorageOptions options;
  options.url = url;
  std::string rest = url.substr(kUrlPrefix.size());
  size_t query = rest.find('?');
  options.path = rest.substr(0, query);
  if (options.path.empty()) {
    return InvalidArgument("storage URL '" + url + "' has no database path; expected sqlite:///dial.db");
  }
  if (query != std::string::npos) {
    std::string params = rest.substr(query + 1);
    size_t start = 0;
    while (start <= params.size()) {
      size_t end = params.find('&', start);
      if (end == std::string::npos) end = params.size();
      std::string item = params.substr(start, end - start);
      start = end + 1;
      if (item.empty()) continue;
      size_t eq = item.find('=');
      std::string key = item.substr(0, eq);
      std::string value = eq == std::string::npos ? "" : item.substr(eq + 1);
      std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) { return std::tolower(c); });
      if (key == "synchronous" && (value == "normal" || value == "full")) {
        options.synchronous_full = value == "full";
      } else if (key == "synchronous") {
        return InvalidArgument("storage URL '" + url + "': synchronous must be normal or full, not '" + value + "'");
      } else {
        return InvalidArgument("storage URL '" + url + "': unknown option '" + key + "' (known: synchronous)");
      }
    }
  }
  return options;
}

Result<std::unique_ptr<Storage>> NewSqliteStorage(const SqliteStorageOptions& options) {
  DIAL_RETURN_IF_ERROR(options.Validate());
  SqliteStorageOptions opts = options;
  if (opts.url.empty()) opts.url = std::string(kUrlPrefix) + opts.path;
  if (opts.read_only) return OpenSqliteReadOnly(opts);
  bool created_file = false;
  Result<std::unique_ptr<Storage>> storage = OpenSqlite(opts, &created_file);
  // A file this call created is removed again on failure, unless the failure was another process holding the
  // lock: then that process is using the file.
  if (!storage.ok() && created_file && storage.status().code() != StatusCode::kUnavailable) {
    RemoveDatabaseFiles(opts.path);
  }
  return storage;
}

}  // namespace dial
