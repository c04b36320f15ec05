// TrainAsr: data → tokenizer → CMVN → model/optimizer/schedule → epochs of training with dev evaluation and
// checkpoints → test evaluation. The only place that turns AsrTrainConfig into torch objects.
#include "speech/asr/trainer.h"

#include <dlfcn.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>

#include "speech/asr/dataset.h"
#include "speech/asr/model.h"
#include "speech/asr/optim.h"
#include "speech/asr/search.h"
#include "speech/asr/tokenizer.h"
#include "speech/augment/spec_augment.h"
#include "speech/data/corpus.h"
#include "speech/data/text_file.h"
#include "speech/scoring/scoring.h"

namespace dial::speech {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kDivergedPrefix = "diverged: ";
constexpr const char* kCheckpointFile = "checkpoint.pt";
constexpr const char* kCheckpointMetaFile = "checkpoint.json";
constexpr const char* kConfigFile = "train_config.json";
constexpr const char* kCmvnFile = "global_cmvn.json";
// A batch's loss (per utterance) above this ends the run: CTC of a 20 s utterance at initialisation is ~2e3.
constexpr double kExplodingLoss = 1e4;
// An epoch whose mean loss exceeds this multiple of the first epoch's has diverged.
constexpr double kExplodingLossRatio = 10.0;
// Speed perturbation factors (Kaldi/ESPnet).
const std::vector<double> kSpeedFactors = {0.9, 1.0, 1.1};
double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

uint64_t MixSeed(uint64_t a, uint64_t b) {
  uint64_t z = a + 0x9E3779B97F4A7C15ULL * (b + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Sets the threads of every pool that would otherwise size itself to the machine: torch's intra-op pool
// (OpenMP), its inter-op pool (1: the trainer issues one op at a time) and OpenBLAS's own pool when the
// OpenBLAS build has one. Without this, OpenMP and OpenBLAS each start one thread per core and oversubscribe.
void SetThreads(int n) {
  at::set_num_threads(n);
  try {
    at::set_num_interop_threads(1);
  } catch (const c10::Error&) {
    // Already set (a second run in the same process, or after inter-op work started): keep it.
  }
  using SetFn = void (*)(int);
  if (auto fn = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) fn(n);
}

Status WriteFileAtomically(const fs::path& path, const std::string& content) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc | std::ios::binary);
    out << content;
    out.close();
    if (!out) return IoError("cannot write " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return IoError("cannot rename " + tmp.string() + " to " + path.string() + ": " + ec.message());
  return Status::Ok();
}

Result<Corpus> ReadSet(const std::string& path, const std::string& key, const AsrTrainConfig& config) {
  ReadCorpusOptions options;
  options.allow_piped_commands = config.allow_piped_commands;
  Result<Corpus> corpus = ReadCorpus(path, options);
  if (!corpus.ok()) return corpus.status().WithContext(key);
  return corpus;
}

AsrModelOptions ModelOptionsOf(const AsrTrainConfig& c, int vocab_size) {
  AsrModelOptions o = c.model;
  o.input_dim = c.n_mels;
  o.vocab_size = vocab_size;
  return o;
}

// lr_scaling: the configured lr is for base_batch_size; with an effective batch b = batch_size·accum_grad the
// peak becomes lr·(b / base) (linear, Goyal et al. 2017) or lr·sqrt(b / base) (square root, Krizhevsky 2014).
double ScaledLearningRate(const AsrTrainConfig& c) {
  const double ratio = static_cast<double>(c.batch_size) * c.accum_grad / c.base_batch_size;
  if (c.lr_scaling == "linear") return c.lr * ratio;
  if (c.lr_scaling == "sqrt") return c.lr * std::sqrt(ratio);
  return c.lr;
}

std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

// Decodes a set and scores it. Timed span: encoder forward + CTC head + search (collation and feature
// extraction excluded), on the threads already set.
Result<AsrEvalMetrics> Evaluate(AsrModel& model, const AsrDataSet& set, const Tokenizer& tokenizer,
                                const AsrTrainConfig& c) {
  model->eval();
  torch::NoGradGuard no_grad;
  std::vector<Utterance> refs, hyps;
  std::map<std::string, std::string> utt2spk;
  double decode_seconds = 0.0;
  double loss_sum = 0.0;
  for (const std::vector<int>& indices : MakeBatches(set, c.batch_size, /*shuffle=*/false, 0)) {
    const AsrBatch batch = CollateBatch(set, indices);
    const auto start = Clock::now();
    const EncoderOutput enc = model->Encode(batch.feats, batch.feat_lens);
    const torch::Tensor log_probs = model->CtcLogProbs(enc.out);
    std::vector<std::vector<int>> tokens;
    if (c.decoding == "ctc_greedy_search") {
      tokens = CtcGreedySearch(log_probs, enc.lens);
    } else {
      for (int64_t b = 0; b < log_probs.size(0); ++b) {
        const int64_t len = enc.lens[b].item<int64_t>();
        std::vector<Hypothesis> nbest = CtcPrefixBeamSearch(log_probs[b].slice(0, 0, len), c.beam_size);
        if (c.decoding == "attention_rescoring" && !nbest.empty()) {
          EncoderOutput one{enc.out.slice(0, b, b + 1).slice(1, 0, std::max<int64_t>(len, 1)),
                            enc.lens.slice(0, b, b + 1)};
          nbest = AttentionRescoring(model, one, nbest, c.ctc_weight);
        }
        tokens.push_back(nbest.empty() ? std::vector<int>{} : nbest.front().tokens);
      }
    }
    decode_seconds += Seconds(start);
    const AsrModelImpl::Loss loss =
        model->ComputeLoss(enc, batch.targets, batch.target_lens, c.ctc_weight, c.label_smoothing);
    loss_sum += loss.total.item<double>() * static_cast<double>(indices.size());
    for (size_t k = 0; k < indices.size(); ++k) {
      const AsrUtterance& u = set.utterances[indices[k]];
      refs.push_back({u.id, Words(NormalizeTranscript(u.text))});
      hyps.push_back({u.id, Words(tokenizer.Decode(tokens[k]))});
      utt2spk[u.id] = u.speaker.empty() ? ScliteSpeakerOf(u.id) : u.speaker;
    }
  }
  // Score wants references in a stable order.
  std::vector<size_t> order(refs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return refs[a].id < refs[b].id; });
  std::vector<Utterance> sorted_refs, sorted_hyps;
  for (size_t i : order) {
    sorted_refs.push_back(refs[i]);
    sorted_hyps.push_back(hyps[i]);
  }
  ScoreOptions word_options;
  DIAL_ASSIGN_OR_RETURN(ScoreReport words, Score(sorted_refs, sorted_hyps, utt2spk, word_options));
  ScoreOptions char_options;
  char_options.unit = ScoreUnit::kChar;
  DIAL_ASSIGN_OR_RETURN(ScoreReport chars, Score(sorted_refs, sorted_hyps, utt2spk, char_options));
  AsrEvalMetrics m;
  m.wer = words.total.ErrorRatePercent();
  m.cer = chars.total.ErrorRatePercent();
  if (words.worst_group >= 0) {
    m.worst_speaker = words.groups[words.worst_group].group;
    m.worst_speaker_wer = words.groups[words.worst_group].counts.ErrorRatePercent();
  }
  m.n_utterances = static_cast<int64_t>(set.utterances.size());
  m.loss = set.utterances.empty() ? 0.0 : loss_sum / static_cast<double>(set.utterances.size());
  m.audio_seconds = set.total_seconds;
  m.rtf = set.total_seconds > 0 ? decode_seconds / set.total_seconds : 0.0;
  m.kaldi_wer_line = FormatKaldiLine(words.total, "WER");
  m.kaldi_cer_line = FormatKaldiLine(chars.total, "CER");
  m.speaker_table = FormatGroupTable(words, "WER");
  return m;
}

Json MetricsToJson(const AsrEvalMetrics& m) {
  return {{"wer", m.wer},
          {"cer", m.cer},
          {"worst_speaker_wer", m.worst_speaker_wer},
          {"worst_speaker", m.worst_speaker},
          {"loss", m.loss},
          {"rtf", m.rtf},
          {"n_utterances", m.n_utterances},
          {"audio_seconds", m.audio_seconds},
          {"kaldi_wer_line", m.kaldi_wer_line},
          {"kaldi_cer_line", m.kaldi_cer_line},
          {"speaker_table", m.speaker_table}};
}

AsrEvalMetrics MetricsFromJson(const Json& j) {
  AsrEvalMetrics m;
  m.wer = j.value("wer", 0.0);
  m.cer = j.value("cer", 0.0);
  m.worst_speaker_wer = j.value("worst_speaker_wer", 0.0);
  m.worst_speaker = j.value("worst_speaker", "");
  m.loss = j.value("loss", 0.0);
  m.rtf = j.value("rtf", 0.0);
  m.n_utterances = j.value("n_utterances", int64_t{0});
  m.audio_seconds = j.value("audio_seconds", 0.0);
  m.kaldi_wer_line = j.value("kaldi_wer_line", "");
  m.kaldi_cer_line = j.value("kaldi_cer_line", "");
  m.speaker_table = j.value("speaker_table", "");
  return m;
}

Json EpochToJson(const AsrEpochReport& e) {
  return {{"epoch", e.epoch},
          {"train_loss", e.train_loss},
          {"mean_grad_norm", e.mean_grad_norm},
          {"lr", e.lr},
          {"seconds", e.seconds},
          {"train_seconds", e.train_seconds},
          {"utterances_per_second", e.utterances_per_second},
          {"dev", MetricsToJson(e.dev)}};
}

AsrEpochReport EpochFromJson(const Json& j) {
  AsrEpochReport e;
  e.epoch = j.value("epoch", 0);
  e.train_loss = j.value("train_loss", 0.0);
  e.mean_grad_norm = j.value("mean_grad_norm", 0.0);
  e.lr = j.value("lr", 0.0);
  e.seconds = j.value("seconds", 0.0);
  e.train_seconds = j.value("train_seconds", 0.0);
  e.utterances_per_second = j.value("utterances_per_second", 0.0);
  if (j.contains("dev")) e.dev = MetricsFromJson(j["dev"]);
  return e;
}

// What a checkpoint holds besides tensors.
struct CheckpointMeta {
  int epoch = 0;     // epochs completed
  int64_t step = 0;  // optimizer steps taken
  double first_epoch_loss = 0.0;
  uint64_t seed = 0;
  std::vector<AsrEpochReport> epochs;
};

Status SaveCheckpoint(const fs::path& dir, AsrModel& model, torch::optim::Optimizer& optimizer,
                      const CheckpointMeta& meta, const std::function<void(const std::string&)>& log) {
  try {
    torch::serialize::OutputArchive archive;
    torch::serialize::OutputArchive model_archive;
    model->save(model_archive);
    archive.write("model", model_archive);
    try {
      torch::serialize::OutputArchive optimizer_archive;
      optimizer.save(optimizer_archive);
      archive.write("optimizer", optimizer_archive);
    } catch (const c10::Error& e) {
      if (log) log("checkpoint: optimizer state not saved (" + std::string(e.what_without_backtrace()) + ")");
    }
    archive.write("epoch", torch::tensor(static_cast<int64_t>(meta.epoch)));
    archive.write("step", torch::tensor(meta.step));
    const fs::path tmp = dir / (std::string(kCheckpointFile) + ".tmp");
    archive.save_to(tmp.string());
    fs::rename(tmp, dir / kCheckpointFile);
  } catch (const c10::Error& e) {
    return IoError("cannot write checkpoint in " + dir.string() + ": " + e.what_without_backtrace());
  } catch (const fs::filesystem_error& e) {
    return IoError("cannot write checkpoint in " + dir.string() + ": " + e.what());
  }
  Json epochs = Json::array();
  for (const AsrEpochReport& e : meta.epochs) epochs.push_back(EpochToJson(e));
  const Json j = {{"epoch", meta.epoch},
                  {"step", meta.step},
                  {"first_epoch_loss", meta.first_epoch_loss},
                  {"seed", meta.seed},
                  {"epochs", epochs}};
  return WriteFileAtomically(dir / kCheckpointMetaFile, j.dump(2) + "\n");
}

// Loads checkpoint.json and checkpoint.pt into the model and optimizer; false when there is none.
Result<bool> LoadCheckpoint(const fs::path& dir, AsrModel& model, torch::optim::Optimizer& optimizer,
                            CheckpointMeta* meta, const std::function<void(const std::string&)>& log) {
  if (!fs::exists(dir / kCheckpointMetaFile) || !fs::exists(dir / kCheckpointFile)) return false;
  DIAL_ASSIGN_OR_RETURN(std::string text, ReadTextFile((dir / kCheckpointMetaFile).string()));
  try {
    const Json j = Json::parse(text);
    meta->epoch = j.at("epoch").get<int>();
    meta->step = j.at("step").get<int64_t>();
    meta->first_epoch_loss = j.at("first_epoch_loss").get<double>();
    meta->seed = j.at("seed").get<uint64_t>();
    meta->epochs.clear();
    for (const Json& e : j.at("epochs")) meta->epochs.push_back(EpochFromJson(e));
  } catch (const Json::exception& e) {
    return InvalidArgument((dir / kCheckpointMetaFile).string() + ": " + e.what());
  }
  try {
    torch::serialize::InputArchive archive;
    archive.load_from((dir / kCheckpointFile).string());
    torch::serialize::InputArchive model_archive;
    archive.read("model", model_archive);
    model->load(model_archive);
    torch::serialize::InputArchive optimizer_archive;
    if (archive.try_read("optimizer", optimizer_archive)) {
      optimizer.load(optimizer_archive);
    } else if (log) {
      log("resume: the checkpoint has no optimizer state; the optimizer starts afresh");
    }
    torch::Tensor epoch;
    archive.read("epoch", epoch);
    if (epoch.item<int64_t>() != meta->epoch) {
      return FailedPrecondition((dir / kCheckpointFile).string() + " holds epoch " +
                                std::to_string(epoch.item<int64_t>()) + " but " + kCheckpointMetaFile + " says " +
                                std::to_string(meta->epoch));
    }
  } catch (const c10::Error& e) {
    return InvalidArgument((dir / kCheckpointFile).string() + ": cannot load: " + e.what_without_backtrace());
  }
  return true;
}

// A run's saved train_config.json.
Result<Json> ReadSavedConfig(const fs::path& file) {
  DIAL_ASSIGN_OR_RETURN(std::string text, ReadTextFile(file.string()));
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    return InvalidArgument(file.string() + ": " + e.what());
  }
}

