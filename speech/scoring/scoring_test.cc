// Unit tests for WER/CER scoring: alignment counts, sclite tie-breaking, readers, groups and formatting.
#include "speech/scoring/scoring.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace dial::speech {
namespace {

std::vector<std::string> W(std::string_view s) { return NormalizeWords(s, NormalizeOptions{}); }

EditCounts C(int64_t n, int64_t c, int64_t s, int64_t d, int64_t i) { return EditCounts{n, c, s, d, i}; }

TEST(AlignTest, BasicCases) {
  EXPECT_EQ(Align(W("a b c"), W("a b c")), C(3, 3, 0, 0, 0));
  EXPECT_EQ(Align(W("a b c"), W("a x c")), C(3, 2, 1, 0, 0));
  EXPECT_EQ(Align(W("a b c"), W("")), C(3, 0, 0, 3, 0));
  EXPECT_EQ(Align(W(""), W("a b")), C(0, 0, 0, 0, 2));
  EXPECT_EQ(Align(W(""), W("")), C(0, 0, 0, 0, 0));
  EXPECT_EQ(Align(W("a b"), W("x a b y")), C(2, 2, 0, 0, 2));
}

TEST(AlignTest, ScliteTieBreaks) {
  // Checked against sclite: a shift by one is a deletion plus an insertion (6) rather than four subs (16).
  EXPECT_EQ(Align(W("a b c d"), W("b c d e")), C(4, 3, 0, 1, 1));
  // Repeated word: sclite deletes the first 'a' (the backtrace prefers the diagonal at the end).
  EXPECT_EQ(Align(W("a a b"), W("a b")), C(3, 2, 0, 1, 0));
  // 3 subs (12) tie with 2 del + 2 ins (12): sclite's preference for the diagonal keeps the substitutions.
  EXPECT_EQ(Align(W("a b c"), W("x y z")), C(3, 0, 3, 0, 0));
  // Cases where trying the deletion before the insertion would give other counts at the same cost (sclite
  // output: 2 0 3 2 and 1 3 0 1).
  EXPECT_EQ(Align(W("a a a c b"), W("c b b c")), C(5, 2, 0, 3, 2));
  EXPECT_EQ(Align(W("a b b a"), W("c c c a b")), C(4, 1, 3, 0, 1));
}

// The alignment as it was before it was made linear in memory: the whole cost matrix, then the backtrace. Kept as
// the reference that the checkpointed alignment must match count for count.
EditCounts FullMatrixAlign(const std::vector<std::string>& ref, const std::vector<std::string>& hyp) {
  const size_t n = ref.size(), m = hyp.size(), w = m + 1;
  std::vector<int32_t> cost((n + 1) * w);
  for (size_t j = 0; j <= m; ++j) cost[j] = static_cast<int32_t>(j) * 3;
  for (size_t i = 1; i <= n; ++i) {
    cost[i * w] = static_cast<int32_t>(i) * 3;
    for (size_t j = 1; j <= m; ++j) {
      const int32_t diag = cost[(i - 1) * w + j - 1] + (ref[i - 1] == hyp[j - 1] ? 0 : 4);
      cost[i * w + j] = std::min(diag, std::min(cost[(i - 1) * w + j] + 3, cost[i * w + j - 1] + 3));
    }
  }
  EditCounts c;
  c.n_ref = static_cast<int64_t>(n);
  size_t i = n, j = m;
  while (i > 0 || j > 0) {
    const int32_t here = cost[i * w + j];
    if (i > 0 && j > 0) {
      const bool same = ref[i - 1] == hyp[j - 1];
      if (here == cost[(i - 1) * w + j - 1] + (same ? 0 : 4)) {
        (same ? c.correct : c.substitutions)++;
        --i;
        --j;
        continue;
      }
    }
    if (j > 0 && here == cost[i * w + j - 1] + 3) {
      c.insertions++;
      --j;
      continue;
    }
    c.deletions++;
    --i;
  }
  return c;
}

TEST(AlignTest, SameCountsAsTheFullMatrixOnRandomInputs) {
  std::mt19937 rng(20261206);
  const std::vector<std::string> vocabulary = {"a", "b", "c", "d", "e"};
  for (int round = 0; round < 3000; ++round) {
    // Small vocabularies make ties common, where the tie-breaking order shows; lengths up to 150 cross several
    // checkpoint blocks (about 2·√n rows each).
    const size_t n_words = std::uniform_int_distribution<size_t>(2, vocabulary.size())(rng);
    const size_t max_len = round % 3 == 0 ? 150 : 20;
    auto random_words = [&] {
      std::vector<std::string> out(std::uniform_int_distribution<size_t>(0, max_len)(rng));
      for (std::string& word : out) word = vocabulary[std::uniform_int_distribution<size_t>(0, n_words - 1)(rng)];
      return out;
    };
    std::vector<std::string> ref = random_words(), hyp = random_words();
    if (round % 2 == 1 && !ref.empty()) {  // a perturbed copy: mostly correct, with a few edits
      hyp = ref;
      for (int e = 0; e < 4 && !hyp.empty(); ++e) {
        const size_t at = std::uniform_int_distribution<size_t>(0, hyp.size() - 1)(rng);
        switch (std::uniform_int_distribution<int>(0, 2)(rng)) {
          case 0:
            hyp[at] = "z";
            break;
          case 1:
            hyp.erase(hyp.begin() + static_cast<ptrdiff_t>(at));
            break;
          default:
            hyp.insert(hyp.begin() + static_cast<ptrdiff_t>(at), "y");
        }
      }
    }
    ASSERT_EQ(Align(ref, hyp), FullMatrixAlign(ref, hyp))
        << "round " << round << ": " << ref.size() << " ref words, " << hyp.size() << " hyp words";
  }
}

TEST(NormalizeTest, CaseAndTags) {
  EXPECT_EQ(W("Hello <noise> WORLD [laughter] <"), (std::vector<std::string>{"hello", "world", "<"}));
  NormalizeOptions keep;
  keep.lowercase = false;
  keep.drop_tags = false;
  EXPECT_EQ(NormalizeWords(" A  <noise>\tb ", keep), (std::vector<std::string>{"A", "<noise>", "b"}));
}

TEST(ReaderTest, KaldiTextTrnUtt2Spk) {
  auto text = ParseKaldiText("u1 hello world\n\nu2\nu3  a\tb \n", "text");
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  ASSERT_EQ(text->size(), 3u);
  EXPECT_EQ((*text)[1].id, "u2");
  EXPECT_TRUE((*text)[1].words.empty());
  EXPECT_EQ((*text)[2].words, (std::vector<std::string>{"a", "b"}));

  auto dup = ParseKaldiText("u1 a\nu1 b\n", "text");
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("text:2"), std::string::npos);

