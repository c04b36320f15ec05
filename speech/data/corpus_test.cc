// Tests of the corpus readers, audio loading, durations, nested subsets and the corpus check.
#include "speech/data/corpus.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "speech/audio/audio.h"

namespace dial::speech {
namespace {

namespace fs = std::filesystem;

class CorpusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("dial_corpus_test_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  void Write(const std::string& name, const std::string& content) const {
    fs::create_directories(fs::path(Path(name)).parent_path());
    std::ofstream(Path(name)) << content;
  }
  // A WAV of `seconds` of a quiet ramp at `rate`.
  void Wav(const std::string& name, double seconds, int rate = 16000) const {
    fs::create_directories(fs::path(Path(name)).parent_path());
    Waveform w;
    w.sample_rate = rate;
    const auto n = static_cast<size_t>(std::llround(seconds * rate));
    for (size_t i = 0; i < n; ++i) w.samples.push_back(static_cast<float>(i % 100) / 1000.0f);
    ASSERT_TRUE(WriteWav(Path(name), w).ok());
  }
  fs::path dir_;
};

std::vector<std::string> Ids(const Corpus& c) {
  std::vector<std::string> ids;
  for (const auto& e : c.entries) ids.push_back(e.id);
  return ids;
}

TEST_F(CorpusTest, ReadsAKaldiDirectory) {
  Wav("corpus/wav/b.wav", 1.0);
  Wav("corpus/train/a.wav", 0.5);
  // Unsorted on purpose; "wav/b.wav" is relative to the corpus root (dial's layout), "a.wav" to the data dir.
  Write("corpus/train/wav.scp", "spk2-b wav/b.wav\nspk1-a a.wav\n\n");
  Write("corpus/train/text", "spk1-a hello  world\nspk2-b\n");
  Write("corpus/train/utt2spk", "spk1-a alice\nspk2-b bob\n");
  auto c = ReadCorpus(Path("corpus/train"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->format, CorpusFormat::kKaldi);
  ASSERT_EQ(Ids(*c), (std::vector<std::string>{"spk1-a", "spk2-b"}));
  EXPECT_EQ(c->entries[0].text, "hello  world");
  EXPECT_EQ(c->entries[0].speaker, "alice");
  EXPECT_TRUE(c->entries[1].has_transcript);  // an id with no words is an empty transcript, not a missing one
  EXPECT_EQ(c->entries[1].text, "");
  EXPECT_EQ(fs::path(c->entries[0].audio_path), fs::path(Path("corpus/train/a.wav")));
  EXPECT_EQ(fs::weakly_canonical(c->entries[1].audio_path), fs::weakly_canonical(Path("corpus/wav/b.wav")));
  EXPECT_LT(c->entries[0].duration_seconds, 0);

  auto a = LoadAudio(c->entries[0]);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->samples.size(), 8000u);
  ASSERT_TRUE(FillDurations(&*c).ok());
  EXPECT_DOUBLE_EQ(c->entries[0].duration_seconds, 0.5);
  EXPECT_DOUBLE_EQ(c->entries[1].duration_seconds, 1.0);
}

TEST_F(CorpusTest, KaldiWithoutUtt2SpkUsesScliteRuleAndMarksMissingTranscripts) {
  Wav("d/x.wav", 0.1);
  Write("d/wav.scp", "spk7_u1 x.wav\nspk7_u2 x.wav\n");
  Write("d/text", "spk7_u1 yes\n");
  auto c = ReadCorpus(Path("d"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->entries[0].speaker, "spk7");
  EXPECT_TRUE(c->entries[0].has_transcript);
  EXPECT_FALSE(c->entries[1].has_transcript);
}

TEST_F(CorpusTest, KaldiSegments) {
  Wav("d/rec.wav", 3.0);
  Write("d/wav.scp", "rec1 rec.wav\n");
  Write("d/segments", "u1 rec1 0.5 1.5\nu2 rec1 2.0 -1\n");
  Write("d/text", "u1 one\nu2 two\n");
  auto c = ReadCorpus(Path("d"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->entries.size(), 2u);
  EXPECT_DOUBLE_EQ(c->entries[0].offset_seconds, 0.5);
  EXPECT_DOUBLE_EQ(c->entries[0].duration_seconds, 1.0);
  EXPECT_LT(c->entries[1].duration_seconds, 0);
  auto a = LoadAudio(c->entries[0]);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->samples.size(), 16000u);
  ASSERT_TRUE(FillDurations(&*c).ok());
  EXPECT_DOUBLE_EQ(c->entries[1].duration_seconds, 1.0);
  auto b = LoadAudio(c->entries[1]);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->samples.size(), 16000u);

  Write("d/segments", "u1 rec1 0.5 1.5\nu2 nosuch 0 1\n");
  auto bad = ReadCorpus(Path("d"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("segments:2"), std::string::npos) << bad.status().message();
  Write("d/segments", "u1 rec1 1.5 0.5\n");
  bad = ReadCorpus(Path("d"));
  EXPECT_NE(bad.status().message().find("segments:1"), std::string::npos) << bad.status().message();
  Write("d/segments", "u1 rec1 abc 0.5\n");
  bad = ReadCorpus(Path("d"));
  EXPECT_NE(bad.status().message().find("not a number"), std::string::npos) << bad.status().message();
}

TEST_F(CorpusTest, KaldiErrorsNameFileAndLine) {
  EXPECT_EQ(ReadCorpus(Path("nope")).status().code(), StatusCode::kNotFound);
  fs::create_directories(Path("e"));
  auto r = ReadCorpus(Path("e"));
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("wav.scp"), std::string::npos);
  Write("e/wav.scp", "a x.wav\nb y.wav\na z.wav\n");
  Write("e/text", "a hi\n");
  r = ReadCorpus(Path("e"));
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("wav.scp:3"), std::string::npos) << r.status().message();
  Write("e/wav.scp", "a x.wav\nb\n");
  r = ReadCorpus(Path("e"));
  EXPECT_NE(r.status().message().find("wav.scp:2"), std::string::npos) << r.status().message();
  Write("e/wav.scp", "a x.wav\n");
  fs::remove(Path("e/text"));
  r = ReadCorpus(Path("e"));
  EXPECT_EQ(r.status().code(), StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("text"), std::string::npos);
}

