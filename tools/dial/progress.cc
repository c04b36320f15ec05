// The progress display of a run (progress.h): the status line on a terminal, plain lines elsewhere.
#include "progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "cli.h"

namespace dial::cli {
namespace {

std::string ParamsText(const FrozenTrial& trial) {
  std::string out;
  for (const auto& [name, value] : trial.ExternalParams()) {
    const double* d = std::get_if<double>(&value);
    out += (out.empty() ? "" : ", ") + name + "=" + (d != nullptr ? FormatShort(*d) : ParamValueToString(value));
  }
  return out;
}

// The progress bar's widest and narrowest: narrower than the minimum it says nothing, and is left out.
constexpr int kBarCells = 20;
constexpr int kMinBarCells = 5;
// When stdout's width cannot be read.
constexpr int kFallbackColumns = 80;
// The status line is redrawn (and a pool's counts read again) this often, so the elapsed time moves during a long
// trial; a pool's counts are read again when a worker prints a line, but never more often than kMinPollInterval.
constexpr std::chrono::seconds kRedrawInterval{1};
constexpr std::chrono::milliseconds kMinPollInterval{250};

// True when the locale says UTF-8 (the first of LC_ALL, LC_CTYPE, LANG that is set decides, as in setlocale).
bool LocaleIsUtf8() {
  for (const char* name : {"LC_ALL", "LC_CTYPE", "LANG"}) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') continue;
    std::string lower(value);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lower.find("utf-8") != std::string::npos || lower.find("utf8") != std::string::npos;
  }
  return false;
}

int TerminalColumns() {
  struct winsize size {};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return kFallbackColumns;
}

// Display columns of a line, all of whose characters are one column wide: its UTF-8 code points.
int64_t Columns(const std::string& text) {
  int64_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

// The first `columns` display columns of `text`, never cutting a UTF-8 sequence.
std::string FitToColumns(const std::string& text, int64_t columns) {
  int64_t n = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80 && n++ == columns) return text.substr(0, i);
  }
  return text;
}

}  // namespace

std::string FormatElapsed(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds);
  char buffer[32];
  if (s >= 3600) {
    std::snprintf(buffer, sizeof(buffer), "%lldh%02lldm%02llds", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  } else if (s >= 60) {
    std::snprintf(buffer, sizeof(buffer), "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  } else {
    std::snprintf(buffer, sizeof(buffer), "%.1fs", seconds);
  }
  return buffer;
}

StudyBest BestOf(const std::vector<FrozenTrial>& trials, const std::vector<StudyDirection>& directions, bool pareto) {
  StudyBest out;
  if (directions.size() == 1) {
    if (const FrozenTrial* best = FindBestTrial(trials, directions[0])) {
      out.value = best->values[0];
      out.number = best->number;
    }
  } else if (pareto) {
    out.pareto_size = static_cast<int64_t>(ParetoFront(trials, directions).size());
  }
  return out;
}

StudyBest ReadStudyBest(const Study& study, bool pareto) {
  Result<std::vector<FrozenTrial>> complete =
      study.storage().GetAllTrials(study.id(), std::vector<TrialState>{TrialState::kComplete});
  if (!complete.ok()) return StudyBest();
  return BestOf(*complete, study.directions(), pareto);
}

bool MayBeStudyBest(const FrozenTrial& trial, const StudyBest& known, const std::vector<StudyDirection>& directions) {
  if (directions.size() != 1 || trial.state != TrialState::kComplete || trial.values.size() != 1) return false;
  if (!known.value) return true;
  const double value = trial.values[0];
  const bool worse = directions[0] == StudyDirection::kMinimize ? value > *known.value : value < *known.value;
  return !worse && !(value == *known.value && trial.number > known.number);
}

std::string FormatStatusLine(const StatusCounts& counts, double elapsed_seconds, bool stopping, bool finished,
                             bool utf8, int columns) {
  const std::string head =
      "[" + std::to_string(counts.done) + "/" + (counts.total ? std::to_string(*counts.total) : std::string("?")) + "]";
  // done / total in [0, 1] (done may pass total when failed trials are retried), in whole parts of `parts`.
  auto share = [&counts](int64_t parts) {
    return *counts.total > 0 ? std::min(parts, counts.done * parts / *counts.total) : parts;
  };
  const std::string percent = counts.total ? " " + std::to_string(share(100)) + "%" : std::string();
  std::string tail = " | running " + std::to_string(counts.running) + " | pruned " + std::to_string(counts.pruned) +
                     " | failed " + std::to_string(counts.failed);
  if (counts.multi_objective) {
    tail += " | pareto " + (counts.best.pareto_size ? std::to_string(*counts.best.pareto_size) : std::string("-"));
  } else {
    tail += " | best " + (counts.best.value
                              ? FormatShort(*counts.best.value) + " (trial " + std::to_string(counts.best.number) + ")"
                              : std::string("-"));
  }
  tail += " | " + FormatElapsed(elapsed_seconds);
  if (counts.total && counts.done > 0 && counts.done < *counts.total && !stopping && !finished) {
    tail += ", ETA " + FormatElapsed(elapsed_seconds / counts.done * (*counts.total - counts.done));
  }
  if (stopping) tail += " | stopping...";

  const int64_t width = std::max(1, columns - 1);
  std::string bar;
  if (counts.total) {
    const int64_t room = width - Columns(head) - Columns(percent) - Columns(tail) - 1;  // 1: the space before it
    const int64_t cells = std::min<int64_t>(kBarCells, room);
    if (cells >= kMinBarCells) {
      const int64_t filled = share(cells);
      bar = " ";
      for (int64_t k = 0; k < cells; ++k) bar += k < filled ? (utf8 ? "\u2588" : "#") : (utf8 ? "\u2591" : "-");
    }
  }
  return FitToColumns(head + bar + percent + tail, width);
}

StatusLine::StatusLine(const std::atomic<bool>* stop_flag, Poll poll)
    : stop_flag_(stop_flag), poll_(std::move(poll)), utf8_(LocaleIsUtf8()), start_(std::chrono::steady_clock::now()) {}

StatusLine::~StatusLine() { StopTicker(); }

void StatusLine::Start(const StatusCounts& counts) {
  std::lock_guard<std::mutex> lock(mu_);
  counts_ = counts;
  Draw();
  ticker_ = std::thread([this] { Tick(); });
}

void StatusLine::Update(const StatusCounts& counts) {
  std::lock_guard<std::mutex> lock(mu_);
  counts_ = counts;
  Draw();
}

void StatusLine::PrintAbove(std::ostream& out, std::string_view line) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::cout << "\r\033[K" << std::flush;
    out << line << std::endl;
    if (!finished_) Draw();
    refresh_ = poll_ != nullptr;
  }
  cv_.notify_all();
}

