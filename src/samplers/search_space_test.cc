// Tests of the intersection search space and the unit-cube encoding shared by the model-based samplers.
#include "samplers/search_space.h"

#include <gtest/gtest.h>

#include <cmath>

namespace dial::internal {
namespace {

FrozenTrial Done(TrialState state, std::map<std::string, double> params, std::map<std::string, Distribution> dists) {
  FrozenTrial t;
  t.state = state;
  t.params = std::move(params);
  t.distributions = std::move(dists);
  if (state == TrialState::kComplete) t.values = {1.0};
  return t;
}

TEST(SearchSpaceTest, IntersectionKeepsCommonEqualNonSingleDistributions) {
  const FloatDistribution x{0, 1};
  const IntDistribution n{1, 5};
  const FloatDistribution wider{0, 2};
  const CategoricalDistribution one{{ParamValue{"only"}}};
  std::vector<FrozenTrial> trials = {
      Done(TrialState::kComplete, {{"x", 0.5}, {"n", 2}, {"c", 0}}, {{"x", x}, {"n", n}, {"c", one}}),
      Done(TrialState::kComplete, {{"x", 0.2}, {"n", 3}, {"c", 0}, {"m", 1}},
           {{"x", x}, {"n", n}, {"c", one}, {"m", n}}),
      Done(TrialState::kFail, {{"x", 1.5}}, {{"x", wider}}),  // ignored: not complete
  };
  SearchSpace space = IntersectionSearchSpace(trials);
  ASSERT_EQ(space.size(), 2u);
  EXPECT_TRUE(space.count("x") && space.count("n"));
  trials.push_back(Done(TrialState::kComplete, {{"x", 1.5}, {"n", 1}}, {{"x", wider}, {"n", n}}));
  space = IntersectionSearchSpace(trials);
  ASSERT_EQ(space.size(), 1u);  // x's range changed: no longer common
  EXPECT_TRUE(space.count("n"));
  EXPECT_TRUE(IntersectionSearchSpace({}).empty());
  EXPECT_EQ(TrialsCovering(trials, space).size(), 3u);
}

TEST(SearchSpaceTest, UnitCubeRoundTripsEveryKind) {
  SearchSpace space = {{"lr", FloatDistribution{1e-4, 1e-1, std::nullopt, true}},
                       {"drop", FloatDistribution{0, 0.5, 0.1, false}},
                       {"layers", IntDistribution{1, 4, 1, false}},
                       {"batch", IntDistribution{1, 256, 1, true}},
                       {"opt", CategoricalDistribution{{ParamValue{"a"}, ParamValue{"b"}, ParamValue{"c"}}}}};
  UnitCubeEncoding enc(space);
  EXPECT_EQ(enc.dims(), 4 + 3);
  std::map<std::string, double> p = {{"lr", 1e-3}, {"drop", 0.3}, {"layers", 3}, {"batch", 32}, {"opt", 2}};
  std::vector<double> x = enc.Encode(p);
  for (double v : x) EXPECT_TRUE(v >= 0 && v <= 1) << v;
  std::map<std::string, double> back = enc.Decode(x);
  for (const auto& [name, v] : p) EXPECT_NEAR(back.at(name), v, 1e-12) << name;
  // lr is log-scaled: 1e-3 sits at 1/3 of [1e-4, 1e-1].
  for (int j = 0; j < enc.dims(); ++j) {
    if (enc.ColumnParam(j) == "lr") {
      EXPECT_NEAR(x[j], 1.0 / 3.0, 1e-12);
    }
    if (enc.ColumnParam(j) == "layers") {
      EXPECT_NEAR(x[j], (3 - 0.5) / 4.0, 1e-12);  // [0.5, 4.5]
    }
  }
  // Every integer owns an equal quarter of the layers coordinate; the ends decode to the bounds.
  std::vector<double> y = x;
  for (int j = 0; j < enc.dims(); ++j) {
    if (enc.ColumnParam(j) == "layers") y[j] = 0.0;
    if (enc.ColumnParam(j) == "drop") y[j] = 1.2;  // outside: clamped
  }
  back = enc.Decode(y);
  EXPECT_EQ(back.at("layers"), 1);
  EXPECT_NEAR(back.at("drop"), 0.5, 1e-12);
}

}  // namespace
}  // namespace dial::internal
