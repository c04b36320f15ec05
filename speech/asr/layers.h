// The ASR model's building blocks (internal to speech/asr/: includes torch): subsampling, attention, feed-forward,
// the Conformer conv module and residual connections, shared by the encoders (encoders.cc), the attention decoder
// (decoder.cc) and the model (model.cc). Layouts follow WeNet's pre-norm modules; where dial differs the comment
// says why. See docs/asr-model.md.
#pragma once

#include <torch/torch.h>

#include <cmath>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "speech/asr/model_options.h"

namespace dial::speech::asr_internal {

constexpr double kPositionalBase = 10000.0;  // sinusoid wavelengths run from 2π to 10000·2π (Vaswani et al.)
// Fill for masked attention scores: finite, so that a row with no valid key gives a uniform (then zeroed)
// softmax instead of NaN.
constexpr float kMaskedScore = std::numeric_limits<float>::lowest();
constexpr double kMacaronScale = 0.5;  // Conformer's half-step feed-forward modules

// valid[b, t] = t < lens[b]  ([B, T] bool)
inline torch::Tensor LengthMask(const torch::Tensor& lens, int64_t max_len) {
  auto steps = torch::arange(max_len, lens.options().dtype(torch::kLong));
  return steps.unsqueeze(0) < lens.to(torch::kLong).unsqueeze(1);
}

// Sinusoidal encoding of (possibly negative) positions: PE(p, 2i) = sin(p / 10000^(2i/d)),
// PE(p, 2i+1) = cos(p / 10000^(2i/d)). positions [N] float → [N, d].
inline torch::Tensor Sinusoids(const torch::Tensor& positions, int64_t d_model) {
  auto div = torch::exp(torch::arange(0, d_model, 2, positions.options()) * (-std::log(kPositionalBase) / d_model));
  auto angles = positions.unsqueeze(1) * div.unsqueeze(0);  // [N, d/2]
  return torch::stack({torch::sin(angles), torch::cos(angles)}, -1).view({positions.size(0), d_model});
}

// Transformer-XL relative shift. x [B, H, T, 2T−1] holds scores against relative positions T−1, T−2, …, −(T−1)
// (column k ↔ position T−1−k); the result [B, H, T, T] has out[i][j] = x[i][T−1−i+j], the score for i − j.
// Done with ESPnet's pad-and-reshape trick (no gather): prepend a zero column, read the buffer as
// [2T, T], drop the first row, read it back as [T, 2T−1] and keep the first T columns.
inline torch::Tensor RelShift(const torch::Tensor& x) {
  const auto b = x.size(0), h = x.size(1), t = x.size(2), p = x.size(3);
  auto padded = torch::cat({torch::zeros({b, h, t, 1}, x.options()), x}, -1);  // [B, H, T, 2T]
  padded = padded.view({b, h, p + 1, t});
  return padded.slice(2, 1).reshape({b, h, t, p}).slice(3, 0, p / 2 + 1);
}

// ---------------------------------------------------------------------------------------------------------
// Subsampling: [B, T, F] → [B, T', d_model].

class Subsampling : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x) = 0;
};

// ESPnet/WeNet Conv2dSubsampling: 2-D convolutions over (time, frequency) with ReLU, each without padding,
// then a linear map of channels × remaining frequencies to d_model. ESPnet/WeNet use d_model channels;
// dial's `subsampling_channels` defaults to fewer (icefall's subsampling also narrows its convolutions).
//   conv2d (4×): 3×3 s2, 3×3 s2     conv2d6 (6×): 3×3 s2, 5×5 s3     conv2d2 (2×): 3×3 s2
class ConvSubsampling : public Subsampling {
 public:
  ConvSubsampling(int input_dim, int channels, int d_model, const std::vector<std::pair<int, int>>& kernels_strides) {
    int64_t freq = input_dim;
    int in_channels = 1;
    for (size_t i = 0; i < kernels_strides.size(); ++i) {
      auto [k, s] = kernels_strides[i];
      convs_.push_back(register_module(
          "conv" + std::to_string(i), torch::nn::Conv2d(torch::nn::Conv2dOptions(in_channels, channels, k).stride(s))));
      in_channels = channels;
      freq = (freq - k) / s + 1;
    }
    out_ = register_module("out", torch::nn::Linear(channels * freq, d_model));
  }
  torch::Tensor forward(const torch::Tensor& x) override {
    auto y = x.unsqueeze(1);  // [B, 1, T, F]
    for (auto& conv : convs_) y = torch::relu(conv->forward(y));
    const auto b = y.size(0), c = y.size(1), t = y.size(2), f = y.size(3);
    return out_->forward(y.transpose(1, 2).reshape({b, t, c * f}));
  }

