// Optimizers and learning-rate schedules for the ASR trainer. Adam, AdamW and SGD are libtorch's; Adafactor is
// written here (libtorch 1.13 has none).
#include "speech/asr/optim.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <numbers>
#include <string>

namespace dial::speech {
namespace {

// Adafactor constants (Shazeer & Stern 2018, section 7 / Algorithm 4 and 5).
constexpr double kAdafactorEps1 = 1e-30;     // regulariser added to the squared gradient
constexpr double kAdafactorDecayRate = 0.8;  // β̂2_t = 1 − t^(−0.8)

std::string Num(double v) {
  std::string s = std::to_string(v);
  // to_string prints 6 decimals; trim trailing zeros for readable messages ("0.5", not "0.500000").
  if (s.find('.') != std::string::npos) {
    s.erase(s.find_last_not_of('0') + 1);
    if (s.back() == '.') s.pop_back();
  }
  if (v != 0.0 && (std::abs(v) < 1e-3 || std::abs(v) >= 1e7)) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%g", v);
    s = buf;
  }
  return s;
}

bool OneOf(const std::string& value, std::initializer_list<const char*> allowed, std::string* joined) {
  bool found = false;
  for (const char* a : allowed) {
    if (!joined->empty()) *joined += ", ";
    *joined += a;
    if (value == a) found = true;
  }
  return found;
}

// ---------------------------------------------------------------------------------------------------------
// Adafactor, with relative step sizes off (the given lr is used) and no parameter scaling. Per parameter W
// with gradient G at step t (β̂2_t = 1 − t^−0.8, ε1 = 1e-30):
//   matrices (the last two dimensions are factored: rows R, columns C):
//     R_t = β̂2_t R_{t−1} + (1 − β̂2_t) · mean_cols(G² + ε1)
//     C_t = β̂2_t C_{t−1} + (1 − β̂2_t) · mean_rows(G² + ε1)
//     V̂_t = R_t C_tᵀ / mean(R_t)
//   vectors: V̂_t = β̂2_t V̂_{t−1} + (1 − β̂2_t)(G² + ε1)
//   U_t = G / sqrt(V̂_t);  U_t ← U_t / max(1, RMS(U_t) / d)   (update clipping, d = clip_threshold)
//   with beta1 > 0: M_t = β1 M_{t−1} + (1 − β1) U_t and the step uses M_t
//   W ← W − lr·U_t − lr·weight_decay·W   (decoupled weight decay)

struct AdafactorOptions : public torch::optim::OptimizerCloneableOptions<AdafactorOptions> {
  double lr = 1e-3;
  double beta1 = 0.0;
  double weight_decay = 0.0;
  double clip_threshold = 1.0;
  double get_lr() const override { return lr; }
  void set_lr(const double value) override { lr = value; }
};

struct AdafactorParamState : public torch::optim::OptimizerCloneableParamState<AdafactorParamState> {
  int64_t step = 0;
  torch::Tensor exp_avg;         // M (only with beta1 > 0)
  torch::Tensor exp_avg_sq_row;  // R (factored)
  torch::Tensor exp_avg_sq_col;  // C (factored)
  torch::Tensor exp_avg_sq;      // V (vectors)
};

class Adafactor : public torch::optim::Optimizer {
 public:
  Adafactor(std::vector<torch::Tensor> params, const AdafactorOptions& defaults)
      : Optimizer({torch::optim::OptimizerParamGroup(std::move(params))},
                  std::make_unique<AdafactorOptions>(defaults)) {}

