// Character and SentencePiece tokenizers with WeNet's id layout and units.txt dictionary file.
#include "speech/asr/tokenizer.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "dial/command_objective.h"
#include "util/subprocess.h"

extern char** environ;

namespace dial::speech {
namespace {

constexpr int kBlank = 0;
constexpr int kUnk = 1;
constexpr int kFirstUnit = 2;
constexpr const char* kBlankSymbol = "<blank>";
constexpr const char* kUnkSymbol = "<unk>";
constexpr const char* kSosEosSymbol = "<sos/eos>";
constexpr const char* kSentencePieceModelFile = "sentencepiece.model";
constexpr const char* kSentencePieceVocabFile = "sentencepiece.vocab";
constexpr const char* kSpmTrain = "spm_train";
constexpr int kMinSentencePieceVocab = 4;  // <blank>, <unk>, one unit, <sos/eos>

// Splits UTF-8 text into code points (a malformed byte is its own unit, so nothing is lost).
std::vector<std::string> CodePoints(std::string_view text) {
  std::vector<std::string> out;
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    size_t len = 1;
    if (c >= 0xF0) {
      len = 4;
    } else if (c >= 0xE0) {
      len = 3;
    } else if (c >= 0xC0) {
      len = 2;
    }
    len = std::min(len, text.size() - i);
    out.emplace_back(text.substr(i, len));
    i += len;
  }
  return out;
}

class CharTokenizer : public Tokenizer {
 public:
  // units: the real units in id order (ids kFirstUnit...).
  explicit CharTokenizer(std::vector<std::string> units) : units_(std::move(units)) {
    for (size_t i = 0; i < units_.size(); ++i) ids_[units_[i]] = static_cast<int>(i) + kFirstUnit;
  }

  std::vector<int> Encode(std::string_view text) const override {
    std::vector<int> ids;
    for (std::string& cp : CodePoints(NormalizeTranscript(text))) {
      if (cp == " ") cp = std::string(kWordBoundaryUnit);
      auto it = ids_.find(cp);
      ids.push_back(it == ids_.end() ? kUnk : it->second);
    }
    return ids;
  }

  std::string Decode(std::span<const int> ids) const override {
    std::string text;
    for (int id : ids) {
      if (id < kFirstUnit || id >= kFirstUnit + static_cast<int>(units_.size())) continue;
      const std::string& unit = units_[id - kFirstUnit];
      text += unit == kWordBoundaryUnit ? std::string(" ") : unit;
    }
    return NormalizeTranscript(text);
  }

  int vocab_size() const override { return static_cast<int>(units_.size()) + kFirstUnit + 1; }
  std::string kind() const override { return "char"; }

  Status Save(const std::string& dir) const override {
    const std::string path = (std::filesystem::path(dir) / kUnitsFileName).string();
    std::ostringstream out;
    out << kBlankSymbol << " " << kBlank << "\n" << kUnkSymbol << " " << kUnk << "\n";
    for (size_t i = 0; i < units_.size(); ++i) out << units_[i] << " " << i + kFirstUnit << "\n";
    out << kSosEosSymbol << " " << vocab_size() - 1 << "\n";
    std::ofstream file(path, std::ios::trunc);
    file << out.str();
    file.close();
    if (!file) return IoError("cannot write " + path);
    return Status::Ok();
  }

 private:
  std::vector<std::string> units_;
  std::map<std::string, int> ids_;
};

// A SentencePiece unigram vocabulary (sentencepiece.vocab: one "piece<TAB>log-probability" line per id) and our
// own Viterbi segmentation over it. libsentencepiece is not linked: Debian 12 builds it with its own copy of
// protobuf, whose exported symbols clash with the protobuf libtorch loads (a crash before main). Training runs
// Debian's spm_train; encoding is the unigram model's most likely segmentation, as SentencePiece computes it
// (an unknown character becomes <unk> at the lowest piece score minus 10, consecutive ones merged).
// Ids are laid out as ours by training with pad=<blank>=0 and unk=1; <sos/eos> is appended after the last piece.
class SentencePieceTokenizer : public Tokenizer {
 public:
  SentencePieceTokenizer(std::vector<std::string> pieces, std::vector<double> scores, std::string vocab_path)
      : pieces_(std::move(pieces)), scores_(std::move(scores)), vocab_path_(std::move(vocab_path)) {
    min_score_ = 0.0;
    for (size_t id = kFirstUnit; id < pieces_.size(); ++id) {
      ids_[pieces_[id]] = static_cast<int>(id);
      max_piece_bytes_ = std::max(max_piece_bytes_, pieces_[id].size());
      min_score_ = std::min(min_score_, scores_[id]);
    }
  }

