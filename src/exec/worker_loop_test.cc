// Tests of the worker loop, heartbeats and retries, in one process: several loops sharing a study budget, stale trials
// failed and retried with Optuna's link attributes, heartbeats that keep a long trial alive, and the stop flag.
#include "exec/worker_loop.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
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
  // A RUNNING trial that never beat, started longer than the grace period ago: its worker died before its first
  // beat (a full disk), since every dial worker beats from the start. Stale too (before issue 19 it stayed RUNNING).
  ASSERT_OK_AND_ASSIGN(TrialId silent, storage->CreateNewTrial(study->id()));
  std::this_thread::sleep_for(std::chrono::milliseconds(400));

  WorkerLoopOptions options = FastOptions();
  options.retry.max_retries = 1;
  options.study_n_trials = 4;  // 2 above, 2 more: each retry stands in for its failed trial, so 2 new + 2 retries
  std::vector<int64_t> reported;
  options.on_stale_trials_failed = [&](const std::vector<int64_t>& n) {
    reported.insert(reported.end(), n.begin(), n.end());
  };
  ASSERT_OK(RunWorkerLoop(*study, Square, options));
  EXPECT_THAT(reported, ElementsAre(0, 1));

  ASSERT_OK_AND_ASSIGN(std::vector<FrozenTrial> trials, study->GetTrials());
  ASSERT_EQ(trials.size(), 6u);
  EXPECT_EQ(trials[0].state, TrialState::kFail);
  EXPECT_EQ(trials[0].system_attrs.at(std::string(kFailReasonAttr)), kStaleHeartbeatReason);
  EXPECT_EQ(trials[1].state, TrialState::kFail);
  EXPECT_EQ(trials[1].trial_id, silent);
  EXPECT_EQ(trials[1].system_attrs.at(std::string(kFailReasonAttr)), kStaleHeartbeatReason);
  // The retry: trial 2, the same x, linked to trial 0 as Optuna's RetryFailedTrialCallback links it.
  EXPECT_EQ(trials[2].state, TrialState::kComplete);
  EXPECT_EQ(trials[2].params.at("x"), 0.25);
  EXPECT_EQ(trials[2].values, std::vector<double>{0.0625});
  EXPECT_EQ(trials[2].system_attrs.at(std::string(kFailedTrialAttr)), 0);
  EXPECT_EQ(trials[2].system_attrs.at(std::string(kRetryHistoryAttr)), Json::array({0}));
  EXPECT_FALSE(trials[2].system_attrs.count(std::string(kFailReasonAttr)));
  EXPECT_EQ(trials[3].state, TrialState::kComplete);
  EXPECT_EQ(trials[3].system_attrs.at(std::string(kFailedTrialAttr)), 1);
  EXPECT_EQ(trials[4].state, TrialState::kComplete);
  EXPECT_EQ(trials[5].state, TrialState::kComplete);
  ASSERT_OK_AND_ASSIGN(int64_t counted, StudyBudgetCount(*storage, study->id()));
  EXPECT_EQ(counted, 4);
}

