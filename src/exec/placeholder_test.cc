// Tests of `{name}` placeholder parsing and substitution.
#include "dial/placeholder.h"

#include <gtest/gtest.h>

namespace dial {
namespace {

std::optional<std::string> Lookup(const std::string& name) {
  if (name == "lr") return std::string("0.01");
  if (name == "opt") return std::string("adam");
  return std::nullopt;
}

TEST(PlaceholderTest, FindsNames) {
  auto names = PlaceholderNames("--lr={lr}/{opt}");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(*names, (std::vector<std::string>{"lr", "opt"}));
  EXPECT_TRUE(PlaceholderNames("plain").ok());
  EXPECT_TRUE(PlaceholderNames("{{not}}").value().empty());
}

TEST(PlaceholderTest, Substitutes) {
  EXPECT_EQ(SubstitutePlaceholders("--lr={lr}", Lookup).value(), "--lr=0.01");
  EXPECT_EQ(SubstitutePlaceholders("{opt}{lr}", Lookup).value(), "adam0.01");
  EXPECT_EQ(SubstitutePlaceholders("{{lr}} }}", Lookup).value(), "{lr} }");
  EXPECT_EQ(SubstitutePlaceholders("", Lookup).value(), "");
}

TEST(PlaceholderTest, RejectsMalformedAndUnknown) {
  EXPECT_FALSE(PlaceholderNames("{lr").ok());
  EXPECT_FALSE(PlaceholderNames("lr}").ok());
  EXPECT_FALSE(PlaceholderNames("{}").ok());
  auto unknown = SubstitutePlaceholders("{nope}", Lookup);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("{nope}"), std::string::npos);
}

}  // namespace
}  // namespace dial
