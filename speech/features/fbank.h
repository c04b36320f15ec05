// Kaldi-compatible log-mel filterbank and MFCC (matches torchaudio.compliance.kaldi.fbank/.mfcc to 1e-3).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dial/status.h"

namespace dial::speech {

enum class WindowType { kPovey, kHann, kHamming, kRectangular, kBlackman };
// "povey", "hann" (also "hanning"), "hamming", "rectangular", "blackman".
Result<WindowType> ParseWindowType(const std::string& name);

// Options of the Kaldi filterbank, by Kaldi's names. Defaults are the speech-recipe norm (25/10 ms, povey,
// 80 bins), not Kaldi's own 23 bins.
struct FbankOptions {
  float sample_rate = 16000.0f;  // Hz; must equal the audio's rate (no resampling here)
  // Samples handed to Compute are in [-1, 1] and multiplied by input_scale first. 32768 reproduces Kaldi,
  // WeNet and torchaudio's kaldi.fbank fed with int16-range samples; 1 gives sherpa-onnx-style features.
  float input_scale = 32768.0f;
  float frame_length_ms = 25.0f;
  float frame_shift_ms = 10.0f;
  WindowType window = WindowType::kPovey;
  float blackman_coeff = 0.42f;
  float preemphasis = 0.97f;  // 0 disables
  bool remove_dc_offset = true;
  float dither = 0.0f;       // std-dev of Gaussian noise added per sample; training only
  uint64_t dither_seed = 0;  // with Compute's seed argument, makes dither reproducible
  bool snip_edges = true;    // Kaldi: true; Lhotse/icefall: false
  bool round_to_power_of_two = true;
  int n_mels = 80;
  float low_freq = 20.0f;     // Hz
  float high_freq = 0.0f;     // Hz; <= 0 means Nyquist + high_freq (Kaldi convention)
  float energy_floor = 0.0f;  // floor on the frame energy (absolute), 0 = none
  bool raw_energy = true;     // energy before pre-emphasis and window
  bool use_energy = false;    // prepend the log frame energy as column 0
  bool use_log_fbank = true;
  bool use_power = true;  // power spectrum (true) or magnitude
  Status Validate() const;
};

struct MfccOptions {
  FbankOptions fbank = [] {
    FbankOptions o;
    o.n_mels = 23;  // Kaldi's MFCC default
    return o;
  }();
  int num_ceps = 13;
  float cepstral_lifter = 22.0f;  // 0 disables liftering
  bool use_energy = false;        // replace C0 by the log frame energy
  Status Validate() const;
};

// Row-major frames × dims.
struct FeatureMatrix {
  int num_frames = 0;
  int dim = 0;
  std::vector<float> data;
  const float* Row(int i) const { return data.data() + static_cast<size_t>(i) * dim; }
  float* Row(int i) { return data.data() + static_cast<size_t>(i) * dim; }
};

// Number of frames Kaldi produces for num_samples samples.
int NumFrames(int64_t num_samples, int window_size, int window_shift, bool snip_edges);

// Computes filterbank features. Not thread-safe (owns FFT scratch); use one per thread.
class FbankComputer {
 public:
  virtual ~FbankComputer() = default;
  // samples in [-1, 1] (scaled by options.input_scale). Fewer samples than one window gives 0 frames with
  // snip_edges. seed varies the dither per utterance (mixed with options.dither_seed).
  virtual FeatureMatrix Compute(std::span<const float> samples, uint64_t seed = 0) = 0;
  // Log frame energy per frame of the last Compute (useful for MFCC's C0 replacement).
  virtual const std::vector<float>& LastLogEnergy() const = 0;
  virtual int dim() const = 0;
};

Result<std::unique_ptr<FbankComputer>> NewFbankComputer(const FbankOptions& options);

class MfccComputer {
 public:
  virtual ~MfccComputer() = default;
  virtual FeatureMatrix Compute(std::span<const float> samples, uint64_t seed = 0) = 0;
};

Result<std::unique_ptr<MfccComputer>> NewMfccComputer(const MfccOptions& options);

}  // namespace dial::speech
