// The HTML study report; see report.h. The page's template, style and script are embedded into the binary at build
// time (report_assets.cc, generated from web/); the plotting library is read from the build tree at report time.
#include "report/report.h"

#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string_view>
#include <variant>

#include "dial/analysis.h"
#include "dial/study.h"

#ifndef DIAL_REPORT_PLOT_LIBRARY_PATH
#define DIAL_REPORT_PLOT_LIBRARY_PATH ""
#endif

namespace dial {
namespace report_assets {
// Defined in the generated report_assets.cc (src/report/embed_assets.cmake).
extern const char kTemplate[];
extern const char kStyle[];
extern const char kScript[];
}  // namespace report_assets

namespace {

constexpr const char* kPlotLibraryEnv = "DIAL_REPORT_PLOT_LIBRARY";

Json NumberOrNull(double v) { return std::isfinite(v) ? Json(v) : Json(nullptr); }

std::string StateNote(const FrozenTrial& t) {
  if (t.state == TrialState::kPruned) {
    if (auto step = t.LastStep()) return "pruned at step " + std::to_string(*step);
    return "pruned";
  }
  auto it = t.system_attrs.find(std::string(kFailReasonAttr));
  if (it != t.system_attrs.end() && it->second.is_string()) return it->second.get<std::string>();
  return "";
}

// One entry per parameter name seen in any trial: its kind and range for axes. When a name's distribution changes
// across trials, the range covers all of them.
Json ParamsMeta(const std::vector<FrozenTrial>& trials) {
  std::map<std::string, Distribution> seen;
  std::map<std::string, std::pair<double, double>> range;
  for (const FrozenTrial& t : trials) {
    for (const auto& [name, dist] : t.distributions) {
      if (!seen.count(name) || std::holds_alternative<CategoricalDistribution>(dist)) seen[name] = dist;
      double lo = 0, hi = 0;
      if (const auto* f = std::get_if<FloatDistribution>(&dist)) {
        lo = f->low, hi = f->high;
      } else if (const auto* i = std::get_if<IntDistribution>(&dist)) {
        lo = static_cast<double>(i->low), hi = static_cast<double>(i->high);
      } else {
        continue;
      }
      auto [it, inserted] = range.try_emplace(name, lo, hi);
      if (!inserted) it->second = {std::min(it->second.first, lo), std::max(it->second.second, hi)};
    }
  }
  Json out = Json::array();
  for (const auto& [name, dist] : seen) {
    Json p = {{"name", name}};
    if (const auto* c = std::get_if<CategoricalDistribution>(&dist)) {
      p["kind"] = "categorical";
      Json choices = Json::array();
      for (const ParamValue& v : c->choices) choices.push_back(ParamValueToString(v));
      p["choices"] = choices;
      p["log"] = false;
    } else {
      const bool is_int = std::holds_alternative<IntDistribution>(dist);
      p["kind"] = is_int ? "int" : "float";
      p["log"] = is_int ? std::get<IntDistribution>(dist).log : std::get<FloatDistribution>(dist).log;
      p["low"] = range.at(name).first;
      p["high"] = range.at(name).second;
    }
    out.push_back(std::move(p));
  }
  return out;
}

Json TrialJson(const FrozenTrial& t) {
  Json values = nullptr;
  if (!t.values.empty()) {
    values = Json::array();
    for (double v : t.values) values.push_back(NumberOrNull(v));
  }
  Json params = Json::object();
  for (const auto& [name, internal] : t.params) {
    auto dist = t.distributions.find(name);
    if (dist == t.distributions.end()) continue;
    if (std::holds_alternative<CategoricalDistribution>(dist->second)) {
      params[name] = static_cast<int64_t>(internal);  // the choice's index; the page shows the choice
    } else {
      params[name] = NumberOrNull(internal);
    }
  }
  Json intermediate = Json::array();
  for (const auto& [step, v] : t.intermediate_values) intermediate.push_back(Json::array({step, NumberOrNull(v)}));
  Json out = {{"number", t.number},
              {"state", std::string(TrialStateName(t.state))},
              {"values", values},
              {"params", params},
              {"intermediate", intermediate},
              {"feasible", SatisfiesConstraints(t)},
              {"note", StateNote(t)}};
  auto duration = t.DurationSeconds();
  out["duration"] = duration ? Json(*duration) : Json(nullptr);
  out["datetime_start"] = t.datetime_start ? Json(FormatTimestamp(*t.datetime_start)) : Json(nullptr);
  return out;
}

}  // namespace

Json ReportImportances(const ReportInput& input, const ReportOptions& options) {
  Json out = Json::array();
  for (size_t k = 0; k < input.directions.size(); ++k) {
    ImportanceOptions io;
    io.objective_index = k;
    io.direction = input.directions[k];
    io.seed = options.importance_seed;
    Json entry = {{"objective", input.metrics[k]}, {"evaluator", std::string(ImportanceEvaluatorName(io.evaluator))}};
    Result<std::vector<ParamImportance>> r = ComputeImportances(input.trials, io);
    if (!r.ok()) {
      entry["error"] = r.status().message();
    } else {
      Json values = Json::array();
      for (const ParamImportance& p : *r) values.push_back({{"name", p.name}, {"importance", p.importance}});
      entry["values"] = values;
    }
    out.push_back(std::move(entry));
  }
  return out;
}

namespace {

Result<Json> ParetoJson(const ReportInput& input, const ReportOptions& options) {
  const std::vector<FrozenTrial> front = ParetoFront(input.trials, input.directions);
  Json numbers = Json::array();
  std::vector<std::vector<double>> front_points;
  for (const FrozenTrial& t : front) {
    numbers.push_back(t.number);
    front_points.push_back(ToMinimisation(t.values, input.directions));
  }
  Json out = {{"front", numbers}, {"trade_off", nullptr}, {"hypervolume", nullptr}, {"reference", Json::array()}};
  if (front.empty()) return out;
  if (auto pick = BalancedTradeOff(front_points)) out["trade_off"] = front[*pick].number;
  // The reference: the user's (in the study's directions), else the worst feasible values plus a margin.
  std::vector<double> reference;
  if (options.reference_point) {
    reference = ToMinimisation(*options.reference_point, input.directions);
  } else {
    std::vector<std::vector<double>> feasible;
    for (const FrozenTrial& t : input.trials) {
      if (t.state == TrialState::kComplete && t.values.size() == input.directions.size() && SatisfiesConstraints(t)) {
        feasible.push_back(ToMinimisation(t.values, input.directions));
      }
    }
    reference = DefaultReferencePoint(feasible);
  }
  DIAL_ASSIGN_OR_RETURN(double hv, Hypervolume(front_points, reference));
  out["hypervolume"] = NumberOrNull(hv);
  Json ref = Json::array();
  for (double r : ToMinimisation(reference, input.directions)) ref.push_back(NumberOrNull(r));  // back to directions
  out["reference"] = ref;
  return out;
}

Json BestJson(const ReportInput& input) {
  const FrozenTrial* best = FindBestTrial(input.trials, input.directions[0]);
  if (best == nullptr) return nullptr;
  return {{"number", best->number}, {"value", NumberOrNull(best->values[0])}};
}

// Replaces the one occurrence of `marker` in `page` with `content`, left to right, so that text inserted earlier is
// never searched for later markers.
void Fill(std::string& page, size_t& from, const std::string& marker, const std::string& content) {
  const size_t at = page.find(marker, from);
  if (at == std::string::npos) return;
  page.replace(at, marker.size(), content);
  from = at + content.size();
}

std::string EscapeHtml(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Text placed inside <script> must not close it early. In JSON every "</" can become "<\/" (the same string).
std::string JsonForScriptElement(const std::string& json) {
  std::string out;
  out.reserve(json.size());
  for (size_t i = 0; i < json.size(); ++i) {
    out += json[i];
    if (json[i] == '<' && i + 1 < json.size() && json[i + 1] == '/') out += '\\';
  }
  return out;
}

// In code only "</script" ends the element; inside a JavaScript string "<\/script" reads the same. (Neither
// ECharts nor report.js has it outside a string.)
std::string CodeForScriptElement(const std::string& code) {
  std::string out;
  out.reserve(code.size());
  constexpr std::string_view kClose = "</script";
  for (size_t i = 0; i < code.size(); ++i) {
    bool closes = code[i] == '<' && i + kClose.size() <= code.size();
    for (size_t k = 1; closes && k < kClose.size(); ++k) {
      closes = std::tolower(static_cast<unsigned char>(code[i + k])) == kClose[k];
    }
    out += code[i];
    if (closes) out += '\\';
  }
  return out;
}

}  // namespace

Status ReportOptions::Validate() const {
  if (reference_point) {
    for (double r : *reference_point) {
      if (std::isnan(r)) return InvalidArgument("report: the reference point has a NaN coordinate");
    }
  }
  return Status::Ok();
}

Result<std::string> FindPlotLibrary() {
  if (const char* env = std::getenv(kPlotLibraryEnv); env != nullptr && *env != '\0') {
    if (!std::filesystem::is_regular_file(env)) {
      return NotFound(std::string(kPlotLibraryEnv) + " names '" + env + "', which is not a file");
    }
    return std::string(env);
  }
  const std::string built = DIAL_REPORT_PLOT_LIBRARY_PATH;
  if (!built.empty() && std::filesystem::is_regular_file(built)) return built;
  return FailedPrecondition(
      "the report's plotting library (ECharts, echarts.min.js) is missing" +
      (built.empty() ? std::string() : " from " + built) +
      ": npm fetches it when dial is built, and could not. Rebuild with access to the npm registry (cmake --build "
      "BUILD_DIR --target dial_report_plot_library, after deleting BUILD_DIR/report-web/fetch.stamp), or set " +
      kPlotLibraryEnv + " to an echarts.min.js (5.x)");
}

Result<std::string> ReadPlotLibrary(const std::string& path) {
  std::string library_path = path;
  if (library_path.empty()) {
    DIAL_ASSIGN_OR_RETURN(library_path, FindPlotLibrary());
  }
  std::ifstream in(library_path, std::ios::binary);
  if (!in.is_open()) return IoError("cannot open the plotting library " + library_path);
  std::stringstream library;
  library << in.rdbuf();
  if (!in.good() && !in.eof()) return IoError("cannot read the plotting library " + library_path);
  if (library.str().empty()) return IoError("the plotting library " + library_path + " is empty");
  return library.str();
}

Result<Json> BuildReportData(const ReportInput& input, const ReportOptions& options) {
  DIAL_RETURN_IF_ERROR(options.Validate());
  if (input.directions.empty()) return InvalidArgument("report: the study has no directions");
  if (input.metrics.size() != input.directions.size()) {
    return InvalidArgument("report: " + std::to_string(input.metrics.size()) + " metric name(s) for " +
                           std::to_string(input.directions.size()) + " objective(s)");
  }
  if (options.reference_point && options.reference_point->size() != input.directions.size()) {
    return InvalidArgument("report: the reference point has " + std::to_string(options.reference_point->size()) +
                           " value(s), the study " + std::to_string(input.directions.size()) + " objective(s)");
  }
  Json directions = Json::array();
  for (StudyDirection d : input.directions) directions.push_back(std::string(StudyDirectionName(d)));
  Json trials = Json::array();
  for (const FrozenTrial& t : input.trials) trials.push_back(TrialJson(t));
  Json data = {{"study", input.study_name},
               {"directions", directions},
               {"metrics", input.metrics},
               {"generated", FormatTimestamp(std::chrono::system_clock::now())},
               {"params", ParamsMeta(input.trials)},
               {"trials", trials},
               {"importance", options.importances ? *options.importances : ReportImportances(input, options)},
               {"best", nullptr},
               {"pareto", nullptr}};
  if (input.directions.size() == 1) {
    data["best"] = BestJson(input);
  } else {
    DIAL_ASSIGN_OR_RETURN(data["pareto"], ParetoJson(input, options));
  }
  return data;
}

Result<std::string> RenderReport(const ReportInput& input, const ReportOptions& options) {
  DIAL_ASSIGN_OR_RETURN(Json data, BuildReportData(input, options));
  DIAL_ASSIGN_OR_RETURN(std::string library, ReadPlotLibrary(options.plot_library_path));

  const std::string title = "dial study report: " + input.study_name;
  std::string page = report_assets::kTemplate;
  size_t from = 0;
  Fill(page, from, "@DIAL_TITLE@", EscapeHtml(title));
  Fill(page, from, "@DIAL_STYLE@", report_assets::kStyle);
  Fill(page, from, "@DIAL_TITLE@", EscapeHtml(title));
  Fill(page, from, "@DIAL_SUBTITLE@",
       EscapeHtml(std::to_string(input.trials.size()) + " trial(s); generated " + data["generated"].get<std::string>() +
                  " by dial"));
  Fill(page, from, "@DIAL_PLOT_LIBRARY@", CodeForScriptElement(library));
  // The JSON blob: non-ASCII kept as UTF-8, invalid UTF-8 replaced rather than failing the report.
  Fill(page, from, "@DIAL_DATA@", JsonForScriptElement(data.dump(-1, ' ', false, Json::error_handler_t::replace)));
  Fill(page, from, "@DIAL_SCRIPT@", CodeForScriptElement(report_assets::kScript));
  return page;
}

}  // namespace dial
