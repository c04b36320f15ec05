// `dial correlate --study S`: does the cheap proxy rank configurations as the full run does? Spearman and Kendall
// rank correlation between the fidelity levels of a multi-fidelity study, over the configurations evaluated at
// both (paired through the promotion links), with a warning when the proxy does not predict the full run.
#include <cmath>
#include <iostream>

#include "cli.h"
#include "dial/fidelity.h"
#include "dial/study.h"

namespace dial::cli {
namespace {

struct CorrelateArgs {
  std::string storage;
  std::string config;
  std::string study;
  std::string format = "table";
};

std::string Fixed3(double v) {
  if (std::isnan(v)) return "n/a";
  return FormatFixed(v, 3);
}

Json NumberOrNull(double v) { return std::isnan(v) ? Json() : Json(v); }

int RunCorrelate(const CorrelateArgs& args) {
  Result<OpenedStudy> opened = OpenStudyForReading(args.storage, args.config, args.study);
  if (!opened.ok()) return ReportError(opened.status());
  Storage* const storage = opened->storage.get();
  const StudyId id = opened->id;
  const std::string& name = opened->name;
  Result<std::vector<FrozenTrial>> trials = storage->GetAllTrials(id);
  if (!trials.ok()) return ReportError(trials.status());
  const std::vector<FidelityCorrelation> correlations = FidelityCorrelations(*trials);
  if (correlations.empty()) {
    return ReportError(FailedPrecondition("study '" + name +
                                          "' has no trials above fidelity level 0: correlation needs a multi-fidelity "
                                          "study (fidelity: levels in the study file) with promoted trials"));
  }
  if (args.format == "json") {
    Json out = Json::array();
    for (const FidelityCorrelation& c : correlations) {
      out.push_back({{"from_level", c.from_level},
                     {"to_level", c.to_level},
                     {"n_pairs", c.n_pairs},
                     {"spearman", NumberOrNull(c.spearman)},
                     {"kendall", NumberOrNull(c.kendall)},
                     {"reliable", c.reliable},
                     {"warning", c.warning}});
    }
    std::cout << out.dump(2) << std::endl;
  } else {
    std::cout << "# study '" << name << "': rank correlation of the first objective between fidelity levels\n";
    std::cout << std::left << std::setw(8) << "from" << std::setw(6) << "to" << std::setw(8) << "pairs" << std::setw(12)
              << "spearman" << std::setw(10) << "kendall"
              << "verdict\n";
    for (const FidelityCorrelation& c : correlations) {
      std::cout << std::left << std::setw(8) << c.from_level << std::setw(6) << c.to_level << std::setw(8) << c.n_pairs
                << std::setw(12) << Fixed3(c.spearman) << std::setw(10) << Fixed3(c.kendall)
                << (c.reliable ? "proxy predicts the higher level" : "WARNING") << "\n";
    }
    for (const FidelityCorrelation& c : correlations) {
      if (!c.reliable)
        std::cout << "warning: level " << c.from_level << " → " << c.to_level << ": " << c.warning << "\n";
    }
    std::cout.flush();
  }
  return std::cout.good() ? kExitOk : kExitFailure;
}

}  // namespace

Command AddCorrelateCommand(CLI::App& app) {
  auto args = std::make_shared<CorrelateArgs>();
  CLI::App* sub = app.add_subcommand(
      "correlate", "Rank correlation (Spearman, Kendall) between the fidelity levels of a multi-fidelity study");
  AddStudyOptions(sub, &args->storage, &args->config, &args->study);
  sub->add_option("--format", args->format, "table or json")->check(CLI::IsMember({"table", "json"}));
  return {sub, [args] { return RunCorrelate(*args); }};
}

}  // namespace dial::cli
