// Tests of the study-file parser: every key, the error messages (file, line, key), conditions, and the objective
// a file describes run against an in-memory study.
#include "dial/study_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "dial/storage.h"
#include "dial/study.h"

namespace dial {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

Result<StudyConfig> Parse(const std::string& text) { return ParseStudyConfig(text, "study.yaml"); }

// The error message of a file that must fail.
std::string ErrorOf(const std::string& text) {
  Result<StudyConfig> config = Parse(text);
  EXPECT_FALSE(config.ok()) << "expected an error for:\n" << text;
  if (config.ok()) return "";
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument) << config.status().ToString();
  EXPECT_EQ(config.status().message().find('\n'), std::string::npos) << "one line: " << config.status().message();
  return config.status().message();
}

const ParamSpec* FindSpec(const StudyConfig& config, const std::string& name) {
  for (const ParamSpec& s : config.search_space) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

TEST(StudyConfigTest, ParsesEveryKey) {
  Result<StudyConfig> config = Parse(R"(
study: conformer-lr
storage: sqlite:///x.db
direction: maximize
metrics: [accuracy]
n_trials: 7
timeout: 90.5
sampler: {name: random, seed: 3}
pruner: {name: median, n_startup_trials: 2}
search_space:
  lr: {type: float, low: 1.0e-5, high: 1.0e-2, log: true}
  layers: {type: int, low: 2, high: 12, step: 2}
  optimizer: [adam, sgd]
  momentum: {type: float, low: 0.5, high: 0.99, when: {optimizer: sgd}}
  dropout: {type: float, low: 0.0, high: 0.5, step: 0.1}
fixed: {epochs: 10, name: "base", use_amp: true}
objective:
  command: [/bin/echo, --lr, "{lr}", "{{literal}}"]
  timeout: 600
  kill_grace: 2
  trials_dir: /tmp/trials
  env: {OMP_NUM_THREADS: 1}
)");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->study_name, "conformer-lr");
  EXPECT_EQ(config->storage, "sqlite:///x.db");
  EXPECT_EQ(config->directions, std::vector<StudyDirection>{StudyDirection::kMaximize});
  EXPECT_EQ(config->metrics, std::vector<std::string>{"accuracy"});
  EXPECT_EQ(config->n_trials, 7);
  EXPECT_DOUBLE_EQ(*config->timeout_seconds, 90.5);
  EXPECT_EQ(config->sampler, "random");
  EXPECT_EQ(config->seed, 3u);
  EXPECT_FALSE(config->sampler_options.contains("seed"));
  EXPECT_EQ(config->pruner, "median");
  EXPECT_EQ(config->pruner_options["n_startup_trials"], 2);
  ASSERT_EQ(config->search_space.size(), 5u);
  EXPECT_EQ(config->search_space[0].name, "lr");  // the file's order
  EXPECT_EQ(config->search_space[0].line, 11);
  const auto& lr = std::get<FloatDistribution>(FindSpec(*config, "lr")->distribution);
  EXPECT_TRUE(lr.log);
  EXPECT_DOUBLE_EQ(lr.low, 1e-5);
  const auto& layers = std::get<IntDistribution>(FindSpec(*config, "layers")->distribution);
  EXPECT_EQ(layers.step, 2);
  const auto& optimizer = std::get<CategoricalDistribution>(FindSpec(*config, "optimizer")->distribution);
  ASSERT_EQ(optimizer.choices.size(), 2u);
  EXPECT_EQ(std::get<std::string>(optimizer.choices[1]), "sgd");
  const ParamSpec* momentum = FindSpec(*config, "momentum");
  ASSERT_EQ(momentum->when.size(), 1u);
  EXPECT_EQ(momentum->when[0].parent, "optimizer");
  EXPECT_EQ(*std::get<FloatDistribution>(FindSpec(*config, "dropout")->distribution).step, 0.1);
  EXPECT_EQ(std::get<int64_t>(config->fixed.at("epochs")), 10);
  EXPECT_EQ(std::get<std::string>(config->fixed.at("name")), "base");
  EXPECT_EQ(std::get<bool>(config->fixed.at("use_amp")), true);
  const auto& command = std::get<CommandObjectiveOptions>(config->objective);
  EXPECT_EQ(command.argv.size(), 4u);
  EXPECT_EQ(command.metrics, std::vector<std::string>{"accuracy"});
  EXPECT_DOUBLE_EQ(*command.timeout_seconds, 600);
  EXPECT_DOUBLE_EQ(command.kill_grace_seconds, 2);
  EXPECT_EQ(command.trials_dir, "/tmp/trials");
  EXPECT_EQ(command.env.at("OMP_NUM_THREADS"), "1");
  EXPECT_THAT(config->yaml_text, HasSubstr("conformer-lr"));
}

TEST(StudyConfigTest, DefaultsAndBareListTypes) {
  Result<StudyConfig> config = Parse("objective: {builtin: branin2}\nsearch_space: {}\n");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->directions, std::vector<StudyDirection>{StudyDirection::kMinimize});
  EXPECT_EQ(config->metrics, std::vector<std::string>{"value"});
  EXPECT_EQ(config->sampler, "auto");
  EXPECT_EQ(config->pruner, "nop");
  EXPECT_FALSE(config->n_trials.has_value());
  // The builtin's own domain: x0 ∈ [-5, 10], x1 ∈ [0, 15].
  ASSERT_EQ(config->search_space.size(), 2u);
  const auto& x0 = std::get<FloatDistribution>(config->search_space[0].distribution);
  EXPECT_EQ(config->search_space[0].name, "x0");
  EXPECT_DOUBLE_EQ(x0.low, -5);
  EXPECT_DOUBLE_EQ(x0.high, 10);

  Result<StudyConfig> typed = Parse(R"(
objective: {builtin: branin2}
fixed: {x0: 1.0, x1: 2}
search_space:
  mixed: [1, 2.5, "3", true, null, adam]
)");
  ASSERT_TRUE(typed.ok()) << typed.status().ToString();
  const auto& choices = std::get<CategoricalDistribution>(typed->search_space[0].distribution).choices;
  ASSERT_EQ(choices.size(), 6u);
  EXPECT_TRUE(std::holds_alternative<int64_t>(choices[0]));
  EXPECT_TRUE(std::holds_alternative<double>(choices[1]));
  EXPECT_TRUE(std::holds_alternative<std::string>(choices[2]));  // quoted stays a string
  EXPECT_TRUE(std::holds_alternative<bool>(choices[3]));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(choices[4]));
  EXPECT_TRUE(std::holds_alternative<std::string>(choices[5]));
}

