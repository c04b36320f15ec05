// The GP sampler: Gaussian-process Bayesian optimisation over the intersection search space (see
// include/dial/samplers/gp.h and docs/samplers/gp.md).
#include <algorithm>
#include <cmath>
#include <iostream>
#include <numeric>
#include <optional>
#include <string>
#include <variant>

#include "dial/samplers/gp.h"
#include "dial/study.h"
#include "samplers/builtin_samplers.h"
#include "samplers/gp/gaussian_process.h"
#include "samplers/gp/optimize_acquisition.h"
#include "samplers/gp/output_transform.h"
#include "samplers/search_space.h"
#include "util/options.h"
#include "util/random.h"

namespace dial {
namespace {

using internal::gp::AcquisitionKind;
using internal::gp::AcquisitionOptions;
using internal::gp::CubeLayout;
using internal::gp::FitOptions;
using internal::gp::GaussianProcess;
using internal::gp::HyperPrior;
using internal::gp::KernelParams;
using internal::gp::OutputTransform;

// A GP needs two observations to say anything.
constexpr int kMinTrialsForModel = 2;
// The noise-variance floor, relative to the standardised outputs' variance; deterministic objectives pin it there.
constexpr double kMinNoiseVariance = 1e-6;
constexpr int kMaxCandidates = 1000000;
// Incumbents whose neighbourhoods seed local acquisition candidates.
constexpr int kIncumbents = 5;
// Hyperparameter fits: full effort while the model is small, fewer iterations and starts as O(n³) grows.
constexpr int kSmallModel = 100;
constexpr int kLargeModel = 300;
constexpr int kFitIterationsSmall = 100;
constexpr int kFitIterationsMedium = 50;
constexpr int kFitIterationsLarge = 25;
// Candidates scored per trial fall from n_candidates at kSmallModel trials in proportion to 1/n (each costs
// O(n²)), but never below this.
constexpr int kMinCandidates = 256;

OutputTransform ToInternal(GpOutputTransform t) {
  switch (t) {
    case GpOutputTransform::kNone:
      return OutputTransform::kNone;
    case GpOutputTransform::kRank:
      return OutputTransform::kRank;
    case GpOutputTransform::kLog:
      break;
  }
  return OutputTransform::kLog;
}

class GpSampler final : public Sampler {
 public:
  explicit GpSampler(const GpSamplerOptions& options)
      : options_(options), random_(NewRandomSampler({.seed = options.seed})) {}

  std::string Name() const override { return "gp"; }

  SearchSpace InferRelativeSearchSpace(const Study& study, const FrozenTrial& trial) override {
    if (study.is_multi_objective()) {
      if (!warned_multi_objective_) {
        std::cerr << "dial: sampler 'gp' models one objective; this study has " << study.directions().size()
                  << ", so its trials are sampled at random\n";
        warned_multi_objective_ = true;
      }
      return {};
    }
    const std::vector<FrozenTrial>* trials = History(study, trial);
    if (!trials) return {};
    SearchSpace space = internal::IntersectionSearchSpace(*trials);
    if (space.empty()) return {};
    const size_t covered = internal::TrialsCovering(*trials, space).size();
    if (covered < static_cast<size_t>(std::max(options_.n_startup_trials, kMinTrialsForModel))) return {};
    return space;
  }

