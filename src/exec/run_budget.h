// The trial budget of one run of several worker processes (the workers of one `dial tune --n-jobs N` pool): how many
// new trials they may create together, counted in a small file that they read and rewrite under flock. It makes
// `n_trials` mean "trials of this call" for a pool as for an in-process run, however many other pools or workers
// share the study (docs/parallel.md, "The budget").
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "dial/status.h"
#include "dial/study.h"

namespace dial {

class RunBudget {
 public:
  // A new counting file (0 trials so far) in $TMPDIR (else /tmp), removed when the returned object is destroyed.
  // IoError naming the folder when it cannot be created.
  static Result<std::unique_ptr<RunBudget>> Create(int64_t n_trials);
  // The counting file of a run created elsewhere (by the pool that started this worker); not removed here.
  // IoError naming the file when it cannot be opened.
  static Result<std::unique_ptr<RunBudget>> Open(const std::string& path, int64_t n_trials);
  ~RunBudget();
  RunBudget(const RunBudget&) = delete;
  RunBudget& operator=(const RunBudget&) = delete;

  const std::string& path() const { return path_; }
  int64_t n_trials() const { return n_trials_; }

  // With the file locked (so that the run's workers take turns): when fewer than n_trials trials were counted, calls
  // `create` and counts the trial it returns (none is counted when it returns nullptr or an error). Returns nullptr
  // without calling `create` when the budget is spent. A worker killed between `create` and the count leaves one
  // trial uncounted (the run makes one trial more), never one counted twice.
  Result<std::unique_ptr<Trial>> CreateWithin(const std::function<Result<std::unique_ptr<Trial>>()>& create);
  // How many trials were counted so far.
  Result<int64_t> Used() const;

 private:
  RunBudget(std::string path, int fd, int64_t n_trials, bool owner)
      : path_(std::move(path)), fd_(fd), n_trials_(n_trials), owner_(owner) {}
  Result<int64_t> ReadCount() const;
  Status WriteCount(int64_t count) const;

  const std::string path_;
  const int fd_;
  const int64_t n_trials_;
  const bool owner_;
};

}  // namespace dial
