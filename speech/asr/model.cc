// The ASR model: conv2d subsampling (ESPnet/WeNet), LSTM/GRU/Transformer/Conformer/TDNN encoders, a CTC head and
// an optional Transformer attention decoder. Layouts and defaults follow WeNet's pre-norm encoders; where dial
// differs (masking inside the conv module, DeepNorm/ReZero) the comment says why. See docs/asr-model.md.
#include "speech/asr/model.h"

#include <cassert>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace dial::speech {
namespace {

constexpr double kPositionalBase = 10000.0;  // sinusoid wavelengths run from 2π to 10000·2π (Vaswani et al.)
// Fill for masked attention scores: finite, so that a row with no valid key gives a uniform (then zeroed)
// softmax instead of NaN.
constexpr float kMaskedScore = std::numeric_limits<float>::lowest();
constexpr double kMacaronScale = 0.5;  // Conformer's half-step feed-forward modules

bool OneOf(const std::string& value, std::initializer_list<const char*> allowed) {
  for (const char* a : allowed) {
    if (value == a) return true;
  }
  return false;
}

std::string Join(std::initializer_list<const char*> allowed) {
  std::string out;
  for (const char* a : allowed) {
    if (!out.empty()) out += ", ";
    out += a;
  }
  return out;
}

// valid[b, t] = t < lens[b]  ([B, T] bool)
torch::Tensor LengthMask(const torch::Tensor& lens, int64_t max_len) {
  auto steps = torch::arange(max_len, lens.options().dtype(torch::kLong));
  return steps.unsqueeze(0) < lens.to(torch::kLong).unsqueeze(1);
}

// Sinusoidal encoding of (possibly negative) positions: PE(p, 2i) = sin(p / 10000^(2i/d)),
// PE(p, 2i+1) = cos(p / 10000^(2i/d)). positions [N] float → [N, d].
torch::Tensor Sinusoids(const torch::Tensor& positions, int64_t d_model) {
  auto div = torch::exp(torch::arange(0, d_model, 2, positions.options()) * (-std::log(kPositionalBase) / d_model));
  auto angles = positions.unsqueeze(1) * div.unsqueeze(0);  // [N, d/2]
  return torch::stack({torch::sin(angles), torch::cos(angles)}, -1).view({positions.size(0), d_model});
}

}  // namespace