TEST(StudyConfigTest, StudyNameDefaultsToTheFileStem) {
  Result<StudyConfig> config = ParseStudyConfig("objective: {builtin: branin2}\n", "dir/my-study.yaml");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->study_name, "my-study");
}

TEST(StudyConfigTest, SeveralDirectionsNeedOneMetricEach) {
  Result<StudyConfig> config = Parse(R"(
directions: [minimize, maximize]
metrics: [wer, rtf]
objective: {command: [/bin/true]}
)");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->directions.size(), 2u);
  EXPECT_EQ(std::get<CommandObjectiveOptions>(config->objective).metrics, (std::vector<std::string>{"wer", "rtf"}));

  EXPECT_THAT(ErrorOf("directions: [minimize, maximize]\nmetrics: [wer]\nobjective: {command: [/bin/true]}\n"),
              StartsWith("study.yaml:2: metrics: 1 metric(s) [wer] for 2 direction(s)"));
  EXPECT_THAT(ErrorOf("directions: [minimize, maximize]\nobjective: {command: [/bin/true]}\n"),
              HasSubstr("metrics: missing"));
  EXPECT_THAT(ErrorOf("direction: minimize\ndirections: [maximize]\nobjective: {builtin: branin2}\n"),
              HasSubstr("either direction or directions"));
  EXPECT_THAT(ErrorOf("direction: up\nobjective: {builtin: branin2}\n"),
              StartsWith("study.yaml:1: direction: must be minimize or maximize, got \"up\""));
}

