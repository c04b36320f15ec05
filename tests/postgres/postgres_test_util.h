// Helpers for the tests that run against the throw-away PostgreSQL server (tests/postgres/pg-cluster, started by
// the ctest fixture `postgres`): its URL, a fresh database per test, and raw SQL through libpq.
// Without the server every helper fails the test; none of them skips it.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "dial/status.h"
#include "dial/storage.h"

namespace dial::testing {

// The environment variable naming the file where `pg-cluster start` wrote the server's URL.
inline constexpr const char* kPostgresUrlFileEnv = "DIAL_TEST_POSTGRES_URL_FILE";

// The test server's URL (postgresql://dial:password@127.0.0.1:port/dial). FailedPrecondition saying how to start
// the server when the variable is unset or the file is missing.
Result<std::string> TestServerUrl();

// `url` naming database `dbname` instead of its own.
std::string WithDatabase(const std::string& url, const std::string& dbname);

// Creates an empty database on the test server with a name unique to this process and call (it starts with
// `label`); returns its URL.
Result<std::string> CreateTestDatabase(const std::string& label);

// Drops the database `url` names, closing its other sessions first.
Status DropTestDatabase(const std::string& url);

// Runs `sql` (one or more statements) on `url` through its own libpq connection; returns the rows of the last
// statement, columns joined by '|' and NULL spelled NULL.
Result<std::vector<std::string>> RunSql(const std::string& url, const std::string& sql);

// A storage on a fresh database of the test server; the database is dropped when the last reference goes.
// Null (and a test failure) when it cannot be made.
std::shared_ptr<Storage> NewTemporaryPostgresStorage();

}  // namespace dial::testing
