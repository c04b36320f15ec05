// Tests of the nop and median pruners and the pruner registry, on hand-built learning curves whose correct
// decisions are worked out beside each case.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <vector>

#include "dial/functions.h"
#include "dial/pruner.h"
#include "dial/study.h"
#include "samplers/test_util.h"

namespace dial {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
using Curve = std::map<int64_t, double>;

class MedianPrunerTest : public ::testing::Test {
 protected:
  void SetUp() override { UseDirection(StudyDirection::kMinimize); }

  void UseDirection(StudyDirection direction) {
    storage_ = testing_util::NewMemoryStorage();
    study_ = testing_util::NewStudy(storage_, {.study_name = "median", .directions = {direction}});
  }

  // A finished trial with the given learning curve.
  void AddFinished(const Curve& curve, TrialState state = TrialState::kComplete) {
    auto id = storage_->CreateNewTrial(study_->id());
    ASSERT_TRUE(id.ok());
    for (const auto& [step, value] : curve) ASSERT_TRUE(storage_->SetTrialIntermediateValue(*id, step, value).ok());
    // A trial's final value is never NaN (that would fail it); the curve may be.
    const double last = curve.empty() || std::isnan(curve.rbegin()->second) ? 0.0 : curve.rbegin()->second;
    auto set = storage_->SetTrialStateValues(*id, state, {last});
    ASSERT_TRUE(set.ok()) << set.status().ToString();
  }

  // The three COMPLETE curves most cases use. Medians: step 0 → 2.0, step 1 → 1.5, step 2 → 1.0.
  void AddThreeCurves() {
    AddFinished({{0, 1.0}, {1, 0.8}, {2, 0.6}});
    AddFinished({{0, 2.0}, {1, 1.5}, {2, 1.0}});
    AddFinished({{0, 3.0}, {1, 2.0}, {2, 1.5}});
  }

  // Asks `pruner` about a RUNNING trial that has reported `curve` so far.
  bool Decide(Pruner& pruner, const Curve& curve) {
    auto id = storage_->CreateNewTrial(study_->id());
    EXPECT_TRUE(id.ok());
    auto frozen = storage_->GetTrial(*id);
    EXPECT_TRUE(frozen.ok());
    frozen->intermediate_values = curve;
    auto decision = pruner.Prune(*study_, *frozen);
    EXPECT_TRUE(decision.ok()) << decision.status().ToString();
    // Leave it finished so it never counts for later cases.
    EXPECT_TRUE(storage_->SetTrialStateValues(*id, TrialState::kFail).ok());
    return decision.ok() && *decision;
  }

