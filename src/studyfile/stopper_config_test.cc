// The study file's `stop:` mapping: every key parsed, and errors that name the file, the line and the key.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "dial/study_config.h"

namespace dial {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string ErrorOf(const std::string& text) {
  Result<StudyConfig> config = ParseStudyConfig(text, "study.yaml");
  EXPECT_FALSE(config.ok()) << "expected an error for:\n" << text;
  if (config.ok()) return "";
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument) << config.status().ToString();
  return config.status().message();
}

const std::string kHead = "objective: {builtin: branin2}\n";

TEST(StopperConfigTest, ParsesEveryKey) {
  Result<StudyConfig> config = ParseStudyConfig(kHead +
                                                    "stop: {max_trials: 200, timeout: 3600, target_value: 0.05,\n"
                                                    "       no_improvement_trials: 30, min_delta: 0.001}\n",
                                                "study.yaml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  const StopperOptions& stop = config->stoppers;
  EXPECT_EQ(stop.max_trials, 200);
  EXPECT_EQ(stop.timeout_seconds, 3600.0);
  EXPECT_EQ(stop.target_value, 0.05);
  EXPECT_EQ(stop.no_improvement_trials, 30);
  EXPECT_EQ(stop.min_delta, 0.001);
  EXPECT_TRUE(stop.Validate().ok());
}

TEST(StopperConfigTest, AbsentMeansNoStopper) {
  Result<StudyConfig> config = ParseStudyConfig(kHead, "study.yaml");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE(config->stoppers.empty());
}

TEST(StopperConfigTest, ErrorsNameFileLineAndKey) {
  EXPECT_THAT(ErrorOf(kHead + "stop: {max_trials: 0}\n"),
              StartsWith("study.yaml:2: stop.max_trials: must be a positive"));
  EXPECT_THAT(ErrorOf(kHead + "stop:\n  timeout: -3\n"), StartsWith("study.yaml:3: stop.timeout: must be a positive"));
  EXPECT_THAT(ErrorOf(kHead + "stop:\n  target_value: low\n"),
              StartsWith("study.yaml:3: stop.target_value: must be a number"));
  EXPECT_THAT(ErrorOf(kHead + "stop: {no_improvement_trials: 2.5}\n"),
              StartsWith("study.yaml:2: stop.no_improvement_trials: must be an integer"));
  EXPECT_THAT(ErrorOf(kHead + "stop: {no_improvement_trials: 5, min_delta: -1}\n"),
              StartsWith("study.yaml:2: stop.min_delta: must be a non-negative"));
  EXPECT_THAT(ErrorOf(kHead + "stop: {min_delta: 0.1}\n"),
              StartsWith("study.yaml:2: stop.min_delta: only has a meaning"));
  EXPECT_THAT(ErrorOf(kHead + "stop: {max_trial: 5}\n"),
              StartsWith("study.yaml:2: stop.max_trial: unknown key (did you mean 'max_trials'?)"));
  EXPECT_THAT(ErrorOf(kHead + "stop: 5\n"), StartsWith("study.yaml:2: stop: must be a mapping"));
  EXPECT_THAT(ErrorOf(kHead + "stopp: {max_trials: 5}\n"), HasSubstr("did you mean 'stop'?"));
}

TEST(StopperConfigTest, ValueStoppersNeedOneObjective) {
  const std::string two = "directions: [minimize, minimize]\nmetrics: [wer, latency]\n" + kHead;
  EXPECT_THAT(ErrorOf(two + "stop:\n  max_trials: 9\n  target_value: 0.1\n"),
              StartsWith("study.yaml:6: stop.target_value: needs a single objective, this study has 2"));
  EXPECT_THAT(ErrorOf(two + "stop: {no_improvement_trials: 3}\n"),
              StartsWith("study.yaml:4: stop.no_improvement_trials: needs a single objective"));
}

}  // namespace
}  // namespace dial
