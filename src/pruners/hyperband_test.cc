// Tests of the hyperband pruner: bracket layout and assignment (against Optuna 3.1's), bracket-local ASHA decisions
// on hand-built curves, the sampler's view of its bracket, Optuna's decisions on generated curves, bad options.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "dial/pruner.h"
#include "dial/sampler.h"
#include "dial/study.h"
#include "pruners/asha_test_util.h"
#include "pruners/builtin_pruners.h"
#include "samplers/test_util.h"

namespace dial {
namespace {

using internal::HyperbandBrackets;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing_util::Curve;
using testing_util::RunCurve;
using testing_util::RungsOf;

StudyOptions HyperbandStudyOptions(const std::string& name, const Json& pruner_options,
                                   StudyDirection direction = StudyDirection::kMinimize) {
  StudyOptions o;
  o.study_name = name;
  o.directions = {direction};
  o.sampler = "random";
  o.seed = 1;
  o.pruner = "hyperband";
  o.pruner_options = pruner_options;
  return o;
}

Curve Flat(int64_t n_steps, double value) {
  Curve c;
  for (int64_t s = 0; s < n_steps; ++s) c.emplace_back(s, value);
  return c;
}

TEST(HyperbandBracketsTest, LayoutAndAssignmentAreOptunas) {
  // CRC-32's standard check value.
  EXPECT_EQ(internal::Crc32("123456789"), 0xCBF43926u);
  // r = 1, R = 27, η = 3: n = ⌊log_3 27⌋ + 1 = 4; bracket b gets ⌈4 · 3^(3−b) / (4−b)⌉ = 27, 12, 6, 4.
  const HyperbandBrackets b27 = HyperbandBrackets::Make(1, 27, 3);
  EXPECT_THAT(b27.budgets, ElementsAre(27, 12, 6, 4));
  EXPECT_EQ(b27.total_budget, 49);
  // R = 81: ⌈5 · 81 / 5⌉, ⌈5 · 27 / 4⌉, ⌈5 · 9 / 3⌉, ⌈5 · 3 / 2⌉, ⌈5 / 1⌉.
  EXPECT_THAT(HyperbandBrackets::Make(1, 81, 3).budgets, ElementsAre(81, 34, 15, 8, 5));
  EXPECT_THAT(HyperbandBrackets::Make(2, 20, 3).budgets, ElementsAre(9, 5, 3));  // ⌊log_3 10⌋ + 1 = 3
  EXPECT_THAT(HyperbandBrackets::Make(4, 4, 3).budgets, ElementsAre(1));
  EXPECT_EQ(HyperbandBrackets::Make(5, 4, 2).n_brackets(), 0);  // an "auto" R below r: no brackets, as Optuna
  // Optuna 3.1's _get_bracket_id for trials 0..99 of study "xcheck" with (1, 27, 3), from
  // tests/python/pruner_reference.py.
  const std::vector<int> optuna = {0, 0, 2, 1, 1, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 2, 3, 1, 0, 0, 3, 0, 0, 0, 2,
                                   0, 3, 0, 2, 0, 0, 0, 0, 1, 3, 0, 3, 1, 0, 0, 0, 2, 1, 2, 0, 1, 1, 0, 1, 0,
                                   0, 1, 0, 0, 1, 1, 0, 3, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0,
                                   0, 0, 1, 2, 0, 0, 0, 0, 0, 0, 3, 0, 0, 2, 0, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0};
  for (int n = 0; n < 100; ++n) EXPECT_EQ(b27.BracketOf("xcheck", n), optuna[n]) << "trial " << n;
}

TEST(HyperbandBracketsTest, ProportionsFollowTheBudgets) {
  // Over many trial numbers each bracket's share approaches budget / total: 81, 34, 15, 8, 5 of 143.
  const HyperbandBrackets brackets = HyperbandBrackets::Make(1, 81, 3);
  constexpr int kTrials = 40000;
  for (const std::string name : {"asr-conformer", "kws"}) {
    std::vector<int> count(brackets.n_brackets());
    for (int n = 0; n < kTrials; ++n) ++count[brackets.BracketOf(name, n)];
    for (int b = 0; b < brackets.n_brackets(); ++b) {
      const double expected = static_cast<double>(brackets.budgets[b]) / static_cast<double>(brackets.total_budget);
      EXPECT_NEAR(static_cast<double>(count[b]) / kTrials, expected, 0.01) << name << " bracket " << b;
    }
  }
  // Deterministic in (study name, number), and the name matters.
  int differ = 0;
  for (int n = 0; n < 200; ++n) {
    EXPECT_EQ(brackets.BracketOf("kws", n), HyperbandBrackets::Make(1, 81, 3).BracketOf("kws", n));
    differ += brackets.BracketOf("kws", n) != brackets.BracketOf("asr-conformer", n);
  }
  EXPECT_GT(differ, 20);
}

// r = 1, R = 9, η = 3: three brackets with budgets 9, 5, 3. Bracket 0's rungs end at steps 1 and 3, bracket 1's at
// 3, bracket 2's at 9 — past the last step, 8, so bracket 2 never prunes (Hyperband's full-budget bracket). In study
// "hb" trials 0..9 fall in brackets 0, 0, 2, 2, 1, 1, 1, 2, 1, 0 (checked below). Every curve is flat: a trial's
// value at each rung is its constant.
TEST(HyperbandTest, HandBuiltCurvesCompeteOnlyWithinTheirBracket) {
  const HyperbandBrackets brackets = HyperbandBrackets::Make(1, 9, 3);
  std::vector<int> of;
  for (int n = 0; n < 10; ++n) of.push_back(brackets.BracketOf("hb", n));
  ASSERT_THAT(of, ElementsAre(0, 0, 2, 2, 1, 1, 1, 2, 1, 0));

  auto storage = testing_util::NewMemoryStorage();
  auto study = testing_util::NewStudy(storage, HyperbandStudyOptions("hb", {{"min_resource", 1}, {"max_resource", 9}}));
  const std::vector<std::pair<double, int64_t>> value_and_pruned_at = {
      {5.0, -1},    // T0 (b0): alone at rung 0 (step 1) and rung 1 (step 3): completes.
      {6.0, 1},     // T1 (b0): rung 0 {5, 6}, keep max(⌊2/3⌋, 1) = 1 → 5: pruned at 1.
      {100.0, -1},  // T2 (b2): the worst so far, but bracket 2 never reaches a rung end.
      {200.0, -1},  // T3 (b2): likewise.
      {7.0, -1},    // T4 (b1): rung 0 ends at 3; alone in bracket 1 → promoted. (Against bracket 0's 5 and 6 at the
                    // same key completed_rung_0 it would be pruned: that is what the bracket filter prevents.)
      {6.5, -1},    // T5 (b1): {7, 6.5}, keep 1 → 6.5: promoted; no later rung before step 9.
      {8.0, 3},     // T6 (b1): {7, 6.5, 8}, keep 1: pruned at 3.
      {0.0, -1},    // T7 (b2): completes.
      {6.6, 3},     // T8 (b1): {7, 6.5, 8, 6.6}, keep ⌊4/3⌋ = 1 → 6.5: pruned at 3.
      {5.5, 1},     // T9 (b0): {5, 6, 5.5}, keep 1 → 5: pruned at 1 (T7's 0 is in bracket 2 and recorded nothing).
  };
  for (size_t n = 0; n < value_and_pruned_at.size(); ++n) {
    EXPECT_EQ(RunCurve(*study, Flat(9, value_and_pruned_at[n].first)), value_and_pruned_at[n].second) << "trial " << n;
  }
  auto trials = study->GetTrials();
  ASSERT_TRUE(trials.ok());
  std::vector<int> rungs;
  for (const FrozenTrial& t : *trials) rungs.push_back(RungsOf(t));
  EXPECT_THAT(rungs, ElementsAre(2, 1, 0, 0, 1, 1, 1, 0, 1, 1));
  // The bracket is recorded with the first rung.
  EXPECT_EQ(trials->at(0).system_attrs.at("dial:hyperband_bracket"), 0);
  EXPECT_EQ(trials->at(4).system_attrs.at("dial:hyperband_bracket"), 1);
  EXPECT_EQ(trials->at(2).system_attrs.count("dial:hyperband_bracket"), 0u);
}

TEST(HyperbandTest, AutoMaxResourceWaitsForACompleteTrial) {
  auto storage = testing_util::NewMemoryStorage();
  auto study = testing_util::NewStudy(storage, HyperbandStudyOptions("hb", {{"min_resource", 1}}));
  // T0 (bracket 0 once known) runs unpruned: there is no max_resource yet.
  EXPECT_EQ(RunCurve(*study, Flat(9, 5.0)), -1);
  // T1 (bracket 0): now R = 8 + 1 = 9, as in the hand-built test; T0 recorded no rung, so T1 is alone: completes.
  EXPECT_EQ(RunCurve(*study, Flat(9, 6.0)), -1);
  auto attrs = storage->GetStudySystemAttrs(study->id());
  ASSERT_TRUE(attrs.ok());
  EXPECT_EQ(attrs->at("dial:hyperband_max_resource"), 9);
  EXPECT_EQ(RunCurve(*study, Flat(9, 1.0)), -1);  // T2 (bracket 2): never judged
  EXPECT_EQ(RunCurve(*study, Flat(9, 9.0)), -1);  // T3 (bracket 2)
  EXPECT_EQ(RunCurve(*study, Flat(9, 9.0)), -1);  // T4 (bracket 1): alone in bracket 1
  EXPECT_EQ(RunCurve(*study, Flat(9, 9.5)), 3);   // T5 (bracket 1): {9, 9.5}, keep 1 → pruned at its rung end, 3
}

// ---- the sampler's view of its bracket ----

// What a sampler saw through Study::GetTrials: the trial it was working on, the call, the trial numbers returned.
struct ViewRecord {
  int64_t trial;
  std::string call;
  std::set<int64_t> seen;
};

class RecordingSampler final : public Sampler {
 public:
  explicit RecordingSampler(std::shared_ptr<std::vector<ViewRecord>> log) : log_(std::move(log)) {}
  std::string Name() const override { return "view_recorder"; }
  Status BeforeTrial(Study& study, const FrozenTrial& trial) override { return Record(study, trial, "before"); }
  SearchSpace InferRelativeSearchSpace(const Study& study, const FrozenTrial& trial) override {
    EXPECT_TRUE(Record(study, trial, "relative").ok());
    return {};
  }
  Result<double> SampleIndependent(const Study& study, const FrozenTrial& trial, const std::string& name,
                                   const Distribution& dist) override {
    DIAL_RETURN_IF_ERROR(Record(study, trial, "independent"));
    const auto& d = std::get<FloatDistribution>(dist);
    return d.low + (d.high - d.low) * static_cast<double>(trial.number % 10) / 10.0;
  }
  void AfterTrial(Study& study, const FrozenTrial& trial, TrialState, const std::vector<double>&) override {
    EXPECT_TRUE(Record(study, trial, "after").ok());
  }

