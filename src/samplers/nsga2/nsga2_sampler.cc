// The nsga2 sampler: NSGA-II generations over a study's trials, shared through storage. See
// include/dial/samplers/nsga2.h; the algorithm's pieces are in nsga2_core.h.
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "dial/samplers/nsga2.h"
#include "dial/study.h"
#include "samplers/builtin_samplers.h"
#include "samplers/cmaes/intersection_cache.h"
#include "samplers/nsga2/nsga2_core.h"
#include "samplers/search_space.h"
#include "util/options.h"
#include "util/random.h"

namespace dial {
namespace {

constexpr std::string_view kGenerationAttr = "nsga2:generation";  // Optuna's key and meaning
constexpr std::string_view kParentsKeyPrefix = "dial:nsga2:parents:";
constexpr std::string_view kStream = "dial:nsga2";
// A crossover child outside the cube is bred again from new parents up to this many times, then clipped.
constexpr int kMaxCrossoverTries = 100;
// SBX's distribution index (Optuna's defaults): children near the parents with several objectives, wider with one.
constexpr double kSbxEtaMultiObjective = 20.0;
constexpr double kSbxEtaSingleObjective = 2.0;
constexpr double kBlxAlpha = 0.5;

std::string ParentsKey(int64_t generation) { return std::string(kParentsKeyPrefix) + std::to_string(generation); }

std::optional<int64_t> GenerationOf(const FrozenTrial& t) {
  auto it = t.system_attrs.find(std::string(kGenerationAttr));
  if (it == t.system_attrs.end() || !it->second.is_number_integer()) return std::nullopt;
  return it->second.get<int64_t>();
}

// A trial as NSGA-II sees it: values turned to minimisation, constraints from the "constraints" attribute.
internal::Individual ToIndividual(const FrozenTrial& t, const std::vector<StudyDirection>& directions) {
  internal::Individual ind;
  ind.values = t.values;
  for (size_t i = 0; i < ind.values.size() && i < directions.size(); ++i) {
    if (directions[i] == StudyDirection::kMaximize) ind.values[i] = -ind.values[i];
  }
  auto it = t.system_attrs.find(std::string(kConstraintsAttr));
  if (it != t.system_attrs.end() && it->second.is_array()) {
    std::vector<double> c;
    for (const Json& v : it->second) c.push_back(v.is_number() ? v.get<double>() : std::nan(""));
    ind.constraints = std::move(c);
  }
  return ind;
}

class Nsga2Sampler final : public Sampler {
 public:
  explicit Nsga2Sampler(const Nsga2SamplerOptions& options)
      : options_(options), random_(NewRandomSampler({.seed = options.seed})) {}

  std::string Name() const override { return "nsga2"; }

  // Finds the parent population and records the trial's generation (one after the parents'), before anything is
  // sampled: a trial belongs to a generation even when all its parameters are drawn at random.
  Status BeforeTrial(Study& study, const FrozenTrial& trial) override {
    DIAL_RETURN_IF_ERROR(LoadTrials(study, trial));
    DIAL_ASSIGN_OR_RETURN(parent_generation_, ParentPopulation(study));
    return study.storage().SetTrialSystemAttr(trial.trial_id, std::string(kGenerationAttr),
                                              Json(parent_generation_ + 1));
  }

  SearchSpace InferRelativeSearchSpace(const Study& study, const FrozenTrial& trial) override {
    if (trials_number_ != trial.number || trials_study_ != study.id()) return {};  // BeforeTrial failed
    if (parent_generation_ < 0) return {};
    return intersection_.Update(trials_);
  }

  Result<std::map<std::string, double>> SampleRelative(const Study& study, const FrozenTrial& trial,
                                                       const SearchSpace& space) override {
    std::map<std::string, double> child;
    if (space.empty() || parent_generation_ < 0 || parents_.empty()) return child;
    internal::SplitMix64 rng(internal::StreamSeed(options_.seed, trial.number, kStream));
    std::vector<const FrozenTrial*> parents;
    std::vector<internal::Individual> population;
    for (int64_t number : parents_) {
      const FrozenTrial* t = TrialByNumber(number);
      if (t == nullptr) return Internal("sampler 'nsga2': parent trial " + std::to_string(number) + " not found");
      parents.push_back(t);
      population.push_back(ToIndividual(*t, study.directions()));
    }
    if (internal::UniformUnit(rng) < options_.crossover_prob) {
      child = Crossover(study, parents, population, space, rng);
    } else {
      const FrozenTrial* p = parents[internal::UniformIndex(rng, parents.size())];
      for (const auto& [name, dist] : space) child[name] = p->params.at(name);
    }
    // Mutation: a parameter left out here is drawn afresh by the random sampler (SampleIndependent).
    const double mutation_prob = options_.mutation_prob.value_or(1.0 / std::max<size_t>(1, space.size()));
    for (auto it = child.begin(); it != child.end();) {
      it = internal::UniformUnit(rng) < mutation_prob ? child.erase(it) : std::next(it);
    }
    return child;
  }