void StatusLine::Finish(const std::optional<StatusCounts>& counts) {
  StopTicker();
  std::lock_guard<std::mutex> lock(mu_);
  if (finished_) return;
  finished_ = true;
  if (counts) counts_ = *counts;
  Draw();
  std::cout << "\n" << std::flush;
}

// The thread: redraws every kRedrawInterval, or at once when PrintAbove asks for fresh counts.
void StatusLine::Tick() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, kRedrawInterval, [this] { return stopping_ || refresh_; });
    if (stopping_) break;
    refresh_ = false;
    if (poll_) {
      lock.unlock();
      std::optional<StatusCounts> fresh = poll_();
      lock.lock();
      if (stopping_) break;
      if (fresh) counts_ = *fresh;
    }
    Draw();
    // However many lines come, the storage is read at most this often.
    cv_.wait_for(lock, kMinPollInterval, [this] { return stopping_; });
  }
}

void StatusLine::StopTicker() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

void StatusLine::Draw() {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const bool stopping = stop_flag_ != nullptr && stop_flag_->load();
  std::cout << "\r\033[K" << FormatStatusLine(counts_, elapsed, stopping, finished_, utf8_, TerminalColumns())
            << std::flush;
}

Progress::Progress(bool tty, const std::atomic<bool>* stop_flag, std::optional<int64_t> total, bool multi_objective,
                   StudyBest best_before)
    : tty_(tty), start_(std::chrono::steady_clock::now()), status_line_(stop_flag) {
  counts_.total = total;
  counts_.running = 1;
  counts_.multi_objective = multi_objective;
  counts_.best = std::move(best_before);
}

void Progress::Start() {
  if (tty_) status_line_.Start(counts_);
}

void Progress::TrialFinished(const FrozenTrial& trial, const StudyBest& best) {
  ++counts_.done;
  ++by_state_[trial.state];
  if (trial.state == TrialState::kPruned) ++counts_.pruned;
  if (trial.state == TrialState::kFail) ++counts_.failed;
  if (best.value || best.pareto_size) counts_.best = best;
  // Decided by the study, not by this process: with several workers, only the study knows.
  const bool new_best =
      trial.state == TrialState::kComplete && !counts_.multi_objective && best.value && best.number == trial.number;
  std::string line = "trial " + std::to_string(trial.number) + " " + std::string(TrialStateName(trial.state));
  if (trial.state == TrialState::kComplete) {
    line += " " + std::string(trial.values.size() == 1 ? "value " : "values ") + JoinValues(trial.values);
  } else if (trial.state == TrialState::kPruned) {
    if (auto step = trial.LastStep()) line += " at step " + std::to_string(*step);
  } else if (trial.state == TrialState::kFail) {
    auto reason = trial.system_attrs.find(std::string(kFailReasonAttr));
    if (reason != trial.system_attrs.end() && reason->second.is_string()) {
      line += ": " + reason->second.get<std::string>();
    }
  }
  const std::string params = ParamsText(trial);
  if (!params.empty() && trial.state != TrialState::kFail) line += "  [" + params + "]";
  if (auto d = trial.DurationSeconds()) line += "  " + FormatElapsed(*d);
  if (!tty_) {
    std::cout << line << (new_best ? "  (best so far)" : "") << std::endl;
    return;
  }
  // On a terminal only what needs attention stays on screen: failures. Everything else is in the status line.
  if (trial.state == TrialState::kFail) status_line_.PrintAbove(std::cout, line);
  status_line_.Update(counts_);
}

void Progress::Print(const std::string& line) {
  if (tty_) {
    status_line_.PrintAbove(std::cout, line);
  } else {
    std::cout << line << std::endl;
  }
}

void Progress::Finish() {
  counts_.running = 0;
  if (tty_) status_line_.Finish(counts_);
}

std::string Progress::Summary() const {
  std::string out = std::to_string(counts_.done) + " trial(s) in " + FormatElapsed(Elapsed());
  std::string states;
  for (const auto& [state, n] : by_state_) {
    states += (states.empty() ? "" : ", ") + std::to_string(n) + " " + std::string(TrialStateName(state));
  }
  if (!states.empty()) out += " (" + states + ")";
  if (counts_.best.value) {
    out += "; best value " + FormatShort(*counts_.best.value) + " (trial " + std::to_string(counts_.best.number) + ")";
  }
  return out;
}

double Progress::Elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

}  // namespace dial::cli
