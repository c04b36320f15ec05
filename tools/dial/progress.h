// The progress display of a run (run.h): on a terminal one status line redrawn in place, elsewhere one plain line
// per finished trial; and the study's best that both show, read from the storage.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "dial/frozen_trial.h"
#include "dial/study.h"

namespace dial::cli {

// "3.2s", "1m02s", "2h05m09s".
std::string FormatElapsed(double seconds);

// The study's best, read from the storage after a trial ends (so that every worker of a study agrees on it).
struct StudyBest {
  std::optional<double> value;  // one objective: the best trial's value and number
  int64_t number = -1;
  std::optional<int64_t> pareto_size;  // several objectives: how many trials are Pareto-optimal
};

// The best of a study's `trials` (as Study::BestTrial and Study::BestTrials choose). `pareto`: whether to find the
// Pareto front of a multi-objective study (only the status line needs it).
StudyBest BestOf(const std::vector<FrozenTrial>& trials, const std::vector<StudyDirection>& directions, bool pareto);

// The study's best, read from the storage (its COMPLETE trials) after a trial ends; empty when it cannot be read.
StudyBest ReadStudyBest(const Study& study, bool pareto);

// Whether `trial` may be the study's best, given `known`, the study's best as read earlier. COMPLETE trials never
// change, so the best only improves: a trial worse than one already stored (or as good with a higher number) is not
// the best, and reading every COMPLETE trial to find that out (O(trials) per trial, O(trials²) over a study of many
// workers) is skipped.
bool MayBeStudyBest(const FrozenTrial& trial, const StudyBest& known, const std::vector<StudyDirection>& directions);

// What the status line shows of a run.
struct StatusCounts {
  int64_t done = 0;  // finished, in any state
  std::optional<int64_t> total;
  int64_t running = 0;
  int64_t pruned = 0;
  int64_t failed = 0;
  bool multi_objective = false;
  StudyBest best;
};

// The status line of a run, at most `columns` - 1 columns wide (so that a redraw never wraps):
//   [12/40] ██████░░░░░░ 30% | running 2 | pruned 3 | failed 1 | best 0.1234 (trial 7) | 1m02s, ETA 2m25s
// The bar and percentage only when the total is known; the bar gets the room the rest leaves, up to 20 cells.
// ETA = elapsed / done × (total − done), once a trial is done and while the run goes on (not `stopping`, not
// `finished`). `pareto K` instead of the best with several objectives.
std::string FormatStatusLine(const StatusCounts& counts, double elapsed_seconds, bool stopping, bool finished,
                             bool utf8, int columns);

// One status line on a terminal (stdout), redrawn in place. A thread redraws it every second, so the elapsed time
// moves during a long trial; with `poll`, that thread first asks it for fresh counts (the pool reads them from the
// storage), without the lock held. Lines printed through PrintAbove appear above it. It says "stopping..." once
// *stop_flag is set. Thread-safe.
class StatusLine {
 public:
  using Poll = std::function<std::optional<StatusCounts>()>;

  explicit StatusLine(const std::atomic<bool>* stop_flag, Poll poll = nullptr);
  StatusLine(const StatusLine&) = delete;
  StatusLine& operator=(const StatusLine&) = delete;
  ~StatusLine();

  // Draws the line with `counts` and starts the thread that redraws it.
  void Start(const StatusCounts& counts);
  // Redraws the line with `counts`.
  void Update(const StatusCounts& counts);
  // `line` on a line of its own, above the status line (which is cleared first, and redrawn after). With `poll`,
  // the thread polls at once: a worker's line usually means that a trial has ended.
  void PrintAbove(std::ostream& out, std::string_view line);
  // Stops the thread, draws the line one last time (with `counts` when given, else the last ones) and ends it, so
  // that what follows starts on a line of its own.
  void Finish(const std::optional<StatusCounts>& counts);

 private:
  void Tick();
  void StopTicker();
  // Caller holds mu_.
  void Draw();

  const std::atomic<bool>* const stop_flag_;
  const Poll poll_;
  const bool utf8_;
  const std::chrono::steady_clock::time_point start_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::thread ticker_;
  StatusCounts counts_;    // GUARDED_BY(mu_)
  bool stopping_ = false;  // GUARDED_BY(mu_): the thread is to end
  bool finished_ = false;  // GUARDED_BY(mu_): the last line is drawn
  bool refresh_ = false;   // GUARDED_BY(mu_): poll now, without waiting for the next second
};

// The progress of an in-process run, one trial at a time: on a terminal (`tty`) the status line (failures printed
// above it); elsewhere one plain log line per finished trial. Called from the loop's thread only; the status line
// has its own thread.
class Progress {
 public:
  Progress(bool tty, const std::atomic<bool>* stop_flag, std::optional<int64_t> total, bool multi_objective,
           StudyBest best_before);

  // Draws the status line on a terminal.
  void Start();
  // Counts `trial` and shows it; `best`: the study's best now that `trial` is stored in it.
  void TrialFinished(const FrozenTrial& trial, const StudyBest& best);
  // A line of its own: above the status line on a terminal.
  void Print(const std::string& line);
  // Draws the status line one last time.
  void Finish();
  // "12 trial(s) in 1m02s (10 COMPLETE, 2 PRUNED); best value 0.1234 (trial 7)".
  std::string Summary() const;

 private:
  double Elapsed() const;

  const bool tty_;
  const std::chrono::steady_clock::time_point start_;
  StatusCounts counts_;
  std::map<TrialState, int64_t> by_state_;
  StatusLine status_line_;
};

}  // namespace dial::cli
