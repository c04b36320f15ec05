// dial-train: the built-in ASR trainer's program (`dial train ARGS` runs `dial-train train ARGS`). Kept apart from
// `dial` because it links libtorch, whose loading costs about a second of CPU at every start.
#include <CLI/CLI.hpp>
#include <csignal>
#include <exception>
#include <iostream>
#include <vector>

#include "cli.h"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  // Named "dial" in messages: users run it as `dial train`.
  CLI::App app{"dial train: the built-in ASR trainer", "dial"};
  app.require_subcommand(1);
  std::vector<dial::cli::Command> commands;
  try {
    commands.push_back(dial::cli::AddTrainCommand(app));
  } catch (const std::exception& e) {
    std::cerr << "dial: internal error: " << e.what() << std::endl;
    return dial::cli::kExitFailure;
  }
  return dial::cli::RunCommandLine(app, commands, argc, argv);
}
