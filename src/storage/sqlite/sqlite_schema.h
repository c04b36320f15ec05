// Optuna 3.1's relational schema for SQLite (docs: shared/docs/optuna-storage-format.md): the DDL that creates
// it and the check of a database's version stamps before dial writes anything to it.
#pragma once

#include "dial/status.h"
#include "storage/sqlite/sqlite_db.h"
#include "storage/storage_internal.h"

namespace dial::sqlite {

using storage_internal::kAlembicRevision;
using storage_internal::kLibraryVersion;
using storage_internal::kSchemaVersion;
using storage_internal::SchemaState;

// Reads (never writes) the tables and version stamps. FailedPrecondition naming the path and the versions
// found when the database has another schema version or alembic revision, or tables but no version stamp;
// IoError when the file is not a SQLite database.
Result<SchemaState> InspectSchema(Database& db);

// Creates every table, index and version row that is missing. Run inside a write transaction.
Status CreateSchema(Database& db);

}  // namespace dial::sqlite
