// The command objective: runs any trainer (ESPnet, NeMo, SpeechBrain, a script) as a child process per
// trial, without a shell. Protocol (docs/command-objective.md):
//   in:  `{name}` substituted in argv; the params as JSON in $DIAL_PARAMS_FILE; each param in
//        DIAL_PARAM_<NAME> (upper-cased, non-alphanumerics as '_'); DIAL_TRIAL_NUMBER, DIAL_TRIAL_ID,
//        DIAL_STUDY_NAME, DIAL_STORAGE_URL, DIAL_TRIAL_DIR (the working directory, for logs and checkpoints).
//   out: JSON lines on stdout. {"step": 3, "wer": 0.21} is an intermediate value of the first metric;
//        the last line without "step" carries the final value of every metric. Other output is kept as log.
// A non-zero exit, a signal, a timeout, a missing metric or a NaN fails the trial with the reason and the
// tail of stderr stored in the trial; a pruned trial's process gets SIGTERM, then SIGKILL after a grace.
#pragma once

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "dial/distribution.h"
#include "dial/status.h"
#include "dial/study.h"

namespace dial {

struct CommandObjectiveOptions {
  std::vector<std::string> argv;           // argv[0] is looked up on PATH unless it contains '/'
  std::vector<std::string> metrics;        // names of the values to read, one per direction
  std::optional<double> timeout_seconds;   // per trial
  double kill_grace_seconds = 10.0;        // SIGTERM → SIGKILL
  std::string trials_dir = "dial-trials";  // each trial runs in <trials_dir>/<study>/<number>
  std::map<std::string, std::string> env;  // extra environment
  // The child's working directory; empty: its trial directory. (Added by the CLI slice: trainers such as ESPnet
  // recipes expect to run in their recipe folder, while logs and checkpoints still go to DIAL_TRIAL_DIR.)
  std::string workdir;
  Status Validate() const;  // InvalidArgument; NotFound when argv[0] cannot be found
};

// Runs one trial of the command with `params` (the trial's external params plus fixed ones). Intermediate
// values are reported to `trial` and pruning is asked after each. Returns the metric values, TrialPruned, or
// an error whose message is the fail reason (the stderr tail is stored on the trial). Checks `stop_flag`
// and terminates the child when it is set (Cancelled).
Result<std::vector<double>> RunCommandTrial(Trial& trial, const std::map<std::string, ParamValue>& params,
                                            const CommandObjectiveOptions& options, const std::atomic<bool>* stop_flag);

}  // namespace dial
