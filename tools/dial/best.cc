// `dial best --study S`: the best trial's params as a YAML block ready to paste into a training config; for
// several objectives, one block per trial of the Pareto set. When the study file is known (--config, or the copy
// dial tune stored in the study), its fixed values and the trial's fidelity-level values come first, so the block
// is a whole training config; in a multi-fidelity study the best is taken among the highest level's trials.
#include <iostream>
#include <optional>

#include "cli.h"
#include "dial/fidelity.h"
#include "dial/study.h"
#include "dial/study_config.h"

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

void PrintValue(const std::string& name, const ParamValue& value) {
  std::cout << ParamValueToYaml(ParamValue(name)) << ": " << ParamValueToYaml(value) << "\n";
}

// The fixed values and the trial's level values (when the study file is known), then its searched params.
void PrintParams(const FrozenTrial& trial, const std::optional<StudyConfig>& config) {
  const std::map<std::string, ParamValue> params = trial.ExternalParams();
  if (config && !config->fixed.empty()) {
    std::cout << "# fixed in the study file\n";
    for (const auto& [name, value] : config->fixed) PrintValue(name, value);
  }
  if (config && config->fidelity) {
    const int level = FidelityLevelOf(trial);
    if (level >= 0 && level < static_cast<int>(config->fidelity->levels.size())) {
      std::cout << "# fidelity level " << level << "\n";
      for (const auto& [name, value] : config->fidelity->levels[level]) PrintValue(name, value);
    }
  }
  if (config && (!config->fixed.empty() || config->fidelity)) std::cout << "# tuned\n";
  for (const auto& [name, value] : params) PrintValue(name, value);
}

// The study file: --config when given, else the copy stored at creation; none when neither parses (then only the
// searched params are printed).
std::optional<StudyConfig> StudyFileOf(Storage& storage, StudyId id, const std::string& name,
                                       const std::string& config_path) {
  if (!config_path.empty()) {
    Result<StudyConfig> loaded = LoadStudyConfig(config_path);
    if (loaded.ok()) return std::move(*loaded);
    std::cerr << "dial best: note: " << loaded.status().message() << "; printing the searched params only\n";
    return std::nullopt;
  }
  Result<StudyConfig> parsed = StoredStudyFile(storage, id, name);
  if (!parsed.ok()) {
    if (parsed.status().code() != StatusCode::kFailedPrecondition) {
      std::cerr << "dial best: note: the stored study file no longer validates (" << parsed.status().message()
                << "); printing the searched params only\n";
    }
    return std::nullopt;
  }
  return std::move(*parsed);
}

// The best COMPLETE trial at the highest fidelity level any COMPLETE trial reached; NotFound when none is COMPLETE.
Result<FrozenTrial> BestAtTopLevel(Storage& storage, StudyId id, StudyDirection direction, int* top_level) {
  DIAL_ASSIGN_OR_RETURN(std::vector<FrozenTrial> trials, storage.GetAllTrials(id));
  const FrozenTrial* best = nullptr;
  *top_level = -1;
  for (const FrozenTrial& t : trials) {
    if (t.state != TrialState::kComplete || t.values.empty()) continue;
    *top_level = std::max(*top_level, FidelityLevelOf(t));
  }
  for (const FrozenTrial& t : trials) {
    if (t.state != TrialState::kComplete || t.values.empty() || FidelityLevelOf(t) != *top_level) continue;
    const bool better = best == nullptr || (direction == StudyDirection::kMinimize ? t.values[0] < best->values[0]
                                                                                   : t.values[0] > best->values[0]);
    if (better) best = &t;
  }
  if (best == nullptr) return NotFound("no COMPLETE trial");
  return *best;
}

int RunBest(const BestArgs& args) {
  Result<OpenedStudy> opened = OpenStudyForReading(args.storage, args.config, args.study);
  if (!opened.ok()) return ReportError(opened.status());
  Storage* const storage = opened->storage.get();
  const StudyId id = opened->id;
  const std::string& name = opened->name;
  Result<std::vector<StudyDirection>> directions = storage->GetStudyDirections(id);
  if (!directions.ok()) return ReportError(directions.status());
  const std::vector<std::string> metrics = MetricNames(*storage, id, directions->size());
  Result<int64_t> n_trials = storage->GetNTrials(id);
  if (!n_trials.ok()) return ReportError(n_trials.status());

  const std::optional<StudyConfig> config = StudyFileOf(*storage, id, name, args.config);
  if (directions->size() == 1) {
    int top_level = -1;
    Result<FrozenTrial> best = config && config->fidelity ? BestAtTopLevel(*storage, id, (*directions)[0], &top_level)
                                                          : GetBestTrial(*storage, id);
    if (!best.ok()) {
      if (best.status().code() == StatusCode::kNotFound) {
        return ReportError(NotFound("study '" + name + "' has no COMPLETE trial yet (" + std::to_string(*n_trials) +
                                    " trial(s) in all)"));
      }
      return ReportError(best.status());
    }
    std::cout << "# study '" << name << "': best of " << *n_trials << " trial(s) is trial " << best->number << ", "
              << ValuesText(metrics, best->values)
              << (top_level >= 0 ? " (at fidelity level " + std::to_string(top_level) + ", the highest reached)"
                                 : std::string())
              << "\n";
    PrintParams(*best, config);
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
    PrintParams(t, config);
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
