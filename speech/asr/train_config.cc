// AsrTrainConfig: every trainer key defined once (name, where it is stored, rule, meaning) in AsrTrainKeys() and,
// for the model's keys, AsrModelKeys(). The JSON reader, ToJson, the key list, the per-key checks, --help/--keys
// and the docs' key tables all read these definitions.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <sstream>

#include "speech/asr/trainer.h"

namespace dial::speech {
namespace {

using keys::AnyValue;
using keys::IntAtLeast;
using keys::OneOf;
using C = AsrTrainConfig;

const std::vector<keys::KeySpec<C>>& TrainerOwnKeys() {
  static const std::vector<keys::KeySpec<C>> specs = {
      // Data
      {"data", "Data", &C::data, AnyValue{},
       "corpus directory holding `train/`, `dev/`, `test/` Kaldi data dirs (what `dial corpus synth` writes)",
       "(required)"},
      {"train_set", "Data", &C::train_set, AnyValue{},
       "explicit training set (Kaldi dir, NeMo manifest or WeNet data.list)", "DATA/train"},
      {"dev_set", "Data", &C::dev_set, AnyValue{}, "explicit dev set", "DATA/dev"},
      {"test_set", "Data", &C::test_set, AnyValue{},
       "explicit test set; `none` skips the test evaluation; a missing `DATA/test` is skipped", "DATA/test", true},
      {"data_hours", "Data", &C::data_hours, keys::AtLeastReal(0.0),
       "train on `SelectHours(train, data_hours, seed)`: a speaker-stratified nested subset (the fidelity knob)",
       "0 (all)"},
      {"bad_utterances", "Data", &C::bad_utterances, OneOf{{"skip", "stop"}},
       "`skip`: an unreadable/empty/too-short utterance or one without transcript is logged with its id and file "
       "and left out; `stop`: it ends the run (exit 2)",
       nullptr, true},
      {"feature_cache", "Data", &C::feature_cache, AnyValue{},
       "features computed once per (front end, audio file, speed factor, dither seed) and read back by every later "
       "run and trial that shares them: `auto` = `DATA/.dial-feature-cache` when `data` is set, `none`, or a "
       "directory",
       nullptr, true},
      {"allow_piped_commands", "Data", &C::allow_piped_commands, AnyValue{},
       "run `wav.scp` entries that end in a pipe (a command whose output is the audio)"},
      // Front end
      {"sample_rate", "Front end", &C::sample_rate, IntAtLeast{1000},
       "audio is resampled to it (downsampling only; a lower-rate file is a bad utterance)"},
      {"frame_length_ms", "Front end", &C::frame_length_ms, keys::Positive(), "analysis window length"},
      {"frame_shift_ms", "Front end", &C::frame_shift_ms, keys::Positive(), "hop between frames"},
      {"n_mels", "Front end", &C::n_mels, IntAtLeast{1}, "mel bins (the model's input dimension)"},
      {"window", "Front end", &C::window, OneOf{{"povey", "hann", "hanning", "hamming", "rectangular", "blackman"}},
       "analysis window"},
      {"dither", "Front end", &C::dither, keys::Closed(0.0, 1e4),
       "Gaussian dither (int16 scale), training set only, seeded per utterance"},
      {"speed_perturb", "Front end", &C::speed_perturb, AnyValue{},
       "training copies at speeds 0.9, 1.0, 1.1 (Kaldi's; ids prefixed `sp0.9-`)"},
      // Tokens
      {"tokens", "Tokens", &C::tokens, OneOf{{"char", "sentencepiece"}},
       "`char`: every character of the (lower-cased, whitespace-collapsed) training transcripts, space as `▁`; "
       "`sentencepiece`: a unigram model trained on them"},
      {"sp_vocab_size", "Tokens", &C::sp_vocab_size, IntAtLeast{4},
       "SentencePiece vocabulary, `<blank>`, `<unk>` and `<sos/eos>` included"},
      // Model: AsrModelKeys() come first, then the loss weights.
      {"ctc_weight", "Model", &C::ctc_weight, keys::Closed(0.0, 1.0),
       "with `decoder: attention`: loss = ctc_weight·CTC + (1 − ctc_weight)·attention"},
      {"label_smoothing", "Model", &C::label_smoothing, keys::HalfOpen(0.0, 1.0),
       "label smoothing of the attention decoder's cross-entropy"},
      // Optimiser and schedule
      {"optimizer", "Optimiser and schedule", &C::optimizer, OneOf{{"adam", "adamw", "sgd", "adafactor"}},
       "the optimiser"},
      {"lr", "Optimiser and schedule", &C::lr, keys::Positive(),
       "the **peak** learning rate (warmup schedules reach it at `warmup_steps`); noam ignores it"},
      {"beta1", "Optimiser and schedule", &C::beta1, keys::HalfOpen(0.0, 1.0),
       "Adam/AdamW first moment (Adafactor: momentum on its update)"},
      {"beta2", "Optimiser and schedule", &C::beta2, keys::HalfOpen(0.0, 1.0),
       "Adam/AdamW second moment (Adafactor uses its own decay)"},
      {"eps", "Optimiser and schedule", &C::eps, keys::Positive(), "Adam/AdamW denominator term"},
      {"weight_decay", "Optimiser and schedule", &C::weight_decay, keys::Closed(0.0, 1.0), "L2 (decoupled for adamw)"},
      {"momentum", "Optimiser and schedule", &C::momentum, keys::HalfOpen(0.0, 1.0), "sgd only"},
      {"nesterov", "Optimiser and schedule", &C::nesterov, AnyValue{}, "sgd only; needs momentum > 0"},
      {"scheduler", "Optimiser and schedule", &C::scheduler,
       OneOf{{"warmup_cosine", "warmup_exponential", "noam", "plateau", "cyclic", "constant"}},
       "the learning-rate schedule over `epochs × steps per epoch`"},
      {"warmup_steps", "Optimiser and schedule", &C::warmup_steps, IntAtLeast{0},
       "optimiser steps of linear warmup (noam: ≥ 1)"},
      {"min_lr_ratio", "Optimiser and schedule", &C::min_lr_ratio, keys::Closed(0.0, 1.0),
       "floor as a fraction of the peak (cosine end, exponential, plateau, cyclic minimum)"},
      {"gamma", "Optimiser and schedule", &C::gamma, keys::Closed(1e-9, 1.0), "warmup_exponential: per-step decay"},
      {"noam_factor", "Optimiser and schedule", &C::noam_factor, keys::Positive(),
       "noam: lr = factor · d_model^−0.5 · min(step^−0.5, step · warmup^−1.5)"},
      {"cycle_steps", "Optimiser and schedule", &C::cycle_steps, IntAtLeast{2}, "cyclic: steps of one triangle"},
      {"plateau_factor", "Optimiser and schedule", &C::plateau_factor, keys::Closed(1e-9, 1.0),
       "plateau: multiply the lr by this after `plateau_patience` epochs without dev improvement (of `metric`)"},
      {"plateau_patience", "Optimiser and schedule", &C::plateau_patience, IntAtLeast{0},
       "plateau: epochs without improvement before the lr drops"},
      // Batches and steps
      {"batch_size", "Batches and steps", &C::batch_size, IntAtLeast{1}, "utterances per batch"},
      {"accum_grad", "Batches and steps", &C::accum_grad, IntAtLeast{1},
       "batches per optimiser step (gradients averaged)"},
      {"lr_scaling", "Batches and steps", &C::lr_scaling, OneOf{{"none", "linear", "sqrt"}},
       "with effective batch b = batch_size·accum_grad: `linear` peak = lr·b/base_batch_size (Goyal et al.), "
       "`sqrt` peak = lr·sqrt(b/base_batch_size)"},
      {"base_batch_size", "Batches and steps", &C::base_batch_size, IntAtLeast{1}, "the batch size `lr` was set for"},
      {"grad_clip", "Batches and steps", &C::grad_clip, keys::Closed(0.0, 1e9),
       "max global L2 norm of the gradients (0 = off); the pre-clip norm's epoch mean is logged"},
      {"epochs", "Batches and steps", &C::epochs, IntAtLeast{1}, "passes over the training set", nullptr, true},
      {"seed", "Batches and steps", &C::seed, AnyValue{},
       "seeds weights, dither, batch order, dropout, SpecAugment and data_hours' subset"},
      {"num_threads", "Batches and steps", &C::num_threads, IntAtLeast{1},
       "torch intra-op/OpenMP threads and OpenBLAS threads together; inter-op pool 1", nullptr, true},
      // SpecAugment
      {"num_freq_masks", "SpecAugment", &C::num_freq_masks, IntAtLeast{0}, "frequency masks per utterance"},
      {"freq_mask_width", "SpecAugment", &C::freq_mask_width, IntAtLeast{0}, "widest frequency mask, in mel bins"},
      {"num_time_masks", "SpecAugment", &C::num_time_masks, IntAtLeast{0}, "time masks per utterance"},
      {"time_mask_width", "SpecAugment", &C::time_mask_width, IntAtLeast{0}, "widest time mask, in frames"},
      {"time_mask_max_fraction", "SpecAugment", &C::time_mask_max_fraction, keys::Closed(0.0, 1.0),
       "a time mask covers at most this fraction of the utterance"},
      {"time_warp_window", "SpecAugment", &C::time_warp_window, IntAtLeast{0}, "time warp window in frames; 0 = off"},
      // Evaluation
      {"decoding", "Evaluation", &C::decoding,
       OneOf{{"ctc_greedy_search", "ctc_prefix_beam_search", "attention_rescoring"}},
       "search on dev and test; attention_rescoring needs `decoder: attention`", nullptr, true},
      {"beam_size", "Evaluation", &C::beam_size, IntAtLeast{1}, "prefix beam / n-best size", nullptr, true},
      {"metric", "Evaluation", &C::metric, OneOf{{"wer", "cer", "worst_speaker_wer", "dev_loss"}},
       "the value reported per epoch (and given to plateau); `dev_loss` ranks configurations whose error rates a "
       "small dev set ties",
       nullptr, true},
  };
  return specs;
}

// One key of AsrTrainConfig, wherever it is stored (the trainer's own fields or config.model).
struct TrainKey {
  const char* name;
  const char* group;
  const keys::Rule* rule;
  const char* doc;
  const char* default_text;
  bool resumable;
  std::function<Status(C*, const Json&)> set;
  std::function<Json(const C&)> get;
  std::function<Status(const C&)> check;
};

template <class Config, class Access>
TrainKey MakeKey(const keys::KeySpec<Config>& spec, Access access) {
  return {spec.name,
          spec.group,
          &spec.rule,
          spec.doc,
          spec.default_text,
          spec.resumable,
          [&spec, access](C* c, const Json& v) { return keys::SetField(&access(*c), spec.field, spec.name, v); },
          [&spec, access](const C& c) { return keys::GetField(access(c), spec.field); },
          [&spec, access](const C& c) { return keys::CheckField(access(c), spec); }};
}

// Every key in the docs' order: the trainer's own, with the model's inserted before the loss weights.
const std::vector<TrainKey>& AllKeys() {
  static const std::vector<TrainKey> all = [] {
    std::vector<TrainKey> out;
    const auto self = [](auto& c) -> auto& { return c; };
    const auto model = [](auto& c) -> auto& { return c.model; };
    for (const auto& spec : TrainerOwnKeys()) {
      if (std::string(spec.name) == "ctc_weight") {
        for (const auto& m : AsrModelKeys()) out.push_back(MakeKey(m, model));
      }
      out.push_back(MakeKey(spec, self));
    }
    return out;
  }();
  return all;
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
  for (const TrainKey& k : AllKeys()) {
    const size_t d = EditDistance(key, k.name);
    if (d < best_distance) {
      best_distance = d;
      best = k.name;
    }
  }
  std::string message = key + ": unknown key";
  // Suggest only near misses (a typo), not an arbitrary key.
  if (best_distance <= std::max<size_t>(2, key.size() / 3)) message += " (did you mean " + best + "?)";
  return message + "; see docs/asr-training.md or dial train --keys";
}

// A default value as a YAML file would spell it.
std::string DefaultText(const TrainKey& key) {
  if (key.default_text != nullptr) return key.default_text;
  const Json v = key.get(AsrTrainConfig{});
  if (v.is_string()) return v.get<std::string>().empty() ? "\"\"" : v.get<std::string>();
  if (v.is_number_float()) return keys::FormatNumber(v.get<double>());
  return v.dump();
}

}  // namespace

const std::vector<std::string>& AsrTrainConfigKeys() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const TrainKey& k : AllKeys()) out.push_back(k.name);
    return out;
  }();
  return names;
}

