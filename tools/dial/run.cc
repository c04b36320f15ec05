// Running a study's trials from the CLI (see run.h): stop signals, progress (one status line on a terminal, shared
// by both paths), the in-process worker loop and the pool of worker processes.
#include "run.h"

#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string_view>
#include <thread>

#include "cli.h"
#include "exec/run_budget.h"
#include "exec/worker_loop.h"
#include "exec/worker_pool.h"

namespace dial::cli {
namespace {

// Set by SIGINT/SIGTERM; read by the loops and by the running command trial.
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the stop flag is set from a signal handler");

extern "C" void OnStopSignal(int) { g_stop.store(true); }

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

// The study's best, read from the storage after a trial ends (so that every worker of a study agrees on it).
struct StudyBest {
  std::optional<double> value;  // one objective: the best trial's value and number
  int64_t number = -1;
  std::optional<int64_t> pareto_size;  // several objectives: how many trials are Pareto-optimal
};

// The best of a study's `trials` (as Study::BestTrial and Study::BestTrials choose). `pareto`: whether to find the
// Pareto front of a multi-objective study (only the status line needs it).
StudyBest BestOf(const std::vector<FrozenTrial>& trials, const std::vector<StudyDirection>& directions, bool pareto) {
  StudyBest out;
  if (directions.size() == 1) {
    if (const FrozenTrial* best = FindBestTrial(trials, directions[0])) {
      out.value = best->values[0];
      out.number = best->number;
    }
  } else if (pareto) {
    out.pareto_size = static_cast<int64_t>(ParetoFront(trials, directions).size());
  }
  return out;
}

// The study's best, read from the storage (its COMPLETE trials) after a trial ends.
StudyBest ReadStudyBest(const Study& study, bool pareto) {
  Result<std::vector<FrozenTrial>> complete =
      study.storage().GetAllTrials(study.id(), std::vector<TrialState>{TrialState::kComplete});
  if (!complete.ok()) return StudyBest();
  return BestOf(*complete, study.directions(), pareto);
}

// Whether `trial` may be the study's best, given `known`, the study's best as read earlier. COMPLETE trials never
// change, so the best only improves: a trial worse than one already stored (or as good with a higher number) is not
// the best, and reading every COMPLETE trial to find that out (O(trials) per trial, O(trials²) over a study of many
// workers) is skipped.
bool MayBeStudyBest(const FrozenTrial& trial, const StudyBest& known, const std::vector<StudyDirection>& directions) {
  if (directions.size() != 1 || trial.state != TrialState::kComplete || trial.values.size() != 1) return false;
  if (!known.value) return true;
  const double value = trial.values[0];
  const bool worse = directions[0] == StudyDirection::kMinimize ? value > *known.value : value < *known.value;
  return !worse && !(value == *known.value && trial.number > known.number);
}

// What the status line shows of a run.
struct StatusCounts {
  int64_t done = 0;  // finished, in any state
  std::optional<int64_t> total;
  int64_t running = 0;
  int64_t pruned = 0;
  int64_t failed = 0;
  bool multi_objective = false;
  StudyBest best;
};

// The progress bar's widest and narrowest: narrower than the minimum it says nothing, and is left out.
constexpr int kBarCells = 20;
constexpr int kMinBarCells = 5;
// When stdout's width cannot be read.
constexpr int kFallbackColumns = 80;
// The status line is redrawn (and a pool's counts read again) this often, so the elapsed time moves during a long
// trial; a pool's counts are read again when a worker prints a line, but never more often than kMinPollInterval.
constexpr std::chrono::seconds kRedrawInterval{1};
constexpr std::chrono::milliseconds kMinPollInterval{250};

// True when the locale says UTF-8 (the first of LC_ALL, LC_CTYPE, LANG that is set decides, as in setlocale).
bool LocaleIsUtf8() {
  for (const char* name : {"LC_ALL", "LC_CTYPE", "LANG"}) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') continue;
    std::string lower(value);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lower.find("utf-8") != std::string::npos || lower.find("utf8") != std::string::npos;
  }
  return false;
}

int TerminalColumns() {
  struct winsize size {};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return kFallbackColumns;
}

// Display columns of a line, all of whose characters are one column wide: its UTF-8 code points.
int64_t Columns(const std::string& text) {
  int64_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

// The first `columns` display columns of `text`, never cutting a UTF-8 sequence.
std::string FitToColumns(const std::string& text, int64_t columns) {
  int64_t n = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && n++ == columns) return text.substr(0, i);
  }
  return text;
}

