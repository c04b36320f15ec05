// Unit tests for the real FFT, the Kaldi fbank/MFCC (geometry, options, dither) and global CMVN.
#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <numbers>
#include <random>

#include "speech/features/cmvn.h"
#include "speech/features/fbank.h"
#include "speech/features/fft.h"

namespace dial::speech {
namespace {

std::vector<float> Noise(int n, uint64_t seed, float amplitude = 0.1f) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> g(0.0f, amplitude);
  std::vector<float> x(n);
  for (float& v : x) v = g(rng);
  return x;
}

TEST(RealFftTest, MatchesNaiveDft) {
  for (int n : {8, 16, 64, 512}) {
    std::vector<float> xf = Noise(n, n);
    std::vector<double> x(xf.begin(), xf.end());
    RealFft fft(n);
    std::vector<std::complex<double>> out(n / 2 + 1);
    std::vector<double> power(n / 2 + 1);
    fft.Forward(x.data(), out.data());
    fft.PowerSpectrum(x.data(), power.data());
    for (int k = 0; k <= n / 2; ++k) {
      std::complex<double> ref = 0.0;
      for (int t = 0; t < n; ++t) ref += x[t] * std::polar(1.0, -2.0 * std::numbers::pi * k * t / n);
      EXPECT_NEAR(out[k].real(), ref.real(), 1e-9) << "n=" << n << " k=" << k;
      EXPECT_NEAR(out[k].imag(), ref.imag(), 1e-9) << "n=" << n << " k=" << k;
      EXPECT_NEAR(power[k], std::norm(ref), 1e-9 * (1.0 + std::norm(ref)));
    }
  }
}

TEST(FbankTest, FrameCountsAsKaldi) {
  // 16 kHz, 25 ms / 10 ms: window 400, shift 160.
  EXPECT_EQ(NumFrames(16000, 400, 160, true), 98);
  EXPECT_EQ(NumFrames(16000, 400, 160, false), 100);
  EXPECT_EQ(NumFrames(399, 400, 160, true), 0);
  EXPECT_EQ(NumFrames(399, 400, 160, false), 2);
  auto fb = NewFbankComputer(FbankOptions{});
  ASSERT_TRUE(fb.ok());
  std::vector<float> x = Noise(16000, 1);
  FeatureMatrix m = (*fb)->Compute(x);
  EXPECT_EQ(m.num_frames, 98);
  EXPECT_EQ(m.dim, 80);
  for (float v : m.data) ASSERT_TRUE(std::isfinite(v));
}

TEST(FbankTest, ValidateNamesTheOption) {
  FbankOptions o;
  o.n_mels = 2;
  EXPECT_NE(o.Validate().message().find("n_mels"), std::string::npos);
  o = FbankOptions{};
  o.high_freq = 9000.0f;  // above Nyquist at 16 kHz
  EXPECT_NE(o.Validate().message().find("high_freq"), std::string::npos);
  o = FbankOptions{};
  o.round_to_power_of_two = false;  // 400-point FFT is not a power of two
  EXPECT_FALSE(o.Validate().ok());
  o.frame_length_ms = 32.0f;  // 512 samples: fine without rounding
  EXPECT_TRUE(o.Validate().ok());
  EXPECT_FALSE(ParseWindowType("gauss").ok());
  EXPECT_EQ(*ParseWindowType("hanning"), WindowType::kHann);
}

TEST(FbankTest, DitherIsSeeded) {
  FbankOptions o;
  o.dither = 1.0f;
  auto a = NewFbankComputer(o);
  auto b = NewFbankComputer(o);
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<float> silence(8000, 0.0f);
  FeatureMatrix x = (*a)->Compute(silence, 7), y = (*b)->Compute(silence, 7), z = (*b)->Compute(silence, 8);
  EXPECT_EQ(x.data, y.data);
  EXPECT_NE(x.data, z.data);
  // Without dither, silence hits the log floor.
  auto c = NewFbankComputer(FbankOptions{});
  FeatureMatrix s = (*c)->Compute(silence);
  EXPECT_NEAR(s.data[0], std::log(std::numeric_limits<float>::epsilon()), 1e-5);
}

TEST(FbankTest, ToneLandsInTheRightMelBin) {
  FbankOptions o;
  o.n_mels = 40;
  auto fb = NewFbankComputer(o);
  ASSERT_TRUE(fb.ok());
  std::vector<float> x(16000);
  for (size_t t = 0; t < x.size(); ++t) x[t] = 0.5f * std::sin(2.0 * std::numbers::pi * 1000.0 * t / 16000.0);
  FeatureMatrix m = (*fb)->Compute(x);
  const float* row = m.Row(10);
  int best = static_cast<int>(std::max_element(row, row + m.dim) - row);
  // Centre of bin b: mel_low + (b + 1)·Δ; 1 kHz is 1000.0 mel (1127 ln(1 + 1000/700) ≈ 999.99).
  const double mel_low = 1127.0 * std::log(1.0 + 20.0 / 700.0), mel_high = 1127.0 * std::log(1.0 + 8000.0 / 700.0);
  const double delta = (mel_high - mel_low) / 41;
  const int expected = static_cast<int>(std::lround((1127.0 * std::log(1.0 + 1000.0 / 700.0) - mel_low) / delta)) - 1;
  EXPECT_NEAR(best, expected, 1);
}

TEST(MfccTest, ShapeAndEnergy) {
  MfccOptions o;
  o.use_energy = true;
  auto mf = NewMfccComputer(o);
  ASSERT_TRUE(mf.ok());
  std::vector<float> x = Noise(16000, 3);
  FeatureMatrix m = (*mf)->Compute(x);
  EXPECT_EQ(m.num_frames, 98);
  EXPECT_EQ(m.dim, 13);
  // C0 replaced by the log energy of the DC-free raw frame.
  double e = 0.0, mean = 0.0;
  for (int t = 0; t < 400; ++t) mean += x[t] * 32768.0;
  mean /= 400;
  for (int t = 0; t < 400; ++t) e += (x[t] * 32768.0 - mean) * (x[t] * 32768.0 - mean);
  EXPECT_NEAR(m.Row(0)[0], std::log(e), 1e-3);
  MfccOptions bad;
  bad.num_ceps = 40;
  EXPECT_FALSE(NewMfccComputer(bad).ok());
}

TEST(GlobalCmvnTest, AccumulateApplyRoundTrip) {
  GlobalCmvn cmvn;
  EXPECT_FALSE(cmvn.Finalize().ok());
  std::mt19937_64 rng(5);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<FeatureMatrix> sets;
  for (int u = 0; u < 3; ++u) {
    FeatureMatrix m;
    m.num_frames = 500 + 100 * u;
    m.dim = 2;
    for (int f = 0; f < m.num_frames; ++f) {
      m.data.push_back(3.0f + 2.0f * g(rng));
      m.data.push_back(-1.0f + 0.5f * g(rng));
    }
    ASSERT_TRUE(cmvn.Accumulate(m).ok());
    sets.push_back(std::move(m));
  }
  FeatureMatrix wrong;
  wrong.num_frames = 1;
  wrong.dim = 3;
  wrong.data.assign(3, 0.0f);
  EXPECT_FALSE(cmvn.Accumulate(wrong).ok());
  ASSERT_TRUE(cmvn.Finalize().ok());
  EXPECT_EQ(cmvn.frame_count(), 1800);
  EXPECT_NEAR(cmvn.mean()[0], 3.0, 0.15);
  EXPECT_NEAR(1.0 / cmvn.inv_std()[1], 0.5, 0.05);
  // After applying, the pooled training data has mean 0 and variance 1 in every dimension.
  double s[2] = {0, 0}, s2[2] = {0, 0};
  for (FeatureMatrix& m : sets) {
    ASSERT_TRUE(cmvn.Apply(&m).ok());
    for (int f = 0; f < m.num_frames; ++f) {
      for (int d = 0; d < 2; ++d) {
        s[d] += m.Row(f)[d];
        s2[d] += m.Row(f)[d] * m.Row(f)[d];
      }
    }
  }
  for (int d = 0; d < 2; ++d) {
    EXPECT_NEAR(s[d] / 1800, 0.0, 1e-5);
    EXPECT_NEAR(s2[d] / 1800, 1.0, 1e-4);
  }
  auto loaded = GlobalCmvn::FromJson(cmvn.ToJson(), "cmvn.json");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->mean(), cmvn.mean());
  EXPECT_FALSE(GlobalCmvn::FromJson("{\"mean_stat\": [1]}", "cmvn.json").ok());
}

}  // namespace
}  // namespace dial::speech
