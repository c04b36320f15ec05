// The command objective: one child process per trial, its params passed in argv, a JSON file and the
// environment; its JSON-lines stdout read as intermediate and final metric values (docs/command-objective.md).
#include "dial/command_objective.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

#include "dial/fidelity.h"
#include "dial/pbt.h"
#include "exec/heartbeat.h"
#include "exec/placeholder.h"
#include "exec/resources.h"
#include "exec/subprocess.h"

extern char** environ;

namespace dial {
namespace {

namespace fs = std::filesystem;

// How much of stderr is kept in the trial (system attr dial:stderr_tail).
constexpr size_t kStderrTailBytes = 2048;
// How often the loop looks at the stop flag, the timeout and pruning while the child is quiet.
constexpr std::chrono::milliseconds kPollInterval{100};
// How often a trial with a memory limit has its resident memory summed (a /proc scan each time).
constexpr std::chrono::milliseconds kMemorySampleInterval{200};
// After the child exits, how long a grandchild still holding its stdout may delay the end of the trial.
constexpr std::chrono::seconds kDrainAfterExit{2};
// The longest stderr line quoted in a fail reason.
constexpr size_t kReasonLineChars = 300;
// The longest stdout line read as a report (docs/command-objective.md). A line longer than the subprocess's limit
// comes in pieces (exec/subprocess.h), so that limit must not be below this one.
constexpr size_t kMaxReportLineBytes = size_t{1} << 20;
static_assert(kMaxReportLineBytes <= kMaxOutputLineBytes, "a report line must reach the objective whole");
// How much of a stdout line a fail reason quotes to name it.
constexpr size_t kQuotedLineChars = 60;
constexpr const char* kDefaultPath = "/usr/local/bin:/usr/bin:/bin";

// A failure of the trial (not of dial): the message is the reason stored in the trial.
Status TrialFailure(std::string reason) { return {StatusCode::kFailedPrecondition, std::move(reason)}; }

std::string EnvName(const std::string& param) {
  std::string name = "DIAL_PARAM_";
  for (unsigned char c : param) name += std::isalnum(c) ? static_cast<char>(std::toupper(c)) : '_';
  return name;
}

// JSON must be valid UTF-8 to be stored; a trainer's stderr need not be (progress bars, binary junk).
std::string SanitizeUtf8(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    unsigned char c = static_cast<unsigned char>(in[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    bool valid = len > 0 && i + len <= in.size();
    for (size_t k = 1; valid && k < len; ++k) valid = (static_cast<unsigned char>(in[i + k]) >> 6) == 0x2;
    if (valid && (c >= 0x20 || c == '\n' || c == '\t' || c >= 0x80)) {
      out.append(in.substr(i, len));
      i += len;
    } else {
      out += valid ? ' ' : '?';
      i += valid ? len : 1;
    }
  }
  return out;
}

// Python's json.dumps writes NaN, Infinity and -Infinity, which strict JSON lacks. They are turned into marker
// strings before parsing and back into doubles after, so a NaN metric is reported as NaN, not as a parse error.
// The markers are written escaped (JSON forbids raw control characters) and compared decoded.
constexpr const char* kNanMarker = "\x01nan";
constexpr const char* kInfMarker = "\x01inf";
constexpr const char* kNegInfMarker = "\x01-inf";
constexpr const char* kNanMarkerJson = R"("\u0001nan")";
constexpr const char* kInfMarkerJson = R"("\u0001inf")";
constexpr const char* kNegInfMarkerJson = R"("\u0001-inf")";

// The 0-based offset where the first malformed UTF-8 sequence of `s` starts (RFC 3629: no overlong forms, no
// surrogates, nothing above U+10FFFF), or npos when all of it is well-formed.
size_t FirstInvalidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    unsigned char low = 0x80, high = 0xBF;  // the allowed range of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) low = 0xA0;
      if (c == 0xED) high = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) low = 0x90;
      if (c == 0xF4) high = 0x8F;
    } else {
      return i;
    }
    for (size_t k = 1; k < len; ++k) {
      if (i + k >= s.size()) return i;
      const unsigned char b = static_cast<unsigned char>(s[i + k]);
      if (k == 1 ? (b < low || b > high) : (b >> 6) != 0x2) return i;
    }
    i += len;
  }
  return std::string_view::npos;
}

