// Private to dial_studyfile: the Parser that reads a study file section by section (its methods are defined in
// study_config.cc and the parse_*.cc files) and the YAML helpers they share (yaml_scan.cc).
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dial/status.h"
#include "dial/study_config.h"

namespace dial::studyfile {

// " (did you mean 'n_trials'?)" or " (known keys: ...)".
std::string KeyHint(const std::string& key, const std::vector<std::string>& known);

// YAML scalars as YAML 1.2's core schema reads them (yaml_scan.cc).
bool IsPlain(const YAML::Node& node);
bool IsNullScalar(const YAML::Node& node);
std::optional<bool> PlainBool(const std::string& s);
std::optional<int64_t> PlainInt(const std::string& s);
std::optional<double> PlainFloat(const std::string& s);
// The scalar as YAML 1.2's core schema reads it: null, bool, int, float, else a string. Quoted is always a string.
ParamValue ScalarValue(const YAML::Node& node);
Json NodeToJson(const YAML::Node& node);
std::string Describe(const YAML::Node& node);

// Before any part of a study file is read: one YAML document (yaml-cpp's Load would silently drop a second), and
// aliases that stay small (AliasScan). Throws YAML::Exception on malformed YAML, as YAML::Load does.
Status ScanDocuments(const std::string& text, const std::string& source);

class Parser {
 public:
  explicit Parser(std::string source) : source_(std::move(source)) {}

  Result<StudyConfig> Parse(const std::string& text);

 private:
  Status Error(const YAML::Node& node, const std::string& key, const std::string& what) const {
    int line = node.IsDefined() ? node.Mark().line + 1 : 1;
    if (line <= 0) line = 1;
    std::string message = source_ + ":" + std::to_string(line) + ": ";
    if (!key.empty()) message += key + ": ";
    return InvalidArgument(message + what);
  }

  // Unknown keys, duplicated keys and non-string keys of a mapping.
  Status CheckKeys(const YAML::Node& map, const std::string& path, const std::vector<std::string>& known) const {
    std::set<std::string> seen;
    for (const auto& kv : map) {
      const std::string key = kv.first.Scalar();
      const std::string full = path.empty() ? key : path + "." + key;
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        return Error(kv.first, full, "unknown key" + KeyHint(key, known));
      }
      if (!seen.insert(key).second) return Error(kv.first, full, "given twice");
    }
    return Status::Ok();
  }

  Result<std::string> GetString(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar() || IsNullScalar(node)) return Error(node, key, "must be a string, got " + Describe(node));
    return node.Scalar();
  }

  Result<int64_t> GetInt(const YAML::Node& node, const std::string& key) const {
    if (node.IsScalar() && IsPlain(node)) {
      if (auto v = PlainInt(node.Scalar())) return *v;
      if (auto d = PlainFloat(node.Scalar()); d && std::isfinite(*d) && *d == std::floor(*d) && std::fabs(*d) < 9e15) {
        return static_cast<int64_t>(*d);
      }
    }
    return Error(node, key, "must be an integer, got " + Describe(node));
  }

  Result<double> GetNumber(const YAML::Node& node, const std::string& key) const {
    if (node.IsScalar() && IsPlain(node)) {
      if (auto v = PlainInt(node.Scalar())) return static_cast<double>(*v);
      if (auto d = PlainFloat(node.Scalar())) return *d;
    }
    return Error(node, key, "must be a number, got " + Describe(node));
  }

  Result<bool> GetBool(const YAML::Node& node, const std::string& key) const {
    if (node.IsScalar() && IsPlain(node)) {
      if (auto b = PlainBool(node.Scalar())) return *b;
    }
    return Error(node, key, "must be true or false, got " + Describe(node));
  }

  Result<ParamValue> GetValue(const YAML::Node& node, const std::string& key) const {
    if (node.IsMap() || node.IsSequence()) {
      return Error(node, key, "must be a single value (a number, a string, true/false or null), got " + Describe(node));
    }
    return ScalarValue(node);
  }

  Status ParseDirections(const YAML::Node& root, StudyConfig& config) const;
  Status ParseMetrics(const YAML::Node& root, StudyConfig& config) const;
  Status ParseComponent(const YAML::Node& node, const std::string& key, std::string& name, Json& options,
                        std::optional<uint64_t>* seed) const;
  Status ParseFixed(const YAML::Node& node, StudyConfig& config) const;
  Status ParseSearchSpace(const YAML::Node& node, StudyConfig& config) const;
  Result<ParamSpec> ParseParam(const std::string& name, const YAML::Node& node, const StudyConfig& config) const;
  Status ParseCondition(const std::string& name, const YAML::Node& node, const StudyConfig& config,
                        ParamSpec& spec) const;
  Status ParseObjective(const YAML::Node& node, StudyConfig& config) const;
  Status ParseParallel(const YAML::Node& root, StudyConfig& config) const;
  Status ParseResources(const YAML::Node& node, StudyConfig& config) const;
  Status ParseStop(const YAML::Node& node, StudyConfig& config) const;
  Status ParseCommand(const YAML::Node& node, StudyConfig& config) const;
  Status ParseBuiltin(const YAML::Node& node, StudyConfig& config) const;
  Status ParseFidelity(const YAML::Node& node, StudyConfig& config) const;
  Status ParseScheduler(const YAML::Node& node, StudyConfig& config) const;
  Status ParseExplore(const YAML::Node& node, const std::string& key, PbtExploreOptions& explore) const;
  Status ParseCommandRunKeys(const YAML::Node& node, CommandObjectiveOptions& options) const;
  Status ParseCommandBuiltin(const YAML::Node& node, const std::string& name, StudyConfig& config) const;
  Status CheckSampler(const YAML::Node& node, StudyConfig& config) const;
  Status CheckPruner(const YAML::Node& node, const StudyConfig& config) const;

  std::string source_;
};

}  // namespace dial::studyfile
