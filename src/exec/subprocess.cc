// Subprocess: posix_spawn without a shell, pipes read with poll(), process-group termination.
#include "exec/subprocess.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <thread>

namespace dial {
namespace {

constexpr size_t kReadChunkBytes = 64 * 1024;
// How often Terminate() and Wait() look at a child that has not exited yet.
constexpr std::chrono::milliseconds kExitPollInterval{20};

std::string ErrnoText(int err) { return std::string(strerror(err)); }

ExitInfo FromWaitStatus(int status) {
  ExitInfo info;
  if (WIFSIGNALED(status)) {
    info.signaled = true;
    info.signal = WTERMSIG(status);
  } else if (WIFEXITED(status)) {
    info.code = WEXITSTATUS(status);
  }
  return info;
}

// Owns the spawn attribute objects so every return path destroys them.
struct SpawnAttrs {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnAttrs() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnAttrs() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
};

// The callback of a caller that reads pieces of a long line as lines.
OutputPieceCallback IgnoringPieces(const OutputLineCallback& callback) {
  if (!callback) return nullptr;
  return [&callback](OutputStream stream, std::string_view text, bool) { callback(stream, text); };
}

}  // namespace

int64_t ProcessGroupResidentBytes(pid_t pgid) {
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return 0;
  const int64_t page_bytes = sysconf(_SC_PAGESIZE);
  int64_t total = 0;
  char path[64];
  char buffer[1024];
  while (dirent* entry = readdir(proc)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    std::snprintf(path, sizeof(path), "/proc/%s/stat", entry->d_name);
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;  // it ended meanwhile
    const ssize_t got = read(fd, buffer, sizeof(buffer) - 1);
    close(fd);
    if (got <= 0) continue;
    buffer[got] = '\0';
    // Fields after the command name (which may hold spaces and parentheses): state ppid pgrp ... rss is field 24.
    const char* rest = strrchr(buffer, ')');
    if (rest == nullptr) continue;
    char state = 0;
    long long ppid = 0;
    long long group = 0;
    if (std::sscanf(rest + 1, " %c %lld %lld", &state, &ppid, &group) != 3 || group != pgid) continue;
    const char* p = rest + 1;
    long long rss = 0;
    // Skip to field 24: the text after ')' starts with field 3.
    for (int field = 3; field < 24 && p != nullptr; ++field) {
      p = strchr(p + 1, ' ');
    }
    if (p != nullptr && std::sscanf(p, " %lld", &rss) == 1 && rss > 0) total += rss * page_bytes;
  }
  closedir(proc);
  return total;
}

std::string ExitInfo::Describe() const {
  if (!signaled) return "exited with status " + std::to_string(code);
  const char* abbrev = sigabbrev_np(signal);
  std::string text = "killed by signal " + std::to_string(signal);
  if (abbrev != nullptr) text += std::string(" (SIG") + abbrev + ")";
  return text;
}

Result<std::unique_ptr<Subprocess>> Subprocess::Spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return InvalidArgument("command: empty argv");
  int out_pipe[2];
  int err_pipe[2];
  // O_CLOEXEC so no other child (a parallel worker's) inherits these ends.
  if (pipe2(out_pipe, O_CLOEXEC) != 0) return IoError("pipe: " + ErrnoText(errno));
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    int err = errno;
    close(out_pipe[0]);
    close(out_pipe[1]);
    return IoError("pipe: " + ErrnoText(err));
  }
  auto close_all = [&] {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
  };

  SpawnAttrs s;
  posix_spawn_file_actions_addopen(&s.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&s.actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&s.actions, err_pipe[1], STDERR_FILENO);
  // The child must not inherit a database handle or another trial's pipe, whatever flags they were opened with.
  posix_spawn_file_actions_addclosefrom_np(&s.actions, STDERR_FILENO + 1);
  if (!options.cwd.empty()) posix_spawn_file_actions_addchdir_np(&s.actions, options.cwd.c_str());

  sigset_t empty_mask;
  sigemptyset(&empty_mask);
  sigset_t all_signals;
  sigfillset(&all_signals);
  posix_spawnattr_setsigmask(&s.attr, &empty_mask);
  posix_spawnattr_setsigdefault(&s.attr, &all_signals);
  posix_spawnattr_setpgroup(&s.attr, 0);
  posix_spawnattr_setflags(&s.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  std::vector<char*> argv;
  argv.reserve(options.argv.size() + 1);
  for (const std::string& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  envp.reserve(options.env.size() + 1);
  for (const std::string& e : options.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  pid_t pid = -1;
  int rc = posix_spawn(&pid, options.executable.c_str(), &s.actions, &s.attr, argv.data(), envp.data());
  if (rc != 0) {
    close_all();
    std::string what = "cannot run " + options.executable + ": " + ErrnoText(rc);
    if (!options.cwd.empty() && access(options.cwd.c_str(), X_OK) != 0) {
      what += " (working directory " + options.cwd + ")";
    }
    return IoError(what);
  }
  close(out_pipe[1]);
  close(err_pipe[1]);
  fcntl(out_pipe[0], F_SETFL, fcntl(out_pipe[0], F_GETFL) | O_NONBLOCK);
  fcntl(err_pipe[0], F_SETFL, fcntl(err_pipe[0], F_GETFL) | O_NONBLOCK);
  return std::unique_ptr<Subprocess>(new Subprocess(pid, out_pipe[0], err_pipe[0]));
}

Subprocess::~Subprocess() {
  if (!exit_.has_value()) {
    SignalGroup(SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (stdout_fd_ >= 0) close(stdout_fd_);
  if (stderr_fd_ >= 0) close(stderr_fd_);
}

void Subprocess::CloseStream(OutputStream stream, const OutputPieceCallback& callback) {
  int& fd = stream == OutputStream::kStdout ? stdout_fd_ : stderr_fd_;
  std::string& partial = stream == OutputStream::kStdout ? stdout_partial_ : stderr_partial_;
  if (fd >= 0) close(fd);
  fd = -1;
  if (!partial.empty()) {
    std::string last = std::move(partial);
    partial.clear();
    if (callback) callback(stream, last, /*continues=*/false);
  }
}

bool Subprocess::ReadOutput(std::chrono::milliseconds timeout, const OutputLineCallback& callback) {
  return ReadOutput(timeout, IgnoringPieces(callback));
}

bool Subprocess::ReadOutput(std::chrono::milliseconds timeout, const OutputPieceCallback& callback) {
  if (output_closed()) {
    if (timeout.count() > 0) std::this_thread::sleep_for(timeout);
    return true;
  }
  pollfd fds[2];
  int n = 0;
  OutputStream streams[2];
  if (stdout_fd_ >= 0) {
    fds[n] = {stdout_fd_, POLLIN, 0};
    streams[n++] = OutputStream::kStdout;
  }
  if (stderr_fd_ >= 0) {
    fds[n] = {stderr_fd_, POLLIN, 0};
    streams[n++] = OutputStream::kStderr;
  }
  int ready = poll(fds, n, static_cast<int>(timeout.count()));
  if (ready <= 0) return output_closed();  // timeout, or EINTR from a signal: the caller looks at its flags
  char buffer[kReadChunkBytes];
  for (int i = 0; i < n; ++i) {
    if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
    OutputStream stream = streams[i];
    int fd = fds[i].fd;
    std::string& partial = stream == OutputStream::kStdout ? stdout_partial_ : stderr_partial_;
    // Read what is there now; a read of 0 is end of file.
    while (true) {
      ssize_t got = read(fd, buffer, sizeof(buffer));
      if (got < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        CloseStream(stream, callback);
        break;
      }
      if (got == 0) {
        CloseStream(stream, callback);
        break;
      }
      partial.append(buffer, static_cast<size_t>(got));
      size_t start = 0;
      while (true) {
        size_t nl = partial.find('\n', start);
        if (nl == std::string::npos) break;
        if (callback) callback(stream, std::string_view(partial).substr(start, nl - start), /*continues=*/false);
        start = nl + 1;
      }
      partial.erase(0, start);
      if (partial.size() > kMaxOutputLineBytes) {
        std::string piece = std::move(partial);
        partial.clear();
        if (callback) callback(stream, piece, /*continues=*/true);
      }
    }
  }
  return output_closed();
}

bool Subprocess::HasExited() {
  if (exit_.has_value()) return true;
  siginfo_t info{};
  // WNOWAIT: learn that it exited without reaping, so the process-group id cannot be reused before Wait().
  if (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0) return false;
  return info.si_pid == pid_;
}

int64_t Subprocess::GroupResidentBytes() const { return exit_.has_value() ? 0 : ProcessGroupResidentBytes(pid_); }

void Subprocess::SignalGroup(int sig) {
  if (exit_.has_value()) return;
  // The group id is the child's pid (setpgroup 0). Fall back to the child alone if the group is gone.
  if (kill(-pid_, sig) != 0) kill(pid_, sig);
}

ExitInfo Subprocess::Wait() {
  if (exit_.has_value()) return *exit_;
  siginfo_t info{};
  while (waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
  }
  // Helpers the trainer left running (data loaders, a shell's children) die with the trial.
  kill(-pid_, SIGKILL);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) {
      exit_ = ExitInfo{};
      return *exit_;
    }
  }
  exit_ = FromWaitStatus(status);
  return *exit_;
}

ExitInfo Subprocess::Terminate(std::chrono::duration<double> grace, const OutputLineCallback& callback) {
  return Terminate(grace, IgnoringPieces(callback));
}

ExitInfo Subprocess::Terminate(std::chrono::duration<double> grace, const OutputPieceCallback& callback) {
  if (exit_.has_value()) return *exit_;
  SignalGroup(SIGTERM);
  auto deadline =
      std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(grace);
  while (!HasExited() && std::chrono::steady_clock::now() < deadline) {
    ReadOutput(kExitPollInterval, callback);
  }
  if (!HasExited()) SignalGroup(SIGKILL);
  ExitInfo info = Wait();
  // Whatever the child wrote before it died is still worth keeping in the log. One non-blocking read: only a
  // grandchild that escaped the group could still hold the pipe open, and we do not wait on it.
  ReadOutput(std::chrono::milliseconds(0), callback);
  return info;
}

}  // namespace dial
