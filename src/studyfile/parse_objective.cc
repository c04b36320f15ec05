// The objective: section of a study file (a command, a registered command built-in such as `asr`, or a benchmark
// built-in) and the ObjectiveFunction a parsed study file makes.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "dial/functions.h"
#include "dial/placeholder.h"
#include "studyfile/study_config_parser.h"
#include "util/strings.h"
#include "util/subprocess.h"

namespace dial {
namespace {

namespace fs = std::filesystem;

constexpr const char* kMfHartmannName = "mf_hartmann6";
constexpr double kDefaultMfBias = 2.5;
const std::vector<std::string> kCommandKeys = {"command", "timeout", "kill_grace", "trials_dir", "env", "workdir"};
const std::vector<std::string> kBuiltinKeys = {"builtin"};
// The keys of `command:` that a command built-in (e.g. `asr`) takes too.
const std::vector<std::string> kCommandRunKeys = {"timeout", "kill_grace", "trials_dir", "env", "workdir"};

std::map<std::string, CommandBuiltinFactory>& CommandBuiltins() {
  static std::map<std::string, CommandBuiltinFactory> builtins;
  return builtins;
}
const std::vector<std::string> kMfHartmannKeys = {"builtin", "bias", "max_fidelity"};

bool IsNumeric(const ParamValue& v) { return std::holds_alternative<int64_t>(v) || std::holds_alternative<double>(v); }

double NumericValue(const ParamValue& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  return std::get<double>(v);
}

bool ConditionHolds(const ParamCondition& condition, const std::map<std::string, ParamValue>& params) {
  auto it = params.find(condition.parent);
  if (it == params.end()) return false;
  for (const ParamValue& v : condition.values) {
    if (ParamValueEquals(v, it->second)) return true;
  }
  return false;
}

}  // namespace

namespace studyfile {

Status Parser::ParseObjective(const YAML::Node& node, StudyConfig& config) const {
  if (!node.IsMap()) {
    return Error(node, "objective", "must be a mapping ({command: [...]} or {builtin: NAME}), got " + Describe(node));
  }
  const bool has_command = static_cast<bool>(node["command"]);
  const bool has_builtin = static_cast<bool>(node["builtin"]);
  if (has_command && has_builtin) return Error(node, "objective", "give either command or builtin, not both");
  if (has_command) return ParseCommand(node, config);
  if (has_builtin) return ParseBuiltin(node, config);
  return Error(node, "objective", "needs command: [program, args...] or builtin: NAME");
}

Status Parser::ParseCommand(const YAML::Node& node, StudyConfig& config) const {
  DIAL_RETURN_IF_ERROR(CheckKeys(node, "objective", kCommandKeys));
  CommandObjectiveOptions options;
  const YAML::Node command = node["command"];
  if (!command.IsSequence() || command.size() == 0) {
    return Error(command, "objective.command",
                 "must be a non-empty list [program, arg, ...] (no shell is used), got " + Describe(command));
  }
  std::set<std::string> names = {kTrialNumberPlaceholder, kTrialDirPlaceholder, kStudyNamePlaceholder};
  for (const ParamSpec& s : config.search_space) names.insert(s.name);
  for (const auto& [f, v] : config.fixed) names.insert(f);
  for (size_t i = 0; i < command.size(); ++i) {
    const std::string key = "objective.command[" + std::to_string(i) + "]";
    if (!command[i].IsScalar()) return Error(command[i], key, "must be a string, got " + Describe(command[i]));
    const std::string arg = command[i].Scalar();
    Result<std::vector<std::string>> used = PlaceholderNames(arg);
    if (!used.ok()) return Error(command[i], key, used.status().message());
    for (const std::string& name : *used) {
      if (names.count(name) != 0) continue;
      std::vector<std::string> known(names.begin(), names.end());
      std::string hint = KeyHint(name, known);
      if (hint.rfind(" (known", 0) == 0) hint = " (known: " + Join(known) + ")";
      return Error(command[i], key,
                   "unknown placeholder {" + name + "}: not a parameter of search_space or fixed" + hint +
                       "; write {{ and }} for literal braces");
    }
    options.argv.push_back(arg);
  }
  if (options.argv[0].find('{') == std::string::npos) {
    Result<std::string> resolved = ResolveExecutable(options.argv[0]);
    if (!resolved.ok()) return Error(command[0], "objective.command[0]", resolved.status().message());
  }
  DIAL_RETURN_IF_ERROR(ParseCommandRunKeys(node, options));
  options.metrics = config.metrics;
  Status valid = options.Validate();
  if (!valid.ok()) return Error(node, "objective", valid.message());
  config.objective = std::move(options);
  return Status::Ok();
}

Status Parser::ParseCommandRunKeys(const YAML::Node& node, CommandObjectiveOptions& options) const {
  if (YAML::Node n = node["timeout"]) {
    DIAL_ASSIGN_OR_RETURN(double t, GetNumber(n, "objective.timeout"));
    if (!(t > 0) || !std::isfinite(t)) return Error(n, "objective.timeout", "must be a positive number of seconds");
    options.timeout_seconds = t;
  }
  if (YAML::Node n = node["kill_grace"]) {
    DIAL_ASSIGN_OR_RETURN(options.kill_grace_seconds, GetNumber(n, "objective.kill_grace"));
    if (!(options.kill_grace_seconds >= 0) || !std::isfinite(options.kill_grace_seconds)) {
      return Error(n, "objective.kill_grace", "must be a number of seconds ≥ 0");
    }
  }
  if (YAML::Node n = node["trials_dir"]) {
    DIAL_ASSIGN_OR_RETURN(options.trials_dir, GetString(n, "objective.trials_dir"));
    if (options.trials_dir.empty()) return Error(n, "objective.trials_dir", "empty");
  }
  if (YAML::Node n = node["workdir"]) {
    DIAL_ASSIGN_OR_RETURN(std::string workdir, GetString(n, "objective.workdir"));
    std::error_code ec;
    fs::path absolute = fs::absolute(workdir, ec);
    if (ec || !fs::is_directory(absolute, ec)) return Error(n, "objective.workdir", "no such directory: " + workdir);
    options.workdir = absolute.lexically_normal().string();
  }
  if (YAML::Node n = node["env"]) {
    if (!n.IsMap()) return Error(n, "objective.env", "must be a mapping of variable names to values");
    for (const auto& kv : n) {
      const std::string var = kv.first.Scalar();
      const std::string key = "objective.env." + var;
      if (var.empty() || var.find('=') != std::string::npos) return Error(kv.first, key, "not a variable name");
      if (!kv.second.IsScalar()) return Error(kv.second, key, "must be a single value, got " + Describe(kv.second));
      options.env[var] = IsNullScalar(kv.second) ? "" : kv.second.Scalar();
    }
  }
  return Status::Ok();
}

Status Parser::ParseCommandBuiltin(const YAML::Node& node, const std::string& name, StudyConfig& config) const {
  CommandObjectiveOptions options;
  DIAL_RETURN_IF_ERROR(ParseCommandRunKeys(node, options));
  Json keys = Json::object();
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    if (key == "builtin" || std::find(kCommandRunKeys.begin(), kCommandRunKeys.end(), key) != kCommandRunKeys.end()) {
      continue;
    }
    keys[key] = NodeToJson(kv.second);
  }
  Status made = CommandBuiltins().at(name)(keys, config, options);
  if (!made.ok()) return Error(node, "objective", made.message());
  options.metrics = config.metrics;
  Status valid = options.Validate();
  if (!valid.ok()) return Error(node, "objective", valid.message());
  config.objective = std::move(options);
  return Status::Ok();
}

Status Parser::ParseBuiltin(const YAML::Node& node, StudyConfig& config) const {
  BuiltinObjectiveConfig builtin;
  DIAL_ASSIGN_OR_RETURN(builtin.name, GetString(node["builtin"], "objective.builtin"));
  if (CommandBuiltins().count(builtin.name) != 0) return ParseCommandBuiltin(node, builtin.name, config);
  std::vector<double> lower, upper;
  if (builtin.name == kMfHartmannName) {
    DIAL_RETURN_IF_ERROR(CheckKeys(node, "objective", kMfHartmannKeys));
    double bias = kDefaultMfBias;
    int64_t max_fidelity = kMfHartmannMaxFidelity;
    if (YAML::Node n = node["bias"]) {
      DIAL_ASSIGN_OR_RETURN(bias, GetNumber(n, "objective.bias"));
    }
    if (YAML::Node n = node["max_fidelity"]) {
      DIAL_ASSIGN_OR_RETURN(max_fidelity, GetInt(n, "objective.max_fidelity"));
      if (max_fidelity < 1 || max_fidelity > kMfHartmannMaxFidelity) {
        return Error(n, "objective.max_fidelity",
                     "must be in [1, " + std::to_string(kMfHartmannMaxFidelity) + "], got " + n.Scalar());
      }
    }
    builtin.options = {{"bias", bias}, {"max_fidelity", max_fidelity}};
    lower.assign(6, 0.0);
    upper.assign(6, 1.0);
  } else {
    DIAL_RETURN_IF_ERROR(CheckKeys(node, "objective", kBuiltinKeys));
    Result<BenchmarkFunction> f = FindBenchmarkFunction(builtin.name);
    if (!f.ok()) {
      std::string others = kMfHartmannName;
      for (const auto& [name, factory] : CommandBuiltins()) others += ", " + name;
      return Error(node["builtin"], "objective.builtin", f.status().message() + ", or " + others);
    }
    lower = f->lower;
    upper = f->upper;
  }
  if (config.directions.size() != 1) {
    return Error(node, "objective.builtin",
                 "a built-in function has one objective, but the study has " +
                     std::to_string(config.directions.size()) + " directions");
  }
  const int line = node.Mark().line + 1;
  if (config.search_space.empty()) {
    // The function's own domain, x0..x{d-1}, as the benchmark suite defines it.
    for (size_t i = 0; i < lower.size(); ++i) {
      const std::string name = "x" + std::to_string(i);
      if (config.fixed.count(name) != 0) continue;
      ParamSpec spec;
      spec.name = name;
      spec.distribution = FloatDistribution{lower[i], upper[i], std::nullopt, false};
      spec.line = line;
      config.search_space.push_back(std::move(spec));
    }
  } else {
    std::vector<std::string> missing;
    for (size_t i = 0; i < lower.size(); ++i) {
      const std::string name = "x" + std::to_string(i);
      auto spec = std::find_if(config.search_space.begin(), config.search_space.end(),
                               [&](const ParamSpec& s) { return s.name == name; });
      auto fixed = config.fixed.find(name);
      if (spec == config.search_space.end() && fixed == config.fixed.end()) missing.push_back(name);
      if (fixed != config.fixed.end() && !IsNumeric(fixed->second)) {
        return Error(node, "fixed." + name, "must be a number for builtin " + builtin.name);
      }
      if (spec != config.search_space.end() && !spec->when.empty()) {
        return Error(node, "search_space." + name, "cannot be conditional: builtin " + builtin.name + " needs it");
      }
    }
    if (!missing.empty()) {
      return Error(node, "objective.builtin",
                   builtin.name + " needs parameters x0..x" + std::to_string(lower.size() - 1) +
                       " in search_space or fixed; missing " + Join(missing));
    }
  }
  if (config.metrics.size() != 1) config.metrics = {"value"};
  config.objective = std::move(builtin);
  return Status::Ok();
}

}  // namespace studyfile