// The keys of a saved config that must equal the current one for a resume.
Status CheckResumable(const Json& saved, const Json& current, const fs::path& file) {
  // A key added after the checkpoint was written (subsampling_channels) counts as its default then.
  const Json defaults = AsrTrainConfig{}.ToJson();
  for (const auto& [key, value] : current.items()) {
    if (IsResumableKey(key)) continue;
    if (!saved.contains(key) && value == defaults[key]) continue;
    if (!saved.contains(key) || saved[key] != value) {
      return FailedPrecondition(file.string() + ": the checkpoint here was trained with " + key + " = " +
                                (saved.contains(key) ? saved[key].dump() : std::string("(unset)")) + ", not " +
                                value.dump() + "; use another output directory or remove it");
    }
  }
  return Status::Ok();
}

Status Diverged(const std::string& why) { return FailedPrecondition(kDivergedPrefix + why); }

std::string Fixed(double v, int digits) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(digits);
  out << v;
  return out.str();
}

std::string Short(double v) {
  std::ostringstream out;
  out.precision(4);
  out << v;
  return out.str();
}

using Log = std::function<void(const std::string&)>;

// The data of a run: the three sets as features with tokens, CMVN applied, and the tokenizer that made the tokens.
struct TrainData {
  AsrDataSet train, dev, test;
  bool has_test = false;
  std::unique_ptr<Tokenizer> tokenizer;
};

