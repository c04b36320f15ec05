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
  Result<OpenedStudy> opened = OpenExistingStudy(args.storage, args.config, args.study);
  if (!opened.ok()) return ReportError(opened.status());
  Storage* const storage = opened->storage.get();
  const StudyId id = opened->id;
  const std::string& name = opened->name;
  Result<int64_t> n_trials = storage->GetNTrials(id);
  if (!n_trials.ok()) return ReportError(n_trials.status());
  Status deleted = storage->DeleteStudy(id);
  if (!deleted.ok()) return ReportError(deleted);
  std::cout << "deleted study '" << name << "' and its " << *n_trials << " trial(s) from " << storage->url()
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
