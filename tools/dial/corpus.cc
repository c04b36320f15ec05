// `dial corpus`: tools for the data a speech study trains on. `check` reads a corpus (a Kaldi data directory, a
// dial corpus root holding train/dev/test, a NeMo manifest or a WeNet data.list), opens every audio file and
// lists every problem; `synth` (corpus_synth.cc) builds a corpus from speech synthesisers.
#include "speech/data/corpus.h"

#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.h"

namespace dial::cli {
namespace {

namespace fs = std::filesystem;

constexpr int kDefaultCheckSampleRate = 16000;  // dial's corpus convention: 16 kHz mono 16-bit
constexpr double kSecondsPerHour = 3600.0;

struct CheckArgs {
  std::string path;
  int sample_rate = kDefaultCheckSampleRate;
  bool allow_piped = false;
  std::string format = "table";
};

const char* FormatName(speech::CorpusFormat f) {
  switch (f) {
    case speech::CorpusFormat::kKaldi:
      return "kaldi";
    case speech::CorpusFormat::kNemo:
      return "nemo";
    case speech::CorpusFormat::kWenet:
      return "wenet";
  }
  return "unknown";
}

struct CheckedPart {
  std::string name;  // the split ("train") or the path itself
  speech::Corpus corpus;
  speech::CorpusCheckReport report;
};

// The parts to check: the path itself, or, for a dial corpus root without its own wav.scp, each subdirectory
// that is a Kaldi data directory (train, dev, test).
std::vector<std::string> PartsOf(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec) || fs::exists(fs::path(path) / "wav.scp", ec)) return {path};
  std::vector<std::string> parts;
  for (const auto& sub : fs::directory_iterator(path, ec)) {
    if (sub.is_directory(ec) && fs::exists(sub.path() / "wav.scp", ec)) parts.push_back(sub.path().string());
  }
  std::sort(parts.begin(), parts.end());
  return parts.empty() ? std::vector<std::string>{path} : parts;
}

int RunCheck(const CheckArgs& args) {
  if (args.format != "table" && args.format != "json") {
    return ReportError(InvalidArgument("--format: must be table or json, got '" + args.format + "'"));
  }
  if (args.sample_rate < 0) {
    return ReportError(
        InvalidArgument("--sample-rate: must be >= 0 (0 accepts any rate), got " + std::to_string(args.sample_rate)));
  }
  speech::ReadCorpusOptions read_options;
  read_options.allow_piped_commands = args.allow_piped;
  speech::CheckCorpusOptions check_options;
  check_options.expected_sample_rate = args.sample_rate;
  check_options.allow_piped_commands = args.allow_piped;

  std::vector<CheckedPart> parts;
  for (const std::string& part_path : PartsOf(args.path)) {
    auto corpus = speech::ReadCorpus(part_path, read_options);
    if (!corpus.ok()) return ReportError(corpus.status());
    CheckedPart part;
    part.name = part_path == args.path ? args.path : fs::path(part_path).filename().string();
    part.report = speech::CheckCorpus(*corpus, check_options);
    part.corpus = std::move(corpus).value();
    parts.push_back(std::move(part));
  }
  size_t n_problems = 0;
  for (const CheckedPart& p : parts) n_problems += p.report.problems.size();

  if (args.format == "json") {
    nlohmann::json out = {{"path", args.path}, {"n_problems", n_problems}, {"parts", nlohmann::json::array()}};
    for (const CheckedPart& p : parts) {
      nlohmann::json problems = nlohmann::json::array();
      for (const auto& q : p.report.problems) {
        problems.push_back({{"utterance_id", q.utterance_id}, {"file", q.file}, {"message", q.message}});
      }
      out["parts"].push_back({{"name", p.name},
                              {"source", p.corpus.source},
                              {"format", FormatName(p.corpus.format)},
                              {"n_entries", p.report.n_entries},
                              {"n_speakers", p.report.n_speakers},
                              {"hours", p.report.total_seconds / kSecondsPerHour},
                              {"problems", problems}});
    }
    std::cout << out.dump(2) << std::endl;
  } else {
    std::vector<std::vector<std::string>> summary;
    std::vector<std::vector<std::string>> problems;
    for (const CheckedPart& p : parts) {
      char hours[32];
      std::snprintf(hours, sizeof hours, "%.3f", p.report.total_seconds / kSecondsPerHour);
      summary.push_back({p.name, FormatName(p.corpus.format), std::to_string(p.report.n_entries),
                         std::to_string(p.report.n_speakers), hours, std::to_string(p.report.problems.size())});
      for (const auto& q : p.report.problems) {
        std::vector<std::string> row = {q.utterance_id, q.file, q.message};
        if (parts.size() > 1) row.insert(row.begin(), p.name);
        problems.push_back(std::move(row));
      }
    }
    PrintTable(std::cout, {"corpus", "format", "entries", "speakers", "hours", "problems"}, summary);
    if (problems.empty()) {
      std::cout << "no problems found\n";
    } else {
      std::cout << "\n" << n_problems << " problem(s):\n";
      std::vector<std::string> headers = {"utterance", "file", "problem"};
      if (parts.size() > 1) headers.insert(headers.begin(), "split");
      PrintTable(std::cout, headers, problems);
    }
    std::cout.flush();
  }
  return n_problems == 0 ? kExitOk : kExitBadInput;
}

}  // namespace

Command AddCorpusCommand(CLI::App& app) {
  CLI::App* corpus = app.add_subcommand("corpus", "Corpus tools: check a corpus for bad data, synthesize one");
  corpus->require_subcommand(1);

  auto args = std::make_shared<CheckArgs>();
  CLI::App* check = corpus->add_subcommand(
      "check",
      "Open every utterance's audio and list every problem (unreadable, empty or truncated audio, missing "
      "transcript, rate mismatch, segment beyond its recording); exit 2 when there is any");
  check
      ->add_option("path", args->path,
                   "A Kaldi data directory, a corpus root holding train/dev/test, a NeMo manifest or a WeNet data.list")
      ->required();
  check->add_option("--sample-rate", args->sample_rate, "Expected sample rate in Hz; 0 accepts any (default 16000)");
  check->add_flag("--allow-piped", args->allow_piped,
                  "Run piped wav.scp entries ('cmd |') with /bin/sh; only for directories you trust");
  check->add_option("--format", args->format, "table (default) or json");

  Command synth = AddCorpusSynthSubcommand(corpus);
  return {corpus, [args, check, synth] {
            if (check->parsed()) return RunCheck(*args);
            if (synth.app != nullptr && synth.app->parsed()) return synth.run();
            return ReportError(InvalidArgument("corpus: a subcommand is required (check, synth)"));
          }};
}

}  // namespace dial::cli