TEST(StudyConfigTest, ErrorsNameFileLineAndKey) {
  EXPECT_THAT(ErrorOf("objective: {builtin: branin2}\nn_trials: abc\n"),
              StartsWith("study.yaml:2: n_trials: must be an integer, got \"abc\""));
  EXPECT_THAT(ErrorOf("objective: {builtin: branin2}\nn_trials: -5\n"),
              StartsWith("study.yaml:2: n_trials: must be a positive integer"));
  EXPECT_THAT(ErrorOf("objective: {builtin: branin2}\ntimeout: soon\n"), StartsWith("study.yaml:2: timeout:"));
  EXPECT_THAT(ErrorOf("objective: {builtin: branin2}\nn_trails: 5\n"),
              StartsWith("study.yaml:2: n_trails: unknown key (did you mean 'n_trials'?)"));
  EXPECT_THAT(ErrorOf("objective: {builtin: branin2}\nzzzzzzzzz: 5\n"), HasSubstr("known keys: study, storage"));
  EXPECT_THAT(ErrorOf("study: x\n"), StartsWith("study.yaml:1: objective: missing"));
  EXPECT_THAT(ErrorOf("objective: {builtin: nosuch}\n"), HasSubstr("objective.builtin: unknown benchmark function"));
  EXPECT_THAT(ErrorOf("- a\n- b\n"), StartsWith("study.yaml:1: a study file is a mapping"));
  EXPECT_THAT(ErrorOf("objective: {builtin: branin2\nstudy: [\n"), HasSubstr("malformed YAML"));
  EXPECT_THAT(ErrorOf("study: a\nstudy: b\nobjective: {builtin: branin2}\n"),
              StartsWith("study.yaml:2: study: given twice"));
}

TEST(StudyConfigTest, ParallelKeys) {
  Result<StudyConfig> parsed_defaults = Parse("objective: {builtin: branin2}\n");
  ASSERT_TRUE(parsed_defaults.ok()) << parsed_defaults.status().ToString();
  const StudyConfig& defaults = *parsed_defaults;
  EXPECT_EQ(defaults.n_jobs, 1);
  EXPECT_EQ(defaults.heartbeat_interval_seconds, kDefaultHeartbeatIntervalSeconds);
  EXPECT_EQ(GracePeriodSeconds(defaults), 2 * kDefaultHeartbeatIntervalSeconds);
  EXPECT_EQ(defaults.max_retries, 0);
  Result<StudyConfig> parsed_set =
      Parse("objective: {builtin: branin2}\nn_jobs: 4\nheartbeat_interval: 0.5\ngrace_period: 2\nmax_retries: 3\n");
  ASSERT_TRUE(parsed_set.ok()) << parsed_set.status().ToString();
  const StudyConfig& set = *parsed_set;
  EXPECT_EQ(set.n_jobs, 4);
  EXPECT_EQ(set.heartbeat_interval_seconds, 0.5);
  EXPECT_EQ(GracePeriodSeconds(set), 2.0);
  EXPECT_EQ(set.max_retries, 3);
  Result<StudyConfig> interval_only = Parse("objective: {builtin: branin2}\nheartbeat_interval: 5\n");
  ASSERT_TRUE(interval_only.ok()) << interval_only.status().ToString();
  EXPECT_EQ(GracePeriodSeconds(*interval_only), 10.0);

  const std::string head = "objective: {builtin: branin2}\n";
  EXPECT_THAT(ErrorOf(head + "n_jobs: 0\n"), StartsWith("study.yaml:2: n_jobs: must be a positive integer"));
  EXPECT_THAT(ErrorOf(head + "n_jobs: two\n"), StartsWith("study.yaml:2: n_jobs: must be an integer"));
  EXPECT_THAT(ErrorOf(head + "heartbeat_interval: 0\n"),
              StartsWith("study.yaml:2: heartbeat_interval: must be a positive number of seconds"));
  EXPECT_THAT(ErrorOf(head + "grace_period: -1\n"), StartsWith("study.yaml:2: grace_period: must be a positive"));
  EXPECT_THAT(ErrorOf(head + "heartbeat_interval: 10\ngrace_period: 10\n"),
              StartsWith("study.yaml:3: grace_period: must be longer than heartbeat_interval (10 s), got 10"));
  EXPECT_THAT(ErrorOf(head + "grace_period: 30\n"), HasSubstr("longer than heartbeat_interval (60 s)"));
  EXPECT_THAT(ErrorOf(head + "max_retries: -1\n"), StartsWith("study.yaml:2: max_retries: must be a non-negative"));
}

