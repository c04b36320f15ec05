// The ASR acoustic model on libtorch: a subsampling front, an encoder (LSTM, GRU, Transformer, Conformer or TDNN),
// a CTC head and an optional attention (Transformer) decoder trained jointly with CTC. Only speech/asr/
// includes this header (it pulls in torch); everything outside sees plain C++.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <memory>
#include <string>

#include "dial/status.h"
#include "speech/asr/model_options.h"

namespace dial::speech {

// Token ids: <blank> = 0, <unk> = 1, real units 2..vocab_size-2, and the attention decoder's <sos/eos> is
// vocab_size - 1 (WeNet's layout). A CTC-only model simply never emits the last id.
inline constexpr int kBlankId = 0;
inline constexpr int kUnkId = 1;
inline int64_t SosEosId(int vocab_size) { return vocab_size - 1; }

namespace asr_internal {  // the model's modules (speech/asr/layers.h, encoders.cc, decoder.cc)
class Subsampling;
class Encoder;
class AttentionDecoder;
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
