// Audio in and out through libsndfile (any format it reads; mono mix-down), 16-bit WAV out, libsoxr resampling.
// Truncation is detected from the RIFF header itself, because libsndfile silently clamps a WAV whose data chunk
// claims more bytes than the file holds.
#include "speech/audio/audio.h"

#include <sndfile.h>
#include <soxr.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>

#include "speech/audio/audio_info.h"

namespace dial::speech {
namespace {

// libsndfile reads 16-bit PCM as int16 / 32768; writing uses the same scale so that a read → write round trip
// is exact, and so that FbankOptions::input_scale = 32768 gives back Kaldi's integer samples.
constexpr double kInt16Scale = 32768.0;
constexpr int kMaxSampleRate = 768000;
// A streamed WAV (written to a pipe, e.g. `sox in.flac -t wav - |`) cannot seek back to fix its lengths: sox
// writes 0x7ffff000, others 0 or 0xffffffff. Such a data length says nothing about truncation.
constexpr uint32_t kStreamedLengthPlaceholder = 0x7FFFF000u;
constexpr int kMaxRiffChunks = 64;  // stop scanning a malformed header rather than looping over garbage
// Kaldi's extract-segments tolerates a segment end up to 0.5 s past the recording (its --max-overshoot) and cuts
// it there; beyond that the span is an error.
constexpr double kMaxOvershootSeconds = 0.5;

// Reads `n` bytes at `offset` into `buffer`; returns how many it read.
using ReadAt = std::function<size_t(int64_t offset, void* buffer, size_t n)>;

uint32_t Le32(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) | (static_cast<uint32_t>(p[2]) << 16) |
         (static_cast<uint32_t>(p[3]) << 24);
}
uint16_t Le16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

// The frames a little-endian RIFF/WAVE header declares in its data chunk, or -1 when the file is not such a WAV
// (RF64, big-endian RIFX, FLAC, ...) or its length is a streaming placeholder.
int64_t DeclaredWavFrames(const ReadAt& read_at) {
  unsigned char head[12];
  if (read_at(0, head, sizeof head) != sizeof head) return -1;
  if (std::memcmp(head, "RIFF", 4) != 0 || std::memcmp(head + 8, "WAVE", 4) != 0) return -1;
  int64_t offset = 12;
  int block_align = 0;
  for (int i = 0; i < kMaxRiffChunks; ++i) {
    unsigned char chunk[8];
    if (read_at(offset, chunk, sizeof chunk) != sizeof chunk) return -1;
    const uint32_t size = Le32(chunk + 4);
    if (std::memcmp(chunk, "fmt ", 4) == 0) {
      unsigned char fmt[16];
      if (size < sizeof fmt || read_at(offset + 8, fmt, sizeof fmt) != sizeof fmt) return -1;
      block_align = Le16(fmt + 12);  // channels × bytes per sample
    } else if (std::memcmp(chunk, "data", 4) == 0) {
      if (block_align <= 0 || size == 0 || size >= kStreamedLengthPlaceholder) return -1;
      return static_cast<int64_t>(size) / block_align;
    }
    offset += 8 + static_cast<int64_t>(size) + (size & 1u);  // chunks are padded to an even length
  }
  return -1;
}

// A file in memory, read through libsndfile's virtual I/O.
struct MemoryFile {
  std::span<const uint8_t> bytes;
  sf_count_t position = 0;
};

sf_count_t MemLength(void* user) { return static_cast<sf_count_t>(static_cast<MemoryFile*>(user)->bytes.size()); }
sf_count_t MemSeek(sf_count_t offset, int whence, void* user) {
  auto* m = static_cast<MemoryFile*>(user);
  const auto size = static_cast<sf_count_t>(m->bytes.size());
  sf_count_t target = offset;
  if (whence == SEEK_CUR) target = m->position + offset;
  if (whence == SEEK_END) target = size + offset;
  m->position = std::clamp<sf_count_t>(target, 0, size);
  return m->position;
}
sf_count_t MemRead(void* ptr, sf_count_t count, void* user) {
  auto* m = static_cast<MemoryFile*>(user);
  const auto size = static_cast<sf_count_t>(m->bytes.size());
  const sf_count_t n = std::clamp<sf_count_t>(count, 0, size - m->position);
  std::memcpy(ptr, m->bytes.data() + m->position, static_cast<size_t>(n));
  m->position += n;
  return n;
}
sf_count_t MemWrite(const void*, sf_count_t, void*) { return 0; }
sf_count_t MemTell(void* user) { return static_cast<MemoryFile*>(user)->position; }

struct SndFileCloser {
  void operator()(SNDFILE* f) const {
    if (f != nullptr) sf_close(f);
  }
};
using SndFilePtr = std::unique_ptr<SNDFILE, SndFileCloser>;

// An open audio source: the libsndfile handle, its header and what the RIFF header declares.
struct OpenAudio {
  SndFilePtr file;
  SF_INFO sf_info{};
  int64_t declared_frames = -1;
  std::unique_ptr<MemoryFile> memory;  // keeps the virtual file alive for in-memory sources
};

std::string FormatName(int format) {
  SF_FORMAT_INFO info{};
  info.format = format & SF_FORMAT_TYPEMASK;
  if (sf_command(nullptr, SFC_GET_FORMAT_INFO, &info, sizeof info) == 0 && info.name != nullptr) return info.name;
  return "unknown";
}

Result<OpenAudio> OpenPath(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return NotFound(path + ": audio file not found");
  if (!S_ISREG(st.st_mode)) return InvalidArgument(path + ": not a regular file");
  if (st.st_size == 0) return InvalidArgument(path + ": empty file (0 bytes)");
  OpenAudio audio;
  audio.file.reset(sf_open(path.c_str(), SFM_READ, &audio.sf_info));
  if (!audio.file) return InvalidArgument(path + ": unreadable audio (" + sf_strerror(nullptr) + ")");
  std::ifstream in(path, std::ios::binary);
  audio.declared_frames = DeclaredWavFrames([&in](int64_t offset, void* buffer, size_t n) -> size_t {
    in.clear();
    in.seekg(offset);
    in.read(static_cast<char*>(buffer), static_cast<std::streamsize>(n));
    return static_cast<size_t>(in.gcount());
  });
  return audio;
}

Result<OpenAudio> OpenBytes(std::span<const uint8_t> bytes, const std::string& source) {
  if (bytes.empty()) return InvalidArgument(source + ": empty (0 bytes of audio)");
  OpenAudio audio;
  audio.memory = std::make_unique<MemoryFile>();
  audio.memory->bytes = bytes;
  SF_VIRTUAL_IO io{MemLength, MemSeek, MemRead, MemWrite, MemTell};
  audio.file.reset(sf_open_virtual(&io, SFM_READ, &audio.sf_info, audio.memory.get()));
  if (!audio.file) return InvalidArgument(source + ": unreadable audio (" + sf_strerror(nullptr) + ")");
  audio.declared_frames = DeclaredWavFrames([bytes](int64_t offset, void* buffer, size_t n) -> size_t {
    if (offset < 0 || static_cast<size_t>(offset) >= bytes.size()) return 0;
    const size_t k = std::min(n, bytes.size() - static_cast<size_t>(offset));
    std::memcpy(buffer, bytes.data() + offset, k);
    return k;
  });
  return audio;
}

AudioInfo InfoOf(const OpenAudio& audio) {
  AudioInfo info;
  info.sample_rate = audio.sf_info.samplerate;
  info.channels = audio.sf_info.channels;
  info.frames = audio.sf_info.frames;
  info.declared_frames = audio.declared_frames;
  info.format = FormatName(audio.sf_info.format);
  return info;
}

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

Result<Waveform> ReadOpened(OpenAudio& audio, const std::string& source, const ReadAudioOptions& options) {
  DIAL_RETURN_IF_ERROR(options.Validate().WithContext(source));
  const AudioInfo info = InfoOf(audio);
  if (info.sample_rate <= 0 || info.channels <= 0) {
    return InvalidArgument(source + ": unreadable audio (header has no sample rate or channels)");
  }
  if (info.truncated()) {
    return InvalidArgument(source + ": truncated: header says " + std::to_string(info.declared_frames) +
                           " frames, file holds " + std::to_string(info.frames));
  }
  if (info.frames <= 0) return InvalidArgument(source + ": empty: no audio samples");
  const int rate = info.sample_rate;
  const int64_t start = std::llround(options.offset_seconds * rate);
  if (start >= info.frames) {
    return InvalidArgument(source + ": span starts at " + Num(options.offset_seconds) + " s, past the end (" +
                           Num(info.duration_seconds()) + " s)");
  }
  int64_t count = info.frames - start;
  if (options.duration_seconds >= 0) {
    count = std::llround(options.duration_seconds * rate);
    const int64_t overshoot = start + count - info.frames;
    if (overshoot > std::llround(kMaxOvershootSeconds * rate)) {
      return InvalidArgument(source + ": span " + Num(options.offset_seconds) + "–" +
                             Num(options.offset_seconds + options.duration_seconds) + " s ends past the recording (" +
                             Num(info.duration_seconds()) + " s)");
    }
    count = std::min(count, info.frames - start);
  }
  if (start > 0 && sf_seek(audio.file.get(), start, SEEK_SET) != start) {
    return InvalidArgument(source + ": cannot seek to " + Num(options.offset_seconds) + " s");
  }
  std::vector<float> interleaved(static_cast<size_t>(count) * info.channels);
  const sf_count_t got = sf_readf_float(audio.file.get(), interleaved.data(), count);
  if (got < count) {
    return InvalidArgument(source + ": truncated: could read " + std::to_string(start + got) + " of " +
                           std::to_string(start + count) + " frames");
  }
  Waveform out;
  out.sample_rate = rate;
  if (info.channels == 1) {
    out.samples = std::move(interleaved);
  } else {
    out.samples.resize(static_cast<size_t>(count));
    const float inv = 1.0f / static_cast<float>(info.channels);
    for (int64_t i = 0; i < count; ++i) {
      float sum = 0;
      for (int c = 0; c < info.channels; ++c) sum += interleaved[static_cast<size_t>(i) * info.channels + c];
      out.samples[static_cast<size_t>(i)] = sum * inv;
    }
  }
  if (options.target_sample_rate > 0 && options.target_sample_rate != rate) {
    if (options.target_sample_rate > rate && !options.allow_upsampling) {
      return InvalidArgument(source + ": asked for " + std::to_string(options.target_sample_rate) +
                             " Hz but the audio is " + std::to_string(rate) +
                             " Hz; upsampling adds no information (set allow_upsampling to do it anyway)");
    }
    DIAL_ASSIGN_OR_RETURN(out.samples, Resample(out.samples, rate, options.target_sample_rate));
    out.sample_rate = options.target_sample_rate;
  }
  return out;
}

std::atomic<uint64_t> g_temp_counter{0};

}  // namespace

