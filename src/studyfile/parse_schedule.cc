// The sections of a study file that say how trials run and when the study ends: n_jobs, heartbeats, retries and
// resources_per_trial; stop:; fidelity: levels and their schedule; the PBT scheduler:.
#include <cmath>
#include <map>
#include <set>
#include <string>

#include "studyfile/study_config_parser.h"
#include "util/strings.h"

namespace dial {
namespace {

const std::vector<std::string> kStopKeys = {"max_trials", "timeout", "target_value", "no_improvement_trials",
                                            "min_delta"};
const std::vector<std::string> kResourceKeys = {"cpus", "gpus", "memory_gb"};
const std::vector<std::string> kFidelityKeys = {"levels", "schedule", "resume_keys", "min_points_in_model"};
const std::vector<std::string> kFidelityScheduleKeys = {"name", "start_trials", "keep", "rounds"};
const std::vector<std::string> kSchedulerKeys = {"name",
                                                 "population_size",
                                                 "perturbation_interval",
                                                 "max_steps",
                                                 "quantile_fraction",
                                                 "resample_probability",
                                                 "perturbation_factors",
                                                 "mutable"};
const std::vector<std::string> kPbtExploreKeys = {"resample_probability", "perturbation_factors"};

}  // namespace

namespace studyfile {

Status Parser::ParseParallel(const YAML::Node& root, StudyConfig& config) const {
  if (YAML::Node n = root["n_jobs"]) {
    DIAL_ASSIGN_OR_RETURN(config.n_jobs, GetInt(n, "n_jobs"));
    if (config.n_jobs <= 0) return Error(n, "n_jobs", "must be a positive integer, got " + n.Scalar());
  }
  if (YAML::Node n = root["heartbeat_interval"]) {
    DIAL_ASSIGN_OR_RETURN(config.heartbeat_interval_seconds, GetNumber(n, "heartbeat_interval"));
    if (!(config.heartbeat_interval_seconds > 0) || !std::isfinite(config.heartbeat_interval_seconds)) {
      return Error(n, "heartbeat_interval", "must be a positive number of seconds, got " + n.Scalar());
    }
  }
  if (YAML::Node n = root["grace_period"]) {
    DIAL_ASSIGN_OR_RETURN(double grace, GetNumber(n, "grace_period"));
    if (!(grace > 0) || !std::isfinite(grace)) {
      return Error(n, "grace_period", "must be a positive number of seconds, got " + n.Scalar());
    }
    // A live trial beats once per interval; a grace no longer than that would fail it between two beats.
    if (grace <= config.heartbeat_interval_seconds) {
      char interval[32];
      std::snprintf(interval, sizeof(interval), "%g", config.heartbeat_interval_seconds);
      return Error(n, "grace_period",
                   "must be longer than heartbeat_interval (" + std::string(interval) + " s), got " + n.Scalar());
    }
    config.grace_period_seconds = grace;
  }
  if (YAML::Node n = root["max_retries"]) {
    DIAL_ASSIGN_OR_RETURN(config.max_retries, GetInt(n, "max_retries"));
    if (config.max_retries < 0) return Error(n, "max_retries", "must be a non-negative integer, got " + n.Scalar());
  }
  if (root["resources_per_trial"]) DIAL_RETURN_IF_ERROR(ParseResources(root["resources_per_trial"], config));
  return Status::Ok();
}

Status Parser::ParseResources(const YAML::Node& node, StudyConfig& config) const {
  const std::string key = "resources_per_trial";
  if (!node.IsMap()) {
    return Error(node, key, "must be a mapping such as {cpus: 2, gpus: 0.5, memory_gb: 8}, got " + Describe(node));
  }
  DIAL_RETURN_IF_ERROR(CheckKeys(node, key, kResourceKeys));
  ResourcesPerTrial resources;
  resources.line = node.Mark().line + 1;
  // Amounts are counted in thousandths (src/exec/resources.h): a smaller share would round to nothing.
  constexpr double kSmallest = 0.001;
  for (const auto& kv : node) {
    const std::string name = kv.first.Scalar();
    const YAML::Node& n = kv.second;
    const std::string full = key + "." + name;
    DIAL_ASSIGN_OR_RETURN(double v, GetNumber(n, full));
    resources.key_lines[name] = n.Mark().line + 1;
    if (!std::isfinite(v)) return Error(n, full, "must be a finite number, got " + n.Scalar());
    if (name == "gpus") {
      if (v < 0 || (v > 1 && v != std::floor(v)) || (v > 0 && v < kSmallest)) {
        return Error(n, full,
                     "must be 0, a share of one GPU in [0.001, 1] or a whole number of GPUs, got " + n.Scalar());
      }
      resources.gpus = v;
    } else if (!(v >= kSmallest)) {
      return Error(
          n, full,
          std::string("must be a positive number") + (name == "cpus" ? " of CPUs" : " of GB") + ", got " + n.Scalar());
    } else if (name == "cpus") {
      resources.cpus = v;
    } else {
      resources.memory_gb = v;
    }
  }
  config.resources_per_trial = std::move(resources);
  return Status::Ok();
}

// `stop:` after the directions, which target_value and no_improvement_trials depend on.
Status Parser::ParseStop(const YAML::Node& node, StudyConfig& config) const {
  if (!node.IsMap()) {
    return Error(node, "stop",
                 "must be a mapping such as {max_trials: 200, target_value: 0.05}, got " + Describe(node));
  }
  DIAL_RETURN_IF_ERROR(CheckKeys(node, "stop", kStopKeys));
  StopperOptions& stop = config.stoppers;
  if (YAML::Node n = node["max_trials"]) {
    DIAL_ASSIGN_OR_RETURN(int64_t v, GetInt(n, "stop.max_trials"));
    if (v <= 0) return Error(n, "stop.max_trials", "must be a positive integer, got " + n.Scalar());
    stop.max_trials = v;
  }
  if (YAML::Node n = node["timeout"]) {
    DIAL_ASSIGN_OR_RETURN(double v, GetNumber(n, "stop.timeout"));
    if (!(v > 0) || !std::isfinite(v)) {
      return Error(n, "stop.timeout", "must be a positive number of seconds, got " + n.Scalar());
    }
    stop.timeout_seconds = v;
  }
  if (YAML::Node n = node["target_value"]) {
    DIAL_ASSIGN_OR_RETURN(double v, GetNumber(n, "stop.target_value"));
    if (!std::isfinite(v)) return Error(n, "stop.target_value", "must be a finite number, got " + n.Scalar());
    if (config.directions.size() != 1) {
      return Error(n, "stop.target_value",
                   "needs a single objective, this study has " + std::to_string(config.directions.size()) +
                       " (stop on max_trials, timeout instead)");
    }
    stop.target_value = v;
  }
  if (YAML::Node n = node["no_improvement_trials"]) {
    DIAL_ASSIGN_OR_RETURN(int64_t v, GetInt(n, "stop.no_improvement_trials"));
    if (v <= 0) return Error(n, "stop.no_improvement_trials", "must be a positive integer, got " + n.Scalar());
    if (config.directions.size() != 1) {
      return Error(n, "stop.no_improvement_trials",
                   "needs a single objective, this study has " + std::to_string(config.directions.size()) +
                       " (stop on max_trials, timeout instead)");
    }
    stop.no_improvement_trials = v;
  }
  if (YAML::Node n = node["min_delta"]) {
    DIAL_ASSIGN_OR_RETURN(double v, GetNumber(n, "stop.min_delta"));
    if (!(v >= 0) || !std::isfinite(v)) {
      return Error(n, "stop.min_delta", "must be a non-negative number, got " + n.Scalar());
    }
    if (!stop.no_improvement_trials) {
      return Error(n, "stop.min_delta", "only has a meaning with stop.no_improvement_trials");
    }
    stop.min_delta = v;
  }
  // Every check above has a key and a line; this only guards against the two drifting apart.
  Status valid = stop.ValidateFor(config.directions);
  if (!valid.ok()) return Error(node, "stop", valid.message());
  return Status::Ok();
}

Status Parser::ParseFidelity(const YAML::Node& node, StudyConfig& config) const {
  if (!node.IsMap())
    return Error(node, "fidelity", "must be a mapping with levels and schedule, got " + Describe(node));
  DIAL_RETURN_IF_ERROR(CheckKeys(node, "fidelity", kFidelityKeys));
  FidelityOptions fidelity;
  const YAML::Node levels = node["levels"];
  if (!levels || !levels.IsSequence()) {
    return Error(levels ? levels : node, "fidelity.levels",
                 "must be a list of mappings, cheapest first, e.g. [{epochs: 1}, {epochs: 5}]");
  }
  for (size_t k = 0; k < levels.size(); ++k) {
    const std::string key = "fidelity.levels[" + std::to_string(k) + "]";
    if (!levels[k].IsMap())
      return Error(levels[k], key, "must be a mapping of names to values, got " + Describe(levels[k]));
    std::map<std::string, ParamValue> values;
    for (const auto& kv : levels[k]) {
      const std::string name = kv.first.Scalar();
      const std::string value_key = key + "." + name;
      DIAL_ASSIGN_OR_RETURN(ParamValue v, GetValue(kv.second, value_key));
      if (config.fixed.count(name) != 0) {
        return Error(kv.first, value_key, "also under fixed: a level sets it, so it cannot be fixed");
      }
      if (std::any_of(config.search_space.begin(), config.search_space.end(),
                      [&](const ParamSpec& s) { return s.name == name; })) {
        return Error(kv.first, value_key, "also in search_space: a level sets it, so it cannot be searched");
      }
      values.emplace(name, std::move(v));
    }
    fidelity.levels.push_back(std::move(values));
  }
  if (const YAML::Node schedule = node["schedule"]) {
    if (!schedule.IsMap()) return Error(schedule, "fidelity.schedule", "must be a mapping {name, start_trials, keep}");
    DIAL_RETURN_IF_ERROR(CheckKeys(schedule, "fidelity.schedule", kFidelityScheduleKeys));
    if (schedule["name"]) {
      DIAL_ASSIGN_OR_RETURN(fidelity.schedule, GetString(schedule["name"], "fidelity.schedule.name"));
    }
    if (schedule["start_trials"]) {
      DIAL_ASSIGN_OR_RETURN(fidelity.start_trials, GetInt(schedule["start_trials"], "fidelity.schedule.start_trials"));
    }
    if (schedule["keep"]) {
      DIAL_ASSIGN_OR_RETURN(fidelity.keep, GetNumber(schedule["keep"], "fidelity.schedule.keep"));
    }
    if (schedule["rounds"]) {
      DIAL_ASSIGN_OR_RETURN(fidelity.rounds, GetInt(schedule["rounds"], "fidelity.schedule.rounds"));
    }
  }
  if (const YAML::Node keys = node["resume_keys"]) {
    if (!keys.IsSequence()) return Error(keys, "fidelity.resume_keys", "must be a list of names, e.g. [epochs]");
    fidelity.resume_keys.clear();
    for (size_t i = 0; i < keys.size(); ++i) {
      DIAL_ASSIGN_OR_RETURN(std::string k, GetString(keys[i], "fidelity.resume_keys[" + std::to_string(i) + "]"));
      fidelity.resume_keys.push_back(k);
    }
  }
  if (node["min_points_in_model"]) {
    DIAL_ASSIGN_OR_RETURN(fidelity.min_points_in_model,
                          GetInt(node["min_points_in_model"], "fidelity.min_points_in_model"));
  }
  Status valid = fidelity.Validate();
  if (!valid.ok()) return Error(node, "fidelity", valid.message());
  if (config.directions.size() != 1) {
    return Error(node, "fidelity",
                 "promotion ranks trials by one objective; the study has " + std::to_string(config.directions.size()) +
                     " directions");
  }
  config.fidelity = std::move(fidelity);
  return Status::Ok();
}

Status Parser::ParseExplore(const YAML::Node& node, const std::string& key, PbtExploreOptions& explore) const {
  if (YAML::Node n = node["resample_probability"]) {
    DIAL_ASSIGN_OR_RETURN(explore.resample_probability, GetNumber(n, key + ".resample_probability"));
  }
  if (YAML::Node n = node["perturbation_factors"]) {
    if (!n.IsSequence()) return Error(n, key + ".perturbation_factors", "must be a list of numbers, e.g. [0.8, 1.2]");
    explore.perturbation_factors.clear();
    for (size_t i = 0; i < n.size(); ++i) {
      DIAL_ASSIGN_OR_RETURN(double f, GetNumber(n[i], key + ".perturbation_factors[" + std::to_string(i) + "]"));
      explore.perturbation_factors.push_back(f);
    }
  }
  return Status::Ok();
}

Status Parser::ParseScheduler(const YAML::Node& node, StudyConfig& config) const {
  if (!node.IsMap()) {
    return Error(node, "scheduler",
                 "must be a mapping such as {name: pbt, population_size: 8, perturbation_interval: 2, max_steps: 20, "
                 "mutable: [lr]}, got " +
                     Describe(node));
  }
  DIAL_RETURN_IF_ERROR(CheckKeys(node, "scheduler", kSchedulerKeys));
  if (!node["name"]) return Error(node, "scheduler.name", "missing: the only scheduler is pbt");
  DIAL_ASSIGN_OR_RETURN(std::string name, GetString(node["name"], "scheduler.name"));
  if (name != "pbt") return Error(node["name"], "scheduler.name", "unknown scheduler '" + name + "' (known: pbt)");
  if (config.fidelity) {
    return Error(node, "scheduler",
                 "pbt cannot be combined with fidelity: levels: PBT trains every member to max_steps in segments; "
                 "drop one of the two");
  }
  if (config.directions.size() != 1) {
    return Error(node, "scheduler",
                 "pbt ranks members by one objective; the study has " + std::to_string(config.directions.size()) +
                     " directions");
  }
  PbtOptions pbt;
  const std::pair<const char*, int64_t*> ints[] = {{"population_size", &pbt.population_size},
                                                   {"perturbation_interval", &pbt.perturbation_interval},
                                                   {"max_steps", &pbt.max_steps}};
  for (const auto& [key, target] : ints) {
    if (YAML::Node n = node[key]) {
      DIAL_ASSIGN_OR_RETURN(*target, GetInt(n, std::string("scheduler.") + key));
    } else if (std::string(key) == "max_steps") {
      return Error(node, "scheduler.max_steps", "missing: the step at which every member's training ends");
    }
  }
  if (YAML::Node n = node["quantile_fraction"]) {
    DIAL_ASSIGN_OR_RETURN(pbt.quantile_fraction, GetNumber(n, "scheduler.quantile_fraction"));
  }
  DIAL_RETURN_IF_ERROR(ParseExplore(node, "scheduler", pbt.explore));
  const YAML::Node mutables = node["mutable"];
  if (!mutables || !(mutables.IsSequence() || mutables.IsMap())) {
    return Error(mutables ? mutables : node, "scheduler.mutable",
                 "must list the searched parameters that may change during training, e.g. [lr, dropout]");
  }
  auto add_mutable = [&](const YAML::Node& name_node, const YAML::Node* options) -> Status {
    DIAL_ASSIGN_OR_RETURN(std::string param, GetString(name_node, "scheduler.mutable"));
    const std::string key = "scheduler.mutable." + param;
    if (std::none_of(config.search_space.begin(), config.search_space.end(),
                     [&](const ParamSpec& s) { return s.name == param; })) {
      return Error(name_node, key,
                   config.fixed.count(param) != 0 ? "is under fixed: only searched parameters can change"
                                                  : "not in search_space: only searched parameters can change");
    }
    PbtExploreOptions explore = pbt.explore;
    if (options != nullptr && *options && !options->IsNull()) {
      if (!options->IsMap()) {
        return Error(*options, key, "must be a mapping {resample_probability, perturbation_factors} or empty");
      }
      DIAL_RETURN_IF_ERROR(CheckKeys(*options, key, kPbtExploreKeys));
      DIAL_RETURN_IF_ERROR(ParseExplore(*options, key, explore));
    }
    if (!pbt.mutable_params.emplace(param, explore).second) return Error(name_node, key, "listed twice");
    return Status::Ok();
  };
  if (mutables.IsSequence()) {
    for (size_t i = 0; i < mutables.size(); ++i) DIAL_RETURN_IF_ERROR(add_mutable(mutables[i], nullptr));
  } else {
    for (const auto& kv : mutables) DIAL_RETURN_IF_ERROR(add_mutable(kv.first, &kv.second));
  }
  pbt.seed = config.seed.value_or(0);
  Status valid = pbt.Validate();
  if (!valid.ok()) return Error(node, "scheduler", valid.message());
  config.pbt = std::move(pbt);
  return Status::Ok();
}

}  // namespace studyfile
}  // namespace dial
