// Helpers for the successive_halving and hyperband tests: learning curves that Python builds bit for bit the same
// (tests/python/pruner_reference.py), run trial after trial through Ask / Report / ShouldPrune / Tell.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "dial/study.h"
#include "pruners/builtin_pruners.h"

namespace dial::testing_util {

// x ← (1103515245 x + 12345) mod 2^31, as pruner_reference.py.
class Lcg {
 public:
  explicit Lcg(uint64_t seed) : x_(seed) {}
  uint64_t Next() { return x_ = (x_ * 1103515245u + 12345u) % (uint64_t{1} << 31); }

 private:
  uint64_t x_;
};

using Curve = std::vector<std::pair<int64_t, double>>;  // (step, value) in report order

// Trial n's curve: a / (step + 1) + b at every stride-th step below n_steps, with a, b, stride drawn in that order.
inline std::vector<Curve> LcgCurves(uint64_t seed, int n_trials, int64_t n_steps, int max_stride) {
  Lcg rng(seed);
  std::vector<Curve> out;
  for (int n = 0; n < n_trials; ++n) {
    const double a = static_cast<double>(rng.Next() % 1000);
    const double b = static_cast<double>(rng.Next() % 100);
    const int64_t stride = 1 + static_cast<int64_t>(rng.Next() % static_cast<uint64_t>(max_stride));
    Curve c;
    for (int64_t s = 0; s < n_steps; s += stride) c.emplace_back(s, a / static_cast<double>(s + 1) + b);
    out.push_back(std::move(c));
  }
  return out;
}

// Runs one trial through `curve`, asking the pruner after each report. Returns the step it was pruned at, or −1
// when it ran to the end (then it is told COMPLETE with its last value).
inline int64_t RunCurve(Study& study, const Curve& curve) {
  auto trial = study.Ask();
  EXPECT_TRUE(trial.ok()) << trial.status().ToString();
  if (!trial.ok()) return -2;
  for (const auto& [step, value] : curve) {
    EXPECT_TRUE((*trial)->Report(step, value).ok());
    auto prune = (*trial)->ShouldPrune();
    EXPECT_TRUE(prune.ok()) << prune.status().ToString();
    if (prune.ok() && *prune) {
      EXPECT_TRUE(study.Tell(**trial, TrialState::kPruned).ok());
      return step;
    }
  }
  EXPECT_TRUE(study.Tell(**trial, TrialState::kComplete, {curve.back().second}).ok());
  return -1;
}

// The number of consecutive completed_rung_<k> attributes.
inline int RungsOf(const FrozenTrial& t) {
  int k = 0;
  while (t.system_attrs.count(internal::CompletedRungKey(k))) ++k;
  return k;
}

// Per trial: the step pruned at (−1: completed), and the rungs it completed.
struct Outcome {
  std::vector<int64_t> pruned_at;
  std::vector<int> rungs;
};

inline Outcome RunAll(Study& study, const std::vector<Curve>& curves) {
  Outcome out;
  for (const Curve& c : curves) out.pruned_at.push_back(RunCurve(study, c));
  auto trials = study.GetTrials();
  EXPECT_TRUE(trials.ok());
  if (trials.ok()) {
    for (const FrozenTrial& t : *trials) out.rungs.push_back(RungsOf(t));
  }
  return out;
}

}  // namespace dial::testing_util
