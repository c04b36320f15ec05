// Running a study's trials from the CLI (see run.h): stop signals, the in-process worker loop and the pool of worker
// processes. What they show while they run is in progress.h.
#include "run.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>

#include "cli.h"
#include "exec/run_budget.h"
#include "exec/worker_loop.h"
#include "exec/worker_pool.h"
#include "progress.h"

namespace dial::cli {
namespace {

// Set by SIGINT/SIGTERM; read by the loops and by the running command trial.
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the stop flag is set from a signal handler");

extern "C" void OnStopSignal(int) { g_stop.store(true); }

// How much longer than a command trial's own SIGTERM→SIGKILL grace a stopping worker gets before it is killed:
// time to store the failed trial after its trainer ended.
constexpr double kWorkerStopMarginSeconds = 5.0;

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
  options.pbt = config.pbt;
  if (options.pbt && config.seed) options.pbt->seed = *config.seed;  // --seed overrides the file's, for explore too
  return options;
}

std::string StaleText(const std::vector<int64_t>& numbers) {
  std::string out;
  for (int64_t n : numbers) out += (out.empty() ? "" : ", ") + std::to_string(n);
  return "trial(s) " + out + " FAIL: " + std::string(kStaleHeartbeatReason) + " (failed by this worker)";
}

// One line: "dial: interrupted; nothing is left RUNNING", or "dial: interrupted during trial 3; ..." when the status
// says more than that it was interrupted.
int ReportInterrupted(const Status& status) {
  std::cout.flush();
  const std::string_view word = kInterruptedReason;
  const std::string& message = status.message();
  std::string what = message.rfind(word, 0) == 0 ? message : std::string(word) + ": " + message;
  if (message.empty()) what = word;
  std::cerr << "dial: " << what << "; nothing is left RUNNING" << std::endl;
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

// The loop's error, naming the SQLite file when it does not already (a full disk's "database or disk is full" must
// say which file). PostgreSQL's errors name their server, and its URL may hold a password: it is left out.
std::string StorageErrorText(const RunRequest& request, const Status& status) {
  constexpr std::string_view kSqliteUrlPrefix = "sqlite:///";
  const std::string& message = status.message();
  const std::string& url = request.storage_url;
  if (url.rfind(kSqliteUrlPrefix, 0) != 0) return message;
  const std::string path = url.substr(kSqliteUrlPrefix.size());
  if (path.empty() || message.find(path) != std::string::npos) return message;
  return "storage " + url + ": " + message;
}

int RunInProcess(const RunRequest& request) {
  Study& study = *request.study;
  Result<ObjectiveFunction> objective = MakeObjective(*request.config, &g_stop);
  if (!objective.ok()) return ReportError(objective.status().WithContext(request.config->source));
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
  if (!total && request.config->pbt) {
    // PBT plans population_size × generations segments.
    Result<int64_t> held = study.storage().GetNTrials(study.id());
    if (held.ok()) total = std::max<int64_t>(0, request.config->pbt->TotalTrials() - *held);
  }
  if (!tty && !request.child) PrintHeader(request, total);
  StudyBest known_best = ReadStudyBest(study, tty);
  Progress progress(tty, &g_stop, total, study.is_multi_objective(), known_best);
  WorkerLoopOptions options = LoopOptions(request);
  options.on_trial_finished = [&progress, &known_best, tty](Study& study, const FrozenTrial& trial) {
    // On a terminal the status line shows the study's best, read each time; elsewhere the best only decides the
    // (best so far) mark, so it is read only when the trial may earn it.
    StudyBest best;
    if (tty || MayBeStudyBest(trial, known_best, study.directions())) {
      best = ReadStudyBest(study, tty);
      if (best.value) known_best = best;
    }
    progress.TrialFinished(trial, best);
  };
  options.on_stale_trials_failed = [&progress](const std::vector<int64_t>& numbers) {
    progress.Print(StaleText(numbers));
  };
  std::optional<StopDecision> stopped_by;
  options.on_stopped = [&stopped_by](const StopDecision& decision) { stopped_by = decision; };
  std::unique_ptr<ResourceLedger> ledger;
  if (request.config->resources_per_trial && request.inventory) {
    const ResourcesPerTrial& r = *request.config->resources_per_trial;
    Result<std::unique_ptr<ResourceLedger>> opened =
        ResourceLedger::Open(*request.inventory, ResourceRequest::FromNumbers(r.cpus, r.gpus, r.memory_gb));
    if (!opened.ok()) return ReportError(opened.status());
    ledger = std::move(opened).value();
    options.resources = ledger.get();
  }
  std::unique_ptr<RunBudget> run_budget;
  if (!request.run_budget_path.empty()) {
    Result<std::unique_ptr<RunBudget>> opened = RunBudget::Open(request.run_budget_path, request.run_n_trials);
    if (!opened.ok()) return ReportError(opened.status());
    run_budget = std::move(opened).value();
    options.run_budget = run_budget.get();
  }
  progress.Start();
  Status status = RunWorkerLoop(study, *objective, options);
  progress.Finish();
  if (!request.child) std::cout << "study '" << study.name() << "': " << progress.Summary() << std::endl;
  // A pool's worker leaves this line to the pool, which prints it once.
  if (stopped_by && !request.child) std::cout << StoppedText(study, *stopped_by) << std::endl;
  // A pool's worker leaves the one "interrupted" line to the pool.
  if (status.code() == StatusCode::kCancelled) return request.child ? kExitInterrupted : ReportInterrupted(status);
  if (!status.ok()) return ReportError(Status(StatusCode::kInternal, StorageErrorText(request, status)));
  return kExitOk;
}

// The processes of one pool (its workers, replacements included), by pid on this host: a trial is the pool's when
// its dial:worker names one of them, so that two pools on one study each count their own trials. Thread-safe.
class PoolMembers {
 public:
  void Add(pid_t pid) {
    std::lock_guard<std::mutex> lock(mu_);
    pids_.insert(static_cast<int64_t>(pid));
  }
  bool Ran(const FrozenTrial& trial) const {
    auto it = trial.system_attrs.find(std::string(kWorkerAttr));
    if (it == trial.system_attrs.end() || !it->second.is_object()) return false;
    if (it->second.value("host", "") != host_) return false;
    std::lock_guard<std::mutex> lock(mu_);
    return pids_.count(it->second.value("pid", int64_t{-1})) > 0;
  }

 private:
  const std::string host_ = HostName();
  mutable std::mutex mu_;
  std::set<int64_t> pids_;  // GUARDED_BY(mu_)
};

// One line on the trials of this pool's workers, read back from the storage after the pool has ended.
std::string PoolSummary(Study& study, const PoolMembers& members, double seconds) {
  Result<std::vector<FrozenTrial>> trials = study.GetTrials();
  if (!trials.ok()) return "(cannot read the trials: " + trials.status().message() + ")";
  std::map<TrialState, int64_t> by_state;
  int64_t n = 0;
  for (const FrozenTrial& trial : *trials) {
    if (!members.Ran(trial)) continue;
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

// The status line of a pool: this pool's trials and the study's best, read from the storage. Nullopt when the
// storage cannot be read (the line keeps what it showed).
std::optional<StatusCounts> ReadPoolCounts(const Study& study, const PoolMembers& members,
                                           std::optional<int64_t> total) {
  Result<std::vector<FrozenTrial>> trials = study.storage().GetAllTrials(study.id());
  if (!trials.ok()) return std::nullopt;
  StatusCounts counts;
  counts.total = total;
  counts.multi_objective = study.is_multi_objective();
  for (const FrozenTrial& trial : *trials) {
    if (!members.Ran(trial)) continue;
    if (trial.state == TrialState::kRunning) ++counts.running;
    if (IsFinished(trial.state)) ++counts.done;
    if (trial.state == TrialState::kPruned) ++counts.pruned;
    if (trial.state == TrialState::kFail) ++counts.failed;
  }
  counts.best = BestOf(*trials, study.directions(), /*pareto=*/true);  // from the same read
  return counts;
}

// The command line of a pool's worker: `dial worker` on this study, given this run's limits and CLI overrides.
// `run_budget`: the budget file the workers share, when the run has a trial limit.
std::vector<std::string> WorkerArgv(const RunRequest& request, const RunBudget* run_budget) {
  std::vector<std::string> argv = {
      "dial", "worker",  "--storage",    request.storage_url,     "--study", request.study->name(), "--n-jobs",
      "1",    "--child", "--parent-pid", std::to_string(getpid())};
  if (!request.config_path.empty()) {
    std::error_code ec;
    const std::filesystem::path absolute = std::filesystem::absolute(request.config_path, ec);
    argv.insert(argv.end(), {"--config", ec ? request.config_path : absolute.string()});
  }
  if (request.study_n_trials) {
    argv.insert(argv.end(), {"--study-n-trials", std::to_string(*request.study_n_trials)});
  }
  if (run_budget) {
    argv.insert(argv.end(),
                {"--run-budget", run_budget->path(), "--run-n-trials", std::to_string(run_budget->n_trials())});
  }
  if (request.timeout_seconds) {
    argv.insert(argv.end(), {"--timeout", FormatFloatForYaml(*request.timeout_seconds)});
  }
  if (!request.sampler_override.empty()) {
    argv.insert(argv.end(), {"--sampler", request.sampler_override});
  }
  if (request.seed_override) {
    argv.insert(argv.end(), {"--seed", std::to_string(*request.seed_override)});
  }
  // The workers detect the rest of the inventory themselves (same host, same environment).
  const InventoryOverrides& flags = request.inventory_flags;
  if (flags.gpus) argv.insert(argv.end(), {"--gpus", *flags.gpus});
  if (flags.cpus) argv.insert(argv.end(), {"--cpus", FormatFloatForYaml(*flags.cpus)});
  if (flags.memory_gb) {
    argv.insert(argv.end(), {"--memory-gb", FormatFloatForYaml(*flags.memory_gb)});
  }
  return argv;
}

int RunPool(const RunRequest& request) {
  Study& study = *request.study;
  const StudyConfig& config = *request.config;
  const auto start = std::chrono::steady_clock::now();
  const std::optional<int64_t> study_n_trials = request.study_n_trials;
  // This call's trials: one budget that the workers share (and nobody else counts), whatever other pools or
  // workers do on the study.
  std::unique_ptr<RunBudget> run_budget;
  if (request.n_trials) {
    Result<std::unique_ptr<RunBudget>> created = RunBudget::Create(*request.n_trials);
    if (!created.ok()) return ReportError(created.status());
    run_budget = std::move(created).value();
  }
  std::optional<int64_t> total = request.n_trials;
  if (!request.child) {
    if (study_n_trials) {
      Result<int64_t> used = StudyBudgetCount(study.storage(), study.id());
      if (used.ok()) {
        const int64_t left = std::max<int64_t>(0, *study_n_trials - *used);
        total = total ? std::min(*total, left) : left;
      }
    }
    PrintHeader(request, total);
  }

  WorkerPoolOptions pool;
  pool.n_workers = request.n_jobs;
  pool.executable = SelfExecutable();  // the workers run this very binary
  pool.worker_argv = WorkerArgv(request, run_budget.get());
  pool.storage = study.shared_storage();
  pool.study_id = study.id();
  pool.retry.max_retries = config.max_retries;
  pool.stop_grace = std::chrono::duration<double>(KillGraceSeconds(config) + kWorkerStopMarginSeconds);
  pool.stop_flag = &g_stop;
  // On a terminal the status line, the workers' lines above it; elsewhere the workers' lines as they come.
  std::optional<StatusLine> status_line;
  PoolMembers members;
  pool.on_worker_started = [&members](pid_t pid) { members.Add(pid); };
  if (!request.child && isatty(STDOUT_FILENO) == 1) {
    status_line.emplace(&g_stop, [&study, &members, total] { return ReadPoolCounts(study, members, total); });
  }
  std::mutex output_mu;  // lines come from one thread, but keep whole lines whole whatever changes later
  auto print = [&](std::ostream& out, std::string_view line) {
    if (status_line) {
      status_line->PrintAbove(out, line);
      return;
    }
    std::lock_guard<std::mutex> lock(output_mu);
    out << line << std::endl;
  };
  pool.on_worker_stdout = [&](std::string_view line) { print(std::cout, line); };
  pool.on_worker_stderr = [&](std::string_view line) { print(std::cerr, line); };
  pool.on_event = [&](const std::string& message) { print(std::cout, message); };
  if (status_line) {
    const StatusCounts none{.total = total, .multi_objective = study.is_multi_objective()};
    status_line->Start(ReadPoolCounts(study, members, total).value_or(none));
  }
  Status status = RunWorkerPool(pool);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (status_line) status_line->Finish(ReadPoolCounts(study, members, total));
  if (!request.child) {
    std::cout << "study '" << study.name() << "': " << PoolSummary(study, members, seconds) << std::endl;
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

Result<std::optional<HostInventory>> CheckTrialResources(const StudyConfig& config, const InventoryOverrides& flags) {
  if (!config.resources_per_trial) return std::optional<HostInventory>();
  const ResourcesPerTrial& r = *config.resources_per_trial;
  DIAL_ASSIGN_OR_RETURN(HostInventory inventory, DetectHostInventory(flags));
  auto where = [&config, &r](const std::string& key) {
    auto it = r.key_lines.find(key);
    return config.source + ":" + std::to_string(it != r.key_lines.end() ? it->second : r.line) + ": ";
  };
  DIAL_RETURN_IF_ERROR(CheckRequestFits(ResourceRequest::FromNumbers(r.cpus, r.gpus, r.memory_gb), inventory, where));
  return std::optional<HostInventory>(std::move(inventory));
}

void AddInventoryFlags(CLI::App& sub, InventoryOverrides& flags) {
  sub.add_option_function<std::string>(
      "--gpus", [&flags](const std::string& v) { flags.gpus = v; },
      "GPUs of this host for resources_per_trial, e.g. 0,1 or none (default: $DIAL_GPUS, else "
      "$CUDA_VISIBLE_DEVICES, else nvidia-smi's)");
  sub.add_option_function<double>(
      "--cpus", [&flags](double v) { flags.cpus = v; },
      "CPUs of this host for resources_per_trial (default: $DIAL_CPUS, else the CPUs this process may run on)");
  sub.add_option_function<double>(
      "--memory-gb", [&flags](double v) { flags.memory_gb = v; },
      "Memory of this host in GB for resources_per_trial (default: $DIAL_MEMORY_GB, else /proc/meminfo or the "
      "cgroup's limit)");
}

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