// The front end's options from the keys (the training set adds dither and speed perturbation).
Result<LoadSetOptions> FrontEndOptions(const AsrTrainConfig& c) {
  LoadSetOptions load;
  load.fbank.sample_rate = static_cast<float>(c.sample_rate);
  load.fbank.frame_length_ms = static_cast<float>(c.frame_length_ms);
  load.fbank.frame_shift_ms = static_cast<float>(c.frame_shift_ms);
  load.fbank.n_mels = c.n_mels;
  DIAL_ASSIGN_OR_RETURN(load.fbank.window, ParseWindowType(c.window));
  load.seed = c.seed;
  load.bad_utterances = c.bad_utterances == "stop" ? BadUtterancePolicy::kStop : BadUtterancePolicy::kSkip;
  load.allow_piped_commands = c.allow_piped_commands;
  load.num_threads = c.num_threads;
  if (c.feature_cache == "auto") {
    load.feature_cache_dir = c.data.empty() ? "" : (fs::path(c.data) / ".dial-feature-cache").string();
  } else if (c.feature_cache != "none") {
    load.feature_cache_dir = c.feature_cache;
  }
  if (Status valid = load.fbank.Validate(); !valid.ok()) {
    return InvalidArgument("front end (sample_rate, frame_length_ms, n_mels...): " + valid.message());
  }
  return load;
}

