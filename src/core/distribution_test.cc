// Distributions: validation messages, membership, conversions, and Optuna's JSON form.
#include "dial/distribution.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

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

// Int bounds: a parameter value is a double (and Optuna's param_value a FLOAT column), exact for integers only up
// to 2^53, so wider bounds are refused; the widest accepted range keeps every value, its ends included, exact.
TEST(DistributionTest, IntBoundsBeyondTwoTo53AreRefused) {
  constexpr int64_t kMax = kMaxIntParamMagnitude;
  constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
  constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
  EXPECT_TRUE(Validate(IntDistribution{-kMax, kMax}).ok());
  for (const IntDistribution& d :
       {IntDistribution{0, kInt64Max}, IntDistribution{kInt64Min, kInt64Max},
        IntDistribution{-(kInt64Max / 2 + 1), kInt64Max / 2 + 1}, IntDistribution{-kMax - 1, 0},
        IntDistribution{0, kMax + 1}, IntDistribution{1, kInt64Max, 1, true}}) {
    const Status s = Validate(d);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << DistributionToString(d);
    EXPECT_NE(s.message().find("2^53"), std::string::npos) << s.message();
    EXPECT_NE(s.message().find(std::to_string(d.high)), std::string::npos) << s.message();
  }
  const Distribution widest = IntDistribution{-kMax, kMax};
  for (int64_t v : {-kMax, -kMax + 1, int64_t{0}, kMax - 1, kMax}) {
    Result<double> internal = ToInternal(widest, ParamValue{v});
    ASSERT_TRUE(internal.ok()) << v;
    EXPECT_TRUE(Contains(widest, *internal)) << v;
    EXPECT_EQ(std::get<int64_t>(ToExternal(widest, *internal)), v);
  }
  // 2^53 + 1 has no double: it would be stored as 2^53.
  EXPECT_EQ(ToInternal(widest, ParamValue{kMax + 1}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ToInternal(IntDistribution{0, 8}, ParamValue{kInt64Max}).status().code(), StatusCode::kInvalidArgument);
  // A stored value rounded up to 2^63 neither overflows nor counts as inside.
  EXPECT_FALSE(Contains(IntDistribution{0, 8}, 0x1p63));
  EXPECT_FALSE(Contains(IntDistribution{0, 8}, -0x1p64));
}

// distribution_json with extreme int bounds: written and read back exactly (never through a double), and bounds
// that Optuna accepts and writes but dial would refuse stay readable, so such a study can be listed.
TEST(DistributionTest, JsonRoundTripOfExtremeIntBoundsIsExact) {
  constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
  constexpr int64_t kInt64Min = std::numeric_limits<int64_t>::min();
  for (const IntDistribution& d :
       {IntDistribution{-kMaxIntParamMagnitude, kMaxIntParamMagnitude}, IntDistribution{0, kInt64Max},
        IntDistribution{kInt64Min, kInt64Max}, IntDistribution{kInt64Min, kInt64Max - 1, 2},
        IntDistribution{kMaxIntParamMagnitude - 1, kMaxIntParamMagnitude + 1}}) {
    const std::string json = DistributionToJson(d);
    EXPECT_NE(json.find(std::to_string(d.high)), std::string::npos) << json;
    Result<Distribution> back = DistributionFromJson(json);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    const auto& i = std::get<IntDistribution>(*back);
    EXPECT_EQ(i.low, d.low) << json;
    EXPECT_EQ(i.high, d.high) << json;
    EXPECT_EQ(i.step, d.step) << json;
  }
  // As Optuna 3.1 writes it for suggest_int("k", 0, 2**63 - 1).
  Result<Distribution> optuna = DistributionFromJson(
      R"({"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 0, "high": 9223372036854775807}})");
  ASSERT_TRUE(optuna.ok()) << optuna.status().ToString();
  EXPECT_EQ(std::get<IntDistribution>(*optuna).high, kInt64Max);
  EXPECT_TRUE(Contains(*optuna, 4.0e18));
  EXPECT_FALSE(IsSingle(*optuna));
  EXPECT_EQ(std::get<int64_t>(ToExternal(*optuna, 0x1p63)), kInt64Max);  // param_value 2^63 - 1 read as a double
  // Beyond int64: not an integer dial can hold.
  EXPECT_FALSE(
      DistributionFromJson(
          R"({"name": "IntDistribution", "attributes": {"log": false, "step": 1, "low": 0, "high": 9223372036854775808}})")
          .ok());
  EXPECT_FALSE(
      DistributionFromJson(R"({"name": "IntDistribution", "attributes": {"step": 1, "low": -1e19, "high": 0}})").ok());
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
