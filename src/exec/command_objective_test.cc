// Tests of the command objective against an in-memory study: the protocol, failures, pruning, stop, fds.
#include "dial/command_objective.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "dial/storage.h"
#include "dial/study.h"

namespace dial {
namespace {

using ::testing::HasSubstr;

class CommandObjectiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("dial-cmd-test-" + std::to_string(getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    auto storage = OpenStorage("memory://");
    ASSERT_TRUE(storage.ok());
    StudyOptions options;
    options.study_name = "s";
    options.pruner = pruner_;
    options.pruner_options = pruner_options_;
    auto study = Study::Create(*storage, options);
    ASSERT_TRUE(study.ok()) << study.status().ToString();
    study_ = std::move(study).value();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs one trial of `/bin/sh -c script` with param x = 0.5.
  Result<std::vector<double>> RunShell(const std::string& script, std::unique_ptr<Trial>* out_trial = nullptr,
                                       const std::atomic<bool>* stop = nullptr) {
    CommandObjectiveOptions options;
    options.argv = {"/bin/sh", "-c", script, "sh", "{x}"};
    options.metrics = metrics_;
    options.trials_dir = dir_.string();
    options.kill_grace_seconds = 0.5;
    options.timeout_seconds = timeout_;
    auto trial = study_->Ask();
    EXPECT_TRUE(trial.ok());
    auto result = RunCommandTrial(**trial, {{"x", 0.5}, {"name", std::string("base")}}, options, stop);
    if (out_trial != nullptr) *out_trial = std::move(trial).value();
    return result;
  }

  std::filesystem::path dir_;
  std::unique_ptr<Study> study_;
  std::vector<std::string> metrics_ = {"loss"};
  std::optional<double> timeout_;
  std::string pruner_ = "nop";
  Json pruner_options_ = Json::object();
};

TEST_F(CommandObjectiveTest, ReadsIntermediateAndFinalValues) {
  std::unique_ptr<Trial> trial;
  auto values = RunShell(R"(
echo "hello log"
echo '{{"step": 1, "loss": 0.9}}'
echo '{{"step": 2, "loss": 0.7}}'
echo "{{\"loss\": $1, \"note\": \"$DIAL_PARAM_NAME $DIAL_TRIAL_NUMBER\"}}"
)",
                         &trial);
  ASSERT_TRUE(values.ok()) << values.status().ToString();
  EXPECT_EQ(*values, std::vector<double>{0.5});
  EXPECT_EQ(trial->frozen().intermediate_values, (std::map<int64_t, double>{{1, 0.9}, {2, 0.7}}));
  const auto trial_dir = dir_ / "s" / "0";
  EXPECT_TRUE(std::filesystem::exists(trial_dir / "params.json"));
  EXPECT_TRUE(std::filesystem::exists(trial_dir / "stdout.log"));
}

TEST_F(CommandObjectiveTest, EnvironmentAndParamsFile) {
  auto values = RunShell(R"SH(
test "$DIAL_PARAM_X" = 0.5 || exit 5
test "$DIAL_STUDY_NAME" = s || exit 6
test "$(pwd)" = "$DIAL_TRIAL_DIR" || exit 7
grep -q '"name": "base"' "$DIAL_PARAMS_FILE" || exit 8
echo '{{"loss": 1}}'
)SH");
  ASSERT_TRUE(values.ok()) << values.status().ToString();
}

TEST_F(CommandObjectiveTest, FailuresCarryAReasonAndTheStderrTail) {
  std::unique_ptr<Trial> trial;
  auto r = RunShell("echo 'bad things' >&2; exit 4", &trial);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("exited with status 4: bad things"));
  auto tail = trial->frozen().system_attrs.find(std::string(kStderrTailAttr));
  // The attribute is stored through the trial; the storage holds it.
  auto stored = study_->storage().GetTrial(trial->id());
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->system_attrs.at(std::string(kStderrTailAttr)), "bad things\n");
  (void)tail;

