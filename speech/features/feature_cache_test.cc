// Tests of the on-disk feature cache: hits, rejection of damaged or foreign files, concurrent writers, keys.
#include "speech/features/feature_cache.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <random>
#include <thread>

#include "speech/audio/audio.h"

namespace dial::speech {
namespace {

namespace fs = std::filesystem;

class FeatureCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dial_feature_cache_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// Deterministic features for a key number: frames and values depend on it.
FeatureMatrix MakeFeatures(int key) {
  FeatureMatrix m;
  m.num_frames = 200 + key * 50;  // up to ~0.7 MB: long enough writes that a non-atomic writer gets caught
  m.dim = 80;
  m.data.resize(static_cast<size_t>(m.num_frames) * m.dim);
  for (size_t i = 0; i < m.data.size(); ++i) m.data[i] = static_cast<float>(std::sin(0.001 * i + key));
  return m;
}

bool Same(const FeatureMatrix& a, const FeatureMatrix& b) {
  return a.num_frames == b.num_frames && a.dim == b.dim && a.data == b.data;
}

std::vector<std::string> Key(int k) { return {"fbank/v1 n_mels=80", "utt-" + std::to_string(k)}; }

TEST_F(FeatureCacheTest, MissThenHit) {
  auto cache = FeatureCache::Open(dir_.string());
  ASSERT_TRUE(cache.ok()) << cache.status().ToString();
  int computed = 0;
  auto compute = [&] {
    ++computed;
    return Result<FeatureMatrix>(MakeFeatures(3));
  };
  auto first = cache->GetOrCompute(Key(3), compute);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(Same(*first, MakeFeatures(3)));
  EXPECT_TRUE(fs::exists(cache->PathFor(Key(3))));
  auto second = cache->GetOrCompute(Key(3), compute);
  ASSERT_TRUE(second.ok());
  EXPECT_TRUE(Same(*second, MakeFeatures(3)));
  EXPECT_EQ(computed, 1);
  EXPECT_EQ(cache->stats().hits, 1);
  EXPECT_EQ(cache->stats().misses, 1);
  // Another object (another process, later) sees the same entry.
  auto again = FeatureCache::Open(dir_.string());
  ASSERT_TRUE(again->GetOrCompute(Key(3), compute).ok());
  EXPECT_EQ(computed, 1);
  // Empty features (an utterance shorter than a window) are cached too.
  auto empty = cache->GetOrCompute({"short"}, [] { return Result<FeatureMatrix>(FeatureMatrix{0, 80, {}}); });
  ASSERT_TRUE(empty.ok());
  auto empty_again = cache->GetOrCompute({"short"}, [] { return Result<FeatureMatrix>(Internal("not called")); });
  ASSERT_TRUE(empty_again.ok()) << empty_again.status().ToString();
  EXPECT_EQ(empty_again->num_frames, 0);
}

TEST_F(FeatureCacheTest, KeyPartsAreLengthPrefixed) {
  EXPECT_NE(FeatureCacheHash({"ab", "c"}), FeatureCacheHash({"a", "bc"}));
  EXPECT_NE(FeatureCacheHash({"abc"}), FeatureCacheHash({"ab", "c"}));
  EXPECT_EQ(FeatureCacheHash({"x", "y"}), FeatureCacheHash({"x", "y"}));
}

TEST_F(FeatureCacheTest, DamagedFilesAreRecomputed) {
  auto cache = FeatureCache::Open(dir_.string());
  ASSERT_TRUE(cache.ok());
  int computed = 0;
  auto compute = [&] {
    ++computed;
    return Result<FeatureMatrix>(MakeFeatures(5));
  };
  ASSERT_TRUE(cache->GetOrCompute(Key(5), compute).ok());
  const std::string path = cache->PathFor(Key(5));
  const auto size = fs::file_size(path);

  fs::resize_file(path, size - 100);  // short
  auto r = cache->GetOrCompute(Key(5), compute);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(Same(*r, MakeFeatures(5)));
  EXPECT_EQ(computed, 2);
  EXPECT_EQ(fs::file_size(path), size);  // replaced by a whole entry

  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size - 1000));
    f.put('\x7f');  // a bit flip inside the data
  }
  r = cache->GetOrCompute(Key(5), compute);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(Same(*r, MakeFeatures(5)));
  EXPECT_EQ(computed, 3);

  std::ofstream(path, std::ios::trunc) << "garbage";
  r = cache->GetOrCompute(Key(5), compute);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(computed, 4);
  EXPECT_EQ(cache->stats().rejected, 3);
  ASSERT_TRUE(cache->GetOrCompute(Key(5), compute).ok());
  EXPECT_EQ(computed, 4);
}

