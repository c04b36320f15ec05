// A worker for storage_multiprocess_test: runs N random-sampler trials of one study through the Study API on a
// shared storage, as one `dial tune` process among several would. Exits 0 when every trial completed.
//
//   storage_multiprocess_worker URL STUDY N_TRIALS SEED
#include <iostream>
#include <string>

#include "dial/study.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: storage_multiprocess_worker URL STUDY N_TRIALS SEED\n";
    return 2;
  }
  auto storage = dial::OpenStorage(argv[1]);
  if (!storage.ok()) {
    std::cerr << "open: " << storage.status().ToString() << "\n";
    return 1;
  }
  dial::StudyOptions options;
  options.study_name = argv[2];
  options.sampler = "random";
  options.seed = std::stoull(argv[4]);
  options.load_if_exists = true;  // all workers start at once: one creates the study, the others load it
  auto study = dial::Study::Create(*storage, options);
  if (!study.ok()) {
    std::cerr << "create: " << study.status().ToString() << "\n";
    return 1;
  }
  int failed = 0;
  dial::OptimizeOptions optimize;
  optimize.n_trials = std::stoll(argv[3]);
  optimize.on_trial_finished = [&failed](dial::Study&, const dial::FrozenTrial& t) {
    if (t.state != dial::TrialState::kComplete) ++failed;
  };
  dial::Status status = (*study)->Optimize(
      [](dial::Trial& trial) -> dial::Result<std::vector<double>> {
        DIAL_ASSIGN_OR_RETURN(double x, trial.SuggestFloat("x", -10.0, 10.0));
        DIAL_ASSIGN_OR_RETURN(int64_t layers, trial.SuggestInt("layers", 1, 8));
        DIAL_RETURN_IF_ERROR(trial.Report(0, x * x));
        return std::vector<double>{x * x + static_cast<double>(layers)};
      },
      optimize);
  if (!status.ok()) {
    std::cerr << "optimize: " << status.ToString() << "\n";
    return 1;
  }
  if (failed > 0) {
    std::cerr << failed << " trials did not complete\n";
    return 1;
  }
  return 0;
}
