// Tests of corpus synthesis on tiny corpora (a few seconds each): the Kaldi layout, held-out speakers, readable
// audio at the asked rate, consistent text/utt2spk/spk2utt, byte-for-byte determinism whatever the job count,
// nothing left behind on failure, and rejected options.
#include "speech/corpus/synth.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "speech/audio/audio.h"
#include "speech/data/corpus.h"

namespace dial::speech {
namespace {

namespace fs = std::filesystem;

bool HaveSynthesisers() { return std::system("command -v espeak-ng >/dev/null && command -v flite >/dev/null") == 0; }

class SynthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!HaveSynthesisers()) GTEST_SKIP() << "espeak-ng or flite not installed";
    std::string tmpl = (fs::temp_directory_path() / "dial-synth-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
  }
  void TearDown() override {
    std::error_code ignored;
    if (!root_.empty()) fs::remove_all(root_, ignored);
  }
  SynthOptions Tiny(const std::string& name) const {
    SynthOptions o;
    o.out_dir = (root_ / name).string();
    o.hours = 0.01;  // 36 s
    o.seed = 7;
    o.jobs = 2;
    return o;
  }
  // Entries of the parent directory: a failed run must leave none besides what was there.
  std::set<std::string> Listing() const {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(root_)) names.insert(e.path().filename().string());
    return names;
  }
  fs::path root_;
};

std::map<std::string, std::string> ReadTwoColumns(const fs::path& path) {
  std::map<std::string, std::string> m;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) {
    const size_t sp = line.find(' ');
    m[line.substr(0, sp)] = sp == std::string::npos ? "" : line.substr(sp + 1);
  }
  return m;
}

std::string Slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST_F(SynthTest, TinyCorpusHasTheLayoutHeldOutSpeakersAndReadableAudio) {
  SynthOptions o = Tiny("corpus");
  int calls = 0;
  auto summary = SynthesizeCorpus(o, [&](const SynthProgress& p) {
    ++calls;
    EXPECT_DOUBLE_EQ(p.seconds_target, 36.0);
    return true;
  });
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_GT(calls, 0);
  EXPECT_GE(summary->total_seconds(), 36.0);
  EXPECT_LT(summary->total_seconds(), 36.0 + 15.0);  // stops at the first utterance past the target
  const fs::path dir = o.out_dir;
  EXPECT_TRUE(fs::exists(dir / "corpus.json"));
  EXPECT_FALSE(fs::exists(dir / ".work"));
  std::set<std::string> speakers_of[3];
  std::set<std::string> all_wavs;
  const char* splits[] = {"train", "dev", "test"};
  for (int s = 0; s < 3; ++s) {
    const fs::path d = dir / splits[s];
    for (const char* file : {"wav.scp", "text", "utt2spk", "spk2utt", "utt2noise"}) {
      ASSERT_TRUE(fs::exists(d / file)) << d / file;
    }
    auto wav = ReadTwoColumns(d / "wav.scp");
    auto text = ReadTwoColumns(d / "text");
    auto utt2spk = ReadTwoColumns(d / "utt2spk");
    auto spk2utt = ReadTwoColumns(d / "spk2utt");
    ASSERT_FALSE(wav.empty()) << splits[s] << " is empty";
    ASSERT_EQ(wav.size(), text.size());
    ASSERT_EQ(wav.size(), utt2spk.size());
    EXPECT_EQ(summary->utterances[s], static_cast<int64_t>(wav.size()));
    size_t in_spk2utt = 0;
    for (const auto& [spk, utts] : spk2utt) {
      std::istringstream ss(utts);
      for (std::string u; ss >> u;) {
        ++in_spk2utt;
        EXPECT_EQ(utt2spk[u], spk);
      }
    }
    EXPECT_EQ(in_spk2utt, wav.size());
    for (const auto& [utt, rel] : wav) {
      ASSERT_TRUE(text.count(utt)) << utt;
      const std::string& spk = utt2spk[utt];
      EXPECT_EQ(utt.rfind(spk + "-", 0), 0u) << "utterance id " << utt << " does not start with " << spk;
      speakers_of[s].insert(spk);
      // Transcripts are lower-case words.
      for (char c : text[utt]) ASSERT_TRUE((c >= 'a' && c <= 'z') || c == ' ') << text[utt];
      const fs::path audio_path = (d / rel).lexically_normal();
      all_wavs.insert(audio_path.filename().string());
      auto audio = ReadAudio(audio_path.string());
      ASSERT_TRUE(audio.ok()) << audio.status().ToString();
      EXPECT_EQ(audio->sample_rate, 16000);
      EXPECT_GT(audio->duration_seconds(), 0.2);
    }
    EXPECT_EQ(summary->speakers[s], static_cast<int>(speakers_of[s].size()));
  }
  for (int a = 0; a < 3; ++a) {
    for (int b = a + 1; b < 3; ++b) {
      for (const auto& spk : speakers_of[a]) EXPECT_FALSE(speakers_of[b].count(spk)) << spk << " in two splits";
    }
  }
  // Exactly the listed files, nothing stray, under wav/.
  size_t n_files = 0;
  for (const auto& e : fs::directory_iterator(dir / "wav")) n_files += all_wavs.count(e.path().filename().string());
  EXPECT_EQ(n_files, all_wavs.size());
  EXPECT_EQ(static_cast<size_t>(std::distance(fs::directory_iterator(dir / "wav"), fs::directory_iterator())),
            all_wavs.size());
  // The corpus reader (speech/data) reads it back, with the paths resolving.
  auto corpus = ReadCorpus((dir / "train").string());
  ASSERT_TRUE(corpus.ok()) << corpus.status().ToString();
  EXPECT_EQ(static_cast<int64_t>(corpus->entries.size()), summary->utterances[0]);
  CheckCorpusOptions check;
  check.expected_sample_rate = 16000;
  const CorpusCheckReport report = CheckCorpus(*corpus, check);
  EXPECT_TRUE(report.problems.empty()) << report.problems.front().utterance_id << ": "
                                       << report.problems.front().message;
}

