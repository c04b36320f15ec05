// Implementation of the SQLite connection layer: statement cache, Status mapping, retried transactions.
#include "storage/sqlite/sqlite_db.h"

#include <algorithm>
#include <random>
#include <thread>

namespace dial::sqlite {
namespace {

// Backoff between retried transactions: doubles from the first to the cap, each sleep jittered to a random
// fraction so that workers that collided do not collide again in lockstep.
constexpr std::chrono::microseconds kFirstBackoff{500};
constexpr std::chrono::microseconds kMaxBackoff{100'000};
// Sleeps of the busy handler while another connection holds the lock: double from the first to the cap, jittered.
// A dial transaction holds the write lock for ~0.1 ms; SQLite's own handler (sqlite3_busy_timeout) sleeps 1, 2, 5,
// 10, ... 100 ms between tries, so with many processes writing, every waiter sleeps while the file sits unlocked.
constexpr std::chrono::microseconds kFirstBusySleep{50};
constexpr std::chrono::microseconds kMaxBusySleep{2'000};

bool IsBusy(int rc) {
  int primary = rc & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

}  // namespace

Status SqliteError(sqlite3* db, int rc, const std::string& path, std::string_view what) {
  std::string message = "sqlite database '" + path + "': " + std::string(what) + ": " +
                        (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  if (IsBusy(rc)) return Unavailable(message + " (the database stayed locked by other workers through all retries)");
  return IoError(message);
}

Statement::~Statement() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Statement& Statement::Bind(int index, int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}
Statement& Statement::Bind(int index, double value) {
  sqlite3_bind_double(stmt_, index, value);
  return *this;
}
Statement& Statement::Bind(int index, std::string_view text) {
  sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::BindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Result<bool> Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  sqlite3* db = sqlite3_db_handle(stmt_);
  return SqliteError(db, rc, *path_, sqlite3_sql(stmt_));
}

Status Statement::Run() {
  while (true) {
    DIAL_ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return Status::Ok();
  }
}

std::string Statement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_, column);
  if (text == nullptr) return {};
  return std::string(reinterpret_cast<const char*>(text), sqlite3_column_bytes(stmt_, column));
}

std::optional<std::string> Statement::OptionalText(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Text(column);
}

Result<std::unique_ptr<Database>> Database::Open(const std::string& path, int flags, const std::string& uri) {
  sqlite3* db = nullptr;
  int rc = uri.empty() ? sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr)
                       : sqlite3_open_v2(uri.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, nullptr);
  if (rc != SQLITE_OK) {
    Status s = IoError("cannot open sqlite database '" + path +
                       "': " + (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close_v2(db);
    return s;
  }
  sqlite3_extended_result_codes(db, 1);
  return std::unique_ptr<Database>(new Database(db, path));
}

Database::~Database() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Status Database::Exec(const char* sql) {
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_, rc, path_, sql);
  return Status::Ok();
}

Result<Statement> Database::Prepare(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc =
        sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteError(db_, rc, path_, "preparing " + sql);
    it = statements_.emplace(sql, stmt).first;
  }
  return Statement(it->second, &path_);
}

Status Database::RunCached(const char* sql) {
  DIAL_ASSIGN_OR_RETURN(Statement stmt, Prepare(sql));
  return stmt.Run();
}

void Database::SetBusyTimeout(std::chrono::milliseconds timeout) {
  busy_timeout_ = timeout;
  sqlite3_busy_handler(db_, timeout.count() > 0 ? &Database::OnBusy : nullptr, this);
}

int Database::OnBusy(void* self, int attempts) {
  auto* db = static_cast<Database*>(self);
  const auto now = std::chrono::steady_clock::now();
  if (attempts == 0) db->busy_since_ = now;
  if (now - db->busy_since_ >= db->busy_timeout_) return 0;  // give up: the statement returns SQLITE_BUSY
  static thread_local std::minstd_rand jitter{std::random_device{}()};
  const std::chrono::microseconds cap =
      std::min(kFirstBusySleep * (int64_t{1} << std::min(attempts, 10)), kMaxBusySleep);
  std::uniform_int_distribution<int64_t> fraction(cap.count() / 2, cap.count());
  std::this_thread::sleep_for(std::chrono::microseconds(fraction(jitter)));
  return 1;  // try again
}

Status Database::WriteTransaction(const std::function<Status()>& body) {
  return RunTransaction("BEGIN IMMEDIATE", body);
}

Status Database::ReadTransaction(const std::function<Status()>& body) { return RunTransaction("BEGIN", body); }

Status Database::RunTransaction(const char* begin_sql, const std::function<Status()>& body) {
  static thread_local std::minstd_rand jitter{std::random_device{}()};
  const auto deadline = std::chrono::steady_clock::now() + retry_deadline_;
  std::chrono::microseconds backoff = kFirstBackoff;
  while (true) {
    // BEGIN and COMMIT run as cached statements: compiling them costs more than running them.
    Status status = RunCached(begin_sql);
    if (status.ok()) {
      status = body();
      if (status.ok()) status = RunCached("COMMIT");
      if (!status.ok() && !sqlite3_get_autocommit(db_)) {
        // Ignore the rollback's own result: the transaction's error is the one to report.
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      }
    }
    if (status.code() != StatusCode::kUnavailable || std::chrono::steady_clock::now() >= deadline) return status;
    std::uniform_int_distribution<int64_t> fraction(backoff.count() / 4, backoff.count());
    std::this_thread::sleep_for(std::chrono::microseconds(fraction(jitter)));
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

}  // namespace dial::sqlite
