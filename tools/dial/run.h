// Running a study's trials from the CLI, shared by `dial tune` and `dial worker`: the stop flag that SIGINT/SIGTERM
// set, one in-process worker loop, or a pool of `dial worker` child processes; their progress display is progress.h.
#pragma once

#include <CLI/CLI.hpp>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dial/study.h"
#include "dial/study_config.h"
#include "exec/resources.h"

namespace dial::cli {

// Set by SIGINT/SIGTERM once InstallStopHandlers has run.
const std::atomic<bool>* StopFlag();
void InstallStopHandlers();

struct RunRequest {
  Study* study = nullptr;
  const StudyConfig* config = nullptr;
  std::string storage_url;
  int64_t n_jobs = 1;
  // This process's own trial limit (one process only), and the study-wide budget shared by every worker.
  std::optional<int64_t> n_trials;
  std::optional<int64_t> study_n_trials;
  // A pool's worker: the run's budget file and its size (RunBudget), which the pool's workers share.
  std::string run_budget_path;
  int64_t run_n_trials = 0;
  std::optional<double> timeout_seconds;
  // Started by a pool: only the per-trial lines, no header or summary.
  bool child = false;
  // For a pool: the study file the workers read (empty: the one stored in the study), and CLI overrides.
  std::string config_path;
  std::string sampler_override;
  std::optional<uint64_t> seed_override;
  // resources_per_trial: the host's inventory (CheckTrialResources), and the flags that configured it, which a pool
  // passes on to its workers.
  std::optional<HostInventory> inventory;
  InventoryOverrides inventory_flags;
};

// The host's inventory for a study file with resources_per_trial (nullopt without it), after checking that one
// trial fits in it at all: InvalidArgument naming the file, the line, the key, the need and the inventory's source.
Result<std::optional<HostInventory>> CheckTrialResources(const StudyConfig& config, const InventoryOverrides& flags);

// Adds --gpus, --cpus and --memory-gb (a configured inventory) to a subcommand.
void AddInventoryFlags(CLI::App& sub, InventoryOverrides& flags);

// Runs the trials and prints progress; returns the exit code (0, 1, or 130 when interrupted, after one line on
// stderr that says so).
int RunTrials(const RunRequest& request);

}  // namespace dial::cli
