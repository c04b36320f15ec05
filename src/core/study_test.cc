// Study and Trial: ask/tell, the optimisation loop, pruning, enqueued trials, define-by-run rules.
#include "dial/study.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <limits>
#include <set>

namespace dial {
namespace {

std::shared_ptr<Storage> Memory() {
  auto s = OpenStorage("memory://");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return *s;
}

std::unique_ptr<Study> NewStudy(std::shared_ptr<Storage> storage, StudyOptions opts = {}) {
  if (opts.study_name.empty()) opts.study_name = "s";
  auto study = Study::Create(std::move(storage), opts);
  EXPECT_TRUE(study.ok()) << study.status().ToString();
  return std::move(study).value();
}

TEST(StudyTest, OptimizeRunsTheRequestedTrialsAndFindsTheBest) {
  auto study = NewStudy(Memory(), {.seed = 7});
  ASSERT_TRUE(study
                  ->Optimize(
                      [](Trial& t) -> Result<std::vector<double>> {
                        DIAL_ASSIGN_OR_RETURN(double x, t.SuggestFloat("x", -5, 5));
                        return std::vector<double>{(x - 1) * (x - 1)};
                      },
                      {.n_trials = 30})
                  .ok());
  auto trials = study->GetTrials();
  ASSERT_TRUE(trials.ok());
  ASSERT_EQ(trials->size(), 30u);
  double best = std::numeric_limits<double>::infinity();
  for (size_t k = 0; k < trials->size(); ++k) {
    EXPECT_EQ((*trials)[k].number, static_cast<int64_t>(k));
    EXPECT_EQ((*trials)[k].state, TrialState::kComplete);
    EXPECT_TRUE((*trials)[k].datetime_start.has_value());
    EXPECT_TRUE((*trials)[k].datetime_complete.has_value());
    best = std::min(best, (*trials)[k].values.at(0));
  }
  auto bt = study->BestTrial();
  ASSERT_TRUE(bt.ok());
  EXPECT_EQ(bt->values.at(0), best);
}

TEST(StudyTest, MaximizeBestTrialIsTheLargest) {
  auto study = NewStudy(Memory(), {.directions = {StudyDirection::kMaximize}});
  for (double v : {1.0, 5.0, 3.0}) {
    auto t = study->Ask();
    ASSERT_TRUE(t.ok());
    ASSERT_TRUE(study->Tell(**t, TrialState::kComplete, {v}).ok());
  }
  EXPECT_EQ(study->BestTrial()->values.at(0), 5.0);
}

TEST(StudyTest, SuggestIsStableWithinATrialAndRefusesAnotherDistribution) {
  auto study = NewStudy(Memory());
  auto trial = std::move(study->Ask()).value();
  auto a = trial->SuggestFloat("lr", 1e-5, 1e-1, {.log = true});
  auto b = trial->SuggestFloat("lr", 1e-5, 1e-1, {.log = true});
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_GE(*a, 1e-5);
  EXPECT_LE(*a, 1e-1);
  auto c = trial->SuggestFloat("lr", 1e-5, 1e-1);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("parameter 'lr' was already suggested"), std::string::npos);
  auto bad = trial->SuggestInt("layers", 8, 2);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "parameter 'layers': low (8) > high (2)");
}

