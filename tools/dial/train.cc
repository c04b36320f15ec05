// `dial train`: one run of the built-in ASR trainer from flat keys (a YAML file, --set overrides, and in trial mode
// the tuner's params file), printing per-epoch progress and the test WER; in --trial mode it speaks the command
// objective's JSON-lines protocol (docs/command-objective.md) so that `dial tune` can run it as a trial.
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include "cli.h"
#include "speech/asr/trainer.h"

namespace dial::cli {
namespace {

constexpr const char* kDefaultOutputDir = "exp/asr";
// Mappings whose keys are merged as training keys (what `dial best` and study files hold), in this order.
constexpr const char* kNestedBlocks[] = {"fixed", "params"};

std::atomic<bool> g_stop{false};
extern "C" void OnTrainStopSignal(int) { g_stop.store(true); }

struct TrainArgs {
  std::string config;
  std::vector<std::string> sets;
  std::string out;
  bool trial = false;
  bool list_keys = false;
};

// A YAML scalar as JSON: quoted scalars stay strings; plain ones become bool, integer, float or string as YAML
// 1.2's core schema reads them.
Json ScalarToJson(const YAML::Node& node) {
  const std::string& s = node.Scalar();
  if (node.Tag() == "!") return s;  // quoted
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (s == "null" || s == "~" || s.empty()) return nullptr;
  try {
    size_t used = 0;
    const long long i = std::stoll(s, &used);
    if (used == s.size()) return i;
  } catch (const std::exception&) {
  }
  try {
    size_t used = 0;
    const double d = std::stod(s, &used);
    if (used == s.size()) return d;
  } catch (const std::exception&) {
  }
  return s;
}

Result<Json> NodeToJson(const YAML::Node& node, const std::string& where) {
  if (node.IsScalar()) return ScalarToJson(node);
  if (node.IsNull()) return Json(nullptr);
  if (node.IsSequence()) {
    Json out = Json::array();
    for (const auto& item : node) {
      DIAL_ASSIGN_OR_RETURN(Json j, NodeToJson(item, where));
      out.push_back(j);
    }
    return out;
  }
  Json out = Json::object();
  for (const auto& kv : node) {
    DIAL_ASSIGN_OR_RETURN(Json j, NodeToJson(kv.second, where));
    out[kv.first.Scalar()] = j;
  }
  return out;
}

// The training keys of a config file: its top-level mapping, with `fixed:` and `params:` blocks flattened in.
Result<Json> ReadConfigKeys(const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    return NotFound("--config " + path + ": cannot read the file");
  } catch (const YAML::Exception& e) {
    return InvalidArgument(path + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
  if (root.IsNull()) return Json::object();
  if (!root.IsMap()) return InvalidArgument(path + ": expected a mapping of training keys (key: value)");
  DIAL_ASSIGN_OR_RETURN(Json all, NodeToJson(root, path));
  Json keys = Json::object();
  for (const auto& [key, value] : all.items()) {
    bool nested = false;
    for (const char* block : kNestedBlocks) nested = nested || key == block;
    if (!nested) keys[key] = value;
  }
  for (const char* block : kNestedBlocks) {
    if (!all.contains(block)) continue;
    if (!all[block].is_object()) return InvalidArgument(path + ": " + block + ": expected a mapping of key: value");
    for (const auto& [key, value] : all[block].items()) keys[key] = value;
  }
  return keys;
}

Result<Json> ParseSet(const std::string& assignment) {
  const size_t eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    return InvalidArgument("--set " + assignment + ": expected key=value");
  }
  const std::string key = assignment.substr(0, eq);
  const std::string value = assignment.substr(eq + 1);
  try {
    const YAML::Node node = YAML::Load(value);
    DIAL_ASSIGN_OR_RETURN(Json j, NodeToJson(node, "--set"));
    if (node.IsNull() && !value.empty()) j = value;
    return Json{{key, j}};
  } catch (const YAML::Exception&) {
    return Json{{key, value}};
  }
}

Result<Json> ReadParamsFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("$DIAL_PARAMS_FILE " + path + ": cannot read the file");
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    Json j = Json::parse(ss.str());
    if (!j.is_object()) return InvalidArgument("$DIAL_PARAMS_FILE " + path + ": expected a JSON object");
    return j;
  } catch (const Json::exception& e) {
    return InvalidArgument("$DIAL_PARAMS_FILE " + path + ": " + e.what());
  }
}