  std::shared_ptr<Storage> storage_;
  std::unique_ptr<Study> study_;
};

MedianPrunerOptions Options(int n_startup, int warmup = 0, int interval = 1, int n_min = 1) {
  MedianPrunerOptions o;
  o.n_startup_trials = n_startup;
  o.n_warmup_steps = warmup;
  o.interval_steps = interval;
  o.n_min_trials = n_min;
  return o;
}

TEST_F(MedianPrunerTest, ComparesTheBestValueSoFarWithTheMedianAtTheCurrentStep) {
  AddThreeCurves();
  auto pruner = NewMedianPruner(Options(0));
  EXPECT_TRUE(Decide(*pruner, {{0, 2.5}}));                       // 2.5 > median 2.0
  EXPECT_FALSE(Decide(*pruner, {{0, 1.5}}));                      // 1.5 < 2.0
  EXPECT_FALSE(Decide(*pruner, {{0, 2.0}}));                      // equal to the median: kept
  EXPECT_FALSE(Decide(*pruner, {{0, 1.0}, {1, 3.0}}));            // best so far 1.0 < 1.5, though 3.0 is worse
  EXPECT_TRUE(Decide(*pruner, {{0, 3.0}, {1, 1.6}}));             // best so far 1.6 > 1.5
  EXPECT_TRUE(Decide(*pruner, {{0, 9.0}, {1, 9.0}, {2, 1.1}}));   // 1.1 > 1.0
  EXPECT_FALSE(Decide(*pruner, {{0, 9.0}, {1, 9.0}, {2, 0.9}}));  // 0.9 < 1.0
  EXPECT_FALSE(Decide(*pruner, {{7, 100.0}}));                    // nobody reported step 7: nothing to compare with
  EXPECT_FALSE(Decide(*pruner, {}));                              // nothing reported yet
}

TEST_F(MedianPrunerTest, MaximizeFlipsTheComparison) {
  UseDirection(StudyDirection::kMaximize);
  AddThreeCurves();
  auto pruner = NewMedianPruner(Options(0));
  EXPECT_TRUE(Decide(*pruner, {{0, 1.5}}));  // 1.5 < median 2.0
  EXPECT_FALSE(Decide(*pruner, {{0, 2.5}}));
  EXPECT_FALSE(Decide(*pruner, {{0, 3.0}, {1, 0.1}}));  // best so far (max) 3.0 > 1.5
  EXPECT_TRUE(Decide(*pruner, {{0, 0.5}, {1, 1.4}}));   // max 1.4 < 1.5
}

TEST_F(MedianPrunerTest, StartupCountsOnlyCompleteTrials) {
  AddThreeCurves();
  AddFinished({{0, 5.0}}, TrialState::kPruned);
  AddFinished({{0, 5.0}}, TrialState::kFail);
  auto four = NewMedianPruner(Options(4));
  EXPECT_FALSE(Decide(*four, {{0, 9.0}}));  // 3 COMPLETE < 4; PRUNED and FAIL do not count
  auto three = NewMedianPruner(Options(3));
  EXPECT_TRUE(Decide(*three, {{0, 9.0}}));
  // The PRUNED trial's 5.0 is not in the median either: median of {1, 2, 3} is 2, so 2.4 is pruned (with 5.0
  // included the median would be 2.5 and it would be kept).
  EXPECT_TRUE(Decide(*three, {{0, 2.4}}));
}

TEST_F(MedianPrunerTest, NoCompletedTrialNeverPrunes) {
  AddFinished({{0, 1.0}}, TrialState::kPruned);
  EXPECT_FALSE(Decide(*NewMedianPruner(Options(0)), {{0, 99.0}}));
}

TEST_F(MedianPrunerTest, WarmupStepsAreNeverPruned) {
  AddThreeCurves();
  auto pruner = NewMedianPruner(Options(0, /*warmup=*/2));
  EXPECT_FALSE(Decide(*pruner, {{0, 9.0}}));
  EXPECT_FALSE(Decide(*pruner, {{0, 9.0}, {1, 9.0}}));
  EXPECT_TRUE(Decide(*pruner, {{0, 9.0}, {1, 9.0}, {2, 9.0}}));  // step 2 ≥ warm-up
}

TEST_F(MedianPrunerTest, IntervalStepsCheckOnlyAtCheckpoints) {
  for (int s = 3; s <= 6; ++s) AddFinished({{0, 1.0}, {1, 1.0}, {2, 1.0}, {3, 1.0}, {4, 1.0}, {5, 1.0}, {6, 1.0}});
  auto pruner = NewMedianPruner(Options(0, /*warmup=*/1, /*interval=*/2));
  // Checkpoints at steps 1, 3, 5 (warm-up + k·interval). Reporting every step, only those are checked.
  Curve curve;
  std::vector<bool> decisions;
  for (int64_t step = 0; step <= 6; ++step) {
    curve[step] = 9.0;
    decisions.push_back(Decide(*pruner, curve));
  }
  EXPECT_EQ(decisions, (std::vector<bool>{false, true, false, true, false, true, false}));
  // Reporting sparsely, the first report past a checkpoint is checked: last report 2, now 4 (checkpoint 3).
  EXPECT_TRUE(Decide(*pruner, {{2, 9.0}, {4, 9.0}}));
  // But not a second report inside the same interval: last report 3 (past checkpoint 3), now 4.
  EXPECT_FALSE(Decide(*pruner, {{3, 9.0}, {4, 9.0}}));
}

TEST_F(MedianPrunerTest, MinTrialsCountsTrialsThatReportedTheStep) {
  AddThreeCurves();
  AddFinished({{0, 0.1}});  // a fourth trial that stopped after step 0
  auto pruner = NewMedianPruner(Options(0, 0, 1, /*n_min=*/4));
  // Step 0: four reports {0.1, 1, 2, 3}, median (1 + 2)/2 = 1.5 with interpolation (not 1 or 2).
  EXPECT_TRUE(Decide(*pruner, {{0, 1.6}}));
  EXPECT_FALSE(Decide(*pruner, {{0, 1.4}}));
  // Step 1: only three reports < 4.
  EXPECT_FALSE(Decide(*pruner, {{0, 9.0}, {1, 9.0}}));
}

TEST_F(MedianPrunerTest, NaNs) {
  AddThreeCurves();
  AddFinished({{0, kNaN}, {1, kNaN}});  // ignored in the median, counted for n_min_trials
  auto pruner = NewMedianPruner(Options(0));
  EXPECT_TRUE(Decide(*pruner, {{0, kNaN}}));             // only NaN reported: pruned
  EXPECT_FALSE(Decide(*pruner, {{0, 1.0}, {1, kNaN}}));  // best so far 1.0 < 1.5: a NaN does not erase it
  EXPECT_TRUE(Decide(*pruner, {{0, 2.5}}));              // median stays 2.0 without the NaN
  auto four = NewMedianPruner(Options(0, 0, 1, 4));
  EXPECT_TRUE(Decide(*four, {{0, 2.5}}));  // 4 reports at step 0, one of them NaN
}

TEST_F(MedianPrunerTest, MultiObjectiveIsAFailedPrecondition) {
  storage_ = testing_util::NewMemoryStorage();
  study_ = testing_util::NewStudy(
      storage_, {.study_name = "mo", .directions = {StudyDirection::kMinimize, StudyDirection::kMaximize}});
  auto pruner = NewMedianPruner(Options(0));
  FrozenTrial trial;
  trial.intermediate_values = {{0, 1.0}};
  auto d = pruner->Prune(*study_, trial);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(MedianPrunerTest, NopNeverPrunes) {
  AddThreeCurves();
  auto nop = NewNopPruner();
  EXPECT_EQ(nop->Name(), "nop");
  EXPECT_FALSE(Decide(*nop, {{0, 99.0}}));
  EXPECT_FALSE(Decide(*nop, {{0, kNaN}}));
}

TEST_F(MedianPrunerTest, PrunesBadCurvesOfMfHartmann6InAStudy) {
  storage_ = testing_util::NewMemoryStorage();
  study_ = testing_util::NewStudy(
      storage_, {.study_name = "mf", .pruner = "median", .pruner_options = {{"n_startup_trials", 3}}, .seed = 3});
  constexpr int kTrials = 20;
  constexpr int kSteps = 10;
  ASSERT_TRUE(study_
                  ->Optimize(
                      [](Trial& t) -> Result<std::vector<double>> {
                        std::vector<double> x(6);
                        for (int j = 0; j < 6; ++j) {
                          DIAL_ASSIGN_OR_RETURN(x[j], t.SuggestFloat("x" + std::to_string(j), 0.0, 1.0));
                        }
                        for (int step = 1; step <= kSteps; ++step) {
                          DIAL_RETURN_IF_ERROR(t.Report(step, MfHartmann6(x, step * 10.0)));
                          DIAL_ASSIGN_OR_RETURN(bool prune, t.ShouldPrune());
                          if (prune) return TrialPruned();
                        }
                        return std::vector<double>{MfHartmann6(x, kMfHartmannMaxFidelity)};
                      },
                      testing_util::NTrials(kTrials))
                  .ok());
  auto pruned = study_->GetTrials(std::vector<TrialState>{TrialState::kPruned});
  auto complete = study_->GetTrials(std::vector<TrialState>{TrialState::kComplete});
  ASSERT_TRUE(pruned.ok() && complete.ok());
  EXPECT_EQ(pruned->size() + complete->size(), static_cast<size_t>(kTrials));
  EXPECT_GE(complete->size(), 3u);  // the start-up trials run to the end
  EXPECT_GE(pruned->size(), 1u);    // random 6-d points are mostly worse than the median of earlier ones
  for (const FrozenTrial& t : *pruned) EXPECT_LT(t.intermediate_values.size(), static_cast<size_t>(kSteps));
}

// ---- the registry ----

TEST(PrunerRegistryTest, BuiltinsByName) {
  const auto names = RegisteredPrunerNames();
  EXPECT_NE(std::find(names.begin(), names.end(), "nop"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "median"), names.end());
  auto median = CreatePruner(
      "median", Json{{"n_startup_trials", 2}, {"n_warmup_steps", 1}, {"interval_steps", 3}, {"n_min_trials", 2}});
  ASSERT_TRUE(median.ok()) << median.status().ToString();
  EXPECT_EQ((*median)->Name(), "median");
  auto nop = CreatePruner("nop", Json::object());
  ASSERT_TRUE(nop.ok());
  EXPECT_EQ((*nop)->Name(), "nop");
}

TEST(PrunerRegistryTest, UnknownPrunerOrOptionIsNamed) {
  auto unknown = CreatePruner("hyperbnd", Json::object());
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("hyperbnd"), std::string::npos);
  EXPECT_NE(unknown.status().message().find("median"), std::string::npos);

  struct Case {
    std::string pruner;
    Json options;
    std::string mentions;
  };
  const std::vector<Case> cases = {
      {"median", Json{{"n_warmup", 2}}, "n_warmup"},
      {"median", Json{{"n_startup_trials", -1}}, "n_startup_trials"},
      {"median", Json{{"interval_steps", 0}}, "interval_steps"},
      {"median", Json{{"n_min_trials", 0}}, "n_min_trials"},
      {"median", Json{{"n_warmup_steps", "five"}}, "n_warmup_steps"},
      {"median", Json{{"n_warmup_steps", 2.5}}, "n_warmup_steps"},
      {"median", Json::array({1}), "options"},
      {"nop", Json{{"n_startup_trials", 1}}, "n_startup_trials"},
  };
  for (const Case& c : cases) {
    auto p = CreatePruner(c.pruner, c.options);
    ASSERT_FALSE(p.ok()) << c.options.dump();
    EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(p.status().message().find(c.mentions), std::string::npos) << p.status().message();
  }
  EXPECT_FALSE(Options(0, 0, 0).Validate().ok());
}

}  // namespace
}  // namespace dial
