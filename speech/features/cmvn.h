// Global CMVN (cepstral mean and variance normalisation): statistics accumulated over a training set, then
// applied to every set (WeNet `global_cmvn`, ESPnet `global_mvn`).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dial/status.h"
#include "speech/features/fbank.h"

namespace dial::speech {

class GlobalCmvn {
 public:
  // Accumulates per-dimension sums (in double) of every frame. The first call fixes the dimension; a later
  // matrix of another dimension is an InvalidArgument.
  Status Accumulate(const FeatureMatrix& features);
  int64_t frame_count() const { return frame_count_; }
  int dim() const { return static_cast<int>(sum_.size()); }

  // mean_d = Σx/n, std_d = sqrt(max(Σx²/n − mean², floor)). FailedPrecondition when nothing was accumulated.
  Status Finalize(double variance_floor = 1e-20);
  const std::vector<double>& mean() const { return mean_; }
  const std::vector<double>& inv_std() const { return inv_std_; }

  // x ← (x − mean) · inv_std (or only x − mean when norm_vars is false). Needs Finalize.
  Status Apply(FeatureMatrix* features, bool norm_vars = true) const;

  // WeNet's global_cmvn JSON: {"mean_stat": [Σx], "var_stat": [Σx²], "frame_num": n}.
  std::string ToJson() const;
  static Result<GlobalCmvn> FromJson(const std::string& json, const std::string& source);

 private:
  std::vector<double> sum_;
  std::vector<double> sum_sq_;
  int64_t frame_count_ = 0;
  std::vector<double> mean_;
  std::vector<double> inv_std_;
};

}  // namespace dial::speech
