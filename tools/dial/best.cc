// `dial best --study S`: the best trial's params as a YAML block ready to paste into a training config; for
// several objectives, one block per trial of the Pareto set.
#include <iostream>

#include "cli.h"
#include "dial/study.h"

namespace dial::cli {
namespace {

struct BestArgs {
  std::string storage;
  std::string config;
  std::string study;
};

std::string ValuesText(const std::vector<std::string>& metrics, const std::vector<double>& values) {
  std::string out;
  for (size_t k = 0; k < values.size() && k < metrics.size(); ++k) {
    out += (out.empty() ? "" : ", ") + metrics[k] + " " + FormatShort(values[k]);
  }
  return out;
}

void PrintParams(const FrozenTrial& trial) {
  for (const auto& [name, value] : trial.ExternalParams()) {
    std::cout << ParamValueToYaml(ParamValue(name)) << ": " << ParamValueToYaml(value) << "\n";
  }
}

int RunBest(const BestArgs& args) {
  Result<OpenedStudy> opened = OpenExistingStudy(args.storage, args.config, args.study);
  if (!opened.ok()) return ReportError(opened.status());
  Storage* const storage = opened->storage.get();
  const StudyId id = opened->id;
  const std::string& name = opened->name;
  Result<std::vector<StudyDirection>> directions = storage->GetStudyDirections(id);
  if (!directions.ok()) return ReportError(directions.status());
  const std::vector<std::string> metrics = MetricNames(*storage, id, directions->size());
  Result<int64_t> n_trials = storage->GetNTrials(id);
  if (!n_trials.ok()) return ReportError(n_trials.status());

  if (directions->size() == 1) {
    Result<FrozenTrial> best = GetBestTrial(*storage, id);
    if (!best.ok()) {
      if (best.status().code() == StatusCode::kNotFound) {
        return ReportError(NotFound("study '" + name + "' has no COMPLETE trial yet (" + std::to_string(*n_trials) +
                                    " trial(s) in all)"));
      }
      return ReportError(best.status());
    }
    std::cout << "# study '" << name << "': best of " << *n_trials << " trial(s) is trial " << best->number << ", "
              << ValuesText(metrics, best->values) << "\n";
    PrintParams(*best);
    std::cout.flush();
    return std::cout.good() ? kExitOk : kExitFailure;
  }
  Result<std::vector<FrozenTrial>> front = GetBestTrials(*storage, id);
  if (!front.ok()) return ReportError(front.status());
  if (front->empty()) return ReportError(NotFound("study '" + name + "' has no COMPLETE trial yet"));
  std::cout << "# study '" << name << "': " << front->size() << " Pareto-optimal trial(s) of " << *n_trials
            << "; one block per trial\n";
  for (const FrozenTrial& t : *front) {
    std::cout << "\n# trial " << t.number << ": " << ValuesText(metrics, t.values) << "\n";
    PrintParams(t);
  }
  std::cout.flush();
  return std::cout.good() ? kExitOk : kExitFailure;
}

}  // namespace

Command AddBestCommand(CLI::App& app) {
  auto args = std::make_shared<BestArgs>();
  CLI::App* sub = app.add_subcommand("best", "Print the best params as YAML (the Pareto set for several objectives)");
  AddStudyOptions(sub, &args->storage, &args->config, &args->study);
  return {sub, [args] { return RunBest(*args); }};
}

}  // namespace dial::cli
