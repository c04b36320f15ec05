// Running a study's trials from the CLI (see run.h): stop signals, progress, the in-process worker loop and the
// pool of worker processes.
#include "run.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>

#include "cli.h"
#include "exec/worker_loop.h"
#include "exec/worker_pool.h"

namespace dial::cli {
namespace {

// Set by SIGINT/SIGTERM; read by the loops and by the running command trial.
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the stop flag is set from a signal handler");

extern "C" void OnStopSignal(int) { g_stop.store(true); }

// The program a pool starts its workers from: this very binary.
constexpr const char* kSelfExecutable = "/proc/self/exe";
// How much longer than a command trial's own SIGTERM→SIGKILL grace a stopping worker gets before it is killed:
// time to store the failed trial after its trainer ended.
constexpr double kWorkerStopMarginSeconds = 5.0;

std::string FormatElapsed(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds);
  char buffer[32];
  if (s >= 3600) {
    std::snprintf(buffer, sizeof(buffer), "%lldh%02lldm%02llds", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  } else if (s >= 60) {
    std::snprintf(buffer, sizeof(buffer), "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else {
    std::snprintf(buffer, sizeof(buffer), "%.1fs", seconds);
  }
  return buffer;
}

std::string ParamsText(const FrozenTrial& trial) {
  std::string out;
  for (const auto& [name, value] : trial.ExternalParams()) {
    const double* d = std::get_if<double>(&value);
    out += (out.empty() ? "" : ", ") + name + "=" + (d != nullptr ? FormatShort(*d) : ParamValueToString(value));
  }
  return out;
}

// The progress of this run: on a terminal one status line redrawn in place (and refreshed every second by a
// thread, so the elapsed time moves during a long trial); elsewhere one plain log line per finished trial.
class Progress {
 public:
  Progress(bool tty, std::optional<int64_t> total, std::vector<StudyDirection> directions,
           std::optional<FrozenTrial> best_before)
      : tty_(tty), total_(total), directions_(std::move(directions)), start_(std::chrono::steady_clock::now()) {
    if (best_before.has_value() && !best_before->values.empty()) {
      best_value_ = best_before->values[0];
      best_number_ = best_before->number;
    }
  }

  void Start() {
    if (!tty_) return;
    std::lock_guard<std::mutex> lock(mu_);
    Draw();
    ticker_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mu_);
      while (!done_) {
        cv_.wait_for(lock, std::chrono::seconds(1));
        if (!done_) Draw();
      }
    });
  }

  void TrialFinished(const FrozenTrial& trial) {
    std::lock_guard<std::mutex> lock(mu_);
    ++finished_;
    ++by_state_[trial.state];
    bool new_best = false;
    if (trial.state == TrialState::kComplete && trial.values.size() == 1 && directions_.size() == 1) {
      const double v = trial.values[0];
      const bool better = !best_value_.has_value() ||
                          (directions_[0] == StudyDirection::kMaximize ? v > *best_value_ : v < *best_value_);
      if (better) {
        best_value_ = v;
        best_number_ = trial.number;
        new_best = true;
      }
    }
    if (trial.state == TrialState::kComplete && directions_.size() > 1) complete_values_.push_back(trial.values);
    std::string line = "trial " + std::to_string(trial.number) + " " + std::string(TrialStateName(trial.state));
    if (trial.state == TrialState::kComplete) {
      line += " " + std::string(trial.values.size() == 1 ? "value " : "values ") + JoinValues(trial.values);
    } else if (trial.state == TrialState::kPruned) {
      if (auto step = trial.LastStep()) line += " at step " + std::to_string(*step);
    } else if (trial.state == TrialState::kFail) {
      auto reason = trial.system_attrs.find(std::string(kFailReasonAttr));
      if (reason != trial.system_attrs.end() && reason->second.is_string()) {
        line += ": " + reason->second.get<std::string>();
      }
    }
    const std::string params = ParamsText(trial);
    if (!params.empty() && trial.state != TrialState::kFail) line += "  [" + params + "]";
    if (auto d = trial.DurationSeconds()) line += "  " + FormatElapsed(*d);
    if (!tty_) {
      std::cout << line << (new_best ? "  (best so far)" : "") << std::endl;
      return;
    }
    // On a terminal only what needs attention stays on screen: failures. Everything else is in the status line.
    if (trial.state == TrialState::kFail) std::cout << "\r\033[K" << line << "\n";
    Draw();
  }

