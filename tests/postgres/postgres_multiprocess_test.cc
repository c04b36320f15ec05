// Many processes on one PostgreSQL study: 16 workers (tests/storage_multiprocess_worker) each run 25 trials at once
// through the Study API; then dial and Optuna workers together. Every trial must complete, numbered 0..n-1 each
// exactly once, and no worker may fail.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "dial/storage.h"
#include "postgres_test_util.h"

extern char** environ;

namespace dial::testing {
namespace {

namespace fs = std::filesystem;

constexpr int kWorkers = 16;
constexpr int kTrialsPerWorker = 25;

constexpr int kMixedDialWorkers = 6;
constexpr int kMixedOptunaWorkers = 2;

// An Optuna 3.1 worker: the same objective as storage_multiprocess_worker, through Optuna's own RDB storage.
constexpr const char* kOptunaWorker = R"py(
import sys
import optuna
optuna.logging.set_verbosity(optuna.logging.ERROR)
url, name, n_trials, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
study = optuna.load_study(study_name=name, storage=url, sampler=optuna.samplers.RandomSampler(seed=seed))
def objective(trial):
    x = trial.suggest_float("x", -10.0, 10.0)
    layers = trial.suggest_int("layers", 1, 8)
    trial.report(x * x, 0)
    return x * x + layers
study.optimize(objective, n_trials=n_trials)
)py";

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Processes started at once, each with its stderr in DIR/worker<i>.log; Wait checks that each exited 0 with no
// error in its log.
class Workers {
 public:
  explicit Workers(fs::path dir) : dir_(std::move(dir)) {}

  void Start(std::vector<std::string> args) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string log = Log(pids_.size()).string();
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ASSERT_EQ(rc, 0) << "cannot start " << argv[0];
    pids_.push_back(pid);
  }

  void Wait() {
    for (size_t w = 0; w < pids_.size(); ++w) {
      int status = 0;
      ASSERT_EQ(waitpid(pids_[w], &status, 0), pids_[w]);
      std::string log = ReadFile(Log(w));
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "worker " << w << " failed:\n" << log;
      EXPECT_EQ(log.find("rror"), std::string::npos) << "worker " << w << ":\n" << log;
    }
  }

 private:
  fs::path Log(size_t w) const { return dir_ / ("worker" + std::to_string(w) + ".log"); }

  fs::path dir_;
  std::vector<pid_t> pids_;
};

// Every trial of `study_name` COMPLETE with two parameters and one value, numbered 0..n-1 each exactly once.
void ExpectCompleteAndNumberedOnce(const std::string& url, const std::string& study_name, int n) {
  auto storage = OpenStorage(url);
  ASSERT_TRUE(storage.ok()) << storage.status().ToString();
  auto study = (*storage)->GetStudyIdFromName(study_name);
  ASSERT_TRUE(study.ok()) << study.status().ToString();
  auto trials = (*storage)->GetAllTrials(*study);
  ASSERT_TRUE(trials.ok()) << trials.status().ToString();
  ASSERT_EQ(trials->size(), static_cast<size_t>(n));
  std::set<int64_t> numbers;
  for (const FrozenTrial& t : *trials) {
    EXPECT_EQ(t.state, TrialState::kComplete) << "trial " << t.number;
    EXPECT_EQ(t.values.size(), 1u) << "trial " << t.number;
    EXPECT_EQ(t.params.size(), 2u) << "trial " << t.number;
    numbers.insert(t.number);
  }
  EXPECT_EQ(numbers.size(), static_cast<size_t>(n));
  EXPECT_EQ(*numbers.begin(), 0);
  EXPECT_EQ(*numbers.rbegin(), n - 1);
}

class PostgresMultiprocessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::string> url = CreateTestDatabase("multiprocess");
    ASSERT_TRUE(url.ok()) << url.status().ToString();
    url_ = *url;
    std::string pattern = (fs::temp_directory_path() / "dial_pg_multiprocess_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    if (!url_.empty()) EXPECT_TRUE(DropTestDatabase(url_).ok());
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

  std::string url_;
  fs::path dir_;
};

TEST_F(PostgresMultiprocessTest, SixteenWorkersShareOneStudy) {
  // All workers start at once on an empty database: they also race to create the schema and the study.
  const auto start = std::chrono::steady_clock::now();
  Workers workers(dir_);
  for (int w = 0; w < kWorkers; ++w) {
    workers.Start(
        {DIAL_MULTIPROCESS_WORKER, url_, "shared", std::to_string(kTrialsPerWorker), std::to_string(2000 + w)});
  }
  workers.Wait();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << kWorkers << " workers x " << kTrialsPerWorker << " trials: " << seconds << " s ("
            << kWorkers * kTrialsPerWorker / seconds << " trials/s)\n";
  ExpectCompleteAndNumberedOnce(url_, "shared", kWorkers * kTrialsPerWorker);
}

// dial and Optuna workers on one study at once: both number trials under a lock on the study's row, so the numbers
// stay unique and gap-free across the two implementations.
TEST_F(PostgresMultiprocessTest, DialAndOptunaWorkersShareOneStudy) {
  {
    auto storage = OpenStorage(url_);  // the schema and the study exist before the workers start
    ASSERT_TRUE(storage.ok()) << storage.status().ToString();
    ASSERT_TRUE((*storage)->CreateNewStudy({StudyDirection::kMinimize}, "mixed").ok());
  }
  Workers workers(dir_);
  for (int w = 0; w < kMixedDialWorkers; ++w) {
    workers.Start(
        {DIAL_MULTIPROCESS_WORKER, url_, "mixed", std::to_string(kTrialsPerWorker), std::to_string(3000 + w)});
  }
  for (int w = 0; w < kMixedOptunaWorkers; ++w) {
    workers.Start({DIAL_OPTUNA_PYTHON, "-c", kOptunaWorker, url_, "mixed", std::to_string(kTrialsPerWorker),
                   std::to_string(4000 + w)});
  }
  workers.Wait();
  ExpectCompleteAndNumberedOnce(url_, "mixed", (kMixedDialWorkers + kMixedOptunaWorkers) * kTrialsPerWorker);
}

}  // namespace
}  // namespace dial::testing
