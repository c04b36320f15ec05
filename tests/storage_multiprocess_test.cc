// Many processes on one SQLite file: 8 workers (storage_multiprocess_worker) each run 50 trials of one study
// at once. Every trial must complete, numbered 0..399 each exactly once, with no "database is locked" error.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "dial/storage.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;

constexpr int kWorkers = 8;
constexpr int kTrialsPerWorker = 50;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(StorageMultiprocessTest, EightWorkersShareOneSqliteStudy) {
  std::string pattern = (fs::temp_directory_path() / "dial_multiprocess_XXXXXX").string();
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  const fs::path dir = pattern;
  const std::string url = "sqlite:///" + (dir / "shared.db").string();

  std::vector<pid_t> pids;
  for (int w = 0; w < kWorkers; ++w) {
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const std::string log = (dir / ("worker" + std::to_string(w) + ".log")).string();
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::vector<std::string> args = {DIAL_MULTIPROCESS_WORKER, url, "shared", std::to_string(kTrialsPerWorker),
                                     std::to_string(1000 + w)};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ASSERT_EQ(rc, 0) << "cannot start " << argv[0];
    pids.push_back(pid);
  }
  for (int w = 0; w < kWorkers; ++w) {
    int status = 0;
    ASSERT_EQ(waitpid(pids[w], &status, 0), pids[w]);
    std::string log = ReadFile(dir / ("worker" + std::to_string(w) + ".log"));
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "worker " << w << " failed:\n" << log;
    EXPECT_EQ(log.find("locked"), std::string::npos) << "worker " << w << ":\n" << log;
  }

  auto storage = dial::OpenStorage(url);
  ASSERT_TRUE(storage.ok()) << storage.status().ToString();
  auto study = (*storage)->GetStudyIdFromName("shared");
  ASSERT_TRUE(study.ok()) << study.status().ToString();
  auto trials = (*storage)->GetAllTrials(*study);
  ASSERT_TRUE(trials.ok()) << trials.status().ToString();
  ASSERT_EQ(trials->size(), static_cast<size_t>(kWorkers * kTrialsPerWorker));
  std::set<int64_t> numbers;
  for (const dial::FrozenTrial& t : *trials) {
    EXPECT_EQ(t.state, dial::TrialState::kComplete) << "trial " << t.number;
    EXPECT_EQ(t.values.size(), 1u) << "trial " << t.number;
    EXPECT_EQ(t.params.size(), 2u) << "trial " << t.number;
    numbers.insert(t.number);
  }
  EXPECT_EQ(numbers.size(), static_cast<size_t>(kWorkers * kTrialsPerWorker));
  EXPECT_EQ(*numbers.begin(), 0);
  EXPECT_EQ(*numbers.rbegin(), kWorkers * kTrialsPerWorker - 1);
  storage->reset();
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