// Reads the three sets (the training set cut to data_hours) and computes their features.
Status LoadFeatures(const AsrTrainConfig& c, const LoadSetOptions& load, const Log& log, TrainData* data) {
  const auto set_path = [&](const std::string& given, const char* name) {
    return given.empty() ? (fs::path(c.data) / name).string() : given;
  };
  DIAL_ASSIGN_OR_RETURN(Corpus train_corpus, ReadSet(set_path(c.train_set, "train"), "train_set", c));
  DIAL_ASSIGN_OR_RETURN(Corpus dev_corpus, ReadSet(set_path(c.dev_set, "dev"), "dev_set", c));
  data->has_test = c.test_set != "none" && (!c.test_set.empty() || fs::exists(fs::path(c.data) / "test"));
  Corpus test_corpus;
  if (data->has_test) {
    DIAL_ASSIGN_OR_RETURN(test_corpus, ReadSet(set_path(c.test_set, "test"), "test_set", c));
  }
  if (c.data_hours > 0) {
    DIAL_RETURN_IF_ERROR(FillDurations(&train_corpus, c.allow_piped_commands).WithContext("data_hours"));
    DIAL_ASSIGN_OR_RETURN(train_corpus, SelectHours(train_corpus, c.data_hours, c.seed));
  }
  LoadSetOptions train_load = load;
  train_load.fbank.dither = static_cast<float>(c.dither);
  if (c.speed_perturb) train_load.speed_factors = kSpeedFactors;
  DIAL_ASSIGN_OR_RETURN(data->train, LoadAsrSet(train_corpus, "train", train_load, log));
  DIAL_ASSIGN_OR_RETURN(data->dev, LoadAsrSet(dev_corpus, "dev", load, log));
  if (data->has_test) {
    DIAL_ASSIGN_OR_RETURN(data->test, LoadAsrSet(test_corpus, "test", load, log));
  }
  return Status::Ok();
}

