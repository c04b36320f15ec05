// Audio in and out: reading WAV/FLAC through libsndfile (mono mix-down), writing 16-bit WAV, and resampling
// through libsoxr. Samples are floats in [-1, 1]; the front end scales them (FbankOptions::input_scale).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "dial/status.h"

namespace dial::speech {

// Mono audio: samples in [-1, 1] at sample_rate Hz.
struct Waveform {
  std::vector<float> samples;
  int sample_rate = 0;
  double duration_seconds() const { return sample_rate > 0 ? static_cast<double>(samples.size()) / sample_rate : 0; }
};

struct ReadAudioOptions {
  double offset_seconds = 0.0;     // start of the span to read
  double duration_seconds = -1.0;  // < 0: to the end of the file
  // 0 keeps the file's rate; otherwise the audio is resampled to it. Asking for more than the file's rate is an
  // InvalidArgument naming the file and both rates unless allow_upsampling.
  int target_sample_rate = 0;
  bool allow_upsampling = false;
  Status Validate() const;
};

// Reads a WAV or FLAC file (any libsndfile format), mixing several channels down to their mean. NotFound when the
// file is missing; InvalidArgument naming the file when it is unreadable, empty, truncated (fewer frames than the
// header declares) or when the span lies outside it.
Result<Waveform> ReadAudio(const std::string& path, const ReadAudioOptions& options = {});

// Reads audio from bytes in memory (the output of a piped wav.scp command); `source` names it in messages.
Result<Waveform> ReadAudioBytes(std::span<const uint8_t> bytes, const std::string& source,
                                const ReadAudioOptions& options = {});

// Writes 16-bit PCM mono WAV (samples clipped to [-1, 1]). The file appears whole or not at all (written to a
// temporary name, then renamed). IoError naming the path on failure.
Status WriteWav(const std::string& path, const Waveform& audio);

// High-quality resampling (libsoxr, SOXR_HQ). InvalidArgument for a non-positive rate.
Result<std::vector<float>> Resample(std::span<const float> samples, int from_rate, int to_rate);

}  // namespace dial::speech