TEST_F(FeatureCacheTest, AFileForAnotherKeyIsNotTrusted) {
  // Simulates a hash collision: key 1's entry sits where key 2's belongs.
  auto cache = FeatureCache::Open(dir_.string());
  ASSERT_TRUE(cache->GetOrCompute(Key(1), [] { return Result<FeatureMatrix>(MakeFeatures(1)); }).ok());
  fs::create_directories(fs::path(cache->PathFor(Key(2))).parent_path());
  fs::copy_file(cache->PathFor(Key(1)), cache->PathFor(Key(2)), fs::copy_options::overwrite_existing);
  auto r = cache->GetOrCompute(Key(2), [] { return Result<FeatureMatrix>(MakeFeatures(2)); });
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(Same(*r, MakeFeatures(2)));
  EXPECT_EQ(cache->stats().rejected, 1);
}

TEST_F(FeatureCacheTest, ComputeErrorsPassThroughAndStoreNothing) {
  auto cache = FeatureCache::Open(dir_.string());
  auto r = cache->GetOrCompute(Key(9), [] { return Result<FeatureMatrix>(InvalidArgument("bad.wav: truncated")); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "bad.wav: truncated");
  EXPECT_FALSE(fs::exists(cache->PathFor(Key(9))));
  r = cache->GetOrCompute(Key(9), [] { return Result<FeatureMatrix>(FeatureMatrix{2, 3, {1, 2}}); });
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

TEST_F(FeatureCacheTest, OpenFailsOnAnUnusableDirectory) {
  fs::create_directories(dir_);
  std::ofstream((dir_ / "file").string()) << "x";
  auto r = FeatureCache::Open((dir_ / "file").string());
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
  EXPECT_NE(r.status().message().find("file"), std::string::npos);
}

TEST_F(FeatureCacheTest, FourProcessesComputingTheSameKeys) {
  constexpr int kProcesses = 4;
  constexpr int kKeys = 40;
  constexpr int kRounds = 3;
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Child: no gtest assertions (they would report in the child); the exit code says whether all was valid.
      int bad = 0;
      auto cache = FeatureCache::Open(dir_.string());
      if (!cache.ok()) ::_exit(3);
      for (int round = 0; round < kRounds; ++round) {
        for (int i = 0; i < kKeys; ++i) {
          const int k = (i * (p + 1) + round) % kKeys;  // each process visits the keys in its own order
          auto r = cache->GetOrCompute(Key(k), [k] { return Result<FeatureMatrix>(MakeFeatures(k)); });
          bad += !r.ok() || !Same(*r, MakeFeatures(k));
        }
      }
      // Entries only ever appear by rename of a whole file, so no reader may meet a partial one.
      if (cache->stats().rejected != 0) ::_exit(2);
      ::_exit(bad == 0 ? 0 : 1);
    }
    children.push_back(pid);
  }
  for (pid_t pid : children) {
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child " << pid << " status " << status;
  }
  // Every entry is whole, and no temporary file is left behind.
  auto cache = FeatureCache::Open(dir_.string());
  for (int k = 0; k < kKeys; ++k) {
    auto r = cache->GetOrCompute(Key(k), [] { return Result<FeatureMatrix>(Internal("should be cached")); });
    ASSERT_TRUE(r.ok()) << k << ": " << r.status().ToString();
    EXPECT_TRUE(Same(*r, MakeFeatures(k)));
  }
  int files = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir_)) {
    if (!e.is_regular_file()) continue;
    ++files;
    EXPECT_EQ(e.path().extension(), ".feat") << e.path();
  }
  EXPECT_EQ(files, kKeys);
}

TEST_F(FeatureCacheTest, FrontEndKeyCoversTheOptions) {
  const FbankOptions base;
  const std::string k = FrontEndKey(base, 16000);
  EXPECT_EQ(k, FrontEndKey(base, 16000));
  EXPECT_NE(k, FrontEndKey(base, 8000));
  auto differs = [&](auto change) {
    FbankOptions o = base;
    change(o);
    return FrontEndKey(o, 16000) != k;
  };
  EXPECT_TRUE(differs([](FbankOptions& o) { o.n_mels = 40; }));
  EXPECT_TRUE(differs([](FbankOptions& o) { o.dither = 1.0f; }));
  EXPECT_TRUE(differs([](FbankOptions& o) { o.dither_seed = 1; }));
  EXPECT_TRUE(differs([](FbankOptions& o) { o.snip_edges = false; }));
  EXPECT_TRUE(differs([](FbankOptions& o) { o.window = WindowType::kHann; }));
  EXPECT_TRUE(differs([](FbankOptions& o) { o.frame_shift_ms = 12.5f; }));
  EXPECT_TRUE(differs([](FbankOptions& o) { o.high_freq = -400.0f; }));
  EXPECT_TRUE(differs([](FbankOptions& o) { o.use_energy = true; }));
  EXPECT_TRUE(differs([](FbankOptions& o) { o.input_scale = 1.0f; }));
  MfccOptions mfcc;
  EXPECT_NE(FrontEndKey(mfcc, 16000), FrontEndKey(mfcc.fbank, 16000));
}

