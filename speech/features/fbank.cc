// Kaldi filterbank pipeline per frame: extract (snip or reflect edges) → dither → DC removal → raw energy →
// pre-emphasis → window → zero-pad → power spectrum → triangular mel banks → log. MFCC adds DCT + lifter.
#include "speech/features/fbank.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <random>

#include "speech/features/fft.h"

namespace dial::speech {
namespace {

// torchaudio floors energies and mel outputs at float32 machine epsilon before the log; so do we.
constexpr float kLogFloor = std::numeric_limits<float>::epsilon();
constexpr double kLogFloorD = kLogFloor;
constexpr double kMsToSeconds = 0.001;
constexpr int kMinMelBins = 4;  // torchaudio asserts num_bins > 3

double MelScale(double hz) { return 1127.0 * std::log(1.0 + hz / 700.0); }

int NextPowerOfTwo(int x) {
  int p = 1;
  while (p < x) p <<= 1;
  return p;
}

struct FrameGeometry {
  int window_size = 0;
  int window_shift = 0;
  int padded_size = 0;
};

FrameGeometry Geometry(const FbankOptions& o) {
  FrameGeometry g;
  // int() truncation, as Kaldi and torchaudio do.
  g.window_shift = static_cast<int>(o.sample_rate * o.frame_shift_ms * kMsToSeconds);
  g.window_size = static_cast<int>(o.sample_rate * o.frame_length_ms * kMsToSeconds);
  g.padded_size = o.round_to_power_of_two ? NextPowerOfTwo(g.window_size) : g.window_size;
  return g;
}

// One triangular mel filter over FFT bins [first, first + weights.size()).
struct MelBin {
  int first = 0;
  std::vector<double> weights;
};

class FbankImpl final : public FbankComputer {
 public:
  explicit FbankImpl(const FbankOptions& o) : o_(o), g_(Geometry(o)), fft_(g_.padded_size) {
    BuildWindow();
    BuildMelBanks();
    frame_.resize(g_.padded_size);
    power_.resize(g_.padded_size / 2 + 1);
  }

  int dim() const override { return o_.n_mels + (o_.use_energy ? 1 : 0); }
  const std::vector<float>& LastLogEnergy() const override { return log_energy_; }

