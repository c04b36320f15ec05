// dial: the command-line tool. A thin main: parse the command line, run the chosen subcommand, and turn every
// failure into one line on stderr and an exit code (0 ok, 2 bad usage or input, 1 failure, 130 interrupted).
// `dial train` is handed to dial-train (train_main.cc), the only program that links libtorch.
#include <CLI/CLI.hpp>
#include <csignal>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "cli.h"

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "train") return dial::cli::ExecTrainProgram(argc, argv);
  // A closed pipe (`dial trials | head`) must end in an error return, not a silent death by SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"dial: hyperparameter tuning for speech models, with Optuna-compatible storage", "dial"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "dial 0.1.0");
  std::vector<dial::cli::Command> commands;
  try {
    dial::cli::RegisterAsrObjective();
    commands.push_back(dial::cli::AddTuneCommand(app));
    commands.push_back(dial::cli::AddWorkerCommand(app));
    commands.push_back(dial::cli::AddStudiesCommand(app));
    commands.push_back(dial::cli::AddTrialsCommand(app));
    commands.push_back(dial::cli::AddBestCommand(app));
    commands.push_back(dial::cli::AddDeleteStudyCommand(app));
    commands.push_back(dial::cli::AddScoreCommand(app));
    commands.push_back(dial::cli::AddImportanceCommand(app));
    commands.push_back(dial::cli::AddReportCommand(app));
    commands.push_back(dial::cli::AddDashboardCommand(app));
    commands.push_back(dial::cli::AddCorpusCommand(app));
    commands.push_back(dial::cli::AddCorrelateCommand(app));
    commands.push_back(dial::cli::AddTrainPlaceholder(app));
  } catch (const std::exception& e) {
    std::cerr << "dial: internal error: " << e.what() << std::endl;
    return dial::cli::kExitFailure;
  }
  return dial::cli::RunCommandLine(app, commands, argc, argv);
}