  torch::Tensor step(LossClosure closure = nullptr) override {
    torch::NoGradGuard no_grad;
    torch::Tensor loss;
    if (closure) {
      torch::AutoGradMode enable_grad(true);
      loss = closure();
    }
    for (auto& group : param_groups_) {
      const auto& options = static_cast<const AdafactorOptions&>(group.options());
      for (auto& p : group.params()) {
        if (!p.grad().defined()) continue;
        const auto grad = p.grad().to(torch::kFloat);
        const std::string key = c10::guts::to_string(p.unsafeGetTensorImpl());
        auto it = state_.find(key);
        if (it == state_.end()) {
          auto s = std::make_unique<AdafactorParamState>();
          if (Factored(p)) {
            s->exp_avg_sq_row = torch::zeros(grad.sizes().slice(0, grad.dim() - 1), grad.options());
            auto col_shape = grad.sizes().vec();
            col_shape.erase(col_shape.end() - 2);
            s->exp_avg_sq_col = torch::zeros(col_shape, grad.options());
          } else {
            s->exp_avg_sq = torch::zeros_like(grad);
          }
          if (options.beta1 > 0.0) s->exp_avg = torch::zeros_like(grad);
          it = state_.emplace(key, std::move(s)).first;
        }
        auto& s = static_cast<AdafactorParamState&>(*it->second);
        s.step += 1;
        const double beta2t = 1.0 - std::pow(static_cast<double>(s.step), -kAdafactorDecayRate);
        auto sq = grad * grad + kAdafactorEps1;
        torch::Tensor update;
        if (Factored(p)) {
          s.exp_avg_sq_row.mul_(beta2t).add_(sq.mean(-1), 1.0 - beta2t);
          s.exp_avg_sq_col.mul_(beta2t).add_(sq.mean(-2), 1.0 - beta2t);
          auto row_factor = (s.exp_avg_sq_row / s.exp_avg_sq_row.mean(-1, true)).rsqrt().unsqueeze(-1);
          auto col_factor = s.exp_avg_sq_col.unsqueeze(-2).rsqrt();
          update = grad * row_factor * col_factor;
        } else {
          s.exp_avg_sq.mul_(beta2t).add_(sq, 1.0 - beta2t);
          update = grad * s.exp_avg_sq.rsqrt();
        }
        const double rms = update.pow(2).mean().sqrt().item<double>();
        update.div_(std::max(1.0, rms / options.clip_threshold)).mul_(options.lr);
        if (options.beta1 > 0.0) {
          s.exp_avg.mul_(options.beta1).add_(update, 1.0 - options.beta1);
          update = s.exp_avg;
        }
        if (options.weight_decay > 0.0) p.add_(p, -options.weight_decay * options.lr);
        p.sub_(update.to(p.dtype()));
      }
    }
    return loss;
  }

  // Checkpoint support: each parameter's state tensors under its index.
  void save(torch::serialize::OutputArchive& archive) const override {
    const auto& params = param_groups_.at(0).params();
    for (size_t i = 0; i < params.size(); ++i) {
      auto it = state_.find(c10::guts::to_string(params[i].unsafeGetTensorImpl()));
      if (it == state_.end()) continue;
      const auto& s = static_cast<const AdafactorParamState&>(*it->second);
      const std::string prefix = "adafactor/" + std::to_string(i) + "/";
      archive.write(prefix + "step", torch::tensor(s.step));
      for (auto [name, t] : {std::pair{"exp_avg", &s.exp_avg}, std::pair{"row", &s.exp_avg_sq_row},
                             std::pair{"col", &s.exp_avg_sq_col}, std::pair{"sq", &s.exp_avg_sq}}) {
        if (t->defined()) archive.write(prefix + name, *t, /*is_buffer=*/true);
      }
    }
  }
  void load(torch::serialize::InputArchive& archive) override {
    const auto& params = param_groups_.at(0).params();
    for (size_t i = 0; i < params.size(); ++i) {
      const std::string prefix = "adafactor/" + std::to_string(i) + "/";
      torch::Tensor step;
      if (!archive.try_read(prefix + "step", step)) continue;
      auto s = std::make_unique<AdafactorParamState>();
      s->step = step.item<int64_t>();
      for (auto [name, t] : {std::pair{"exp_avg", &s->exp_avg}, std::pair{"row", &s->exp_avg_sq_row},
                             std::pair{"col", &s->exp_avg_sq_col}, std::pair{"sq", &s->exp_avg_sq}}) {
        torch::Tensor value;
        if (archive.try_read(prefix + name, value, /*is_buffer=*/true)) *t = value;
      }
      state_[c10::guts::to_string(params[i].unsafeGetTensorImpl())] = std::move(s);
    }
  }

 private:
  static bool Factored(const torch::Tensor& p) { return p.dim() >= 2; }
};

}  // namespace

Status OptimizerOptions::Validate() const {
  std::string names;
  if (!OneOf(name, {"adam", "adamw", "sgd", "adafactor"}, &names)) {
    return InvalidArgument("optimizer (" + name + ") must be one of " + names);
  }
  if (!(lr > 0.0) || !std::isfinite(lr)) return InvalidArgument("lr (" + Num(lr) + ") must be > 0");
  if (!(beta1 >= 0.0 && beta1 < 1.0)) return InvalidArgument("beta1 (" + Num(beta1) + ") must be in [0, 1)");
  if (!(beta2 >= 0.0 && beta2 < 1.0)) return InvalidArgument("beta2 (" + Num(beta2) + ") must be in [0, 1)");
  if (!(eps >= 0.0)) return InvalidArgument("eps (" + Num(eps) + ") must be >= 0");
  if (!(weight_decay >= 0.0)) return InvalidArgument("weight_decay (" + Num(weight_decay) + ") must be >= 0");
  if (!(momentum >= 0.0 && momentum < 1.0)) {
    return InvalidArgument("momentum (" + Num(momentum) + ") must be in [0, 1)");
  }
  if (name == "sgd" && nesterov && momentum <= 0.0) {
    return InvalidArgument("nesterov needs momentum > 0 (momentum is " + Num(momentum) + ")");
  }
  if (!(clip_threshold > 0.0)) return InvalidArgument("clip_threshold (" + Num(clip_threshold) + ") must be > 0");
  return Status::Ok();
}