// nlohmann's what() without its "[json.exception.parse_error.101] " tag.
std::string JsonErrorText(const Json::exception& e) {
  std::string_view text = e.what();
  if (size_t tag_end = text.find("] "); text.rfind("[json.exception", 0) == 0 && tag_end != std::string_view::npos) {
    text.remove_prefix(tag_end + 2);
  }
  return std::string(text);
}

// A stdout line read as a report: nullopt for a line that does not start with '{' (log output); InvalidArgument
// saying what is wrong for one that does but is not a JSON object (not UTF-8, a number out of range, bad syntax).
Result<std::optional<Json>> ParseJsonLine(std::string_view line) {
  size_t first = line.find_first_not_of(" \t\r");
  if (first == std::string_view::npos || line[first] != '{') return std::optional<Json>();
  if (size_t bad = FirstInvalidUtf8(line); bad != std::string_view::npos) {
    char text[96];
    snprintf(text, sizeof(text), "not UTF-8: byte %zu (0x%02X) starts no valid UTF-8 character", bad + 1,
             static_cast<unsigned>(static_cast<unsigned char>(line[bad])));
    return InvalidArgument(text);
  }
  std::string text;
  text.reserve(line.size());
  bool in_string = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (in_string) {
      text += c;
      if (c == '\\' && i + 1 < line.size()) {
        text += line[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      text += c;
    } else if (line.compare(i, 3, "NaN") == 0) {
      text += kNanMarkerJson;
      i += 2;
    } else if (line.compare(i, 8, "Infinity") == 0) {
      text += kInfMarkerJson;
      i += 7;
    } else if (line.compare(i, 9, "-Infinity") == 0) {
      text += kNegInfMarkerJson;
      i += 8;
    } else {
      text += c;
    }
  }
  try {
    Json parsed = Json::parse(text);
    if (!parsed.is_object()) return InvalidArgument("not a JSON object");
    return std::optional<Json>(std::move(parsed));
  } catch (const Json::out_of_range& e) {
    // 1e999: a double holds up to 1.8e308; Python writes an infinite value as Infinity.
    return InvalidArgument("value out of range: " + JsonErrorText(e) +
                           " (the largest finite value is 1.8e308; print Infinity for an infinite one)");
  } catch (const Json::exception& e) {
    return InvalidArgument("not valid JSON: " + JsonErrorText(e));
  }
}

// The step of an intermediate value: a non-negative integer that fits an int64 (2.0 counts, 2.5 and 1e30 do not).
std::optional<int64_t> StepNumber(const Json& v) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return static_cast<int64_t>(u);
    return std::nullopt;
  }
  if (v.is_number_integer()) {
    const int64_t i = v.get<int64_t>();
    return i >= 0 ? std::optional<int64_t>(i) : std::nullopt;
  }
  if (v.is_number_float()) {
    const double d = v.get<double>();
    // 2^63 is the first double above int64's range.
    if (std::isfinite(d) && d >= 0 && d == std::floor(d) && d < 9223372036854775808.0) return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

// The number a metric field holds (NaN and ±inf included), or nullopt when it is not a number.
std::optional<double> MetricNumber(const Json& v) {
  if (v.is_number()) return v.get<double>();
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s == kNanMarker) return std::nan("");
    if (s == kInfMarker) return HUGE_VAL;
    if (s == kNegInfMarker) return -HUGE_VAL;
  }
  return std::nullopt;
}

std::string StudyDirName(const std::string& study) {
  std::string out;
  for (unsigned char c : study)
    out += (std::isalnum(c) || c == '-' || c == '_' || c == '.') ? static_cast<char>(c) : '_';
  if (out.empty() || out == "." || out == "..") out = "_" + out;
  return out;
}

std::string ShortLine(const std::string& line) {
  if (line.size() <= kReasonLineChars) return line;
  return line.substr(0, kReasonLineChars) + "...";
}

// A JSON value as the trainer wrote it, with NaN and the infinities back in Python's spelling.
std::string JsonText(const Json& v) {
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (s == kNanMarker) return "NaN";
    if (s == kInfMarker) return "Infinity";
    if (s == kNegInfMarker) return "-Infinity";
  }
  return v.dump();
}

// Whether a line that cannot be read was meant as a report: an object naming "step" or a metric. Other lines that
// start with '{' but are not JSON stay log output, as before.
bool LooksLikeReport(std::string_view line, const std::vector<std::string>& metrics) {
  const size_t first = line.find_first_not_of(" \t\r");
  if (first == std::string_view::npos || line[first] != '{') return false;
  if (line.find("\"step\"") != std::string_view::npos) return true;
  return std::any_of(metrics.begin(), metrics.end(),
                     [&](const std::string& m) { return line.find("\"" + m + "\"") != std::string_view::npos; });
}