  auto trn = ParseTrn("hello world (spk-1)\n (spk-2)\n", "hyp.trn");
  ASSERT_TRUE(trn.ok()) << trn.status().ToString();
  EXPECT_EQ((*trn)[0].id, "spk-1");
  EXPECT_EQ((*trn)[0].words.size(), 2u);
  EXPECT_TRUE((*trn)[1].words.empty());
  EXPECT_FALSE(ParseTrn("no id here\n", "hyp.trn").ok());

  auto u2s = ParseUtt2Spk("u1 s1\nu2 s2\n", "utt2spk");
  ASSERT_TRUE(u2s.ok());
  EXPECT_EQ(u2s->at("u2"), "s2");
  EXPECT_FALSE(ParseUtt2Spk("u1 s1 extra\n", "utt2spk").ok());
}

TEST(ReaderTest, ByteOrderMarkIsNotPartOfTheFirstId) {
  const std::string bom = "\xEF\xBB\xBF";
  auto text = ParseKaldiText(bom + "u1 hello\nu2 world\n", "text");
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  EXPECT_EQ((*text)[0].id, "u1");
  auto trn = ParseTrn(bom + "hello (u1)\n", "hyp.trn");
  ASSERT_TRUE(trn.ok()) << trn.status().ToString();
  EXPECT_EQ((*trn)[0].words, std::vector<std::string>{"hello"});
  auto u2s = ParseUtt2Spk(bom + "u1 s1\n", "utt2spk");
  ASSERT_TRUE(u2s.ok());
  EXPECT_EQ(u2s->count("u1"), 1u);
}