TEST_F(CorpusTest, PipedEntriesNeedTheFlag) {
  Wav("p/src.wav", 0.25);
  Write("p/wav.scp", "u1 cat '" + Path("p/src.wav") + "' |\n");
  Write("p/text", "u1 hi\n");
  auto r = ReadCorpus(Path("p"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("allow_piped_commands"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("wav.scp:1"), std::string::npos);
  ReadCorpusOptions allow;
  allow.allow_piped_commands = true;
  r = ReadCorpus(Path("p"), allow);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const CorpusEntry& e = r->entries[0];
  EXPECT_EQ(e.command, "cat '" + Path("p/src.wav") + "'");
  EXPECT_TRUE(e.audio_path.empty());
  // LoadAudio refuses too unless told, then runs it through /bin/sh.
  EXPECT_NE(LoadAudio(e).status().message().find("allow_piped_commands"), std::string::npos);
  auto a = LoadAudio(e, {}, /*allow_piped_commands=*/true);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->samples.size(), 4000u);
  ASSERT_TRUE(FillDurations(&*r, true).ok());
  EXPECT_DOUBLE_EQ(r->entries[0].duration_seconds, 0.25);

  CorpusEntry failing = e;
  failing.command = "echo 'no such thing' >&2; exit 3";
  a = LoadAudio(failing, {}, true);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("exit status 3"), std::string::npos) << a.status().message();
  EXPECT_NE(a.status().message().find("no such thing"), std::string::npos) << a.status().message();
  EXPECT_NE(a.status().message().find("u1"), std::string::npos);
}

TEST_F(CorpusTest, PipedSoxStreamReads) {
  if (std::system("command -v sox >/dev/null 2>&1") != 0) GTEST_SKIP() << "sox not installed";
  Wav("s/src.wav", 0.5);
  CorpusEntry e;
  e.id = "u";
  e.command = "sox '" + Path("s/src.wav") + "' -t wav - vol 1.0";  // sox writes a placeholder length to a pipe
  auto a = LoadAudio(e, {}, true);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->samples.size(), 8000u);
}