// The status line of a run, at most `columns` - 1 columns wide (so that a redraw never wraps):
//   [12/40] ██████░░░░░░ 30% | running 2 | pruned 3 | failed 1 | best 0.1234 (trial 7) | 1m02s, ETA 2m25s
// The bar and percentage only when the total is known; the bar gets the room the rest leaves, up to kBarCells.
// ETA = elapsed / done × (total − done), once a trial is done and while the run goes on (not `stopping`, not
// `finished`). `pareto K` instead of the best with several objectives.
std::string FormatStatusLine(const StatusCounts& counts, double elapsed_seconds, bool stopping, bool finished,
                             bool utf8, int columns) {
  const std::string head =
      "[" + std::to_string(counts.done) + "/" + (counts.total ? std::to_string(*counts.total) : std::string("?")) + "]";
  // done / total in [0, 1] (done may pass total when failed trials are retried), in whole parts of `parts`.
  auto share = [&counts](int64_t parts) {
    return *counts.total > 0 ? std::min(parts, counts.done * parts / *counts.total) : parts;
  };
  const std::string percent = counts.total ? " " + std::to_string(share(100)) + "%" : std::string();
  std::string tail = " | running " + std::to_string(counts.running) + " | pruned " + std::to_string(counts.pruned) +
                     " | failed " + std::to_string(counts.failed);
  if (counts.multi_objective) {
    tail += " | pareto " + (counts.best.pareto_size ? std::to_string(*counts.best.pareto_size) : std::string("-"));
  } else {
    tail += " | best " + (counts.best.value
                              ? FormatShort(*counts.best.value) + " (trial " + std::to_string(counts.best.number) + ")"
                              : std::string("-"));
  }
  tail += " | " + FormatElapsed(elapsed_seconds);
  if (counts.total && counts.done > 0 && counts.done < *counts.total && !stopping && !finished) {
    tail += ", ETA " + FormatElapsed(elapsed_seconds / counts.done * (*counts.total - counts.done));
  }
  if (stopping) tail += " | stopping...";

  const int64_t width = std::max(1, columns - 1);
  std::string bar;
  if (counts.total) {
    const int64_t room = width - Columns(head) - Columns(percent) - Columns(tail) - 1;  // 1: the space before it
    const int64_t cells = std::min<int64_t>(kBarCells, room);
    if (cells >= kMinBarCells) {
      const int64_t filled = share(cells);
      bar = " ";
      for (int64_t k = 0; k < cells; ++k) bar += k < filled ? (utf8 ? "\u2588" : "#") : (utf8 ? "\u2591" : "-");
    }
  }
  return FitToColumns(head + bar + percent + tail, width);
}

// One status line on a terminal (stdout), redrawn in place. A thread redraws it every second, so the elapsed time
// moves during a long trial; with `poll`, that thread first asks it for fresh counts (the pool reads them from the
// storage), without the lock held. Lines printed through PrintAbove appear above it. Thread-safe.
class StatusLine {
 public:
  using Poll = std::function<std::optional<StatusCounts>()>;

  explicit StatusLine(Poll poll = nullptr)
      : poll_(std::move(poll)), utf8_(LocaleIsUtf8()), start_(std::chrono::steady_clock::now()) {}
  StatusLine(const StatusLine&) = delete;
  StatusLine& operator=(const StatusLine&) = delete;

  void Start(const StatusCounts& counts) {
    std::lock_guard<std::mutex> lock(mu_);
    counts_ = counts;
    Draw();
    ticker_ = std::thread([this] { Tick(); });
  }

  void Update(const StatusCounts& counts) {
    std::lock_guard<std::mutex> lock(mu_);
    counts_ = counts;
    Draw();
  }

  // `line` on a line of its own, above the status line (which is cleared first, and redrawn after). With `poll`,
  // the thread polls at once: a worker's line usually means that a trial has ended.
  void PrintAbove(std::ostream& out, std::string_view line) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      std::cout << "\r\033[K" << std::flush;
      out << line << std::endl;
      if (!finished_) Draw();
      refresh_ = poll_ != nullptr;
    }
    cv_.notify_all();
  }

  // Stops the thread, draws the line one last time (with `counts` when given, else the last ones) and ends it, so
  // that what follows starts on a line of its own.
  void Finish(const std::optional<StatusCounts>& counts) {
    StopTicker();
    std::lock_guard<std::mutex> lock(mu_);
    if (finished_) return;
    finished_ = true;
    if (counts) counts_ = *counts;
    Draw();
    std::cout << "\n" << std::flush;
  }

  ~StatusLine() { StopTicker(); }

 private:
  void Tick() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      cv_.wait_for(lock, kRedrawInterval, [this] { return stopping_ || refresh_; });
      if (stopping_) break;
      refresh_ = false;
      if (poll_) {
        lock.unlock();
        std::optional<StatusCounts> fresh = poll_();
        lock.lock();
        if (stopping_) break;
        if (fresh) counts_ = *fresh;
      }
      Draw();
      // However many lines come, the storage is read at most this often.
      cv_.wait_for(lock, kMinPollInterval, [this] { return stopping_; });
    }
  }

  void StopTicker() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (ticker_.joinable()) ticker_.join();
  }

  // Caller holds mu_.
  void Draw() {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    std::cout << "\r\033[K" << FormatStatusLine(counts_, elapsed, g_stop.load(), finished_, utf8_, TerminalColumns())
              << std::flush;
  }

  const Poll poll_;
  const bool utf8_;
  const std::chrono::steady_clock::time_point start_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread ticker_;
  StatusCounts counts_;    // GUARDED_BY(mu_)
  bool stopping_ = false;  // GUARDED_BY(mu_): the thread is to end
  bool finished_ = false;  // GUARDED_BY(mu_): the last line is drawn
  bool refresh_ = false;   // GUARDED_BY(mu_): poll now, without waiting for the next second
};