 private:
  Status Record(const Study& study, const FrozenTrial& trial, const std::string& call) {
    DIAL_ASSIGN_OR_RETURN(std::vector<FrozenTrial> trials, study.GetTrials());
    ViewRecord r{trial.number, call, {}};
    for (const FrozenTrial& t : trials) r.seen.insert(t.number);
    log_->push_back(std::move(r));
    return Status::Ok();
  }
  std::shared_ptr<std::vector<ViewRecord>> log_;
};

// Runs `n_trials` trials of an objective that suggests x and reports 9 steps, with the recording sampler.
std::vector<ViewRecord> RecordViews(const std::string& pruner, const Json& pruner_options, int n_trials) {
  auto log = std::make_shared<std::vector<ViewRecord>>();
  RegisterSampler("view_recorder", [log](const Json&, uint64_t) -> Result<std::unique_ptr<Sampler>> {
    return std::unique_ptr<Sampler>(std::make_unique<RecordingSampler>(log));
  });
  StudyOptions o;
  o.study_name = "hb";
  o.sampler = "view_recorder";
  o.pruner = pruner;
  o.pruner_options = pruner_options;
  auto study = testing_util::NewStudy(testing_util::NewMemoryStorage(), o);
  Status s = study->Optimize(
      [](Trial& t) -> Result<std::vector<double>> {
        DIAL_ASSIGN_OR_RETURN(double x, t.SuggestFloat("x", 0.0, 1.0));
        for (int64_t step = 0; step < 9; ++step) {
          DIAL_RETURN_IF_ERROR(t.Report(step, x + 1.0 / static_cast<double>(step + 1)));
          DIAL_ASSIGN_OR_RETURN(bool prune, t.ShouldPrune());
          if (prune) return TrialPruned();
        }
        return std::vector<double>{x};
      },
      testing_util::NTrials(n_trials));
  EXPECT_TRUE(s.ok()) << s.ToString();
  return *log;
}

// Trials run one after another, so when trial T is sampled the study holds exactly trials 0..T.
std::set<int64_t> UpTo(int64_t trial, const std::function<bool(int64_t)>& keep = nullptr) {
  std::set<int64_t> out;
  for (int64_t n = 0; n <= trial; ++n) {
    if (!keep || keep(n)) out.insert(n);
  }
  return out;
}

TEST(HyperbandTest, SamplerSeesOnlyTheTrialsOfItsBracket) {
  constexpr int kTrials = 30;
  const HyperbandBrackets brackets = HyperbandBrackets::Make(1, 9, 3);
  const auto log = RecordViews("hyperband", {{"min_resource", 1}, {"max_resource", 9}}, kTrials);
  std::map<std::string, int> calls;
  for (const ViewRecord& r : log) {
    SCOPED_TRACE("trial " + std::to_string(r.trial) + ", " + r.call);
    ++calls[r.call];
    if (r.call == "before") {
      EXPECT_EQ(r.seen, UpTo(r.trial));  // BeforeTrial is not restricted (Optuna's neither)
      continue;
    }
    const int mine = brackets.BracketOf("hb", r.trial);
    EXPECT_EQ(r.seen, UpTo(r.trial, [&](int64_t n) { return brackets.BracketOf("hb", n) == mine; }));
  }
  EXPECT_EQ(calls["before"], kTrials);
  EXPECT_EQ(calls["relative"], kTrials);
  EXPECT_EQ(calls["independent"], kTrials);
  EXPECT_EQ(calls["after"], kTrials);
}

TEST(HyperbandTest, SamplerSeesEveryTrialUntilAutoMaxResourceIsKnownAndWithOtherPruners) {
  // With max_resource "auto" the brackets exist only once a trial has completed (trial 0 here: nothing is pruned
  // before); from trial 1 on the view is its bracket, as with an explicit R = 9.
  const HyperbandBrackets brackets = HyperbandBrackets::Make(1, 9, 3);
  for (const ViewRecord& r : RecordViews("hyperband", {{"min_resource", 1}}, 12)) {
    SCOPED_TRACE("trial " + std::to_string(r.trial) + ", " + r.call);
    if (r.call == "before" || r.trial == 0) {
      EXPECT_EQ(r.seen, UpTo(r.trial));
    } else {
      const int mine = brackets.BracketOf("hb", r.trial);
      EXPECT_EQ(r.seen, UpTo(r.trial, [&](int64_t n) { return brackets.BracketOf("hb", n) == mine; }));
    }
  }
  // Any other pruner shows every trial.
  for (const ViewRecord& r : RecordViews("successive_halving", {{"min_resource", 1}}, 12)) {
    EXPECT_EQ(r.seen, UpTo(r.trial)) << "trial " << r.trial << ", " << r.call;
  }
}

TEST(HyperbandTest, SameDecisionsAsOptuna) {
  // Optuna 3.1's output for these curves (tests/python/pruner_reference.py): per trial the step it was pruned at
  // (−1: completed) and the rungs it completed.
  struct Reference {
    const char* name;
    Json options;
    StudyDirection direction;
    uint64_t seed;
    int n_trials;
    int64_t n_steps;
    std::vector<int64_t> pruned_at;
    std::vector<int> rungs;
  };
  const std::vector<Reference> refs = {
      {"hb_r1_R27_eta3",
       {{"min_resource", 1}, {"max_resource", 27}, {"reduction_factor", 3}},
       StudyDirection::kMinimize,
       5,
       60,
       27,
       {-1, 1, -1, -1, -1, 1, 1,  1, 3, -1, 9, 9, -1, 1, 1, 9, -1, 9, 3, 1, -1, 1, 9, 1, 9,  1, -1, 1,  -1, 1,
        1,  1, 1,  3,  -1, 1, -1, 3, 9, 1,  1, 9, 3,  9, 1, 3, 3,  1, 9, 1, 1,  3, 1, 3, -1, 3, 1,  -1, -1, 1},
       {3, 1, 1, 2, 2, 1, 1, 1, 2, 1, 1, 3, 3, 1, 1, 1, 0, 2, 2, 1, 0, 1, 3, 1, 1, 1, 0, 1, 1, 1,
        1, 1, 1, 1, 0, 1, 0, 1, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1, 1, 2, 2, 1, 1, 0, 3, 1}},
      {"hb_r1_auto_eta2_max",
       {{"min_resource", 1}, {"max_resource", "auto"}, {"reduction_factor", 2}},
       StudyDirection::kMaximize,
       6,
       60,
       16,
       {-1, -1, -1, -1, 1, -1, 1,  -1, -1, 1, 4, 2, 2, 1, -1, 2,  -1, 1,  2, -1, 2, 1, 8,  -1, 1, 4, -1, 2, 4, -1,
        2,  4,  4,  4,  2, 1,  -1, 8,  2,  4, 1, 4, 2, 4, 1,  -1, -1, -1, 8, 8,  4, 2, -1, 8,  2, 2, 2,  1, 4, 4},
       {0, 3, 4, 0, 1, 3, 1, 2, 0, 1, 1, 1, 1, 1, 3, 2, 2, 1, 2, 1, 1, 1, 2, 4, 1, 1, 1, 2, 1, 2,
        1, 2, 1, 1, 2, 1, 1, 2, 1, 2, 1, 2, 1, 2, 1, 0, 3, 2, 2, 1, 3, 2, 3, 1, 2, 1, 1, 1, 2, 2}},
  };
  for (const Reference& ref : refs) {
    SCOPED_TRACE(ref.name);
    auto study = testing_util::NewStudy(testing_util::NewMemoryStorage(),
                                        HyperbandStudyOptions("xcheck", ref.options, ref.direction));
    const auto outcome = testing_util::RunAll(*study, testing_util::LcgCurves(ref.seed, ref.n_trials, ref.n_steps, 1));
    EXPECT_EQ(outcome.pruned_at, ref.pruned_at);
    EXPECT_EQ(outcome.rungs, ref.rungs);
  }
}

TEST(HyperbandTest, MultiObjectiveIsRefused) {
  StudyOptions o = HyperbandStudyOptions("mo", {{"max_resource", 9}});
  o.directions = {StudyDirection::kMinimize, StudyDirection::kMaximize};
  auto study = testing_util::NewStudy(testing_util::NewMemoryStorage(), o);
  auto trial = study->Ask();
  ASSERT_TRUE(trial.ok());
  ASSERT_TRUE((*trial)->Report(1, 1.0).ok());
  auto prune = (*trial)->ShouldPrune();
  ASSERT_FALSE(prune.ok());
  EXPECT_THAT(prune.status().message(), HasSubstr("hyperband"));
}

TEST(HyperbandTest, BadOptionsAreNamed) {
  auto error = [](const Json& options) {
    auto p = CreatePruner("hyperband", options);
    return p.ok() ? std::string("ok") : p.status().message();
  };
  EXPECT_THAT(error({{"min_resource", 0}}), HasSubstr("min_resource"));
  EXPECT_THAT(error({{"min_resource", "auto"}}), HasSubstr("'min_resource' must be an integer"));
  EXPECT_THAT(error({{"min_resource", 10}, {"max_resource", 5}}),
              HasSubstr("max_resource must be >= min_resource (10)"));
  EXPECT_THAT(error({{"max_resource", "long"}}), HasSubstr("'max_resource' must be an integer >= min_resource"));
  EXPECT_THAT(error({{"reduction_factor", 1}}), HasSubstr("reduction_factor"));
  EXPECT_THAT(error({{"bootstrap_count", 1}}), HasSubstr("needs an explicit max_resource"));
  EXPECT_THAT(error({{"bootstrap_count", -1}, {"max_resource", 9}}), HasSubstr("bootstrap_count"));
  EXPECT_THAT(error({{"min_early_stopping_rate", 1}}), HasSubstr("unknown option 'min_early_stopping_rate'"));
  EXPECT_EQ(error(Json()), "ok");
  EXPECT_EQ(error({{"min_resource", 1}, {"max_resource", "auto"}, {"reduction_factor", 3}}), "ok");
  EXPECT_EQ(error({{"min_resource", 1}, {"max_resource", 81}, {"bootstrap_count", 2}}), "ok");
}

// CMA-ES keeps one run across the study, which a bracket's partial view cannot replay: the pairing is refused
// when the study is created, naming both; patient around hyperband is refused too, other pruners are fine.
TEST(HyperbandTest, SamplerThatCannotModelABracketIsRefused) {
  auto storage = testing_util::NewMemoryStorage();
  StudyOptions options;
  options.study_name = "cma-hb";
  options.sampler = "cmaes";
  options.pruner = "hyperband";
  auto study = Study::Create(storage, options);
  ASSERT_FALSE(study.ok());
  EXPECT_EQ(study.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(study.status().message(), HasSubstr("sampler 'cmaes' cannot run with pruner 'hyperband'"));
  options.pruner = "patient";
  options.pruner_options = {{"patience", 2}, {"wrapped_pruner", "hyperband"}};
  EXPECT_FALSE(Study::Create(storage, options).ok());
  options.pruner = "successive_halving";
  options.pruner_options = Json::object();
  EXPECT_TRUE(Study::Create(storage, options).ok());
}

}  // namespace
}  // namespace dial
