#include "speech/asr/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "speech/asr/asr_test_util.h"

namespace dial::speech {
namespace {

namespace fs = std::filesystem;

// A tiny model on the tone corpus: trains in a few seconds on one thread.
class TrainAsrTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    corpus_ = new std::string(testing::TestTempDir("trainer_corpus"));
    ASSERT_TRUE(testing::WriteToneCorpus(*corpus_, 2, 16));
  }
  static void TearDownTestSuite() {
    fs::remove_all(*corpus_);
    delete corpus_;
  }
  static AsrTrainConfig TinyConfig(const std::string& out) {
    AsrTrainConfig c;
    c.data = *corpus_;
    c.output_dir = out;
    c.n_mels = 23;
    c.model.encoder = "lstm";
    c.model.num_layers = 1;
    c.model.d_model = 32;
    c.model.dropout = 0.0;
    c.model.subsampling = "conv2d";
    c.lr = 5e-3;
    c.warmup_steps = 2;
    c.batch_size = 8;
    c.epochs = 3;
    c.num_threads = 1;
    c.num_freq_masks = 0;
    c.num_time_masks = 0;
    c.seed = 3;
    return c;
  }
  static std::string* corpus_;
};
std::string* TrainAsrTest::corpus_ = nullptr;

TEST_F(TrainAsrTest, TrainsChecksPointsAndResumes) {
  const std::string out = testing::TestTempDir("trainer_out");
  AsrTrainConfig config = TinyConfig(out);
  int epochs_seen = 0;
  AsrTrainCallbacks callbacks;
  callbacks.on_epoch = [&](const AsrEpochReport& r) {
    ++epochs_seen;
    EXPECT_EQ(r.epoch, epochs_seen);
    EXPECT_GT(r.lr, 0.0);
    EXPECT_GT(r.mean_grad_norm, 0.0);
    return true;
  };
  auto result = TrainAsr(config, callbacks);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->epochs.size(), 3u);
  EXPECT_EQ(epochs_seen, 3);
  // It learns: the loss falls epoch after epoch.
  EXPECT_LT(result->epochs[2].train_loss, result->epochs[0].train_loss);
  EXPECT_TRUE(result->has_test);
  EXPECT_EQ(result->test.n_utterances, 32);
  EXPECT_FALSE(result->test.kaldi_wer_line.empty());
  EXPECT_GT(result->num_parameters, 0);
  EXPECT_NEAR(result->peak_lr, 5e-3, 1e-12);
  for (const char* file : {"checkpoint.pt", "checkpoint.json", "units.txt", "global_cmvn.json", "train_config.json"}) {
    EXPECT_TRUE(fs::exists(fs::path(out) / file)) << file;
  }

  // Resume: two more epochs train only epochs 4 and 5; the history holds all five.
  config.epochs = 5;
  epochs_seen = 3;
  auto resumed = TrainAsr(config, callbacks);
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  ASSERT_EQ(resumed->epochs.size(), 5u);
  EXPECT_EQ(epochs_seen, 5);
  EXPECT_EQ(resumed->epochs[2].train_loss, result->epochs[2].train_loss);

  // A checkpoint made with other model keys is not resumed.
  config.model.d_model = 48;
  auto mismatch = TrainAsr(config, {});
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.status().message().find("d_model"), std::string::npos) << mismatch.status().message();
  fs::remove_all(out);
}

// The TDNN encoder learns, and the dev set's loss (eval mode) is reported each epoch and can be the metric.
TEST_F(TrainAsrTest, TdnnLearnsAndDevLossCanBeTheMetric) {
  const std::string out = testing::TestTempDir("trainer_tdnn");
  AsrTrainConfig config = TinyConfig(out);
  config.model.encoder = "tdnn";
  config.model.subsampling = "none";
  config.model.num_layers = 3;
  config.model.conv_kernel_size = 5;
  config.lr = 1e-2;
  config.epochs = 4;
  config.metric = "dev_loss";
  ASSERT_TRUE(config.Validate().ok()) << config.Validate().ToString();
  auto result = TrainAsr(config, {});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  ASSERT_EQ(result->epochs.size(), 4u);
  for (const AsrEpochReport& e : result->epochs) {
    EXPECT_TRUE(std::isfinite(e.dev.loss) && e.dev.loss > 0.0) << e.dev.loss;
    EXPECT_EQ(e.dev.Metric("dev_loss"), e.dev.loss);
  }
  EXPECT_LT(result->epochs[3].train_loss, result->epochs[0].train_loss);
  EXPECT_LT(result->epochs[3].dev.loss, result->epochs[0].dev.loss);
  EXPECT_GT(result->test.loss, 0.0);
  fs::remove_all(out);
}

