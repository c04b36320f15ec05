// TPE's below/above split and the multi-objective pieces. Expected values for several objectives come from Optuna
// 3.1 itself (/usr/bin/python3: optuna.samplers._tpe.sampler._split_observation_pairs,
// _calculate_weights_below_for_multi_objective, _calculate_nondomination_rank; optuna._hypervolume.WFG).
#include "samplers/tpe/split.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace dial::internal::tpe {
namespace {

FrozenTrial Complete(int number, std::vector<double> values) {
  FrozenTrial t;
  t.number = number;
  t.state = TrialState::kComplete;
  t.values = std::move(values);
  return t;
}

FrozenTrial Pruned(int number, std::map<int64_t, double> intermediate) {
  FrozenTrial t;
  t.number = number;
  t.state = TrialState::kPruned;
  t.intermediate_values = std::move(intermediate);
  return t;
}

std::vector<Score> Scores(const std::vector<FrozenTrial>& trials, const std::vector<StudyDirection>& dirs,
                          bool constant_liar) {
  std::vector<Score> out;
  for (const FrozenTrial& t : trials) {
    Score s;
    if (TrialScore(t, dirs, constant_liar, &s)) out.push_back(s);
  }
  return out;
}

// Finished trials first by value, then pruned ones by the last step reached (later is better) and value, then
// pruned trials that never reported, then running ones (constant liar); FAIL is no observation.
TEST(TpeSplitTest, PrunedAndRunningTrialsRankAfterCompleteOnes) {
  FrozenTrial running;
  running.number = 4;
  running.state = TrialState::kRunning;
  FrozenTrial failed;
  failed.number = 8;
  failed.state = TrialState::kFail;
  const std::vector<FrozenTrial> trials = {Complete(0, {5.0}),
                                           Pruned(1, {{0, 1.0}, {3, 4.0}}),
                                           Complete(2, {2.0}),
                                           Pruned(3, {}),
                                           running,
                                           Pruned(5, {{1, 0.5}}),
                                           Complete(6, {3.0}),
                                           Pruned(7, {{3, NAN}}),
                                           failed};
  const std::vector<Score> scores = Scores(trials, {StudyDirection::kMinimize}, true);
  ASSERT_EQ(scores.size(), 8u);
  EXPECT_EQ(scores[1].step_key, -3.0);
  EXPECT_EQ(scores[3].step_key, 1.0);
  EXPECT_EQ(scores[7].values[0], INFINITY);  // NaN intermediate value: worst
  std::vector<int> below, above;
  // Order: 2 (2.0), 6 (3.0), 0 (5.0), 1 (step 3, 4.0), 7 (step 3, NaN), 5 (step 1), 3 (no step), 4 (running).
  SplitObservations(scores, 4, &below, &above);
  EXPECT_EQ(below, (std::vector<int>{0, 1, 2, 6}));
  EXPECT_EQ(above, (std::vector<int>{3, 4, 5, 7}));
  SplitObservations(scores, 6, &below, &above);
  EXPECT_EQ(below, (std::vector<int>{0, 1, 2, 5, 6, 7}));
  // Without the constant liar the running trial is no observation.
  EXPECT_EQ(Scores(trials, {StudyDirection::kMinimize}, false).size(), 7u);
}

TEST(TpeSplitTest, MaximisingNegatesValues) {
  const std::vector<FrozenTrial> trials = {Complete(0, {1.0}), Complete(1, {3.0}), Complete(2, {2.0}),
                                           Pruned(3, {{2, 10.0}})};
  const std::vector<Score> scores = Scores(trials, {StudyDirection::kMaximize}, false);
  std::vector<int> below, above;
  SplitObservations(scores, 2, &below, &above);
  EXPECT_EQ(below, (std::vector<int>{1, 2}));
  EXPECT_EQ(above, (std::vector<int>{0, 3}));
}

TEST(TpeSplitTest, SeveralObjectivesSkipPrunedAndRunningTrials) {
  const std::vector<StudyDirection> two = {StudyDirection::kMinimize, StudyDirection::kMaximize};
  FrozenTrial running;
  running.state = TrialState::kRunning;
  Score s;
  EXPECT_FALSE(TrialScore(Pruned(0, {{1, 1.0}}), two, true, &s));
  EXPECT_FALSE(TrialScore(running, two, true, &s));
  ASSERT_TRUE(TrialScore(Complete(1, {1.0, 2.0}), two, false, &s));
  EXPECT_EQ(s.values, (std::vector<double>{1.0, -2.0}));
}

std::vector<Score> MultiScores(const std::vector<std::vector<double>>& points) {
  std::vector<Score> out;
  for (const auto& p : points) out.push_back(Score{-INFINITY, p});
  return out;
}

TEST(TpeSplitTest, MultiObjectiveRanksThenHypervolumeSubsetSelection) {
  const std::vector<std::vector<double>> points = {{1, 5}, {2, 3}, {4, 1}, {2, 6}, {3, 4}, {5, 2}, {6, 6}};
  EXPECT_EQ(NondominationRanks(points), (std::vector<int>{0, 0, 0, 1, 1, 1, 2}));
  std::vector<int> below, above;
  // Rank 0 fits; one more from rank 1 by hypervolume against the reference (5.5, 6.6): (3, 4) adds most.
  SplitObservations(MultiScores(points), 4, &below, &above);
  EXPECT_EQ(below, (std::vector<int>{0, 1, 2, 4}));
  EXPECT_EQ(above, (std::vector<int>{3, 5, 6}));
  SplitObservations(MultiScores(points), 5, &below, &above);
  EXPECT_EQ(below, (std::vector<int>{0, 1, 2, 4, 5}));
  EXPECT_EQ(above, (std::vector<int>{3, 6}));

  const std::vector<std::vector<double>> three = {{1, 2, 3}, {3, 2, 1}, {2, 2, 2}, {2, 3, 4},
                                                  {4, 3, 2}, {3, 3, 3}, {5, 5, 5}, {1, 4, 4}};
  SplitObservations(MultiScores(three), 4, &below, &above);
  EXPECT_EQ(below, (std::vector<int>{0, 1, 2, 5}));
  EXPECT_EQ(above, (std::vector<int>{3, 4, 6, 7}));
}

TEST(TpeSplitTest, MultiObjectiveWeightsAreHypervolumeContributions) {
  std::vector<double> w = MultiObjectiveWeightsBelow({{1, 5}, {2, 3}, {4, 1}, {3, 4}});
  const std::vector<double> expected = {1.6666666666694444e-01, 1.0, 2.6666666666691136e-01, 3.3333333333322222e-13};
  ASSERT_EQ(w.size(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(w[i], expected[i], 1e-14) << i;
  w = MultiObjectiveWeightsBelow({{1, 2, 3}, {3, 2, 1}, {2, 2, 2}, {3, 3, 3}});
  const std::vector<double> expected3 = {3.000000000005387e-01, 3.000000000005387e-01, 1.0, 7.692307692301771e-13};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(w[i], expected3[i], 1e-14) << i;
  EXPECT_EQ(MultiObjectiveWeightsBelow({{1, 2}}), (std::vector<double>{1.0}));
}

TEST(TpeSplitTest, HypervolumeMatchesOptunaWfg) {
  EXPECT_DOUBLE_EQ(Hypervolume({{0, 1, 1}, {1, 0, 1}}, {2, 2, 2}), 3.0);
  EXPECT_DOUBLE_EQ(Hypervolume({{1, 5}, {2, 3}, {4, 1}}, {5, 6}), 4 + 6 + 2);
  const std::vector<std::vector<double>> p3 = {{0.5488135039273248, 0.7151893663724195, 0.6027633760716439},
                                               {0.5448831829968969, 0.4236547993389047, 0.6458941130666561},
                                               {0.4375872112626925, 0.8917730007820798, 0.9636627605010293},
                                               {0.3834415188257777, 0.7917250380826646, 0.5288949197529045},
                                               {0.5680445610939323, 0.925596638292661, 0.07103605819788694},
                                               {0.08712929970154071, 0.02021839744032572, 0.832619845547938}};
  EXPECT_NEAR(Hypervolume(p3, {1.1, 1.1, 1.1}), 0.44196946802808884, 1e-14);
  const std::vector<std::vector<double>> p4 = {
      {0.7781567509498505, 0.8700121482468192, 0.978618342232764, 0.7991585642167236},
      {0.46147936225293185, 0.7805291762864555, 0.11827442586893322, 0.6399210213275238},
      {0.1433532874090464, 0.9446689170495839, 0.5218483217500717, 0.4146619399905236},
      {0.26455561210462697, 0.7742336894342167, 0.45615033221654855, 0.5684339488686485},
      {0.01878980043635514, 0.6176354970758771, 0.6120957227224214, 0.6169339968747569}};
  EXPECT_NEAR(Hypervolume(p4, {1.0, 1.2, 1.1, 1.3}), 0.30617197462732226, 1e-14);
}

}  // namespace
}  // namespace dial::internal::tpe
