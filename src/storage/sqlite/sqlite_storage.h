// The SQLite storage backend (URL `sqlite:///path.db`): Optuna 3.1's relational schema, safe for many
// processes on one file (WAL, busy timeout, short BEGIN IMMEDIATE transactions retried with backoff).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "dial/storage.h"

namespace dial {

struct SqliteStorageOptions {
  std::string path;  // the database file; relative paths are relative to the working directory
  // false: synchronous=NORMAL under WAL (the default). A commit is durable against a crash of the process but
  //   the last commits may be lost on a power failure or an OS crash (the database stays consistent); commits
  //   cost no fsync, which is most of the per-trial cost otherwise.
  // true (`?synchronous=full`): fsync on every commit, durable against power loss, several times slower.
  bool synchronous_full = false;
  // How long one attempt waits for another process's write lock, and how long a transaction keeps retrying
  // in all before it gives up with Unavailable.
  std::chrono::milliseconds busy_timeout{10'000};
  std::chrono::milliseconds retry_deadline{120'000};
  std::string url;  // as given, for url() and messages; built from `path` when empty
  // Opens the file with SQLITE_OPEN_READONLY and changes nothing: no journal mode, no schema, no index (see
  // NewSqliteStorage). Writes fail.
  bool read_only = false;

  Status Validate() const;
};

// Parses `sqlite:///relative.db`, `sqlite:////absolute.db`, with an optional `?synchronous=normal|full`.
// InvalidArgument naming the URL when it is malformed or has an unknown option.
Result<SqliteStorageOptions> ParseSqliteUrl(const std::string& url);

// Opens (creating when absent or empty) the database. IoError naming the path when the file cannot be
// created or opened (missing or unwritable folder; no file is left behind); FailedPrecondition when it holds
// another schema version or is not an Optuna storage: such a file is only read, never modified.
//
// With `read_only`: NotFound when the file does not exist, FailedPrecondition when it is empty (zero bytes or no
// tables) or not an Optuna storage; nothing is created or written, and the journal mode stays as it is. A
// WAL-mode file is read through its -shm file, which SQLite creates beside it when it can; on read-only media
// without one (the file was closed cleanly) it is opened immutable, which is safe because nobody can write
// there. A WAL-mode file whose -wal file lies on read-only media without its -shm file cannot be read (its
// last commits are in the -wal): FailedPrecondition saying so.
Result<std::unique_ptr<Storage>> NewSqliteStorage(const SqliteStorageOptions& options);

}  // namespace dial
