// The trial budget of one run of several worker processes (see run_budget.h).
#include "exec/run_budget.h"

#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace dial {
namespace {

// The count is written as this many digits at offset 0, so that each write replaces the whole of the previous one.
constexpr int kCountDigits = 20;

std::string ErrnoText() { return strerror(errno); }

// Holds flock(LOCK_EX) on `fd` while alive. Waits through EINTR: the lock is only ever held for one trial's creation.
class FileLock {
 public:
  explicit FileLock(int fd) : fd_(fd) {
    while ((rc_ = flock(fd_, LOCK_EX)) != 0 && errno == EINTR) {
    }
  }
  ~FileLock() {
    if (rc_ == 0) flock(fd_, LOCK_UN);
  }
  bool ok() const { return rc_ == 0; }

 private:
  const int fd_;
  int rc_ = -1;
};

}  // namespace

Result<std::unique_ptr<RunBudget>> RunBudget::Create(int64_t n_trials) {
  if (n_trials <= 0) return InvalidArgument("n_trials: must be positive, got " + std::to_string(n_trials));
  const char* tmp = std::getenv("TMPDIR");
  const std::string dir = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  std::string path = dir + "/dial-run-XXXXXX";
  const int fd = mkostemp(path.data(), O_CLOEXEC);
  if (fd < 0) return IoError("cannot create the run's trial count in " + dir + ": " + ErrnoText());
  std::unique_ptr<RunBudget> budget(new RunBudget(path, fd, n_trials, /*owner=*/true));
  DIAL_RETURN_IF_ERROR(budget->WriteCount(0));
  return budget;
}

Result<std::unique_ptr<RunBudget>> RunBudget::Open(const std::string& path, int64_t n_trials) {
  if (n_trials <= 0) return InvalidArgument("n_trials: must be positive, got " + std::to_string(n_trials));
  const int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open the run's trial count " + path + ": " + ErrnoText());
  return std::unique_ptr<RunBudget>(new RunBudget(path, fd, n_trials, /*owner=*/false));
}

RunBudget::~RunBudget() {
  close(fd_);
  if (owner_) unlink(path_.c_str());
}

Result<int64_t> RunBudget::ReadCount() const {
  char buffer[kCountDigits + 1] = {};
  const ssize_t n = pread(fd_, buffer, kCountDigits, 0);
  if (n < 0) return IoError("cannot read the run's trial count " + path_ + ": " + ErrnoText());
  if (n == 0) return int64_t{0};
  char* end = nullptr;
  const long long count = std::strtoll(buffer, &end, 10);
  if (end == buffer || count < 0) return IoError("the run's trial count " + path_ + " is damaged");
  return static_cast<int64_t>(count);
}

Status RunBudget::WriteCount(int64_t count) const {
  char buffer[kCountDigits + 1];
  std::snprintf(buffer, sizeof(buffer), "%0*lld", kCountDigits, static_cast<long long>(count));
  if (pwrite(fd_, buffer, kCountDigits, 0) != kCountDigits) {
    return IoError("cannot write the run's trial count " + path_ + ": " + ErrnoText());
  }
  return Status::Ok();
}

Result<std::unique_ptr<Trial>> RunBudget::CreateWithin(const std::function<Result<std::unique_ptr<Trial>>()>& create) {
  FileLock lock(fd_);
  if (!lock.ok()) return IoError("cannot lock the run's trial count " + path_ + ": " + ErrnoText());
  DIAL_ASSIGN_OR_RETURN(int64_t used, ReadCount());
  if (used >= n_trials_) return std::unique_ptr<Trial>();
  DIAL_ASSIGN_OR_RETURN(std::unique_ptr<Trial> trial, create());
  if (trial != nullptr) DIAL_RETURN_IF_ERROR(WriteCount(used + 1));
  return trial;
}

Result<int64_t> RunBudget::Used() const {
  FileLock lock(fd_);
  if (!lock.ok()) return IoError("cannot lock the run's trial count " + path_ + ": " + ErrnoText());
  return ReadCount();
}

}  // namespace dial
