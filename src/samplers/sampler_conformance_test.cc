// The sampler conformance suite: contracts every registered sampler keeps, whatever its model. Values inside
// their distributions (steps, log scales, categorical choices), determinism for a seed, conditional spaces,
// enqueued trials honoured, failed/pruned/infinite results in the history, two objectives, a search space that
// changes, and several workers (Study objects) interleaving on one study with trials still running.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "dial/sampler.h"
#include "dial/study.h"
#include "samplers/test_util.h"

namespace dial {
namespace {

struct SamplerCase {
  std::string label;  // gtest-safe name
  std::string sampler;
  Json options;
};

std::string CaseName(const ::testing::TestParamInfo<SamplerCase>& info) { return info.param.label; }

// Enough trials that every model-based sampler leaves its start-up phase.
constexpr int kTrials = 36;

class SamplerConformanceTest : public ::testing::TestWithParam<SamplerCase> {
 protected:
  StudyOptions Options(const std::string& name, uint64_t seed = 7, int n_objectives = 1) {
    StudyOptions o;
    o.study_name = name;
    o.sampler = GetParam().sampler;
    o.sampler_options = GetParam().options;
    o.seed = seed;
    o.directions.assign(n_objectives, StudyDirection::kMinimize);
    o.load_if_exists = true;
    return o;
  }
};

// Every kind of distribution, with a value that depends on all of them so a model has something to learn.
Result<std::vector<double>> MixedObjective(Trial& t) {
  SuggestFloatOptions log;
  log.log = true;
  SuggestFloatOptions stepped;
  stepped.step = 0.25;
  SuggestIntOptions int_step;
  int_step.step = 3;
  SuggestIntOptions int_log;
  int_log.log = true;
  DIAL_ASSIGN_OR_RETURN(double x, t.SuggestFloat("x", -3.0, 2.0));
  DIAL_ASSIGN_OR_RETURN(double lr, t.SuggestFloat("lr", 1e-5, 1e-1, log));
  DIAL_ASSIGN_OR_RETURN(double dropout, t.SuggestFloat("dropout", 0.0, 0.5, stepped));
  DIAL_ASSIGN_OR_RETURN(int64_t layers, t.SuggestInt("layers", 1, 12));
  DIAL_ASSIGN_OR_RETURN(int64_t n_mels, t.SuggestInt("n_mels", 40, 127, int_step));
  DIAL_ASSIGN_OR_RETURN(int64_t batch, t.SuggestInt("batch", 1, 512, int_log));
  DIAL_ASSIGN_OR_RETURN(ParamValue model, t.SuggestCategorical("model", {ParamValue{"lstm"}, ParamValue{"conformer"},
                                                                         ParamValue{int64_t{3}}, ParamValue{}}));
  double v = x * x + std::pow(std::log10(lr) + 3, 2) + dropout + std::abs(layers - 6) * 0.1 +
             std::abs(n_mels - 79) * 0.01 + std::abs(std::log2(static_cast<double>(batch)) - 5) * 0.1;
  if (const auto* s = std::get_if<std::string>(&model)) v += *s == "conformer" ? 0.0 : 0.5;
  return std::vector<double>{v};
}

void ExpectAllInside(const std::vector<FrozenTrial>& trials) {
  for (const FrozenTrial& t : trials) {
    for (const auto& [name, value] : t.params) {
      EXPECT_TRUE(Contains(t.distributions.at(name), value))
          << "trial " << t.number << " parameter " << name << " = " << value << " outside "
          << DistributionToString(t.distributions.at(name));
    }
  }
}

std::vector<std::map<std::string, double>> ParamsOf(Study& study) {
  auto trials = study.GetTrials();
  EXPECT_TRUE(trials.ok()) << trials.status().ToString();
  std::vector<std::map<std::string, double>> out;
  for (const FrozenTrial& t : *trials) out.push_back(t.params);
  return out;
}

TEST_P(SamplerConformanceTest, ValuesStayInsideTheirDistributions) {
  auto study = testing_util::NewStudy(testing_util::NewMemoryStorage(), Options("mixed"));
  ASSERT_EQ(study->sampler().Name(), GetParam().sampler);
  ASSERT_TRUE(study->Optimize(&MixedObjective, testing_util::NTrials(kTrials)).ok());
  auto trials = study->GetTrials();
  ASSERT_TRUE(trials.ok());
  ASSERT_EQ(trials->size(), static_cast<size_t>(kTrials));
  for (const FrozenTrial& t : *trials) {
    EXPECT_EQ(t.state, TrialState::kComplete)
        << "trial " << t.number << ": "
        << (t.system_attrs.count(std::string(kFailReasonAttr)) ? t.system_attrs.at(std::string(kFailReasonAttr)).dump()
                                                               : "");
    EXPECT_EQ(t.params.size(), 7u) << "trial " << t.number;
  }
  ExpectAllInside(*trials);
}

TEST_P(SamplerConformanceTest, SameSeedSameTrialsOtherSeedOtherTrials) {
  auto a = testing_util::NewStudy(testing_util::NewMemoryStorage(), Options("a", 11));
  auto b = testing_util::NewStudy(testing_util::NewMemoryStorage(), Options("b", 11));
  auto c = testing_util::NewStudy(testing_util::NewMemoryStorage(), Options("c", 12));
  for (Study* s : {a.get(), b.get(), c.get()}) {
    ASSERT_TRUE(s->Optimize(&MixedObjective, testing_util::NTrials(kTrials)).ok());
  }
  EXPECT_EQ(ParamsOf(*a), ParamsOf(*b));
  EXPECT_NE(ParamsOf(*a), ParamsOf(*c));
}

// `momentum` exists only when optimizer is sgd; `beta2` only for adam. A sampler must neither invent a parameter
// the objective did not ask for nor fail on trials that lack one.
TEST_P(SamplerConformanceTest, ConditionalSpacesAreRespected) {
  auto study = testing_util::NewStudy(testing_util::NewMemoryStorage(), Options("conditional"));
  auto objective = [](Trial& t) -> Result<std::vector<double>> {
    DIAL_ASSIGN_OR_RETURN(ParamValue opt, t.SuggestCategorical("optimizer", {ParamValue{"sgd"}, ParamValue{"adam"}}));
    DIAL_ASSIGN_OR_RETURN(double lr, t.SuggestFloat("lr", 1e-4, 1.0, testing_util::LogScale()));
    double v = std::pow(std::log10(lr) + 2, 2);
    if (std::get<std::string>(opt) == "sgd") {
      DIAL_ASSIGN_OR_RETURN(double momentum, t.SuggestFloat("momentum", 0.0, 0.99));
      v += (momentum - 0.9) * (momentum - 0.9);
    } else {
      DIAL_ASSIGN_OR_RETURN(double beta2, t.SuggestFloat("beta2", 0.9, 0.9999));
      v += 0.1 + (0.999 - beta2);
    }
    return std::vector<double>{v};
  };
  ASSERT_TRUE(study->Optimize(objective, testing_util::NTrials(kTrials)).ok());
  auto trials = study->GetTrials();
  ASSERT_TRUE(trials.ok());
  std::set<std::string> optimizers;
  for (const FrozenTrial& t : *trials) {
    ASSERT_EQ(t.state, TrialState::kComplete) << "trial " << t.number;
    const std::string opt = std::get<std::string>(*t.Param("optimizer"));
    optimizers.insert(opt);
    EXPECT_EQ(t.params.count("momentum"), opt == "sgd" ? 1u : 0u) << "trial " << t.number;
    EXPECT_EQ(t.params.count("beta2"), opt == "adam" ? 1u : 0u) << "trial " << t.number;
  }
  ExpectAllInside(*trials);
}

TEST_P(SamplerConformanceTest, EnqueuedTrialsAreHonoured) {
  auto study = testing_util::NewStudy(testing_util::NewMemoryStorage(), Options("enqueue"));
  ASSERT_TRUE(study->Optimize(&MixedObjective, testing_util::NTrials(20)).ok());
  const std::map<std::string, ParamValue> fixed = {{"x", 1.5}, {"layers", int64_t{4}}, {"model", ParamValue{}}};
  ASSERT_TRUE(study->EnqueueTrial(fixed).ok());
  ASSERT_TRUE(study->Optimize(&MixedObjective, testing_util::NTrials(2)).ok());
  auto trials = study->GetTrials();
  ASSERT_TRUE(trials.ok());
  const FrozenTrial& t = (*trials)[20];
  ASSERT_EQ(t.state, TrialState::kComplete);
  for (const auto& [name, value] : fixed) {
    EXPECT_TRUE(ParamValueEquals(*t.Param(name), value)) << name << " = " << ParamValueToString(*t.Param(name));
  }
  ExpectAllInside(*trials);
}

// Failures, prunes (with and without a value) and infinite values in the history must not break the model.
TEST_P(SamplerConformanceTest, FailedPrunedAndInfiniteTrialsInTheHistory) {
  auto study = testing_util::NewStudy(testing_util::NewMemoryStorage(), Options("messy"));
  auto objective = [](Trial& t) -> Result<std::vector<double>> {
    DIAL_ASSIGN_OR_RETURN(double x, t.SuggestFloat("x", -5.0, 5.0));
    DIAL_ASSIGN_OR_RETURN(int64_t k, t.SuggestInt("k", 0, 4));
    if (t.number() % 5 == 3) return Internal("diverged");
    if (t.number() % 7 == 2) {
      DIAL_RETURN_IF_ERROR(t.Report(0, x * x));
      return TrialPruned();
    }
    if (t.number() % 7 == 4) return TrialPruned();  // pruned before reporting: no value
    if (t.number() % 11 == 6) return std::vector<double>{INFINITY};
    return std::vector<double>{x * x + static_cast<double>(k)};
  };
  ASSERT_TRUE(study->Optimize(objective, testing_util::NTrials(kTrials)).ok());
  auto trials = study->GetTrials();
  ASSERT_TRUE(trials.ok());
  ASSERT_EQ(trials->size(), static_cast<size_t>(kTrials));
  for (const FrozenTrial& t : *trials) EXPECT_EQ(t.params.size(), 2u) << "trial " << t.number;
  ExpectAllInside(*trials);
}

TEST_P(SamplerConformanceTest, MaximiseAndTwoObjectives) {
  StudyOptions max = Options("max");
  max.directions = {StudyDirection::kMaximize};
  auto study = testing_util::NewStudy(testing_util::NewMemoryStorage(), max);
  auto neg = [](Trial& t) -> Result<std::vector<double>> {
    auto v = MixedObjective(t);
    if (!v.ok()) return v.status();
    return std::vector<double>{-(*v)[0]};
  };
  ASSERT_TRUE(study->Optimize(neg, testing_util::NTrials(kTrials)).ok());
  ExpectAllInside(*study->GetTrials());

  auto mo = testing_util::NewStudy(testing_util::NewMemoryStorage(), Options("mo", 7, 2));
  mo->directions();
  auto two = [](Trial& t) -> Result<std::vector<double>> {
    DIAL_ASSIGN_OR_RETURN(double x, t.SuggestFloat("x", 0.0, 1.0));
    DIAL_ASSIGN_OR_RETURN(int64_t layers, t.SuggestInt("layers", 1, 8));
    DIAL_ASSIGN_OR_RETURN(ParamValue m, t.SuggestCategorical("model", {ParamValue{"a"}, ParamValue{"b"}}));
    return std::vector<double>{x + 0.1 * static_cast<double>(layers), (1 - x) * (1 - x)};
  };
  ASSERT_TRUE(mo->Optimize(two, testing_util::NTrials(kTrials)).ok());
  auto trials = mo->GetTrials();
  ASSERT_TRUE(trials.ok());
  for (const FrozenTrial& t : *trials) EXPECT_EQ(t.state, TrialState::kComplete) << "trial " << t.number;
  ExpectAllInside(*trials);
}

// A range that changes between trials (someone widened it) and a parameter that appears late.
TEST_P(SamplerConformanceTest, ChangingSearchSpace) {
  auto study = testing_util::NewStudy(testing_util::NewMemoryStorage(), Options("changing"));
  auto objective = [](Trial& t) -> Result<std::vector<double>> {
    const bool late = t.number() >= 15;
    DIAL_ASSIGN_OR_RETURN(double x, t.SuggestFloat("x", -1.0, late ? 4.0 : 1.0));
    double v = (x - 0.5) * (x - 0.5);
    if (late) {
      DIAL_ASSIGN_OR_RETURN(int64_t n, t.SuggestInt("n", 1, 5));
      v += static_cast<double>(n);
    }
    return std::vector<double>{v};
  };
  ASSERT_TRUE(study->Optimize(objective, testing_util::NTrials(kTrials)).ok());
  auto trials = study->GetTrials();
  ASSERT_TRUE(trials.ok());
  for (const FrozenTrial& t : *trials) EXPECT_EQ(t.state, TrialState::kComplete) << "trial " << t.number;
  ExpectAllInside(*trials);
}

// The widest int ranges a parameter may have (±2^53: a double holds every integer up to there, docs/study-file.md),
// plain, stepped and log: every value stays inside its range and on its grid, and the values spread over the range
// rather than sticking to one end (the overflow of a width computed as high − low).
TEST_P(SamplerConformanceTest, WidestIntRangesAreSampledInsideAndAcross) {
  constexpr int64_t kMax = kMaxIntParamMagnitude;
  constexpr int64_t kStep = int64_t{1} << 20;
  auto study = testing_util::NewStudy(testing_util::NewMemoryStorage(), Options("wide"));
  auto objective = [](Trial& t) -> Result<std::vector<double>> {
    SuggestIntOptions stepped;
    stepped.step = kStep;
    SuggestIntOptions log;
    log.log = true;
    DIAL_ASSIGN_OR_RETURN(int64_t a, t.SuggestInt("a", -kMax, kMax));
    DIAL_ASSIGN_OR_RETURN(int64_t b, t.SuggestInt("b", 0, kMax));
    DIAL_ASSIGN_OR_RETURN(int64_t c, t.SuggestInt("c", -kMax, kMax, stepped));
    DIAL_ASSIGN_OR_RETURN(int64_t d, t.SuggestInt("d", 1, kMax, log));
    // Best away from every end, so that a model converging does not land on one.
    const double scale = static_cast<double>(kMax);
    return std::vector<double>{
        std::abs(static_cast<double>(a) / scale - 0.3) + std::abs(static_cast<double>(b) / scale - 0.6) +
        std::abs(static_cast<double>(c) / scale + 0.2) + std::abs(std::log2(static_cast<double>(d)) - 30.0) / 53.0};
  };
  ASSERT_TRUE(study->Optimize(objective, testing_util::NTrials(kTrials)).ok());
  auto trials = study->GetTrials();
  ASSERT_TRUE(trials.ok());
  ASSERT_EQ(trials->size(), static_cast<size_t>(kTrials));
  std::map<std::string, std::set<double>> seen;
  std::map<std::string, int> at_an_end;
  for (const FrozenTrial& t : *trials) {
    ASSERT_EQ(t.state, TrialState::kComplete)
        << "trial " << t.number << ": "
        << (t.system_attrs.count(std::string(kFailReasonAttr)) ? t.system_attrs.at(std::string(kFailReasonAttr)).dump()
                                                               : "");
    for (const auto& [name, value] : t.params) {
      const auto& dist = std::get<IntDistribution>(t.distributions.at(name));
      const int64_t v = std::get<int64_t>(*t.Param(name));
      EXPECT_EQ(static_cast<double>(v), value) << name << " of trial " << t.number;
      EXPECT_TRUE(v >= dist.low && v <= dist.high && (v - dist.low) % dist.step == 0)
          << name << " = " << v << " of trial " << t.number << " outside " << DistributionToString(dist);
      seen[name].insert(value);
      if (v == dist.low || v == dist.high) ++at_an_end[name];
    }
  }
  for (const char* name : {"a", "b", "c", "d"}) {
    EXPECT_GE(seen[name].size(), 4u) << name << ": the sampler keeps proposing the same few values";
    EXPECT_LT(at_an_end[name], kTrials / 2) << name << ": most values sit at an end of the range";
  }
  ExpectAllInside(*trials);
}

// Two workers (Study objects) on one storage, each asking before the other tells: the sampler sees RUNNING trials
// of the other worker. Every trial completes, inside its space, and the workers do not propose the same point.
TEST_P(SamplerConformanceTest, SeveralWorkersOnOneStudy) {
  auto storage = testing_util::NewMemoryStorage();
  auto w1 = testing_util::NewStudy(storage, Options("shared"));
  auto w2 = testing_util::NewStudy(storage, Options("shared"));
  auto value = [](const Trial& t) {
    double v = 0;
    for (const auto& [name, x] : t.frozen().params) v += (x - 0.3) * (x - 0.3);
    return v;
  };
  for (int round = 0; round < kTrials / 2; ++round) {
    auto t1 = w1->Ask();
    ASSERT_TRUE(t1.ok()) << t1.status().ToString();
    ASSERT_TRUE((*t1)->SuggestFloat("x", 0.0, 1.0).ok());
    ASSERT_TRUE((*t1)->SuggestFloat("y", 0.0, 1.0).ok());
    auto t2 = w2->Ask();
    ASSERT_TRUE(t2.ok()) << t2.status().ToString();
    ASSERT_TRUE((*t2)->SuggestFloat("x", 0.0, 1.0).ok());
    ASSERT_TRUE((*t2)->SuggestFloat("y", 0.0, 1.0).ok());
    EXPECT_NE((*t1)->frozen().params, (*t2)->frozen().params) << "round " << round;
    ASSERT_TRUE(w2->Tell(**t2, TrialState::kComplete, {value(**t2)}).ok());
    ASSERT_TRUE(w1->Tell(**t1, TrialState::kComplete, {value(**t1)}).ok());
  }
  auto trials = w1->GetTrials();
  ASSERT_TRUE(trials.ok());
  ASSERT_EQ(trials->size(), static_cast<size_t>(kTrials / 2 * 2));
  for (const FrozenTrial& t : *trials) EXPECT_EQ(t.state, TrialState::kComplete);
  ExpectAllInside(*trials);
}

INSTANTIATE_TEST_SUITE_P(
    Samplers, SamplerConformanceTest,
    ::testing::Values(
        SamplerCase{"random", "random", Json::object()}, SamplerCase{"tpe", "tpe", Json::object()},
        SamplerCase{"tpe_multivariate", "tpe", Json{{"multivariate", true}, {"group", true}}},
        SamplerCase{"gp", "gp", Json::object()}, SamplerCase{"cmaes", "cmaes", Json::object()},
        SamplerCase{"qmc_sobol", "qmc", Json{{"qmc_type", "sobol"}}},
        SamplerCase{"qmc_halton", "qmc", Json{{"qmc_type", "halton"}}},
        SamplerCase{"nsga2", "nsga2", Json{{"population_size", 10}}},
        SamplerCase{"staged", "staged",
                    Json{{"stages", Json::array({Json{{"name", "random"}, {"n_trials", 8}}, Json{{"name", "tpe"}}})}}},
        SamplerCase{"auto", "auto", Json::object()}),
    CaseName);

}  // namespace
}  // namespace dial