TEST_F(FeatureCacheTest, AudioIdentityFollowsTheFile) {
  fs::create_directories(dir_);
  const std::string wav = (dir_ / "a.wav").string();
  ASSERT_TRUE(WriteWav(wav, Waveform{std::vector<float>(1600, 0.1f), 16000}).ok());
  CorpusEntry e;
  e.id = "a";
  e.audio_path = wav;
  auto id1 = AudioIdentity(e);
  ASSERT_TRUE(id1.ok());
  EXPECT_EQ(*id1, *AudioIdentity(e));
  e.offset_seconds = 0.05;
  EXPECT_NE(*id1, *AudioIdentity(e));
  e.offset_seconds = 0;
  ASSERT_TRUE(WriteWav(wav, Waveform{std::vector<float>(3200, 0.1f), 16000}).ok());
  EXPECT_NE(*id1, *AudioIdentity(e));
  e.audio_path = (dir_ / "missing.wav").string();
  EXPECT_EQ(AudioIdentity(e).status().code(), StatusCode::kNotFound);
  const std::vector<float> s = {0.1f, 0.2f};
  EXPECT_NE(SamplesIdentity(s, 16000), SamplesIdentity(s, 8000));
  EXPECT_NE(SamplesIdentity(s, 16000), SamplesIdentity(std::vector<float>{0.1f, 0.3f}, 16000));
}

// The hit speed-up figure for docs/speech-data.md. Run it with
//   dial_speech_tests --gtest_also_run_disabled_tests --gtest_filter='FeatureCacheBench.*'
// Audio: 5 minutes as 30 WAV files of 10 s (a chirp plus noise; fbank's cost does not depend on the content).
TEST(FeatureCacheBench, DISABLED_HitSpeedup) {
  constexpr int kFiles = 30;
  constexpr double kSecondsPerFile = 10.0;
  constexpr int kRate = 16000;
  const fs::path dir = fs::temp_directory_path() / ("dial_feature_cache_bench_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "wav");
  std::mt19937_64 rng(1);
  std::normal_distribution<float> noise(0.0f, 0.05f);
  std::vector<CorpusEntry> entries;
  for (int f = 0; f < kFiles; ++f) {
    Waveform w;
    w.sample_rate = kRate;
    const int n = static_cast<int>(kSecondsPerFile * kRate);
    for (int i = 0; i < n; ++i) {
      const double t = static_cast<double>(i) / kRate;
      w.samples.push_back(static_cast<float>(0.3 * std::sin(2 * std::numbers::pi * (200 + 100 * f) * t * (1 + t))) +
                          noise(rng));
    }
    CorpusEntry e;
    e.id = "utt" + std::to_string(f);
    e.audio_path = (dir / "wav" / (e.id + ".wav")).string();
    ASSERT_TRUE(WriteWav(e.audio_path, w).ok());
    entries.push_back(e);
  }
  const FbankOptions options;  // 80 bins, 25/10 ms, povey
  auto fbank = NewFbankComputer(options);
  ASSERT_TRUE(fbank.ok());
  const std::string front_end = FrontEndKey(options, kRate);
  auto compute = [&](const CorpusEntry& e) -> Result<FeatureMatrix> {
    DIAL_ASSIGN_OR_RETURN(Waveform w, LoadAudio(e));
    return (*fbank)->Compute(w.samples);
  };
  using Clock = std::chrono::steady_clock;
  auto seconds_since = [](Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); };

  // Without the cache: read the WAV + fbank, best of 3 passes.
  double uncached = 1e9;
  for (int pass = 0; pass < 3; ++pass) {
    const auto t0 = Clock::now();
    for (const auto& e : entries) ASSERT_TRUE(compute(e).ok());
    uncached = std::min(uncached, seconds_since(t0));
  }
  auto cache = FeatureCache::Open((dir / "cache").string());
  ASSERT_TRUE(cache.ok());
  auto t0 = Clock::now();
  for (const auto& e : entries) {
    ASSERT_TRUE(cache->GetOrCompute({front_end, *AudioIdentity(e)}, [&] { return compute(e); }).ok());
  }
  const double first = seconds_since(t0);
  double hit = 1e9;
  for (int pass = 0; pass < 3; ++pass) {
    t0 = Clock::now();
    for (const auto& e : entries) {
      ASSERT_TRUE(cache->GetOrCompute({front_end, *AudioIdentity(e)}, [&] { return compute(e); }).ok());
    }
    hit = std::min(hit, seconds_since(t0));
  }
  EXPECT_EQ(cache->stats().misses, kFiles);
  EXPECT_EQ(cache->stats().hits, 3 * kFiles);
  const double audio_seconds = kFiles * kSecondsPerFile;
  std::printf("audio: %.0f s in %d files; read+fbank (no cache): %.3f s (%.0fx real time)\n", audio_seconds, kFiles,
              uncached, audio_seconds / uncached);
  std::printf("first pass with cache (miss: compute + store): %.3f s\n", first);
  std::printf("cache hits: %.4f s (%.0fx real time); hit speed-up over read+fbank: %.1fx\n", hit, audio_seconds / hit,
              uncached / hit);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace dial::speech
