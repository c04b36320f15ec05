// Parameter importance on studies whose answer is known: an additive function whose variance shares can be worked
// out, an irrelevant parameter, a categorical, and the errors named in analysis.h.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include "dial/analysis.h"

namespace dial {
namespace {

struct Builder {
  std::vector<FrozenTrial> trials;
  void Add(std::map<std::string, std::pair<double, Distribution>> params, std::vector<double> values,
           TrialState state = TrialState::kComplete) {
    FrozenTrial t;
    t.number = static_cast<int64_t>(trials.size());
    t.trial_id = t.number;
    t.state = state;
    t.values = std::move(values);
    for (auto& [name, pd] : params) {
      t.params[name] = pd.first;
      t.distributions[name] = pd.second;
    }
    trials.push_back(std::move(t));
  }
};

FloatDistribution Uniform(double low, double high) {
  FloatDistribution d;
  d.low = low;
  d.high = high;
  return d;
}

std::map<std::string, double> AsMap(const std::vector<ParamImportance>& v) {
  std::map<std::string, double> m;
  for (const auto& p : v) m[p.name] = p.importance;
  return m;
}

// y = 3·a + b with a, b uniform on [0, 1] (independent): Var(3a) = 9/12, Var(b) = 1/12, so the exact first-order
// shares are 0.9 and 0.1; c does not matter at all.
std::vector<FrozenTrial> AdditiveStudy(int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Builder b;
  for (int i = 0; i < n; ++i) {
    const double a = u(rng), bb = u(rng), c = u(rng);
    b.Add({{"a", {a, Uniform(0, 1)}}, {"b", {bb, Uniform(0, 1)}}, {"c", {c, Uniform(0, 1)}}}, {3 * a + bb});
  }
  return b.trials;
}

TEST(ImportanceTest, FanovaRecoversTheVarianceSharesOfAnAdditiveFunction) {
  ImportanceOptions options;
  options.seed = 1;
  auto result = ComputeImportances(AdditiveStudy(300, 7), options);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->size(), 3u);
  EXPECT_EQ((*result)[0].name, "a");
  EXPECT_EQ((*result)[1].name, "b");
  EXPECT_EQ((*result)[2].name, "c");
  const auto m = AsMap(*result);
  EXPECT_NEAR(m.at("a"), 0.9, 0.04);
  EXPECT_NEAR(m.at("b"), 0.1, 0.04);
  EXPECT_LT(m.at("c"), 0.02);
  EXPECT_NEAR(m.at("a") + m.at("b") + m.at("c"), 1.0, 1e-12);
}

TEST(ImportanceTest, EveryEvaluatorRanksTheParametersAlike) {
  for (ImportanceEvaluator e :
       {ImportanceEvaluator::kFanova, ImportanceEvaluator::kPedAnova, ImportanceEvaluator::kMeanDecreaseImpurity}) {
    ImportanceOptions options;
    options.evaluator = e;
    auto result = ComputeImportances(AdditiveStudy(300, 9), options);
    ASSERT_TRUE(result.ok()) << ImportanceEvaluatorName(e) << ": " << result.status().ToString();
    EXPECT_EQ((*result)[0].name, "a") << ImportanceEvaluatorName(e);
    EXPECT_EQ((*result)[2].name, "c") << ImportanceEvaluatorName(e);
    EXPECT_GT((*result)[0].importance, 0.5) << ImportanceEvaluatorName(e);
  }
}

TEST(ImportanceTest, SameSeedSameResultAndTheSeedMatters) {
  const auto trials = AdditiveStudy(120, 3);
  ImportanceOptions options;
  options.seed = 5;
  auto first = ComputeImportances(trials, options);
  auto second = ComputeImportances(trials, options);
  ASSERT_TRUE(first.ok() && second.ok());
  for (size_t i = 0; i < first->size(); ++i) EXPECT_EQ((*first)[i].importance, (*second)[i].importance);
  options.seed = 6;
  auto other = ComputeImportances(trials, options);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(AsMap(*first).at("b"), AsMap(*other).at("b"));
  EXPECT_NEAR(AsMap(*first).at("b"), AsMap(*other).at("b"), 0.05);
}

TEST(ImportanceTest, CategoricalsAreOneParameterAndSingleValuedOnesGetZero) {
  CategoricalDistribution optimizer;
  optimizer.choices = {std::string("adam"), std::string("sgd"), std::string("rmsprop")};
  IntDistribution fixed;
  fixed.low = fixed.high = 4;
  std::mt19937_64 rng(2);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Builder b;
  const double effect[3] = {0.0, 5.0, 2.0};
  for (int i = 0; i < 150; ++i) {
    const int choice = i % 3;
    const double x = u(rng);
    b.Add({{"optimizer", {choice, optimizer}}, {"x", {x, Uniform(0, 1)}}, {"layers", {4, fixed}}},
          {effect[choice] + 0.5 * x});
  }
  for (ImportanceEvaluator e :
       {ImportanceEvaluator::kFanova, ImportanceEvaluator::kPedAnova, ImportanceEvaluator::kMeanDecreaseImpurity}) {
    ImportanceOptions options;
    options.evaluator = e;
    auto result = ComputeImportances(b.trials, options);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    ASSERT_EQ(result->size(), 3u);
    EXPECT_EQ((*result)[0].name, "optimizer") << ImportanceEvaluatorName(e);
    EXPECT_EQ((*result)[2].name, "layers");
    EXPECT_EQ((*result)[2].importance, 0.0);
  }
}

TEST(ImportanceTest, MaximisedObjectiveAndObjectiveIndex) {
  // Two objectives: the first depends on a, the second on b. PED-ANOVA's top trials follow the direction.
  std::mt19937_64 rng(4);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Builder b;
  for (int i = 0; i < 200; ++i) {
    const double a = u(rng), bb = u(rng);
    b.Add({{"a", {a, Uniform(0, 1)}}, {"b", {bb, Uniform(0, 1)}}}, {a, bb * bb});
  }
  for (ImportanceEvaluator e : {ImportanceEvaluator::kFanova, ImportanceEvaluator::kPedAnova}) {
    ImportanceOptions options;
    options.evaluator = e;
    options.objective_index = 1;
    options.direction = StudyDirection::kMaximize;
    auto result = ComputeImportances(b.trials, options);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    EXPECT_EQ((*result)[0].name, "b") << ImportanceEvaluatorName(e);
  }
}

TEST(ImportanceTest, ParamsSubsetUsesOnlyTrialsThatHaveThem) {
  Builder b;
  std::mt19937_64 rng(8);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  for (int i = 0; i < 60; ++i) {
    const double a = u(rng), c = u(rng);
    if (i % 2 == 0) {
      b.Add({{"a", {a, Uniform(0, 1)}}, {"cond", {c, Uniform(0, 1)}}}, {a + 10 * c});
    } else {
      b.Add({{"a", {a, Uniform(0, 1)}}}, {a});
    }
  }
  ImportanceOptions options;
  auto intersection = ComputeImportances(b.trials, options);
  ASSERT_TRUE(intersection.ok());
  ASSERT_EQ(intersection->size(), 1u);  // "cond" is not in every trial
  options.params = {"a", "cond"};
  auto subset = ComputeImportances(b.trials, options);
  ASSERT_TRUE(subset.ok()) << subset.status().ToString();
  ASSERT_EQ(subset->size(), 2u);
  EXPECT_EQ((*subset)[0].name, "cond");
}

TEST(ImportanceTest, ErrorsNameTheProblem) {
  ImportanceOptions options;
  Builder one;
  one.Add({{"a", {0.5, Uniform(0, 1)}}}, {1.0});
  one.Add({{"a", {0.2, Uniform(0, 1)}}}, {}, TrialState::kFail);
  auto r = ComputeImportances(one.trials, options);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("at least 2 COMPLETE"), std::string::npos) << r.status().message();

