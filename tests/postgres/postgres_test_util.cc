// Helpers for the PostgreSQL tests (see postgres_test_util.h).
#include "postgres_test_util.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace dial::testing {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

std::string DatabaseOf(const std::string& url) {
  size_t authority = url.find("://");
  size_t slash = url.find('/', authority == std::string::npos ? 0 : authority + 3);
  if (slash == std::string::npos) return "";
  size_t end = url.find('?', slash);
  return url.substr(slash + 1, end == std::string::npos ? std::string::npos : end - slash - 1);
}

}  // namespace

Result<std::string> TestServerUrl() {
  const char* file = std::getenv(kPostgresUrlFileEnv);
  if (file == nullptr || *file == '\0') {
    return FailedPrecondition(std::string(kPostgresUrlFileEnv) +
                              " is not set: run these tests through ctest, whose fixture `postgres` starts a server "
                              "(tests/postgres/pg-cluster start DIR writes DIR/url)");
  }
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string url = Trim(ss.str());
  if (!in || url.empty()) {
    return FailedPrecondition(std::string("no PostgreSQL test server: cannot read its URL from ") + file +
                              " (did the ctest test postgres.start fail?)");
  }
  return url;
}

std::string WithDatabase(const std::string& url, const std::string& dbname) {
  size_t authority = url.find("://");
  size_t slash = url.find('/', authority == std::string::npos ? 0 : authority + 3);
  if (slash == std::string::npos) return url + "/" + dbname;
  size_t end = url.find('?', slash);
  return url.substr(0, slash + 1) + dbname + (end == std::string::npos ? "" : url.substr(end));
}

Result<std::vector<std::string>> RunSql(const std::string& url, const std::string& sql) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    PQfinish(conn);
    return Unavailable("cannot connect to the test server: " + Trim(message));
  }
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  PGresult* result = PQexec(conn, sql.c_str());
  ExecStatusType status = PQresultStatus(result);
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    std::string message = PQresultErrorMessage(result);
    PQclear(result);
    PQfinish(conn);
    return IoError(sql + ": " + Trim(message));
  }
  std::vector<std::string> rows;
  for (int i = 0; i < PQntuples(result); ++i) {
    std::string row;
    for (int j = 0; j < PQnfields(result); ++j) {
      if (j) row += "|";
      row += PQgetisnull(result, i, j) ? "NULL" : PQgetvalue(result, i, j);
    }
    rows.push_back(std::move(row));
  }
  PQclear(result);
  PQfinish(conn);
  return rows;
}

Result<std::string> CreateTestDatabase(const std::string& label) {
  static std::atomic<int> counter{0};
  DIAL_ASSIGN_OR_RETURN(std::string server, TestServerUrl());
  // Unique across the processes ctest runs at once (-j) and the calls of one process. Identifiers are at most 63
  // bytes.
  std::string name = "dial_" + label.substr(0, 24) + "_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
  DIAL_RETURN_IF_ERROR(RunSql(server, "CREATE DATABASE \"" + name + "\"").status());
  return WithDatabase(server, name);
}

Status DropTestDatabase(const std::string& url) {
  DIAL_ASSIGN_OR_RETURN(std::string server, TestServerUrl());
  const std::string name = DatabaseOf(url);
  Status forced = RunSql(server, "DROP DATABASE IF EXISTS \"" + name + "\" WITH (FORCE)").status();
  if (forced.ok()) return forced;
  // FORCE refuses when a session of another role is in the database (a server background worker): end ours, then
  // let a plain DROP wait for the rest.
  DIAL_RETURN_IF_ERROR(RunSql(server, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" +
                                          name + "' AND usename = current_user AND pid <> pg_backend_pid()")
                           .status());
  return RunSql(server, "DROP DATABASE IF EXISTS \"" + name + "\"").status();
}

std::shared_ptr<Storage> NewTemporaryPostgresStorage() {
  Result<std::string> url = CreateTestDatabase("storage");
  if (!url.ok()) {
    ADD_FAILURE() << url.status().ToString();
    return nullptr;
  }
  Result<std::shared_ptr<Storage>> opened = OpenStorage(*url);
  if (!opened.ok()) {
    ADD_FAILURE() << opened.status().ToString();
    (void)DropTestDatabase(*url);
    return nullptr;
  }
  std::shared_ptr<Storage> inner = *opened;
  // The returned pointer owns `inner`; when it goes, the storage's connections close and the database is dropped.
  return std::shared_ptr<Storage>(inner.get(), [inner, db = *url](Storage*) mutable {
    inner.reset();
    Status dropped = DropTestDatabase(db);
    if (!dropped.ok()) ADD_FAILURE() << dropped.ToString();
  });
}

}  // namespace dial::testing
