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

FrozenTrial Made(int64_t number, TrialState state, double value, int level, int64_t parent = -1, int bracket = -1) {
  FrozenTrial t;
  t.number = number;
  t.state = state;
  if (state == TrialState::kComplete) t.values = {value};
  t.system_attrs[std::string(kFidelityLevelAttr)] = level;
  if (parent >= 0) t.system_attrs[std::string(kFidelityParentAttr)] = parent;
  if (bracket >= 0) t.system_attrs[std::string(kFidelityBracketAttr)] = bracket;
  return t;
}

TEST(FidelityTest, RungSizesFollowKeep) {
  EXPECT_EQ(ThreeLevels(64, 0.25).RungSizes(), (std::vector<int64_t>{64, 16, 4}));
  EXPECT_EQ(ThreeLevels(64, 0.25).TotalTrials(), 84);
  EXPECT_EQ(ThreeLevels(2, 0.25).RungSizes(), (std::vector<int64_t>{2, 1, 1}));
}

TEST(FidelityTest, HyperbandBracketsFollowHyperbandsSizes) {
  // Three levels, η = 3, start_trials = η² = 9: Hyperband's brackets s = 2, 1, 0 are 9 → 3 → 1, 5 → 2, 3.
  FidelityOptions o = ThreeLevels(9, 1.0 / 3.0);
  o.schedule = "hyperband";
  const std::vector<FidelityBracket> b = o.Brackets();
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].start_level, 0);
  EXPECT_EQ(b[0].sizes, (std::vector<int64_t>{9, 3, 1}));
  EXPECT_EQ(b[1].start_level, 1);
  EXPECT_EQ(b[1].sizes, (std::vector<int64_t>{5, 2}));
  EXPECT_EQ(b[2].start_level, 2);
  EXPECT_EQ(b[2].sizes, (std::vector<int64_t>{3}));
  EXPECT_EQ(o.TotalTrials(), 13 + 7 + 3);
  // keep 1/4 (η = 4), 16 to start: 16 → 4 → 1, ceil(16·3/2·1/4) = 6 → 2 (6/4 rounds to 2), ceil(16·3·1/16) = 3.
  o = ThreeLevels(16, 0.25);
  o.schedule = "bohb";
  o.rounds = 2;
  const std::vector<FidelityBracket> c = o.Brackets();
  ASSERT_EQ(c.size(), 6u);  // the set of three, twice
  EXPECT_EQ(c[1].sizes, (std::vector<int64_t>{6, 2}));
  EXPECT_EQ(c[2].sizes, (std::vector<int64_t>{3}));
  EXPECT_EQ(c[3].start_level, 0);
  EXPECT_EQ(o.TotalTrials(), 2 * (21 + 8 + 3));
  // successive_halving keeps its single bracket.
  EXPECT_EQ(ThreeLevels(9, 1.0 / 3.0).Brackets().size(), 1u);
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
  o = ThreeLevels(8, 0.5);
  o.rounds = 2;  // successive_halving has one bracket to repeat: refused rather than ignored
  EXPECT_NE(o.Validate().message().find("fidelity.schedule.rounds"), std::string::npos);
  o.schedule = "hyperband";
  EXPECT_TRUE(o.Validate().ok());
  o.rounds = 0;
  EXPECT_NE(o.Validate().message().find("fidelity.schedule.rounds"), std::string::npos);
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