Status ReadAudioOptions::Validate() const {
  if (!std::isfinite(offset_seconds) || offset_seconds < 0) {
    return InvalidArgument("offset_seconds must be finite and >= 0, got " + std::to_string(offset_seconds));
  }
  if (!std::isfinite(duration_seconds) || duration_seconds == 0) {
    return InvalidArgument("duration_seconds must be > 0 (or < 0 for the rest of the file), got " +
                           std::to_string(duration_seconds));
  }
  if (target_sample_rate < 0 || target_sample_rate > kMaxSampleRate) {
    return InvalidArgument("target_sample_rate must be 0 (keep) or in 1.." + std::to_string(kMaxSampleRate) + ", got " +
                           std::to_string(target_sample_rate));
  }
  return Status::Ok();
}

Result<AudioInfo> ReadAudioInfo(const std::string& path) {
  DIAL_ASSIGN_OR_RETURN(OpenAudio audio, OpenPath(path));
  return InfoOf(audio);
}

Result<AudioInfo> ReadAudioInfoBytes(std::span<const uint8_t> bytes, const std::string& source) {
  DIAL_ASSIGN_OR_RETURN(OpenAudio audio, OpenBytes(bytes, source));
  return InfoOf(audio);
}

Result<Waveform> ReadAudio(const std::string& path, const ReadAudioOptions& options) {
  DIAL_ASSIGN_OR_RETURN(OpenAudio audio, OpenPath(path));
  return ReadOpened(audio, path, options);
}

