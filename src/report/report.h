// The HTML study report: one self-contained file with the study's data as JSON, the plotting library (ECharts, from
// npm at build time) and dial's drawing code, so it opens anywhere without a network. Views: optimisation history,
// intermediate values, parallel coordinates, slices, contour, importance, Pareto front, empirical distribution and a
// trial table (web/report.js draws them).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dial/frozen_trial.h"
#include "dial/status.h"

namespace dial {

// What a report shows: a study's name, directions, metric names and trials (any states, ordered by number).
struct ReportInput {
  std::string study_name;
  std::vector<StudyDirection> directions;
  std::vector<std::string> metrics;  // one per direction
  std::vector<FrozenTrial> trials;
};

struct ReportOptions {
  // The plotting library's minified JavaScript (echarts.min.js). Empty: FindPlotLibrary().
  std::string plot_library_path;
  // Seed of the importance forest (fANOVA), so a report is reproducible.
  uint64_t importance_seed = 0;
  // The hypervolume's reference point in the study's own directions (one value per objective). Unset: the worst value
  // of each objective among the feasible COMPLETE trials plus 10% of its range (DefaultReferencePoint).
  std::optional<std::vector<double>> reference_point;
  // The importance views' data, computed before (ReportImportances) for the same trials; unset: computed here. The
  // dashboard keeps it while only running trials change, since the forest is the slow part of a report.
  std::optional<Json> importances;

  Status Validate() const;
};

// The path of echarts.min.js: $DIAL_REPORT_PLOT_LIBRARY when set (NotFound if that file is missing), else the copy
// npm put into the build tree when dial was built. FailedPrecondition saying how to get it when there is none (npm
// could not reach its registry at build time): a report without its plotting library would be an empty page.
Result<std::string> FindPlotLibrary();

// The plotting library's code: the file at `path`, or FindPlotLibrary()'s when `path` is empty. IoError naming a
// file that cannot be read or is empty.
Result<std::string> ReadPlotLibrary(const std::string& path);

// The JSON the page draws from: the study, parameter meta data, trials (non-finite numbers as null), importances
// per objective (or the reason there are none), the best trial or the Pareto front with its hypervolume and the
// balanced trade-off. InvalidArgument when `metrics` and `directions` differ in size or the reference point has the
// wrong size.
Result<Json> BuildReportData(const ReportInput& input, const ReportOptions& options);

// The report data's importance entry: per objective, the fANOVA importances or why there are none.
Json ReportImportances(const ReportInput& input, const ReportOptions& options);

// The whole HTML page. Errors: those of BuildReportData, of FindPlotLibrary, IoError naming a plotting library file
// that cannot be read.
Result<std::string> RenderReport(const ReportInput& input, const ReportOptions& options);

}  // namespace dial