TEST(FidelityTest, HyperbandServesBracketsInOrderAndPromotesWithinEach) {
  FidelityOptions o;
  o.levels = {{{"epochs", int64_t{1}}}, {{"epochs", int64_t{3}}}};
  o.schedule = "hyperband";
  o.start_trials = 4;
  o.keep = 0.5;  // brackets: 4 → 2 at level 0; ceil(4·2/1·1/2) = 4 at level 1
  using Kind = FidelityDecision::Kind;
  std::vector<FrozenTrial> trials;
  for (int i = 0; i < 4; ++i) {
    FidelityDecision d = DecideNextFidelityStep(trials, o, StudyDirection::kMinimize);
    ASSERT_EQ(d.kind, Kind::kNewTrial);
    EXPECT_EQ(d.level, 0);
    EXPECT_EQ(d.bracket, 0);
    trials.push_back(Made(i, TrialState::kRunning, 0, 0, -1, 0));
  }
  // Bracket 0 has started its four and waits for them: an idle worker starts bracket 1 (at level 1) meanwhile.
  FidelityDecision d = DecideNextFidelityStep(trials, o, StudyDirection::kMinimize);
  EXPECT_EQ(d.kind, Kind::kNewTrial);
  EXPECT_EQ(d.level, 1);
  EXPECT_EQ(d.bracket, 1);
  for (int i = 0; i < 4; ++i) trials.push_back(Made(4 + i, TrialState::kComplete, 0.01 * i, 1, -1, 1));
  // Bracket 1's level-1 trials (better values) are not bracket 0's: nothing is promoted while bracket 0 runs.
  EXPECT_EQ(DecideNextFidelityStep(trials, o, StudyDirection::kMinimize).kind, Kind::kWait);
  const std::vector<double> values = {0.7, 0.3, 0.9, 0.4};
  for (int i = 0; i < 4; ++i) trials[i] = Made(i, TrialState::kComplete, values[i], 0, -1, 0);
  d = DecideNextFidelityStep(trials, o, StudyDirection::kMinimize);
  EXPECT_EQ(d.kind, Kind::kPromote);
  EXPECT_EQ(d.level, 1);
  EXPECT_EQ(d.bracket, 0);
  EXPECT_EQ(d.parent_number, 1);
  trials.push_back(Made(8, TrialState::kComplete, 0.2, 1, 1, 0));
  d = DecideNextFidelityStep(trials, o, StudyDirection::kMinimize);
  EXPECT_EQ(d.parent_number, 3);
  trials.push_back(Made(9, TrialState::kComplete, 0.25, 1, 3, 0));
  EXPECT_EQ(DecideNextFidelityStep(trials, o, StudyDirection::kMinimize).kind, Kind::kDone);
}