  void Finish() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
      if (tty_) {
        running_ = 0;
        Draw();
        std::cout << "\n";
        std::cout.flush();
      }
    }
    cv_.notify_all();
    if (ticker_.joinable()) ticker_.join();
  }

  std::string Summary() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out = std::to_string(finished_) + " trial(s) in " + FormatElapsed(Elapsed());
    std::string states;
    for (const auto& [state, n] : by_state_) {
      states += (states.empty() ? "" : ", ") + std::to_string(n) + " " + std::string(TrialStateName(state));
    }
    if (!states.empty()) out += " (" + states + ")";
    if (best_value_.has_value())
      out += "; best value " + FormatShort(*best_value_) + " (trial " + std::to_string(best_number_) + ")";
    return out;
  }

  ~Progress() {
    if (ticker_.joinable()) Finish();
  }

 private:
  double Elapsed() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

  // Caller holds mu_.
  void Draw() {
    std::string line = "[" + std::to_string(finished_) + "/" + (total_ ? std::to_string(*total_) : "?") + "]";
    line += " running " + std::to_string(done_ ? 0 : running_);
    if (directions_.size() == 1) {
      line += " | best " + (best_value_ ? FormatShort(*best_value_) + " (trial " + std::to_string(best_number_) + ")"
                                        : std::string("-"));
    } else {
      std::vector<FrozenTrial> as_trials;
      for (const auto& v : complete_values_) {
        FrozenTrial t;
        t.state = TrialState::kComplete;
        t.values = v;
        as_trials.push_back(std::move(t));
      }
      line += " | pareto " + std::to_string(ParetoFront(as_trials, directions_).size());
    }
    line += " | " + FormatElapsed(Elapsed());
    if (g_stop.load()) line += " | stopping...";
    std::cout << "\r\033[K" << line << std::flush;
  }

  const bool tty_;
  const std::optional<int64_t> total_;
  const std::vector<StudyDirection> directions_;
  const std::chrono::steady_clock::time_point start_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::thread ticker_;
  bool done_ = false;                                 // GUARDED_BY(mu_)
  int64_t finished_ = 0;                              // GUARDED_BY(mu_)
  int running_ = 1;                                   // GUARDED_BY(mu_): one trial at a time in this process
  std::map<TrialState, int64_t> by_state_;            // GUARDED_BY(mu_)
  std::optional<double> best_value_;                  // GUARDED_BY(mu_)
  int64_t best_number_ = -1;                          // GUARDED_BY(mu_)
  std::vector<std::vector<double>> complete_values_;  // GUARDED_BY(mu_)
};

double KillGraceSeconds(const StudyConfig& config) {
  if (const auto* command = std::get_if<CommandObjectiveOptions>(&config.objective)) return command->kill_grace_seconds;
  return 0.0;
}

WorkerLoopOptions LoopOptions(const RunRequest& request) {
  const StudyConfig& config = *request.config;
  WorkerLoopOptions options;
  options.n_trials = request.n_trials;
  options.study_n_trials = request.study_n_trials;
  if (request.timeout_seconds) options.timeout = std::chrono::duration<double>(*request.timeout_seconds);
  options.heartbeat_interval = std::chrono::duration<double>(config.heartbeat_interval_seconds);
  options.grace_period = std::chrono::duration<double>(GracePeriodSeconds(config));
  options.retry.max_retries = config.max_retries;
  options.stop_flag = &g_stop;
  options.stoppers = config.stoppers;
  options.fidelity = config.fidelity;
  return options;
}

std::string StaleText(const std::vector<int64_t>& numbers) {
  std::string out;
  for (int64_t n : numbers) out += (out.empty() ? "" : ", ") + std::to_string(n);
  return "trial(s) " + out + " FAIL: " + std::string(kStaleHeartbeatReason) + " (failed by this worker)";
}

int ReportInterrupted(const Status& status) {
  std::cout.flush();
  std::cerr << "dial: interrupted: " << status.message() << "; nothing is left RUNNING" << std::endl;
  return kExitInterrupted;
}