 private:
  std::vector<torch::nn::Conv2d> convs_;
  torch::nn::Linear out_{nullptr};
};

// WeNet's LinearNoSubsampling: a per-frame Linear + LayerNorm.
class LinearSubsampling : public Subsampling {
 public:
  LinearSubsampling(int input_dim, int d_model) {
    linear_ = register_module("linear", torch::nn::Linear(input_dim, d_model));
    norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d_model})));
  }
  torch::Tensor forward(const torch::Tensor& x) override { return norm_->forward(linear_->forward(x)); }

 private:
  torch::nn::Linear linear_{nullptr};
  torch::nn::LayerNorm norm_{nullptr};
};

inline std::shared_ptr<Subsampling> MakeSubsampling(const AsrModelOptions& o) {
  using Layers = std::vector<std::pair<int, int>>;  // (kernel, stride) per convolution
  const int c = o.subsampling_channels > 0 ? o.subsampling_channels : o.d_model;
  if (o.subsampling == "conv2d")
    return std::make_shared<ConvSubsampling>(o.input_dim, c, o.d_model, Layers{{3, 2}, {3, 2}});
  if (o.subsampling == "conv2d6")
    return std::make_shared<ConvSubsampling>(o.input_dim, c, o.d_model, Layers{{3, 2}, {5, 3}});
  if (o.subsampling == "conv2d2") return std::make_shared<ConvSubsampling>(o.input_dim, c, o.d_model, Layers{{3, 2}});
  return std::make_shared<LinearSubsampling>(o.input_dim, o.d_model);
}

// ---------------------------------------------------------------------------------------------------------
// Attention.

// Multi-head scaled dot-product attention. With `relative`, the ESPnet RelPositionMultiHeadedAttention /
// Transformer-XL form: with u, v learned per-head biases and R the projected relative position encodings,
//   score(i, j) = [ (q_i + u)·k_j + (q_i + v)·R_{i−j} ] / sqrt(d_k).
class MultiHeadAttention : public torch::nn::Module {
 public:
  MultiHeadAttention(int d_model, int heads, double dropout, bool relative)
      : heads_(heads), d_k_(d_model / heads), relative_(relative) {
    q_ = register_module("linear_q", torch::nn::Linear(d_model, d_model));
    k_ = register_module("linear_k", torch::nn::Linear(d_model, d_model));
    v_ = register_module("linear_v", torch::nn::Linear(d_model, d_model));
    out_ = register_module("linear_out", torch::nn::Linear(d_model, d_model));
    dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
    if (relative_) {
      pos_ = register_module("linear_pos", torch::nn::Linear(torch::nn::LinearOptions(d_model, d_model).bias(false)));
      pos_bias_u_ = register_parameter("pos_bias_u", torch::empty({heads_, d_k_}));
      pos_bias_v_ = register_parameter("pos_bias_v", torch::empty({heads_, d_k_}));
      torch::NoGradGuard no_grad;
      torch::nn::init::xavier_uniform_(pos_bias_u_);
      torch::nn::init::xavier_uniform_(pos_bias_v_);
    }
  }

