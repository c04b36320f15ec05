// libpq wrapper for the PostgreSQL storage (see pg_connection.h).
#include "storage/postgres/pg_connection.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <thread>

namespace dial::postgres {
namespace {

// SQLSTATEs after which the same transaction may succeed when run again.
constexpr std::string_view kSerializationFailure = "40001";
constexpr std::string_view kDeadlockDetected = "40P01";
// Class 08 (connection exception) and 57P01-57P03 (the server is shutting down or terminated this session).
constexpr std::string_view kConnectionExceptionClass = "08";
constexpr std::string_view kAdminShutdownPrefix = "57P0";

constexpr auto kFirstBackoff = std::chrono::milliseconds(2);
constexpr auto kMaxBackoff = std::chrono::milliseconds(250);
// Statements are named in messages by their first characters.
constexpr size_t kStatementExcerpt = 72;

// Settings every connection runs with, whatever the server's defaults: timestamps written and read as
// "YYYY-MM-DD HH:MM:SS.ffffff" (Optuna's DATETIME text), doubles printed exactly (PostgreSQL 12+ prints the
// shortest exact form for any positive value; older servers need 3 for 17 digits), and UTF-8 text.
constexpr const char* kSessionSettings =
    "SET DateStyle = 'ISO, YMD'; SET extra_float_digits = 3; SET client_encoding = 'UTF8'";
// For a storage opened read-only (StorageOpenOptions::read_only): the server itself refuses every write.
constexpr const char* kReadOnlySessionSetting = "SET default_transaction_read_only = on";

std::string Trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string Excerpt(std::string_view sql) {
  std::string out(sql.substr(0, kStatementExcerpt));
  std::replace(out.begin(), out.end(), '\n', ' ');
  if (sql.size() > kStatementExcerpt) out += "...";
  return out;
}

// libpq prints NOTICEs ("relation already exists, skipping") to stderr by default; they are not errors.
void IgnoreNotice(void*, const char*) {}

bool Succeeded(const PgResult& result) {
  if (result.get() == nullptr) return false;
  ExecStatusType status = PQresultStatus(result.get());
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

std::string ServerOf(const ConnectionConfig& config) {
  std::string host = "localhost";
  std::string port = "5432";
  for (const auto& [key, value] : config.keywords) {
    if ((key == "host" || key == "hostaddr") && !value.empty()) host = value;
    if (key == "port" && !value.empty()) port = value;
  }
  return host + ":" + port;
}

}  // namespace

std::string ConnectionConfig::Scrub(std::string message) const {
  for (const std::string& secret : secrets) {
    if (secret.empty()) continue;
    const std::string mask = secret.find("://") != std::string::npos ? display_url : "***";
    for (size_t pos = message.find(secret); pos != std::string::npos; pos = message.find(secret, pos + mask.size())) {
      message.replace(pos, secret.size(), mask);
    }
  }
  return message;
}

// ---- PgResult ----

PgResult& PgResult::operator=(PgResult&& other) noexcept {
  if (this != &other) {
    if (result_) PQclear(result_);
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}

PgResult::~PgResult() {
  if (result_) PQclear(result_);
}

int64_t PgResult::affected() const {
  const char* n = result_ ? PQcmdTuples(result_) : "";
  return *n ? std::strtoll(n, nullptr, 10) : 0;
}

std::string_view PgResult::Text(int row, int column) const {
  return std::string_view(PQgetvalue(result_, row, column), PQgetlength(result_, row, column));
}

int64_t PgResult::Int(int row, int column) const { return std::strtoll(PQgetvalue(result_, row, column), nullptr, 10); }

double PgResult::Double(int row, int column) const {
  // strtod reads PostgreSQL's "Infinity", "-Infinity" and "NaN" too.
  return std::strtod(PQgetvalue(result_, row, column), nullptr);
}

// ---- Params ----

Params& Params::Add(int64_t value) {
  values_.emplace_back(std::to_string(value));
  return *this;
}

Params& Params::Add(double value) {
  if (std::isnan(value)) {
    values_.emplace_back("NaN");
  } else if (std::isinf(value)) {
    values_.emplace_back(value > 0 ? "Infinity" : "-Infinity");
  } else {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%.17g", value);
    values_.emplace_back(buf);
  }
  return *this;
}

// ---- Connection ----

Result<std::unique_ptr<Connection>> Connection::Open(const ConnectionConfig& config) {
  std::vector<const char*> keys;
  std::vector<const char*> values;
  for (const auto& [key, value] : config.keywords) {
    keys.push_back(key.c_str());
    values.push_back(value.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/0);
  if (conn == nullptr) {
    return Unavailable("cannot connect to PostgreSQL at " + config.display_url + ": libpq is out of memory");
  }
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = config.Scrub(Trim(PQerrorMessage(conn)));
    PQfinish(conn);
    return Unavailable("cannot connect to PostgreSQL server " + ServerOf(config) + " (" + config.display_url +
                       "): " + message);
  }
  PQsetNoticeProcessor(conn, IgnoreNotice, nullptr);
  std::unique_ptr<Connection> out(new Connection(conn, config));
  DIAL_RETURN_IF_ERROR(out->ApplySessionSettings());
  return out;
}

Connection::~Connection() { PQfinish(conn_); }

std::string Connection::server() const {
  const char* host = PQhost(conn_);
  const char* port = PQport(conn_);
  if (host == nullptr || *host == '\0' || PQstatus(conn_) != CONNECTION_OK) return ServerOf(config_);
  return std::string(host) + ":" + (port ? port : "");
}

Status Connection::Failure(const PGresult* result, std::string_view what) {
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  std::string_view sqlstate = state ? state : "";
  std::string message = Trim(result ? PQresultErrorMessage(result) : PQerrorMessage(conn_));
  if (message.empty()) message = Trim(PQerrorMessage(conn_));
  message = config_.Scrub(std::move(message));
  if (PQstatus(conn_) == CONNECTION_BAD || sqlstate.starts_with(kConnectionExceptionClass) ||
      sqlstate.starts_with(kAdminShutdownPrefix)) {
    last_error_ = ErrorKind::kConnectionLost;
    return Unavailable("lost the connection to PostgreSQL server " + server() + " (" + config_.display_url +
                       ") during " + std::string(what) + ": " + message);
  }
  if (sqlstate == kSerializationFailure || sqlstate == kDeadlockDetected) {
    last_error_ = ErrorKind::kRetryable;
    return Unavailable("PostgreSQL " + config_.display_url + ": " + std::string(what) +
                       " kept conflicting with concurrent transactions: " + message);
  }
  last_error_ = ErrorKind::kOther;
  return IoError("PostgreSQL " + config_.display_url + ": " + std::string(what) + " failed" +
                 (sqlstate.empty() ? "" : " (SQLSTATE " + std::string(sqlstate) + ")") + ": " + message);
}

Status Connection::Exec(const char* sql) {
  PgResult result(PQexec(conn_, sql));
  if (!Succeeded(result)) return Failure(result.get(), Excerpt(sql));
  return Status::Ok();
}

Result<PgResult> Connection::Query(const std::string& sql, const Params& params) {
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = "dial_" + std::to_string(prepared_.size());
    // No parameter types: the server infers each from its use (an enum column, a timestamp, an integer).
    PgResult prepared(PQprepare(conn_, name.c_str(), sql.c_str(), 0, nullptr));
    if (!Succeeded(prepared)) return Failure(prepared.get(), Excerpt(sql));
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  std::vector<const char*> values;
  values.reserve(params.values().size());
  for (const std::optional<std::string>& v : params.values()) values.push_back(v ? v->c_str() : nullptr);
  PgResult result(PQexecPrepared(conn_, it->second.c_str(), static_cast<int>(values.size()), values.data(), nullptr,
                                 nullptr, /*resultFormat=text*/ 0));
  if (!Succeeded(result)) return Failure(result.get(), Excerpt(sql));
  return result;
}

Status Connection::Reconnect() {
  PQreset(conn_);
  prepared_.clear();  // prepared statements belong to the old session
  if (PQstatus(conn_) != CONNECTION_OK) {
    return Unavailable("cannot reconnect to PostgreSQL server " + ServerOf(config_) + " (" + config_.display_url +
                       "): " + config_.Scrub(Trim(PQerrorMessage(conn_))));
  }
  PQsetNoticeProcessor(conn_, IgnoreNotice, nullptr);
  return ApplySessionSettings();
}

Status Connection::ApplySessionSettings() {
  if (config_.read_only) DIAL_RETURN_IF_ERROR(Exec(kReadOnlySessionSetting));
  if (config_.abandoned_transaction_timeout.count() <= 0) return Exec(kSessionSettings);
  // A client that vanishes inside a transaction (its host's link cut, its process frozen) would otherwise keep its
  // row locks until the server's TCP keepalive gives up on it, hours by default: a stale trial's heartbeat lock
  // would then block every worker that tries to fail that trial. A value the server or the URL set is kept. One
  // round trip with the other settings.
  const std::string sql = std::string(kSessionSettings) +
                          "; SELECT set_config('idle_in_transaction_session_timeout', '" +
                          std::to_string(config_.abandoned_transaction_timeout.count()) +
                          "', false) WHERE current_setting('idle_in_transaction_session_timeout') = '0'";
  return Exec(sql.c_str());
}

Status Connection::Transaction(TransactionKind kind, const std::function<Status()>& body) {
  const char* begin = nullptr;
  if (kind == TransactionKind::kWrite) begin = "BEGIN";
  if (kind == TransactionKind::kSnapshot) begin = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";
  const bool read_only = kind != TransactionKind::kWrite;
  const auto until = std::chrono::steady_clock::now() + retry_deadline_;
  thread_local std::mt19937 rng{std::random_device{}()};
  auto backoff = std::chrono::duration_cast<std::chrono::microseconds>(kFirstBackoff);
  bool reconnected = false;
  while (true) {
    if (PQstatus(conn_) != CONNECTION_OK) {
      DIAL_RETURN_IF_ERROR(Reconnect());
      reconnected = true;
    }
    last_error_ = ErrorKind::kNone;
    bool began = false;
    Status status = begin ? Exec(begin) : Status::Ok();
    if (status.ok()) {
      began = begin != nullptr;
      status = body();
      if (status.ok() && began) status = Exec("COMMIT");
      if (status.ok()) return status;
    }
    if (last_error_ == ErrorKind::kConnectionLost) {
      // Safe to run again only if nothing was written: a read, or a write whose BEGIN never reached the server.
      if (!reconnected && (read_only || !began)) {
        DIAL_RETURN_IF_ERROR(Reconnect());
        reconnected = true;
        continue;
      }
      if (began && !read_only) {
        return Unavailable(status.message() +
                           " (the transaction was not committed, or its outcome is unknown if "
                           "the connection went during COMMIT)");
      }
      return status;
    }
    if (began) {
      PgResult rollback(PQexec(conn_, "ROLLBACK"));  // a failure here changes nothing: the transaction is over
    }
    if (last_error_ != ErrorKind::kRetryable || std::chrono::steady_clock::now() >= until) return status;
    // Jittered exponential backoff: workers that collided once should not collide again in lockstep.
    std::uniform_int_distribution<int64_t> jitter(backoff.count() / 2, backoff.count());
    std::this_thread::sleep_for(std::chrono::microseconds(jitter(rng)));
    backoff = std::min<std::chrono::microseconds>(backoff * 2, kMaxBackoff);
  }
}

// ---- ConnectionPool ----

ConnectionPool::Lease::~Lease() {
  if (conn_) pool_->Release(std::move(conn_));
}

void ConnectionPool::Add(std::unique_ptr<Connection> conn) {
  conn->set_retry_deadline(retry_deadline_);
  std::lock_guard<std::mutex> lock(mu_);
  ++open_;
  idle_.push_back(std::move(conn));
  released_.notify_one();
}

Result<ConnectionPool::Lease> ConnectionPool::Acquire() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    if (!idle_.empty()) {
      std::unique_ptr<Connection> conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(conn));
    }
    if (open_ < max_connections_) {
      ++open_;
      lock.unlock();
      Result<std::unique_ptr<Connection>> conn = Connection::Open(config_);
      if (!conn.ok()) {
        lock.lock();
        --open_;
        released_.notify_one();  // another waiter may try in its turn
        return conn.status();
      }
      (*conn)->set_retry_deadline(retry_deadline_);
      return Lease(this, std::move(*conn));
    }
    released_.wait(lock);
  }
}

void ConnectionPool::Release(std::unique_ptr<Connection> conn) {
  std::lock_guard<std::mutex> lock(mu_);
  idle_.push_back(std::move(conn));
  released_.notify_one();
}

}  // namespace dial::postgres
