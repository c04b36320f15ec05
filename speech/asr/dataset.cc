// Loading a corpus set into features and tokens, global CMVN, length-bucketed batching and collation.
#include "speech/asr/dataset.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstring>
#include <mutex>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>
#include <thread>

#include "speech/audio/audio.h"
#include "speech/audio/audio_info.h"
#include "speech/features/feature_cache.h"

namespace dial::speech {
namespace {

// splitmix64 finaliser: decorrelates seeds that differ in one bit (utterance index, epoch).
uint64_t MixSeed(uint64_t a, uint64_t b) {
  uint64_t z = a + 0x9E3779B97F4A7C15ULL * (b + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::string FactorPrefix(double factor) {
  std::ostringstream out;
  out << "sp" << factor << "-";
  return out.str();
}

std::string FileOf(const CorpusEntry& entry) { return entry.audio_path.empty() ? entry.command : entry.audio_path; }

// One (entry, factor) job's outcome.
struct Job {
  const CorpusEntry* entry = nullptr;
  double factor = 1.0;
  uint64_t seed = 0;
  Result<AsrUtterance> result = InvalidArgument("not run");
};

// The seconds of audio an entry holds, from its span or its file's header (cheap: no samples are read).
Result<double> EntrySeconds(const CorpusEntry& entry) {
  if (entry.duration_seconds >= 0) return entry.duration_seconds;
  DIAL_ASSIGN_OR_RETURN(AudioInfo info, ReadAudioInfo(entry.audio_path));
  return std::max(0.0, info.duration_seconds() - entry.offset_seconds);
}

Result<AsrUtterance> LoadOneUncached(const CorpusEntry& entry, double factor, uint64_t seed,
                                     const LoadSetOptions& options, FbankComputer& fbank) {
  ReadAudioOptions read;
  read.offset_seconds = entry.offset_seconds;
  read.duration_seconds = entry.duration_seconds;
  read.target_sample_rate = static_cast<int>(options.fbank.sample_rate);
  DIAL_ASSIGN_OR_RETURN(Waveform audio, LoadAudio(entry, read, options.allow_piped_commands));
  if (audio.samples.empty()) return InvalidArgument("empty audio");
  std::vector<float> samples = std::move(audio.samples);
  if (factor != 1.0) {
    // Speed perturbation (Kaldi's): play the audio `factor` times faster, i.e. resample from rate·factor to
    // rate and read the result at rate. Pitch and tempo change together.
    const int rate = audio.sample_rate;
    DIAL_ASSIGN_OR_RETURN(samples, Resample(samples, static_cast<int>(std::lround(rate * factor)), rate));
  }
  AsrUtterance u;
  u.id = factor == 1.0 ? entry.id : FactorPrefix(factor) + entry.id;
  u.speaker = entry.speaker;
  u.text = entry.text;
  u.audio_file = FileOf(entry);
  u.duration_seconds = static_cast<double>(samples.size()) / audio.sample_rate;
  u.feats = fbank.Compute(samples, seed);
  if (u.feats.num_frames == 0) return InvalidArgument("shorter than one analysis window");
  return u;
}

// One utterance, its features through the cache when there is one (not for piped entries, whose output cannot be
// identified without running them). The key: the front end, the audio file's identity, the speed factor and the
// dither seed (features with dither depend on it).
Result<AsrUtterance> LoadOne(const CorpusEntry& entry, double factor, uint64_t seed, const LoadSetOptions& options,
                             FbankComputer& fbank, FeatureCache* cache) {
  if (!entry.has_transcript) return InvalidArgument("no transcript");
  if (entry.text.find_first_not_of(" \t\r\n") == std::string::npos) return InvalidArgument("empty transcript");
  if (cache == nullptr || !entry.command.empty()) return LoadOneUncached(entry, factor, seed, options, fbank);
  DIAL_ASSIGN_OR_RETURN(std::string audio, AudioIdentity(entry));
  std::ostringstream variant;
  variant << "speed " << factor << " dither-seed " << (options.fbank.dither > 0 ? seed : 0);
  const std::vector<std::string> key = {FrontEndKey(options.fbank, static_cast<int>(options.fbank.sample_rate)), audio,
                                        variant.str()};
  std::optional<AsrUtterance> computed;
  Result<FeatureMatrix> feats = cache->GetOrCompute(key, [&]() -> Result<FeatureMatrix> {
    DIAL_ASSIGN_OR_RETURN(AsrUtterance u, LoadOneUncached(entry, factor, seed, options, fbank));
    FeatureMatrix copy = u.feats;
    computed = std::move(u);
    return copy;
  });
  if (!feats.ok()) return feats.status();
  if (computed) return std::move(*computed);
  if (feats->num_frames == 0) return InvalidArgument("shorter than one analysis window");
  AsrUtterance u;
  u.id = factor == 1.0 ? entry.id : FactorPrefix(factor) + entry.id;
  u.speaker = entry.speaker;
  u.text = entry.text;
  u.audio_file = FileOf(entry);
  DIAL_ASSIGN_OR_RETURN(double seconds, EntrySeconds(entry));
  u.duration_seconds = seconds / factor;
  u.feats = std::move(*feats);
  return u;
}

}  // namespace

Status LoadSetOptions::Validate() const {
  DIAL_RETURN_IF_ERROR(fbank.Validate());
  for (double f : speed_factors) {
    if (!(f > 0.0) || !std::isfinite(f)) return InvalidArgument("speed factors must be positive");
  }
  if (num_threads < 1) return InvalidArgument("num_threads (" + std::to_string(num_threads) + ") must be >= 1");
  if (!(progress_interval_seconds >= 0.0)) return InvalidArgument("progress_interval_seconds must be >= 0");
  return Status::Ok();
}

Result<AsrDataSet> LoadAsrSet(const Corpus& corpus, const std::string& name, const LoadSetOptions& options,
                              const std::function<void(const std::string&)>& log) {
  DIAL_RETURN_IF_ERROR(options.Validate());
  const std::vector<double> factors = options.speed_factors.empty() ? std::vector<double>{1.0} : options.speed_factors;
  std::vector<Job> jobs;
  for (size_t i = 0; i < corpus.entries.size(); ++i) {
    for (size_t k = 0; k < factors.size(); ++k) {
      Job job;
      job.entry = &corpus.entries[i];
      job.factor = factors[k];
      // Seeded by the utterance's id, not its position, so that nested subsets (data_hours) share cache entries.
      job.seed = MixSeed(options.seed, FeatureCacheHash({corpus.entries[i].id}) + k);
      jobs.push_back(std::move(job));
    }
  }
  // Feature extraction in `num_threads` workers, each with its own FbankComputer (not thread-safe); jobs are
  // taken in order from a shared counter, results land in their own slot, so the outcome does not depend on
  // the thread count.
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};
  std::atomic<int64_t> cache_hits{0};
  std::mutex error_mu;
  Status setup_error = Status::Ok();
  // Extraction of a large set takes minutes: the calling thread (the only one that logs) says how far it is.
  const auto start = std::chrono::steady_clock::now();
  auto last_report = start;
  auto report_progress = [&] {
    const auto now = std::chrono::steady_clock::now();
    if (!log || std::chrono::duration<double>(now - last_report).count() < options.progress_interval_seconds) return;
    last_report = now;
    const size_t n = done.load();
    log(name + ": features of " + std::to_string(n) + "/" + std::to_string(jobs.size()) + " utterances (" +
        std::to_string(jobs.empty() ? 100 : n * 100 / jobs.size()) + "%) in " +
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - start).count()) + " s");
  };
  auto worker = [&](bool reporter) {
    auto fbank = NewFbankComputer(options.fbank);
    if (!fbank.ok()) {
      std::lock_guard<std::mutex> lock(error_mu);
      setup_error = fbank.status();
      return;
    }
    std::optional<FeatureCache> cache;
    if (!options.feature_cache_dir.empty()) {
      Result<FeatureCache> opened = FeatureCache::Open(options.feature_cache_dir);
      if (opened.ok()) cache = std::move(*opened);  // a cache that cannot be opened only costs recomputation
    }
    int64_t hits = 0;
    for (size_t j; (j = next.fetch_add(1)) < jobs.size();) {
      jobs[j].result =
          LoadOne(*jobs[j].entry, jobs[j].factor, jobs[j].seed, options, **fbank, cache ? &*cache : nullptr);
      done.fetch_add(1);
      if (reporter) report_progress();
    }
    if (cache) hits = cache->stats().hits;
    cache_hits.fetch_add(hits);
  };
  const int n_threads = std::max(1, std::min<int>(options.num_threads, static_cast<int>(jobs.size())));
  std::vector<std::thread> threads;
  for (int t = 1; t < n_threads; ++t) threads.emplace_back(worker, false);
  worker(true);
  for (std::thread& t : threads) t.join();
  DIAL_RETURN_IF_ERROR(setup_error);

