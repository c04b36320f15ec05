// What an audio file's header says, without decoding its samples: used to fill corpus durations cheaply and by
// the corpus check (truncation, rate mismatch). An addition beside the audio.h contract, same library.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "dial/status.h"

namespace dial::speech {

struct AudioInfo {
  int sample_rate = 0;
  int channels = 0;
  int64_t frames = 0;  // frames libsndfile can read (after its own clamping to the file's length)
  // Frames the header declares; -1 when it does not say (FLAC without a total, a streamed WAV whose data length
  // is a placeholder). A WAV whose header declares more than the file holds is "truncated".
  int64_t declared_frames = -1;
  std::string format;  // libsndfile's major format name, e.g. "WAV (Microsoft)"
  double duration_seconds() const { return sample_rate > 0 ? static_cast<double>(frames) / sample_rate : 0.0; }
  bool truncated() const { return declared_frames >= 0 && declared_frames > frames; }
};

// Reads the header of `path`. NotFound when missing; InvalidArgument naming the file when it is empty or not
// audio libsndfile knows. Truncation is reported in the AudioInfo (truncated()), not as an error, so that a
// caller can list it; ReadAudio turns it into an error.
Result<AudioInfo> ReadAudioInfo(const std::string& path);
Result<AudioInfo> ReadAudioInfoBytes(std::span<const uint8_t> bytes, const std::string& source);

}  // namespace dial::speech