  FeatureMatrix Compute(std::span<const float> samples, uint64_t seed) override {
    FeatureMatrix out;
    const int64_t n = static_cast<int64_t>(samples.size());
    out.num_frames = NumFrames(n, g_.window_size, g_.window_shift, o_.snip_edges);
    out.dim = dim();
    out.data.assign(static_cast<size_t>(out.num_frames) * out.dim, 0.0f);
    log_energy_.assign(out.num_frames, 0.0f);
    std::mt19937_64 rng(o_.dither_seed ^ (seed * 0x9E3779B97F4A7C15ull));
    std::normal_distribution<float> gauss(0.0f, 1.0f);
    const float log_energy_floor = o_.energy_floor > 0.0f ? std::log(o_.energy_floor) : -1e30f;
    const int w = g_.window_size;
    // Without snip_edges the signal is reflected around both ends and frames are centred on k·shift + shift/2.
    const int64_t offset = o_.snip_edges ? 0 : static_cast<int64_t>(g_.window_shift / 2 - w / 2);
    for (int f = 0; f < out.num_frames; ++f) {
      double* x = frame_.data();
      const int64_t start = static_cast<int64_t>(f) * g_.window_shift + offset;
      if (start >= 0 && start + w <= n) {
        for (int t = 0; t < w; ++t) x[t] = static_cast<double>(samples[start + t]) * o_.input_scale;
      } else {
        for (int t = 0; t < w; ++t) {
          int64_t s = start + t;
          // Kaldi's reflection: -1 → 0, -2 → 1; n → n-1, n+1 → n-2 (repeated if still out of range).
          while (s < 0 || s >= n) s = s < 0 ? -s - 1 : 2 * n - 1 - s;
          x[t] = static_cast<double>(samples[s]) * o_.input_scale;
        }
      }
      if (o_.dither != 0.0f) {
        for (int t = 0; t < w; ++t) x[t] += static_cast<double>(o_.dither * gauss(rng));
      }
      if (o_.remove_dc_offset) {
        double sum = 0.0;
        for (int t = 0; t < w; ++t) sum += x[t];
        const double mean = sum / w;
        for (int t = 0; t < w; ++t) x[t] -= mean;
      }
      if (o_.raw_energy) log_energy_[f] = LogEnergy(x, w, log_energy_floor);
      if (o_.preemphasis != 0.0f) {
        // x[t] -= c·x[t-1], with x[-1] = x[0]; backwards so each step reads the unmodified previous sample.
        for (int t = w - 1; t > 0; --t) x[t] -= o_.preemphasis * x[t - 1];
        x[0] -= o_.preemphasis * x[0];
      }
      for (int t = 0; t < w; ++t) x[t] *= window_[t];
      std::fill(x + w, x + g_.padded_size, 0.0);
      if (!o_.raw_energy) log_energy_[f] = LogEnergy(x, g_.padded_size, log_energy_floor);

      fft_.PowerSpectrum(x, power_.data());
      if (!o_.use_power) {
        for (double& p : power_) p = std::sqrt(p);
      }
      float* row = out.Row(f);
      int col = 0;
      if (o_.use_energy) row[col++] = log_energy_[f];
      for (const MelBin& bin : mel_bins_) {
        const double* p = power_.data() + bin.first;
        double e = 0.0;
        for (size_t k = 0; k < bin.weights.size(); ++k) e += bin.weights[k] * p[k];
        row[col++] = static_cast<float>(o_.use_log_fbank ? std::log(std::max(e, kLogFloorD)) : e);
      }
    }
    return out;
  }

 private:
  static float LogEnergy(const double* x, int len, float log_floor) {
    double e = 0.0;
    for (int t = 0; t < len; ++t) e += x[t] * x[t];
    return std::max(static_cast<float>(std::log(std::max(e, kLogFloorD))), log_floor);
  }

  void BuildWindow() {
    const int w = g_.window_size;
    window_.resize(w);
    const double a = 2.0 * std::numbers::pi / (w - 1);
    for (int t = 0; t < w; ++t) {
      double v = 1.0;
      switch (o_.window) {
        case WindowType::kHann:
          v = 0.5 - 0.5 * std::cos(a * t);
          break;
        case WindowType::kPovey:
          v = std::pow(0.5 - 0.5 * std::cos(a * t), 0.85);
          break;
        case WindowType::kHamming:
          v = 0.54 - 0.46 * std::cos(a * t);
          break;
        case WindowType::kRectangular:
          v = 1.0;
          break;
        case WindowType::kBlackman:
          v = o_.blackman_coeff - 0.5 * std::cos(a * t) + (0.5 - o_.blackman_coeff) * std::cos(2 * a * t);
          break;
      }
      window_[t] = v;
    }
  }

