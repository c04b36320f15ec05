// Study-level stoppers: each stopper on hand-built trial lists (minimise and maximise), option checks, and
// Study::Optimize stopping on a target with dial:stopped_by recorded once.
#include "dial/stopper.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "dial/storage.h"
#include "dial/study.h"

namespace dial {
namespace {

using ::testing::HasSubstr;

const std::vector<StudyDirection> kMin = {StudyDirection::kMinimize};
const std::vector<StudyDirection> kMax = {StudyDirection::kMaximize};
const Timestamp kEpoch = std::chrono::system_clock::from_time_t(1'800'000'000);

FrozenTrial Make(int64_t number, TrialState state, std::optional<double> value = std::nullopt) {
  FrozenTrial t;
  t.number = number;
  t.trial_id = number + 100;
  t.state = state;
  if (value) t.values = {*value};
  t.datetime_start = kEpoch + std::chrono::seconds(10 * number);
  if (IsFinished(state)) t.datetime_complete = kEpoch + std::chrono::seconds(10 * number + 5);
  return t;
}

// COMPLETE trials numbered 0.. with these values.
std::vector<FrozenTrial> Completed(const std::vector<double>& values) {
  std::vector<FrozenTrial> trials;
  for (size_t k = 0; k < values.size(); ++k) {
    trials.push_back(Make(static_cast<int64_t>(k), TrialState::kComplete, values[k]));
  }
  return trials;
}

TEST(StopperTest, NothingSetNeverStops) {
  EXPECT_FALSE(CheckStoppers({}, Completed({1, 2, 3}), kMin, kEpoch + std::chrono::hours(100)).has_value());
}

TEST(StopperTest, MaxTrialsCountsFinishedTrialsOfEveryStateButNotRunningOnes) {
  std::vector<FrozenTrial> trials = {Make(0, TrialState::kComplete, 1.0), Make(1, TrialState::kPruned, 2.0),
                                     Make(2, TrialState::kFail), Make(3, TrialState::kRunning),
                                     Make(4, TrialState::kWaiting)};
  const StopperOptions four{.max_trials = 4};
  EXPECT_FALSE(CheckStoppers(four, trials, kMin, kEpoch).has_value());  // 3 finished
  const StopperOptions three{.max_trials = 3};
  auto d = CheckStoppers(three, trials, kMin, kEpoch);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->trial_number, 2);
  EXPECT_THAT(d->reason, HasSubstr("max_trials 3 reached"));
}

TEST(StopperTest, TimeoutRunsFromTheEarliestTrialStart) {
  std::vector<FrozenTrial> trials = {Make(3, TrialState::kComplete, 1.0), Make(1, TrialState::kComplete, 2.0)};
  // Trial 1 started at kEpoch + 10 s: 60 s later is the limit.
  const StopperOptions options{.timeout_seconds = 60};
  EXPECT_FALSE(CheckStoppers(options, trials, kMin, kEpoch + std::chrono::seconds(69)).has_value());
  auto d = CheckStoppers(options, trials, kMin, kEpoch + std::chrono::seconds(70));
  ASSERT_TRUE(d.has_value());
  EXPECT_THAT(d->reason, HasSubstr("timeout 60 s reached"));
  EXPECT_EQ(d->trial_number, 3);
  // No trial yet: no start time, no timeout.
  EXPECT_FALSE(CheckStoppers(options, {}, kMin, kEpoch + std::chrono::hours(1)).has_value());
}

TEST(StopperTest, TargetValueRespectsTheDirection) {
  const StopperOptions options{.target_value = 0.5};
  const std::vector<FrozenTrial> trials = Completed({0.9, 0.7, 0.5, 0.2});
  auto minimise = CheckStoppers(options, trials, kMin, kEpoch);
  ASSERT_TRUE(minimise.has_value());
  EXPECT_EQ(minimise->trial_number, 2);  // 0.5 ≤ 0.5: reaching the target counts
  EXPECT_THAT(minimise->reason, HasSubstr("target value 0.5 reached by trial 2"));
  auto maximise = CheckStoppers(options, trials, kMax, kEpoch);
  ASSERT_TRUE(maximise.has_value());
  EXPECT_EQ(maximise->trial_number, 0);  // 0.9 ≥ 0.5
  const StopperOptions high{.target_value = 1.0};
  EXPECT_FALSE(CheckStoppers(high, trials, kMax, kEpoch).has_value());
  const StopperOptions low{.target_value = 0.1};
  EXPECT_FALSE(CheckStoppers(low, trials, kMin, kEpoch).has_value());
}

TEST(StopperTest, TargetValueIgnoresPrunedTrialsIntermediateValues) {
  const StopperOptions options{.target_value = 0.5};
  std::vector<FrozenTrial> trials = {Make(0, TrialState::kComplete, 0.9), Make(1, TrialState::kPruned, 0.1)};
  EXPECT_FALSE(CheckStoppers(options, trials, kMin, kEpoch).has_value());
}

TEST(StopperTest, NoImprovementMinimise) {
  const StopperOptions options{.no_improvement_trials = 3};
  // Best 1.0 at trial 1; trials 2, 3 do not beat it: 2 < 3.
  EXPECT_FALSE(CheckStoppers(options, Completed({2.0, 1.0, 1.5, 1.0}), kMin, kEpoch).has_value());
  // A third trial (a failure counts as finished) without improvement stops it.
  std::vector<FrozenTrial> trials = Completed({2.0, 1.0, 1.5, 1.0});
  trials.push_back(Make(4, TrialState::kFail));
  auto d = CheckStoppers(options, trials, kMin, kEpoch);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->trial_number, 4);
  EXPECT_THAT(d->reason, HasSubstr("no improvement for 3 trials since trial 1"));
  // An improvement at trial 4 resets the count.
  EXPECT_FALSE(CheckStoppers(options, Completed({2.0, 1.0, 1.5, 1.0, 0.5}), kMin, kEpoch).has_value());
}

TEST(StopperTest, NoImprovementMaximise) {
  const StopperOptions options{.no_improvement_trials = 2};
  EXPECT_FALSE(CheckStoppers(options, Completed({1.0, 3.0, 2.0}), kMax, kEpoch).has_value());
  auto d = CheckStoppers(options, Completed({1.0, 3.0, 2.0, 3.0}), kMax, kEpoch);
  ASSERT_TRUE(d.has_value());
  EXPECT_THAT(d->reason, HasSubstr("since trial 1"));
  // The same values minimised: trial 0 (1.0) stays best, and three trials follow it.
  auto as_min = CheckStoppers(options, Completed({1.0, 3.0, 2.0}), kMin, kEpoch);
  ASSERT_TRUE(as_min.has_value());
  EXPECT_THAT(as_min->reason, HasSubstr("no improvement for 2 trials since trial 0"));
}

TEST(StopperTest, MinDeltaIgnoresSmallGainsAndKeepsTheReference) {
  const StopperOptions options{.no_improvement_trials = 3, .min_delta = 0.1};
  // Gains of 0.05 each: none beats the reference 1.0 by more than 0.1 until 0.85 (trial 3: 1.0 - 0.85 = 0.15).
  EXPECT_FALSE(CheckStoppers(options, Completed({1.0, 0.95, 0.9, 0.85}), kMin, kEpoch).has_value());
  auto d = CheckStoppers(options, Completed({1.0, 0.95, 0.92, 0.91}), kMin, kEpoch);
  ASSERT_TRUE(d.has_value());
  EXPECT_THAT(d->reason, HasSubstr("since trial 0"));
  // Without min_delta each small gain is an improvement.
  const StopperOptions plain{.no_improvement_trials = 3};
  EXPECT_FALSE(CheckStoppers(plain, Completed({1.0, 0.95, 0.92, 0.91}), kMin, kEpoch).has_value());
}

TEST(StopperTest, NoImprovementWithoutAnyCompleteTrial) {
  const StopperOptions options{.no_improvement_trials = 2};
  std::vector<FrozenTrial> trials = {Make(0, TrialState::kFail), Make(1, TrialState::kPruned, 3.0)};
  auto d = CheckStoppers(options, trials, kMin, kEpoch);
  ASSERT_TRUE(d.has_value());
  EXPECT_THAT(d->reason, HasSubstr("no trial completed"));
}

TEST(StopperTest, ValidateNamesTheOption) {
  EXPECT_THAT(StopperOptions{.max_trials = 0}.Validate().message(), HasSubstr("max_trials"));
  EXPECT_THAT(StopperOptions{.timeout_seconds = -1}.Validate().message(), HasSubstr("timeout"));
  EXPECT_THAT(StopperOptions{.target_value = std::nan("")}.Validate().message(), HasSubstr("target_value"));
  EXPECT_THAT(StopperOptions{.no_improvement_trials = -2}.Validate().message(), HasSubstr("no_improvement_trials"));
  EXPECT_THAT((StopperOptions{.no_improvement_trials = 2, .min_delta = -1}.Validate().message()),
              HasSubstr("min_delta"));
  EXPECT_THAT(StopperOptions{.min_delta = 0.1}.Validate().message(), HasSubstr("min_delta"));
  EXPECT_TRUE((StopperOptions{.max_trials = 5, .target_value = 0}.Validate().ok()));
  const std::vector<StudyDirection> two = {StudyDirection::kMinimize, StudyDirection::kMaximize};
  EXPECT_THAT(StopperOptions{.target_value = 1}.ValidateFor(two).message(), HasSubstr("target_value"));
  EXPECT_TRUE(StopperOptions{.max_trials = 5}.ValidateFor(two).ok());
}

std::unique_ptr<Study> NewStudy(StudyDirection direction) {
  auto storage = OpenStorage("memory://");
  EXPECT_TRUE(storage.ok());
  auto study = Study::Create(*storage, {.study_name = "stop", .directions = {direction}, .seed = 3});
  EXPECT_TRUE(study.ok()) << study.status().ToString();
  return std::move(study).value();
}

TEST(StopperTest, OptimizeStopsOnTargetAndRecordsWhy) {
  auto study = NewStudy(StudyDirection::kMinimize);
  // Values 10, 9, 8, ...: the target 6.5 is first reached by trial 4 (value 6).
  ObjectiveFunction countdown = [](Trial& t) -> Result<std::vector<double>> {
    return std::vector<double>{10.0 - static_cast<double>(t.number())};
  };
  ASSERT_TRUE(study->Optimize(countdown, {.n_trials = 50, .stoppers = {.target_value = 6.5}}).ok());
  auto trials = study->GetTrials();
  ASSERT_TRUE(trials.ok());
  EXPECT_EQ(trials->size(), 5u);
  auto attrs = study->storage().GetStudySystemAttrs(study->id());
  ASSERT_TRUE(attrs.ok());
  ASSERT_TRUE(attrs->count(std::string(kStoppedByAttr)));
  const Json& record = attrs->at(std::string(kStoppedByAttr));
  EXPECT_EQ(record.at("trial_number").get<int64_t>(), 4);
  EXPECT_THAT(record.at("reason").get<std::string>(), HasSubstr("target value 6.5 reached by trial 4"));
  EXPECT_TRUE(record.at("time").is_string());

  // A later call stops at once and keeps the first record.
  ASSERT_TRUE(study->Optimize(countdown, {.n_trials = 50, .stoppers = {.max_trials = 2}}).ok());
  EXPECT_EQ(study->GetTrials()->size(), 5u);
  EXPECT_THAT(study->storage()
                  .GetStudySystemAttrs(study->id())
                  ->at(std::string(kStoppedByAttr))
                  .at("reason")
                  .get<std::string>(),
              HasSubstr("target value"));
}

TEST(StopperTest, OptimizeStopsWhenTheBestStallsWhenMaximising) {
  auto study = NewStudy(StudyDirection::kMaximize);
  // 0, 1, 2, then 2 forever: best at trial 2, three more trials without improvement → 6 trials.
  ObjectiveFunction plateau = [](Trial& t) -> Result<std::vector<double>> {
    return std::vector<double>{static_cast<double>(std::min<int64_t>(t.number(), 2))};
  };
  ASSERT_TRUE(study->Optimize(plateau, {.n_trials = 50, .stoppers = {.no_improvement_trials = 3}}).ok());
  EXPECT_EQ(study->GetTrials()->size(), 6u);
}

TEST(StopperTest, OptimizeRejectsTargetOnSeveralObjectives) {
  auto storage = OpenStorage("memory://");
  ASSERT_TRUE(storage.ok());
  auto study = Study::Create(
      *storage, {.study_name = "mo", .directions = {StudyDirection::kMinimize, StudyDirection::kMinimize}});
  ASSERT_TRUE(study.ok());
  Status s = (*study)->Optimize(
      [](Trial&) -> Result<std::vector<double>> {
        return std::vector<double>{1, 2};
      },
      {.n_trials = 3, .stoppers = {.target_value = 0}});
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("target_value"));
  EXPECT_EQ((*study)->GetTrials()->size(), 0u);
}

}  // namespace
}  // namespace dial
