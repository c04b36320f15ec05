#include "speech/asr/dataset.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "speech/asr/asr_test_util.h"

namespace dial::speech {
namespace {

class DatasetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(testing::TestTempDir("dataset"));
    ASSERT_TRUE(testing::WriteToneCorpus(*dir_, 2, 5));
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }
  static Corpus Read(const std::string& set) {
    auto corpus = ReadCorpus((std::filesystem::path(*dir_) / set).string());
    EXPECT_TRUE(corpus.ok()) << corpus.status().ToString();
    return *corpus;
  }
  static std::string* dir_;
};
std::string* DatasetTest::dir_ = nullptr;

TEST_F(DatasetTest, LoadsFeaturesOfEveryUtterance) {
  LoadSetOptions options;
  options.fbank.n_mels = 40;
  options.num_threads = 2;
  auto set = LoadAsrSet(Read("train"), "train", options, {});
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_EQ(set->utterances.size(), 10u);
  for (const AsrUtterance& u : set->utterances) {
    EXPECT_EQ(u.feats.dim, 40);
    // 1.3 s at 10 ms shift with snip_edges: (20800 - 400) / 160 + 1 frames.
    EXPECT_EQ(u.feats.num_frames, 128);
    EXPECT_NEAR(u.duration_seconds, 1.3, 1e-3);
  }
  EXPECT_NEAR(set->total_seconds, 13.0, 1e-2);
}

TEST_F(DatasetTest, LogsProgressWhileExtracting) {
  LoadSetOptions options;
  options.num_threads = 2;
  options.progress_interval_seconds = 0;  // every utterance the logging thread finishes
  std::vector<std::string> logged;
  auto set = LoadAsrSet(Read("train"), "train", options, [&](const std::string& line) { logged.push_back(line); });
  ASSERT_TRUE(set.ok()) << set.status().ToString();
  ASSERT_FALSE(logged.empty());
  for (const std::string& line : logged) EXPECT_EQ(line.rfind("train: features of ", 0), 0u) << line;
  EXPECT_NE(logged.back().find("/10 utterances ("), std::string::npos) << logged.back();
  // The default interval keeps a quick load quiet.
  logged.clear();
  options.progress_interval_seconds = 10;
  ASSERT_TRUE(LoadAsrSet(Read("train"), "train", options, [&](const std::string& l) { logged.push_back(l); }).ok());
  EXPECT_TRUE(logged.empty());
}

TEST_F(DatasetTest, DitherIsSeededAndThreadCountDoesNotMatter) {
  LoadSetOptions options;
  options.fbank.dither = 1.0f;
  options.seed = 7;
  options.num_threads = 1;
  auto a = LoadAsrSet(Read("dev"), "dev", options, {});
  options.num_threads = 2;
  auto b = LoadAsrSet(Read("dev"), "dev", options, {});
  options.seed = 8;
  auto c = LoadAsrSet(Read("dev"), "dev", options, {});
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->utterances[3].feats.data, b->utterances[3].feats.data);
  EXPECT_NE(a->utterances[3].feats.data, c->utterances[3].feats.data);
}