// A storage that refuses to store a trial's COMPLETE state (as a full disk refuses the COMMIT of a tell) and does
// everything else: so that the worker's attempt to fail its trial before it ends can be seen.
class RefusesCompleteStorage final : public Storage {
 public:
  explicit RefusesCompleteStorage(std::shared_ptr<Storage> inner) : inner_(std::move(inner)) {}
  Status UpdateTrial(TrialId id, const TrialUpdate& update) override {
    if (update.state == TrialState::kComplete)
      return IoError("sqlite database 'x.db': COMMIT: database or disk is full");
    return inner_->UpdateTrial(id, update);
  }
  Result<StudyId> CreateNewStudy(const std::vector<StudyDirection>& d, const std::string& n) override {
    return inner_->CreateNewStudy(d, n);
  }
  Status DeleteStudy(StudyId id) override { return inner_->DeleteStudy(id); }
  Status SetStudyUserAttr(StudyId id, const std::string& k, const Json& v) override {
    return inner_->SetStudyUserAttr(id, k, v);
  }
  Status SetStudySystemAttr(StudyId id, const std::string& k, const Json& v) override {
    return inner_->SetStudySystemAttr(id, k, v);
  }
  Result<bool> SetStudySystemAttrIfAbsent(StudyId id, const std::string& k, const Json& v) override {
    return inner_->SetStudySystemAttrIfAbsent(id, k, v);
  }
  Result<StudyId> GetStudyIdFromName(const std::string& n) override { return inner_->GetStudyIdFromName(n); }
  Result<std::string> GetStudyNameFromId(StudyId id) override { return inner_->GetStudyNameFromId(id); }
  Result<std::vector<StudyDirection>> GetStudyDirections(StudyId id) override { return inner_->GetStudyDirections(id); }
  Result<AttrMap> GetStudyUserAttrs(StudyId id) override { return inner_->GetStudyUserAttrs(id); }
  Result<AttrMap> GetStudySystemAttrs(StudyId id) override { return inner_->GetStudySystemAttrs(id); }
  Result<std::vector<StudySummary>> GetAllStudies() override { return inner_->GetAllStudies(); }
  Result<TrialId> CreateNewTrial(StudyId id, const std::optional<FrozenTrial>& t) override {
    return inner_->CreateNewTrial(id, t);
  }
  Result<std::optional<TrialId>> CreateNewTrialIfFewerThan(StudyId id, int64_t max_trials) override {
    return inner_->CreateNewTrialIfFewerThan(id, max_trials);
  }
  Status SetTrialParam(TrialId id, const std::string& n, double v, const Distribution& d) override {
    return inner_->SetTrialParam(id, n, v, d);
  }
  Result<bool> SetTrialStateValues(TrialId id, TrialState state, const std::vector<double>& values) override {
    return inner_->SetTrialStateValues(id, state, values);
  }
  Status SetTrialIntermediateValue(TrialId id, int64_t step, double v) override {
    return inner_->SetTrialIntermediateValue(id, step, v);
  }
  Status SetTrialUserAttr(TrialId id, const std::string& k, const Json& v) override {
    return inner_->SetTrialUserAttr(id, k, v);
  }
  Status SetTrialSystemAttr(TrialId id, const std::string& k, const Json& v) override {
    return inner_->SetTrialSystemAttr(id, k, v);
  }
  Result<FrozenTrial> GetTrial(TrialId id) override { return inner_->GetTrial(id); }
  Result<std::vector<FrozenTrial>> GetAllTrials(StudyId id,
                                                const std::optional<std::vector<TrialState>>& states) override {
    return inner_->GetAllTrials(id, states);
  }
  Result<int64_t> GetNTrials(StudyId id, const std::optional<std::vector<TrialState>>& states) override {
    return inner_->GetNTrials(id, states);
  }
  Status RecordHeartbeat(TrialId id) override { return inner_->RecordHeartbeat(id); }
  Result<std::vector<TrialId>> GetStaleTrialIds(StudyId id, std::chrono::duration<double> grace) override {
    return inner_->GetStaleTrialIds(id, grace);
  }
  std::string url() const override { return inner_->url(); }

 private:
  std::shared_ptr<Storage> inner_;
};

// A worker that cannot store its trial's result ends with the storage's error, but fails the trial first when the
// storage still takes that write, rather than leave it RUNNING (issue 19: before, it stayed RUNNING).
TEST(WorkerLoopTest, StorageErrorFailsTheRunningTrialBeforeTheLoopEnds) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> memory, OpenStorage("memory://"));
  auto storage = std::make_shared<RefusesCompleteStorage>(memory);
  std::unique_ptr<Study> study = NewStudy(storage, "s");
  WorkerLoopOptions options = FastOptions();
  options.n_trials = 3;
  Status ended = RunWorkerLoop(*study, Square, options);
  EXPECT_EQ(ended.code(), StatusCode::kIoError) << ended.ToString();
  EXPECT_THAT(ended.message(), ::testing::HasSubstr("database or disk is full"));
  ASSERT_OK_AND_ASSIGN(std::vector<FrozenTrial> trials, memory->GetAllTrials(study->id()));
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].state, TrialState::kFail);
  EXPECT_THAT(trials[0].system_attrs.at(std::string(kFailReasonAttr)).get<std::string>(),
              ::testing::HasSubstr("storage error: sqlite database 'x.db': COMMIT: database or disk is full"));
}

// One trial loop (Study::RunTrial) under Study::Optimize and RunWorkerLoop: a tell that the storage refuses ends
// either loop with the storage's error after the trial is failed, never left RUNNING. (Before, Optimize returned the
// error and left the trial RUNNING while the worker failed it.)
using LoopRunner = std::function<Status(Study&, const ObjectiveFunction&, int64_t n_trials)>;

std::vector<std::pair<std::string, LoopRunner>> BothLoops() {
  return {{"Study::Optimize", [](Study& study, const ObjectiveFunction& objective,
                                 int64_t n_trials) { return study.Optimize(objective, {.n_trials = n_trials}); }},
          {"RunWorkerLoop", [](Study& study, const ObjectiveFunction& objective, int64_t n_trials) {
             WorkerLoopOptions options = FastOptions();
             options.n_trials = n_trials;
             return RunWorkerLoop(study, objective, options);
           }}};
}

TEST(WorkerLoopTest, BothLoopsFailTheTrialWhoseTellTheStorageRefuses) {
  for (const auto& [name, run] : BothLoops()) {
    SCOPED_TRACE(name);
    ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> memory, OpenStorage("memory://"));
    auto storage = std::make_shared<RefusesCompleteStorage>(memory);
    std::unique_ptr<Study> study = NewStudy(storage, "s");
    Status ended = run(*study, Square, 3);
    EXPECT_EQ(ended.code(), StatusCode::kIoError) << ended.ToString();
    EXPECT_THAT(ended.message(), ::testing::HasSubstr("database or disk is full"));
    ASSERT_OK_AND_ASSIGN(std::vector<FrozenTrial> trials, memory->GetAllTrials(study->id()));
    ASSERT_EQ(trials.size(), 1u);
    EXPECT_EQ(trials[0].state, TrialState::kFail);
    ASSERT_TRUE(trials[0].system_attrs.count(std::string(kFailReasonAttr)));
    EXPECT_THAT(trials[0].system_attrs.at(std::string(kFailReasonAttr)).get<std::string>(),
                ::testing::HasSubstr("stopped on a storage error: sqlite database 'x.db': COMMIT"));
  }
}

