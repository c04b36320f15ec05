// Tests of SpecAugment and the waveform augmentations: mask bounds and counts, identity cases, determinism,
// time-warp length, speed-perturbation length and pitch, and the SNR of a noise mix.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <set>

#include "speech/augment/spec_augment.h"
#include "speech/augment/waveform_augment.h"

namespace dial::speech {
namespace {

// Cells hold their own index, 0..T·D−1; with T·D even the mean is a half-integer, so no unmasked cell equals it.
FeatureMatrix IndexMatrix(int frames, int dim) {
  FeatureMatrix f;
  f.num_frames = frames;
  f.dim = dim;
  f.data.resize(static_cast<size_t>(frames) * dim);
  for (size_t i = 0; i < f.data.size(); ++i) f.data[i] = static_cast<float>(i);
  return f;
}

SpecAugmentOptions NoMasks() {
  SpecAugmentOptions o;
  o.num_freq_masks = 0;
  o.num_time_masks = 0;
  o.time_warp_window = 0;
  return o;
}

TEST(SpecAugmentTest, ZeroMasksAndNoWarpIsIdentity) {
  const FeatureMatrix original = IndexMatrix(50, 20);
  FeatureMatrix f = original;
  std::mt19937_64 rng(1);
  ApplySpecAugment(&f, NoMasks(), rng);
  EXPECT_EQ(f.data, original.data);
}

TEST(SpecAugmentTest, OneFrequencyMaskIsAContiguousBandOfWholeColumnsWithinWidth) {
  constexpr int kFrames = 100, kDim = 80;
  const float mean = (kFrames * kDim - 1) / 2.0f;
  SpecAugmentOptions o = NoMasks();
  o.num_freq_masks = 1;
  o.freq_mask_width = 27;
  int widest = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    FeatureMatrix f = IndexMatrix(kFrames, kDim);
    std::mt19937_64 rng(seed);
    ApplySpecAugment(&f, o, rng);
    std::vector<int> cols;
    for (int k = 0; k < kDim; ++k) {
      int masked = 0;
      for (int i = 0; i < kFrames; ++i) masked += f.Row(i)[k] == mean;
      ASSERT_TRUE(masked == 0 || masked == kFrames) << "column " << k << " partly masked, seed " << seed;
      if (masked) cols.push_back(k);
    }
    ASSERT_LE(static_cast<int>(cols.size()), o.freq_mask_width);
    if (!cols.empty()) {
      EXPECT_EQ(cols.back() - cols.front() + 1, static_cast<int>(cols.size())) << "not contiguous";
    }
    widest = std::max(widest, static_cast<int>(cols.size()));
  }
  EXPECT_GE(widest, 20);  // widths are drawn up to F, so over 200 draws some come near it
}

TEST(SpecAugmentTest, TimeMasksRespectWidthFractionCapAndCount) {
  constexpr int kFrames = 200, kDim = 10;
  const float mean = (kFrames * kDim - 1) / 2.0f;
  SpecAugmentOptions o = NoMasks();
  o.num_time_masks = 3;
  o.time_mask_width = 40;
  o.time_mask_max_fraction = 0.05;  // ≤ 10 frames per mask, ≤ 30 in all
  int widest_total = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    FeatureMatrix f = IndexMatrix(kFrames, kDim);
    std::mt19937_64 rng(seed);
    ApplySpecAugment(&f, o, rng);
    int masked_rows = 0, runs = 0;
    bool prev = false;
    for (int i = 0; i < kFrames; ++i) {
      int masked = 0;
      for (int k = 0; k < kDim; ++k) masked += f.Row(i)[k] == mean;
      ASSERT_TRUE(masked == 0 || masked == kDim) << "row " << i << " partly masked";
      masked_rows += masked > 0;
      runs += masked > 0 && !prev;
      prev = masked > 0;
    }
    ASSERT_LE(masked_rows, 30);
    ASSERT_LE(runs, 3);
    widest_total = std::max(widest_total, masked_rows);
  }
  EXPECT_GT(widest_total, 10);  // several masks really were applied
  // Without the cap, the width bound is time_mask_width.
  o.time_mask_max_fraction = 0;
  o.num_time_masks = 1;
  int widest = 0;
  for (uint64_t seed = 0; seed < 200; ++seed) {
    FeatureMatrix f = IndexMatrix(kFrames, kDim);
    std::mt19937_64 rng(seed);
    ApplySpecAugment(&f, o, rng);
    int masked_rows = 0;
    for (int i = 0; i < kFrames; ++i) masked_rows += f.Row(i)[0] == mean;
    ASSERT_LE(masked_rows, 40);
    widest = std::max(widest, masked_rows);
  }
  EXPECT_GT(widest, 30);
}

