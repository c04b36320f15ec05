// Subprocess: runs one child process without a shell, in its own process group, with its stdout and stderr
// read through pipes with poll(). Used by the command objective and, later, by the parallel workers.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dial/status.h"

namespace dial {

struct SpawnOptions {
  std::string executable;         // a path (see ResolveExecutable); not looked up on PATH here
  std::vector<std::string> argv;  // argv[0] included
  std::vector<std::string> env;   // the whole environment, "KEY=VALUE"
  std::string cwd;                // empty: the parent's working directory
};

// How a child ended.
struct ExitInfo {
  bool signaled = false;
  int code = 0;    // exit status when !signaled
  int signal = 0;  // terminating signal when signaled
  bool success() const { return !signaled && code == 0; }
  // "exited with status 3", "killed by signal 9 (SIGKILL)".
  std::string Describe() const;
};

enum class OutputStream { kStdout, kStderr };

// The summed resident memory (RSS, bytes) of the processes whose process group is `pgid`, read from /proc/PID/stat.
int64_t ProcessGroupResidentBytes(pid_t pgid);

// A line longer than this is passed on in pieces of more than this many bytes rather than buffered without bound.
inline constexpr size_t kMaxOutputLineBytes = size_t{1} << 20;

// Called with each complete line (without its '\n'); a last line without '\n' is passed at end of stream. A line
// longer than kMaxOutputLineBytes may come in pieces, each passed as if it were a line.
using OutputLineCallback = std::function<void(OutputStream, std::string_view line)>;
// Called like OutputLineCallback, and told whether `text` is a piece of a longer line that goes on in the next call
// for the same stream (`continues`), or ends a line (a whole line, or the last piece of a long one). A line just
// over kMaxOutputLineBytes that arrives in one read is passed whole, with `continues` false.
using OutputPieceCallback = std::function<void(OutputStream, std::string_view text, bool continues)>;

// A running child. Not thread-safe. The destructor kills (SIGKILL) the child's process group and reaps it when
// it is still running, so a child is never left behind by an early return.
class Subprocess {
 public:
  // The child gets stdin from /dev/null, stdout and stderr on pipes, no other file descriptor of ours, default
  // signal dispositions and an empty signal mask, and a new process group (so a trainer's own workers can be
  // stopped together, and a terminal's Ctrl-C reaches dial, which decides). IoError naming the command when it
  // cannot be started (not found, not executable, a missing working directory).
  static Result<std::unique_ptr<Subprocess>> Spawn(const SpawnOptions& options);
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  pid_t pid() const { return pid_; }

  // Waits up to `timeout` for output and passes every complete line to `callback`. Returns true once both
  // streams have reached end of file.
  bool ReadOutput(std::chrono::milliseconds timeout, const OutputPieceCallback& callback);
  bool ReadOutput(std::chrono::milliseconds timeout, const OutputLineCallback& callback);
  bool output_closed() const { return stdout_fd_ < 0 && stderr_fd_ < 0; }

  // True once the child has exited (without reaping it, so its process group stays valid).
  bool HasExited();
  // Sends `sig` to the child's process group.
  void SignalGroup(int sig);
  // The resident memory (RSS) of every process of the child's group, summed, in bytes: what a memory limit per
  // trial is checked against. A process that left the group (setsid) is not counted. 0 once the child is reaped.
  int64_t GroupResidentBytes() const;
  // Waits for the child to exit, kills what is left of its process group, and reaps it.
  ExitInfo Wait();
  // SIGTERM to the group, up to `grace` for it to exit (output still read and passed on), then SIGKILL.
  ExitInfo Terminate(std::chrono::duration<double> grace, const OutputPieceCallback& callback);
  ExitInfo Terminate(std::chrono::duration<double> grace, const OutputLineCallback& callback);

 private:
  Subprocess(pid_t pid, int stdout_fd, int stderr_fd) : pid_(pid), stdout_fd_(stdout_fd), stderr_fd_(stderr_fd) {}
  void CloseStream(OutputStream stream, const OutputPieceCallback& callback);

  pid_t pid_;
  int stdout_fd_;
  int stderr_fd_;
  std::string stdout_partial_;
  std::string stderr_partial_;
  std::optional<ExitInfo> exit_;
};

}  // namespace dial
