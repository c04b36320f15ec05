// CTC decoding (greedy, prefix beam search) and attention rescoring, following WeNet's algorithms.
#include "speech/asr/search.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <map>
#include <utility>

namespace dial::speech {
namespace {

constexpr double kLogZero = -std::numeric_limits<double>::infinity();

// log(e^a + e^b), exact at −∞.
double LogAdd(double a, double b) {
  if (a == kLogZero) return b;
  if (b == kLogZero) return a;
  const double hi = std::max(a, b);
  return hi + std::log1p(std::exp(std::min(a, b) - hi));
}

// Prefix probabilities split by how the prefix's alignments end: in a blank (pb) or in its last token (pnb).
struct PrefixScore {
  double blank = kLogZero;
  double non_blank = kLogZero;
  double total() const { return LogAdd(blank, non_blank); }
};

}  // namespace

std::vector<std::vector<int>> CtcGreedySearch(const torch::Tensor& log_probs, const torch::Tensor& lens) {
  torch::NoGradGuard no_grad;
  auto best = log_probs.argmax(-1).to(torch::kCPU).to(torch::kLong).contiguous();  // [B, T]
  auto lens_cpu = lens.to(torch::kCPU).to(torch::kLong).contiguous();
  const auto batch = best.size(0), frames = best.size(1);
  std::vector<std::vector<int>> out(batch);
  auto ids = best.accessor<int64_t, 2>();
  auto n = lens_cpu.accessor<int64_t, 1>();
  for (int64_t b = 0; b < batch; ++b) {
    int64_t previous = -1;
    const int64_t valid = std::min(n[b], frames);
    for (int64_t t = 0; t < valid; ++t) {
      const int64_t id = ids[b][t];
      // Collapse repeats first, then drop blanks: "a a <b> a" → "a a".
      if (id != previous && id != kBlankId) out[b].push_back(static_cast<int>(id));
      previous = id;
    }
  }
  return out;
}

// For each frame and each of its `beam` most likely tokens s (prob p_s), every kept prefix ℓ (ending in
// token last) is extended:
//   s = blank:      pb(ℓ)    += (pb(ℓ) + pnb(ℓ))·p_s
//   s = last:       pnb(ℓ)   += pnb(ℓ)·p_s        (repeat collapses)
//                   pnb(ℓs)  += pb(ℓ)·p_s         (a blank separated the repeat)
//   otherwise:      pnb(ℓs)  += (pb(ℓ) + pnb(ℓ))·p_s
// then the `beam` prefixes of highest pb + pnb survive. All in log space.
std::vector<Hypothesis> CtcPrefixBeamSearch(const torch::Tensor& log_probs, int beam) {
  assert(beam >= 1);
  torch::NoGradGuard no_grad;
  auto lp = log_probs.to(torch::kCPU).to(torch::kDouble).contiguous();
  const auto frames = lp.size(0);
  const auto vocab = lp.size(1);
  const int top = static_cast<int>(std::min<int64_t>(beam, vocab));
  auto [top_values, top_ids] = lp.topk(top, -1);
  auto values = top_values.accessor<double, 2>();
  auto ids = top_ids.accessor<int64_t, 2>();

  std::vector<std::pair<std::vector<int>, PrefixScore>> hyps = {{{}, PrefixScore{0.0, kLogZero}}};
  for (int64_t t = 0; t < frames; ++t) {
    std::map<std::vector<int>, PrefixScore> next;
    for (int k = 0; k < top; ++k) {
      const int s = static_cast<int>(ids[t][k]);
      const double ps = values[t][k];
      for (const auto& [prefix, score] : hyps) {
        if (s == kBlankId) {
          auto& n = next[prefix];
          n.blank = LogAdd(n.blank, score.total() + ps);
          continue;
        }
        std::vector<int> extended = prefix;
        extended.push_back(s);
        if (!prefix.empty() && prefix.back() == s) {
          auto& same = next[prefix];
          same.non_blank = LogAdd(same.non_blank, score.non_blank + ps);
          auto& n = next[extended];
          n.non_blank = LogAdd(n.non_blank, score.blank + ps);
        } else {
          auto& n = next[extended];
          n.non_blank = LogAdd(n.non_blank, score.total() + ps);
        }
      }
    }
    hyps.assign(next.begin(), next.end());
    std::stable_sort(hyps.begin(), hyps.end(),
                     [](const auto& a, const auto& b) { return a.second.total() > b.second.total(); });
    if (hyps.size() > static_cast<size_t>(beam)) hyps.resize(beam);
  }
  std::vector<Hypothesis> out;
  out.reserve(hyps.size());
  for (auto& [prefix, score] : hyps) out.push_back({prefix, score.total()});
  return out;
}

std::vector<Hypothesis> AttentionRescoring(AsrModel& model, const EncoderOutput& enc,
                                           const std::vector<Hypothesis>& nbest, double ctc_weight) {
  assert(model->has_attention_decoder());
  assert(enc.out.size(0) == 1);
  if (nbest.empty()) return {};
  torch::NoGradGuard no_grad;
  const int64_t n = static_cast<int64_t>(nbest.size());
  const int64_t sos_eos = SosEosId(model->options().vocab_size);
  size_t longest = 0;
  for (const auto& h : nbest) longest = std::max(longest, h.tokens.size());
  // All hypotheses in one batch: ys_in = <sos> y, padded with <eos> (masked out by ys_lens).
  auto ys_in = torch::full({n, static_cast<int64_t>(longest) + 1}, sos_eos, torch::kLong);
  auto ys_lens = torch::empty({n}, torch::kLong);
  for (int64_t i = 0; i < n; ++i) {
    const auto& tokens = nbest[i].tokens;
    for (size_t j = 0; j < tokens.size(); ++j) ys_in[i][static_cast<int64_t>(j) + 1] = tokens[j];
    ys_lens[i] = static_cast<int64_t>(tokens.size()) + 1;
  }
  EncoderOutput repeated{enc.out.expand({n, enc.out.size(1), enc.out.size(2)}), enc.lens.expand({n})};
  auto logp =
      torch::log_softmax(model->DecoderLogits(repeated, ys_in.to(enc.out.device()), ys_lens.to(enc.out.device())), -1)
          .to(torch::kCPU)
          .to(torch::kDouble)
          .contiguous();
  auto lp = logp.accessor<double, 3>();
  // WeNet's attention_rescoring: score = log P_att(y <eos> | x) + ctc_weight · log P_ctc(y | x).
  std::vector<Hypothesis> out;
  out.reserve(nbest.size());
  for (int64_t i = 0; i < n; ++i) {
    const auto& tokens = nbest[i].tokens;
    double attention = 0.0;
    for (size_t j = 0; j < tokens.size(); ++j) attention += lp[i][static_cast<int64_t>(j)][tokens[j]];
    attention += lp[i][static_cast<int64_t>(tokens.size())][sos_eos];
    out.push_back({tokens, attention + ctc_weight * nbest[i].score});
  }
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.score > b.score; });
  return out;
}

}  // namespace dial::speech
