// AsrTrainConfig: one table of keys (name → member) drives the JSON reader, ToJson and the key list, and
// Validate checks every value with a message naming its key.
#include <algorithm>
#include <cmath>
#include <limits>
#include <variant>

#include "speech/asr/trainer.h"

namespace dial::speech {
namespace {

using Member = std::variant<std::string AsrTrainConfig::*, int AsrTrainConfig::*, int64_t AsrTrainConfig::*,
                            uint64_t AsrTrainConfig::*, double AsrTrainConfig::*, bool AsrTrainConfig::*>;

struct KeyInfo {
  const char* name;
  Member member;
};

const std::vector<KeyInfo>& Keys() {
  using C = AsrTrainConfig;
  static const std::vector<KeyInfo> keys = {
      {"data", &C::data},
      {"train_set", &C::train_set},
      {"dev_set", &C::dev_set},
      {"test_set", &C::test_set},
      {"data_hours", &C::data_hours},
      {"bad_utterances", &C::bad_utterances},
      {"allow_piped_commands", &C::allow_piped_commands},
      {"feature_cache", &C::feature_cache},
      {"sample_rate", &C::sample_rate},
      {"frame_length_ms", &C::frame_length_ms},
      {"frame_shift_ms", &C::frame_shift_ms},
      {"n_mels", &C::n_mels},
      {"window", &C::window},
      {"dither", &C::dither},
      {"speed_perturb", &C::speed_perturb},
      {"tokens", &C::tokens},
      {"sp_vocab_size", &C::sp_vocab_size},
      {"encoder", &C::encoder},
      {"bidirectional", &C::bidirectional},
      {"subsampling", &C::subsampling},
      {"num_layers", &C::num_layers},
      {"d_model", &C::d_model},
      {"attention_heads", &C::attention_heads},
      {"ff_dim", &C::ff_dim},
      {"conv_kernel_size", &C::conv_kernel_size},
      {"dropout", &C::dropout},
      {"attention_dropout", &C::attention_dropout},
      {"residual_scaling", &C::residual_scaling},
      {"decoder", &C::decoder},
      {"decoder_layers", &C::decoder_layers},
      {"conv_norm", &C::conv_norm},
      {"ctc_weight", &C::ctc_weight},
      {"label_smoothing", &C::label_smoothing},
      {"optimizer", &C::optimizer},
      {"lr", &C::lr},
      {"beta1", &C::beta1},
      {"beta2", &C::beta2},
      {"eps", &C::eps},
      {"weight_decay", &C::weight_decay},
      {"momentum", &C::momentum},
      {"nesterov", &C::nesterov},
      {"scheduler", &C::scheduler},
      {"warmup_steps", &C::warmup_steps},
      {"min_lr_ratio", &C::min_lr_ratio},
      {"gamma", &C::gamma},
      {"noam_factor", &C::noam_factor},
      {"cycle_steps", &C::cycle_steps},
      {"plateau_factor", &C::plateau_factor},
      {"plateau_patience", &C::plateau_patience},
      {"batch_size", &C::batch_size},
      {"accum_grad", &C::accum_grad},
      {"lr_scaling", &C::lr_scaling},
      {"base_batch_size", &C::base_batch_size},
      {"grad_clip", &C::grad_clip},
      {"epochs", &C::epochs},
      {"seed", &C::seed},
      {"num_threads", &C::num_threads},
      {"num_freq_masks", &C::num_freq_masks},
      {"freq_mask_width", &C::freq_mask_width},
      {"num_time_masks", &C::num_time_masks},
      {"time_mask_width", &C::time_mask_width},
      {"time_mask_max_fraction", &C::time_mask_max_fraction},
      {"time_warp_window", &C::time_warp_window},
      {"decoding", &C::decoding},
      {"beam_size", &C::beam_size},
      {"metric", &C::metric},
  };
  return keys;
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string UnknownKeyMessage(const std::string& key) {
  std::string best;
  size_t best_distance = std::numeric_limits<size_t>::max();
  for (const KeyInfo& k : Keys()) {
    const size_t d = EditDistance(key, k.name);
    if (d < best_distance) {
      best_distance = d;
      best = k.name;
    }
  }
  std::string message = key + ": unknown key";
  // Suggest only near misses (a typo), not an arbitrary key.
  if (best_distance <= std::max<size_t>(2, key.size() / 3)) message += " (did you mean " + best + "?)";
  return message + "; see docs/asr-training.md for the keys";
}

Status SetMember(AsrTrainConfig* config, const KeyInfo& info, const Json& v) {
  const std::string key = info.name;
  return std::visit(
      [&](auto member) -> Status {
        using T = std::remove_reference_t<decltype(config->*member)>;
        if constexpr (std::is_same_v<T, std::string>) {
          if (!v.is_string()) return InvalidArgument(key + ": expected a string, got " + v.dump());
          config->*member = v.get<std::string>();
        } else if constexpr (std::is_same_v<T, bool>) {
          if (!v.is_boolean()) return InvalidArgument(key + ": expected true or false, got " + v.dump());
          config->*member = v.get<bool>();
        } else if constexpr (std::is_same_v<T, double>) {
          if (!v.is_number()) return InvalidArgument(key + ": expected a number, got " + v.dump());
          config->*member = v.get<double>();
        } else {
          if (v.is_number_unsigned()) {
            const uint64_t u = v.get<uint64_t>();
            if (u > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
              return InvalidArgument(key + ": " + v.dump() + " is out of range");
            }
            config->*member = static_cast<T>(u);
          } else if (v.is_number_integer()) {
            const int64_t i = v.get<int64_t>();
            if (i < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
                (i > 0 && static_cast<uint64_t>(i) > static_cast<uint64_t>(std::numeric_limits<T>::max()))) {
              return InvalidArgument(key + ": " + v.dump() + " is out of range");
            }
            config->*member = static_cast<T>(i);
          } else if (v.is_number_float()) {
            const double d = v.get<double>();
            if (!std::isfinite(d) || d != std::floor(d) || d < static_cast<double>(std::numeric_limits<T>::min()) ||
                d > static_cast<double>(std::numeric_limits<T>::max())) {
              return InvalidArgument(key + ": expected an integer, got " + v.dump());
            }
            config->*member = static_cast<T>(d);
          } else {
            return InvalidArgument(key + ": expected an integer, got " + v.dump());
          }
        }
        return Status::Ok();
      },
      info.member);
}

Status OneOf(const std::string& key, const std::string& value, std::initializer_list<const char*> allowed) {
  std::string list;
  for (const char* a : allowed) {
    if (value == a) return Status::Ok();
    list += (list.empty() ? "" : ", ") + std::string(a);
  }
  return InvalidArgument(key + ": '" + value + "' is not one of " + list);
}

Status Positive(const std::string& key, double value) {
  if (!(value > 0) || !std::isfinite(value)) {
    return InvalidArgument(key + " (" + Json(value).dump() + ") must be a positive number");
  }
  return Status::Ok();
}

Status InRange(const std::string& key, double value, double low, double high) {
  if (!(value >= low && value <= high)) {
    return InvalidArgument(key + " (" + Json(value).dump() + ") must be in [" + Json(low).dump() + ", " +
                           Json(high).dump() + "]");
  }
  return Status::Ok();
}

Status AtLeast(const std::string& key, int64_t value, int64_t low) {
  if (value < low) {
    return InvalidArgument(key + " (" + std::to_string(value) + ") must be >= " + std::to_string(low));
  }
  return Status::Ok();
}

}  // namespace

const std::vector<std::string>& AsrTrainConfigKeys() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const KeyInfo& k : Keys()) out.push_back(k.name);
    return out;
  }();
  return names;
}