TEST_F(CorpusTest, ReadsANemoManifest) {
  Wav("n/audio/one.wav", 1.0);
  Wav("n/audio/two.wav", 2.0);
  Write("n/manifest.json",
        "{\"audio_filepath\": \"audio/two.wav\", \"duration\": 1.5, \"offset\": 0.5, \"text\": \"two words\"}\n"
        "\n"
        "{\"audio_filepath\": \"" +
            Path("n/audio/one.wav") + "\", \"duration\": 1.0, \"text\": \"one\", \"speaker\": 7}\n");
  auto c = ReadCorpus(Path("n/manifest.json"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->format, CorpusFormat::kNemo);
  ASSERT_EQ(Ids(*c), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(c->entries[0].speaker, "7");
  EXPECT_EQ(c->entries[1].text, "two words");
  EXPECT_DOUBLE_EQ(c->entries[1].offset_seconds, 0.5);
  EXPECT_DOUBLE_EQ(c->entries[1].duration_seconds, 1.5);
  EXPECT_EQ(fs::path(c->entries[1].audio_path), fs::path(Path("n/audio/two.wav")));
  auto a = LoadAudio(c->entries[1]);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->samples.size(), 24000u);

  Write("n/bad.json", "{\"audio_filepath\": \"a.wav\", \"text\": \"x\"}\n{\"audio_filepath\": 3}\n");
  auto bad = ReadCorpus(Path("n/bad.json"));
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("bad.json:2"), std::string::npos) << bad.status().message();
  Write("n/dup.json", "{\"audio_filepath\": \"a.wav\"}\n{\"audio_filepath\": \"other/a.wav\"}\n");
  bad = ReadCorpus(Path("n/dup.json"));
  EXPECT_NE(bad.status().message().find("dup.json:2"), std::string::npos) << bad.status().message();
  Write("n/broken.json", "{\"audio_filepath\": \"a.wav\"}\n{not json\n");
  bad = ReadCorpus(Path("n/broken.json"));
  EXPECT_NE(bad.status().message().find("broken.json:2"), std::string::npos) << bad.status().message();
}

TEST_F(CorpusTest, ReadsAWenetDataList) {
  Wav("w/wavs/k1.wav", 1.0);
  Write("w/data.list",
        "{\"key\": \"k2\", \"wav\": \"wavs/k1.wav\", \"txt\": \"second\", \"start\": 0.25, \"end\": 0.75}\n"
        "{\"key\": \"k1\", \"wav\": \"wavs/k1.wav\", \"txt\": \"first\"}\n");
  auto c = ReadCorpus(Path("w/data.list"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->format, CorpusFormat::kWenet);
  ASSERT_EQ(Ids(*c), (std::vector<std::string>{"k1", "k2"}));
  EXPECT_EQ(c->entries[1].text, "second");
  EXPECT_DOUBLE_EQ(c->entries[1].offset_seconds, 0.25);
  EXPECT_DOUBLE_EQ(c->entries[1].duration_seconds, 0.5);
  auto a = LoadAudio(c->entries[1]);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->samples.size(), 8000u);

  Write("w/data.list", "{\"key\": \"k1\", \"wav\": \"a.wav\", \"txt\": \"x\", \"start\": 1, \"end\": 0.5}\n");
  auto bad = ReadCorpus(Path("w/data.list"));
  EXPECT_NE(bad.status().message().find("data.list:1"), std::string::npos) << bad.status().message();
  Write("w/shards.list", "/data/shard_000.tar\n");
  bad = ReadCorpus(Path("w/shards.list"));
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("shards.list:1"), std::string::npos) << bad.status().message();
}

// A corpus of `n_speakers` speakers with `per_speaker` utterances each, durations 1..4 s (no audio needed).
Corpus SyntheticCorpus(int n_speakers, int per_speaker) {
  Corpus c;
  c.source = "synthetic";
  for (int s = 0; s < n_speakers; ++s) {
    for (int u = 0; u < per_speaker; ++u) {
      CorpusEntry e;
      e.id = "s" + std::to_string(s) + "-u" + std::to_string(u);
      e.speaker = "s" + std::to_string(s);
      e.duration_seconds = 1.0 + (s * 7 + u * 3) % 4;
      c.entries.push_back(e);
    }
  }
  std::sort(c.entries.begin(), c.entries.end(), [](auto& a, auto& b) { return a.id < b.id; });
  return c;
}

