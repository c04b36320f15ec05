// `dial trials --study S --format table|csv|json`: a study's trials. The JSON form uses Optuna's field names. A
// population-based-training study also shows each segment's lineage (member, generation, steps, which trial it
// continued or exploited, which params explore changed).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <set>

#include "cli.h"
#include "dial/pbt.h"

namespace dial::cli {
namespace {

// The longest fail reason shown in a table cell; csv and json carry it whole.
constexpr size_t kTableReasonChars = 60;

struct TrialsArgs {
  std::string storage;
  std::string config;
  std::string study;
  std::string format = "table";
};

// Ordered so that the fields read in Optuna's order (number, state, values, params, ...), not alphabetically.
using OrderedJson = nlohmann::ordered_json;

OrderedJson NumberOrNull(double v) { return std::isfinite(v) ? OrderedJson(v) : OrderedJson(nullptr); }

std::string FailReason(const FrozenTrial& t) {
  auto it = t.system_attrs.find(std::string(kFailReasonAttr));
  if (it == t.system_attrs.end() || !it->second.is_string()) return "";
  return it->second.get<std::string>();
}

std::string AttrText(const FrozenTrial& t, std::string_view key) {
  auto it = t.system_attrs.find(std::string(key));
  if (it == t.system_attrs.end() || it->second.is_null()) return "";
  return it->second.is_string() ? it->second.get<std::string>() : it->second.dump();
}

// "exploited #5" after an exploit, "continued #2" otherwise, "" for generation 0 (the sampler's).
std::string PbtLineage(const FrozenTrial& t) {
  if (const std::string exploited = AttrText(t, kPbtExploitedAttr); !exploited.empty()) {
    return "exploited #" + exploited + " (after #" + AttrText(t, kPbtParentAttr) + ")";
  }
  if (const std::string parent = AttrText(t, kPbtParentAttr); !parent.empty()) return "continued #" + parent;
  return "";
}

// "lr 0.01→0.012 (*1.2), dropout 0.1→0.3 (resample)".
std::string PbtExplored(const FrozenTrial& t) {
  auto it = t.system_attrs.find(std::string(kPbtExploredAttr));
  if (it == t.system_attrs.end() || !it->second.is_object()) return "";
  std::string out;
  auto value_text = [](const Json& v) {
    return v.is_number_float() ? FormatShort(v.get<double>()) : (v.is_string() ? v.get<std::string>() : v.dump());
  };
  for (const auto& [name, change] : it->second.items()) {
    if (!change.is_object()) continue;
    out += (out.empty() ? "" : ", ") + name + " " + value_text(change.value("from", Json())) + "→" +
           value_text(change.value("to", Json())) + " (" + change.value("how", std::string()) + ")";
  }
  return out;
}

OrderedJson TrialToJson(const FrozenTrial& t) {
  OrderedJson values = nullptr;
  if (!t.values.empty()) {
    values = OrderedJson::array();
    for (double v : t.values) values.push_back(NumberOrNull(v));
  }
  OrderedJson params = OrderedJson::object();
  for (const auto& [name, value] : t.ExternalParams())
    params[name] = OrderedJson::parse(ParamValueToJson(value).dump());
  OrderedJson intermediate = OrderedJson::object();
  for (const auto& [step, value] : t.intermediate_values) intermediate[std::to_string(step)] = NumberOrNull(value);
  OrderedJson user_attrs = OrderedJson::object();
  for (const auto& [k, v] : t.user_attrs) user_attrs[k] = OrderedJson::parse(v.dump());
  OrderedJson system_attrs = OrderedJson::object();
  for (const auto& [k, v] : t.system_attrs) system_attrs[k] = OrderedJson::parse(v.dump());
  OrderedJson out = OrderedJson::object();
  out["number"] = t.number;
  out["state"] = std::string(TrialStateName(t.state));
  out["values"] = values;
  out["params"] = params;
  out["intermediate_values"] = intermediate;
  out["user_attrs"] = user_attrs;
  out["system_attrs"] = system_attrs;
  out["datetime_start"] = t.datetime_start ? OrderedJson(FormatTimestamp(*t.datetime_start)) : OrderedJson(nullptr);
  out["datetime_complete"] =
      t.datetime_complete ? OrderedJson(FormatTimestamp(*t.datetime_complete)) : OrderedJson(nullptr);
  out["duration"] = t.DurationSeconds() ? OrderedJson(*t.DurationSeconds()) : OrderedJson(nullptr);
  return out;
}

int RunTrials(const TrialsArgs& args) {
  Result<OpenedStudy> opened = OpenStudyForReading(args.storage, args.config, args.study);
  if (!opened.ok()) return ReportError(opened.status());
  Storage* const storage = opened->storage.get();
  const StudyId id = opened->id;
  Result<std::vector<FrozenTrial>> trials = storage->GetAllTrials(id);
  if (!trials.ok()) return ReportError(trials.status());
  Result<std::vector<StudyDirection>> directions = storage->GetStudyDirections(id);
  if (!directions.ok()) return ReportError(directions.status());

  if (args.format == "json") {
    OrderedJson out = OrderedJson::array();
    for (const FrozenTrial& t : *trials) out.push_back(TrialToJson(t));
    std::cout << out.dump(2) << std::endl;
    return std::cout.good() ? kExitOk : kExitFailure;
  }
  std::set<std::string> param_names;
  for (const FrozenTrial& t : *trials) {
    for (const auto& [name, d] : t.distributions) param_names.insert(name);
  }
  const std::vector<std::string> metrics = MetricNames(*storage, id, directions->size());
  const bool csv = args.format == "csv";
  std::vector<std::string> headers = {"number", "state"};
  for (const std::string& m : metrics) headers.push_back(m);
  if (csv) {
    headers.push_back("datetime_start");
    headers.push_back("datetime_complete");
  }
  headers.push_back(csv ? "duration_s" : "duration");
  for (const std::string& p : param_names) headers.push_back(csv ? "params_" + p : p);
  const bool pbt = std::any_of(trials->begin(), trials->end(), [](const FrozenTrial& t) {
    return t.system_attrs.count(std::string(kPbtGenerationAttr)) != 0;
  });
  if (pbt) {
    for (const char* h : {"member", "generation", "steps", "lineage", "explored"}) {
      headers.push_back(csv ? std::string("pbt_") + h : std::string(h));
    }
  }
  headers.push_back(csv ? "fail_reason" : "note");

  std::vector<std::vector<std::string>> rows;
  for (const FrozenTrial& t : *trials) {
    std::vector<std::string> row = {std::to_string(t.number), std::string(TrialStateName(t.state))};
    for (size_t k = 0; k < metrics.size(); ++k) {
      if (k >= t.values.size()) {
        row.push_back("");
      } else {
        row.push_back(csv ? Json(t.values[k]).dump() : FormatShort(t.values[k]));
      }
    }
    if (csv) {
      row.push_back(t.datetime_start ? FormatTimestamp(*t.datetime_start) : "");
      row.push_back(t.datetime_complete ? FormatTimestamp(*t.datetime_complete) : "");
    }
    auto duration = t.DurationSeconds();
    char short_duration[32];
    if (duration) std::snprintf(short_duration, sizeof(short_duration), "%.2fs", *duration);
    row.push_back(duration ? (csv ? std::to_string(*duration) : std::string(short_duration)) : "");
    const auto params = t.ExternalParams();
    for (const std::string& p : param_names) {
      auto it = params.find(p);
      if (it == params.end()) {
        row.push_back("");
      } else if (const double* d = std::get_if<double>(&it->second); d != nullptr && !csv) {
        row.push_back(FormatShort(*d));  // the table is for reading; csv and json keep every digit
      } else {
        row.push_back(ParamValueToString(it->second));
      }
    }
    if (pbt) {
      row.push_back(AttrText(t, kPbtMemberAttr));
      row.push_back(AttrText(t, kPbtGenerationAttr));
      const std::string start = AttrText(t, kPbtStartStepAttr);
      row.push_back(start.empty() ? "" : start + ".." + AttrText(t, kPbtEndStepAttr));
      row.push_back(PbtLineage(t));
      row.push_back(PbtExplored(t));
    }
    std::string note = FailReason(t);
    if (t.state == TrialState::kPruned) {
      if (auto step = t.LastStep()) note = "pruned at step " + std::to_string(*step);
    }
    if (!csv && note.size() > kTableReasonChars) note = note.substr(0, kTableReasonChars) + "...";
    row.push_back(note);
    rows.push_back(std::move(row));
  }
  if (csv) {
    auto print = [](const std::vector<std::string>& cells) {
      std::string line;
      for (size_t c = 0; c < cells.size(); ++c) line += (c == 0 ? "" : ",") + CsvField(cells[c]);
      std::cout << line << '\n';
    };
    print(headers);
    for (const auto& row : rows) print(row);
  } else {
    PrintTable(std::cout, headers, rows);
  }
  std::cout.flush();
  return std::cout.good() ? kExitOk : kExitFailure;
}

}  // namespace

Command AddTrialsCommand(CLI::App& app) {
  auto args = std::make_shared<TrialsArgs>();
  CLI::App* sub = app.add_subcommand("trials", "List a study's trials");
  AddStudyOptions(sub, &args->storage, &args->config, &args->study);
  sub->add_option("--format", args->format, "table, csv or json")->check(CLI::IsMember({"table", "csv", "json"}));
  return {sub, [args] { return RunTrials(*args); }};
}

}  // namespace dial::cli
