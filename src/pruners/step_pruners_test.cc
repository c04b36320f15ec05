// Tests of the percentile, threshold and patient pruners on hand-built learning curves; each expected decision
// is worked out in the comment beside it.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <vector>

#include "dial/pruner.h"
#include "dial/study.h"
#include "samplers/test_util.h"

namespace dial {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
using Curve = std::map<int64_t, double>;

class StepPrunerTest : public ::testing::Test {
 protected:
  void SetUp() override { UseDirection(StudyDirection::kMinimize); }
  void UseDirection(StudyDirection direction) {
    storage_ = testing_util::NewMemoryStorage();
    StudyOptions o;
    o.study_name = "pruners";
    o.directions = {direction};
    study_ = testing_util::NewStudy(storage_, o);
  }
  void AddComplete(const Curve& curve) {
    auto id = storage_->CreateNewTrial(study_->id());
    ASSERT_TRUE(id.ok());
    for (const auto& [step, value] : curve) ASSERT_TRUE(storage_->SetTrialIntermediateValue(*id, step, value).ok());
    ASSERT_TRUE(storage_->SetTrialStateValues(*id, TrialState::kComplete, {curve.rbegin()->second}).ok());
  }
  // Five COMPLETE curves; at step 1 their values are 1, 2, 3, 4, 5.
  void AddFive() {
    for (int i = 1; i <= 5; ++i) AddComplete({{0, 10.0 * i}, {1, 1.0 * i}});
  }
  bool Decide(Pruner& pruner, const Curve& curve) {
    auto id = storage_->CreateNewTrial(study_->id());
    EXPECT_TRUE(id.ok());
    auto frozen = storage_->GetTrial(*id);
    EXPECT_TRUE(frozen.ok());
    frozen->intermediate_values = curve;
    auto decision = pruner.Prune(*study_, *frozen);
    EXPECT_TRUE(decision.ok()) << decision.status().ToString();
    EXPECT_TRUE(storage_->SetTrialStateValues(*id, TrialState::kFail).ok());
    return decision.ok() && *decision;
  }
  std::unique_ptr<Pruner> Make(const std::string& name, const Json& options) {
    auto p = CreatePruner(name, options);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? std::move(p).value() : nullptr;
  }