  std::vector<int> Encode(std::string_view text) const override {
    // SentencePiece's whitespace escaping with its dummy prefix: "a b" -> "▁a▁b".
    std::string escaped;
    const std::string normalized = NormalizeTranscript(text);
    if (normalized.empty()) return {};
    escaped += kWordBoundaryUnit;
    for (char c : normalized) {
      if (c == ' ') {
        escaped += kWordBoundaryUnit;
      } else {
        escaped += c;
      }
    }
    // Viterbi over code-point boundaries: best[i] is the best score of a segmentation of escaped[0, i).
    std::vector<size_t> bounds;  // byte offsets of code-point starts, then the end
    for (size_t i = 0; i < escaped.size();) {
      bounds.push_back(i);
      i += std::min(CodePointBytes(static_cast<unsigned char>(escaped[i])), escaped.size() - i);
    }
    bounds.push_back(escaped.size());
    const double unk_score = min_score_ - kUnkPenalty;
    const double kNone = -std::numeric_limits<double>::infinity();
    std::vector<double> best(bounds.size(), kNone);
    std::vector<size_t> from(bounds.size(), 0);
    std::vector<int> piece(bounds.size(), kUnk);
    best[0] = 0.0;
    for (size_t b = 0; b + 1 < bounds.size(); ++b) {
      if (best[b] == kNone) continue;
      bool matched_one = false;
      for (size_t e = b + 1; e < bounds.size() && bounds[e] - bounds[b] <= max_piece_bytes_; ++e) {
        auto it = ids_.find(std::string_view(escaped).substr(bounds[b], bounds[e] - bounds[b]));
        if (it == ids_.end()) continue;
        if (e == b + 1) matched_one = true;
        const double score = best[b] + scores_[it->second];
        if (score > best[e]) {
          best[e] = score;
          from[e] = b;
          piece[e] = it->second;
        }
      }
      if (!matched_one && best[b] + unk_score > best[b + 1]) {
        best[b + 1] = best[b] + unk_score;
        from[b + 1] = b;
        piece[b + 1] = kUnk;
      }
    }
    std::vector<int> ids;
    for (size_t e = bounds.size() - 1; e > 0; e = from[e]) ids.push_back(piece[e]);
    std::reverse(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end(), [](int a, int b) { return a == kUnk && b == kUnk; }), ids.end());
    return ids;
  }

  std::string Decode(std::span<const int> ids) const override {
    std::string text;
    for (int id : ids) {
      if (id < kFirstUnit || id >= static_cast<int>(pieces_.size())) continue;
      text += pieces_[id];
    }
    std::string spaced;
    for (size_t i = 0; i < text.size();) {
      if (text.compare(i, kWordBoundaryUnit.size(), kWordBoundaryUnit) == 0) {
        spaced += ' ';
        i += kWordBoundaryUnit.size();
      } else {
        spaced += text[i++];
      }
    }
    return NormalizeTranscript(spaced);
  }

  int vocab_size() const override { return static_cast<int>(pieces_.size()) + 1; }
  std::string kind() const override { return "sentencepiece"; }