// "stdout line 3 '{"step": -1, "loss": 0.5}'": the line's number in the child's stdout and the start of it.
std::string StdoutLineRef(int64_t number, std::string_view line) {
  const size_t first = std::min(line.find_first_not_of(" \t\r"), line.size());
  std::string_view shown = line.substr(first);
  const bool cut = shown.size() > kQuotedLineChars;
  return "stdout line " + std::to_string(number) + " '" + SanitizeUtf8(shown.substr(0, kQuotedLineChars)) +
         (cut ? "..." : "") + "'";
}

// Everything read from the child while it runs.
struct TrialOutput {
  std::ofstream stdout_log;
  std::ofstream stderr_log;
  std::string stderr_tail;
  std::string last_stderr_line;
  std::optional<Json> final_line;  // the last JSON object without "step" that names a metric
  std::string final_text;
  int64_t last_step = -1;
  int64_t stdout_lines = 0;   // lines of stdout seen so far: the number of the current one
  bool in_long_line = false;  // the last callback was a piece of a long line that goes on in the next one
  Status protocol_error;      // a report the trial cannot be read from: the trial fails with it
  bool prune = false;
  bool stopping = false;  // once the child is being stopped, its reports are only logged
  Status error;           // a storage error while reporting
};

// Reads one line of the child's stdout (already logged), or a piece of a long one that `continues` in the next
// call: an intermediate value is reported and the pruner asked; the final line is kept; a report that cannot be
// read, or a step that is not a non-negative integer, sets out.protocol_error naming the line.
void OnStdoutLine(std::string_view line, bool continues, Trial& trial, const CommandObjectiveOptions& options,
                  TrialOutput& out) {
  // A long line is judged by its first piece, which carries its start and its number; the rest of it is only logged.
  const bool rest_of_long_line = out.in_long_line;
  out.in_long_line = continues;
  if (rest_of_long_line) return;
  const int64_t number = ++out.stdout_lines;
  if (!out.protocol_error.ok()) return;
  auto fail = [&](const std::string& what) {
    out.protocol_error = TrialFailure(StdoutLineRef(number, line) + ": " + what);
  };
  if (continues || line.size() > kMaxReportLineBytes) {
    if (LooksLikeReport(line, options.metrics)) {
      fail("longer than the limit of 1 MiB (" + std::to_string(kMaxReportLineBytes) + " bytes) per line");
    }
    return;
  }
  Result<std::optional<Json>> parsed = ParseJsonLine(line);
  if (!parsed.ok()) {
    if (LooksLikeReport(line, options.metrics)) fail(parsed.status().message());
    return;
  }
  if (!parsed->has_value()) return;  // plain log output
  Json& json = **parsed;
  auto step_it = json.find("step");
  if (step_it == json.end()) {
    for (const std::string& m : options.metrics) {
      if (json.contains(m)) {
        out.final_line = std::move(json);
        out.final_text = std::string(line);
        return;
      }
    }
    return;
  }
  if (out.stopping || !out.error.ok() || out.prune) return;
  const std::optional<int64_t> step = StepNumber(*step_it);
  if (!step.has_value()) {
    fail("\"step\" must be a non-negative integer, got " + JsonText(*step_it));
    return;
  }
  auto value_it = json.find(options.metrics.front());
  if (value_it == json.end()) return;
  std::optional<double> value = MetricNumber(*value_it);
  if (!value.has_value()) return;
  Status reported = trial.Report(*step, *value);
  if (!reported.ok()) {
    out.error = reported;
    return;
  }
  out.last_step = *step;
  Result<bool> prune = trial.ShouldPrune();
  if (!prune.ok()) {
    out.error = prune.status();
  } else if (*prune) {
    out.prune = true;
  }
}

// Appends a line of the child's stderr to its log and to the tail kept for the trial.
void OnStderrLine(std::string_view line, TrialOutput& out) {
  out.stderr_log << line << '\n' << std::flush;
  out.stderr_tail.append(line);
  out.stderr_tail += '\n';
  if (out.stderr_tail.size() > kStderrTailBytes) out.stderr_tail.erase(0, out.stderr_tail.size() - kStderrTailBytes);
  if (line.find_first_not_of(" \t\r") != std::string_view::npos) out.last_stderr_line = std::string(line);
}