const std::vector<AsrKeyDoc>& AsrTrainKeyDocs() {
  static const std::vector<AsrKeyDoc> docs = [] {
    std::vector<AsrKeyDoc> out;
    for (const TrainKey& k : AllKeys()) {
      out.push_back({k.name, k.group, DefaultText(k), keys::RuleText(*k.rule), k.doc, k.resumable});
    }
    return out;
  }();
  return docs;
}

std::string AsrKeysMarkdown(const std::string& group) {
  std::string out = "| key | default | values | meaning |\n|---|---|---|---|\n";
  for (const AsrKeyDoc& k : AsrTrainKeyDocs()) {
    if (k.group != group) continue;
    out += "| `" + k.name + "` | " + k.default_value + " | " + k.values + " | " + k.meaning + " |\n";
  }
  return out;
}

std::string AsrKeysText() {
  std::string out;
  std::string group;
  for (const AsrKeyDoc& k : AsrTrainKeyDocs()) {
    if (k.group != group) {
      group = k.group;
      out += (out.empty() ? "" : "\n") + group + ":\n";
    }
    std::string line = "  " + k.name + " = " + k.default_value;
    if (!k.values.empty()) line += "  (" + k.values + ")";
    std::string meaning = k.meaning;  // Markdown's bold means nothing on a terminal
    for (size_t at = meaning.find("**"); at != std::string::npos; at = meaning.find("**", at)) meaning.erase(at, 2);
    out += line + "\n      " + meaning + "\n";
  }
  return out;
}

