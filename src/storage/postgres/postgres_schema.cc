// The DDL of Optuna 3.1's storage on PostgreSQL and the version check. Types, constraints and names follow what
// Optuna's SQLAlchemy models emit on PostgreSQL (checked against a database Optuna created, by
// tests/python/optuna_interop.py postgres_schema); the statements are our own.
#include "storage/postgres/postgres_schema.h"

#include <set>
#include <string>

namespace dial::postgres {
namespace {

// SQLAlchemy stores each Python enum as a PostgreSQL ENUM type named after the class, lower-cased. A type can
// outlive its tables (DROP TABLE leaves it), so each is created only when absent.
constexpr const char* kCreateTypesSql = R"sql(
DO $$ BEGIN
  CREATE TYPE studydirection AS ENUM ('NOT_SET', 'MINIMIZE', 'MAXIMIZE');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN
  CREATE TYPE trialstate AS ENUM ('RUNNING', 'COMPLETE', 'PRUNED', 'FAIL', 'WAITING');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN
  CREATE TYPE trialvaluetype AS ENUM ('FINITE', 'INF_POS', 'INF_NEG');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
DO $$ BEGIN
  CREATE TYPE trialintermediatevaluetype AS ENUM ('FINITE', 'INF_POS', 'INF_NEG', 'NAN');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;
)sql";

// SERIAL is what SQLAlchemy emits for an integer primary key (an integer column defaulting to its own sequence,
// <table>_<column>_seq); FLOAT(53) is double precision; DATETIME is a timestamp without time zone. Unnamed
// constraints get PostgreSQL's default names (<table>_<columns>_key, _pkey, _fkey, _check), as under Optuna.
constexpr const char* kCreateTablesSql = R"sql(
CREATE TABLE IF NOT EXISTS studies (
  study_id SERIAL NOT NULL,
  study_name VARCHAR(512) NOT NULL,
  PRIMARY KEY (study_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS ix_studies_study_name ON studies (study_name);
CREATE TABLE IF NOT EXISTS version_info (
  version_info_id INTEGER NOT NULL,
  schema_version INTEGER,
  library_version VARCHAR(256),
  PRIMARY KEY (version_info_id),
  CHECK (version_info_id=1)
);
CREATE TABLE IF NOT EXISTS study_directions (
  study_direction_id SERIAL NOT NULL,
  direction studydirection NOT NULL,
  study_id INTEGER NOT NULL,
  objective INTEGER NOT NULL,
  PRIMARY KEY (study_direction_id),
  UNIQUE (study_id, objective),
  FOREIGN KEY (study_id) REFERENCES studies (study_id)
);
CREATE TABLE IF NOT EXISTS study_user_attributes (
  study_user_attribute_id SERIAL NOT NULL,
  study_id INTEGER,
  key VARCHAR(512),
  value_json TEXT,
  PRIMARY KEY (study_user_attribute_id),
  UNIQUE (study_id, key),
  FOREIGN KEY (study_id) REFERENCES studies (study_id)
);
CREATE TABLE IF NOT EXISTS study_system_attributes (
  study_system_attribute_id SERIAL NOT NULL,
  study_id INTEGER,
  key VARCHAR(512),
  value_json TEXT,
  PRIMARY KEY (study_system_attribute_id),
  UNIQUE (study_id, key),
  FOREIGN KEY (study_id) REFERENCES studies (study_id)
);
CREATE TABLE IF NOT EXISTS trials (
  trial_id SERIAL NOT NULL,
  number INTEGER,
  study_id INTEGER,
  state trialstate NOT NULL,
  datetime_start TIMESTAMP WITHOUT TIME ZONE,
  datetime_complete TIMESTAMP WITHOUT TIME ZONE,
  PRIMARY KEY (trial_id),
  FOREIGN KEY (study_id) REFERENCES studies (study_id)
);
CREATE TABLE IF NOT EXISTS trial_user_attributes (
  trial_user_attribute_id SERIAL NOT NULL,
  trial_id INTEGER,
  key VARCHAR(512),
  value_json TEXT,
  PRIMARY KEY (trial_user_attribute_id),
  UNIQUE (trial_id, key),
  FOREIGN KEY (trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE IF NOT EXISTS trial_system_attributes (
  trial_system_attribute_id SERIAL NOT NULL,
  trial_id INTEGER,
  key VARCHAR(512),
  value_json TEXT,
  PRIMARY KEY (trial_system_attribute_id),
  UNIQUE (trial_id, key),
  FOREIGN KEY (trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE IF NOT EXISTS trial_params (
  param_id SERIAL NOT NULL,
  trial_id INTEGER,
  param_name VARCHAR(512),
  param_value FLOAT(53),
  distribution_json TEXT,
  PRIMARY KEY (param_id),
  UNIQUE (trial_id, param_name),
  FOREIGN KEY (trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE IF NOT EXISTS trial_values (
  trial_value_id SERIAL NOT NULL,
  trial_id INTEGER NOT NULL,
  objective INTEGER NOT NULL,
  value FLOAT(53),
  value_type trialvaluetype NOT NULL,
  PRIMARY KEY (trial_value_id),
  UNIQUE (trial_id, objective),
  FOREIGN KEY (trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE IF NOT EXISTS trial_intermediate_values (
  trial_intermediate_value_id SERIAL NOT NULL,
  trial_id INTEGER NOT NULL,
  step INTEGER NOT NULL,
  intermediate_value FLOAT(53),
  intermediate_value_type trialintermediatevaluetype NOT NULL,
  PRIMARY KEY (trial_intermediate_value_id),
  UNIQUE (trial_id, step),
  FOREIGN KEY (trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE IF NOT EXISTS trial_heartbeats (
  trial_heartbeat_id SERIAL NOT NULL,
  trial_id INTEGER NOT NULL,
  heartbeat TIMESTAMP WITHOUT TIME ZONE NOT NULL,
  PRIMARY KEY (trial_heartbeat_id),
  UNIQUE (trial_id),
  FOREIGN KEY (trial_id) REFERENCES trials (trial_id)
);
CREATE TABLE IF NOT EXISTS alembic_version (
  version_num VARCHAR(32) NOT NULL,
  CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)
);
)sql";

// dial's index on trials(study_id) (storage_internal::kTrialsStudyIndexName).
constexpr const char* kCreateIndexSql = "CREATE INDEX IF NOT EXISTS ix_trials_study_id ON trials (study_id)";

}  // namespace

Result<SchemaState> InspectSchema(Connection& conn) {
  // Relations of the schema that unqualified names resolve to (the first of search_path), tables and views apart
  // from indexes. pg_catalog rather than information_schema: the latter hides what this role may not read.
  DIAL_ASSIGN_OR_RETURN(
      PgResult relations,
      conn.Query("SELECT c.relname, c.relkind FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace "
                 "n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind IN "
                 "('r', 'p', 'v', 'm', 'f', 'i')"));
  storage_internal::FoundSchema found;
  for (int i = 0; i < relations.rows(); ++i) {
    (relations.Text(i, 1) == "i" ? found.indexes : found.tables).emplace(relations.Text(i, 0));
  }
  if (found.tables.empty()) return SchemaState::kEmpty;
  const std::string what = "PostgreSQL database " + conn.display_url();
  DIAL_RETURN_IF_ERROR(storage_internal::CheckVersionTablesExist(found, what));
  {
    DIAL_ASSIGN_OR_RETURN(PgResult rows, conn.Query("SELECT schema_version FROM version_info"));
    if (rows.rows() > 0) found.schema_version = rows.IsNull(0, 0) ? "NULL" : std::string(rows.Text(0, 0));
  }
  {
    DIAL_ASSIGN_OR_RETURN(PgResult rows, conn.Query("SELECT version_num FROM alembic_version"));
    found.n_revisions = rows.rows();
    if (found.n_revisions > 0) found.revision = std::string(rows.Text(0, 0));
  }
  return storage_internal::ClassifyStampedSchema(found, what, "use another database");
}

Status CreateSchema(Connection& conn, SchemaState state) {
  if (state == SchemaState::kEmpty) {
    DIAL_RETURN_IF_ERROR(conn.Exec(kCreateTypesSql));
    DIAL_RETURN_IF_ERROR(conn.Exec(kCreateTablesSql));
    DIAL_RETURN_IF_ERROR(conn.Query("INSERT INTO version_info (version_info_id, schema_version, library_version) "
                                    "VALUES (1, $1, $2) ON CONFLICT DO NOTHING",
                                    Params().Add(kSchemaVersion).Add(kLibraryVersion))
                             .status());
    DIAL_RETURN_IF_ERROR(conn.Query("INSERT INTO alembic_version (version_num) VALUES ($1) ON CONFLICT DO NOTHING",
                                    Params().Add(kAlembicRevision))
                             .status());
  }
  return conn.Exec(kCreateIndexSql);
}

}  // namespace dial::postgres