// `status`, after keeping the tail of the child's stderr in the trial (system attr dial:stderr_tail).
Status WithStderrTail(Trial& trial, const TrialOutput& out, Status status) {
  if (!out.stderr_tail.empty()) {
    Status s = trial.SetSystemAttr(std::string(kStderrTailAttr), SanitizeUtf8(out.stderr_tail));
    if (!s.ok()) return s;
  }
  return status;
}

// The trial's directory, <trials_dir>/<study>/<trial number>, made absolute and created.
Result<fs::path> MakeTrialDir(Trial& trial, const CommandObjectiveOptions& options) {
  std::error_code ec;
  fs::path trial_dir = fs::absolute(
      fs::path(options.trials_dir) / StudyDirName(trial.study().name()) / std::to_string(trial.number()), ec);
  if (ec) return IoError("trials_dir " + options.trials_dir + ": " + ec.message());
  fs::create_directories(trial_dir, ec);
  if (ec) return IoError("cannot create trial directory " + trial_dir.string() + ": " + ec.message());
  return trial_dir;
}

// Writes the trial's params as JSON to <trial_dir>/params.json (DIAL_PARAMS_FILE) and returns its path.
Result<fs::path> WriteParamsFile(const fs::path& trial_dir, const std::map<std::string, ParamValue>& params) {
  Json params_json = Json::object();
  for (const auto& [name, value] : params) params_json[name] = ParamValueToJson(value);
  const fs::path params_path = trial_dir / "params.json";
  std::ofstream out(params_path);
  out << params_json.dump(2) << "\n";
  if (!out) return IoError("cannot write " + params_path.string());
  return params_path;
}

// The command's argv with its placeholders filled in from the params, the trial number, its directory and the
// study's name.
Result<std::vector<std::string>> TrialArgv(Trial& trial, const std::map<std::string, ParamValue>& params,
                                           const CommandObjectiveOptions& options, const std::string& trial_dir) {
  const std::string study_name = trial.study().name();
  auto lookup = [&](const std::string& name) -> std::optional<std::string> {
    auto it = params.find(name);
    if (it != params.end()) return ParamValueToString(it->second);
    if (name == kTrialNumberPlaceholder) return std::to_string(trial.number());
    if (name == kTrialDirPlaceholder) return trial_dir;
    if (name == kStudyNamePlaceholder) return study_name;
    return std::nullopt;
  };
  std::vector<std::string> argv;
  for (const std::string& arg : options.argv) {
    Result<std::string> substituted = SubstitutePlaceholders(arg, lookup);
    if (!substituted.ok()) {
      // Typically a conditional parameter whose `when` does not hold in this trial: an empty argument would be
      // silently wrong, so the trial fails and says where to read such parameters instead.
      return TrialFailure(substituted.status().message() +
                          ": this trial has no such parameter (a conditional "
                          "parameter is read from $DIAL_PARAMS_FILE rather than placed in the command)");
    }
    argv.push_back(std::move(substituted).value());
  }
  return argv;
}