  // query [B, Tq, d], key/value [B, Tk, d], mask [B, 1 or Tq, Tk] bool (true = may attend),
  // pos_emb [1, 2Tq−1, d] for relative attention (Tq == Tk), undefined otherwise.
  torch::Tensor forward(const torch::Tensor& query, const torch::Tensor& key, const torch::Tensor& value,
                        const torch::Tensor& mask, const torch::Tensor& pos_emb = {}) {
    const auto b = query.size(0);
    auto q = q_->forward(query).view({b, -1, heads_, d_k_});                  // [B, Tq, H, dk]
    auto k = k_->forward(key).view({b, -1, heads_, d_k_}).transpose(1, 2);    // [B, H, Tk, dk]
    auto v = v_->forward(value).view({b, -1, heads_, d_k_}).transpose(1, 2);  // [B, H, Tk, dk]
    torch::Tensor scores;
    if (relative_) {
      assert(pos_emb.defined());
      auto p = pos_->forward(pos_emb).view({1, -1, heads_, d_k_}).transpose(1, 2);  // [1, H, 2T−1, dk]
      auto q_u = (q + pos_bias_u_).transpose(1, 2);
      auto q_v = (q + pos_bias_v_).transpose(1, 2);
      auto content = torch::matmul(q_u, k.transpose(-2, -1));             // [B, H, T, T]
      auto position = RelShift(torch::matmul(q_v, p.transpose(-2, -1)));  // [B, H, T, T]
      scores = (content + position) / std::sqrt(static_cast<double>(d_k_));
    } else {
      scores = torch::matmul(q.transpose(1, 2), k.transpose(-2, -1)) / std::sqrt(static_cast<double>(d_k_));
    }
    auto blocked = mask.logical_not().unsqueeze(1);  // [B, 1, 1 or Tq, Tk]
    auto attn = torch::softmax(scores.masked_fill(blocked, kMaskedScore), -1).masked_fill(blocked, 0.0);
    auto context = torch::matmul(dropout_->forward(attn), v);  // [B, H, Tq, dk]
    return out_->forward(context.transpose(1, 2).reshape({b, -1, heads_ * d_k_}));
  }

  // DeepNorm initialisation: value and output projections get xavier_normal with gain β, query/key gain 1.
  void DeepNormInit(double beta) {
    torch::NoGradGuard no_grad;
    torch::nn::init::xavier_normal_(q_->weight, 1.0);
    torch::nn::init::xavier_normal_(k_->weight, 1.0);
    torch::nn::init::xavier_normal_(v_->weight, beta);
    torch::nn::init::xavier_normal_(out_->weight, beta);
  }

 private:
  int64_t heads_;
  int64_t d_k_;
  bool relative_;
  torch::nn::Linear q_{nullptr}, k_{nullptr}, v_{nullptr}, out_{nullptr}, pos_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::Tensor pos_bias_u_, pos_bias_v_;
};

// Position-wise feed-forward: Linear(d, ff) → activation (swish in Conformer, ReLU in Transformer) → dropout
// → Linear(ff, d).
class FeedForward : public torch::nn::Module {
 public:
  FeedForward(int d_model, int ff_dim, double dropout, bool swish) : swish_(swish) {
    w1_ = register_module("w_1", torch::nn::Linear(d_model, ff_dim));
    w2_ = register_module("w_2", torch::nn::Linear(ff_dim, d_model));
    dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    auto h = w1_->forward(x);
    h = swish_ ? torch::silu(h) : torch::relu(h);
    return w2_->forward(dropout_->forward(h));
  }
  void DeepNormInit(double beta) {
    torch::NoGradGuard no_grad;
    torch::nn::init::xavier_normal_(w1_->weight, beta);
    torch::nn::init::xavier_normal_(w2_->weight, beta);
  }

 private:
  bool swish_;
  torch::nn::Linear w1_{nullptr}, w2_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};

// Conformer convolution module: pointwise conv (d → 2d) → GLU → depthwise conv (kernel k, 'same' padding)
// → BatchNorm or LayerNorm → swish → pointwise conv (d → d). Padded frames are zeroed at the input AND after
// the GLU (WeNet zeroes only the input, so GLU(bias) leaks from padding into the last k/2 valid frames):
// the depthwise convolution then sees exactly what it sees at the edge of an unpadded utterance.
class ConvModule : public torch::nn::Module {
 public:
  ConvModule(int d_model, int kernel_size, bool batch_norm) : batch_norm_(batch_norm) {
    pw1_ = register_module("pointwise_conv1", torch::nn::Conv1d(torch::nn::Conv1dOptions(d_model, 2 * d_model, 1)));
    dw_ = register_module(
        "depthwise_conv",
        torch::nn::Conv1d(
            torch::nn::Conv1dOptions(d_model, d_model, kernel_size).padding((kernel_size - 1) / 2).groups(d_model)));
    if (batch_norm_) {
      bn_ = register_module("norm", torch::nn::BatchNorm1d(d_model));
    } else {
      ln_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d_model})));
    }
    pw2_ = register_module("pointwise_conv2", torch::nn::Conv1d(torch::nn::Conv1dOptions(d_model, d_model, 1)));
  }
  // x [B, T, d], pad [B, 1, T] bool (true = padding).
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& pad) {
    auto y = x.transpose(1, 2).masked_fill(pad, 0.0);  // [B, d, T]
    y = torch::glu(pw1_->forward(y), 1).masked_fill(pad, 0.0);
    y = dw_->forward(y);
    y = batch_norm_ ? bn_->forward(y) : ln_->forward(y.transpose(1, 2)).transpose(1, 2);
    y = pw2_->forward(torch::silu(y)).masked_fill(pad, 0.0);
    return y.transpose(1, 2);
  }
  void DeepNormInit(double beta) {
    torch::NoGradGuard no_grad;
    torch::nn::init::xavier_normal_(pw1_->weight, beta);
    torch::nn::init::xavier_normal_(pw2_->weight, beta);
  }

 private:
  bool batch_norm_;
  torch::nn::Conv1d pw1_{nullptr}, dw_{nullptr}, pw2_{nullptr};
  torch::nn::BatchNorm1d bn_{nullptr};
  torch::nn::LayerNorm ln_{nullptr};
};

