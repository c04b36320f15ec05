// The ASR encoders: LSTM/GRU over packed sequences, TDNN, and the Transformer/Conformer self-attention encoders
// (WeNet's pre-norm layers). See docs/asr-model.md.
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "speech/asr/layers.h"

namespace dial::speech::asr_internal {
// ---------------------------------------------------------------------------------------------------------
// Encoders: [B, T', d] and lengths → [B, T', d].

// LSTM/GRU over packed sequences (padding never enters the recurrence). Bidirectional: d_model/2 units per
// direction so the output stays d_model wide. Dropout between layers; residual_scaling does not apply.
class RnnEncoder : public Encoder {
 public:
  explicit RnnEncoder(const AsrModelOptions& o) : lstm_mode_(o.encoder == "lstm") {
    const int hidden = o.bidirectional ? o.d_model / 2 : o.d_model;
    if (lstm_mode_) {
      lstm_ = register_module("rnn", torch::nn::LSTM(torch::nn::LSTMOptions(o.d_model, hidden)
                                                         .num_layers(o.num_layers)
                                                         .dropout(o.num_layers > 1 ? o.dropout : 0.0)
                                                         .bidirectional(o.bidirectional)
                                                         .batch_first(true)));
    } else {
      gru_ = register_module("rnn", torch::nn::GRU(torch::nn::GRUOptions(o.d_model, hidden)
                                                       .num_layers(o.num_layers)
                                                       .dropout(o.num_layers > 1 ? o.dropout : 0.0)
                                                       .bidirectional(o.bidirectional)
                                                       .batch_first(true)));
    }
    dropout_ = register_module("dropout", torch::nn::Dropout(o.dropout));
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& lens) override {
    namespace rnn = torch::nn::utils::rnn;
    // pack_padded_sequence rejects empty sequences: a 0-length utterance runs one (ignored) frame.
    auto packed = rnn::pack_padded_sequence(dropout_->forward(x), lens.clamp_min(1).to(torch::kCPU).to(torch::kLong),
                                            /*batch_first=*/true, /*enforce_sorted=*/false);
    rnn::PackedSequence out = lstm_mode_ ? std::get<0>(lstm_->forward_with_packed_input(packed))
                                         : std::get<0>(gru_->forward_with_packed_input(packed));
    return std::get<0>(rnn::pad_packed_sequence(out, /*batch_first=*/true, /*padding_value=*/0.0, x.size(1)));
  }

 private:
  bool lstm_mode_;
  torch::nn::LSTM lstm_{nullptr};
  torch::nn::GRU gru_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};

// Time-delay network (Kaldi's TDNN; icefall's yesno and early Kaldi recipes): num_layers 1-D convolutions of d_model
// channels over time, kernel conv_kernel_size, dilation 1, 2, 4, 8, 1, 2, ... ('same' padding), each followed by
// ReLU, the conv_norm normalisation and dropout. No attention and no recurrence: the cheapest encoder, enough for
// small vocabularies. Padded frames are zeroed before every convolution, so the valid frames see what they see at
// the edge of an unpadded utterance.
class TdnnEncoder : public Encoder {
 public:
  explicit TdnnEncoder(const AsrModelOptions& o) : batch_norm_(o.conv_norm == "batch_norm") {
    for (int i = 0; i < o.num_layers; ++i) {
      const int dilation = 1 << (i % 4);
      const std::string n = std::to_string(i);
      convs_.push_back(register_module(
          "conv" + n, torch::nn::Conv1d(torch::nn::Conv1dOptions(o.d_model, o.d_model, o.conv_kernel_size)
                                            .dilation(dilation)
                                            .padding(dilation * (o.conv_kernel_size - 1) / 2))));
      if (batch_norm_) {
        bns_.push_back(register_module("norm" + n, torch::nn::BatchNorm1d(o.d_model)));
      } else {
        lns_.push_back(register_module("norm" + n, torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d_model}))));
      }
    }
    dropout_ = register_module("dropout", torch::nn::Dropout(o.dropout));
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& lens) override {
    auto pad = LengthMask(lens, x.size(1)).logical_not().unsqueeze(1);  // [B, 1, T]
    auto y = x.transpose(1, 2);                                         // [B, d, T]
    for (size_t i = 0; i < convs_.size(); ++i) {
      y = torch::relu(convs_[i]->forward(y.masked_fill(pad, 0.0)));
      y = batch_norm_ ? bns_[i]->forward(y) : lns_[i]->forward(y.transpose(1, 2)).transpose(1, 2);
      y = dropout_->forward(y);
    }
    return y.masked_fill(pad, 0.0).transpose(1, 2);
  }

 private:
  bool batch_norm_;
  std::vector<torch::nn::Conv1d> convs_;
  std::vector<torch::nn::BatchNorm1d> bns_;
  std::vector<torch::nn::LayerNorm> lns_;
  torch::nn::Dropout dropout_{nullptr};
};