// A trial that another process finished meanwhile (failed as stale: its tell is refused with FailedPrecondition) is
// not this loop's to store: both loops skip it and go on, and do not call on_trial_finished for it. (Before, Optimize
// ended with the FailedPrecondition.)
TEST(WorkerLoopTest, BothLoopsSkipATrialThatAnotherProcessFinishedMeanwhile) {
  for (const auto& [name, run] : BothLoops()) {
    SCOPED_TRACE(name);
    ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> storage, OpenStorage("memory://"));
    std::unique_ptr<Study> study = NewStudy(storage, "s");
    auto failed_by_another = [&](Trial& trial) -> Result<std::vector<double>> {
      DIAL_ASSIGN_OR_RETURN(std::vector<double> values, Square(trial));
      if (trial.number() == 0) {
        Storage::TrialUpdate update;
        update.state = TrialState::kFail;
        update.system_attrs.emplace_back(std::string(kFailReasonAttr), kStaleHeartbeatReason);
        DIAL_RETURN_IF_ERROR(storage->UpdateTrial(trial.id(), update));
      }
      return values;
    };
    ASSERT_OK(run(*study, failed_by_another, 3));
    ASSERT_OK_AND_ASSIGN(std::vector<FrozenTrial> trials, study->GetTrials());
    ASSERT_EQ(trials.size(), 3u);
    EXPECT_EQ(trials[0].state, TrialState::kFail);
    EXPECT_EQ(trials[0].system_attrs.at(std::string(kFailReasonAttr)), kStaleHeartbeatReason);
    EXPECT_EQ(trials[1].state, TrialState::kComplete);
    EXPECT_EQ(trials[2].state, TrialState::kComplete);
  }
}

TEST(WorkerLoopTest, TrialThatNeverBeatIsLeftAloneWithinTheGracePeriod) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> storage, OpenStorage("memory://"));
  std::unique_ptr<Study> study = NewStudy(storage, "s");
  ASSERT_OK_AND_ASSIGN(TrialId id, storage->CreateNewTrial(study->id()));  // just started: its first beat is near
  ASSERT_OK_AND_ASSIGN(std::vector<int64_t> failed, FailStaleTrials(*storage, study->id(), Seconds(60), RetryPolicy{}));
  EXPECT_TRUE(failed.empty());
  ASSERT_OK_AND_ASSIGN(FrozenTrial trial, storage->GetTrial(id));
  EXPECT_EQ(trial.state, TrialState::kRunning);
}

// Two runs on one study, each with its own run budget of 3 (run A of two workers, run B of one): each creates its own
// 3 trials, 6 in all, and a worker whose run is spent ends at once.
TEST(WorkerLoopTest, EachRunCreatesItsOwnBudgetOfTrials) {
  std::shared_ptr<Storage> storage = testing::NewTemporarySqliteStorage();
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RunBudget> run_a, RunBudget::Create(3));
  ASSERT_OK_AND_ASSIGN(std::unique_ptr<RunBudget> run_b, RunBudget::Create(3));
  std::vector<std::unique_ptr<RunBudget>> opened;
  for (RunBudget* run : {run_a.get(), run_a.get(), run_b.get()}) {
    ASSERT_OK_AND_ASSIGN(std::unique_ptr<RunBudget> budget, RunBudget::Open(run->path(), run->n_trials()));
    opened.push_back(std::move(budget));
  }
  std::vector<std::thread> threads;
  std::vector<Status> results(opened.size(), Status::Ok());
  for (size_t i = 0; i < opened.size(); ++i) {
    threads.emplace_back([&, i] {
      std::unique_ptr<Study> study = NewStudy(storage, "runs", i + 1);
      WorkerLoopOptions options = FastOptions();
      options.run_budget = opened[i].get();
      results[i] = RunWorkerLoop(*study, Square, options);
    });
  }
  for (std::thread& t : threads) t.join();
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
  ASSERT_OK_AND_ASSIGN(StudyId id, storage->GetStudyIdFromName("runs"));
  ASSERT_OK_AND_ASSIGN(int64_t n, storage->GetNTrials(id));
  EXPECT_EQ(n, 6);
  ASSERT_OK_AND_ASSIGN(int64_t used_a, run_a->Used());
  ASSERT_OK_AND_ASSIGN(int64_t used_b, run_b->Used());
  EXPECT_EQ(used_a, 3);
  EXPECT_EQ(used_b, 3);
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
