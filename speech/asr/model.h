// The ASR acoustic model on libtorch: a subsampling front, an encoder (LSTM, GRU, Transformer, Conformer or TDNN),
// a CTC head and an optional attention (Transformer) decoder trained jointly with CTC. Only speech/asr/
// includes this header (it pulls in torch); everything outside sees plain C++.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

#include "dial/status.h"

namespace dial::speech {

// Token ids: <blank> = 0, <unk> = 1, real units 2..vocab_size-2, and the attention decoder's <sos/eos> is
// vocab_size - 1 (WeNet's layout). A CTC-only model simply never emits the last id.
inline constexpr int kBlankId = 0;
inline constexpr int kUnkId = 1;
inline int64_t SosEosId(int vocab_size) { return vocab_size - 1; }

struct AsrModelOptions {
  int input_dim = 80;
  int vocab_size = 0;                  // includes <blank>=0, <unk>=1; attention decoder uses <sos/eos>=vocab_size-1
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
  // Conformer conv module (and TDNN) normalisation: batch_norm (ESPnet/WeNet default) | layer_norm. layer_norm keeps an
  // utterance's output independent of what it is batched with even in training mode.
  std::string conv_norm = "batch_norm";

  // InvalidArgument naming the key: "d_model (250) must be divisible by attention_heads (4)".
  Status Validate() const;
};

// Number of output frames after subsampling `num_frames` input frames (the same arithmetic the convolutions do:
// a k×k convolution of stride s without padding maps T to (T − k) / s + 1). 0 when the input is too short.
int64_t SubsampledLength(const std::string& subsampling, int64_t num_frames);
// The fewest input frames that give one output frame (conv2d 7, conv2d6 11, conv2d2 3, none 1). A batch whose
// longest utterance is shorter cannot pass the convolutions: the trainer drops such utterances.
int64_t MinInputFrames(const std::string& subsampling);

namespace asr_internal {  // implementation modules, defined in model.cc
class Subsampling;
class Encoder;
class AttentionDecoder;
// Transformer-XL relative shift (exposed for its test): x [B, H, T, 2T−1] scored against relative positions
// T−1 … −(T−1) → [B, H, T, T] with out[i][j] = x[i][T−1−i+j].
torch::Tensor RelShift(const torch::Tensor& x);
}  // namespace asr_internal

struct EncoderOutput {
  torch::Tensor out;   // [B, T', d_model]
  torch::Tensor lens;  // [B] int64, valid output frames per utterance
};

class AsrModelImpl : public torch::nn::Module {
 public:
  // `options` must be valid (NewAsrModel checks); the caller seeds torch before building.
  explicit AsrModelImpl(const AsrModelOptions& options);

  // feats [B, T, F] float, feat_lens [B] int64. Frames past a length are ignored (padding invariance).
  EncoderOutput Encode(const torch::Tensor& feats, const torch::Tensor& feat_lens);
  // [B, T', V] log-softmax over the vocabulary.
  torch::Tensor CtcLogProbs(const torch::Tensor& encoder_out);
  // Teacher-forced attention decoder: ys_in [B, U] starts with <sos> (padding any id, ignored past ys_lens);
  // returns logits [B, U, V]. Calling it on a model with decoder == "ctc" is a programmer error (assert).
  torch::Tensor DecoderLogits(const EncoderOutput& enc, const torch::Tensor& ys_in, const torch::Tensor& ys_lens);

  // loss = ctc_weight·CTC + (1 − ctc_weight)·attention (label-smoothed CE); CTC alone when decoder == ctc.
  // Each term is the sum over the batch divided by the batch size (ESPnet/WeNet normalisation).
  struct Loss {
    torch::Tensor total, ctc, attention;  // attention is undefined when decoder == ctc
  };
  // targets [B, U] int64 padded with -1, target_lens [B] int64.
  Loss ComputeLoss(const torch::Tensor& feats, const torch::Tensor& feat_lens, const torch::Tensor& targets,
                   const torch::Tensor& target_lens, double ctc_weight, double label_smoothing);
  // The same loss from an encoder output already computed (evaluation scores and decodes one forward pass).
  Loss ComputeLoss(const EncoderOutput& enc, const torch::Tensor& targets, const torch::Tensor& target_lens,
                   double ctc_weight, double label_smoothing);

  int64_t NumParameters() const;
  const AsrModelOptions& options() const { return options_; }
  bool has_attention_decoder() const { return options_.decoder == "attention"; }

 private:
  AsrModelOptions options_;
  std::shared_ptr<asr_internal::Subsampling> subsampling_;
  std::shared_ptr<asr_internal::Encoder> encoder_;
  torch::nn::Linear ctc_head_{nullptr};
  std::shared_ptr<asr_internal::AttentionDecoder> decoder_;  // null when decoder == ctc
};
TORCH_MODULE(AsrModel);

// Validates the options, seeds torch's generator with `seed` and builds the model. Catches c10::Error into a
// Status. Not thread-safe with respect to other torch seeding.
Result<AsrModel> NewAsrModel(const AsrModelOptions& options, uint64_t seed);

}  // namespace dial::speech
