// The cmaes sampler: CMA-ES (cma_es.h) on the unit-cube encoding of the intersection search space, with
// restarts, shared by several workers through storage. See include/dial/samplers/cmaes.h for the protocol.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "dial/samplers/cmaes.h"
#include "dial/study.h"
#include "samplers/builtin_samplers.h"
#include "samplers/cmaes/cma_es.h"
#include "samplers/cmaes/intersection_cache.h"
#include "samplers/search_space.h"
#include "util/options.h"
#include "util/random.h"

namespace dial {
namespace {

// σ0 as a fraction of each range. Hansen advises about a third of the range when the optimum could be anywhere;
// a fifth converges faster within HPO budgets (a few hundred trials) while still covering the cube from its
// centre; Optuna's 1/6 is close.
constexpr double kDefaultSigma0 = 0.2;
// Candidates outside [0, 1]^d are redrawn up to 10·d times (Optuna's n_max_resampling), then clipped.
constexpr int kResamplesPerDim = 10;
// BIPOP's small runs stop after half the evaluations of the last large run (Hansen 2009).
constexpr double kSmallRunBudgetShare = 0.5;

// Trial system attributes (dial's own: Optuna's "cma:" keys hold a pickled optimizer).
constexpr std::string_view kSpaceAttr = "dial:cma:space";
constexpr std::string_view kGenerationAttr = "dial:cma:generation";
constexpr std::string_view kRestartAttr = "dial:cma:restart";
constexpr std::string_view kPopsizeAttr = "dial:cma:popsize";
// Stream names of the random draws.
constexpr std::string_view kCandidateStream = "dial:cmaes";
constexpr std::string_view kRestartStream = "dial:cmaes:restart";
// The seed of restart draws (new mean, BIPOP's regime), shared by every worker of a study: the first worker to
// restart stores its own seed here, so workers with different seeds still replay one sequence of runs.
constexpr std::string_view kRestartSeedAttr = "dial:cmaes:restart_seed";

// The search space's identity, for attribute keys: FNV-1a over its names and distributions, in hex.
std::string SpaceId(const SearchSpace& space) {
  uint64_t h = 0xCBF29CE484222325ULL;
  for (const auto& [name, dist] : space) {
    for (unsigned char c : name + "=" + DistributionToJson(dist) + ";") h = (h ^ c) * 0x100000001B3ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string MembersKey(const std::string& space_id, int64_t generation) {
  return "dial:cma:" + space_id + ":generation:" + std::to_string(generation);
}

std::optional<int64_t> IntAttr(const FrozenTrial& t, std::string_view key) {
  auto it = t.system_attrs.find(std::string(key));
  if (it == t.system_attrs.end() || !it->second.is_number_integer()) return std::nullopt;
  return it->second.get<int64_t>();
}

// A CMA-ES history replayed from storage for one search space: the run in progress and the restart bookkeeping.
struct Replay {
  SearchSpace space;
  std::string space_id;
  internal::UnitCubeEncoding encoding{SearchSpace{}};
  int64_t generation = 0;  // generations applied so far (global across restarts)
  std::optional<internal::CmaEs> cma;
  int restart = 0;  // runs started before this one
  int default_popsize = 0;
  int large_popsize = 0;  // λ of the last large-regime run (the first run counts as one)
  int large_restarts = 0;
  bool small_run = false;
  int64_t run_evals = 0;
  int64_t run_eval_limit = -1;  // a small BIPOP run's budget; −1: none
  int64_t large_evals = 0;      // BIPOP's budgets per regime
  int64_t small_evals = 0;
  int64_t last_large_run_evals = 0;
};

class CmaesSampler final : public Sampler {
 public:
  explicit CmaesSampler(const CmaesSamplerOptions& options)
      : options_(options),
        sigma0_(options.sigma0.value_or(kDefaultSigma0)),
        random_(NewRandomSampler({.seed = options.seed})) {}

  std::string Name() const override { return "cmaes"; }
  bool SupportsFilteredView() const override { return false; }

  SearchSpace InferRelativeSearchSpace(const Study& study, const FrozenTrial& trial) override {
    if (study.is_multi_objective()) {
      if (!warned_multi_objective_) {
        std::cerr << "dial: sampler 'cmaes' supports one objective; study '" << study.name()
                  << "' has several, so its parameters are sampled at random\n";
        warned_multi_objective_ = true;
      }
      return {};
    }
    if (!LoadTrials(study, trial)) return {};
    int64_t complete = 0;
    for (const FrozenTrial& t : trials_) complete += t.state == TrialState::kComplete;
    if (complete == 0 || complete < options_.n_startup_trials) return {};
    SearchSpace space = intersection_.Update(trials_);
    for (auto it = space.begin(); it != space.end();) {
      it = std::holds_alternative<CategoricalDistribution>(it->second) ? space.erase(it) : std::next(it);
    }
    return space;
  }

  Result<std::map<std::string, double>> SampleRelative(const Study& study, const FrozenTrial& trial,
                                                       const SearchSpace& space) override {
    if (space.empty() || !LoadTrials(study, trial)) return std::map<std::string, double>{};
    Replay& replay = ReplayFor(study, space);
    DIAL_RETURN_IF_ERROR(LoadRestartSeed(study));
    DIAL_RETURN_IF_ERROR(Advance(study, replay));

    const internal::CmaEs& cma = *replay.cma;
    const std::vector<double> x = Candidate(cma, trial.number);
    Storage::TrialUpdate update;
    update.system_attrs.emplace_back(std::string(kSpaceAttr), Json(replay.space_id));
    update.system_attrs.emplace_back(std::string(kGenerationAttr), Json(replay.generation));
    update.system_attrs.emplace_back(std::string(kRestartAttr), Json(replay.restart));
    update.system_attrs.emplace_back(std::string(kPopsizeAttr), Json(cma.popsize()));
    DIAL_RETURN_IF_ERROR(study.storage().UpdateTrial(trial.trial_id, update));
    return replay.encoding.Decode(x);
  }

  Result<double> SampleIndependent(const Study& study, const FrozenTrial& trial, const std::string& name,
                                   const Distribution& dist) override {
    return random_->SampleIndependent(study, trial, name, dist);
  }

 private:
  // The study's trials, read once per trial number (InferRelativeSearchSpace and SampleRelative share them).
  bool LoadTrials(const Study& study, const FrozenTrial& trial) {
    if (trials_number_ == trial.number && trials_study_ == study.id()) return true;
    if (trials_study_ != study.id()) intersection_.Reset();
    auto trials = study.GetTrials();
    if (!trials.ok()) return false;
    trials_ = std::move(trials).value();
    trials_number_ = trial.number;
    trials_study_ = study.id();
    return true;
  }

  Status LoadRestartSeed(const Study& study) {
    if (restart_seed_study_ == study.id()) return Status::Ok();
    const std::string key(kRestartSeedAttr);
    DIAL_RETURN_IF_ERROR(study.storage().SetStudySystemAttrIfAbsent(study.id(), key, Json(options_.seed)).status());
    DIAL_ASSIGN_OR_RETURN(AttrMap attrs, study.storage().GetStudySystemAttrs(study.id()));
    auto it = attrs.find(key);
    if (it == attrs.end() || !it->second.is_number_unsigned()) {
      return Internal("sampler 'cmaes': study system attribute " + key + " is missing or not a seed");
    }
    restart_seed_ = it->second.get<uint64_t>();
    restart_seed_study_ = study.id();
    return Status::Ok();
  }

  Replay& ReplayFor(const Study& study, const SearchSpace& space) {
    if (replays_study_ != study.id()) replays_.clear(), replays_study_ = study.id();
    const std::string id = SpaceId(space);
    auto it = replays_.find(id);
    if (it != replays_.end()) return it->second;
    Replay& r = replays_[id];
    r.space = space;
    r.space_id = id;
    r.encoding = internal::UnitCubeEncoding(space);
    const int dims = r.encoding.dims();
    r.default_popsize = options_.popsize.value_or(internal::CmaParameters::DefaultPopsize(dims));
    r.large_popsize = r.default_popsize;
    r.cma.emplace(std::vector<double>(dims, 0.5), sigma0_, r.default_popsize);  // x0 = the centre of the cube
    return r;
  }

  // A trial's candidate in generation `cma`: a function of (seed, trial number, state). Redrawn while outside
  // the cube (up to 10·d times), then clipped into it.
  std::vector<double> Candidate(const internal::CmaEs& cma, int64_t number) const {
    internal::SplitMix64 rng(internal::StreamSeed(options_.seed, number, kCandidateStream));
    const int max_draws = kResamplesPerDim * cma.dim();
    std::vector<double> x;
    for (int draw = 0; draw < max_draws; ++draw) {
      x = cma.Sample(internal::StandardNormals(rng, cma.dim()));
      if (std::all_of(x.begin(), x.end(), [](double v) { return v >= 0.0 && v <= 1.0; })) return x;
    }
    for (double& v : x) v = std::clamp(v, 0.0, 1.0);
    return x;
  }

  // The point the update learns from for a member trial: its candidate, except where the trial's value differs
  // from the candidate's decoding (an enqueued value, a distribution changed by the objective): there the
  // encoding of the value it was evaluated at.
  std::vector<double> MemberPoint(const Replay& r, const FrozenTrial& t) const {
    std::vector<double> x = Candidate(*r.cma, t.number);
    const std::map<std::string, double> decoded = r.encoding.Decode(x);
    const std::vector<double> actual = r.encoding.Encode(t.params);
    for (int j = 0; j < r.encoding.dims(); ++j) {
      const std::string& name = r.encoding.ColumnParam(j);
      if (decoded.at(name) != t.params.at(name)) x[j] = actual[j];
    }
    return x;
  }

  // A COMPLETE trial sampled for generation `generation` of this space, with every parameter of it unchanged.
  bool IsCandidateMember(const Replay& r, const FrozenTrial& t, int64_t generation) const {
    if (t.state != TrialState::kComplete || t.values.size() != 1) return false;
    auto space = t.system_attrs.find(std::string(kSpaceAttr));
    if (space == t.system_attrs.end() || space->second != r.space_id) return false;
    if (IntAttr(t, kGenerationAttr) != generation) return false;
    for (const auto& [name, dist] : r.space) {
      auto d = t.distributions.find(name);
      if (d == t.distributions.end() || !DistributionEquals(d->second, dist)) return false;
    }
    return true;
  }

  const FrozenTrial* TrialByNumber(int64_t number) const {
    if (number >= 0 && number < static_cast<int64_t>(trials_.size()) && trials_[number].number == number) {
      return &trials_[number];
    }
    for (const FrozenTrial& t : trials_) {
      if (t.number == number) return &t;
    }
    return nullptr;
  }

  // Applies every generation whose members are fixed in storage, and fixes (claims) the current one when λ of
  // its trials are complete.
  Status Advance(const Study& study, Replay& r) {
    Storage& storage = study.storage();
    DIAL_ASSIGN_OR_RETURN(AttrMap attrs, storage.GetStudySystemAttrs(study.id()));
    bool refreshed = false;
    while (true) {
      const std::string key = MembersKey(r.space_id, r.generation);
      std::vector<int64_t> members;
      if (auto it = attrs.find(key); it != attrs.end()) {
        for (const Json& n : it->second) members.push_back(n.get<int64_t>());
      } else {
        for (const FrozenTrial& t : trials_) {
          if (static_cast<int>(members.size()) == r.cma->popsize()) break;
          if (IsCandidateMember(r, t, r.generation)) members.push_back(t.number);
        }
        if (static_cast<int>(members.size()) < r.cma->popsize()) return Status::Ok();
        DIAL_ASSIGN_OR_RETURN(bool stored, storage.SetStudySystemAttrIfAbsent(study.id(), key, Json(members)));
        if (!stored) {  // another worker fixed this generation first: use its list
          DIAL_ASSIGN_OR_RETURN(attrs, storage.GetStudySystemAttrs(study.id()));
          continue;
        }
      }
      std::vector<std::pair<std::vector<double>, double>> solutions;
      for (int64_t number : members) {
        const FrozenTrial* t = TrialByNumber(number);
        if ((t == nullptr || !IsCandidateMember(r, *t, r.generation)) && !refreshed) {
          // Fixed by a worker that saw the trial finish after our snapshot: read the trials again.
          DIAL_ASSIGN_OR_RETURN(trials_, study.GetTrials());
          refreshed = true;
          t = TrialByNumber(number);
        }
        if (t == nullptr || !IsCandidateMember(r, *t, r.generation)) {
          return Internal("sampler 'cmaes': generation " + std::to_string(r.generation) + " lists trial " +
                          std::to_string(number) + ", which is not one of its complete members");
        }
        const double sign = study.directions()[0] == StudyDirection::kMaximize ? -1.0 : 1.0;
        solutions.push_back({MemberPoint(r, *t), sign * t->values[0]});
      }
      if (static_cast<int>(solutions.size()) != r.cma->popsize()) {
        return Internal("sampler 'cmaes': generation " + std::to_string(r.generation) + " has " +
                        std::to_string(solutions.size()) + " members, not λ = " + std::to_string(r.cma->popsize()));
      }
      r.cma->Tell(std::move(solutions));
      ++r.generation;
      r.run_evals += r.cma->popsize();
      MaybeRestart(r);
    }
  }

  void MaybeRestart(Replay& r) {
    if (options_.restart_strategy == CmaRestartStrategy::kNone) return;
    const bool budget_spent = r.run_eval_limit >= 0 && r.run_evals >= r.run_eval_limit;
    if (!budget_spent && r.cma->ShouldStop() == internal::CmaStop::kNone) return;
    // Book the finished run to its regime.
    if (r.small_run) {
      r.small_evals += r.run_evals;
    } else {
      r.large_evals += r.run_evals;
      r.last_large_run_evals = r.run_evals;
    }
    ++r.restart;
    internal::SplitMix64 rng(internal::StreamSeed(restart_seed_, r.restart, kRestartStream));
    const int dims = r.encoding.dims();
    std::vector<double> mean(dims);
    for (double& m : mean) m = internal::UniformUnit(rng);  // a new start anywhere in the cube (as Optuna)
    int popsize = 0;
    double sigma = sigma0_;
    r.run_eval_limit = -1;
    r.small_run = false;
    if (options_.restart_strategy == CmaRestartStrategy::kBipop && r.small_evals < r.large_evals) {
      // Small regime: λ_s = ⌊λ_def (½ λ_l / λ_def)^{U²}⌋, σ = σ0 · 10^{−2U}, U ~ U(0, 1)  (Hansen 2009)
      const double u = internal::UniformUnit(rng);
      const double ratio = 0.5 * r.large_popsize / static_cast<double>(r.default_popsize);
      popsize = std::max(4, static_cast<int>(std::floor(r.default_popsize * std::pow(ratio, u * u))));
      sigma = sigma0_ * std::pow(10.0, -2.0 * u);
      r.small_run = true;
      r.run_eval_limit = static_cast<int64_t>(kSmallRunBudgetShare * static_cast<double>(r.last_large_run_evals));
    } else {
      // Large regime (IPOP): λ grows by inc_popsize at every large restart.
      ++r.large_restarts;
      r.large_popsize = r.large_popsize * options_.inc_popsize;
      popsize = r.large_popsize;
    }
    r.cma.emplace(std::move(mean), sigma, popsize);
    r.run_evals = 0;
  }

  CmaesSamplerOptions options_;
  double sigma0_;
  std::unique_ptr<Sampler> random_;
  bool warned_multi_objective_ = false;
  std::vector<FrozenTrial> trials_;
  int64_t trials_number_ = -1;
  StudyId trials_study_ = -1;
  internal::IntersectionCache intersection_;  // of trials_'s study
  std::map<std::string, Replay> replays_;     // by space id
  StudyId replays_study_ = -1;
  uint64_t restart_seed_ = 0;
  StudyId restart_seed_study_ = -1;
};

}  // namespace

Status CmaesSamplerOptions::Validate() const {
  const std::string what = "sampler 'cmaes': ";
  if (sigma0 && !(*sigma0 > 0.0 && *sigma0 <= 1.0)) {
    return InvalidArgument(what + "option 'sigma0' must be in (0, 1] (a fraction of each range), got " +
                           std::to_string(*sigma0));
  }
  if (n_startup_trials < 0) {
    return InvalidArgument(what + "option 'n_startup_trials' must be >= 0, got " + std::to_string(n_startup_trials));
  }
  if (popsize && *popsize < 2) {
    return InvalidArgument(what + "option 'popsize' must be >= 2, got " + std::to_string(*popsize));
  }
  if (inc_popsize < 1) {
    return InvalidArgument(what + "option 'inc_popsize' must be >= 1, got " + std::to_string(inc_popsize));
  }
  return Status::Ok();
}

std::unique_ptr<Sampler> NewCmaesSampler(const CmaesSamplerOptions& options) {
  return std::make_unique<CmaesSampler>(options);
}

namespace internal {

Result<std::unique_ptr<Sampler>> CreateCmaesSamplerFromJson(const Json& options, uint64_t seed) {
  const std::string what = "sampler 'cmaes'";
  DIAL_RETURN_IF_ERROR(CheckOptionKeys(
      what, options, {"sigma0", "n_startup_trials", "popsize", "restart_strategy", "inc_popsize", "seed"}));
  CmaesSamplerOptions opts;
  DIAL_ASSIGN_OR_RETURN(opts.sigma0, GetOptionalDoubleOption(what, options, "sigma0"));
  DIAL_ASSIGN_OR_RETURN(int64_t n_startup, GetIntOption(what, options, "n_startup_trials", 0, 0, 1'000'000'000));
  opts.n_startup_trials = static_cast<int>(n_startup);
  DIAL_ASSIGN_OR_RETURN(std::optional<int64_t> popsize, GetOptionalIntOption(what, options, "popsize", 2, 1'000'000));
  if (popsize) opts.popsize = static_cast<int>(*popsize);
  if (options.is_object() && options.contains("restart_strategy") && options.at("restart_strategy").is_null()) {
    opts.restart_strategy = CmaRestartStrategy::kNone;  // `restart_strategy: null`, as Optuna's None
  } else {
    DIAL_ASSIGN_OR_RETURN(opts.restart_strategy,
                          GetChoiceOption(what, options, "restart_strategy", opts.restart_strategy,
                                          {{"ipop", CmaRestartStrategy::kIpop},
                                           {"bipop", CmaRestartStrategy::kBipop},
                                           {"none", CmaRestartStrategy::kNone}}));
  }
  DIAL_ASSIGN_OR_RETURN(int64_t inc, GetIntOption(what, options, "inc_popsize", 2, 1, 1000));
  opts.inc_popsize = static_cast<int>(inc);
  DIAL_ASSIGN_OR_RETURN(opts.seed, GetSeedOption(what, options, seed));
  DIAL_RETURN_IF_ERROR(opts.Validate());
  return NewCmaesSampler(opts);
}

}  // namespace internal
}  // namespace dial
