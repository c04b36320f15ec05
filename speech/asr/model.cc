// The ASR model: conv2d subsampling (ESPnet/WeNet), LSTM/GRU/Transformer/Conformer/TDNN encoders, a CTC head and
// an optional Transformer attention decoder. Layouts and defaults follow WeNet's pre-norm encoders; where dial
// differs (masking inside the conv module, DeepNorm/ReZero) the comment says why. See docs/asr-model.md.
#include "speech/asr/model.h"

#include <cassert>
#include <cmath>
#include <string>

#include "speech/asr/layers.h"

namespace dial::speech {

using asr_internal::LengthMask;

AsrModelImpl::AsrModelImpl(const AsrModelOptions& options) : options_(options) {
  subsampling_ = register_module("subsampling", asr_internal::MakeSubsampling(options_));
  encoder_ = register_module("encoder", asr_internal::MakeEncoder(options_));
  ctc_head_ = register_module("ctc", torch::nn::Linear(options_.d_model, options_.vocab_size));
  if (has_attention_decoder()) {
    decoder_ = register_module("decoder", std::make_shared<asr_internal::AttentionDecoder>(options_));
  }
}

EncoderOutput AsrModelImpl::Encode(const torch::Tensor& feats, const torch::Tensor& feat_lens) {
  auto x = subsampling_->forward(feats);
  // Same arithmetic as SubsampledLength, on tensors: floor((T − k) / s) + 1 per convolution.
  auto lens = feat_lens.to(torch::kLong);
  auto conv = [](const torch::Tensor& t, int64_t k, int64_t s) {
    return torch::where(t < k, torch::zeros_like(t), torch::div(t - k, s, "floor") + 1);
  };
  if (options_.subsampling == "conv2d") {
    lens = conv(conv(lens, 3, 2), 3, 2);
  } else if (options_.subsampling == "conv2d6") {
    lens = conv(conv(lens, 3, 2), 5, 3);
  } else if (options_.subsampling == "conv2d2") {
    lens = conv(lens, 3, 2);
  }
  lens = lens.clamp_max(x.size(1));
  return {encoder_->forward(x, lens), lens};
}

torch::Tensor AsrModelImpl::CtcLogProbs(const torch::Tensor& encoder_out) {
  return torch::log_softmax(ctc_head_->forward(encoder_out), -1);
}

torch::Tensor AsrModelImpl::DecoderLogits(const EncoderOutput& enc, const torch::Tensor& ys_in,
                                          const torch::Tensor& ys_lens) {
  assert(decoder_ && "DecoderLogits needs decoder == attention");
  return decoder_->forward(ys_in, ys_lens, enc.out, enc.lens);
}

AsrModelImpl::Loss AsrModelImpl::ComputeLoss(const torch::Tensor& feats, const torch::Tensor& feat_lens,
                                             const torch::Tensor& targets, const torch::Tensor& target_lens,
                                             double ctc_weight, double label_smoothing) {
  return ComputeLoss(Encode(feats, feat_lens), targets, target_lens, ctc_weight, label_smoothing);
}

AsrModelImpl::Loss AsrModelImpl::ComputeLoss(const EncoderOutput& enc, const torch::Tensor& targets,
                                             const torch::Tensor& target_lens, double ctc_weight,
                                             double label_smoothing) {
  const auto batch = static_cast<double>(enc.out.size(0));
  auto tgt = targets.to(torch::kLong);
  auto tgt_lens = target_lens.to(torch::kLong);
  // CTC: −log P(y | x) summed over the batch / B. An infeasible pair (fewer frames than the target needs)
  // has infinite loss; it counts as 0 (ESPnet's zero_infinity) so one bad utterance cannot poison the batch.
  auto log_probs = CtcLogProbs(enc.out).transpose(0, 1);  // [T', B, V]
  auto ctc = torch::ctc_loss(log_probs, tgt.clamp_min(0), enc.lens, tgt_lens, kBlankId, at::Reduction::Sum,
                             /*zero_infinity=*/true) /
             batch;
  Loss loss;
  loss.ctc = ctc;
  if (!has_attention_decoder()) {
    loss.total = ctc;
    return loss;
  }
  // Teacher forcing: ys_in = <sos> y (padded with <eos>), ys_out = y <eos> (padded with −1, ignored).
  const int64_t sos_eos = SosEosId(options_.vocab_size);
  const auto b = tgt.size(0);
  auto valid_tgt = tgt >= 0;
  auto ys_in =
      torch::cat({torch::full({b, 1}, sos_eos, tgt.options()), tgt.masked_fill(valid_tgt.logical_not(), sos_eos)}, 1);
  auto ys_out = torch::cat({tgt.masked_fill(valid_tgt.logical_not(), -1), torch::full({b, 1}, -1, tgt.options())}, 1);
  ys_out.scatter_(1, tgt_lens.unsqueeze(1), sos_eos);
  ys_out = ys_out.masked_fill(LengthMask(tgt_lens + 1, ys_out.size(1)).logical_not(), -1);
  auto logp = torch::log_softmax(DecoderLogits(enc, ys_in, tgt_lens + 1), -1);  // [B, U+1, V]
  // Label smoothing as WeNet's LabelSmoothingLoss: target distribution q puts c = 1 − ε on the label and
  // ε / (V − 1) on every other token; loss = Σ_tokens KL(q ‖ p) / B
  //   = Σ_tokens [ Σ_v q_v log q_v − c·log p_label − ε/(V−1)·(Σ_v log p_v − log p_label) ] / B.
  const double vocab = static_cast<double>(options_.vocab_size);
  const double confidence = 1.0 - label_smoothing;
  const double other = label_smoothing / (vocab - 1.0);
  auto x_log_x = [](double p) { return p > 0.0 ? p * std::log(p) : 0.0; };
  const double neg_entropy = x_log_x(confidence) + (vocab - 1.0) * x_log_x(other);
  auto token_valid = ys_out >= 0;
  auto label_logp = logp.gather(-1, ys_out.clamp_min(0).unsqueeze(-1)).squeeze(-1);
  auto sum_logp = logp.sum(-1);
  auto per_token = neg_entropy - confidence * label_logp - other * (sum_logp - label_logp);
  loss.attention = per_token.masked_fill(token_valid.logical_not(), 0.0).sum() / batch;
  loss.total = ctc_weight * ctc + (1.0 - ctc_weight) * loss.attention;
  return loss;
}

int64_t AsrModelImpl::NumParameters() const {
  int64_t n = 0;
  for (const auto& p : parameters()) n += p.numel();
  return n;
}

Result<AsrModel> NewAsrModel(const AsrModelOptions& options, uint64_t seed) {
  DIAL_RETURN_IF_ERROR(options.Validate());
  try {
    torch::manual_seed(seed);
    return AsrModel(options);
  } catch (const c10::Error& e) {
    return Internal("building the ASR model: " + std::string(e.what_without_backtrace()));
  }
}

}  // namespace dial::speech
