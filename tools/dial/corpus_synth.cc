// `dial corpus synth`: builds a multi-speaker corpus with espeak-ng and flite (speech/corpus/synth.h), with a
// progress line on a terminal and one summary line at the end.
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli.h"
#include "run.h"
#include "speech/corpus/synth.h"

namespace dial::cli {
namespace {

std::string FormatHours(double seconds) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f h", seconds / 3600.0);
  return buf;
}

int RunCorpusSynth(const speech::SynthOptions& options) {
  if (Status s = options.Validate(); !s.ok()) return ReportError(s);
  InstallStopHandlers();
  const bool tty = isatty(STDERR_FILENO) != 0;
  const auto start = std::chrono::steady_clock::now();
  auto last_print = start - std::chrono::seconds(1);
  constexpr auto kProgressInterval = std::chrono::milliseconds(200);
  speech::SynthProgressFn progress = [&](const speech::SynthProgress& p) {
    if (StopFlag()->load()) return false;
    const auto now = std::chrono::steady_clock::now();
    if (tty && now - last_print >= kProgressInterval) {
      last_print = now;
      const double pct = p.seconds_target > 0 ? std::min(100.0, 100.0 * p.seconds_done / p.seconds_target) : 0;
      std::fprintf(stderr, "\rsynth: %lld utterances, %s of %s (%.0f%%)", static_cast<long long>(p.utterances_done),
                   FormatHours(p.seconds_done).c_str(), FormatHours(p.seconds_target).c_str(), pct);
      std::fflush(stderr);
    }
    return true;
  };
  Result<speech::SynthSummary> summary = speech::SynthesizeCorpus(options, progress);
  if (tty) std::fprintf(stderr, "\r\033[K");
  if (!summary.ok()) return ReportError(summary.status());
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  static const char* const kSplitNames[] = {"train", "dev", "test"};
  std::ostringstream line;
  line << "wrote " << summary->out_dir << ":";
  for (int i = 0; i < 3; ++i) {
    line << (i ? "," : "") << " " << kSplitNames[i] << " " << summary->utterances[i] << " utts / "
         << summary->speakers[i] << " spk / " << FormatHours(summary->seconds[i]);
  }
  char tail[96];
  std::snprintf(tail, sizeof tail, "; %s in %.1f s (%.2f h of audio per minute)",
                FormatHours(summary->total_seconds()).c_str(), wall,
                wall > 0 ? summary->total_seconds() / 3600.0 / (wall / 60.0) : 0.0);
  line << tail;
  std::cout << line.str() << std::endl;
  return kExitOk;
}

}  // namespace

Command AddCorpusSynthSubcommand(CLI::App* corpus) {
  auto options = std::make_shared<speech::SynthOptions>();
  CLI::App* sub = corpus->add_subcommand(
      "synth", "Build a multi-speaker digits-and-commands corpus with espeak-ng and flite (train/dev/test)");
  sub->add_option("--out", options->out_dir, "Corpus directory to create (must not exist unless --overwrite)")
      ->required();
  sub->add_option("--hours", options->hours, "Hours of audio over all splits")->required();
  sub->add_option("--seed", options->seed, "Seed: the same seed and options give the same files byte for byte");
  sub->add_option("--jobs", options->jobs, "Parallel synthesis workers (default: the number of cores)");
  sub->add_option("--sample-rate", options->sample_rate, "Sample rate of the WAV files in Hz (default 16000)");
  sub->add_option("--speakers", options->num_speakers,
                  "Number of speakers (default: 60 per hour, at least 10, at most the voices available)");
  sub->add_option("--voices", options->voices,
                  "Comma-separated voice pool, e.g. espeak:en-gb+f3,flite:slt (default: 96 espeak-ng + 4 flite)")
      ->delimiter(',');
  sub->add_option("--dev-fraction", options->dev_fraction, "Fraction of speakers held out for dev (default 0.1)");
  sub->add_option("--test-fraction", options->test_fraction, "Fraction of speakers held out for test (default 0.1)");
  sub->add_option("--digit-fraction", options->digit_fraction,
                  "Share of digit-string utterances; the rest are command phrases (default 0.5)");
  sub->add_option("--clean-fraction", options->clean_fraction, "Share of utterances without noise (default 0.25)");
  sub->add_option("--snr-db", options->snr_db, "Comma-separated SNRs of noisy utterances (default 20,10,5)")
      ->delimiter(',');
  sub->add_option("--noise", options->noise_types, "Comma-separated noise types: white, pink, babble (default all)")
      ->delimiter(',');
  sub->add_flag("--overwrite", options->overwrite, "Replace an existing --out once the new corpus is complete");
  return {sub, [options] { return RunCorpusSynth(*options); }};
}

}  // namespace dial::cli
