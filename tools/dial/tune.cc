// `dial tune --config FILE`: checks the study file, the overrides, the storage and any existing study completely
// before writing anything, then runs the trials with live progress, in this process or (--n-jobs N) in N worker
// processes; Ctrl-C or SIGTERM ends the running trials as FAIL "interrupted".
#include <string>

#include "cli.h"
#include "dial/study.h"
#include "dial/study_config.h"
#include "run.h"

namespace dial::cli {
namespace {

struct TuneArgs {
  std::string config;
  std::string storage;
  std::string study;
  int64_t n_trials = 0;
  double timeout = 0;
  std::string sampler;
  uint64_t seed = 0;
  int64_t n_jobs = 1;
  bool check = false;
  bool create_only = false;
  CLI::Option* n_jobs_opt = nullptr;
  CLI::Option* n_trials_opt = nullptr;
  CLI::Option* timeout_opt = nullptr;
  CLI::Option* seed_opt = nullptr;
  InventoryOverrides inventory;
};

int RunTune(const TuneArgs& args) {
  InstallStopHandlers();
  // ---- check everything; nothing is written before this section ends ----
  Result<StudyConfig> loaded = LoadStudyConfigInterruptibly(args.config);
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
  Status components = CheckSamplerAndPruner(config);
  if (!components.ok()) {
    return ReportError(components.WithContext(args.sampler.empty() ? config.source : "--sampler " + args.sampler));
  }
  // A trial that needs more than this host has could never start here. --create-only runs no trial: the workers
  // check their own hosts (a fleet's study is often created where there is no GPU).
  Result<std::optional<HostInventory>> inventory = std::optional<HostInventory>();
  if (!args.create_only) inventory = CheckTrialResources(config, args.inventory);
  if (!inventory.ok()) return ReportError(inventory.status());
  if (args.check) {
    // Everything above validated the file, its objective (a built-in checks its data and keys) and its sampler
    // and pruner; nothing is opened or written.
    std::cout << config.source << ": ok: study '" << config.study_name << "', " << config.search_space.size()
              << " searched parameter(s), sampler " << config.sampler << std::endl;
    return kExitOk;
  }
  if (args.n_jobs_opt->count() > 0) {
    if (args.n_jobs <= 0) {
      return ReportError(InvalidArgument("--n-jobs: must be a positive integer, got " + std::to_string(args.n_jobs)));
    }
    config.n_jobs = args.n_jobs;
  }
  // Checked here, before anything is written; the pool's workers build their own from the same file.
  Result<ObjectiveFunction> objective = MakeObjective(config, StopFlag());
  if (!objective.ok()) return ReportError(objective.status().WithContext(config.source));

  const std::string url = ChooseStorageUrl(args.storage, config.storage);
  if (config.n_jobs > 1 && url.rfind("memory:", 0) == 0) {
    return ReportError(InvalidArgument("n_jobs " + std::to_string(config.n_jobs) + " needs a storage that several " +
                                       "processes share (sqlite:///FILE or postgresql://...); " + url +
                                       " lives in one process only"));
  }
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
  // An existing study must agree with the file (its directions, the distributions of the parameters it already
  // stores): Study::Load checks, naming the file's line.
  options.source = config.source;
  for (const ParamSpec& spec : config.search_space) {
    options.search_space.push_back({.name = spec.name, .distribution = spec.distribution, .line = spec.line});
  }
  Result<StudyId> existing = (*storage)->GetStudyIdFromName(config.study_name);
  if (!existing.ok() && existing.status().code() != StatusCode::kNotFound) return ReportError(existing.status());
  std::unique_ptr<Study> study;
  if (existing.ok()) {
    Result<std::unique_ptr<Study>> loaded_study = Study::Load(*storage, options);
    if (!loaded_study.ok()) return ReportError(loaded_study.status());
    study = std::move(loaded_study).value();
  } else {
    if (StopFlag()->load()) return ReportError(Cancelled("interrupted before the study started"));
    // ---- from here on the storage is written ----
    options.load_if_exists = true;  // another worker may have created it a moment ago
    Result<std::unique_ptr<Study>> created = Study::Create(*storage, options);
    if (!created.ok()) return ReportError(created.status());
    study = std::move(created).value();
    Result<bool> stored = (*storage)->SetStudySystemAttrIfAbsent(study->id(), kStudyFileAttr, config.yaml_text);
    if (!stored.ok()) return ReportError(stored.status());
  }

  if (args.create_only) {
    // For fleets (docs/deploy/): one step creates the study, then any number of `dial worker`s join it.
    std::cout << "study '" << study->name() << "' " << (existing.ok() ? "exists" : "created") << " in "
              << (*storage)->url() << "; workers join it with: dial worker --storage URL --study '" << study->name()
              << "'" << std::endl;
    return std::cout.good() ? kExitOk : kExitFailure;
  }
  RunRequest request;
  request.study = study.get();
  request.config = &config;
  request.storage_url = url;
  request.n_jobs = config.n_jobs;
  request.n_trials = config.n_trials;
  request.timeout_seconds = config.timeout_seconds;
  request.config_path = args.config;
  request.sampler_override = args.sampler;
  if (args.seed_opt->count() > 0) request.seed_override = args.seed;
  request.inventory = *inventory;
  request.inventory_flags = args.inventory;
  return RunTrials(request);
}

}  // namespace

Command AddTuneCommand(CLI::App& app) {
  auto args = std::make_shared<TuneArgs>();
  CLI::App* sub = app.add_subcommand("tune", "Run the trials of a study file");
  sub->add_option("--config,-c", args->config, "The study file (YAML)")->required();
  sub->add_option("--storage", args->storage, "Storage URL (default: the study file's, else sqlite:///dial.db)");
  sub->add_option("--study", args->study, "Study name (default: the study file's)");
  args->n_trials_opt = sub->add_option("--n-trials", args->n_trials, "Trials to run in this call");
  CLI::Option* check = sub->add_flag("--check", args->check,
                                     "Validate the study file and its objective, then exit (nothing is written)");
  sub->add_flag("--create-only", args->create_only,
                "Create the study (storing the study file in it) and exit without running a trial, for `dial "
                "worker`s to join; an existing study is checked and left as it is")
      ->excludes(check);
  args->timeout_opt = sub->add_option("--timeout", args->timeout, "Stop starting trials after this many seconds");
  sub->add_option("--sampler", args->sampler, "Sampler name, replacing the study file's (and its options)");
  args->seed_opt = sub->add_option("--seed", args->seed, "Seed of the sampler");
  args->n_jobs_opt = sub->add_option("--n-jobs,-j", args->n_jobs,
                                     "Trials at once, each in its own worker process (default: the study file's "
                                     "n_jobs, else 1)");
  AddInventoryFlags(*sub, args->inventory);
  return {sub, [args] { return RunTune(*args); }};
}

}  // namespace dial::cli
