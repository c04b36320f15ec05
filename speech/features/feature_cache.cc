// The on-disk feature cache: one checked file per entry, written by temporary file + rename(2).
#include "speech/features/feature_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>

namespace dial::speech {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[8] = {'D', 'I', 'A', 'L', 'F', 'E', 'A', 'T'};
constexpr uint32_t kVersion = 1;
constexpr uint64_t kFnvOffsetBasis = 0xCBF29CE484222325ULL;
constexpr uint64_t kFnvPrime = 0x100000001B3ULL;
constexpr uint32_t kMaxKeyBytes = 1u << 20;  // a sanity bound when reading a header that may be garbage

#pragma pack(push, 1)
struct Header {
  char magic[8];
  uint32_t version;
  uint32_t key_length;
  int32_t num_frames;
  int32_t dim;
  uint64_t checksum;
};
#pragma pack(pop)
static_assert(sizeof(Header) == 32);

// FNV-1a over bytes: h = (h XOR byte) · prime.
uint64_t FnvBytes(uint64_t h, const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * kFnvPrime;
  return h;
}

// The payload checksum: FNV-1a's step applied to 64-bit words (eight times fewer multiplies than bytewise, so
// checking a hit costs little next to reading it), then to the remaining bytes.
uint64_t PayloadChecksum(const std::vector<float>& data) {
  const size_t bytes = data.size() * sizeof(float);
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  uint64_t h = kFnvOffsetBasis;
  size_t i = 0;
  for (; i + sizeof(uint64_t) <= bytes; i += sizeof(uint64_t)) {
    uint64_t w;
    std::memcpy(&w, p + i, sizeof w);
    h = (h ^ w) * kFnvPrime;
  }
  return FnvBytes(h, p + i, bytes - i);
}

// The key as stored in the file: the parts, length-prefixed, in one string (what the hash runs over).
std::string KeyText(const std::vector<std::string>& parts) {
  std::string text;
  for (const std::string& part : parts) {
    text += std::to_string(part.size());
    text += ':';
    text += part;
    text += '\n';
  }
  return text;
}

std::string Hex16(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

std::string Fmt(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

bool ReadExactly(int fd, void* buffer, size_t n) {
  auto* p = static_cast<char*>(buffer);
  while (n > 0) {
    const ssize_t got = ::read(fd, p, n);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    p += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

bool WriteAll(int fd, const void* buffer, size_t n) {
  const auto* p = static_cast<const char*>(buffer);
  while (n > 0) {
    const ssize_t put = ::write(fd, p, n);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) return false;
    p += put;
    n -= static_cast<size_t>(put);
  }
  return true;
}

enum class ReadOutcome { kHit, kMissing, kRejected };

// Reads the entry at `path` if it is whole, uncorrupted and for `key`.
ReadOutcome ReadEntry(const std::string& path, const std::string& key, FeatureMatrix* out) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? ReadOutcome::kMissing : ReadOutcome::kRejected;
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  Header h{};
  if (::fstat(fd, &st) != 0 || !ReadExactly(fd, &h, sizeof h)) return ReadOutcome::kRejected;
  if (std::memcmp(h.magic, kMagic, sizeof kMagic) != 0 || h.version != kVersion || h.key_length != key.size() ||
      h.key_length > kMaxKeyBytes || h.num_frames < 0 || h.dim < 0) {
    return ReadOutcome::kRejected;
  }
  const uint64_t n_values = static_cast<uint64_t>(h.num_frames) * static_cast<uint64_t>(h.dim);
  const uint64_t expected_size = sizeof(Header) + h.key_length + n_values * sizeof(float);
  if (static_cast<uint64_t>(st.st_size) != expected_size) return ReadOutcome::kRejected;
  std::string stored_key(h.key_length, '\0');
  if (!ReadExactly(fd, stored_key.data(), stored_key.size()) || stored_key != key) return ReadOutcome::kRejected;
  out->num_frames = h.num_frames;
  out->dim = h.dim;
  out->data.resize(n_values);
  if (!ReadExactly(fd, out->data.data(), n_values * sizeof(float))) return ReadOutcome::kRejected;
  if (PayloadChecksum(out->data) != h.checksum) return ReadOutcome::kRejected;
  return ReadOutcome::kHit;
}

std::atomic<uint64_t> g_temp_counter{0};

// Writes the entry to a temporary file beside `path`, then renames it over `path`. False on any failure (the
// temporary file is removed).
bool WriteEntry(const std::string& path, const std::string& key, const FeatureMatrix& m) {
  // pid + counter + a random word: unique across processes, threads and containers sharing the folder.
  static thread_local std::mt19937_64 rng(
      std::random_device{}() ^ static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  const std::string temp = path + ".tmp." + std::to_string(::getpid()) + "." +
                           std::to_string(g_temp_counter.fetch_add(1)) + "." + Hex16(rng());
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.version = kVersion;
  h.key_length = static_cast<uint32_t>(key.size());
  h.num_frames = m.num_frames;
  h.dim = m.dim;
  h.checksum = PayloadChecksum(m.data);
  bool ok = WriteAll(fd, &h, sizeof h) && WriteAll(fd, key.data(), key.size()) &&
            WriteAll(fd, m.data.data(), m.data.size() * sizeof(float));
  ok = (::close(fd) == 0) && ok;
  if (ok) ok = std::rename(temp.c_str(), path.c_str()) == 0;
  if (!ok) ::unlink(temp.c_str());
  return ok;
}

}  // namespace

std::string FrontEndKey(const FbankOptions& o, int target_sample_rate) {
  // Every field, by name: a field added to FbankOptions must be added here too (the size check below trips when
  // the struct changes, as a reminder).
#if defined(__x86_64__) || defined(__aarch64__)
  static_assert(sizeof(FbankOptions) == 72, "FbankOptions changed: add the new field to FrontEndKey");
#endif
  std::string k = "fbank/v1";
  k += " target_sample_rate=" + std::to_string(target_sample_rate);
  k += " sample_rate=" + Fmt(o.sample_rate);
  k += " input_scale=" + Fmt(o.input_scale);
  k += " frame_length_ms=" + Fmt(o.frame_length_ms);
  k += " frame_shift_ms=" + Fmt(o.frame_shift_ms);
  k += " window=" + std::to_string(static_cast<int>(o.window));
  k += " blackman_coeff=" + Fmt(o.blackman_coeff);
  k += " preemphasis=" + Fmt(o.preemphasis);
  k += " remove_dc_offset=" + std::to_string(o.remove_dc_offset);
  k += " dither=" + Fmt(o.dither);
  k += " dither_seed=" + std::to_string(o.dither_seed);
  k += " snip_edges=" + std::to_string(o.snip_edges);
  k += " round_to_power_of_two=" + std::to_string(o.round_to_power_of_two);
  k += " n_mels=" + std::to_string(o.n_mels);
  k += " low_freq=" + Fmt(o.low_freq);
  k += " high_freq=" + Fmt(o.high_freq);
  k += " energy_floor=" + Fmt(o.energy_floor);
  k += " raw_energy=" + std::to_string(o.raw_energy);
  k += " use_energy=" + std::to_string(o.use_energy);
  k += " use_log_fbank=" + std::to_string(o.use_log_fbank);
  k += " use_power=" + std::to_string(o.use_power);
  return k;
}

std::string FrontEndKey(const MfccOptions& o, int target_sample_rate) {
  return "mfcc/v1 num_ceps=" + std::to_string(o.num_ceps) + " cepstral_lifter=" + Fmt(o.cepstral_lifter) +
         " use_energy=" + std::to_string(o.use_energy) + " " + FrontEndKey(o.fbank, target_sample_rate);
}

Result<std::string> AudioFileIdentity(const std::string& path, double offset_seconds, double duration_seconds) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return NotFound(path + ": audio file not found");
  std::error_code ec;
  const std::string absolute = fs::absolute(path, ec).lexically_normal().string();
  const int64_t mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  return "file=" + absolute + " size=" + std::to_string(st.st_size) + " mtime_ns=" + std::to_string(mtime_ns) +
         " offset=" + Fmt(offset_seconds) + " duration=" + Fmt(duration_seconds);
}

Result<std::string> AudioIdentity(const CorpusEntry& entry) {
  if (!entry.command.empty()) {
    return "command=" + entry.command + " offset=" + Fmt(entry.offset_seconds) +
           " duration=" + Fmt(entry.duration_seconds);
  }
  return AudioFileIdentity(entry.audio_path, entry.offset_seconds, entry.duration_seconds);
}

std::string SamplesIdentity(std::span<const float> samples, int sample_rate) {
  const uint64_t h = FnvBytes(kFnvOffsetBasis, samples.data(), samples.size_bytes());
  return "samples=" + Hex16(h) + " n=" + std::to_string(samples.size()) + " rate=" + std::to_string(sample_rate);
}

uint64_t FeatureCacheHash(const std::vector<std::string>& key_parts) {
  const std::string text = KeyText(key_parts);
  return FnvBytes(kFnvOffsetBasis, text.data(), text.size());
}

Result<FeatureCache> FeatureCache::Open(const std::string& dir) {
  if (dir.empty()) return InvalidArgument("feature cache: empty directory name");
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir, ec)) return IoError(dir + ": cannot create the feature cache directory");
  if (::access(dir.c_str(), W_OK | X_OK) != 0) {
    return IoError(dir + ": feature cache directory is not writable (" + std::strerror(errno) + ")");
  }
  return FeatureCache(dir);
}

