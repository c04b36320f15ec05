// Tests of the successive_halving (ASHA) pruner: hand-built learning curves with each decision worked out beside
// it, Optuna 3.1's decisions on generated curves, several workers on one storage, and bad options.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "dial/pruner.h"
#include "dial/study.h"
#include "pruners/asha_test_util.h"
#include "pruners/builtin_pruners.h"
#include "samplers/test_util.h"

namespace dial {
namespace {

using ::testing::HasSubstr;
using testing_util::Curve;
using testing_util::RunCurve;
using testing_util::RungsOf;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

std::unique_ptr<Study> AshaStudy(std::shared_ptr<Storage> storage, const Json& options,
                                 StudyDirection direction = StudyDirection::kMinimize,
                                 const std::string& name = "asha") {
  StudyOptions o;
  o.study_name = name;
  o.directions = {direction};
  o.sampler = "random";
  o.seed = 1;
  o.pruner = "successive_halving";
  o.pruner_options = options;
  o.load_if_exists = true;
  return testing_util::NewStudy(std::move(storage), o);
}

FrozenTrial Stored(Study& study, int64_t number) {
  auto trials = study.GetTrials();
  EXPECT_TRUE(trials.ok());
  return trials->at(static_cast<size_t>(number));
}

double RungValue(const FrozenTrial& t, int rung) {
  return t.system_attrs.at(internal::CompletedRungKey(rung)).get<double>();
}

Curve Negated(Curve c) {
  for (auto& [s, v] : c) v = -v;
  return c;
}

// η = 2, r = 1, s = 0: rungs end at steps 1, 2, 4, 8. At a rung with n values recorded (the trial's own included)
// the best max(⌊n/2⌋, 1) go on.
const std::vector<Curve> kHandCurves = {
    // T0: alone at every rung (n = 1, keep 1): promoted at 1, 2, 4, 8; completes. Rungs: 5, 5, 5, 5.
    {{0, 9}, {1, 5}, {2, 5}, {3, 5}, {4, 5}, {5, 5}, {6, 5}, {7, 5}, {8, 5}},
    // T1: rung 0 {5, 3}, keep 1 → 3 is best: promoted. Rung 1 {T0 5, 6}, keep 1 → 5: 6 is pruned at step 2.
    {{0, 9}, {1, 3}, {2, 6}, {3, 1}},
    // T2: rung 0 {5, 3, 4}, keep ⌊3/2⌋ = 1 → 3: 4 is pruned at step 1.
    {{0, 9}, {1, 4}, {2, 1}},
    // T3: rung 0 {5, 3, 4, 4.5}, keep 2 → 3, 4: 4.5 is pruned at step 1.
    {{0, 9}, {1, 4.5}},
    // T4: rung 0 {5, 3, 4, 4.5, 3.5}, keep 2 → 3, 3.5: promoted. Rung 1 {5, 6, 2}, keep 1 → 2: promoted. Step 3 is
    // inside rung 2: no decision. Rung 2 {5, 1.8}, keep 1: promoted. Rung 3 {5, 1.7}: promoted; completes.
    {{0, 9}, {1, 3.5}, {2, 2}, {3, 1.9}, {4, 1.8}, {5, 1.8}, {6, 1.8}, {7, 1.8}, {8, 1.7}},
};
const std::vector<int64_t> kHandPrunedAt = {-1, 2, 1, 1, -1};
const std::vector<int> kHandRungs = {4, 2, 1, 1, 4};  // a pruned trial keeps the rung it lost at

TEST(SuccessiveHalvingTest, HandBuiltCurvesMinimize) {
  auto study = AshaStudy(testing_util::NewMemoryStorage(), {{"min_resource", 1}, {"reduction_factor", 2}});
  for (size_t n = 0; n < kHandCurves.size(); ++n) {
    EXPECT_EQ(RunCurve(*study, kHandCurves[n]), kHandPrunedAt[n]) << "trial " << n;
  }
  for (size_t n = 0; n < kHandCurves.size(); ++n) EXPECT_EQ(RungsOf(Stored(*study, n)), kHandRungs[n]) << n;
  // Each rung holds the value reported at the first step at or past its end.
  const FrozenTrial t4 = Stored(*study, 4);
  EXPECT_EQ(RungValue(t4, 0), 3.5);
  EXPECT_EQ(RungValue(t4, 1), 2.0);
  EXPECT_EQ(RungValue(t4, 2), 1.8);
  EXPECT_EQ(RungValue(t4, 3), 1.7);
  EXPECT_EQ(RungValue(Stored(*study, 1), 0), 3.0);
}

TEST(SuccessiveHalvingTest, MaximizeMirrorsMinimize) {
  // The same curves negated, maximised: every decision is the same.
  auto study = AshaStudy(testing_util::NewMemoryStorage(), {{"min_resource", 1}, {"reduction_factor", 2}},
                         StudyDirection::kMaximize);
  for (size_t n = 0; n < kHandCurves.size(); ++n) {
    EXPECT_EQ(RunCurve(*study, Negated(kHandCurves[n])), kHandPrunedAt[n]) << "trial " << n;
  }
  EXPECT_EQ(RungValue(Stored(*study, 4), 1), -2.0);
}

TEST(SuccessiveHalvingTest, MinEarlyStoppingRateDelaysTheFirstRung) {
  // r = 2, η = 3, s = 1: the first rung ends at 2 · 3 = 6, the next at 18.
  auto study = AshaStudy(testing_util::NewMemoryStorage(),
                         {{"min_resource", 2}, {"reduction_factor", 3}, {"min_early_stopping_rate", 1}});
  Curve good, bad;
  for (int64_t s = 0; s <= 7; ++s) good.emplace_back(s, 1.0), bad.emplace_back(s, 2.0);
  EXPECT_EQ(RunCurve(*study, good), -1);  // alone at rung 0 (step 6); never reaches 18
  // 2.0 is worse than 1.0 at every step, but no decision before step 6; at 6: {1, 2}, keep 1 → pruned.
  EXPECT_EQ(RunCurve(*study, bad), 6);
  EXPECT_EQ(RungsOf(Stored(*study, 0)), 1);
}

TEST(SuccessiveHalvingTest, BootstrapCountPrunesUntilTheRungHasEnoughValues) {
  // bootstrap_count 2, η = 2, r = 1: the first two trials at rung 0 only fill it (n ≤ 2: pruned, as Optuna,
  // each the best so far); the third sees n = 3 > 2 and competes: keep ⌊3/2⌋ = 1.
  auto study = AshaStudy(testing_util::NewMemoryStorage(),
                         {{"min_resource", 1}, {"reduction_factor", 2}, {"bootstrap_count", 2}});
  EXPECT_EQ(RunCurve(*study, {{0, 9}, {1, 1.0}, {2, 1.0}}), 1);  // n = 1
  EXPECT_EQ(RunCurve(*study, {{0, 9}, {1, 0.8}, {2, 0.8}}), 1);  // n = 2, the best of {1, 0.8}
  EXPECT_EQ(RunCurve(*study, {{0, 9}, {1, 0.5}}), -1);           // {1, 0.8, 0.5}: 0.5 is the best → promoted
  EXPECT_EQ(RunCurve(*study, {{0, 9}, {1, 0.9}}), 1);            // {1, 0.8, 0.5, 0.9}: keep 2 → 0.5, 0.8: pruned
}

TEST(SuccessiveHalvingTest, DivergedValueAtARungEndPrunesAndIsNotRecorded) {
  auto study = AshaStudy(testing_util::NewMemoryStorage(), {{"min_resource", 2}, {"reduction_factor", 2}});
  // NaN or +inf before the rung end (step 2) decides nothing; at the rung end it prunes, even alone.
  EXPECT_EQ(RunCurve(*study, {{0, kNaN}, {1, kInf}, {2, kNaN}}), 2);
  EXPECT_EQ(RunCurve(*study, {{0, 1}, {1, 1}, {2, kInf}}), 2);
  EXPECT_EQ(RunCurve(*study, {{0, 1}, {1, 1}, {2, -kInf}}), 2);
  EXPECT_EQ(RungsOf(Stored(*study, 0)), 0);
  EXPECT_EQ(RungsOf(Stored(*study, 1)), 0);
  // The next finite trial is alone at rung 0: promoted.
  EXPECT_EQ(RunCurve(*study, {{0, 1}, {1, 1}, {2, 5}, {3, 5}}), -1);
}

TEST(SuccessiveHalvingTest, SparseReportCompetesAtEveryRungItPassed) {
  // η = 2, r = 1: rungs end at 1, 2, 4, 8. T0 reports every step with value 5.
  auto study = AshaStudy(testing_util::NewMemoryStorage(), {{"min_resource", 1}, {"reduction_factor", 2}});
  Curve every;
  for (int64_t s = 0; s <= 9; ++s) every.emplace_back(s, 5.0);
  ASSERT_EQ(RunCurve(*study, every), -1);
  // T1 jumps from step 0 to step 9 with 4.0: one call records rungs 0..3 (each {5, 4}, keep 1 → 4), promoted.
  EXPECT_EQ(RunCurve(*study, {{0, 9}, {9, 4.0}}), -1);
  EXPECT_EQ(RungsOf(Stored(*study, 1)), 4);
  EXPECT_EQ(RungValue(Stored(*study, 1), 3), 4.0);
  // T2 jumps to step 5 with 6.0: rung 0 {5, 4, 6}, keep 1 → pruned at its first rung; later rungs untouched.
  EXPECT_EQ(RunCurve(*study, {{0, 9}, {5, 6.0}}), 5);
  EXPECT_EQ(RungsOf(Stored(*study, 2)), 1);
}

TEST(SuccessiveHalvingTest, ARungIsRecordedOnceEvenWhenTheCallerCopyIsStale) {
  // η = 3, r = 1: rungs end at 1 and 3. The pruner gets the Trial's own copy of the trial, which does not hold the
  // attributes the pruner wrote; a report at step 2 (inside rung 1) must not record rung 0 again.
  auto storage = testing_util::NewMemoryStorage();
  auto study = AshaStudy(storage, {{"min_resource", 1}, {"reduction_factor", 3}});
  auto trial = study->Ask();
  ASSERT_TRUE(trial.ok());
  ASSERT_TRUE((*trial)->Report(1, 4.0).ok());
  ASSERT_EQ((*trial)->ShouldPrune().value(), false);  // alone: promoted
  ASSERT_TRUE((*trial)->Report(2, 7.0).ok());
  ASSERT_EQ((*trial)->ShouldPrune().value(), false);
  auto stored = storage->GetTrial((*trial)->id());
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(RungsOf(*stored), 1);
  EXPECT_EQ(RungValue(*stored, 0), 4.0);
}

TEST(SuccessiveHalvingTest, AutoMinResourceWaitsForACompleteTrialAndIsSharedByWorkers) {
  auto storage = testing_util::NewMemoryStorage();
  auto a = AshaStudy(storage, {{"reduction_factor", 2}});
  auto flat = [](int64_t n_steps, double value) {
    Curve c;
    for (int64_t s = 0; s < n_steps; ++s) c.emplace_back(s, value);
    return c;
  };
  // No COMPLETE trial yet: no pruning whatever the values (Optuna's "auto").
  EXPECT_EQ(RunCurve(*a, flat(450, 10.0)), -1);
  // The next report sizes the rungs: min_resource = max(⌊449 / 100⌋, 1) = 4, recorded in the study. T0 completed
  // before that and recorded no rung, so T1 is alone at rung 0 (step 4) and rung 1 (step 8): it completes.
  EXPECT_EQ(RunCurve(*a, flat(10, 20.0)), -1);
  auto attrs = storage->GetStudySystemAttrs(a->id());
  ASSERT_TRUE(attrs.ok());
  EXPECT_EQ(attrs->at("dial:successive_halving_min_resource"), 4);
  // A longer COMPLETE trial now would make a fresh estimate ⌊999 / 100⌋ = 9; a second worker (its own pruner)
  // must still use the agreed 4: a worse trial meets T1 at rung 0 on step 4, {20, 30}, keep 1 → pruned there.
  auto id = storage->CreateNewTrial(a->id());
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(storage->SetTrialIntermediateValue(*id, 999, 1.0).ok());
  ASSERT_TRUE(storage->SetTrialStateValues(*id, TrialState::kComplete, {1.0}).ok());
  auto b = AshaStudy(storage, {{"reduction_factor", 2}});
  EXPECT_EQ(RunCurve(*b, flat(12, 30.0)), 4);
}

TEST(SuccessiveHalvingTest, MultiObjectiveIsRefused) {
  StudyOptions o;
  o.study_name = "mo";
  o.directions = {StudyDirection::kMinimize, StudyDirection::kMinimize};
  o.pruner = "successive_halving";
  o.pruner_options = {{"min_resource", 1}};
  auto study = testing_util::NewStudy(testing_util::NewMemoryStorage(), o);
  auto trial = study->Ask();
  ASSERT_TRUE(trial.ok());
  ASSERT_TRUE((*trial)->Report(1, 1.0).ok());
  auto prune = (*trial)->ShouldPrune();
  ASSERT_FALSE(prune.ok());
  EXPECT_THAT(prune.status().message(), HasSubstr("successive_halving"));
}

TEST(SuccessiveHalvingTest, BadOptionsAreNamed) {
  auto error = [](const Json& options) {
    auto p = CreatePruner("successive_halving", options);
    return p.ok() ? std::string("ok") : p.status().message();
  };
  EXPECT_THAT(error({{"reduction_factor", 1}}), HasSubstr("reduction_factor"));
  EXPECT_THAT(error({{"min_resource", 0}}), HasSubstr("min_resource"));
  EXPECT_THAT(error({{"min_resource", "fast"}}), HasSubstr("'min_resource' must be an integer >= 1 or \"auto\""));
  EXPECT_THAT(error({{"min_resource", 1.5}}), HasSubstr("min_resource"));
  EXPECT_THAT(error({{"min_early_stopping_rate", -1}}), HasSubstr("min_early_stopping_rate"));
  EXPECT_THAT(error({{"bootstrap_count", -2}}), HasSubstr("bootstrap_count"));
  EXPECT_THAT(error({{"bootstrap_count", 2}}), HasSubstr("needs an explicit min_resource"));
  EXPECT_THAT(error({{"eta", 3}}), HasSubstr("unknown option 'eta'"));
  EXPECT_EQ(error({{"min_resource", "auto"}, {"reduction_factor", 3}}), "ok");
  EXPECT_EQ(error(Json()), "ok");
  EXPECT_EQ(error({{"min_resource", 3}, {"bootstrap_count", 2}, {"min_early_stopping_rate", 1}}), "ok");
  SuccessiveHalvingPrunerOptions o;
  o.reduction_factor = 1;
  EXPECT_THAT(o.Validate().message(), HasSubstr("reduction_factor must be >= 2, got 1"));
}

// Optuna 3.1's decisions on the curves of tests/python/pruner_reference.py (its output, pasted): per trial the
// step it was pruned at (−1: completed) and the number of rungs it completed.
struct Reference {
  const char* name;
  Json options;
  StudyDirection direction;
  uint64_t seed;
  int n_trials;
  int64_t n_steps;
  int max_stride;
  std::vector<int64_t> pruned_at;
  std::vector<int> rungs;
};

TEST(SuccessiveHalvingTest, SameDecisionsAsOptuna) {
  const std::vector<Reference> refs = {
      {"sh_r1_eta3",
       {{"min_resource", 1}, {"reduction_factor", 3}},
       StudyDirection::kMinimize,
       1,
       40,
       30,
       1,
       {-1, 1, 1, 1, 1, -1, -1, 3, 3, -1, 1, 1, 3, 1, 1, 1, 3, 1, 1, 1,
        1,  1, 1, 1, 1, 3,  1,  1, 1, 1,  1, 3, 1, 1, 3, 1, 1, 1, 1, -1},
       {4, 1, 1, 1, 1, 4, 4, 2, 2, 4, 1, 1, 2, 1, 1, 1, 2, 1, 1, 1,
        1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 1, 2, 1, 1, 2, 1, 1, 1, 1, 4}},
      {"sh_r2_eta2_s1_boot3_max",
       {{"min_resource", 2}, {"reduction_factor", 2}, {"min_early_stopping_rate", 1}, {"bootstrap_count", 3}},
       StudyDirection::kMaximize,
       2,
       40,
       30,
       1,
       {4, 4, 4, 4, 4,  8, 8, 8,  8,  8,  16, 4, 4, 4,  16, 4, 4, 16, 4, 4,
        4, 4, 4, 4, 16, 4, 8, 16, -1, 16, 8,  8, 4, 16, 4,  4, 4, 4,  4, -1},
       {1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 1, 1, 1, 3, 1, 1, 3, 1, 1,
        1, 1, 1, 1, 3, 1, 2, 3, 3, 3, 2, 2, 1, 3, 1, 1, 1, 1, 1, 3}},
      {"sh_auto_eta4",
       {{"min_resource", "auto"}, {"reduction_factor", 4}},
       StudyDirection::kMinimize,
       3,
       40,
       250,
       1,
       {-1, -1, -1, 2, 2, 32, 2, 2, 2, 2, 8,  2, 2, 8, 2, 2, 2,  2, 2, 2,
        8,  2,  2,  2, 2, 2,  2, 2, 2, 2, -1, 2, 2, 2, 2, 8, 32, 2, 2, 2},
       {0, 4, 4, 1, 1, 3, 1, 1, 1, 1, 2, 1, 1, 2, 1, 1, 1, 1, 1, 1,
        2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 4, 1, 1, 1, 1, 2, 3, 1, 1, 1}},
      {"sh_r1_eta2_sparse",
       {{"min_resource", 1}, {"reduction_factor", 2}},
       StudyDirection::kMinimize,
       4,
       40,
       30,
       4,
       {-1, 3, 2, 1, 4, -1, 2, 1, 4, 3, 2, 1, 4, 3, 2, 1, 4, 3, 2, 1,
        4,  3, 2, 2, 4, 6,  2, 8, 4, 3, 4, 8, 8, 3, 2, 1, 4, 3, 2, 1},
       {5, 1, 1, 1, 1, 5, 1, 1, 3, 1, 1, 1, 2, 2, 1, 1, 2, 2, 2, 1,
        2, 2, 1, 2, 3, 3, 1, 4, 2, 1, 3, 4, 4, 2, 1, 1, 3, 1, 1, 1}},
  };
  for (const Reference& ref : refs) {
    SCOPED_TRACE(ref.name);
    auto study = AshaStudy(testing_util::NewMemoryStorage(), ref.options, ref.direction, "xcheck");
    const auto outcome =
        testing_util::RunAll(*study, testing_util::LcgCurves(ref.seed, ref.n_trials, ref.n_steps, ref.max_stride));
    EXPECT_EQ(outcome.pruned_at, ref.pruned_at);
    EXPECT_EQ(outcome.rungs, ref.rungs);
  }
}

// ---- several workers on one storage ----

// Trial n's curve in the concurrent runs: falls from a_n + b_n to b_n over 27 steps (a, b from the LCG by n).
double ConcurrentValue(int64_t number, int64_t step) {
  testing_util::Lcg rng(1000 + static_cast<uint64_t>(number));
  const double a = static_cast<double>(rng.Next() % 1000);
  const double b = static_cast<double>(rng.Next() % 100);
  return a / static_cast<double>(step + 1) + b;
}
constexpr int64_t kConcurrentSteps = 27;

// Runs `workers` threads, each with its own Study (and pruner) on a storage from `open` (its own connection where
// the backend has them, as separate processes would), `trials_each` trials apiece; then checks what ASHA promises
// whatever the interleaving.
void RunConcurrentWorkers(const std::function<Result<std::shared_ptr<Storage>>()>& open, int workers, int trials_each) {
  const Json options = {{"min_resource", 1}, {"reduction_factor", 3}};
  internal::SuccessiveHalvingRule rule;
  rule.min_resource = 1;
  rule.reduction_factor = 3;  // rungs end at 1, 3, 9 (27 is past the last step, 26)
  auto storage = open();
  ASSERT_TRUE(storage.ok()) << storage.status().ToString();
  auto study = AshaStudy(*storage, options, StudyDirection::kMinimize, "concurrent");
  std::vector<Status> results(workers);
  std::vector<std::thread> threads;
  for (int w = 0; w < workers; ++w) {
    threads.emplace_back([&, w] {
      auto own = open();
      if (!own.ok()) {
        results[w] = own.status();
        return;
      }
      StudyOptions o;
      o.study_name = "concurrent";
      o.pruner = "successive_halving";
      o.pruner_options = options;
      auto worker = Study::Load(*own, o);
      if (!worker.ok()) {
        results[w] = worker.status();
        return;
      }
      results[w] = (*worker)->Optimize(
          [](Trial& t) -> Result<std::vector<double>> {
            for (int64_t s = 0; s < kConcurrentSteps; ++s) {
              DIAL_RETURN_IF_ERROR(t.Report(s, ConcurrentValue(t.number(), s)));
              DIAL_ASSIGN_OR_RETURN(bool prune, t.ShouldPrune());
              if (prune) return TrialPruned();
              std::this_thread::yield();
            }
            return std::vector<double>{ConcurrentValue(t.number(), kConcurrentSteps - 1)};
          },
          testing_util::NTrials(trials_each));
    });
  }
  for (auto& t : threads) t.join();
  for (const Status& s : results) ASSERT_TRUE(s.ok()) << s.ToString();

  auto trials = study->GetTrials();
  ASSERT_TRUE(trials.ok());
  // None lost: every trial asked for was finished, COMPLETE or PRUNED.
  ASSERT_EQ(trials->size(), static_cast<size_t>(workers * trials_each));
  std::map<int, std::vector<std::pair<double, const FrozenTrial*>>> at_rung;
  for (const FrozenTrial& t : *trials) {
    SCOPED_TRACE("trial " + std::to_string(t.number));
    ASSERT_TRUE(t.state == TrialState::kComplete || t.state == TrialState::kPruned) << TrialStateName(t.state);
    const int rungs = RungsOf(t);
    // Only completed_rung_0 .. _{rungs-1}: no gaps.
    int rung_keys = 0;
    for (const auto& [key, v] : t.system_attrs) rung_keys += key.rfind("completed_rung_", 0) == 0;
    EXPECT_EQ(rung_keys, rungs);
    // Each rung recorded once, at its end: a second record would hold a later, smaller value of the falling curve.
    for (int k = 0; k < rungs; ++k) {
      EXPECT_EQ(RungValue(t, k), ConcurrentValue(t.number, internal::RungEndStep(rule, k))) << "rung " << k;
      at_rung[k].emplace_back(RungValue(t, k), &t);
    }
    const int64_t last = *t.LastStep();
    if (t.state == TrialState::kPruned) {
      // Pruned exactly at the end of the last rung it entered, never between rungs.
      ASSERT_GE(rungs, 1);
      EXPECT_EQ(last, internal::RungEndStep(rule, rungs - 1));
    } else {
      EXPECT_EQ(last, kConcurrentSteps - 1);
      EXPECT_EQ(rungs, 3);  // promoted at 1, 3 and 9
    }
  }
  // The best value at a rung is never pruned there: it is the best of whatever its trial saw.
  for (auto& [rung, entries] : at_rung) {
    std::sort(entries.begin(), entries.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
    const FrozenTrial& best = *entries.front().second;
    EXPECT_FALSE(best.state == TrialState::kPruned && RungsOf(best) == rung + 1)
        << "trial " << best.number << " has the best value at rung " << rung << " but was pruned there";
  }
  // The workers really overlapped: some trial started before another had finished.
  int overlaps = 0;
  for (const FrozenTrial& x : *trials) {
    for (const FrozenTrial& y : *trials) {
      overlaps += x.number < y.number && *y.datetime_start < *x.datetime_complete;
    }
  }
  EXPECT_GT(overlaps, 0);
  // Every trial enters rung 0; at least one but well under all go on (ASHA keeps about the top third).
  const size_t entered = at_rung[0].size(), went_on = at_rung.count(1) ? at_rung[1].size() : 0;
  EXPECT_EQ(entered, trials->size());
  EXPECT_GE(went_on, 1u);
  EXPECT_LT(went_on, entered * 2 / 3);
}

TEST(SuccessiveHalvingTest, ConcurrentWorkersOnOneMemoryStorage) {
  const std::shared_ptr<Storage> shared = testing_util::NewMemoryStorage();
  RunConcurrentWorkers([&]() -> Result<std::shared_ptr<Storage>> { return shared; }, 4, 15);
}

TEST(SuccessiveHalvingTest, ConcurrentWorkersOnOneSqliteFile) {
  const std::string path = ::testing::TempDir() + "/asha_concurrent_" + std::to_string(::getpid()) + ".db";
  auto remove_files = [&] {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::remove((path + suffix).c_str());
  };
  remove_files();
  RunConcurrentWorkers([&] { return OpenStorage("sqlite:///" + path); }, 4, 12);
  remove_files();
}

}  // namespace
}  // namespace dial
