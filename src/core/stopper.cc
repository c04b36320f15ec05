// Study-level stoppers (see include/dial/stopper.h).
#include "dial/stopper.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "dial/study.h"

namespace dial {
namespace {

// "%g" keeps a target such as 0.05 as the user wrote it, and a large count without an exponent up to 6 digits.
std::string Number(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%g", v);
  return buffer;
}

// True when `value` is better than `reference` by more than `margin` in `direction`.
bool Improves(double value, double reference, double margin, StudyDirection direction) {
  return direction == StudyDirection::kMaximize ? value > reference + margin : value < reference - margin;
}

std::vector<const FrozenTrial*> FinishedByNumber(const std::vector<FrozenTrial>& trials) {
  std::vector<const FrozenTrial*> finished;
  for (const FrozenTrial& t : trials) {
    if (IsFinished(t.state)) finished.push_back(&t);
  }
  std::sort(finished.begin(), finished.end(),
            [](const FrozenTrial* a, const FrozenTrial* b) { return a->number < b->number; });
  return finished;
}

std::optional<StopDecision> CheckMaxTrials(int64_t max_trials, const std::vector<const FrozenTrial*>& finished) {
  if (static_cast<int64_t>(finished.size()) < max_trials) return std::nullopt;
  return StopDecision{
      "max_trials " + std::to_string(max_trials) + " reached (" + std::to_string(finished.size()) + " finished trials)",
      finished.back()->number};
}

std::optional<StopDecision> CheckTimeout(double timeout_seconds, const std::vector<FrozenTrial>& trials,
                                         const std::vector<const FrozenTrial*>& finished, Timestamp now) {
  std::optional<Timestamp> first_start;
  for (const FrozenTrial& t : trials) {
    if (t.datetime_start && (!first_start || *t.datetime_start < *first_start)) first_start = t.datetime_start;
  }
  if (!first_start) return std::nullopt;
  const double elapsed = std::chrono::duration<double>(now - *first_start).count();
  if (elapsed < timeout_seconds) return std::nullopt;
  return StopDecision{"timeout " + Number(timeout_seconds) + " s reached (" + Number(std::floor(elapsed)) +
                          " s since the study's first trial started)",
                      finished.empty() ? -1 : finished.back()->number};
}

std::optional<StopDecision> CheckTarget(double target, StudyDirection direction,
                                        const std::vector<const FrozenTrial*>& finished) {
  for (const FrozenTrial* t : finished) {
    if (t->state != TrialState::kComplete || t->values.size() != 1) continue;
    const double v = t->values[0];
    const bool reached = direction == StudyDirection::kMaximize ? v >= target : v <= target;
    if (reached) {
      return StopDecision{"target value " + Number(target) + " reached by trial " + std::to_string(t->number) +
                              " (value " + Number(v) + ")",
                          t->number};
    }
  }
  return std::nullopt;
}

// Walks the finished trials by number. The reference best is the value of the last trial that beat the previous
// reference by more than min_delta (the first COMPLETE trial sets it); every finished trial after it counts
// towards the patience, whatever its state.
std::optional<StopDecision> CheckNoImprovement(int64_t patience, double min_delta, StudyDirection direction,
                                               const std::vector<const FrozenTrial*>& finished) {
  std::optional<double> reference;
  int64_t reference_number = -1;
  int64_t since = 0;
  for (const FrozenTrial* t : finished) {
    const bool has_value = t->state == TrialState::kComplete && t->values.size() == 1;
    if (has_value && (!reference || Improves(t->values[0], *reference, min_delta, direction))) {
      reference = t->values[0];
      reference_number = t->number;
      since = 0;
    } else {
      ++since;
    }
  }
  if (since < patience) return std::nullopt;
  std::string reason = "no improvement for " + std::to_string(since) + " trials";
  reason += reference ? " since trial " + std::to_string(reference_number) + " (best value " + Number(*reference) + ")"
                      : " (no trial completed)";
  if (min_delta > 0) reason += " by more than min_delta " + Number(min_delta);
  return StopDecision{reason, finished.back()->number};
}

}  // namespace

Status StopperOptions::Validate() const {
  if (max_trials && *max_trials <= 0) {
    return InvalidArgument("max_trials: must be a positive integer, got " + std::to_string(*max_trials));
  }
  if (timeout_seconds && !(*timeout_seconds > 0 && std::isfinite(*timeout_seconds))) {
    return InvalidArgument("timeout: must be a positive number of seconds, got " + Number(*timeout_seconds));
  }
  if (target_value && !std::isfinite(*target_value)) {
    return InvalidArgument("target_value: must be a finite number, got " + Number(*target_value));
  }
  if (no_improvement_trials && *no_improvement_trials <= 0) {
    return InvalidArgument("no_improvement_trials: must be a positive integer, got " +
                           std::to_string(*no_improvement_trials));
  }
  if (!(min_delta >= 0 && std::isfinite(min_delta))) {
    return InvalidArgument("min_delta: must be a non-negative number, got " + Number(min_delta));
  }
  if (min_delta > 0 && !no_improvement_trials) {
    return InvalidArgument("min_delta: only has a meaning with no_improvement_trials");
  }
  return Status::Ok();
}

Status StopperOptions::ValidateFor(const std::vector<StudyDirection>& directions) const {
  DIAL_RETURN_IF_ERROR(Validate());
  const std::string why =
      "needs a single-objective study, this one has " + std::to_string(directions.size()) + " objectives";
  if (directions.size() != 1) {
    if (target_value) return InvalidArgument("target_value: " + why);
    if (no_improvement_trials) return InvalidArgument("no_improvement_trials: " + why);
  }
  return Status::Ok();
}

std::optional<StopDecision> CheckStoppers(const StopperOptions& options, const std::vector<FrozenTrial>& trials,
                                          const std::vector<StudyDirection>& directions, Timestamp now) {
  if (options.empty()) return std::nullopt;
  const std::vector<const FrozenTrial*> finished = FinishedByNumber(trials);
  if (options.max_trials) {
    if (auto d = CheckMaxTrials(*options.max_trials, finished)) return d;
  }
  if (options.timeout_seconds) {
    if (auto d = CheckTimeout(*options.timeout_seconds, trials, finished, now)) return d;
  }
  if (directions.size() != 1) return std::nullopt;  // the value stoppers are single-objective (ValidateFor)
  if (options.target_value) {
    if (auto d = CheckTarget(*options.target_value, directions[0], finished)) return d;
  }
  if (options.no_improvement_trials) {
    if (auto d = CheckNoImprovement(*options.no_improvement_trials, options.min_delta, directions[0], finished)) {
      return d;
    }
  }
  return std::nullopt;
}

Result<std::optional<StopDecision>> CheckAndRecordStop(Study& study, const StopperOptions& options) {
  if (options.empty()) return std::optional<StopDecision>();
  DIAL_ASSIGN_OR_RETURN(std::vector<FrozenTrial> trials, study.storage().GetAllTrials(study.id()));
  const Timestamp now = std::chrono::system_clock::now();
  std::optional<StopDecision> decision = CheckStoppers(options, trials, study.directions(), now);
  if (!decision) return decision;
  Json record = {{"reason", decision->reason},
                 {"trial_number", decision->trial_number >= 0 ? Json(decision->trial_number) : Json(nullptr)},
                 {"time", FormatTimestamp(now)}};
  DIAL_ASSIGN_OR_RETURN(bool stored,
                        study.storage().SetStudySystemAttrIfAbsent(study.id(), std::string(kStoppedByAttr), record));
  (void)stored;  // another worker (or an earlier run) recorded why first: its record stands
  return decision;
}

}  // namespace dial
