// dial's side of the sampler benchmark (bench/samplers/run): runs registered samplers over the synthetic suite
// (include/dial/functions.h) for several seeds and prints one JSON line per run with the best-so-far regret
// after each evaluation; and times ask() in studies prefilled with N trials. Optuna's side is optuna_side.py;
// compare.py prints the tables.
//
//   dial_bench_samplers regret --method tpe --method 'tpe_mv=tpe:{"multivariate":true}' --problems all
//       --seeds 20 --evals 200 --threads 2
//   dial_bench_samplers ask-time --method tpe --trials 100,1000,10000 --repetitions 20
//   dial_bench_samplers eval --problem levy5 --x 1,2,3,4,5
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "bench/json_lines.h"
#include "dial/functions.h"
#include "dial/storage.h"
#include "dial/study.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Method {
  std::string label;
  std::string sampler;
  dial::Json options = dial::Json::object();
};

// "tpe", or "label=sampler", or "label=sampler:{json}".
Method ParseMethod(const std::string& spec) {
  Method m;
  std::string rest = spec;
  const size_t eq = spec.find('=');
  const size_t colon = spec.find(':');
  if (eq != std::string::npos && (colon == std::string::npos || eq < colon)) {
    m.label = spec.substr(0, eq);
    rest = spec.substr(eq + 1);
  }
  const size_t c = rest.find(':');
  m.sampler = rest.substr(0, c);
  if (c != std::string::npos) m.options = dial::Json::parse(rest.substr(c + 1));
  if (m.label.empty()) m.label = m.sampler;
  return m;
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, sep)) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

[[noreturn]] void Die(const std::string& message) {
  std::cerr << "dial_bench_samplers: " << message << "\n";
  std::exit(2);
}

// One study: `evals` trials of `f` with the method's sampler; returns best-so-far regret after each trial.
std::vector<double> RunOne(const Method& m, const dial::BenchmarkFunction& f, uint64_t seed, int evals, double* seconds,
                           std::string* sampler_name) {
  auto storage = dial::OpenStorage("memory://");
  if (!storage.ok()) Die(storage.status().ToString());
  dial::StudyOptions options;
  options.study_name = "bench";
  options.sampler = m.sampler;
  options.sampler_options = m.options;
  options.seed = seed;
  const Clock::time_point start = Clock::now();
  auto study = dial::Study::Create(*storage, options);
  if (!study.ok()) Die("method " + m.label + ": " + study.status().ToString());
  std::vector<double> regret;
  double best = INFINITY;
  auto objective = [&](dial::Trial& t) -> dial::Result<std::vector<double>> {
    std::vector<double> x(f.dim);
    for (int i = 0; i < f.dim; ++i) {
      DIAL_ASSIGN_OR_RETURN(x[i], t.SuggestFloat("x" + std::to_string(i), f.lower[i], f.upper[i]));
    }
    return std::vector<double>{f.evaluate(x)};
  };
  dial::OptimizeOptions opt;
  opt.n_trials = evals;
  opt.on_trial_finished = [&](dial::Study&, const dial::FrozenTrial& t) {
    if (t.state == dial::TrialState::kComplete && !t.values.empty()) best = std::min(best, t.values[0]);
    regret.push_back(best - f.optimum);
  };
  dial::Status s = (*study)->Optimize(objective, opt);
  if (!s.ok()) Die("method " + m.label + " on " + f.name + ": " + s.ToString());
  *seconds = std::chrono::duration<double>(Clock::now() - start).count();
  *sampler_name = (*study)->sampler().Name();
  return regret;
}

int Regret(const std::vector<Method>& methods, const std::vector<dial::BenchmarkFunction>& problems, int seeds,
           int evals, int threads) {
  struct Task {
    const Method* method;
    const dial::BenchmarkFunction* problem;
    int seed;
  };
  std::vector<Task> tasks;
  for (const auto& p : problems) {
    for (const auto& m : methods) {
      for (int s = 0; s < seeds; ++s) tasks.push_back({&m, &p, s});
    }
  }
  dial::bench::PrintJsonLinesInParallel(tasks.size(), threads, [&](size_t i) {
    const Task& t = tasks[i];
    double seconds = 0;
    std::string sampler_name;
    std::vector<double> regret =
        RunOne(*t.method, *t.problem, static_cast<uint64_t>(t.seed), evals, &seconds, &sampler_name);
    return dial::Json{
        {"side", "dial"}, {"method", t.method->label}, {"sampler", sampler_name}, {"problem", t.problem->name},
        {"seed", t.seed}, {"seconds", seconds},        {"regret", regret}};
  });
  return 0;
}