TEST(ReaderTest, CrAndCrLfLineEndings) {
  for (const char* eol : {"\r", "\r\n"}) {
    const std::string e = eol;
    auto text = ParseKaldiText("u1 a b" + e + "u2 c" + e + e + "u3" + e, "text");
    ASSERT_TRUE(text.ok()) << text.status().ToString();
    ASSERT_EQ(text->size(), 3u) << (e == "\r" ? "CR" : "CRLF");
    EXPECT_EQ((*text)[0].words, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ((*text)[1].id, "u2");
    EXPECT_TRUE((*text)[2].words.empty());
    auto trn = ParseTrn("a b (u1)" + e + "c (u2)" + e, "hyp.trn");
    ASSERT_TRUE(trn.ok()) << trn.status().ToString();
    ASSERT_EQ(trn->size(), 2u);
    EXPECT_EQ((*trn)[1].id, "u2");
    auto u2s = ParseUtt2Spk("u1 s1" + e + "u2 s2" + e, "utt2spk");
    ASSERT_TRUE(u2s.ok()) << u2s.status().ToString();
    EXPECT_EQ(u2s->at("u2"), "s2");
    // Line numbers in messages count CR-ended lines too.
    auto dup = ParseKaldiText("u1 a" + e + "u1 b" + e, "text");
    ASSERT_FALSE(dup.ok());
    EXPECT_NE(dup.status().message().find("text:2"), std::string::npos) << dup.status().message();
  }
}

TEST(ScliteSpeakerTest, Rule) {
  EXPECT_EQ(ScliteSpeakerOf("spk1-utt2"), "spk1");
  EXPECT_EQ(ScliteSpeakerOf("sp_a-1"), "sp_a");
  EXPECT_EQ(ScliteSpeakerOf("x_y_z"), "x");
  EXPECT_EQ(ScliteSpeakerOf("plain"), "plain");
}

TEST(ScoreTest, CorpusWideGroupsAndWorst) {
  std::vector<Utterance> refs = {{"a-1", {"one", "two", "three", "four"}}, {"b-1", {"x"}}, {"b-2", {"y", "z"}}};
  std::vector<Utterance> hyps = {{"a-1", {"ONE", "two", "three", "four"}}, {"b-1", {"q"}}};
  auto r = Score(refs, hyps, {}, ScoreOptions{});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // Corpus-wide: 3 errors over 7 words, not a mean of per-utterance rates.
  EXPECT_EQ(r->total, C(7, 4, 1, 2, 0));
  EXPECT_EQ(r->n_missing_hypotheses, 1);
  EXPECT_EQ(r->n_utterances_with_error, 2);
  ASSERT_EQ(r->groups.size(), 2u);
  EXPECT_EQ(r->groups[r->worst_group].group, "b");
  EXPECT_EQ(FormatKaldiLine(r->total, "WER"), "%WER 42.86 [ 3 / 7, 0 ins, 2 del, 1 sub ]");
  EXPECT_NE(FormatGroupTable(*r, "WER").find("worst group: b (%WER 100.00)"), std::string::npos);

  ScoreOptions strict;
  strict.missing_hypothesis = MissingHypothesis::kError;
  EXPECT_FALSE(Score(refs, hyps, {}, strict).ok());
  std::vector<Utterance> stray = {{"zz-9", {"a"}}};
  auto bad = Score(refs, stray, {}, ScoreOptions{});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("zz-9"), std::string::npos);
  EXPECT_FALSE(Score(refs, hyps, {{"a-1", "s"}}, ScoreOptions{}).ok());  // b-1 missing from utt2spk
}

TEST(ScoreTest, CharacterErrorRate) {
  std::vector<Utterance> refs = {{"u", {"ab", "cd"}}};
  std::vector<Utterance> hyps = {{"u", {"abcx"}}};
  ScoreOptions cer;
  cer.unit = ScoreUnit::kChar;
  auto r = Score(refs, hyps, {}, cer);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->total, C(4, 3, 1, 0, 0));
  cer.keep_spaces = true;  // the <space> token between "ab" and "cd" is now deleted
  r = Score(refs, hyps, {}, cer);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->total, C(5, 3, 1, 1, 0));
  // UTF-8 code points, not bytes.
  std::vector<Utterance> u8r = {{"u", {"h\xC3\xA9llo"}}}, u8h = {{"u", {"hello"}}};
  cer.keep_spaces = false;
  r = Score(u8r, u8h, {}, cer);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->total, C(5, 4, 1, 0, 0));
}

TEST(EditCountsTest, EmptyReference) {
  EXPECT_EQ(C(0, 0, 0, 0, 0).ErrorRatePercent(), 0.0);
  EXPECT_TRUE(std::isinf(C(0, 0, 0, 0, 2).ErrorRatePercent()));
}

}  // namespace
}  // namespace dial::speech
