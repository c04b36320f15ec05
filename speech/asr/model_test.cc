// Tests of the ASR model: shapes and length arithmetic for every encoder × subsampling, padding invariance,
// losses checked against independent formulas, a real overfitting test, depth-aware residual scaling, options.
#include "speech/asr/model.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "speech/asr/layers.h"  // asr_internal::RelShift
#include "speech/asr/optim.h"

namespace dial::speech {
namespace {

constexpr double kInvarianceTolerance = 1e-5;

class AsrModelTest : public ::testing::Test {
 protected:
  void SetUp() override { at::set_num_threads(1); }
};

AsrModelOptions Tiny(const std::string& encoder, const std::string& subsampling = "conv2d") {
  AsrModelOptions o;
  o.input_dim = 20;
  o.vocab_size = 10;
  o.encoder = encoder;
  o.subsampling = subsampling;
  o.num_layers = 2;
  o.d_model = 16;
  o.attention_heads = 2;
  o.ff_dim = 32;
  o.conv_kernel_size = 5;
  o.dropout = 0.0;
  return o;
}

AsrModel Build(const AsrModelOptions& o, uint64_t seed = 1) {
  auto model = NewAsrModel(o, seed);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return *model;
}

torch::Tensor Lens(std::vector<int64_t> v) { return torch::tensor(v, torch::kLong); }

TEST_F(AsrModelTest, ShapesAndLengthsForEveryEncoderAndSubsampling) {
  const std::vector<int64_t> frames = {43, 30, 11};
  for (const char* encoder : {"lstm", "gru", "transformer", "conformer", "tdnn"}) {
    for (const char* subsampling : {"conv2d", "conv2d2", "conv2d6", "none"}) {
      SCOPED_TRACE(std::string(encoder) + " / " + subsampling);
      auto model = Build(Tiny(encoder, subsampling));
      model->eval();
      torch::manual_seed(7);
      auto feats = torch::randn({3, frames[0], 20});
      auto enc = model->Encode(feats, Lens(frames));
      const int64_t t_out = SubsampledLength(subsampling, frames[0]);
      ASSERT_EQ(enc.out.sizes(), (std::vector<int64_t>{3, t_out, 16}));
      ASSERT_EQ(enc.lens.scalar_type(), torch::kLong);
      for (int b = 0; b < 3; ++b) EXPECT_EQ(enc.lens[b].item<int64_t>(), SubsampledLength(subsampling, frames[b]));
      auto log_probs = model->CtcLogProbs(enc.out);
      ASSERT_EQ(log_probs.sizes(), (std::vector<int64_t>{3, t_out, 10}));
      EXPECT_LT(log_probs.logsumexp(-1).abs().max().item<double>(), 1e-5);  // normalised
      EXPECT_TRUE(torch::isfinite(enc.out).all().item<bool>());
    }
  }
}

// The formula of SubsampledLength against the real convolutions for every length from the minimum upward.
TEST_F(AsrModelTest, SubsampledLengthMatchesTheConvolutions) {
  for (const char* subsampling : {"conv2d", "conv2d2", "conv2d6", "none"}) {
    auto o = Tiny("transformer", subsampling);
    o.num_layers = 1;
    o.subsampling_channels = 0;  // d_model channels, the ESPnet/WeNet layout
    auto model = Build(o);
    model->eval();
    EXPECT_EQ(SubsampledLength(subsampling, MinInputFrames(subsampling)), 1) << subsampling;
    EXPECT_EQ(SubsampledLength(subsampling, MinInputFrames(subsampling) - 1), 0) << subsampling;
    for (int64_t t = MinInputFrames(subsampling); t < 60; ++t) {
      auto enc = model->Encode(torch::randn({1, t, 20}), Lens({t}));
      ASSERT_EQ(enc.out.size(1), SubsampledLength(subsampling, t)) << subsampling << " T=" << t;
      ASSERT_EQ(enc.lens[0].item<int64_t>(), enc.out.size(1));
    }
  }
  EXPECT_EQ(SubsampledLength("conv2d", 300), 74);   // ((300 − 3)/2 + 1 = 149, (149 − 3)/2 + 1 = 74)
  EXPECT_EQ(SubsampledLength("conv2d6", 300), 49);  // 149, (149 − 5)/3 + 1 = 49
  EXPECT_EQ(SubsampledLength("conv2d2", 300), 149);
}

TEST_F(AsrModelTest, RelShiftPicksRelativePositionIMinusJ) {
  const int64_t t = 6;
  auto x = torch::randn({2, 3, t, 2 * t - 1});
  auto out = asr_internal::RelShift(x);
  ASSERT_EQ(out.sizes(), (std::vector<int64_t>{2, 3, t, t}));
  for (int64_t i = 0; i < t; ++i) {
    for (int64_t j = 0; j < t; ++j) {
      // Column k of x is relative position T−1−k; i − j sits at k = T−1−i+j.
      EXPECT_TRUE(torch::equal(out.select(2, i).select(2, j), x.select(2, i).select(2, t - 1 - i + j)));
    }
  }
}

// An utterance's encoder output must not change when it is batched with a longer one (padding is garbage here,
// not zeros, to prove it is ignored).
void ExpectPaddingInvariant(AsrModel& model, int64_t input_dim) {
  torch::manual_seed(11);
  const int64_t short_len = 37, long_len = 61;
  auto alone = torch::randn({1, short_len, input_dim});
  auto other = torch::randn({1, long_len, input_dim});
  auto padded = torch::cat({alone, torch::randn({1, long_len - short_len, input_dim}) * 5.0}, 1);
  auto batch = torch::cat({padded, other}, 0);
  torch::NoGradGuard no_grad;
  auto single = model->Encode(alone, Lens({short_len}));
  auto batched = model->Encode(batch, Lens({short_len, long_len}));
  const int64_t n = single.lens[0].item<int64_t>();
  ASSERT_EQ(batched.lens[0].item<int64_t>(), n);
  auto diff = (single.out[0].slice(0, 0, n) - batched.out[0].slice(0, 0, n)).abs().max().item<double>();
  EXPECT_LT(diff, kInvarianceTolerance);
  if (model->has_attention_decoder()) {
    // The decoder too: the same hypothesis, alone and padded beside a longer one.
    auto ys = torch::tensor({9, 3, 4, 5}, torch::kLong).unsqueeze(0);
    auto ys_batch = torch::tensor({{9, 3, 4, 5, 9, 9}, {9, 2, 2, 3, 4, 6}}, torch::kLong);
    auto a = model->DecoderLogits(single, ys, Lens({4}));
    auto b = model->DecoderLogits(batched, ys_batch, Lens({4, 6}));
    EXPECT_LT((a[0] - b[0].slice(0, 0, 4)).abs().max().item<double>(), kInvarianceTolerance);
  }
}

TEST_F(AsrModelTest, PaddingInvarianceEveryEncoder) {
  for (const char* encoder : {"lstm", "gru", "transformer", "conformer", "tdnn"}) {
    for (bool bidirectional : {true, false}) {
      if (!bidirectional && std::string(encoder) != "lstm") continue;
      SCOPED_TRACE(std::string(encoder) + (bidirectional ? " bi" : " uni"));
      auto o = Tiny(encoder);
      o.bidirectional = bidirectional;
      o.conv_kernel_size = 15;  // wider than the gap between the two lengths' last frames
      auto model = Build(o);
      model->eval();  // batch norm uses running statistics
      ExpectPaddingInvariant(model, o.input_dim);
    }
  }
}

TEST_F(AsrModelTest, PaddingInvarianceConformerVariants) {
  for (const char* subsampling : {"conv2d6", "none"}) {
    for (const char* residual : {"none", "deepnorm", "rezero"}) {
      SCOPED_TRACE(std::string(subsampling) + " / " + residual);
      auto o = Tiny("conformer", subsampling);
      o.residual_scaling = residual;
      o.decoder = "attention";
      auto model = Build(o);
      model->eval();
      if (std::string(residual) == "rezero") {
        // Gates start at 0 (every block the identity); open them so the blocks are exercised.
        torch::NoGradGuard no_grad;
        for (auto& p : model->named_parameters()) {
          if (p.key().find("gate") != std::string::npos) p.value().fill_(0.7);
        }
      }
      ExpectPaddingInvariant(model, o.input_dim);
    }
  }
}

// With layer_norm in the conv module and no dropout nothing mixes utterances, even in training mode.
TEST_F(AsrModelTest, PaddingInvarianceInTrainingModeWithLayerNorm) {
  auto o = Tiny("conformer");
  o.conv_norm = "layer_norm";
  auto model = Build(o);
  model->train();
  ExpectPaddingInvariant(model, o.input_dim);
}

// The attention loss against a dense re-computation of WeNet's label-smoothed KL from DecoderLogits.
TEST_F(AsrModelTest, AttentionLossMatchesDenseLabelSmoothingFormula) {
  auto o = Tiny("conformer");
  o.decoder = "attention";
  auto model = Build(o);
  model->eval();
  torch::manual_seed(3);
  auto feats = torch::randn({2, 40, 20});
  auto feat_lens = Lens({40, 33});
  auto targets = torch::tensor({{2, 3, 4, 5}, {6, 7, -1, -1}}, torch::kLong);
  auto target_lens = Lens({4, 2});
  const int64_t eos = SosEosId(o.vocab_size);
  for (double smoothing : {0.0, 0.1}) {
    auto loss = model->ComputeLoss(feats, feat_lens, targets, target_lens, 0.3, smoothing);
    auto enc = model->Encode(feats, feat_lens);
    double expected = 0.0;
    std::vector<std::vector<int64_t>> in = {{eos, 2, 3, 4, 5}, {eos, 6, 7}};
    std::vector<std::vector<int64_t>> out = {{2, 3, 4, 5, eos}, {6, 7, eos}};
    for (int b = 0; b < 2; ++b) {
      EncoderOutput one{enc.out.slice(0, b, b + 1), enc.lens.slice(0, b, b + 1)};
      auto ys = torch::tensor(in[b], torch::kLong).unsqueeze(0);
      auto logp = torch::log_softmax(model->DecoderLogits(one, ys, Lens({ys.size(1)})), -1)[0];
      for (size_t u = 0; u < out[b].size(); ++u) {
        auto q = torch::full({o.vocab_size}, smoothing / (o.vocab_size - 1), torch::kDouble);
        q[out[b][u]] = 1.0 - smoothing;
        auto lp = logp[u].to(torch::kDouble);
        auto q_log_q = torch::where(q > 0, q * q.log(), torch::zeros_like(q));
        expected += (q_log_q - q * lp).sum().item<double>();
      }
    }
    expected /= 2.0;
    EXPECT_NEAR(loss.attention.item<double>(), expected, 1e-4) << "smoothing " << smoothing;
    // And the CTC term against torch's own CTC loss with mean-over-batch of sums.
    auto lp = model->CtcLogProbs(enc.out).transpose(0, 1);
    auto ctc = torch::ctc_loss(lp, targets.clamp_min(0), enc.lens, target_lens, 0, at::Reduction::None);
    EXPECT_NEAR(loss.ctc.item<double>(), ctc.sum().item<double>() / 2.0, 1e-4);
    EXPECT_NEAR(loss.total.item<double>(), 0.3 * loss.ctc.item<double>() + 0.7 * loss.attention.item<double>(), 1e-4);
  }
}

// A real learning test: 20 seeded Adam steps on 4 utterances must cut the loss substantially.
double OverfitRatio(const AsrModelOptions& o, double ctc_weight) {
  auto model = Build(o, 5);
  model->train();
  torch::manual_seed(5);
  auto feats = torch::randn({4, 48, 20});
  auto feat_lens = Lens({48, 44, 40, 36});
  auto targets = torch::tensor({{2, 3, 4, 5}, {5, 4, 3, -1}, {6, 7, 8, -1}, {8, 2, -1, -1}}, torch::kLong);
  auto target_lens = Lens({4, 3, 3, 2});
  OptimizerOptions oo;
  oo.lr = 3e-3;
  auto optimizer = NewOptimizer(model->parameters(), oo);
  EXPECT_TRUE(optimizer.ok());
  double first = 0.0, last = 0.0;
  for (int step = 0; step < 20; ++step) {
    (*optimizer)->zero_grad();
    auto loss = model->ComputeLoss(feats, feat_lens, targets, target_lens, ctc_weight, 0.1);
    loss.total.backward();
    (*optimizer)->step();
    if (step == 0) first = loss.total.item<double>();
    last = loss.total.item<double>();
  }
  std::printf("  %s/%s: loss %.3f -> %.3f\n", o.encoder.c_str(), o.decoder.c_str(), first, last);
  return last / first;
}

TEST_F(AsrModelTest, CtcLossDecreasesWhenOverfitting) {
  for (const char* encoder : {"conformer", "transformer", "lstm", "tdnn"}) {
    SCOPED_TRACE(encoder);
    auto o = Tiny(encoder, "conv2d2");
    o.d_model = 32;
    o.ff_dim = 64;
    EXPECT_LT(OverfitRatio(o, 1.0), 0.5);
  }
}

TEST_F(AsrModelTest, JointCtcAttentionLossDecreasesWhenOverfitting) {
  auto o = Tiny("conformer", "conv2d2");
  o.d_model = 32;
  o.ff_dim = 64;
  o.decoder = "attention";
  EXPECT_LT(OverfitRatio(o, 0.3), 0.5);
}

// Evaluation scores the encoder output it decodes: the loss from that output is the loss from the features.
TEST_F(AsrModelTest, LossFromAnEncoderOutputEqualsLossFromFeatures) {
  auto o = Tiny("conformer", "conv2d2");
  o.decoder = "attention";
  auto model = Build(o);
  model->eval();
  torch::manual_seed(5);
  auto feats = torch::randn({2, 40, 20});
  auto feat_lens = Lens({40, 31});
  auto targets = torch::tensor({{2, 3, 4}, {5, 6, -1}}, torch::kLong);
  auto target_lens = Lens({3, 2});
  auto direct = model->ComputeLoss(feats, feat_lens, targets, target_lens, 0.3, 0.1);
  auto from_enc = model->ComputeLoss(model->Encode(feats, feat_lens), targets, target_lens, 0.3, 0.1);
  EXPECT_NEAR(direct.total.item<double>(), from_enc.total.item<double>(), 1e-5);
  EXPECT_NEAR(direct.ctc.item<double>(), from_enc.ctc.item<double>(), 1e-5);
}

TEST_F(AsrModelTest, InitialisationIsSeeded) {
  auto o = Tiny("conformer");
  auto a = Build(o, 42), b = Build(o, 42), c = Build(o, 43);
  auto pa = a->parameters(), pb = b->parameters(), pc = c->parameters();
  ASSERT_EQ(pa.size(), pb.size());
  bool any_differs = false;
  for (size_t i = 0; i < pa.size(); ++i) {
    EXPECT_TRUE(torch::equal(pa[i], pb[i])) << i;
    if (!torch::equal(pa[i], pc[i])) any_differs = true;
  }
  EXPECT_TRUE(any_differs);
}

// ReZero blocks start as the identity, so at initialisation the output does not depend on the depth.
TEST_F(AsrModelTest, ReZeroStartsAsIdentityWhateverTheDepth) {
  for (const char* encoder : {"conformer", "transformer"}) {
    auto o = Tiny(encoder);
    o.residual_scaling = "rezero";
    o.num_layers = 1;
    auto shallow = Build(o, 9);
    o.num_layers = 6;
    auto deep = Build(o, 9);
    shallow->eval();
    deep->eval();
    torch::NoGradGuard no_grad;
    auto feats = torch::randn({2, 30, 20});
    auto a = shallow->Encode(feats, Lens({30, 25})).out;
    auto b = deep->Encode(feats, Lens({30, 25})).out;
    EXPECT_LT((a - b).abs().max().item<double>(), 1e-6) << encoder;
    // Without rezero the deeper stack does change the output.
    o.residual_scaling = "none";
    auto plain = Build(o, 9);
    plain->eval();
    EXPECT_GT((plain->Encode(feats, Lens({30, 25})).out - a).abs().max().item<double>(), 1e-3) << encoder;
  }
}

// DeepNorm: the branch weights are xavier_normal with gain β = (8N)^−¼, so their spread shrinks with depth.
TEST_F(AsrModelTest, DeepNormInitialisationFollowsDepth) {
  for (int layers : {2, 18}) {
    auto o = Tiny("conformer");
    o.d_model = 64;
    o.ff_dim = 256;
    o.num_layers = layers;
    o.residual_scaling = "deepnorm";
    auto model = Build(o, 3);
    const double beta = std::pow(8.0 * layers, -0.25);
    const double xavier_std = std::sqrt(2.0 / (64 + 256));
    double sum_sq = 0.0;
    int64_t count = 0;
    for (auto& p : model->named_parameters()) {
      if (p.key().find("feed_forward.w_1.weight") == std::string::npos) continue;
      sum_sq += p.value().pow(2).sum().item<double>();
      count += p.value().numel();
    }
    ASSERT_GT(count, 0);
    EXPECT_NEAR(std::sqrt(sum_sq / count), beta * xavier_std, 0.05 * beta * xavier_std) << layers;
    // And a deep post-LN stack still trains: finite loss and gradients.
    model->train();
    auto loss = model->ComputeLoss(torch::randn({2, 40, 20}), Lens({40, 30}), torch::tensor({{2, 3}, {4, -1}}),
                                   Lens({2, 1}), 1.0, 0.0);
    loss.total.backward();
    for (auto& p : model->parameters()) {
      if (p.grad().defined()) {
        ASSERT_TRUE(torch::isfinite(p.grad()).all().item<bool>());
      }
    }
  }
}

TEST_F(AsrModelTest, NumParametersCountsEveryWeight) {
  auto o = Tiny("lstm");
  o.bidirectional = false;
  o.subsampling = "none";
  o.num_layers = 1;
  auto model = Build(o);
  // Linear 20→16 + LayerNorm(16) + LSTM(16→16: 4·16·(16+16) + 2·4·16) + CTC Linear 16→10.
  const int64_t expected = (20 * 16 + 16) + 2 * 16 + (4 * 16 * 32 + 2 * 4 * 16) + (16 * 10 + 10);
  EXPECT_EQ(model->NumParameters(), expected);
}

TEST_F(AsrModelTest, ValidateNamesTheKey) {
  auto message = [](AsrModelOptions o) { return o.Validate().message(); };
  AsrModelOptions o = Tiny("conformer");
  EXPECT_TRUE(o.Validate().ok());
  o.d_model = 250;
  o.attention_heads = 4;
  EXPECT_EQ(message(o), "d_model (250) must be divisible by attention_heads (4)");
  o = Tiny("rnn");
  EXPECT_EQ(message(o), "encoder (rnn) must be one of lstm, gru, transformer, conformer, tdnn");
  o = Tiny("conformer", "conv3d");
  EXPECT_EQ(message(o), "subsampling (conv3d) must be one of conv2d, conv2d2, conv2d6, none");
  o = Tiny("conformer");
  o.conv_kernel_size = 16;
  EXPECT_EQ(message(o), "conv_kernel_size (16) must be odd (the depthwise convolution is centred)");
  o = Tiny("conformer");
  o.vocab_size = 0;
  EXPECT_EQ(message(o), "vocab_size (0) must be at least 3 (<blank>, <unk>, one unit)");
  o = Tiny("conformer");
  o.residual_scaling = "fixup";
  EXPECT_EQ(message(o), "residual_scaling (fixup) must be one of none, deepnorm, rezero");
  o = Tiny("conformer");
  o.dropout = 1.0;
  EXPECT_EQ(message(o), "dropout (1) must be in [0, 1)");
  o = Tiny("conformer");
  o.num_layers = 0;
  EXPECT_EQ(message(o), "num_layers (0) must be >= 1");
  auto bad = NewAsrModel(o, 1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

// Timing of the brief's reference configuration (d_model 144, 4 layers, batch 16 × 3 s): run by hand with
// --gtest_also_run_disabled_tests; not a pass/fail test because the machine is shared.
TEST_F(AsrModelTest, DISABLED_TrainingStepTime) {
  for (const char* encoder : {"conformer", "transformer", "lstm"}) {
    AsrModelOptions o;
    o.vocab_size = 30;
    o.encoder = encoder;
    auto model = Build(o);
    model->train();
    auto optimizer = NewOptimizer(model->parameters(), OptimizerOptions{});
    auto feats = torch::randn({16, 300, 80});
    auto feat_lens = torch::full({16}, 300, torch::kLong);
    auto targets = torch::randint(2, 29, {16, 20}, torch::kLong);
    auto target_lens = torch::full({16}, 20, torch::kLong);
    double best = 1e9;
    for (int i = 0; i < 4; ++i) {
      auto start = std::chrono::steady_clock::now();
      (*optimizer)->zero_grad();
      model->ComputeLoss(feats, feat_lens, targets, target_lens, 1.0, 0.0).total.backward();
      (*optimizer)->step();
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::printf("%s: %lld parameters, best training step %.3f s (threads %d)\n", encoder,
                static_cast<long long>(model->NumParameters()), best, at::get_num_threads());
  }
}

}  // namespace
}  // namespace dial::speech
