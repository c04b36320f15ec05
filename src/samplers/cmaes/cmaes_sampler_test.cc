#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "dial/samplers/cmaes.h"
#include "dial/study.h"
#include "samplers/test_util.h"

namespace dial {
namespace {

StudyOptions CmaOptions(const Json& sampler_options, uint64_t seed = 5, const std::string& name = "cma") {
  StudyOptions o;
  o.study_name = name;
  o.sampler = "cmaes";
  o.sampler_options = sampler_options;
  o.seed = seed;
  o.load_if_exists = true;
  return o;
}

// f(x) = Σ (x_i − c_i)² on [−5, 5]^d with the optimum off-centre (c_i = 1.234 · (−1)^i · (i mod 3) / 2).
double OptimumCoordinate(int i) { return 1.234 * ((i % 2) ? -1.0 : 1.0) * (i % 3) / 2.0; }

ObjectiveFunction Sphere(int dims) {
  return [dims](Trial& t) -> Result<std::vector<double>> {
    double f = 0;
    for (int i = 0; i < dims; ++i) {
      DIAL_ASSIGN_OR_RETURN(double x, t.SuggestFloat("x" + std::to_string(i), -5.0, 5.0));
      f += (x - OptimumCoordinate(i)) * (x - OptimumCoordinate(i));
    }
    return std::vector<double>{f};
  };
}

double BestValue(Study& study) {
  auto best = study.BestTrial();
  EXPECT_TRUE(best.ok()) << best.status().ToString();
  return best.ok() ? best->values[0] : INFINITY;
}

std::map<std::string, Json> StudyAttrs(Study& study) {
  auto attrs = study.storage().GetStudySystemAttrs(study.id());
  EXPECT_TRUE(attrs.ok());
  return attrs.ok() ? *attrs : AttrMap{};
}

// Regret 1e-6 on this 10-d sphere takes 1,040–1,280 evaluations (seeds 1–5, measured); the `cmaes` package with
// the same σ0 is at 3e-6–1e-5 after 1,000. 1,300 leaves room.
TEST(CmaesSamplerTest, ConvergesOnTheTenDimensionalSphere) {
  for (uint64_t seed : {1u, 2u}) {
    auto study = testing_util::NewStudy(testing_util::NewMemoryStorage(), CmaOptions(Json::object(), seed));
    ASSERT_TRUE(study->Optimize(Sphere(10), testing_util::NTrials(1300)).ok());
    EXPECT_LT(BestValue(*study), 1e-6) << "seed " << seed;
  }
}

// Trials carry their generation; each generation's members are fixed in the study, λ = 4 + ⌊3 ln d⌋ of them.
TEST(CmaesSamplerTest, GenerationsAreRecordedInStorage) {
  auto study = testing_util::NewStudy(testing_util::NewMemoryStorage(), CmaOptions(Json::object()));
  ASSERT_TRUE(study->Optimize(Sphere(3), testing_util::NTrials(50)).ok());
  auto trials = study->GetTrials();
  ASSERT_TRUE(trials.ok());
  EXPECT_FALSE((*trials)[0].system_attrs.count("dial:cma:generation"));  // the first trial is random
  std::map<int64_t, int> per_generation;
  for (size_t i = 1; i < trials->size(); ++i) {
    const FrozenTrial& t = (*trials)[i];
    ASSERT_TRUE(t.system_attrs.count("dial:cma:generation")) << "trial " << t.number;
    EXPECT_EQ(t.system_attrs.at("dial:cma:popsize"), 7);
    ++per_generation[t.system_attrs.at("dial:cma:generation").get<int64_t>()];
  }
  // One worker: generation g holds trials 1 + 7g … 7 + 7g, so trials 1–49 fill generations 0–6.
  EXPECT_EQ(per_generation.size(), 7u);
  for (const auto& [g, count] : per_generation) EXPECT_EQ(count, 7) << "generation " << g;
  int members = 0;
  for (const auto& [key, value] : StudyAttrs(*study)) {
    if (key.rfind("dial:cma:", 0) != 0) continue;
    ASSERT_TRUE(value.is_array());
    EXPECT_EQ(value.size(), 7u) << key;
    ++members;
  }
  EXPECT_EQ(members, 6);  // generations 0–5 told when trials 8, 15, …, 43 were sampled; 6 awaits trial 50
}

// A fresh sampler (another worker, a restarted process) continues the run from storage exactly as the first
// would have: the state is replayed, not kept.
TEST(CmaesSamplerTest, AnotherWorkerContinuesTheSameRun) {
  auto one = testing_util::NewStudy(testing_util::NewMemoryStorage(), CmaOptions(Json::object(), 9));
  ASSERT_TRUE(one->Optimize(Sphere(4), testing_util::NTrials(120)).ok());

  auto storage = testing_util::NewMemoryStorage();
  {
    auto first = testing_util::NewStudy(storage, CmaOptions(Json::object(), 9));
    ASSERT_TRUE(first->Optimize(Sphere(4), testing_util::NTrials(53)).ok());
  }
  auto second = testing_util::NewStudy(storage, CmaOptions(Json::object(), 9));
  ASSERT_TRUE(second->Optimize(Sphere(4), testing_util::NTrials(67)).ok());

  auto a = one->GetTrials();
  auto b = second->GetTrials();
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->size(), b->size());
  for (size_t i = 0; i < a->size(); ++i) EXPECT_EQ((*a)[i].params, (*b)[i].params) << "trial " << i;
}

// Two workers interleaving asks and tells: every generation is told exactly λ distinct trials, no point is
// proposed twice, and the run still converges.
TEST(CmaesSamplerTest, TwoInterleavedWorkersShareOneRun) {
  auto storage = testing_util::NewMemoryStorage();
  auto w1 = testing_util::NewStudy(storage, CmaOptions(Json::object()));
  auto w2 = testing_util::NewStudy(storage, CmaOptions(Json::object()));
  const ObjectiveFunction f = Sphere(4);
  std::unique_ptr<Trial> pending;  // w1's trial, told one round late
  for (int round = 0; round < 200; ++round) {
    auto t2 = w2->Ask();
    ASSERT_TRUE(t2.ok());
    auto v2 = f(**t2);
    ASSERT_TRUE(v2.ok());
    auto t1 = w1->Ask();
    ASSERT_TRUE(t1.ok());
    auto v1 = f(**t1);
    ASSERT_TRUE(v1.ok());
    ASSERT_TRUE(w2->Tell(**t2, TrialState::kComplete, *v2).ok());
    if (pending) {
      auto v = f(*pending);
      ASSERT_TRUE(v.ok());
      ASSERT_TRUE(w1->Tell(*pending, TrialState::kComplete, *v).ok());
    }
    pending = std::move(*t1);
  }
  auto trials = w1->GetTrials();
  ASSERT_TRUE(trials.ok());
  std::set<std::map<std::string, double>> seen;
  for (const FrozenTrial& t : *trials) seen.insert(t.params);
  EXPECT_EQ(seen.size(), trials->size());
  std::set<int64_t> told;
  for (const auto& [key, value] : StudyAttrs(*w1)) {
    if (key.rfind("dial:cma:", 0) != 0) continue;
    for (const Json& n : value) EXPECT_TRUE(told.insert(n.get<int64_t>()).second) << "trial " << n << " told twice";
  }
  EXPECT_GT(told.size(), 300u);
  EXPECT_LT(BestValue(*w1), 1e-4);
}

// A flat objective stalls the run (TolFun after 10 + ⌈30n/λ⌉ generations): IPOP restarts it with twice the
// population, BIPOP with a small or a large one.
TEST(CmaesSamplerTest, StalledRunRestarts) {
  auto flat = [](Trial& t) -> Result<std::vector<double>> {
    DIAL_RETURN_IF_ERROR(t.SuggestFloat("x", 0.0, 1.0).status());
    DIAL_RETURN_IF_ERROR(t.SuggestFloat("y", 0.0, 1.0).status());
    return std::vector<double>{1.0};
  };
  for (const std::string strategy : {"ipop", "bipop", "none"}) {
    auto study = testing_util::NewStudy(testing_util::NewMemoryStorage(),
                                        CmaOptions({{"restart_strategy", strategy}}, 5, strategy));
    // λ = 4 + ⌊3 ln 2⌋ = 6; 20 generations to stall, plus the random first trial.
    ASSERT_TRUE(study->Optimize(flat, testing_util::NTrials(1 + 6 * 20 + 30)).ok());
    auto trials = study->GetTrials();
    ASSERT_TRUE(trials.ok());
    const FrozenTrial& before = (*trials)[6 * 20];
    const FrozenTrial& after = trials->back();
    EXPECT_EQ(before.system_attrs.at("dial:cma:restart"), 0) << strategy;
    EXPECT_EQ(before.system_attrs.at("dial:cma:popsize"), 6) << strategy;
    if (strategy == "none") {
      EXPECT_EQ(after.system_attrs.at("dial:cma:restart"), 0);
      continue;
    }
    EXPECT_EQ(after.system_attrs.at("dial:cma:restart"), 1) << strategy;
    if (strategy == "ipop") {
      EXPECT_EQ(after.system_attrs.at("dial:cma:popsize"), 12);
    }
  }
}

// Workers with different seeds (a study file without one) restart into the same run: the restart draws use the
// seed the first worker stored in the study, so no worker meets a generation fixed under another population size.
TEST(CmaesSamplerTest, WorkersWithDifferentSeedsShareRestarts) {
  auto flat = [](Trial& t) -> Result<std::vector<double>> {
    DIAL_RETURN_IF_ERROR(t.SuggestFloat("x", 0.0, 1.0).status());
    DIAL_RETURN_IF_ERROR(t.SuggestFloat("y", 0.0, 1.0).status());
    return std::vector<double>{1.0};
  };
  auto storage = testing_util::NewMemoryStorage();
  const Json bipop = {{"restart_strategy", "bipop"}};
  auto w1 = testing_util::NewStudy(storage, CmaOptions(bipop, 11, "shared"));
  auto w2 = testing_util::NewStudy(storage, CmaOptions(bipop, 22, "shared"));
  // Enough trials for several restarts, alternating the workers one trial at a time.
  for (int i = 0; i < 400; ++i) {
    Study& w = i % 2 == 0 ? *w1 : *w2;
    ASSERT_TRUE(w.Optimize(flat, testing_util::NTrials(1)).ok()) << "trial " << i;
  }
  // The worker that sampled the first relative trial (w2: trial 0 is random) stored its seed.
  EXPECT_EQ(StudyAttrs(*w1).at("dial:cmaes:restart_seed"), 22u);
  auto trials = w1->GetTrials();
  ASSERT_TRUE(trials.ok());
  for (const FrozenTrial& t : *trials) EXPECT_EQ(t.state, TrialState::kComplete) << "trial " << t.number;
  EXPECT_GE(trials->back().system_attrs.at("dial:cma:restart").get<int>(), 2);
}

// Ints and stepped floats stay on their grids, and CMA-ES finds the optimum of an integer quadratic.
TEST(CmaesSamplerTest, IntegersStayOnTheirGrid) {
  auto objective = [](Trial& t) -> Result<std::vector<double>> {
    double f = 0;
    for (int i = 0; i < 3; ++i) {
      DIAL_ASSIGN_OR_RETURN(int64_t n, t.SuggestInt("n" + std::to_string(i), 0, 20));
      f += std::pow(static_cast<double>(n) - 7 - i, 2);
    }
    SuggestFloatOptions step;
    step.step = 0.5;
    DIAL_ASSIGN_OR_RETURN(double s, t.SuggestFloat("s", -2.0, 3.0, step));
    return std::vector<double>{f + (s - 1.5) * (s - 1.5)};
  };
  auto study = testing_util::NewStudy(testing_util::NewMemoryStorage(), CmaOptions(Json::object()));
  ASSERT_TRUE(study->Optimize(objective, testing_util::NTrials(200)).ok());
  auto trials = study->GetTrials();
  ASSERT_TRUE(trials.ok());
  for (const FrozenTrial& t : *trials) {
    for (const auto& [name, value] : t.params) {
      EXPECT_TRUE(Contains(t.distributions.at(name), value)) << "trial " << t.number << " " << name << " = " << value;
    }
  }
  EXPECT_EQ(BestValue(*study), 0.0);
}

TEST(CmaesSamplerTest, MaximisesToo) {
  StudyOptions options = CmaOptions(Json::object());
  options.directions = {StudyDirection::kMaximize};
  auto study = testing_util::NewStudy(testing_util::NewMemoryStorage(), options);
  const ObjectiveFunction sphere = Sphere(3);
  auto negated = [&](Trial& t) -> Result<std::vector<double>> {
    DIAL_ASSIGN_OR_RETURN(std::vector<double> v, sphere(t));
    return std::vector<double>{-v[0]};
  };
  ASSERT_TRUE(study->Optimize(negated, testing_util::NTrials(300)).ok());
  EXPECT_GT(BestValue(*study), -1e-6);
}

TEST(CmaesSamplerTest, BadOptionsNameTheOption) {
  for (const auto& [options, name] :
       std::vector<std::pair<Json, std::string>>{{{{"sigma0", 0.0}}, "sigma0"},
                                                 {{{"sigma0", "big"}}, "sigma0"},
                                                 {{{"popsize", 1}}, "popsize"},
                                                 {{{"restart_strategy", "lpop"}}, "restart_strategy"},
                                                 {{{"inc_popsize", 0}}, "inc_popsize"},
                                                 {{{"n_startup_trials", -1}}, "n_startup_trials"},
                                                 {{{"with_margin", true}}, "with_margin"}}) {
    auto sampler = CreateSampler("cmaes", options, 0);
    ASSERT_FALSE(sampler.ok()) << options.dump();
    EXPECT_EQ(sampler.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(sampler.status().message().find(name), std::string::npos) << sampler.status().message();
  }
  EXPECT_TRUE(CreateSampler("cmaes", {{"restart_strategy", nullptr}, {"popsize", 8}, {"sigma0", 0.3}}, 0).ok());
}

}  // namespace
}  // namespace dial
