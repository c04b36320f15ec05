// The worker pool (see worker_pool.h): spawns the workers, passes their output on, and cleans up after the ones that
// die.
#include "exec/worker_pool.h"

#include <signal.h>

#include <algorithm>

#include "exec/worker_loop.h"
#include "util/subprocess.h"

extern char** environ;

namespace dial {
namespace {

// How long one round of the supervision loop waits for output, spread over the workers.
constexpr std::chrono::milliseconds kPollRound{50};
constexpr std::chrono::milliseconds kMinPollPerWorker{2};
// Exit statuses of a worker that mean a usage or run error (see tools/dial/cli.h), not a death to recover from.
constexpr int kWorkerExitFailure = 1;
constexpr int kWorkerExitBadInput = 2;

struct Worker {
  std::unique_ptr<Subprocess> process;
  int64_t slot = 0;
};

// Fails the RUNNING trials that the worker `pid` of this host had started; returns their numbers.
Result<std::vector<int64_t>> FailTrialsOfWorker(const WorkerPoolOptions& options, pid_t pid,
                                                const std::string& reason) {
  DIAL_ASSIGN_OR_RETURN(std::vector<FrozenTrial> running,
                        options.storage->GetAllTrials(options.study_id, std::vector{TrialState::kRunning}));
  const std::string host = HostName();
  std::vector<int64_t> failed;
  for (const FrozenTrial& trial : running) {
    auto it = trial.system_attrs.find(std::string(kWorkerAttr));
    if (it == trial.system_attrs.end() || !it->second.is_object()) continue;
    if (it->second.value("host", "") != host || it->second.value("pid", int64_t{-1}) != pid) continue;
    DIAL_ASSIGN_OR_RETURN(
        bool done, FailAbandonedTrial(*options.storage, options.study_id, trial.trial_id, reason, options.retry));
    if (done) failed.push_back(trial.number);
  }
  return failed;
}

std::string NumbersText(const std::vector<int64_t>& numbers) {
  std::string out;
  for (int64_t n : numbers) out += (out.empty() ? "" : ", ") + std::to_string(n);
  return out;
}

}  // namespace

Status WorkerPoolOptions::Validate() const {
  if (n_workers <= 0) return InvalidArgument("n_jobs: must be a positive integer, got " + std::to_string(n_workers));
  if (executable.empty() || worker_argv.empty()) return InvalidArgument("worker pool: no worker command");
  if (storage == nullptr) return InvalidArgument("worker pool: no storage");
  if (!(stop_grace.count() >= 0)) return InvalidArgument("worker pool: negative stop grace");
  return Status::Ok();
}

Status RunWorkerPool(const WorkerPoolOptions& options) {
  DIAL_RETURN_IF_ERROR(options.Validate());
  SpawnOptions spawn;
  spawn.executable = options.executable;
  spawn.argv = options.worker_argv;
  for (char** e = environ; *e != nullptr; ++e) spawn.env.emplace_back(*e);

  auto emit = [&](const std::string& message) {
    if (options.on_event) options.on_event(message);
  };
  const OutputLineCallback forward = [&](OutputStream stream, std::string_view line) {
    const auto& sink = stream == OutputStream::kStdout ? options.on_worker_stdout : options.on_worker_stderr;
    if (sink) sink(line);
  };

  std::vector<Worker> workers;
  auto start_worker = [&](int64_t slot) -> Status {
    Result<std::unique_ptr<Subprocess>> process = Subprocess::Spawn(spawn);
    if (!process.ok()) return process.status().WithContext("starting worker " + std::to_string(slot));
    if (options.on_worker_started) options.on_worker_started((*process)->pid());
    workers.push_back(Worker{std::move(process).value(), slot});
    return Status::Ok();
  };
  for (int64_t slot = 0; slot < options.n_workers; ++slot) {
    Status started = start_worker(slot);
    if (!started.ok()) {
      for (Worker& w : workers) w.process->Terminate(options.stop_grace, forward);
      return started;
    }
  }

  bool stopping = false;
  bool killed = false;
  auto stop_deadline = std::chrono::steady_clock::time_point::max();
  int64_t deaths_without_trial = 0;
  Status error = Status::Ok();
  while (!workers.empty()) {
    if (!stopping && options.stop_flag != nullptr && options.stop_flag->load()) {
      stopping = true;
      emit("stopping: SIGTERM to " + std::to_string(workers.size()) + " worker(s)");
      for (Worker& w : workers) w.process->SignalGroup(SIGTERM);
      stop_deadline = std::chrono::steady_clock::now() +
                      std::chrono::duration_cast<std::chrono::steady_clock::duration>(options.stop_grace);
    }
    if (stopping && !killed && std::chrono::steady_clock::now() >= stop_deadline) {
      killed = true;
      emit("workers still running after the grace period: SIGKILL");
      for (Worker& w : workers) w.process->SignalGroup(SIGKILL);
    }
    const auto per_worker =
        std::max(kMinPollPerWorker, kPollRound / static_cast<int64_t>(std::max<size_t>(workers.size(), 1)));
    for (Worker& w : workers) w.process->ReadOutput(per_worker, forward);

    for (size_t i = 0; i < workers.size();) {
      Worker& w = workers[i];
      if (!w.process->HasExited()) {
        ++i;
        continue;
      }
      const pid_t pid = w.process->pid();
      const int64_t slot = w.slot;
      const ExitInfo exit = w.process->Wait();
      w.process->ReadOutput(std::chrono::milliseconds(0), forward);  // what it wrote last
      workers.erase(workers.begin() + static_cast<std::ptrdiff_t>(i));
      if (exit.success()) continue;  // the study's budget (or its own limit) is spent
      // Whatever it was running is abandoned now; a worker ended by our stop request is "interrupted".
      const std::string reason = stopping ? std::string(kInterruptedReason) : exit.Describe();
      Result<std::vector<int64_t>> failed = FailTrialsOfWorker(options, pid, reason);
      if (!failed.ok()) {
        if (error.ok()) error = failed.status().WithContext("failing the trials of worker " + std::to_string(pid));
        continue;
      }
      if (stopping) continue;
      if (!exit.signaled && (exit.code == kWorkerExitFailure || exit.code == kWorkerExitBadInput)) {
        if (error.ok()) error = Internal("worker " + std::to_string(pid) + " " + exit.Describe() + " (see its error)");
        continue;
      }
      std::string message = "worker " + std::to_string(pid) + " " + exit.Describe();
      if (!failed->empty()) message += "; trial " + NumbersText(*failed) + " failed";
      deaths_without_trial = failed->empty() ? deaths_without_trial + 1 : 0;
      if (deaths_without_trial > options.max_deaths_without_trial) {
        if (error.ok()) {
          error = Internal(message + "; " + std::to_string(deaths_without_trial) +
                           " workers in a row died outside any trial, not replacing it");
        }
        emit(message);
        continue;
      }
      emit(message + "; starting a replacement");
      Status restarted = start_worker(slot);
      if (!restarted.ok() && error.ok()) error = restarted;
    }
  }
  if (stopping) return Cancelled("interrupted");
  return error;
}

}  // namespace dial