// The progress of an in-process run, one trial at a time: on a terminal the status line (failures printed above
// it); elsewhere one plain log line per finished trial. Called from the loop's thread only; the status line has
// its own thread.
class Progress {
 public:
  Progress(bool tty, std::optional<int64_t> total, bool multi_objective, StudyBest best_before)
      : tty_(tty), start_(std::chrono::steady_clock::now()) {
    counts_.total = total;
    counts_.running = 1;
    counts_.multi_objective = multi_objective;
    counts_.best = std::move(best_before);
  }

  void Start() {
    if (tty_) status_line_.Start(counts_);
  }

  // `best`: the study's best now that `trial` is stored in it.
  void TrialFinished(const FrozenTrial& trial, const StudyBest& best) {
    ++counts_.done;
    ++by_state_[trial.state];
    if (trial.state == TrialState::kPruned) ++counts_.pruned;
    if (trial.state == TrialState::kFail) ++counts_.failed;
    if (best.value || best.pareto_size) counts_.best = best;
    // Decided by the study, not by this process: with several workers, only the study knows.
    const bool new_best =
        trial.state == TrialState::kComplete && !counts_.multi_objective && best.value && best.number == trial.number;
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
    if (trial.state == TrialState::kFail) status_line_.PrintAbove(std::cout, line);
    status_line_.Update(counts_);
  }

  // A line of its own: above the status line on a terminal.
  void Print(const std::string& line) {
    if (tty_) {
      status_line_.PrintAbove(std::cout, line);
    } else {
      std::cout << line << std::endl;
    }
  }

  void Finish() {
    counts_.running = 0;
    if (tty_) status_line_.Finish(counts_);
  }

  std::string Summary() const {
    std::string out = std::to_string(counts_.done) + " trial(s) in " + FormatElapsed(Elapsed());
    std::string states;
    for (const auto& [state, n] : by_state_) {
      states += (states.empty() ? "" : ", ") + std::to_string(n) + " " + std::string(TrialStateName(state));
    }
    if (!states.empty()) out += " (" + states + ")";
    if (counts_.best.value) {
      out +=
          "; best value " + FormatShort(*counts_.best.value) + " (trial " + std::to_string(counts_.best.number) + ")";
    }
    return out;
  }

 private:
  double Elapsed() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

  const bool tty_;
  const std::chrono::steady_clock::time_point start_;
  StatusCounts counts_;
  std::map<TrialState, int64_t> by_state_;
  StatusLine status_line_;
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
  Progress progress(tty, total, study.is_multi_objective(), known_best);
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
  pool.worker_argv = {"dial", "worker",  "--storage",    request.storage_url,     "--study", study.name(), "--n-jobs",
                      "1",    "--child", "--parent-pid", std::to_string(getpid())};
  if (!request.config_path.empty()) {
    std::error_code ec;
    const std::filesystem::path absolute = std::filesystem::absolute(request.config_path, ec);
    pool.worker_argv.insert(pool.worker_argv.end(), {"--config", ec ? request.config_path : absolute.string()});
  }
  if (study_n_trials) {
    pool.worker_argv.insert(pool.worker_argv.end(), {"--study-n-trials", std::to_string(*study_n_trials)});
  }
  if (run_budget) {
    pool.worker_argv.insert(pool.worker_argv.end(), {"--run-budget", run_budget->path(), "--run-n-trials",
                                                     std::to_string(run_budget->n_trials())});
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
  // The workers detect the rest of the inventory themselves (same host, same environment).
  const InventoryOverrides& flags = request.inventory_flags;
  if (flags.gpus) pool.worker_argv.insert(pool.worker_argv.end(), {"--gpus", *flags.gpus});
  if (flags.cpus) pool.worker_argv.insert(pool.worker_argv.end(), {"--cpus", FormatFloatForYaml(*flags.cpus)});
  if (flags.memory_gb) {
    pool.worker_argv.insert(pool.worker_argv.end(), {"--memory-gb", FormatFloatForYaml(*flags.memory_gb)});
  }
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
    status_line.emplace([&study, &members, total] { return ReadPoolCounts(study, members, total); });
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