// Tokens: built from the training transcripts, or read back when resuming (ids must not move). Then drops the
// training utterances too short for their tokens (CTC needs at least as many output frames as tokens).
Status Tokenize(const AsrTrainConfig& c, bool resuming, const Log& log, TrainData* data) {
  const bool has_dir = !c.output_dir.empty();
  if (resuming) {
    DIAL_ASSIGN_OR_RETURN(data->tokenizer, LoadTokenizer(c.output_dir));
  } else {
    std::vector<std::string> transcripts;
    for (const AsrUtterance& u : data->train.utterances) transcripts.push_back(u.text);
    if (c.tokens == "sentencepiece") {
      const std::string sp_dir = has_dir ? c.output_dir : fs::temp_directory_path().string();
      DIAL_ASSIGN_OR_RETURN(data->tokenizer, TrainSentencePieceTokenizer(transcripts, c.sp_vocab_size, sp_dir));
    } else {
      DIAL_ASSIGN_OR_RETURN(data->tokenizer, BuildCharTokenizer(transcripts));
    }
    if (has_dir) DIAL_RETURN_IF_ERROR(data->tokenizer->Save(c.output_dir));
  }
  TokenizeSet(*data->tokenizer, &data->train);
  TokenizeSet(*data->tokenizer, &data->dev);
  if (data->has_test) TokenizeSet(*data->tokenizer, &data->test);
  AsrDataSet& train = data->train;
  std::vector<AsrUtterance> kept;
  for (AsrUtterance& u : train.utterances) {
    const int64_t frames = SubsampledLength(c.model.subsampling, u.feats.num_frames);
    if (frames < static_cast<int64_t>(u.tokens.size())) {
      log("train: skipping " + u.id + " (" + u.audio_file + "): " + std::to_string(frames) +
          " frames after subsampling for " + std::to_string(u.tokens.size()) + " tokens");
      train.skipped.push_back(u.id + " (" + u.audio_file + "): too short for its transcript");
      continue;
    }
    kept.push_back(std::move(u));
  }
  train.utterances = std::move(kept);
  if (train.utterances.empty()) return FailedPrecondition("train: no utterance is long enough for its transcript");
  return Status::Ok();
}

// Features, tokens and global CMVN (from the training set, applied to every set); writes global_cmvn.json and
// train_config.json to the output directory.
Result<TrainData> PrepareData(const AsrTrainConfig& c, bool resuming, const Log& log) {
  DIAL_ASSIGN_OR_RETURN(LoadSetOptions load, FrontEndOptions(c));
  const auto load_start = Clock::now();
  TrainData data;
  DIAL_RETURN_IF_ERROR(LoadFeatures(c, load, log, &data));
  DIAL_RETURN_IF_ERROR(Tokenize(c, resuming, log, &data));
  DIAL_ASSIGN_OR_RETURN(GlobalCmvn cmvn, ComputeCmvn(data.train));
  DIAL_RETURN_IF_ERROR(ApplyCmvn(cmvn, &data.train));
  DIAL_RETURN_IF_ERROR(ApplyCmvn(cmvn, &data.dev));
  if (data.has_test) DIAL_RETURN_IF_ERROR(ApplyCmvn(cmvn, &data.test));
  if (!c.output_dir.empty()) {
    const fs::path dir = c.output_dir;
    DIAL_RETURN_IF_ERROR(WriteFileAtomically(dir / kCmvnFile, cmvn.ToJson() + "\n"));
    DIAL_RETURN_IF_ERROR(WriteFileAtomically(dir / kConfigFile, c.ToJson().dump(2) + "\n"));
  }
  const int64_t cache_hits = data.train.feature_cache_hits + data.dev.feature_cache_hits + data.test.feature_cache_hits;
  log("data: train " + std::to_string(data.train.utterances.size()) + " utt (" +
      Fixed(data.train.total_seconds / 3600, 3) + " h, " + std::to_string(data.train.skipped.size()) +
      " skipped), dev " + std::to_string(data.dev.utterances.size()) +
      (data.has_test ? ", test " + std::to_string(data.test.utterances.size()) : std::string()) + "; vocabulary " +
      std::to_string(data.tokenizer->vocab_size()) + " (" + data.tokenizer->kind() + "); features in " +
      Fixed(Seconds(load_start), 1) + " s" +
      (load.feature_cache_dir.empty()
           ? std::string(" (no feature cache)")
           : " (" + std::to_string(cache_hits) + " from the cache in " + load.feature_cache_dir + ")"));
  return data;
}

// The model and what updates it.
struct Learner {
  AsrModel model{nullptr};
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  std::optional<LrSchedule> schedule;
  int64_t steps_per_epoch = 0;
};

