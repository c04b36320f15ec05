// Study files: YAML → StudyConfig, checked completely at load time (keys, types, ranges, conditions, sampler,
// pruner, command) so that a bad file fails before anything is written; and the objective a file describes.
#include "dial/study_config.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "core/distribution_internal.h"
#include "core/study_config_internal.h"
#include "dial/functions.h"
#include "dial/pruner.h"
#include "dial/sampler.h"
#include "exec/placeholder.h"

namespace dial {
namespace {

namespace fs = std::filesystem;

constexpr const char* kMfHartmannName = "mf_hartmann6";
constexpr double kDefaultMfBias = 2.5;
// A grid derived from an int or stepped float range lists every value; beyond this the user should say which.
constexpr int64_t kMaxDerivedGridValues = 10000;
// Suggest a known key when the unknown one is at most this many edits away.
constexpr size_t kMaxSuggestionDistance = 2;

const std::vector<std::string> kTopLevelKeys = {
    "study",        "storage",     "direction", "directions", "metrics",
    "n_trials",     "timeout",     "sampler",   "pruner",     "seed",
    "search_space", "fixed",       "objective", "n_jobs",     "heartbeat_interval",
    "grace_period", "max_retries", "stop",      "fidelity",   "resources_per_trial",
    "scheduler"};
const std::vector<std::string> kFloatKeys = {"type", "low", "high", "step", "log", "when"};
const std::vector<std::string> kIntKeys = {"type", "low", "high", "step", "log", "when"};
const std::vector<std::string> kCategoricalKeys = {"type", "choices", "when"};
const std::vector<std::string> kCommandKeys = {"command", "timeout", "kill_grace", "trials_dir", "env", "workdir"};
const std::vector<std::string> kStopKeys = {"max_trials", "timeout", "target_value", "no_improvement_trials",
                                            "min_delta"};
const std::vector<std::string> kBuiltinKeys = {"builtin"};
const std::vector<std::string> kResourceKeys = {"cpus", "gpus", "memory_gb"};
const std::vector<std::string> kFidelityKeys = {"levels", "schedule", "resume_keys", "min_points_in_model"};
const std::vector<std::string> kFidelityScheduleKeys = {"name", "start_trials", "keep", "rounds"};
const std::vector<std::string> kSchedulerKeys = {"name",
                                                 "population_size",
                                                 "perturbation_interval",
                                                 "max_steps",
                                                 "quantile_fraction",
                                                 "resample_probability",
                                                 "perturbation_factors",
                                                 "mutable"};
const std::vector<std::string> kPbtExploreKeys = {"resample_probability", "perturbation_factors"};
// The keys of `command:` that a command built-in (e.g. `asr`) takes too.
const std::vector<std::string> kCommandRunKeys = {"timeout", "kill_grace", "trials_dir", "env", "workdir"};

std::map<std::string, CommandBuiltinFactory>& CommandBuiltins() {
  static std::map<std::string, CommandBuiltinFactory> builtins;
  return builtins;
}
const std::vector<std::string> kMfHartmannKeys = {"builtin", "bias", "max_fidelity"};

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string Join(const std::vector<std::string>& items, const std::string& sep = ", ") {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

// " (did you mean 'n_trials'?)" or " (known keys: ...)".
std::string KeyHint(const std::string& key, const std::vector<std::string>& known) {
  std::string best;
  size_t best_distance = kMaxSuggestionDistance + 1;
  for (const std::string& k : known) {
    size_t d = EditDistance(key, k);
    if (d < best_distance) {
      best_distance = d;
      best = k;
    }
  }
  if (!best.empty()) return " (did you mean '" + best + "'?)";
  return " (known keys: " + Join(known) + ")";
}

bool IsPlain(const YAML::Node& node) { return node.Tag() != "!"; }

bool IsNullScalar(const YAML::Node& node) {
  if (node.IsNull()) return true;
  if (!node.IsScalar() || !IsPlain(node)) return false;
  const std::string& s = node.Scalar();
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

std::optional<bool> PlainBool(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

std::optional<int64_t> PlainInt(const std::string& s) {
  std::string_view text = s;
  if (!text.empty() && text[0] == '+') text.remove_prefix(1);
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

std::optional<double> PlainFloat(const std::string& s) {
  if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf") return HUGE_VAL;
  if (s == "-.inf" || s == "-.Inf" || s == "-.INF") return -HUGE_VAL;
  if (s == ".nan" || s == ".NaN" || s == ".NAN") return std::nan("");
  if (s.empty()) return std::nullopt;
  // Only decimal notation: strtod would also take "inf", "nan" and hex, which YAML reads as strings.
  for (char c : s) {
    if (!(std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')) {
      return std::nullopt;
    }
  }
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno == ERANGE) return std::nullopt;
  return v;
}

// The scalar as YAML 1.2's core schema reads it: null, bool, int, float, else a string. Quoted is always a string.
ParamValue ScalarValue(const YAML::Node& node) {
  if (IsNullScalar(node)) return std::monostate{};
  const std::string& s = node.Scalar();
  if (!IsPlain(node)) return s;
  if (auto b = PlainBool(s)) return *b;
  if (auto i = PlainInt(s)) return *i;
  if (auto d = PlainFloat(s)) return *d;
  return s;
}

Json NodeToJson(const YAML::Node& node) {
  if (node.IsMap()) {
    Json out = Json::object();
    for (const auto& kv : node) out[kv.first.Scalar()] = NodeToJson(kv.second);
    return out;
  }
  if (node.IsSequence()) {
    Json out = Json::array();
    for (const auto& item : node) out.push_back(NodeToJson(item));
    return out;
  }
  if (!node.IsDefined() || node.IsNull()) return nullptr;
  return ParamValueToJson(ScalarValue(node));
}

std::string Describe(const YAML::Node& node) {
  if (node.IsMap()) return "a mapping";
  if (node.IsSequence()) return "a list";
  if (IsNullScalar(node)) return "nothing";
  return "\"" + node.Scalar() + "\"";
}

bool IsNumeric(const ParamValue& v) { return std::holds_alternative<int64_t>(v) || std::holds_alternative<double>(v); }

double NumericValue(const ParamValue& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  return std::get<double>(v);
}

std::string FileStem(const std::string& source) {
  if (source.empty() || source[0] == '<') return "";
  return fs::path(source).stem().string();
}

// Aliases may add at most this many nodes to a study file's tree, counted as a walk that copies them would visit
// them. yaml-cpp shares an aliased node, so parsing is linear in the text; but reading sampler options into JSON
// visits an alias's node once per reference, and nine aliases of nine aliases of ... (a "billion laughs") is a
// few hundred bytes of text and 10^9 nodes. Reusing a distribution block or an option list adds a few dozen.
constexpr uint64_t kMaxAliasNodes = 100000;

// The parse events of the first document of a study file, read before any of it is interpreted: the first alias
// past kMaxAliasNodes, or one that refers to a node containing it (a cycle no walk could finish), with the line and
// the key where it stands.
class AliasScan final : public YAML::EventHandler {
 public:
  struct Problem {
    YAML::Mark mark;
    std::string key;
    std::string what;
  };
  const std::optional<Problem>& problem() const { return problem_; }
  const std::optional<YAML::Mark>& document_start() const { return document_start_; }

  void OnDocumentStart(const YAML::Mark& mark) override { document_start_ = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t anchor) override { Add(1, anchor, nullptr); }
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t anchor, const std::string& value) override {
    Add(1, anchor, &value);
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchor_nodes_.find(anchor);
    if (it == anchor_nodes_.end() || it->second == kOpen) {
      Report(mark, "a YAML alias that refers to a node containing it (a cycle): write the value out");
      Add(1, 0, nullptr);
      return;
    }
    alias_nodes_ = std::min(alias_nodes_ + it->second, kSaturated);
    if (alias_nodes_ > kMaxAliasNodes) {
      Report(mark, "YAML aliases expand the file by more than " + std::to_string(kMaxAliasNodes) +
                       " nodes (aliases of aliases, as in a \"billion laughs\"): write the values out");
    }
    Add(it->second, 0, nullptr);
  }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(anchor, false);
  }
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t anchor, YAML::EmitterStyle::value) override {
    Open(anchor, true);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapEnd() override { Close(); }

 private:
  // Sizes saturate here, far above any limit and far below overflow.
  static constexpr uint64_t kSaturated = uint64_t{1} << 62;
  // The size of an anchored collection that is still open.
  static constexpr uint64_t kOpen = ~uint64_t{0};

  struct Frame {
    bool map = false;
    YAML::anchor_t anchor = 0;
    uint64_t nodes = 1;
    size_t children = 0;
    std::string key;  // a map's latest key
  };

  void Open(YAML::anchor_t anchor, bool map) {
    if (anchor != 0) anchor_nodes_[anchor] = kOpen;
    stack_.push_back(Frame{map, anchor, 1, 0, ""});
  }
  void Close() {
    Frame done = std::move(stack_.back());
    stack_.pop_back();
    Add(done.nodes, done.anchor, nullptr);
  }
  // A finished node of `nodes` nodes (an alias: its anchor's) joins the collection it is in.
  void Add(uint64_t nodes, YAML::anchor_t anchor, const std::string* scalar) {
    if (anchor != 0) anchor_nodes_[anchor] = nodes;
    if (stack_.empty()) return;
    Frame& parent = stack_.back();
    if (parent.map && parent.children % 2 == 0) parent.key = scalar != nullptr ? *scalar : "?";
    parent.nodes = std::min(parent.nodes + nodes, kSaturated);
    ++parent.children;
  }
  void Report(const YAML::Mark& mark, const std::string& what) {
    if (problem_) return;
    std::string key;
    for (const Frame& frame : stack_) {
      if (frame.map) {
        key += (key.empty() ? "" : ".") + frame.key;
      } else {
        key += "[" + std::to_string(frame.children) + "]";
      }
    }
    problem_ = Problem{mark, key, what};
  }

  std::vector<Frame> stack_;
  std::map<YAML::anchor_t, uint64_t> anchor_nodes_;
  uint64_t alias_nodes_ = 0;
  std::optional<Problem> problem_;
  std::optional<YAML::Mark> document_start_;
};

// Before any part of a study file is read: one YAML document (yaml-cpp's Load would silently drop a second), and
// aliases that stay small (AliasScan). Throws YAML::Exception on malformed YAML, as YAML::Load does.
Status ScanDocuments(const std::string& text, const std::string& source) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  AliasScan first;
  parser.HandleNextDocument(first);
  if (const auto& problem = first.problem()) {
    std::string message = source + ":" + std::to_string(problem->mark.line + 1) + ": ";
    if (!problem->key.empty()) message += problem->key + ": ";
    return InvalidArgument(message + problem->what);
  }
  AliasScan second;
  if (parser.HandleNextDocument(second)) {
    const int line = second.document_start() ? second.document_start()->line + 1 : 1;
    return InvalidArgument(source + ":" + std::to_string(line) +
                           ": a second YAML document (after ---): a study file is one document; put each study "
                           "in a file of its own, or remove the ---");
  }
  return Status::Ok();
}

class Parser {
 public:
  explicit Parser(std::string source) : source_(std::move(source)) {}

  Result<StudyConfig> Parse(const std::string& text);

 private:
  Status Error(const YAML::Node& node, const std::string& key, const std::string& what) const {
    int line = node.IsDefined() ? node.Mark().line + 1 : 1;
    if (line <= 0) line = 1;
    std::string message = source_ + ":" + std::to_string(line) + ": ";
    if (!key.empty()) message += key + ": ";
    return InvalidArgument(message + what);
  }

  // Unknown keys, duplicated keys and non-string keys of a mapping.
  Status CheckKeys(const YAML::Node& map, const std::string& path, const std::vector<std::string>& known) const {
    std::set<std::string> seen;
    for (const auto& kv : map) {
      const std::string key = kv.first.Scalar();
      const std::string full = path.empty() ? key : path + "." + key;
      if (std::find(known.begin(), known.end(), key) == known.end()) {
        return Error(kv.first, full, "unknown key" + KeyHint(key, known));
      }
      if (!seen.insert(key).second) return Error(kv.first, full, "given twice");
    }
    return Status::Ok();
  }

  Result<std::string> GetString(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar() || IsNullScalar(node)) return Error(node, key, "must be a string, got " + Describe(node));
    return node.Scalar();
  }

  Result<int64_t> GetInt(const YAML::Node& node, const std::string& key) const {
    if (node.IsScalar() && IsPlain(node)) {
      if (auto v = PlainInt(node.Scalar())) return *v;
      if (auto d = PlainFloat(node.Scalar()); d && std::isfinite(*d) && *d == std::floor(*d) && std::fabs(*d) < 9e15) {
        return static_cast<int64_t>(*d);
      }
    }
    return Error(node, key, "must be an integer, got " + Describe(node));
  }

  Result<double> GetNumber(const YAML::Node& node, const std::string& key) const {
    if (node.IsScalar() && IsPlain(node)) {
      if (auto v = PlainInt(node.Scalar())) return static_cast<double>(*v);
      if (auto d = PlainFloat(node.Scalar())) return *d;
    }
    return Error(node, key, "must be a number, got " + Describe(node));
  }

  Result<bool> GetBool(const YAML::Node& node, const std::string& key) const {
    if (node.IsScalar() && IsPlain(node)) {
      if (auto b = PlainBool(node.Scalar())) return *b;
    }
    return Error(node, key, "must be true or false, got " + Describe(node));
  }

  Result<ParamValue> GetValue(const YAML::Node& node, const std::string& key) const {
    if (node.IsMap() || node.IsSequence()) {
      return Error(node, key, "must be a single value (a number, a string, true/false or null), got " + Describe(node));
    }
    return ScalarValue(node);
  }

  Status ParseDirections(const YAML::Node& root, StudyConfig& config) const;
  Status ParseMetrics(const YAML::Node& root, StudyConfig& config) const;
  Status ParseComponent(const YAML::Node& node, const std::string& key, std::string& name, Json& options,
                        std::optional<uint64_t>* seed) const;
  Status ParseFixed(const YAML::Node& node, StudyConfig& config) const;
  Status ParseSearchSpace(const YAML::Node& node, StudyConfig& config) const;
  Result<ParamSpec> ParseParam(const std::string& name, const YAML::Node& node, const StudyConfig& config) const;
  Status ParseCondition(const std::string& name, const YAML::Node& node, const StudyConfig& config,
                        ParamSpec& spec) const;
  Status ParseObjective(const YAML::Node& node, StudyConfig& config) const;
  Status ParseParallel(const YAML::Node& root, StudyConfig& config) const;
  Status ParseResources(const YAML::Node& node, StudyConfig& config) const;
  Status ParseStop(const YAML::Node& node, StudyConfig& config) const;
  Status ParseCommand(const YAML::Node& node, StudyConfig& config) const;
  Status ParseBuiltin(const YAML::Node& node, StudyConfig& config) const;
  Status ParseFidelity(const YAML::Node& node, StudyConfig& config) const;
  Status ParseScheduler(const YAML::Node& node, StudyConfig& config) const;
  Status ParseExplore(const YAML::Node& node, const std::string& key, PbtExploreOptions& explore) const;
  Status ParseCommandRunKeys(const YAML::Node& node, CommandObjectiveOptions& options) const;
  Status ParseCommandBuiltin(const YAML::Node& node, const std::string& name, StudyConfig& config) const;
  Status CheckSampler(const YAML::Node& node, StudyConfig& config) const;
  Status CheckPruner(const YAML::Node& node, const StudyConfig& config) const;

  std::string source_;
};

Result<StudyConfig> Parser::Parse(const std::string& text) {
  YAML::Node loaded;
  try {
    DIAL_RETURN_IF_ERROR(ScanDocuments(text, source_));
    loaded = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(source_ + ":" + std::to_string(e.mark.line + 1) + ": malformed YAML: " + e.msg);
  }
  // Const from here on: yaml-cpp's non-const operator[] may add the keys it looks up.
  const YAML::Node& root = loaded;
  if (!root.IsMap()) {
    return InvalidArgument(source_ +
                           ":1: a study file is a mapping of keys (study, search_space, objective, ...), "
                           "got " +
                           Describe(root));
  }
  StudyConfig config;
  config.source = source_;
  config.yaml_text = text;
  DIAL_RETURN_IF_ERROR(CheckKeys(root, "", kTopLevelKeys));

  config.study_name = FileStem(source_);
  if (root["study"]) {
    DIAL_ASSIGN_OR_RETURN(config.study_name, GetString(root["study"], "study"));
  }
  if (root["storage"]) {
    DIAL_ASSIGN_OR_RETURN(config.storage, GetString(root["storage"], "storage"));
  }
  DIAL_RETURN_IF_ERROR(ParseDirections(root, config));
  DIAL_RETURN_IF_ERROR(ParseMetrics(root, config));
  if (YAML::Node n = root["n_trials"]) {
    DIAL_ASSIGN_OR_RETURN(int64_t n_trials, GetInt(n, "n_trials"));
    if (n_trials <= 0) return Error(n, "n_trials", "must be a positive integer, got " + n.Scalar());
    config.n_trials = n_trials;
  }
  if (YAML::Node n = root["timeout"]) {
    DIAL_ASSIGN_OR_RETURN(double timeout, GetNumber(n, "timeout"));
    if (!(timeout > 0) || !std::isfinite(timeout)) {
      return Error(n, "timeout", "must be a positive number of seconds, got " + n.Scalar());
    }
    config.timeout_seconds = timeout;
  }
  if (YAML::Node n = root["seed"]) {
    DIAL_ASSIGN_OR_RETURN(int64_t seed, GetInt(n, "seed"));
    if (seed < 0) return Error(n, "seed", "must be a non-negative integer, got " + n.Scalar());
    config.seed = static_cast<uint64_t>(seed);
  }
  DIAL_RETURN_IF_ERROR(ParseParallel(root, config));
  if (root["stop"]) DIAL_RETURN_IF_ERROR(ParseStop(root["stop"], config));
  if (root["fixed"]) DIAL_RETURN_IF_ERROR(ParseFixed(root["fixed"], config));
  if (root["search_space"]) DIAL_RETURN_IF_ERROR(ParseSearchSpace(root["search_space"], config));
  if (root["fidelity"]) DIAL_RETURN_IF_ERROR(ParseFidelity(root["fidelity"], config));
  if (!root["objective"]) {
    return Error(root, "objective",
                 "missing: say what to run, e.g. objective: {command: [python3, train.py, --lr, \"{lr}\"]} or "
                 "objective: {builtin: branin2}");
  }
  DIAL_RETURN_IF_ERROR(ParseObjective(root["objective"], config));
  if (root["sampler"]) {
    std::optional<uint64_t> sampler_seed;
    DIAL_RETURN_IF_ERROR(
        ParseComponent(root["sampler"], "sampler", config.sampler, config.sampler_options, &sampler_seed));
    if (sampler_seed.has_value()) {
      if (config.seed.has_value()) return Error(root["sampler"], "sampler.seed", "seed is also given at the top level");
      config.seed = sampler_seed;
    }
  }
  if (config.fidelity && config.fidelity->schedule == kBohbSchedule) {
    // BOHB is Hyperband with a TPE model per budget: TPE unless the file says otherwise, and then it must say tpe.
    if (!root["sampler"]) {
      config.sampler = "tpe";
    } else if (config.sampler != "tpe") {
      return Error(root["sampler"], "sampler",
                   "'" + config.sampler +
                       "' with fidelity schedule bohb: BOHB proposes configurations from a TPE model per budget; "
                       "drop `sampler:` (or set tpe), or use schedule hyperband with this sampler");
    }
  }
  DIAL_RETURN_IF_ERROR(CheckSampler(root["sampler"] ? root["sampler"] : root, config));
  if (root["pruner"]) {
    DIAL_RETURN_IF_ERROR(ParseComponent(root["pruner"], "pruner", config.pruner, config.pruner_options, nullptr));
  }
  DIAL_RETURN_IF_ERROR(CheckPruner(root["pruner"] ? root["pruner"] : root, config));
  // Last: the mutable names are checked against the whole search space (a built-in's may be derived) and the seed.
  if (root["scheduler"]) {
    DIAL_RETURN_IF_ERROR(ParseScheduler(root["scheduler"], config));
    if (const YAML::Node builtin = root["objective"]["builtin"]) {
      // The benchmark functions have no state to checkpoint, and the asr trainer does not yet train one segment
      // with changed params from a copied checkpoint (docs/pbt.md, "Limits").
      return Error(builtin, "objective.builtin",
                   "'" + builtin.Scalar() +
                       "' cannot run PBT segments: scheduler pbt needs a command trial that follows the checkpoint "
                       "contract in docs/pbt.md");
    }
  }
  return config;
}

Status Parser::ParseParallel(const YAML::Node& root, StudyConfig& config) const {
  if (YAML::Node n = root["n_jobs"]) {
    DIAL_ASSIGN_OR_RETURN(config.n_jobs, GetInt(n, "n_jobs"));
    if (config.n_jobs <= 0) return Error(n, "n_jobs", "must be a positive integer, got " + n.Scalar());
  }
  if (YAML::Node n = root["heartbeat_interval"]) {
    DIAL_ASSIGN_OR_RETURN(config.heartbeat_interval_seconds, GetNumber(n, "heartbeat_interval"));
    if (!(config.heartbeat_interval_seconds > 0) || !std::isfinite(config.heartbeat_interval_seconds)) {
      return Error(n, "heartbeat_interval", "must be a positive number of seconds, got " + n.Scalar());
    }
  }
  if (YAML::Node n = root["grace_period"]) {
    DIAL_ASSIGN_OR_RETURN(double grace, GetNumber(n, "grace_period"));
    if (!(grace > 0) || !std::isfinite(grace)) {
      return Error(n, "grace_period", "must be a positive number of seconds, got " + n.Scalar());
    }
    // A live trial beats once per interval; a grace no longer than that would fail it between two beats.
    if (grace <= config.heartbeat_interval_seconds) {
      char interval[32];
      std::snprintf(interval, sizeof(interval), "%g", config.heartbeat_interval_seconds);
      return Error(n, "grace_period",
                   "must be longer than heartbeat_interval (" + std::string(interval) + " s), got " + n.Scalar());
    }
    config.grace_period_seconds = grace;
  }
  if (YAML::Node n = root["max_retries"]) {
    DIAL_ASSIGN_OR_RETURN(config.max_retries, GetInt(n, "max_retries"));
    if (config.max_retries < 0) return Error(n, "max_retries", "must be a non-negative integer, got " + n.Scalar());
  }
  if (root["resources_per_trial"]) DIAL_RETURN_IF_ERROR(ParseResources(root["resources_per_trial"], config));
  return Status::Ok();
}

Status Parser::ParseResources(const YAML::Node& node, StudyConfig& config) const {
  const std::string key = "resources_per_trial";
  if (!node.IsMap()) {
    return Error(node, key, "must be a mapping such as {cpus: 2, gpus: 0.5, memory_gb: 8}, got " + Describe(node));
  }
  DIAL_RETURN_IF_ERROR(CheckKeys(node, key, kResourceKeys));
  ResourcesPerTrial resources;
  resources.line = node.Mark().line + 1;
  // Amounts are counted in thousandths (src/exec/resources.h): a smaller share would round to nothing.
  constexpr double kSmallest = 0.001;
  for (const auto& kv : node) {
    const std::string name = kv.first.Scalar();
    const YAML::Node& n = kv.second;
    const std::string full = key + "." + name;
    DIAL_ASSIGN_OR_RETURN(double v, GetNumber(n, full));
    resources.key_lines[name] = n.Mark().line + 1;
    if (!std::isfinite(v)) return Error(n, full, "must be a finite number, got " + n.Scalar());
    if (name == "gpus") {
      if (v < 0 || (v > 1 && v != std::floor(v)) || (v > 0 && v < kSmallest)) {
        return Error(n, full,
                     "must be 0, a share of one GPU in [0.001, 1] or a whole number of GPUs, got " + n.Scalar());
      }
      resources.gpus = v;
    } else if (!(v >= kSmallest)) {
      return Error(
          n, full,
          std::string("must be a positive number") + (name == "cpus" ? " of CPUs" : " of GB") + ", got " + n.Scalar());
    } else if (name == "cpus") {
      resources.cpus = v;
    } else {
      resources.memory_gb = v;
    }
  }
  config.resources_per_trial = std::move(resources);
  return Status::Ok();
}

// `stop:` after the directions, which target_value and no_improvement_trials depend on.
Status Parser::ParseStop(const YAML::Node& node, StudyConfig& config) const {
  if (!node.IsMap()) {
    return Error(node, "stop",
                 "must be a mapping such as {max_trials: 200, target_value: 0.05}, got " + Describe(node));
  }
  DIAL_RETURN_IF_ERROR(CheckKeys(node, "stop", kStopKeys));
  StopperOptions& stop = config.stoppers;
  if (YAML::Node n = node["max_trials"]) {
    DIAL_ASSIGN_OR_RETURN(int64_t v, GetInt(n, "stop.max_trials"));
    if (v <= 0) return Error(n, "stop.max_trials", "must be a positive integer, got " + n.Scalar());
    stop.max_trials = v;
  }
  if (YAML::Node n = node["timeout"]) {
    DIAL_ASSIGN_OR_RETURN(double v, GetNumber(n, "stop.timeout"));
    if (!(v > 0) || !std::isfinite(v)) {
      return Error(n, "stop.timeout", "must be a positive number of seconds, got " + n.Scalar());
    }
    stop.timeout_seconds = v;
  }
  if (YAML::Node n = node["target_value"]) {
    DIAL_ASSIGN_OR_RETURN(double v, GetNumber(n, "stop.target_value"));
    if (!std::isfinite(v)) return Error(n, "stop.target_value", "must be a finite number, got " + n.Scalar());
    if (config.directions.size() != 1) {
      return Error(n, "stop.target_value",
                   "needs a single objective, this study has " + std::to_string(config.directions.size()) +
                       " (stop on max_trials, timeout instead)");
    }
    stop.target_value = v;
  }
  if (YAML::Node n = node["no_improvement_trials"]) {
    DIAL_ASSIGN_OR_RETURN(int64_t v, GetInt(n, "stop.no_improvement_trials"));
    if (v <= 0) return Error(n, "stop.no_improvement_trials", "must be a positive integer, got " + n.Scalar());
    if (config.directions.size() != 1) {
      return Error(n, "stop.no_improvement_trials",
                   "needs a single objective, this study has " + std::to_string(config.directions.size()) +
                       " (stop on max_trials, timeout instead)");
    }
    stop.no_improvement_trials = v;
  }
  if (YAML::Node n = node["min_delta"]) {
    DIAL_ASSIGN_OR_RETURN(double v, GetNumber(n, "stop.min_delta"));
    if (!(v >= 0) || !std::isfinite(v)) {
      return Error(n, "stop.min_delta", "must be a non-negative number, got " + n.Scalar());
    }
    if (!stop.no_improvement_trials) {
      return Error(n, "stop.min_delta", "only has a meaning with stop.no_improvement_trials");
    }
    stop.min_delta = v;
  }
  // Every check above has a key and a line; this only guards against the two drifting apart.
  Status valid = stop.ValidateFor(config.directions);
  if (!valid.ok()) return Error(node, "stop", valid.message());
  return Status::Ok();
}

Status Parser::ParseDirections(const YAML::Node& root, StudyConfig& config) const {
  YAML::Node one = root["direction"];
  YAML::Node many = root["directions"];
  if (one && many) return Error(many, "directions", "give either direction or directions, not both");
  auto parse = [&](const YAML::Node& n, const std::string& key) -> Result<StudyDirection> {
    DIAL_ASSIGN_OR_RETURN(std::string text, GetString(n, key));
    std::optional<StudyDirection> d = ParseStudyDirection(text);
    if (!d.has_value() || *d == StudyDirection::kNotSet) {
      return Error(n, key, "must be minimize or maximize, got \"" + text + "\"");
    }
    return *d;
  };
  if (one) {
    DIAL_ASSIGN_OR_RETURN(StudyDirection d, parse(one, "direction"));
    config.directions = {d};
  } else if (many) {
    if (!many.IsSequence() || many.size() == 0) {
      return Error(many, "directions", "must be a non-empty list such as [minimize, maximize], got " + Describe(many));
    }
    config.directions.clear();
    for (size_t i = 0; i < many.size(); ++i) {
      DIAL_ASSIGN_OR_RETURN(StudyDirection d, parse(many[i], "directions[" + std::to_string(i) + "]"));
      config.directions.push_back(d);
    }
  }
  return Status::Ok();
}

Status Parser::ParseMetrics(const YAML::Node& root, StudyConfig& config) const {
  YAML::Node n = root["metrics"];
  const size_t n_directions = config.directions.size();
  if (!n) {
    if (n_directions == 1) {
      config.metrics = {"value"};
      return Status::Ok();
    }
    YAML::Node at = root["directions"];
    return Error(at, "metrics",
                 "missing: " + std::to_string(n_directions) +
                     " directions need as many metric names, e.g. metrics: [wer, latency_ms]");
  }
  if (n.IsScalar()) {
    DIAL_ASSIGN_OR_RETURN(std::string m, GetString(n, "metrics"));
    config.metrics = {m};
  } else if (n.IsSequence()) {
    std::set<std::string> seen;
    for (size_t i = 0; i < n.size(); ++i) {
      const std::string key = "metrics[" + std::to_string(i) + "]";
      DIAL_ASSIGN_OR_RETURN(std::string m, GetString(n[i], key));
      if (m.empty()) return Error(n[i], key, "empty metric name");
      if (m == "step") return Error(n[i], key, "\"step\" is reserved for intermediate values");
      if (!seen.insert(m).second) return Error(n[i], key, "\"" + m + "\" is listed twice");
      config.metrics.push_back(m);
    }
  } else {
    return Error(n, "metrics", "must be a metric name or a list of them, got " + Describe(n));
  }
  if (config.metrics.size() != n_directions) {
    return Error(n, "metrics",
                 std::to_string(config.metrics.size()) + " metric(s) [" + Join(config.metrics) + "] for " +
                     std::to_string(n_directions) + " direction(s): give one metric per direction");
  }
  return Status::Ok();
}

Status Parser::ParseComponent(const YAML::Node& node, const std::string& key, std::string& name, Json& options,
                              std::optional<uint64_t>* seed) const {
  options = Json::object();
  if (node.IsScalar()) {
    DIAL_ASSIGN_OR_RETURN(name, GetString(node, key));
    return Status::Ok();
  }
  if (!node.IsMap()) {
    return Error(
        node, key,
        "must be a name (" + key + ": random) or a mapping with a name ({name: random, ...}), got " + Describe(node));
  }
  if (!node["name"]) return Error(node, key + ".name", "missing: which " + key + " to use");
  DIAL_ASSIGN_OR_RETURN(name, GetString(node["name"], key + ".name"));
  std::set<std::string> seen;
  for (const auto& kv : node) {
    const std::string option = kv.first.Scalar();
    if (!seen.insert(option).second) return Error(kv.first, key + "." + option, "given twice");
    if (option == "name") continue;
    if (option == "seed" && seed != nullptr) {
      DIAL_ASSIGN_OR_RETURN(int64_t s, GetInt(kv.second, key + ".seed"));
      if (s < 0) return Error(kv.second, key + ".seed", "must be a non-negative integer, got " + kv.second.Scalar());
      *seed = static_cast<uint64_t>(s);
      continue;
    }
    options[option] = NodeToJson(kv.second);
  }
  return Status::Ok();
}

Status Parser::ParseFixed(const YAML::Node& node, StudyConfig& config) const {
  if (IsNullScalar(node)) return Status::Ok();
  if (!node.IsMap())
    return Error(node, "fixed", "must be a mapping of parameter names to values, got " + Describe(node));
  for (const auto& kv : node) {
    const std::string name = kv.first.Scalar();
    const std::string key = "fixed." + name;
    if (config.fixed.count(name) != 0) return Error(kv.first, key, "given twice");
    DIAL_ASSIGN_OR_RETURN(ParamValue v, GetValue(kv.second, key));
    config.fixed.emplace(name, std::move(v));
  }
  return Status::Ok();
}

Status Parser::ParseSearchSpace(const YAML::Node& node, StudyConfig& config) const {
  if (IsNullScalar(node)) return Status::Ok();
  if (!node.IsMap()) {
    return Error(node, "search_space", "must be a mapping of parameter names to distributions, got " + Describe(node));
  }
  std::set<std::string> seen;
  for (const auto& kv : node) {
    const std::string name = kv.first.Scalar();
    const std::string key = "search_space." + name;
    if (name.empty()) return Error(kv.first, key, "empty parameter name");
    if (!seen.insert(name).second) return Error(kv.first, key, "given twice");
    if (config.fixed.count(name) != 0) {
      return Error(kv.first, key, "also given under fixed: a parameter is either searched or fixed");
    }
    DIAL_ASSIGN_OR_RETURN(ParamSpec spec, ParseParam(name, kv.second, config));
    spec.line = kv.first.Mark().line + 1;
    config.search_space.push_back(std::move(spec));
  }
  return Status::Ok();
}

Result<ParamSpec> Parser::ParseParam(const std::string& name, const YAML::Node& node, const StudyConfig& config) const {
  const std::string key = "search_space." + name;
  ParamSpec spec;
  spec.name = name;
  auto check_distribution = [&](const YAML::Node& at) -> Status {
    Status valid = Validate(spec.distribution);
    if (!valid.ok()) return Error(at, key, valid.message());
    return Status::Ok();
  };
  auto parse_choices = [&](const YAML::Node& list, const std::string& list_key) -> Status {
    if (!list.IsSequence()) return Error(list, list_key, "must be a list of values, got " + Describe(list));
    if (list.size() == 0) return Error(list, key, "empty choices: list at least one value");
    CategoricalDistribution cat;
    cat.choices.reserve(list.size());
    for (size_t i = 0; i < list.size(); ++i) {
      DIAL_ASSIGN_OR_RETURN(ParamValue v, GetValue(list[i], list_key + "[" + std::to_string(i) + "]"));
      cat.choices.push_back(std::move(v));
    }
    if (auto duplicate = internal::FindDuplicateChoice(cat.choices)) {
      const auto [earlier, later] = *duplicate;
      return Error(list[later], key,
                   "duplicate choice " + ParamValueToString(cat.choices[later]) + " (" + list_key + "[" +
                       std::to_string(earlier) + "] and [" + std::to_string(later) + "])");
    }
    spec.distribution = std::move(cat);
    return Status::Ok();
  };

  // A bare list is a categorical, as ESPnet's tuning files write it.
  if (node.IsSequence()) {
    DIAL_RETURN_IF_ERROR(parse_choices(node, key));
    DIAL_RETURN_IF_ERROR(check_distribution(node));
    return spec;
  }
  if (!node.IsMap()) {
    return Error(node, key,
                 "must be a distribution ({type: float, low: ..., high: ...}) or a list of choices, got " +
                     Describe(node) + " (a constant belongs under fixed:)");
  }
  std::string type;
  if (node["type"]) {
    DIAL_ASSIGN_OR_RETURN(type, GetString(node["type"], key + ".type"));
  } else if (node["choices"]) {
    type = "categorical";
  } else {
    return Error(node, key + ".type", "missing: float, int or categorical");
  }
  if (type == "float") {
    DIAL_RETURN_IF_ERROR(CheckKeys(node, key, kFloatKeys));
    FloatDistribution f;
    if (!node["low"]) return Error(node, key + ".low", "missing");
    if (!node["high"]) return Error(node, key + ".high", "missing");
    DIAL_ASSIGN_OR_RETURN(f.low, GetNumber(node["low"], key + ".low"));
    DIAL_ASSIGN_OR_RETURN(f.high, GetNumber(node["high"], key + ".high"));
    if (node["step"] && !IsNullScalar(node["step"])) {
      DIAL_ASSIGN_OR_RETURN(double step, GetNumber(node["step"], key + ".step"));
      f.step = step;
    }
    if (node["log"]) {
      DIAL_ASSIGN_OR_RETURN(f.log, GetBool(node["log"], key + ".log"));
    }
    spec.distribution = f;
  } else if (type == "int") {
    DIAL_RETURN_IF_ERROR(CheckKeys(node, key, kIntKeys));
    IntDistribution d;
    if (!node["low"]) return Error(node, key + ".low", "missing");
    if (!node["high"]) return Error(node, key + ".high", "missing");
    DIAL_ASSIGN_OR_RETURN(d.low, GetInt(node["low"], key + ".low"));
    DIAL_ASSIGN_OR_RETURN(d.high, GetInt(node["high"], key + ".high"));
    if (node["step"]) {
      DIAL_ASSIGN_OR_RETURN(d.step, GetInt(node["step"], key + ".step"));
    }
    if (node["log"]) {
      DIAL_ASSIGN_OR_RETURN(d.log, GetBool(node["log"], key + ".log"));
    }
    spec.distribution = d;
  } else if (type == "categorical") {
    DIAL_RETURN_IF_ERROR(CheckKeys(node, key, kCategoricalKeys));
    if (!node["choices"]) return Error(node, key + ".choices", "missing: list the values");
    DIAL_RETURN_IF_ERROR(parse_choices(node["choices"], key + ".choices"));
  } else {
    return Error(node["type"], key + ".type", "must be float, int or categorical, got \"" + type + "\"");
  }
  DIAL_RETURN_IF_ERROR(check_distribution(node));
  if (node["when"]) DIAL_RETURN_IF_ERROR(ParseCondition(name, node["when"], config, spec));
  return spec;
}

Status Parser::ParseCondition(const std::string& name, const YAML::Node& node, const StudyConfig& config,
                              ParamSpec& spec) const {
  const std::string key = "search_space." + name + ".when";
  if (!node.IsMap() || node.size() == 0) {
    return Error(node, key,
                 "must be a mapping such as {optimizer: sgd} or {optimizer: [sgd, adam]}, got " + Describe(node));
  }
  for (const auto& kv : node) {
    const std::string parent = kv.first.Scalar();
    const std::string parent_key = key + "." + parent;
    ParamCondition condition;
    condition.parent = parent;
    if (kv.second.IsSequence()) {
      if (kv.second.size() == 0) return Error(kv.second, parent_key, "empty list of values");
      for (size_t i = 0; i < kv.second.size(); ++i) {
        DIAL_ASSIGN_OR_RETURN(ParamValue v, GetValue(kv.second[i], parent_key));
        condition.values.push_back(std::move(v));
      }
    } else {
      DIAL_ASSIGN_OR_RETURN(ParamValue v, GetValue(kv.second, parent_key));
      condition.values.push_back(std::move(v));
    }
    if (parent == name) return Error(kv.first, parent_key, "a parameter cannot depend on itself");
    auto spec_it = std::find_if(config.search_space.begin(), config.search_space.end(),
                                [&](const ParamSpec& s) { return s.name == parent; });
    auto fixed_it = config.fixed.find(parent);
    if (spec_it != config.search_space.end()) {
      for (const ParamValue& v : condition.values) {
        Result<double> internal = ToInternal(spec_it->distribution, v);
        if (!internal.ok() || !Contains(spec_it->distribution, *internal)) {
          return Error(kv.second, parent_key,
                       ParamValueToString(v) + " is not a possible value of " + parent + " (" +
                           DistributionToString(spec_it->distribution) + ")");
        }
      }
    } else if (fixed_it != config.fixed.end()) {
      bool matches = false;
      for (const ParamValue& v : condition.values) matches = matches || ParamValueEquals(v, fixed_it->second);
      if (!matches) {
        return Error(kv.second, parent_key,
                     "never true: " + parent + " is fixed to " + ParamValueToString(fixed_it->second));
      }
    } else {
      std::vector<std::string> declared;
      for (const ParamSpec& s : config.search_space) declared.push_back(s.name);
      for (const auto& [f, v] : config.fixed) declared.push_back(f);
      return Error(kv.first, parent_key,
                   "unknown parameter '" + parent +
                       "': a condition names a parameter declared earlier in "
                       "search_space, or a fixed one" +
                       (declared.empty() ? std::string() : " (declared so far: " + Join(declared) + ")"));
    }
    spec.when.push_back(std::move(condition));
  }
  return Status::Ok();
}

Status Parser::ParseObjective(const YAML::Node& node, StudyConfig& config) const {
  if (!node.IsMap()) {
    return Error(node, "objective", "must be a mapping ({command: [...]} or {builtin: NAME}), got " + Describe(node));
  }
  const bool has_command = static_cast<bool>(node["command"]);
  const bool has_builtin = static_cast<bool>(node["builtin"]);
  if (has_command && has_builtin) return Error(node, "objective", "give either command or builtin, not both");
  if (has_command) return ParseCommand(node, config);
  if (has_builtin) return ParseBuiltin(node, config);
  return Error(node, "objective", "needs command: [program, args...] or builtin: NAME");
}

Status Parser::ParseCommand(const YAML::Node& node, StudyConfig& config) const {
  DIAL_RETURN_IF_ERROR(CheckKeys(node, "objective", kCommandKeys));
  CommandObjectiveOptions options;
  const YAML::Node command = node["command"];
  if (!command.IsSequence() || command.size() == 0) {
    return Error(command, "objective.command",
                 "must be a non-empty list [program, arg, ...] (no shell is used), got " + Describe(command));
  }
  std::set<std::string> names = {kTrialNumberPlaceholder, kTrialDirPlaceholder, kStudyNamePlaceholder};
  for (const ParamSpec& s : config.search_space) names.insert(s.name);
  for (const auto& [f, v] : config.fixed) names.insert(f);
  for (size_t i = 0; i < command.size(); ++i) {
    const std::string key = "objective.command[" + std::to_string(i) + "]";
    if (!command[i].IsScalar()) return Error(command[i], key, "must be a string, got " + Describe(command[i]));
    const std::string arg = command[i].Scalar();
    Result<std::vector<std::string>> used = PlaceholderNames(arg);
    if (!used.ok()) return Error(command[i], key, used.status().message());
    for (const std::string& name : *used) {
      if (names.count(name) != 0) continue;
      std::vector<std::string> known(names.begin(), names.end());
      std::string hint = KeyHint(name, known);
      if (hint.rfind(" (known", 0) == 0) hint = " (known: " + Join(known) + ")";
      return Error(command[i], key,
                   "unknown placeholder {" + name + "}: not a parameter of search_space or fixed" + hint +
                       "; write {{ and }} for literal braces");
    }
    options.argv.push_back(arg);
  }
  if (options.argv[0].find('{') == std::string::npos) {
    Result<std::string> resolved = ResolveExecutable(options.argv[0]);
    if (!resolved.ok()) return Error(command[0], "objective.command[0]", resolved.status().message());
  }
  DIAL_RETURN_IF_ERROR(ParseCommandRunKeys(node, options));
  options.metrics = config.metrics;
  Status valid = options.Validate();
  if (!valid.ok()) return Error(node, "objective", valid.message());
  config.objective = std::move(options);
  return Status::Ok();
}

Status Parser::ParseFidelity(const YAML::Node& node, StudyConfig& config) const {
  if (!node.IsMap())
    return Error(node, "fidelity", "must be a mapping with levels and schedule, got " + Describe(node));
  DIAL_RETURN_IF_ERROR(CheckKeys(node, "fidelity", kFidelityKeys));
  FidelityOptions fidelity;
  const YAML::Node levels = node["levels"];
  if (!levels || !levels.IsSequence()) {
    return Error(levels ? levels : node, "fidelity.levels",
                 "must be a list of mappings, cheapest first, e.g. [{epochs: 1}, {epochs: 5}]");
  }
  for (size_t k = 0; k < levels.size(); ++k) {
    const std::string key = "fidelity.levels[" + std::to_string(k) + "]";
    if (!levels[k].IsMap())
      return Error(levels[k], key, "must be a mapping of names to values, got " + Describe(levels[k]));
    std::map<std::string, ParamValue> values;
    for (const auto& kv : levels[k]) {
      const std::string name = kv.first.Scalar();
      const std::string value_key = key + "." + name;
      DIAL_ASSIGN_OR_RETURN(ParamValue v, GetValue(kv.second, value_key));
      if (config.fixed.count(name) != 0) {
        return Error(kv.first, value_key, "also under fixed: a level sets it, so it cannot be fixed");
      }
      if (std::any_of(config.search_space.begin(), config.search_space.end(),
                      [&](const ParamSpec& s) { return s.name == name; })) {
        return Error(kv.first, value_key, "also in search_space: a level sets it, so it cannot be searched");
      }
      values.emplace(name, std::move(v));
    }
    fidelity.levels.push_back(std::move(values));
  }
  if (const YAML::Node schedule = node["schedule"]) {
    if (!schedule.IsMap()) return Error(schedule, "fidelity.schedule", "must be a mapping {name, start_trials, keep}");
    DIAL_RETURN_IF_ERROR(CheckKeys(schedule, "fidelity.schedule", kFidelityScheduleKeys));
    if (schedule["name"]) {
      DIAL_ASSIGN_OR_RETURN(fidelity.schedule, GetString(schedule["name"], "fidelity.schedule.name"));
    }
    if (schedule["start_trials"]) {
      DIAL_ASSIGN_OR_RETURN(fidelity.start_trials, GetInt(schedule["start_trials"], "fidelity.schedule.start_trials"));
    }
    if (schedule["keep"]) {
      DIAL_ASSIGN_OR_RETURN(fidelity.keep, GetNumber(schedule["keep"], "fidelity.schedule.keep"));
    }
    if (schedule["rounds"]) {
      DIAL_ASSIGN_OR_RETURN(fidelity.rounds, GetInt(schedule["rounds"], "fidelity.schedule.rounds"));
    }
  }
  if (const YAML::Node keys = node["resume_keys"]) {
    if (!keys.IsSequence()) return Error(keys, "fidelity.resume_keys", "must be a list of names, e.g. [epochs]");
    fidelity.resume_keys.clear();
    for (size_t i = 0; i < keys.size(); ++i) {
      DIAL_ASSIGN_OR_RETURN(std::string k, GetString(keys[i], "fidelity.resume_keys[" + std::to_string(i) + "]"));
      fidelity.resume_keys.push_back(k);
    }
  }
  if (node["min_points_in_model"]) {
    DIAL_ASSIGN_OR_RETURN(fidelity.min_points_in_model,
                          GetInt(node["min_points_in_model"], "fidelity.min_points_in_model"));
  }
  Status valid = fidelity.Validate();
  if (!valid.ok()) return Error(node, "fidelity", valid.message());
  if (config.directions.size() != 1) {
    return Error(node, "fidelity",
                 "promotion ranks trials by one objective; the study has " + std::to_string(config.directions.size()) +
                     " directions");
  }
  config.fidelity = std::move(fidelity);
  return Status::Ok();
}

Status Parser::ParseExplore(const YAML::Node& node, const std::string& key, PbtExploreOptions& explore) const {
  if (YAML::Node n = node["resample_probability"]) {
    DIAL_ASSIGN_OR_RETURN(explore.resample_probability, GetNumber(n, key + ".resample_probability"));
  }
  if (YAML::Node n = node["perturbation_factors"]) {
    if (!n.IsSequence()) return Error(n, key + ".perturbation_factors", "must be a list of numbers, e.g. [0.8, 1.2]");
    explore.perturbation_factors.clear();
    for (size_t i = 0; i < n.size(); ++i) {
      DIAL_ASSIGN_OR_RETURN(double f, GetNumber(n[i], key + ".perturbation_factors[" + std::to_string(i) + "]"));
      explore.perturbation_factors.push_back(f);
    }
  }
  return Status::Ok();
}

Status Parser::ParseScheduler(const YAML::Node& node, StudyConfig& config) const {
  if (!node.IsMap()) {
    return Error(node, "scheduler",
                 "must be a mapping such as {name: pbt, population_size: 8, perturbation_interval: 2, max_steps: 20, "
                 "mutable: [lr]}, got " +
                     Describe(node));
  }
  DIAL_RETURN_IF_ERROR(CheckKeys(node, "scheduler", kSchedulerKeys));
  if (!node["name"]) return Error(node, "scheduler.name", "missing: the only scheduler is pbt");
  DIAL_ASSIGN_OR_RETURN(std::string name, GetString(node["name"], "scheduler.name"));
  if (name != "pbt") return Error(node["name"], "scheduler.name", "unknown scheduler '" + name + "' (known: pbt)");
  if (config.fidelity) {
    return Error(node, "scheduler",
                 "pbt cannot be combined with fidelity: levels: PBT trains every member to max_steps in segments; "
                 "drop one of the two");
  }
  if (config.directions.size() != 1) {
    return Error(node, "scheduler",
                 "pbt ranks members by one objective; the study has " + std::to_string(config.directions.size()) +
                     " directions");
  }
  PbtOptions pbt;
  const std::pair<const char*, int64_t*> ints[] = {{"population_size", &pbt.population_size},
                                                   {"perturbation_interval", &pbt.perturbation_interval},
                                                   {"max_steps", &pbt.max_steps}};
  for (const auto& [key, target] : ints) {
    if (YAML::Node n = node[key]) {
      DIAL_ASSIGN_OR_RETURN(*target, GetInt(n, std::string("scheduler.") + key));
    } else if (std::string(key) == "max_steps") {
      return Error(node, "scheduler.max_steps", "missing: the step at which every member's training ends");
    }
  }
  if (YAML::Node n = node["quantile_fraction"]) {
    DIAL_ASSIGN_OR_RETURN(pbt.quantile_fraction, GetNumber(n, "scheduler.quantile_fraction"));
  }
  DIAL_RETURN_IF_ERROR(ParseExplore(node, "scheduler", pbt.explore));
  const YAML::Node mutables = node["mutable"];
  if (!mutables || !(mutables.IsSequence() || mutables.IsMap())) {
    return Error(mutables ? mutables : node, "scheduler.mutable",
                 "must list the searched parameters that may change during training, e.g. [lr, dropout]");
  }
  auto add_mutable = [&](const YAML::Node& name_node, const YAML::Node* options) -> Status {
    DIAL_ASSIGN_OR_RETURN(std::string param, GetString(name_node, "scheduler.mutable"));
    const std::string key = "scheduler.mutable." + param;
    if (std::none_of(config.search_space.begin(), config.search_space.end(),
                     [&](const ParamSpec& s) { return s.name == param; })) {
      return Error(name_node, key,
                   config.fixed.count(param) != 0 ? "is under fixed: only searched parameters can change"
                                                  : "not in search_space: only searched parameters can change");
    }
    PbtExploreOptions explore = pbt.explore;
    if (options != nullptr && *options && !options->IsNull()) {
      if (!options->IsMap()) {
        return Error(*options, key, "must be a mapping {resample_probability, perturbation_factors} or empty");
      }
      DIAL_RETURN_IF_ERROR(CheckKeys(*options, key, kPbtExploreKeys));
      DIAL_RETURN_IF_ERROR(ParseExplore(*options, key, explore));
    }
    if (!pbt.mutable_params.emplace(param, explore).second) return Error(name_node, key, "listed twice");
    return Status::Ok();
  };
  if (mutables.IsSequence()) {
    for (size_t i = 0; i < mutables.size(); ++i) DIAL_RETURN_IF_ERROR(add_mutable(mutables[i], nullptr));
  } else {
    for (const auto& kv : mutables) DIAL_RETURN_IF_ERROR(add_mutable(kv.first, &kv.second));
  }
  pbt.seed = config.seed.value_or(0);
  Status valid = pbt.Validate();
  if (!valid.ok()) return Error(node, "scheduler", valid.message());
  config.pbt = std::move(pbt);
  return Status::Ok();
}

Status Parser::ParseCommandRunKeys(const YAML::Node& node, CommandObjectiveOptions& options) const {
  if (YAML::Node n = node["timeout"]) {
    DIAL_ASSIGN_OR_RETURN(double t, GetNumber(n, "objective.timeout"));
    if (!(t > 0) || !std::isfinite(t)) return Error(n, "objective.timeout", "must be a positive number of seconds");
    options.timeout_seconds = t;
  }
  if (YAML::Node n = node["kill_grace"]) {
    DIAL_ASSIGN_OR_RETURN(options.kill_grace_seconds, GetNumber(n, "objective.kill_grace"));
    if (!(options.kill_grace_seconds >= 0) || !std::isfinite(options.kill_grace_seconds)) {
      return Error(n, "objective.kill_grace", "must be a number of seconds ≥ 0");
    }
  }
  if (YAML::Node n = node["trials_dir"]) {
    DIAL_ASSIGN_OR_RETURN(options.trials_dir, GetString(n, "objective.trials_dir"));
    if (options.trials_dir.empty()) return Error(n, "objective.trials_dir", "empty");
  }
  if (YAML::Node n = node["workdir"]) {
    DIAL_ASSIGN_OR_RETURN(std::string workdir, GetString(n, "objective.workdir"));
    std::error_code ec;
    fs::path absolute = fs::absolute(workdir, ec);
    if (ec || !fs::is_directory(absolute, ec)) return Error(n, "objective.workdir", "no such directory: " + workdir);
    options.workdir = absolute.lexically_normal().string();
  }
  if (YAML::Node n = node["env"]) {
    if (!n.IsMap()) return Error(n, "objective.env", "must be a mapping of variable names to values");
    for (const auto& kv : n) {
      const std::string var = kv.first.Scalar();
      const std::string key = "objective.env." + var;
      if (var.empty() || var.find('=') != std::string::npos) return Error(kv.first, key, "not a variable name");
      if (!kv.second.IsScalar()) return Error(kv.second, key, "must be a single value, got " + Describe(kv.second));
      options.env[var] = IsNullScalar(kv.second) ? "" : kv.second.Scalar();
    }
  }
  return Status::Ok();
}

Status Parser::ParseCommandBuiltin(const YAML::Node& node, const std::string& name, StudyConfig& config) const {
  CommandObjectiveOptions options;
  DIAL_RETURN_IF_ERROR(ParseCommandRunKeys(node, options));
  Json keys = Json::object();
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    if (key == "builtin" || std::find(kCommandRunKeys.begin(), kCommandRunKeys.end(), key) != kCommandRunKeys.end()) {
      continue;
    }
    keys[key] = NodeToJson(kv.second);
  }
  Status made = CommandBuiltins().at(name)(keys, config, options);
  if (!made.ok()) return Error(node, "objective", made.message());
  options.metrics = config.metrics;
  Status valid = options.Validate();
  if (!valid.ok()) return Error(node, "objective", valid.message());
  config.objective = std::move(options);
  return Status::Ok();
}

Status Parser::ParseBuiltin(const YAML::Node& node, StudyConfig& config) const {
  BuiltinObjectiveConfig builtin;
  DIAL_ASSIGN_OR_RETURN(builtin.name, GetString(node["builtin"], "objective.builtin"));
  if (CommandBuiltins().count(builtin.name) != 0) return ParseCommandBuiltin(node, builtin.name, config);
  std::vector<double> lower, upper;
  if (builtin.name == kMfHartmannName) {
    DIAL_RETURN_IF_ERROR(CheckKeys(node, "objective", kMfHartmannKeys));
    double bias = kDefaultMfBias;
    int64_t max_fidelity = kMfHartmannMaxFidelity;
    if (YAML::Node n = node["bias"]) {
      DIAL_ASSIGN_OR_RETURN(bias, GetNumber(n, "objective.bias"));
    }
    if (YAML::Node n = node["max_fidelity"]) {
      DIAL_ASSIGN_OR_RETURN(max_fidelity, GetInt(n, "objective.max_fidelity"));
      if (max_fidelity < 1 || max_fidelity > kMfHartmannMaxFidelity) {
        return Error(n, "objective.max_fidelity",
                     "must be in [1, " + std::to_string(kMfHartmannMaxFidelity) + "], got " + n.Scalar());
      }
    }
    builtin.options = {{"bias", bias}, {"max_fidelity", max_fidelity}};
    lower.assign(6, 0.0);
    upper.assign(6, 1.0);
  } else {
    DIAL_RETURN_IF_ERROR(CheckKeys(node, "objective", kBuiltinKeys));
    Result<BenchmarkFunction> f = FindBenchmarkFunction(builtin.name);
    if (!f.ok()) {
      std::string others = kMfHartmannName;
      for (const auto& [name, factory] : CommandBuiltins()) others += ", " + name;
      return Error(node["builtin"], "objective.builtin", f.status().message() + ", or " + others);
    }
    lower = f->lower;
    upper = f->upper;
  }
  if (config.directions.size() != 1) {
    return Error(node, "objective.builtin",
                 "a built-in function has one objective, but the study has " +
                     std::to_string(config.directions.size()) + " directions");
  }
  const int line = node.Mark().line + 1;
  if (config.search_space.empty()) {
    // The function's own domain, x0..x{d-1}, as the benchmark suite defines it.
    for (size_t i = 0; i < lower.size(); ++i) {
      const std::string name = "x" + std::to_string(i);
      if (config.fixed.count(name) != 0) continue;
      ParamSpec spec;
      spec.name = name;
      spec.distribution = FloatDistribution{lower[i], upper[i], std::nullopt, false};
      spec.line = line;
      config.search_space.push_back(std::move(spec));
    }
  } else {
    std::vector<std::string> missing;
    for (size_t i = 0; i < lower.size(); ++i) {
      const std::string name = "x" + std::to_string(i);
      auto spec = std::find_if(config.search_space.begin(), config.search_space.end(),
                               [&](const ParamSpec& s) { return s.name == name; });
      auto fixed = config.fixed.find(name);
      if (spec == config.search_space.end() && fixed == config.fixed.end()) missing.push_back(name);
      if (fixed != config.fixed.end() && !IsNumeric(fixed->second)) {
        return Error(node, "fixed." + name, "must be a number for builtin " + builtin.name);
      }
      if (spec != config.search_space.end() && !spec->when.empty()) {
        return Error(node, "search_space." + name, "cannot be conditional: builtin " + builtin.name + " needs it");
      }
    }
    if (!missing.empty()) {
      return Error(node, "objective.builtin",
                   builtin.name + " needs parameters x0..x" + std::to_string(lower.size() - 1) +
                       " in search_space or fixed; missing " + Join(missing));
    }
  }
  if (config.metrics.size() != 1) config.metrics = {"value"};
  config.objective = std::move(builtin);
  return Status::Ok();
}

// A grid needs every value listed; when its options do not, they come from the study's search space.
Result<Json> DeriveGridSpace(const StudyConfig& config) {
  Json space = Json::object();
  for (const ParamSpec& spec : config.search_space) {
    Json values = Json::array();
    if (const auto* c = std::get_if<CategoricalDistribution>(&spec.distribution)) {
      for (const ParamValue& v : c->choices) values.push_back(ParamValueToJson(v));
    } else if (const auto* i = std::get_if<IntDistribution>(&spec.distribution)) {
      if ((i->high - i->low) / i->step + 1 > kMaxDerivedGridValues) {
        return InvalidArgument("search_space." + spec.name + " has more than " + std::to_string(kMaxDerivedGridValues) +
                               " values for a grid; list them under " + "sampler.search_space");
      }
      for (int64_t v = i->low; v <= i->high; v += i->step) values.push_back(v);
    } else {
      const auto& f = std::get<FloatDistribution>(spec.distribution);
      if (!f.step.has_value()) {
        return InvalidArgument("search_space." + spec.name +
                               " is a continuous float: a grid needs a step or a list "
                               "of values (or list them under sampler.search_space)");
      }
      const double n = std::round((f.high - f.low) / *f.step);
      if (n + 1 > kMaxDerivedGridValues) {
        return InvalidArgument("search_space." + spec.name + " has more than " + std::to_string(kMaxDerivedGridValues) +
                               " values for a grid");
      }
      for (int64_t k = 0; k <= static_cast<int64_t>(n); ++k) values.push_back(f.low + static_cast<double>(k) * *f.step);
    }
    space[spec.name] = std::move(values);
  }
  return space;
}

Status CheckSamplerOnly(StudyConfig& config) {
  if (config.sampler == "grid" && !config.sampler_options.contains("search_space")) {
    Result<Json> space = DeriveGridSpace(config);
    if (!space.ok()) return InvalidArgument("grid: " + space.status().message());
    config.sampler_options["search_space"] = *space;
  }
  Result<std::unique_ptr<Sampler>> sampler =
      CreateSampler(config.sampler, config.sampler_options, config.seed.value_or(0));
  return sampler.status();
}

Status CheckPrunerOnly(const StudyConfig& config) {
  return CreatePruner(config.pruner, config.pruner_options).status();
}

Status Parser::CheckSampler(const YAML::Node& node, StudyConfig& config) const {
  Status s = CheckSamplerOnly(config);
  if (!s.ok()) return Error(node, "sampler", s.message());
  return Status::Ok();
}

Status Parser::CheckPruner(const YAML::Node& node, const StudyConfig& config) const {
  Status s = CheckPrunerOnly(config);
  if (!s.ok()) return Error(node, "pruner", s.message());
  return Status::Ok();
}

bool ConditionHolds(const ParamCondition& condition, const std::map<std::string, ParamValue>& params) {
  auto it = params.find(condition.parent);
  if (it == params.end()) return false;
  for (const ParamValue& v : condition.values) {
    if (ParamValueEquals(v, it->second)) return true;
  }
  return false;
}

}  // namespace

