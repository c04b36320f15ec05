// The PostgreSQL backend: each primitive of dial::Storage as one short transaction over Optuna 3.1's tables.
// Writes lock the row they depend on first (the study's row to number a trial, the trial's row to change it), so
// that check and write are atomic across connections, processes and hosts under READ COMMITTED; reads of several
// tables run in one REPEATABLE READ snapshot. Finished trials are immutable, so this process caches them once read.
#include "storage/postgres/postgres_storage.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>

#include "storage/postgres/pg_connection.h"
#include "storage/postgres/postgres_schema.h"
#include "storage/storage_internal.h"

namespace dial {
namespace {

namespace si = storage_internal;
using postgres::Connection;
using postgres::ConnectionConfig;
using postgres::ConnectionPool;
using postgres::Params;
using postgres::PgResult;
using postgres::TransactionKind;

constexpr std::string_view kSchemeSeparator = "://";
constexpr const char* kSchemes[] = {"postgresql", "postgres", "postgresql+psycopg2"};
constexpr const char* kApplicationName = "dial";
constexpr const char* kMaskedPassword = "***";
// A password shorter than this is not searched for in server messages: masking every "a" would garble them
// (the URL that holds it is masked whatever its length).
constexpr size_t kMinMaskedPasswordLength = 4;
// Up to this many trials to read in one GetAllTrials, their rows are looked up by trial id; above, the whole
// study's rows are read and filtered here.
constexpr size_t kPerTrialLoadLimit = 64;

// ---- Optuna's encodings ----
constexpr const char* kFinite = "FINITE";
constexpr const char* kInfPos = "INF_POS";
constexpr const char* kInfNeg = "INF_NEG";
constexpr const char* kNan = "NAN";

// value_type / intermediate_value_type: the value column is NULL for everything but FINITE.
const char* ValueType(double v) {
  if (std::isnan(v)) return kNan;
  if (std::isinf(v)) return v > 0 ? kInfPos : kInfNeg;
  return kFinite;
}

void AddValue(Params& params, double v) {
  const char* type = ValueType(v);
  if (type == kFinite) {
    params.Add(v);
  } else {
    params.AddNull();
  }
  params.Add(type);
}

double DecodeValue(const PgResult& r, int row, int value_column, int type_column) {
  std::string_view type = r.Text(row, type_column);
  if (type == kInfPos) return std::numeric_limits<double>::infinity();
  if (type == kInfNeg) return -std::numeric_limits<double>::infinity();
  if (type == kNan || r.IsNull(row, value_column)) return std::numeric_limits<double>::quiet_NaN();
  return r.Double(row, value_column);
}

// value_json as Optuna writes it is Python's json.dumps, which spells non-finite floats NaN, Infinity and
// -Infinity where JSON has none; those are read back as numbers, anything else unparsable as its raw text.
Json ParseAttrJson(std::string_view text) {
  Json parsed = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_discarded()) return parsed;
  if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
  if (text == "Infinity") return std::numeric_limits<double>::infinity();
  if (text == "-Infinity") return -std::numeric_limits<double>::infinity();
  return std::string(text);
}

void AddOptionalTimestamp(Params& params, const std::optional<Timestamp>& t) {
  if (t) {
    params.Add(FormatTimestamp(*t));
  } else {
    params.AddNull();
  }
}

std::optional<Timestamp> OptionalTimestamp(const PgResult& r, int row, int column) {
  if (r.IsNull(row, column)) return std::nullopt;
  return ParseTimestamp(r.Text(row, column));
}

// What identifies one stored trial row: a cached finished trial is reused only while its row still reads the same
// (ids come from a sequence and are not reused, but a database can be restored or edited by hand).
struct TrialKey {
  StudyId study_id = -1;
  int64_t number = -1;
  std::string state;
  std::string datetime_start;
  bool operator==(const TrialKey&) const = default;
};

struct TrialRowData {
  TrialKey key;
  std::optional<Timestamp> datetime_complete;
};

struct CachedTrial {
  TrialKey key;
  FrozenTrial trial;
};

std::string TrialStateList(const std::vector<TrialState>& states) {
  std::set<std::string_view> names;
  for (TrialState s : states) names.insert(TrialStateName(s));
  std::string out;
  for (std::string_view name : names) {
    out += out.empty() ? "'" : ", '";
    out += name;
    out += "'";
  }
  return out;
}

class PostgresStorage final : public Storage {
 public:
  PostgresStorage(std::unique_ptr<ConnectionPool> pool, std::string url, std::string display_url)
      : pool_(std::move(pool)), url_(std::move(url)), display_url_(std::move(display_url)) {}

  // ---- studies ----

  Result<StudyId> CreateNewStudy(const std::vector<StudyDirection>& directions,
                                 const std::string& study_name) override {
    DIAL_RETURN_IF_ERROR(si::CheckDirections(directions));
    std::string name = study_name.empty() ? si::NewDefaultStudyName() : study_name;
    StudyId id = -1;
    DIAL_RETURN_IF_ERROR(Run(TransactionKind::kWrite, [&](Connection& c) -> Status {
      // The unique index on study_name makes this atomic: a second creator waits for the first to commit, then
      // inserts nothing.
      DIAL_ASSIGN_OR_RETURN(PgResult inserted,
                            c.Query("INSERT INTO studies (study_name) VALUES ($1) ON CONFLICT (study_name) DO NOTHING "
                                    "RETURNING study_id",
                                    Params().Add(name)));
      if (inserted.rows() == 0) return AlreadyExists("study '" + name + "' already exists in " + display_url_);
      id = inserted.Int(0, 0);
      for (size_t i = 0; i < directions.size(); ++i) {
        DIAL_RETURN_IF_ERROR(
            c.Query("INSERT INTO study_directions (direction, study_id, objective) VALUES ($1, $2, $3)",
                    Params().Add(StudyDirectionName(directions[i])).Add(id).Add(static_cast<int64_t>(i)))
                .status());
      }
      return Status::Ok();
    }));
    return id;
  }