// WeNet TransformerEncoderLayer (pre-LN): x + MHSA(LN(x)), then x + FFN(LN(x)); ReLU feed-forward.
class TransformerLayer : public torch::nn::Module {
 public:
  explicit TransformerLayer(const AsrModelOptions& o) {
    attn_ = register_module(
        "self_attn", std::make_shared<MultiHeadAttention>(o.d_model, o.attention_heads, o.attention_dropout, false));
    ff_ = register_module("feed_forward", std::make_shared<FeedForward>(o.d_model, o.ff_dim, o.dropout, false));
    res_attn_ =
        register_module("res_attn", std::make_shared<Residual>(o.residual_scaling, o.d_model, o.num_layers, o.dropout));
    res_ff_ =
        register_module("res_ff", std::make_shared<Residual>(o.residual_scaling, o.d_model, o.num_layers, o.dropout));
    if (o.residual_scaling == "deepnorm") {
      attn_->DeepNormInit(DeepNormBeta(o.num_layers));
      ff_->DeepNormInit(DeepNormBeta(o.num_layers));
    }
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& key_mask) {
    auto y = res_attn_->Apply(x, 1.0, [&](const torch::Tensor& h) { return attn_->forward(h, h, h, key_mask); });
    return res_ff_->Apply(y, 1.0, [&](const torch::Tensor& h) { return ff_->forward(h); });
  }

 private:
  std::shared_ptr<MultiHeadAttention> attn_;
  std::shared_ptr<FeedForward> ff_;
  std::shared_ptr<Residual> res_attn_, res_ff_;
};

// Conformer block (Gulati et al. 2020; WeNet ConformerEncoderLayer): ½FFN → relative MHSA → conv module →
// ½FFN → LayerNorm, each sub-block residual. The final LayerNorm is dropped under deepnorm (already post-LN).
class ConformerLayer : public torch::nn::Module {
 public:
  explicit ConformerLayer(const AsrModelOptions& o) {
    ff_macaron_ =
        register_module("feed_forward_macaron", std::make_shared<FeedForward>(o.d_model, o.ff_dim, o.dropout, true));
    attn_ = register_module(
        "self_attn", std::make_shared<MultiHeadAttention>(o.d_model, o.attention_heads, o.attention_dropout, true));
    conv_ = register_module("conv_module",
                            std::make_shared<ConvModule>(o.d_model, o.conv_kernel_size, o.conv_norm == "batch_norm"));
    ff_ = register_module("feed_forward", std::make_shared<FeedForward>(o.d_model, o.ff_dim, o.dropout, true));
    for (int i = 0; i < 4; ++i) {
      res_.push_back(
          register_module("res" + std::to_string(i),
                          std::make_shared<Residual>(o.residual_scaling, o.d_model, o.num_layers, o.dropout)));
    }
    if (o.residual_scaling == "deepnorm") {
      const double beta = DeepNormBeta(o.num_layers);
      ff_macaron_->DeepNormInit(beta);
      attn_->DeepNormInit(beta);
      conv_->DeepNormInit(beta);
      ff_->DeepNormInit(beta);
    } else {
      final_norm_ = register_module("norm_final", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d_model})));
    }
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& key_mask, const torch::Tensor& pad,
                        const torch::Tensor& pos_emb) {
    auto y = res_[0]->Apply(x, kMacaronScale, [&](const torch::Tensor& h) { return ff_macaron_->forward(h); });
    y = res_[1]->Apply(y, 1.0, [&](const torch::Tensor& h) { return attn_->forward(h, h, h, key_mask, pos_emb); });
    y = res_[2]->Apply(y, 1.0, [&](const torch::Tensor& h) { return conv_->forward(h, pad); });
    y = res_[3]->Apply(y, kMacaronScale, [&](const torch::Tensor& h) { return ff_->forward(h); });
    return final_norm_ ? final_norm_->forward(y) : y;
  }

 private:
  std::shared_ptr<FeedForward> ff_macaron_, ff_;
  std::shared_ptr<MultiHeadAttention> attn_;
  std::shared_ptr<ConvModule> conv_;
  std::vector<std::shared_ptr<Residual>> res_;
  torch::nn::LayerNorm final_norm_{nullptr};
};