  Result<std::map<std::string, double>> SampleRelative(const Study& study, const FrozenTrial& trial,
                                                       const SearchSpace& space) override {
    const std::vector<FrozenTrial>* trials = History(study, trial);
    if (!trials || space.empty()) return std::map<std::string, double>{};
    const bool maximize = study.directions().at(0) == StudyDirection::kMaximize;
    const internal::UnitCubeEncoding encoding(space);
    const int dims = encoding.dims();

    // Observations: completed trials with a value, ±inf clipped to the finite extremes, negated to minimise.
    std::vector<const FrozenTrial*> observed;
    for (const FrozenTrial* t : internal::TrialsCovering(*trials, space)) {
      if (t->values.size() == 1 && !std::isnan(t->values[0])) observed.push_back(t);
    }
    const Eigen::Index n = static_cast<Eigen::Index>(observed.size());
    if (n < kMinTrialsForModel) return std::map<std::string, double>{};
    Eigen::MatrixXd x(n, dims);
    Eigen::VectorXd raw(n);
    double finite_min = INFINITY, finite_max = -INFINITY;
    for (Eigen::Index i = 0; i < n; ++i) {
      const std::vector<double> row = encoding.Encode(observed[i]->params);
      for (int j = 0; j < dims; ++j) x(i, j) = row[j];
      raw[i] = maximize ? -observed[i]->values[0] : observed[i]->values[0];
      if (std::isfinite(raw[i])) finite_min = std::min(finite_min, raw[i]), finite_max = std::max(finite_max, raw[i]);
    }
    if (!std::isfinite(finite_min)) return std::map<std::string, double>{};
    for (Eigen::Index i = 0; i < n; ++i) raw[i] = std::clamp(raw[i], finite_min, finite_max);
    const Eigen::VectorXd y = internal::gp::TransformOutputs(raw, ToInternal(options_.output_transform));

    const KernelParams params = Fit(space, x, y);
    std::optional<GaussianProcess> gp = GaussianProcess::Create(x, y, params);
    if (!gp) return std::map<std::string, double>{};  // numerically hopeless: fall back to random

    // Kriging believer: other workers' running trials are added at the posterior mean, which leaves the mean
    // unchanged and shrinks the variance around them.
    std::vector<std::vector<double>> pending;
    for (const FrozenTrial& t : *trials) {
      if (t.state != TrialState::kRunning || t.number == trial.number) continue;
      bool covers = true;
      for (const auto& [name, dist] : space) {
        auto d = t.distributions.find(name);
        covers = covers && d != t.distributions.end() && DistributionEquals(d->second, dist);
      }
      if (covers) pending.push_back(encoding.Encode(t.params));
    }
    if (!pending.empty()) {
      const Eigen::Index p = static_cast<Eigen::Index>(pending.size());
      Eigen::MatrixXd x_all(n + p, dims);
      Eigen::VectorXd y_all(n + p);
      x_all.topRows(n) = x;
      y_all.head(n) = y;
      for (Eigen::Index i = 0; i < p; ++i) {
        for (int j = 0; j < dims; ++j) x_all(n + i, j) = pending[i][j];
        double mean = 0.0, variance = 0.0;
        gp->Predict(x_all.row(n + i).transpose(), &mean, &variance);
        y_all[n + i] = mean;
      }
      std::optional<GaussianProcess> fantasy = GaussianProcess::Create(std::move(x_all), std::move(y_all), params);
      if (fantasy) gp = std::move(fantasy);
    }

    // Incumbents, best first.
    std::vector<Eigen::Index> order(n);
    std::iota(order.begin(), order.end(), 0);
    const Eigen::Index n_incumbents = std::min<Eigen::Index>(kIncumbents, n);
    std::partial_sort(order.begin(), order.begin() + n_incumbents, order.end(),
                      [&](Eigen::Index a, Eigen::Index b) { return y[a] < y[b]; });
    Eigen::MatrixXd incumbents(n_incumbents, dims);
    for (Eigen::Index i = 0; i < n_incumbents; ++i) incumbents.row(i) = x.row(order[i]);

    AcquisitionOptions acquisition;
    acquisition.kind =
        options_.acquisition == GpAcquisitionFunction::kUcb ? AcquisitionKind::kUcb : AcquisitionKind::kLogEi;
    acquisition.beta = options_.beta;
    acquisition.best = y[order[0]];

    acquisition.n_candidates = options_.n_candidates;
    if (n > kSmallModel) {
      acquisition.n_candidates = std::max<int>(std::min(kMinCandidates, options_.n_candidates),
                                               static_cast<int>(options_.n_candidates * kSmallModel / n));
    }
    internal::SplitMix64 rng(internal::StreamSeed(options_.seed, trial.number, "gp:acquisition"));
    const Eigen::VectorXd best = internal::gp::MaximizeAcquisition(*gp, Layout(encoding), incumbents, acquisition, rng);
    return encoding.Decode(std::vector<double>(best.data(), best.data() + best.size()));
  }

  Result<double> SampleIndependent(const Study& study, const FrozenTrial& trial, const std::string& name,
                                   const Distribution& dist) override {
    return random_->SampleIndependent(study, trial, name, dist);
  }

 private:
  // The study's trials, read once per trial number (SampleIndependent and the relative calls share them).
  const std::vector<FrozenTrial>* History(const Study& study, const FrozenTrial& trial) {
    if (cached_trial_number_ != trial.number) {
      auto trials = study.GetTrials();
      if (!trials.ok()) return nullptr;
      cached_trials_ = std::move(trials).value();
      cached_trial_number_ = trial.number;
    }
    return &cached_trials_;
  }

  // MAP hyperparameters, warm-started from the previous fit on the same space.
  KernelParams Fit(const SearchSpace& space, const Eigen::MatrixXd& x, const Eigen::VectorXd& y) {
    const int dims = static_cast<int>(x.cols());
    const Eigen::Index n = x.rows();
    HyperPrior prior = HyperPrior::WithNoiseFloor(kMinNoiseVariance);
    if (options_.deterministic_objective) prior.max_log_noise_variance = prior.min_log_noise_variance;
    std::vector<KernelParams> starts;
    const bool warm = last_params_ && last_params_->dims() == dims && SameSpace(space, last_space_);
    if (warm) starts.push_back(*last_params_);
    if (!warm || n <= kLargeModel) starts.push_back(prior.Mode(dims));
    FitOptions fit;
    fit.max_iterations = n <= kSmallModel   ? kFitIterationsSmall
                         : n <= kLargeModel ? kFitIterationsMedium
                                            : kFitIterationsLarge;
    KernelParams params = internal::gp::FitKernelParams(x, y, prior, starts, fit);
    last_params_ = params;
    last_space_ = space;
    return params;
  }

