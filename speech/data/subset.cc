// Nested, speaker-stratified subsets ("the first N hours") for low-fidelity trials.
//
// One seeded order of the whole corpus is built, and the subset for N hours is the longest prefix of that order
// whose duration does not exceed N hours. Because every N cuts the same order, a smaller subset is always a
// prefix of (so contained in) a larger one. The order is a round robin over speakers, so that the first
// n_speakers utterances cover every speaker once, the next n_speakers cover every speaker with two utterances
// left, and so on.
#include <algorithm>
#include <cmath>
#include <map>

#include "speech/data/corpus.h"
#include "util/random.h"

namespace dial::speech {
namespace {

constexpr double kSecondsPerHour = 3600.0;
// Mixed into the seed for the per-speaker shuffles, so that they are independent of the speaker order's stream.
constexpr uint64_t kUtteranceStreamSalt = 0x5EEDF00DCAFEULL;

// Fisher–Yates shuffle with portable draws (std::shuffle's result depends on the standard library).
template <typename T>
void Shuffle(std::vector<T>& v, internal::SplitMix64& rng) {
  for (size_t i = v.size(); i > 1; --i) {
    const size_t j = internal::UniformIndex(rng, i);
    std::swap(v[i - 1], v[j]);
  }
}

}  // namespace

Result<Corpus> SelectHours(const Corpus& corpus, double hours, uint64_t seed) {
  if (!std::isfinite(hours) || hours <= 0) {
    return InvalidArgument(corpus.source + ": subset hours must be > 0, got " + std::to_string(hours));
  }
  for (const CorpusEntry& e : corpus.entries) {
    if (e.duration_seconds < 0) {
      return FailedPrecondition(corpus.source + ": utterance '" + e.id +
                                "' has no known duration (call FillDurations first)");
    }
  }
  // Speakers and their utterances in id order first, so the result does not depend on the input order.
  std::map<std::string, std::vector<size_t>> by_speaker;
  for (size_t i = 0; i < corpus.entries.size(); ++i) by_speaker[corpus.entries[i].speaker].push_back(i);
  std::vector<std::vector<size_t>> speakers;
  speakers.reserve(by_speaker.size());
  for (auto& [name, idx] : by_speaker) {
    std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return corpus.entries[a].id < corpus.entries[b].id; });
    speakers.push_back(std::move(idx));
  }
  internal::SplitMix64 speaker_rng(seed);
  Shuffle(speakers, speaker_rng);
  internal::SplitMix64 utterance_rng(seed ^ kUtteranceStreamSalt);
  for (auto& utts : speakers) Shuffle(utts, utterance_rng);

  // Round robin: round r takes the r-th utterance of every speaker that still has one.
  const double budget = hours * kSecondsPerHour;
  double total = 0;
  Corpus out;
  out.source = corpus.source;
  out.format = corpus.format;
  bool full = false;
  for (size_t round = 0; !full; ++round) {
    bool any = false;
    for (const auto& utts : speakers) {
      if (round >= utts.size()) continue;
      any = true;
      const CorpusEntry& e = corpus.entries[utts[round]];
      if (total + e.duration_seconds > budget) {
        full = true;  // a prefix: stop at the first utterance that does not fit
        break;
      }
      total += e.duration_seconds;
      out.entries.push_back(e);
    }
    if (!any) break;
  }
  std::sort(out.entries.begin(), out.entries.end(),
            [](const CorpusEntry& a, const CorpusEntry& b) { return a.id < b.id; });
  return out;
}

}  // namespace dial::speech