TEST(StudyTest, AStudyRefusesAnIncompatibleDistributionInALaterTrial) {
  auto study = NewStudy(Memory());
  auto t1 = std::move(study->Ask()).value();
  ASSERT_TRUE(t1->SuggestCategorical("opt", {std::string("adam"), std::string("sgd")}).ok());
  ASSERT_TRUE(study->Tell(*t1, TrialState::kComplete, {1.0}).ok());
  auto t2 = std::move(study->Ask()).value();
  auto r = t2->SuggestCategorical("opt", {std::string("adam"), std::string("sgd"), std::string("adamw")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("'opt'"), std::string::npos) << r.status().message();
}

TEST(StudyTest, ConditionalParametersFallOutOfDefineByRun) {
  auto study = NewStudy(Memory(), {.seed = 3});
  ASSERT_TRUE(study
                  ->Optimize(
                      [](Trial& t) -> Result<std::vector<double>> {
                        DIAL_ASSIGN_OR_RETURN(ParamValue opt, t.SuggestCategorical("optimizer", {std::string("adam"),
                                                                                                 std::string("sgd")}));
                        if (std::get<std::string>(opt) == "sgd") {
                          DIAL_ASSIGN_OR_RETURN(double m, t.SuggestFloat("momentum", 0.5, 0.99));
                          return std::vector<double>{m};
                        }
                        return std::vector<double>{0.0};
                      },
                      {.n_trials = 20})
                  .ok());
  int with_momentum = 0;
  for (const auto& t : *study->GetTrials()) {
    const bool sgd = std::get<std::string>(*t.Param("optimizer")) == "sgd";
    EXPECT_EQ(t.Param("momentum").has_value(), sgd);
    with_momentum += sgd;
  }
  EXPECT_GT(with_momentum, 0);
  EXPECT_LT(with_momentum, 20);
}

TEST(StudyTest, PrunedTrialKeepsItsLastReportedValue) {
  auto study = NewStudy(Memory());
  ASSERT_TRUE(study
                  ->Optimize(
                      [](Trial& t) -> Result<std::vector<double>> {
                        for (int step = 0; step < 3; ++step) DIAL_RETURN_IF_ERROR(t.Report(step, 10.0 - step));
                        return TrialPruned();
                      },
                      {.n_trials = 1})
                  .ok());
  auto t = study->GetTrials()->at(0);
  EXPECT_EQ(t.state, TrialState::kPruned);
  ASSERT_EQ(t.values.size(), 1u);
  EXPECT_EQ(t.values[0], 8.0);
  EXPECT_EQ(t.intermediate_values.size(), 3u);
}

TEST(StudyTest, BadObjectiveResultsFailTheTrialWithAReasonAndTheStudyGoesOn) {
  auto study = NewStudy(Memory());
  int call = 0;
  ASSERT_TRUE(study
                  ->Optimize(
                      [&](Trial& t) -> Result<std::vector<double>> {
                        switch (call++) {
                          case 0:
                            return std::vector<double>{std::nan("")};
                          case 1:
                            return std::vector<double>{1.0, 2.0};
                          case 2:
                            return IoError("train.py: checkpoint dir is full");
                          case 3:
                            throw std::runtime_error("boom");
                          default:
                            return std::vector<double>{0.5};
                        }
                      },
                      {.n_trials = 5})
                  .ok());
  auto trials = *study->GetTrials();
  ASSERT_EQ(trials.size(), 5u);
  const std::vector<std::string> reasons = {"the objective returned NaN",
                                            "the objective returned 2 value(s) for 1 direction(s)",
                                            "train.py: checkpoint dir is full", "the objective threw: boom"};
  for (size_t k = 0; k < 4; ++k) {
    EXPECT_EQ(trials[k].state, TrialState::kFail);
    EXPECT_TRUE(trials[k].values.empty());
    EXPECT_EQ(trials[k].system_attrs.at(std::string(kFailReasonAttr)), reasons[k]);
  }
  EXPECT_EQ(trials[4].state, TrialState::kComplete);
}

TEST(StudyTest, EnqueuedTrialsRunFirstWithTheirParameters) {
  auto study = NewStudy(Memory());
  ASSERT_TRUE(study->EnqueueTrial({{"x", 0.25}, {"opt", std::string("sgd")}}, {{"source", "manual"}}).ok());
  auto waiting = *study->GetTrials(std::vector{TrialState::kWaiting});
  ASSERT_EQ(waiting.size(), 1u);
  ASSERT_TRUE(
      study
          ->Optimize(
              [](Trial& t) -> Result<std::vector<double>> {
                DIAL_ASSIGN_OR_RETURN(double x, t.SuggestFloat("x", 0, 1));
                DIAL_ASSIGN_OR_RETURN(auto opt, t.SuggestCategorical("opt", {std::string("adam"), std::string("sgd")}));
                (void)opt;
                return std::vector<double>{x};
              },
              {.n_trials = 2})
          .ok());
  auto trials = *study->GetTrials();
  ASSERT_EQ(trials.size(), 2u);
  EXPECT_EQ(trials[0].state, TrialState::kComplete);
  EXPECT_EQ(std::get<double>(*trials[0].Param("x")), 0.25);
  EXPECT_EQ(std::get<std::string>(*trials[0].Param("opt")), "sgd");
  EXPECT_EQ(trials[0].user_attrs.at("source"), "manual");
}

TEST(StudyTest, StopFlagFailsTheRunningTrialAsInterrupted) {
  auto study = NewStudy(Memory());
  std::atomic<bool> stop{false};
  Status s = study->Optimize(
      [&](Trial& t) -> Result<std::vector<double>> {
        stop = true;  // as a signal handler would, mid-trial
        return Cancelled("interrupted");
      },
      {.n_trials = 10, .stop_flag = &stop});
  EXPECT_EQ(s.code(), StatusCode::kCancelled);
  auto trials = *study->GetTrials();
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].state, TrialState::kFail);
  EXPECT_EQ(trials[0].system_attrs.at(std::string(kFailReasonAttr)), "interrupted");
}