  Status DeleteStudy(StudyId study_id) override {
    static constexpr const char* kDeletes[] = {
        "DELETE FROM trial_params WHERE trial_id IN (SELECT trial_id FROM trials WHERE study_id = $1)",
        "DELETE FROM trial_values WHERE trial_id IN (SELECT trial_id FROM trials WHERE study_id = $1)",
        "DELETE FROM trial_intermediate_values WHERE trial_id IN (SELECT trial_id FROM trials WHERE study_id = $1)",
        "DELETE FROM trial_user_attributes WHERE trial_id IN (SELECT trial_id FROM trials WHERE study_id = $1)",
        "DELETE FROM trial_system_attributes WHERE trial_id IN (SELECT trial_id FROM trials WHERE study_id = $1)",
        "DELETE FROM trial_heartbeats WHERE trial_id IN (SELECT trial_id FROM trials WHERE study_id = $1)",
        "DELETE FROM trials WHERE study_id = $1",
        "DELETE FROM study_user_attributes WHERE study_id = $1",
        "DELETE FROM study_system_attributes WHERE study_id = $1",
        "DELETE FROM study_directions WHERE study_id = $1",
        "DELETE FROM studies WHERE study_id = $1",
    };
    DIAL_RETURN_IF_ERROR(Run(TransactionKind::kWrite, [&](Connection& c) -> Status {
      // The lock keeps trials from being created in the study while its rows go.
      DIAL_RETURN_IF_ERROR(LockStudy(c, study_id, "FOR UPDATE"));
      for (const char* sql : kDeletes) DIAL_RETURN_IF_ERROR(c.Query(sql, Params().Add(study_id)).status());
      return Status::Ok();
    }));
    std::lock_guard<std::mutex> lock(cache_mu_);
    std::erase_if(finished_trials_, [&](const auto& entry) { return entry.second.key.study_id == study_id; });
    std::erase_if(param_distributions_, [&](const auto& entry) { return entry.first.first == study_id; });
    return Status::Ok();
  }

  Status SetStudyUserAttr(StudyId study_id, const std::string& key, const Json& value) override {
    return SetStudyAttr(
               "INSERT INTO study_user_attributes (study_id, key, value_json) VALUES ($1, $2, $3) "
               "ON CONFLICT (study_id, key) DO UPDATE SET value_json = EXCLUDED.value_json RETURNING 1",
               study_id, key, value)
        .status();
  }

  Status SetStudySystemAttr(StudyId study_id, const std::string& key, const Json& value) override {
    return SetStudyAttr(
               "INSERT INTO study_system_attributes (study_id, key, value_json) VALUES ($1, $2, $3) "
               "ON CONFLICT (study_id, key) DO UPDATE SET value_json = EXCLUDED.value_json RETURNING 1",
               study_id, key, value)
        .status();
  }

  // The unique constraint on (study_id, key) makes this a compare-and-set: of two racing inserts, the second
  // waits for the first to commit and then inserts nothing, returning no row.
  Result<bool> SetStudySystemAttrIfAbsent(StudyId study_id, const std::string& key, const Json& value) override {
    return SetStudyAttr(
        "INSERT INTO study_system_attributes (study_id, key, value_json) VALUES ($1, $2, $3) "
        "ON CONFLICT (study_id, key) DO NOTHING RETURNING 1",
        study_id, key, value);
  }

  Result<StudyId> GetStudyIdFromName(const std::string& study_name) override {
    StudyId id = -1;
    DIAL_RETURN_IF_ERROR(Run(TransactionKind::kRead, [&](Connection& c) -> Status {
      DIAL_ASSIGN_OR_RETURN(PgResult r,
                            c.Query("SELECT study_id FROM studies WHERE study_name = $1", Params().Add(study_name)));
      if (r.rows() == 0) return NotFound("no study named '" + study_name + "' in " + display_url_);
      id = r.Int(0, 0);
      return Status::Ok();
    }));
    return id;
  }

  Result<std::string> GetStudyNameFromId(StudyId study_id) override {
    std::string name;
    DIAL_RETURN_IF_ERROR(Run(TransactionKind::kRead, [&](Connection& c) -> Status {
      DIAL_ASSIGN_OR_RETURN(PgResult r,
                            c.Query("SELECT study_name FROM studies WHERE study_id = $1", Params().Add(study_id)));
      if (r.rows() == 0) return StudyNotFound(study_id);
      name = std::string(r.Text(0, 0));
      return Status::Ok();
    }));
    return name;
  }

  Result<std::vector<StudyDirection>> GetStudyDirections(StudyId study_id) override {
    std::vector<StudyDirection> directions;
    DIAL_RETURN_IF_ERROR(Run(TransactionKind::kRead, [&](Connection& c) -> Status {
      directions.clear();
      DIAL_ASSIGN_OR_RETURN(PgResult r, c.Query("SELECT direction FROM study_directions WHERE study_id = $1 "
                                                "ORDER BY objective",
                                                Params().Add(study_id)));
      for (int i = 0; i < r.rows(); ++i) {
        DIAL_ASSIGN_OR_RETURN(StudyDirection d, ParseDirection(study_id, r.Text(i, 0)));
        directions.push_back(d);
      }
      if (directions.empty()) return StudyNotFound(study_id);
      return Status::Ok();
    }));
    return directions;
  }

  Result<AttrMap> GetStudyUserAttrs(StudyId study_id) override {
    return GetStudyAttrs(
        "SELECT a.key, a.value_json FROM studies s LEFT JOIN study_user_attributes a ON a.study_id = s.study_id "
        "WHERE s.study_id = $1",
        study_id);
  }

  Result<AttrMap> GetStudySystemAttrs(StudyId study_id) override {
    return GetStudyAttrs(
        "SELECT a.key, a.value_json FROM studies s LEFT JOIN study_system_attributes a ON a.study_id = s.study_id "
        "WHERE s.study_id = $1",
        study_id);
  }