  AsrDataSet set;
  set.name = name;
  set.feature_cache_hits = cache_hits.load();
  for (Job& job : jobs) {
    if (!job.result.ok()) {
      const std::string line = job.entry->id + " (" + FileOf(*job.entry) + "): " + job.result.status().message();
      if (options.bad_utterances == BadUtterancePolicy::kStop) {
        return InvalidArgument(name + ": bad utterance " + line + " (bad_utterances: stop)");
      }
      if (log) log(name + ": skipping bad utterance " + line);
      set.skipped.push_back(line);
      continue;
    }
    set.total_seconds += job.result->duration_seconds;
    set.utterances.push_back(std::move(job.result).value());
  }
  if (set.utterances.empty()) {
    return FailedPrecondition(name + " (" + corpus.source + "): no usable utterance out of " +
                              std::to_string(corpus.entries.size()));
  }
  return set;
}

void TokenizeSet(const Tokenizer& tokenizer, AsrDataSet* set) {
  std::vector<AsrUtterance> kept;
  kept.reserve(set->utterances.size());
  for (AsrUtterance& u : set->utterances) {
    u.tokens = tokenizer.Encode(u.text);
    if (u.tokens.empty()) {
      set->skipped.push_back(u.id + " (" + u.audio_file + "): transcript has no token");
      continue;
    }
    kept.push_back(std::move(u));
  }
  set->utterances = std::move(kept);
}

