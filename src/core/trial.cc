// Trial: define-by-run suggestions, reports and pruning questions for one running trial.
#include <cmath>

#include "dial/study.h"

namespace dial {

Trial::Trial(Study* study, FrozenTrial frozen) : study_(study), frozen_(std::move(frozen)) {
  params_ = frozen_.ExternalParams();
  if (auto it = frozen_.system_attrs.find(std::string(kFixedParamsAttr));
      it != frozen_.system_attrs.end() && it->second.is_object()) {
    for (const auto& [name, value] : it->second.items()) {
      if (auto v = ParamValueFromJson(value); v.ok()) fixed_params_.emplace(name, *v);
    }
  }
}

Status Trial::SampleRelativeIfNeeded() {
  if (relative_sampled_) return Status::Ok();
  relative_sampled_ = true;
  relative_space_ = study_->sampler().InferRelativeSearchSpace(*study_, frozen_);
  if (relative_space_.empty()) return Status::Ok();
  DIAL_ASSIGN_OR_RETURN(relative_params_, study_->sampler().SampleRelative(*study_, frozen_, relative_space_));
  return Status::Ok();
}

Result<ParamValue> Trial::Suggest(const std::string& name, const Distribution& dist) {
  if (auto s = Validate(dist); !s.ok()) return s.WithContext("parameter '" + name + "'");
  if (auto d = frozen_.distributions.find(name); d != frozen_.distributions.end()) {
    if (!DistributionEquals(d->second, dist)) {
      return InvalidArgument("parameter '" + name + "' was already suggested in trial " +
                             std::to_string(frozen_.number) + " as " + DistributionToString(d->second) + ", now as " +
                             DistributionToString(dist));
    }
    return params_.at(name);
  }
  if (IsFinished(frozen_.state)) {
    return FailedPrecondition("trial " + std::to_string(frozen_.number) + " is finished");
  }

  double internal = 0.0;
  if (auto fixed = fixed_params_.find(name); fixed != fixed_params_.end()) {
    auto v = ToInternal(dist, fixed->second);
    if (!v.ok()) return v.status().WithContext("enqueued parameter '" + name + "'");
    internal = *v;
  } else if (IsSingle(dist)) {
    internal = std::holds_alternative<FloatDistribution>(dist) ? std::get<FloatDistribution>(dist).low
               : std::holds_alternative<IntDistribution>(dist)
                   ? static_cast<double>(std::get<IntDistribution>(dist).low)
                   : 0.0;
  } else {
    DIAL_ASSIGN_OR_RETURN(TrialFilter view, study_->SamplerViewFor(frozen_));
    Study::ScopedSamplerView scope(*study_, std::move(view));
    DIAL_RETURN_IF_ERROR(SampleRelativeIfNeeded());
    auto rel = relative_params_.find(name);
    auto space = relative_space_.find(name);
    if (rel != relative_params_.end() && space != relative_space_.end() && DistributionEquals(space->second, dist)) {
      internal = rel->second;
    } else {
      auto v = study_->sampler().SampleIndependent(*study_, frozen_, name, dist);
      if (!v.ok()) return v.status().WithContext("sampler " + study_->sampler().Name() + ", parameter '" + name + "'");
      internal = *v;
    }
  }
  if (auto s = study_->storage().SetTrialParam(frozen_.trial_id, name, internal, dist); !s.ok()) {
    return s.code() == StatusCode::kInvalidArgument ? s.WithContext("parameter '" + name + "'") : s;
  }
  frozen_.params[name] = internal;
  frozen_.distributions[name] = dist;
  ParamValue external = ToExternal(dist, internal);
  params_[name] = external;
  return external;
}

Result<double> Trial::SuggestFloat(const std::string& name, double low, double high, SuggestFloatOptions opts) {
  DIAL_ASSIGN_OR_RETURN(ParamValue v, Suggest(name, FloatDistribution{low, high, opts.step, opts.log}));
  return std::get<double>(v);
}

Result<int64_t> Trial::SuggestInt(const std::string& name, int64_t low, int64_t high, SuggestIntOptions opts) {
  DIAL_ASSIGN_OR_RETURN(ParamValue v, Suggest(name, IntDistribution{low, high, opts.step, opts.log}));
  return std::get<int64_t>(v);
}

Result<ParamValue> Trial::SuggestCategorical(const std::string& name, const std::vector<ParamValue>& choices) {
  return Suggest(name, CategoricalDistribution{choices});
}

Status Trial::Report(int64_t step, double value) {
  if (step < 0) return InvalidArgument("step must be >= 0, got " + std::to_string(step));
  DIAL_RETURN_IF_ERROR(study_->storage().SetTrialIntermediateValue(frozen_.trial_id, step, value));
  frozen_.intermediate_values[step] = value;
  return Status::Ok();
}

Result<bool> Trial::ShouldPrune() {
  // The pruner compares the trial with the trials its view provider shows (a multi-fidelity study's: the trial's
  // level and bracket), or with every trial.
  if (!study_->pruner_view_provider_) return study_->pruner().Prune(*study_, frozen_);
  DIAL_ASSIGN_OR_RETURN(TrialFilter peers, study_->pruner_view_provider_(*study_, frozen_));
  if (!peers) return study_->pruner().Prune(*study_, frozen_);
  Study::ScopedSamplerView scope(*study_, std::move(peers));
  return study_->pruner().Prune(*study_, frozen_);
}

Status Trial::SetUserAttr(const std::string& key, const Json& value) {
  DIAL_RETURN_IF_ERROR(study_->storage().SetTrialUserAttr(frozen_.trial_id, key, value));
  frozen_.user_attrs[key] = value;
  return Status::Ok();
}

Status Trial::SetSystemAttr(const std::string& key, const Json& value) {
  DIAL_RETURN_IF_ERROR(study_->storage().SetTrialSystemAttr(frozen_.trial_id, key, value));
  frozen_.system_attrs[key] = value;
  return Status::Ok();
}

}  // namespace dial