  Builder flat;
  flat.Add({{"a", {0.5, Uniform(0, 1)}}}, {1.0});
  flat.Add({{"a", {0.2, Uniform(0, 1)}}}, {1.0});
  flat.Add({{"a", {0.9, Uniform(0, 1)}}}, {1.0});
  r = ComputeImportances(flat.trials, options);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("same value"), std::string::npos) << r.status().message();

  options.objective_index = 3;
  r = ComputeImportances(flat.trials, options);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("objective index 3"), std::string::npos);

  options.objective_index = 0;
  options.params = {"nope"};
  r = ComputeImportances(flat.trials, options);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("'nope'"), std::string::npos);

  Builder changing;
  changing.Add({{"a", {0.5, Uniform(0, 1)}}}, {1.0});
  changing.Add({{"a", {0.2, Uniform(0, 2)}}}, {2.0});
  options.params = {"a"};
  r = ComputeImportances(changing.trials, options);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);

  ImportanceOptions bad;
  bad.n_trees = 0;
  EXPECT_EQ(ComputeImportances(flat.trials, bad).status().code(), StatusCode::kInvalidArgument);
  bad = ImportanceOptions{};
  bad.baseline_quantile = 0.0;
  EXPECT_EQ(bad.Validate().code(), StatusCode::kInvalidArgument);
}

TEST(ImportanceTest, NonFiniteAndUnfinishedTrialsAreLeftOut) {
  auto trials = AdditiveStudy(100, 12);
  FrozenTrial inf = trials[0];
  inf.number = 1000;
  inf.values = {INFINITY};
  trials.push_back(inf);
  FrozenTrial pruned = trials[1];
  pruned.number = 1001;
  pruned.state = TrialState::kPruned;
  pruned.values = {1e9};
  trials.push_back(pruned);
  auto r = ComputeImportances(trials, ImportanceOptions{});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)[0].name, "a");
}

TEST(ImportanceTest, EvaluatorNamesRoundTrip) {
  for (ImportanceEvaluator e :
       {ImportanceEvaluator::kFanova, ImportanceEvaluator::kPedAnova, ImportanceEvaluator::kMeanDecreaseImpurity}) {
    EXPECT_EQ(ParseImportanceEvaluator(ImportanceEvaluatorName(e)), e);
  }
  EXPECT_FALSE(ParseImportanceEvaluator("shap").has_value());
}

}  // namespace
}  // namespace dial
