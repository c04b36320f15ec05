// dial reads studies that the real Optuna 3.1 wrote (tests/python/optuna_interop.py write_optuna), and refuses,
// without touching a byte, a database that a newer Optuna upgraded (alembic revision v3.2.0.a).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "dial/storage.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class OptunaInteropTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "dial_optuna_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Runs the interop script's `mode` to write `db` with the real Optuna.
  void WriteWithOptuna(const std::string& mode, const std::string& db) {
    std::string command = std::string(DIAL_OPTUNA_PYTHON) + " " + DIAL_OPTUNA_INTEROP_SCRIPT + " " + mode + " " + db;
    ASSERT_EQ(std::system(command.c_str()), 0) << command;
  }

  static std::string ReadBytes(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  fs::path dir_;
};

TEST_F(OptunaInteropTest, ReadsStudiesOptunaWrote) {
  const std::string db = (dir_ / "optuna.db").string();
  WriteWithOptuna("write_optuna", db);
  auto opened = dial::OpenStorage("sqlite:///" + db);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  dial::Storage& storage = **opened;

  auto studies = storage.GetAllStudies();
  ASSERT_TRUE(studies.ok()) << studies.status().ToString();
  std::set<std::string> names;
  for (const auto& s : *studies) names.insert(s.study_name);
  EXPECT_EQ(names, (std::set<std::string>{"optuna_single", "optuna_multi", "optuna_old"}));

  auto single = storage.GetStudyIdFromName("optuna_single");
  ASSERT_TRUE(single.ok());
  EXPECT_EQ((*storage.GetStudyUserAttrs(*single))["corpus"], "tedlium");
  auto trials = storage.GetAllTrials(*single);
  ASSERT_TRUE(trials.ok()) << trials.status().ToString();
  ASSERT_EQ(trials->size(), 17u);  // 16 run + 1 enqueued
  std::map<dial::TrialState, int> counts;
  for (size_t i = 0; i < trials->size(); ++i) {
    const dial::FrozenTrial& t = (*trials)[i];
    EXPECT_EQ(t.number, static_cast<int64_t>(i));
    ++counts[t.state];
    if (t.state == dial::TrialState::kWaiting) continue;
    EXPECT_TRUE(t.datetime_start.has_value());
    EXPECT_TRUE(t.datetime_complete.has_value());
    ASSERT_TRUE(t.user_attrs.count("run")) << "trial " << t.number;
    EXPECT_DOUBLE_EQ(t.user_attrs.at("run")["lr"].get<double>(), t.params.at("lr"));
    // The objective returned layers + lr; a pruned trial keeps its last reported value.
    if (t.state == dial::TrialState::kComplete) {
      ASSERT_EQ(t.values.size(), 1u);
      EXPECT_DOUBLE_EQ(t.values[0], t.params.at("layers") + t.params.at("lr"));
    }
    if (t.state == dial::TrialState::kPruned) {
      ASSERT_EQ(t.values.size(), 1u);
      EXPECT_EQ(t.intermediate_values.size(), 4u);
      EXPECT_EQ(t.values[0], t.intermediate_values.rbegin()->second);
    }
    if (t.state == dial::TrialState::kFail) {
      EXPECT_TRUE(t.values.empty());
    }
    auto opt = t.Param("optimizer");
    ASSERT_TRUE(opt.has_value());
    EXPECT_EQ(t.Param("momentum").has_value(), dial::ParamValueEquals(*opt, std::string("sgd")));
    EXPECT_TRUE(std::holds_alternative<dial::IntDistribution>(t.distributions.at("width")));
    EXPECT_EQ(std::get<dial::IntDistribution>(t.distributions.at("width")).step, 64);
    EXPECT_TRUE(std::get<dial::FloatDistribution>(t.distributions.at("lr")).log);
  }
  EXPECT_EQ(counts[dial::TrialState::kComplete] + counts[dial::TrialState::kPruned] + counts[dial::TrialState::kFail],
            16);
  EXPECT_GT(counts[dial::TrialState::kPruned], 0);
  EXPECT_GT(counts[dial::TrialState::kFail], 0);
  EXPECT_GT(counts[dial::TrialState::kComplete], 0);
  EXPECT_EQ(counts[dial::TrialState::kWaiting], 1);
  const dial::FrozenTrial& waiting = trials->back();
  EXPECT_EQ(waiting.state, dial::TrialState::kWaiting);
  EXPECT_EQ(waiting.system_attrs.at(std::string(dial::kFixedParamsAttr)),
            (dial::Json{{"lr", 0.01}, {"layers", 3}, {"optimizer", "adam"}}));
  EXPECT_EQ(waiting.user_attrs.at("from"), "enqueue");
  auto best = dial::GetBestTrial(storage, *single);
  ASSERT_TRUE(best.ok()) << best.status().ToString();

  auto multi = storage.GetStudyIdFromName("optuna_multi");
  ASSERT_TRUE(multi.ok());
  EXPECT_EQ(*storage.GetStudyDirections(*multi),
            (std::vector<dial::StudyDirection>{dial::StudyDirection::kMinimize, dial::StudyDirection::kMaximize}));
  auto mtrials = storage.GetAllTrials(*multi);
  ASSERT_TRUE(mtrials.ok());
  ASSERT_EQ(mtrials->size(), 6u);
  EXPECT_EQ((*mtrials)[2].state, dial::TrialState::kFail);
  EXPECT_EQ((*mtrials)[4].values,
            (std::vector<double>{-std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()}));
  auto front = dial::GetBestTrials(storage, *multi);
  ASSERT_TRUE(front.ok());
  EXPECT_FALSE(front->empty());

  auto old = storage.GetStudyIdFromName("optuna_old");
  ASSERT_TRUE(old.ok());
  auto otrials = storage.GetAllTrials(*old);
  ASSERT_TRUE(otrials.ok()) << otrials.status().ToString();
  ASSERT_EQ(otrials->size(), 1u);
  const dial::FrozenTrial& o = (*otrials)[0];
  EXPECT_TRUE(dial::DistributionEquals(o.distributions.at("u"), dial::FloatDistribution{0.0, 1.0}));
  EXPECT_TRUE(
      dial::DistributionEquals(o.distributions.at("lu"), dial::FloatDistribution{0.001, 1.0, std::nullopt, true}));
  EXPECT_TRUE(dial::DistributionEquals(o.distributions.at("du"), dial::FloatDistribution{0.0, 1.0, 0.25, false}));
  EXPECT_TRUE(dial::DistributionEquals(o.distributions.at("iu"), dial::IntDistribution{2, 10, 2, false}));
  EXPECT_TRUE(dial::DistributionEquals(o.distributions.at("ilu"), dial::IntDistribution{1, 32, 1, true}));
  EXPECT_EQ(dial::FormatTimestamp(*o.datetime_start), "2021-05-06 07:08:09.101112");

  // dial continues Optuna's study: numbering goes on after Optuna's trials.
  auto tid = storage.CreateNewTrial(*single);
  ASSERT_TRUE(tid.ok()) << tid.status().ToString();
  EXPECT_EQ(storage.GetTrial(*tid)->number, 17);
}

TEST_F(OptunaInteropTest, NewerSchemaIsRefusedAndNotModified) {
  const fs::path db = dir_ / "upgraded.db";
  WriteWithOptuna("write_newer", db.string());
  const std::string before = ReadBytes(db);
  std::set<fs::path> files_before{fs::directory_iterator(dir_), fs::directory_iterator()};
  auto opened = dial::OpenStorage("sqlite:///" + db.string());
  EXPECT_EQ(opened.status().code(), dial::StatusCode::kFailedPrecondition) << opened.status().ToString();
  EXPECT_THAT(opened.status().message(), HasSubstr("v3.2.0.a"));
  EXPECT_THAT(opened.status().message(), HasSubstr(db.string()));
  EXPECT_EQ(ReadBytes(db), before) << "the database was modified";
  std::set<fs::path> files_after{fs::directory_iterator(dir_), fs::directory_iterator()};
  EXPECT_EQ(files_after, files_before);
}

}  // namespace