double Hours(const Corpus& c) {
  double t = 0;
  for (const auto& e : c.entries) t += e.duration_seconds;
  return t / 3600;
}

TEST(SelectHoursTest, SubsetsAreNestedAndStratified) {
  const Corpus corpus = SyntheticCorpus(40, 400);  // ≈ 16000 utterances, ≈ 11 h
  for (uint64_t seed : {0ull, 1ull, 42ull}) {
    auto one = SelectHours(corpus, 1.0, seed);
    auto ten = SelectHours(corpus, 10.0, seed);
    ASSERT_TRUE(one.ok() && ten.ok());
    EXPECT_LE(Hours(*one), 1.0);
    EXPECT_GT(Hours(*one), 1.0 - 4.0 / 3600);  // fills to within one utterance
    EXPECT_LE(Hours(*ten), 10.0);
    EXPECT_GT(Hours(*ten), 10.0 - 4.0 / 3600);
    std::set<std::string> ten_ids;
    for (const auto& e : ten->entries) ten_ids.insert(e.id);
    for (const auto& e : one->entries) EXPECT_TRUE(ten_ids.count(e.id)) << e.id << " seed " << seed;
    EXPECT_TRUE(std::is_sorted(one->entries.begin(), one->entries.end(), [](auto& a, auto& b) { return a.id < b.id; }));
    // Every speaker is present, and balanced: counts differ by at most one utterance.
    std::map<std::string, int> per_speaker;
    for (const auto& e : one->entries) per_speaker[e.speaker]++;
    EXPECT_EQ(per_speaker.size(), 40u);
    auto [lo, hi] = std::minmax_element(per_speaker.begin(), per_speaker.end(),
                                        [](auto& a, auto& b) { return a.second < b.second; });
    EXPECT_LE(hi->second - lo->second, 1);
  }
  // Deterministic per seed; different seeds choose differently.
  EXPECT_EQ(Ids(*SelectHours(corpus, 1.0, 5)), Ids(*SelectHours(corpus, 1.0, 5)));
  EXPECT_NE(Ids(*SelectHours(corpus, 1.0, 5)), Ids(*SelectHours(corpus, 1.0, 6)));
}

TEST(SelectHoursTest, NestedForEverySmallerBudget) {
  const Corpus corpus = SyntheticCorpus(7, 30);
  std::vector<std::string> previous;
  for (double minutes = 0.5; minutes < 10; minutes += 0.5) {
    auto sub = SelectHours(corpus, minutes / 60, 3);
    ASSERT_TRUE(sub.ok());
    const std::vector<std::string> current = Ids(*sub);
    const std::set<std::string> ids(current.begin(), current.end());
    for (const auto& id : previous) EXPECT_TRUE(ids.count(id)) << id << " at " << minutes << " min";
    previous = current;
    // Speakers all present once the budget allows one utterance each (≤ 7 × 4 s).
    if (minutes * 60 >= 7 * 4) {
      std::set<std::string> spk;
      for (const auto& e : sub->entries) spk.insert(e.speaker);
      EXPECT_EQ(spk.size(), 7u) << minutes;
    }
  }
}

TEST(SelectHoursTest, WholeCorpusAndErrors) {
  Corpus corpus = SyntheticCorpus(3, 5);
  auto all = SelectHours(corpus, 100, 0);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(Ids(*all), Ids(corpus));
  EXPECT_EQ(SelectHours(corpus, 0, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SelectHours(corpus, std::nan(""), 0).status().code(), StatusCode::kInvalidArgument);
  corpus.entries[4].duration_seconds = -1;
  auto r = SelectHours(corpus, 1, 0);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find(corpus.entries[4].id), std::string::npos);
}

