// Tests of the grid sampler: every combination exactly once (also with several workers on one storage),
// exhaustion, a seed-shuffled order, and the errors for parameters or values outside the grid.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "dial/sampler.h"
#include "dial/study.h"
#include "samplers/test_util.h"

namespace dial {
namespace {

const Json kLrOptGrid = {{"search_space", {{"lr", {0.1, 0.01, 0.001}}, {"opt", {"adam", "sgd"}}}}};

StudyOptions GridStudy(const std::string& name, const Json& options, uint64_t seed = 0) {
  StudyOptions o;
  o.study_name = name;
  o.sampler = "grid";
  o.sampler_options = options;
  o.seed = seed;
  o.load_if_exists = true;
  return o;
}

// Suggests lr and opt; the objective value is irrelevant.
Result<std::vector<double>> LrOptObjective(Trial& t) {
  DIAL_ASSIGN_OR_RETURN(double lr, t.SuggestFloat("lr", 1e-4, 1.0, testing_util::LogScale()));
  DIAL_ASSIGN_OR_RETURN(ParamValue opt, t.SuggestCategorical("opt", {ParamValue{"adam"}, ParamValue{"sgd"}}));
  return std::vector<double>{lr};
}

std::string Key(const FrozenTrial& t) {
  std::string key;
  for (const auto& [name, value] : t.ExternalParams()) key += name + "=" + ParamValueToString(value) + ";";
  return key;
}

TEST(GridSamplerTest, CoversEveryCombinationOnceThenStops) {
  auto storage = testing_util::NewMemoryStorage();
  auto study = testing_util::NewStudy(storage, GridStudy("grid", kLrOptGrid));
  ASSERT_EQ(study->sampler().Name(), "grid");
  EXPECT_FALSE(study->sampler().IsExhausted(*study));
  ASSERT_TRUE(study->Optimize(&LrOptObjective, testing_util::NTrials(100)).ok());

  auto trials = study->GetTrials();
  ASSERT_TRUE(trials.ok());
  std::set<std::string> seen;
  int complete = 0;
  for (const FrozenTrial& t : *trials) {
    if (t.state != TrialState::kComplete) continue;
    ++complete;
    EXPECT_TRUE(seen.insert(Key(t)).second) << "evaluated twice: " << Key(t);
    EXPECT_TRUE(t.system_attrs.count("grid_id")) << t.number;
  }
  EXPECT_EQ(complete, 6);
  EXPECT_EQ(seen.size(), 6u);
  EXPECT_TRUE(seen.count("lr=0.001;opt=sgd;")) << *seen.begin();
  EXPECT_TRUE(study->sampler().IsExhausted(*study));

  // Asking past the end: OutOfRange, and the trial that could not be sampled is failed, not left RUNNING.
  auto extra = study->Ask();
  ASSERT_FALSE(extra.ok());
  EXPECT_EQ(extra.status().code(), StatusCode::kOutOfRange);
  auto running = study->GetTrials(std::vector<TrialState>{TrialState::kRunning});
  ASSERT_TRUE(running.ok());
  EXPECT_TRUE(running->empty());
}

TEST(GridSamplerTest, SeveralWorkersOnOneStorageNeverRepeatAPoint) {
  auto storage = testing_util::NewMemoryStorage();
  Json options = {{"search_space", {{"a", {1, 2, 3, 4, 5}}, {"b", {"x", "y", "z"}}, {"c", {true, false}}}}};
  constexpr int kWorkers = 4;
  constexpr int kPoints = 5 * 3 * 2;
  {
    auto first = testing_util::NewStudy(storage, GridStudy("shared", options));  // creates the study
  }
  std::vector<std::thread> workers;
  std::vector<Status> results(kWorkers);
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      // Each worker has its own Study (and sampler), as separate processes would; the same seed makes them
      // race for the same points.
      auto study = Study::Create(storage, GridStudy("shared", options));
      if (!study.ok()) {
        results[w] = study.status();
        return;
      }
      results[w] = (*study)->Optimize(
          [](Trial& t) -> Result<std::vector<double>> {
            DIAL_ASSIGN_OR_RETURN(int64_t a, t.SuggestInt("a", 1, 5));
            DIAL_ASSIGN_OR_RETURN(ParamValue b,
                                  t.SuggestCategorical("b", {ParamValue{"x"}, ParamValue{"y"}, ParamValue{"z"}}));
            DIAL_ASSIGN_OR_RETURN(ParamValue c, t.SuggestCategorical("c", {ParamValue{true}, ParamValue{false}}));
            std::this_thread::yield();
            return std::vector<double>{static_cast<double>(a)};
          },
          testing_util::NTrials(kPoints));
    });
  }
  for (auto& t : workers) t.join();
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s.ToString();

  auto study = testing_util::NewStudy(storage, GridStudy("shared", options));
  auto trials = study->GetTrials(std::vector<TrialState>{TrialState::kComplete});
  ASSERT_TRUE(trials.ok());
  std::set<std::string> seen;
  for (const FrozenTrial& t : *trials) EXPECT_TRUE(seen.insert(Key(t)).second) << "evaluated twice: " << Key(t);
  EXPECT_EQ(trials->size(), static_cast<size_t>(kPoints));
  EXPECT_EQ(seen.size(), static_cast<size_t>(kPoints));
  // No trial is left RUNNING; any extra is a FAIL from a worker that found the grid empty.
  auto all = study->GetTrials();
  ASSERT_TRUE(all.ok());
  for (const FrozenTrial& t : *all) EXPECT_NE(t.state, TrialState::kRunning) << t.number;
  // One claim per point in the study's attributes.
  auto attrs = storage->GetStudySystemAttrs(study->id());
  ASSERT_TRUE(attrs.ok());
  int claims = 0;
  for (const auto& [key, value] : *attrs) claims += key.rfind("dial:grid:", 0) == 0;
  EXPECT_EQ(claims, kPoints);
}

