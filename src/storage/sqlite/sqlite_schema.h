// Optuna 3.1's relational schema for SQLite (docs: shared/docs/optuna-storage-format.md): the DDL that creates
// it and the check of a database's version stamps before dial writes anything to it.
#pragma once

#include "dial/status.h"
#include "storage/sqlite/sqlite_db.h"

namespace dial::sqlite {

inline constexpr int kSchemaVersion = 12;                    // version_info.schema_version
inline constexpr const char* kAlembicRevision = "v3.0.0.d";  // alembic_version.version_num
inline constexpr const char* kLibraryVersion = "3.1.0";      // version_info.library_version

enum class SchemaState {
  kEmpty,              // no tables at all: dial creates the schema
  kKnown,              // Optuna 3.1's schema with its index on trials(study_id)
  kKnownWithoutIndex,  // Optuna 3.1's schema as Optuna wrote it: dial adds the index (Optuna ignores it)
};

// Reads (never writes) the tables and version stamps. FailedPrecondition naming the path and the versions
// found when the database has another schema version or alembic revision, or tables but no version stamp;
// IoError when the file is not a SQLite database.
Result<SchemaState> InspectSchema(Database& db);

// Creates every table, index and version row that is missing. Run inside a write transaction.
Status CreateSchema(Database& db);

}  // namespace dial::sqlite