  Status Save(const std::string& dir) const override {
    const std::filesystem::path target = std::filesystem::path(dir) / kSentencePieceVocabFile;
    std::error_code ec;
    if (!std::filesystem::exists(target) || !std::filesystem::equivalent(target, vocab_path_, ec)) {
      std::filesystem::copy_file(vocab_path_, target, std::filesystem::copy_options::overwrite_existing, ec);
      if (ec) return IoError("cannot write " + target.string() + ": " + ec.message());
      const std::filesystem::path model = std::filesystem::path(vocab_path_).replace_extension(".model");
      if (std::filesystem::exists(model)) {
        std::filesystem::copy_file(model, std::filesystem::path(dir) / kSentencePieceModelFile,
                                   std::filesystem::copy_options::overwrite_existing, ec);
        if (ec) return IoError("cannot write " + (std::filesystem::path(dir) / kSentencePieceModelFile).string());
      }
    }
    const std::string path = (std::filesystem::path(dir) / kUnitsFileName).string();
    std::ofstream file(path, std::ios::trunc);
    for (size_t i = 0; i < pieces_.size(); ++i) file << pieces_[i] << " " << i << "\n";
    file << kSosEosSymbol << " " << pieces_.size() << "\n";
    file.close();
    if (!file) return IoError("cannot write " + path);
    return Status::Ok();
  }

 private:
  static constexpr double kUnkPenalty = 10.0;  // SentencePiece's unknown-piece penalty below the lowest score

  static size_t CodePointBytes(unsigned char c) { return c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1; }

  std::vector<std::string> pieces_;  // by id; <blank> and <unk> included
  std::vector<double> scores_;
  std::map<std::string, int, std::less<>> ids_;  // real pieces only
  size_t max_piece_bytes_ = 1;
  double min_score_ = 0.0;
  std::string vocab_path_;
};

// Reads sentencepiece.vocab ("piece<TAB>score" per id).
Result<std::unique_ptr<Tokenizer>> LoadSentencePieceVocab(const std::string& path) {
  std::ifstream file(path);
  if (!file) return NotFound("cannot read " + path);
  std::vector<std::string> pieces;
  std::vector<double> scores;
  std::string line;
  while (std::getline(file, line)) {
    const size_t tab = line.rfind('\t');
    if (tab == std::string::npos || tab == 0) {
      return InvalidArgument(path + ":" + std::to_string(pieces.size() + 1) + ": expected 'piece<TAB>score'");
    }
    char* end = nullptr;
    const std::string score_text = line.substr(tab + 1);
    const double score = std::strtod(score_text.c_str(), &end);
    if (end == score_text.c_str()) {
      return InvalidArgument(path + ":" + std::to_string(pieces.size() + 1) + ": bad score '" + score_text + "'");
    }
    pieces.push_back(line.substr(0, tab));
    scores.push_back(score);
  }
  if (pieces.size() <= kFirstUnit || pieces[kBlank] != kBlankSymbol || pieces[kUnk] != kUnkSymbol) {
    return InvalidArgument(path +
                           ": SentencePiece vocabulary must have <blank> at id 0, <unk> at id 1 and units after");
  }
  return std::unique_ptr<Tokenizer>(
      std::make_unique<SentencePieceTokenizer>(std::move(pieces), std::move(scores), path));
}

}  // namespace

std::string NormalizeTranscript(std::string_view text) {
  std::string out;
  bool pending_space = false;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return out;
}

Result<std::unique_ptr<Tokenizer>> BuildCharTokenizer(std::span<const std::string> transcripts) {
  std::set<std::string> seen;
  for (const std::string& t : transcripts) {
    for (std::string& cp : CodePoints(NormalizeTranscript(t))) {
      seen.insert(cp == " " ? std::string(kWordBoundaryUnit) : cp);
    }
  }
  if (seen.empty()) return InvalidArgument("tokens: the training transcripts hold no characters");
  // Code-point order == byte order of UTF-8 strings, so the set's order is already the documented one.
  return std::unique_ptr<Tokenizer>(
      std::make_unique<CharTokenizer>(std::vector<std::string>(seen.begin(), seen.end())));
}

