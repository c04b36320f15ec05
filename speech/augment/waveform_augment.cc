// Speed perturbation, noise generation and SNR mixing (see waveform_augment.h).
#include "speech/augment/waveform_augment.h"

#include <cmath>
#include <numbers>

#include "util/random.h"

namespace dial::speech {
namespace {

constexpr double kMinSpeedFactor = 0.5;
constexpr double kMaxSpeedFactor = 2.0;

Status CheckFactor(double factor) {
  if (!std::isfinite(factor) || factor < kMinSpeedFactor || factor > kMaxSpeedFactor) {
    return InvalidArgument("speed factor " + std::to_string(factor) + ": must lie in [0.5, 2]");
  }
  return Status::Ok();
}

}  // namespace

Result<Waveform> SpeedPerturb(const Waveform& audio, double factor) {
  DIAL_RETURN_IF_ERROR(CheckFactor(factor));
  if (audio.sample_rate <= 0) return InvalidArgument("speed perturbation: the audio has no sample rate");
  if (factor == 1.0) return audio;
  // Reading the samples as if taken at rate·factor and resampling them to rate keeps rate·factor / rate = factor
  // times fewer samples per second of the original: duration / factor, pitch × factor (sox `speed`).
  const int pretend_rate = static_cast<int>(std::lround(audio.sample_rate * factor));
  Waveform out;
  out.sample_rate = audio.sample_rate;
  DIAL_ASSIGN_OR_RETURN(out.samples, Resample(audio.samples, pretend_rate, audio.sample_rate));
  return out;
}

Status SpeedPerturbOptions::Validate() const {
  if (factors.empty()) return InvalidArgument("speed_perturb.factors: empty");
  for (double f : factors) DIAL_RETURN_IF_ERROR(CheckFactor(f).WithContext("speed_perturb.factors"));
  return Status::Ok();
}

Result<Waveform> RandomSpeedPerturb(const Waveform& audio, const SpeedPerturbOptions& options, std::mt19937_64& rng) {
  DIAL_RETURN_IF_ERROR(options.Validate());
  const double factor = options.factors[internal::UniformIndex(rng, options.factors.size())];
  return SpeedPerturb(audio, factor);
}

Result<NoiseType> ParseNoiseType(const std::string& name) {
  if (name == "white") return NoiseType::kWhite;
  if (name == "pink") return NoiseType::kPink;
  return InvalidArgument("noise type '" + name + "': expected white or pink");
}

std::vector<float> GenerateNoise(NoiseType type, size_t num_samples, std::mt19937_64& rng) {
  std::vector<float> out(num_samples);
  // Box–Muller: z = √(−2 ln u₁) · cos(2π u₂), u₁ ∈ (0, 1], u₂ ∈ [0, 1) gives z ~ N(0, 1).
  auto gaussian = [&rng] {
    const double u1 = 1.0 - internal::UniformUnit(rng);
    const double u2 = internal::UniformUnit(rng);
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  };
  if (type == NoiseType::kWhite) {
    for (float& x : out) x = static_cast<float>(gaussian());
    return out;
  }
  // Paul Kellett's "refined" pink filter: six one-pole low-passes plus a direct term approximate a −3 dB/octave
  // slope to within ±0.05 dB above 9.2 Hz at 44.1 kHz (the slope is what matters; the band shifts with the rate).
  double b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0;
  double sum_squares = 0;
  for (float& x : out) {
    const double w = gaussian();
    b0 = 0.99886 * b0 + w * 0.0555179;
    b1 = 0.99332 * b1 + w * 0.0750759;
    b2 = 0.96900 * b2 + w * 0.1538520;
    b3 = 0.86650 * b3 + w * 0.3104856;
    b4 = 0.55000 * b4 + w * 0.5329522;
    b5 = -0.7616 * b5 - w * 0.0168980;
    const double pink = b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362;
    b6 = w * 0.115926;
    x = static_cast<float>(pink);
    sum_squares += pink * pink;
  }
  if (sum_squares > 0) {
    const double scale = 1.0 / std::sqrt(sum_squares / static_cast<double>(num_samples));
    for (float& x : out) x = static_cast<float>(x * scale);
  }
  return out;
}

double MeanPower(std::span<const float> samples) {
  if (samples.empty()) return 0.0;
  double sum = 0;
  for (float x : samples) sum += static_cast<double>(x) * x;
  return sum / static_cast<double>(samples.size());
}

Status MixNoise(Waveform* signal, std::span<const float> noise, double snr_db, size_t noise_offset, int noise_rate) {
  if (!std::isfinite(snr_db)) return InvalidArgument("noise mixing: SNR must be finite, got " + std::to_string(snr_db));
  if (noise.empty()) return InvalidArgument("noise mixing: the noise is empty");
  if (noise_rate > 0 && signal->sample_rate > 0 && noise_rate != signal->sample_rate) {
    return InvalidArgument("noise mixing: noise at " + std::to_string(noise_rate) + " Hz, signal at " +
                           std::to_string(signal->sample_rate) + " Hz");
  }
  const size_t n = signal->samples.size();
  if (n == 0) return Status::Ok();
  // The noise as it will be laid under the signal: from noise_offset, wrapping around.
  double noise_sum = 0;
  size_t pos = noise_offset % noise.size();
  for (size_t i = 0; i < n; ++i) {
    noise_sum += static_cast<double>(noise[pos]) * noise[pos];
    if (++pos == noise.size()) pos = 0;
  }
  const double noise_power = noise_sum / static_cast<double>(n);
  if (noise_power <= 0) return InvalidArgument("noise mixing: the noise is silent over the signal's length");
  const double signal_power = MeanPower(signal->samples);
  // SNR = 10 log10(P_s / (g² P_n))  ⇒  g = √(P_s / (P_n · 10^(SNR/10))).
  const double gain = std::sqrt(signal_power / (noise_power * std::pow(10.0, snr_db / 10.0)));
  pos = noise_offset % noise.size();
  for (size_t i = 0; i < n; ++i) {
    signal->samples[i] = static_cast<float>(signal->samples[i] + gain * noise[pos]);
    if (++pos == noise.size()) pos = 0;
  }
  return Status::Ok();
}

}  // namespace dial::speech
