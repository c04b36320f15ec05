// `dial importance --study S [--evaluator fanova|ped-anova|mdi] [--format table|json]`: which parameters mattered,
// from the study's COMPLETE trials (include/dial/analysis.h).
#include <cstdio>
#include <iostream>

#include "cli.h"
#include "dial/analysis.h"

namespace dial::cli {
namespace {

struct ImportanceArgs {
  std::string storage;
  std::string config;
  std::string study;
  std::string evaluator = "fanova";
  std::string format = "table";
  std::string objective;  // a metric name or an index; empty: the only objective
  std::vector<std::string> params;
  uint64_t seed = 0;
  int n_trees = 64;
  int max_depth = 64;
  double baseline_quantile = 0.1;
};

// The objective index named by `text`: one of the study's metric names, or an index.
Result<size_t> ObjectiveIndex(const std::string& text, const std::vector<std::string>& metrics) {
  if (text.empty()) {
    if (metrics.size() == 1) return size_t{0};
    std::string names;
    for (const std::string& m : metrics) names += (names.empty() ? "" : ", ") + m;
    return InvalidArgument("the study has " + std::to_string(metrics.size()) + " objectives (" + names +
                           "): say which with --objective");
  }
  for (size_t k = 0; k < metrics.size(); ++k) {
    if (metrics[k] == text) return k;
  }
  size_t used = 0;
  try {
    const unsigned long index = std::stoul(text, &used);
    if (used == text.size() && index < metrics.size()) return static_cast<size_t>(index);
  } catch (const std::exception&) {
  }
  std::string names;
  for (const std::string& m : metrics) names += (names.empty() ? "" : ", ") + m;
  return InvalidArgument("--objective '" + text + "' is neither an objective of the study (" + names +
                         ") nor an index below " + std::to_string(metrics.size()));
}

int RunImportance(const ImportanceArgs& args) {
  Result<OpenedStudy> opened = OpenStudyForReading(args.storage, args.config, args.study);
  if (!opened.ok()) return ReportError(opened.status());
  Storage* const storage = opened->storage.get();
  const StudyId id = opened->id;
  const std::string& name = opened->name;
  Result<std::vector<StudyDirection>> directions = storage->GetStudyDirections(id);
  if (!directions.ok()) return ReportError(directions.status());
  const std::vector<std::string> metrics = MetricNames(*storage, id, directions->size());
  Result<size_t> objective = ObjectiveIndex(args.objective, metrics);
  if (!objective.ok()) return ReportError(objective.status());
  Result<std::vector<FrozenTrial>> trials = storage->GetAllTrials(id);
  if (!trials.ok()) return ReportError(trials.status());

  ImportanceOptions options;
  options.evaluator = *ParseImportanceEvaluator(args.evaluator);  // CLI11 checked the name
  options.objective_index = *objective;
  options.direction = (*directions)[*objective];
  options.params = args.params;
  options.seed = args.seed;
  options.n_trees = args.n_trees;
  options.max_depth = args.max_depth;
  options.baseline_quantile = args.baseline_quantile;
  Result<std::vector<ParamImportance>> importances = ComputeImportances(*trials, options);
  if (!importances.ok()) return ReportError(importances.status().WithContext("study '" + name + "'"));

  if (args.format == "json") {
    // Ordered like the table (most important first), as Optuna's get_param_importances returns its dict.
    nlohmann::ordered_json out = nlohmann::ordered_json::object();
    out["study"] = name;
    out["evaluator"] = std::string(ImportanceEvaluatorName(options.evaluator));
    out["objective"] = metrics[*objective];
    nlohmann::ordered_json values = nlohmann::ordered_json::object();
    for (const ParamImportance& p : *importances) values[p.name] = p.importance;
    out["importances"] = values;
    std::cout << out.dump(2) << std::endl;
    return std::cout.good() ? kExitOk : kExitFailure;
  }
  std::cout << "# study '" << name << "', " << metrics[*objective] << ": " << ImportanceEvaluatorName(options.evaluator)
            << " importances\n";
  std::vector<std::vector<std::string>> rows;
  constexpr int kBarWidth = 40;
  for (const ParamImportance& p : *importances) {
    char share[32];
    std::snprintf(share, sizeof(share), "%.4f", p.importance);
    rows.push_back({p.name, share, std::string(static_cast<size_t>(p.importance * kBarWidth + 0.5), '#')});
  }
  PrintTable(std::cout, {"param", "importance", ""}, rows);
  std::cout.flush();
  return std::cout.good() ? kExitOk : kExitFailure;
}

}  // namespace

Command AddImportanceCommand(CLI::App& app) {
  auto args = std::make_shared<ImportanceArgs>();
  CLI::App* sub = app.add_subcommand("importance", "Which parameters mattered: fANOVA, PED-ANOVA or MDI importances");
  AddStudyOptions(sub, &args->storage, &args->config, &args->study);
  sub->add_option("--evaluator", args->evaluator, "fanova (default, as Optuna), ped-anova or mdi")
      ->check(CLI::IsMember({"fanova", "ped-anova", "mdi"}));
  sub->add_option("--format", args->format, "table or json")->check(CLI::IsMember({"table", "json"}));
  sub->add_option("--objective", args->objective, "For several objectives: the metric name or index to explain");
  sub->add_option("--params", args->params, "Only these parameters (and the trials that have them all)");
  sub->add_option("--seed", args->seed, "Seed of the random forest (fanova, mdi); default 0");
  sub->add_option("--n-trees", args->n_trees, "Trees in the forest (default 64)")->check(CLI::PositiveNumber);
  sub->add_option("--max-depth", args->max_depth, "Depth limit of each tree (default 64)")->check(CLI::PositiveNumber);
  sub->add_option("--baseline-quantile", args->baseline_quantile,
                  "ped-anova: the share of best trials whose density is compared (default 0.1)");
  return {sub, [args] { return RunImportance(*args); }};
}

}  // namespace dial::cli