Result<std::unique_ptr<Tokenizer>> TrainSentencePieceTokenizer(std::span<const std::string> transcripts, int vocab_size,
                                                               const std::string& dir) {
  if (vocab_size < kMinSentencePieceVocab) {
    return InvalidArgument("sp_vocab_size (" + std::to_string(vocab_size) + ") must be at least " +
                           std::to_string(kMinSentencePieceVocab));
  }
  const std::filesystem::path text_path = std::filesystem::path(dir) / "sentencepiece_train.txt";
  {
    std::ofstream text(text_path, std::ios::trunc);
    for (const std::string& t : transcripts) text << NormalizeTranscript(t) << "\n";
    if (!text) return IoError("cannot write " + text_path.string());
  }
  const std::string prefix = (std::filesystem::path(dir) / "sentencepiece").string();
  Result<std::string> spm_train = ResolveExecutable(kSpmTrain);
  if (!spm_train.ok()) {
    return NotFound(
        "tokens: sentencepiece needs Debian's spm_train (package sentencepiece, installed by "
        "scripts/install-deps): " +
        spm_train.status().message());
  }
  // vocab_size - 1: SentencePiece's pieces hold <blank> (as pad) and <unk>; <sos/eos> is ours, after them.
  SpawnOptions spawn;
  spawn.executable = *spm_train;
  spawn.argv = {kSpmTrain,
                "--input=" + text_path.string(),
                "--model_prefix=" + prefix,
                "--vocab_size=" + std::to_string(vocab_size - 1),
                "--model_type=unigram",
                "--character_coverage=1.0",
                "--hard_vocab_limit=false",
                "--normalization_rule_name=identity",
                "--pad_id=0",
                "--pad_piece=" + std::string(kBlankSymbol),
                "--unk_id=1",
                "--bos_id=-1",
                "--eos_id=-1",
                "--minloglevel=2",
                "--num_threads=1"};
  for (char** e = environ; *e != nullptr; ++e) spawn.env.emplace_back(*e);
  Result<std::unique_ptr<Subprocess>> child = Subprocess::Spawn(spawn);
  if (!child.ok()) return child.status();
  std::string errors;
  while (!(*child)->ReadOutput(std::chrono::milliseconds(1000), [&](OutputStream, std::string_view line) {
    if (errors.size() < 4000) errors.append(line).append("\n");
  })) {
  }
  const ExitInfo exit = (*child)->Wait();
  if (!exit.success()) {
    return InvalidArgument("tokens: SentencePiece training (spm_train) " + exit.Describe() + ": " + errors);
  }
  return LoadSentencePieceVocab(prefix + ".vocab");
}

Result<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& dir) {
  const std::filesystem::path sp = std::filesystem::path(dir) / kSentencePieceVocabFile;
  if (std::filesystem::exists(sp)) return LoadSentencePieceVocab(sp.string());
  const std::string path = (std::filesystem::path(dir) / kUnitsFileName).string();
  std::ifstream file(path);
  if (!file) return NotFound("no tokenizer in " + dir + " (" + std::string(kUnitsFileName) + ")");
  std::vector<std::string> units;
  std::string line;
  int line_no = 0;
  int expected = 0;
  while (std::getline(file, line)) {
    ++line_no;
    if (line.empty()) continue;
    const size_t space = line.rfind(' ');
    if (space == std::string::npos || space == 0) {
      return InvalidArgument(path + ":" + std::to_string(line_no) + ": expected '<unit> <id>'");
    }
    const std::string unit = line.substr(0, space);
    int id = -1;
    try {
      id = std::stoi(line.substr(space + 1));
    } catch (const std::exception&) {
      return InvalidArgument(path + ":" + std::to_string(line_no) + ": bad id");
    }
    if (id != expected++) {
      return InvalidArgument(path + ":" + std::to_string(line_no) + ": id " + std::to_string(id) + ", expected " +
                             std::to_string(expected - 1));
    }
    if (id >= kFirstUnit && unit != kSosEosSymbol) units.push_back(unit);
  }
  if (units.empty()) return InvalidArgument(path + ": no units");
  return std::unique_ptr<Tokenizer>(std::make_unique<CharTokenizer>(std::move(units)));
}

}  // namespace dial::speech
