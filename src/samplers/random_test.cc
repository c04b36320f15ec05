// Tests of the random sampler and the sampler registry: values inside their distributions, steps and log
// scales respected, determinism for a seed, rough uniformity.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <vector>

#include "dial/sampler.h"
#include "dial/study.h"
#include "samplers/test_util.h"

namespace dial {
namespace {

constexpr int kDraws = 4000;

class RandomSamplerTest : public ::testing::Test {
 protected:
  std::shared_ptr<Storage> storage_ = testing_util::NewMemoryStorage();
  std::unique_ptr<Study> study_ = testing_util::NewStudy(storage_, {});
  FrozenTrial trial_;
  int study_counter_ = 0;

  std::vector<double> Draw(Sampler& sampler, const Distribution& dist, int n = kDraws) {
    std::vector<double> out;
    // Each draw is a new trial: the random sampler's value is a function of (seed, trial number, name).
    for (int i = 0; i < n; ++i) {
      trial_.number = i;
      auto v = sampler.SampleIndependent(*study_, trial_, "x", dist);
      EXPECT_TRUE(v.ok()) << v.status().ToString();
      if (!v.ok()) break;
      out.push_back(*v);
    }
    return out;
  }
};

// Pearson's chi-square statistic of `counts` against equal expected counts.
double ChiSquare(const std::vector<int>& counts) {
  double total = 0;
  for (int c : counts) total += c;
  const double expected = total / counts.size();
  double chi2 = 0;
  for (int c : counts) chi2 += (c - expected) * (c - expected) / expected;
  return chi2;
}
// Generous: the 0.999 quantile of chi-square with 9 degrees of freedom is 27.9, with 3 it is 16.3.
constexpr double kChiSquareBound9 = 35.0;
constexpr double kChiSquareBound3 = 22.0;

TEST_F(RandomSamplerTest, ValuesLieInsideTheirDistributions) {
  auto sampler = NewRandomSampler({.seed = 1});
  const std::vector<Distribution> dists = {
      FloatDistribution{-2.0, 3.0, std::nullopt},
      FloatDistribution{1e-5, 1e-1, std::nullopt, true},
      FloatDistribution{0.0, 1.0, 0.25},
      FloatDistribution{0.1, 0.7, 0.2},
      FloatDistribution{0.5, 0.5, std::nullopt},
      IntDistribution{1, 10},
      IntDistribution{0, 20, 5},
      IntDistribution{1, 1000, 1, true},
      IntDistribution{3, 3},
      CategoricalDistribution{{ParamValue{"adam"}, ParamValue{"sgd"}, ParamValue{int64_t{3}}, ParamValue{}}},
  };
  for (const Distribution& dist : dists) {
    ASSERT_TRUE(Validate(dist).ok()) << DistributionToString(dist);
    for (double v : Draw(*sampler, dist, 1000)) {
      ASSERT_TRUE(Contains(dist, v)) << DistributionToString(dist) << " does not contain " << v;
    }
  }
}

TEST_F(RandomSamplerTest, SteppedFloatsAndIntsStayOnTheirGridAndReachBothEnds) {
  auto sampler = NewRandomSampler({.seed = 2});
  std::set<double> seen;
  for (double v : Draw(*sampler, FloatDistribution{0.0, 1.0, 0.25}, 500)) {
    const double k = v / 0.25;
    EXPECT_NEAR(k, std::round(k), 1e-9) << v;
    seen.insert(std::round(k));
  }
  EXPECT_EQ(seen, (std::set<double>{0, 1, 2, 3, 4}));  // low and high included

  seen.clear();
  for (double v : Draw(*sampler, IntDistribution{0, 20, 5}, 500)) {
    EXPECT_EQ(v, std::round(v));
    EXPECT_EQ(static_cast<int64_t>(v) % 5, 0) << v;
    seen.insert(v);
  }
  EXPECT_EQ(seen, (std::set<double>{0, 5, 10, 15, 20}));

  seen.clear();
  for (double v : Draw(*sampler, IntDistribution{1, 8, 1, true}, 2000)) {
    EXPECT_EQ(v, std::round(v));
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 8u);  // every integer of a log range is reachable, the ends included
}

TEST_F(RandomSamplerTest, CategoricalsAreIndicesOfTheirChoicesAndUniform) {
  auto sampler = NewRandomSampler({.seed = 3});
  const Distribution dist =
      CategoricalDistribution{{ParamValue{"a"}, ParamValue{"b"}, ParamValue{"c"}, ParamValue{"d"}}};
  std::vector<int> counts(4, 0);
  for (double v : Draw(*sampler, dist)) {
    ASSERT_EQ(v, std::round(v));
    ASSERT_GE(v, 0);
    ASSERT_LT(v, 4);
    ++counts[static_cast<int>(v)];
  }
  EXPECT_LT(ChiSquare(counts), kChiSquareBound3);
}

TEST_F(RandomSamplerTest, IntsAndFloatsAreRoughlyUniform) {
  auto sampler = NewRandomSampler({.seed = 4});
  std::vector<int> ints(10, 0);
  for (double v : Draw(*sampler, IntDistribution{0, 9})) ++ints[static_cast<int>(v)];
  EXPECT_LT(ChiSquare(ints), kChiSquareBound9);

  std::vector<int> floats(10, 0);
  for (double v : Draw(*sampler, FloatDistribution{-5.0, 5.0, std::nullopt}))
    ++floats[std::min(9, static_cast<int>(v + 5.0))];
  EXPECT_LT(ChiSquare(floats), kChiSquareBound9);
}

TEST_F(RandomSamplerTest, LogFloatsAreUniformInLogSpace) {
  auto sampler = NewRandomSampler({.seed = 5});
  // log10 of a log-uniform draw on [1e-4, 1] is uniform on [−4, 0]: one decade per bin, a quarter each.
  // A linear-uniform draw would put ~90% in the last bin.
  std::vector<int> decades(4, 0);
  for (double v : Draw(*sampler, FloatDistribution{1e-4, 1.0, std::nullopt, true})) {
    ++decades[std::clamp(static_cast<int>(std::floor(std::log10(v))) + 4, 0, 3)];
  }
  EXPECT_LT(ChiSquare(decades), kChiSquareBound3);
}

TEST_F(RandomSamplerTest, LogIntsFollowOptunasWidenedLogUniform) {
  auto sampler = NewRandomSampler({.seed = 6});
  // Log-uniform on [0.5, 1000.5] rounded: P(v ≤ 10) = ln(10.5/0.5) / ln(1000.5/0.5) ≈ 0.4005.
  const double expected = std::log(10.5 / 0.5) / std::log(1000.5 / 0.5);
  int small = 0;
  const std::vector<double> draws = Draw(*sampler, IntDistribution{1, 1000, 1, true}, 10000);
  for (double v : draws) small += v <= 10;
  EXPECT_NEAR(static_cast<double>(small) / draws.size(), expected, 0.03);
}

TEST_F(RandomSamplerTest, SameSeedSameSequenceOtherSeedOtherSequence) {
  const Distribution dist = FloatDistribution{0.0, 1.0, std::nullopt};
  auto a = NewRandomSampler({.seed = 7});
  auto b = NewRandomSampler({.seed = 7});
  auto c = NewRandomSampler({.seed = 8});
  const auto da = Draw(*a, dist, 50);
  EXPECT_EQ(da, Draw(*b, dist, 50));
  EXPECT_NE(da, Draw(*c, dist, 50));
}

TEST_F(RandomSamplerTest, StudiesWithTheSameSeedProposeTheSameParams) {
  auto run = [&](uint64_t seed) {
    auto study = testing_util::NewStudy(
        storage_,
        {.study_name = "seeded-" + std::to_string(seed) + "-" + std::to_string(study_counter_++), .seed = seed});
    std::vector<std::map<std::string, ParamValue>> params;
    Status s = study->Optimize(
        [&](Trial& t) -> Result<std::vector<double>> {
          DIAL_ASSIGN_OR_RETURN(double lr, t.SuggestFloat("lr", 1e-5, 1e-1, testing_util::LogScale()));
          DIAL_ASSIGN_OR_RETURN(int64_t layers, t.SuggestInt("layers", 1, 8));
          DIAL_ASSIGN_OR_RETURN(ParamValue opt, t.SuggestCategorical("opt", {ParamValue{"adam"}, ParamValue{"sgd"}}));
          params.push_back(t.params());
          return std::vector<double>{lr * static_cast<double>(layers)};
        },
        testing_util::NTrials(10));
    EXPECT_TRUE(s.ok()) << s.ToString();
    return params;
  };
  const auto first = run(11);
  ASSERT_EQ(first.size(), 10u);
  const auto second = run(11);
  ASSERT_EQ(second.size(), 10u);
  for (size_t i = 0; i < first.size(); ++i) {
    for (const auto& [name, value] : first[i]) EXPECT_TRUE(ParamValueEquals(value, second[i].at(name))) << name;
  }
  const auto other = run(12);
  EXPECT_FALSE(ParamValueEquals(first[0].at("lr"), other[0].at("lr")));
}

TEST_F(RandomSamplerTest, ValueDependsOnlyOnSeedTrialNumberAndName) {
  const Distribution dist = FloatDistribution{0.0, 1.0, std::nullopt};
  auto sampler = NewRandomSampler({.seed = 3});
  FrozenTrial t5, t6;
  t5.number = 5;
  t6.number = 6;
  const double x5 = *sampler->SampleIndependent(*study_, t5, "x", dist);
  // Other trials and other parameters drawn in between (another worker's, a conditional sibling) change nothing.
  EXPECT_NE(*sampler->SampleIndependent(*study_, t6, "x", dist), x5);
  EXPECT_NE(*sampler->SampleIndependent(*study_, t5, "y", dist), x5);
  EXPECT_EQ(*sampler->SampleIndependent(*study_, t5, "x", dist), x5);
  auto fresh = NewRandomSampler({.seed = 3});
  EXPECT_EQ(*fresh->SampleIndependent(*study_, t5, "x", dist), x5);
}

TEST_F(RandomSamplerTest, WorkersSharingASeedDoNotRepeatEachOther) {
  // Two Study objects (two workers) on one study with one seed: their trials get different numbers, and so
  // different parameters; with a per-sampler stream they would have proposed the same sequence.
  StudyOptions opts{.study_name = "shared", .sampler = "random", .seed = 42, .load_if_exists = true};
  auto w1 = testing_util::NewStudy(storage_, opts);
  auto w2 = testing_util::NewStudy(storage_, opts);
  std::set<double> seen;
  auto objective = [&](Trial& t) -> Result<std::vector<double>> {
    DIAL_ASSIGN_OR_RETURN(double x, t.SuggestFloat("x", 0, 1));
    seen.insert(x);
    return std::vector<double>{x};
  };
  for (int round = 0; round < 10; ++round) {
    ASSERT_TRUE(w1->Optimize(objective, testing_util::NTrials(1)).ok());
    ASSERT_TRUE(w2->Optimize(objective, testing_util::NTrials(1)).ok());
  }
  EXPECT_EQ(seen.size(), 20u);
}

// ---- the registry ----

TEST(SamplerRegistryTest, BuiltinsAreRegistered) {
  const auto names = RegisteredSamplerNames();
  EXPECT_NE(std::find(names.begin(), names.end(), "random"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "grid"), names.end());
}

TEST(SamplerRegistryTest, UnknownSamplerListsTheKnownOnes) {
  auto s = CreateSampler("tpee", Json::object(), 0);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("'tpee'"), std::string::npos) << s.status().message();
  EXPECT_NE(s.status().message().find("random"), std::string::npos);
  EXPECT_NE(s.status().message().find("grid"), std::string::npos);
}

TEST(SamplerRegistryTest, BadOptionsAreNamed) {
  auto unknown = CreateSampler("random", Json{{"sed", 3}}, 0);
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("'sed'"), std::string::npos) << unknown.status().message();