  static bool SameSpace(const SearchSpace& a, const SearchSpace& b) {
    if (a.size() != b.size()) return false;
    for (auto i = a.begin(), j = b.begin(); i != a.end(); ++i, ++j) {
      if (i->first != j->first || !DistributionEquals(i->second, j->second)) return false;
    }
    return true;
  }

  static CubeLayout Layout(const internal::UnitCubeEncoding& encoding) {
    CubeLayout layout;
    layout.dims = encoding.dims();
    std::map<std::string, std::vector<int>> groups;
    for (int j = 0; j < layout.dims; ++j) {
      if (encoding.IsOneHot(j)) {
        groups[encoding.ColumnParam(j)].push_back(j);
      } else {
        layout.continuous.push_back(j);
        layout.has_discrete = layout.has_discrete || encoding.IsDiscrete(j);
      }
    }
    for (auto& [name, columns] : groups) layout.categoricals.push_back(std::move(columns));
    // Decoding rounds discrete values to their grid and encoding puts them back at the centre of their cell.
    layout.snap = [&encoding](const Eigen::VectorXd& x) {
      const std::vector<double> snapped =
          encoding.Encode(encoding.Decode(std::vector<double>(x.data(), x.data() + x.size())));
      return Eigen::VectorXd(Eigen::Map<const Eigen::VectorXd>(snapped.data(), snapped.size()));
    };
    return layout;
  }

  GpSamplerOptions options_;
  std::unique_ptr<Sampler> random_;
  bool warned_multi_objective_ = false;
  int64_t cached_trial_number_ = -1;
  std::vector<FrozenTrial> cached_trials_;
  std::optional<KernelParams> last_params_;
  SearchSpace last_space_;
};

}  // namespace

Status GpSamplerOptions::Validate() const {
  const std::string what = "sampler 'gp'";
  if (n_startup_trials < 0) {
    return InvalidArgument(what + ": n_startup_trials must be >= 0, got " + std::to_string(n_startup_trials));
  }
  if (n_candidates < 1 || n_candidates > kMaxCandidates) {
    return InvalidArgument(what + ": n_candidates must be in [1, " + std::to_string(kMaxCandidates) + "], got " +
                           std::to_string(n_candidates));
  }
  if (!std::isfinite(beta) || beta < 0) {
    return InvalidArgument(what + ": beta must be a finite number >= 0, got " + std::to_string(beta));
  }
  return Status::Ok();
}

std::unique_ptr<Sampler> NewGpSampler(const GpSamplerOptions& options) {
  assert(options.Validate().ok() && "NewGpSampler needs valid options");
  return std::make_unique<GpSampler>(options);
}

namespace internal {

Result<std::unique_ptr<Sampler>> CreateGpSamplerFromJson(const Json& options, uint64_t seed) {
  const std::string what = "sampler 'gp'";
  DIAL_RETURN_IF_ERROR(CheckOptionKeys(what, options,
                                       {"n_startup_trials", "acquisition", "beta", "seed", "n_candidates",
                                        "deterministic_objective", "output_transform"}));
  GpSamplerOptions opts;
  DIAL_ASSIGN_OR_RETURN(opts.seed, GetSeedOption(what, options, seed));
  DIAL_ASSIGN_OR_RETURN(int64_t startup, GetIntOption(what, options, "n_startup_trials", opts.n_startup_trials, 0,
                                                      std::numeric_limits<int>::max()));
  opts.n_startup_trials = static_cast<int>(startup);
  DIAL_ASSIGN_OR_RETURN(int64_t candidates,
                        GetIntOption(what, options, "n_candidates", opts.n_candidates, 1, kMaxCandidates));
  opts.n_candidates = static_cast<int>(candidates);
  DIAL_ASSIGN_OR_RETURN(opts.acquisition, GetChoiceOption(what, options, "acquisition", opts.acquisition,
                                                          {{"logei", GpAcquisitionFunction::kLogEi},
                                                           {"ucb", GpAcquisitionFunction::kUcb}}));
  DIAL_ASSIGN_OR_RETURN(opts.beta, GetDoubleOption(what, options, "beta", opts.beta));
  DIAL_ASSIGN_OR_RETURN(opts.deterministic_objective,
                        GetBoolOption(what, options, "deterministic_objective", opts.deterministic_objective));
  DIAL_ASSIGN_OR_RETURN(opts.output_transform, GetChoiceOption(what, options, "output_transform", opts.output_transform,
                                                               {{"log", GpOutputTransform::kLog},
                                                                {"rank", GpOutputTransform::kRank},
                                                                {"none", GpOutputTransform::kNone}}));
  DIAL_RETURN_IF_ERROR(opts.Validate());
  return NewGpSampler(opts);
}

}  // namespace internal
}  // namespace dial