// Self-attention encoders. Input scaled by sqrt(d_model) (ESPnet's xscale); Transformer adds absolute
// sinusoids, Conformer passes relative sinusoids for positions T'−1 … −(T'−1) to every layer.
class AttentionEncoder : public Encoder {
 public:
  explicit AttentionEncoder(const AsrModelOptions& o)
      : conformer_(o.encoder == "conformer"), d_model_(o.d_model), xscale_(std::sqrt(static_cast<double>(o.d_model))) {
    dropout_ = register_module("dropout", torch::nn::Dropout(o.dropout));
    for (int i = 0; i < o.num_layers; ++i) {
      if (conformer_) {
        conformer_layers_.push_back(register_module("layer" + std::to_string(i), std::make_shared<ConformerLayer>(o)));
      } else {
        transformer_layers_.push_back(
            register_module("layer" + std::to_string(i), std::make_shared<TransformerLayer>(o)));
      }
    }
    if (o.residual_scaling != "deepnorm") {
      after_norm_ = register_module("after_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d_model})));
    }
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& lens) override {
    const auto t = x.size(1);
    auto valid = LengthMask(lens, t);    // [B, T']
    auto key_mask = valid.unsqueeze(1);  // [B, 1, T']
    auto pad = key_mask.logical_not();   // [B, 1, T']
    auto y = x * xscale_;
    if (conformer_) {
      auto positions = torch::arange(t - 1, -t, -1, x.options());
      auto pos_emb = dropout_->forward(Sinusoids(positions, d_model_).unsqueeze(0));  // [1, 2T'−1, d]
      y = dropout_->forward(y);
      for (auto& layer : conformer_layers_) y = layer->forward(y, key_mask, pad, pos_emb);
    } else {
      y = dropout_->forward(y + Sinusoids(torch::arange(t, x.options()), d_model_).unsqueeze(0));
      for (auto& layer : transformer_layers_) y = layer->forward(y, key_mask);
    }
    return after_norm_ ? after_norm_->forward(y) : y;
  }

 private:
  bool conformer_;
  int64_t d_model_;
  double xscale_;
  torch::nn::Dropout dropout_{nullptr};
  std::vector<std::shared_ptr<ConformerLayer>> conformer_layers_;
  std::vector<std::shared_ptr<TransformerLayer>> transformer_layers_;
  torch::nn::LayerNorm after_norm_{nullptr};
};

std::shared_ptr<Encoder> MakeEncoder(const AsrModelOptions& o) {
  if (o.encoder == "lstm" || o.encoder == "gru") return std::make_shared<RnnEncoder>(o);
  if (o.encoder == "tdnn") return std::make_shared<TdnnEncoder>(o);
  return std::make_shared<AttentionEncoder>(o);
}

}  // namespace dial::speech::asr_internal