  for (const Json& bad : {Json{{"seed", -1}}, Json{{"seed", "three"}}, Json{{"seed", 1.5}}}) {
    auto r = CreateSampler("random", bad, 0);
    ASSERT_FALSE(r.ok()) << bad.dump();
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("seed"), std::string::npos) << r.status().message();
  }
  auto not_object = CreateSampler("random", Json::array({1, 2}), 0);
  EXPECT_EQ(not_object.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(CreateSampler("random", Json(), 0).ok());  // null: no options
}

TEST(SamplerRegistryTest, SeedOptionOverridesTheStudySeed) {
  auto storage = testing_util::NewMemoryStorage();
  auto study = testing_util::NewStudy(storage, {});
  const Distribution dist = FloatDistribution{0.0, 1.0, std::nullopt};
  auto draw = [&](Sampler& s) { return *s.SampleIndependent(*study, FrozenTrial{}, "x", dist); };
  auto from_study_seed = CreateSampler("random", Json::object(), 5);
  auto from_option = CreateSampler("random", Json{{"seed", 5}}, 99);
  auto direct = NewRandomSampler({.seed = 5});
  auto other = CreateSampler("random", Json::object(), 99);
  ASSERT_TRUE(from_study_seed.ok() && from_option.ok() && other.ok());
  const double expected = draw(*direct);
  EXPECT_EQ(draw(**from_study_seed), expected);
  EXPECT_EQ(draw(**from_option), expected);
  EXPECT_NE(draw(**other), expected);
  EXPECT_EQ((*from_option)->Name(), "random");
}

TEST(SamplerRegistryTest, CustomSamplersCanBeRegistered) {
  RegisterSampler("test-custom", [](const Json& options, uint64_t seed) -> Result<std::unique_ptr<Sampler>> {
    return NewRandomSampler({.seed = seed});
  });
  auto s = CreateSampler("test-custom", Json::object(), 1);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->Name(), "random");
  const auto names = RegisteredSamplerNames();
  EXPECT_NE(std::find(names.begin(), names.end(), "test-custom"), names.end());
}

}  // namespace
}  // namespace dial
