// The `staged` sampler: one sampler after another by trial number; see include/dial/samplers/meta.h.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "dial/samplers/meta.h"
#include "dial/study.h"
#include "samplers/builtin_samplers.h"
#include "util/options.h"

namespace dial {
namespace {

constexpr char kStageAttr[] = "dial:stage";

class StagedSampler final : public Sampler {
 public:
  StagedSampler(std::vector<std::unique_ptr<Sampler>> samplers, std::vector<int64_t> ends)
      : samplers_(std::move(samplers)), ends_(std::move(ends)) {}

  std::string Name() const override { return "staged"; }
  bool SupportsFilteredView() const override {
    return std::all_of(samplers_.begin(), samplers_.end(), [](const auto& s) { return s->SupportsFilteredView(); });
  }

  Status BeforeTrial(Study& study, const FrozenTrial& trial) override {
    const size_t i = StageOf(trial.number);
    DIAL_RETURN_IF_ERROR(
        study.storage().SetTrialSystemAttr(trial.trial_id, kStageAttr, std::to_string(i) + ":" + samplers_[i]->Name()));
    return samplers_[i]->BeforeTrial(study, trial);
  }
  SearchSpace InferRelativeSearchSpace(const Study& study, const FrozenTrial& trial) override {
    return For(trial).InferRelativeSearchSpace(study, trial);
  }
  Result<std::map<std::string, double>> SampleRelative(const Study& study, const FrozenTrial& trial,
                                                       const SearchSpace& space) override {
    return For(trial).SampleRelative(study, trial, space);
  }
  Result<double> SampleIndependent(const Study& study, const FrozenTrial& trial, const std::string& name,
                                   const Distribution& dist) override {
    return For(trial).SampleIndependent(study, trial, name, dist);
  }
  void AfterTrial(Study& study, const FrozenTrial& trial, TrialState state,
                  const std::vector<double>& values) override {
    For(trial).AfterTrial(study, trial, state, values);
  }
  bool IsExhausted(const Study& study) override {
    auto n = study.storage().GetNTrials(study.id());
    return n.ok() && samplers_[StageOf(*n)]->IsExhausted(study);
  }

 private:
  size_t StageOf(int64_t number) const {
    return static_cast<size_t>(std::upper_bound(ends_.begin(), ends_.end(), number) - ends_.begin());
  }
  Sampler& For(const FrozenTrial& trial) { return *samplers_[StageOf(trial.number)]; }

  std::vector<std::unique_ptr<Sampler>> samplers_;
  std::vector<int64_t> ends_;  // stage i covers trial numbers [ends_[i-1], ends_[i]); the last is open
};

}  // namespace

Status StagedSamplerOptions::Validate() const {
  if (stages.empty()) return InvalidArgument("sampler 'staged': 'stages' needs at least one stage");
  for (size_t i = 0; i < stages.size(); ++i) {
    const std::string what = "sampler 'staged': stage " + std::to_string(i + 1) + " ('" + stages[i].sampler + "')";
    if (stages[i].sampler == "staged") return InvalidArgument(what + ": a stage cannot itself be staged");
    const bool last = i + 1 == stages.size();
    if (last && stages[i].n_trials) {
      return InvalidArgument(what + ": the last stage runs until the study ends; remove its n_trials");
    }
    if (!last && (!stages[i].n_trials || *stages[i].n_trials <= 0)) {
      return InvalidArgument(what + ": needs a positive n_trials (every stage but the last)");
    }
  }
  return Status::Ok();
}

Result<std::unique_ptr<Sampler>> NewStagedSampler(const StagedSamplerOptions& options) {
  DIAL_RETURN_IF_ERROR(options.Validate());
  std::vector<std::unique_ptr<Sampler>> samplers;
  std::vector<int64_t> ends;
  int64_t end = 0;
  for (size_t i = 0; i < options.stages.size(); ++i) {
    const SamplerStage& stage = options.stages[i];
    auto sampler = CreateSampler(stage.sampler, stage.options, options.seed);
    if (!sampler.ok()) {
      return Status(sampler.status().code(),
                    "sampler 'staged': stage " + std::to_string(i + 1) + ": " + sampler.status().message());
    }
    samplers.push_back(std::move(sampler).value());
    if (stage.n_trials) ends.push_back(end += *stage.n_trials);
  }
  return std::unique_ptr<Sampler>(std::make_unique<StagedSampler>(std::move(samplers), std::move(ends)));
}

namespace internal {

Result<std::unique_ptr<Sampler>> CreateStagedSamplerFromJson(const Json& options, uint64_t seed) {
  const std::string what = "sampler 'staged'";
  DIAL_RETURN_IF_ERROR(CheckOptionKeys(what, options, {"stages", "seed"}));
  StagedSamplerOptions opts;
  DIAL_ASSIGN_OR_RETURN(opts.seed, GetSeedOption(what, options, seed));
  if (!options.is_object() || !options.contains("stages") || !options.at("stages").is_array()) {
    return InvalidArgument(what + ": needs 'stages', a list like [{name: random, n_trials: 20}, {name: tpe}]");
  }
  const Json& stages = options.at("stages");
  for (size_t i = 0; i < stages.size(); ++i) {
    const std::string where = what + ": stage " + std::to_string(i + 1);
    const Json& s = stages[i];
    if (!s.is_object() || !s.contains("name") || !s.at("name").is_string()) {
      return InvalidArgument(where + ": must be a mapping with a sampler 'name', got " + s.dump());
    }
    SamplerStage stage;
    stage.sampler = s.at("name").get<std::string>();
    if (s.contains("n_trials")) {
      DIAL_ASSIGN_OR_RETURN(int64_t n, GetIntOption(where, s, "n_trials", 0, 1));
      stage.n_trials = n;
    }
    // Everything else is the stage sampler's own options, checked by its factory.
    for (auto it = s.begin(); it != s.end(); ++it) {
      if (it.key() != "name" && it.key() != "n_trials") stage.options[it.key()] = it.value();
    }
    opts.stages.push_back(std::move(stage));
  }
  return NewStagedSampler(opts);
}

}  // namespace internal
}  // namespace dial