TEST_F(TrainAsrTest, ResumedRunMatchesAnUninterruptedOne) {
  const std::string a = testing::TestTempDir("trainer_a");
  const std::string b = testing::TestTempDir("trainer_b");
  AsrTrainConfig config = TinyConfig(a);
  config.epochs = 2;
  config.test_set = "none";
  auto straight = TrainAsr(config, {});
  ASSERT_TRUE(straight.ok()) << straight.status().ToString();
  // The same run stopped after its first epoch (as a pruned or killed trial would be), then started again: the
  // schedule spans the same two epochs, so the second epoch must be what the uninterrupted run's was.
  config.output_dir = b;
  AsrTrainCallbacks stop_after_first;
  stop_after_first.on_epoch = [](const AsrEpochReport& r) { return r.epoch < 1; };
  auto first = TrainAsr(config, stop_after_first);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(first->stopped_early);
  ASSERT_EQ(first->epochs.size(), 1u);
  auto resumed = TrainAsr(config, {});
  ASSERT_TRUE(resumed.ok()) << resumed.status().ToString();
  EXPECT_NEAR(resumed->epochs[1].train_loss, straight->epochs[1].train_loss, 1e-4);
  EXPECT_EQ(resumed->dev.wer, straight->dev.wer);
  fs::remove_all(a);
  fs::remove_all(b);
}

TEST_F(TrainAsrTest, ContinuesFromAnotherRunsCheckpoint) {
  const std::string parent = testing::TestTempDir("trainer_parent");
  const std::string child = testing::TestTempDir("trainer_child");
  AsrTrainConfig config = TinyConfig(parent);
  config.epochs = 1;
  config.test_set = "none";
  auto first = TrainAsr(config, {});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  // A promoted trial: more epochs, same model and data, its own directory.
  config.output_dir = child;
  config.epochs = 2;
  auto note = ContinueFromCheckpoint(config, parent);
  ASSERT_TRUE(note.ok()) << note.status().ToString();
  EXPECT_NE(note->find("continuing"), std::string::npos) << *note;
  auto continued = TrainAsr(config, {});
  ASSERT_TRUE(continued.ok()) << continued.status().ToString();
  ASSERT_EQ(continued->epochs.size(), 2u);
  EXPECT_EQ(continued->epochs[0].train_loss, first->epochs[0].train_loss);  // epoch 1 was not trained again
  // Its own checkpoint now wins; a child with another model starts afresh and says why.
  EXPECT_NE(ContinueFromCheckpoint(config, parent)->find("own checkpoint"), std::string::npos);
  config.output_dir = child + "-wider";
  config.model.d_model = 48;
  note = ContinueFromCheckpoint(config, parent);
  ASSERT_TRUE(note.ok()) << note.status().ToString();
  EXPECT_NE(note->find("afresh"), std::string::npos) << *note;
  EXPECT_NE(note->find("d_model"), std::string::npos) << *note;
  EXPECT_FALSE(fs::exists(fs::path(config.output_dir) / "checkpoint.json"));
  fs::remove_all(parent);
  fs::remove_all(child);
}

TEST_F(TrainAsrTest, HugeLearningRateDivergesWithAReason) {
  const std::string out = testing::TestTempDir("trainer_nan");
  AsrTrainConfig config = TinyConfig(out);
  config.lr = 1e6;
  config.warmup_steps = 0;
  config.scheduler = "constant";
  config.grad_clip = 0;
  auto result = TrainAsr(config, {});
  ASSERT_FALSE(result.ok());
  EXPECT_TRUE(IsDivergence(result.status())) << result.status().ToString();
  fs::remove_all(out);
}

TEST_F(TrainAsrTest, CallbacksStopAndInterrupt) {
  const std::string out = testing::TestTempDir("trainer_stop");
  AsrTrainConfig config = TinyConfig(out);
  AsrTrainCallbacks prune;
  prune.on_epoch = [](const AsrEpochReport&) { return false; };
  auto pruned = TrainAsr(config, prune);
  ASSERT_TRUE(pruned.ok());
  EXPECT_TRUE(pruned->stopped_early);
  EXPECT_EQ(pruned->epochs.size(), 1u);
  EXPECT_FALSE(pruned->has_test);

  fs::remove_all(out);
  AsrTrainCallbacks interrupt;
  int polls = 0;
  interrupt.should_stop = [&] { return ++polls > 2; };
  auto interrupted = TrainAsr(config, interrupt);
  ASSERT_FALSE(interrupted.ok());
  EXPECT_EQ(interrupted.status().code(), StatusCode::kCancelled);
  fs::remove_all(out);
}

TEST_F(TrainAsrTest, MissingCorpusIsNotFound) {
  AsrTrainConfig config = TinyConfig("");
  config.data = "/nonexistent/corpus";
  auto result = TrainAsr(config, {});
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("train_set"), std::string::npos) << result.status().message();
}

}  // namespace
}  // namespace dial::speech
