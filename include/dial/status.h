// Status and Result<T>: how every dial operation reports an expected failure (bad input, missing file,
// locked database) without exceptions. A message always names the input that is wrong.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace dial {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // bad input from the user: a config, a distribution, a value (CLI exit 2)
  kNotFound,            // a study, trial or file that does not exist (CLI exit 2)
  kAlreadyExists,       // a study name taken
  kFailedPrecondition,  // an operation on an object in the wrong state (a finished trial)
  kOutOfRange,          // a search space exhausted (grid): the study should stop
  kUnavailable,         // a transient condition (database busy) that outlived its retries
  kIoError,             // the file system or a database failed
  kCancelled,           // interrupted by the user (Ctrl-C, SIGTERM)
  kDeadlineExceeded,    // a timeout
  kPruned,              // control flow: the objective asks that its trial end as PRUNED
  kInternal,            // a bug in dial
  kUnimplemented,
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "InvalidArgument: study.yaml:4: search_space.lr: low (0.1) > high (0.01)"
  std::string ToString() const;
  // Returns a Status with the same code and `prefix + ": " + message`.
  Status WithContext(const std::string& prefix) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status OutOfRange(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status Cancelled(std::string m) { return {StatusCode::kCancelled, std::move(m)}; }
inline Status DeadlineExceeded(std::string m) { return {StatusCode::kDeadlineExceeded, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status Unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
// Returned by an objective (or Trial::ShouldPrune's caller) to end its trial as PRUNED.
inline Status TrialPruned(std::string m = "pruned") { return {StatusCode::kPruned, std::move(m)}; }

// Either a value or a non-OK Status. Accessing the value of an error Result is a programmer error.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).ok() && "Result built from an OK Status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }
  T& value() & {
    assert(ok());
    return std::get<T>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(v_);
  }
  // By value, so that `for (auto& t : *study.GetTrials())` does not dangle.
  T value() && {
    assert(ok());
    return std::get<T>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace dial

#define DIAL_CONCAT_INNER_(a, b) a##b
#define DIAL_CONCAT_(a, b) DIAL_CONCAT_INNER_(a, b)

// Returns from the enclosing function when `expr` (a Status) is not OK.
#define DIAL_RETURN_IF_ERROR(expr)               \
  do {                                           \
    ::dial::Status dial_status_ = (expr);        \
    if (!dial_status_.ok()) return dial_status_; \
  } while (0)

// `DIAL_ASSIGN_OR_RETURN(auto x, Foo());` declares x from a Result or returns its Status.
#define DIAL_ASSIGN_OR_RETURN(lhs, expr) DIAL_ASSIGN_OR_RETURN_IMPL_(DIAL_CONCAT_(dial_result_, __LINE__), lhs, expr)
#define DIAL_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()