  EXPECT_THAT(RunShell("echo '{{\"loss\": NaN}}'").status().message(), HasSubstr("is NaN"));
  EXPECT_THAT(RunShell("echo '{{\"other\": 1}}'").status().message(), HasSubstr("no final line"));
  EXPECT_THAT(RunShell("kill -9 $$").status().message(), HasSubstr("killed by signal 9"));
  metrics_ = {"loss", "rtf"};
  EXPECT_THAT(RunShell("echo '{{\"loss\": 1}}'").status().message(), HasSubstr("metric \"rtf\" missing"));
}

// A final line over the 1 MiB limit per line was read as no line at all ("printed no final line").
TEST_F(CommandObjectiveTest, AnOverlongReportNamesTheLineAndTheLimit) {
  auto r = RunShell(R"(
echo starting
printf '{{"loss": 0.5, "blob": "'; head -c 50000000 /dev/zero | tr '\0' a; printf '"}}\n'
)");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(r.status().message(), HasSubstr("stdout line 2 '{\"loss\": 0.5, \"blob\": \"aaaa"));
  EXPECT_THAT(r.status().message(), HasSubstr("...': longer than the limit of 1 MiB (1048576 bytes) per line"));
  // A long line that is not a report is log output.
  auto values = RunShell(R"(
head -c 3000000 /dev/zero | tr '\0' x; echo
echo '{{"loss": 0.25}}'
)");
  ASSERT_TRUE(values.ok()) << values.status().ToString();
  EXPECT_EQ(*values, std::vector<double>{0.25});
  // Its pieces count as one line: the next one is line 2.
  auto after = RunShell(R"(
head -c 3000000 /dev/zero | tr '\0' x; echo
echo '{{"step": -1, "loss": 0.25}}'
)");
  EXPECT_THAT(after.status().message(), HasSubstr("stdout line 2 '{\"step\": -1"));
  // A line just over the limit that arrives in one read (cat writes the file's first 1 MiB, then its last bytes
  // with the '\n') is a whole line, not the first piece of a longer one: the line after it is line 2 and is read.
  auto whole = RunShell(R"(
head -c 1048676 /dev/zero | tr '\0' x > long.txt; echo >> long.txt; cat long.txt
echo '{{"step": -1, "loss": 0.25}}'
)");
  EXPECT_THAT(whole.status().message(), HasSubstr("stdout line 2 '{\"step\": -1"));
  // Such a line that is a report fails the trial, named by its own number.
  auto whole_report = RunShell(R"(
echo starting
printf '{{"loss": 0.5, "blob": "' > long.txt; head -c 1048600 /dev/zero | tr '\0' a >> long.txt
printf '"}}\n' >> long.txt; cat long.txt
echo '{{"loss": 0.25}}'
)");
  EXPECT_THAT(whole_report.status().message(), HasSubstr("stdout line 2 '{\"loss\": 0.5, \"blob\": \"aaaa"));
  EXPECT_THAT(whole_report.status().message(), HasSubstr("longer than the limit of 1 MiB (1048576 bytes) per line"));
}

// Invalid UTF-8 anywhere in the final line made it unreadable, reported as "printed no final line".
TEST_F(CommandObjectiveTest, AReportThatIsNotUtf8NamesTheByte) {
  auto r = RunShell(R"(
echo '{{"step": 1, "loss": 0.9}}'
printf '{{"loss": 0.5, "note": "caf\351"}}\n'
)");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(),
              HasSubstr("stdout line 2 '{\"loss\": 0.5, \"note\": \"caf?\"}': not UTF-8: byte 27 (0xE9)"));
}

// {"loss": 1e999} overflows a double: it was read as no line at all.
TEST_F(CommandObjectiveTest, ANumberOutOfRangeIsNamed) {
  auto r = RunShell("echo '{{\"loss\": 1e999}}'");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("stdout line 1 '{\"loss\": 1e999}': value out of range"));
  EXPECT_THAT(r.status().message(), HasSubstr("1e999"));
}