  Result<std::vector<StudySummary>> GetAllStudies() override {
    std::vector<StudySummary> out;
    DIAL_RETURN_IF_ERROR(Run(TransactionKind::kSnapshot, [&](Connection& c) -> Status {
      out.clear();
      std::unordered_map<StudyId, size_t> index;
      {
        DIAL_ASSIGN_OR_RETURN(PgResult r, c.Query("SELECT study_id, study_name FROM studies ORDER BY study_id"));
        for (int i = 0; i < r.rows(); ++i) {
          StudySummary s;
          s.study_id = r.Int(i, 0);
          s.study_name = std::string(r.Text(i, 1));
          index[s.study_id] = out.size();
          out.push_back(std::move(s));
        }
      }
      auto find = [&](StudyId id) -> StudySummary* {
        auto it = index.find(id);
        return it == index.end() ? nullptr : &out[it->second];
      };
      {
        DIAL_ASSIGN_OR_RETURN(PgResult r, c.Query("SELECT study_id, direction FROM study_directions "
                                                  "ORDER BY study_id, objective"));
        for (int i = 0; i < r.rows(); ++i) {
          StudySummary* s = find(r.Int(i, 0));
          if (s == nullptr) continue;
          DIAL_ASSIGN_OR_RETURN(StudyDirection d, ParseDirection(s->study_id, r.Text(i, 1)));
          s->directions.push_back(d);
        }
      }
      for (bool user : {true, false}) {
        DIAL_ASSIGN_OR_RETURN(PgResult r, c.Query(user ? "SELECT study_id, key, value_json FROM study_user_attributes"
                                                       : "SELECT study_id, key, value_json FROM "
                                                         "study_system_attributes"));
        for (int i = 0; i < r.rows(); ++i) {
          StudySummary* s = find(r.Int(i, 0));
          if (s == nullptr || r.IsNull(i, 1)) continue;
          (user ? s->user_attrs : s->system_attrs)[std::string(r.Text(i, 1))] = ParseAttrJson(r.Text(i, 2));
        }
      }
      {
        DIAL_ASSIGN_OR_RETURN(PgResult r, c.Query("SELECT study_id, COUNT(*), MIN(datetime_start) FROM trials "
                                                  "GROUP BY study_id"));
        for (int i = 0; i < r.rows(); ++i) {
          if (r.IsNull(i, 0)) continue;
          StudySummary* s = find(r.Int(i, 0));
          if (s == nullptr) continue;
          s->n_trials = r.Int(i, 1);
          s->datetime_start = OptionalTimestamp(r, i, 2);
        }
      }
      return Status::Ok();
    }));
    return out;
  }

  // ---- trials ----

  Result<TrialId> CreateNewTrial(StudyId study_id, const std::optional<FrozenTrial>& template_trial) override {
    FrozenTrial fresh;
    if (!template_trial) {
      fresh.state = TrialState::kRunning;
      fresh.datetime_start = std::chrono::system_clock::now();
    }
    const FrozenTrial& t = template_trial ? *template_trial : fresh;
    DIAL_RETURN_IF_ERROR(si::CheckObjectiveValues(-1, t.values).WithContext("template trial"));
    for (const auto& [name, internal] : t.params) {
      if (!t.distributions.count(name)) {
        return InvalidArgument("template trial: parameter '" + name + "' has no distribution");
      }
    }
    TrialId id = -1;
    DIAL_RETURN_IF_ERROR(Run(TransactionKind::kWrite, [&](Connection& c) -> Status {
      // Numbering: every creator of a trial in this study waits here for the previous one to commit (Optuna takes
      // FOR UPDATE on the same row, which conflicts with this lock too). Under READ COMMITTED the count below then
      // sees that trial, so numbers are unique and gap-free. NO KEY: attribute writes (FOR KEY SHARE) need not
      // wait for trial creation.
      DIAL_RETURN_IF_ERROR(LockStudy(c, study_id, "FOR NO KEY UPDATE"));
      for (const auto& [name, internal] : t.params) {
        DIAL_ASSIGN_OR_RETURN(std::optional<Distribution> previous, PreviousDistribution(c, study_id, name));
        DIAL_RETURN_IF_ERROR(si::CheckParam(name, internal, t.distributions.at(name), previous));
      }
      Params insert;
      insert.Add(study_id).Add(TrialStateName(t.state));
      AddOptionalTimestamp(insert, t.datetime_start);
      AddOptionalTimestamp(insert, t.datetime_complete);
      DIAL_ASSIGN_OR_RETURN(PgResult r, c.Query("INSERT INTO trials (number, study_id, state, datetime_start, "
                                                "datetime_complete) VALUES ((SELECT COUNT(*) FROM trials WHERE "
                                                "study_id = $1), $1, $2, $3, $4) RETURNING trial_id",
                                                insert));
      id = r.Int(0, 0);
      for (const auto& [name, internal] : t.params) {
        DIAL_RETURN_IF_ERROR(WriteParam(c, id, name, internal, t.distributions.at(name)));
      }
      for (size_t i = 0; i < t.values.size(); ++i) DIAL_RETURN_IF_ERROR(WriteValue(c, id, i, t.values[i]));
      for (const auto& [step, value] : t.intermediate_values) {
        DIAL_RETURN_IF_ERROR(WriteIntermediateValue(c, id, step, value));
      }
      for (const auto& [key, value] : t.user_attrs) DIAL_RETURN_IF_ERROR(WriteTrialAttr(c, kUserAttr, id, key, value));
      for (const auto& [key, value] : t.system_attrs) {
        DIAL_RETURN_IF_ERROR(WriteTrialAttr(c, kSystemAttr, id, key, value));
      }
      return Status::Ok();
    }));
    return id;
  }

  Result<std::optional<TrialId>> CreateNewTrialIfFewerThan(StudyId study_id, int64_t max_trials) override {
    std::optional<TrialId> id;
    DIAL_RETURN_IF_ERROR(Run(TransactionKind::kWrite, [&](Connection& c) -> Status {
      id.reset();
      // The same study lock as CreateNewTrial: no other creator can add a trial between the count and the insert.
      DIAL_RETURN_IF_ERROR(LockStudy(c, study_id, "FOR NO KEY UPDATE"));
      DIAL_ASSIGN_OR_RETURN(PgResult count,
                            c.Query("SELECT COUNT(*) FROM trials WHERE study_id = $1", Params().Add(study_id)));
      const int64_t n = count.Int(0, 0);
      if (n >= max_trials) return Status::Ok();
      Params insert;
      insert.Add(n).Add(study_id).Add(TrialStateName(TrialState::kRunning));
      AddOptionalTimestamp(insert, std::chrono::system_clock::now());
      DIAL_ASSIGN_OR_RETURN(PgResult r, c.Query("INSERT INTO trials (number, study_id, state, datetime_start, "
                                                "datetime_complete) VALUES ($1, $2, $3, $4, NULL) RETURNING trial_id",
                                                insert));
      id = r.Int(0, 0);
      return Status::Ok();
    }));
    return id;
  }

