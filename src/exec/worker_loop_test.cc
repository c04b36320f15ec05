// Tests of the worker loop, heartbeats and retries, in one process: several loops sharing a study budget, stale trials
// failed and retried with Optuna's link attributes, heartbeats that keep a long trial alive, and the stop flag.
#include "exec/worker_loop.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "dial/fidelity.h"
#include "storage/storage_conformance.h"
#include "storage/storage_test_util.h"

namespace dial {
namespace {

using Seconds = std::chrono::duration<double>;
using ::testing::ElementsAre;

std::unique_ptr<Study> NewStudy(std::shared_ptr<Storage> storage, const std::string& name, uint64_t seed = 1) {
  StudyOptions options;
  options.study_name = name;
  options.sampler = "random";
  options.seed = seed;
  options.load_if_exists = true;
  Result<std::unique_ptr<Study>> study = Study::Create(std::move(storage), options);
  EXPECT_TRUE(study.ok()) << study.status().ToString();
  return study.ok() ? std::move(study).value() : nullptr;
}

Result<std::vector<double>> Square(Trial& trial) {
  DIAL_ASSIGN_OR_RETURN(double x, trial.SuggestFloat("x", -1.0, 1.0));
  return std::vector<double>{x * x};
}

WorkerLoopOptions FastOptions() {
  WorkerLoopOptions options;
  options.heartbeat_interval = Seconds(0.05);
  options.grace_period = Seconds(0.3);
  return options;
}

TEST(WorkerLoopTest, LoopsSharingABudgetRunExactlyIt) {
  std::shared_ptr<Storage> storage = testing::NewTemporarySqliteStorage();
  ASSERT_NE(storage, nullptr);
  constexpr int kWorkers = 4;
  constexpr int64_t kBudget = 25;
  ASSERT_NE(NewStudy(storage, "shared"), nullptr);
  std::vector<std::thread> threads;
  std::vector<Status> results(kWorkers);
  std::vector<int64_t> ran(kWorkers, 0);
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      std::unique_ptr<Study> study = NewStudy(storage, "shared", 10 + w);
      WorkerLoopOptions options = FastOptions();
      options.study_n_trials = kBudget;
      options.on_trial_finished = [&, w](Study&, const FrozenTrial&) { ++ran[w]; };
      results[w] = RunWorkerLoop(*study, Square, options);
    });
  }
  for (auto& t : threads) t.join();
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
  int64_t total = 0;
  for (int64_t n : ran) total += n;
  EXPECT_EQ(total, kBudget);
  std::unique_ptr<Study> reader = NewStudy(storage, "shared");
  ASSERT_OK_AND_ASSIGN(std::vector<FrozenTrial> trials, reader->GetTrials());
  ASSERT_EQ(trials.size(), static_cast<size_t>(kBudget));
  std::set<int64_t> numbers;
  for (const FrozenTrial& t : trials) {
    numbers.insert(t.number);
    EXPECT_EQ(t.state, TrialState::kComplete);
    EXPECT_TRUE(t.system_attrs.count(std::string(kWorkerAttr))) << "trial " << t.number;
  }
  EXPECT_EQ(numbers.size(), static_cast<size_t>(kBudget));
}