Result<std::unique_ptr<torch::optim::Optimizer>> NewOptimizer(std::vector<torch::Tensor> params,
                                                              const OptimizerOptions& options) {
  DIAL_RETURN_IF_ERROR(options.Validate());
  try {
    std::unique_ptr<torch::optim::Optimizer> optimizer;
    if (options.name == "adam") {
      // L2 penalty added to the gradient (torch.optim.Adam's weight_decay).
      optimizer = std::make_unique<torch::optim::Adam>(std::move(params), torch::optim::AdamOptions(options.lr)
                                                                              .betas({options.beta1, options.beta2})
                                                                              .eps(options.eps)
                                                                              .weight_decay(options.weight_decay));
    } else if (options.name == "adamw") {
      // Decoupled: W ← W − lr·weight_decay·W before the Adam step (Loshchilov & Hutter 2019).
      optimizer = std::make_unique<torch::optim::AdamW>(std::move(params), torch::optim::AdamWOptions(options.lr)
                                                                               .betas({options.beta1, options.beta2})
                                                                               .eps(options.eps)
                                                                               .weight_decay(options.weight_decay));
    } else if (options.name == "sgd") {
      // v ← μ·v + g (g includes the L2 term);  W ← W − lr·v, or with Nesterov W ← W − lr·(g + μ·v).
      optimizer = std::make_unique<torch::optim::SGD>(std::move(params), torch::optim::SGDOptions(options.lr)
                                                                             .momentum(options.momentum)
                                                                             .nesterov(options.nesterov)
                                                                             .weight_decay(options.weight_decay));
    } else {
      AdafactorOptions a;
      a.lr = options.lr;
      a.beta1 = options.beta1;
      a.weight_decay = options.weight_decay;
      a.clip_threshold = options.clip_threshold;
      optimizer = std::make_unique<Adafactor>(std::move(params), a);
    }
    return optimizer;
  } catch (const c10::Error& e) {
    return Internal("building optimizer " + options.name + ": " + e.what_without_backtrace());
  }
}

void SetLearningRate(torch::optim::Optimizer& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
}

// ---------------------------------------------------------------------------------------------------------

Status ScheduleOptions::Validate() const {
  std::string names;
  if (!OneOf(name, {"warmup_cosine", "warmup_exponential", "warmuplr", "noam", "plateau", "cyclic", "constant"},
             &names)) {
    return InvalidArgument("scheduler (" + name + ") must be one of " + names);
  }
  if (!(lr > 0.0) || !std::isfinite(lr)) return InvalidArgument("lr (" + Num(lr) + ") must be > 0");
  if (warmup_steps < 0) return InvalidArgument("warmup_steps (" + std::to_string(warmup_steps) + ") must be >= 0");
  if ((name == "noam" || name == "warmuplr") && warmup_steps < 1) {
    return InvalidArgument("warmup_steps (" + std::to_string(warmup_steps) + ") must be at least 1 for " + name);
  }
  // warmup_cosine with a warmup as long as the run or longer is allowed: the lr rises for the whole run and never
  // reaches its peak (a short proxy of a long recipe, or a searched warmup_steps at a low fidelity level).
  if (!(min_lr_ratio >= 0.0 && min_lr_ratio <= 1.0)) {
    return InvalidArgument("min_lr_ratio (" + Num(min_lr_ratio) + ") must be in [0, 1]");
  }
  if (!(gamma > 0.0 && gamma <= 1.0)) return InvalidArgument("gamma (" + Num(gamma) + ") must be in (0, 1]");
  if (!(noam_factor > 0.0)) return InvalidArgument("noam_factor (" + Num(noam_factor) + ") must be > 0");
  if (d_model < 1) return InvalidArgument("d_model (" + std::to_string(d_model) + ") must be at least 1");
  if (cycle_steps < 2) return InvalidArgument("cycle_steps (" + std::to_string(cycle_steps) + ") must be at least 2");
  if (!(plateau_factor > 0.0 && plateau_factor < 1.0)) {
    return InvalidArgument("plateau_factor (" + Num(plateau_factor) + ") must be in (0, 1)");
  }
  if (plateau_patience < 0) {
    return InvalidArgument("plateau_patience (" + std::to_string(plateau_patience) + ") must be >= 0");
  }
  if (!(plateau_threshold >= 0.0)) {
    return InvalidArgument("plateau_threshold (" + Num(plateau_threshold) + ") must be >= 0");
  }
  return Status::Ok();
}