TEST(StudyTest, LoadChecksDirectionsAndNames) {
  auto storage = Memory();
  NewStudy(storage, {.study_name = "two", .directions = {StudyDirection::kMinimize, StudyDirection::kMaximize}});
  auto wrong = Study::Load(storage, {.study_name = "two", .directions = {StudyDirection::kMinimize}});
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().message(),
            "direction(s) [minimize] differ from study 'two' in memory://, created with [minimize, maximize] (choose "
            "another study name, or delete that study)");
  auto missing = Study::Load(storage, {.study_name = "nope"});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  auto any = Study::Load(storage, {.study_name = "two", .directions = {}});
  ASSERT_TRUE(any.ok());
  EXPECT_TRUE((*any)->is_multi_objective());
  auto dup = Study::Create(storage,
                           {.study_name = "two", .directions = {StudyDirection::kMinimize, StudyDirection::kMaximize}});
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);
  auto reuse = Study::Create(storage, {.study_name = "two",
                                       .directions = {StudyDirection::kMinimize, StudyDirection::kMaximize},
                                       .load_if_exists = true});
  EXPECT_TRUE(reuse.ok());
}

// A study file edited between runs: Load refuses a parameter whose distribution conflicts with the one the stored
// trials use (naming the file's line), and accepts a changed range, new parameters and an unchanged space.
TEST(StudyTest, LoadChecksTheSearchSpaceAgainstTheStoredTrials) {
  auto storage = Memory();
  auto study = NewStudy(storage, {.study_name = "s", .seed = 3});
  ASSERT_TRUE(
      study
          ->Optimize(
              [](Trial& t) -> Result<std::vector<double>> {
                DIAL_ASSIGN_OR_RETURN(double lr, t.SuggestFloat("lr", 1e-5, 1e-1, {.log = true}));
                DIAL_RETURN_IF_ERROR(t.SuggestCategorical("opt", {std::string("adam"), std::string("sgd")}).status());
                return std::vector<double>{lr};
              },
              {.n_trials = 2})
          .ok());
  StudyOptions options{.study_name = "s", .source = "study.yaml"};
  options.search_space = {
      {.name = "lr", .distribution = FloatDistribution{.low = 1e-6, .high = 1.0, .log = true}, .line = 4},
      {.name = "layers", .distribution = IntDistribution{.low = 1, .high = 8}, .line = 5}};
  ASSERT_TRUE(Study::Load(storage, options).ok()) << "a changed range and a new parameter are allowed";

  options.search_space = {
      {.name = "opt", .distribution = CategoricalDistribution{{std::string("adam"), std::string("sgd")}}, .line = 3},
      {.name = "lr", .distribution = FloatDistribution{.low = 1e-5, .high = 1e-1}, .line = 6}};
  auto conflicting = Study::Load(storage, options);
  ASSERT_FALSE(conflicting.ok());
  EXPECT_EQ(conflicting.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(conflicting.status().message().rfind("study.yaml:6: search_space.lr: float [1e-05, 0.1] conflicts with "
                                                 "the distribution float [1e-05, 0.1] log",
                                                 0),
            0u)
      << conflicting.status().message();
  EXPECT_NE(conflicting.status().message().find("that study 's' already uses for it"), std::string::npos);

  // Through Create as well, when it loads an existing study.
  options.load_if_exists = true;
  EXPECT_EQ(Study::Create(storage, options).status().code(), StatusCode::kInvalidArgument);
}

TEST(StudyTest, UnknownSamplerOrPrunerWritesNothing) {
  auto storage = Memory();
  auto s = Study::Create(storage, {.study_name = "x", .sampler = "annealing"});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInvalidArgument);
  auto p = Study::Create(storage, {.study_name = "x", .pruner = "oracle"});
  ASSERT_FALSE(p.ok());
  EXPECT_TRUE(storage->GetAllStudies()->empty());
}