TEST(StudyConfigTest, ImpossibleDistributionsAreRejected) {
  const std::string head = "objective: {builtin: branin2}\nfixed: {x0: 1, x1: 2}\nsearch_space:\n";
  EXPECT_THAT(ErrorOf(head + "  lr: {type: float, low: 0.1, high: 0.01}\n"),
              StartsWith("study.yaml:4: search_space.lr:"));
  EXPECT_THAT(ErrorOf(head + "  lr: {type: float, low: 0.0, high: 0.01, log: true}\n"),
              StartsWith("study.yaml:4: search_space.lr:"));
  EXPECT_THAT(ErrorOf(head + "  lr: {type: float, low: 0.0, high: 1.0, step: 0.3}\n"),
              StartsWith("study.yaml:4: search_space.lr:"));
  EXPECT_THAT(ErrorOf(head + "  n: {type: int, low: 1, high: 2.5}\n"),
              StartsWith("study.yaml:4: search_space.n.high: must be an integer, got \"2.5\""));
  EXPECT_THAT(ErrorOf(head + "  opt: []\n"), StartsWith("study.yaml:4: search_space.opt: empty choices"));
  EXPECT_THAT(ErrorOf(head + "  opt: [adam, sgd, adam]\n"),
              StartsWith("study.yaml:4: search_space.opt: duplicate choice adam"));
  EXPECT_THAT(ErrorOf(head + "  opt: {type: categorical, choices: [1, 1.0]}\n"), HasSubstr("duplicate choice"));
  EXPECT_THAT(ErrorOf(head + "  lr: {type: normal, low: 0, high: 1}\n"),
              StartsWith("study.yaml:4: search_space.lr.type: must be float, int or categorical"));
  EXPECT_THAT(ErrorOf(head + "  lr: {low: 0, high: 1}\n"), HasSubstr("search_space.lr.type: missing"));
  EXPECT_THAT(ErrorOf(head + "  lr: {type: float, low: 0, hihg: 1}\n"), HasSubstr("did you mean 'high'"));
  EXPECT_THAT(ErrorOf(head + "  lr: {type: categorical, choices: [1], low: 0}\n"),
              HasSubstr("search_space.lr.low: unknown key"));
  EXPECT_THAT(ErrorOf(head + "  lr: 0.1\n"), HasSubstr("a constant belongs under fixed"));
  EXPECT_THAT(ErrorOf(head + "  x0: [1, 2]\n"), HasSubstr("also given under fixed"));
}

TEST(StudyConfigTest, ConditionsReferToEarlierParameters) {
  const std::string head = "objective: {builtin: branin2}\nfixed: {x0: 1, x1: 2}\nsearch_space:\n";
  Result<StudyConfig> ok =
      Parse(head + "  opt: [adam, sgd, rmsprop]\n  m: {type: float, low: 0, high: 1, when: {opt: [sgd, rmsprop]}}\n");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->search_space[1].when[0].values.size(), 2u);

  EXPECT_THAT(ErrorOf(head + "  m: {type: float, low: 0, high: 1, when: {opt: sgd}}\n  opt: [adam, sgd]\n"),
              StartsWith("study.yaml:4: search_space.m.when.opt: unknown parameter 'opt'"));
  EXPECT_THAT(ErrorOf(head + "  opt: [adam, sgd]\n  m: {type: float, low: 0, high: 1, when: {opt: lamb}}\n"),
              HasSubstr("lamb is not a possible value of opt"));
  EXPECT_THAT(ErrorOf(head + "  m: {type: float, low: 0, high: 1, when: {x0: 5}}\n"), HasSubstr("never true"));
}

TEST(StudyConfigTest, SamplerAndPrunerAreCheckedAtLoad) {
  const std::string obj = "objective: {builtin: branin2}\n";
  EXPECT_TRUE(Parse(obj + "sampler: random\npruner: median\n").ok());
  EXPECT_THAT(ErrorOf(obj + "sampler: annealing\n"), StartsWith("study.yaml:2: sampler: unknown sampler 'annealing'"));
  EXPECT_THAT(ErrorOf(obj + "pruner: {name: hyperbandit}\n"), HasSubstr("pruner: unknown pruner 'hyperbandit'"));
  EXPECT_THAT(ErrorOf(obj + "sampler: {name: random, temperature: 3}\n"), HasSubstr("temperature"));
  EXPECT_THAT(ErrorOf(obj + "pruner: {name: median, n_startup_trials: many}\n"), HasSubstr("n_startup_trials"));
  EXPECT_THAT(ErrorOf(obj + "sampler: {seed: 1}\n"), HasSubstr("sampler.name: missing"));
  EXPECT_THAT(ErrorOf(obj + "seed: 1\nsampler: {name: random, seed: 2}\n"), HasSubstr("also given at the top level"));
  // A grid takes its values from the search space when its options list none.
  Result<StudyConfig> grid = Parse(R"(
sampler: grid
objective: {builtin: branin2}
search_space:
  x0: [1, 2]
  x1: {type: int, low: 0, high: 4, step: 2}
)");
  ASSERT_TRUE(grid.ok()) << grid.status().ToString();
  EXPECT_EQ(grid->sampler_options["search_space"]["x1"], Json::parse("[0, 2, 4]"));
  EXPECT_THAT(ErrorOf("sampler: grid\nobjective: {builtin: branin2}\n"), HasSubstr("continuous float"));
}