Result<LrSchedule> NewLrSchedule(const ScheduleOptions& options) {
  DIAL_RETURN_IF_ERROR(options.Validate());
  return LrSchedule(options);
}

double LrSchedule::LearningRate(int64_t step) const {
  const auto& o = options_;
  const double s = static_cast<double>(std::max<int64_t>(step, 1));
  const double warmup = static_cast<double>(o.warmup_steps);
  const double floor = o.min_lr_ratio * o.lr;
  // Linear warmup shared by warmup_*, plateau and constant: lr·s/warmup for s < warmup.
  const bool warming = o.warmup_steps > 0 && s < warmup;
  const double warm = o.lr * s / std::max(warmup, 1.0);
  if (o.name == "noam") {
    // lr = factor · d_model^−0.5 · min(s^−0.5, s · warmup^−1.5); peaks at s = warmup.
    return o.noam_factor / std::sqrt(static_cast<double>(o.d_model)) *
           std::min(1.0 / std::sqrt(s), s * std::pow(warmup, -1.5));
  }
  if (o.name == "warmuplr") {
    // ESPnet/WeNet WarmupLR: lr · warmup^0.5 · min(s^−0.5, s · warmup^−1.5); the configured lr is the peak.
    return o.lr * std::sqrt(warmup) * std::min(1.0 / std::sqrt(s), s * std::pow(warmup, -1.5));
  }
  if (o.name == "warmup_cosine") {
    // After warmup: floor + (lr − floor) · ½(1 + cos(π·p)), p = (s − warmup)/(total − warmup) clipped to 1.
    if (warming) return warm;
    const double p = std::min(1.0, (s - warmup) / static_cast<double>(o.total_steps - o.warmup_steps));
    return floor + (o.lr - floor) * 0.5 * (1.0 + std::cos(std::numbers::pi * p));
  }
  if (o.name == "warmup_exponential") {
    // After warmup: max(floor, lr · γ^(s − warmup)).
    if (warming) return warm;
    return std::max(floor, o.lr * std::pow(o.gamma, s - warmup));
  }
  if (o.name == "cyclic") {
    // Triangular cyclic LR (Smith 2017): x = (s mod C)/C, lr_t = floor + (lr − floor)·(1 − |2x − 1|), so each
    // cycle of C steps climbs from floor to lr at C/2 and back.
    const double x = static_cast<double>(step % o.cycle_steps) / static_cast<double>(o.cycle_steps);
    return floor + (o.lr - floor) * (1.0 - std::abs(2.0 * x - 1.0));
  }
  if (o.name == "plateau") {
    // lr · scale, scale ← scale · factor after `patience` reports without improvement; never below floor.
    if (warming) return warm;
    return std::max(floor, o.lr * state_.plateau_scale);
  }
  return warming ? warm : o.lr;  // constant
}

double LrSchedule::PeakLearningRate() const {
  if (options_.name == "noam") {
    // At s = warmup: factor · d_model^−0.5 · warmup^−0.5.
    return options_.noam_factor / std::sqrt(static_cast<double>(options_.d_model) * options_.warmup_steps);
  }
  return options_.lr;
}

void LrSchedule::ReportMetric(double value) {
  if (options_.name != "plateau" || !std::isfinite(value)) return;
  // Improvement: value < best·(1 − threshold) when lower is better (value > best·(1 + threshold) otherwise),
  // PyTorch ReduceLROnPlateau's "rel" mode.
  const double t = options_.plateau_threshold;
  const bool improved = !state_.has_best || (options_.plateau_mode_max ? value > state_.best_metric * (1.0 + t)
                                                                       : value < state_.best_metric * (1.0 - t));
  if (improved) {
    state_.best_metric = value;
    state_.has_best = true;
    state_.bad_reports = 0;
    return;
  }
  if (++state_.bad_reports > options_.plateau_patience) {
    state_.plateau_scale *= options_.plateau_factor;
    state_.bad_reports = 0;
  }
}

}  // namespace dial::speech
