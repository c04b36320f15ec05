// A thin RAII layer over libpq for the PostgreSQL storage: one connection with its cache of prepared statements,
// text-format parameters and results, libpq failures turned into Status, transactions retried on serialization
// failures and deadlocks, and a small pool of connections shared by the threads of one process.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dial/status.h"

namespace dial::postgres {

// What a connection needs to (re)connect: libpq's keyword/value pairs, and the URL as shown in messages (with the
// password masked).
struct ConnectionConfig {
  std::vector<std::pair<std::string, std::string>> keywords;
  std::string display_url;
  // Text that must never reach a message (the password, the URL as given); libpq may echo it in its errors.
  std::vector<std::string> secrets;
  // idle_in_transaction_session_timeout for each session where the server and the URL set none (0: leave it).
  std::chrono::milliseconds abandoned_transaction_timeout{0};
  // Every session runs with default_transaction_read_only = on: the server refuses any write.
  bool read_only = false;

  // `message` with every secret replaced by the masked URL or "***".
  std::string Scrub(std::string message) const;
};

// One statement's result rows, freed when it goes out of scope. Columns are read as text (libpq's text format).
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* result) : result_(result) {}
  PgResult(PgResult&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
  PgResult& operator=(PgResult&& other) noexcept;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  ~PgResult();

  const PGresult* get() const { return result_; }
  int rows() const { return result_ ? PQntuples(result_) : 0; }
  // The number of rows an INSERT/UPDATE/DELETE changed.
  int64_t affected() const;
  bool IsNull(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }
  std::string_view Text(int row, int column) const;
  int64_t Int(int row, int column) const;
  double Double(int row, int column) const;

 private:
  PGresult* result_ = nullptr;
};

// Parameters of one statement, as text ($1, $2, ... in order of Add); nullopt is SQL NULL.
class Params {
 public:
  Params& Add(int64_t value);
  Params& Add(int value) { return Add(static_cast<int64_t>(value)); }
  Params& Add(double value);  // exact: 17 significant digits
  Params& Add(std::string_view text) {
    values_.emplace_back(std::string(text));
    return *this;
  }
  Params& Add(const char* text) { return Add(std::string_view(text)); }
  Params& Add(const std::string& text) { return Add(std::string_view(text)); }
  Params& AddNull() {
    values_.emplace_back(std::nullopt);
    return *this;
  }
  const std::vector<std::optional<std::string>>& values() const { return values_; }

 private:
  std::vector<std::optional<std::string>> values_;
};

enum class TransactionKind {
  kWrite,     // READ COMMITTED: each statement sees what committed before it; rows are locked explicitly
  kSnapshot,  // REPEATABLE READ READ ONLY: several reads of one consistent snapshot (never a serialization failure)
  kRead,      // no transaction (autocommit): for a single read statement, which is its own snapshot
};

class Connection {
 public:
  // Connects. InvalidArgument when libpq rejects the parameters; Unavailable naming the server and the URL
  // (without its password) when the server cannot be reached or refuses the login.
  static Result<std::unique_ptr<Connection>> Open(const ConnectionConfig& config);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs SQL without parameters (may hold several statements): DDL, BEGIN, COMMIT.
  Status Exec(const char* sql);
  // Runs one statement with parameters; it is prepared on first use and reused by name afterwards.
  Result<PgResult> Query(const std::string& sql, const Params& params = {});

  // Runs `body` in a transaction of `kind`. On a serialization failure or deadlock (SQLSTATE 40001, 40P01) the
  // transaction is rolled back and run again after a jittered, growing backoff, until `retry_deadline`. A
  // connection that the server closed since the last call (a restart, an idle timeout) is re-established once:
  // before a write transaction has sent anything, or anywhere in a read, which can always run again. A write
  // that loses its connection midway gives Unavailable naming the server (the next call reconnects). Any other
  // error rolls back and is returned as is.
  Status Transaction(TransactionKind kind, const std::function<Status()>& body);

  void set_retry_deadline(std::chrono::milliseconds d) { retry_deadline_ = d; }
  // "host:port" of the server, for messages.
  std::string server() const;
  const std::string& display_url() const { return config_.display_url; }

 private:
  enum class ErrorKind { kNone, kRetryable, kConnectionLost, kOther };

  Connection(PGconn* conn, ConnectionConfig config) : conn_(conn), config_(std::move(config)) {}
  // Turns a failed result (or a null one) into a Status and records its kind.
  Status Failure(const PGresult* result, std::string_view what);
  Status Reconnect();
  // dial's session settings (kSessionSettings) and the configured abandoned-transaction timeout.
  Status ApplySessionSettings();

  PGconn* conn_;
  ConnectionConfig config_;
  std::unordered_map<std::string, std::string> prepared_;  // SQL text → prepared statement name
  ErrorKind last_error_ = ErrorKind::kNone;
  std::chrono::milliseconds retry_deadline_{std::chrono::minutes(2)};
};

// Up to `max_connections` connections opened on demand and shared by threads: a caller borrows one for one
// operation and gives it back when its Lease goes. Thread-safe.
class ConnectionPool {
 public:
  ConnectionPool(ConnectionConfig config, int max_connections, std::chrono::milliseconds retry_deadline)
      : config_(std::move(config)), max_connections_(max_connections), retry_deadline_(retry_deadline) {}

  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<Connection> conn) : pool_(pool), conn_(std::move(conn)) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    Connection* operator->() const { return conn_.get(); }
    Connection& operator*() const { return *conn_; }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Connection> conn_;
  };

  // Adds an already open connection (the one the storage checked the schema with).
  void Add(std::unique_ptr<Connection> conn);
  // A free connection, a new one when all are busy and fewer than max_connections are open, else waits for
  // one. Errors of Connection::Open when a new one cannot be opened.
  Result<Lease> Acquire();

 private:
  void Release(std::unique_ptr<Connection> conn);

  const ConnectionConfig config_;
  const int max_connections_;
  const std::chrono::milliseconds retry_deadline_;
  std::mutex mu_;
  std::condition_variable released_;
  std::vector<std::unique_ptr<Connection>> idle_;  // GUARDED_BY(mu_)
  int open_ = 0;                                   // GUARDED_BY(mu_): idle + borrowed + being opened
};

}  // namespace dial::postgres
