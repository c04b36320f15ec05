// Test helper: scores a hypothesis file against a reference file with dial's scorer and prints raw counts
// (per utterance, per group, total) for tests/python/speech_sclite_compare.py to compare with sclite.
// Usage: speech_score_tool REF HYP [--char] [--utt2spk FILE]
#include <cstdio>
#include <cstring>
#include <string>

#include "speech/scoring/scoring.h"

int main(int argc, char** argv) {
  using namespace dial::speech;
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s REF HYP [--char] [--utt2spk FILE]\n", argv[0]);
    return 2;
  }
  ScoreOptions options;
  std::map<std::string, std::string> utt2spk;
  for (int k = 3; k < argc; ++k) {
    if (std::strcmp(argv[k], "--char") == 0) {
      options.unit = ScoreUnit::kChar;
    } else if (std::strcmp(argv[k], "--utt2spk") == 0 && k + 1 < argc) {
      auto m = ReadUtt2Spk(argv[++k]);
      if (!m.ok()) {
        std::fprintf(stderr, "%s\n", m.status().ToString().c_str());
        return 1;
      }
      utt2spk = *m;
    } else {
      std::fprintf(stderr, "unknown argument '%s'\n", argv[k]);
      return 2;
    }
  }
  auto refs = ReadTranscripts(argv[1]);
  auto hyps = ReadTranscripts(argv[2]);
  if (!refs.ok() || !hyps.ok()) {
    std::fprintf(stderr, "%s\n", (!refs.ok() ? refs.status() : hyps.status()).ToString().c_str());
    return 1;
  }
  auto report = Score(*refs, *hyps, utt2spk, options);
  if (!report.ok()) {
    std::fprintf(stderr, "%s\n", report.status().ToString().c_str());
    return 1;
  }
  auto print = [](const char* kind, const std::string& name, long long n_utts, const EditCounts& c) {
    std::printf("%s %s %lld %lld %lld %lld %lld %lld\n", kind, name.c_str(), n_utts, (long long)c.n_ref,
                (long long)c.correct, (long long)c.substitutions, (long long)c.deletions, (long long)c.insertions);
  };
  for (const UtteranceScore& u : report->utterances) print("UTT", u.id, 1, u.counts);
  for (const GroupScore& g : report->groups) print("GROUP", g.group, g.n_utterances, g.counts);
  print("TOTAL", "all", report->n_utterances, report->total);
  const char* label = options.unit == ScoreUnit::kChar ? "CER" : "WER";
  std::fprintf(stderr, "%s\n%s", FormatKaldiLine(report->total, label).c_str(),
               FormatGroupTable(*report, label).c_str());
  return 0;
}
