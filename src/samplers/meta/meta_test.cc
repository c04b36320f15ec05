// Tests of the meta-samplers: `staged` switches samplers at the stage boundaries (by trial number, whichever
// worker runs the trial) and records the stage; `auto` picks gp / tpe / nsga2 from what the study looks like
// and records its choice; bad stage definitions are refused naming the stage.
#include "dial/samplers/meta.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dial/study.h"
#include "samplers/test_util.h"

namespace dial {
namespace {

Result<std::vector<double>> TwoFloats(Trial& t) {
  DIAL_ASSIGN_OR_RETURN(double x, t.SuggestFloat("x", -2.0, 2.0));
  DIAL_ASSIGN_OR_RETURN(double y, t.SuggestFloat("y", -2.0, 2.0));
  return std::vector<double>{x * x + y * y};
}

std::vector<FrozenTrial> RunStudy(const std::string& sampler, const Json& options, int n, uint64_t seed = 3,
                                  ObjectiveFunction objective = &TwoFloats, int n_objectives = 1) {
  StudyOptions o;
  o.sampler = sampler;
  o.sampler_options = options;
  o.seed = seed;
  o.directions.assign(n_objectives, StudyDirection::kMinimize);
  auto study = testing_util::NewStudy(testing_util::NewMemoryStorage(), o);
  EXPECT_TRUE(study->Optimize(objective, testing_util::NTrials(n)).ok());
  auto trials = study->GetTrials();
  EXPECT_TRUE(trials.ok());
  return *trials;
}

TEST(StagedSamplerTest, SwitchesAtTheBoundaryAndRecordsTheStage) {
  const Json staged = {{"stages", Json::array({Json{{"name", "random"}, {"n_trials", 4}, {"seed", 100}},
                                               Json{{"name", "random"}, {"seed", 200}}})}};
  std::vector<FrozenTrial> trials = RunStudy("staged", staged, 10);
  std::vector<FrozenTrial> first = RunStudy("random", Json::object(), 10, 100);
  std::vector<FrozenTrial> second = RunStudy("random", Json::object(), 10, 200);
  ASSERT_EQ(trials.size(), 10u);
  for (const FrozenTrial& t : trials) {
    const bool early = t.number < 4;
    EXPECT_EQ(t.params, early ? first[t.number].params : second[t.number].params) << "trial " << t.number;
    EXPECT_EQ(t.system_attrs.at("dial:stage"), early ? "0:random" : "1:random") << "trial " << t.number;
  }
}

TEST(StagedSamplerTest, BadStagesAreRefusedNamingTheStage) {
  auto message = [](const Json& options) {
    auto s = CreateSampler("staged", options, 0);
    EXPECT_FALSE(s.ok());
    return s.ok() ? std::string() : s.status().message();
  };
  EXPECT_NE(message(Json::object()).find("needs 'stages'"), std::string::npos);
  EXPECT_NE(message({{"stages", Json::array()}}).find("at least one stage"), std::string::npos);
  EXPECT_NE(message({{"stages", Json::array({Json{{"name", "random"}}, Json{{"name", "random"}}})}})
                .find("stage 1 ('random'): needs a positive n_trials"),
            std::string::npos);
  EXPECT_NE(message({{"stages", Json::array({Json{{"name", "random"}, {"n_trials", 3}}})}})
                .find("stage 1 ('random'): the last stage runs until the study ends"),
            std::string::npos);
  EXPECT_NE(message({{"stages", Json::array({Json{{"name", "random"}, {"n_trials", 3}}, Json{{"name", "nope"}}})}})
                .find("stage 2: unknown sampler 'nope'"),
            std::string::npos);
  EXPECT_NE(message({{"stages", Json::array({Json{{"name", "random"}, {"n_trials", 3}, {"colour", 1}},
                                             Json{{"name", "random"}}})}})
                .find("stage 1: sampler 'random': unknown option 'colour'"),
            std::string::npos);
  EXPECT_NE(message({{"stages", Json::array({Json{{"name", "random"}, {"n_trials", 0}}, Json{{"name", "random"}}})}})
                .find("n_trials"),
            std::string::npos);
}

std::string Choice(const FrozenTrial& t) { return t.system_attrs.at("dial:auto:sampler").get<std::string>(); }

TEST(AutoSamplerTest, SmallContinuousSpaceUsesGp) {
  std::vector<FrozenTrial> trials = RunStudy("auto", Json::object(), 15);
  for (const FrozenTrial& t : trials) EXPECT_EQ(Choice(t), "gp") << "trial " << t.number;
}

TEST(AutoSamplerTest, CategoricalOrConditionalSpacesUseTpe) {
  auto categorical = [](Trial& t) -> Result<std::vector<double>> {
    DIAL_ASSIGN_OR_RETURN(double x, t.SuggestFloat("x", -2.0, 2.0));
    DIAL_ASSIGN_OR_RETURN(ParamValue m, t.SuggestCategorical("model", {ParamValue{"lstm"}, ParamValue{"conformer"}}));
    return std::vector<double>{x * x};
  };
  std::vector<FrozenTrial> trials = RunStudy("auto", Json::object(), 6, 3, categorical);
  EXPECT_EQ(Choice(trials[0]), "gp");  // nothing known yet
  EXPECT_EQ(Choice(trials[5]), "tpe");

  auto conditional = [](Trial& t) -> Result<std::vector<double>> {
    DIAL_ASSIGN_OR_RETURN(double x, t.SuggestFloat("x", -2.0, 2.0));
    if (x > 0) {
      DIAL_ASSIGN_OR_RETURN(double m, t.SuggestFloat("momentum", 0.0, 1.0));
      x += m;
    }
    return std::vector<double>{x * x};
  };
  trials = RunStudy("auto", Json::object(), 12, 3, conditional);
  EXPECT_EQ(Choice(trials.back()), "tpe");
}

// Once a trial is pruned, auto hands over to TPE (which learns from pruned trials; GP-BO does not).
TEST(AutoSamplerTest, PrunedTrialsHandOverToTpe) {
  int calls = 0;
  auto pruned_third = [&calls](Trial& t) -> Result<std::vector<double>> {
    DIAL_ASSIGN_OR_RETURN(double x, t.SuggestFloat("x", -2.0, 2.0));
    if (++calls == 3) return TrialPruned("pruned by the test");
    return std::vector<double>{x * x};
  };
  std::vector<FrozenTrial> trials = RunStudy("auto", Json::object(), 5, 3, pruned_third);
  ASSERT_EQ(trials.size(), 5u);
  EXPECT_EQ(trials[2].state, TrialState::kPruned);
  EXPECT_EQ(Choice(trials[2]), "gp");
  EXPECT_EQ(Choice(trials[3]), "tpe");
  EXPECT_EQ(Choice(trials[4]), "tpe");
}

TEST(AutoSamplerTest, ManyTrialsHandOverToTpeAndTheChoiceIsRecordedInTheStudy) {
  StudyOptions o;
  o.sampler = "auto";
  o.sampler_options = {{"max_gp_trials", 12}};
  o.seed = 1;
  auto study = testing_util::NewStudy(testing_util::NewMemoryStorage(), o);
  ASSERT_TRUE(study->Optimize(&TwoFloats, testing_util::NTrials(16)).ok());
  auto trials = study->GetTrials();
  ASSERT_TRUE(trials.ok());
  EXPECT_EQ(Choice((*trials)[12]), "gp");
  EXPECT_EQ(Choice((*trials)[13]), "tpe");
  auto attrs = study->storage().GetStudySystemAttrs(study->id());
  ASSERT_TRUE(attrs.ok());
  const Json& choice = attrs->at("dial:auto:choice");
  EXPECT_EQ(choice.at("sampler"), "tpe");
  EXPECT_EQ(choice.at("from_trial"), 13);
  EXPECT_NE(choice.at("reason").get<std::string>().find("completed trials"), std::string::npos);
}

TEST(AutoSamplerTest, SeveralObjectivesUseTpeAndConstraintsNsga2) {
  auto two = [](Trial& t) -> Result<std::vector<double>> {
    DIAL_ASSIGN_OR_RETURN(double x, t.SuggestFloat("x", 0.0, 1.0));
    return std::vector<double>{x, 1 - x};
  };
  std::vector<FrozenTrial> trials = RunStudy("auto", Json::object(), 5, 3, two, 2);
  EXPECT_EQ(Choice(trials.back()), "tpe");
  auto constrained = [](Trial& t) -> Result<std::vector<double>> {
    DIAL_ASSIGN_OR_RETURN(double x, t.SuggestFloat("x", 0.0, 1.0));
    DIAL_RETURN_IF_ERROR(t.SetSystemAttr("constraints", Json::array({x - 0.5})));
    return std::vector<double>{x, 1 - x};
  };
  trials = RunStudy("auto", Json::object(), 5, 3, constrained, 2);
  EXPECT_EQ(Choice(trials.back()), "nsga2");
}

TEST(AutoSamplerTest, BadOptionsAreRefused) {
  auto s = CreateSampler("auto", {{"max_gp_trials", -1}}, 0);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("max_gp_trials"), std::string::npos);
  s = CreateSampler("auto", {{"budget", 3}}, 0);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("unknown option 'budget'"), std::string::npos);
}

}  // namespace
}  // namespace dial
