// Distributions: validation messages, membership, conversions, and Optuna's JSON form.
#include "dial/distribution.h"

#include <gtest/gtest.h>

#include <cmath>

#include "dial/frozen_trial.h"

namespace dial {
namespace {

std::string ErrorOf(const Distribution& d) { return Validate(d).message(); }

TEST(DistributionTest, ValidateRejectsImpossibleRanges) {
  EXPECT_EQ(ErrorOf(FloatDistribution{0.1, 0.01}), "low (0.1) > high (0.01)");
  EXPECT_EQ(ErrorOf(FloatDistribution{0.0, 1.0, std::nullopt, true}), "log scale needs low > 0, got low = 0");
  EXPECT_EQ(ErrorOf(FloatDistribution{0.0, 1.0, 0.3}), "step (0.3) does not divide the range [0, 1]");
  EXPECT_EQ(ErrorOf(FloatDistribution{1e-3, 1.0, 0.1, true}), "step and log cannot be used together");
  EXPECT_EQ(ErrorOf(IntDistribution{5, 1}), "low (5) > high (1)");
  EXPECT_EQ(ErrorOf(IntDistribution{0, 8, 1, true}), "log scale needs low >= 1, got low = 0");
  EXPECT_EQ(ErrorOf(IntDistribution{0, 10, 3}), "step (3) does not divide the range [0, 10]");
  EXPECT_EQ(ErrorOf(IntDistribution{0, 10, 0}), "step must be >= 1, got 0");
  EXPECT_EQ(ErrorOf(CategoricalDistribution{}), "choices must not be empty");
  EXPECT_EQ(ErrorOf(CategoricalDistribution{{std::string("adam"), std::string("adam")}}), "duplicate choice adam");
  EXPECT_EQ(ErrorOf(CategoricalDistribution{{int64_t{1}, 1.0}}), "duplicate choice 1");
}

TEST(DistributionTest, ValidateAcceptsInexactButDividingFloatSteps) {
  // 0.1 does not divide 0.3 − 0.1 exactly in binary; it does in decimal, which is what users write.
  EXPECT_TRUE(Validate(FloatDistribution{0.1, 0.3, 0.1}).ok());
  EXPECT_TRUE(Validate(FloatDistribution{1e-5, 1e-1, std::nullopt, true}).ok());
  EXPECT_TRUE(Validate(IntDistribution{1, 1}).ok());
  EXPECT_TRUE(Validate(CategoricalDistribution{{std::monostate{}, true, int64_t{3}, 2.5, std::string("x")}}).ok());
}

TEST(DistributionTest, ContainsRespectsStepsAndIndices) {
  const FloatDistribution stepped{0.0, 1.0, 0.25};
  EXPECT_TRUE(Contains(stepped, 0.75));
  EXPECT_FALSE(Contains(stepped, 0.7));
  EXPECT_FALSE(Contains(stepped, 1.25));
  EXPECT_FALSE(Contains(FloatDistribution{0.0, 1.0}, std::nan("")));
  const IntDistribution ints{2, 10, 2};
  EXPECT_TRUE(Contains(ints, 4));
  EXPECT_FALSE(Contains(ints, 5));
  EXPECT_FALSE(Contains(ints, 4.5));
  const CategoricalDistribution cat{{std::string("a"), std::string("b")}};
  EXPECT_TRUE(Contains(cat, 1));
  EXPECT_FALSE(Contains(cat, 2));
  EXPECT_FALSE(Contains(cat, -1));
}

TEST(DistributionTest, SingleDistributions) {
  EXPECT_TRUE(IsSingle(FloatDistribution{2.0, 2.0}));
  EXPECT_TRUE(IsSingle(IntDistribution{3, 3}));
  EXPECT_TRUE(IsSingle(CategoricalDistribution{{std::string("only")}}));
  EXPECT_FALSE(IsSingle(IntDistribution{3, 4}));
}

TEST(DistributionTest, InternalExternalRoundTrip) {
  const CategoricalDistribution cat{{std::string("adam"), std::string("sgd"), int64_t{3}, true, std::monostate{}}};
  for (size_t k = 0; k < cat.choices.size(); ++k) {
    const ParamValue external = ToExternal(cat, static_cast<double>(k));
    auto internal = ToInternal(cat, external);
    ASSERT_TRUE(internal.ok());
    EXPECT_EQ(*internal, static_cast<double>(k));
  }
  EXPECT_FALSE(ToInternal(cat, std::string("rmsprop")).ok());
  EXPECT_EQ(std::get<int64_t>(ToExternal(IntDistribution{1, 8}, 3.0)), 3);
  EXPECT_EQ(*ToInternal(IntDistribution{1, 8}, 4.0), 4.0);
  EXPECT_FALSE(ToInternal(IntDistribution{1, 8}, 4.5).ok());
  EXPECT_EQ(*ToInternal(FloatDistribution{0, 1}, int64_t{1}), 1.0);
  EXPECT_FALSE(ToInternal(FloatDistribution{0, 1}, std::string("x")).ok());
}

TEST(DistributionTest, JsonMatchesOptunaForm) {
  EXPECT_EQ(DistributionToJson(FloatDistribution{1e-05, 0.1, std::nullopt, true}),
            R"({"attributes":{"high":0.1,"log":true,"low":1e-05,"step":null},"name":"FloatDistribution"})");
  EXPECT_EQ(DistributionToJson(IntDistribution{1, 8}),
            R"({"attributes":{"high":8,"log":false,"low":1,"step":1},"name":"IntDistribution"})");
  EXPECT_EQ(
      DistributionToJson(CategoricalDistribution{{std::string("adam"), int64_t{2}, 0.5, false, std::monostate{}}}),
      R"({"attributes":{"choices":["adam",2,0.5,false,null]},"name":"CategoricalDistribution"})");
}

TEST(DistributionTest, JsonRoundTripKeepsEveryField) {
  const std::vector<Distribution> all = {
      FloatDistribution{0.0, 1.0},
      FloatDistribution{1e-5, 1e-1, std::nullopt, true},
      FloatDistribution{0.1, 0.3, 0.1},
      IntDistribution{1, 64, 1, true},
      IntDistribution{0, 100, 5},
      CategoricalDistribution{{std::string("a"), int64_t{1}, 2.5, true, std::monostate{}}},
  };
  for (const auto& d : all) {
    auto back = DistributionFromJson(DistributionToJson(d));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(DistributionEquals(d, *back)) << DistributionToJson(d);
  }
}

TEST(DistributionTest, ReadsOptunasOlderNames) {
  auto u = DistributionFromJson(R"({"name": "UniformDistribution", "attributes": {"low": 0.0, "high": 2.0}})");
  ASSERT_TRUE(u.ok());
  EXPECT_TRUE(DistributionEquals(*u, FloatDistribution{0.0, 2.0}));
  auto lu = DistributionFromJson(R"({"name": "LogUniformDistribution", "attributes": {"low": 0.001, "high": 1.0}})");
  ASSERT_TRUE(lu.ok());
  EXPECT_TRUE(DistributionEquals(*lu, FloatDistribution{0.001, 1.0, std::nullopt, true}));
  auto du = DistributionFromJson(
      R"({"name": "DiscreteUniformDistribution", "attributes": {"low": 0, "high": 1, "q": 0.25}})");
  ASSERT_TRUE(du.ok());
  EXPECT_TRUE(DistributionEquals(*du, FloatDistribution{0.0, 1.0, 0.25}));
  auto iu =
      DistributionFromJson(R"({"name": "IntUniformDistribution", "attributes": {"low": 0, "high": 10, "step": 2}})");
  ASSERT_TRUE(iu.ok());
  EXPECT_TRUE(DistributionEquals(*iu, IntDistribution{0, 10, 2}));
  auto il = DistributionFromJson(
      R"({"name": "IntLogUniformDistribution", "attributes": {"low": 1, "high": 128, "step": 1}})");
  ASSERT_TRUE(il.ok());
  EXPECT_TRUE(DistributionEquals(*il, IntDistribution{1, 128, 1, true}));
  EXPECT_FALSE(DistributionFromJson(R"({"name": "Weird", "attributes": {}})").ok());
  EXPECT_FALSE(DistributionFromJson("not json").ok());
  EXPECT_FALSE(DistributionFromJson(R"({"name": "FloatDistribution", "attributes": {"low": 2, "high": 1}})").ok());
}

TEST(DistributionTest, CompatibilityAcrossTrialsFollowsOptuna) {
  // Ranges may change between trials (Optuna allows it); kind, log and choices may not.
  EXPECT_TRUE(CheckCompatible(FloatDistribution{0, 1}, FloatDistribution{0, 2}).ok());
  EXPECT_FALSE(CheckCompatible(FloatDistribution{0.1, 1}, FloatDistribution{0.1, 1, std::nullopt, true}).ok());
  EXPECT_FALSE(CheckCompatible(FloatDistribution{0, 1}, IntDistribution{0, 1}).ok());
  EXPECT_FALSE(CheckCompatible(CategoricalDistribution{{std::string("a")}},
                               CategoricalDistribution{{std::string("a"), std::string("b")}})
                   .ok());
}

TEST(FrozenTrialTest, TimestampRoundTripsWithMicroseconds) {
  const Timestamp t = std::chrono::system_clock::time_point(std::chrono::microseconds(1764000000123456LL));
  const std::string text = FormatTimestamp(t);
  ASSERT_EQ(text.size(), 26u) << text;
  auto back = ParseTimestamp(text);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, t);
  EXPECT_FALSE(ParseTimestamp("yesterday").has_value());
}

TEST(FrozenTrialTest, StateAndDirectionNamesAreOptunas) {
  EXPECT_EQ(TrialStateName(TrialState::kPruned), "PRUNED");
  EXPECT_EQ(ParseTrialState("WAITING"), TrialState::kWaiting);
  EXPECT_FALSE(ParseTrialState("DONE").has_value());
  EXPECT_EQ(StudyDirectionName(StudyDirection::kMaximize), "MAXIMIZE");
  EXPECT_EQ(ParseStudyDirection("minimize"), StudyDirection::kMinimize);
}

}  // namespace
}  // namespace dial