Result<Learner> NewLearner(const AsrTrainConfig& c, const TrainData& data) {
  Learner learner;
  DIAL_ASSIGN_OR_RETURN(learner.model, NewAsrModel(ModelOptionsOf(c, data.tokenizer->vocab_size()), c.seed));
  OptimizerOptions opt;
  opt.name = c.optimizer;
  opt.lr = ScaledLearningRate(c);
  opt.beta1 = c.beta1;
  opt.beta2 = c.beta2;
  opt.eps = c.eps;
  opt.weight_decay = c.weight_decay;
  opt.momentum = c.optimizer == "sgd" ? c.momentum : 0.0;
  opt.nesterov = c.optimizer == "sgd" && c.nesterov;
  DIAL_ASSIGN_OR_RETURN(learner.optimizer, NewOptimizer(learner.model->parameters(), opt));
  const int64_t n_train = static_cast<int64_t>(data.train.utterances.size());
  const int64_t batches_per_epoch = (n_train + c.batch_size - 1) / c.batch_size;
  learner.steps_per_epoch = (batches_per_epoch + c.accum_grad - 1) / c.accum_grad;
  ScheduleOptions sched;
  sched.name = c.scheduler;
  sched.lr = opt.lr;
  sched.warmup_steps = c.warmup_steps;
  sched.total_steps = std::max<int64_t>(1, learner.steps_per_epoch * c.epochs);
  sched.min_lr_ratio = c.min_lr_ratio;
  sched.gamma = c.gamma;
  sched.noam_factor = c.noam_factor;
  sched.d_model = c.model.d_model;
  sched.cycle_steps = c.cycle_steps;
  sched.plateau_factor = c.plateau_factor;
  sched.plateau_patience = c.plateau_patience;
  DIAL_ASSIGN_OR_RETURN(LrSchedule schedule, NewLrSchedule(sched));
  learner.schedule.emplace(std::move(schedule));
  return learner;
}

// SpecAugment on training batches; empty when every mask count is 0 and there is no warp.
Result<FeatureAugmenter> NewAugmenter(const AsrTrainConfig& c) {
  SpecAugmentOptions spec;
  spec.num_freq_masks = c.num_freq_masks;
  spec.freq_mask_width = c.freq_mask_width;
  spec.num_time_masks = c.num_time_masks;
  spec.time_mask_width = c.time_mask_width;
  spec.time_mask_max_fraction = c.time_mask_max_fraction;
  spec.time_warp_window = c.time_warp_window;
  DIAL_RETURN_IF_ERROR(spec.Validate());
  FeatureAugmenter augment;
  if (spec.num_freq_masks > 0 || spec.num_time_masks > 0 || spec.time_warp_window > 0) {
    augment = [spec](FeatureMatrix& feats, uint64_t seed) {
      std::mt19937_64 rng(seed);
      ApplySpecAugment(&feats, spec, rng);
    };
  }
  return augment;
}

// One pass over the training set: the epoch's report without its dev figures. `step` counts optimizer steps.
Result<AsrEpochReport> TrainEpoch(const AsrTrainConfig& c, int epoch, const AsrDataSet& train,
                                  const FeatureAugmenter& augment, const AsrTrainCallbacks& callbacks, Learner& learner,
                                  int64_t* step) {
  const auto epoch_start = Clock::now();
  const uint64_t epoch_seed = MixSeed(c.seed, static_cast<uint64_t>(epoch));
  torch::manual_seed(epoch_seed);  // dropout: the same per epoch whether resumed or not
  AsrModel& model = learner.model;
  torch::optim::Optimizer& optimizer = *learner.optimizer;
  const LrSchedule& schedule = *learner.schedule;
  const std::vector<torch::Tensor> params = model->parameters();
  model->train();
  const std::vector<std::vector<int>> batches = MakeBatches(train, c.batch_size, /*shuffle=*/true, epoch_seed);
  double loss_sum = 0.0, grad_norm_sum = 0.0;
  int64_t loss_count = 0, grad_norm_count = 0;
  optimizer.zero_grad();
  for (size_t i = 0; i < batches.size(); ++i) {
    if (callbacks.should_stop && callbacks.should_stop()) {
      return Cancelled("interrupted in epoch " + std::to_string(epoch) + " (checkpoint of epoch " +
                       std::to_string(epoch - 1) + " kept)");
    }
    const AsrBatch batch = CollateBatch(train, batches[i], augment, MixSeed(epoch_seed, i));
    const AsrModelImpl::Loss loss = model->ComputeLoss(batch.feats, batch.feat_lens, batch.targets, batch.target_lens,
                                                       c.ctc_weight, c.label_smoothing);
    const double value = loss.total.item<double>();
    if (!std::isfinite(value)) {
      return Diverged("loss is " + Short(value) + " in epoch " + std::to_string(epoch) + ", batch " +
                      std::to_string(i + 1) + " (lr " + Short(schedule.LearningRate(std::max<int64_t>(*step, 1))) +
                      ")");
    }
    if (value > kExplodingLoss) {
      return Diverged("loss " + Short(value) + " per utterance exceeds " + Short(kExplodingLoss) + " in epoch " +
                      std::to_string(epoch) + ", batch " + std::to_string(i + 1));
    }
    const int64_t b = batch.feats.size(0);
    loss_sum += value * static_cast<double>(b);
    loss_count += b;
    (loss.total / static_cast<double>(c.accum_grad)).backward();
    const bool boundary = (i + 1) % static_cast<size_t>(c.accum_grad) == 0 || i + 1 == batches.size();
    if (!boundary) continue;
    ++*step;
    SetLearningRate(optimizer, schedule.LearningRate(*step));
    // Global L2 norm of all gradients, ‖g‖ = sqrt(Σ‖g_p‖²); rescaled to grad_clip when above it.
    const double max_norm = c.grad_clip > 0 ? c.grad_clip : std::numeric_limits<double>::infinity();
    const double norm = torch::nn::utils::clip_grad_norm_(params, max_norm);
    if (!std::isfinite(norm)) {
      return Diverged("gradient norm is " + Short(norm) + " in epoch " + std::to_string(epoch) + ", step " +
                      std::to_string(*step));
    }
    grad_norm_sum += norm;
    ++grad_norm_count;
    optimizer.step();
    optimizer.zero_grad();
  }
  const double train_seconds = Seconds(epoch_start);
  AsrEpochReport report;
  report.epoch = epoch;
  report.train_loss = loss_count > 0 ? loss_sum / static_cast<double>(loss_count) : 0.0;
  report.mean_grad_norm = grad_norm_count > 0 ? grad_norm_sum / static_cast<double>(grad_norm_count) : 0.0;
  report.lr = schedule.LearningRate(std::max<int64_t>(*step, 1));
  report.train_seconds = train_seconds;
  report.utterances_per_second = train_seconds > 0 ? static_cast<double>(loss_count) / train_seconds : 0.0;
  return report;
}