// dial's own environment, plus PYTHONUNBUFFERED, the params (DIAL_PARAM_<NAME>) and what names the trial (DIAL_*).
std::map<std::string, std::string> BaseEnvironment(Trial& trial, const std::map<std::string, ParamValue>& params,
                                                   const fs::path& params_path, const std::string& trial_dir) {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string entry(*e);
    size_t eq = entry.find('=');
    if (eq != std::string::npos) env[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  // Python buffers a piped stdout, which would hold intermediate values back until the trainer exits and make
  // pruning useless; a user's own setting wins.
  env.emplace("PYTHONUNBUFFERED", "1");
  for (const auto& [name, value] : params) env[EnvName(name)] = ParamValueToString(value);
  env["DIAL_PARAMS_FILE"] = params_path.string();
  env["DIAL_TRIAL_NUMBER"] = std::to_string(trial.number());
  env["DIAL_TRIAL_ID"] = std::to_string(trial.id());
  env["DIAL_STUDY_NAME"] = trial.study().name();
  env["DIAL_STORAGE_URL"] = trial.study().storage().url();
  env["DIAL_TRIAL_DIR"] = trial_dir;
  return env;
}

// The directory of the trial numbered `number` (a JSON integer) of the same study: a sibling of `trial_dir`.
std::string SiblingTrialDir(const fs::path& trial_dir, const Json& number) {
  return (trial_dir.parent_path() / std::to_string(number.get<int64_t>())).string();
}

// A PBT segment (include/dial/pbt.h, docs/pbt.md): the steps it trains, and DIAL_CHECKPOINT_DIR, where it loads
// its checkpoint at start and saves it at the end. The checkpoint it starts from (its member's previous segment,
// or after an exploit the better member's) is copied there first, so every segment's checkpoint stays as it left
// it for any member that exploits it later. A trial failure when that checkpoint is missing or cannot be copied.
Status PreparePbtCheckpoint(const fs::path& trial_dir, const AttrMap& attrs, const Json& generation,
                            std::map<std::string, std::string>& env) {
  std::error_code ec;
  const fs::path checkpoint_dir = trial_dir / "checkpoint";
  env["DIAL_CHECKPOINT_DIR"] = checkpoint_dir.string();
  env["DIAL_PBT_GENERATION"] = generation.dump();
  const std::pair<std::string_view, const char*> steps[] = {
      {kPbtMemberAttr, "DIAL_PBT_MEMBER"}, {kPbtStartStepAttr, "DIAL_START_STEP"}, {kPbtEndStepAttr, "DIAL_END_STEP"}};
  for (const auto& [key, name] : steps) {
    if (auto a = attrs.find(std::string(key)); a != attrs.end()) env[name] = a->second.dump();
  }
  fs::remove_all(checkpoint_dir, ec);  // a copy left by an earlier attempt in this directory
  auto from = attrs.find(std::string(kPbtCheckpointFromAttr));
  if (from == attrs.end() || !from->second.is_number_integer()) {
    fs::create_directories(checkpoint_dir, ec);
    if (ec) return IoError("cannot create " + checkpoint_dir.string() + ": " + ec.message());
    return Status::Ok();
  }
  const fs::path source = fs::path(SiblingTrialDir(trial_dir, from->second)) / "checkpoint";
  if (!fs::is_directory(source)) {
    return TrialFailure("pbt: trial " + from->second.dump() + " left no checkpoint in " + source.string() +
                        " (a PBT trial saves its checkpoint in $DIAL_CHECKPOINT_DIR before it exits)");
  }
  fs::copy(source, checkpoint_dir, fs::copy_options::recursive, ec);
  if (ec) {
    return TrialFailure("pbt: cannot copy the checkpoint " + source.string() + " to " + checkpoint_dir.string() + ": " +
                        ec.message());
  }
  env["DIAL_PBT_CHECKPOINT_FROM"] = from->second.dump();
  // Trainers that follow the fidelity contract (the built-in asr) continue that trial's run.
  env["DIAL_RESUME_FROM"] = SiblingTrialDir(trial_dir, from->second);
  return Status::Ok();
}

// Where to resume from: a retry continues from the trial it replaces (the last of its retry chain); a promoted
// trial whose level only adds epochs continues from its parent (include/dial/fidelity.h); a PBT segment from its
// checkpoint (PreparePbtCheckpoint).
Status AddResumeEnvironment(const fs::path& trial_dir, const AttrMap& attrs, std::map<std::string, std::string>& env) {
  if (auto it = attrs.find(std::string(kFidelityLevelAttr)); it != attrs.end()) {
    env["DIAL_FIDELITY_LEVEL"] = it->second.dump();
  }
  if (auto it = attrs.find(std::string(kFidelityResumeFromAttr)); it != attrs.end() && it->second.is_number_integer()) {
    env["DIAL_FIDELITY_PARENT_DIR"] = SiblingTrialDir(trial_dir, it->second);
    env["DIAL_RESUME_FROM"] = env["DIAL_FIDELITY_PARENT_DIR"];
  }
  if (auto it = attrs.find(std::string(kPbtGenerationAttr)); it != attrs.end() && it->second.is_number_integer()) {
    DIAL_RETURN_IF_ERROR(PreparePbtCheckpoint(trial_dir, attrs, it->second, env));
  }
  if (auto it = attrs.find(std::string(kRetryHistoryAttr));
      it != attrs.end() && it->second.is_array() && !it->second.empty() && it->second.back().is_number_integer()) {
    env["DIAL_RESUME_FROM"] = SiblingTrialDir(trial_dir, it->second.back());
  }
  return Status::Ok();
}

// resources_per_trial (exec/resources.h): the grant the worker recorded on the trial. Thread settings are defaults
// (the study's `env`, applied here, may set others); the GPUs are not: a trial sees exactly the GPUs it was given,
// none when it asked for none. Returns the trial's memory limit in bytes, if it has one.
std::optional<int64_t> AddResourceEnvironment(const AttrMap& attrs, const CommandObjectiveOptions& options,
                                              std::map<std::string, std::string>& env) {
  std::optional<int64_t> memory_limit_bytes;
  auto grant = attrs.find(kResourcesAttr);
  if (grant != attrs.end()) {
    if (std::optional<int64_t> threads = ThreadsFor(grant->second)) {
      for (const char* name : {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "DIAL_NUM_THREADS"}) {
        env[name] = std::to_string(*threads);
      }
    }
    memory_limit_bytes = MemoryLimitBytesFor(grant->second);
  }
  for (const auto& [name, value] : options.env) env[name] = value;
  if (grant != attrs.end()) {
    if (std::optional<std::string> devices = CudaVisibleDevicesFor(grant->second)) {
      env["CUDA_VISIBLE_DEVICES"] = *devices;
    }
    // Ids listed by nvidia-smi are in PCI bus order; CUDA, unless told so, numbers GPUs fastest first.
    if (grant->second.is_object() && grant->second.contains("cuda_device_order")) {
      env.emplace("CUDA_DEVICE_ORDER", grant->second["cuda_device_order"].get<std::string>());
    }
  }
  return memory_limit_bytes;
}

// How to start the trial's command, and the memory limit it runs under.
struct TrialLaunch {
  SpawnOptions spawn;
  std::optional<int64_t> memory_limit_bytes;
};

// The trial's inputs (params file, argv, environment) and how to start its command in `trial_dir`.
Result<TrialLaunch> PrepareLaunch(Trial& trial, const std::map<std::string, ParamValue>& params,
                                  const CommandObjectiveOptions& options, const fs::path& trial_dir) {
  const std::string trial_dir_text = trial_dir.string();
  DIAL_ASSIGN_OR_RETURN(const fs::path params_path, WriteParamsFile(trial_dir, params));
  DIAL_ASSIGN_OR_RETURN(std::vector<std::string> argv, TrialArgv(trial, params, options, trial_dir_text));
  Result<std::string> executable = ResolveExecutable(argv[0]);
  if (!executable.ok()) return TrialFailure(executable.status().message());
  std::map<std::string, std::string> env = BaseEnvironment(trial, params, params_path, trial_dir_text);
  const AttrMap& attrs = trial.frozen().system_attrs;
  DIAL_RETURN_IF_ERROR(AddResumeEnvironment(trial_dir, attrs, env));
  TrialLaunch launch;
  launch.memory_limit_bytes = AddResourceEnvironment(attrs, options, env);
  std::error_code ec;
  // Absolute, because the child changes to its working directory before the program is looked up.
  launch.spawn.executable = fs::absolute(*executable, ec).string();
  launch.spawn.argv = std::move(argv);
  for (const auto& [name, value] : env) launch.spawn.env.push_back(name + "=" + value);
  launch.spawn.cwd = options.workdir.empty() ? trial_dir_text : options.workdir;
  return launch;
}

// Why a running child must be stopped now, and whether the trial keeps its stderr tail.
struct StopReason {
  Status status;
  bool keep_stderr_tail = true;
};

// The reason to stop the child after `elapsed`: interrupted, a storage error, an unreadable report, pruning or the
// timeout; nullopt while it may go on.
std::optional<StopReason> ReasonToStop(const TrialOutput& out, const CommandObjectiveOptions& options,
                                       const std::atomic<bool>* stop_flag, std::chrono::duration<double> elapsed) {
  if (stop_flag != nullptr && stop_flag->load()) return StopReason{Cancelled("interrupted")};
  if (!out.error.ok()) return StopReason{out.error, /*keep_stderr_tail=*/false};
  if (!out.protocol_error.ok()) return StopReason{out.protocol_error};
  if (out.prune) return StopReason{TrialPruned("pruned at step " + std::to_string(out.last_step)), false};
  if (options.timeout_seconds.has_value() && elapsed >= std::chrono::duration<double>(*options.timeout_seconds)) {
    char text[64];
    snprintf(text, sizeof(text), "timed out after %g s", *options.timeout_seconds);
    return StopReason{DeadlineExceeded(text)};
  }
  return std::nullopt;
}

// Kills the child's process group at once when it holds more than `limit_bytes` of resident memory (a trial over
// its limit is taking memory its siblings were promised): the trial failure that says so, or nullopt.
std::optional<Status> KillIfOverMemory(Subprocess& proc, int64_t limit_bytes, TrialOutput& out,
                                       const OutputPieceCallback& on_line) {
  const int64_t resident = proc.GroupResidentBytes();
  if (resident <= limit_bytes) return std::nullopt;
  out.stopping = true;
  proc.SignalGroup(SIGKILL);
  proc.Wait();
  proc.ReadOutput(std::chrono::milliseconds(0), on_line);
  char text[160];
  snprintf(text, sizeof(text),
           "out of memory: the trial's processes used %.3g GB, over its limit resources_per_trial.memory_gb "
           "%.3g GB (killed)",
           static_cast<double>(resident) / 1e9, static_cast<double>(limit_bytes) / 1e9);
  return TrialFailure(text);
}

// Reads the running child's output until it has exited and its stdout is closed (or kDrainAfterExit has passed):
// Ok then, or the trial's result when it had to be stopped first (ReasonToStop, KillIfOverMemory).
Status SuperviseChild(Subprocess& proc, Trial& trial, const CommandObjectiveOptions& options,
                      const std::atomic<bool>* stop_flag, std::optional<int64_t> memory_limit_bytes, TrialOutput& out,
                      const OutputPieceCallback& on_line) {
  const auto grace = std::chrono::duration<double>(options.kill_grace_seconds);
  const auto start = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::time_point> exited_at;
  std::chrono::steady_clock::time_point last_memory_sample = start - kMemorySampleInterval;
  while (true) {
    const auto now = std::chrono::steady_clock::now();
    if (std::optional<StopReason> reason = ReasonToStop(out, options, stop_flag, now - start)) {
      out.stopping = true;
      proc.Terminate(grace, on_line);
      return reason->keep_stderr_tail ? WithStderrTail(trial, out, reason->status) : reason->status;
    }
    if (memory_limit_bytes && !exited_at && now - last_memory_sample >= kMemorySampleInterval) {
      last_memory_sample = now;
      if (std::optional<Status> killed = KillIfOverMemory(proc, *memory_limit_bytes, out, on_line)) {
        return WithStderrTail(trial, out, *killed);
      }
    }
    if (proc.HasExited()) {
      if (!exited_at.has_value()) exited_at = now;
      if (proc.output_closed() || now - *exited_at >= kDrainAfterExit) break;
    }
    proc.ReadOutput(kPollInterval, on_line);
  }
  return Status::Ok();
}

// The trial's values, once its command has ended: a failure unless it exited with status 0 and its final line holds
// every metric as a number (not NaN). The final line's other scalar fields are kept as user attrs.
Result<std::vector<double>> ReadFinalValues(Trial& trial, const CommandObjectiveOptions& options,
                                            const ExitInfo& exit_info, const TrialOutput& out) {
  if (!exit_info.success()) {
    std::string reason = "command " + exit_info.Describe();
    if (!out.last_stderr_line.empty()) reason += ": " + ShortLine(SanitizeUtf8(out.last_stderr_line));
    return WithStderrTail(trial, out, TrialFailure(reason));
  }
  if (!out.final_line.has_value()) {
    const std::string& first_metric = options.metrics.front();
    std::string names;
    for (const std::string& m : options.metrics) names += (names.empty() ? "" : ", ") + m;
    return WithStderrTail(trial, out,
                          TrialFailure("command printed no final line with metric(s) " + names +
                                       " (a JSON line such as {\"" + first_metric + "\": 0.1})"));
  }
  std::vector<double> values;
  for (const std::string& m : options.metrics) {
    auto it = out.final_line->find(m);
    if (it == out.final_line->end()) {
      return WithStderrTail(
          trial, out,
          TrialFailure("metric \"" + m + "\" missing from the final line " + ShortLine(SanitizeUtf8(out.final_text))));
    }
    std::optional<double> v = MetricNumber(*it);
    if (!v.has_value()) {
      return WithStderrTail(trial, out,
                            TrialFailure("metric \"" + m + "\" is not a number in the final line " +
                                         ShortLine(SanitizeUtf8(out.final_text))));
    }
    if (std::isnan(*v)) return WithStderrTail(trial, out, TrialFailure("metric \"" + m + "\" is NaN"));
    values.push_back(*v);
  }
  // The final line's other scalar fields (a trainer's test WER, its real-time factor, ...) are kept as user attrs,
  // where `dial trials`, reports and Optuna's trial.user_attrs see them.
  for (const auto& [key, value] : out.final_line->items()) {
    if (std::find(options.metrics.begin(), options.metrics.end(), key) != options.metrics.end()) continue;
    if (!value.is_primitive() || value.is_null()) continue;
    DIAL_RETURN_IF_ERROR(trial.SetUserAttr(key, value));
  }
  return values;
}

}  // namespace

