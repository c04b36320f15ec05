// Tests of the GP sampler end to end: it beats random search on a quadratic, keeps int and categorical values
// valid while learning which choice is good, replays for a seed, spreads parallel workers apart, and reads its
// options from JSON.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "dial/samplers/gp.h"
#include "dial/study.h"
#include "samplers/builtin_samplers.h"
#include "samplers/test_util.h"

namespace dial {
namespace {

constexpr int kTrials = 30;
constexpr int kSeeds = 5;

StudyOptions Options(const std::string& sampler, uint64_t seed, Json sampler_options = Json::object()) {
  StudyOptions o;
  o.sampler = sampler;
  o.sampler_options = std::move(sampler_options);
  o.seed = seed;
  return o;
}

// f(x, y) = (x − 0.3)² + (y + 0.2)² on [−1, 1]², minimum 0.
Result<std::vector<double>> Quadratic(Trial& t) {
  DIAL_ASSIGN_OR_RETURN(double x, t.SuggestFloat("x", -1.0, 1.0));
  DIAL_ASSIGN_OR_RETURN(double y, t.SuggestFloat("y", -1.0, 1.0));
  return std::vector<double>{(x - 0.3) * (x - 0.3) + (y + 0.2) * (y + 0.2)};
}

double BestValue(Study& study) {
  auto best = study.BestTrial();
  EXPECT_TRUE(best.ok()) << best.status().ToString();
  return best.ok() ? best->values[0] : INFINITY;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

TEST(GpSamplerTest, FindsQuadraticMinimumFarBetterThanRandom) {
  std::vector<double> gp, random;
  for (int seed = 0; seed < kSeeds; ++seed) {
    auto a = testing_util::NewStudy(testing_util::NewMemoryStorage(), Options("gp", seed));
    auto b = testing_util::NewStudy(testing_util::NewMemoryStorage(), Options("random", seed));
    ASSERT_TRUE(a->Optimize(&Quadratic, testing_util::NTrials(kTrials)).ok());
    ASSERT_TRUE(b->Optimize(&Quadratic, testing_util::NTrials(kTrials)).ok());
    gp.push_back(BestValue(*a));
    random.push_back(BestValue(*b));
  }
  // Random search's best of 30 lands ~1e-2 from the optimum; a GP on a quadratic should get within 1e-4.
  EXPECT_LT(Median(gp), 1e-4);
  EXPECT_LT(Median(gp), 0.01 * Median(random)) << "gp " << Median(gp) << " random " << Median(random);
}

TEST(GpSamplerTest, MaximisesWhenAskedTo) {
  StudyOptions o = Options("gp", 3);
  o.directions = {StudyDirection::kMaximize};
  auto study = testing_util::NewStudy(testing_util::NewMemoryStorage(), o);
  auto negated = [](Trial& t) -> Result<std::vector<double>> {
    DIAL_ASSIGN_OR_RETURN(std::vector<double> v, Quadratic(t));
    return std::vector<double>{-v[0]};
  };
  ASSERT_TRUE(study->Optimize(negated, testing_util::NTrials(kTrials)).ok());
  EXPECT_GT(BestValue(*study), -1e-3);
}

// Ints (plain, stepped, log), a stepped float and a categorical: every value valid, and the model learns that
// "good" is the choice to make.
TEST(GpSamplerTest, IntAndCategoricalParametersStayValidAndAreLearnt) {
  auto study = testing_util::NewStudy(testing_util::NewMemoryStorage(), Options("gp", 5));
  auto objective = [](Trial& t) -> Result<std::vector<double>> {
    SuggestIntOptions stepped;
    stepped.step = 4;
    SuggestIntOptions log;
    log.log = true;
    SuggestFloatOptions float_step;
    float_step.step = 0.1;
    DIAL_ASSIGN_OR_RETURN(int64_t layers, t.SuggestInt("layers", 1, 12));
    DIAL_ASSIGN_OR_RETURN(int64_t width, t.SuggestInt("width", 16, 128, stepped));
    DIAL_ASSIGN_OR_RETURN(int64_t batch, t.SuggestInt("batch", 1, 1024, log));
    DIAL_ASSIGN_OR_RETURN(double dropout, t.SuggestFloat("dropout", 0.0, 0.5, float_step));
    DIAL_ASSIGN_OR_RETURN(ParamValue kind,
                          t.SuggestCategorical("kind", {ParamValue{"bad"}, ParamValue{"good"}, ParamValue{"worse"}}));
    const std::string k = std::get<std::string>(kind);
    double v = std::pow(static_cast<double>(layers) - 7, 2) / 25 + std::pow(static_cast<double>(width) - 60, 2) / 2500 +
               std::pow(std::log2(static_cast<double>(batch)) - 6, 2) / 25 + std::pow(dropout - 0.2, 2);
    v += k == "good" ? 0.0 : k == "bad" ? 1.0 : 2.0;
    return std::vector<double>{v};
  };
  ASSERT_TRUE(study->Optimize(objective, testing_util::NTrials(kTrials)).ok());
  auto trials = study->GetTrials();
  ASSERT_TRUE(trials.ok());
  int good_after_startup = 0;
  for (const FrozenTrial& t : *trials) {
    ASSERT_EQ(t.state, TrialState::kComplete);
    ASSERT_EQ(t.params.size(), 5u);
    for (const auto& [name, value] : t.params) {
      EXPECT_TRUE(Contains(t.distributions.at(name), value)) << "trial " << t.number << " " << name << " = " << value;
    }
    if (t.number >= 10 && std::get<std::string>(*t.Param("kind")) == "good") ++good_after_startup;
  }
  EXPECT_GE(good_after_startup, 15) << "of " << kTrials - 10 << " model-based trials";
  EXPECT_LT(BestValue(*study), 0.05);
}

TEST(GpSamplerTest, SameSeedReplays) {
  std::vector<std::vector<std::map<std::string, double>>> runs;
  for (uint64_t seed : {21, 21, 22}) {
    auto study = testing_util::NewStudy(testing_util::NewMemoryStorage(), Options("gp", seed));
    EXPECT_TRUE(study->Optimize(&Quadratic, testing_util::NTrials(20)).ok());
    std::vector<std::map<std::string, double>> params;
    for (const FrozenTrial& t : *study->GetTrials()) params.push_back(t.params);
    runs.push_back(params);
  }
  EXPECT_EQ(runs[0], runs[1]);
  EXPECT_NE(runs[0], runs[2]);
}

// A second worker asking while the first worker's trial is running must not propose (nearly) the same point: the
// running trial is conditioned on at its predicted mean.
TEST(GpSamplerTest, PendingTrialsPushOtherWorkersAway) {
  auto storage = testing_util::NewMemoryStorage();
  StudyOptions o = Options("gp", 9);
  o.study_name = "shared";
  o.load_if_exists = true;
  auto w1 = testing_util::NewStudy(storage, o);
  auto w2 = testing_util::NewStudy(storage, o);
  ASSERT_TRUE(w1->Optimize(&Quadratic, testing_util::NTrials(15)).ok());
  auto t1 = w1->Ask();
  ASSERT_TRUE(t1.ok());
  ASSERT_TRUE((*t1)->SuggestFloat("x", -1.0, 1.0).ok());
  ASSERT_TRUE((*t1)->SuggestFloat("y", -1.0, 1.0).ok());
  auto t2 = w2->Ask();
  ASSERT_TRUE(t2.ok());
  ASSERT_TRUE((*t2)->SuggestFloat("x", -1.0, 1.0).ok());
  ASSERT_TRUE((*t2)->SuggestFloat("y", -1.0, 1.0).ok());
  const auto& p1 = (*t1)->frozen().params;
  const auto& p2 = (*t2)->frozen().params;
  const double distance = std::hypot(p1.at("x") - p2.at("x"), p1.at("y") - p2.at("y"));
  EXPECT_GT(distance, 1e-3) << "x " << p1.at("x") << " vs " << p2.at("x");
}

TEST(GpSamplerTest, UcbAndDeterministicOptionsWork) {
  auto study = testing_util::NewStudy(testing_util::NewMemoryStorage(), Options("gp", 4,
                                                                                Json{{"acquisition", "ucb"},
                                                                                     {"beta", 1.0},
                                                                                     {"deterministic_objective", true},
                                                                                     {"n_startup_trials", 5},
                                                                                     {"n_candidates", 256},
                                                                                     {"output_transform", "rank"}}));
  ASSERT_TRUE(study->Optimize(&Quadratic, testing_util::NTrials(25)).ok());
  EXPECT_LT(BestValue(*study), 1e-3);
}

TEST(GpSamplerTest, BadOptionsAreRejectedByName) {
  struct Case {
    Json options;
    std::string mentions;
  };
  for (const Case& c : {Case{Json{{"n_startup", 3}}, "n_startup"}, Case{Json{{"acquisition", "ei"}}, "acquisition"},
                        Case{Json{{"beta", -1.0}}, "beta"}, Case{Json{{"beta", "big"}}, "beta"},
                        Case{Json{{"n_candidates", 0}}, "n_candidates"},
                        Case{Json{{"deterministic_objective", 1}}, "deterministic_objective"},
                        Case{Json{{"output_transform", "sqrt"}}, "output_transform"},
                        Case{Json{{"n_startup_trials", -2}}, "n_startup_trials"}}) {
    auto sampler = internal::CreateGpSamplerFromJson(c.options, 0);
    ASSERT_FALSE(sampler.ok()) << c.options.dump();
    EXPECT_EQ(sampler.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(sampler.status().message().find(c.mentions), std::string::npos) << sampler.status().ToString();
    EXPECT_NE(sampler.status().message().find("sampler 'gp'"), std::string::npos) << sampler.status().ToString();
  }
  GpSamplerOptions options;
  EXPECT_TRUE(options.Validate().ok());
  options.beta = NAN;
  EXPECT_FALSE(options.Validate().ok());
}

}  // namespace
}  // namespace dial