// Four workers on one multi-fidelity study: each planned trial runs once at each level, and no configuration is
// promoted twice even though every worker decides promotions from the same stored trials.
TEST(WorkerLoopTest, FidelityWorkersPromoteEachConfigurationOnce) {
  std::shared_ptr<Storage> storage = testing::NewTemporarySqliteStorage();
  ASSERT_NE(storage, nullptr);
  ASSERT_NE(NewStudy(storage, "mf"), nullptr);
  FidelityOptions fidelity;
  fidelity.levels = {{{"epochs", int64_t{1}}}, {{"epochs", int64_t{2}}}, {{"epochs", int64_t{4}}}};
  fidelity.start_trials = 12;
  fidelity.keep = 0.5;  // 12 -> 6 -> 3
  constexpr int kWorkers = 4;
  std::vector<std::thread> threads;
  std::vector<Status> results(kWorkers);
  for (int w = 0; w < kWorkers; ++w) {
    threads.emplace_back([&, w] {
      std::unique_ptr<Study> study = NewStudy(storage, "mf", 20 + w);
      WorkerLoopOptions options = FastOptions();
      options.fidelity = fidelity;
      options.fidelity_poll_interval = std::chrono::milliseconds(5);
      results[w] = RunWorkerLoop(*study, Square, options);
    });
  }
  for (auto& t : threads) t.join();
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
  std::unique_ptr<Study> reader = NewStudy(storage, "mf");
  ASSERT_OK_AND_ASSIGN(std::vector<FrozenTrial> trials, reader->GetTrials());
  std::vector<int> per_level(3, 0);
  std::set<int64_t> parents;
  for (const FrozenTrial& t : trials) {
    EXPECT_EQ(t.state, TrialState::kComplete) << "trial " << t.number;
    ++per_level[FidelityLevelOf(t)];
    if (FidelityLevelOf(t) > 0) {
      EXPECT_TRUE(parents.insert(FidelityParentOf(t)).second) << "trial " << t.number;
    }
  }
  EXPECT_THAT(per_level, ElementsAre(12, 6, 3));
}

TEST(WorkerLoopTest, StaleTrialIsFailedAndRetriedWithItsParams) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> storage, OpenStorage("memory://"));
  std::unique_ptr<Study> study = NewStudy(storage, "s");
  // A trial whose worker died: RUNNING, a parameter, one heartbeat long ago.
  ASSERT_OK_AND_ASSIGN(TrialId abandoned, storage->CreateNewTrial(study->id()));
  ASSERT_OK(storage->SetTrialParam(abandoned, "x", 0.25, FloatDistribution{-1.0, 1.0}));
  ASSERT_OK(storage->RecordHeartbeat(abandoned));
  // A RUNNING trial without heartbeats (an older worker's) is left alone.
  ASSERT_OK_AND_ASSIGN(TrialId silent, storage->CreateNewTrial(study->id()));
  std::this_thread::sleep_for(std::chrono::milliseconds(400));

  WorkerLoopOptions options = FastOptions();
  options.retry.max_retries = 1;
  options.study_n_trials = 4;  // 2 above, 2 more: the retry stands in for the failed trial, so 3 new + the retry
  std::vector<int64_t> reported;
  options.on_stale_trials_failed = [&](const std::vector<int64_t>& n) {
    reported.insert(reported.end(), n.begin(), n.end());
  };
  ASSERT_OK(RunWorkerLoop(*study, Square, options));
  EXPECT_THAT(reported, ElementsAre(0));

  ASSERT_OK_AND_ASSIGN(std::vector<FrozenTrial> trials, study->GetTrials());
  ASSERT_EQ(trials.size(), 5u);
  EXPECT_EQ(trials[0].state, TrialState::kFail);
  EXPECT_EQ(trials[0].system_attrs.at(std::string(kFailReasonAttr)), kStaleHeartbeatReason);
  EXPECT_EQ(trials[1].state, TrialState::kRunning);
  EXPECT_EQ(trials[1].trial_id, silent);
  // The retry: trial 2, the same x, linked to trial 0 as Optuna's RetryFailedTrialCallback links it.
  EXPECT_EQ(trials[2].state, TrialState::kComplete);
  EXPECT_EQ(trials[2].params.at("x"), 0.25);
  EXPECT_EQ(trials[2].values, std::vector<double>{0.0625});
  EXPECT_EQ(trials[2].system_attrs.at(std::string(kFailedTrialAttr)), 0);
  EXPECT_EQ(trials[2].system_attrs.at(std::string(kRetryHistoryAttr)), Json::array({0}));
  EXPECT_FALSE(trials[2].system_attrs.count(std::string(kFailReasonAttr)));
  EXPECT_EQ(trials[3].state, TrialState::kComplete);
  EXPECT_EQ(trials[4].state, TrialState::kComplete);
  ASSERT_OK_AND_ASSIGN(int64_t counted, StudyBudgetCount(*storage, study->id()));
  EXPECT_EQ(counted, 4);
}

