// The search_space: and fixed: sections of a study file: each parameter's distribution (float, int, categorical or
// a list of choices) and its `when:` conditions on parameters declared before it.
#include <cmath>
#include <map>
#include <set>
#include <string>

#include "studyfile/study_config_parser.h"
#include "util/strings.h"

namespace dial {
namespace {

const std::vector<std::string> kFloatKeys = {"type", "low", "high", "step", "log", "when"};
const std::vector<std::string> kIntKeys = {"type", "low", "high", "step", "log", "when"};
const std::vector<std::string> kCategoricalKeys = {"type", "choices", "when"};

}  // namespace

namespace studyfile {

Status Parser::ParseFixed(const YAML::Node& node, StudyConfig& config) const {
  if (IsNullScalar(node)) return Status::Ok();
  if (!node.IsMap())
    return Error(node, "fixed", "must be a mapping of parameter names to values, got " + Describe(node));
  for (const auto& kv : node) {
    const std::string name = kv.first.Scalar();
    const std::string key = "fixed." + name;
    if (config.fixed.count(name) != 0) return Error(kv.first, key, "given twice");
    DIAL_ASSIGN_OR_RETURN(ParamValue v, GetValue(kv.second, key));
    config.fixed.emplace(name, std::move(v));
  }
  return Status::Ok();
}

Status Parser::ParseSearchSpace(const YAML::Node& node, StudyConfig& config) const {
  if (IsNullScalar(node)) return Status::Ok();
  if (!node.IsMap()) {
    return Error(node, "search_space", "must be a mapping of parameter names to distributions, got " + Describe(node));
  }
  std::set<std::string> seen;
  for (const auto& kv : node) {
    const std::string name = kv.first.Scalar();
    const std::string key = "search_space." + name;
    if (name.empty()) return Error(kv.first, key, "empty parameter name");
    if (!seen.insert(name).second) return Error(kv.first, key, "given twice");
    if (config.fixed.count(name) != 0) {
      return Error(kv.first, key, "also given under fixed: a parameter is either searched or fixed");
    }
    DIAL_ASSIGN_OR_RETURN(ParamSpec spec, ParseParam(name, kv.second, config));
    spec.line = kv.first.Mark().line + 1;
    config.search_space.push_back(std::move(spec));
  }
  return Status::Ok();
}

Result<ParamSpec> Parser::ParseParam(const std::string& name, const YAML::Node& node, const StudyConfig& config) const {
  const std::string key = "search_space." + name;
  ParamSpec spec;
  spec.name = name;
  auto check_distribution = [&](const YAML::Node& at) -> Status {
    Status valid = Validate(spec.distribution);
    if (!valid.ok()) return Error(at, key, valid.message());
    return Status::Ok();
  };
  auto parse_choices = [&](const YAML::Node& list, const std::string& list_key) -> Status {
    if (!list.IsSequence()) return Error(list, list_key, "must be a list of values, got " + Describe(list));
    if (list.size() == 0) return Error(list, key, "empty choices: list at least one value");
    CategoricalDistribution cat;
    cat.choices.reserve(list.size());
    for (size_t i = 0; i < list.size(); ++i) {
      DIAL_ASSIGN_OR_RETURN(ParamValue v, GetValue(list[i], list_key + "[" + std::to_string(i) + "]"));
      cat.choices.push_back(std::move(v));
    }
    if (auto duplicate = FindDuplicateChoice(cat.choices)) {
      const auto [earlier, later] = *duplicate;
      return Error(list[later], key,
                   "duplicate choice " + ParamValueToString(cat.choices[later]) + " (" + list_key + "[" +
                       std::to_string(earlier) + "] and [" + std::to_string(later) + "])");
    }
    spec.distribution = std::move(cat);
    return Status::Ok();
  };

  // A bare list is a categorical, as ESPnet's tuning files write it.
  if (node.IsSequence()) {
    DIAL_RETURN_IF_ERROR(parse_choices(node, key));
    DIAL_RETURN_IF_ERROR(check_distribution(node));
    return spec;
  }
  if (!node.IsMap()) {
    return Error(node, key,
                 "must be a distribution ({type: float, low: ..., high: ...}) or a list of choices, got " +
                     Describe(node) + " (a constant belongs under fixed:)");
  }
  std::string type;
  if (node["type"]) {
    DIAL_ASSIGN_OR_RETURN(type, GetString(node["type"], key + ".type"));
  } else if (node["choices"]) {
    type = "categorical";
  } else {
    return Error(node, key + ".type", "missing: float, int or categorical");
  }
  if (type == "float") {
    DIAL_RETURN_IF_ERROR(CheckKeys(node, key, kFloatKeys));
    FloatDistribution f;
    if (!node["low"]) return Error(node, key + ".low", "missing");
    if (!node["high"]) return Error(node, key + ".high", "missing");
    DIAL_ASSIGN_OR_RETURN(f.low, GetNumber(node["low"], key + ".low"));
    DIAL_ASSIGN_OR_RETURN(f.high, GetNumber(node["high"], key + ".high"));
    if (node["step"] && !IsNullScalar(node["step"])) {
      DIAL_ASSIGN_OR_RETURN(double step, GetNumber(node["step"], key + ".step"));
      f.step = step;
    }
    if (node["log"]) {
      DIAL_ASSIGN_OR_RETURN(f.log, GetBool(node["log"], key + ".log"));
    }
    spec.distribution = f;
  } else if (type == "int") {
    DIAL_RETURN_IF_ERROR(CheckKeys(node, key, kIntKeys));
    IntDistribution d;
    if (!node["low"]) return Error(node, key + ".low", "missing");
    if (!node["high"]) return Error(node, key + ".high", "missing");
    DIAL_ASSIGN_OR_RETURN(d.low, GetInt(node["low"], key + ".low"));
    DIAL_ASSIGN_OR_RETURN(d.high, GetInt(node["high"], key + ".high"));
    if (node["step"]) {
      DIAL_ASSIGN_OR_RETURN(d.step, GetInt(node["step"], key + ".step"));
    }
    if (node["log"]) {
      DIAL_ASSIGN_OR_RETURN(d.log, GetBool(node["log"], key + ".log"));
    }
    spec.distribution = d;
  } else if (type == "categorical") {
    DIAL_RETURN_IF_ERROR(CheckKeys(node, key, kCategoricalKeys));
    if (!node["choices"]) return Error(node, key + ".choices", "missing: list the values");
    DIAL_RETURN_IF_ERROR(parse_choices(node["choices"], key + ".choices"));
  } else {
    return Error(node["type"], key + ".type", "must be float, int or categorical, got \"" + type + "\"");
  }
  DIAL_RETURN_IF_ERROR(check_distribution(node));
  if (node["when"]) DIAL_RETURN_IF_ERROR(ParseCondition(name, node["when"], config, spec));
  return spec;
}

Status Parser::ParseCondition(const std::string& name, const YAML::Node& node, const StudyConfig& config,
                              ParamSpec& spec) const {
  const std::string key = "search_space." + name + ".when";
  if (!node.IsMap() || node.size() == 0) {
    return Error(node, key,
                 "must be a mapping such as {optimizer: sgd} or {optimizer: [sgd, adam]}, got " + Describe(node));
  }
  for (const auto& kv : node) {
    const std::string parent = kv.first.Scalar();
    const std::string parent_key = key + "." + parent;
    ParamCondition condition;
    condition.parent = parent;
    if (kv.second.IsSequence()) {
      if (kv.second.size() == 0) return Error(kv.second, parent_key, "empty list of values");
      for (size_t i = 0; i < kv.second.size(); ++i) {
        DIAL_ASSIGN_OR_RETURN(ParamValue v, GetValue(kv.second[i], parent_key));
        condition.values.push_back(std::move(v));
      }
    } else {
      DIAL_ASSIGN_OR_RETURN(ParamValue v, GetValue(kv.second, parent_key));
      condition.values.push_back(std::move(v));
    }
    if (parent == name) return Error(kv.first, parent_key, "a parameter cannot depend on itself");
    auto spec_it = std::find_if(config.search_space.begin(), config.search_space.end(),
                                [&](const ParamSpec& s) { return s.name == parent; });
    auto fixed_it = config.fixed.find(parent);
    if (spec_it != config.search_space.end()) {
      for (const ParamValue& v : condition.values) {
        Result<double> internal = ToInternal(spec_it->distribution, v);
        if (!internal.ok() || !Contains(spec_it->distribution, *internal)) {
          return Error(kv.second, parent_key,
                       ParamValueToString(v) + " is not a possible value of " + parent + " (" +
                           DistributionToString(spec_it->distribution) + ")");
        }
      }
    } else if (fixed_it != config.fixed.end()) {
      bool matches = false;
      for (const ParamValue& v : condition.values) matches = matches || ParamValueEquals(v, fixed_it->second);
      if (!matches) {
        return Error(kv.second, parent_key,
                     "never true: " + parent + " is fixed to " + ParamValueToString(fixed_it->second));
      }
    } else {
      std::vector<std::string> declared;
      for (const ParamSpec& s : config.search_space) declared.push_back(s.name);
      for (const auto& [f, v] : config.fixed) declared.push_back(f);
      return Error(kv.first, parent_key,
                   "unknown parameter '" + parent +
                       "': a condition names a parameter declared earlier in "
                       "search_space, or a fixed one" +
                       (declared.empty() ? std::string() : " (declared so far: " + Join(declared) + ")"));
    }
    spec.when.push_back(std::move(condition));
  }
  return Status::Ok();
}

}  // namespace studyfile
}  // namespace dial
