// What both programs of the CLI share around their commands: `dial` and `dial-train` (the trainer, the only one that
// links libtorch) parse their command line and report failures the same way, and `dial train` hands over to
// dial-train (cli.h).
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "cli.h"

namespace dial::cli {

namespace {

// Async-signal-safe: one write and _exit, nothing of the loader's state touched.
extern "C" void ExitWhileLoading(int) {
  static const char kMessage[] = "dial: error: interrupted while reading the study file; nothing was written\n";
  const ssize_t ignored = write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
  (void)ignored;
  _exit(kExitInterrupted);
}

}  // namespace

Result<StudyConfig> LoadStudyConfigInterruptibly(const std::string& path) {
  // The stop handlers only set a flag that the run loops read; the loader never does, and a large file takes
  // seconds. Nothing is open or written yet, so a stop signal may end the process where it stands.
  struct sigaction exit_now {};
  exit_now.sa_handler = ExitWhileLoading;
  sigemptyset(&exit_now.sa_mask);
  struct sigaction old_int {
  }, old_term{};
  sigaction(SIGINT, &exit_now, &old_int);
  sigaction(SIGTERM, &exit_now, &old_term);
  Result<StudyConfig> loaded = LoadStudyConfig(path);
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  return loaded;
}

std::string SelfExecutable() {
  char path[PATH_MAX + 1] = {};
  const ssize_t n = readlink("/proc/self/exe", path, PATH_MAX);
  return n > 0 ? std::string(path, static_cast<size_t>(n)) : std::string("/proc/self/exe");
}

int ExecTrainProgram(int argc, char** argv) {
  if (!DIAL_WITH_TORCH) {
    std::cerr << "dial: error: dial train: this dial was built without libtorch (cmake -DDIAL_WITH_TORCH=OFF), so it "
                 "has no ASR trainer; build with -DDIAL_WITH_TORCH=ON"
              << std::endl;
    return kExitBadInput;
  }
  const std::string trainer = (std::filesystem::path(SelfExecutable()).parent_path() / kTrainProgram).string();
  std::vector<char*> args;
  args.push_back(const_cast<char*>(trainer.c_str()));
  for (int i = 1; i < argc; ++i) args.push_back(argv[i]);  // "train" and its options, as given
  args.push_back(nullptr);
  execv(trainer.c_str(), args.data());
  const int error = errno;
  std::cerr << "dial: error: dial train runs the trainer program " << trainer
            << ", which could not be started: " << std::strerror(error)
            << " (it is built with dial: cmake --build BUILD --target dial_train)" << std::endl;
  return kExitFailure;
}

Command AddTrainPlaceholder(CLI::App& app) {
  CLI::App* sub = app.add_subcommand(
      "train", "Train the built-in ASR model from flat keys (docs/asr-training.md); see dial train --help");
  sub->allow_extras();
  return {sub, [] { return kExitFailure; }};  // never run: main hands `train` to dial-train before parsing
}

int RunCommandLine(CLI::App& app, const std::vector<Command>& commands, int argc, char** argv) {
  const std::string program = app.get_name().empty() ? "dial" : app.get_name();
  try {
    // CLI11 would only say that a subcommand is required; name the word it did not know.
    if (argc > 1 && argv[1][0] != '-') {
      const std::string word = argv[1];
      bool known = false;
      std::string names;
      for (const Command& command : commands) {
        known = known || command.app->get_name() == word;
        names += (names.empty() ? "" : ", ") + command.app->get_name();
      }
      if (!known) {
        std::cerr << program << ": error: unknown command '" << word << "' (commands: " << names << ")" << std::endl;
        return kExitBadInput;
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
      std::cerr << program << ": error: " << e.what() << " (see " << program << " --help)" << std::endl;
      return kExitBadInput;
    }
    for (const Command& command : commands) {
      if (command.app->parsed()) return command.run();
    }
    std::cerr << program << ": error: no command given (see " << program << " --help)" << std::endl;
    return kExitBadInput;
  } catch (const std::exception& e) {
    std::cerr << program << ": internal error: " << e.what() << std::endl;
    return kExitFailure;
  } catch (...) {
    std::cerr << program << ": internal error: unknown exception" << std::endl;
    return kExitFailure;
  }
}

}  // namespace dial::cli