Result<std::string> ResolveExecutable(const std::string& command) {
  if (command.empty()) return NotFound("command: empty program name");
  auto executable = [](const std::string& path) {
    struct stat st {};
    return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && access(path.c_str(), X_OK) == 0;
  };
  if (command.find('/') != std::string::npos) {
    if (executable(command)) return command;
    if (access(command.c_str(), F_OK) != 0) return NotFound("command " + command + ": no such file");
    return NotFound("command " + command + ": not an executable file");
  }
  const char* path_env = std::getenv("PATH");
  std::string path = path_env != nullptr && *path_env != '\0' ? path_env : kDefaultPath;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    if (dir.empty()) dir = ".";
    std::string candidate = dir + "/" + command;
    if (executable(candidate)) return candidate;
    start = end + 1;
  }
  return NotFound("command " + command + ": not found on PATH");
}

Status CommandObjectiveOptions::Validate() const {
  if (argv.empty()) return InvalidArgument("command: empty (give the program and its arguments as a list)");
  for (const std::string& arg : argv) {
    Result<std::vector<std::string>> names = PlaceholderNames(arg);
    if (!names.ok()) return names.status().WithContext("command");
  }
  if (metrics.empty()) return InvalidArgument("metrics: at least one metric name is needed");
  std::set<std::string> seen;
  for (const std::string& m : metrics) {
    if (m.empty()) return InvalidArgument("metrics: empty metric name");
    if (m == "step") return InvalidArgument("metrics: \"step\" is reserved for intermediate values");
    if (!seen.insert(m).second) return InvalidArgument("metrics: \"" + m + "\" is listed twice");
  }
  if (timeout_seconds.has_value() && !(*timeout_seconds > 0)) {
    return InvalidArgument("timeout: must be > 0 seconds, got " + std::to_string(*timeout_seconds));
  }
  if (!(kill_grace_seconds >= 0) || !std::isfinite(kill_grace_seconds)) {
    return InvalidArgument("kill_grace: must be ≥ 0 seconds, got " + std::to_string(kill_grace_seconds));
  }
  if (trials_dir.empty()) return InvalidArgument("trials_dir: empty");
  // A program name built from a placeholder can only be checked per trial.
  if (argv[0].find('{') == std::string::npos) {
    Result<std::string> resolved = ResolveExecutable(argv[0]);
    if (!resolved.ok()) return resolved.status();
  }
  return Status::Ok();
}

