// The built-in `asr` objective: `objective: {builtin: asr, data: DIR, metric: wer, ...}` in a study file. Each trial
// runs this same binary as `dial train --trial` in a child process (a crash or out-of-memory fails that trial only),
// through the command-objective protocol: the trial's params (searched, fixed and the fidelity level's) arrive in
// $DIAL_PARAMS_FILE, the objective's other keys as --set, and the trainer prints one JSON line per epoch (the
// pruner sees real learning curves) and the final metrics.
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <filesystem>

#include "cli.h"
#include "dial/study_config.h"
#include "speech/asr/trainer.h"

namespace dial::cli {
namespace {

namespace fs = std::filesystem;

constexpr const char* kAsrBuiltin = "asr";

// The values a searched parameter can take that are worth checking against the trainer's keys: every choice of a
// categorical, both ends of a range.
std::vector<ParamValue> ProbeValues(const Distribution& distribution) {
  if (const auto* c = std::get_if<CategoricalDistribution>(&distribution)) return c->choices;
  if (const auto* i = std::get_if<IntDistribution>(&distribution)) return {ParamValue(i->low), ParamValue(i->high)};
  const auto& f = std::get<FloatDistribution>(distribution);
  return {ParamValue(f.low), ParamValue(f.high)};
}

Status Check(const Json& keys, const std::string& where) {
  Result<speech::AsrTrainConfig> checked = speech::AsrTrainConfigFromJson(keys);
  if (!checked.ok()) return InvalidArgument(where + ": " + checked.status().message());
  return Status::Ok();
}

// Catches what would fail every trial before the study is created: a missing corpus, an unknown or mistyped
// trainer key (in the objective, fixed, a fidelity level or the search space), a bad value at either end of a range.
Status MakeAsrCommand(const Json& keys, StudyConfig& config, CommandObjectiveOptions& command) {
  if (!DIAL_WITH_TORCH) {
    return FailedPrecondition(
        "objective: builtin asr runs dial's ASR trainer, and this dial was built without libtorch "
        "(cmake -DDIAL_WITH_TORCH=OFF); build with -DDIAL_WITH_TORCH=ON or tune your own trainer with "
        "objective.command");
  }
  if (!keys.contains("data")) {
    return InvalidArgument(
        "data: missing: the corpus directory holding train/, dev/ and test/ (build one with `dial corpus synth "
        "--out corpus --hours 1`)");
  }
  if (!keys["data"].is_string()) return InvalidArgument("data: must be a directory name");
  std::error_code ec;
  const fs::path data = fs::absolute(keys["data"].get<std::string>(), ec).lexically_normal();
  if (ec || !fs::is_directory(data, ec)) {
    return InvalidArgument("data: no such directory: " + keys["data"].get<std::string>() +
                           " (build one with `dial corpus synth --out DIR --hours 1`)");
  }
  Json base = keys;
  base["data"] = data.string();
  // The trainer's threads follow resources_per_trial.cpus unless the study sets num_threads (a fixed or searched
  // num_threads still wins: the params file is read after --set).
  if (!base.contains("num_threads") && config.resources_per_trial && config.resources_per_trial->cpus) {
    base["num_threads"] = std::max<int64_t>(1, static_cast<int64_t>(std::floor(*config.resources_per_trial->cpus)));
  }
  DIAL_RETURN_IF_ERROR(Check(base, "objective"));
  for (const auto& [name, value] : config.fixed) {
    Json probe = base;
    probe[name] = ParamValueToJson(value);
    DIAL_RETURN_IF_ERROR(Check(probe, "fixed." + name));
  }
  if (config.fidelity) {
    for (size_t k = 0; k < config.fidelity->levels.size(); ++k) {
      Json probe = base;
      for (const auto& [name, value] : config.fidelity->levels[k]) probe[name] = ParamValueToJson(value);
      DIAL_RETURN_IF_ERROR(Check(probe, "fidelity.levels[" + std::to_string(k) + "]"));
    }
  }
  for (const ParamSpec& spec : config.search_space) {
    for (const ParamValue& value : ProbeValues(spec.distribution)) {
      Json probe = base;
      probe[spec.name] = ParamValueToJson(value);
      DIAL_RETURN_IF_ERROR(Check(probe, "search_space." + spec.name + " = " + ParamValueToString(value)));
    }
  }
  const std::string metric = keys.value("metric", std::string("wer"));
  if (config.metrics == std::vector<std::string>{"value"}) config.metrics = {metric};
  command.argv = {SelfExecutable(), "train", "--trial"};
  for (const auto& [key, value] : base.items()) command.argv.push_back("--set=" + key + "=" + value.dump());
  return Status::Ok();
}

}  // namespace

void RegisterAsrObjective() { RegisterCommandBuiltin(kAsrBuiltin, MakeAsrCommand); }

}  // namespace dial::cli
