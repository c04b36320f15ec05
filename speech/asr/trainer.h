// The built-in ASR trainer: one training run from flat keys (ESPnet/WeNet spelling), what `dial train` and the
// `asr` objective run. Plain C++ header (no torch), so the CLI compiles without torch headers.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dial/frozen_trial.h"  // Json
#include "dial/status.h"
#include "speech/asr/model_options.h"

namespace dial::speech {

// Every key of a training run, with its default. Each key is defined once, with its rule and meaning, in
// AsrTrainKeys() (speech/asr/train_config.cc) and AsrModelKeys() (model_options.cc); docs/asr-training.md's key
// tables, `dial train --help` and `dial train --keys` are printed from those definitions.
struct AsrTrainConfig {
  // Data: a corpus directory holding train/dev/test Kaldi data dirs (docs/speech-corpus.md), or explicit sets.
  std::string data;
  std::string train_set;                // default DATA/train
  std::string dev_set;                  // default DATA/dev
  std::string test_set;                 // default DATA/test; "none" skips the test evaluation
  double data_hours = 0.0;              // > 0: SelectHours(train, data_hours, seed), the fidelity knob; 0 = all
  std::string bad_utterances = "skip";  // skip | stop
  bool allow_piped_commands = false;
  // Features computed once per (front end, audio) and shared by runs and trials: "auto" = DATA/.dial-feature-cache
  // (when `data` is set), "none", or a directory.
  std::string feature_cache = "auto";

  // Front end (Kaldi fbank; audio is resampled to sample_rate, never up).
  int sample_rate = 16000;
  double frame_length_ms = 25.0;
  double frame_shift_ms = 10.0;
  int n_mels = 80;
  std::string window = "povey";
  double dither = 1.0;         // training set only (WeNet's fbank dither)
  bool speed_perturb = false;  // training copies at 0.9, 1.0, 1.1

  // Tokens.
  std::string tokens = "char";  // char | sentencepiece
  int sp_vocab_size = 100;

  // Model: every AsrModelOptions key (input_dim and vocab_size are set by the trainer from the data).
  AsrModelOptions model;
  // Loss.
  double ctc_weight = 0.3;  // only with decoder: attention
  double label_smoothing = 0.1;

  // Optimiser and schedule.
  std::string optimizer = "adam";  // adam | adamw | sgd | adafactor
  double lr = 2e-3;                // the peak lr (noam: ignored, see noam_factor)
  double beta1 = 0.9;
  double beta2 = 0.98;
  double eps = 1e-9;
  double weight_decay = 1e-6;
  double momentum = 0.9;                    // sgd
  bool nesterov = false;                    // sgd
  std::string scheduler = "warmup_cosine";  // warmup_cosine | warmup_exponential | noam | plateau | cyclic | constant
  int64_t warmup_steps = 100;
  double min_lr_ratio = 0.01;
  double gamma = 0.999;         // warmup_exponential
  double noam_factor = 1.0;     // noam
  int64_t cycle_steps = 2000;   // cyclic
  double plateau_factor = 0.5;  // plateau
  int plateau_patience = 1;     // plateau

  // Batches and steps.
  int batch_size = 16;
  int accum_grad = 1;
  std::string lr_scaling = "none";  // none | linear | sqrt, of (batch_size·accum_grad) / base_batch_size
  int base_batch_size = 16;
  double grad_clip = 5.0;  // max global L2 norm; 0 = no clipping (the norm is still logged)
  int epochs = 10;
  uint64_t seed = 0;
  int num_threads = 2;  // torch intra-op, OpenMP and OpenBLAS threads together (measured: docs/asr-training.md)

  // SpecAugment on training batches (SpecAugmentOptions); all mask counts 0 and no warp = off.
  int num_freq_masks = 2;
  int freq_mask_width = 10;
  int num_time_masks = 2;
  int time_mask_width = 40;
  double time_mask_max_fraction = 0.05;
  int time_warp_window = 0;

  // Evaluation.
  std::string decoding = "ctc_greedy_search";  // ctc_greedy_search | ctc_prefix_beam_search | attention_rescoring
  int beam_size = 10;
  std::string metric = "wer";  // wer | cer | worst_speaker_wer: the value reported each epoch

  // Where checkpoints, units.txt and global_cmvn.json go; set by the caller (dial train --out / the trial dir).
  // Empty: nothing is written and nothing resumed.
  std::string output_dir;