// Through the feature cache: the second load of the same set with the same front end reads every utterance from
// the cache, with the same features and durations; another dither seed or n_mels misses it.
TEST_F(DatasetTest, FeatureCacheServesTheSecondLoad) {
  const std::string cache_dir = testing::TestTempDir("dataset_cache");
  LoadSetOptions options;
  options.fbank.dither = 1.0f;
  options.seed = 7;
  options.num_threads = 2;
  options.speed_factors = {0.9, 1.0};
  options.feature_cache_dir = cache_dir;
  auto first = LoadAsrSet(Read("dev"), "dev", options, {});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->feature_cache_hits, 0);
  auto second = LoadAsrSet(Read("dev"), "dev", options, {});
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  ASSERT_EQ(second->utterances.size(), first->utterances.size());
  EXPECT_EQ(second->feature_cache_hits, static_cast<int64_t>(first->utterances.size()));
  for (size_t i = 0; i < first->utterances.size(); ++i) {
    EXPECT_EQ(second->utterances[i].id, first->utterances[i].id);
    EXPECT_EQ(second->utterances[i].feats.data, first->utterances[i].feats.data);
    // From the file's header divided by the speed factor: within one sample of the resampled length.
    EXPECT_NEAR(second->utterances[i].duration_seconds, first->utterances[i].duration_seconds, 1.0 / 16000);
  }
  // The uncached load gives the same features: the cache changes nothing but the time.
  LoadSetOptions uncached = options;
  uncached.feature_cache_dir.clear();
  auto plain = LoadAsrSet(Read("dev"), "dev", uncached, {});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->utterances[1].feats.data, first->utterances[1].feats.data);
  options.seed = 8;
  auto reseeded = LoadAsrSet(Read("dev"), "dev", options, {});
  ASSERT_TRUE(reseeded.ok());
  EXPECT_EQ(reseeded->feature_cache_hits, 0);
  options.seed = 7;
  options.fbank.n_mels = 40;
  auto other_front_end = LoadAsrSet(Read("dev"), "dev", options, {});
  ASSERT_TRUE(other_front_end.ok());
  EXPECT_EQ(other_front_end->feature_cache_hits, 0);
  std::filesystem::remove_all(cache_dir);
}

TEST_F(DatasetTest, BadUtteranceIsSkippedWithIdAndFileOrStops) {
  Corpus corpus = Read("dev");
  corpus.entries[2].audio_path = "/nonexistent/missing.wav";
  corpus.entries[4].text = "   ";
  std::vector<std::string> logged;
  LoadSetOptions options;
  auto set = LoadAsrSet(corpus, "dev", options, [&](const std::string& line) { logged.push_back(line); });
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->utterances.size(), 8u);
  ASSERT_EQ(set->skipped.size(), 2u);
  EXPECT_NE(set->skipped[0].find(corpus.entries[2].id), std::string::npos);
  EXPECT_NE(set->skipped[0].find("/nonexistent/missing.wav"), std::string::npos);
  EXPECT_NE(set->skipped[1].find("empty transcript"), std::string::npos);
  EXPECT_EQ(logged.size(), 2u);

  options.bad_utterances = BadUtterancePolicy::kStop;
  auto stopped = LoadAsrSet(corpus, "dev", options, {});
  ASSERT_FALSE(stopped.ok());
  EXPECT_NE(stopped.status().message().find(corpus.entries[2].id), std::string::npos);
}

TEST_F(DatasetTest, RefusesToUpsample) {
  LoadSetOptions options;
  options.fbank.sample_rate = 32000;
  auto set = LoadAsrSet(Read("dev"), "dev", options, {});
  EXPECT_FALSE(set.ok());  // every utterance is bad: nothing is left
}

TEST_F(DatasetTest, SpeedPerturbationMakesThreeCopies) {
  LoadSetOptions options;
  options.speed_factors = {0.9, 1.0, 1.1};
  auto set = LoadAsrSet(Read("dev"), "dev", options, {});
  ASSERT_TRUE(set.ok());
  ASSERT_EQ(set->utterances.size(), 30u);
  std::set<std::string> ids;
  for (const AsrUtterance& u : set->utterances) {
    ids.insert(u.id);
    if (u.id.rfind("sp0.9-", 0) == 0) {
      EXPECT_NEAR(u.duration_seconds, 1.3 / 0.9, 0.01);
    }
    if (u.id.rfind("sp1.1-", 0) == 0) {
      EXPECT_NEAR(u.duration_seconds, 1.3 / 1.1, 0.01);
    }
  }
  EXPECT_EQ(ids.size(), 30u);
}

TEST_F(DatasetTest, CmvnNormalisesTheTrainingSet) {
  auto set = LoadAsrSet(Read("train"), "train", LoadSetOptions{}, {});
  ASSERT_TRUE(set.ok());
  auto cmvn = ComputeCmvn(*set);
  ASSERT_TRUE(cmvn.ok());
  ASSERT_TRUE(ApplyCmvn(*cmvn, &*set).ok());
  const int dim = set->utterances[0].feats.dim;
  std::vector<double> sum(dim, 0.0), sum_sq(dim, 0.0);
  double n = 0;
  for (const AsrUtterance& u : set->utterances) {
    for (int t = 0; t < u.feats.num_frames; ++t) {
      for (int d = 0; d < dim; ++d) {
        sum[d] += u.feats.Row(t)[d];
        sum_sq[d] += u.feats.Row(t)[d] * u.feats.Row(t)[d];
      }
      ++n;
    }
  }
  for (int d = 0; d < dim; ++d) {
    EXPECT_NEAR(sum[d] / n, 0.0, 1e-3);
    EXPECT_NEAR(sum_sq[d] / n, 1.0, 1e-2);
  }
}