TEST(StudyTest, DefaultNameIsOptunasNoNameUuid) {
  auto study = Study::Create(Memory(), {});
  ASSERT_TRUE(study.ok());
  const std::string& name = (*study)->name();
  EXPECT_EQ(name.rfind("no-name-", 0), 0u);
  EXPECT_EQ(name.size(), 8u + 36u);
  EXPECT_EQ(name[8 + 14], '4');
}

TEST(StudyTest, BestTrialsIsTheParetoFront) {
  auto study = NewStudy(Memory(), {.directions = {StudyDirection::kMinimize, StudyDirection::kMinimize}});
  // (1,5) (2,2) (5,1) are non-dominated; (3,3) is dominated by (2,2); (6,6) by all.
  for (auto v : std::vector<std::vector<double>>{{1, 5}, {3, 3}, {2, 2}, {6, 6}, {5, 1}}) {
    auto t = std::move(study->Ask()).value();
    ASSERT_TRUE(study->Tell(*t, TrialState::kComplete, v).ok());
  }
  auto front = study->BestTrials();
  ASSERT_TRUE(front.ok()) << front.status().ToString();
  std::set<int64_t> numbers;
  for (const auto& t : *front) numbers.insert(t.number);
  EXPECT_EQ(numbers, (std::set<int64_t>{0, 2, 4}));
  EXPECT_EQ(study->BestTrial().status().code(), StatusCode::kFailedPrecondition);
}

TEST(StudyTest, DominanceRespectsDirections) {
  const std::vector<StudyDirection> dirs = {StudyDirection::kMinimize, StudyDirection::kMaximize};
  EXPECT_TRUE(Dominates({1, 5}, {2, 4}, dirs));
  EXPECT_FALSE(Dominates({1, 3}, {2, 4}, dirs));
  EXPECT_FALSE(Dominates({1, 5}, {1, 5}, dirs));
}

TEST(StudyTest, TellRefusesAFinishedTrial) {
  auto study = NewStudy(Memory());
  auto t = std::move(study->Ask()).value();
  ASSERT_TRUE(study->Tell(*t, TrialState::kComplete, {1.0}).ok());
  auto again = study->Tell(*t, TrialState::kComplete, {2.0});
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(t->Report(1, 0.5).code(), StatusCode::kFailedPrecondition);
  auto by_number = study->Tell(0, TrialState::kFail);
  EXPECT_EQ(by_number.status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace dial
