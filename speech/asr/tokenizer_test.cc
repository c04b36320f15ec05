#include "speech/asr/tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace dial::speech {
namespace {

std::string TempDir(const std::string& name) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("dial_tokenizer_test_" + name + "_" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

TEST(TokenizerTest, NormalizeFoldsCaseAndCollapsesSpaces) {
  EXPECT_EQ(NormalizeTranscript("  YES\tno  Yes \n"), "yes no yes");
  EXPECT_EQ(NormalizeTranscript(""), "");
}

TEST(TokenizerTest, CharVocabularyLayoutAndRoundTrip) {
  const std::vector<std::string> texts = {"YES NO", "no yes"};
  auto tok = BuildCharTokenizer(texts);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  // <blank>, <unk>, then e n o s y and the word boundary (U+2581 sorts after ASCII), then <sos/eos>.
  EXPECT_EQ((*tok)->vocab_size(), 2 + 6 + 1);
  const std::vector<int> ids = (*tok)->Encode("Yes no");
  ASSERT_EQ(ids.size(), 6u);
  EXPECT_EQ(ids[0], 2 + 4);  // y
  EXPECT_EQ(ids[1], 2 + 0);  // e
  EXPECT_EQ(ids[3], 2 + 5);  // word boundary
  EXPECT_EQ((*tok)->Decode(ids), "yes no");
  // Unknown characters map to <unk>; decoding skips <blank>, <unk>, <sos/eos> and ids out of range.
  EXPECT_EQ((*tok)->Encode("x")[0], 1);
  const std::vector<int> noisy = {0, 2 + 1, 1, 2 + 2, 8, 99, -3};
  EXPECT_EQ((*tok)->Decode(noisy), "no");
}

TEST(TokenizerTest, EmptyTranscriptsAreAnError) {
  const std::vector<std::string> texts = {"  ", ""};
  auto tok = BuildCharTokenizer(texts);
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.status().message().find("tokens"), std::string::npos);
}

TEST(TokenizerTest, SaveAndLoadGiveTheSameIds) {
  const std::vector<std::string> texts = {"hello world", "ça va"};
  auto tok = BuildCharTokenizer(texts);
  ASSERT_TRUE(tok.ok());
  const std::string dir = TempDir("char");
  ASSERT_TRUE((*tok)->Save(dir).ok());
  auto loaded = LoadTokenizer(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ((*loaded)->vocab_size(), (*tok)->vocab_size());
  EXPECT_EQ((*loaded)->Encode("ça world"), (*tok)->Encode("ça world"));
  EXPECT_EQ((*loaded)->Decode((*tok)->Encode("ça world")), "ça world");
  std::filesystem::remove_all(dir);
}

TEST(TokenizerTest, LoadRejectsMalformedUnits) {
  const std::string dir = TempDir("bad");
  EXPECT_EQ(LoadTokenizer(dir).status().code(), StatusCode::kNotFound);
  std::ofstream(std::filesystem::path(dir) / "units.txt") << "<blank> 0\n<unk> 1\na 3\n";
  auto loaded = LoadTokenizer(dir);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().message().find("units.txt:3"), std::string::npos) << loaded.status().message();
  std::filesystem::remove_all(dir);
}

TEST(TokenizerTest, SentencePieceRoundTrip) {
  std::vector<std::string> texts;
  for (int i = 0; i < 200; ++i) {
    texts.push_back(i % 2 ? "the cat sat on the mat" : "a dog ran in the park today");
  }
  const std::string dir = TempDir("sp");
  auto tok = TrainSentencePieceTokenizer(texts, 30, dir);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ((*tok)->kind(), "sentencepiece");
  EXPECT_LE((*tok)->vocab_size(), 30);
  const std::vector<int> ids = (*tok)->Encode("the cat ran");
  ASSERT_FALSE(ids.empty());
  for (int id : ids) {
    EXPECT_GE(id, 1);
    EXPECT_LT(id, (*tok)->vocab_size() - 1);
  }
  EXPECT_EQ((*tok)->Decode(ids), "the cat ran");
  ASSERT_TRUE((*tok)->Save(dir).ok());
  auto loaded = LoadTokenizer(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ((*loaded)->Encode("the cat ran"), ids);
  EXPECT_FALSE(TrainSentencePieceTokenizer(texts, 3, dir).ok());
  std::filesystem::remove_all(dir);
}

// Our Viterbi segmentation against Debian's spm_encode on the model spm_train wrote: the same ids, text by text.
TEST(TokenizerTest, SentencePieceSegmentsAsSpmEncodeDoes) {
  std::vector<std::string> texts;
  const std::vector<std::string> words = {"yes",    "no",    "seven", "eleven", "speech", "recognition", "the",    "a",
                                          "tuning", "dials", "radio", "old",    "model",  "wer",         "latency"};
  for (int i = 0; i < 300; ++i) {
    std::string t;
    for (int w = 0; w < 3 + i % 5; ++w) t += (w ? " " : "") + words[(i * 7 + w * 3 + w * w) % words.size()];
    texts.push_back(t);
  }
  const std::string dir = TempDir("spm_parity");
  auto tok = TrainSentencePieceTokenizer(texts, 40, dir);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  const std::vector<std::string> probes = {
      "yes no seven",        "eleven speech recognition", "tuning the old radio dials",
      "a model wer latency", "unseen zebra words",        "x"};
  const std::string input = dir + "/probes.txt";
  {
    std::ofstream out(input);
    for (const std::string& p : probes) out << p << "\n";
  }
  const std::string command = "spm_encode --model=" + dir + "/sentencepiece.model --output_format=id < " + input;
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
  ASSERT_EQ(pclose(pipe), 0) << command;
  std::istringstream lines(output);
  for (const std::string& probe : probes) {
    std::string line;
    ASSERT_TRUE(std::getline(lines, line)) << probe;
    std::vector<int> expected;
    std::istringstream ids(line);
    for (int id; ids >> id;) expected.push_back(id);
    EXPECT_EQ((*tok)->Encode(probe), expected) << probe;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace dial::speech
