// A multi-speaker read-speech corpus that any fresh machine can build: TIDIGITS-like digit strings and short
// command phrases spoken by espeak-ng and flite voices, with additive noise, split into train / dev / test with
// held-out speakers and written as Kaldi data directories (the layout `dial corpus synth` produces).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dial/status.h"

namespace dial::speech {

// One voice the synthesiser can speak with. Written as "espeak:<voice>[+<variant>]" (e.g. "espeak:en-gb+f3")
// or "flite:<voice>" (e.g. "flite:slt"); each voice is one speaker of the corpus.
struct SynthVoice {
  enum class Engine { kEspeak, kFlite };
  Engine engine = Engine::kEspeak;
  std::string name;              // "en-gb+f3", "slt"
  std::string ToString() const;  // "espeak:en-gb+f3"
};

// Parses "espeak:en-us+f3", "flite:slt", or a bare espeak voice "en-us+f3". InvalidArgument naming the text for
// an engine, voice or variant that is not in the known lists (DefaultVoicePool's building blocks).
Result<SynthVoice> ParseSynthVoice(const std::string& text);

// Every voice the default corpus draws its speakers from: 8 English accents of espeak-ng, each with 12 variants
// (m1..m7, f1..f5), and the flite voices awb, kal16, rms and slt (100 voices). Fixed order.
std::vector<SynthVoice> DefaultVoicePool();

struct SynthOptions {
  std::string out_dir;              // the corpus directory; it must not exist unless `overwrite`
  double hours = 1.0;               // total audio over all splits (silence padding included), > 0
  uint64_t seed = 0;                // everything random (speakers, texts, noise, splits) derives from it
  int jobs = 0;                     // parallel synthesis workers; 0: the number of cores
  int sample_rate = 16000;          // Hz of the written WAV files (16-bit mono); 8000..48000
  int num_speakers = 0;             // 0: clamp(ceil(60 * hours), 10, voices available); else 3..voices available
  std::vector<std::string> voices;  // the speaker pool (ParseSynthVoice syntax); empty: DefaultVoicePool()
  double dev_fraction = 0.1;        // fraction of the speakers held out for dev (at least one speaker)
  double test_fraction = 0.1;       // fraction held out for test (at least one speaker)
  double digit_fraction = 0.5;      // share of utterances that are digit strings; the rest are command phrases
  double clean_fraction = 0.25;     // share of utterances left without added noise
  std::vector<double> snr_db = {20.0, 10.0, 5.0};                      // SNRs of the noisy utterances, drawn uniformly
  std::vector<std::string> noise_types = {"white", "pink", "babble"};  // drawn uniformly for noisy utterances
  double max_silence_seconds = 0.4;          // leading and trailing silence are each drawn from [0.05, this]
  bool overwrite = false;                    // replace an existing out_dir (only once the new corpus is complete)
  std::string espeak_program = "espeak-ng";  // looked up on PATH unless it holds a '/'
  std::string flite_program = "flite";
  // InvalidArgument naming the option: hours <= 0, a rate outside 8000..48000, an unknown voice or noise type,
  // fractions outside [0, 1], dev + test >= 1, num_speakers out of range, an empty out_dir.
  Status Validate() const;
};

// What a progress callback sees; called from the thread that runs SynthesizeCorpus.
struct SynthProgress {
  int64_t utterances_done = 0;
  double seconds_done = 0.0;    // of audio written so far (in utterance order)
  double seconds_target = 0.0;  // hours * 3600
};
// Returns false to cancel: SynthesizeCorpus then stops, removes what it wrote and returns Cancelled.
using SynthProgressFn = std::function<bool(const SynthProgress&)>;

// What a finished corpus holds.
struct SynthSummary {
  std::string out_dir;
  int64_t utterances[3] = {0, 0, 0};  // train, dev, test
  int speakers[3] = {0, 0, 0};
  double seconds[3] = {0.0, 0.0, 0.0};
  double total_seconds() const { return seconds[0] + seconds[1] + seconds[2]; }
};

// Builds the corpus:
//   out_dir/{train,dev,test}/{wav.scp,text,utt2spk,spk2utt,utt2noise}  (sorted by id; wav.scp paths are relative
//       to the data directory, "../wav/<utt>.wav"; utt2noise says "clean" or "<type> <snr_db>")
//   out_dir/wav/<utt>.wav   (16-bit mono at sample_rate)
//   out_dir/corpus.json     (seed, options, speakers with voice, rate, pitch and split, figures per split)
// Speaker ids name the voice ("en-gb-f3", "flite-slt"), utterance ids start with the speaker id. Dev and test
// speakers never appear in train. Utterances are produced in a fixed order until their audio reaches `hours`
// (and every speaker has spoken at least once), so the output is the same byte for byte for the same options,
// seed and synthesiser versions, whatever `jobs`. It is built in "<out_dir>.tmp-XXXXXX" and renamed at the end:
// a failed or cancelled run leaves nothing behind. FailedPrecondition naming the program and its Debian package
// when espeak-ng or flite is needed and missing; AlreadyExists when out_dir exists and !overwrite; IoError
// naming the file or command that failed.
Result<SynthSummary> SynthesizeCorpus(const SynthOptions& options, const SynthProgressFn& progress = nullptr);

}  // namespace dial::speech