void RegisterCommandBuiltin(const std::string& name, CommandBuiltinFactory factory) {
  CommandBuiltins()[name] = std::move(factory);
}

namespace internal {

Status CheckSamplerAndPruner(StudyConfig& config) {
  Status s = CheckSamplerOnly(config);
  if (!s.ok()) return s.WithContext("sampler");
  s = CheckPrunerOnly(config);
  if (!s.ok()) return s.WithContext("pruner");
  return Status::Ok();
}

}  // namespace internal

Result<StudyConfig> ParseStudyConfig(const std::string& yaml_text, const std::string& source) {
  try {
    return Parser(source).Parse(yaml_text);
  } catch (const YAML::Exception& e) {
    return InvalidArgument(source + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
  }
}

Result<StudyConfig> LoadStudyConfig(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) return NotFound(path + ": no such study file");
  if (fs::is_directory(path, ec)) return InvalidArgument(path + ": is a directory, not a study file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError(path + ": cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  return ParseStudyConfig(text.str(), path);
}

Result<std::map<std::string, ParamValue>> SuggestFromConfig(Trial& trial, const StudyConfig& config) {
  std::map<std::string, ParamValue> params = config.fixed;
  if (config.fidelity) {
    const auto& levels = config.fidelity->levels;
    const int level = std::clamp(FidelityLevelOf(trial.frozen()), 0, static_cast<int>(levels.size()) - 1);
    for (const auto& [name, value] : levels[level]) params[name] = value;
  }
  for (const ParamSpec& spec : config.search_space) {
    bool active = true;
    for (const ParamCondition& condition : spec.when) active = active && ConditionHolds(condition, params);
    if (!active) continue;
    Result<ParamValue> value = trial.Suggest(spec.name, spec.distribution);
    if (!value.ok()) {
      return value.status().WithContext(config.source + ":" + std::to_string(spec.line) + ": search_space." +
                                        spec.name);
    }
    params[spec.name] = *value;
  }
  return params;
}

double GracePeriodSeconds(const StudyConfig& config) {
  // Optuna's default grace period is twice the heartbeat interval.
  return config.grace_period_seconds.value_or(2.0 * config.heartbeat_interval_seconds);
}

Result<ObjectiveFunction> MakeObjective(const StudyConfig& config, const std::atomic<bool>* stop_flag) {
  auto shared = std::make_shared<const StudyConfig>(config);
  if (const auto* command = std::get_if<CommandObjectiveOptions>(&config.objective)) {
    DIAL_RETURN_IF_ERROR(command->Validate());
    return ObjectiveFunction([shared, stop_flag](Trial& trial) -> Result<std::vector<double>> {
      DIAL_ASSIGN_OR_RETURN(auto params, SuggestFromConfig(trial, *shared));
      return RunCommandTrial(trial, params, std::get<CommandObjectiveOptions>(shared->objective), stop_flag);
    });
  }
  const auto& builtin = std::get<BuiltinObjectiveConfig>(config.objective);
  const bool multi_fidelity = builtin.name == kMfHartmannName;
  BenchmarkFunction function;
  if (multi_fidelity) {
    function.name = kMfHartmannName;
    function.dim = 6;
  } else {
    DIAL_ASSIGN_OR_RETURN(function, FindBenchmarkFunction(builtin.name));
  }
  const double bias = builtin.options.value("bias", kDefaultMfBias);
  const int64_t max_fidelity = builtin.options.value("max_fidelity", static_cast<int64_t>(kMfHartmannMaxFidelity));
  return ObjectiveFunction(
      [shared, stop_flag, function, multi_fidelity, bias, max_fidelity](Trial& trial) -> Result<std::vector<double>> {
        DIAL_ASSIGN_OR_RETURN(auto params, SuggestFromConfig(trial, *shared));
        std::vector<double> x;
        for (int i = 0; i < function.dim; ++i) {
          const std::string name = "x" + std::to_string(i);
          auto it = params.find(name);
          if (it == params.end() || !IsNumeric(it->second)) {
            return InvalidArgument("builtin " + function.name + ": parameter " + name + " is missing or not a number");
          }
          x.push_back(NumericValue(it->second));
        }
        if (!multi_fidelity) return std::vector<double>{function.evaluate(x)};
        for (int64_t z = 1; z <= max_fidelity; ++z) {
          if (stop_flag != nullptr && stop_flag->load()) return Cancelled("interrupted");
          DIAL_RETURN_IF_ERROR(trial.Report(z, MfHartmann6(x, static_cast<double>(z), bias)));
          DIAL_ASSIGN_OR_RETURN(bool prune, trial.ShouldPrune());
          if (prune) return TrialPruned("pruned at step " + std::to_string(z));
        }
        return std::vector<double>{MfHartmann6(x, static_cast<double>(max_fidelity), bias)};
      });
}

}  // namespace dial
