// Output units of the ASR model: characters (the default) or SentencePiece units, with WeNet's id layout
// (<blank> = 0, <unk> = 1, units from 2, <sos/eos> = vocab_size - 1). Plain C++: no torch.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dial/status.h"

namespace dial::speech {

// The word boundary of character vocabularies, as WeNet writes it in units.txt (U+2581, "▁").
inline constexpr std::string_view kWordBoundaryUnit = "\xE2\x96\x81";
// The file a tokenizer is saved to in a training output directory (WeNet's name for the dictionary).
inline constexpr std::string_view kUnitsFileName = "units.txt";

// Text normalisation applied before encoding (both when building a vocabulary and when encoding): ASCII upper
// case folded to lower case (scoring folds case too), runs of whitespace collapsed to one space, ends trimmed.
std::string NormalizeTranscript(std::string_view text);

// Maps text to token ids and back. Immutable after construction; safe to share between threads.
class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Ids of the normalised text; a unit outside the vocabulary becomes <unk> (1).
  virtual std::vector<int> Encode(std::string_view text) const = 0;
  // Text of the ids; <blank>, <unk>, <sos/eos> and out-of-range ids are skipped.
  virtual std::string Decode(std::span<const int> ids) const = 0;
  // Including <blank>, <unk> and <sos/eos>.
  virtual int vocab_size() const = 0;
  // "char" or "sentencepiece".
  virtual std::string kind() const = 0;
  // Writes units.txt (and the SentencePiece model) into `dir`, which must exist. IoError naming the file.
  virtual Status Save(const std::string& dir) const = 0;
};

// A character vocabulary from the training transcripts: every UTF-8 code point that occurs (after
// NormalizeTranscript), the space as kWordBoundaryUnit, in code-point order. InvalidArgument when the
// transcripts hold no character at all.
Result<std::unique_ptr<Tokenizer>> BuildCharTokenizer(std::span<const std::string> transcripts);

// Trains a SentencePiece unigram model of `vocab_size` units in total (the <blank>, <unk> and <sos/eos> ids
// included) on the transcripts and saves it as DIR/sentencepiece.model. The vocabulary may come out smaller when
// the text is too small for it (SentencePiece's hard_vocab_limit off). InvalidArgument for vocab_size < 4.
Result<std::unique_ptr<Tokenizer>> TrainSentencePieceTokenizer(std::span<const std::string> transcripts, int vocab_size,
                                                               const std::string& dir);

// Reads back what Save wrote (a char tokenizer from units.txt; a SentencePiece one from sentencepiece.model).
// NotFound when DIR holds neither; InvalidArgument naming the file and line when units.txt is malformed.
Result<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& dir);

}  // namespace dial::speech