TEST_F(SynthTest, SameSeedGivesTheSameBytesWhateverTheJobsAndAnotherSeedDiffers) {
  SynthOptions a = Tiny("a");
  a.hours = 0.005;
  a.jobs = 1;
  SynthOptions b = a;
  b.out_dir = (root_ / "b").string();
  b.jobs = 3;
  ASSERT_TRUE(SynthesizeCorpus(a).ok());
  ASSERT_TRUE(SynthesizeCorpus(b).ok());
  size_t compared = 0;
  for (const auto& e : fs::recursive_directory_iterator(a.out_dir)) {
    if (!e.is_regular_file()) continue;
    const fs::path rel = fs::relative(e.path(), a.out_dir);
    ASSERT_TRUE(fs::exists(fs::path(b.out_dir) / rel)) << rel;
    ASSERT_EQ(Slurp(e.path()), Slurp(fs::path(b.out_dir) / rel)) << rel << " differs";
    ++compared;
  }
  size_t in_b = 0;
  for (const auto& e : fs::recursive_directory_iterator(b.out_dir)) in_b += e.is_regular_file();
  EXPECT_EQ(compared, in_b);
  EXPECT_GT(compared, 15u);
  SynthOptions c = a;
  c.out_dir = (root_ / "c").string();
  c.seed = 8;
  ASSERT_TRUE(SynthesizeCorpus(c).ok());
  EXPECT_NE(Slurp(fs::path(a.out_dir) / "train" / "text"), Slurp(fs::path(c.out_dir) / "train" / "text"));
}

TEST_F(SynthTest, SampleRateAndVoiceListAreHonoured) {
  SynthOptions o = Tiny("narrow");
  o.hours = 0.003;
  o.sample_rate = 8000;
  o.voices = {"espeak:en-us+f2", "en-gb-scotland+m3", "flite:slt", "flite:kal"};
  o.noise_types = {"pink"};
  auto summary = SynthesizeCorpus(o);
  ASSERT_TRUE(summary.ok()) << summary.status().ToString();
  EXPECT_EQ(summary->speakers[0] + summary->speakers[1] + summary->speakers[2], 4);
  std::set<std::string> seen;
  for (const char* split : {"train", "dev", "test"}) {
    for (const auto& [utt, spk] : ReadTwoColumns(fs::path(o.out_dir) / split / "utt2spk")) seen.insert(spk);
    for (const auto& [utt, noise] : ReadTwoColumns(fs::path(o.out_dir) / split / "utt2noise")) {
      EXPECT_TRUE(noise == "clean" || noise.rfind("pink ", 0) == 0) << noise;
    }
  }
  EXPECT_EQ(seen, (std::set<std::string>{"en-us-f2", "en-gb-scotland-m3", "flite-slt", "flite-kal"}));
  for (const auto& e : fs::directory_iterator(fs::path(o.out_dir) / "wav")) {
    auto audio = ReadAudio(e.path().string());
    ASSERT_TRUE(audio.ok());
    EXPECT_EQ(audio->sample_rate, 8000);
  }
}