  Status SetTrialParam(TrialId trial_id, const std::string& name, double internal, const Distribution& dist) override {
    return Run(TransactionKind::kWrite, [&](Connection& c) -> Status {
      DIAL_ASSIGN_OR_RETURN(TrialRow row, LockUpdatableTrial(c, trial_id));
      DIAL_ASSIGN_OR_RETURN(std::optional<Distribution> previous, PreviousDistribution(c, row.study_id, name));
      DIAL_RETURN_IF_ERROR(si::CheckParam(name, internal, dist, previous));
      return WriteParam(c, trial_id, name, internal, dist);
    });
  }

  // Compare-and-set on the trial's row: of several workers moving one WAITING trial to RUNNING, the first locks
  // the row and changes it; the others wait for its commit, then read RUNNING and return false.
  Result<bool> SetTrialStateValues(TrialId trial_id, TrialState state, const std::vector<double>& values) override {
    bool changed = false;
    DIAL_RETURN_IF_ERROR(Run(TransactionKind::kWrite, [&](Connection& c) -> Status {
      changed = false;
      DIAL_ASSIGN_OR_RETURN(TrialRow row, LockUpdatableTrial(c, trial_id));
      if (state == TrialState::kRunning && row.state != TrialState::kWaiting) return Status::Ok();
      DIAL_RETURN_IF_ERROR(si::CheckObjectiveValues(trial_id, values));
      DIAL_RETURN_IF_ERROR(WriteStateValues(c, trial_id, state, values));
      changed = true;
      return Status::Ok();
    }));
    return changed;
  }

  Status SetTrialIntermediateValue(TrialId trial_id, int64_t step, double value) override {
    return Run(TransactionKind::kWrite, [&](Connection& c) -> Status {
      DIAL_RETURN_IF_ERROR(LockUpdatableTrial(c, trial_id).status());
      return WriteIntermediateValue(c, trial_id, step, value);
    });
  }

  Status SetTrialUserAttr(TrialId trial_id, const std::string& key, const Json& value) override {
    return SetTrialAttr(kUserAttr, trial_id, key, value);
  }

  Status SetTrialSystemAttr(TrialId trial_id, const std::string& key, const Json& value) override {
    return SetTrialAttr(kSystemAttr, trial_id, key, value);
  }

  Status UpdateTrial(TrialId trial_id, const TrialUpdate& update) override {
    return Run(TransactionKind::kWrite, [&](Connection& c) -> Status {
      DIAL_ASSIGN_OR_RETURN(TrialRow row, LockUpdatableTrial(c, trial_id));
      // Check everything before the first write; a failed check also rolls the transaction back.
      DIAL_RETURN_IF_ERROR(si::CheckTrialUpdate(trial_id, row.state, update, [&](const std::string& name) {
        return PreviousDistribution(c, row.study_id, name);
      }));
      for (const auto& [name, internal, dist] : update.params) {
        DIAL_RETURN_IF_ERROR(WriteParam(c, trial_id, name, internal, dist));
      }
      for (const auto& [key, value] : update.user_attrs) {
        DIAL_RETURN_IF_ERROR(WriteTrialAttr(c, kUserAttr, trial_id, key, value));
      }
      for (const auto& [key, value] : update.system_attrs) {
        DIAL_RETURN_IF_ERROR(WriteTrialAttr(c, kSystemAttr, trial_id, key, value));
      }
      if (update.state) DIAL_RETURN_IF_ERROR(WriteStateValues(c, trial_id, *update.state, update.values));
      return Status::Ok();
    });
  }

  Result<FrozenTrial> GetTrial(TrialId trial_id) override {
    FrozenTrial out;
    DIAL_RETURN_IF_ERROR(Run(TransactionKind::kSnapshot, [&](Connection& c) -> Status {
      DIAL_ASSIGN_OR_RETURN(PgResult r, c.Query("SELECT trial_id, study_id, number, state, datetime_start, "
                                                "datetime_complete FROM trials WHERE trial_id = $1",
                                                Params().Add(trial_id)));
      if (r.rows() == 0) return TrialNotFound(trial_id);
      TrialRowData row = ReadTrialRow(r, 0);
      if (std::optional<FrozenTrial> cached = FindCached(trial_id, row.key)) {
        out = std::move(*cached);
        return Status::Ok();
      }
      std::unordered_map<TrialId, FrozenTrial> loaded;
      DIAL_RETURN_IF_ERROR(LoadTrials(c, {{trial_id, row}}, row.key.study_id, &loaded));
      out = std::move(loaded.at(trial_id));
      return Status::Ok();
    }));
    return out;
  }

  Result<std::vector<FrozenTrial>> GetAllTrials(StudyId study_id,
                                                const std::optional<std::vector<TrialState>>& states) override {
    std::vector<FrozenTrial> out;
    DIAL_RETURN_IF_ERROR(Run(TransactionKind::kSnapshot, [&](Connection& c) -> Status {
      out.clear();
      if (states && states->empty()) return CheckStudyExists(c, study_id);
      std::string sql =
          "SELECT trial_id, study_id, number, state, datetime_start, datetime_complete FROM trials "
          "WHERE study_id = $1";
      // State names come from the closed enum, so the text is safe to splice; each filter is prepared once.
      if (states) sql += " AND state IN (" + TrialStateList(*states) + ")";
      sql += " ORDER BY number, trial_id";
      DIAL_ASSIGN_OR_RETURN(PgResult r, c.Query(sql, Params().Add(study_id)));
      if (r.rows() == 0) return CheckStudyExists(c, study_id);
      std::vector<std::pair<TrialId, TrialRowData>> rows;
      rows.reserve(r.rows());
      for (int i = 0; i < r.rows(); ++i) rows.emplace_back(r.Int(i, 0), ReadTrialRow(r, i));
      std::vector<std::pair<TrialId, TrialRowData>> missing;
      std::vector<std::optional<FrozenTrial>> cached(rows.size());
      for (size_t i = 0; i < rows.size(); ++i) {
        cached[i] = FindCached(rows[i].first, rows[i].second.key);
        if (!cached[i]) missing.push_back(rows[i]);
      }
      std::unordered_map<TrialId, FrozenTrial> loaded;
      DIAL_RETURN_IF_ERROR(LoadTrials(c, missing, study_id, &loaded));
      out.reserve(rows.size());
      for (size_t i = 0; i < rows.size(); ++i) {
        if (cached[i]) {
          out.push_back(std::move(*cached[i]));
        } else {
          out.push_back(std::move(loaded.at(rows[i].first)));
        }
      }
      return Status::Ok();
    }));
    return out;
  }

