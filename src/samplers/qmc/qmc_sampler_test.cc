#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>

#include "dial/samplers/qmc.h"
#include "dial/study.h"
#include "samplers/qmc/low_discrepancy.h"
#include "samplers/test_util.h"

namespace dial {
namespace {

StudyOptions QmcOptions(const Json& sampler_options, uint64_t seed = 3) {
  StudyOptions o;
  o.study_name = "qmc";
  o.sampler = "qmc";
  o.sampler_options = sampler_options;
  o.seed = seed;
  o.load_if_exists = true;
  return o;
}

Result<std::vector<double>> TwoFloatsAndAChoice(Trial& t) {
  DIAL_ASSIGN_OR_RETURN(double x, t.SuggestFloat("x", 0.0, 1.0));
  DIAL_ASSIGN_OR_RETURN(double y, t.SuggestFloat("y", 0.0, 1.0));
  DIAL_ASSIGN_OR_RETURN(ParamValue c, t.SuggestCategorical("c", {ParamValue{"a"}, ParamValue{"b"}}));
  return std::vector<double>{x + y};
}

// Trial k takes point k of the sequence (trial 0 is drawn at random: the space is not known yet).
TEST(QmcSamplerTest, TrialNumberKTakesPointK) {
  for (const std::string type : {"sobol", "halton"}) {
    for (bool scramble : {false, true}) {
      auto study = testing_util::NewStudy(testing_util::NewMemoryStorage(),
                                          QmcOptions({{"qmc_type", type}, {"scramble", scramble}}));
      ASSERT_TRUE(study->Optimize(&TwoFloatsAndAChoice, testing_util::NTrials(20)).ok());
      auto trials = study->GetTrials();
      ASSERT_TRUE(trials.ok());
      internal::SobolSequence sobol(2, scramble, 3);
      internal::HaltonSequence halton(2, scramble, 3);
      for (const FrozenTrial& t : *trials) {
        if (t.number == 0) continue;
        const std::vector<double> u = type == "sobol" ? sobol.Point(t.number) : halton.Point(t.number);
        EXPECT_DOUBLE_EQ(t.params.at("x"), u[0]) << type << " trial " << t.number;
        EXPECT_DOUBLE_EQ(t.params.at("y"), u[1]) << type << " trial " << t.number;
      }
    }
  }
}

// Categorical parameters are the random sampler's draws for the same seed and trial number.
TEST(QmcSamplerTest, CategoricalsAreTheRandomSamplersDraws) {
  auto qmc = testing_util::NewStudy(testing_util::NewMemoryStorage(), QmcOptions(Json::object()));
  StudyOptions random_options = QmcOptions(Json::object());
  random_options.sampler = "random";
  auto random = testing_util::NewStudy(testing_util::NewMemoryStorage(), random_options);
  ASSERT_TRUE(qmc->Optimize(&TwoFloatsAndAChoice, testing_util::NTrials(12)).ok());
  ASSERT_TRUE(random->Optimize(&TwoFloatsAndAChoice, testing_util::NTrials(12)).ok());
  auto a = qmc->GetTrials();
  auto b = random->GetTrials();
  ASSERT_TRUE(a.ok() && b.ok());
  for (size_t i = 0; i < a->size(); ++i) EXPECT_EQ((*a)[i].params.at("c"), (*b)[i].params.at("c")) << "trial " << i;
  // The first trial is entirely the random sampler's.
  EXPECT_EQ((*a)[0].params, (*b)[0].params);
}

// The space comes from the first finished trial and is recorded in the study; a parameter that appears later is
// sampled at random, and ints land on their grid.
TEST(QmcSamplerTest, SpaceIsFixedFromTheFirstFinishedTrial) {
  auto study = testing_util::NewStudy(testing_util::NewMemoryStorage(), QmcOptions({{"scramble", false}}));
  auto objective = [](Trial& t) -> Result<std::vector<double>> {
    SuggestIntOptions step;
    step.step = 4;
    DIAL_ASSIGN_OR_RETURN(int64_t n, t.SuggestInt("n", 0, 64, step));
    double v = static_cast<double>(n);
    if (t.number() >= 3) {
      DIAL_ASSIGN_OR_RETURN(double z, t.SuggestFloat("z", -1.0, 1.0));
      v += z;
    }
    return std::vector<double>{v};
  };
  ASSERT_TRUE(study->Optimize(objective, testing_util::NTrials(40)).ok());
  auto attrs = study->storage().GetStudySystemAttrs(study->id());
  ASSERT_TRUE(attrs.ok());
  ASSERT_TRUE(attrs->count("dial:qmc:search_space"));
  const Json& space = attrs->at("dial:qmc:search_space");
  EXPECT_TRUE(space.contains("n"));
  EXPECT_FALSE(space.contains("z"));
  auto trials = study->GetTrials();
  ASSERT_TRUE(trials.ok());
  std::set<double> values;
  for (const FrozenTrial& t : *trials) {
    const double n = t.params.at("n");
    EXPECT_EQ(std::fmod(n, 4.0), 0.0) << "trial " << t.number;
    if (t.number > 0) values.insert(n);
  }
  // 39 Sobol' points spread over the 17 grid values hit nearly all of them.
  EXPECT_GE(values.size(), 16u);
}

// Two workers on one study, interleaved: each trial still takes its own point, none repeats another.
TEST(QmcSamplerTest, WorkersTakeDistinctPoints) {
  auto storage = testing_util::NewMemoryStorage();
  auto w1 = testing_util::NewStudy(storage, QmcOptions(Json::object()));
  auto w2 = testing_util::NewStudy(storage, QmcOptions(Json::object()));
  for (int round = 0; round < 16; ++round) {
    auto t1 = w1->Ask();
    auto t2 = w2->Ask();
    ASSERT_TRUE(t1.ok() && t2.ok());
    for (auto* t : {t1->get(), t2->get()}) {
      ASSERT_TRUE(t->SuggestFloat("x", 0.0, 1.0).ok());
      ASSERT_TRUE(t->SuggestFloat("y", 0.0, 1.0).ok());
    }
    ASSERT_TRUE(w2->Tell(**t2, TrialState::kComplete, {1.0}).ok());
    ASSERT_TRUE(w1->Tell(**t1, TrialState::kComplete, {1.0}).ok());
  }
  auto trials = w1->GetTrials();
  ASSERT_TRUE(trials.ok());
  internal::SobolSequence sobol(2, true, 3);
  std::set<std::pair<double, double>> seen;
  for (const FrozenTrial& t : *trials) {
    seen.insert({t.params.at("x"), t.params.at("y")});
    if (t.number < 2) continue;  // both first trials ran before any finished: random
    EXPECT_EQ(t.params.at("x"), sobol.Point(t.number)[0]) << "trial " << t.number;
  }
  EXPECT_EQ(seen.size(), trials->size());
}

TEST(QmcSamplerTest, BadOptionsNameTheOption) {
  auto bad_type = CreateSampler("qmc", {{"qmc_type", "faure"}}, 0);
  ASSERT_FALSE(bad_type.ok());
  EXPECT_NE(bad_type.status().message().find("qmc_type"), std::string::npos);
  auto bad_scramble = CreateSampler("qmc", {{"scramble", 1}}, 0);
  ASSERT_FALSE(bad_scramble.ok());
  EXPECT_NE(bad_scramble.status().message().find("scramble"), std::string::npos);
  auto unknown = CreateSampler("qmc", {{"warn_independent_sampling", false}}, 0);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dial