  std::shared_ptr<Storage> storage_;
  std::unique_ptr<Study> study_;
};

TEST_F(StepPrunerTest, PercentileKeepsTheGivenShare) {
  AddFive();
  // 25th percentile of {1,2,3,4,5}: position 0.25·4 = 1 → 2.0. A best-so-far of 2.5 is worse: pruned; 1.9 kept.
  auto p25 = Make("percentile", {{"percentile", 25.0}, {"n_startup_trials", 0}});
  EXPECT_TRUE(Decide(*p25, {{0, 100.0}, {1, 2.5}}));
  EXPECT_FALSE(Decide(*p25, {{0, 100.0}, {1, 1.9}}));
  // 90th percentile: position 3.6 → 4 + 0.6·(5 − 4) = 4.6. 4.5 kept, 4.7 pruned.
  auto p90 = Make("percentile", {{"percentile", 90.0}, {"n_startup_trials", 0}});
  EXPECT_FALSE(Decide(*p90, {{0, 100.0}, {1, 4.5}}));
  EXPECT_TRUE(Decide(*p90, {{0, 100.0}, {1, 4.7}}));
  // The best value so far counts, not the latest: a curve that was at 1.0 at step 0 stays under the bar.
  EXPECT_FALSE(Decide(*p25, {{0, 1.0}, {1, 9.0}}));
}

TEST_F(StepPrunerTest, PercentileMaximiseUsesTheMirroredPercentile) {
  UseDirection(StudyDirection::kMaximize);
  AddFive();
  // Maximise, percentile 25 keeps the top quarter: the bar is the 75th percentile = position 3 → 4.0.
  auto p25 = Make("percentile", {{"percentile", 25.0}, {"n_startup_trials", 0}});
  EXPECT_TRUE(Decide(*p25, {{0, -100.0}, {1, 3.9}}));
  EXPECT_FALSE(Decide(*p25, {{0, -100.0}, {1, 4.1}}));
}

TEST_F(StepPrunerTest, MedianIsPercentileFifty) {
  AddFive();
  auto median = Make("median", {{"n_startup_trials", 0}});
  auto p50 = Make("percentile", {{"percentile", 50.0}, {"n_startup_trials", 0}});
  for (double v : {2.9, 3.0, 3.1}) {
    EXPECT_EQ(Decide(*median, {{0, 100.0}, {1, v}}), Decide(*p50, {{0, 100.0}, {1, v}})) << v;
  }
  EXPECT_EQ(median->Name(), "median");
  EXPECT_EQ(p50->Name(), "percentile");
}

TEST_F(StepPrunerTest, ThresholdBoundsAndDivergence) {
  auto t = Make("threshold", {{"lower", 0.0}, {"upper", 10.0}});
  EXPECT_FALSE(Decide(*t, {{0, 5.0}}));
  EXPECT_TRUE(Decide(*t, {{0, 11.0}}));   // above upper
  EXPECT_TRUE(Decide(*t, {{0, -0.5}}));   // below lower
  EXPECT_TRUE(Decide(*t, {{0, kNaN}}));   // diverged
  EXPECT_TRUE(Decide(*t, {{0, kInf}}));   // diverged
  EXPECT_TRUE(Decide(*t, {{0, -kInf}}));  // diverged
  // Only the latest value matters: a curve that came back inside is kept.
  EXPECT_FALSE(Decide(*t, {{0, 50.0}, {1, 5.0}}));
  // Without bounds only non-finite values prune.
  auto only_nan = Make("threshold", Json::object());
  EXPECT_FALSE(Decide(*only_nan, {{0, 1e300}}));
  EXPECT_TRUE(Decide(*only_nan, {{0, kNaN}}));
  // Warm-up: steps below 3 are never pruned.
  auto warm = Make("threshold", {{"upper", 1.0}, {"n_warmup_steps", 3}});
  EXPECT_FALSE(Decide(*warm, {{2, 5.0}}));
  EXPECT_TRUE(Decide(*warm, {{3, 5.0}}));
}

TEST_F(StepPrunerTest, PatientWaitsForStalledCurves) {
  // patience 2: compare the best of all but the last 3 reports with the best of the last 3.
  auto p = Make("patient", {{"patience", 2}});
  // Too short (3 reports ≤ patience + 1): never pruned.
  EXPECT_FALSE(Decide(*p, {{0, 5.0}, {1, 6.0}, {2, 7.0}}));
  // before {5.0}, last three {6, 7, 8}: best before 5.0 < best recent 6.0 → stalled, no wrapped pruner → pruned.
  EXPECT_TRUE(Decide(*p, {{0, 5.0}, {1, 6.0}, {2, 7.0}, {3, 8.0}}));
  // last three {6, 4.9, 8}: 4.9 improved on 5.0 → kept.
  EXPECT_FALSE(Decide(*p, {{0, 5.0}, {1, 6.0}, {2, 4.9}, {3, 8.0}}));
  // min_delta (Optuna's rule): stalled when best_before + min_delta < best_recent, so a recent best that is worse
  // by at most min_delta still counts as keeping up. Here best_before = 5.0 and the bar is 6.5.
  auto tolerant = Make("patient", {{"patience", 2}, {"min_delta", 1.5}});
  EXPECT_FALSE(Decide(*tolerant, {{0, 5.0}, {1, 6.0}, {2, 6.4}, {3, 8.0}}));  // 6.5 < 6.0 false → kept
  EXPECT_TRUE(Decide(*tolerant, {{0, 5.0}, {1, 6.6}, {2, 7.0}, {3, 8.0}}));   // 6.5 < 6.6 → stalled
}

TEST_F(StepPrunerTest, PatientDefersToTheWrappedPruner) {
  AddFive();  // step-1 median 3.0
  auto p = Make("patient", {{"patience", 0}, {"wrapped_pruner", {{"name", "median"}, {"n_startup_trials", 0}}}});
  // patience 0: compare best before the last report with the last. {0: 1.0, 1: 2.0}: stalled (1.0 < 2.0); the
  // median pruner then sees best-so-far 1.0 ≤ 3.0 at step 1: kept.
  EXPECT_FALSE(Decide(*p, {{0, 1.0}, {1, 2.0}}));
  // {0: 3.5, 1: 4.0}: stalled, best so far 3.5 > 3.0: pruned by the median.
  EXPECT_TRUE(Decide(*p, {{0, 3.5}, {1, 4.0}}));
  // Improving curve: never reaches the median pruner even if it is above the median.
  EXPECT_FALSE(Decide(*p, {{0, 4.5}, {1, 4.0}}));
}

TEST(StepPrunerOptionsTest, BadOptionsAreNamed) {
  auto message = [](const std::string& name, const Json& options) {
    auto p = CreatePruner(name, options);
    EXPECT_FALSE(p.ok()) << name << " " << options.dump();
    return p.ok() ? std::string() : p.status().message();
  };
  EXPECT_NE(message("percentile", Json::object()).find("needs 'percentile'"), std::string::npos);
  EXPECT_NE(message("percentile", {{"percentile", 120}}).find("percentile must be in [0, 100]"), std::string::npos);
  EXPECT_NE(message("threshold", {{"lower", 2}, {"upper", 1}}).find("must not exceed upper"), std::string::npos);
  EXPECT_NE(message("threshold", {{"lower", "low"}}).find("option 'lower' must be a finite number"), std::string::npos);
  EXPECT_NE(message("patient", Json::object()).find("needs 'patience'"), std::string::npos);
  EXPECT_NE(message("patient", {{"patience", 2}, {"min_delta", -1}}).find("min_delta must be >= 0"), std::string::npos);
  EXPECT_NE(message("patient", {{"patience", 2}, {"wrapped_pruner", "nope"}}).find("wrapped_pruner: unknown pruner"),
            std::string::npos);
}

}  // namespace
}  // namespace dial
