// The PostgreSQL storage backend (URL `postgresql://user:password@host:port/dbname`): Optuna 3.1's relational
// schema exactly as Optuna creates it on PostgreSQL, so that Optuna (SQLAlchemy + psycopg2) and dial share studies.
// Safe for many processes on many hosts: trial numbers are assigned under a lock on the study's row, state changes
// are compare-and-set under a lock on the trial's row, and transactions that hit a serialization failure or a
// deadlock are retried with backoff (docs/storage.md).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "dial/storage.h"

namespace dial {

struct PostgresStorageOptions {
  // postgresql://user:password@host:port/dbname[?param=value&...], where the parameters are libpq's
  // (sslmode, connect_timeout, options, ...). postgres:// and SQLAlchemy's postgresql+psycopg2:// are accepted.
  std::string url;
  // Connections this storage opens at most, on demand, shared by the threads of the process; a thread waits for a
  // free one beyond that. Each is one server process, so mind the server's max_connections across workers.
  int max_connections = 4;
  // How long a transaction keeps retrying serialization failures and deadlocks before it gives up with
  // Unavailable.
  std::chrono::milliseconds retry_deadline{120'000};
  // How long a connection attempt waits for the server, unless the URL sets connect_timeout.
  std::chrono::seconds connect_timeout{10};
  // How long the server lets one of this storage's sessions sit idle inside a transaction before it ends the session
  // (PostgreSQL's idle_in_transaction_session_timeout), unless the server or the URL (`options=-c...`) sets one:
  // a worker whose host drops off the network mid-transaction must not hold its row locks for hours. 0: leave it.
  // dial's transactions never wait on anything but the server between their statements.
  std::chrono::milliseconds abandoned_transaction_timeout{20'000};
  // Opens without changing the database: no schema or index is created, and every session runs with
  // default_transaction_read_only = on. FailedPrecondition when the database holds no Optuna schema.
  bool read_only = false;

  Status Validate() const;
};

// Checks the scheme and lets libpq parse the rest. InvalidArgument naming the URL (its password masked) when it is
// malformed or has a parameter libpq does not know.
Result<PostgresStorageOptions> ParsePostgresUrl(const std::string& url);

// `url` with the password masked ("postgresql://user:***@host/db"), for messages and logs.
std::string RedactPostgresUrl(const std::string& url);

// Connects and, when the database (its current schema) has no tables yet, creates Optuna's schema. InvalidArgument
// for a malformed URL; Unavailable naming the server and the URL (password masked) when it cannot be reached or
// refuses the login; FailedPrecondition when the database holds another schema version or is not an Optuna
// storage: such a database is only read, never modified.
Result<std::unique_ptr<Storage>> NewPostgresStorage(const PostgresStorageOptions& options);

}  // namespace dial
