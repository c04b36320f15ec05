// The DDL of Optuna 3.1's storage and the version check. Table and column names, types, uniqueness and
// version stamps follow shared/docs/optuna-storage-format.md; the statements are our own.
#include "storage/sqlite/sqlite_schema.h"

#include <set>
#include <string>

namespace dial::sqlite {
namespace {

// IF NOT EXISTS everywhere: two processes may open a new file at once; the second finds the tables made.
constexpr const char* kCreateSchemaSql = R"sql(
CREATE TABLE IF NOT EXISTS studies (
  study_id INTEGER NOT NULL,
  study_name VARCHAR(512) NOT NULL,
  PRIMARY KEY (study_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS ix_studies_study_name ON studies (study_name);
CREATE TABLE IF NOT EXISTS version_info (
  version_info_id INTEGER NOT NULL,
  schema_version INTEGER,
  library_version VARCHAR(256),
  PRIMARY KEY (version_info_id),
  CHECK (version_info_id = 1)
);
CREATE TABLE IF NOT EXISTS study_directions (
  study_direction_id INTEGER NOT NULL,
  direction VARCHAR(8) NOT NULL,
  study_id INTEGER NOT NULL,
  objective INTEGER NOT NULL,
  PRIMARY KEY (study_direction_id),
  UNIQUE (study_id, objective),
  FOREIGN KEY (study_id) REFERENCES studies (study_id)
);
CREATE TABLE IF NOT EXISTS study_user_attributes (
  study_user_attribute_id INTEGER NOT NULL,
  study_id INTEGER,
  "key" VARCHAR(512),
  value_json TEXT,
  PRIMARY KEY (study_user_attribute_id),
  UNIQUE (study_id, "key"),
  FOREIGN KEY (study_id) REFERENCES studies (study_id)
);
CREATE TABLE IF NOT EXISTS study_system_attributes (
  study_system_attribute_id INTEGER NOT NULL,
  study_id INTEGER,
  "key" VARCHAR(512),
  value_json TEXT,
  PRIMARY KEY (study_system_attribute_id),
  UNIQUE (study_id, "key"),
  FOREIGN KEY (study_id) REFERENCES studies (study_id)
);
CREATE TABLE IF NOT EXISTS trials (
  trial_id INTEGER NOT NULL,
  number INTEGER,
  study_id INTEGER,
  state VARCHAR(8) NOT NULL,
  datetime_start DATETIME,
  datetime_complete DATETIME,
  PRIMARY KEY (trial_id),
  FOREIGN KEY (study_id) REFERENCES studies (study_id)
);
CREATE TABLE IF NOT EXISTS trial_user_attributes (
  trial_user_attribute_id INTEGER NOT NULL,
  trial_id INTEGER,
  "key" VARCHAR(512),
  value_json TEXT,
  PRIMARY KEY (trial_user_attribute_id),
  UNIQUE (trial_id, "key"),
  FOREIGN KEY (trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE IF NOT EXISTS trial_system_attributes (
  trial_system_attribute_id INTEGER NOT NULL,
  trial_id INTEGER,
  "key" VARCHAR(512),
  value_json TEXT,
  PRIMARY KEY (trial_system_attribute_id),
  UNIQUE (trial_id, "key"),
  FOREIGN KEY (trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE IF NOT EXISTS trial_params (
  param_id INTEGER NOT NULL,
  trial_id INTEGER,
  param_name VARCHAR(512),
  param_value FLOAT,
  distribution_json TEXT,
  PRIMARY KEY (param_id),
  UNIQUE (trial_id, param_name),
  FOREIGN KEY (trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE IF NOT EXISTS trial_values (
  trial_value_id INTEGER NOT NULL,
  trial_id INTEGER NOT NULL,
  objective INTEGER NOT NULL,
  value FLOAT,
  value_type VARCHAR(7) NOT NULL,
  PRIMARY KEY (trial_value_id),
  UNIQUE (trial_id, objective),
  FOREIGN KEY (trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE IF NOT EXISTS trial_intermediate_values (
  trial_intermediate_value_id INTEGER NOT NULL,
  trial_id INTEGER NOT NULL,
  step INTEGER NOT NULL,
  intermediate_value FLOAT,
  intermediate_value_type VARCHAR(7) NOT NULL,
  PRIMARY KEY (trial_intermediate_value_id),
  UNIQUE (trial_id, step),
  FOREIGN KEY (trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE IF NOT EXISTS trial_heartbeats (
  trial_heartbeat_id INTEGER NOT NULL,
  trial_id INTEGER NOT NULL,
  heartbeat DATETIME NOT NULL,
  PRIMARY KEY (trial_heartbeat_id),
  UNIQUE (trial_id),
  FOREIGN KEY (trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE IF NOT EXISTS alembic_version (
  version_num VARCHAR(32) NOT NULL,
  CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
)sql";

constexpr const char* kCreateIndexSql = "CREATE INDEX IF NOT EXISTS ix_trials_study_id ON trials (study_id);";

}  // namespace

Result<SchemaState> InspectSchema(Database& db) {
  storage_internal::FoundSchema found;
  {
    DIAL_ASSIGN_OR_RETURN(Statement stmt, db.Prepare("SELECT type, name FROM sqlite_master"));
    while (true) {
      DIAL_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      (stmt.Text(0) == "table" ? found.tables : found.indexes).insert(stmt.Text(1));
    }
  }
  if (found.tables.empty()) return SchemaState::kEmpty;
  const std::string what = "sqlite database '" + db.path() + "'";
  DIAL_RETURN_IF_ERROR(storage_internal::CheckVersionTablesExist(found, what));
  {
    DIAL_ASSIGN_OR_RETURN(Statement stmt, db.Prepare("SELECT schema_version FROM version_info"));
    DIAL_ASSIGN_OR_RETURN(bool row, stmt.Step());
    if (row) found.schema_version = stmt.IsNull(0) ? "NULL" : stmt.Text(0);
  }
  {
    DIAL_ASSIGN_OR_RETURN(Statement stmt, db.Prepare("SELECT version_num FROM alembic_version"));
    while (true) {
      DIAL_ASSIGN_OR_RETURN(bool row, stmt.Step());
      if (!row) break;
      found.revision = stmt.Text(0);
      ++found.n_revisions;
    }
  }
  return storage_internal::ClassifyStampedSchema(found, what, "use another file");
}

Status CreateSchema(Database& db) {
  DIAL_RETURN_IF_ERROR(db.Exec(kCreateSchemaSql));
  DIAL_RETURN_IF_ERROR(db.Exec(kCreateIndexSql));
  {
    DIAL_ASSIGN_OR_RETURN(
        Statement stmt,
        db.Prepare("INSERT OR IGNORE INTO version_info (version_info_id, schema_version, library_version) "
                   "VALUES (1, ?, ?)"));
    DIAL_RETURN_IF_ERROR(stmt.Bind(1, kSchemaVersion).Bind(2, kLibraryVersion).Run());
  }
  DIAL_ASSIGN_OR_RETURN(Statement stmt, db.Prepare("INSERT OR IGNORE INTO alembic_version (version_num) VALUES (?)"));
  return stmt.Bind(1, kAlembicRevision).Run();
}

}  // namespace dial::sqlite