  // Triangles equally spaced on the mel scale mel(f) = 1127 ln(1 + f/700) between low_freq and high_freq;
  // weight of FFT bin k in bin m = max(0, min(up, down)) with up = (mel_k - left)/(centre - left),
  // down = (right - mel_k)/(right - centre). The Nyquist bin gets no weight (as Kaldi).
  void BuildMelBanks() {
    const int num_fft_bins = g_.padded_size / 2;
    const double nyquist = 0.5 * o_.sample_rate;
    const double high = o_.high_freq <= 0.0f ? nyquist + o_.high_freq : o_.high_freq;
    const double bin_width = static_cast<double>(o_.sample_rate) / g_.padded_size;
    const double mel_low = MelScale(o_.low_freq), mel_high = MelScale(high);
    const double delta = (mel_high - mel_low) / (o_.n_mels + 1);
    mel_bins_.resize(o_.n_mels);
    for (int m = 0; m < o_.n_mels; ++m) {
      const double left = mel_low + m * delta, centre = left + delta, right = left + 2 * delta;
      MelBin& bin = mel_bins_[m];
      int first = -1, last = -1;
      std::vector<double> all(num_fft_bins, 0.0);
      for (int k = 0; k < num_fft_bins; ++k) {
        const double mel = MelScale(bin_width * k);
        const double up = (mel - left) / (centre - left);
        const double down = (right - mel) / (right - centre);
        const double wgt = std::max(0.0, std::min(up, down));
        if (wgt > 0.0) {
          all[k] = wgt;
          if (first < 0) first = k;
          last = k;
        }
      }
      if (first < 0) {
        first = 0;
        last = -1;
      }
      bin.first = first;
      bin.weights.assign(all.begin() + first, all.begin() + last + 1);
    }
  }

  FbankOptions o_;
  FrameGeometry g_;
  RealFft fft_;
  std::vector<double> window_;
  std::vector<MelBin> mel_bins_;
  std::vector<double> frame_;
  std::vector<double> power_;
  std::vector<float> log_energy_;
};

class MfccImpl final : public MfccComputer {
 public:
  MfccImpl(const MfccOptions& o, std::unique_ptr<FbankComputer> fbank) : o_(o), fbank_(std::move(fbank)) {
    const int m = o_.fbank.n_mels;
    // Orthonormal DCT-II, Kaldi's layout: dct[k][n] = sqrt(2/M) cos(π k (n + 1/2) / M), row 0 = sqrt(1/M).
    dct_.resize(static_cast<size_t>(o_.num_ceps) * m);
    for (int k = 0; k < o_.num_ceps; ++k) {
      for (int n = 0; n < m; ++n) {
        double v = k == 0 ? std::sqrt(1.0 / m) : std::sqrt(2.0 / m) * std::cos(std::numbers::pi * k * (n + 0.5) / m);
        dct_[static_cast<size_t>(k) * m + n] = v;
      }
    }
    // Lifter: 1 + (Q/2) sin(π k / Q).
    lifter_.assign(o_.num_ceps, 1.0);
    if (o_.cepstral_lifter != 0.0f) {
      for (int k = 0; k < o_.num_ceps; ++k) {
        lifter_[k] = 1.0 + 0.5 * o_.cepstral_lifter * std::sin(std::numbers::pi * k / o_.cepstral_lifter);
      }
    }
  }

  FeatureMatrix Compute(std::span<const float> samples, uint64_t seed) override {
    FeatureMatrix mel = fbank_->Compute(samples, seed);
    const std::vector<float>& energy = fbank_->LastLogEnergy();
    FeatureMatrix out;
    out.num_frames = mel.num_frames;
    out.dim = o_.num_ceps;
    out.data.resize(static_cast<size_t>(out.num_frames) * out.dim);
    const int m = o_.fbank.n_mels;
    for (int f = 0; f < mel.num_frames; ++f) {
      const float* in = mel.Row(f);
      float* row = out.Row(f);
      for (int k = 0; k < o_.num_ceps; ++k) {
        const double* d = &dct_[static_cast<size_t>(k) * m];
        double acc = 0.0;
        for (int n = 0; n < m; ++n) acc += d[n] * in[n];
        row[k] = static_cast<float>(acc * lifter_[k]);
      }
      if (o_.use_energy) row[0] = energy[f];
    }
    return out;
  }

