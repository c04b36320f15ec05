// dial's side of the multi-fidelity benchmark (bench/pruners/run): noise-free MF-Hartmann6 as
// shared/docs/benchmark-functions.md defines it. Each trial reports f(x, z) at z = 1..100 and asks its pruner
// after each report; a trial costs (z it evaluated) / 100 full evaluations; a study runs until its cumulative cost
// reaches --budget. One JSON line per (method, seed) lists every finished trial in order as [z evaluated, f(x, 100)
// or null], from which compare.py computes the regret at each budget. Optuna's side is optuna_side.py.
// A method with "fidelity" runs dial's multi-fidelity schedule instead of a pruner (include/dial/fidelity.h): its
// levels are values of z, and a promoted trial continues from its parent's z (resume_keys [z]), so it costs only
// the z it adds.
//
//   dial_bench_pruners --method '{"label":"tpe+hyperband","sampler":"tpe","pruner":"hyperband",
//       "pruner_options":{"min_resource":1,"max_resource":100,"reduction_factor":3}}' --seeds 20 --budget 100
//   dial_bench_pruners --method '{"label":"bohb","sampler":"tpe","fidelity":{"schedule":"bohb",
//       "z":[4,11,33,100],"start_trials":27,"keep":0.3333,"rounds":10}}'
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "bench/json_lines.h"
#include "dial/fidelity.h"
#include "dial/functions.h"
#include "dial/storage.h"
#include "dial/study.h"
#include "exec/worker_loop.h"

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kDim = 6;

struct Method {
  std::string label;
  std::string sampler = "tpe";
  dial::Json sampler_options = dial::Json::object();
  std::string pruner = "nop";
  dial::Json pruner_options = dial::Json::object();
  std::optional<dial::FidelityOptions> fidelity;  // levels {z: …}
};

[[noreturn]] void Die(const std::string& message) {
  std::cerr << "dial_bench_pruners: " << message << "\n";
  std::exit(2);
}

Method ParseMethod(const std::string& text) {
  dial::Json j = dial::Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) Die("--method wants a JSON object, got: " + text);
  Method m;
  m.sampler = j.value("sampler", m.sampler);
  m.pruner = j.value("pruner", m.pruner);
  if (j.contains("sampler_options")) m.sampler_options = j["sampler_options"];
  if (j.contains("pruner_options")) m.pruner_options = j["pruner_options"];
  m.label = j.value("label", m.sampler + "+" + m.pruner);
  if (j.contains("fidelity")) {
    const dial::Json& f = j["fidelity"];
    dial::FidelityOptions o;
    o.schedule = f.value("schedule", o.schedule);
    o.start_trials = f.value("start_trials", o.start_trials);
    o.keep = f.value("keep", o.keep);
    o.rounds = f.value("rounds", o.rounds);
    o.resume_keys = {"z"};
    for (int64_t z : f.value("z", std::vector<int64_t>{})) o.levels.push_back({{"z", z}});
    if (o.levels.empty() || std::get<int64_t>(o.levels.back().at("z")) != dial::kMfHartmannMaxFidelity) {
      Die("method " + m.label + ": fidelity.z must list the levels' z, ending at " +
          std::to_string(dial::kMfHartmannMaxFidelity));
    }
    if (dial::Status valid = o.Validate(); !valid.ok()) Die("method " + m.label + ": " + valid.message());
    m.fidelity = std::move(o);
  }
  return m;
}

struct RunResult {
  dial::Json trials = dial::Json::array();  // [z evaluated, f(x, 100) or null] per finished trial, in order
  double seconds = 0;
  std::string sampler_name;
};