TEST_F(CorpusTest, CheckListsEveryProblem) {
  Wav("c/wav/good.wav", 1.0);
  Wav("c/wav/good2.wav", 2.0);
  Wav("c/wav/narrow.wav", 1.0, 8000);
  Wav("c/wav/cut.wav", 1.0);
  fs::resize_file(Path("c/wav/cut.wav"), fs::file_size(Path("c/wav/cut.wav")) - 8000);
  Write("c/wav/empty.wav", "");
  Write("c/wav/junk.wav", "not audio, just words words words words words words");
  Write("c/d/wav.scp",
        "cut wav/cut.wav\nempty wav/empty.wav\ngood wav/good.wav\ngood2 wav/good2.wav\njunk wav/junk.wav\n"
        "missing wav/missing.wav\nnarrow wav/narrow.wav\nnotext wav/good.wav\n");
  Write("c/d/text", "cut a\nempty b\ngood c\ngood2 d\njunk e\nmissing f\nnarrow g\n");
  auto c = ReadCorpus(Path("c/d"));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  // A segment past the end of good2 (2 s): added by hand, as segments would give it.
  CorpusEntry seg = c->entries[3];
  seg.id = "seg";
  seg.offset_seconds = 1.5;
  seg.duration_seconds = 3.0;
  c->entries.push_back(seg);
  CheckCorpusOptions options;
  options.expected_sample_rate = 16000;
  CorpusCheckReport report = CheckCorpus(*c, options);
  EXPECT_EQ(report.n_entries, 9);
  std::map<std::string, std::string> by_id;
  for (const auto& p : report.problems) by_id[p.utterance_id] += p.message + ";";
  EXPECT_NE(by_id["cut"].find("truncated"), std::string::npos) << by_id["cut"];
  EXPECT_NE(by_id["empty"].find("empty"), std::string::npos) << by_id["empty"];
  EXPECT_NE(by_id["junk"].find("unreadable"), std::string::npos) << by_id["junk"];
  EXPECT_NE(by_id["missing"].find("missing audio"), std::string::npos) << by_id["missing"];
  EXPECT_NE(by_id["narrow"].find("rate mismatch: 8000 Hz, expected 16000"), std::string::npos) << by_id["narrow"];
  EXPECT_NE(by_id["notext"].find("missing transcript"), std::string::npos) << by_id["notext"];
  EXPECT_NE(by_id["seg"].find("beyond the recording"), std::string::npos) << by_id["seg"];
  EXPECT_EQ(by_id.count("good"), 0u);
  EXPECT_EQ(by_id.count("good2"), 0u);
  EXPECT_EQ(report.problems.size(), 7u);
  for (const auto& p : report.problems) {
    const std::string expected_file = p.utterance_id == "seg"      ? "good2"
                                      : p.utterance_id == "notext" ? "good"
                                                                   : p.utterance_id;
    EXPECT_NE(p.file.find(expected_file), std::string::npos) << p.utterance_id << ": " << p.file;
  }
  // good 1 s + good2 2 s + narrow 1 s + notext 1 s.
  EXPECT_NEAR(report.total_seconds, 5.0, 1e-9);
  // Any rate accepted when none is expected.
  report = CheckCorpus(*c);
  EXPECT_EQ(report.problems.size(), 6u);
}

TEST_F(CorpusTest, CheckReportsPipedEntriesWithoutRunningThem) {
  Wav("p/src.wav", 0.25);
  Write("p/ran", "");
  fs::remove(Path("p/ran"));
  Corpus c;
  c.source = "x";
  CorpusEntry e;
  e.id = "u1";
  e.speaker = "s";
  e.command = "touch '" + Path("p/ran") + "'; cat '" + Path("p/src.wav") + "'";
  c.entries.push_back(e);
  auto report = CheckCorpus(c);
  ASSERT_EQ(report.problems.size(), 1u);
  EXPECT_NE(report.problems[0].message.find("--allow-piped"), std::string::npos);
  EXPECT_FALSE(fs::exists(Path("p/ran")));
  CheckCorpusOptions allow;
  allow.allow_piped_commands = true;
  report = CheckCorpus(c, allow);
  EXPECT_TRUE(report.problems.empty()) << report.problems[0].message;
  EXPECT_TRUE(fs::exists(Path("p/ran")));
  EXPECT_NEAR(report.total_seconds, 0.25, 1e-9);
}

}  // namespace
}  // namespace dial::speech
