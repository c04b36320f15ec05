// Study files: YAML → StudyConfig, checked completely at load time so that a bad file fails before anything is written;
// here: the entry points, Parser's driver and the sampler/pruner checks; sections in parse_*.cc, YAML in yaml_scan.cc.
#include "dial/study_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

#include "dial/pruner.h"
#include "dial/sampler.h"
#include "studyfile/study_config_parser.h"
#include "util/strings.h"

namespace dial {
namespace {

namespace fs = std::filesystem;

// A grid derived from an int or stepped float range lists every value; beyond this the user should say which.
constexpr int64_t kMaxDerivedGridValues = 10000;
// Suggest a known key when the unknown one is at most this many edits away.
constexpr size_t kMaxSuggestionDistance = 2;

const std::vector<std::string> kTopLevelKeys = {
    "study",        "storage",     "direction", "directions", "metrics",
    "n_trials",     "timeout",     "sampler",   "pruner",     "seed",
    "search_space", "fixed",       "objective", "n_jobs",     "heartbeat_interval",
    "grace_period", "max_retries", "stop",      "fidelity",   "resources_per_trial",
    "scheduler"};

std::string FileStem(const std::string& source) {
  if (source.empty() || source[0] == '<') return "";
  return fs::path(source).stem().string();
}

// A grid needs every value listed; when its options do not, they come from the study's search space.
Result<Json> DeriveGridSpace(const StudyConfig& config) {
  Json space = Json::object();
  for (const ParamSpec& spec : config.search_space) {
    Json values = Json::array();
    if (const auto* c = std::get_if<CategoricalDistribution>(&spec.distribution)) {
      for (const ParamValue& v : c->choices) values.push_back(ParamValueToJson(v));
    } else if (const auto* i = std::get_if<IntDistribution>(&spec.distribution)) {
      if ((i->high - i->low) / i->step + 1 > kMaxDerivedGridValues) {
        return InvalidArgument("search_space." + spec.name + " has more than " + std::to_string(kMaxDerivedGridValues) +
                               " values for a grid; list them under " + "sampler.search_space");
      }
      for (int64_t v = i->low; v <= i->high; v += i->step) values.push_back(v);
    } else {
      const auto& f = std::get<FloatDistribution>(spec.distribution);
      if (!f.step.has_value()) {
        return InvalidArgument("search_space." + spec.name +
                               " is a continuous float: a grid needs a step or a list "
                               "of values (or list them under sampler.search_space)");
      }
      const double n = std::round((f.high - f.low) / *f.step);
      if (n + 1 > kMaxDerivedGridValues) {
        return InvalidArgument("search_space." + spec.name + " has more than " + std::to_string(kMaxDerivedGridValues) +
                               " values for a grid");
      }
      for (int64_t k = 0; k <= static_cast<int64_t>(n); ++k) values.push_back(f.low + static_cast<double>(k) * *f.step);
    }
    space[spec.name] = std::move(values);
  }
  return space;
}

Status CheckSamplerOnly(StudyConfig& config) {
  if (config.sampler == "grid" && !config.sampler_options.contains("search_space")) {
    Result<Json> space = DeriveGridSpace(config);
    if (!space.ok()) return InvalidArgument("grid: " + space.status().message());
    config.sampler_options["search_space"] = *space;
  }
  Result<std::unique_ptr<Sampler>> sampler =
      CreateSampler(config.sampler, config.sampler_options, config.seed.value_or(0));
  return sampler.status();
}

Status CheckPrunerOnly(const StudyConfig& config) {
  return CreatePruner(config.pruner, config.pruner_options).status();
}

}  // namespace

namespace studyfile {

// " (did you mean 'n_trials'?)" or " (known keys: ...)".
std::string KeyHint(const std::string& key, const std::vector<std::string>& known) {
  std::string best;
  size_t best_distance = kMaxSuggestionDistance + 1;
  for (const std::string& k : known) {
    size_t d = EditDistance(key, k);
    if (d < best_distance) {
      best_distance = d;
      best = k;
    }
  }
  if (!best.empty()) return " (did you mean '" + best + "'?)";
  return " (known keys: " + Join(known) + ")";
}

Result<StudyConfig> Parser::Parse(const std::string& text) {
  YAML::Node loaded;
  try {
    DIAL_RETURN_IF_ERROR(ScanDocuments(text, source_));
    loaded = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(source_ + ":" + std::to_string(e.mark.line + 1) + ": malformed YAML: " + e.msg);
  }
  // Const from here on: yaml-cpp's non-const operator[] may add the keys it looks up.
  const YAML::Node& root = loaded;
  if (!root.IsMap()) {
    return InvalidArgument(source_ +
                           ":1: a study file is a mapping of keys (study, search_space, objective, ...), "
                           "got " +
                           Describe(root));
  }
  StudyConfig config;
  config.source = source_;
  config.yaml_text = text;
  DIAL_RETURN_IF_ERROR(CheckKeys(root, "", kTopLevelKeys));

  config.study_name = FileStem(source_);
  if (root["study"]) {
    DIAL_ASSIGN_OR_RETURN(config.study_name, GetString(root["study"], "study"));
  }
  if (root["storage"]) {
    DIAL_ASSIGN_OR_RETURN(config.storage, GetString(root["storage"], "storage"));
  }
  DIAL_RETURN_IF_ERROR(ParseDirections(root, config));
  DIAL_RETURN_IF_ERROR(ParseMetrics(root, config));
  if (YAML::Node n = root["n_trials"]) {
    DIAL_ASSIGN_OR_RETURN(int64_t n_trials, GetInt(n, "n_trials"));
    if (n_trials <= 0) return Error(n, "n_trials", "must be a positive integer, got " + n.Scalar());
    config.n_trials = n_trials;
  }
  if (YAML::Node n = root["timeout"]) {
    DIAL_ASSIGN_OR_RETURN(double timeout, GetNumber(n, "timeout"));
    if (!(timeout > 0) || !std::isfinite(timeout)) {
      return Error(n, "timeout", "must be a positive number of seconds, got " + n.Scalar());
    }
    config.timeout_seconds = timeout;
  }
  if (YAML::Node n = root["seed"]) {
    DIAL_ASSIGN_OR_RETURN(int64_t seed, GetInt(n, "seed"));
    if (seed < 0) return Error(n, "seed", "must be a non-negative integer, got " + n.Scalar());
    config.seed = static_cast<uint64_t>(seed);
  }
  DIAL_RETURN_IF_ERROR(ParseParallel(root, config));
  if (root["stop"]) DIAL_RETURN_IF_ERROR(ParseStop(root["stop"], config));
  if (root["fixed"]) DIAL_RETURN_IF_ERROR(ParseFixed(root["fixed"], config));
  if (root["search_space"]) DIAL_RETURN_IF_ERROR(ParseSearchSpace(root["search_space"], config));
  if (root["fidelity"]) DIAL_RETURN_IF_ERROR(ParseFidelity(root["fidelity"], config));
  if (!root["objective"]) {
    return Error(root, "objective",
                 "missing: say what to run, e.g. objective: {command: [python3, train.py, --lr, \"{lr}\"]} or "
                 "objective: {builtin: branin2}");
  }
  DIAL_RETURN_IF_ERROR(ParseObjective(root["objective"], config));
  if (root["sampler"]) {
    std::optional<uint64_t> sampler_seed;
    DIAL_RETURN_IF_ERROR(
        ParseComponent(root["sampler"], "sampler", config.sampler, config.sampler_options, &sampler_seed));
    if (sampler_seed.has_value()) {
      if (config.seed.has_value()) return Error(root["sampler"], "sampler.seed", "seed is also given at the top level");
      config.seed = sampler_seed;
    }
  }
  if (config.fidelity && config.fidelity->schedule == kBohbSchedule) {
    // BOHB is Hyperband with a TPE model per budget: TPE unless the file says otherwise, and then it must say tpe.
    if (!root["sampler"]) {
      config.sampler = "tpe";
    } else if (config.sampler != "tpe") {
      return Error(root["sampler"], "sampler",
                   "'" + config.sampler +
                       "' with fidelity schedule bohb: BOHB proposes configurations from a TPE model per budget; "
                       "drop `sampler:` (or set tpe), or use schedule hyperband with this sampler");
    }
  }
  DIAL_RETURN_IF_ERROR(CheckSampler(root["sampler"] ? root["sampler"] : root, config));
  if (root["pruner"]) {
    DIAL_RETURN_IF_ERROR(ParseComponent(root["pruner"], "pruner", config.pruner, config.pruner_options, nullptr));
  }
  DIAL_RETURN_IF_ERROR(CheckPruner(root["pruner"] ? root["pruner"] : root, config));
  // Last: the mutable names are checked against the whole search space (a built-in's may be derived) and the seed.
  if (root["scheduler"]) {
    DIAL_RETURN_IF_ERROR(ParseScheduler(root["scheduler"], config));
    if (const YAML::Node builtin = root["objective"]["builtin"]) {
      // The benchmark functions have no state to checkpoint, and the asr trainer does not yet train one segment
      // with changed params from a copied checkpoint (docs/pbt.md, "Limits").
      return Error(builtin, "objective.builtin",
                   "'" + builtin.Scalar() +
                       "' cannot run PBT segments: scheduler pbt needs a command trial that follows the checkpoint "
                       "contract in docs/pbt.md");
    }
  }
  return config;
}

Status Parser::ParseDirections(const YAML::Node& root, StudyConfig& config) const {
  YAML::Node one = root["direction"];
  YAML::Node many = root["directions"];
  if (one && many) return Error(many, "directions", "give either direction or directions, not both");
  auto parse = [&](const YAML::Node& n, const std::string& key) -> Result<StudyDirection> {
    DIAL_ASSIGN_OR_RETURN(std::string text, GetString(n, key));
    std::optional<StudyDirection> d = ParseStudyDirection(text);
    if (!d.has_value() || *d == StudyDirection::kNotSet) {
      return Error(n, key, "must be minimize or maximize, got \"" + text + "\"");
    }
    return *d;
  };
  if (one) {
    DIAL_ASSIGN_OR_RETURN(StudyDirection d, parse(one, "direction"));
    config.directions = {d};
  } else if (many) {
    if (!many.IsSequence() || many.size() == 0) {
      return Error(many, "directions", "must be a non-empty list such as [minimize, maximize], got " + Describe(many));
    }
    config.directions.clear();
    for (size_t i = 0; i < many.size(); ++i) {
      DIAL_ASSIGN_OR_RETURN(StudyDirection d, parse(many[i], "directions[" + std::to_string(i) + "]"));
      config.directions.push_back(d);
    }
  }
  return Status::Ok();
}

Status Parser::ParseMetrics(const YAML::Node& root, StudyConfig& config) const {
  YAML::Node n = root["metrics"];
  const size_t n_directions = config.directions.size();
  if (!n) {
    if (n_directions == 1) {
      config.metrics = {"value"};
      return Status::Ok();
    }
    YAML::Node at = root["directions"];
    return Error(at, "metrics",
                 "missing: " + std::to_string(n_directions) +
                     " directions need as many metric names, e.g. metrics: [wer, latency_ms]");
  }
  if (n.IsScalar()) {
    DIAL_ASSIGN_OR_RETURN(std::string m, GetString(n, "metrics"));
    config.metrics = {m};
  } else if (n.IsSequence()) {
    std::set<std::string> seen;
    for (size_t i = 0; i < n.size(); ++i) {
      const std::string key = "metrics[" + std::to_string(i) + "]";
      DIAL_ASSIGN_OR_RETURN(std::string m, GetString(n[i], key));
      if (m.empty()) return Error(n[i], key, "empty metric name");
      if (m == "step") return Error(n[i], key, "\"step\" is reserved for intermediate values");
      if (!seen.insert(m).second) return Error(n[i], key, "\"" + m + "\" is listed twice");
      config.metrics.push_back(m);
    }
  } else {
    return Error(n, "metrics", "must be a metric name or a list of them, got " + Describe(n));
  }
  if (config.metrics.size() != n_directions) {
    return Error(n, "metrics",
                 std::to_string(config.metrics.size()) + " metric(s) [" + Join(config.metrics) + "] for " +
                     std::to_string(n_directions) + " direction(s): give one metric per direction");
  }
  return Status::Ok();
}

Status Parser::ParseComponent(const YAML::Node& node, const std::string& key, std::string& name, Json& options,
                              std::optional<uint64_t>* seed) const {
  options = Json::object();
  if (node.IsScalar()) {
    DIAL_ASSIGN_OR_RETURN(name, GetString(node, key));
    return Status::Ok();
  }
  if (!node.IsMap()) {
    return Error(
        node, key,
        "must be a name (" + key + ": random) or a mapping with a name ({name: random, ...}), got " + Describe(node));
  }
  if (!node["name"]) return Error(node, key + ".name", "missing: which " + key + " to use");
  DIAL_ASSIGN_OR_RETURN(name, GetString(node["name"], key + ".name"));
  std::set<std::string> seen;
  for (const auto& kv : node) {
    const std::string option = kv.first.Scalar();
    if (!seen.insert(option).second) return Error(kv.first, key + "." + option, "given twice");
    if (option == "name") continue;
    if (option == "seed" && seed != nullptr) {
      DIAL_ASSIGN_OR_RETURN(int64_t s, GetInt(kv.second, key + ".seed"));
      if (s < 0) return Error(kv.second, key + ".seed", "must be a non-negative integer, got " + kv.second.Scalar());
      *seed = static_cast<uint64_t>(s);
      continue;
    }
    options[option] = NodeToJson(kv.second);
  }
  return Status::Ok();
}

Status Parser::CheckSampler(const YAML::Node& node, StudyConfig& config) const {
  Status s = CheckSamplerOnly(config);
  if (!s.ok()) return Error(node, "sampler", s.message());
  return Status::Ok();
}

Status Parser::CheckPruner(const YAML::Node& node, const StudyConfig& config) const {
  Status s = CheckPrunerOnly(config);
  if (!s.ok()) return Error(node, "pruner", s.message());
  return Status::Ok();
}

}  // namespace studyfile

Status CheckSamplerAndPruner(StudyConfig& config) {
  Status s = CheckSamplerOnly(config);
  if (!s.ok()) return s.WithContext("sampler");
  s = CheckPrunerOnly(config);
  if (!s.ok()) return s.WithContext("pruner");
  return Status::Ok();
}

Result<StudyConfig> ParseStudyConfig(const std::string& yaml_text, const std::string& source) {
  try {
    return studyfile::Parser(source).Parse(yaml_text);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(source + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

Result<StudyConfig> LoadStudyConfig(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return NotFound(path + ": no such study file");
  if (fs::is_directory(path, ec)) return InvalidArgument(path + ": is a directory, not a study file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError(path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return ParseStudyConfig(text.str(), path);
}

double GracePeriodSeconds(const StudyConfig& config) {
  // Optuna's default grace period is twice the heartbeat interval.
  return config.grace_period_seconds.value_or(2.0 * config.heartbeat_interval_seconds);
}

}  // namespace dial
