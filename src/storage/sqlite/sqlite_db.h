// A thin RAII layer over one sqlite3 connection: a cache of prepared statements, typed binds and columns,
// SQLite result codes turned into Status, and transactions retried on SQLITE_BUSY/LOCKED with backoff.
// Not thread-safe: the owner serialises access (SqliteStorage holds a mutex around every call).
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "dial/status.h"

namespace dial::sqlite {

// A prepared statement borrowed from the connection's cache; reset and unbound when it goes out of scope.
class Statement {
 public:
  explicit Statement(sqlite3_stmt* stmt, const std::string* path) : stmt_(stmt), path_(path) {}
  Statement(Statement&& other) noexcept : stmt_(other.stmt_), path_(other.path_) { other.stmt_ = nullptr; }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are 1-based, as in sqlite3_bind_*.
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, double value);
  Statement& Bind(int index, std::string_view text);
  Statement& Bind(int index, const char* text) { return Bind(index, std::string_view(text)); }
  Statement& Bind(int index, const std::string& text) { return Bind(index, std::string_view(text)); }
  Statement& Bind(int index, int value) { return Bind(index, static_cast<int64_t>(value)); }
  Statement& BindNull(int index);

  // Makes the statement ready to bind and run again (bindings are kept).
  void Reset() { sqlite3_reset(stmt_); }
  // True when a row is ready; false when done.
  Result<bool> Step();
  // Steps to completion (a statement that returns no rows).
  Status Run();

  bool IsNull(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  int64_t Int(int column) const { return sqlite3_column_int64(stmt_, column); }
  double Double(int column) const { return sqlite3_column_double(stmt_, column); }
  std::string Text(int column) const;
  std::optional<std::string> OptionalText(int column) const;

 private:
  sqlite3_stmt* stmt_;
  const std::string* path_;  // for messages
};

// Turns a SQLite result code into a Status: BUSY/LOCKED → Unavailable (retried by the transaction helpers),
// anything else → IoError naming the database path and SQLite's message.
Status SqliteError(sqlite3* db, int rc, const std::string& path, std::string_view what);

class Database {
 public:
  // Opens `path` with sqlite3_open_v2 `flags` (SQLITE_OPEN_READONLY, or READWRITE|CREATE). IoError naming the
  // path when SQLite cannot open it. With a `uri` ("file:...?immutable=1"), opens that instead (SQLITE_OPEN_URI)
  // and still names `path` in messages.
  static Result<std::unique_ptr<Database>> Open(const std::string& path, int flags, const std::string& uri = "");
  ~Database();

  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }

  // Runs one or more statements that return no rows (DDL, PRAGMA, BEGIN/COMMIT).
  Status Exec(const char* sql);
  // A cached prepared statement for `sql` (compiled once per connection).
  Result<Statement> Prepare(const std::string& sql);
  int64_t Changes() const { return sqlite3_changes64(db_); }
  int64_t LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }

  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT: the write lock is taken up front, so a transaction never
  // has to upgrade a read lock (the case where SQLite returns BUSY without waiting). On Unavailable (busy or
  // locked) the transaction is rolled back and run again after a jittered backoff, until `retry_deadline`;
  // any other error rolls back and is returned as is.
  Status WriteTransaction(const std::function<Status()>& body);
  // The same with a deferred BEGIN: a consistent snapshot for several reads.
  Status ReadTransaction(const std::function<Status()>& body);

  void set_retry_deadline(std::chrono::milliseconds d) { retry_deadline_ = d; }
  // How long a statement waits for another connection's lock before it fails with SQLITE_BUSY: tries again after
  // short jittered sleeps (OnBusy), not SQLite's own 1 to 100 ms steps.
  void SetBusyTimeout(std::chrono::milliseconds timeout);

 private:
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Status RunTransaction(const char* begin_sql, const std::function<Status()>& body);
  Status RunCached(const char* sql);
  // sqlite3_busy_handler callback: `attempts` is how many times it was called for this lock (0 the first time).
  static int OnBusy(void* self, int attempts);

  sqlite3* db_;
  std::string path_;
  std::unordered_map<std::string, sqlite3_stmt*> statements_;
  std::chrono::milliseconds retry_deadline_{std::chrono::minutes(2)};
  std::chrono::milliseconds busy_timeout_{0};
  std::chrono::steady_clock::time_point busy_since_;  // when the current wait for a lock began
};

}  // namespace dial::sqlite