Status MergeAsrTrainConfig(const Json& keys, AsrTrainConfig* config) {
  if (!keys.is_object()) return InvalidArgument("the training keys must be a mapping of key: value");
  for (const auto& [key, value] : keys.items()) {
    const auto it = std::find_if(Keys().begin(), Keys().end(), [&](const KeyInfo& k) { return key == k.name; });
    if (it == Keys().end()) return InvalidArgument(UnknownKeyMessage(key));
    DIAL_RETURN_IF_ERROR(SetMember(config, *it, value));
  }
  return Status::Ok();
}

Result<AsrTrainConfig> AsrTrainConfigFromJson(const Json& keys) {
  AsrTrainConfig config;
  DIAL_RETURN_IF_ERROR(MergeAsrTrainConfig(keys, &config));
  DIAL_RETURN_IF_ERROR(config.Validate());
  return config;
}

Json AsrTrainConfig::ToJson() const {
  Json out = Json::object();
  for (const KeyInfo& k : Keys()) {
    std::visit([&](auto member) { out[k.name] = this->*member; }, k.member);
  }
  return out;
}

double AsrEvalMetrics::Metric(const std::string& name) const {
  if (name == "cer") return cer;
  if (name == "worst_speaker_wer") return worst_speaker_wer;
  if (name == "dev_loss") return loss;
  return wer;
}

