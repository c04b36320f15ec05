// The ASR model's options and their checks, without torch: the trainer's config holds them (AsrTrainConfig::model),
// `dial` checks a study's model keys with them, and speech/asr/model.h builds the model from them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dial/status.h"
#include "speech/asr/config_keys.h"

namespace dial::speech {

struct AsrModelOptions {
  int input_dim = 80;                  // set by the trainer from the front end (n_mels); not a key
  int vocab_size = 0;                  // set by the trainer from the units; not a key
  std::string encoder = "conformer";   // lstm | gru | transformer | conformer | tdnn
  bool bidirectional = true;           // lstm/gru
  std::string subsampling = "conv2d";  // conv2d (4x) | conv2d2 (2x) | conv2d6 (6x) | none
  // Channels of the subsampling convolutions; 0 = d_model (ESPnet/WeNet). 32 by default because with d_model
  // channels the second 3×3 convolution dominates a CPU training step (measured 13 s vs 0.12 s forward +
  // backward for 16 × 3 s at 144 vs 32 channels, one thread): see docs/asr-model.md.
  int subsampling_channels = 32;
  int num_layers = 4;
  int d_model = 144;
  int attention_heads = 4;
  int ff_dim = 576;
  int conv_kernel_size = 15;
  double dropout = 0.1;
  double attention_dropout = 0.0;
  std::string residual_scaling = "none";  // none | deepnorm | rezero  (depth-aware: when num_layers is tuned)
  std::string decoder = "ctc";            // ctc | attention (joint CTC + attention)
  int decoder_layers = 2;
  // Conformer conv module (and TDNN) normalisation: batch_norm (ESPnet/WeNet default) | layer_norm. layer_norm keeps
  // an utterance's output independent of what it is batched with even in training mode.
  std::string conv_norm = "batch_norm";

  // Every key's rule (AsrModelKeys) and the rules between keys (d_model even and divisible by attention_heads,
  // conv_kernel_size odd, input_dim large enough for the subsampling). InvalidArgument naming the key:
  // "d_model (250) must be divisible by attention_heads (4)". vocab_size is not checked (see Validate).
  Status ValidateKeys() const;
  // ValidateKeys, and vocab_size large enough for <blank>, <unk>, one unit (and <sos/eos> with the attention decoder).
  Status Validate() const;
};

// The model's keys, in the order the docs list them (every AsrModelOptions field but input_dim and vocab_size).
const std::vector<keys::KeySpec<AsrModelOptions>>& AsrModelKeys();

// Number of output frames after subsampling `num_frames` input frames (the same arithmetic the convolutions do:
// a k×k convolution of stride s without padding maps T to (T − k) / s + 1). 0 when the input is too short.
int64_t SubsampledLength(const std::string& subsampling, int64_t num_frames);
// The fewest input frames that give one output frame (conv2d 7, conv2d6 11, conv2d2 3, none 1). A batch whose
// longest utterance is shorter cannot pass the convolutions: the trainer drops such utterances.
int64_t MinInputFrames(const std::string& subsampling);

}  // namespace dial::speech
