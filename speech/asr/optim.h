// Optimizers (Adam, AdamW, SGD with momentum/Nesterov, Adafactor) and learning-rate schedules for the ASR
// trainer. Schedules are pure functions of the step (plus the dev metric for plateau), so a resumed run
// reproduces them exactly.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dial/status.h"

namespace dial::speech {

struct OptimizerOptions {
  std::string name = "adam";  // adam | adamw | sgd | adafactor
  double lr = 1e-3;
  double beta1 = 0.9;           // adam/adamw; adafactor: momentum on its update (0 = none, as in the paper)
  double beta2 = 0.98;          // adam/adamw; adafactor uses its own schedule 1 − t^−0.8 instead
  double eps = 1e-8;            // adam/adamw (adafactor uses ε1 = 1e-30 on the squared gradient)
  double weight_decay = 0.0;    // L2 added to the gradient for adam/sgd; decoupled for adamw and adafactor
  double momentum = 0.0;        // sgd
  bool nesterov = false;        // sgd (needs momentum > 0)
  double clip_threshold = 1.0;  // adafactor: update RMS clipping d
  Status Validate() const;
};

// Builds the optimizer over `params`. InvalidArgument naming the key on bad options.
Result<std::unique_ptr<torch::optim::Optimizer>> NewOptimizer(std::vector<torch::Tensor> params,
                                                              const OptimizerOptions& options);

// Sets every param group's learning rate (what a schedule drives each step).
void SetLearningRate(torch::optim::Optimizer& optimizer, double lr);

struct ScheduleOptions {
  // warmup_cosine | warmup_exponential | warmuplr (ESPnet/WeNet) | noam | plateau | cyclic | constant
  std::string name = "warmup_cosine";
  double lr = 1e-3;  // peak lr (warmup_*, warmuplr, plateau, cyclic max, constant); noam ignores it
  int64_t warmup_steps = 0;
  int64_t total_steps = 0;          // warmup_cosine: where the cosine ends
  double min_lr_ratio = 0.0;        // floor as a fraction of the peak (cosine end, exponential, plateau, cyclic min)
  double gamma = 0.999;             // warmup_exponential: per-step decay after warmup
  double noam_factor = 1.0;         // noam: lr = factor·d_model^−0.5·min(step^−0.5, step·warmup^−1.5)
  int d_model = 144;                // noam
  int64_t cycle_steps = 2000;       // cyclic: steps of one triangle (up then down)
  double plateau_factor = 0.5;      // plateau: multiply the lr by this ...
  int plateau_patience = 1;         // ... after this many reports without improvement
  double plateau_threshold = 1e-4;  // relative improvement that counts
  bool plateau_mode_max = false;    // false: a lower metric is better (WER, loss)
  Status Validate() const;
};

class LrSchedule {
 public:
  explicit LrSchedule(const ScheduleOptions& options) : options_(options) {}
  // The learning rate for optimizer step `step` (1-based: the first update is step 1).
  double LearningRate(int64_t step) const;
  // The highest learning rate the schedule reaches (always log it: for noam it is not a config value).
  double PeakLearningRate() const;
  // plateau: the dev metric after each epoch; other schedules ignore it.
  void ReportMetric(double value);
  const ScheduleOptions& options() const { return options_; }

  // What ReportMetric has learned (plateau only); saved in checkpoints so a resumed run continues exactly.
  struct State {
    double plateau_scale = 1.0;
    double best_metric = 0.0;
    bool has_best = false;
    int bad_reports = 0;
  };
  const State& state() const { return state_; }
  void set_state(const State& state) { state_ = state; }

 private:
  ScheduleOptions options_;
  State state_;
};

// Validates and builds a schedule.
Result<LrSchedule> NewLrSchedule(const ScheduleOptions& options);

}  // namespace dial::speech