// Creates the output directory; true when it holds a checkpoint to resume (made with the same shaping keys).
Result<bool> PrepareOutputDir(const AsrTrainConfig& c) {
  if (c.output_dir.empty()) return false;
  const fs::path dir = c.output_dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return IoError("cannot create output directory " + dir.string() + ": " + ec.message());
  if (!fs::exists(dir / kCheckpointMetaFile)) return false;
  DIAL_ASSIGN_OR_RETURN(Json saved, ReadSavedConfig(dir / kConfigFile));
  DIAL_RETURN_IF_ERROR(CheckResumable(saved, c.ToJson(), dir / kConfigFile));
  return true;
}

Result<AsrTrainResult> TrainImpl(const AsrTrainConfig& c, const AsrTrainCallbacks& callbacks) {
  DIAL_RETURN_IF_ERROR(c.Validate());
  const Log log = [&](const std::string& line) {
    if (callbacks.log) callbacks.log(line);
  };
  SetThreads(c.num_threads);
  DIAL_ASSIGN_OR_RETURN(const bool resuming, PrepareOutputDir(c));
  DIAL_ASSIGN_OR_RETURN(TrainData data, PrepareData(c, resuming, log));
  DIAL_ASSIGN_OR_RETURN(Learner learner, NewLearner(c, data));
  LrSchedule& schedule = *learner.schedule;

  AsrTrainResult result;
  result.num_parameters = learner.model->NumParameters();
  result.peak_lr = schedule.PeakLearningRate();
  result.num_threads = c.num_threads;
  result.vocab_size = data.tokenizer->vocab_size();
  result.n_train_utterances = static_cast<int64_t>(data.train.utterances.size());
  log("model: " + c.model.encoder + " " + std::to_string(c.model.num_layers) + "x" + std::to_string(c.model.d_model) +
      ", " + std::to_string(result.num_parameters) + " parameters; " + c.optimizer + ", " + c.scheduler + " peak lr " +
      Short(result.peak_lr) + " (lr " + Short(c.lr) + ", lr_scaling " + c.lr_scaling + "), " +
      std::to_string(learner.steps_per_epoch) + " steps/epoch; " + std::to_string(c.num_threads) + " thread(s)");

  const bool has_dir = !c.output_dir.empty();
  const fs::path dir = c.output_dir;
  CheckpointMeta meta;
  meta.seed = c.seed;
  if (resuming) {
    DIAL_ASSIGN_OR_RETURN(bool loaded, LoadCheckpoint(dir, learner.model, *learner.optimizer, &meta, log));
    if (loaded) {
      // plateau keeps state: replay the dev metrics it saw.
      for (const AsrEpochReport& e : meta.epochs) schedule.ReportMetric(e.dev.Metric(c.metric));
      result.epochs = meta.epochs;
      if (!meta.epochs.empty()) result.dev = meta.epochs.back().dev;
      log("resume: from epoch " + std::to_string(meta.epoch) + " (step " + std::to_string(meta.step) + ") in " +
          dir.string());
    }
  }
  DIAL_ASSIGN_OR_RETURN(const FeatureAugmenter augment, NewAugmenter(c));

  const auto run_start = Clock::now();
  int64_t step = meta.step;
  for (int epoch = meta.epoch + 1; epoch <= c.epochs; ++epoch) {
    const auto epoch_start = Clock::now();
    DIAL_ASSIGN_OR_RETURN(AsrEpochReport report, TrainEpoch(c, epoch, data.train, augment, callbacks, learner, &step));
    if (epoch == 1) meta.first_epoch_loss = report.train_loss;
    if (epoch > 1 && meta.first_epoch_loss > 0 && report.train_loss > kExplodingLossRatio * meta.first_epoch_loss) {
      return Diverged("epoch " + std::to_string(epoch) + " loss " + Short(report.train_loss) + " is over " +
                      Short(kExplodingLossRatio) + "x the first epoch's (" + Short(meta.first_epoch_loss) + ")");
    }
    DIAL_ASSIGN_OR_RETURN(report.dev, Evaluate(learner.model, data.dev, *data.tokenizer, c));
    report.seconds = Seconds(epoch_start);
    schedule.ReportMetric(report.dev.Metric(c.metric));
    result.epochs.push_back(report);
    result.dev = report.dev;
    meta.epoch = epoch;
    meta.step = step;
    meta.epochs = result.epochs;
    if (has_dir) DIAL_RETURN_IF_ERROR(SaveCheckpoint(dir, learner.model, *learner.optimizer, meta, log));
    log("epoch " + std::to_string(epoch) + "/" + std::to_string(c.epochs) + ": loss " + Short(report.train_loss) +
        ", grad norm " + Short(report.mean_grad_norm) + ", dev WER " + Fixed(report.dev.wer, 2) + " CER " +
        Fixed(report.dev.cer, 2) + ", lr " + Short(report.lr) + ", " + Fixed(report.seconds, 1) + " s (" +
        Fixed(report.utterances_per_second, 1) + " utt/s)");
    if (callbacks.on_epoch && !callbacks.on_epoch(report)) {
      result.stopped_early = true;
      result.train_seconds = Seconds(run_start);
      return result;
    }
  }
  result.train_seconds = Seconds(run_start);
  if (result.epochs.empty()) return FailedPrecondition("no epoch was trained");
  if (data.has_test) {
    DIAL_ASSIGN_OR_RETURN(result.test, Evaluate(learner.model, data.test, *data.tokenizer, c));
    result.has_test = true;
  }
  return result;
}

}  // namespace