Result<Waveform> ReadAudioBytes(std::span<const uint8_t> bytes, const std::string& source,
                                const ReadAudioOptions& options) {
  DIAL_ASSIGN_OR_RETURN(OpenAudio audio, OpenBytes(bytes, source));
  return ReadOpened(audio, source, options);
}

Status WriteWav(const std::string& path, const Waveform& audio) {
  if (audio.sample_rate <= 0 || audio.sample_rate > kMaxSampleRate) {
    return InvalidArgument(path + ": cannot write a WAV at " + std::to_string(audio.sample_rate) + " Hz");
  }
  const std::string temp =
      path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(g_temp_counter.fetch_add(1));
  SF_INFO info{};
  info.samplerate = audio.sample_rate;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE* f = sf_open(temp.c_str(), SFM_WRITE, &info);
  if (f == nullptr) return IoError(path + ": cannot create (" + std::string(sf_strerror(nullptr)) + ")");
  std::vector<short> pcm(audio.samples.size());
  for (size_t i = 0; i < pcm.size(); ++i) {
    // x in [-1, 1] → round(x · 32768), clipped to int16's range (so +1.0 becomes 32767).
    const double v = std::nearbyint(static_cast<double>(audio.samples[i]) * kInt16Scale);
    pcm[i] = static_cast<short>(std::clamp(v, -kInt16Scale, kInt16Scale - 1));
  }
  const sf_count_t written = sf_write_short(f, pcm.data(), static_cast<sf_count_t>(pcm.size()));
  const int close_error = sf_close(f);
  if (written != static_cast<sf_count_t>(pcm.size()) || close_error != 0) {
    ::unlink(temp.c_str());
    return IoError(path + ": write failed (disk full?)");
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    ::unlink(temp.c_str());
    return IoError(path + ": cannot rename the temporary file into place (" + reason + ")");
  }
  return Status::Ok();
}

Result<std::vector<float>> Resample(std::span<const float> samples, int from_rate, int to_rate) {
  if (from_rate <= 0 || to_rate <= 0) {
    return InvalidArgument("resample: rates must be positive, got " + std::to_string(from_rate) + " → " +
                           std::to_string(to_rate) + " Hz");
  }
  if (from_rate == to_rate || samples.empty()) return std::vector<float>(samples.begin(), samples.end());
  // Output length = round(n · to / from): the same duration at the new rate.
  const auto out_len =
      static_cast<size_t>(std::llround(static_cast<double>(samples.size()) * static_cast<double>(to_rate) / from_rate));
  std::vector<float> out(out_len);
  size_t done = 0;
  const soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
  const soxr_quality_spec_t quality = soxr_quality_spec(SOXR_HQ, 0);
  soxr_error_t error = soxr_oneshot(from_rate, to_rate, 1, samples.data(), samples.size(), nullptr, out.data(),
                                    out.size(), &done, &io, &quality, nullptr);
  if (error != nullptr) {
    return Internal("resample " + std::to_string(from_rate) + " → " + std::to_string(to_rate) + " Hz: " + error);
  }
  out.resize(done);
  return out;
}

}  // namespace dial::speech