TEST_F(SynthTest, BadOptionsAreRejectedAndWriteNothing) {
  const auto before = Listing();
  SynthOptions o = Tiny("bad");
  o.hours = 0;
  EXPECT_EQ(SynthesizeCorpus(o).status().code(), StatusCode::kInvalidArgument);
  o.hours = -1;
  EXPECT_EQ(SynthesizeCorpus(o).status().code(), StatusCode::kInvalidArgument);
  o = Tiny("bad");
  o.voices = {"en-us+f1", "en-gb", "espeak:klingon"};
  Status s = SynthesizeCorpus(o).status();
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("klingon"), std::string::npos) << s.message();
  o.voices = {"en-us+f1", "en-gb", "flite:hal9000"};
  EXPECT_EQ(SynthesizeCorpus(o).status().code(), StatusCode::kInvalidArgument);
  o.voices = {"en-us+f1", "en-gb+zz", "flite:slt"};
  EXPECT_EQ(SynthesizeCorpus(o).status().code(), StatusCode::kInvalidArgument);
  o = Tiny("bad");
  o.num_speakers = 2;
  EXPECT_EQ(SynthesizeCorpus(o).status().code(), StatusCode::kInvalidArgument);
  o = Tiny("bad");
  o.noise_types = {"thunder"};
  EXPECT_EQ(SynthesizeCorpus(o).status().code(), StatusCode::kInvalidArgument);
  o = Tiny("bad");
  o.sample_rate = 4000;
  EXPECT_EQ(SynthesizeCorpus(o).status().code(), StatusCode::kInvalidArgument);
  o = Tiny("bad");
  o.dev_fraction = 0.6;
  o.test_fraction = 0.5;
  EXPECT_EQ(SynthesizeCorpus(o).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Listing(), before);
}

TEST_F(SynthTest, MissingProgramNamesItAndItsPackage) {
  const auto before = Listing();
  SynthOptions o = Tiny("nope");
  o.espeak_program = "espeak-ng-not-installed-here";
  Status s = SynthesizeCorpus(o).status();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("espeak-ng-not-installed-here"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("Debian package espeak-ng"), std::string::npos) << s.message();
  o = Tiny("nope");
  o.voices = {"flite:slt", "flite:awb", "flite:rms"};
  o.flite_program = "/nonexistent/flite";
  s = SynthesizeCorpus(o).status();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("Debian package flite"), std::string::npos) << s.message();
  EXPECT_EQ(Listing(), before);
}

TEST_F(SynthTest, FailureOrCancelInTheMiddleLeavesNothingAndAnExistingDirectoryIsKept) {
  const auto before = Listing();
  SynthOptions o = Tiny("failing");
  o.espeak_program = "/bin/false";  // found, but fails at the first utterance
  Status s = SynthesizeCorpus(o).status();
  EXPECT_EQ(s.code(), StatusCode::kIoError) << s.ToString();
  EXPECT_EQ(Listing(), before);
  o = Tiny("cancelled");
  s = SynthesizeCorpus(o, [](const SynthProgress&) { return false; }).status();
  EXPECT_EQ(s.code(), StatusCode::kCancelled) << s.ToString();
  EXPECT_EQ(Listing(), before);
  // An existing directory is refused, then replaced with --overwrite.
  fs::create_directories(root_ / "exists");
  std::ofstream(root_ / "exists" / "keep.txt") << "x";
  o = Tiny("exists");
  o.hours = 0.002;
  EXPECT_EQ(SynthesizeCorpus(o).status().code(), StatusCode::kAlreadyExists);
  EXPECT_TRUE(fs::exists(root_ / "exists" / "keep.txt"));
  o.overwrite = true;
  ASSERT_TRUE(SynthesizeCorpus(o).ok());
  EXPECT_FALSE(fs::exists(root_ / "exists" / "keep.txt"));
  EXPECT_TRUE(fs::exists(root_ / "exists" / "corpus.json"));
  auto after = Listing();
  EXPECT_EQ(after.size(), before.size() + 1);  // just "exists": no .tmp or .old left
}

TEST(SynthVoiceTest, ParsesTheKnownVoicesAndThePoolHasOneHundred) {
  auto v = ParseSynthVoice("espeak:en-gb-x-rp+f4");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->engine, SynthVoice::Engine::kEspeak);
  EXPECT_EQ(v->ToString(), "espeak:en-gb-x-rp+f4");
  v = ParseSynthVoice("flite:awb");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->engine, SynthVoice::Engine::kFlite);
  EXPECT_FALSE(ParseSynthVoice("fr+m1").ok());
  const auto pool = DefaultVoicePool();
  EXPECT_EQ(pool.size(), 100u);
  std::set<std::string> names;
  for (const auto& p : pool) names.insert(p.ToString());
  EXPECT_EQ(names.size(), pool.size());
}

}  // namespace
}  // namespace dial::speech