bool IsDivergence(const Status& status) {
  return status.code() == StatusCode::kFailedPrecondition && status.message().rfind(kDivergedPrefix, 0) == 0;
}

Result<std::string> ContinueFromCheckpoint(const AsrTrainConfig& config, const std::string& from_dir) {
  const fs::path from(from_dir), dir(config.output_dir);
  if (config.output_dir.empty()) return InvalidArgument("continuing from " + from_dir + " needs an output directory");
  if (fs::exists(dir / kCheckpointMetaFile))
    return std::string("its own checkpoint in " + dir.string() + " is resumed");
  if (!fs::exists(from / kCheckpointMetaFile) || !fs::exists(from / kCheckpointFile)) {
    return std::string("no checkpoint in " + from_dir + ": training starts afresh");
  }
  DIAL_ASSIGN_OR_RETURN(Json saved, ReadSavedConfig(from / kConfigFile));
  if (Status same = CheckResumable(saved, config.ToJson(), from / kConfigFile); !same.ok()) {
    // Another model or other data (a fidelity level that changes num_layers or data_hours): nothing to continue.
    return "training starts afresh: " + same.message();
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return IoError("cannot create output directory " + dir.string() + ": " + ec.message());
  // checkpoint.json last: it is what marks a directory as resumable.
  for (const char* name : {kCheckpointFile, kConfigFile, kCmvnFile, "units.txt", "sentencepiece.vocab",
                           "sentencepiece.model", kCheckpointMetaFile}) {
    if (!fs::exists(from / name)) continue;
    const fs::path tmp = dir / (std::string(name) + ".tmp");
    fs::copy_file(from / name, tmp, fs::copy_options::overwrite_existing, ec);
    if (!ec) fs::rename(tmp, dir / name, ec);
    if (ec) return IoError("cannot copy " + (from / name).string() + " to " + dir.string() + ": " + ec.message());
  }
  return "continuing from the checkpoint in " + from_dir;
}

Result<AsrTrainResult> TrainAsr(const AsrTrainConfig& config, const AsrTrainCallbacks& callbacks) {
  try {
    return TrainImpl(config, callbacks);
  } catch (const c10::Error& e) {
    return Internal(std::string("torch: ") + e.what_without_backtrace());
  }
}

}  // namespace dial::speech