Status AsrTrainConfig::Validate() const {
  if (data.empty() && (train_set.empty() || dev_set.empty())) {
    return InvalidArgument("data: a corpus directory is required (or both train_set and dev_set)");
  }
  if (!(data_hours >= 0) || !std::isfinite(data_hours)) {
    return InvalidArgument("data_hours (" + Json(data_hours).dump() + ") must be >= 0 (0 = all)");
  }
  DIAL_RETURN_IF_ERROR(OneOf("bad_utterances", bad_utterances, {"skip", "stop"}));
  DIAL_RETURN_IF_ERROR(AtLeast("sample_rate", sample_rate, 1000));
  DIAL_RETURN_IF_ERROR(Positive("frame_length_ms", frame_length_ms));
  DIAL_RETURN_IF_ERROR(Positive("frame_shift_ms", frame_shift_ms));
  DIAL_RETURN_IF_ERROR(AtLeast("n_mels", n_mels, 1));
  DIAL_RETURN_IF_ERROR(OneOf("window", window, {"povey", "hann", "hanning", "hamming", "rectangular", "blackman"}));
  DIAL_RETURN_IF_ERROR(InRange("dither", dither, 0.0, 1e4));
  DIAL_RETURN_IF_ERROR(OneOf("tokens", tokens, {"char", "sentencepiece"}));
  DIAL_RETURN_IF_ERROR(AtLeast("sp_vocab_size", sp_vocab_size, 4));
  DIAL_RETURN_IF_ERROR(OneOf("encoder", encoder, {"lstm", "gru", "transformer", "conformer", "tdnn"}));
  DIAL_RETURN_IF_ERROR(OneOf("subsampling", subsampling, {"conv2d", "conv2d2", "conv2d6", "none"}));
  DIAL_RETURN_IF_ERROR(AtLeast("num_layers", num_layers, 1));
  DIAL_RETURN_IF_ERROR(AtLeast("d_model", d_model, 1));
  DIAL_RETURN_IF_ERROR(AtLeast("attention_heads", attention_heads, 1));
  DIAL_RETURN_IF_ERROR(AtLeast("ff_dim", ff_dim, 1));
  DIAL_RETURN_IF_ERROR(AtLeast("conv_kernel_size", conv_kernel_size, 1));
  DIAL_RETURN_IF_ERROR(InRange("dropout", dropout, 0.0, 0.99));
  DIAL_RETURN_IF_ERROR(InRange("attention_dropout", attention_dropout, 0.0, 0.99));
  DIAL_RETURN_IF_ERROR(OneOf("residual_scaling", residual_scaling, {"none", "deepnorm", "rezero"}));
  DIAL_RETURN_IF_ERROR(OneOf("decoder", decoder, {"ctc", "attention"}));
  DIAL_RETURN_IF_ERROR(AtLeast("decoder_layers", decoder_layers, 1));
  DIAL_RETURN_IF_ERROR(OneOf("conv_norm", conv_norm, {"batch_norm", "layer_norm"}));
  DIAL_RETURN_IF_ERROR(InRange("ctc_weight", ctc_weight, 0.0, 1.0));
  DIAL_RETURN_IF_ERROR(InRange("label_smoothing", label_smoothing, 0.0, 0.99));
  DIAL_RETURN_IF_ERROR(OneOf("optimizer", optimizer, {"adam", "adamw", "sgd", "adafactor"}));
  DIAL_RETURN_IF_ERROR(Positive("lr", lr));
  DIAL_RETURN_IF_ERROR(InRange("beta1", beta1, 0.0, 0.999999));
  DIAL_RETURN_IF_ERROR(InRange("beta2", beta2, 0.0, 0.999999));
  DIAL_RETURN_IF_ERROR(Positive("eps", eps));
  DIAL_RETURN_IF_ERROR(InRange("weight_decay", weight_decay, 0.0, 1.0));
  DIAL_RETURN_IF_ERROR(InRange("momentum", momentum, 0.0, 0.999999));
  if (nesterov && optimizer == "sgd" && momentum <= 0) {
    return InvalidArgument("nesterov: needs momentum > 0 (momentum is " + Json(momentum).dump() + ")");
  }
  DIAL_RETURN_IF_ERROR(
      OneOf("scheduler", scheduler, {"warmup_cosine", "warmup_exponential", "noam", "plateau", "cyclic", "constant"}));
  DIAL_RETURN_IF_ERROR(AtLeast("warmup_steps", warmup_steps, 0));
  if (scheduler == "noam") DIAL_RETURN_IF_ERROR(AtLeast("warmup_steps", warmup_steps, 1));
  DIAL_RETURN_IF_ERROR(InRange("min_lr_ratio", min_lr_ratio, 0.0, 1.0));
  DIAL_RETURN_IF_ERROR(InRange("gamma", gamma, 1e-9, 1.0));
  DIAL_RETURN_IF_ERROR(Positive("noam_factor", noam_factor));
  DIAL_RETURN_IF_ERROR(AtLeast("cycle_steps", cycle_steps, 2));
  DIAL_RETURN_IF_ERROR(InRange("plateau_factor", plateau_factor, 1e-9, 1.0));
  DIAL_RETURN_IF_ERROR(AtLeast("plateau_patience", plateau_patience, 0));
  DIAL_RETURN_IF_ERROR(AtLeast("batch_size", batch_size, 1));
  DIAL_RETURN_IF_ERROR(AtLeast("accum_grad", accum_grad, 1));
  DIAL_RETURN_IF_ERROR(OneOf("lr_scaling", lr_scaling, {"none", "linear", "sqrt"}));
  DIAL_RETURN_IF_ERROR(AtLeast("base_batch_size", base_batch_size, 1));
  DIAL_RETURN_IF_ERROR(InRange("grad_clip", grad_clip, 0.0, 1e9));
  DIAL_RETURN_IF_ERROR(AtLeast("epochs", epochs, 1));
  DIAL_RETURN_IF_ERROR(AtLeast("num_threads", num_threads, 1));
  DIAL_RETURN_IF_ERROR(AtLeast("num_freq_masks", num_freq_masks, 0));
  DIAL_RETURN_IF_ERROR(AtLeast("freq_mask_width", freq_mask_width, 0));
  DIAL_RETURN_IF_ERROR(AtLeast("num_time_masks", num_time_masks, 0));
  DIAL_RETURN_IF_ERROR(AtLeast("time_mask_width", time_mask_width, 0));
  DIAL_RETURN_IF_ERROR(InRange("time_mask_max_fraction", time_mask_max_fraction, 0.0, 1.0));
  DIAL_RETURN_IF_ERROR(AtLeast("time_warp_window", time_warp_window, 0));
  DIAL_RETURN_IF_ERROR(
      OneOf("decoding", decoding, {"ctc_greedy_search", "ctc_prefix_beam_search", "attention_rescoring"}));
  if (decoding == "attention_rescoring" && decoder != "attention") {
    return InvalidArgument("decoding: attention_rescoring needs decoder: attention (decoder is " + decoder + ")");
  }
  DIAL_RETURN_IF_ERROR(AtLeast("beam_size", beam_size, 1));
  DIAL_RETURN_IF_ERROR(OneOf("metric", metric, {"wer", "cer", "worst_speaker_wer", "dev_loss"}));
  if (encoder == "transformer" || encoder == "conformer" || decoder == "attention") {
    if (d_model % attention_heads != 0) {
      return InvalidArgument("d_model (" + std::to_string(d_model) + ") must be divisible by attention_heads (" +
                             std::to_string(attention_heads) + ")");
    }
  }
  return Status::Ok();
}

}  // namespace dial::speech
