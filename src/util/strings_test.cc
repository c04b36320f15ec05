#include "util/strings.h"

#include <gtest/gtest.h>

namespace dial {
namespace {

TEST(StringsTest, TrimJoinAndEditDistance) {
  EXPECT_EQ(Trim("  a b \t\r\n"), "a b");
  EXPECT_EQ(Trim(" \n"), "");
  EXPECT_EQ(Join({"a", "b", "c"}), "a, b, c");
  EXPECT_EQ(Join({"a", "b"}, "|"), "a|b");
  EXPECT_EQ(Join({}), "");
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("", "abc"), 3u);
  EXPECT_EQ(EditDistance("n_mel", "n_mels"), 1u);
  EXPECT_EQ(NearestWord("n_trails", {"n_jobs", "n_trials", "timeout"}, 2), "n_trials");
  EXPECT_EQ(NearestWord("zzzzzz", {"n_jobs", "n_trials"}, 2), "");
}

}  // namespace
}  // namespace dial