// JSON numbers must stay numbers for the protocol: NaN and infinities as Python's json.dumps writes them.
std::string Number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return Json(v).dump();
}

// Fields of a protocol line: a key and its value as JSON text, in order.
using Fields = std::vector<std::pair<std::string, std::string>>;

void AppendMetricsFields(const speech::AsrEvalMetrics& m, const std::string& prefix, Fields& fields) {
  // The set's loss: "dev_loss" on dev ("loss" is the training loss), "test_loss" on test.
  const std::string loss_key = prefix.empty() ? "dev_loss" : prefix + "loss";
  fields.emplace_back(prefix + "wer", Number(m.wer));
  fields.emplace_back(prefix + "cer", Number(m.cer));
  fields.emplace_back(prefix + "worst_speaker_wer", Number(m.worst_speaker_wer));
  fields.emplace_back(loss_key, Number(m.loss));
}

// One JSON object on one line. The study's metric leads and is also one of the figures after it ("wer"): a key is
// written once, at its first place, so that a strict reader sees no duplicate key.
std::string JsonLine(const Fields& fields) {
  std::string line = "{";
  std::set<std::string> written;
  for (const auto& [key, value] : fields) {
    if (!written.insert(key).second) continue;
    if (written.size() > 1) line += ", ";
    line += Json(key).dump() + ": " + value;
  }
  return line + "}";
}

