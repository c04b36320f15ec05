// A feature cache on disk, shared by trials (and processes) whose front ends agree: features are computed once per
// (front-end options, audio) and read back afterwards.
//
// Key: the caller passes key parts (use FrontEndKey and AudioIdentity, plus anything else the features depend
// on, e.g. the per-utterance dither seed when dither > 0). The file name is the FNV-1a 64-bit hash of the
// length-prefixed parts; the full key text is also stored in the file and compared on every read, so a hash
// collision (two keys, one file name) costs a recomputation and an overwrite, never wrong features.
//
// File: one per entry, DIR/<first 2 hex digits>/<16 hex digits>.feat, laid out as
//   "DIALFEAT" | u32 version | u32 key length | i32 frames | i32 dim | u64 payload checksum | key | f32 data
// in the host's byte order (little-endian on x86-64 and ARM64). Entries are written to a temporary file in the
// same folder and renamed into place (rename(2) is atomic within a file system), so that a reader sees a whole
// entry or none, with any number of processes computing the same keys at once. A short, corrupt or foreign
// file is recomputed and replaced, not trusted.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "dial/status.h"
#include "speech/data/corpus.h"
#include "speech/features/fbank.h"

namespace dial::speech {

// Canonical text of every FbankOptions field plus the rate the audio is resampled to before the front end.
std::string FrontEndKey(const FbankOptions& options, int target_sample_rate);
std::string FrontEndKey(const MfccOptions& options, int target_sample_rate);

// Identity of an audio span without reading its samples: the file's absolute path, size and modification time
// (ns) with the span's offset and duration. NotFound when the file is missing. A piped entry's identity is its
// command text (its output cannot be stat'ed: change the command, or clear the cache, when its input changes).
Result<std::string> AudioIdentity(const CorpusEntry& entry);
Result<std::string> AudioFileIdentity(const std::string& path, double offset_seconds, double duration_seconds);
// Identity from the samples themselves (FNV-1a 64 of their bytes, their count and rate): exact but needs them.
std::string SamplesIdentity(std::span<const float> samples, int sample_rate);

// FNV-1a 64 of the parts, each preceded by its length so that {"ab","c"} and {"a","bc"} differ.
uint64_t FeatureCacheHash(const std::vector<std::string>& key_parts);

// Counters of one FeatureCache object (this process's calls only).
struct FeatureCacheStats {
  int64_t hits = 0;
  int64_t misses = 0;    // no file: computed and stored
  int64_t rejected = 0;  // a file was there but short, corrupt or for another key: recomputed and replaced
};

// Not thread-safe (stats); use one object per thread. Safe across processes sharing a directory.
class FeatureCache {
 public:
  using ComputeFn = std::function<Result<FeatureMatrix>()>;

  // Creates `dir` when needed. IoError naming it when it cannot be created or written.
  static Result<FeatureCache> Open(const std::string& dir);

  // The cached features for `key_parts`, or compute()'s result after storing it. compute()'s error is
  // returned as is (nothing stored). A failure to store (disk full) is not an error: the features are returned
  // and the next call computes them again.
  Result<FeatureMatrix> GetOrCompute(const std::vector<std::string>& key_parts, const ComputeFn& compute);

  // Where the entry for key_parts lives.
  std::string PathFor(const std::vector<std::string>& key_parts) const;
  const std::string& dir() const { return dir_; }
  const FeatureCacheStats& stats() const { return stats_; }

 private:
  explicit FeatureCache(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
  FeatureCacheStats stats_;
};

}  // namespace dial::speech