namespace asr_internal {

// Transformer-XL relative shift. x [B, H, T, 2T−1] holds scores against relative positions T−1, T−2, …, −(T−1)
// (column k ↔ position T−1−k); the result [B, H, T, T] has out[i][j] = x[i][T−1−i+j], the score for i − j.
// Done with ESPnet's pad-and-reshape trick (no gather): prepend a zero column, read the buffer as
// [2T, T], drop the first row, read it back as [T, 2T−1] and keep the first T columns.
torch::Tensor RelShift(const torch::Tensor& x) {
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

std::shared_ptr<Subsampling> MakeSubsampling(const AsrModelOptions& o) {
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

double DeepNormBeta(int num_layers) { return std::pow(8.0 * num_layers, -0.25); }

// ---------------------------------------------------------------------------------------------------------
// Encoders: [B, T', d] and lengths → [B, T', d].

class Encoder : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& lens) = 0;
};

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

class AttentionDecoder : public torch::nn::Module {
 public:
  explicit AttentionDecoder(const AsrModelOptions& o)
      : d_model_(o.d_model), xscale_(std::sqrt(static_cast<double>(o.d_model))) {
    embed_ = register_module("embed", torch::nn::Embedding(o.vocab_size, o.d_model));
    dropout_ = register_module("dropout", torch::nn::Dropout(o.dropout));
    for (int i = 0; i < o.decoder_layers; ++i) {
      layers_.push_back(register_module("layer" + std::to_string(i), std::make_shared<DecoderLayer>(o)));
    }
    after_norm_ = register_module("after_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.d_model})));
    out_ = register_module("output_layer", torch::nn::Linear(o.d_model, o.vocab_size));
  }
  // ys_in [B, U] int64, ys_lens [B], memory [B, T', d], memory_lens [B] → logits [B, U, V].
  torch::Tensor forward(const torch::Tensor& ys_in, const torch::Tensor& ys_lens, const torch::Tensor& memory,
                        const torch::Tensor& memory_lens) {
    const auto u = ys_in.size(1);
    auto causal = torch::ones({u, u}, torch::TensorOptions().dtype(torch::kBool)).tril();
    auto self_mask = LengthMask(ys_lens, u).unsqueeze(1).logical_and(causal.unsqueeze(0));  // [B, U, U]
    auto memory_mask = LengthMask(memory_lens, memory.size(1)).unsqueeze(1);                // [B, 1, T']
    auto x = embed_->forward(ys_in) * xscale_ + Sinusoids(torch::arange(u, memory.options()), d_model_).unsqueeze(0);
    x = dropout_->forward(x);
    for (auto& layer : layers_) x = layer->forward(x, self_mask, memory, memory_mask);
    return out_->forward(after_norm_->forward(x));
  }

 private:
  int64_t d_model_;
  double xscale_;
  torch::nn::Embedding embed_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
  std::vector<std::shared_ptr<DecoderLayer>> layers_;
  torch::nn::LayerNorm after_norm_{nullptr};
  torch::nn::Linear out_{nullptr};
};

}  // namespace asr_internal

// -----------------------------------------------------------------------------------------------------------

Status AsrModelOptions::Validate() const {
  static constexpr std::initializer_list<const char*> kEncoders = {"lstm", "gru", "transformer", "conformer", "tdnn"};
  static constexpr std::initializer_list<const char*> kSubsampling = {"conv2d", "conv2d2", "conv2d6", "none"};
  static constexpr std::initializer_list<const char*> kResidual = {"none", "deepnorm", "rezero"};
  static constexpr std::initializer_list<const char*> kDecoders = {"ctc", "attention"};
  static constexpr std::initializer_list<const char*> kConvNorms = {"batch_norm", "layer_norm"};
  auto choice = [](const char* key, const std::string& value, std::initializer_list<const char*> allowed) {
    if (OneOf(value, allowed)) return Status::Ok();
    return InvalidArgument(std::string(key) + " (" + value + ") must be one of " + Join(allowed));
  };
  auto at_least = [](const char* key, int value, int low) {
    if (value >= low) return Status::Ok();
    return InvalidArgument(std::string(key) + " (" + std::to_string(value) + ") must be at least " +
                           std::to_string(low));
  };
  auto probability = [](const char* key, double value) {
    if (value >= 0.0 && value < 1.0) return Status::Ok();
    std::ostringstream text;
    text << key << " (" << value << ") must be in [0, 1)";
    return InvalidArgument(text.str());
  };
  DIAL_RETURN_IF_ERROR(choice("encoder", encoder, kEncoders));
  DIAL_RETURN_IF_ERROR(choice("subsampling", subsampling, kSubsampling));
  DIAL_RETURN_IF_ERROR(choice("residual_scaling", residual_scaling, kResidual));
  DIAL_RETURN_IF_ERROR(choice("decoder", decoder, kDecoders));
  DIAL_RETURN_IF_ERROR(choice("conv_norm", conv_norm, kConvNorms));
  DIAL_RETURN_IF_ERROR(at_least("input_dim", input_dim, 1));
  // <blank>, <unk> and one unit; the attention decoder also needs <sos/eos>.
  const int min_vocab = decoder == "attention" ? 4 : 3;
  if (vocab_size < min_vocab) {
    return InvalidArgument("vocab_size (" + std::to_string(vocab_size) + ") must be at least " +
                           std::to_string(min_vocab) + " (<blank>, <unk>, one unit" +
                           (decoder == "attention" ? ", <sos/eos>)" : ")"));
  }
  DIAL_RETURN_IF_ERROR(at_least("subsampling_channels", subsampling_channels, 0));
  DIAL_RETURN_IF_ERROR(at_least("num_layers", num_layers, 1));
  DIAL_RETURN_IF_ERROR(at_least("d_model", d_model, 2));
  if (d_model % 2 != 0) {
    return InvalidArgument("d_model (" + std::to_string(d_model) +
                           ") must be even (sinusoidal positions; two directions of an RNN)");
  }
  DIAL_RETURN_IF_ERROR(at_least("attention_heads", attention_heads, 1));
  if (d_model % attention_heads != 0) {
    return InvalidArgument("d_model (" + std::to_string(d_model) + ") must be divisible by attention_heads (" +
                           std::to_string(attention_heads) + ")");
  }
  DIAL_RETURN_IF_ERROR(at_least("ff_dim", ff_dim, 1));
  DIAL_RETURN_IF_ERROR(at_least("conv_kernel_size", conv_kernel_size, 1));
  if (conv_kernel_size % 2 == 0) {
    return InvalidArgument("conv_kernel_size (" + std::to_string(conv_kernel_size) +
                           ") must be odd (the depthwise convolution is centred)");
  }
  DIAL_RETURN_IF_ERROR(probability("dropout", dropout));
  DIAL_RETURN_IF_ERROR(probability("attention_dropout", attention_dropout));
  if (decoder == "attention") DIAL_RETURN_IF_ERROR(at_least("decoder_layers", decoder_layers, 1));
  if (subsampling == "conv2d" || subsampling == "conv2d2" || subsampling == "conv2d6") {
    // The frequency axis shrinks like the time axis; it must keep at least one bin.
    if (SubsampledLength(subsampling, input_dim) < 1) {
      return InvalidArgument("input_dim (" + std::to_string(input_dim) + ") is too small for subsampling " +
                             subsampling + " (needs at least " + std::to_string(MinInputFrames(subsampling)) + ")");
    }
  }
  return Status::Ok();
}

int64_t SubsampledLength(const std::string& subsampling, int64_t num_frames) {
  // A k×k convolution of stride s without padding: T → floor((T − k) / s) + 1 when T ≥ k, else nothing.
  auto conv = [](int64_t t, int64_t k, int64_t s) -> int64_t { return t < k ? 0 : (t - k) / s + 1; };
  if (subsampling == "conv2d") return conv(conv(num_frames, 3, 2), 3, 2);
  if (subsampling == "conv2d6") return conv(conv(num_frames, 3, 2), 5, 3);
  if (subsampling == "conv2d2") return conv(num_frames, 3, 2);
  return std::max<int64_t>(num_frames, 0);
}

int64_t MinInputFrames(const std::string& subsampling) {
  if (subsampling == "conv2d") return 7;    // 7 → 3 → 1
  if (subsampling == "conv2d6") return 11;  // 11 → 5 → 1
  if (subsampling == "conv2d2") return 3;   // 3 → 1
  return 1;
}

AsrModelImpl::AsrModelImpl(const AsrModelOptions& options) : options_(options) {
  subsampling_ = register_module("subsampling", asr_internal::MakeSubsampling(options_));
  if (options_.encoder == "lstm" || options_.encoder == "gru") {
    encoder_ = register_module("encoder", std::make_shared<asr_internal::RnnEncoder>(options_));
  } else if (options_.encoder == "tdnn") {
    encoder_ = register_module("encoder", std::make_shared<asr_internal::TdnnEncoder>(options_));
  } else {
    encoder_ = register_module("encoder", std::make_shared<asr_internal::AttentionEncoder>(options_));
  }
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
