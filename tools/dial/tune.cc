// `dial tune --config FILE`: checks the study file, the overrides, the storage and any existing study completely
// before writing anything, then runs the trials with live progress; Ctrl-C ends the running trial as FAIL.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <iostream>
#include <mutex>
#include <thread>

#include "cli.h"
#include "core/study_config_internal.h"
#include "dial/study.h"
#include "dial/study_config.h"

namespace dial::cli {
namespace {

// Set by SIGINT/SIGTERM; read by the optimisation loop and the running command trial.
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "the stop flag is set from a signal handler");

extern "C" void OnStopSignal(int) { g_stop.store(true); }

void InstallStopHandlers() {
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a blocking wait returns EINTR and looks at the flag at once
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

struct TuneArgs {
  std::string config;
  std::string storage;
  std::string study;
  int64_t n_trials = 0;
  double timeout = 0;
  std::string sampler;
  uint64_t seed = 0;
  CLI::Option* n_trials_opt = nullptr;
  CLI::Option* timeout_opt = nullptr;
  CLI::Option* seed_opt = nullptr;
};

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

std::string DirectionsText(const std::vector<StudyDirection>& directions) {
  std::string out;
  for (StudyDirection d : directions) {
    std::string name(StudyDirectionName(d));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out += (out.empty() ? "" : ", ") + name;
  }
  return out;
}

// An existing study must agree with the file: same directions, and every parameter it already stores must keep
// its kind, log flag and choices (Optuna's rule), or the old and new trials would not be comparable.
Status CheckExistingStudy(Storage& storage, StudyId id, const StudyConfig& config) {
  DIAL_ASSIGN_OR_RETURN(std::vector<StudyDirection> stored, storage.GetStudyDirections(id));
  if (stored != config.directions) {
    return InvalidArgument(config.source + ": direction(s) [" + DirectionsText(config.directions) +
                           "] differ from study '" + config.study_name + "' in " + storage.url() + ", created with [" +
                           DirectionsText(stored) + "] (choose another study name, or dial delete-study)");
  }
  DIAL_ASSIGN_OR_RETURN(std::vector<FrozenTrial> trials, storage.GetAllTrials(id));
  for (const ParamSpec& spec : config.search_space) {
    for (const FrozenTrial& trial : trials) {
      auto it = trial.distributions.find(spec.name);
      if (it == trial.distributions.end()) continue;
      Status compatible = CheckCompatible(it->second, spec.distribution);
      if (!compatible.ok()) {
        return InvalidArgument(config.source + ":" + std::to_string(spec.line) + ": search_space." + spec.name + ": " +
                               DistributionToString(spec.distribution) + " conflicts with the distribution " +
                               DistributionToString(it->second) + " that study '" + config.study_name +
                               "' already uses for it (" + compatible.message() + ")");
      }
      break;  // the study enforces one distribution kind per name, so the first occurrence speaks for all
    }
  }
  return Status::Ok();
}

int RunTune(const TuneArgs& args) {
  InstallStopHandlers();
  // ---- check everything; nothing is written before this section ends ----
  Result<StudyConfig> loaded = LoadStudyConfig(args.config);
  if (!loaded.ok()) return ReportError(loaded.status());
  StudyConfig config = std::move(loaded).value();
  if (!args.study.empty()) config.study_name = args.study;
  if (config.study_name.empty()) return ReportError(InvalidArgument("--study: the study file names no study"));
  if (args.n_trials_opt->count() > 0) {
    if (args.n_trials <= 0) {
      return ReportError(
          InvalidArgument("--n-trials: must be a positive integer, got " + std::to_string(args.n_trials)));
    }
    config.n_trials = args.n_trials;
  }
  if (args.timeout_opt->count() > 0) {
    if (!(args.timeout > 0)) return ReportError(InvalidArgument("--timeout: must be a positive number of seconds"));
    config.timeout_seconds = args.timeout;
  }
  if (args.seed_opt->count() > 0) config.seed = args.seed;
  if (!args.sampler.empty() && args.sampler != config.sampler) {
    config.sampler = args.sampler;
    config.sampler_options = Json::object();
  }
  Status components = internal::CheckSamplerAndPruner(config);
  if (!components.ok()) {
    return ReportError(components.WithContext(args.sampler.empty() ? config.source : "--sampler " + args.sampler));
  }
  Result<ObjectiveFunction> objective = MakeObjective(config, &g_stop);
  if (!objective.ok()) return ReportError(objective.status().WithContext(config.source));

  const std::string url = ChooseStorageUrl(args.storage, config.storage);
  Result<std::shared_ptr<Storage>> storage = OpenStorageForWriting(url);
  if (!storage.ok()) {
    const bool from_file = args.storage.empty() && !config.storage.empty();
    return ReportError(from_file ? storage.status().WithContext(config.source + ": storage") : storage.status());
  }
  StudyOptions options;
  options.study_name = config.study_name;
  options.directions = config.directions;
  options.sampler = config.sampler;
  options.sampler_options = config.sampler_options;
  options.pruner = config.pruner;
  options.pruner_options = config.pruner_options;
  options.seed = config.seed;
  Result<StudyId> existing = (*storage)->GetStudyIdFromName(config.study_name);
  if (!existing.ok() && existing.status().code() != StatusCode::kNotFound) return ReportError(existing.status());
  std::unique_ptr<Study> study;
  std::optional<FrozenTrial> best_before;
  if (existing.ok()) {
    Status consistent = CheckExistingStudy(**storage, *existing, config);
    if (!consistent.ok()) return ReportError(consistent);
    Result<std::unique_ptr<Study>> loaded_study = Study::Load(*storage, options);
    if (!loaded_study.ok()) return ReportError(loaded_study.status());
    study = std::move(loaded_study).value();
    if (!study->is_multi_objective()) {
      Result<FrozenTrial> best = study->BestTrial();
      if (best.ok()) best_before = *best;
    }
  } else {
    if (g_stop.load()) return ReportError(Cancelled("interrupted before the study started"));
    // ---- from here on the storage is written ----
    options.load_if_exists = true;  // another worker may have created it a moment ago
    Result<std::unique_ptr<Study>> created = Study::Create(*storage, options);
    if (!created.ok()) return ReportError(created.status());
    study = std::move(created).value();
    Result<bool> stored = (*storage)->SetStudySystemAttrIfAbsent(study->id(), kStudyFileAttr, config.yaml_text);
    if (!stored.ok()) return ReportError(stored.status());
  }

  const bool tty = isatty(STDOUT_FILENO) == 1;
  if (!tty) {
    std::cout << "study '" << study->name() << "' in " << url << ": sampler " << config.sampler << ", pruner "
              << config.pruner << ", "
              << (config.n_trials ? std::to_string(*config.n_trials) + " trial(s)" : std::string("no trial limit"))
              << (config.timeout_seconds ? ", timeout " + FormatShort(*config.timeout_seconds) + " s" : "")
              << std::endl;
  }
  Progress progress(tty, config.n_trials, study->directions(), best_before);
  OptimizeOptions optimize;
  optimize.n_trials = config.n_trials;
  if (config.timeout_seconds) optimize.timeout = std::chrono::duration<double>(*config.timeout_seconds);
  optimize.stop_flag = &g_stop;
  optimize.on_trial_finished = [&progress](Study&, const FrozenTrial& trial) { progress.TrialFinished(trial); };
  progress.Start();
  Status status = study->Optimize(*objective, optimize);
  progress.Finish();
  std::cout << "study '" << study->name() << "': " << progress.Summary() << std::endl;
  if (status.code() == StatusCode::kCancelled) {
    std::cerr << "dial: interrupted: " << status.message() << "; nothing is left RUNNING" << std::endl;
    return kExitInterrupted;
  }
  if (!status.ok()) return ReportError(Status(StatusCode::kInternal, status.message()));
  return kExitOk;
}

}  // namespace

Command AddTuneCommand(CLI::App& app) {
  auto args = std::make_shared<TuneArgs>();
  CLI::App* sub = app.add_subcommand("tune", "Run the trials of a study file");
  sub->add_option("--config,-c", args->config, "The study file (YAML)")->required();
  sub->add_option("--storage", args->storage, "Storage URL (default: the study file's, else sqlite:///dial.db)");
  sub->add_option("--study", args->study, "Study name (default: the study file's)");
  args->n_trials_opt = sub->add_option("--n-trials", args->n_trials, "Trials to run in this call");
  args->timeout_opt = sub->add_option("--timeout", args->timeout, "Stop starting trials after this many seconds");
  sub->add_option("--sampler", args->sampler, "Sampler name, replacing the study file's (and its options)");
  args->seed_opt = sub->add_option("--seed", args->seed, "Seed of the sampler");
  return {sub, [args] { return RunTune(*args); }};
}

}  // namespace dial::cli