  Result<int64_t> GetNTrials(StudyId study_id, const std::optional<std::vector<TrialState>>& states) override {
    int64_t n = 0;
    DIAL_RETURN_IF_ERROR(Run(TransactionKind::kRead, [&](Connection& c) -> Status {
      n = 0;
      // One row per state, or a single row with a NULL state for a study without trials; none: no such study.
      DIAL_ASSIGN_OR_RETURN(PgResult r, c.Query("SELECT t.state, COUNT(t.trial_id) FROM studies s LEFT JOIN trials t "
                                                "ON t.study_id = s.study_id WHERE s.study_id = $1 GROUP BY t.state",
                                                Params().Add(study_id)));
      if (r.rows() == 0) return StudyNotFound(study_id);
      for (int i = 0; i < r.rows(); ++i) {
        if (r.IsNull(i, 0)) continue;
        std::optional<TrialState> state = ParseTrialState(r.Text(i, 0));
        if (!states || (state && si::StateMatches(*state, states))) n += r.Int(i, 1);
      }
      return Status::Ok();
    }));
    return n;
  }

  // Heartbeats use the server's clock in the session's time zone (LOCALTIMESTAMP), as Optuna's now() stored in a
  // TIMESTAMP WITHOUT TIME ZONE column does, so workers on hosts with skewed clocks still agree.
  Status RecordHeartbeat(TrialId trial_id) override {
    return Run(TransactionKind::kWrite, [&](Connection& c) -> Status {
      DIAL_RETURN_IF_ERROR(LockUpdatableTrial(c, trial_id).status());
      return c
          .Query(
              "INSERT INTO trial_heartbeats (trial_id, heartbeat) VALUES ($1, LOCALTIMESTAMP) "
              "ON CONFLICT (trial_id) DO UPDATE SET heartbeat = excluded.heartbeat",
              Params().Add(trial_id))
          .status();
    });
  }