TEST(StudyConfigTest, CommandObjectiveChecks) {
  EXPECT_THAT(ErrorOf("objective: {command: [/no/such/trainer]}\n"),
              StartsWith("study.yaml:1: objective.command[0]: command /no/such/trainer: no such file"));
  EXPECT_THAT(ErrorOf("objective: {command: [no-such-program-dial-test]}\n"), HasSubstr("not found on PATH"));
  EXPECT_THAT(ErrorOf("search_space: {lr: [1, 2]}\nobjective: {command: [/bin/echo, \"{lrr}\"]}\n"),
              StartsWith("study.yaml:2: objective.command[1]: unknown placeholder {lrr}"));
  EXPECT_THAT(ErrorOf("search_space: {lr: [1, 2]}\nobjective: {command: [/bin/echo, \"{lr\"]}\n"),
              HasSubstr("unclosed '{'"));
  EXPECT_THAT(ErrorOf("objective: {command: \"python3 train.py\"}\n"), HasSubstr("no shell is used"));
  EXPECT_THAT(ErrorOf("objective: {command: [/bin/true], timeout: 0}\n"), HasSubstr("objective.timeout"));
  EXPECT_THAT(ErrorOf("objective: {command: [/bin/true], shell: yes}\n"), HasSubstr("objective.shell: unknown key"));
  EXPECT_THAT(ErrorOf("objective: {command: [/bin/true], builtin: branin2}\n"), HasSubstr("not both"));
  EXPECT_TRUE(Parse("objective: {command: [/bin/echo, \"{trial_number}\", \"{trial_dir}\", \"{study_name}\"]}\n").ok());
}

// Runs the objective of a builtin file against an in-memory study.
// `fidelity:` levels and schedule; a level's values reach the objective like parameters.
TEST(StudyConfigTest, FidelityLevelsAndSchedule) {
  Result<StudyConfig> config = Parse(R"(
search_space: {lr: {type: float, low: 0.001, high: 0.1, log: true}}
fidelity:
  levels:
    - {data_hours: 1, num_layers: 3, epochs: 1}
    - {data_hours: 10, num_layers: 6, epochs: 5}
  schedule: {name: successive_halving, start_trials: 64, keep: 0.25}
objective: {command: [/bin/true]}
)");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_TRUE(config->fidelity.has_value());
  EXPECT_EQ(config->fidelity->levels.size(), 2u);
  EXPECT_EQ(config->fidelity->levels[1].at("num_layers"), ParamValue(int64_t{6}));
  EXPECT_EQ(config->fidelity->RungSizes(), (std::vector<int64_t>{64, 16}));

  EXPECT_THAT(ErrorOf("search_space: {epochs: [1, 2]}\nfidelity: {levels: [{epochs: 1}, {epochs: 2}]}\n"
                      "objective: {command: [/bin/true]}\n"),
              HasSubstr("fidelity.levels[0].epochs: also in search_space"));
  EXPECT_THAT(ErrorOf("fixed: {epochs: 3}\nfidelity: {levels: [{epochs: 1}, {epochs: 2}]}\n"
                      "objective: {command: [/bin/true]}\n"),
              HasSubstr("also under fixed"));
  EXPECT_THAT(ErrorOf("fidelity: {levels: [{epochs: 1}, {epochs: 2}], schedule: {keep: 2}}\n"
                      "objective: {command: [/bin/true]}\n"),
              HasSubstr("fidelity.schedule.keep"));
  EXPECT_THAT(ErrorOf("fidelity: {levels: [{epochs: 1}]}\nobjective: {command: [/bin/true]}\n"),
              HasSubstr("at least two levels"));
}

