// Reading a sampler's or pruner's options from the JSON object written under `sampler:` / `pruner:` in a
// study file. Shared by the sampler and pruner registries so every component reports bad options alike.
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "dial/status.h"

namespace dial::internal {

// Integers written as floats (3.0) are accepted up to here, where doubles stop being exact.
inline constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53

// `what` names the component in messages, e.g. "sampler 'random'". Null counts as no options.
inline Status CheckOptionKeys(const std::string& what, const nlohmann::json& options,
                              std::initializer_list<std::string_view> known) {
  if (options.is_null()) return Status::Ok();
  if (!options.is_object()) {
    return InvalidArgument(what + ": options must be a mapping of option names to values, got " + options.dump());
  }
  for (auto it = options.begin(); it != options.end(); ++it) {
    bool found = false;
    for (std::string_view k : known) found = found || it.key() == k;
    if (found) continue;
    std::string list;
    for (std::string_view k : known) list += (list.empty() ? "" : ", ") + std::string(k);
    return InvalidArgument(what + ": unknown option '" + it.key() +
                           "' (known options: " + (list.empty() ? "none" : list) + ")");
  }
  return Status::Ok();
}

// The integer option `key` in [min, max], or `fallback` when absent. A float with an integral value is
// accepted (YAML and JSON writers sometimes emit 3.0).
inline Result<int64_t> GetIntOption(const std::string& what, const nlohmann::json& options, const std::string& key,
                                    int64_t fallback, int64_t min = std::numeric_limits<int64_t>::min(),
                                    int64_t max = std::numeric_limits<int64_t>::max()) {
  if (!options.is_object() || !options.contains(key)) return fallback;
  const nlohmann::json& v = options.at(key);
  int64_t out = 0;
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return InvalidArgument(what + ": option '" + key + "' is too large: " + v.dump());
    }
    out = static_cast<int64_t>(u);
  } else if (v.is_number_integer()) {
    out = v.get<int64_t>();
  } else if (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>() &&
             std::fabs(v.get<double>()) < kMaxExactInteger) {
    out = static_cast<int64_t>(v.get<double>());
  } else {
    return InvalidArgument(what + ": option '" + key + "' must be an integer, got " + v.dump());
  }
  if (out < min || out > max) {
    return InvalidArgument(what + ": option '" + key + "' must be in [" + std::to_string(min) + ", " +
                           std::to_string(max) + "], got " + std::to_string(out));
  }
  return out;
}

// The number option `key` (finite), or `fallback` when absent.
inline Result<double> GetDoubleOption(const std::string& what, const nlohmann::json& options, const std::string& key,
                                      double fallback) {
  if (!options.is_object() || !options.contains(key)) return fallback;
  const nlohmann::json& v = options.at(key);
  if (!v.is_number() || !std::isfinite(v.get<double>())) {
    return InvalidArgument(what + ": option '" + key + "' must be a finite number, got " + v.dump());
  }
  return v.get<double>();
}

// An option whose absence or null means "not set" (e.g. `popsize: null`, the default): nullopt then, otherwise
// the value as GetIntOption / GetDoubleOption read it.
inline Result<std::optional<int64_t>> GetOptionalIntOption(const std::string& what, const nlohmann::json& options,
                                                           const std::string& key,
                                                           int64_t min = std::numeric_limits<int64_t>::min(),
                                                           int64_t max = std::numeric_limits<int64_t>::max()) {
  if (!options.is_object() || !options.contains(key) || options.at(key).is_null()) return std::optional<int64_t>();
  DIAL_ASSIGN_OR_RETURN(int64_t v, GetIntOption(what, options, key, 0, min, max));
  return std::optional<int64_t>(v);
}
inline Result<std::optional<double>> GetOptionalDoubleOption(const std::string& what, const nlohmann::json& options,
                                                             const std::string& key) {
  if (!options.is_object() || !options.contains(key) || options.at(key).is_null()) return std::optional<double>();
  DIAL_ASSIGN_OR_RETURN(double v, GetDoubleOption(what, options, key, 0.0));
  return std::optional<double>(v);
}

// An integer option that may also be "auto" (`min_resource: auto`): nullopt when absent or "auto", otherwise
// the integer in [min, max]. `expected` completes the message for anything else ("an integer >= 1").
inline Result<std::optional<int64_t>> GetIntOrAutoOption(const std::string& what, const nlohmann::json& options,
                                                         const std::string& key, const std::string& expected,
                                                         int64_t min = std::numeric_limits<int64_t>::min(),
                                                         int64_t max = std::numeric_limits<int64_t>::max()) {
  if (!options.is_object() || !options.contains(key) || options.at(key) == "auto") return std::optional<int64_t>();
  if (!options.at(key).is_number()) {
    return InvalidArgument(what + ": option '" + key + "' must be " + expected + " or \"auto\", got " +
                           options.at(key).dump());
  }
  DIAL_ASSIGN_OR_RETURN(int64_t v, GetIntOption(what, options, key, 0, min, max));
  return std::optional<int64_t>(v);
}

// The option `key` naming one of `choices` (`crossover: sbx`), or `fallback` when absent: InvalidArgument
// listing the names otherwise ("must be \"uniform\", \"sbx\" or \"blxalpha\", got ...").
template <typename T>
Result<T> GetChoiceOption(const std::string& what, const nlohmann::json& options, const std::string& key, T fallback,
                          std::initializer_list<std::pair<std::string_view, T>> choices) {
  if (!options.is_object() || !options.contains(key)) return fallback;
  const nlohmann::json& v = options.at(key);
  std::string names;
  size_t i = 0;
  for (const auto& [name, value] : choices) {
    if (v.is_string() && v.get<std::string>() == name) return value;
    names += (i == 0 ? "" : i + 1 == choices.size() ? " or " : ", ") + ("\"" + std::string(name) + "\"");
    ++i;
  }
  return InvalidArgument(what + ": option '" + key + "' must be " + names + ", got " + v.dump());
}

// The true/false option `key`, or `fallback` when absent.
inline Result<bool> GetBoolOption(const std::string& what, const nlohmann::json& options, const std::string& key,
                                  bool fallback) {
  if (!options.is_object() || !options.contains(key)) return fallback;
  const nlohmann::json& v = options.at(key);
  if (!v.is_boolean()) return InvalidArgument(what + ": option '" + key + "' must be true or false, got " + v.dump());
  return v.get<bool>();
}

// The `seed` option (a non-negative integer) when given, else the study's seed.
inline Result<uint64_t> GetSeedOption(const std::string& what, const nlohmann::json& options, uint64_t study_seed) {
  if (!options.is_object() || !options.contains("seed")) return study_seed;
  const nlohmann::json& v = options.at("seed");
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  DIAL_ASSIGN_OR_RETURN(int64_t seed, GetIntOption(what, options, "seed", 0, 0));
  return static_cast<uint64_t>(seed);
}

}  // namespace dial::internal