std::string FeatureCache::PathFor(const std::vector<std::string>& key_parts) const {
  const std::string name = Hex16(FeatureCacheHash(key_parts));
  return (fs::path(dir_) / name.substr(0, 2) / (name + ".feat")).string();
}

Result<FeatureMatrix> FeatureCache::GetOrCompute(const std::vector<std::string>& key_parts, const ComputeFn& compute) {
  const std::string path = PathFor(key_parts);
  const std::string key = KeyText(key_parts);
  FeatureMatrix cached;
  switch (ReadEntry(path, key, &cached)) {
    case ReadOutcome::kHit:
      ++stats_.hits;
      return cached;
    case ReadOutcome::kMissing:
      ++stats_.misses;
      break;
    case ReadOutcome::kRejected:
      ++stats_.rejected;
      break;
  }
  DIAL_ASSIGN_OR_RETURN(FeatureMatrix computed, compute());
  if (computed.num_frames < 0 || computed.dim < 0 ||
      computed.data.size() != static_cast<size_t>(computed.num_frames) * static_cast<size_t>(computed.dim)) {
    return Internal("feature cache: computed features have " + std::to_string(computed.data.size()) + " values for " +
                    std::to_string(computed.num_frames) + " x " + std::to_string(computed.dim));
  }
  std::error_code ec;
  fs::create_directories(fs::path(path).parent_path(), ec);  // several processes may race here: harmless
  WriteEntry(path, key, computed);                           // best effort: see the header
  return computed;
}

}  // namespace dial::speech