// `bohb` is Hyperband with TPE: TPE when no sampler is named, any other sampler refused (naming `sampler`).
TEST(StudyConfigTest, BohbSchedulePicksTpeAndRefusesOtherSamplers) {
  const std::string fidelity =
      "search_space: {x: {type: float, low: 0, high: 1}}\n"
      "fidelity: {levels: [{epochs: 1}, {epochs: 3}], schedule: {name: bohb, start_trials: 4, keep: 0.5, "
      "rounds: 2}}\nobjective: {command: [/bin/true]}\n";
  Result<StudyConfig> config = Parse(fidelity);
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->sampler, "tpe");
  EXPECT_EQ(config->fidelity->rounds, 2);
  EXPECT_EQ(config->fidelity->Brackets().size(), 4u);
  EXPECT_TRUE(Parse(fidelity + "sampler: tpe\n").ok());
  EXPECT_THAT(ErrorOf(fidelity + "sampler: random\n"), HasSubstr("sampler: 'random' with fidelity schedule bohb"));
  EXPECT_THAT(ErrorOf("fidelity: {levels: [{epochs: 1}, {epochs: 2}], schedule: {rounds: 2}}\n"
                      "objective: {command: [/bin/true]}\n"),
              HasSubstr("fidelity.schedule.rounds"));
}

// A command built-in (the CLI registers `asr` this way) becomes a command objective: its own keys reach the factory,
// the command keys are read as for `command:`, and the factory's errors are prefixed with the file and line.
TEST(StudyConfigTest, CommandBuiltinBecomesACommandObjective) {
  RegisterCommandBuiltin("echo_trainer", [](const Json& keys, StudyConfig& config, CommandObjectiveOptions& command) {
    if (!keys.contains("data")) return InvalidArgument("data: missing (the corpus directory)");
    if (keys.contains("metric") && config.metrics == std::vector<std::string>{"value"}) {
      config.metrics = {keys["metric"].get<std::string>()};
    }
    command.argv = {"/bin/echo", "--data", keys["data"].get<std::string>()};
    return Status::Ok();
  });
  Result<StudyConfig> config = Parse(R"(
study: s
search_space: {lr: {type: float, low: 0.001, high: 0.1, log: true}}
objective: {builtin: echo_trainer, data: /corpus, metric: wer, timeout: 30, trials_dir: runs}
)");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  const auto* command = std::get_if<CommandObjectiveOptions>(&config->objective);
  ASSERT_NE(command, nullptr);
  EXPECT_EQ(command->argv, (std::vector<std::string>{"/bin/echo", "--data", "/corpus"}));
  EXPECT_EQ(command->metrics, std::vector<std::string>{"wer"});
  EXPECT_EQ(config->metrics, std::vector<std::string>{"wer"});
  ASSERT_TRUE(command->timeout_seconds.has_value());
  EXPECT_DOUBLE_EQ(*command->timeout_seconds, 30.0);
  EXPECT_EQ(command->trials_dir, "runs");

  EXPECT_THAT(ErrorOf("study: s\nobjective: {builtin: echo_trainer, metric: wer}\n"),
              AllOf(StartsWith("study.yaml:2: objective: "), HasSubstr("data: missing")));
  EXPECT_THAT(ErrorOf("study: s\nobjective: {builtin: nosuch}\n"), HasSubstr("echo_trainer"));
}

TEST(StudyConfigTest, BuiltinObjectiveRuns) {
  Result<StudyConfig> config = Parse("objective: {builtin: branin2}\nn_trials: 5\nsampler: {name: random, seed: 1}\n");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  Result<std::shared_ptr<Storage>> storage = OpenStorage("memory://");
  ASSERT_TRUE(storage.ok()) << storage.status().ToString();
  StudyOptions options;
  options.study_name = "b";
  Result<std::unique_ptr<Study>> study = Study::Create(*storage, options);
  ASSERT_TRUE(study.ok()) << study.status().ToString();
  Result<ObjectiveFunction> objective = MakeObjective(*config, nullptr);
  ASSERT_TRUE(objective.ok()) << objective.status().ToString();
  OptimizeOptions run;
  run.n_trials = 5;
  ASSERT_TRUE((*study)->Optimize(*objective, run).ok());
  Result<std::vector<FrozenTrial>> trials = (*study)->GetTrials();
  ASSERT_TRUE(trials.ok());
  ASSERT_EQ(trials->size(), 5u);
  for (const FrozenTrial& t : *trials) {
    EXPECT_EQ(t.state, TrialState::kComplete);
    ASSERT_EQ(t.values.size(), 1u);
    EXPECT_GE(t.values[0], 0.397887);  // branin's minimum
    EXPECT_EQ(t.params.size(), 2u);
  }
}

