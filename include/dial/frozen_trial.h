// FrozenTrial: an immutable snapshot of one trial, the value passed between storage, samplers, pruners
// and reports. Field names and meanings follow Optuna's FrozenTrial.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dial/distribution.h"

namespace dial {

using Json = nlohmann::json;
using StudyId = int64_t;
using TrialId = int64_t;
using Timestamp = std::chrono::system_clock::time_point;
using AttrMap = std::map<std::string, Json>;

enum class TrialState { kRunning, kComplete, kPruned, kFail, kWaiting };
// "RUNNING", "COMPLETE", "PRUNED", "FAIL", "WAITING": the names Optuna stores.
std::string_view TrialStateName(TrialState state);
std::optional<TrialState> ParseTrialState(std::string_view name);
// COMPLETE, PRUNED and FAIL are finished: never modified again.
inline bool IsFinished(TrialState s) {
  return s == TrialState::kComplete || s == TrialState::kPruned || s == TrialState::kFail;
}

enum class StudyDirection { kNotSet, kMinimize, kMaximize };
std::string_view StudyDirectionName(StudyDirection d);  // "MINIMIZE"
// Accepts "minimize"/"MINIMIZE"/"maximize"/"MAXIMIZE" (and "NOT_SET").
std::optional<StudyDirection> ParseStudyDirection(std::string_view name);

// System attribute keys with Optuna's meaning, and dial's own (prefixed "dial:").
inline constexpr std::string_view kFixedParamsAttr = "fixed_params";
inline constexpr std::string_view kConstraintsAttr = "constraints";
inline constexpr std::string_view kFailReasonAttr = "dial:fail_reason";
inline constexpr std::string_view kStderrTailAttr = "dial:stderr_tail";
// Optuna's RetryFailedTrialCallback keys: the number of the first trial of a retry chain, and every trial number of
// the chain before this one, oldest first.
inline constexpr std::string_view kFailedTrialAttr = "failed_trial";
inline constexpr std::string_view kRetryHistoryAttr = "retry_history";

struct FrozenTrial {
  TrialId trial_id = -1;
  int64_t number = -1;
  TrialState state = TrialState::kRunning;
  // One per objective for COMPLETE; a PRUNED single-objective trial keeps its last intermediate value; empty
  // otherwise.
  std::vector<double> values;
  std::optional<Timestamp> datetime_start;
  std::optional<Timestamp> datetime_complete;
  std::map<std::string, double> params;  // internal form, see distribution.h
  std::map<std::string, Distribution> distributions;
  std::map<int64_t, double> intermediate_values;  // step → value (NaN and ±inf allowed)
  AttrMap user_attrs;
  AttrMap system_attrs;

  // The external value of a parameter, or nullopt when the trial has no such parameter.
  std::optional<ParamValue> Param(const std::string& name) const;
  // All parameters in external form.
  std::map<std::string, ParamValue> ExternalParams() const;
  // The single objective value; nullopt when there is none or there are several.
  std::optional<double> value() const;
  std::optional<int64_t> LastStep() const;
  // The duration between start and complete, when both are known.
  std::optional<double> DurationSeconds() const;
};

// True when the trial satisfies its constraints: it has no "constraints" system attribute (Optuna's and NSGA-II's),
// or every value in it is ≤ 0. A NaN or non-number constraint counts as violated.
bool SatisfiesConstraints(const FrozenTrial& trial);

// An external parameter value as JSON (null, bool, integer, float, string) and back; InvalidArgument for arrays
// and objects.
Json ParamValueToJson(const ParamValue& value);
Result<ParamValue> ParamValueFromJson(const Json& json);

// "2026-11-24 09:01:02.123456" in local time, as Optuna stores DATETIME; and back.
std::string FormatTimestamp(Timestamp t);
std::optional<Timestamp> ParseTimestamp(std::string_view text);

}  // namespace dial
