// The worker pool: runs N worker processes (each `dial worker` of the same binary) against one study and supervises
// them. A worker that dies (segfault, abort, SIGKILL) has its RUNNING trial failed with the reason ("killed by signal
// 9 (SIGKILL)") and is replaced; a stop request reaches every worker as SIGTERM, then SIGKILL after a grace period,
// and no trial of theirs is left RUNNING (docs/parallel.md).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dial/status.h"
#include "dial/storage.h"
#include "exec/heartbeat.h"

namespace dial {

struct WorkerPoolOptions {
  int64_t n_workers = 1;
  std::string executable;                // the worker program (a path)
  std::vector<std::string> worker_argv;  // argv[0] included; the same for every worker
  std::shared_ptr<Storage> storage;
  StudyId study_id = -1;
  RetryPolicy retry;  // for the trial of a worker that died
  // After a stop request (SIGTERM sent to every worker), how long they get to end their trials before SIGKILL.
  std::chrono::duration<double> stop_grace{15.0};
  const std::atomic<bool>* stop_flag = nullptr;
  // A worker that dies while running no trial (so that replacing it makes no progress) is replaced at most this
  // many times in a row before the pool gives up.
  int64_t max_deaths_without_trial = 3;
  // Each line a worker writes, and what the pool itself has to say ("worker 1234 killed by signal 9 (SIGKILL);
  // trial 7 failed").
  std::function<void(std::string_view line)> on_worker_stdout;
  std::function<void(std::string_view line)> on_worker_stderr;
  std::function<void(const std::string& message)> on_event;
  // Called with the pid of each worker as it starts (replacements too), before it can start a trial.
  std::function<void(pid_t pid)> on_worker_started;

  Status Validate() const;
};

// Runs the pool until every worker has ended: exit 0 (the study's budget is spent), or an error. Returns Cancelled
// when stopped by the flag, Internal naming the worker when one exits with an error (the others finish), OK
// otherwise.
Status RunWorkerPool(const WorkerPoolOptions& options);

}  // namespace dial
