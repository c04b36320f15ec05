#include "samplers/cmaes/intersection_cache.h"

#include <gtest/gtest.h>

#include <vector>

#include "samplers/search_space.h"

namespace dial::internal {
namespace {

FrozenTrial Make(int64_t number, TrialState state, const SearchSpace& distributions) {
  FrozenTrial t;
  t.number = number;
  t.state = state;
  t.distributions = distributions;
  return t;
}

// Fed growing snapshots (trials finishing out of order, one changing a range, a single-valued one), the cache
// answers what IntersectionSearchSpace answers over the whole snapshot.
TEST(IntersectionCacheTest, MatchesTheFullComputationAsTrialsFinish) {
  const Distribution x{FloatDistribution{0, 1}};
  const Distribution x_wide{FloatDistribution{0, 2}};
  const Distribution n{IntDistribution{1, 5}};
  const Distribution fixed{IntDistribution{3, 3}};
  const Distribution c{CategoricalDistribution{{ParamValue{"a"}, ParamValue{"b"}}}};
  std::vector<FrozenTrial> trials = {
      Make(0, TrialState::kComplete, {{"x", x}, {"n", n}, {"c", c}, {"k", fixed}}),
      Make(1, TrialState::kRunning, {{"x", x}}),
      Make(2, TrialState::kComplete, {{"x", x}, {"n", n}, {"c", c}, {"k", fixed}}),
  };
  IntersectionCache cache;
  EXPECT_EQ(cache.Update(trials).size(), IntersectionSearchSpace(trials).size());
  EXPECT_EQ(cache.Update(trials).size(), 3u);                        // x, n, c; k is single-valued
  trials[1] = Make(1, TrialState::kComplete, {{"x", x}, {"n", n}});  // finished late, without c
  trials.push_back(Make(3, TrialState::kFail, {}));
  EXPECT_EQ(cache.Update(trials).size(), 2u);
  trials.push_back(Make(4, TrialState::kComplete, {{"x", x_wide}, {"n", n}}));
  const SearchSpace got = cache.Update(trials);
  const SearchSpace want = IntersectionSearchSpace(trials);
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [name, dist] : want) EXPECT_TRUE(DistributionEquals(got.at(name), dist)) << name;
  EXPECT_EQ(got.size(), 1u);  // n only
  cache.Reset();
  EXPECT_TRUE(cache.Update({}).empty());
}

}  // namespace
}  // namespace dial::internal
