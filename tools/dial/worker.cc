// `dial worker --storage URL --study NAME`: joins a study that `dial tune` created, from the study file stored in it,
// and runs its trials until the fleet's budget (its file's n_trials, over the whole study), this worker's own
// --n-trials, --timeout, or a stop signal. On any number of machines at once (docs/parallel.md). A pool's worker
// (hidden flags) counts its pool's budget instead and dies with its pool.
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>

#include "cli.h"
#include "dial/study.h"
#include "dial/study_config.h"
#include "run.h"

namespace dial::cli {
namespace {

struct WorkerArgs {
  std::string storage;
  std::string study;
  int64_t n_trials = 0;
  int64_t n_jobs = 1;
  double timeout = 0;
  CLI::Option* n_trials_opt = nullptr;
  CLI::Option* timeout_opt = nullptr;
  // Set by `dial tune --n-jobs` for the workers it starts (hidden): the file it was given rather than the stored
  // one, its overrides, and the study-wide budget of that call.
  std::string config;
  int64_t study_n_trials = 0;
  CLI::Option* study_n_trials_opt = nullptr;
  std::string sampler;
  uint64_t seed = 0;
  CLI::Option* seed_opt = nullptr;
  bool child = false;
  // A pool's worker: the pool's pid (the worker ends when the pool does) and its run's budget (RunBudget).
  int64_t parent_pid = 0;
  std::string run_budget;
  int64_t run_n_trials = 0;
  InventoryOverrides inventory;
};

// A pool's worker dies with its pool: SIGTERM when the pool's process ends (even by SIGKILL), which stops it as a
// stop request does (its trial ends FAIL "interrupted", a command trial's processes with it). False when the pool
// is already gone (it died between starting this process and this call): the worker has nothing to do.
bool FollowParent(int64_t parent_pid) {
  if (parent_pid <= 0) return true;
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  return static_cast<int64_t>(getppid()) == parent_pid;
}

// The study file the worker follows: --config when given, else the text stored in the study at its creation.
Result<StudyConfig> WorkerStudyConfig(Storage& storage, StudyId study_id, const WorkerArgs& args) {
  if (!args.config.empty()) return LoadStudyConfigInterruptibly(args.config);
  Result<StudyConfig> stored = StoredStudyFile(storage, study_id, args.study);
  if (stored.status().code() == StatusCode::kFailedPrecondition) {
    return FailedPrecondition(stored.status().message() + ": a worker needs one to know what to run");
  }
  return stored;
}

int RunWorker(const WorkerArgs& args) {
  InstallStopHandlers();
  if (!FollowParent(args.parent_pid)) return kExitInterrupted;
  if (args.n_trials_opt->count() > 0 && args.n_trials <= 0) {
    return ReportError(InvalidArgument("--n-trials: must be a positive integer, got " + std::to_string(args.n_trials)));
  }
  if (args.n_jobs <= 0) {
    return ReportError(InvalidArgument("--n-jobs: must be a positive integer, got " + std::to_string(args.n_jobs)));
  }
  if (args.timeout_opt->count() > 0 && !(args.timeout > 0)) {
    return ReportError(InvalidArgument("--timeout: must be a positive number of seconds"));
  }
  if (args.storage.rfind("memory:", 0) == 0) {
    return ReportError(InvalidArgument("--storage " + args.storage +
                                       ": a worker joins a study in a shared storage (sqlite:///FILE or "
                                       "postgresql://...); memory:// lives in one process only"));
  }
  Result<std::shared_ptr<Storage>> storage = OpenExistingStorage(args.storage);
  if (!storage.ok()) return ReportError(storage.status());
  Result<StudyId> study_id = FindStudy(**storage, args.study);
  if (!study_id.ok()) return ReportError(study_id.status());
  Result<StudyConfig> loaded = WorkerStudyConfig(**storage, *study_id, args);
  if (!loaded.ok()) return ReportError(loaded.status());
  StudyConfig config = std::move(loaded).value();
  config.study_name = args.study;
  if (args.seed_opt->count() > 0) config.seed = args.seed;
  if (!args.sampler.empty() && args.sampler != config.sampler) {
    config.sampler = args.sampler;
    config.sampler_options = Json::object();
  }
  Status components = CheckSamplerAndPruner(config);
  if (!components.ok()) return ReportError(components.WithContext(config.source));
  Result<std::optional<HostInventory>> inventory = CheckTrialResources(config, args.inventory);
  if (!inventory.ok()) return ReportError(inventory.status());

  StudyOptions options;
  options.study_name = args.study;
  options.directions = {};  // the stored ones
  options.sampler = config.sampler;
  options.sampler_options = config.sampler_options;
  options.pruner = config.pruner;
  options.pruner_options = config.pruner_options;
  options.seed = config.seed;
  Result<std::unique_ptr<Study>> study = Study::Load(*storage, options);
  if (!study.ok()) return ReportError(study.status());

  RunRequest request;
  request.study = study->get();
  request.config = &config;
  request.storage_url = args.storage;
  request.n_jobs = args.n_jobs;
  request.child = args.child;
  if (args.n_trials_opt->count() > 0) request.n_trials = args.n_trials;
  if (!args.run_budget.empty()) {
    if (args.run_n_trials <= 0) return ReportError(InvalidArgument("--run-n-trials: must be a positive integer"));
    request.run_budget_path = args.run_budget;
    request.run_n_trials = args.run_n_trials;
  }
  // The fleet's budget over the whole study: the hidden --study-n-trials of a pool's worker, else the study file's
  // n_trials, unless this worker counts a `dial tune` pool's trials (--run-budget): that pool's n_trials is per call.
  if (args.study_n_trials_opt->count() > 0) {
    request.study_n_trials = args.study_n_trials;
  } else if (args.run_budget.empty()) {
    request.study_n_trials = config.n_trials;
  }
  if (args.timeout_opt->count() > 0) {
    request.timeout_seconds = args.timeout;
  } else {
    request.timeout_seconds = config.timeout_seconds;
  }
  request.config_path = args.config;
  request.sampler_override = args.sampler;
  if (args.seed_opt->count() > 0) request.seed_override = args.seed;
  request.inventory = *inventory;
  request.inventory_flags = args.inventory;
  return RunTrials(request);
}

}  // namespace

Command AddWorkerCommand(CLI::App& app) {
  auto args = std::make_shared<WorkerArgs>();
  CLI::App* sub = app.add_subcommand("worker", "Join a study created by dial tune and run its trials");
  sub->add_option("--storage", args->storage, "Storage URL of the study (sqlite:///FILE or postgresql://...)")
      ->required();
  sub->add_option("--study", args->study, "The study's name")->required();
  args->n_trials_opt = sub->add_option("--n-trials", args->n_trials, "Trials this worker runs at most");
  sub->add_option("--n-jobs,-j", args->n_jobs, "Trials at once, each in its own worker process (default 1)");
  args->timeout_opt =
      sub->add_option("--timeout", args->timeout, "Stop starting trials after this many seconds (default: the file's)");
  // For the workers that `dial tune --n-jobs` starts; not for people.
  sub->add_option("--config", args->config)->group("");
  args->study_n_trials_opt = sub->add_option("--study-n-trials", args->study_n_trials)->group("");
  sub->add_option("--sampler", args->sampler)->group("");
  args->seed_opt = sub->add_option("--seed", args->seed)->group("");
  sub->add_flag("--child", args->child)->group("");
  sub->add_option("--parent-pid", args->parent_pid)->group("");
  sub->add_option("--run-budget", args->run_budget)->group("");
  sub->add_option("--run-n-trials", args->run_n_trials)->group("");
  AddInventoryFlags(*sub, args->inventory);
  return {sub, [args] { return RunWorker(*args); }};
}

}  // namespace dial::cli
