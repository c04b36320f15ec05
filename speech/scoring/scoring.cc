// WER/CER scoring with sclite-identical alignment, transcript readers and report formatting.
#include "speech/scoring/scoring.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <unordered_map>

#include "speech/data/text_file.h"

namespace dial::speech {
namespace {

// sclite's default word-alignment weights (sctk `align.c`): a substitution costs less than a deletion plus an
// insertion, so two mismatched words align as one substitution.
constexpr int32_t kCorrectCost = 0;
constexpr int32_t kSubstitutionCost = 4;
constexpr int32_t kInsertionCost = 3;
constexpr int32_t kDeletionCost = 3;
constexpr const char* kSpaceToken = "<space>";

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f'; }

std::vector<std::string_view> SplitWhitespace(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    size_t j = i;
    while (j < s.size() && !IsSpace(s[j])) ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

bool IsTag(std::string_view w) {
  if (w.size() < 2) return false;
  return (w.front() == '<' && w.back() == '>') || (w.front() == '[' && w.back() == ']');
}

// Splits a UTF-8 string into code points (a malformed lead byte counts as one unit on its own).
void AppendCodePoints(std::string_view w, std::vector<std::string>* out) {
  size_t i = 0;
  while (i < w.size()) {
    unsigned char c = static_cast<unsigned char>(w[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 1;
    len = std::min(len, w.size() - i);
    out->emplace_back(w.substr(i, len));
    i += len;
  }
}

bool IsBlank(std::string_view line) {
  return std::all_of(line.begin(), line.end(), [](char c) { return IsSpace(c); });
}

std::string_view TrimRight(std::string_view s) {
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// The lines of a transcript or utt2spk file. A leading UTF-8 byte order mark (Windows editors write one) is dropped,
// so that it does not become part of the first utterance id; a line ends at "\n", "\r\n" or a lone "\r" (files
// saved with classic Mac line endings would otherwise be one long utterance).
std::vector<std::string_view> TranscriptLines(std::string_view content) {
  constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
  if (content.substr(0, kByteOrderMark.size()) == kByteOrderMark) content.remove_prefix(kByteOrderMark.size());
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (true) {
    const size_t end = content.find_first_of("\r\n", start);
    if (end == std::string_view::npos) {
      lines.push_back(content.substr(start));
      return lines;
    }
    lines.push_back(content.substr(start, end - start));
    start = end + (content.compare(end, 2, "\r\n") == 0 ? 2 : 1);
  }
}

std::string Where(std::string_view source, size_t line_index) {
  return std::string(source) + ":" + std::to_string(line_index + 1);
}

}  // namespace

std::vector<std::string> NormalizeWords(std::string_view text, const NormalizeOptions& options) {
  std::vector<std::string> out;
  for (std::string_view w : SplitWhitespace(text)) {
    if (options.drop_tags && IsTag(w)) continue;
    std::string word(w);
    if (options.lowercase) {
      for (char& c : word) {
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      }
    }
    out.push_back(std::move(word));
  }
  return out;
}

double EditCounts::ErrorRatePercent() const {
  if (n_ref == 0) return errors() == 0 ? 0.0 : std::numeric_limits<double>::infinity();
  return 100.0 * static_cast<double>(errors()) / static_cast<double>(n_ref);
}

EditCounts& EditCounts::operator+=(const EditCounts& o) {
  n_ref += o.n_ref;
  correct += o.correct;
  substitutions += o.substitutions;
  deletions += o.deletions;
  insertions += o.insertions;
  return *this;
}

namespace {

// The backtrace step of one cell of the cost matrix, in sclite's order of preference.
enum : uint8_t { kStepDiagonal = 0, kStepInsertion = 1, kStepDeletion = 2 };

// Row i of the cost matrix from row i - 1 (`prev`): row[j] is the cheapest alignment of ref[0, i) with hyp[0, j).
// With `steps`, each cell's backtrace step too: the diagonal when it lies on a cheapest path, else the insertion,
// else the deletion (the order Align's contract states).
template <bool kWithSteps>
void NextCostRow(int32_t ref_token, std::span<const int32_t> hyp, int32_t i, const int32_t* prev, int32_t* row,
                 uint8_t* steps) {
  row[0] = i * kDeletionCost;
  if constexpr (kWithSteps) steps[0] = kStepDeletion;
  for (size_t j = 1; j <= hyp.size(); ++j) {
    const int32_t diag = prev[j - 1] + (ref_token == hyp[j - 1] ? kCorrectCost : kSubstitutionCost);
    const int32_t del = prev[j] + kDeletionCost;
    const int32_t ins = row[j - 1] + kInsertionCost;
    const int32_t best = std::min(diag, std::min(del, ins));
    row[j] = best;
    if constexpr (kWithSteps) steps[j] = diag == best ? kStepDiagonal : ins == best ? kStepInsertion : kStepDeletion;
  }
}

}  // namespace

EditCounts Align(std::span<const std::string> ref, std::span<const std::string> hyp) {
  // Tokens become integers so that the O(n·m) inner loop compares ints, not strings.
  std::unordered_map<std::string_view, int32_t> ids;
  auto id_of = [&ids](std::string_view w) { return ids.emplace(w, static_cast<int32_t>(ids.size())).first->second; };
  std::vector<int32_t> r(ref.size()), h(hyp.size());
  for (size_t i = 0; i < ref.size(); ++i) r[i] = id_of(ref[i]);
  for (size_t j = 0; j < hyp.size(); ++j) h[j] = id_of(hyp[j]);
  const size_t n = r.size(), w = h.size() + 1;

  // The full (n+1)×(m+1) matrix would take 3.6 GB for 30,000 words against 30,000. Instead the forward pass keeps
  // a checkpoint row every `block` rows, and the backtrace recomputes one block of rows at a time, with each cell's
  // step, from the checkpoint above it: the same cells, so the same path and counts, in O(m·√n) memory and about
  // twice the time. With block ≈ 2√n the checkpoints and one block of steps take about as much memory each.
  const size_t block = std::max<size_t>(1, static_cast<size_t>(std::ceil(2.0 * std::sqrt(static_cast<double>(n)))));
  std::vector<int32_t> checkpoints((n / block + 1) * w);
  std::vector<int32_t> prev(w), row(w);
  for (size_t j = 0; j < w; ++j) checkpoints[j] = static_cast<int32_t>(j) * kInsertionCost;
  std::copy(checkpoints.begin(), checkpoints.begin() + static_cast<ptrdiff_t>(w), prev.begin());
  for (size_t i = 1; i <= n; ++i) {
    NextCostRow<false>(r[i - 1], h, static_cast<int32_t>(i), prev.data(), row.data(), nullptr);
    if (i % block == 0) std::copy(row.begin(), row.end(), checkpoints.begin() + static_cast<ptrdiff_t>(i / block * w));
    std::swap(prev, row);
  }

  // Backtrace from (n, m) with sclite's preference: diagonal, then insertion, then deletion.
  EditCounts c;
  c.n_ref = static_cast<int64_t>(n);
  std::vector<uint8_t> steps(block * w);  // steps[(k - 1) * w + j]: cell (top + k, j) of the current block
  size_t i = n, j = h.size();
  while (i > 0) {
    const size_t top = (i - 1) / block * block;  // the checkpoint row above row i
    std::copy(checkpoints.begin() + static_cast<ptrdiff_t>(top / block * w),
              checkpoints.begin() + static_cast<ptrdiff_t>(top / block * w + w), prev.begin());
    for (size_t k = top + 1; k <= i; ++k) {
      NextCostRow<true>(r[k - 1], h, static_cast<int32_t>(k), prev.data(), row.data(), &steps[(k - top - 1) * w]);
      std::swap(prev, row);
    }
    while (i > top) {
      const uint8_t step = steps[(i - top - 1) * w + j];
      if (step == kStepDiagonal) {
        (r[i - 1] == h[j - 1] ? c.correct : c.substitutions)++;
        --i;
        --j;
      } else if (step == kStepInsertion) {
        c.insertions++;
        --j;
      } else {
        c.deletions++;
        --i;
      }
    }
  }
  c.insertions += static_cast<int64_t>(j);  // row 0: only insertions are left
  return c;
}

Result<std::vector<Utterance>> ParseKaldiText(std::string_view content, std::string_view source) {
  std::vector<Utterance> out;
  std::set<std::string> seen;
  std::vector<std::string_view> lines = TranscriptLines(content);
  for (size_t k = 0; k < lines.size(); ++k) {
    if (IsBlank(lines[k])) continue;
    std::vector<std::string_view> tok = SplitWhitespace(lines[k]);
    Utterance u;
    u.id = std::string(tok[0]);
    for (size_t t = 1; t < tok.size(); ++t) u.words.emplace_back(tok[t]);
    if (!seen.insert(u.id).second) {
      return InvalidArgument(Where(source, k) + ": utterance id '" + u.id + "' appears twice");
    }
    out.push_back(std::move(u));
  }
  return out;
}

Result<std::vector<Utterance>> ParseTrn(std::string_view content, std::string_view source) {
  std::vector<Utterance> out;
  std::set<std::string> seen;
  std::vector<std::string_view> lines = TranscriptLines(content);
  for (size_t k = 0; k < lines.size(); ++k) {
    if (IsBlank(lines[k])) continue;
    std::string_view line = TrimRight(lines[k]);
    size_t open = line.rfind('(');
    if (line.back() != ')' || open == std::string_view::npos) {
      return InvalidArgument(Where(source, k) + ": a trn line must end with '(utterance-id)'");
    }
    Utterance u;
    u.id = std::string(line.substr(open + 1, line.size() - open - 2));
    if (u.id.empty()) return InvalidArgument(Where(source, k) + ": empty utterance id '()'");
    for (std::string_view t : SplitWhitespace(line.substr(0, open))) u.words.emplace_back(t);
    if (!seen.insert(u.id).second) {
      return InvalidArgument(Where(source, k) + ": utterance id '" + u.id + "' appears twice");
    }
    out.push_back(std::move(u));
  }
  return out;
}

Result<std::map<std::string, std::string>> ParseUtt2Spk(std::string_view content, std::string_view source) {
  std::map<std::string, std::string> out;
  std::vector<std::string_view> lines = TranscriptLines(content);
  for (size_t k = 0; k < lines.size(); ++k) {
    if (IsBlank(lines[k])) continue;
    std::vector<std::string_view> tok = SplitWhitespace(lines[k]);
    if (tok.size() != 2) {
      return InvalidArgument(Where(source, k) + ": expected '<utt-id> <speaker-id>', got " +
                             std::to_string(tok.size()) + " fields");
    }
    if (!out.emplace(std::string(tok[0]), std::string(tok[1])).second) {
      return InvalidArgument(Where(source, k) + ": utterance id '" + std::string(tok[0]) + "' appears twice");
    }
  }
  return out;
}

Result<std::vector<Utterance>> ReadKaldiText(const std::string& path) {
  DIAL_ASSIGN_OR_RETURN(std::string content, ReadTextFile(path));
  return ParseKaldiText(content, path);
}

Result<std::vector<Utterance>> ReadTrn(const std::string& path) {
  DIAL_ASSIGN_OR_RETURN(std::string content, ReadTextFile(path));
  return ParseTrn(content, path);
}

Result<std::map<std::string, std::string>> ReadUtt2Spk(const std::string& path) {
  DIAL_ASSIGN_OR_RETURN(std::string content, ReadTextFile(path));
  return ParseUtt2Spk(content, path);
}

Result<std::vector<Utterance>> ReadTranscripts(const std::string& path) {
  DIAL_ASSIGN_OR_RETURN(std::string content, ReadTextFile(path));
  bool any = false, all_trn = true;
  for (std::string_view line : TranscriptLines(content)) {
    if (IsBlank(line)) continue;
    any = true;
    std::string_view t = TrimRight(line);
    if (t.back() != ')' || t.find('(') == std::string_view::npos) {
      all_trn = false;
      break;
    }
  }
  if (any && all_trn) return ParseTrn(content, path);
  return ParseKaldiText(content, path);
}

std::string ScliteSpeakerOf(std::string_view utt_id) {
  size_t p = utt_id.find('-');
  if (p == std::string_view::npos) p = utt_id.find('_');
  return std::string(utt_id.substr(0, p));
}

namespace {

std::vector<std::string> Tokens(const std::vector<std::string>& raw_words, const ScoreOptions& options) {
  std::string joined;
  for (const std::string& w : raw_words) {
    joined += w;
    joined += ' ';
  }
  std::vector<std::string> words = NormalizeWords(joined, options.normalize);
  if (options.unit == ScoreUnit::kWord) return words;
  std::vector<std::string> chars;
  for (size_t k = 0; k < words.size(); ++k) {
    if (k > 0 && options.keep_spaces) chars.emplace_back(kSpaceToken);
    AppendCodePoints(words[k], &chars);
  }
  return chars;
}

}  // namespace

Result<ScoreReport> Score(std::span<const Utterance> references, std::span<const Utterance> hypotheses,
                          const std::map<std::string, std::string>& utt2group, const ScoreOptions& options) {
  DIAL_RETURN_IF_ERROR(options.Validate());
  std::unordered_map<std::string, const Utterance*> hyp_by_id;
  for (const Utterance& h : hypotheses) {
    if (!hyp_by_id.emplace(h.id, &h).second) {
      return InvalidArgument("hypothesis utterance id '" + h.id + "' appears twice");
    }
  }
  std::set<std::string> ref_ids;
  for (const Utterance& r : references) {
    if (!ref_ids.insert(r.id).second) return InvalidArgument("reference utterance id '" + r.id + "' appears twice");
  }
  for (const Utterance& h : hypotheses) {
    if (!ref_ids.count(h.id)) return InvalidArgument("hypothesis utterance '" + h.id + "' has no reference");
  }

  ScoreReport report;
  std::map<std::string, GroupScore> groups;
  static const std::vector<std::string> kNoWords;
  for (const Utterance& r : references) {
    auto it = hyp_by_id.find(r.id);
    const std::vector<std::string>* hyp_words = &kNoWords;
    if (it == hyp_by_id.end()) {
      if (options.missing_hypothesis == MissingHypothesis::kError) {
        return InvalidArgument("reference utterance '" + r.id + "' has no hypothesis");
      }
      report.n_missing_hypotheses++;
    } else {
      hyp_words = &it->second->words;
    }
    std::string group;
    if (!utt2group.empty()) {
      auto g = utt2group.find(r.id);
      if (g == utt2group.end()) return InvalidArgument("utterance '" + r.id + "' is missing from utt2spk");
      group = g->second;
    } else {
      group = ScliteSpeakerOf(r.id);
    }
    std::vector<std::string> rt = Tokens(r.words, options), ht = Tokens(*hyp_words, options);
    UtteranceScore us{r.id, group, Align(rt, ht)};
    const bool has_error = us.counts.errors() > 0;
    report.total += us.counts;
    report.n_utterances++;
    report.n_utterances_with_error += has_error;
    GroupScore& gs = groups[group];
    gs.group = group;
    gs.n_utterances++;
    gs.n_utterances_with_error += has_error;
    gs.counts += us.counts;
    report.utterances.push_back(std::move(us));
  }
  for (auto& [name, gs] : groups) report.groups.push_back(std::move(gs));
  for (size_t k = 0; k < report.groups.size(); ++k) {
    if (report.worst_group < 0) {
      report.worst_group = static_cast<int>(k);
      continue;
    }
    const EditCounts& a = report.groups[k].counts;
    const EditCounts& b = report.groups[report.worst_group].counts;
    // Groups are visited in name order, so a strict comparison keeps the first name on a full tie.
    if (a.ErrorRatePercent() > b.ErrorRatePercent() ||
        (a.ErrorRatePercent() == b.ErrorRatePercent() && a.n_ref > b.n_ref)) {
      report.worst_group = static_cast<int>(k);
    }
  }
  return report;
}

std::string FormatKaldiLine(const EditCounts& c, std::string_view label) {
  char buf[256];
  std::snprintf(buf, sizeof(buf), "%%%.*s %.2f [ %lld / %lld, %lld ins, %lld del, %lld sub ]",
                static_cast<int>(label.size()), label.data(), c.ErrorRatePercent(), static_cast<long long>(c.errors()),
                static_cast<long long>(c.n_ref), static_cast<long long>(c.insertions),
                static_cast<long long>(c.deletions), static_cast<long long>(c.substitutions));
  return buf;
}

std::string FormatGroupTable(const ScoreReport& report, std::string_view label) {
  std::string out;
  char buf[512];
  auto row = [&](std::string_view name, int64_t n_utts, const EditCounts& c) {
    std::snprintf(buf, sizeof(buf), "%-20.*s %7lld %9lld %9lld %8lld %8lld %8lld %8.2f\n",
                  static_cast<int>(std::min<size_t>(name.size(), 20)), name.data(), static_cast<long long>(n_utts),
                  static_cast<long long>(c.n_ref), static_cast<long long>(c.correct),
                  static_cast<long long>(c.substitutions), static_cast<long long>(c.deletions),
                  static_cast<long long>(c.insertions), c.ErrorRatePercent());
    out += buf;
  };
  std::snprintf(buf, sizeof(buf), "%-20s %7s %9s %9s %8s %8s %8s %7.*s%%\n", "group", "#utts", "#ref", "corr", "sub",
                "del", "ins", static_cast<int>(label.size()), label.data());
  out += buf;
  for (const GroupScore& g : report.groups) row(g.group, g.n_utterances, g.counts);
  row("TOTAL", report.n_utterances, report.total);
  if (report.worst_group >= 0) {
    const GroupScore& w = report.groups[report.worst_group];
    std::snprintf(buf, sizeof(buf), "worst group: %s (%%%.*s %.2f)\n", w.group.c_str(), static_cast<int>(label.size()),
                  label.data(), w.counts.ErrorRatePercent());
    out += buf;
  }
  return out;
}

}  // namespace dial::speech