TEST(SpecAugmentTest, MaskWiderThanTheFeaturesIsClamped) {
  SpecAugmentOptions o = NoMasks();
  o.num_freq_masks = 1;
  o.freq_mask_width = 500;
  o.num_time_masks = 1;
  o.time_mask_width = 500;
  o.time_mask_max_fraction = 0;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    FeatureMatrix f = IndexMatrix(6, 4);
    std::mt19937_64 rng(seed);
    ApplySpecAugment(&f, o, rng);  // must stay inside the matrix (ASan/UBSan builds would catch a write past it)
    EXPECT_EQ(f.data.size(), 24u);
  }
}

TEST(SpecAugmentTest, SameSeedSameOutputOtherSeedDiffers) {
  SpecAugmentOptions o;
  o.time_warp_window = 5;
  auto run = [&](uint64_t seed) {
    FeatureMatrix f = IndexMatrix(120, 40);
    std::mt19937_64 rng(seed);
    ApplySpecAugment(&f, o, rng);
    return f.data;
  };
  EXPECT_EQ(run(3), run(3));
  EXPECT_NE(run(3), run(4));
}

TEST(SpecAugmentTest, TimeWarpPreservesLengthIsIdentityAtWindowZeroAndMovesFrames) {
  constexpr int kFrames = 100, kDim = 3;
  FeatureMatrix ramp;  // every column holds the frame index
  ramp.num_frames = kFrames;
  ramp.dim = kDim;
  for (int i = 0; i < kFrames; ++i) {
    for (int k = 0; k < kDim; ++k) ramp.data.push_back(static_cast<float>(i));
  }
  FeatureMatrix same = ramp;
  std::mt19937_64 rng(5);
  TimeWarp(&same, 0, rng);
  EXPECT_EQ(same.data, ramp.data);
  int changed = 0;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    FeatureMatrix f = ramp;
    std::mt19937_64 r(seed);
    TimeWarp(&f, 10, r);
    ASSERT_EQ(f.num_frames, kFrames);
    ASSERT_EQ(f.data.size(), ramp.data.size());
    EXPECT_FLOAT_EQ(f.Row(0)[0], 0.0f);  // the ends stay put
    EXPECT_FLOAT_EQ(f.Row(kFrames - 1)[0], kFrames - 1.0f);
    for (int i = 1; i < kFrames; ++i) ASSERT_GE(f.Row(i)[0], f.Row(i - 1)[0]);  // a warp is monotone
    // The centre moves by at most W frames: the source position at every frame stays within W of it.
    for (int i = 0; i < kFrames; ++i) ASSERT_LE(std::abs(f.Row(i)[0] - i), 10.0f + 1e-4f);
    changed += f.data != ramp.data;
  }
  EXPECT_GE(changed, 15);
  // Too short to warp: unchanged.
  FeatureMatrix short_ramp = IndexMatrix(8, 2);
  FeatureMatrix before = short_ramp;
  TimeWarp(&short_ramp, 4, rng);
  EXPECT_EQ(short_ramp.data, before.data);
}

TEST(SpecAugmentTest, ValidateRejectsNegativeValues) {
  EXPECT_TRUE(SpecAugmentOptions{}.Validate().ok());
  SpecAugmentOptions o;
  o.freq_mask_width = -1;
  EXPECT_FALSE(o.Validate().ok());
  o = {};
  o.time_mask_max_fraction = 1.5;
  EXPECT_FALSE(o.Validate().ok());
  o = {};
  o.time_warp_window = -2;
  EXPECT_FALSE(o.Validate().ok());
}

Waveform Sine(double hz, double seconds, int rate, float amplitude = 0.5f) {
  Waveform w;
  w.sample_rate = rate;
  const size_t n = static_cast<size_t>(seconds * rate);
  for (size_t i = 0; i < n; ++i) {
    w.samples.push_back(amplitude * static_cast<float>(std::sin(2 * std::numbers::pi * hz * i / rate)));
  }
  return w;
}

// Frequency from upward zero crossings over the middle of the signal (away from resampler edges).
double CrossingFrequency(const Waveform& w) {
  const size_t lo = w.samples.size() / 10, hi = w.samples.size() * 9 / 10;
  int crossings = 0;
  for (size_t i = lo + 1; i < hi; ++i) crossings += w.samples[i - 1] < 0 && w.samples[i] >= 0;
  return crossings * static_cast<double>(w.sample_rate) / static_cast<double>(hi - lo);
}