int RunTrain(const TrainArgs& args) {
  if (args.list_keys) {
    std::cout << speech::AsrKeysText();
    return kExitOk;
  }
  const char* params_file = std::getenv("DIAL_PARAMS_FILE");
  const bool trial = args.trial || (params_file != nullptr && *params_file != '\0');
  Json keys = Json::object();
  if (!args.config.empty()) {
    auto from_file = ReadConfigKeys(args.config);
    if (!from_file.ok()) return ReportError(from_file.status());
    keys = *from_file;
  } else if (!trial) {
    return ReportError(InvalidArgument("--config FILE is required (or --trial with $DIAL_PARAMS_FILE)"));
  }
  for (const std::string& s : args.sets) {
    auto j = ParseSet(s);
    if (!j.ok()) return ReportError(j.status());
    for (const auto& [k, v] : j->items()) keys[k] = v;
  }
  if (trial && params_file != nullptr && *params_file != '\0') {
    auto params = ReadParamsFile(params_file);
    if (!params.ok()) return ReportError(params.status());
    for (const auto& [k, v] : params->items()) keys[k] = v;
  }
  auto config = speech::AsrTrainConfigFromJson(keys);
  if (!config.ok()) return ReportError(config.status());
  if (!args.out.empty()) {
    config->output_dir = args.out;
  } else if (const char* trial_dir = std::getenv("DIAL_TRIAL_DIR"); trial && trial_dir != nullptr && *trial_dir) {
    config->output_dir = trial_dir;
  } else {
    config->output_dir = kDefaultOutputDir;
  }

  // A promoted multi-fidelity trial or a retry: continue its parent's (or the failed attempt's) run when it can.
  if (const char* from = std::getenv("DIAL_RESUME_FROM"); trial && from != nullptr && *from != '\0') {
    auto note = speech::ContinueFromCheckpoint(*config, from);
    if (!note.ok()) return ReportError(note.status());
    std::cerr << "dial train: resume: " << *note << std::endl;
  }

  g_stop.store(false);
  std::signal(SIGINT, OnTrainStopSignal);
  std::signal(SIGTERM, OnTrainStopSignal);
  speech::AsrTrainCallbacks callbacks;
  callbacks.log = [](const std::string& line) { std::cerr << "dial train: " << line << std::endl; };
  callbacks.should_stop = [] { return g_stop.load(); };
  const std::string metric = config->metric;
  callbacks.on_epoch = [&](const speech::AsrEpochReport& e) {
    if (trial) {
      Fields fields = {{"step", std::to_string(e.epoch)}, {metric, Number(e.dev.Metric(metric))}};
      AppendMetricsFields(e.dev, "", fields);
      fields.emplace_back("lr", Number(e.lr));
      fields.emplace_back("loss", Number(e.train_loss));
      std::cout << JsonLine(fields) << std::endl;
    } else {
      std::cout << "epoch " << e.epoch << "/" << config->epochs << "  loss " << FormatFixed(e.train_loss, 3)
                << "  dev WER " << FormatFixed(e.dev.wer, 2) << "  CER " << FormatFixed(e.dev.cer, 2) << "  lr "
                << Number(e.lr) << "  " << FormatFixed(e.seconds, 1) << " s" << std::endl;
    }
    return !g_stop.load();
  };
  auto result = speech::TrainAsr(*config, callbacks);
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (!result.ok()) {
    if (speech::IsDivergence(result.status())) {
      // Not bad input: the run itself failed (a trial's FAIL reason is this line).
      if (trial) std::cout << Json{{"event", "diverged"}, {"reason", result.status().message()}}.dump() << std::endl;
      std::cerr << "dial: error: " << result.status().message() << std::endl;
      return kExitFailure;
    }
    return ReportError(result.status());
  }
  if (result->stopped_early) {
    return ReportError(Cancelled("interrupted after epoch " + std::to_string(result->epochs.size()) +
                                 " (checkpoint kept in " + config->output_dir + ")"));
  }
  const speech::AsrEvalMetrics& final_set = result->has_test ? result->test : result->dev;
  if (trial) {
    Fields fields = {{metric, Number(result->dev.Metric(metric))}};
    AppendMetricsFields(result->dev, "", fields);
    if (result->has_test) AppendMetricsFields(result->test, "test_", fields);
    fields.emplace_back("rtf", Number(final_set.rtf));
    fields.emplace_back("train_seconds", Number(result->train_seconds));
    fields.emplace_back("num_parameters", std::to_string(result->num_parameters));
    fields.emplace_back("peak_lr", Number(result->peak_lr));
    fields.emplace_back("epochs", std::to_string(result->epochs.size()));
    fields.emplace_back("utterances_per_second", Number(result->epochs.back().utterances_per_second));
    std::cout << JsonLine(fields) << std::endl;
  } else {
    std::cout << (result->has_test ? "test" : "dev") << ": " << final_set.kaldi_wer_line << "\n"
              << (result->has_test ? "test" : "dev") << ": " << final_set.kaldi_cer_line << "\n"
              << final_set.speaker_table << (final_set.speaker_table.empty() ? "" : "\n") << "RTF "
              << FormatFixed(final_set.rtf, 4) << " (" << result->num_threads
              << " thread(s), decoding only); trained in " << FormatFixed(result->train_seconds, 1) << " s; "
              << result->num_parameters << " parameters; peak lr " << Number(result->peak_lr) << "; output in "
              << config->output_dir << std::endl;
  }
  return kExitOk;
}

}  // namespace

Command AddTrainCommand(CLI::App& app) {
  auto args = std::make_shared<TrainArgs>();
  CLI::App* sub = app.add_subcommand("train", "Train the built-in ASR model from flat keys (docs/asr-training.md)");
  sub->add_option("--config", args->config,
                  "YAML of training keys (a top-level mapping; `fixed:`/`params:` blocks are merged in)");
  sub->add_option("--set", args->sets, "Override one key: --set key=value (repeatable)");
  sub->add_option("--out", args->out,
                  std::string("Output directory: checkpoints, units.txt, global_cmvn.json (default ") +
                      kDefaultOutputDir + ", or $DIAL_TRIAL_DIR in trial mode); an existing checkpoint is resumed");
  sub->add_flag("--trial", args->trial,
                "Trial mode for `dial tune`: merge $DIAL_PARAMS_FILE, print JSON lines (implied when it is set)");
  sub->add_flag("--keys", args->list_keys, "Print every training key with its default, values and meaning, and exit");
  sub->footer("Training keys (key = default  (values)), as in docs/asr-training.md:\n\n" + speech::AsrKeysText());
  return {sub, [args] { return RunTrain(*args); }};
}

}  // namespace dial::cli