Result<std::vector<double>> RunCommandTrial(Trial& trial, const std::map<std::string, ParamValue>& params,
                                            const CommandObjectiveOptions& options,
                                            const std::atomic<bool>* stop_flag) {
  DIAL_RETURN_IF_ERROR(options.Validate());
  DIAL_ASSIGN_OR_RETURN(const fs::path trial_dir, MakeTrialDir(trial, options));
  DIAL_ASSIGN_OR_RETURN(const TrialLaunch launch, PrepareLaunch(trial, params, options, trial_dir));

  TrialOutput out;
  out.stdout_log.open(trial_dir / "stdout.log");
  out.stderr_log.open(trial_dir / "stderr.log");
  DIAL_RETURN_IF_ERROR(trial.SetSystemAttr("dial:trial_dir", trial_dir.string()));
  Result<std::unique_ptr<Subprocess>> started = Subprocess::Spawn(launch.spawn);
  if (!started.ok()) return TrialFailure(started.status().message());
  Subprocess& proc = **started;
  const OutputPieceCallback on_line = [&](OutputStream stream, std::string_view line, bool continues) {
    if (stream == OutputStream::kStderr) {
      OnStderrLine(line, out);
      return;
    }
    // Flushed per line so that `tail -f stdout.log` follows a running trial.
    out.stdout_log << line << '\n' << std::flush;
    OnStdoutLine(line, continues, trial, options, out);
  };
  DIAL_RETURN_IF_ERROR(SuperviseChild(proc, trial, options, stop_flag, launch.memory_limit_bytes, out, on_line));
  const ExitInfo exit_info = proc.Wait();
  proc.ReadOutput(std::chrono::milliseconds(0), on_line);
  out.stdout_log.flush();
  out.stderr_log.flush();
  if (!out.error.ok()) return out.error;
  if (out.prune) return TrialPruned("pruned at step " + std::to_string(out.last_step));
  if (!out.protocol_error.ok()) return WithStderrTail(trial, out, out.protocol_error);
  return ReadFinalValues(trial, options, exit_info, out);
}

}  // namespace dial