TEST(WorkerLoopTest, RetriesStopAfterMaxRetriesAlongTheChain) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> storage, OpenStorage("memory://"));
  std::unique_ptr<Study> study = NewStudy(storage, "s");
  FrozenTrial failed;
  failed.number = 7;
  failed.params["x"] = 0.5;
  failed.distributions.emplace("x", FloatDistribution{-1.0, 1.0});
  failed.system_attrs[std::string(kFailedTrialAttr)] = 3;
  failed.system_attrs[std::string(kRetryHistoryAttr)] = Json::array({3});
  failed.system_attrs[std::string(kFailReasonAttr)] = "killed by signal 9 (SIGKILL)";
  ASSERT_OK_AND_ASSIGN(bool second, EnqueueRetry(*storage, study->id(), failed, RetryPolicy{2}));
  EXPECT_TRUE(second);
  ASSERT_OK_AND_ASSIGN(std::vector<FrozenTrial> waiting, study->GetTrials(std::vector{TrialState::kWaiting}));
  ASSERT_EQ(waiting.size(), 1u);
  EXPECT_EQ(waiting[0].system_attrs.at(std::string(kFailedTrialAttr)), 3);
  EXPECT_EQ(waiting[0].system_attrs.at(std::string(kRetryHistoryAttr)), Json::array({3, 7}));
  // A third run of the chain would exceed max_retries 2.
  failed.number = 9;
  failed.system_attrs[std::string(kRetryHistoryAttr)] = Json::array({3, 7});
  ASSERT_OK_AND_ASSIGN(bool third, EnqueueRetry(*storage, study->id(), failed, RetryPolicy{2}));
  EXPECT_FALSE(third);
  ASSERT_OK_AND_ASSIGN(bool never, EnqueueRetry(*storage, study->id(), failed, RetryPolicy{0}));
  EXPECT_FALSE(never);
}

TEST(WorkerLoopTest, HeartbeatsKeepALongTrialFresh) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> storage, OpenStorage("memory://"));
  std::unique_ptr<Study> study = NewStudy(storage, "s");
  std::vector<TrialId> stale_during_trial = {-1};
  auto slow = [&](Trial& trial) -> Result<std::vector<double>> {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // well past the 0.3 s grace period
    DIAL_ASSIGN_OR_RETURN(stale_during_trial, storage->GetStaleTrialIds(study->id(), Seconds(0.3)));
    return Square(trial);
  };
  WorkerLoopOptions options = FastOptions();
  options.n_trials = 1;
  ASSERT_OK(RunWorkerLoop(*study, slow, options));
  EXPECT_TRUE(stale_during_trial.empty());
  ASSERT_OK_AND_ASSIGN(std::vector<FrozenTrial> trials, study->GetTrials());
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].state, TrialState::kComplete);
}

TEST(WorkerLoopTest, StopFlagFailsTheRunningTrialAsInterrupted) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> storage, OpenStorage("memory://"));
  std::unique_ptr<Study> study = NewStudy(storage, "s");
  std::atomic<bool> stop{false};
  auto stopped_midway = [&](Trial& trial) -> Result<std::vector<double>> {
    DIAL_RETURN_IF_ERROR(Square(trial).status());
    stop = true;  // as the signal handler would
    return Cancelled("interrupted");
  };
  WorkerLoopOptions options = FastOptions();
  options.stop_flag = &stop;
  Status status = RunWorkerLoop(*study, stopped_midway, options);
  EXPECT_EQ(status.code(), StatusCode::kCancelled);
  ASSERT_OK_AND_ASSIGN(std::vector<FrozenTrial> trials, study->GetTrials());
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].state, TrialState::kFail);
  EXPECT_EQ(trials[0].system_attrs.at(std::string(kFailReasonAttr)), kInterruptedReason);
}

TEST(WorkerLoopTest, OptionsAreValidated) {
  WorkerLoopOptions options;
  options.grace_period = Seconds(10);
  options.heartbeat_interval = Seconds(10);
  EXPECT_EQ(options.Validate().code(), StatusCode::kInvalidArgument);
  options.grace_period = Seconds(20);
  EXPECT_TRUE(options.Validate().ok());
  options.study_n_trials = 0;
  EXPECT_EQ(options.Validate().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace dial
