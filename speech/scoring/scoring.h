// Speech recognition scoring: WER/CER with NIST sclite's alignment (same S/D/I counts), per-group tables,
// and readers for Kaldi `text`, `utt2spk` and sclite `trn` transcripts.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dial/status.h"

namespace dial::speech {

// How reference and hypothesis text is normalised before alignment; both sides always get the same treatment.
struct NormalizeOptions {
  // ASCII case folding to lower case (sclite compares case-insensitively by default too). Non-ASCII bytes are
  // left alone.
  bool lowercase = true;
  // Drop whole tokens that are tags: `<noise>`, `[laughter]`, `<unk>`, `(%hesitation)`-style tokens are NOT
  // dropped, only tokens that start with '<' and end with '>' or start with '[' and end with ']'.
  bool drop_tags = true;
  Status Validate() const { return Status::Ok(); }
};

// Normalises one whitespace-separated transcript into tokens.
std::vector<std::string> NormalizeWords(std::string_view text, const NormalizeOptions& options);

// Edit counts of one alignment or a sum of them. n_ref = correct + substitutions + deletions.
struct EditCounts {
  int64_t n_ref = 0;
  int64_t correct = 0;
  int64_t substitutions = 0;
  int64_t deletions = 0;
  int64_t insertions = 0;

  int64_t errors() const { return substitutions + deletions + insertions; }
  // (S + D + I) / N as a percentage. With N = 0: 0 when there is no error, +infinity otherwise.
  double ErrorRatePercent() const;
  EditCounts& operator+=(const EditCounts& o);
  bool operator==(const EditCounts&) const = default;
};

// Minimum-cost alignment with sclite's weights (correct 0, substitution 4, insertion 3, deletion 3) and its
// tie-breaking: backtracking from the ends of both strings, a diagonal step (match or substitution) is taken
// when it lies on a cheapest path, then an insertion, then a deletion. This reproduces sclite's per-utterance
// C/S/D/I exactly (tested against sclite on random inputs), not only the total.
EditCounts Align(std::span<const std::string> ref, std::span<const std::string> hyp);

// One utterance's transcript.
struct Utterance {
  std::string id;
  std::vector<std::string> words;  // raw tokens as read (not normalised)
};

// Kaldi `text`: `<utt-id> word word ...` per line; blank lines skipped; an id with no words is an empty
// transcript. Duplicate ids are an error naming the line. `source` names the input in messages.
Result<std::vector<Utterance>> ParseKaldiText(std::string_view content, std::string_view source);
Result<std::vector<Utterance>> ReadKaldiText(const std::string& path);
// sclite `trn`: `word word ... (utt-id)` per line.
Result<std::vector<Utterance>> ParseTrn(std::string_view content, std::string_view source);
Result<std::vector<Utterance>> ReadTrn(const std::string& path);
// Kaldi `utt2spk` (or any `<utt-id> <group>` file): utterance id -> group.
Result<std::map<std::string, std::string>> ParseUtt2Spk(std::string_view content, std::string_view source);
Result<std::map<std::string, std::string>> ReadUtt2Spk(const std::string& path);
// Reads Kaldi text or trn: a file whose non-blank lines all end in `(id)` is trn, otherwise Kaldi text.
Result<std::vector<Utterance>> ReadTranscripts(const std::string& path);

// sclite's speaker rule, used when no utt2spk is given: the id up to its first '-', else up to its first '_',
// else the whole id.
std::string ScliteSpeakerOf(std::string_view utt_id);

enum class ScoreUnit {
  kWord,  // WER: tokens are whitespace-separated words
  kChar,  // CER: tokens are UTF-8 code points of the normalised words; spaces dropped unless keep_spaces
};

enum class MissingHypothesis {
  kEmpty,  // a reference with no hypothesis is scored against an empty hypothesis (all deletions)
  kError,  // it is an InvalidArgument naming the utterance
};

struct ScoreOptions {
  NormalizeOptions normalize;
  ScoreUnit unit = ScoreUnit::kWord;
  bool keep_spaces = false;  // CER only: count the space between words as a `<space>` token (ESPnet style)
  MissingHypothesis missing_hypothesis = MissingHypothesis::kEmpty;
  Status Validate() const { return normalize.Validate(); }
};

struct UtteranceScore {
  std::string id;
  std::string group;
  EditCounts counts;
};

struct GroupScore {
  std::string group;
  int64_t n_utterances = 0;
  int64_t n_utterances_with_error = 0;
  EditCounts counts;
};

struct ScoreReport {
  EditCounts total;
  int64_t n_utterances = 0;
  int64_t n_utterances_with_error = 0;
  int64_t n_missing_hypotheses = 0;        // references scored against an empty hypothesis
  std::vector<UtteranceScore> utterances;  // in reference order
  std::vector<GroupScore> groups;          // sorted by group name
  // Index into groups of the group with the highest error rate (ties: more reference tokens, then name);
  // -1 when there are no groups.
  int worst_group = -1;
};

// Scores hypotheses against references, corpus-wide: (S + D + I) / N summed over all utterances, never a
// mean of per-utterance rates. Groups come from utt2group when it is non-empty (an utterance missing from it
// is an error), else from ScliteSpeakerOf. A hypothesis id with no reference is an InvalidArgument.
Result<ScoreReport> Score(std::span<const Utterance> references, std::span<const Utterance> hypotheses,
                          const std::map<std::string, std::string>& utt2group, const ScoreOptions& options);

// Kaldi's summary line: `%WER 4.21 [ 101 / 2400, 12 ins, 30 del, 59 sub ]` (label "WER" or "CER").
std::string FormatKaldiLine(const EditCounts& counts, std::string_view label);
// A fixed-width per-group table (group, utterances, N, corr/sub/del/ins counts, error %) ending with the
// total and the worst group.
std::string FormatGroupTable(const ScoreReport& report, std::string_view label);

}  // namespace dial::speech
