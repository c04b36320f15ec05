// The model's keys (one definition each: rule, default, meaning) and the checks between them.
#include "speech/asr/model_options.h"

#include <algorithm>

namespace dial::speech {

const std::vector<keys::KeySpec<AsrModelOptions>>& AsrModelKeys() {
  using M = AsrModelOptions;
  using keys::IntAtLeast;
  using keys::OneOf;
  static const char* kGroup = "Model";
  static const std::vector<keys::KeySpec<M>> specs = {
      {"encoder", kGroup, &M::encoder, OneOf{{"lstm", "gru", "transformer", "conformer", "tdnn"}},
       "encoder family (docs/asr-model.md)"},
      {"bidirectional", kGroup, &M::bidirectional, keys::AnyValue{},
       "lstm/gru only: `d_model`/2 units per direction so the output stays `d_model` wide"},
      {"subsampling", kGroup, &M::subsampling, OneOf{{"conv2d", "conv2d2", "conv2d6", "none"}},
       "front-end frame-rate reduction: conv2d 4×, conv2d2 2×, conv2d6 6×, none"},
      {"subsampling_channels", kGroup, &M::subsampling_channels, IntAtLeast{0},
       "channels of the subsampling convolutions; 0 = `d_model` (the ESPnet/WeNet layout)"},
      {"num_layers", kGroup, &M::num_layers, IntAtLeast{1},
       "encoder blocks (RNN layers for lstm/gru, convolutions for tdnn)"},
      {"d_model", kGroup, &M::d_model, IntAtLeast{2}, "model width; even, and divisible by `attention_heads`"},
      {"attention_heads", kGroup, &M::attention_heads, IntAtLeast{1}, "heads of every attention"},
      {"ff_dim", kGroup, &M::ff_dim, IntAtLeast{1}, "hidden width of the feed-forward modules"},
      {"conv_kernel_size", kGroup, &M::conv_kernel_size, IntAtLeast{1},
       "odd: Conformer depthwise convolution kernel, TDNN convolution kernel (frames after subsampling)"},
      {"conv_norm", kGroup, &M::conv_norm, OneOf{{"batch_norm", "layer_norm"}},
       "normalisation inside the Conformer conv module and after each TDNN convolution"},
      {"dropout", kGroup, &M::dropout, keys::HalfOpen(0.0, 1.0),
       "dropout on residual branches, feed-forward hidden, inputs and positions; between RNN layers"},
      {"attention_dropout", kGroup, &M::attention_dropout, keys::HalfOpen(0.0, 1.0), "dropout on attention weights"},
      {"residual_scaling", kGroup, &M::residual_scaling, OneOf{{"none", "deepnorm", "rezero"}},
       "depth-aware residuals for transformer/conformer encoders (docs/asr-model.md)"},
      {"decoder", kGroup, &M::decoder, OneOf{{"ctc", "attention"}},
       "CTC head alone, or a Transformer decoder trained jointly with CTC"},
      {"decoder_layers", kGroup, &M::decoder_layers, IntAtLeast{1}, "attention decoder blocks"},
  };
  return specs;
}

Status AsrModelOptions::ValidateKeys() const {
  for (const auto& spec : AsrModelKeys()) DIAL_RETURN_IF_ERROR(keys::CheckField(*this, spec));
  DIAL_RETURN_IF_ERROR(keys::CheckInteger("input_dim", keys::IntAtLeast{1}, input_dim));
  if (d_model % 2 != 0) {
    return InvalidArgument("d_model (" + std::to_string(d_model) +
                           ") must be even (sinusoidal positions; two directions of an RNN)");
  }
  if (d_model % attention_heads != 0) {
    return InvalidArgument("d_model (" + std::to_string(d_model) + ") must be divisible by attention_heads (" +
                           std::to_string(attention_heads) + ")");
  }
  if (conv_kernel_size % 2 == 0) {
    return InvalidArgument("conv_kernel_size (" + std::to_string(conv_kernel_size) +
                           ") must be odd (the depthwise convolution is centred)");
  }
  if (subsampling != "none" && SubsampledLength(subsampling, input_dim) < 1) {
    // The frequency axis shrinks like the time axis; it must keep at least one bin.
    return InvalidArgument("input_dim (" + std::to_string(input_dim) + ") is too small for subsampling " + subsampling +
                           " (needs at least " + std::to_string(MinInputFrames(subsampling)) + ")");
  }
  return Status::Ok();
}

Status AsrModelOptions::Validate() const {
  DIAL_RETURN_IF_ERROR(ValidateKeys());
  // <blank>, <unk> and one unit; the attention decoder also needs <sos/eos>.
  const int min_vocab = decoder == "attention" ? 4 : 3;
  if (vocab_size < min_vocab) {
    return InvalidArgument("vocab_size (" + std::to_string(vocab_size) + ") must be at least " +
                           std::to_string(min_vocab) + " (<blank>, <unk>, one unit" +
                           (decoder == "attention" ? ", <sos/eos>)" : ")"));
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

}  // namespace dial::speech