TEST(StudyConfigTest, ConditionalParametersAreSuggestedOnlyWhenTheirConditionHolds) {
  Result<StudyConfig> config = Parse(R"(
objective: {builtin: branin2}
fixed: {x1: 3}
search_space:
  x0: {type: float, low: -5, high: 10}
  opt: [adam, sgd]
  momentum: {type: float, low: 0.5, high: 0.9, when: {opt: sgd}}
)");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  Result<std::shared_ptr<Storage>> storage = OpenStorage("memory://");
  ASSERT_TRUE(storage.ok());
  StudyOptions options;
  options.study_name = "c";
  options.seed = 7;
  Result<std::unique_ptr<Study>> study = Study::Create(*storage, options);
  ASSERT_TRUE(study.ok());
  int with_momentum = 0;
  for (int i = 0; i < 20; ++i) {
    Result<std::unique_ptr<Trial>> trial = (*study)->Ask();
    ASSERT_TRUE(trial.ok());
    Result<std::map<std::string, ParamValue>> params = SuggestFromConfig(**trial, *config);
    ASSERT_TRUE(params.ok()) << params.status().ToString();
    EXPECT_EQ(std::get<int64_t>(params->at("x1")), 3);  // fixed values are passed along
    const bool sgd = std::get<std::string>(params->at("opt")) == "sgd";
    EXPECT_EQ(params->count("momentum"), sgd ? 1u : 0u);
    with_momentum += sgd;
    ASSERT_TRUE((*study)->Tell(**trial, TrialState::kComplete, {1.0}).ok());
  }
  EXPECT_GT(with_momentum, 0);
  EXPECT_LT(with_momentum, 20);
}

TEST(StudyConfigTest, MultiFidelityBuiltinReportsALearningCurve) {
  Result<StudyConfig> config = Parse("objective: {builtin: mf_hartmann6, max_fidelity: 10}\n");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->search_space.size(), 6u);
  Result<std::shared_ptr<Storage>> storage = OpenStorage("memory://");
  ASSERT_TRUE(storage.ok());
  StudyOptions options;
  options.study_name = "mf";
  Result<std::unique_ptr<Study>> study = Study::Create(*storage, options);
  ASSERT_TRUE(study.ok());
  Result<ObjectiveFunction> objective = MakeObjective(*config, nullptr);
  ASSERT_TRUE(objective.ok());
  OptimizeOptions run;
  run.n_trials = 2;
  ASSERT_TRUE((*study)->Optimize(*objective, run).ok());
  Result<std::vector<FrozenTrial>> trials = (*study)->GetTrials();
  ASSERT_TRUE(trials.ok());
  for (const FrozenTrial& t : *trials) {
    EXPECT_EQ(t.state, TrialState::kComplete);
    EXPECT_EQ(t.intermediate_values.size(), 10u);
    EXPECT_DOUBLE_EQ(t.intermediate_values.rbegin()->second, t.values[0]);
  }
  EXPECT_THAT(ErrorOf("objective: {builtin: mf_hartmann6, max_fidelity: 500}\n"), HasSubstr("max_fidelity"));
}

// `key:` as a mapping with `name` and anchors l0..l{levels-1}, each a list of nine aliases of the one before: the
// "billion laughs", 10 * 9^(levels-1) nodes for whatever walks it in full, in a few hundred bytes.
std::string AliasBomb(const std::string& key, const std::string& name, int levels) {
  std::string text = key + ":\n  name: " + name + "\n  l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int level = 1; level < levels; ++level) {
    const std::string alias = "*l" + std::to_string(level - 1);
    text += "  l" + std::to_string(level) + ": &l" + std::to_string(level) + " [" + alias;
    for (int i = 1; i < 9; ++i) text += ", " + alias;
    text += "]\n";
  }
  return text;
}

