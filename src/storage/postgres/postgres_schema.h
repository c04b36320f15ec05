// Optuna 3.1's relational schema as its SQLAlchemy models create it on PostgreSQL (docs:
// shared/docs/optuna-storage-format.md, docs/storage.md): the DDL, and the check of a database's version stamps
// before dial writes anything to it.
#pragma once

#include "dial/status.h"
#include "storage/postgres/pg_connection.h"

namespace dial::postgres {

inline constexpr int kSchemaVersion = 12;                    // version_info.schema_version
inline constexpr const char* kAlembicRevision = "v3.0.0.d";  // alembic_version.version_num
inline constexpr const char* kLibraryVersion = "3.1.0";      // version_info.library_version

enum class SchemaState {
  kEmpty,              // no tables in the current schema: dial creates Optuna's
  kKnown,              // Optuna 3.1's schema with dial's index on trials(study_id)
  kKnownWithoutIndex,  // Optuna 3.1's schema as Optuna created it: dial adds the index (Optuna ignores it)
};

// Reads (never writes) the current schema's tables and version stamps; run it in a transaction. FailedPrecondition
// naming the database (password masked) and the versions found when it has another schema version or alembic
// revision, or tables but no Optuna version stamp.
Result<SchemaState> InspectSchema(Connection& conn);

// Brings a database in `state` to kKnown: the enum types, tables, indexes and version rows that are missing.
// Run it in a write transaction, after taking kSchemaLock, and after InspectSchema has said that it may.
Status CreateSchema(Connection& conn, SchemaState state);

// The transaction-scoped advisory lock that serialises schema creation among dial processes opening one empty
// database at once (pg_advisory_xact_lock's key).
inline constexpr int64_t kSchemaLock = 0x6469616c5f736368;  // "dial_sch"

}  // namespace dial::postgres