void PrintHeader(const RunRequest& request, std::optional<int64_t> total) {
  const StudyConfig& config = *request.config;
  std::cout << "study '" << request.study->name() << "' in " << request.storage_url << ": sampler " << config.sampler
            << ", pruner " << config.pruner << ", "
            << (total ? std::to_string(*total) + " trial(s)" : std::string("no trial limit"))
            << (request.timeout_seconds ? ", timeout " + FormatShort(*request.timeout_seconds) + " s" : "")
            << (request.n_jobs > 1 ? ", " + std::to_string(request.n_jobs) + " jobs" : "") << std::endl;
}

std::string StoppedText(const Study& study, const StopDecision& decision) {
  return "study '" + study.name() + "' stopped: " + decision.reason;
}

int RunInProcess(const RunRequest& request) {
  Study& study = *request.study;
  Result<ObjectiveFunction> objective = MakeObjective(*request.config, &g_stop);
  if (!objective.ok()) return ReportError(objective.status().WithContext(request.config->source));
  std::optional<FrozenTrial> best_before;
  if (!study.is_multi_objective()) {
    Result<FrozenTrial> best = study.BestTrial();
    if (best.ok()) best_before = *best;
  }
  const bool tty = !request.child && isatty(STDOUT_FILENO) == 1;
  std::optional<int64_t> total = request.n_trials;
  if (!total && request.study_n_trials) {
    Result<int64_t> used = StudyBudgetCount(study.storage(), study.id());
    if (used.ok()) total = std::max<int64_t>(0, *request.study_n_trials - *used);
  }
  if (!total && request.config->fidelity) {
    // The schedule's plan (start_trials, then the kept fraction at each level), less what the study holds.
    Result<int64_t> held = study.storage().GetNTrials(study.id());
    if (held.ok()) total = std::max<int64_t>(0, request.config->fidelity->TotalTrials() - *held);
  }
  if (!tty && !request.child) PrintHeader(request, total);
  Progress progress(tty, total, study.directions(), best_before);
  WorkerLoopOptions options = LoopOptions(request);
  options.on_trial_finished = [&progress](Study&, const FrozenTrial& trial) { progress.TrialFinished(trial); };
  options.on_stale_trials_failed = [](const std::vector<int64_t>& numbers) {
    std::cout << StaleText(numbers) << std::endl;
  };
  std::optional<StopDecision> stopped_by;
  options.on_stopped = [&stopped_by](const StopDecision& decision) { stopped_by = decision; };
  progress.Start();
  Status status = RunWorkerLoop(study, *objective, options);
  progress.Finish();
  if (!request.child) std::cout << "study '" << study.name() << "': " << progress.Summary() << std::endl;
  // A pool's worker leaves this line to the pool, which prints it once.
  if (stopped_by && !request.child) std::cout << StoppedText(study, *stopped_by) << std::endl;
  // A pool's worker leaves the one "interrupted" line to the pool.
  if (status.code() == StatusCode::kCancelled) return request.child ? kExitInterrupted : ReportInterrupted(status);
  if (!status.ok()) return ReportError(Status(StatusCode::kInternal, status.message()));
  return kExitOk;
}

// One line on the trials numbered from `first_number` on, read back from the storage after the pool has ended.
std::string PoolSummary(Study& study, int64_t first_number, double seconds) {
  Result<std::vector<FrozenTrial>> trials = study.GetTrials();
  if (!trials.ok()) return "(cannot read the trials: " + trials.status().message() + ")";
  std::map<TrialState, int64_t> by_state;
  int64_t n = 0;
  for (const FrozenTrial& trial : *trials) {
    if (trial.number < first_number) continue;
    ++n;
    ++by_state[trial.state];
  }
  std::string out = std::to_string(n) + " trial(s) in " + FormatElapsed(seconds);
  std::string states;
  for (const auto& [state, count] : by_state) {
    states += (states.empty() ? "" : ", ") + std::to_string(count) + " " + std::string(TrialStateName(state));
  }
  if (!states.empty()) out += " (" + states + ")";
  if (!study.is_multi_objective()) {
    Result<FrozenTrial> best = study.BestTrial();
    if (best.ok() && !best->values.empty()) {
      out += "; best value " + FormatShort(best->values[0]) + " (trial " + std::to_string(best->number) + ")";
    }
  }
  return out;
}