// Median time of ask() + suggesting every parameter, in a study prefilled with `n` completed trials of
// hartmann6 at random points (the same history for every method). Each timed trial is told afterwards.
int AskTime(const std::vector<Method>& methods, const std::vector<int>& trial_counts, int repetitions) {
  auto f = dial::FindBenchmarkFunction("hartmann6");
  if (!f.ok()) Die(f.status().ToString());
  for (const Method& m : methods) {
    for (int n : trial_counts) {
      auto storage = dial::OpenStorage("memory://");
      dial::StudyOptions options;
      options.study_name = "prefill";
      options.sampler = "random";
      options.seed = 1;
      auto study = dial::Study::Create(*storage, options);
      if (!study.ok()) Die(study.status().ToString());
      auto objective = [&](dial::Trial& t) -> dial::Result<std::vector<double>> {
        std::vector<double> x(f->dim);
        for (int i = 0; i < f->dim; ++i) {
          DIAL_ASSIGN_OR_RETURN(x[i], t.SuggestFloat("x" + std::to_string(i), f->lower[i], f->upper[i]));
        }
        return std::vector<double>{f->evaluate(x)};
      };
      dial::OptimizeOptions fill;
      fill.n_trials = n;
      if (!(*study)->Optimize(objective, fill).ok()) Die("prefill failed");
      options.sampler = m.sampler;
      options.sampler_options = m.options;
      auto timed = dial::Study::Load(*storage, options);
      if (!timed.ok()) Die(timed.status().ToString());
      std::vector<double> times;
      for (int r = 0; r < repetitions; ++r) {
        const Clock::time_point start = Clock::now();
        auto trial = (*timed)->Ask();
        if (!trial.ok()) Die(trial.status().ToString());
        std::vector<double> x(f->dim);
        for (int i = 0; i < f->dim; ++i) {
          auto v = (*trial)->SuggestFloat("x" + std::to_string(i), f->lower[i], f->upper[i]);
          if (!v.ok()) Die(v.status().ToString());
          x[i] = *v;
        }
        times.push_back(std::chrono::duration<double>(Clock::now() - start).count());
        if (!(*timed)->Tell(**trial, dial::TrialState::kComplete, {f->evaluate(x)}).ok()) Die("tell failed");
      }
      std::sort(times.begin(), times.end());
      dial::Json line = {{"side", "dial"},
                         {"method", m.label},
                         {"trials", n},
                         {"repetitions", repetitions},
                         {"median_seconds", times[times.size() / 2]},
                         {"min_seconds", times.front()}};
      std::cout << line.dump() << std::endl;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) Die("usage: dial_bench_samplers regret|ask-time|eval [options]");
  const std::string mode = argv[1];
  std::vector<Method> methods;
  std::string problems_arg = "all";
  std::string trials_arg = "100,1000,10000";
  std::string problem_name;
  std::string x_arg;
  int seeds = 5, evals = 200, threads = 1, repetitions = 10;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die("option " + a + " needs a value");
      return argv[++i];
    };
    if (a == "--method") {
      methods.push_back(ParseMethod(value()));
    } else if (a == "--problems") {
      problems_arg = value();
    } else if (a == "--seeds") {
      seeds = std::stoi(value());
    } else if (a == "--evals") {
      evals = std::stoi(value());
    } else if (a == "--threads") {
      threads = std::max(1, std::stoi(value()));
    } else if (a == "--trials") {
      trials_arg = value();
    } else if (a == "--repetitions") {
      repetitions = std::max(1, std::stoi(value()));
    } else if (a == "--problem") {
      problem_name = value();
    } else if (a == "--x") {
      x_arg = value();
    } else {
      Die("unknown option " + a);
    }
  }
  if (mode == "eval") {
    auto f = dial::FindBenchmarkFunction(problem_name);
    if (!f.ok()) Die(f.status().ToString());
    std::vector<double> x;
    for (const std::string& v : Split(x_arg, ',')) x.push_back(std::stod(v));
    if (static_cast<int>(x.size()) != f->dim) Die("--x needs " + std::to_string(f->dim) + " values");
    std::printf("%.17g\n", f->evaluate(x));
    return 0;
  }
  if (methods.empty()) Die("give at least one --method");
  if (mode == "regret") {
    std::vector<dial::BenchmarkFunction> problems;
    if (problems_arg == "all") {
      problems = dial::BenchmarkSuite();
    } else {
      for (const std::string& name : Split(problems_arg, ',')) {
        auto f = dial::FindBenchmarkFunction(name);
        if (!f.ok()) Die(f.status().ToString());
        problems.push_back(*f);
      }
    }
    return Regret(methods, problems, seeds, evals, threads);
  }
  if (mode == "ask-time") {
    std::vector<int> counts;
    for (const std::string& v : Split(trials_arg, ',')) counts.push_back(std::stoi(v));
    return AskTime(methods, counts, repetitions);
  }
  Die("unknown mode " + mode);
}
