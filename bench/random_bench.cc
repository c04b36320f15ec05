// dial's side of the random-sampler benchmark: opens a storage, creates a study and runs N trials of a
// built-in function with the random sampler, then prints one JSON line with the wall time. The Optuna side is
// optuna_random.py; random_vs_optuna.py runs both in turn and prints the ratio.
//
//   dial_bench_random --storage memory|sqlite --function hartmann6 --trials 1000 --seed 0
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "dial/functions.h"
#include "dial/study.h"

namespace {

constexpr int kWarmupTrials = 10;  // the same untimed warm-up the Optuna script does

struct Args {
  std::string storage = "memory";
  std::string function = "hartmann6";
  int64_t trials = 1000;
  uint64_t seed = 0;
};

bool ParseArgs(int argc, char** argv, Args* args) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    const std::string value = argv[i + 1];
    if (key == "--storage") {
      args->storage = value;
    } else if (key == "--function") {
      args->function = value;
    } else if (key == "--trials") {
      args->trials = std::stoll(value);
    } else if (key == "--seed") {
      args->seed = std::stoull(value);
    } else {
      std::cerr << "unknown argument " << key << "\n";
      return false;
    }
  }
  if (argc % 2 == 0) {
    std::cerr
        << "usage: dial_bench_random [--storage memory|sqlite|sqlite-full] [--function NAME] [--trials N] [--seed S]\n";
    return false;
  }
  return args->storage == "memory" || args->storage == "sqlite" || args->storage == "sqlite-full";
}

// A fresh SQLite file in the temporary folder, removed (with its WAL and shared-memory files) on destruction.
class TempDatabase {
 public:
  TempDatabase() {
    std::string pattern = (std::filesystem::temp_directory_path() / "dial-bench-XXXXXX").string();
    const int fd = mkstemp(pattern.data());
    if (fd >= 0) close(fd);
    path_ = pattern + ".db";
    std::filesystem::remove(pattern);
  }
  ~TempDatabase() {
    for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::filesystem::remove(path_ + suffix);
  }
  std::string url() const { return "sqlite:///" + path_; }  // path_ is absolute: sqlite:////tmp/...

 private:
  std::string path_;
};

struct RunResult {
  double seconds = 0;
  int64_t complete = 0;
  double best = 0;
};

// Opens the storage, creates the study and runs the trials: the span timed on both sides.
dial::Result<RunResult> Run(const std::string& url, const dial::BenchmarkFunction& f, int64_t trials, uint64_t seed) {
  const auto start = std::chrono::steady_clock::now();
  DIAL_ASSIGN_OR_RETURN(std::shared_ptr<dial::Storage> storage, dial::OpenStorage(url));
  dial::StudyOptions options;
  options.study_name = "bench-random";
  options.sampler = "random";
  options.seed = seed;
  DIAL_ASSIGN_OR_RETURN(std::unique_ptr<dial::Study> study, dial::Study::Create(storage, options));
  const std::vector<std::string> names = [&] {
    std::vector<std::string> n;
    for (int j = 0; j < f.dim; ++j) n.push_back("x" + std::to_string(j));
    return n;
  }();
  dial::OptimizeOptions optimize;
  optimize.n_trials = trials;
  DIAL_RETURN_IF_ERROR(study->Optimize(
      [&](dial::Trial& trial) -> dial::Result<std::vector<double>> {
        std::vector<double> x(f.dim);
        for (int j = 0; j < f.dim; ++j) {
          DIAL_ASSIGN_OR_RETURN(x[j], trial.SuggestFloat(names[j], f.lower[j], f.upper[j]));
        }
        return std::vector<double>{f.evaluate(x)};
      },
      optimize));
  const auto stop = std::chrono::steady_clock::now();
  RunResult r;
  r.seconds = std::chrono::duration<double>(stop - start).count();
  DIAL_ASSIGN_OR_RETURN(int64_t complete,
                        storage->GetNTrials(study->id(), std::vector<dial::TrialState>{dial::TrialState::kComplete}));
  r.complete = complete;
  DIAL_ASSIGN_OR_RETURN(dial::FrozenTrial best, study->BestTrial());
  r.best = best.values.at(0);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  if (!ParseArgs(argc, argv, &args)) return 2;
  auto f = dial::FindBenchmarkFunction(args.function);
  if (!f.ok()) {
    std::cerr << f.status().ToString() << "\n";
    return 2;
  }
  auto url_for_run = [&](std::unique_ptr<TempDatabase>* db) {
    if (args.storage == "memory") return std::string("memory://");
    *db = std::make_unique<TempDatabase>();
    // sqlite-full: fsync on every commit, the durability Optuna's default SQLite setup has.
    return (*db)->url() + (args.storage == "sqlite-full" ? "?synchronous=full" : "");
  };
  std::unique_ptr<TempDatabase> warm_db;
  auto warm = Run(url_for_run(&warm_db), *f, kWarmupTrials, args.seed);
  if (!warm.ok()) {
    std::cerr << "warm-up: " << warm.status().ToString() << "\n";
    return 1;
  }
  std::unique_ptr<TempDatabase> db;
  auto result = Run(url_for_run(&db), *f, args.trials, args.seed);
  if (!result.ok()) {
    std::cerr << result.status().ToString() << "\n";
    return 1;
  }
  nlohmann::json line = {{"impl", "dial"},        {"storage", args.storage},      {"function", args.function},
                         {"trials", args.trials}, {"complete", result->complete}, {"seconds", result->seconds},
                         {"best", result->best}};
  std::cout << line.dump() << std::endl;
  return 0;
}