  // Every key's rule, then the rules between keys (the model's among them). InvalidArgument naming the key:
  // "batch_size (0) must be >= 1".
  Status Validate() const;
  // Every key (not output_dir) as a flat JSON object, the same names AsrTrainConfigFromJson reads.
  Json ToJson() const;
};

// The names of every key AsrTrainConfigFromJson accepts.
const std::vector<std::string>& AsrTrainConfigKeys();

// One trainer key as the docs and --help show it (the model's keys included, in the docs' order).
struct AsrKeyDoc {
  std::string name;
  std::string group;          // the docs' section: "Data", "Front end", ..., "Evaluation"
  std::string default_value;  // as YAML would spell it, or the spec's text ("(required)", "DATA/train")
  std::string values;         // the rule in words: "lstm, gru, ...", "≥ 1", "[0, 1)"; empty when free
  std::string meaning;
  bool resumable = false;  // may change when a run resumes from its checkpoint
};
const std::vector<AsrKeyDoc>& AsrTrainKeyDocs();
// The Markdown table of one group's keys, as docs/asr-training.md holds it between
// `<!-- keys: GROUP -->` and `<!-- /keys -->`.
std::string AsrKeysMarkdown(const std::string& group);
// Every key as plain text lines for `dial train --help` and `--keys`: "  name = default   values   meaning".
std::string AsrKeysText();
// Whether a key may differ when a run resumes from a checkpoint (epochs, num_threads, decoding, ...).
bool IsResumableKey(const std::string& name);

// Keys over the defaults. An unknown key (with the nearest known one suggested), a wrong type or a bad value is
// an InvalidArgument naming the key. Integers are accepted for float keys, and whole floats (3.0) for int keys.
Result<AsrTrainConfig> AsrTrainConfigFromJson(const Json& keys);
// Merges keys over an existing config (the same checks).
Status MergeAsrTrainConfig(const Json& keys, AsrTrainConfig* config);

// Figures of one evaluation of a set. Rates are percentages, as the Kaldi %WER line prints them.
struct AsrEvalMetrics {
  double wer = 0.0;
  double cer = 0.0;
  double worst_speaker_wer = 0.0;
  std::string worst_speaker;
  // The training loss on this set (eval mode: no dropout), mean per utterance: ranks configurations where a small
  // dev set ties their error rates (metric `dev_loss`).
  double loss = 0.0;
  int64_t n_utterances = 0;
  double audio_seconds = 0.0;
  // Real-time factor of decoding: (encoder forward + search) seconds / audio seconds, feature extraction
  // excluded, with AsrTrainConfig::num_threads threads.
  double rtf = 0.0;
  std::string kaldi_wer_line;  // %WER 4.21 [ 101 / 2400, 12 ins, 30 del, 59 sub ]
  std::string kaldi_cer_line;
  std::string speaker_table;  // FormatGroupTable of the WER
  // The value of `metric`.
  double Metric(const std::string& metric) const;
};

struct AsrEpochReport {
  int epoch = 0;                       // 1-based
  double train_loss = 0.0;             // mean per utterance
  double mean_grad_norm = 0.0;         // before clipping, mean over the epoch's optimizer steps
  double lr = 0.0;                     // at the end of the epoch
  double seconds = 0.0;                // training + dev evaluation
  double train_seconds = 0.0;          // the training part only
  double utterances_per_second = 0.0;  // training throughput
  AsrEvalMetrics dev;
};

struct AsrTrainResult {
  std::vector<AsrEpochReport> epochs;  // every epoch, the resumed ones included
  AsrEvalMetrics dev;                  // of the last epoch
  AsrEvalMetrics test;                 // when a test set was evaluated
  bool has_test = false;
  bool stopped_early = false;  // a callback asked to stop (pruned)
  double train_seconds = 0.0;  // wall time of this run (resumed epochs not counted)
  int64_t num_parameters = 0;
  double peak_lr = 0.0;
  int num_threads = 0;
  int vocab_size = 0;
  int64_t n_train_utterances = 0;
};

struct AsrTrainCallbacks {
  std::function<void(const std::string&)> log;  // human-readable progress (stderr in the CLI)
  // After each epoch's dev evaluation (and checkpoint); returning false ends training there (a pruned trial):
  // TrainAsr returns the result so far with stopped_early set, without a test evaluation.
  std::function<bool(const AsrEpochReport&)> on_epoch;
  // Polled before every batch; true stops training with a Cancelled status ("interrupted").
  std::function<bool()> should_stop;
};

// Trains, evaluating on dev after each epoch and on test at the end. With output_dir set, writes there
// units.txt, global_cmvn.json, train_config.json and checkpoint.pt/checkpoint.json after each epoch, and resumes
// from a checkpoint it finds (FailedPrecondition when that checkpoint was made with other keys than those that
// shape the model and data). Errors: InvalidArgument for a bad config, NotFound/InvalidArgument for data,
// Aborted-like FailedPrecondition "diverged: ..." when the loss becomes NaN/inf or explodes, Cancelled when
// should_stop asked.
Result<AsrTrainResult> TrainAsr(const AsrTrainConfig& config, const AsrTrainCallbacks& callbacks);

// Prepares config.output_dir to continue the run whose output directory is `from_dir` (a promoted multi-fidelity
// trial, or a retry of a failed one): copies its checkpoint, vocabulary and CMVN there when the output directory
// has no checkpoint of its own and the keys that shape model and data are the same (more epochs is fine). Returns
// what it did, in words, for the log: continuing, or why training starts afresh. IoError when copying fails.
Result<std::string> ContinueFromCheckpoint(const AsrTrainConfig& config, const std::string& from_dir);

// Whether a TrainAsr error is a divergence (NaN, inf or exploding loss).
bool IsDivergence(const Status& status);

}  // namespace dial::speech