void RegisterCommandBuiltin(const std::string& name, CommandBuiltinFactory factory) {
  CommandBuiltins()[name] = std::move(factory);
}

Result<std::map<std::string, ParamValue>> SuggestFromConfig(Trial& trial, const StudyConfig& config) {
  std::map<std::string, ParamValue> params = config.fixed;
  if (config.fidelity) {
    const auto& levels = config.fidelity->levels;
    const int level = std::clamp(FidelityLevelOf(trial.frozen()), 0, static_cast<int>(levels.size()) - 1);
    for (const auto& [name, value] : levels[level]) params[name] = value;
  }
  for (const ParamSpec& spec : config.search_space) {
    bool active = true;
    for (const ParamCondition& condition : spec.when) active = active && ConditionHolds(condition, params);
    if (!active) continue;
    Result<ParamValue> value = trial.Suggest(spec.name, spec.distribution);
    if (!value.ok()) {
      return value.status().WithContext(config.source + ":" + std::to_string(spec.line) + ": search_space." +
                                        spec.name);
    }
    params[spec.name] = *value;
  }
  return params;
}

Result<ObjectiveFunction> MakeObjective(const StudyConfig& config, const std::atomic<bool>* stop_flag) {
  auto shared = std::make_shared<const StudyConfig>(config);
  if (const auto* command = std::get_if<CommandObjectiveOptions>(&config.objective)) {
    DIAL_RETURN_IF_ERROR(command->Validate());
    return ObjectiveFunction([shared, stop_flag](Trial& trial) -> Result<std::vector<double>> {
      DIAL_ASSIGN_OR_RETURN(auto params, SuggestFromConfig(trial, *shared));
      return RunCommandTrial(trial, params, std::get<CommandObjectiveOptions>(shared->objective), stop_flag);
    });
  }
  const auto& builtin = std::get<BuiltinObjectiveConfig>(config.objective);
  const bool multi_fidelity = builtin.name == kMfHartmannName;
  BenchmarkFunction function;
  if (multi_fidelity) {
    function.name = kMfHartmannName;
    function.dim = 6;
  } else {
    DIAL_ASSIGN_OR_RETURN(function, FindBenchmarkFunction(builtin.name));
  }
  const double bias = builtin.options.value("bias", kDefaultMfBias);
  const int64_t max_fidelity = builtin.options.value("max_fidelity", static_cast<int64_t>(kMfHartmannMaxFidelity));
  return ObjectiveFunction(
      [shared, stop_flag, function, multi_fidelity, bias, max_fidelity](Trial& trial) -> Result<std::vector<double>> {
        DIAL_ASSIGN_OR_RETURN(auto params, SuggestFromConfig(trial, *shared));
        std::vector<double> x;
        for (int i = 0; i < function.dim; ++i) {
          const std::string name = "x" + std::to_string(i);
          auto it = params.find(name);
          if (it == params.end() || !IsNumeric(it->second)) {
            return InvalidArgument("builtin " + function.name + ": parameter " + name + " is missing or not a number");
          }
          x.push_back(NumericValue(it->second));
        }
        if (!multi_fidelity) return std::vector<double>{function.evaluate(x)};
        for (int64_t z = 1; z <= max_fidelity; ++z) {
          if (stop_flag != nullptr && stop_flag->load()) return Cancelled("interrupted");
          DIAL_RETURN_IF_ERROR(trial.Report(z, MfHartmann6(x, static_cast<double>(z), bias)));
          DIAL_ASSIGN_OR_RETURN(bool prune, trial.ShouldPrune());
          if (prune) return TrialPruned("pruned at step " + std::to_string(z));
        }
        return std::vector<double>{MfHartmann6(x, static_cast<double>(max_fidelity), bias)};
      });
}

}  // namespace dial
