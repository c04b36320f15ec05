// Shared pieces of the dial CLI: the subcommand shape, exit codes, storage opening and value formatting.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "dial/distribution.h"
#include "dial/frozen_trial.h"
#include "dial/status.h"
#include "dial/storage.h"
#include "dial/study_config.h"

namespace dial::cli {

// 0 success; 2 bad usage or bad input (nothing was written); 1 a failure while running; 130 stopped by
// Ctrl-C or SIGTERM (the shell's 128 + SIGINT), with the running trial marked FAIL "interrupted".
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadInput = 2;
inline constexpr int kExitInterrupted = 130;

inline constexpr const char* kDefaultStorage = "sqlite:///dial.db";
inline constexpr const char* kStudyFileAttr = "dial:study_file";

// One subcommand: its CLI11 app (to know whether it was chosen) and what running it does.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

Command AddTuneCommand(CLI::App& app);
Command AddStudiesCommand(CLI::App& app);
Command AddTrialsCommand(CLI::App& app);
Command AddBestCommand(CLI::App& app);
Command AddDeleteStudyCommand(CLI::App& app);
Command AddScoreCommand(CLI::App& app);
Command AddWorkerCommand(CLI::App& app);
Command AddImportanceCommand(CLI::App& app);
Command AddReportCommand(CLI::App& app);
Command AddDashboardCommand(CLI::App& app);
Command AddCorrelateCommand(CLI::App& app);
// Registers `objective: {builtin: asr, ...}` (asr_objective.cc) for study files read by tune and worker.
void RegisterAsrObjective();
// `dial train` (train.cc) lives in its own program, dial-train, the only one that links libtorch: `dial` itself
// starts in milliseconds instead of loading libtorch (about a second of CPU) for every command.
Command AddTrainCommand(CLI::App& app);
// The name of the trainer program, found next to `dial`.
inline constexpr const char* kTrainProgram = "dial-train";
// In `dial`: replaces this process with dial-train given the same arguments (`dial train ARGS` → `dial-train train
// ARGS`); returns only on failure, with the exit code after printing why.
int ExecTrainProgram(int argc, char** argv);
// `dial`'s placeholder for `train` in its help and its list of commands (the word never reaches it: main execs).
Command AddTrainPlaceholder(CLI::App& app);

// LoadStudyConfig, during which SIGINT and SIGTERM end the process at once with exit code 130 and one line on
// stderr (nothing is open or written while a study file loads); the handlers from before are restored after.
Result<StudyConfig> LoadStudyConfigInterruptibly(const std::string& path);
// The path of the running program (/proc/self/exe resolved).
std::string SelfExecutable();
// Parses the command line for `commands` registered on `app` and runs the chosen one, turning every failure into one
// line on stderr and an exit code (`program` names the tool in those lines).
int RunCommandLine(CLI::App& app, const std::vector<Command>& commands, int argc, char** argv);
// `dial corpus` with its `check` subcommand (tools/dial/corpus.cc); it also adds `synth` below.
Command AddCorpusCommand(CLI::App& app);
// `dial corpus synth`, added under the `corpus` command (tools/dial/corpus_synth.cc).
Command AddCorpusSynthSubcommand(CLI::App* corpus);

// Adds the options every study-reading command takes: --storage, --config (whose storage and study name are
// the defaults) and, when `study` is given, --study with `study_help`.
void AddStudyOptions(CLI::App* sub, std::string* storage, std::string* config, std::string* study = nullptr,
                     const std::string& study_help = "The study");

// Prints "dial: error: MESSAGE" as one line on stderr and returns the exit code for `status`: 2 for bad input
// (invalid argument, not found, already exists, failed precondition), 130 for Cancelled, else 1.
int ReportError(const Status& status);
int ExitCodeFor(const Status& status);

// The storage URL a command uses: --storage, else the study file's, else sqlite:///dial.db.
std::string ChooseStorageUrl(const std::string& flag, const std::string& from_file);
// Opens a storage for a command that only reads or deletes: NotFound when a SQLite file does not exist (rather
// than creating an empty one). Errors opening are bad input (the URL or path is wrong).
Result<std::shared_ptr<Storage>> OpenExistingStorage(const std::string& url);
// Opens a storage for a command that only reads (studies, trials, best, importance, report, correlate,
// dashboard): read-only (StorageOpenOptions::read_only), so the file or database is left exactly as it was and
// read-only media work. NotFound for a missing SQLite file; FailedPrecondition for an empty one.
Result<std::shared_ptr<Storage>> OpenStorageForReading(const std::string& url);
// Opens (creating when needed) the storage that `tune` writes to; errors opening are bad input.
Result<std::shared_ptr<Storage>> OpenStorageForWriting(const std::string& url);
// The study's id, NotFound naming the study and the storage when there is none.
Result<StudyId> FindStudy(Storage& storage, const std::string& study_name);

// The defaults other commands take from `--config FILE`: its storage and study name (empty when not given).
struct ConfigDefaults {
  std::string storage;
  std::string study;
};
Result<ConfigDefaults> ReadConfigDefaults(const std::string& config_path);

// The study file dial tune stored in the study at its creation (kStudyFileAttr), parsed. FailedPrecondition when
// the study holds none (it was not created by dial tune); the parse error, prefixed with `source`, when it no
// longer validates.
Result<StudyConfig> StoredStudyFile(Storage& storage, StudyId study_id, const std::string& study_name);

// An existing study a read-only command works on, from --storage, --config and --study (the flags win over the
// study file's values).
struct OpenedStudy {
  std::shared_ptr<Storage> storage;
  StudyId id = 0;
  std::string name;
};
Result<OpenedStudy> OpenExistingStudy(const std::string& storage_flag, const std::string& config_path,
                                      const std::string& study_flag);
// The same, with the storage opened read-only (OpenStorageForReading), for the commands that only read.
Result<OpenedStudy> OpenStudyForReading(const std::string& storage_flag, const std::string& config_path,
                                        const std::string& study_flag);

// The names of a study's objective values: its study file's `metrics` when dial created it, else "value" (one
// objective) or "values_0", "values_1", ... as Optuna names them.
std::vector<std::string> MetricNames(Storage& storage, StudyId study_id, size_t n_objectives);

// Prints rows under headers with columns padded to their widest cell.
void PrintTable(std::ostream& out, const std::vector<std::string>& headers,
                const std::vector<std::vector<std::string>>& rows);
std::string CsvField(const std::string& text);

// Shortest text that reads back as the same double ("0.001", "3.0", "1.0e-05": with a '.' so that YAML 1.1
// readers such as PyYAML see a float).
std::string FormatFloatForYaml(double v);
// A parameter value as a YAML scalar (strings quoted when YAML would read them as something else).
std::string ParamValueToYaml(const ParamValue& v);
// Compact form for tables: 6 significant digits.
std::string FormatShort(double v);
// Fixed-point with `digits` decimals ("12.35" for 12.3456 and 2).
std::string FormatFixed(double v, int digits);
std::string JoinValues(const std::vector<double>& values);

}  // namespace dial::cli