TEST(FidelityTest, SamplerViewIsTheBracketForHyperbandAndEveryBracketForBohb) {
  FidelityOptions o;
  o.levels = {{{"epochs", int64_t{1}}}, {{"epochs", int64_t{3}}}};
  o.schedule = "hyperband";
  o.min_points_in_model = 2;
  // Bracket 0: three COMPLETE at level 0, none at 1. Bracket 1: two COMPLETE at level 1.
  std::vector<FrozenTrial> trials = {
      Made(0, TrialState::kComplete, 1, 0, -1, 0), Made(1, TrialState::kComplete, 2, 0, -1, 0),
      Made(2, TrialState::kComplete, 3, 0, -1, 0), Made(3, TrialState::kComplete, 4, 1, -1, 1),
      Made(4, TrialState::kComplete, 5, 1, -1, 1)};
  const FrozenTrial new_in_bracket0 = Made(5, TrialState::kRunning, 0, 0, -1, 0);
  auto seen = [&](const TrialFilter& view) {
    std::vector<int64_t> numbers;
    for (const FrozenTrial& t : trials) {
      if (view(t)) numbers.push_back(t.number);
    }
    return numbers;
  };
  // hyperband: the trial's own bracket, whose highest level with 2 COMPLETE is level 0.
  EXPECT_EQ(seen(FidelitySamplerView(trials, o, 1, new_in_bracket0)), (std::vector<int64_t>{0, 1, 2}));
  // bohb: one model per budget over every bracket: level 1 has 2 COMPLETE, so it is modelled.
  o.schedule = "bohb";
  EXPECT_EQ(seen(FidelitySamplerView(trials, o, 1, new_in_bracket0)), (std::vector<int64_t>{3, 4}));
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

TEST(FidelityTest, WorkerLoopRunsBohbBrackets) {
  Result<std::shared_ptr<Storage>> storage = OpenStorage("memory://");
  ASSERT_TRUE(storage.ok());
  StudyOptions so;
  so.study_name = "bohb";
  so.sampler = "tpe";
  so.seed = 5;
  Result<std::unique_ptr<Study>> study = Study::Create(*storage, so);
  ASSERT_TRUE(study.ok()) << study.status().ToString();
  FidelityOptions o = ThreeLevels(9, 1.0 / 3.0);
  o.schedule = "bohb";
  WorkerLoopOptions loop;
  loop.fidelity = o;
  ObjectiveFunction objective = [&](Trial& trial) -> Result<std::vector<double>> {
    DIAL_ASSIGN_OR_RETURN(double x, trial.SuggestFloat("x", -1, 1));
    const int level = FidelityLevelOf(trial.frozen());
    const double epochs = static_cast<double>(std::get<int64_t>(o.levels[level].at("epochs")));
    return std::vector<double>{x * x + 1.0 / epochs};
  };
  ASSERT_TRUE(RunWorkerLoop(**study, objective, loop).ok());
  Result<std::vector<FrozenTrial>> trials = (*study)->GetTrials();
  ASSERT_TRUE(trials.ok());
  ASSERT_EQ(static_cast<int64_t>(trials->size()), o.TotalTrials());  // 13 + 7 + 3
  std::map<std::pair<int, int>, int> per_bracket_level;
  for (const FrozenTrial& t : *trials) {
    EXPECT_EQ(t.state, TrialState::kComplete);
    const int bracket = FidelityBracketOf(t);
    ++per_bracket_level[{bracket, FidelityLevelOf(t)}];
    ASSERT_EQ(t.system_attrs.count(std::string(kFidelityBracketAttr)), 1u);
    if (const int64_t parent = FidelityParentOf(t); parent >= 0) {
      EXPECT_EQ(FidelityBracketOf((*trials)[parent]), bracket);  // promoted within its bracket
      EXPECT_EQ(FidelityLevelOf((*trials)[parent]), FidelityLevelOf(t) - 1);
    }
  }
  const std::map<std::pair<int, int>, int> expected = {{{0, 0}, 9}, {{0, 1}, 3}, {{0, 2}, 1},
                                                       {{1, 1}, 5}, {{1, 2}, 2}, {{2, 2}, 3}};
  EXPECT_EQ(per_bracket_level, expected);
}

TEST(FidelityTest, PrunerComparesATrialOnlyWithItsFidelityLevel) {
  Result<std::shared_ptr<Storage>> storage = OpenStorage("memory://");
  ASSERT_TRUE(storage.ok());
  StudyOptions so;
  so.study_name = "peers";
  so.pruner = "median";
  so.pruner_options = Json{{"n_startup_trials", 2}, {"n_warmup_steps", 0}};
  Result<std::unique_ptr<Study>> study = Study::Create(*storage, so);
  ASSERT_TRUE(study.ok()) << study.status().ToString();
  (*study)->SetPrunerViewProvider(FidelityPrunerView);
  // Three finished level-0 trials whose curves are low (0.1 at step 1), and two level-1 trials at 0.5 and 0.7.
  auto finished = [&](int level, double value) {
    Result<std::unique_ptr<Trial>> t = (*study)->Ask();
    ASSERT_TRUE(t.ok());
    ASSERT_TRUE((*t)->SetSystemAttr(std::string(kFidelityLevelAttr), level).ok());
    ASSERT_TRUE((*t)->Report(1, value).ok());
    ASSERT_TRUE((*study)->Tell(**t, TrialState::kComplete, {value}).ok());
  };
  for (int i = 0; i < 3; ++i) finished(0, 0.1);
  finished(1, 0.5);
  finished(1, 0.7);
  // A level-1 trial at 0.6 is better than its level's median (0.6 ≤ 0.6): kept, although every level-0 curve is
  // below it; a level-0 trial at 0.6 is worse than its level's median (0.1): pruned.
  Result<std::unique_ptr<Trial>> promoted = (*study)->Ask();
  ASSERT_TRUE(promoted.ok());
  ASSERT_TRUE((*promoted)->SetSystemAttr(std::string(kFidelityLevelAttr), 1).ok());
  ASSERT_TRUE((*promoted)->Report(1, 0.6).ok());
  Result<bool> prune = (*promoted)->ShouldPrune();
  ASSERT_TRUE(prune.ok());
  EXPECT_FALSE(*prune);
  Result<std::unique_ptr<Trial>> cheap = (*study)->Ask();
  ASSERT_TRUE(cheap.ok());
  ASSERT_TRUE((*cheap)->SetSystemAttr(std::string(kFidelityLevelAttr), 0).ok());
  ASSERT_TRUE((*cheap)->Report(1, 0.6).ok());
  prune = (*cheap)->ShouldPrune();
  ASSERT_TRUE(prune.ok());
  EXPECT_TRUE(*prune);
}

}  // namespace
}  // namespace dial
