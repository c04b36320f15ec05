// The trainer's keys, defined once: reading, checking, ToJson, and the docs' tables printed from the definitions.
// Plain C++ (no torch): runs in a build without libtorch too.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "speech/asr/trainer.h"

namespace dial::speech {
namespace {

TEST(AsrTrainConfigTest, DefaultsAreValidWithData) {
  auto config = AsrTrainConfigFromJson(Json{{"data", "/corpus"}});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->model.encoder, "conformer");
  EXPECT_EQ(config->decoding, "ctc_greedy_search");
  // ToJson names every key, and reads back to the same config.
  const Json j = config->ToJson();
  EXPECT_EQ(j.size(), AsrTrainConfigKeys().size());
  auto again = AsrTrainConfigFromJson(j);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->ToJson(), j);
}

TEST(AsrTrainConfigTest, ErrorsNameTheKey) {
  const auto message = [](const Json& keys) {
    Json all = keys;
    all["data"] = "/corpus";
    auto config = AsrTrainConfigFromJson(all);
    EXPECT_FALSE(config.ok()) << keys.dump();
    return config.ok() ? std::string() : config.status().message();
  };
  EXPECT_EQ(message({{"larning_rate", 1}}).rfind("larning_rate: unknown key", 0), 0u);
  EXPECT_NE(message({{"n_mel", 40}}).find("did you mean n_mels?"), std::string::npos);
  EXPECT_EQ(message({{"n_mels", "forty"}}).rfind("n_mels: expected an integer", 0), 0u);
  EXPECT_EQ(message({{"n_mels", 40.5}}).rfind("n_mels: expected an integer", 0), 0u);
  EXPECT_EQ(message({{"lr", "fast"}}).rfind("lr: expected a number", 0), 0u);
  EXPECT_EQ(message({{"nesterov", 1}}).rfind("nesterov: expected true or false", 0), 0u);
  EXPECT_EQ(message({{"batch_size", 0}}), "batch_size (0) must be >= 1");
  EXPECT_EQ(message({{"lr", -1.0}}).rfind("lr (", 0), 0u);
  EXPECT_EQ(message({{"optimizer", "lamb"}}).rfind("optimizer (lamb) must be one of adam, adamw", 0), 0u);
  EXPECT_EQ(message({{"d_model", 250}}), "d_model (250) must be divisible by attention_heads (4)");
  EXPECT_EQ(message({{"decoding", "attention_rescoring"}}).rfind("decoding: attention_rescoring needs", 0), 0u);
  EXPECT_EQ(message({{"epochs", -2}}), "epochs (-2) must be >= 1");
  auto no_data = AsrTrainConfigFromJson(Json::object());
  ASSERT_FALSE(no_data.ok());
  EXPECT_EQ(no_data.status().message().rfind("data:", 0), 0u);
}

TEST(AsrTrainConfigTest, AcceptsWholeFloatsForIntsAndIntsForFloats) {
  auto config = AsrTrainConfigFromJson(Json{{"data", "/c"}, {"epochs", 3.0}, {"lr", 1}, {"seed", 12}});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->epochs, 3);
  EXPECT_EQ(config->lr, 1.0);
  EXPECT_EQ(config->seed, 12u);
}

// The rules that used to differ between the trainer's check and the model's (d_model >= 1 vs even, dropout
// <= 0.99 vs < 1, conv_kernel_size any vs odd) are one rule now, applied when the keys are read.
TEST(AsrTrainConfigTest, ModelRulesApplyWhenTheKeysAreRead) {
  const auto message = [](const Json& keys) {
    Json all = keys;
    all["data"] = "/corpus";
    auto config = AsrTrainConfigFromJson(all);
    return config.ok() ? std::string() : config.status().message();
  };
  EXPECT_EQ(message({{"d_model", 1}}), "d_model (1) must be >= 2");
  EXPECT_EQ(message({{"d_model", 33}, {"attention_heads", 1}}).rfind("d_model (33) must be even", 0), 0u);
  EXPECT_EQ(message({{"conv_kernel_size", 4}}).rfind("conv_kernel_size (4) must be odd", 0), 0u);
  EXPECT_EQ(message({{"dropout", 1.0}}), "dropout (1) must be in [0, 1)");
  EXPECT_EQ(message({{"encoder", "rnn"}}), "encoder (rnn) must be one of lstm, gru, transformer, conformer, tdnn");
  EXPECT_EQ(message({{"n_mels", 5}}).rfind("input_dim (5) is too small for subsampling conv2d", 0), 0u);
  EXPECT_EQ(message({{"n_mels", 5}, {"subsampling", "none"}}), "");
  // subsampling_channels is a trainer key like every other model option.
  auto narrow = AsrTrainConfigFromJson(Json{{"data", "/c"}, {"subsampling_channels", 0}});
  ASSERT_TRUE(narrow.ok()) << narrow.status().ToString();
  EXPECT_EQ(narrow->model.subsampling_channels, 0);
  EXPECT_EQ(narrow->ToJson()["subsampling_channels"], 0);
}

TEST(AsrTrainConfigTest, EveryKeyHasOneDocumentedDefinition) {
  std::set<std::string> seen;
  for (const AsrKeyDoc& k : AsrTrainKeyDocs()) {
    EXPECT_TRUE(seen.insert(k.name).second) << k.name << " is defined twice";
    EXPECT_FALSE(k.meaning.empty()) << k.name;
    EXPECT_FALSE(k.default_value.empty()) << k.name;
    EXPECT_NE(AsrKeysText().find("  " + k.name + " = "), std::string::npos) << k.name;
  }
  EXPECT_EQ(seen.size(), AsrTrainConfigKeys().size());
  for (const char* key : {"encoder", "subsampling_channels", "conv_norm", "ctc_weight", "metric"}) {
    EXPECT_EQ(seen.count(key), 1u) << key;
  }
  for (const char* key :
       {"epochs", "num_threads", "decoding", "beam_size", "metric", "test_set", "bad_utterances", "feature_cache"}) {
    EXPECT_TRUE(IsResumableKey(key)) << key;
  }
  EXPECT_FALSE(IsResumableKey("d_model"));
  EXPECT_FALSE(IsResumableKey("lr"));
}

// docs/asr-training.md holds each group's table between `<!-- keys: GROUP -->` and `<!-- /keys -->`; it must be
// what AsrKeysMarkdown prints (the failure message prints the table to paste).
TEST(AsrTrainConfigTest, DocsKeyTablesMatchTheDefinitions) {
  std::ifstream in(DIAL_ASR_TRAINING_DOC);
  ASSERT_TRUE(in) << DIAL_ASR_TRAINING_DOC;
  std::stringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  std::set<std::string> groups;
  for (const AsrKeyDoc& k : AsrTrainKeyDocs()) groups.insert(k.group);
  for (const std::string& group : groups) {
    const std::string open = "<!-- keys: " + group + " -->\n";
    const size_t begin = doc.find(open);
    ASSERT_NE(begin, std::string::npos) << "docs/asr-training.md has no '" << open << "'";
    const size_t end = doc.find("<!-- /keys -->", begin);
    ASSERT_NE(end, std::string::npos) << group;
    const std::string table = doc.substr(begin + open.size(), end - begin - open.size());
    EXPECT_EQ(table, AsrKeysMarkdown(group))
        << "docs/asr-training.md's " << group << " table differs from the key definitions; it should be:\n"
        << AsrKeysMarkdown(group);
  }
}

}  // namespace
}  // namespace dial::speech
