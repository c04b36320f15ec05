// SpecAugment (Park et al., 2019) on a feature matrix: time warp, frequency masks and time masks, seeded.
#pragma once

#include <random>

#include "dial/status.h"
#include "speech/features/fbank.h"

namespace dial::speech {

// Defaults are Google's LibriSpeech "LB" policy widths (F = 27, T = 40 frames here, 2 + 2 masks) with the 5 %
// length cap that ESPnet and NeMo use; see docs/speech-corpus.md for the recipes' settings.
struct SpecAugmentOptions {
  int num_freq_masks = 2;
  int freq_mask_width = 27;  // F: each mask is f ~ U{0..F} bins wide (capped at the feature dimension)
  int num_time_masks = 2;
  int time_mask_width = 40;  // T: each mask is t ~ U{0..T} frames wide
  // Caps each time mask at floor(fraction × num_frames) frames; 0 = no cap.
  double time_mask_max_fraction = 0.05;
  // W: the warp centre moves by up to W frames; 0 = no time warp. Skipped when num_frames <= 2W.
  int time_warp_window = 0;
  // InvalidArgument naming the field for a negative count or width, or a fraction outside [0, 1].
  Status Validate() const;
};

// Applies, in this order, time warp, the frequency masks and the time masks, in place. Masked cells are set to
// the mean of the whole (warped) matrix: on CMVN-normalised features that is ~0, which is what ESPnet writes,
// and on raw log-mel features it is a plausible value rather than 0 (= log of energy 1, far below speech), so
// the same code is neutral before or after CMVN (Lhotse makes the same choice). Masks may overlap. Draws only
// from `rng`; the same rng state and input give the same output. The options must be valid (assert).
void ApplySpecAugment(FeatureMatrix* features, const SpecAugmentOptions& options, std::mt19937_64& rng);

// Time warp alone (the first step above): a centre c ~ U{W..T−W−1} moves to w ~ U{c−W..c+W}; frames [0, c) are
// stretched onto [0, w) and [c, T) onto [w, T) by linear interpolation along time. Length is preserved;
// window 0 (or T <= 2W) leaves the features unchanged.
void TimeWarp(FeatureMatrix* features, int window, std::mt19937_64& rng);

}  // namespace dial::speech