Status MergeAsrTrainConfig(const Json& keys, AsrTrainConfig* config) {
  if (!keys.is_object()) return InvalidArgument("the training keys must be a mapping of key: value");
  for (const auto& [key, value] : keys.items()) {
    const auto it = std::find_if(AllKeys().begin(), AllKeys().end(), [&](const TrainKey& k) { return key == k.name; });
    if (it == AllKeys().end()) return InvalidArgument(UnknownKeyMessage(key));
    DIAL_RETURN_IF_ERROR(it->set(config, value));
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
  for (const TrainKey& k : AllKeys()) out[k.name] = k.get(*this);
  return out;
}

bool IsResumableKey(const std::string& name) {
  for (const TrainKey& k : AllKeys()) {
    if (name == k.name) return k.resumable;
  }
  return false;
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
  for (const TrainKey& k : AllKeys()) DIAL_RETURN_IF_ERROR(k.check(*this));
  // The model's rules between keys; its input is the front end's mel bins.
  AsrModelOptions shape = model;
  shape.input_dim = n_mels;
  DIAL_RETURN_IF_ERROR(shape.ValidateKeys());
  if (nesterov && optimizer == "sgd" && momentum <= 0) {
    return InvalidArgument("nesterov: needs momentum > 0 (momentum is " + keys::FormatNumber(momentum) + ")");
  }
  if (scheduler == "noam") DIAL_RETURN_IF_ERROR(keys::CheckInteger("warmup_steps", IntAtLeast{1}, warmup_steps));
  if (decoding == "attention_rescoring" && model.decoder != "attention") {
    return InvalidArgument("decoding: attention_rescoring needs decoder: attention (decoder is " + model.decoder + ")");
  }
  return Status::Ok();
}

}  // namespace dial::speech
