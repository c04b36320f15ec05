// Global CMVN statistics: accumulation in double, finalisation, application and WeNet-compatible JSON.
#include "speech/features/cmvn.h"

#include <cmath>
#include <nlohmann/json.hpp>

namespace dial::speech {

Status GlobalCmvn::Accumulate(const FeatureMatrix& features) {
  if (features.num_frames == 0) return Status::Ok();
  if (sum_.empty()) {
    sum_.assign(features.dim, 0.0);
    sum_sq_.assign(features.dim, 0.0);
  } else if (features.dim != dim()) {
    return InvalidArgument("CMVN: feature dimension " + std::to_string(features.dim) + " differs from the " +
                           std::to_string(dim()) + " accumulated so far");
  }
  for (int f = 0; f < features.num_frames; ++f) {
    const float* row = features.Row(f);
    for (int d = 0; d < features.dim; ++d) {
      sum_[d] += row[d];
      sum_sq_[d] += static_cast<double>(row[d]) * row[d];
    }
  }
  frame_count_ += features.num_frames;
  return Status::Ok();
}

Status GlobalCmvn::Finalize(double variance_floor) {
  if (frame_count_ == 0) return FailedPrecondition("CMVN: no frames accumulated");
  const int n = dim();
  mean_.resize(n);
  inv_std_.resize(n);
  for (int d = 0; d < n; ++d) {
    mean_[d] = sum_[d] / frame_count_;
    const double var = std::max(sum_sq_[d] / frame_count_ - mean_[d] * mean_[d], variance_floor);
    inv_std_[d] = 1.0 / std::sqrt(var);
  }
  return Status::Ok();
}

Status GlobalCmvn::Apply(FeatureMatrix* features, bool norm_vars) const {
  if (mean_.empty()) return FailedPrecondition("CMVN: Apply before Finalize");
  if (features->num_frames > 0 && features->dim != dim()) {
    return InvalidArgument("CMVN: features have dimension " + std::to_string(features->dim) + ", statistics " +
                           std::to_string(dim()));
  }
  for (int f = 0; f < features->num_frames; ++f) {
    float* row = features->Row(f);
    for (int d = 0; d < features->dim; ++d) {
      double v = row[d] - mean_[d];
      if (norm_vars) v *= inv_std_[d];
      row[d] = static_cast<float>(v);
    }
  }
  return Status::Ok();
}

std::string GlobalCmvn::ToJson() const {
  nlohmann::json j;
  j["mean_stat"] = sum_;
  j["var_stat"] = sum_sq_;
  j["frame_num"] = frame_count_;
  return j.dump();
}

Result<GlobalCmvn> GlobalCmvn::FromJson(const std::string& json, const std::string& source) {
  nlohmann::json j = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument(source + ": CMVN statistics are not a JSON object");
  GlobalCmvn c;
  try {
    c.sum_ = j.at("mean_stat").get<std::vector<double>>();
    c.sum_sq_ = j.at("var_stat").get<std::vector<double>>();
    c.frame_count_ = j.at("frame_num").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(source + ": CMVN statistics: " + e.what());
  }
  if (c.sum_.size() != c.sum_sq_.size()) {
    return InvalidArgument(source + ": mean_stat and var_stat have different lengths");
  }
  DIAL_RETURN_IF_ERROR(c.Finalize().WithContext(source));
  return c;
}

}  // namespace dial::speech