Result<GlobalCmvn> ComputeCmvn(const AsrDataSet& set) {
  GlobalCmvn cmvn;
  for (const AsrUtterance& u : set.utterances) DIAL_RETURN_IF_ERROR(cmvn.Accumulate(u.feats));
  DIAL_RETURN_IF_ERROR(cmvn.Finalize());
  return cmvn;
}

Status ApplyCmvn(const GlobalCmvn& cmvn, AsrDataSet* set) {
  for (AsrUtterance& u : set->utterances) DIAL_RETURN_IF_ERROR(cmvn.Apply(&u.feats));
  return Status::Ok();
}

std::vector<std::vector<int>> MakeBatches(const AsrDataSet& set, int batch_size, bool shuffle, uint64_t seed) {
  std::vector<int> order(set.utterances.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    const auto& ua = set.utterances[a];
    const auto& ub = set.utterances[b];
    if (ua.feats.num_frames != ub.feats.num_frames) return ua.feats.num_frames < ub.feats.num_frames;
    return ua.id < ub.id;
  });
  std::vector<std::vector<int>> batches;
  const size_t size = static_cast<size_t>(std::max(1, batch_size));
  for (size_t start = 0; start < order.size(); start += size) {
    batches.emplace_back(order.begin() + start, order.begin() + std::min(order.size(), start + size));
  }
  if (shuffle) {
    std::mt19937_64 rng(seed);
    // Fisher-Yates with our own index draw: std::shuffle's use of the engine is implementation-defined, and the
    // order must not change between standard libraries.
    for (size_t i = batches.size(); i > 1; --i) {
      const size_t j = static_cast<size_t>(rng() % i);
      std::swap(batches[i - 1], batches[j]);
    }
  }
  return batches;
}

AsrBatch CollateBatch(const AsrDataSet& set, std::span<const int> indices, const FeatureAugmenter& augment,
                      uint64_t seed) {
  const int64_t b = static_cast<int64_t>(indices.size());
  int64_t max_frames = 0;
  int64_t max_tokens = 1;
  int dim = 0;
  for (int i : indices) {
    const AsrUtterance& u = set.utterances[i];
    max_frames = std::max<int64_t>(max_frames, u.feats.num_frames);
    max_tokens = std::max<int64_t>(max_tokens, static_cast<int64_t>(u.tokens.size()));
    dim = u.feats.dim;
  }
  AsrBatch batch;
  batch.indices.assign(indices.begin(), indices.end());
  batch.feats = torch::zeros({b, max_frames, dim}, torch::kFloat32);
  batch.feat_lens = torch::empty({b}, torch::kInt64);
  batch.targets = torch::full({b, max_tokens}, -1, torch::kInt64);
  batch.target_lens = torch::empty({b}, torch::kInt64);
  float* feats = batch.feats.data_ptr<float>();
  int64_t* feat_lens = batch.feat_lens.data_ptr<int64_t>();
  int64_t* targets = batch.targets.data_ptr<int64_t>();
  int64_t* target_lens = batch.target_lens.data_ptr<int64_t>();
  for (int64_t k = 0; k < b; ++k) {
    const AsrUtterance& u = set.utterances[indices[k]];
    const FeatureMatrix* source = &u.feats;
    FeatureMatrix augmented;
    if (augment) {
      augmented = u.feats;
      augment(augmented, MixSeed(seed, static_cast<uint64_t>(indices[k])));
      source = &augmented;
    }
    // An augmenter keeps the frame count (masks and time warp do); clamp anyway so memory stays in bounds.
    const int64_t frames = std::min<int64_t>(source->num_frames, max_frames);
    std::memcpy(feats + k * max_frames * dim, source->data.data(), static_cast<size_t>(frames * dim) * sizeof(float));
    feat_lens[k] = frames;
    for (size_t t = 0; t < u.tokens.size(); ++t) targets[k * max_tokens + static_cast<int64_t>(t)] = u.tokens[t];
    target_lens[k] = static_cast<int64_t>(u.tokens.size());
  }
  return batch;
}

}  // namespace dial::speech
