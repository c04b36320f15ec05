// Tests of CTC decoding: greedy collapsing, prefix beam search against greedy and against the exact CTC
// probability, attention rescoring against one-at-a-time decoder scores.
#include "speech/asr/search.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace dial::speech {
namespace {

class SearchTest : public ::testing::Test {
 protected:
  void SetUp() override { at::set_num_threads(1); }
};

// log_probs [T, V] whose argmax per frame is `path`, with probability `peak` on it.
torch::Tensor Peaked(const std::vector<int>& path, int vocab, double peak) {
  auto p = torch::full({static_cast<int64_t>(path.size()), vocab}, (1.0 - peak) / (vocab - 1), torch::kFloat);
  for (size_t t = 0; t < path.size(); ++t) p[static_cast<int64_t>(t)][path[t]] = peak;
  return p.log();
}

TEST_F(SearchTest, GreedyCollapsesRepeatsThenRemovesBlanks) {
  // a a <b> a b b <b> | beyond the length: c
  auto lp = Peaked({2, 2, 0, 2, 3, 3, 0, 4}, 5, 0.8).unsqueeze(0);
  auto second = Peaked({0, 0, 4, 4, 4, 0, 0, 0}, 5, 0.8).unsqueeze(0);
  auto out = CtcGreedySearch(torch::cat({lp, second}, 0), torch::tensor({7, 8}, torch::kLong));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0], (std::vector<int>{2, 2, 3}));
  EXPECT_EQ(out[1], (std::vector<int>{4}));
}

TEST_F(SearchTest, PrefixBeamOneEqualsGreedyOnPeakedDistributions) {
  torch::manual_seed(1);
  for (int trial = 0; trial < 20; ++trial) {
    auto path_t = torch::randint(0, 6, {25}, torch::kLong);
    std::vector<int> path(path_t.data_ptr<int64_t>(), path_t.data_ptr<int64_t>() + 25);
    auto lp = Peaked(path, 6, 0.9);
    auto greedy = CtcGreedySearch(lp.unsqueeze(0), torch::tensor({25}, torch::kLong))[0];
    auto beam = CtcPrefixBeamSearch(lp, 1);
    ASSERT_EQ(beam.size(), 1u);
    EXPECT_EQ(beam[0].tokens, greedy) << trial;
  }
}

// The best prefix's probability sums all its alignments, so it is at least the greedy path's probability.
TEST_F(SearchTest, PrefixBeamBestScoreAtLeastGreedyPath) {
  torch::manual_seed(2);
  for (int trial = 0; trial < 20; ++trial) {
    auto lp = torch::log_softmax(torch::randn({30, 7}) * 2.0, -1);
    const double greedy_path = std::get<0>(lp.max(-1)).sum().item<double>();
    auto beam = CtcPrefixBeamSearch(lp, 8);
    ASSERT_FALSE(beam.empty());
    EXPECT_GE(beam[0].score, greedy_path - 1e-9) << trial;
    for (size_t i = 1; i < beam.size(); ++i) EXPECT_LE(beam[i].score, beam[i - 1].score);
  }
}

// With a beam wide enough that nothing is pruned, each prefix's score is exactly log P_ctc(prefix | x), the
// same quantity torch's CTC loss computes by the forward algorithm.
TEST_F(SearchTest, PrefixBeamScoresEqualExactCtcProbability) {
  torch::manual_seed(3);
  auto lp = torch::log_softmax(torch::randn({5, 3}), -1);
  auto hyps = CtcPrefixBeamSearch(lp, 1000);
  ASSERT_GT(hyps.size(), 10u);
  double total = -std::numeric_limits<double>::infinity();
  for (const auto& h : hyps) {
    total = std::max(total, h.score) + std::log1p(std::exp(std::min(total, h.score) - std::max(total, h.score)));
    if (h.tokens.empty()) {
      EXPECT_NEAR(h.score, lp.select(1, 0).sum().item<double>(), 1e-6);
      continue;
    }
    auto target = torch::tensor(std::vector<int64_t>(h.tokens.begin(), h.tokens.end()), torch::kLong).unsqueeze(0);
    auto nll = torch::ctc_loss(lp.unsqueeze(1), target, torch::tensor({5}, torch::kLong),
                               torch::tensor({target.size(1)}, torch::kLong), 0, at::Reduction::Sum);
    if (std::isinf(h.score)) {
      // A prefix no alignment of 5 frames can produce (e.g. "a a a" needs blanks between the repeats).
      EXPECT_TRUE(std::isinf(nll.item<double>())) << h.score;
    } else {
      EXPECT_NEAR(h.score, -nll.item<double>(), 1e-5);
    }
  }
  EXPECT_NEAR(total, 0.0, 1e-6);  // every labelling of 5 frames was enumerated: probabilities sum to 1
}

TEST_F(SearchTest, AttentionRescoringAddsDecoderScoreToWeightedCtcScore) {
  AsrModelOptions o;
  o.input_dim = 20;
  o.vocab_size = 8;
  o.encoder = "conformer";
  o.num_layers = 1;
  o.d_model = 16;
  o.attention_heads = 2;
  o.ff_dim = 32;
  o.conv_kernel_size = 3;
  o.decoder = "attention";
  o.decoder_layers = 1;
  auto model_or = NewAsrModel(o, 4);
  ASSERT_TRUE(model_or.ok());
  auto model = *model_or;
  model->eval();
  torch::NoGradGuard no_grad;
  auto enc = model->Encode(torch::randn({1, 40, 20}), torch::tensor({40}, torch::kLong));
  auto lp = model->CtcLogProbs(enc.out)[0];
  auto nbest = CtcPrefixBeamSearch(lp, 4);
  ASSERT_EQ(nbest.size(), 4u);
  nbest.push_back({{}, -50.0});  // an empty hypothesis is scored by <eos> alone
  const double w = 0.5;
  auto rescored = AttentionRescoring(model, enc, nbest, w);
  ASSERT_EQ(rescored.size(), nbest.size());
  for (size_t i = 1; i < rescored.size(); ++i) EXPECT_GE(rescored[i - 1].score, rescored[i].score);
  const int64_t eos = SosEosId(o.vocab_size);
  for (const auto& h : nbest) {
    // One hypothesis alone, unpadded.
    std::vector<int64_t> in = {eos};
    in.insert(in.end(), h.tokens.begin(), h.tokens.end());
    auto ys = torch::tensor(in, torch::kLong).unsqueeze(0);
    auto logp = torch::log_softmax(model->DecoderLogits(enc, ys, torch::tensor({ys.size(1)}, torch::kLong)), -1)[0];
    double att = 0.0;
    for (size_t j = 0; j < h.tokens.size(); ++j) att += logp[static_cast<int64_t>(j)][h.tokens[j]].item<double>();
    att += logp[static_cast<int64_t>(h.tokens.size())][eos].item<double>();
    bool found = false;
    for (const auto& r : rescored) {
      if (r.tokens != h.tokens) continue;
      found = true;
      EXPECT_NEAR(r.score, att + w * h.score, 1e-4);
    }
    EXPECT_TRUE(found);
  }
}

}  // namespace
}  // namespace dial::speech