int RunPool(const RunRequest& request) {
  Study& study = *request.study;
  const StudyConfig& config = *request.config;
  const auto start = std::chrono::steady_clock::now();
  Result<int64_t> first_number = study.storage().GetNTrials(study.id());
  if (!first_number.ok()) return ReportError(first_number.status());
  std::optional<int64_t> study_n_trials = request.study_n_trials;
  if (request.n_trials) {
    // One budget for all the workers: this call's trials on top of what the study holds now.
    Result<int64_t> used = StudyBudgetCount(study.storage(), study.id());
    if (!used.ok()) return ReportError(used.status());
    const int64_t mine = *used + *request.n_trials;
    study_n_trials = study_n_trials ? std::min(*study_n_trials, mine) : mine;
  }
  if (!request.child) {
    std::optional<int64_t> total;
    if (study_n_trials) {
      Result<int64_t> used = StudyBudgetCount(study.storage(), study.id());
      if (used.ok()) total = std::max<int64_t>(0, *study_n_trials - *used);
    }
    PrintHeader(request, total);
  }

  WorkerPoolOptions pool;
  pool.n_workers = request.n_jobs;
  pool.executable = kSelfExecutable;
  pool.worker_argv = {"dial",     "worker", "--storage", request.storage_url, "--study", study.name(),
                      "--n-jobs", "1",      "--child"};
  if (!request.config_path.empty()) {
    std::error_code ec;
    const std::filesystem::path absolute = std::filesystem::absolute(request.config_path, ec);
    pool.worker_argv.insert(pool.worker_argv.end(), {"--config", ec ? request.config_path : absolute.string()});
  }
  if (study_n_trials) {
    pool.worker_argv.insert(pool.worker_argv.end(), {"--study-n-trials", std::to_string(*study_n_trials)});
  }
  if (request.timeout_seconds) {
    pool.worker_argv.insert(pool.worker_argv.end(), {"--timeout", FormatFloatForYaml(*request.timeout_seconds)});
  }
  if (!request.sampler_override.empty()) {
    pool.worker_argv.insert(pool.worker_argv.end(), {"--sampler", request.sampler_override});
  }
  if (request.seed_override) {
    pool.worker_argv.insert(pool.worker_argv.end(), {"--seed", std::to_string(*request.seed_override)});
  }
  pool.storage = study.shared_storage();
  pool.study_id = study.id();
  pool.retry.max_retries = config.max_retries;
  pool.stop_grace = std::chrono::duration<double>(KillGraceSeconds(config) + kWorkerStopMarginSeconds);
  pool.stop_flag = &g_stop;
  std::mutex output_mu;  // lines come from one thread, but keep whole lines whole whatever changes later
  pool.on_worker_stdout = [&](std::string_view line) {
    std::lock_guard<std::mutex> lock(output_mu);
    std::cout << line << std::endl;
  };
  pool.on_worker_stderr = [&](std::string_view line) {
    std::lock_guard<std::mutex> lock(output_mu);
    std::cerr << line << std::endl;
  };
  pool.on_event = [&](const std::string& message) {
    std::lock_guard<std::mutex> lock(output_mu);
    std::cout << message << std::endl;
  };
  Status status = RunWorkerPool(pool);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!request.child) {
    std::cout << "study '" << study.name() << "': " << PoolSummary(study, *first_number, seconds) << std::endl;
    // The workers checked the stoppers and recorded the first that held; say whether one holds now.
    if (status.ok()) {
      Result<std::optional<StopDecision>> stopped_by = CheckAndRecordStop(study, config.stoppers);
      if (stopped_by.ok() && *stopped_by) std::cout << StoppedText(study, **stopped_by) << std::endl;
    }
  }
  if (status.code() == StatusCode::kCancelled) return ReportInterrupted(status);
  if (!status.ok()) return ReportError(Status(StatusCode::kInternal, status.message()));
  return kExitOk;
}

}  // namespace

const std::atomic<bool>* StopFlag() { return &g_stop; }

void InstallStopHandlers() {
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a blocking wait returns EINTR and looks at the flag at once
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

int RunTrials(const RunRequest& request) {
  if (request.n_jobs > 1) return RunPool(request);
  return RunInProcess(request);
}

}  // namespace dial::cli
