// Tests of population-based training's schedule: options, exploit/continue/wait decisions on hand-built
// populations whose outcome is worked out in each test, explore (perturbation and resampling), failed members,
// retries, and whole studies run through the worker loop, alone and with four concurrent workers.
#include "dial/pbt.h"

#include <gtest/gtest.h>

#include <cmath>
#include <mutex>
#include <set>
#include <thread>

#include "dial/storage.h"
#include "dial/study.h"
#include "dial/study_config.h"
#include "exec/heartbeat.h"
#include "exec/worker_loop.h"
#include "storage/storage_conformance.h"

namespace dial {
namespace {

const FloatDistribution kLr{1e-4, 1.0, std::nullopt, true};
const FloatDistribution kX{-1.0, 1.0, std::nullopt, false};

// Four members, q = 1 (the worst copies the best), segments of 2 steps up to step 5: generations (0,2], (2,4], (4,5].
PbtOptions FourMembers() {
  PbtOptions o;
  o.population_size = 4;
  o.perturbation_interval = 2;
  o.max_steps = 5;
  o.quantile_fraction = 0.25;
  o.mutable_params["lr"] = PbtExploreOptions{};
  o.seed = 7;
  return o;
}

// A segment of `member` at `generation` with params lr and x; value ignored unless COMPLETE.
FrozenTrial Segment(int64_t number, int64_t member, int64_t generation, TrialState state, double value,
                    double lr = 0.01, double x = 0.5) {
  FrozenTrial t;
  t.number = number;
  t.state = state;
  if (state == TrialState::kComplete) t.values = {value};
  t.distributions = {{"lr", kLr}, {"x", kX}};
  t.params = {{"lr", lr}, {"x", x}};
  t.system_attrs[std::string(kPbtMemberAttr)] = member;
  t.system_attrs[std::string(kPbtGenerationAttr)] = generation;
  if (generation > 0) t.system_attrs[std::string(kPbtParentAttr)] = number - 4;  // unused by the decision
  return t;
}

// Generation 0 of FourMembers with values 0.5, 0.1, 0.9, 0.3 (members 0..3): ranked 1 < 3 < 0 < 2.
std::vector<FrozenTrial> GenerationZero() {
  return {Segment(0, 0, 0, TrialState::kComplete, 0.5, 0.01, 0.1),
          Segment(1, 1, 0, TrialState::kComplete, 0.1, 0.002, -0.2),
          Segment(2, 2, 0, TrialState::kComplete, 0.9, 0.3, 0.7),
          Segment(3, 3, 0, TrialState::kComplete, 0.3, 0.05, 0.0)};
}

int64_t IntOf(const AttrMap& attrs, std::string_view key) { return attrs.at(std::string(key)).get<int64_t>(); }

TEST(PbtTest, OptionsPlanGenerationsStepsAndQuantiles) {
  PbtOptions o = FourMembers();
  EXPECT_TRUE(o.Validate().ok());
  EXPECT_EQ(o.Generations(), 3);  // ceil(5 / 2)
  EXPECT_EQ(o.TotalTrials(), 12);
  EXPECT_EQ(o.QuantileSize(), 1);
  EXPECT_EQ(o.StartStep(1), 2);
  EXPECT_EQ(o.EndStep(1), 4);
  EXPECT_EQ(o.EndStep(2), 5);  // the last segment is cut at max_steps
  o.population_size = 8;
  EXPECT_EQ(o.QuantileSize(), 2);  // 0.25 · 8, not 3 through rounding
  o.population_size = 10;
  EXPECT_EQ(o.QuantileSize(), 3);  // ceil(2.5)
}

TEST(PbtTest, ValidateNamesTheOption) {
  auto message = [](PbtOptions o) { return o.Validate().message(); };
  PbtOptions o = FourMembers();
  o.population_size = 1;
  EXPECT_NE(message(o).find("scheduler.population_size"), std::string::npos);
  o = FourMembers();
  o.perturbation_interval = 0;
  EXPECT_NE(message(o).find("scheduler.perturbation_interval"), std::string::npos);
  o = FourMembers();
  o.quantile_fraction = 0.6;
  EXPECT_NE(message(o).find("scheduler.quantile_fraction"), std::string::npos);
  o = FourMembers();
  o.population_size = 3;
  o.quantile_fraction = 0.5;  // ceil(1.5) = 2 of 3: the top and the bottom would overlap
  EXPECT_NE(message(o).find("more than half"), std::string::npos);
  o = FourMembers();
  o.mutable_params["lr"].perturbation_factors = {0.8, -1.0};
  EXPECT_NE(message(o).find("scheduler.mutable.lr.perturbation_factors"), std::string::npos);
  o = FourMembers();
  o.explore.resample_probability = 1.5;
  EXPECT_NE(message(o).find("scheduler.resample_probability"), std::string::npos);
  o = FourMembers();
  o.mutable_params.clear();
  EXPECT_NE(message(o).find("scheduler.mutable"), std::string::npos);
}

TEST(PbtTest, NewMembersUntilThePopulationIsFullThenWaiting) {
  const PbtOptions o = FourMembers();
  PbtDecision d = DecideNextPbtStep({}, o, StudyDirection::kMinimize);
  ASSERT_EQ(d.kind, PbtDecision::Kind::kNewMember);
  EXPECT_EQ(d.member, 0);
  EXPECT_EQ(IntOf(d.attrs, kPbtStartStepAttr), 0);
  EXPECT_EQ(IntOf(d.attrs, kPbtEndStepAttr), 2);
  // Member 0 running, nothing else: the next member.
  std::vector<FrozenTrial> trials = {Segment(0, 0, 0, TrialState::kRunning, 0)};
  d = DecideNextPbtStep(trials, o, StudyDirection::kMinimize);
  ASSERT_EQ(d.kind, PbtDecision::Kind::kNewMember);
  EXPECT_EQ(d.member, 1);
  // A WAITING trial is always taken first.
  trials.push_back(Segment(1, 1, 0, TrialState::kWaiting, 0));
  EXPECT_EQ(DecideNextPbtStep(trials, o, StudyDirection::kMinimize).kind, PbtDecision::Kind::kRunWaiting);
  // All four running: wait.
  trials = GenerationZero();
  for (FrozenTrial& t : trials) t.state = TrialState::kRunning, t.values.clear();
  EXPECT_EQ(DecideNextPbtStep(trials, o, StudyDirection::kMinimize).kind, PbtDecision::Kind::kWait);
}

TEST(PbtTest, UnlabelledTrialsAreMembersByRank) {
  // Trials created but not labelled yet (or enqueued by the user) are generation-0 members in number order; a retry
  // without labels belongs to the member it retries.
  std::vector<FrozenTrial> trials(3);
  for (int i = 0; i < 3; ++i) trials[i].number = i;
  trials[1].system_attrs[std::string(kPbtMemberAttr)] = 1;
  trials[1].system_attrs[std::string(kPbtGenerationAttr)] = 0;
  trials[2].system_attrs[std::string(kFailedTrialAttr)] = 0;
  const std::map<int64_t, PbtSegment> s = PbtSegmentsByNumber(trials);
  EXPECT_EQ(s.at(0).member, 0);
  EXPECT_EQ(s.at(1).member, 1);
  EXPECT_EQ(s.at(2).member, 0);
  // Two originals so far: the next new member is member 2.
  PbtOptions o = FourMembers();
  for (FrozenTrial& t : trials) t.state = TrialState::kRunning;
  const PbtDecision d = DecideNextPbtStep(trials, o, StudyDirection::kMinimize);
  ASSERT_EQ(d.kind, PbtDecision::Kind::kNewMember);
  EXPECT_EQ(d.member, 2);
}

TEST(PbtTest, AMiddleMemberContinuesWithItsOwnParamsAndCheckpoint) {
  // Ranked 1 < 3 < 0 < 2 with q = 1: member 0 has member 2 below it, so it cannot be the worst: it continues.
  const PbtDecision d = DecideNextPbtStep(GenerationZero(), FourMembers(), StudyDirection::kMinimize);
  ASSERT_EQ(d.kind, PbtDecision::Kind::kNextSegment);
  EXPECT_EQ(d.member, 0);
  EXPECT_EQ(d.generation, 1);
  EXPECT_FALSE(d.exploit);
  EXPECT_EQ(IntOf(d.attrs, kPbtParentAttr), 0);
  EXPECT_EQ(IntOf(d.attrs, kPbtCheckpointFromAttr), 0);
  EXPECT_EQ(d.attrs.count(std::string(kPbtExploitedAttr)), 0u);
  EXPECT_EQ(IntOf(d.attrs, kPbtStartStepAttr), 2);
  EXPECT_EQ(IntOf(d.attrs, kPbtEndStepAttr), 4);
  EXPECT_EQ(std::get<double>(d.params.at("lr")), 0.01);
  EXPECT_EQ(std::get<double>(d.params.at("x")), 0.1);
}

TEST(PbtTest, TheWorstMemberExploitsTheBestAndPerturbsOnlyMutableParams) {
  // Members 0, 1 and 3 already have their generation-1 segments: member 2 (0.9, the worst) is decided next. With
  // q = 1 its donor can only be member 1 (0.1); explore with resample probability 0 and the single factor 1.2
  // makes lr exactly 0.002 · 1.2, while x (not mutable) is member 1's -0.2.
  PbtOptions o = FourMembers();
  o.mutable_params["lr"] = PbtExploreOptions{0.0, {1.2}};
  std::vector<FrozenTrial> trials = GenerationZero();
  trials.push_back(Segment(4, 0, 1, TrialState::kRunning, 0));
  trials.push_back(Segment(5, 1, 1, TrialState::kRunning, 0));
  trials.push_back(Segment(6, 3, 1, TrialState::kRunning, 0));
  const PbtDecision d = DecideNextPbtStep(trials, o, StudyDirection::kMinimize);
  ASSERT_EQ(d.kind, PbtDecision::Kind::kNextSegment);
  EXPECT_EQ(d.member, 2);
  EXPECT_EQ(d.generation, 1);
  EXPECT_TRUE(d.exploit);
  EXPECT_EQ(IntOf(d.attrs, kPbtParentAttr), 2);
  EXPECT_EQ(IntOf(d.attrs, kPbtExploitedAttr), 1);
  EXPECT_EQ(IntOf(d.attrs, kPbtCheckpointFromAttr), 1);
  EXPECT_DOUBLE_EQ(std::get<double>(d.params.at("lr")), 0.002 * 1.2);
  EXPECT_EQ(std::get<double>(d.params.at("x")), -0.2);
  const Json& explored = d.attrs.at(std::string(kPbtExploredAttr));
  EXPECT_EQ(explored["lr"]["from"].get<double>(), 0.002);
  EXPECT_DOUBLE_EQ(explored["lr"]["to"].get<double>(), 0.002 * 1.2);
  EXPECT_EQ(explored["lr"]["how"], "*1.2");
  EXPECT_FALSE(explored.contains("x"));
}

TEST(PbtTest, PerturbationIsClippedAndResamplingStaysInTheDistribution) {
  PbtOptions o = FourMembers();
  o.mutable_params["lr"] = PbtExploreOptions{0.0, {2.0}};
  std::vector<FrozenTrial> trials = GenerationZero();
  trials[1].params["lr"] = 0.8;  // the donor: 0.8 · 2 is clipped to the high end, 1.0
  for (int64_t m : {0, 1, 3}) trials.push_back(Segment(4 + m, m, 1, TrialState::kRunning, 0));
  PbtDecision d = DecideNextPbtStep(trials, o, StudyDirection::kMinimize);
  ASSERT_TRUE(d.exploit);
  EXPECT_EQ(std::get<double>(d.params.at("lr")), 1.0);
  // Resampling always: every draw lies in [1e-4, 1]; over seeds they differ.
  o.mutable_params["lr"] = PbtExploreOptions{1.0, {0.8, 1.2}};
  std::set<double> drawn;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    o.seed = seed;
    d = DecideNextPbtStep(trials, o, StudyDirection::kMinimize);
    ASSERT_TRUE(d.exploit);
    const double lr = std::get<double>(d.params.at("lr"));
    EXPECT_GE(lr, 1e-4);
    EXPECT_LE(lr, 1.0);
    EXPECT_EQ(d.attrs.at(std::string(kPbtExploredAttr))["lr"]["how"], "resample");
    drawn.insert(lr);
  }
  EXPECT_GT(drawn.size(), 15u);
  // The same seed decides the same (any worker that takes a decision over draws the same values).
  o.seed = 3;
  EXPECT_EQ(DecideNextPbtStep(trials, o, StudyDirection::kMinimize).params,
            DecideNextPbtStep(trials, o, StudyDirection::kMinimize).params);
}

TEST(PbtTest, IntegerParamsAreRoundedAndClipped) {
  PbtOptions o = FourMembers();
  o.mutable_params.clear();
  o.mutable_params["layers"] = PbtExploreOptions{0.0, {1.2}};
  std::vector<FrozenTrial> trials = GenerationZero();
  for (FrozenTrial& t : trials) {
    t.distributions["layers"] = IntDistribution{1, 12, 1, false};
    t.params["layers"] = 11.0;
  }
  trials[1].params["layers"] = 4.0;  // the donor: round(4 · 1.2) = 5
  for (int64_t m : {0, 1, 3}) trials.push_back(Segment(4 + m, m, 1, TrialState::kRunning, 0));
  PbtDecision d = DecideNextPbtStep(trials, o, StudyDirection::kMinimize);
  ASSERT_TRUE(d.exploit);
  EXPECT_EQ(std::get<int64_t>(d.params.at("layers")), 5);
  trials[1].params["layers"] = 11.0;  // round(13.2) is clipped to 12
  d = DecideNextPbtStep(trials, o, StudyDirection::kMinimize);
  EXPECT_EQ(std::get<int64_t>(d.params.at("layers")), 12);
}

TEST(PbtTest, DecidesAsSoonAsTheRankIsCertain) {
  // Only members 0 (0.5) and 1 (0.1) have finished generation 0; 2 and 3 still run. Member 0 is known better than
  // nobody and worse than one: it might still be the worst, so it waits. Member 1 is known better than member 0,
  // so it cannot be the single worst: it continues now.
  std::vector<FrozenTrial> trials = GenerationZero();
  trials[2].state = trials[3].state = TrialState::kRunning;
  trials[2].values.clear();
  trials[3].values.clear();
  PbtDecision d = DecideNextPbtStep(trials, FourMembers(), StudyDirection::kMinimize);
  ASSERT_EQ(d.kind, PbtDecision::Kind::kNextSegment);
  EXPECT_EQ(d.member, 1);
  EXPECT_FALSE(d.exploit);
  // Eight members, q = 2: member 7 (the worst so far) exploits once six others are known better, with member 5
  // still running. Its donor must be certainly in the top 2: member 0 (six finished segments are worse) is; member 1
  // is not (five are worse: member 5, still running, may still beat it).
  PbtOptions eight = FourMembers();
  eight.population_size = 8;
  trials.clear();
  for (int64_t m = 0; m < 8; ++m) {
    trials.push_back(Segment(m, m, 0, m == 5 ? TrialState::kRunning : TrialState::kComplete, 0.1 * (m + 1)));
  }
  // Members 0..4 and 6 already have their next segments, so member 7 is the one decided.
  for (int64_t m : {0, 1, 2, 3, 4, 6}) trials.push_back(Segment(8 + m, m, 1, TrialState::kRunning, 0));
  d = DecideNextPbtStep(trials, eight, StudyDirection::kMinimize);
  ASSERT_EQ(d.kind, PbtDecision::Kind::kNextSegment);
  EXPECT_EQ(d.member, 7);
  EXPECT_TRUE(d.exploit);
  EXPECT_EQ(IntOf(d.attrs, kPbtExploitedAttr), 0);
  // Member 1 cannot be a donor yet; once member 5 finishes behind it, both are in the top 2 and either may be drawn.
  trials[5].state = TrialState::kComplete;
  trials[5].values = {0.6};
  trials.push_back(Segment(14, 5, 1, TrialState::kRunning, 0));  // member 5 continued: member 7 is decided
  std::set<int64_t> donors;
  for (uint64_t seed = 0; seed < 16; ++seed) {
    eight.seed = seed;
    donors.insert(IntOf(DecideNextPbtStep(trials, eight, StudyDirection::kMinimize).attrs, kPbtExploitedAttr));
  }
  EXPECT_EQ(donors, (std::set<int64_t>{0, 1}));
}

TEST(PbtTest, MaximisationRanksTheOtherWay) {
  // Maximised, member 1 (0.1) is the worst and copies member 2 (0.9). Members 0, 2, 3 already have segments.
  std::vector<FrozenTrial> trials = GenerationZero();
  for (int64_t m : {0, 2, 3}) trials.push_back(Segment(4 + m, m, 1, TrialState::kRunning, 0));
  const PbtDecision d = DecideNextPbtStep(trials, FourMembers(), StudyDirection::kMaximize);
  ASSERT_EQ(d.kind, PbtDecision::Kind::kNextSegment);
  EXPECT_EQ(d.member, 1);
  EXPECT_TRUE(d.exploit);
  EXPECT_EQ(IntOf(d.attrs, kPbtExploitedAttr), 2);
}

TEST(PbtTest, FailedMembersExploitOnceTheirGenerationHasFinished) {
  // Members 0 and 1 failed, 2 (0.2) and 3 (0.4) completed. q = 1, but a failed segment has no checkpoint to go on
  // from, so both failed members exploit, each copying the best (member 2).
  std::vector<FrozenTrial> trials = {Segment(0, 0, 0, TrialState::kFail, 0), Segment(1, 1, 0, TrialState::kFail, 0),
                                     Segment(2, 2, 0, TrialState::kComplete, 0.2),
                                     Segment(3, 3, 0, TrialState::kRunning, 0)};
  // While member 3 runs, member 0 (failed, with only one member known better) waits; member 2 knows two worse.
  PbtDecision d = DecideNextPbtStep(trials, FourMembers(), StudyDirection::kMinimize);
  ASSERT_EQ(d.kind, PbtDecision::Kind::kNextSegment);
  EXPECT_EQ(d.member, 2);
  EXPECT_FALSE(d.exploit);
  trials[3].state = TrialState::kComplete;
  trials[3].values = {0.4};
  d = DecideNextPbtStep(trials, FourMembers(), StudyDirection::kMinimize);
  ASSERT_EQ(d.kind, PbtDecision::Kind::kNextSegment);
  EXPECT_EQ(d.member, 0);
  EXPECT_TRUE(d.exploit);
  EXPECT_EQ(IntOf(d.attrs, kPbtExploitedAttr), 2);
  trials.push_back(Segment(4, 0, 1, TrialState::kRunning, 0));
  d = DecideNextPbtStep(trials, FourMembers(), StudyDirection::kMinimize);
  ASSERT_EQ(d.kind, PbtDecision::Kind::kNextSegment);
  EXPECT_EQ(d.member, 1);
  EXPECT_TRUE(d.exploit);
  EXPECT_EQ(IntOf(d.attrs, kPbtExploitedAttr), 2);
  // A generation where every member failed: nothing can go on, the schedule is done.
  trials = {Segment(0, 0, 0, TrialState::kFail, 0), Segment(1, 1, 0, TrialState::kFail, 0),
            Segment(2, 2, 0, TrialState::kPruned, 0), Segment(3, 3, 0, TrialState::kFail, 0)};
  EXPECT_EQ(DecideNextPbtStep(trials, FourMembers(), StudyDirection::kMinimize).kind, PbtDecision::Kind::kDone);
}

TEST(PbtTest, ARetryStandsInForTheAttemptItRetries) {
  // Member 0's generation-0 segment failed and was retried (trial 4, COMPLETE 0.05, the best): the retry is what
  // counts, so member 0 continues from trial 4.
  std::vector<FrozenTrial> trials = GenerationZero();
  trials[0].state = TrialState::kFail;
  trials[0].values.clear();
  FrozenTrial retry = Segment(4, 0, 0, TrialState::kComplete, 0.05);
  retry.system_attrs[std::string(kFailedTrialAttr)] = 0;
  trials.push_back(retry);
  const PbtDecision d = DecideNextPbtStep(trials, FourMembers(), StudyDirection::kMinimize);
  ASSERT_EQ(d.kind, PbtDecision::Kind::kNextSegment);
  EXPECT_EQ(d.member, 0);
  EXPECT_FALSE(d.exploit);
  EXPECT_EQ(IntOf(d.attrs, kPbtCheckpointFromAttr), 4);
}

TEST(PbtTest, TheScheduleEndsAfterTheLastGeneration) {
  std::vector<FrozenTrial> trials;
  for (int64_t g = 0; g < 3; ++g) {
    for (int64_t m = 0; m < 4; ++m) trials.push_back(Segment(4 * g + m, m, g, TrialState::kComplete, 0.1 * (m + 1)));
  }
  EXPECT_EQ(DecideNextPbtStep(trials, FourMembers(), StudyDirection::kMinimize).kind, PbtDecision::Kind::kDone);
  trials.back().state = TrialState::kRunning;
  EXPECT_EQ(DecideNextPbtStep(trials, FourMembers(), StudyDirection::kMinimize).kind, PbtDecision::Kind::kWait);
}

TEST(PbtTest, StudyFileSchedulerIsParsedAndChecked) {
  const std::string head =
      "search_space:\n"
      "  lr: {type: float, low: 1.0e-4, high: 1.0, log: true}\n"
      "  x: {type: float, low: -1, high: 1}\n"
      "objective: {command: [/bin/true]}\n"
      "seed: 4\n";
  Result<StudyConfig> config = ParseStudyConfig(head +
                                                    "scheduler: {name: pbt, population_size: 6, perturbation_interval: "
                                                    "3, max_steps: 10, quantile_fraction: 0.5,\n"
                                                    "  resample_probability: 0.1, perturbation_factors: [0.5, 2], "
                                                    "mutable: {lr: {resample_probability: 1}, x: }}\n",
                                                "s.yaml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_TRUE(config->pbt.has_value());
  const PbtOptions& o = *config->pbt;
  EXPECT_EQ(o.population_size, 6);
  EXPECT_EQ(o.Generations(), 4);
  EXPECT_EQ(o.QuantileSize(), 3);
  EXPECT_EQ(o.seed, 4u);
  EXPECT_EQ(o.mutable_params.at("lr").resample_probability, 1.0);
  EXPECT_EQ(o.mutable_params.at("x").resample_probability, 0.1);  // the scheduler's default
  EXPECT_EQ(o.mutable_params.at("x").perturbation_factors, (std::vector<double>{0.5, 2.0}));
  auto error = [&](const std::string& scheduler) {
    Result<StudyConfig> c = ParseStudyConfig(head + "scheduler: " + scheduler + "\n", "s.yaml");
    return c.ok() ? std::string("accepted") : c.status().message();
  };
  EXPECT_EQ(error("{name: pbt, max_steps: 4, mutable: [lrr]}"),
            "s.yaml:6: scheduler.mutable.lrr: not in search_space: only searched parameters can change");
  EXPECT_NE(error("{name: pbt, mutable: [lr]}").find("scheduler.max_steps: missing"), std::string::npos);
  EXPECT_NE(error("{name: pbt, max_steps: 4, mutable: [lr], quantile_fraction: 0}").find("scheduler.quantile_fraction"),
            std::string::npos);
  EXPECT_NE(error("{name: asha, max_steps: 4, mutable: [lr]}").find("unknown scheduler 'asha'"), std::string::npos);
  EXPECT_NE(error("{name: pbt, max_steps: 4, mutable: [lr, lr]}").find("listed twice"), std::string::npos);
}

// The objective of the loop tests: a "model" whose loss after each step shrinks by a factor that depends on lr
// (best near lr = 0.01) and whose state is the previous segment's last loss, found through checkpoint_from.
struct ToyTrainer {
  std::mutex mu;
  std::map<int64_t, double> checkpoint;  // trial number → loss at its end step  GUARDED_BY(mu)

  Result<std::vector<double>> operator()(Trial& trial) {
    DIAL_ASSIGN_OR_RETURN(double lr, trial.SuggestFloat("lr", 1e-4, 1.0, {.log = true}));
    DIAL_ASSIGN_OR_RETURN(double x, trial.SuggestFloat("x", -1.0, 1.0));
    const AttrMap& attrs = trial.frozen().system_attrs;
    const int64_t start = attrs.at(std::string(kPbtStartStepAttr)).get<int64_t>();
    const int64_t end = attrs.at(std::string(kPbtEndStepAttr)).get<int64_t>();
    double loss = 1.0 + x * x;
    {
      std::lock_guard<std::mutex> lock(mu);
      if (auto from = attrs.find(std::string(kPbtCheckpointFromAttr)); from != attrs.end()) {
        loss = checkpoint.at(from->second.get<int64_t>());
      }
    }
    const double rate = 0.5 + 0.1 * std::abs(std::log10(lr) + 2.0);
    for (int64_t step = start + 1; step <= end; ++step) {
      loss *= std::min(rate, 0.99);
      DIAL_RETURN_IF_ERROR(trial.Report(step, loss));
    }
    std::lock_guard<std::mutex> lock(mu);
    checkpoint[trial.number()] = loss;
    return std::vector<double>{loss};
  }
};

std::unique_ptr<Study> NewStudy(std::shared_ptr<Storage> storage, uint64_t seed) {
  StudyOptions so;
  so.study_name = "pbt";
  so.sampler = "random";
  so.seed = seed;
  so.load_if_exists = true;
  Result<std::unique_ptr<Study>> study = Study::Create(std::move(storage), so);
  EXPECT_TRUE(study.ok()) << study.status().ToString();
  return study.ok() ? std::move(study).value() : nullptr;
}

TEST(PbtTest, WorkerLoopRunsThePopulationToMaxSteps) {
  Result<std::shared_ptr<Storage>> storage = OpenStorage("memory://");
  ASSERT_TRUE(storage.ok());
  std::unique_ptr<Study> study = NewStudy(*storage, 5);
  ASSERT_NE(study, nullptr);
  WorkerLoopOptions loop;
  loop.pbt = FourMembers();
  ToyTrainer trainer;
  ASSERT_TRUE(RunWorkerLoop(*study, std::ref(trainer), loop).ok());
  Result<std::vector<FrozenTrial>> trials = study->GetTrials();
  ASSERT_TRUE(trials.ok());
  ASSERT_EQ(trials->size(), 12u);  // 4 members × 3 generations
  std::set<std::pair<int64_t, int64_t>> segments;
  int exploits = 0;
  for (const FrozenTrial& t : *trials) {
    ASSERT_EQ(t.state, TrialState::kComplete) << t.number;
    const int64_t member = t.system_attrs.at(std::string(kPbtMemberAttr)).get<int64_t>();
    const int64_t generation = t.system_attrs.at(std::string(kPbtGenerationAttr)).get<int64_t>();
    EXPECT_TRUE(segments.insert({member, generation}).second);
    // Steps continue across segments: (0, 2], (2, 4], (4, 5].
    std::vector<int64_t> steps;
    for (const auto& [step, v] : t.intermediate_values) steps.push_back(step);
    const std::vector<std::vector<int64_t>> expected = {{1, 2}, {3, 4}, {5}};
    EXPECT_EQ(steps, expected[static_cast<size_t>(generation)]) << t.number;
    if (generation == 0) continue;
    const FrozenTrial& parent = (*trials)[t.system_attrs.at(std::string(kPbtParentAttr)).get<int64_t>()];
    EXPECT_EQ(parent.system_attrs.at(std::string(kPbtMemberAttr)).get<int64_t>(), member);
    EXPECT_EQ(parent.system_attrs.at(std::string(kPbtGenerationAttr)).get<int64_t>(), generation - 1);
    if (auto e = t.system_attrs.find(std::string(kPbtExploitedAttr)); e != t.system_attrs.end()) {
      ++exploits;
      const FrozenTrial& donor = (*trials)[e->second.get<int64_t>()];
      EXPECT_EQ(donor.system_attrs.at(std::string(kPbtGenerationAttr)).get<int64_t>(), generation - 1);
      EXPECT_LT(donor.values[0], parent.values[0]);       // the better member's checkpoint
      EXPECT_EQ(t.params.at("x"), donor.params.at("x"));  // not mutable: the donor's
    } else {
      EXPECT_EQ(t.params, parent.params);  // continued unchanged
    }
  }
  // Each generation change has exactly q = 1 exploit (the rule agrees with ranking the whole generation).
  EXPECT_EQ(exploits, 2);
}

// Four workers on one PBT study: every (member, generation) segment is enqueued exactly once though all of them
// decide from the same stored trials.
TEST(PbtTest, ConcurrentWorkersEnqueueEachSegmentOnce) {
  std::shared_ptr<Storage> storage = testing::NewTemporarySqliteStorage();
  ASSERT_NE(storage, nullptr);
  ASSERT_NE(NewStudy(storage, 1), nullptr);
  PbtOptions pbt = FourMembers();
  pbt.population_size = 6;
  pbt.quantile_fraction = 1.0 / 3.0;  // q = 2
  pbt.perturbation_interval = 1;
  pbt.max_steps = 4;
  constexpr int kWorkers = 4;
  ToyTrainer trainer;
  std::vector<std::thread> threads;
  std::vector<Status> results(kWorkers);
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      std::unique_ptr<Study> study = NewStudy(storage, 30 + w);
      WorkerLoopOptions options;
      options.pbt = pbt;
      options.fidelity_poll_interval = std::chrono::milliseconds(5);
      results[w] = study == nullptr ? Internal("no study") : RunWorkerLoop(*study, std::ref(trainer), options);
    });
  }
  for (auto& t : threads) t.join();
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
  std::unique_ptr<Study> reader = NewStudy(storage, 1);
  Result<std::vector<FrozenTrial>> trials = reader->GetTrials();
  ASSERT_TRUE(trials.ok());
  ASSERT_EQ(trials->size(), 24u);  // 6 members × 4 generations, none twice
  std::set<std::pair<int64_t, int64_t>> segments;
  int exploits = 0;
  for (const FrozenTrial& t : *trials) {
    EXPECT_EQ(t.state, TrialState::kComplete);
    const int64_t member = t.system_attrs.at(std::string(kPbtMemberAttr)).get<int64_t>();
    const int64_t generation = t.system_attrs.at(std::string(kPbtGenerationAttr)).get<int64_t>();
    EXPECT_TRUE(segments.insert({member, generation}).second) << member << "/" << generation;
    exploits += t.system_attrs.count(std::string(kPbtExploitedAttr)) != 0 ? 1 : 0;
  }
  EXPECT_EQ(segments.size(), 24u);
  EXPECT_EQ(exploits, 3 * 2);  // q = 2 per generation change, whatever the interleaving
}

}  // namespace
}  // namespace dial
