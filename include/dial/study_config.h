// Study files: a YAML document that says what to tune and how (docs/study-file.md).
//
//   study: conformer-lr
//   storage: sqlite:///dial.db
//   direction: minimize            # or directions: [minimize, minimize] with metrics: [wer, latency_ms]
//   metrics: [wer]
//   n_trials: 50
//   sampler: {name: random, seed: 1}
//   pruner: {name: median, n_startup_trials: 5}
//   search_space:
//     lr: {type: float, low: 1.0e-5, high: 1.0e-2, log: true}
//     optimizer: [adam, sgd]                    # a bare list is a categorical, as ESPnet writes it
//     momentum: {type: float, low: 0.5, high: 0.99, when: {optimizer: sgd}}
//   fixed: {epochs: 10}
//   objective: {command: [python3, train.py, --lr, "{lr}"], timeout: 600}
//
// Every error names the file, the line and the key: "study.yaml:7: search_space.lr: low (0.1) > high (0.01)".
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "dial/command_objective.h"
#include "dial/distribution.h"
#include "dial/fidelity.h"
#include "dial/frozen_trial.h"
#include "dial/pbt.h"
#include "dial/status.h"
#include "dial/stopper.h"
#include "dial/study.h"

namespace dial {

// `when: {optimizer: sgd}` or `when: {optimizer: [sgd, adam]}`: the parameter exists only when every named
// parameter exists and takes one of the listed values.
struct ParamCondition {
  std::string parent;
  std::vector<ParamValue> values;
};

struct ParamSpec {
  std::string name;
  Distribution distribution;
  std::vector<ParamCondition> when;
  int line = 0;  // 1-based line in the study file, for messages
};

// `objective: {builtin: hartmann6}`: a function of the suite (params x0..x{d-1}, search space derived from its
// domain when not given), or `mf_hartmann6` (reports f(x, z) at z = 1..100 as intermediate values).
struct BuiltinObjectiveConfig {
  std::string name;
  Json options = Json::object();  // mf_hartmann6: {bias: 2.5, max_fidelity: 100}
};

inline constexpr double kDefaultHeartbeatIntervalSeconds = 60.0;

// `resources_per_trial: {cpus: 2, gpus: 0.5, memory_gb: 8}` (docs/parallel.md): what one trial needs; a worker takes
// it from the host before starting a trial. Each key is optional: cpus > 0; gpus 0, a share in (0, 1] or a whole
// number; memory_gb > 0 (GB, 10^9 bytes; also the trial's memory limit). The lines are for messages.
struct ResourcesPerTrial {
  std::optional<double> cpus;
  std::optional<double> gpus;
  std::optional<double> memory_gb;
  int line = 0;  // of resources_per_trial itself
  std::map<std::string, int> key_lines;
};

struct StudyConfig {
  std::string source;  // the file name (or "<string>") for messages
  std::string study_name;
  std::string storage;  // empty: not given in the file
  std::vector<StudyDirection> directions = {StudyDirection::kMinimize};
  std::vector<std::string> metrics;  // one per direction; default {"value"} for one direction
  std::optional<int64_t> n_trials;
  std::optional<double> timeout_seconds;
  std::string sampler = "auto";
  Json sampler_options = Json::object();
  std::string pruner = "nop";
  Json pruner_options = Json::object();
  std::optional<uint64_t> seed;
  // Parallel execution (docs/parallel.md): up to n_jobs trials at once, each in its own worker process.
  int64_t n_jobs = 1;
  // Each running trial's process records a heartbeat every heartbeat_interval seconds; a RUNNING trial whose
  // heartbeat is older than grace_period seconds (default 2 × heartbeat_interval, as Optuna's) is failed by any
  // worker with reason "heartbeat stale". grace_period must exceed heartbeat_interval.
  double heartbeat_interval_seconds = kDefaultHeartbeatIntervalSeconds;
  std::optional<double> grace_period_seconds;
  // A trial failed by a stale heartbeat or killed by a signal is run again, with the same parameters, up to this
  // many times (system attrs failed_trial and retry_history, as Optuna's RetryFailedTrialCallback writes).
  int64_t max_retries = 0;
  std::optional<ResourcesPerTrial> resources_per_trial;
  // `stop: {max_trials: 200, timeout: 3600, target_value: 0.05, no_improvement_trials: 30, min_delta: 0.001}`:
  // study-wide stoppers (include/dial/stopper.h), unlike n_trials and timeout above, which count this call's.
  StopperOptions stoppers;
  // `fidelity: {levels: [{data_hours: 1, epochs: 1}, ...], schedule: {name: successive_halving, start_trials: 64,
  // keep: 0.25}, resume_keys: [epochs], min_points_in_model: 0}`: a multi-fidelity study (include/dial/fidelity.h).
  // A level's values reach the objective like parameters; they may not also be searched or fixed.
  std::optional<FidelityOptions> fidelity;
  // `scheduler: {name: pbt, population_size: 8, perturbation_interval: 2, max_steps: 20, quantile_fraction: 0.25,
  // resample_probability: 0.25, perturbation_factors: [0.8, 1.2], mutable: [lr, dropout]}`: population-based
  // training (include/dial/pbt.h, docs/pbt.md). Mutable names must be searched; not combined with `fidelity`.
  std::optional<PbtOptions> pbt;
  std::vector<ParamSpec> search_space;  // in the file's order, parents before the parameters they condition
  std::map<std::string, ParamValue> fixed;
  std::variant<CommandObjectiveOptions, BuiltinObjectiveConfig> objective;
  std::string yaml_text;  // the file as read, stored in the study (system attr dial:study_file)
};

// grace_period_seconds, or its default 2 × heartbeat_interval_seconds.
double GracePeriodSeconds(const StudyConfig& config);

// InvalidArgument ("FILE:LINE: KEY: what is wrong") for malformed YAML, unknown keys, wrong types,
// impossible ranges, a `when` naming an unknown parameter, an unknown sampler or pruner or option, a metric
// count that does not match the directions, a command that does not exist. NotFound when the file is missing.
Result<StudyConfig> LoadStudyConfig(const std::string& path);
Result<StudyConfig> ParseStudyConfig(const std::string& yaml_text, const std::string& source = "<string>");
// After command-line overrides of a loaded config (--sampler, --pruner, --storage ...): fills in a grid sampler's
// search space from the config when its options have none, then creates the sampler and the pruner once to check their
// names and options. InvalidArgument naming the sampler or pruner.
Status CheckSamplerAndPruner(StudyConfig& config);

// Suggests the config's search space in `trial` (define-by-run, honouring `when`) and returns the trial's
// external params merged with `fixed` and, in a multi-fidelity study, the values of the trial's level.
Result<std::map<std::string, ParamValue>> SuggestFromConfig(Trial& trial, const StudyConfig& config);

// Objectives named by `builtin:` that run as command trials: the CLI registers `asr` (the built-in speech trainer,
// run as `dial train --trial` in a child process). The objective mapping's command keys (timeout, kill_grace,
// trials_dir, env, workdir) are read as for `command:`; every other key is handed to the factory as JSON. The
// factory fills argv (and may set config.metrics, check the search space and fixed keys); its InvalidArgument
// messages name the key and are prefixed with the file and line of the objective.
using CommandBuiltinFactory =
    std::function<Status(const Json& keys, StudyConfig& config, CommandObjectiveOptions& command)>;
// Registers (or replaces) a command built-in. Not thread-safe: call before parsing study files.
void RegisterCommandBuiltin(const std::string& name, CommandBuiltinFactory factory);

// The objective that a study file describes: suggest the space, then run the command or the built-in.
Result<ObjectiveFunction> MakeObjective(const StudyConfig& config, const std::atomic<bool>* stop_flag);

}  // namespace dial
