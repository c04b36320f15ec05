// `dial report --study S -o report.html`: one self-contained HTML file with the study's plots (src/report/report.h).
#include "report/report.h"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli.h"

namespace dial::cli {
namespace {

struct ReportArgs {
  std::string storage;
  std::string config;
  std::string study;
  std::string output = "report.html";
  std::string plot_library;
  std::vector<double> reference_point;
  uint64_t seed = 0;
};

int RunReport(const ReportArgs& args) {
  Result<OpenedStudy> opened = OpenStudyForReading(args.storage, args.config, args.study);
  if (!opened.ok()) return ReportError(opened.status());
  Storage* const storage = opened->storage.get();
  const StudyId id = opened->id;
  ReportInput input;
  input.study_name = opened->name;
  Result<std::vector<StudyDirection>> directions = storage->GetStudyDirections(id);
  if (!directions.ok()) return ReportError(directions.status());
  input.directions = *directions;
  input.metrics = MetricNames(*storage, id, directions->size());
  Result<std::vector<FrozenTrial>> trials = storage->GetAllTrials(id);
  if (!trials.ok()) return ReportError(trials.status());
  input.trials = std::move(*trials);

  ReportOptions options;
  options.plot_library_path = args.plot_library;
  options.importance_seed = args.seed;
  if (!args.reference_point.empty()) options.reference_point = args.reference_point;
  Result<std::string> page = RenderReport(input, options);
  if (!page.ok()) return ReportError(page.status());

  // Written beside the target and renamed over it, so a reader never sees half a report.
  const std::filesystem::path out(args.output);
  const std::filesystem::path partial = out.string() + ".partial";
  {
    std::ofstream file(partial, std::ios::binary | std::ios::trunc);
    if (!file) return ReportError(IoError("cannot write " + partial.string()));
    file << *page;
    file.close();
    if (!file) return ReportError(IoError("writing " + partial.string() + " failed"));
  }
  std::error_code ec;
  std::filesystem::rename(partial, out, ec);
  if (ec)
    return ReportError(IoError("cannot rename " + partial.string() + " to " + out.string() + ": " + ec.message()));
  std::cout << "wrote " << out.string() << " (study '" << input.study_name << "', " << input.trials.size()
            << " trial(s), " << page->size() / 1024 << " KiB)" << std::endl;
  return std::cout.good() ? kExitOk : kExitFailure;
}

}  // namespace

Command AddReportCommand(CLI::App& app) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* sub =
      app.add_subcommand("report", "Write a self-contained HTML report of a study (opens without a network)");
  AddStudyOptions(sub, &args->storage, &args->config, &args->study);
  sub->add_option("-o,--output", args->output, "The HTML file to write (default report.html)");
  sub->add_option("--reference-point", args->reference_point,
                  "Several objectives: the hypervolume's reference point, one value per objective in the study's "
                  "directions (default: the worst feasible values plus 10% of their range)")
      ->expected(1, -1);
  sub->add_option("--seed", args->seed, "Seed of the importance forest (default 0)");
  sub->add_option(
      "--plot-library", args->plot_library,
      "echarts.min.js to embed (default: $DIAL_REPORT_PLOT_LIBRARY, else the copy npm fetched at build time)");
  return {sub, [args] { return RunReport(*args); }};
}

}  // namespace dial::cli
