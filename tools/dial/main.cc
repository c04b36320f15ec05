// dial: the command-line tool. A thin main: parse the command line, run the chosen subcommand, and turn every
// failure into one line on stderr and an exit code (0 ok, 2 bad usage or input, 1 failure, 130 interrupted).
#include <CLI/CLI.hpp>
#include <csignal>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "cli.h"

int main(int argc, char** argv) {
  // A closed pipe (`dial trials | head`) must end in an error return, not a silent death by SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"dial: hyperparameter tuning for speech models, with Optuna-compatible storage"};
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
    commands.push_back(dial::cli::AddTrainCommand(app));
    // CLI11 would only say that a subcommand is required; name the word it did not know.
    if (argc > 1 && argv[1][0] != '-') {
      const std::string word = argv[1];
      bool known = false;
      std::string names;
      for (const dial::cli::Command& command : commands) {
        known = known || command.app->get_name() == word;
        names += (names.empty() ? "" : ", ") + command.app->get_name();
      }
      if (!known) {
        std::cerr << "dial: error: unknown command '" << word << "' (commands: " << names << ")" << std::endl;
        return dial::cli::kExitBadInput;
      }
    }
    try {
      app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
      return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
      return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
      return app.exit(e);
    } catch (const CLI::ParseError& e) {
      std::cerr << "dial: error: " << e.what() << " (see dial --help)" << std::endl;
      return dial::cli::kExitBadInput;
    }
    for (const dial::cli::Command& command : commands) {
      if (command.app->parsed()) return command.run();
    }
    std::cerr << "dial: error: no command given (see dial --help)" << std::endl;
    return dial::cli::kExitBadInput;
  } catch (const std::exception& e) {
    std::cerr << "dial: internal error: " << e.what() << std::endl;
    return dial::cli::kExitFailure;
  } catch (...) {
    std::cerr << "dial: internal error: unknown exception" << std::endl;
    return dial::cli::kExitFailure;
  }
}
