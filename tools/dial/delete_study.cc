// `dial delete-study --study S`: removes a study and all its trials.
#include <iostream>

#include "cli.h"

namespace dial::cli {
namespace {

struct DeleteArgs {
  std::string storage;
  std::string config;
  std::string study;
};

int RunDeleteStudy(const DeleteArgs& args) {
  Result<ConfigDefaults> defaults = ReadConfigDefaults(args.config);
  if (!defaults.ok()) return ReportError(defaults.status());
  Result<std::shared_ptr<Storage>> storage = OpenExistingStorage(ChooseStorageUrl(args.storage, defaults->storage));
  if (!storage.ok()) return ReportError(storage.status());
  const std::string name = args.study.empty() ? defaults->study : args.study;
  Result<StudyId> id = FindStudy(**storage, name);
  if (!id.ok()) return ReportError(id.status());
  Result<int64_t> n_trials = (*storage)->GetNTrials(*id);
  if (!n_trials.ok()) return ReportError(n_trials.status());
  Status deleted = (*storage)->DeleteStudy(*id);
  if (!deleted.ok()) return ReportError(deleted);
  std::cout << "deleted study '" << name << "' and its " << *n_trials << " trial(s) from " << (*storage)->url()
            << std::endl;
  return kExitOk;
}

}  // namespace

Command AddDeleteStudyCommand(CLI::App& app) {
  auto args = std::make_shared<DeleteArgs>();
  CLI::App* sub = app.add_subcommand("delete-study", "Delete a study and all its trials");
  AddStudyOptions(sub, &args->storage, &args->config, &args->study, "The study to delete");
  return {sub, [args] { return RunDeleteStudy(*args); }};
}

}  // namespace dial::cli