// A step of 1e30 was cast to int64 ("step must be >= 0, got -9223372036854775808"); -1 and 2.5 were ignored.
TEST_F(CommandObjectiveTest, AStepThatIsNotANonNegativeIntegerFailsTheTrial) {
  const std::pair<const char*, const char*> cases[] = {{"1e30", "1e+30"},
                                                       {"-1", "-1"},
                                                       {"2.5", "2.5"},
                                                       {"\"3\"", "\"3\""},
                                                       {"9223372036854775808", "9223372036854775808"}};
  for (const auto& [written, shown] : cases) {
    std::unique_ptr<Trial> trial;
    auto r = RunShell(
        std::string("echo log; echo '{{\"step\": ") + written + ", \"loss\": 0.5}}'; echo '{{\"loss\": 1}}'", &trial);
    ASSERT_FALSE(r.ok()) << written;
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << written;
    EXPECT_THAT(r.status().message(), HasSubstr(std::string("stdout line 2 '{\"step\": ") + written))
        << r.status().message();
    EXPECT_THAT(r.status().message(),
                HasSubstr(std::string("': \"step\" must be a non-negative integer, got ") + shown));
    EXPECT_TRUE(trial->frozen().intermediate_values.empty()) << written;
  }
  // Without the metric too: {"step": -1} alone was ignored.
  auto r = RunShell("echo '{{\"step\": -1}}'; echo '{{\"loss\": 1}}'");
  EXPECT_THAT(r.status().message(), HasSubstr("stdout line 1 '{\"step\": -1}': \"step\" must be"));
  // Integral floats are steps.
  std::unique_ptr<Trial> trial;
  auto ok = RunShell("echo '{{\"step\": 2.0, \"loss\": 0.5}}'; echo '{{\"loss\": 1}}'", &trial);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(trial->frozen().intermediate_values, (std::map<int64_t, double>{{2, 0.5}}));
}

// A line starting with '{' that names no metric and is not JSON stays log output, as before.
TEST_F(CommandObjectiveTest, UnreadableLinesThatAreNotReportsAreLog) {
  auto values = RunShell(R"(
echo '{{not json at all}}'
printf '{{"event": "\377"}}\n'
echo '{{"loss": 0.5}}'
)");
  ASSERT_TRUE(values.ok()) << values.status().ToString();
}

TEST_F(CommandObjectiveTest, UnknownPlaceholderFailsTheTrial) {
  auto r = RunShell("echo {momentum}");
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("{momentum}"));
}

TEST_F(CommandObjectiveTest, InfinityIsAValue) {
  auto values = RunShell("echo '{{\"loss\": Infinity}}'");
  ASSERT_TRUE(values.ok()) << values.status().ToString();
  EXPECT_TRUE(std::isinf((*values)[0]));
}

TEST_F(CommandObjectiveTest, TimeoutKillsTheChild) {
  timeout_ = 0.3;
  const auto start = std::chrono::steady_clock::now();
  auto r = RunShell("sleep 30");
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(CommandObjectiveTest, StopFlagCancels) {
  std::atomic<bool> stop{true};
  const auto start = std::chrono::steady_clock::now();
  auto r = RunShell("sleep 30", nullptr, &stop);
  EXPECT_EQ(r.status().code(), StatusCode::kCancelled);
  EXPECT_EQ(r.status().message(), "interrupted");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(CommandObjectiveTest, ChildInheritsNoExtraDescriptors) {
  // A descriptor opened without O_CLOEXEC, as a library might.
  int fd = open("/dev/null", O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(dup2(fd, 57), 57);
  auto r = RunShell("if [ -e /proc/self/fd/57 ]; then exit 3; fi; echo '{{\"loss\": 1}}'");
  close(57);
  close(fd);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
}

TEST(CommandObjectiveOptionsTest, Validate) {
  CommandObjectiveOptions o;
  o.metrics = {"loss"};
  EXPECT_EQ(o.Validate().code(), StatusCode::kInvalidArgument);  // no argv
  o.argv = {"no-such-program-for-dial"};
  EXPECT_EQ(o.Validate().code(), StatusCode::kNotFound);
  o.argv = {"sh", "{x"};
  EXPECT_EQ(o.Validate().code(), StatusCode::kInvalidArgument);
  o.argv = {"sh"};
  EXPECT_TRUE(o.Validate().ok());
  o.metrics = {"loss", "loss"};
  EXPECT_FALSE(o.Validate().ok());
  EXPECT_TRUE(ResolveExecutable("sh").ok());
  EXPECT_FALSE(ResolveExecutable("/etc/passwd").ok());  // not executable
}

}  // namespace
}  // namespace dial
