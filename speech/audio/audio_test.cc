// Tests of audio I/O: WAV round trip, mix-down, spans, bad files, resampling.
#include "speech/audio/audio.h"

#include <gtest/gtest.h>
#include <sndfile.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numbers>

#include "speech/audio/audio_info.h"

namespace dial::speech {
namespace {

namespace fs = std::filesystem;

class AudioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dial_audio_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  fs::path dir_;
};

Waveform Tone(double freq, int rate, double seconds, double amplitude = 0.5) {
  Waveform w;
  w.sample_rate = rate;
  const auto n = static_cast<size_t>(std::llround(seconds * rate));
  w.samples.resize(n);
  for (size_t i = 0; i < n; ++i) {
    w.samples[i] = static_cast<float>(amplitude * std::sin(2 * std::numbers::pi * freq * i / rate));
  }
  return w;
}

// Frequency of a pure tone from its positive-going zero crossings: crossings / duration.
double ZeroCrossingFrequency(const Waveform& w) {
  int crossings = 0;
  for (size_t i = 1; i < w.samples.size(); ++i) crossings += (w.samples[i - 1] < 0 && w.samples[i] >= 0);
  return crossings / w.duration_seconds();
}

TEST_F(AudioTest, WavRoundTripIsExactOnInt16Grid) {
  Waveform w;
  w.sample_rate = 16000;
  for (int i = -200; i < 200; ++i) w.samples.push_back(static_cast<float>(i * 163) / 32768.0f);
  w.samples.push_back(-1.0f);
  ASSERT_TRUE(WriteWav(Path("a.wav"), w).ok());
  auto r = ReadAudio(Path("a.wav"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->sample_rate, 16000);
  ASSERT_EQ(r->samples.size(), w.samples.size());
  for (size_t i = 0; i < w.samples.size(); ++i) EXPECT_EQ(r->samples[i], w.samples[i]) << i;
  // No temporary file left beside it.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator{}), 1);
}

TEST_F(AudioTest, WriteClipsOutOfRangeSamples) {
  Waveform w{{2.0f, -3.0f, 1.0f}, 8000};
  ASSERT_TRUE(WriteWav(Path("c.wav"), w).ok());
  auto r = ReadAudio(Path("c.wav"));
  ASSERT_TRUE(r.ok());
  EXPECT_FLOAT_EQ(r->samples[0], 32767.0f / 32768.0f);
  EXPECT_FLOAT_EQ(r->samples[1], -1.0f);
  EXPECT_FLOAT_EQ(r->samples[2], 32767.0f / 32768.0f);
}

TEST_F(AudioTest, WriteRejectsBadRateAndUnwritablePath) {
  EXPECT_EQ(WriteWav(Path("x.wav"), Waveform{{0.1f}, 0}).code(), StatusCode::kInvalidArgument);
  Status s = WriteWav(Path("no/such/dir/x.wav"), Waveform{{0.1f}, 16000});
  EXPECT_EQ(s.code(), StatusCode::kIoError);
  EXPECT_NE(s.message().find("no/such/dir/x.wav"), std::string::npos);
}

TEST_F(AudioTest, StereoIsMixedDownToTheMean) {
  SF_INFO info{};
  info.samplerate = 16000;
  info.channels = 2;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE* f = sf_open(Path("s.wav").c_str(), SFM_WRITE, &info);
  ASSERT_NE(f, nullptr);
  std::vector<short> frames = {1000, 3000, -2000, 0, 32000, -32000, 10, 20};  // L R L R ...
  ASSERT_EQ(sf_writef_short(f, frames.data(), 4), 4);
  sf_close(f);
  auto r = ReadAudio(Path("s.wav"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->samples.size(), 4u);
  EXPECT_FLOAT_EQ(r->samples[0], 2000.0f / 32768.0f);
  EXPECT_FLOAT_EQ(r->samples[1], -1000.0f / 32768.0f);
  EXPECT_FLOAT_EQ(r->samples[2], 0.0f);
  EXPECT_FLOAT_EQ(r->samples[3], 15.0f / 32768.0f);
}

TEST_F(AudioTest, OffsetAndDurationSelectASpan) {
  Waveform w;
  w.sample_rate = 1000;
  for (int i = 0; i < 3000; ++i) w.samples.push_back(static_cast<float>(i % 1000) / 32768.0f);
  ASSERT_TRUE(WriteWav(Path("ramp.wav"), w).ok());
  ReadAudioOptions o;
  o.offset_seconds = 1.25;
  o.duration_seconds = 0.5;
  auto r = ReadAudio(Path("ramp.wav"), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->samples.size(), 500u);
  EXPECT_EQ(r->samples.front(), 250.0f / 32768.0f);
  EXPECT_EQ(r->samples.back(), 749.0f / 32768.0f);
  o.duration_seconds = -1;  // to the end
  r = ReadAudio(Path("ramp.wav"), o);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->samples.size(), 1750u);
  // A small overshoot (Kaldi's 0.5 s) is cut at the end; a larger one is an error naming the file.
  o.offset_seconds = 2.5;
  o.duration_seconds = 0.8;
  r = ReadAudio(Path("ramp.wav"), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->samples.size(), 500u);
  o.duration_seconds = 2.0;
  r = ReadAudio(Path("ramp.wav"), o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("ramp.wav"), std::string::npos);
  o.offset_seconds = 3.0;
  o.duration_seconds = -1;
  EXPECT_FALSE(ReadAudio(Path("ramp.wav"), o).ok());
  o.offset_seconds = -1;
  EXPECT_EQ(ReadAudio(Path("ramp.wav"), o).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(AudioTest, TruncatedWavIsAnErrorNamingTheFile) {
  ASSERT_TRUE(WriteWav(Path("t.wav"), Tone(440, 16000, 1.0)).ok());
  const auto full = fs::file_size(Path("t.wav"));
  fs::resize_file(Path("t.wav"), full - 10000);  // cut 5000 frames of the 16000
  auto info = ReadAudioInfo(Path("t.wav"));
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_TRUE(info->truncated());
  EXPECT_EQ(info->declared_frames, 16000);
  EXPECT_EQ(info->frames, 11000);
  auto r = ReadAudio(Path("t.wav"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("t.wav"), std::string::npos);
  EXPECT_NE(r.status().message().find("truncated"), std::string::npos) << r.status().message();
}

TEST_F(AudioTest, EmptyMissingAndGarbageFiles) {
  std::ofstream(Path("empty.wav")).close();
  auto r = ReadAudio(Path("empty.wav"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("empty.wav"), std::string::npos);
  EXPECT_NE(r.status().message().find("empty"), std::string::npos);

  r = ReadAudio(Path("missing.wav"));
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("missing.wav"), std::string::npos);

  std::ofstream(Path("junk.wav")) << "this is not audio at all, just some text";
  r = ReadAudio(Path("junk.wav"));
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("unreadable"), std::string::npos);

  // A valid header with no samples.
  ASSERT_TRUE(WriteWav(Path("zero.wav"), Waveform{{}, 16000}).ok());
  r = ReadAudio(Path("zero.wav"));
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("empty"), std::string::npos);
}

TEST_F(AudioTest, ResampleDownKeepsATonesFrequency) {
  const Waveform tone = Tone(1000, 16000, 2.0);
  ASSERT_TRUE(WriteWav(Path("tone.wav"), tone).ok());
  ReadAudioOptions o;
  o.target_sample_rate = 8000;
  auto r = ReadAudio(Path("tone.wav"), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->sample_rate, 8000);
  EXPECT_NEAR(static_cast<double>(r->samples.size()), 16000.0, 1.0);
  EXPECT_NEAR(ZeroCrossingFrequency(*r), 1000.0, 2.0);
  // Amplitude is kept (the tone is well inside the passband): RMS of a sine = A/√2, away from the edges.
  double sum = 0;
  const size_t lo = 1000, hi = r->samples.size() - 1000;
  for (size_t i = lo; i < hi; ++i) sum += r->samples[i] * r->samples[i];
  EXPECT_NEAR(std::sqrt(sum / (hi - lo)), 0.5 / std::sqrt(2.0), 0.01);
}

TEST_F(AudioTest, ResampleRemovesContentAboveTheNewNyquist) {
  // A 6 kHz tone at 16 kHz cannot exist at 8 kHz (Nyquist 4 kHz): the anti-alias filter must remove it rather
  // than fold it to 2 kHz.
  auto r = Resample(Tone(6000, 16000, 1.0).samples, 16000, 8000);
  ASSERT_TRUE(r.ok());
  double sum = 0;
  for (size_t i = 500; i + 500 < r->size(); ++i) sum += (*r)[i] * (*r)[i];
  EXPECT_LT(std::sqrt(sum / (r->size() - 1000)), 1e-3);
}

TEST_F(AudioTest, UpsamplingIsRefusedUnlessAllowed) {
  ASSERT_TRUE(WriteWav(Path("low.wav"), Tone(300, 8000, 0.5)).ok());
  ReadAudioOptions o;
  o.target_sample_rate = 16000;
  auto r = ReadAudio(Path("low.wav"), o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("low.wav"), std::string::npos);
  EXPECT_NE(r.status().message().find("8000"), std::string::npos);
  EXPECT_NE(r.status().message().find("16000"), std::string::npos);
  o.allow_upsampling = true;
  r = ReadAudio(Path("low.wav"), o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->sample_rate, 16000);
  EXPECT_EQ(r->samples.size(), 8000u);
  EXPECT_NEAR(ZeroCrossingFrequency(*r), 300.0, 2.0);
}

TEST_F(AudioTest, ResampleRejectsBadRates) {
  std::vector<float> x(10, 0.1f);
  EXPECT_EQ(Resample(x, 0, 8000).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Resample(x, 16000, -1).status().code(), StatusCode::kInvalidArgument);
  auto same = Resample(x, 16000, 16000);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, x);
}

TEST_F(AudioTest, ReadsBytesFromMemoryIncludingAStreamedHeader) {
  ASSERT_TRUE(WriteWav(Path("m.wav"), Tone(500, 16000, 0.25)).ok());
  std::ifstream in(Path("m.wav"), std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto r = ReadAudioBytes(bytes, "memory");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->samples.size(), 4000u);
  // A WAV written to a pipe carries placeholder lengths (sox: 0x7ffff000): not "truncated".
  for (size_t pos : {size_t{4}, size_t{40}}) {
    bytes[pos] = 0x00;
    bytes[pos + 1] = 0xF0;
    bytes[pos + 2] = 0xFF;
    bytes[pos + 3] = 0x7F;
  }
  r = ReadAudioBytes(bytes, "streamed");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->samples.size(), 4000u);
  EXPECT_EQ(ReadAudioBytes({}, "nothing").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(AudioTest, ReadsFlac) {
  SF_INFO info{};
  info.samplerate = 16000;
  info.channels = 1;
  info.format = SF_FORMAT_FLAC | SF_FORMAT_PCM_16;
  SNDFILE* f = sf_open(Path("a.flac").c_str(), SFM_WRITE, &info);
  ASSERT_NE(f, nullptr) << sf_strerror(nullptr);
  std::vector<short> pcm(1600);
  for (size_t i = 0; i < pcm.size(); ++i) pcm[i] = static_cast<short>((i * 37) % 2000 - 1000);
  ASSERT_EQ(sf_write_short(f, pcm.data(), 1600), 1600);
  sf_close(f);
  auto r = ReadAudio(Path("a.flac"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->samples.size(), 1600u);
  for (size_t i = 0; i < pcm.size(); ++i) ASSERT_EQ(r->samples[i], pcm[i] / 32768.0f);
}

}  // namespace
}  // namespace dial::speech
