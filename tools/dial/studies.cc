// `dial studies`: the studies in a storage, one line each (or JSON).
#include <iostream>

#include "cli.h"

namespace dial::cli {
namespace {

struct StudiesArgs {
  std::string storage;
  std::string config;
  std::string format = "table";
};

int RunStudies(const StudiesArgs& args) {
  Result<ConfigDefaults> defaults = ReadConfigDefaults(args.config);
  if (!defaults.ok()) return ReportError(defaults.status());
  Result<std::shared_ptr<Storage>> storage = OpenStorageForReading(ChooseStorageUrl(args.storage, defaults->storage));
  if (!storage.ok()) return ReportError(storage.status());
  Result<std::vector<StudySummary>> studies = (*storage)->GetAllStudies();
  if (!studies.ok()) return ReportError(studies.status());
  if (args.format == "json") {
    Json out = Json::array();
    for (const StudySummary& s : *studies) {
      Json directions = Json::array();
      for (StudyDirection d : s.directions) directions.push_back(std::string(StudyDirectionName(d)));
      out.push_back({{"study_name", s.study_name},
                     {"directions", directions},
                     {"n_trials", s.n_trials},
                     {"datetime_start", s.datetime_start ? Json(FormatTimestamp(*s.datetime_start)) : Json(nullptr)},
                     {"user_attrs", s.user_attrs}});
    }
    std::cout << out.dump(2) << std::endl;
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const StudySummary& s : *studies) {
    std::string directions;
    for (StudyDirection d : s.directions)
      directions += (directions.empty() ? "" : ",") + std::string(StudyDirectionName(d));
    rows.push_back({s.study_name, directions, std::to_string(s.n_trials),
                    s.datetime_start ? FormatTimestamp(*s.datetime_start) : "-"});
  }
  PrintTable(std::cout, {"study", "directions", "n_trials", "datetime_start"}, rows);
  return std::cout.good() ? kExitOk : kExitFailure;
}

}  // namespace

Command AddStudiesCommand(CLI::App& app) {
  auto args = std::make_shared<StudiesArgs>();
  CLI::App* sub = app.add_subcommand("studies", "List the studies in a storage");
  AddStudyOptions(sub, &args->storage, &args->config);
  sub->add_option("--format", args->format, "table or json")->check(CLI::IsMember({"table", "json"}));
  return {sub, [args] { return RunStudies(*args); }};
}

}  // namespace dial::cli
