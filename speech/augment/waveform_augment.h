// Waveform augmentation: speed perturbation (as Kaldi and ESPnet do it with sox `speed`), seeded noise
// generation (white, pink) and mixing a noise into speech at a given signal-to-noise ratio.
#pragma once

#include <random>
#include <span>
#include <string>
#include <vector>

#include "dial/status.h"
#include "speech/audio/audio.h"

namespace dial::speech {

// Speed perturbation by `factor`: the audio is played `factor` times faster, so it lasts 1/factor as long and
// its pitch rises by the same factor (sox `speed`, not `tempo`). Done by resampling (libsoxr) from
// round(rate × factor) Hz to rate Hz, so the factor is effectively quantised to 1/rate. InvalidArgument for a
// factor outside [0.5, 2] or an audio without a rate.
Result<Waveform> SpeedPerturb(const Waveform& audio, double factor);

struct SpeedPerturbOptions {
  std::vector<double> factors = {0.9, 1.0, 1.1};  // one is drawn uniformly per call
  Status Validate() const;                        // InvalidArgument: empty, or a factor outside [0.5, 2]
};
// Draws a factor from options.factors with `rng` and applies it (a copy when the factor is 1).
Result<Waveform> RandomSpeedPerturb(const Waveform& audio, const SpeedPerturbOptions& options, std::mt19937_64& rng);

enum class NoiseType { kWhite, kPink };
// "white", "pink".
Result<NoiseType> ParseNoiseType(const std::string& name);

// Unit-variance noise, drawn only from `rng` with portable draws (the same samples on every standard library):
// white is Gaussian (Box–Muller); pink is that white noise through Paul Kellett's 1/f filter, rescaled to unit
// variance over the returned samples.
std::vector<float> GenerateNoise(NoiseType type, size_t num_samples, std::mt19937_64& rng);

// Mean power (1/N) Σ x² of the samples; 0 for none.
double MeanPower(std::span<const float> samples);

// Adds `noise` to `signal` scaled so that 10·log10(P_signal / P_scaled_noise) = snr_db, where both powers are
// means over the signal's length. The noise is read from `noise_offset` (modulo its length) and repeated when
// shorter. Samples are not clipped (WriteWav clips; scale first if needed). InvalidArgument for an empty or
// all-zero noise, a non-finite SNR, or different sample rates when `noise_rate` > 0 and differs.
Status MixNoise(Waveform* signal, std::span<const float> noise, double snr_db, size_t noise_offset = 0,
                int noise_rate = 0);

}  // namespace dial::speech