// ---------------------------------------------------------------------------------------------------------
// Residual connections, by residual_scaling:
//   none     (pre-LN):  x + s·f(LN(x))
//   rezero:             x + g·s·f(LN(x)),  g a learned scalar initialised to 0, so every block starts as the
//                       identity whatever the depth (Bachlechner et al. 2020; dial keeps the branch's LN)
//   deepnorm (post-LN): LN(α·x + s·f(x)),  α = (2N)^(1/4), and f's value/output/FFN/pointwise-conv weights
//                       initialised with gain β = (8N)^(−1/4) (Wang et al. 2022, encoder-only), N = num_layers
// where s is 1, or ½ for the macaron feed-forward halves.
class Residual : public torch::nn::Module {
 public:
  Residual(const std::string& mode, int d_model, int num_layers, double dropout) {
    deepnorm_ = mode == "deepnorm";
    if (deepnorm_) alpha_ = std::pow(2.0 * num_layers, 0.25);
    norm_ = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({d_model})));
    dropout_ = register_module("dropout", torch::nn::Dropout(dropout));
    if (mode == "rezero") gate_ = register_parameter("gate", torch::zeros({1}));
  }
  template <typename F>
  torch::Tensor Apply(const torch::Tensor& x, double scale, F&& f) {
    if (deepnorm_) return norm_->forward(alpha_ * x + scale * dropout_->forward(f(x)));
    auto branch = scale * dropout_->forward(f(norm_->forward(x)));
    if (gate_.defined()) branch = gate_ * branch;
    return x + branch;
  }
  bool post_norm() const { return deepnorm_; }

 private:
  bool deepnorm_ = false;
  double alpha_ = 1.0;
  torch::nn::LayerNorm norm_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  torch::Tensor gate_;
};

inline double DeepNormBeta(int num_layers) { return std::pow(8.0 * num_layers, -0.25); }

// ---------------------------------------------------------------------------------------------------------
// Encoders: [B, T', d] and lengths → [B, T', d] (encoders.cc).

class Encoder : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& lens) = 0;
};

// The encoder `o.encoder` names (lstm, gru, tdnn, transformer, conformer).
std::shared_ptr<Encoder> MakeEncoder(const AsrModelOptions& o);

// ---------------------------------------------------------------------------------------------------------
// WeNet's TransformerDecoder (decoder.cc).

class DecoderLayer;

class AttentionDecoder : public torch::nn::Module {
 public:
  explicit AttentionDecoder(const AsrModelOptions& o);
  // ys_in [B, U] int64, ys_lens [B], memory [B, T', d], memory_lens [B] → logits [B, U, V].
  torch::Tensor forward(const torch::Tensor& ys_in, const torch::Tensor& ys_lens, const torch::Tensor& memory,
                        const torch::Tensor& memory_lens);

 private:
  int64_t d_model_;
  double xscale_;
  torch::nn::Embedding embed_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  std::vector<std::shared_ptr<DecoderLayer>> layers_;
  torch::nn::LayerNorm after_norm_{nullptr};
  torch::nn::Linear out_{nullptr};
};

}  // namespace dial::speech::asr_internal
