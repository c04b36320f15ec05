// Optuna 3.1's relational schema as its SQLAlchemy models create it on PostgreSQL (docs:
// shared/docs/optuna-storage-format.md, docs/storage.md): the DDL, and the check of a database's version stamps
// before dial writes anything to it.
#pragma once

#include "dial/status.h"
#include "storage/postgres/pg_connection.h"
#include "storage/storage_internal.h"

namespace dial::postgres {

using storage_internal::kAlembicRevision;
using storage_internal::kLibraryVersion;
using storage_internal::kSchemaVersion;
using storage_internal::SchemaState;

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
