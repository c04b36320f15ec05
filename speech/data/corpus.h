// Corpora as users have them: a Kaldi data directory, a NeMo manifest or a WeNet data.list, read into one list
// of utterances; nested, speaker-stratified subsets for fidelity levels; and a corpus-wide check.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dial/status.h"
#include "speech/audio/audio.h"

namespace dial::speech {

// One utterance of a corpus: where its audio is and what was said.
struct CorpusEntry {
  std::string id;
  std::string speaker;             // utt2spk; NeMo/WeNet: the "speaker" field, else sclite's rule on the id
  std::string text;                // the transcript as written
  bool has_transcript = true;      // false: the id is in wav.scp (or the manifest) but has no transcript
  std::string audio_path;          // a file; empty when `command` is set
  std::string command;             // a piped wav.scp entry (without the trailing '|'), run only when allowed
  double offset_seconds = 0.0;     // Kaldi segments / NeMo offset / WeNet start
  double duration_seconds = -1.0;  // < 0: unknown (whole file); known from segments, NeMo duration, WeNet end
};

enum class CorpusFormat { kKaldi, kNemo, kWenet };

struct Corpus {
  std::string source;  // the directory or file it was read from, for messages
  CorpusFormat format = CorpusFormat::kKaldi;
  std::vector<CorpusEntry> entries;  // sorted by id
};

struct ReadCorpusOptions {
  bool allow_piped_commands = false;  // wav.scp entries ending in '|' are an error unless set
};

// Reads `path`: a directory with wav.scp and text (Kaldi; utt2spk and segments optional), a file named data.list
// or whose JSON lines have "key"/"wav" (WeNet), or JSON lines with "audio_filepath" (NeMo). Relative audio
// paths are resolved against the file's directory. Malformed input is an InvalidArgument naming the file and
// line; a missing directory or file is NotFound. It does not open audio files (see CheckCorpus).
Result<Corpus> ReadCorpus(const std::string& path, const ReadCorpusOptions& options = {});

// Loads one entry's audio (running its command when allowed), mono, resampled as `options` asks.
Result<Waveform> LoadAudio(const CorpusEntry& entry, const ReadAudioOptions& options = {},
                           bool allow_piped_commands = false);

// The first `hours` of the corpus, chosen deterministically for `seed` and stratified by speaker (round-robin
// over speakers in a seeded order, each speaker's utterances in a seeded order), so that the subset for a
// smaller `hours` is always contained in the subset for a larger one with the same seed. Durations must be known
// (FailedPrecondition naming the first entry without one; see FillDurations).
Result<Corpus> SelectHours(const Corpus& corpus, double hours, uint64_t seed);

// Fills unknown durations by reading the audio headers. Errors name the entry and file.
Status FillDurations(Corpus* corpus, bool allow_piped_commands = false);

// One problem found by CheckCorpus.
struct CorpusProblem {
  std::string utterance_id;
  std::string file;
  std::string message;  // e.g. "truncated: header says 32000 frames, file holds 12000"
};

struct CheckCorpusOptions {
  int expected_sample_rate = 0;  // 0: any; otherwise a different rate is a problem ("rate mismatch")
  bool allow_piped_commands = false;
};

struct CorpusCheckReport {
  int64_t n_entries = 0;
  int64_t n_speakers = 0;
  double total_seconds = 0.0;  // of the readable entries
  std::vector<CorpusProblem> problems;
};

// Opens every entry's audio and lists every problem: unreadable, empty or truncated audio, a missing transcript,
// a rate mismatch, a segment outside its recording. Never stops at the first problem.
CorpusCheckReport CheckCorpus(const Corpus& corpus, const CheckCorpusOptions& options = {});

}  // namespace dial::speech
