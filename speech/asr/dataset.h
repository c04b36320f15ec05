// The ASR trainer's data: a corpus set read into memory as normalised fbank features and token ids, batched by
// length with a seeded shuffle of the batches, and collated into padded tensors. Includes torch (speech/asr only).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "dial/status.h"
#include "speech/asr/tokenizer.h"
#include "speech/data/corpus.h"
#include "speech/features/cmvn.h"
#include "speech/features/fbank.h"

namespace dial::speech {

struct AsrUtterance {
  std::string id;
  std::string speaker;
  std::string text;        // as written in the corpus
  std::string audio_file;  // for messages
  double duration_seconds = 0.0;
  FeatureMatrix feats;      // [frames x n_mels]
  std::vector<int> tokens;  // filled by TokenizeSet
};

struct AsrDataSet {
  std::string name;  // "train", "dev", "test": names the set in messages
  std::vector<AsrUtterance> utterances;
  double total_seconds = 0.0;
  // One line per utterance left out: "<id> (<file>): <reason>".
  std::vector<std::string> skipped;
  int64_t feature_cache_hits = 0;  // utterances whose features came from the cache
};

// What to do with an utterance whose audio cannot be read or whose transcript is missing or empty.
enum class BadUtterancePolicy { kSkip, kStop };

struct LoadSetOptions {
  FbankOptions fbank;  // fbank.sample_rate is the rate audio is resampled to (never up: that is an error)
  // Dither (fbank.dither > 0) is seeded per utterance from this seed and the utterance's index: the same run
  // gives the same features. Give dither only to the training set.
  uint64_t seed = 0;
  BadUtterancePolicy bad_utterances = BadUtterancePolicy::kSkip;
  // Speed perturbation factors (Kaldi/ESPnet: 0.9, 1.0, 1.1): each utterance appears once per factor, the copies
  // other than 1.0 with the id prefixed "sp<factor>-". Empty means {1.0}.
  std::vector<double> speed_factors;
  bool allow_piped_commands = false;
  int num_threads = 1;  // feature extraction threads
  // A feature cache directory (speech/features/feature_cache.h) shared by runs and processes; empty: none.
  std::string feature_cache_dir;
  // While features are extracted, a line "NAME: features of k/N utterances (p%) in S s" through `log` this often
  // (the first after one interval: a quick set says nothing). 0: after every utterance.
  double progress_interval_seconds = 10.0;
  Status Validate() const;
};

// Reads every entry's audio and computes its features. A bad utterance is logged through `log` (id and file)
// and skipped, or ends the load with an InvalidArgument naming it under kStop. FailedPrecondition when no
// utterance is left.
Result<AsrDataSet> LoadAsrSet(const Corpus& corpus, const std::string& name, const LoadSetOptions& options,
                              const std::function<void(const std::string&)>& log);

// Encodes every transcript. Utterances whose transcript encodes to nothing are removed (and listed in skipped).
void TokenizeSet(const Tokenizer& tokenizer, AsrDataSet* set);

// Global CMVN statistics of a set (the training set) and their application to any set.
Result<GlobalCmvn> ComputeCmvn(const AsrDataSet& set);
Status ApplyCmvn(const GlobalCmvn& cmvn, AsrDataSet* set);

// Length-bucketed batches: utterances sorted by frame count (ties by id), cut into runs of batch_size, and the
// order of the batches shuffled with `seed` when shuffle is set (the batches themselves stay length-homogeneous,
// which keeps padding small). Each inner vector holds indices into set.utterances.
std::vector<std::vector<int>> MakeBatches(const AsrDataSet& set, int batch_size, bool shuffle, uint64_t seed);

// Padded tensors of one batch.
struct AsrBatch {
  torch::Tensor feats;        // [B, T, F] float, zero past each length
  torch::Tensor feat_lens;    // [B] int64
  torch::Tensor targets;      // [B, U] int64, -1 past each length
  torch::Tensor target_lens;  // [B] int64
  std::vector<int> indices;   // into the set
};

// Changes one utterance's features in place (SpecAugment); `seed` differs per utterance and epoch.
using FeatureAugmenter = std::function<void(FeatureMatrix& feats, uint64_t seed)>;

// Collates the utterances; when `augment` is set each utterance's features are copied and augmented with
// seed = mix(seed, index).
AsrBatch CollateBatch(const AsrDataSet& set, std::span<const int> indices, const FeatureAugmenter& augment = {},
                      uint64_t seed = 0);

}  // namespace dial::speech