 private:
  MfccOptions o_;
  std::unique_ptr<FbankComputer> fbank_;
  std::vector<double> dct_;
  std::vector<double> lifter_;
};

}  // namespace

Result<WindowType> ParseWindowType(const std::string& name) {
  if (name == "povey") return WindowType::kPovey;
  if (name == "hann" || name == "hanning") return WindowType::kHann;
  if (name == "hamming") return WindowType::kHamming;
  if (name == "rectangular") return WindowType::kRectangular;
  if (name == "blackman") return WindowType::kBlackman;
  return InvalidArgument("window '" + name + "' is not one of povey, hann, hamming, rectangular, blackman");
}

int NumFrames(int64_t num_samples, int window_size, int window_shift, bool snip_edges) {
  if (snip_edges) {
    if (num_samples < window_size) return 0;
    return static_cast<int>(1 + (num_samples - window_size) / window_shift);
  }
  return static_cast<int>((num_samples + window_shift / 2) / window_shift);
}

Status FbankOptions::Validate() const {
  if (!(sample_rate > 0.0f)) return InvalidArgument("sample_rate must be > 0, got " + std::to_string(sample_rate));
  const FrameGeometry g = Geometry(*this);
  if (g.window_size < 2) {
    return InvalidArgument("frame_length_ms (" + std::to_string(frame_length_ms) + ") gives fewer than 2 samples");
  }
  if (g.window_shift < 1) {
    return InvalidArgument("frame_shift_ms (" + std::to_string(frame_shift_ms) + ") gives less than 1 sample");
  }
  if (g.padded_size < 8 || g.padded_size % 2 != 0 || (g.padded_size & (g.padded_size - 1)) != 0) {
    return InvalidArgument("the FFT length " + std::to_string(g.padded_size) +
                           " must be a power of two >= 8: set round_to_power_of_two (other lengths are not supported)");
  }
  if (n_mels < kMinMelBins) return InvalidArgument("n_mels must be >= 4, got " + std::to_string(n_mels));
  const float nyquist = 0.5f * sample_rate;
  const float high = high_freq <= 0.0f ? nyquist + high_freq : high_freq;
  if (!(low_freq >= 0.0f && low_freq < nyquist)) {
    return InvalidArgument("low_freq (" + std::to_string(low_freq) + ") must be in [0, Nyquist)");
  }
  if (!(high > 0.0f && high <= nyquist && low_freq < high)) {
    return InvalidArgument("high_freq (" + std::to_string(high_freq) + ") resolves to " + std::to_string(high) +
                           " Hz, which must be in (low_freq, Nyquist]");
  }
  if (preemphasis < 0.0f || preemphasis > 1.0f) return InvalidArgument("preemphasis must be in [0, 1]");
  if (dither < 0.0f) return InvalidArgument("dither must be >= 0");
  if (energy_floor < 0.0f) return InvalidArgument("energy_floor must be >= 0");
  if (!(input_scale > 0.0f)) return InvalidArgument("input_scale must be > 0");
  return Status::Ok();
}

Status MfccOptions::Validate() const {
  DIAL_RETURN_IF_ERROR(fbank.Validate());
  if (num_ceps < 1 || num_ceps > fbank.n_mels) {
    return InvalidArgument("num_ceps (" + std::to_string(num_ceps) + ") must be in [1, n_mels]");
  }
  if (!fbank.use_log_fbank || !fbank.use_power || fbank.use_energy) {
    return InvalidArgument(
        "MFCC needs fbank.use_log_fbank and use_power, and fbank.use_energy off "
        "(use MfccOptions.use_energy)");
  }
  return Status::Ok();
}

Result<std::unique_ptr<FbankComputer>> NewFbankComputer(const FbankOptions& options) {
  DIAL_RETURN_IF_ERROR(options.Validate());
  return std::unique_ptr<FbankComputer>(std::make_unique<FbankImpl>(options));
}

Result<std::unique_ptr<MfccComputer>> NewMfccComputer(const MfccOptions& options) {
  DIAL_RETURN_IF_ERROR(options.Validate());
  return std::unique_ptr<MfccComputer>(std::make_unique<MfccImpl>(options, std::make_unique<FbankImpl>(options.fbank)));
}

}  // namespace dial::speech
