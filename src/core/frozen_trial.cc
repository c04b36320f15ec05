// FrozenTrial accessors, enum names as Optuna stores them, and Optuna's DATETIME text form.
#include "dial/frozen_trial.h"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace dial {

std::string_view TrialStateName(TrialState state) {
  switch (state) {
    case TrialState::kRunning:
      return "RUNNING";
    case TrialState::kComplete:
      return "COMPLETE";
    case TrialState::kPruned:
      return "PRUNED";
    case TrialState::kFail:
      return "FAIL";
    case TrialState::kWaiting:
      return "WAITING";
  }
  return "FAIL";
}

std::optional<TrialState> ParseTrialState(std::string_view name) {
  for (auto s :
       {TrialState::kRunning, TrialState::kComplete, TrialState::kPruned, TrialState::kFail, TrialState::kWaiting}) {
    if (TrialStateName(s) == name) return s;
  }
  return std::nullopt;
}

std::string_view StudyDirectionName(StudyDirection d) {
  switch (d) {
    case StudyDirection::kNotSet:
      return "NOT_SET";
    case StudyDirection::kMinimize:
      return "MINIMIZE";
    case StudyDirection::kMaximize:
      return "MAXIMIZE";
  }
  return "NOT_SET";
}

std::optional<StudyDirection> ParseStudyDirection(std::string_view name) {
  if (name == "minimize" || name == "MINIMIZE") return StudyDirection::kMinimize;
  if (name == "maximize" || name == "MAXIMIZE") return StudyDirection::kMaximize;
  if (name == "NOT_SET") return StudyDirection::kNotSet;
  return std::nullopt;
}

Json ParamValueToJson(const ParamValue& value) {
  struct Visitor {
    Json operator()(std::monostate) const { return nullptr; }
    Json operator()(bool b) const { return b; }
    Json operator()(int64_t i) const { return i; }
    Json operator()(double d) const { return d; }
    Json operator()(const std::string& s) const { return s; }
  };
  return std::visit(Visitor{}, value);
}

Result<ParamValue> ParamValueFromJson(const Json& json) {
  if (json.is_null()) return ParamValue{};
  if (json.is_boolean()) return ParamValue{json.get<bool>()};
  if (json.is_number_integer()) return ParamValue{json.get<int64_t>()};
  if (json.is_number()) return ParamValue{json.get<double>()};
  if (json.is_string()) return ParamValue{json.get<std::string>()};
  return InvalidArgument("a parameter value must be null, a boolean, a number or a string, got " + json.dump());
}

std::optional<ParamValue> FrozenTrial::Param(const std::string& name) const {
  const auto p = params.find(name);
  const auto d = distributions.find(name);
  if (p == params.end() || d == distributions.end()) return std::nullopt;
  return ToExternal(d->second, p->second);
}

std::map<std::string, ParamValue> FrozenTrial::ExternalParams() const {
  std::map<std::string, ParamValue> out;
  for (const auto& [name, internal] : params) {
    if (auto d = distributions.find(name); d != distributions.end()) out.emplace(name, ToExternal(d->second, internal));
  }
  return out;
}

std::optional<double> FrozenTrial::value() const {
  if (values.size() != 1) return std::nullopt;
  return values[0];
}

std::optional<int64_t> FrozenTrial::LastStep() const {
  if (intermediate_values.empty()) return std::nullopt;
  return intermediate_values.rbegin()->first;
}

std::optional<double> FrozenTrial::DurationSeconds() const {
  if (!datetime_start || !datetime_complete) return std::nullopt;
  return std::chrono::duration<double>(*datetime_complete - *datetime_start).count();
}

bool SatisfiesConstraints(const FrozenTrial& trial) {
  auto it = trial.system_attrs.find(std::string(kConstraintsAttr));
  if (it == trial.system_attrs.end() || !it->second.is_array()) return true;
  for (const Json& c : it->second) {
    if (!c.is_number() || !(c.get<double>() <= 0.0)) return false;  // NaN and non-numbers count as violated
  }
  return true;
}

std::string FormatTimestamp(Timestamp t) {
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  long micros = static_cast<long>(us % 1000000);
  if (micros < 0) {
    micros += 1000000;
    --secs;
  }
  std::tm tm{};
  localtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d.%06ld", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
  return buf;
}

std::optional<Timestamp> ParseTimestamp(std::string_view text) {
  // Accepts "YYYY-MM-DD HH:MM:SS[.ffffff]" (also with 'T'), local time, as Optuna writes and reads it.
  std::tm tm{};
  int year, month, day, hour, minute, second;
  char sep;
  std::string s(text);
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d%n", &year, &month, &day, &sep, &hour, &minute, &second,
                  &consumed) != 7 ||
      (sep != ' ' && sep != 'T')) {
    return std::nullopt;
  }
  long micros = 0;
  if (consumed < static_cast<int>(s.size()) && s[consumed] == '.') {
    int digits = 0;
    for (size_t k = consumed + 1; k < s.size() && std::isdigit(static_cast<unsigned char>(s[k])) && digits < 6;
         ++k, ++digits) {
      micros = micros * 10 + (s[k] - '0');
    }
    for (; digits < 6; ++digits) micros *= 10;
  }
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  tm.tm_isdst = -1;
  const std::time_t secs = std::mktime(&tm);
  if (secs == static_cast<std::time_t>(-1)) return std::nullopt;
  return Timestamp(std::chrono::seconds(secs)) + std::chrono::microseconds(micros);
}

}  // namespace dial