TEST(SpeedPerturbTest, FactorChangesLengthByItsInverseAndPitchByItself) {
  const Waveform sine = Sine(440.0, 2.0, 16000);
  auto fast = SpeedPerturb(sine, 1.1);
  ASSERT_TRUE(fast.ok()) << fast.status().ToString();
  EXPECT_EQ(fast->sample_rate, 16000);
  EXPECT_NEAR(static_cast<double>(fast->samples.size()), sine.samples.size() / 1.1, 2.0);
  EXPECT_NEAR(CrossingFrequency(*fast), 440.0 * 1.1, 5.0);
  auto slow = SpeedPerturb(sine, 0.9);
  ASSERT_TRUE(slow.ok());
  EXPECT_NEAR(static_cast<double>(slow->samples.size()), sine.samples.size() / 0.9, 2.0);
  EXPECT_NEAR(CrossingFrequency(*slow), 440.0 * 0.9, 5.0);
  auto same = SpeedPerturb(sine, 1.0);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->samples, sine.samples);
  EXPECT_FALSE(SpeedPerturb(sine, 3.0).ok());
  EXPECT_FALSE(SpeedPerturb(Waveform{}, 1.1).ok());
}

TEST(SpeedPerturbTest, RandomFactorIsOneOfTheListAndSeeded) {
  const Waveform sine = Sine(300.0, 0.5, 16000);
  SpeedPerturbOptions o;
  std::set<size_t> lengths;
  for (uint64_t seed = 0; seed < 30; ++seed) {
    std::mt19937_64 a(seed), b(seed);
    auto x = RandomSpeedPerturb(sine, o, a);
    auto y = RandomSpeedPerturb(sine, o, b);
    ASSERT_TRUE(x.ok() && y.ok());
    EXPECT_EQ(x->samples, y->samples);
    lengths.insert(x->samples.size());
  }
  EXPECT_EQ(lengths.size(), 3u);  // 0.9, 1.0 and 1.1 were all drawn
  o.factors = {};
  EXPECT_FALSE(o.Validate().ok());
}

TEST(NoiseTest, GeneratedNoiseIsSeededWithUnitVarianceAndPinkIsCorrelated) {
  std::mt19937_64 a(9), b(9), c(10);
  const auto w1 = GenerateNoise(NoiseType::kWhite, 48000, a);
  const auto w2 = GenerateNoise(NoiseType::kWhite, 48000, b);
  const auto w3 = GenerateNoise(NoiseType::kWhite, 48000, c);
  EXPECT_EQ(w1, w2);
  EXPECT_NE(w1, w3);
  EXPECT_NEAR(MeanPower(w1), 1.0, 0.03);
  std::mt19937_64 p(9);
  const auto pink = GenerateNoise(NoiseType::kPink, 48000, p);
  EXPECT_NEAR(MeanPower(pink), 1.0, 1e-3);
  auto lag1 = [](const std::vector<float>& x) {
    double s = 0;
    for (size_t i = 1; i < x.size(); ++i) s += static_cast<double>(x[i]) * x[i - 1];
    return s / static_cast<double>(x.size() - 1) / MeanPower(x);
  };
  EXPECT_LT(std::abs(lag1(w1)), 0.02);  // white: uncorrelated
  EXPECT_GT(lag1(pink), 0.5);           // 1/f: strongly correlated neighbours
  EXPECT_FALSE(ParseNoiseType("brown").ok());
}

TEST(NoiseTest, MixedSnrMeasuresAsTheTargetWithin0Point1Db) {
  const Waveform speech = Sine(250.0, 1.0, 16000, 0.3f);
  for (NoiseType type : {NoiseType::kWhite, NoiseType::kPink}) {
    std::mt19937_64 rng(17);
    // Shorter than the signal, so the loop-around is exercised too.
    const auto noise = GenerateNoise(type, 7000, rng);
    for (double snr : {-5.0, 0.0, 5.0, 10.0, 20.0, 40.0}) {
      Waveform mix = speech;
      ASSERT_TRUE(MixNoise(&mix, noise, snr, 1234, 16000).ok());
      std::vector<float> added(mix.samples.size());
      for (size_t i = 0; i < added.size(); ++i) added[i] = mix.samples[i] - speech.samples[i];
      const double measured = 10.0 * std::log10(MeanPower(speech.samples) / MeanPower(added));
      EXPECT_NEAR(measured, snr, 0.1) << "target " << snr << " dB";
    }
  }
  Waveform mix = speech;
  EXPECT_FALSE(MixNoise(&mix, {}, 10.0).ok());
  const std::vector<float> silent(100, 0.0f);
  EXPECT_FALSE(MixNoise(&mix, silent, 10.0).ok());
  const std::vector<float> some(100, 0.5f);
  EXPECT_FALSE(MixNoise(&mix, some, 10.0, 0, 8000).ok());  // rate mismatch
  EXPECT_FALSE(MixNoise(&mix, some, std::nan("")).ok());
}

}  // namespace
}  // namespace dial::speech
