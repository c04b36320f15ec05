// `dial score`: WER or CER of a user's own hypotheses against references, with sclite's alignment, the Kaldi
// summary line and a per-speaker table ending with the worst speaker.
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.h"
#include "speech/scoring/scoring.h"

namespace dial::cli {
namespace {

struct ScoreArgs {
  std::string ref;
  std::string hyp;
  std::string utt2spk;
  bool cer = false;
  bool keep_case = false;
  bool keep_tags = false;
  bool strict = false;
  std::string format = "text";
};

nlohmann::json CountsJson(const speech::EditCounts& c) {
  return {{"n_ref", c.n_ref},         {"correct", c.correct},       {"substitutions", c.substitutions},
          {"deletions", c.deletions}, {"insertions", c.insertions}, {"error_rate", c.ErrorRatePercent()}};
}

int RunScore(const ScoreArgs& args) {
  if (args.format != "text" && args.format != "json") {
    return ReportError(InvalidArgument("--format: must be text or json, got '" + args.format + "'"));
  }
  speech::ScoreOptions options;
  options.unit = args.cer ? speech::ScoreUnit::kChar : speech::ScoreUnit::kWord;
  options.normalize.lowercase = !args.keep_case;
  options.normalize.drop_tags = !args.keep_tags;
  options.missing_hypothesis = args.strict ? speech::MissingHypothesis::kError : speech::MissingHypothesis::kEmpty;
  auto refs = speech::ReadTranscripts(args.ref);
  if (!refs.ok()) return ReportError(refs.status().WithContext("--ref " + args.ref));
  auto hyps = speech::ReadTranscripts(args.hyp);
  if (!hyps.ok()) return ReportError(hyps.status().WithContext("--hyp " + args.hyp));
  std::map<std::string, std::string> utt2spk;
  if (!args.utt2spk.empty()) {
    auto m = speech::ReadUtt2Spk(args.utt2spk);
    if (!m.ok()) return ReportError(m.status().WithContext("--utt2spk " + args.utt2spk));
    utt2spk = std::move(m).value();
  }
  auto report = speech::Score(*refs, *hyps, utt2spk, options);
  if (!report.ok()) return ReportError(report.status());
  const char* label = args.cer ? "CER" : "WER";
  if (args.format == "json") {
    nlohmann::json groups = nlohmann::json::array();
    for (const auto& g : report->groups) {
      auto j = CountsJson(g.counts);
      j["group"] = g.group;
      j["n_utterances"] = g.n_utterances;
      groups.push_back(j);
    }
    nlohmann::json out = {{"metric", label},
                          {"total", CountsJson(report->total)},
                          {"n_utterances", report->n_utterances},
                          {"n_missing_hypotheses", report->n_missing_hypotheses},
                          {"groups", groups}};
    if (report->worst_group >= 0) out["worst_group"] = report->groups[report->worst_group].group;
    std::cout << out.dump(2) << std::endl;
    return kExitOk;
  }
  std::cout << speech::FormatKaldiLine(report->total, label) << "\n";
  if (report->n_missing_hypotheses > 0) {
    std::cout << "(" << report->n_missing_hypotheses << " reference(s) had no hypothesis: scored as deletions)\n";
  }
  const std::string table = speech::FormatGroupTable(*report, label);
  std::cout << table << (table.empty() || table.back() != '\n' ? "\n" : "");
  return kExitOk;
}

}  // namespace

Command AddScoreCommand(CLI::App& app) {
  auto args = std::make_shared<ScoreArgs>();
  CLI::App* sub = app.add_subcommand("score", "WER/CER of hypotheses against references, as NIST sclite counts");
  sub->add_option("--ref", args->ref, "References: Kaldi text (utt-id words...) or sclite trn")->required();
  sub->add_option("--hyp", args->hyp, "Hypotheses, in either format")->required();
  sub->add_option("--utt2spk", args->utt2spk, "utt2spk file for per-speaker figures (default: sclite's id rule)");
  sub->add_flag("--cer", args->cer, "Score characters instead of words");
  sub->add_flag("--keep-case", args->keep_case, "Do not fold case (default: lower-case both sides)");
  sub->add_flag("--keep-tags", args->keep_tags, "Keep <tag> and [tag] tokens (default: drop them on both sides)");
  sub->add_flag("--strict", args->strict, "A reference without a hypothesis is an error (default: all deletions)");
  sub->add_option("--format", args->format, "text (Kaldi %WER line + per-speaker table) or json");
  return {sub, [args] { return RunScore(*args); }};
}

}  // namespace dial::cli