TEST(GridSamplerTest, OrderIsShuffledBySeedAndReproducible) {
  Json options = {{"search_space", {{"a", {0, 1, 2, 3, 4, 5}}, {"b", {0, 1, 2, 3}}}}};
  auto order = [&](uint64_t seed, const std::string& name) {
    auto storage = testing_util::NewMemoryStorage();
    auto study = testing_util::NewStudy(storage, GridStudy(name, options, seed));
    std::vector<std::string> keys;
    EXPECT_TRUE(study
                    ->Optimize(
                        [&](Trial& t) -> Result<std::vector<double>> {
                          DIAL_ASSIGN_OR_RETURN(int64_t a, t.SuggestInt("a", 0, 5));
                          DIAL_ASSIGN_OR_RETURN(int64_t b, t.SuggestInt("b", 0, 3));
                          keys.push_back(std::to_string(a) + "," + std::to_string(b));
                          return std::vector<double>{0.0};
                        },
                        testing_util::NTrials(24))
                    .ok());
    return keys;
  };
  const auto a = order(1, "s1");
  EXPECT_EQ(a.size(), 24u);
  EXPECT_EQ(a, order(1, "s1-again"));
  EXPECT_NE(a, order(2, "s2"));
  std::vector<std::string> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_NE(a, sorted);  // shuffled, not in index order
}

TEST(GridSamplerTest, ParameterOutsideTheGridIsNamed) {
  auto storage = testing_util::NewMemoryStorage();
  auto study = testing_util::NewStudy(storage, GridStudy("outside", kLrOptGrid));
  auto trial = study->Ask();
  ASSERT_TRUE(trial.ok()) << trial.status().ToString();
  auto v = (*trial)->SuggestFloat("momentum", 0.0, 1.0);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(v.status().message().find("momentum"), std::string::npos) << v.status().message();
}