TEST(StudyConfigTest, AliasBombsAreRefusedBeforeAnyKeyIsRead) {
  const std::string head = "objective: {builtin: branin2}\n";
  // l0..l4 add 9 * (10 + 91 + 820 + 7381) = 74718 nodes through aliases; the first alias of l5 (66430) crosses the
  // limit. Today's NodeToJson would build those 672588 nodes and then complain about an unknown option.
  EXPECT_THAT(ErrorOf(head + AliasBomb("sampler", "random", 6)),
              StartsWith("study.yaml:9: sampler.l5[0]: YAML aliases expand the file by more than 100000 nodes"));
  EXPECT_THAT(ErrorOf(head + AliasBomb("pruner", "median", 6)),
              StartsWith("study.yaml:9: pruner.l5[0]: YAML aliases expand"));
  // Anywhere in the file, and the full bomb as fast as a small one.
  EXPECT_THAT(ErrorOf(head + AliasBomb("search_space", "x", 9)), StartsWith("study.yaml:9: search_space.l5[0]:"));
  EXPECT_THAT(ErrorOf(head + AliasBomb("sampler", "grid", 12)), StartsWith("study.yaml:9: sampler.l5[0]:"));
  // An alias inside the node it refers to would send any walk round forever.
  EXPECT_THAT(ErrorOf(head + "sampler: {name: random, loop: &loop [1, *loop]}\n"),
              StartsWith("study.yaml:2: sampler.loop[1]: a YAML alias that refers to a node containing it"));
  // Aliases that reuse a block stay as they were.
  Result<StudyConfig> reused = Parse(
      "objective: {builtin: branin2}\n"
      "search_space:\n"
      "  x0: &range {type: float, low: -5, high: 10}\n"
      "  x1: *range\n"
      "sampler: {name: tpe, n_startup_trials: &n 5, n_ei_candidates: *n}\n");
  ASSERT_TRUE(reused.ok()) << reused.status().ToString();
  EXPECT_EQ(reused->search_space.size(), 2u);
  EXPECT_EQ(reused->sampler_options["n_ei_candidates"], 5);
}

TEST(StudyConfigTest, ASecondYamlDocumentIsRefused) {
  EXPECT_THAT(ErrorOf("objective: {builtin: branin2}\nn_trials: 5\n---\nn_trials: 500\n"),
              StartsWith("study.yaml:3: a second YAML document (after ---): a study file is one document"));
  EXPECT_THAT(ErrorOf("---\nobjective: {builtin: branin2}\n...\n---\nstudy: b\n"),
              StartsWith("study.yaml:4: a second YAML document"));
  EXPECT_TRUE(Parse("---\nobjective: {builtin: branin2}\n...\n").ok());
}

// "opt: [c0, c1, ...]" with n distinct choices.
std::string ManyChoices(size_t n, const std::string& extra = "") {
  std::string text = "objective: {builtin: branin2}\nfixed: {x0: 1, x1: 2}\nsearch_space:\n  opt: [c0";
  for (size_t i = 1; i < n; ++i) text += ", c" + std::to_string(i);
  return text + extra + "]\n";
}

TEST(StudyConfigTest, ALargeCategoricalLoadsInLinearTime) {
  // Comparing every pair took minutes here (2 * 10^10 comparisons).
  Result<StudyConfig> config = Parse(ManyChoices(200000));
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_EQ(config->search_space.size(), 1u);
  EXPECT_EQ(std::get<CategoricalDistribution>(config->search_space[0].distribution).choices.size(), 200000u);
  EXPECT_THAT(ErrorOf(ManyChoices(200000, ", c5")),
              StartsWith("study.yaml:4: search_space.opt: duplicate choice c5 (search_space.opt[5] and [200000])"));
}

TEST(StudyConfigTest, DuplicateChoicesAreFoundByPositionWithTheEqualityOfValues) {
  const std::string head = "objective: {builtin: branin2}\nfixed: {x0: 1, x1: 2}\nsearch_space:\n  opt:\n";
  // The first choice that repeats an earlier one, on its own line.
  EXPECT_THAT(ErrorOf(head + "    - a\n    - b\n    - c\n    - b\n    - a\n"),
              StartsWith("study.yaml:8: search_space.opt: duplicate choice b (search_space.opt[1] and [3])"));
  EXPECT_THAT(ErrorOf(head + "    choices: [1, 2, 1.0]\n"),
              StartsWith("study.yaml:5: search_space.opt: duplicate choice 1 (search_space.opt.choices[0] and [2])"));
  for (const std::string same : {"[.nan, .NaN]", "[0.0, -0.0]", "[null, ~]", "[true, True]", "[\"x\", x]",
                                 "[9007199254740993, 9007199254740992]"}) {
    EXPECT_THAT(ErrorOf(head + "    choices: " + same + "\n"), HasSubstr("duplicate choice")) << same;
  }
  for (const std::string different : {"[true, 1]", "[\"1\", 1]", "[null, \"null\"]", "[0, false]", "[1.5, 2.5]"}) {
    Result<StudyConfig> config = Parse(head + "    choices: " + different + "\n");
    EXPECT_TRUE(config.ok()) << different << ": " << config.status().ToString();
  }
}

}  // namespace
}  // namespace dial
