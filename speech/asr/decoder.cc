// WeNet's TransformerDecoder (pre-LN), trained jointly with CTC: embedding·sqrt(d) + absolute sinusoids; per layer
// causal self-attention, cross-attention to the encoder output, ReLU feed-forward; final LayerNorm and a Linear to
// the vocabulary. See docs/asr-model.md.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "speech/asr/layers.h"

namespace dial::speech::asr_internal {
// ---------------------------------------------------------------------------------------------------------
// WeNet TransformerDecoder (pre-LN): embedding·sqrt(d) + absolute sinusoids; per layer causal self-attention,
// cross-attention to the encoder output, ReLU feed-forward; final LayerNorm and a Linear to the vocabulary.

class DecoderLayer : public torch::nn::Module {
 public:
  explicit DecoderLayer(const AsrModelOptions& o) {
    self_attn_ = register_module(
        "self_attn", std::make_shared<MultiHeadAttention>(o.d_model, o.attention_heads, o.attention_dropout, false));
    src_attn_ = register_module(
        "src_attn", std::make_shared<MultiHeadAttention>(o.d_model, o.attention_heads, o.attention_dropout, false));
    ff_ = register_module("feed_forward", std::make_shared<FeedForward>(o.d_model, o.ff_dim, o.dropout, false));
    for (int i = 0; i < 3; ++i) {
      res_.push_back(register_module("res" + std::to_string(i),
                                     std::make_shared<Residual>("none", o.d_model, o.decoder_layers, o.dropout)));
    }
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& self_mask, const torch::Tensor& memory,
                        const torch::Tensor& memory_mask) {
    auto y = res_[0]->Apply(x, 1.0, [&](const torch::Tensor& h) { return self_attn_->forward(h, h, h, self_mask); });
    y = res_[1]->Apply(y, 1.0,
                       [&](const torch::Tensor& h) { return src_attn_->forward(h, memory, memory, memory_mask); });
    return res_[2]->Apply(y, 1.0, [&](const torch::Tensor& h) { return ff_->forward(h); });
  }

 private:
  std::shared_ptr<MultiHeadAttention> self_attn_, src_attn_;
  std::shared_ptr<FeedForward> ff_;
  std::vector<std::shared_ptr<Residual>> res_;
};

AttentionDecoder::AttentionDecoder(const AsrModelOptions& o)
    : d_model_(o.d_model), xscale_(std::sqrt(static_cast<double>(o.d_model))) {
  embed_ = register_module("embed", torch::nn::Embedding(o.vocab_size, o.d_model));
  dropout_ = register_module("dropout", torch::nn::Dropout(o.dropout));
  for (int i = 0; i < o.decoder_layers; ++i) {
    layers_.push_back(register_module("layer" + std::to_string(i), std::make_shared<DecoderLayer>(o)));
  }
  after_norm_ = register_module("after_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d_model})));
  out_ = register_module("output_layer", torch::nn::Linear(o.d_model, o.vocab_size));
}

torch::Tensor AttentionDecoder::forward(const torch::Tensor& ys_in, const torch::Tensor& ys_lens,
                                        const torch::Tensor& memory, const torch::Tensor& memory_lens) {
  const auto u = ys_in.size(1);
  auto causal = torch::ones({u, u}, torch::TensorOptions().dtype(torch::kBool)).tril();
  auto self_mask = LengthMask(ys_lens, u).unsqueeze(1).logical_and(causal.unsqueeze(0));  // [B, U, U]
  auto memory_mask = LengthMask(memory_lens, memory.size(1)).unsqueeze(1);                // [B, 1, T']
  auto x = embed_->forward(ys_in) * xscale_ + Sinusoids(torch::arange(u, memory.options()), d_model_).unsqueeze(0);
  x = dropout_->forward(x);
  for (auto& layer : layers_) x = layer->forward(x, self_mask, memory, memory_mask);
  return out_->forward(after_norm_->forward(x));
}

}  // namespace dial::speech::asr_internal