TEST(GridSamplerTest, GridValueOutsideTheDistributionIsAnError) {
  auto storage = testing_util::NewMemoryStorage();
  auto study = testing_util::NewStudy(storage, GridStudy("badvalue", Json{{"search_space", {{"lr", {5.0}}}}}));
  auto trial = study->Ask();
  ASSERT_TRUE(trial.ok()) << trial.status().ToString();
  auto v = (*trial)->SuggestFloat("lr", 0.0, 1.0);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(v.status().message().find("lr"), std::string::npos) << v.status().message();
  EXPECT_NE(v.status().message().find("5"), std::string::npos) << v.status().message();

  auto study2 = testing_util::NewStudy(storage, GridStudy("badchoice", Json{{"search_space", {{"opt", {"adamw"}}}}}));
  auto trial2 = study2->Ask();
  ASSERT_TRUE(trial2.ok());
  auto c = (*trial2)->SuggestCategorical("opt", {ParamValue{"adam"}, ParamValue{"sgd"}});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("adamw"), std::string::npos) << c.status().message();
}

TEST(GridSamplerTest, IntGridValuesServeIntFloatAndCategoricalParameters) {
  auto storage = testing_util::NewMemoryStorage();
  auto study = testing_util::NewStudy(
      storage, GridStudy("kinds", Json{{"search_space", {{"layers", {2}}, {"dropout", {0}}, {"heads", {4}}}}}));
  auto trial = study->Ask();
  ASSERT_TRUE(trial.ok());
  auto layers = (*trial)->SuggestInt("layers", 1, 8);
  ASSERT_TRUE(layers.ok()) << layers.status().ToString();
  EXPECT_EQ(*layers, 2);
  auto dropout = (*trial)->SuggestFloat("dropout", 0.0, 0.5);
  ASSERT_TRUE(dropout.ok()) << dropout.status().ToString();
  EXPECT_EQ(*dropout, 0.0);
  auto heads = (*trial)->SuggestCategorical("heads", {ParamValue{int64_t{2}}, ParamValue{int64_t{4}}});
  ASSERT_TRUE(heads.ok()) << heads.status().ToString();
  EXPECT_TRUE(ParamValueEquals(*heads, ParamValue{int64_t{4}}));
}

TEST(GridSamplerTest, AnotherGridOnTheSameStudyIsRefused) {
  auto storage = testing_util::NewMemoryStorage();
  auto first = testing_util::NewStudy(storage, GridStudy("same", kLrOptGrid));
  ASSERT_TRUE(first->Ask().ok());
  auto second = testing_util::NewStudy(storage, GridStudy("same", Json{{"search_space", {{"lr", {0.5}}}}}));
  auto trial = second->Ask();
  ASSERT_FALSE(trial.ok());
  EXPECT_EQ(trial.status().code(), StatusCode::kFailedPrecondition);
}

TEST(GridSamplerTest, BadOptionsAreNamed) {
  struct Case {
    Json options;
    std::string mentions;
  };
  const std::vector<Case> cases = {
      {Json::object(), "search_space"},
      {Json{{"search_space", Json::object()}}, "empty"},
      {Json{{"search_space", {{"lr", Json::array()}}}}, "lr"},
      {Json{{"search_space", {{"lr", {0.1, 0.1}}}}}, "twice"},
      {Json{{"search_space", {{"lr", Json::array({Json::array({1})})}}}}, "lr"},
      {Json{{"search_space", {{"lr", 0.1}}}}, "lr"},
      {Json{{"search_space", {1, 2}}}, "search_space"},
      {Json{{"search_space", {{"lr", {0.1}}}}, {"shuffle", true}}, "shuffle"},
  };
  for (const Case& c : cases) {
    auto s = CreateSampler("grid", c.options, 0);
    ASSERT_FALSE(s.ok()) << c.options.dump();
    EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument) << c.options.dump();
    EXPECT_NE(s.status().message().find(c.mentions), std::string::npos) << s.status().message();
  }
  GridSamplerOptions huge;
  for (int i = 0; i < 8; ++i) {
    huge.search_space["p" + std::to_string(i)] = std::vector<ParamValue>(10, ParamValue{});
    for (int k = 0; k < 10; ++k) huge.search_space["p" + std::to_string(i)][k] = ParamValue{int64_t{k}};
  }
  EXPECT_EQ(huge.Validate().code(), StatusCode::kInvalidArgument);  // 10^8 combinations
}

}  // namespace
}  // namespace dial