  Result<double> SampleIndependent(const Study& study, const FrozenTrial& trial, const std::string& name,
                                   const Distribution& dist) override {
    return random_->SampleIndependent(study, trial, name, dist);
  }

 private:
  Status LoadTrials(const Study& study, const FrozenTrial& trial) {
    if (cache_study_ != study.id()) {
      parents_of_.clear();
      intersection_.Reset();
      cache_study_ = study.id();
    }
    DIAL_ASSIGN_OR_RETURN(trials_, study.GetTrials());
    trials_number_ = trial.number;
    trials_study_ = study.id();
    return Status::Ok();
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

  // The latest generation whose parents are known, and those parents (parents_, trial numbers); −1 and none
  // while generation 0 is incomplete. Generation g's parents are the elite of its COMPLETE trials and
  // generation g − 1's parents, fixed in the study by the first worker to compute them.
  Result<int64_t> ParentPopulation(const Study& study) {
    std::map<int64_t, std::vector<const FrozenTrial*>> complete;  // generation → its COMPLETE trials
    for (const FrozenTrial& t : trials_) {
      if (t.state != TrialState::kComplete) continue;
      if (auto g = GenerationOf(t)) complete[*g].push_back(&t);
    }
    std::optional<AttrMap> attrs;
    int64_t generation = -1;
    std::vector<int64_t> parents;
    while (true) {
      const int64_t g = generation + 1;
      if (auto cached = parents_of_.find(g); cached != parents_of_.end()) {
        parents = cached->second;
        generation = g;
        continue;
      }
      if (static_cast<int>(complete[g].size()) < options_.population_size) break;
      if (!attrs) {
        DIAL_ASSIGN_OR_RETURN(attrs, study.storage().GetStudySystemAttrs(study.id()));
      }
      auto stored = attrs->find(ParentsKey(g));
      if (stored == attrs->end()) {
        std::vector<int64_t> elite = Elite(study, complete[g], parents);
        DIAL_ASSIGN_OR_RETURN(bool won,
                              study.storage().SetStudySystemAttrIfAbsent(study.id(), ParentsKey(g), Json(elite)));
        if (!won) {  // another worker fixed this generation first: use its list
          DIAL_ASSIGN_OR_RETURN(attrs, study.storage().GetStudySystemAttrs(study.id()));
          stored = attrs->find(ParentsKey(g));
        } else {
          parents_of_[g] = std::move(elite);
          continue;
        }
      }
      std::vector<int64_t> numbers;
      for (const Json& n : stored->second) numbers.push_back(n.get<int64_t>());
      const bool known = std::all_of(numbers.begin(), numbers.end(), [&](int64_t n) {
        const FrozenTrial* t = TrialByNumber(n);
        return t != nullptr && t->state == TrialState::kComplete;
      });
      // Fixed by a worker that saw a trial finish after our snapshot: breed from the generation before, and
      // take this one up with the next trial.
      if (!known) break;
      parents_of_[g] = std::move(numbers);
    }
    parents_ = parents;
    return generation;
  }

  std::vector<int64_t> Elite(const Study& study, const std::vector<const FrozenTrial*>& children,
                             const std::vector<int64_t>& parents) const {
    std::vector<const FrozenTrial*> pool = children;
    for (int64_t n : parents) pool.push_back(TrialByNumber(n));
    std::vector<internal::Individual> population;
    for (const FrozenTrial* t : pool) population.push_back(ToIndividual(*t, study.directions()));
    std::vector<int64_t> elite;
    for (int i : internal::SelectElite(population, options_.population_size)) elite.push_back(pool[i]->number);
    std::sort(elite.begin(), elite.end());
    return elite;
  }

  std::map<std::string, double> Crossover(const Study& study, const std::vector<const FrozenTrial*>& parents,
                                          const std::vector<internal::Individual>& population, const SearchSpace& space,
                                          internal::SplitMix64& rng) const {
    SearchSpace numeric;
    std::vector<std::string> categorical;
    for (const auto& [name, dist] : space) {
      if (std::holds_alternative<CategoricalDistribution>(dist)) {
        categorical.push_back(name);
      } else {
        numeric.emplace(name, dist);
      }
    }
    const internal::Fitness fitness = internal::ComputeFitness(population);
    const internal::UnitCubeEncoding encoding(numeric);
    std::map<std::string, double> child;
    for (int attempt = 0; attempt < kMaxCrossoverTries; ++attempt) {
      const int a = internal::Tournament(fitness, rng);
      const int b = internal::Tournament(fitness, rng, a);
      child.clear();
      for (const std::string& name : categorical) {
        child[name] = (internal::UniformUnit(rng) < options_.swapping_prob ? parents[b] : parents[a])->params.at(name);
      }
      if (numeric.empty()) return child;
      const std::vector<double> xa = encoding.Encode(parents[a]->params);
      const std::vector<double> xb = encoding.Encode(parents[b]->params);
      std::vector<double> x;
      switch (options_.crossover) {
        case Nsga2Crossover::kUniform:
          x = internal::UniformCrossover(xa, xb, options_.swapping_prob, rng);
          break;
        case Nsga2Crossover::kSbx:
          x = internal::SbxCrossover(xa, xb,
                                     study.is_multi_objective() ? kSbxEtaMultiObjective : kSbxEtaSingleObjective, rng);
          break;
        case Nsga2Crossover::kBlxAlpha:
          x = internal::BlxAlphaCrossover(xa, xb, kBlxAlpha, rng);
          break;
      }
      const bool inside = std::all_of(x.begin(), x.end(), [](double v) { return v >= 0.0 && v <= 1.0; });
      if (inside || attempt + 1 == kMaxCrossoverTries) {
        for (const auto& [name, value] : encoding.Decode(x)) child[name] = value;  // Decode clips into the cube
        break;
      }
    }
    return child;
  }

  Nsga2SamplerOptions options_;
  std::unique_ptr<Sampler> random_;
  // The trial being sampled: the study's trials read in BeforeTrial, its parents' generation and numbers.
  std::vector<FrozenTrial> trials_;
  int64_t trials_number_ = -1;
  StudyId trials_study_ = -1;
  int64_t parent_generation_ = -1;
  std::vector<int64_t> parents_;
  // Parents of each generation fixed so far (claims never change, so this never goes stale).
  std::map<int64_t, std::vector<int64_t>> parents_of_;
  internal::IntersectionCache intersection_;
  StudyId cache_study_ = -1;
};

}  // namespace

Status Nsga2SamplerOptions::Validate() const {
  const std::string what = "sampler 'nsga2': option ";
  if (population_size < 2) {
    return InvalidArgument(what + "'population_size' must be >= 2, got " + std::to_string(population_size));
  }
  auto probability = [&](const char* name, double p) -> Status {
    if (!(p >= 0.0 && p <= 1.0))
      return InvalidArgument(what + "'" + name + "' must be in [0, 1], got " + std::to_string(p));
    return Status::Ok();
  };
  if (mutation_prob) DIAL_RETURN_IF_ERROR(probability("mutation_prob", *mutation_prob));
  DIAL_RETURN_IF_ERROR(probability("crossover_prob", crossover_prob));
  DIAL_RETURN_IF_ERROR(probability("swapping_prob", swapping_prob));
  return Status::Ok();
}

std::unique_ptr<Sampler> NewNsga2Sampler(const Nsga2SamplerOptions& options) {
  return std::make_unique<Nsga2Sampler>(options);
}

namespace internal {

Result<std::unique_ptr<Sampler>> CreateNsga2SamplerFromJson(const Json& options, uint64_t seed) {
  const std::string what = "sampler 'nsga2'";
  DIAL_RETURN_IF_ERROR(CheckOptionKeys(
      what, options, {"population_size", "mutation_prob", "crossover_prob", "swapping_prob", "crossover", "seed"}));
  Nsga2SamplerOptions opts;
  DIAL_ASSIGN_OR_RETURN(int64_t population, GetIntOption(what, options, "population_size", 50, 2, 1'000'000));
  opts.population_size = static_cast<int>(population);
  // Probabilities are read as numbers here; Validate() checks they lie in [0, 1].
  DIAL_ASSIGN_OR_RETURN(opts.mutation_prob, GetOptionalDoubleOption(what, options, "mutation_prob"));
  DIAL_ASSIGN_OR_RETURN(opts.crossover_prob, GetDoubleOption(what, options, "crossover_prob", opts.crossover_prob));
  DIAL_ASSIGN_OR_RETURN(opts.swapping_prob, GetDoubleOption(what, options, "swapping_prob", opts.swapping_prob));
  DIAL_ASSIGN_OR_RETURN(opts.crossover, GetChoiceOption(what, options, "crossover", opts.crossover,
                                                        {{"uniform", Nsga2Crossover::kUniform},
                                                         {"sbx", Nsga2Crossover::kSbx},
                                                         {"blxalpha", Nsga2Crossover::kBlxAlpha}}));
  DIAL_ASSIGN_OR_RETURN(opts.seed, GetSeedOption(what, options, seed));
  DIAL_RETURN_IF_ERROR(opts.Validate());
  return NewNsga2Sampler(opts);
}

}  // namespace internal
}  // namespace dial