// A set of utterances with given frame counts and token counts, no audio.
AsrDataSet FakeSet(const std::vector<int>& frames) {
  AsrDataSet set;
  for (size_t i = 0; i < frames.size(); ++i) {
    AsrUtterance u;
    u.id = "u" + std::to_string(100 + i);
    u.feats.num_frames = frames[i];
    u.feats.dim = 3;
    u.feats.data.assign(static_cast<size_t>(frames[i]) * 3, static_cast<float>(i + 1));
    u.tokens.assign(1 + i % 4, static_cast<int>(2 + i));
    set.utterances.push_back(u);
  }
  return set;
}

TEST(BatchingTest, BucketsByLengthAndShufflesBatchesBySeed) {
  const AsrDataSet set = FakeSet({50, 10, 40, 20, 30, 60, 70, 5, 15, 25});
  const auto sorted = MakeBatches(set, 3, /*shuffle=*/false, 0);
  ASSERT_EQ(sorted.size(), 4u);
  EXPECT_EQ(sorted[0], (std::vector<int>{7, 1, 8}));  // 5, 10, 15 frames
  EXPECT_EQ(sorted[3], (std::vector<int>{6}));        // the longest, alone
  const auto a = MakeBatches(set, 3, true, 11);
  const auto b = MakeBatches(set, 3, true, 11);
  EXPECT_EQ(a, b);
  std::set<std::vector<int>> as(a.begin(), a.end()), ss(sorted.begin(), sorted.end());
  EXPECT_EQ(as, ss);  // the same batches, another order
  bool some_seed_differs = false;
  for (uint64_t seed = 0; seed < 10; ++seed) some_seed_differs |= MakeBatches(set, 3, true, seed) != sorted;
  EXPECT_TRUE(some_seed_differs);
}

TEST(BatchingTest, CollatePadsFeaturesWithZerosAndTargetsWithMinusOne) {
  const AsrDataSet set = FakeSet({4, 2, 3});
  const std::vector<int> indices = {1, 0};
  const AsrBatch batch = CollateBatch(set, indices);
  ASSERT_EQ(batch.feats.sizes(), (std::vector<int64_t>{2, 4, 3}));
  EXPECT_EQ(batch.feat_lens[0].item<int64_t>(), 2);
  EXPECT_EQ(batch.feat_lens[1].item<int64_t>(), 4);
  EXPECT_EQ(batch.feats[0][1][2].item<float>(), 2.0f);
  EXPECT_EQ(batch.feats[0][2][0].item<float>(), 0.0f);  // padding
  EXPECT_EQ(batch.target_lens[0].item<int64_t>(), 2);
  EXPECT_EQ(batch.target_lens[1].item<int64_t>(), 1);
  ASSERT_EQ(batch.targets.sizes(), (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(batch.targets[1][0].item<int64_t>(), 2);
  EXPECT_EQ(batch.targets[1][1].item<int64_t>(), -1);
  // An augmenter sees a copy: the set is unchanged, the batch changed, the seed differs per utterance.
  std::vector<uint64_t> seeds;
  const AsrBatch augmented = CollateBatch(
      set, indices,
      [&](FeatureMatrix& f, uint64_t seed) {
        seeds.push_back(seed);
        f.data[0] = -5.0f;
      },
      3);
  EXPECT_EQ(augmented.feats[0][0][0].item<float>(), -5.0f);
  EXPECT_EQ(set.utterances[1].feats.data[0], 2.0f);
  ASSERT_EQ(seeds.size(), 2u);
  EXPECT_NE(seeds[0], seeds[1]);
}

}  // namespace
}  // namespace dial::speech