RunResult RunOne(const Method& m, uint64_t seed, double budget, double bias) {
  auto storage = dial::OpenStorage("memory://");
  if (!storage.ok()) Die(storage.status().ToString());
  dial::StudyOptions options;
  options.study_name = "mf-hartmann6-seed" + std::to_string(seed);
  options.sampler = m.sampler;
  options.sampler_options = m.sampler_options;
  options.pruner = m.pruner;
  options.pruner_options = m.pruner_options;
  options.seed = seed;
  RunResult result;
  const Clock::time_point start = Clock::now();
  auto study = dial::Study::Create(*storage, options);
  if (!study.ok()) Die("method " + m.label + ": " + study.status().ToString());
  double spent = 0;
  int first_z = 1, last_z = 0;
  double full_value = 0;
  // A promoted trial of a fidelity schedule starts where its parent's level ended.
  auto z_range = [&](const dial::FrozenTrial& t) {
    const int level = dial::FidelityLevelOf(t);
    auto z_of = [&](int k) { return static_cast<int>(std::get<int64_t>(m.fidelity->levels[k].at("z"))); };
    const bool resumes = t.system_attrs.count(std::string(dial::kFidelityResumeFromAttr)) != 0;
    return std::pair<int, int>{resumes ? z_of(level - 1) + 1 : 1, z_of(level)};
  };
  auto objective = [&](dial::Trial& t) -> dial::Result<std::vector<double>> {
    std::vector<double> x(kDim);
    for (int i = 0; i < kDim; ++i) {
      DIAL_ASSIGN_OR_RETURN(x[i], t.SuggestFloat("x" + std::to_string(i), 0.0, 1.0));
    }
    double value = 0;
    int end_z = dial::kMfHartmannMaxFidelity;
    first_z = 1;
    if (m.fidelity) std::tie(first_z, end_z) = z_range(t.frozen());
    for (int z = first_z; z <= end_z; ++z) {
      value = dial::MfHartmann6(x, z, bias);
      last_z = z;
      DIAL_RETURN_IF_ERROR(t.Report(z, value));
      DIAL_ASSIGN_OR_RETURN(bool prune, t.ShouldPrune());
      if (prune && z < end_z) return dial::TrialPruned("pruned at z " + std::to_string(z));
    }
    full_value = value;
    return std::vector<double>{value};
  };
  std::atomic<bool> stop{false};
  auto finished = [&](dial::Study& s, const dial::FrozenTrial& t) {
    const bool full = t.state == dial::TrialState::kComplete && last_z == dial::kMfHartmannMaxFidelity;
    const int evaluated = last_z - first_z + 1;
    result.trials.push_back(dial::Json::array({evaluated, full ? dial::Json(full_value) : dial::Json(nullptr)}));
    spent += static_cast<double>(evaluated) / dial::kMfHartmannMaxFidelity;
    if (spent >= budget) {
      s.Stop();
      stop = true;
    }
  };
  dial::Status s;
  if (m.fidelity) {
    dial::WorkerLoopOptions loop;
    loop.fidelity = m.fidelity;
    loop.stop_flag = &stop;
    loop.on_trial_finished = finished;
    s = dial::RunWorkerLoop(**study, objective, loop);
    if (s.code() == dial::StatusCode::kCancelled) s = dial::Status::Ok();  // the budget is spent
  } else {
    dial::OptimizeOptions opt;
    opt.on_trial_finished = finished;
    s = (*study)->Optimize(objective, opt);
  }
  if (!s.ok()) Die("method " + m.label + ": " + s.ToString());
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  result.sampler_name = (*study)->sampler().Name();
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<Method> methods;
  int seeds = 10, threads = 1;
  double budget = 100, bias = 2.5;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die("option " + a + " needs a value");
      return argv[++i];
    };
    if (a == "--method") {
      methods.push_back(ParseMethod(value()));
    } else if (a == "--seeds") {
      seeds = std::stoi(value());
    } else if (a == "--budget") {
      budget = std::stod(value());
    } else if (a == "--bias") {
      bias = std::stod(value());
    } else if (a == "--threads") {
      threads = std::max(1, std::stoi(value()));
    } else {
      Die("unknown option " + a);
    }
  }
  if (methods.empty()) Die("give at least one --method");
  auto hartmann6 = dial::FindBenchmarkFunction("hartmann6");
  if (!hartmann6.ok()) Die(hartmann6.status().ToString());
  const double optimum = hartmann6->optimum;
  struct Task {
    const Method* method;
    int seed;
  };
  std::vector<Task> tasks;
  for (const Method& m : methods) {
    for (int s = 0; s < seeds; ++s) tasks.push_back({&m, s});
  }
  dial::bench::PrintJsonLinesInParallel(tasks.size(), threads, [&](size_t i) {
    const Task& t = tasks[i];
    RunResult r = RunOne(*t.method, static_cast<uint64_t>(t.seed), budget, bias);
    return dial::Json{{"side", "dial"}, {"method", t.method->label}, {"sampler", r.sampler_name}, {"seed", t.seed},
                      {"bias", bias},   {"seconds", r.seconds},      {"optimum", optimum},        {"trials", r.trials}};
  });
  return 0;
}
