// Study-level stoppers: conditions on a whole study (every worker's trials, every call's) that end its optimisation
// loops: a trial count, a wall-clock budget, a target value, or a best value that stopped improving. They are
// checked between trials by Study::Optimize and the worker loop; the first to fire is recorded in the study as
// system attr dial:stopped_by ({reason, trial_number, time}).
//
//   StopperOptions stop{.target_value = 0.05, .no_improvement_trials = 30, .min_delta = 1e-3};
//   study->Optimize(objective, {.n_trials = 500, .stoppers = stop});
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dial/frozen_trial.h"
#include "dial/status.h"

namespace dial {

class Study;

inline constexpr std::string_view kStoppedByAttr = "dial:stopped_by";

// Every stopper is off unless set; several may be set, and the first that holds (in the order below) stops.
struct StopperOptions {
  // Stop once the study holds this many finished trials (COMPLETE + PRUNED + FAIL, whoever ran them). Unlike
  // Optimize's n_trials (this call's) or the worker loop's atomic study budget, running trials are not counted:
  // with several workers the last ones may finish a few trials beyond it.
  std::optional<int64_t> max_trials;
  // Stop once this many seconds have passed since the study's first trial started (its earliest datetime_start).
  std::optional<double> timeout_seconds;
  // Stop once a COMPLETE trial's value reaches this (≤ when minimising, ≥ when maximising). Single objective only.
  std::optional<double> target_value;
  // Stop once this many finished trials in a row (by trial number) have not improved the best value by more than
  // min_delta. Single objective only. The reference best moves only on such an improvement (as Keras's
  // EarlyStopping), so many tiny gains do not keep a study alive.
  std::optional<int64_t> no_improvement_trials;
  double min_delta = 0.0;  // only with no_improvement_trials

  // True when no stopper is set.
  bool empty() const { return !max_trials && !timeout_seconds && !target_value && !no_improvement_trials; }
  // InvalidArgument naming the option: non-positive counts or timeout, a non-finite target, a negative or
  // non-finite min_delta, min_delta without no_improvement_trials.
  Status Validate() const;
  // Validate, and InvalidArgument naming target_value / no_improvement_trials when the study has several objectives.
  Status ValidateFor(const std::vector<StudyDirection>& directions) const;
};

struct StopDecision {
  std::string reason;         // "target value 0.05 reached by trial 12"
  int64_t trial_number = -1;  // the trial that decided it (-1: none, e.g. a timeout before any trial finished)
};

// The first stopper that holds for `trials` (any order, any states; RUNNING and WAITING ones are ignored except
// for the timeout's start time), or nullopt. `options` must pass ValidateFor(directions). Pure: reads no clock
// but `now`, writes nothing.
std::optional<StopDecision> CheckStoppers(const StopperOptions& options, const std::vector<FrozenTrial>& trials,
                                          const std::vector<StudyDirection>& directions, Timestamp now);

// Reads the study's trials, and when a stopper holds records it as dial:stopped_by unless the study already has
// that attribute (the first worker to stop it wins), then returns the decision. nullopt (and nothing read) when
// `options` is empty. Storage errors are returned.
Result<std::optional<StopDecision>> CheckAndRecordStop(Study& study, const StopperOptions& options);

}  // namespace dial
