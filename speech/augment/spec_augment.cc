// SpecAugment: time warp, frequency masks and time masks (see spec_augment.h).
#include "speech/augment/spec_augment.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <vector>

#include "util/random.h"

namespace dial::speech {
namespace {

// Uniform on {lo, …, hi}; hi >= lo.
int UniformInt(std::mt19937_64& rng, int lo, int hi) {
  return lo + static_cast<int>(internal::UniformIndex(rng, static_cast<uint64_t>(hi - lo) + 1));
}

double MatrixMean(const FeatureMatrix& f) {
  if (f.data.empty()) return 0.0;
  double sum = 0;
  for (float x : f.data) sum += x;
  return sum / static_cast<double>(f.data.size());
}

}  // namespace

Status SpecAugmentOptions::Validate() const {
  if (num_freq_masks < 0) return InvalidArgument("spec_augment.num_freq_masks: must be >= 0");
  if (freq_mask_width < 0) return InvalidArgument("spec_augment.freq_mask_width: must be >= 0");
  if (num_time_masks < 0) return InvalidArgument("spec_augment.num_time_masks: must be >= 0");
  if (time_mask_width < 0) return InvalidArgument("spec_augment.time_mask_width: must be >= 0");
  if (!(time_mask_max_fraction >= 0.0 && time_mask_max_fraction <= 1.0)) {
    return InvalidArgument("spec_augment.time_mask_max_fraction: must lie in [0, 1]");
  }
  if (time_warp_window < 0) return InvalidArgument("spec_augment.time_warp_window: must be >= 0");
  return Status::Ok();
}

void TimeWarp(FeatureMatrix* features, int window, std::mt19937_64& rng) {
  const int t = features->num_frames;
  const int dim = features->dim;
  if (window <= 0 || t <= 2 * window) return;
  const int centre = UniformInt(rng, window, t - window - 1);
  const int warped = UniformInt(rng, centre - window, centre + window);
  if (warped == centre) return;
  // Output frame j reads the source at position s(j), piecewise linear with s(0) = 0, s(w) = c, s(T−1) = T−1:
  //   j < w:  s = j · c / w;   j ≥ w:  s = c + (j − w) · (T − 1 − c) / (T − 1 − w),
  // then interpolates linearly between source frames ⌊s⌋ and ⌊s⌋ + 1.
  const std::vector<float> source = features->data;
  for (int j = 0; j < t; ++j) {
    double s;
    if (j < warped) {
      s = static_cast<double>(j) * centre / warped;
    } else {
      s = centre + static_cast<double>(j - warped) * (t - 1 - centre) / std::max(1, t - 1 - warped);
    }
    s = std::clamp(s, 0.0, static_cast<double>(t - 1));
    const int lo = static_cast<int>(std::floor(s));
    const int hi = std::min(lo + 1, t - 1);
    const float frac = static_cast<float>(s - lo);
    const float* a = source.data() + static_cast<size_t>(lo) * dim;
    const float* b = source.data() + static_cast<size_t>(hi) * dim;
    float* out = features->Row(j);
    for (int k = 0; k < dim; ++k) out[k] = a[k] + frac * (b[k] - a[k]);
  }
}

void ApplySpecAugment(FeatureMatrix* features, const SpecAugmentOptions& options, std::mt19937_64& rng) {
  assert(options.Validate().ok());
  TimeWarp(features, options.time_warp_window, rng);
  const int t = features->num_frames;
  const int dim = features->dim;
  if (t == 0 || dim == 0) return;
  const float fill = static_cast<float>(MatrixMean(*features));
  const int max_f = std::min(options.freq_mask_width, dim);
  for (int m = 0; m < options.num_freq_masks; ++m) {
    const int width = UniformInt(rng, 0, max_f);
    const int start = UniformInt(rng, 0, dim - width);
    for (int i = 0; i < t; ++i) std::fill_n(features->Row(i) + start, width, fill);
  }
  int max_t = std::min(options.time_mask_width, t);
  if (options.time_mask_max_fraction > 0) {
    max_t = std::min(max_t, static_cast<int>(std::floor(options.time_mask_max_fraction * t)));
  }
  for (int m = 0; m < options.num_time_masks; ++m) {
    const int width = UniformInt(rng, 0, max_t);
    const int start = UniformInt(rng, 0, t - width);
    std::fill_n(features->Row(start), static_cast<size_t>(width) * dim, fill);
  }
}

}  // namespace dial::speech