  Result<std::vector<TrialId>> GetStaleTrialIds(StudyId study_id, std::chrono::duration<double> grace_period) override {
    std::vector<TrialId> out;
    DIAL_RETURN_IF_ERROR(Run(TransactionKind::kRead, [&](Connection& c) -> Status {
      out.clear();
      DIAL_RETURN_IF_ERROR(CheckStudyExists(c, study_id));
      DIAL_ASSIGN_OR_RETURN(PgResult r, c.Query("SELECT t.trial_id FROM trials t JOIN trial_heartbeats h ON "
                                                "h.trial_id = t.trial_id WHERE t.study_id = $1 AND "
                                                "t.state = 'RUNNING' AND h.heartbeat < LOCALTIMESTAMP - "
                                                "make_interval(secs => $2::double precision) ORDER BY t.number",
                                                Params().Add(study_id).Add(grace_period.count())));
      for (int i = 0; i < r.rows(); ++i) out.push_back(r.Int(i, 0));
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
  Status CorruptState(TrialId id, std::string_view state) const {
    return IoError("PostgreSQL database " + display_url_ + ": trial " + std::to_string(id) + " has unknown state '" +
                   std::string(state) + "'");
  }

  // Runs `body` on a borrowed connection in a transaction of `kind` (see Connection::Transaction).
  Status Run(TransactionKind kind, const std::function<Status(Connection&)>& body) {
    DIAL_ASSIGN_OR_RETURN(ConnectionPool::Lease conn, pool_->Acquire());
    Connection& c = *conn;
    return c.Transaction(kind, [&]() { return body(c); });
  }

  Result<StudyDirection> ParseDirection(StudyId study_id, std::string_view name) const {
    std::optional<StudyDirection> d = ParseStudyDirection(name);
    if (!d) {
      return IoError("PostgreSQL database " + display_url_ + ": study " + std::to_string(study_id) +
                     " has unknown direction '" + std::string(name) + "'");
    }
    return *d;
  }

  // ---- helpers; all run inside a transaction on `c` ----

  Status CheckStudyExists(Connection& c, StudyId study_id) {
    DIAL_ASSIGN_OR_RETURN(PgResult r, c.Query("SELECT 1 FROM studies WHERE study_id = $1", Params().Add(study_id)));
    return r.rows() > 0 ? Status::Ok() : StudyNotFound(study_id);
  }

  // Locks the study's row until the transaction ends: FOR NO KEY UPDATE to number trials, FOR UPDATE to delete the
  // study, FOR KEY SHARE to write an attribute while keeping the study from being deleted meanwhile. NotFound if
  // it is absent.
  Status LockStudy(Connection& c, StudyId study_id, std::string_view mode) {
    DIAL_ASSIGN_OR_RETURN(
        PgResult r, c.Query("SELECT 1 FROM studies WHERE study_id = $1 " + std::string(mode), Params().Add(study_id)));
    return r.rows() > 0 ? Status::Ok() : StudyNotFound(study_id);
  }

  // Locks the trial's row until the transaction ends, so that its state cannot change between this check and the
  // writes that follow. NotFound if there is no such trial; FailedPrecondition if it is finished.
  Result<TrialRow> LockUpdatableTrial(Connection& c, TrialId trial_id) {
    DIAL_ASSIGN_OR_RETURN(PgResult r, c.Query("SELECT study_id, number, state FROM trials WHERE trial_id = $1 "
                                              "FOR UPDATE",
                                              Params().Add(trial_id)));
    if (r.rows() == 0) return TrialNotFound(trial_id);
    std::optional<TrialState> state = ParseTrialState(r.Text(0, 2));
    if (!state) return CorruptState(trial_id, r.Text(0, 2));
    TrialRow out{r.Int(0, 0), r.IsNull(0, 1) ? -1 : r.Int(0, 1), *state};
    if (IsFinished(out.state)) return si::FinishedTrialError(trial_id, out.number, out.state);
    return out;
  }

  Result<AttrMap> GetStudyAttrs(const char* sql, StudyId study_id) {
    AttrMap out;
    DIAL_RETURN_IF_ERROR(Run(TransactionKind::kRead, [&](Connection& c) -> Status {
      out.clear();
      DIAL_ASSIGN_OR_RETURN(PgResult r, c.Query(sql, Params().Add(study_id)));
      if (r.rows() == 0) return StudyNotFound(study_id);
      for (int i = 0; i < r.rows(); ++i) {
        if (!r.IsNull(i, 0)) out[std::string(r.Text(i, 0))] = ParseAttrJson(r.Text(i, 1));
      }
      return Status::Ok();
    }));
    return out;
  }

  // Returns whether the statement stored a row (false for ON CONFLICT DO NOTHING that found one).
  Result<bool> SetStudyAttr(const char* sql, StudyId study_id, const std::string& key, const Json& value) {
    bool stored = false;
    const std::string json = value.dump();
    DIAL_RETURN_IF_ERROR(Run(TransactionKind::kWrite, [&](Connection& c) -> Status {
      DIAL_RETURN_IF_ERROR(LockStudy(c, study_id, "FOR KEY SHARE"));
      DIAL_ASSIGN_OR_RETURN(PgResult r, c.Query(sql, Params().Add(study_id).Add(key).Add(json)));
      stored = r.rows() > 0;
      return Status::Ok();
    }));
    return stored;
  }

  Status SetTrialAttr(AttrKind kind, TrialId trial_id, const std::string& key, const Json& value) {
    return Run(TransactionKind::kWrite, [&](Connection& c) -> Status {
      DIAL_RETURN_IF_ERROR(LockUpdatableTrial(c, trial_id).status());
      return WriteTrialAttr(c, kind, trial_id, key, value);
    });
  }

  // The distribution the study already uses for `name`, if any. Cached per process: once a study has a
  // distribution for a name, every later one must be compatible with it, and parameters are never removed short
  // of deleting the study, whose id is never reused.
  Result<std::optional<Distribution>> PreviousDistribution(Connection& c, StudyId study_id, const std::string& name) {
    auto key = std::make_pair(study_id, name);
    {
      std::lock_guard<std::mutex> lock(cache_mu_);
      auto it = param_distributions_.find(key);
      if (it != param_distributions_.end()) return std::optional<Distribution>(it->second);
    }
    DIAL_ASSIGN_OR_RETURN(PgResult r, c.Query("SELECT p.distribution_json FROM trial_params p JOIN trials t ON "
                                              "p.trial_id = t.trial_id WHERE t.study_id = $1 AND p.param_name = $2 "
                                              "LIMIT 1",
                                              Params().Add(study_id).Add(name)));
    if (r.rows() == 0 || r.IsNull(0, 0)) return std::optional<Distribution>();
    DIAL_ASSIGN_OR_RETURN(Distribution dist, ParseDistribution(r.Text(0, 0)));
    std::lock_guard<std::mutex> lock(cache_mu_);
    param_distributions_.emplace(key, dist);
    return std::optional<Distribution>(std::move(dist));
  }

  // Distributions repeat across trials: each JSON text is parsed once.
  Result<Distribution> ParseDistribution(std::string_view json) {
    std::string text(json);
    {
      std::lock_guard<std::mutex> lock(cache_mu_);
      auto it = parsed_distributions_.find(text);
      if (it != parsed_distributions_.end()) return it->second;
    }
    Result<Distribution> dist = DistributionFromJson(text);
    if (!dist.ok()) {
      return IoError("PostgreSQL database " + display_url_ + ": unreadable distribution_json " + text + ": " +
                     dist.status().message());
    }
    std::lock_guard<std::mutex> lock(cache_mu_);
    parsed_distributions_.emplace(std::move(text), *dist);
    return dist;
  }

  Status WriteParam(Connection& c, TrialId trial_id, const std::string& name, double internal,
                    const Distribution& dist) {
    return c
        .Query(
            "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) VALUES ($1, $2, $3, "
            "$4) ON CONFLICT (trial_id, param_name) DO UPDATE SET param_value = EXCLUDED.param_value, "
            "distribution_json = EXCLUDED.distribution_json",
            Params().Add(trial_id).Add(name).Add(internal).Add(DistributionToJson(dist)))
        .status();
  }

  Status WriteValue(Connection& c, TrialId trial_id, size_t objective, double value) {
    Params params;
    params.Add(trial_id).Add(static_cast<int64_t>(objective));
    AddValue(params, value);
    return c
        .Query(
            "INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (trial_id, objective) DO UPDATE SET value = EXCLUDED.value, "
            "value_type = EXCLUDED.value_type",
            params)
        .status();
  }

  Status WriteIntermediateValue(Connection& c, TrialId trial_id, int64_t step, double value) {
    Params params;
    params.Add(trial_id).Add(step);
    AddValue(params, value);
    return c
        .Query(
            "INSERT INTO trial_intermediate_values (trial_id, step, intermediate_value, intermediate_value_type) "
            "VALUES ($1, $2, $3, $4) ON CONFLICT (trial_id, step) DO UPDATE SET "
            "intermediate_value = EXCLUDED.intermediate_value, "
            "intermediate_value_type = EXCLUDED.intermediate_value_type",
            params)
        .status();
  }

  Status WriteTrialAttr(Connection& c, AttrKind kind, TrialId trial_id, const std::string& key, const Json& value) {
    return c
        .Query(kind == kUserAttr ? "INSERT INTO trial_user_attributes (trial_id, key, value_json) VALUES ($1, $2, $3) "
                                   "ON CONFLICT (trial_id, key) DO UPDATE SET value_json = EXCLUDED.value_json"
                                 : "INSERT INTO trial_system_attributes (trial_id, key, value_json) VALUES ($1, $2, "
                                   "$3) ON CONFLICT (trial_id, key) DO UPDATE SET value_json = EXCLUDED.value_json",
               Params().Add(trial_id).Add(key).Add(value.dump()))
        .status();
  }

  Status WriteStateValues(Connection& c, TrialId trial_id, TrialState state, const std::vector<double>& values) {
    Params params;
    params.Add(trial_id).Add(TrialStateName(state));
    const char* sql = "UPDATE trials SET state = $2 WHERE trial_id = $1";
    if (state == TrialState::kRunning || IsFinished(state)) {
      sql = state == TrialState::kRunning ? "UPDATE trials SET state = $2, datetime_start = $3 WHERE trial_id = $1"
                                          : "UPDATE trials SET state = $2, datetime_complete = $3 WHERE trial_id = $1";
      params.Add(FormatTimestamp(std::chrono::system_clock::now()));
    }
    DIAL_RETURN_IF_ERROR(c.Query(sql, params).status());
    for (size_t i = 0; i < values.size(); ++i) DIAL_RETURN_IF_ERROR(WriteValue(c, trial_id, i, values[i]));
    return Status::Ok();
  }

  // Columns: trial_id, study_id, number, state, datetime_start, datetime_complete.
  static TrialRowData ReadTrialRow(const PgResult& r, int i) {
    TrialRowData row;
    row.key.study_id = r.IsNull(i, 1) ? -1 : r.Int(i, 1);
    row.key.number = r.IsNull(i, 2) ? -1 : r.Int(i, 2);
    row.key.state = std::string(r.Text(i, 3));
    row.key.datetime_start = r.IsNull(i, 4) ? std::string() : std::string(r.Text(i, 4));
    row.datetime_complete = OptionalTimestamp(r, i, 5);
    return row;
  }

  std::optional<FrozenTrial> FindCached(TrialId trial_id, const TrialKey& key) const {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = finished_trials_.find(trial_id);
    if (it == finished_trials_.end() || !(it->second.key == key)) return std::nullopt;
    return it->second.trial;
  }

  // Reads the trials `wanted` (id and row) of `study_id` into `out`, and caches the finished ones. All their
  // parameters, values, intermediate values and attributes come back in one query: a UNION of the five tables,
  // each row tagged with its table. A few trials are looked up by id, many by the study.
  Status LoadTrials(Connection& c, const std::vector<std::pair<TrialId, TrialRowData>>& wanted, StudyId study_id,
                    std::unordered_map<TrialId, FrozenTrial>* out) {
    if (wanted.empty()) return Status::Ok();
    out->reserve(wanted.size());
    for (const auto& [id, row] : wanted) {
      FrozenTrial& t = (*out)[id];
      t.trial_id = id;
      t.number = row.key.number;
      std::optional<TrialState> state = ParseTrialState(row.key.state);
      if (!state) return CorruptState(id, row.key.state);
      t.state = *state;
      if (!row.key.datetime_start.empty()) t.datetime_start = ParseTimestamp(row.key.datetime_start);
      t.datetime_complete = row.datetime_complete;
    }
    const bool by_id = wanted.size() <= kPerTrialLoadLimit;
    const std::string filter =
        by_id ? "trial_id = ANY($1::integer[])" : "trial_id IN (SELECT trial_id FROM trials WHERE study_id = $1)";
    // Columns: table tag, trial_id, name (param name, attribute key), number (objective, step), value, text
    // (distribution_json, value type, value_json).
    const std::string sql =
        "SELECT 0, trial_id, param_name, NULL::bigint, param_value, distribution_json FROM trial_params WHERE " +
        filter + " UNION ALL SELECT 1, trial_id, NULL, objective, value, value_type::text FROM trial_values WHERE " +
        filter +
        " UNION ALL SELECT 2, trial_id, NULL, step, intermediate_value, intermediate_value_type::text FROM "
        "trial_intermediate_values WHERE " +
        filter + " UNION ALL SELECT 3, trial_id, key, NULL, NULL, value_json FROM trial_user_attributes WHERE " +
        filter + " UNION ALL SELECT 4, trial_id, key, NULL, NULL, value_json FROM trial_system_attributes WHERE " +
        filter;
    Params params;
    if (by_id) {
      std::string ids = "{";
      for (size_t i = 0; i < wanted.size(); ++i) ids += (i ? "," : "") + std::to_string(wanted[i].first);
      params.Add(ids + "}");
    } else {
      params.Add(study_id);
    }
    DIAL_ASSIGN_OR_RETURN(PgResult r, c.Query(sql, params));
    for (int i = 0; i < r.rows(); ++i) {
      auto it = out->find(r.Int(i, 1));
      if (it == out->end()) continue;
      FrozenTrial& t = it->second;
      switch (r.Int(i, 0)) {
        case 0: {
          if (r.IsNull(i, 2) || r.IsNull(i, 5)) break;
          DIAL_ASSIGN_OR_RETURN(Distribution dist, ParseDistribution(r.Text(i, 5)));
          std::string name(r.Text(i, 2));
          t.params[name] = r.IsNull(i, 4) ? std::numeric_limits<double>::quiet_NaN() : r.Double(i, 4);
          t.distributions.insert_or_assign(std::move(name), std::move(dist));
          break;
        }
        case 1: {
          int64_t objective = r.Int(i, 3);
          if (objective < 0) break;
          if (t.values.size() <= static_cast<size_t>(objective)) {
            t.values.resize(objective + 1, std::numeric_limits<double>::quiet_NaN());
          }
          t.values[objective] = DecodeValue(r, i, 4, 5);
          break;
        }
        case 2:
          t.intermediate_values[r.Int(i, 3)] = DecodeValue(r, i, 4, 5);
          break;
        case 3:
          if (!r.IsNull(i, 2)) t.user_attrs[std::string(r.Text(i, 2))] = ParseAttrJson(r.Text(i, 5));
          break;
        case 4:
          if (!r.IsNull(i, 2)) t.system_attrs[std::string(r.Text(i, 2))] = ParseAttrJson(r.Text(i, 5));
          break;
      }
    }
    std::lock_guard<std::mutex> lock(cache_mu_);
    for (const auto& [id, row] : wanted) {
      const FrozenTrial& t = out->at(id);
      if (IsFinished(t.state)) finished_trials_[id] = CachedTrial{row.key, t};
    }
    return Status::Ok();
  }

  const std::unique_ptr<ConnectionPool> pool_;
  const std::string url_;
  const std::string display_url_;
  mutable std::mutex cache_mu_;
  std::unordered_map<TrialId, CachedTrial> finished_trials_;                     // GUARDED_BY(cache_mu_)
  std::map<std::pair<StudyId, std::string>, Distribution> param_distributions_;  // GUARDED_BY(cache_mu_)
  std::unordered_map<std::string, Distribution> parsed_distributions_;           // GUARDED_BY(cache_mu_)
};

// The scheme, when `url` has one of ours.
std::optional<std::string> SchemeOf(const std::string& url) {
  size_t sep = url.find(kSchemeSeparator);
  if (sep == std::string::npos) return std::nullopt;
  std::string scheme = url.substr(0, sep);
  for (const char* s : kSchemes) {
    if (scheme == s) return scheme;
  }
  return std::nullopt;
}

// libpq's keyword/value pairs for `options`, with dial's defaults where the URL sets nothing.
Result<ConnectionConfig> MakeConnectionConfig(const PostgresStorageOptions& options) {
  ConnectionConfig config;
  config.display_url = RedactPostgresUrl(options.url);
  std::optional<std::string> scheme = SchemeOf(options.url);
  if (!scheme) {
    return InvalidArgument("storage URL '" + config.display_url +
                           "' is not a PostgreSQL URL; expected postgresql://user:password@host:port/dbname");
  }
  // libpq reads postgresql:// and postgres:// URIs; SQLAlchemy's driver suffix means nothing to it.
  const std::string libpq_url = "postgresql://" + options.url.substr(scheme->size() + kSchemeSeparator.size());
  // Longest first: the URLs contain the password.
  config.secrets = {options.url, libpq_url};
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(libpq_url.c_str(), &error);
  if (parsed == nullptr) {
    std::string message = error ? error : "out of memory";
    if (error) PQfreemem(error);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    // libpq quotes the URL it could not parse, password and all; without a parse the password is not known
    // apart, so mask what the display URL masked.
    message = config.Scrub(std::move(message));
    return InvalidArgument("storage URL '" + config.display_url + "' is malformed: " + message);
  }
  bool has_timeout = false;
  for (PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    config.keywords.emplace_back(o->keyword, o->val);
    if (std::string_view(o->keyword) == "connect_timeout") has_timeout = true;
    if (std::string_view(o->keyword) == "password" && std::strlen(o->val) >= kMinMaskedPasswordLength) {
      config.secrets.emplace_back(o->val);
    }
  }
  PQconninfoFree(parsed);
  if (!has_timeout) config.keywords.emplace_back("connect_timeout", std::to_string(options.connect_timeout.count()));
  config.keywords.emplace_back("fallback_application_name", kApplicationName);
  config.abandoned_transaction_timeout = options.abandoned_transaction_timeout;
  config.read_only = options.read_only;
  return config;
}

}  // namespace

Status PostgresStorageOptions::Validate() const {
  if (url.empty()) return InvalidArgument("postgres storage: the URL is empty");
  if (max_connections < 1) {
    return InvalidArgument("postgres storage: max_connections must be at least 1, not " +
                           std::to_string(max_connections));
  }
  if (retry_deadline.count() < 0) return InvalidArgument("postgres storage: retry_deadline is negative");
  if (connect_timeout.count() < 1) return InvalidArgument("postgres storage: connect_timeout must be at least 1 s");
  if (abandoned_transaction_timeout.count() < 0) {
    return InvalidArgument("postgres storage: abandoned_transaction_timeout is negative");
  }
  return Status::Ok();
}

std::string RedactPostgresUrl(const std::string& url) {
  std::string out = url;
  size_t sep = out.find(kSchemeSeparator);
  if (sep != std::string::npos) {
    const size_t authority = sep + kSchemeSeparator.size();
    const size_t end = std::min(out.find_first_of("/?", authority), out.size());
    const size_t at = out.rfind('@', end == 0 ? 0 : end - 1);
    if (at != std::string::npos && at >= authority) {
      const size_t colon = out.find(':', authority);
      if (colon != std::string::npos && colon < at) out.replace(colon + 1, at - colon - 1, kMaskedPassword);
    }
  }
  // A password may also come as a query parameter.
  for (size_t pos = out.find("password="); pos != std::string::npos; pos = out.find("password=", pos + 1)) {
    if (pos > 0 && out[pos - 1] != '?' && out[pos - 1] != '&') continue;
    const size_t value = pos + std::string_view("password=").size();
    const size_t end = std::min(out.find('&', value), out.size());
    out.replace(value, end - value, kMaskedPassword);
  }
  return out;
}

Result<PostgresStorageOptions> ParsePostgresUrl(const std::string& url) {
  PostgresStorageOptions options;
  options.url = url;
  DIAL_RETURN_IF_ERROR(MakeConnectionConfig(options).status());
  return options;
}

Result<std::unique_ptr<Storage>> NewPostgresStorage(const PostgresStorageOptions& options) {
  DIAL_RETURN_IF_ERROR(options.Validate());
  DIAL_ASSIGN_OR_RETURN(ConnectionConfig config, MakeConnectionConfig(options));
  DIAL_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn, Connection::Open(config));
  conn->set_retry_deadline(options.retry_deadline);
  // Inspect in a read-only transaction first: a database of another schema must come out of this unchanged.
  postgres::SchemaState state = postgres::SchemaState::kEmpty;
  DIAL_RETURN_IF_ERROR(conn->Transaction(TransactionKind::kSnapshot, [&]() -> Status {
    DIAL_ASSIGN_OR_RETURN(state, postgres::InspectSchema(*conn));
    return Status::Ok();
  }));
  if (options.read_only && state == postgres::SchemaState::kEmpty) {
    return FailedPrecondition("PostgreSQL database " + config.display_url +
                              " has no tables: it holds no study (opened read-only: nothing was created)");
  }
  if (state != postgres::SchemaState::kKnown && !options.read_only) {
    // Checked again under the advisory lock: another process may have created the schema meanwhile.
    DIAL_RETURN_IF_ERROR(conn->Transaction(TransactionKind::kWrite, [&]() -> Status {
      DIAL_RETURN_IF_ERROR(
          conn->Query("SELECT pg_advisory_xact_lock($1)", Params().Add(postgres::kSchemaLock)).status());
      DIAL_ASSIGN_OR_RETURN(postgres::SchemaState now, postgres::InspectSchema(*conn));
      if (now != postgres::SchemaState::kKnown) return postgres::CreateSchema(*conn, now);
      return Status::Ok();
    }));
  }
  auto pool = std::make_unique<ConnectionPool>(config, options.max_connections, options.retry_deadline);
  pool->Add(std::move(conn));
  return std::unique_ptr<Storage>(new PostgresStorage(std::move(pool), options.url, config.display_url));
}

}  // namespace dial
