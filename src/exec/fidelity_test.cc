// Tests of the multi-fidelity schedule: rung sizes, promotion order and waiting, resume detection, the model level,
// rank correlations against hand-computed values, and a whole study run through the worker loop.
#include "dial/fidelity.h"

#include <gtest/gtest.h>

#include <cmath>

#include "dial/storage.h"
#include "dial/study.h"
#include "exec/worker_loop.h"

namespace dial {
namespace {

FidelityOptions ThreeLevels(int64_t start, double keep) {
  FidelityOptions o;
  o.levels = {{{"data_hours", int64_t{1}}, {"epochs", int64_t{1}}},
              {{"data_hours", int64_t{1}}, {"epochs", int64_t{5}}},
              {{"data_hours", int64_t{10}}, {"epochs", int64_t{5}}}};
  o.start_trials = start;
  o.keep = keep;
  return o;
}

FrozenTrial Made(int64_t number, TrialState state, double value, int level, int64_t parent = -1) {
  FrozenTrial t;
  t.number = number;
  t.state = state;
  if (state == TrialState::kComplete) t.values = {value};
  t.system_attrs[std::string(kFidelityLevelAttr)] = level;
  if (parent >= 0) t.system_attrs[std::string(kFidelityParentAttr)] = parent;
  return t;
}

TEST(FidelityTest, RungSizesFollowKeep) {
  EXPECT_EQ(ThreeLevels(64, 0.25).RungSizes(), (std::vector<int64_t>{64, 16, 4}));
  EXPECT_EQ(ThreeLevels(64, 0.25).TotalTrials(), 84);
  EXPECT_EQ(ThreeLevels(2, 0.25).RungSizes(), (std::vector<int64_t>{2, 1, 1}));
}

TEST(FidelityTest, ValidateNamesTheKey) {
  FidelityOptions o = ThreeLevels(8, 0.5);
  o.keep = 1.0;
  EXPECT_NE(o.Validate().message().find("fidelity.schedule.keep"), std::string::npos);
  o = ThreeLevels(8, 0.5);
  o.levels.resize(1);
  EXPECT_NE(o.Validate().message().find("fidelity.levels"), std::string::npos);
  o = ThreeLevels(8, 0.5);
  o.schedule = "bogus";
  EXPECT_NE(o.Validate().message().find("unknown schedule"), std::string::npos);
  EXPECT_TRUE(ThreeLevels(8, 0.5).Validate().ok());
}

TEST(FidelityTest, ResumesOnlyWhenResumeKeysAloneChange) {
  const FidelityOptions o = ThreeLevels(8, 0.5);
  EXPECT_TRUE(o.ResumesAt(0));   // only epochs grow
  EXPECT_FALSE(o.ResumesAt(1));  // the data changes: run again
  EXPECT_FALSE(o.ResumesAt(2));
}

TEST(FidelityTest, PromotesTheBestOnceALevelHasFinished) {
  const FidelityOptions o = ThreeLevels(4, 0.5);  // 4 → 2 → 1
  std::vector<FrozenTrial> trials;
  using Kind = FidelityDecision::Kind;
  EXPECT_EQ(DecideNextFidelityStep(trials, o, StudyDirection::kMinimize).kind, Kind::kNewTrial);
  trials = {Made(0, TrialState::kComplete, 0.5, 0), Made(1, TrialState::kComplete, 0.2, 0),
            Made(2, TrialState::kRunning, 0, 0)};
  EXPECT_EQ(DecideNextFidelityStep(trials, o, StudyDirection::kMinimize).kind, Kind::kNewTrial);
  trials.push_back(Made(3, TrialState::kComplete, 0.9, 0));
  // Level 0 is planned in full but trial 2 still runs: nothing can be promoted yet.
  EXPECT_EQ(DecideNextFidelityStep(trials, o, StudyDirection::kMinimize).kind, Kind::kWait);
  trials[2] = Made(2, TrialState::kComplete, 0.1, 0);
  FidelityDecision d = DecideNextFidelityStep(trials, o, StudyDirection::kMinimize);
  EXPECT_EQ(d.kind, Kind::kPromote);
  EXPECT_EQ(d.level, 1);
  EXPECT_EQ(d.parent_number, 2);  // the best first
  trials.push_back(Made(4, TrialState::kComplete, 0.05, 1, 2));
  d = DecideNextFidelityStep(trials, o, StudyDirection::kMinimize);
  EXPECT_EQ(d.parent_number, 1);  // then the second best
  // Maximisation promotes the largest values.
  std::vector<FrozenTrial> level0 = {Made(0, TrialState::kComplete, 0.5, 0), Made(1, TrialState::kComplete, 0.2, 0),
                                     Made(2, TrialState::kPruned, 0.0, 0), Made(3, TrialState::kComplete, 0.9, 0)};
  d = DecideNextFidelityStep(level0, o, StudyDirection::kMaximize);
  EXPECT_EQ(d.parent_number, 3);
  // A WAITING trial is taken before anything else.
  level0.push_back(Made(4, TrialState::kWaiting, 0, 1, 3));
  EXPECT_EQ(DecideNextFidelityStep(level0, o, StudyDirection::kMaximize).kind, Kind::kRunWaiting);
}

TEST(FidelityTest, ModelLevelIsTheHighestWithEnoughObservations) {
  FidelityOptions o = ThreeLevels(8, 0.5);
  std::vector<FrozenTrial> trials;
  for (int i = 0; i < 8; ++i) trials.push_back(Made(i, TrialState::kComplete, i, 0));
  for (int i = 0; i < 3; ++i) trials.push_back(Made(8 + i, TrialState::kComplete, i, 1, i));
  EXPECT_EQ(FidelityModelLevel(trials, o, /*n_params=*/2), 1);  // 3 ≥ 2 + 1
  EXPECT_EQ(FidelityModelLevel(trials, o, /*n_params=*/3), 0);  // 3 < 3 + 1
  o.min_points_in_model = 2;
  EXPECT_EQ(FidelityModelLevel(trials, o, 10), 1);
}

TEST(FidelityTest, RankCorrelationsMatchHandComputedValues) {
  // x = 1..5, y = 2,1,4,3,5: Σd² = 4 → ρ = 1 − 6·4/(5·24) = 0.8; C = 8, D = 2 → τ = 6/10 = 0.6.
  const std::vector<double> x = {1, 2, 3, 4, 5}, y = {2, 1, 4, 3, 5};
  EXPECT_NEAR(SpearmanCorrelation(x, y), 0.8, 1e-12);
  EXPECT_NEAR(KendallTauB(x, y), 0.6, 1e-12);
  EXPECT_NEAR(SpearmanCorrelation(x, {5, 4, 3, 2, 1}), -1.0, 1e-12);
  // Ties (scipy 1.10 gives the same): kendalltau([1,2,2,3],[1,2,3,3]) = 0.8; spearmanr = 3.75/4.5 = 5/6 (Pearson
  // on mid-ranks 1,2.5,2.5,4 and 1,2,3.5,3.5).
  EXPECT_NEAR(KendallTauB({1, 2, 2, 3}, {1, 2, 3, 3}), 0.8, 1e-12);
  EXPECT_NEAR(SpearmanCorrelation({1, 2, 2, 3}, {1, 2, 3, 3}), 5.0 / 6.0, 1e-12);
  EXPECT_TRUE(std::isnan(SpearmanCorrelation({1, 1, 1}, {1, 2, 3})));
}

TEST(FidelityTest, CorrelationsPairThroughParentsAndWarn) {
  std::vector<FrozenTrial> trials;
  // Level 1 reverses level 0's order for 6 configurations: the proxy is misleading.
  for (int i = 0; i < 6; ++i) trials.push_back(Made(i, TrialState::kComplete, i, 0));
  for (int i = 0; i < 6; ++i) trials.push_back(Made(6 + i, TrialState::kComplete, 10 - i, 1, i));
  trials.push_back(Made(12, TrialState::kComplete, 1.0, 2, 6));  // pairs with trial 0 at level 0 through 6
  std::vector<FidelityCorrelation> c = FidelityCorrelations(trials);
  ASSERT_EQ(c.size(), 3u);  // 0→1, 0→2, 1→2
  EXPECT_EQ(c[0].n_pairs, 6);
  EXPECT_NEAR(c[0].spearman, -1.0, 1e-12);
  EXPECT_FALSE(c[0].reliable);
  EXPECT_NE(c[0].warning.find("Spearman"), std::string::npos);
  EXPECT_EQ(c[1].n_pairs, 1);
  EXPECT_NE(c[1].warning.find("too few"), std::string::npos);
}

// A whole study through the worker loop: 8 → 4 → 2 trials, each promoted trial linked to its parent, the level's
// values reaching the objective, and the loop ending when the schedule is done.
TEST(FidelityTest, WorkerLoopRunsTheSchedule) {
  Result<std::shared_ptr<Storage>> storage = OpenStorage("memory://");
  ASSERT_TRUE(storage.ok());
  StudyOptions so;
  so.study_name = "mf";
  so.sampler = "tpe";
  so.seed = 3;
  Result<std::unique_ptr<Study>> study = Study::Create(*storage, so);
  ASSERT_TRUE(study.ok()) << study.status().ToString();
  FidelityOptions o = ThreeLevels(8, 0.5);
  WorkerLoopOptions loop;
  loop.fidelity = o;
  std::vector<int> seen_levels;
  ObjectiveFunction objective = [&](Trial& trial) -> Result<std::vector<double>> {
    DIAL_ASSIGN_OR_RETURN(double x, trial.SuggestFloat("x", -1, 1));
    const int level = FidelityLevelOf(trial.frozen());
    seen_levels.push_back(level);
    const double epochs = static_cast<double>(std::get<int64_t>(o.levels[level].at("epochs")));
    return std::vector<double>{x * x + 1.0 / epochs};
  };
  ASSERT_TRUE(RunWorkerLoop(**study, objective, loop).ok());
  Result<std::vector<FrozenTrial>> trials = (*study)->GetTrials();
  ASSERT_TRUE(trials.ok());
  ASSERT_EQ(trials->size(), 14u);
  std::vector<int> per_level(3, 0);
  for (const FrozenTrial& t : *trials) {
    EXPECT_EQ(t.state, TrialState::kComplete);
    const int level = FidelityLevelOf(t);
    ++per_level[level];
    if (level == 0) continue;
    const int64_t parent = FidelityParentOf(t);
    ASSERT_GE(parent, 0);
    const FrozenTrial& p = (*trials)[parent];
    EXPECT_EQ(FidelityLevelOf(p), level - 1);
    EXPECT_EQ(p.params, t.params);  // the same configuration, run again at the next level
    EXPECT_EQ(t.system_attrs.count(std::string(kFidelityResumeFromAttr)), level == 1 ? 1u : 0u);
  }
  EXPECT_EQ(per_level, (std::vector<int>{8, 4, 2}));
  // The promoted configurations are the best of their level.
  std::vector<double> level0;
  for (const FrozenTrial& t : *trials) {
    if (FidelityLevelOf(t) == 0) level0.push_back(t.values[0]);
  }
  std::sort(level0.begin(), level0.end());
  for (const FrozenTrial& t : *trials) {
    if (FidelityLevelOf(t) == 1) {
      EXPECT_LE((*trials)[FidelityParentOf(t)].values[0], level0[3]);
    }
  }
}

}  // namespace
}  // namespace dial
