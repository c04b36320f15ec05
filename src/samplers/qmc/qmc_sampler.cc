// The qmc sampler: trial number k takes point k of a (scrambled) Sobol' or Halton sequence on the unit cube,
// decoded onto the search space fixed from the first finished trial. See include/dial/samplers/qmc.h.
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "dial/samplers/qmc.h"
#include "dial/study.h"
#include "samplers/builtin_samplers.h"
#include "samplers/qmc/low_discrepancy.h"
#include "samplers/search_space.h"
#include "util/options.h"

namespace dial {
namespace {

// The study system attribute holding the space every worker samples jointly: {name: distribution JSON}.
constexpr std::string_view kSearchSpaceKey = "dial:qmc:search_space";

Json SpaceToJson(const SearchSpace& space) {
  Json out = Json::object();
  for (const auto& [name, dist] : space) out[name] = Json::parse(DistributionToJson(dist));
  return out;
}

std::optional<SearchSpace> SpaceFromJson(const Json& json) {
  if (!json.is_object()) return std::nullopt;
  SearchSpace space;
  for (const auto& [name, dist_json] : json.items()) {
    Result<Distribution> dist = DistributionFromJson(dist_json.dump());
    if (!dist.ok()) return std::nullopt;
    space.emplace(name, *dist);
  }
  return space;
}

class QmcSampler final : public Sampler {
 public:
  explicit QmcSampler(const QmcSamplerOptions& options)
      : options_(options), random_(NewRandomSampler({.seed = options.seed})) {}

  std::string Name() const override { return "qmc"; }

  SearchSpace InferRelativeSearchSpace(const Study& study, const FrozenTrial& trial) override {
    if (!space_ || study_id_ != study.id()) {
      study_id_ = study.id();
      space_ = FixedSpace(study);
      if (space_) PrepareSequence(static_cast<int>(space_->size()));
    }
    return space_ ? *space_ : SearchSpace{};
  }

  Result<std::map<std::string, double>> SampleRelative(const Study& study, const FrozenTrial& trial,
                                                       const SearchSpace& space) override {
    if (space.empty() || (!sobol_ && !halton_)) return std::map<std::string, double>{};
    const uint64_t index = static_cast<uint64_t>(trial.number);
    std::vector<double> u = sobol_ ? sobol_->Point(index) : halton_->Point(index);
    return internal::UnitCubeEncoding(space).Decode(u);
  }

  Result<double> SampleIndependent(const Study& study, const FrozenTrial& trial, const std::string& name,
                                   const Distribution& dist) override {
    return random_->SampleIndependent(study, trial, name, dist);
  }

 private:
  // The jointly sampled space: the one recorded in the study, else the numeric, non-single parameters of the
  // lowest-numbered finished trial, recorded for the other workers (the first to record wins). Nullopt while
  // no trial has finished.
  std::optional<SearchSpace> FixedSpace(const Study& study) {
    Storage& storage = study.storage();
    auto attrs = storage.GetStudySystemAttrs(study.id());
    if (!attrs.ok()) return std::nullopt;
    if (auto it = attrs->find(std::string(kSearchSpaceKey)); it != attrs->end()) return SpaceFromJson(it->second);
    auto finished = study.GetTrials(std::vector<TrialState>{TrialState::kComplete, TrialState::kPruned});
    if (!finished.ok() || finished->empty()) return std::nullopt;
    SearchSpace space;
    for (const auto& [name, dist] : finished->front().distributions) {  // ordered by number
      if (!std::holds_alternative<CategoricalDistribution>(dist) && !IsSingle(dist)) space.emplace(name, dist);
    }
    const Json json = SpaceToJson(space);
    auto stored = storage.SetStudySystemAttrIfAbsent(study.id(), std::string(kSearchSpaceKey), json);
    if (!stored.ok()) return std::nullopt;
    if (*stored) return space;
    attrs = storage.GetStudySystemAttrs(study.id());  // another worker recorded one first
    if (!attrs.ok() || !attrs->count(std::string(kSearchSpaceKey))) return std::nullopt;
    return SpaceFromJson(attrs->at(std::string(kSearchSpaceKey)));
  }

  void PrepareSequence(int dims) {
    sobol_.reset();
    halton_.reset();
    if (dims == 0) return;
    const int max_dims =
        options_.qmc_type == QmcType::kSobol ? internal::SobolSequence::kMaxDims : internal::HaltonSequence::kMaxDims;
    if (dims > max_dims) {
      std::cerr << "dial: sampler 'qmc': " << dims << " parameters exceed the sequence's " << max_dims
                << " dimensions; they are sampled at random\n";
      return;
    }
    if (options_.qmc_type == QmcType::kSobol) {
      sobol_.emplace(dims, options_.scramble, options_.seed);
    } else {
      halton_.emplace(dims, options_.scramble, options_.seed);
    }
  }

  QmcSamplerOptions options_;
  std::unique_ptr<Sampler> random_;
  StudyId study_id_ = -1;
  std::optional<SearchSpace> space_;  // fixed once known
  std::optional<internal::SobolSequence> sobol_;
  std::optional<internal::HaltonSequence> halton_;
};

}  // namespace

Status QmcSamplerOptions::Validate() const { return Status::Ok(); }

std::unique_ptr<Sampler> NewQmcSampler(const QmcSamplerOptions& options) {
  return std::make_unique<QmcSampler>(options);
}

namespace internal {

Result<std::unique_ptr<Sampler>> CreateQmcSamplerFromJson(const Json& options, uint64_t seed) {
  const std::string what = "sampler 'qmc'";
  DIAL_RETURN_IF_ERROR(CheckOptionKeys(what, options, {"qmc_type", "scramble", "seed"}));
  QmcSamplerOptions opts;
  DIAL_ASSIGN_OR_RETURN(opts.qmc_type, GetChoiceOption(what, options, "qmc_type", opts.qmc_type,
                                                       {{"sobol", QmcType::kSobol}, {"halton", QmcType::kHalton}}));
  DIAL_ASSIGN_OR_RETURN(opts.scramble, GetBoolOption(what, options, "scramble", opts.scramble));
  DIAL_ASSIGN_OR_RETURN(opts.seed, GetSeedOption(what, options, seed));
  DIAL_RETURN_IF_ERROR(opts.Validate());
  return NewQmcSampler(opts);
}

}  // namespace internal
}  // namespace dial
