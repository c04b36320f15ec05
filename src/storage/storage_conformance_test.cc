// The storage conformance suite (see storage_conformance.h), run here against the memory and SQLite backends.
#include "storage/storage_conformance.h"

#include <gmock/gmock.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <filesystem>
#include <limits>
#include <set>
#include <thread>

#include "dial/study.h"
#include "storage/storage_test_util.h"

namespace dial::testing {

std::shared_ptr<Storage> NewTemporarySqliteStorage() {
  std::string pattern = (std::filesystem::temp_directory_path() / "dial_storage_XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) return nullptr;
  std::string folder = pattern;
  Result<std::shared_ptr<Storage>> opened = OpenStorage("sqlite:///" + folder + "/study.db");
  if (!opened.ok()) {
    ADD_FAILURE() << opened.status().ToString();
    return nullptr;
  }
  std::shared_ptr<Storage> inner = *opened;
  // The returned pointer owns `inner`; when it goes, the database is closed and its folder removed.
  return std::shared_ptr<Storage>(inner.get(), [inner, folder](Storage*) mutable {
    inner.reset();
    std::error_code ec;
    std::filesystem::remove_all(folder, ec);
  });
}

namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
const std::vector<StudyDirection> kMinimize = {StudyDirection::kMinimize};

FloatDistribution LogFloat() { return FloatDistribution{1e-5, 1e-1, std::nullopt, true}; }
IntDistribution Layers() { return IntDistribution{1, 8, 1, false}; }
CategoricalDistribution Optimizers() {
  return CategoricalDistribution{{std::string("adam"), std::string("sgd"), int64_t{3}, 2.5, true, std::monostate{}}};
}

TEST_P(StorageConformanceTest, CreatesAndFindsStudies) {
  ASSERT_OK_AND_ASSIGN(StudyId a, storage().CreateNewStudy(kMinimize, "a"));
  ASSERT_OK_AND_ASSIGN(StudyId b,
                       storage().CreateNewStudy({StudyDirection::kMaximize, StudyDirection::kMinimize}, "b"));
  EXPECT_NE(a, b);
  EXPECT_EQ(*storage().GetStudyIdFromName("a"), a);
  EXPECT_EQ(*storage().GetStudyIdFromName("b"), b);
  EXPECT_EQ(*storage().GetStudyNameFromId(b), "b");
  EXPECT_THAT(*storage().GetStudyDirections(a), ElementsAre(StudyDirection::kMinimize));
  EXPECT_THAT(*storage().GetStudyDirections(b), ElementsAre(StudyDirection::kMaximize, StudyDirection::kMinimize));
}

TEST_P(StorageConformanceTest, StudyErrors) {
  ASSERT_OK(storage().CreateNewStudy(kMinimize, "a").status());
  Result<StudyId> again = storage().CreateNewStudy(kMinimize, "a");
  EXPECT_EQ(again.status().code(), StatusCode::kAlreadyExists);
  EXPECT_THAT(again.status().message(), HasSubstr("'a'"));
  EXPECT_EQ(storage().CreateNewStudy({}, "c").status().code(), StatusCode::kInvalidArgument);
  Result<StudyId> missing = storage().GetStudyIdFromName("nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("nope"));
  constexpr StudyId kNoStudy = 987654;
  EXPECT_EQ(storage().GetStudyNameFromId(kNoStudy).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(storage().GetStudyDirections(kNoStudy).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(storage().GetStudyUserAttrs(kNoStudy).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(storage().GetStudySystemAttrs(kNoStudy).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(storage().SetStudyUserAttr(kNoStudy, "k", 1).code(), StatusCode::kNotFound);
  EXPECT_EQ(storage().SetStudySystemAttr(kNoStudy, "k", 1).code(), StatusCode::kNotFound);
  EXPECT_EQ(storage().SetStudySystemAttrIfAbsent(kNoStudy, "k", 1).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(storage().DeleteStudy(kNoStudy).code(), StatusCode::kNotFound);
  EXPECT_EQ(storage().CreateNewTrial(kNoStudy).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(storage().GetAllTrials(kNoStudy).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(storage().GetNTrials(kNoStudy).status().code(), StatusCode::kNotFound);
}

TEST_P(StorageConformanceTest, EmptyNameGetsOptunaDefault) {
  ASSERT_OK_AND_ASSIGN(StudyId id, storage().CreateNewStudy(kMinimize, ""));
  ASSERT_OK_AND_ASSIGN(std::string name, storage().GetStudyNameFromId(id));
  EXPECT_THAT(name,
              ::testing::MatchesRegex("no-name-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"));
  ASSERT_OK_AND_ASSIGN(StudyId other, storage().CreateNewStudy(kMinimize, ""));
  EXPECT_NE(*storage().GetStudyNameFromId(other), name);
}

TEST_P(StorageConformanceTest, StudyAttributes) {
  ASSERT_OK_AND_ASSIGN(StudyId id, storage().CreateNewStudy(kMinimize, "s"));
  ASSERT_OK(storage().SetStudyUserAttr(id, "corpus", "librispeech"));
  ASSERT_OK(storage().SetStudyUserAttr(id, "corpus", "tedlium"));  // overwrites
  ASSERT_OK(storage().SetStudyUserAttr(id, "nested", Json{{"a", {1, 2}}, {"b", nullptr}}));
  ASSERT_OK(storage().SetStudySystemAttr(id, "dial:version", 1));
  ASSERT_OK_AND_ASSIGN(AttrMap user, storage().GetStudyUserAttrs(id));
  EXPECT_EQ(user.size(), 2u);
  EXPECT_EQ(user["corpus"], "tedlium");
  EXPECT_EQ(user["nested"], (Json{{"a", {1, 2}}, {"b", nullptr}}));
  ASSERT_OK_AND_ASSIGN(AttrMap system, storage().GetStudySystemAttrs(id));
  EXPECT_EQ(system.size(), 1u);
  EXPECT_EQ(system["dial:version"], 1);
}

TEST_P(StorageConformanceTest, SystemAttrIfAbsentIsCompareAndSet) {
  ASSERT_OK_AND_ASSIGN(StudyId id, storage().CreateNewStudy(kMinimize, "s"));
  ASSERT_OK_AND_ASSIGN(bool first, storage().SetStudySystemAttrIfAbsent(id, "grid:0", "worker-1"));
  ASSERT_OK_AND_ASSIGN(bool second, storage().SetStudySystemAttrIfAbsent(id, "grid:0", "worker-2"));
  EXPECT_TRUE(first);
  EXPECT_FALSE(second);
  EXPECT_EQ((*storage().GetStudySystemAttrs(id))["grid:0"], "worker-1");
  // Only one of many racing threads claims a key.
  std::atomic<int> wins{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      Result<bool> won = storage().SetStudySystemAttrIfAbsent(id, "grid:1", i);
      if (won.ok() && *won) ++wins;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), 1);
}

TEST_P(StorageConformanceTest, GetAllStudiesSummarises) {
  ASSERT_OK_AND_ASSIGN(StudyId a, storage().CreateNewStudy(kMinimize, "a"));
  ASSERT_OK_AND_ASSIGN(StudyId b,
                       storage().CreateNewStudy({StudyDirection::kMaximize, StudyDirection::kMaximize}, "b"));
  ASSERT_OK(storage().SetStudyUserAttr(b, "k", "v"));
  ASSERT_OK(storage().CreateNewTrial(b).status());
  ASSERT_OK(storage().CreateNewTrial(b).status());
  ASSERT_OK_AND_ASSIGN(std::vector<StudySummary> all, storage().GetAllStudies());
  ASSERT_EQ(all.size(), 2u);
  const StudySummary& sa = all[0].study_id == a ? all[0] : all[1];
  const StudySummary& sb = all[0].study_id == b ? all[0] : all[1];
  EXPECT_EQ(sa.study_name, "a");
  EXPECT_EQ(sa.n_trials, 0);
  EXPECT_FALSE(sa.datetime_start.has_value());
  EXPECT_EQ(sb.study_name, "b");
  EXPECT_EQ(sb.n_trials, 2);
  EXPECT_TRUE(sb.datetime_start.has_value());
  EXPECT_EQ(sb.directions.size(), 2u);
  EXPECT_EQ(sb.user_attrs.at("k"), "v");
}

TEST_P(StorageConformanceTest, NewTrialsAreRunningAndNumberedPerStudy) {
  ASSERT_OK_AND_ASSIGN(StudyId a, storage().CreateNewStudy(kMinimize, "a"));
  ASSERT_OK_AND_ASSIGN(StudyId b, storage().CreateNewStudy(kMinimize, "b"));
  auto before = std::chrono::system_clock::now() - std::chrono::seconds(1);
  std::vector<TrialId> ids;
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(TrialId ta, storage().CreateNewTrial(a));
    ASSERT_OK_AND_ASSIGN(TrialId tb, storage().CreateNewTrial(b));
    ids.push_back(ta);
    EXPECT_EQ(storage().GetTrial(tb)->number, i);
  }
  EXPECT_EQ(std::set<TrialId>(ids.begin(), ids.end()).size(), 3u);
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(FrozenTrial t, storage().GetTrial(ids[i]));
    EXPECT_EQ(t.trial_id, ids[i]);
    EXPECT_EQ(t.number, i);
    EXPECT_EQ(t.state, TrialState::kRunning);
    ASSERT_TRUE(t.datetime_start.has_value());
    EXPECT_GT(*t.datetime_start, before);
    EXPECT_FALSE(t.datetime_complete.has_value());
    EXPECT_TRUE(t.params.empty());
    EXPECT_TRUE(t.values.empty());
  }
  EXPECT_EQ(storage().GetTrial(987654).status().code(), StatusCode::kNotFound);
}

TEST_P(StorageConformanceTest, TemplateTrialIsCopied) {
  ASSERT_OK_AND_ASSIGN(StudyId id, storage().CreateNewStudy(kMinimize, "s"));
  FrozenTrial waiting;
  waiting.state = TrialState::kWaiting;
  waiting.params = {{"lr", 1e-3}, {"optimizer", 1.0}};
  waiting.distributions = {{"lr", LogFloat()}, {"optimizer", Optimizers()}};
  waiting.user_attrs = {{"note", "enqueued"}};
  waiting.system_attrs = {{std::string(kFixedParamsAttr), Json{{"lr", 1e-3}, {"optimizer", "sgd"}}}};
  ASSERT_OK_AND_ASSIGN(TrialId wid, storage().CreateNewTrial(id, waiting));
  ASSERT_OK_AND_ASSIGN(FrozenTrial w, storage().GetTrial(wid));
  EXPECT_EQ(w.number, 0);
  EXPECT_EQ(w.state, TrialState::kWaiting);
  EXPECT_FALSE(w.datetime_start.has_value());
  EXPECT_EQ(w.params, waiting.params);
  ASSERT_EQ(w.distributions.size(), 2u);
  EXPECT_TRUE(DistributionEquals(w.distributions.at("lr"), LogFloat()));
  EXPECT_TRUE(DistributionEquals(w.distributions.at("optimizer"), Optimizers()));
  EXPECT_EQ(w.user_attrs, waiting.user_attrs);
  EXPECT_EQ(w.system_attrs, waiting.system_attrs);

  FrozenTrial done;
  done.state = TrialState::kComplete;
  done.values = {0.25};
  done.intermediate_values = {{0, 1.0}, {1, kInf}, {2, 0.25}};
  done.datetime_start = std::chrono::system_clock::now() - std::chrono::hours(1);
  done.datetime_complete = std::chrono::system_clock::now() - std::chrono::minutes(1);
  done.params = {{"layers", 4.0}};
  done.distributions = {{"layers", Layers()}};
  ASSERT_OK_AND_ASSIGN(TrialId did, storage().CreateNewTrial(id, done));
  ASSERT_OK_AND_ASSIGN(FrozenTrial d, storage().GetTrial(did));
  EXPECT_EQ(d.number, 1);
  EXPECT_EQ(d.state, TrialState::kComplete);
  EXPECT_THAT(d.values, ElementsAre(0.25));
  EXPECT_EQ(d.intermediate_values, done.intermediate_values);
  ASSERT_TRUE(d.datetime_start && d.datetime_complete);
  // Storages may keep only microseconds (Optuna's DATETIME text).
  EXPECT_LT(std::chrono::abs(*d.datetime_start - *done.datetime_start), std::chrono::microseconds(2));
  EXPECT_LT(std::chrono::abs(*d.datetime_complete - *done.datetime_complete), std::chrono::microseconds(2));
  EXPECT_EQ(d.params.at("layers"), 4.0);
}

TEST_P(StorageConformanceTest, TemplateWithBadParamIsRefusedAndNothingIsCreated) {
  ASSERT_OK_AND_ASSIGN(StudyId id, storage().CreateNewStudy(kMinimize, "s"));
  FrozenTrial bad;
  bad.state = TrialState::kWaiting;
  bad.params = {{"layers", 100.0}};  // outside [1, 8]
  bad.distributions = {{"layers", Layers()}};
  EXPECT_EQ(storage().CreateNewTrial(id, bad).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(*storage().GetNTrials(id), 0);
}

TEST_P(StorageConformanceTest, WaitingToRunningIsCompareAndSet) {
  ASSERT_OK_AND_ASSIGN(StudyId id, storage().CreateNewStudy(kMinimize, "s"));
  FrozenTrial waiting;
  waiting.state = TrialState::kWaiting;
  ASSERT_OK_AND_ASSIGN(TrialId tid, storage().CreateNewTrial(id, waiting));
  ASSERT_OK_AND_ASSIGN(bool first, storage().SetTrialStateValues(tid, TrialState::kRunning));
  ASSERT_OK_AND_ASSIGN(bool second, storage().SetTrialStateValues(tid, TrialState::kRunning));
  EXPECT_TRUE(first);
  EXPECT_FALSE(second);
  ASSERT_OK_AND_ASSIGN(FrozenTrial t, storage().GetTrial(tid));
  EXPECT_EQ(t.state, TrialState::kRunning);
  EXPECT_TRUE(t.datetime_start.has_value());

  // Many workers race for one enqueued trial: exactly one wins.
  ASSERT_OK_AND_ASSIGN(TrialId raced, storage().CreateNewTrial(id, waiting));
  std::atomic<int> wins{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      Result<bool> won = storage().SetTrialStateValues(raced, TrialState::kRunning);
      if (won.ok() && *won) ++wins;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wins.load(), 1);
}

TEST_P(StorageConformanceTest, FinishedTrialsAreImmutable) {
  ASSERT_OK_AND_ASSIGN(StudyId id, storage().CreateNewStudy(kMinimize, "s"));
  for (TrialState finished : {TrialState::kComplete, TrialState::kPruned, TrialState::kFail}) {
    ASSERT_OK_AND_ASSIGN(TrialId tid, storage().CreateNewTrial(id));
    ASSERT_OK(storage().SetTrialParam(tid, "layers", 2.0, Layers()));
    std::vector<double> values = finished == TrialState::kComplete ? std::vector<double>{1.5} : std::vector<double>{};
    ASSERT_OK_AND_ASSIGN(bool changed, storage().SetTrialStateValues(tid, finished, values));
    EXPECT_TRUE(changed);
    ASSERT_OK_AND_ASSIGN(FrozenTrial before, storage().GetTrial(tid));
    EXPECT_EQ(before.state, finished);
    EXPECT_TRUE(before.datetime_complete.has_value());

    EXPECT_EQ(storage().SetTrialParam(tid, "layers", 3.0, Layers()).code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(storage().SetTrialStateValues(tid, TrialState::kComplete, {2.0}).status().code(),
              StatusCode::kFailedPrecondition);
    EXPECT_EQ(storage().SetTrialStateValues(tid, TrialState::kRunning).status().code(),
              StatusCode::kFailedPrecondition);
    EXPECT_EQ(storage().SetTrialIntermediateValue(tid, 0, 1.0).code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(storage().SetTrialUserAttr(tid, "k", 1).code(), StatusCode::kFailedPrecondition);
    EXPECT_EQ(storage().SetTrialSystemAttr(tid, "k", 1).code(), StatusCode::kFailedPrecondition);
    Storage::TrialUpdate update;
    update.user_attrs = {{"k", 1}};
    EXPECT_EQ(storage().UpdateTrial(tid, update).code(), StatusCode::kFailedPrecondition);

    ASSERT_OK_AND_ASSIGN(FrozenTrial after, storage().GetTrial(tid));
    EXPECT_EQ(after.state, before.state);
    EXPECT_EQ(after.values, before.values);
    EXPECT_EQ(after.params, before.params);
    EXPECT_TRUE(after.user_attrs.empty());
    EXPECT_TRUE(after.intermediate_values.empty());
  }
}

TEST_P(StorageConformanceTest, ParamsKeepValuesAndDistributions) {
  ASSERT_OK_AND_ASSIGN(StudyId id, storage().CreateNewStudy(kMinimize, "s"));
  ASSERT_OK_AND_ASSIGN(TrialId tid, storage().CreateNewTrial(id));
  FloatDistribution stepped{0.0, 1.0, 0.25, false};
  ASSERT_OK(storage().SetTrialParam(tid, "lr", 3.3e-4, LogFloat()));
  ASSERT_OK(storage().SetTrialParam(tid, "layers", 5.0, Layers()));
  ASSERT_OK(storage().SetTrialParam(tid, "optimizer", 5.0, Optimizers()));
  ASSERT_OK(storage().SetTrialParam(tid, "dropout", 0.75, stepped));
  ASSERT_OK_AND_ASSIGN(FrozenTrial t, storage().GetTrial(tid));
  EXPECT_EQ(t.params,
            (std::map<std::string, double>{{"lr", 3.3e-4}, {"layers", 5.0}, {"optimizer", 5.0}, {"dropout", 0.75}}));
  EXPECT_TRUE(DistributionEquals(t.distributions.at("lr"), LogFloat()));
  EXPECT_TRUE(DistributionEquals(t.distributions.at("layers"), Layers()));
  EXPECT_TRUE(DistributionEquals(t.distributions.at("optimizer"), Optimizers()));
  EXPECT_TRUE(DistributionEquals(t.distributions.at("dropout"), stepped));
  EXPECT_TRUE(ParamValueEquals(*t.Param("optimizer"), ParamValue(std::monostate{})));
}

TEST_P(StorageConformanceTest, IncompatibleDistributionsAreRefused) {
  ASSERT_OK_AND_ASSIGN(StudyId id, storage().CreateNewStudy(kMinimize, "s"));
  ASSERT_OK_AND_ASSIGN(TrialId t0, storage().CreateNewTrial(id));
  ASSERT_OK(storage().SetTrialParam(t0, "x", 0.5, FloatDistribution{0.0, 1.0}));
  ASSERT_OK(
      storage().SetTrialParam(t0, "opt", 0.0, CategoricalDistribution{{std::string("adam"), std::string("sgd")}}));
  ASSERT_OK_AND_ASSIGN(TrialId t1, storage().CreateNewTrial(id));
  Status kind = storage().SetTrialParam(t1, "x", 1.0, IntDistribution{0, 4});
  EXPECT_EQ(kind.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(kind.message(), HasSubstr("'x'"));
  EXPECT_EQ(storage().SetTrialParam(t1, "x", 0.5, FloatDistribution{0.1, 1.0, std::nullopt, true}).code(),
            StatusCode::kInvalidArgument);  // log differs
  EXPECT_EQ(storage().SetTrialParam(t1, "opt", 0.0, CategoricalDistribution{{std::string("adam")}}).code(),
            StatusCode::kInvalidArgument);  // choices differ
  // A different range of the same kind is compatible, as in Optuna.
  ASSERT_OK(storage().SetTrialParam(t1, "x", 1.5, FloatDistribution{0.0, 2.0}));
  // A value outside its distribution, and an invalid distribution.
  EXPECT_EQ(storage().SetTrialParam(t1, "y", 5.0, FloatDistribution{0.0, 1.0}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(storage().SetTrialParam(t1, "z", 0.5, FloatDistribution{1.0, 0.0}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(storage().SetTrialParam(987654, "x", 0.5, FloatDistribution{0.0, 1.0}).code(), StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(FrozenTrial t, storage().GetTrial(t1));
  EXPECT_EQ(t.params, (std::map<std::string, double>{{"x", 1.5}}));
}

TEST_P(StorageConformanceTest, IntermediateValuesKeepNanAndInfinities) {
  ASSERT_OK_AND_ASSIGN(StudyId id, storage().CreateNewStudy(kMinimize, "s"));
  ASSERT_OK_AND_ASSIGN(TrialId tid, storage().CreateNewTrial(id));
  ASSERT_OK(storage().SetTrialIntermediateValue(tid, 0, 0.5));
  ASSERT_OK(storage().SetTrialIntermediateValue(tid, 1, kNan));
  ASSERT_OK(storage().SetTrialIntermediateValue(tid, 2, kInf));
  ASSERT_OK(storage().SetTrialIntermediateValue(tid, 3, -kInf));
  ASSERT_OK(storage().SetTrialIntermediateValue(tid, 10, 9.0));
  ASSERT_OK(storage().SetTrialIntermediateValue(tid, 10, 0.125));  // reported twice: the latest wins
  ASSERT_OK_AND_ASSIGN(FrozenTrial t, storage().GetTrial(tid));
  ASSERT_EQ(t.intermediate_values.size(), 5u);
  EXPECT_EQ(t.intermediate_values[0], 0.5);
  EXPECT_TRUE(std::isnan(t.intermediate_values[1]));
  EXPECT_EQ(t.intermediate_values[2], kInf);
  EXPECT_EQ(t.intermediate_values[3], -kInf);
  EXPECT_EQ(t.intermediate_values[10], 0.125);
  EXPECT_EQ(t.LastStep(), 10);
}

TEST_P(StorageConformanceTest, ObjectiveValuesKeepInfinitiesAndRefuseNan) {
  ASSERT_OK_AND_ASSIGN(StudyId id,
                       storage().CreateNewStudy({StudyDirection::kMinimize, StudyDirection::kMaximize}, "s"));
  ASSERT_OK_AND_ASSIGN(TrialId nan_trial, storage().CreateNewTrial(id));
  EXPECT_EQ(storage().SetTrialStateValues(nan_trial, TrialState::kComplete, {1.0, kNan}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(storage().GetTrial(nan_trial)->state, TrialState::kRunning);
  ASSERT_OK_AND_ASSIGN(TrialId tid, storage().CreateNewTrial(id));
  ASSERT_OK(storage().SetTrialStateValues(tid, TrialState::kComplete, {kInf, -kInf}).status());
  ASSERT_OK_AND_ASSIGN(FrozenTrial t, storage().GetTrial(tid));
  EXPECT_THAT(t.values, ElementsAre(kInf, -kInf));
}

TEST_P(StorageConformanceTest, TrialAttributes) {
  ASSERT_OK_AND_ASSIGN(StudyId id, storage().CreateNewStudy(kMinimize, "s"));
  ASSERT_OK_AND_ASSIGN(TrialId tid, storage().CreateNewTrial(id));
  Json nested = {{"wer", {12.5, 11.0}}, {"ok", true}, {"none", nullptr}, {"name", "ünïcode"}};
  ASSERT_OK(storage().SetTrialUserAttr(tid, "metrics", nested));
  ASSERT_OK(storage().SetTrialUserAttr(tid, "epoch", 3));
  ASSERT_OK(storage().SetTrialUserAttr(tid, "epoch", 4));
  ASSERT_OK(storage().SetTrialSystemAttr(tid, std::string(kFailReasonAttr), "exit code 1"));
  EXPECT_EQ(storage().SetTrialUserAttr(987654, "k", 1).code(), StatusCode::kNotFound);
  ASSERT_OK_AND_ASSIGN(FrozenTrial t, storage().GetTrial(tid));
  EXPECT_EQ(t.user_attrs.size(), 2u);
  EXPECT_EQ(t.user_attrs["metrics"], nested);
  EXPECT_EQ(t.user_attrs["epoch"], 4);
  EXPECT_EQ(t.system_attrs[std::string(kFailReasonAttr)], "exit code 1");
}

TEST_P(StorageConformanceTest, GetAllTrialsFiltersByStateInNumberOrder) {
  ASSERT_OK_AND_ASSIGN(StudyId id, storage().CreateNewStudy(kMinimize, "s"));
  ASSERT_OK_AND_ASSIGN(StudyId other, storage().CreateNewStudy(kMinimize, "other"));
  const std::vector<TrialState> states = {TrialState::kComplete, TrialState::kRunning, TrialState::kPruned,
                                          TrialState::kFail,     TrialState::kWaiting, TrialState::kComplete};
  for (TrialState state : states) {
    ASSERT_OK(storage().CreateNewTrial(other).status());  // interleaved with another study's trials
    if (state == TrialState::kWaiting) {
      FrozenTrial waiting;
      waiting.state = TrialState::kWaiting;
      ASSERT_OK(storage().CreateNewTrial(id, waiting).status());
      continue;
    }
    ASSERT_OK_AND_ASSIGN(TrialId tid, storage().CreateNewTrial(id));
    if (state != TrialState::kRunning) {
      std::vector<double> values;
      if (state == TrialState::kComplete) values = {1.0};
      ASSERT_OK(storage().SetTrialStateValues(tid, state, values).status());
    }
  }
  ASSERT_OK_AND_ASSIGN(std::vector<FrozenTrial> all, storage().GetAllTrials(id));
  ASSERT_EQ(all.size(), states.size());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].number, static_cast<int64_t>(i));
    EXPECT_EQ(all[i].state, states[i]);
  }
  ASSERT_OK_AND_ASSIGN(std::vector<FrozenTrial> complete,
                       storage().GetAllTrials(id, std::vector<TrialState>{TrialState::kComplete}));
  ASSERT_EQ(complete.size(), 2u);
  EXPECT_EQ(complete[0].number, 0);
  EXPECT_EQ(complete[1].number, 5);
  ASSERT_OK_AND_ASSIGN(std::vector<FrozenTrial> some,
                       storage().GetAllTrials(id, std::vector<TrialState>{TrialState::kWaiting, TrialState::kFail}));
  ASSERT_EQ(some.size(), 2u);
  EXPECT_EQ(some[0].number, 3);
  EXPECT_EQ(some[1].number, 4);
  EXPECT_TRUE(storage().GetAllTrials(id, std::vector<TrialState>{})->empty());
  EXPECT_EQ(*storage().GetNTrials(id), 6);
  EXPECT_EQ(*storage().GetNTrials(id, std::vector<TrialState>{TrialState::kComplete, TrialState::kPruned}), 3);
  EXPECT_EQ(*storage().GetNTrials(other), 6);
  // Reading twice gives the same (a backend may cache finished trials).
  ASSERT_OK_AND_ASSIGN(std::vector<FrozenTrial> again, storage().GetAllTrials(id));
  ASSERT_EQ(again.size(), all.size());
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(again[i].trial_id, all[i].trial_id);
    EXPECT_EQ(again[i].values, all[i].values);
  }
}

TEST_P(StorageConformanceTest, DeleteStudyRemovesItsTrials) {
  ASSERT_OK_AND_ASSIGN(StudyId id, storage().CreateNewStudy(kMinimize, "s"));
  ASSERT_OK_AND_ASSIGN(StudyId kept, storage().CreateNewStudy(kMinimize, "kept"));
  ASSERT_OK_AND_ASSIGN(TrialId tid, storage().CreateNewTrial(id));
  ASSERT_OK(storage().SetTrialParam(tid, "x", 0.5, FloatDistribution{0.0, 1.0}));
  ASSERT_OK(storage().SetTrialIntermediateValue(tid, 1, 0.5));
  ASSERT_OK(storage().SetTrialUserAttr(tid, "k", 1));
  ASSERT_OK(storage().SetTrialStateValues(tid, TrialState::kComplete, {0.5}).status());
  ASSERT_OK(storage().GetAllTrials(id).status());  // lets a caching backend cache the trial
  ASSERT_OK_AND_ASSIGN(TrialId kept_trial, storage().CreateNewTrial(kept));
  ASSERT_OK(storage().SetStudyUserAttr(id, "k", 1));

  ASSERT_OK(storage().DeleteStudy(id));
  EXPECT_EQ(storage().GetStudyIdFromName("s").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(storage().GetAllTrials(id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(storage().GetTrial(tid).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(storage().DeleteStudy(id).code(), StatusCode::kNotFound);
  EXPECT_EQ(storage().GetAllStudies()->size(), 1u);
  EXPECT_TRUE(storage().GetTrial(kept_trial).ok());

  // The name is free again, and the new study starts empty with its own numbering and parameters.
  ASSERT_OK_AND_ASSIGN(StudyId again, storage().CreateNewStudy(kMinimize, "s"));
  EXPECT_EQ(*storage().GetNTrials(again), 0);
  EXPECT_TRUE(storage().GetStudyUserAttrs(again)->empty());
  ASSERT_OK_AND_ASSIGN(TrialId fresh, storage().CreateNewTrial(again));
  EXPECT_EQ(storage().GetTrial(fresh)->number, 0);
  ASSERT_OK(storage().SetTrialParam(fresh, "x", 3.0, IntDistribution{0, 4}));  // "x" was a float before
}

TEST_P(StorageConformanceTest, HeartbeatsMarkStaleRunningTrials) {
  using Seconds = std::chrono::duration<double>;
  ASSERT_OK_AND_ASSIGN(StudyId id, storage().CreateNewStudy(kMinimize, "s"));
  ASSERT_OK_AND_ASSIGN(StudyId other, storage().CreateNewStudy(kMinimize, "other"));
  ASSERT_OK_AND_ASSIGN(TrialId beating, storage().CreateNewTrial(id));
  ASSERT_OK_AND_ASSIGN(TrialId silent, storage().CreateNewTrial(id));  // never beats: never stale
  ASSERT_OK_AND_ASSIGN(TrialId finished, storage().CreateNewTrial(id));
  ASSERT_OK_AND_ASSIGN(TrialId elsewhere, storage().CreateNewTrial(other));
  ASSERT_OK(storage().RecordHeartbeat(beating));
  ASSERT_OK(storage().RecordHeartbeat(finished));
  ASSERT_OK(storage().RecordHeartbeat(elsewhere));
  ASSERT_OK(storage().SetTrialStateValues(finished, TrialState::kComplete, {1.0}).status());
  EXPECT_EQ(storage().RecordHeartbeat(finished).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(storage().RecordHeartbeat(987654).code(), StatusCode::kNotFound);
  EXPECT_EQ(storage().GetStaleTrialIds(987654, Seconds(1)).status().code(), StatusCode::kNotFound);

  ASSERT_OK_AND_ASSIGN(std::vector<TrialId> fresh, storage().GetStaleTrialIds(id, Seconds(3600)));
  EXPECT_TRUE(fresh.empty());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_OK_AND_ASSIGN(std::vector<TrialId> stale, storage().GetStaleTrialIds(id, Seconds(0.1)));
  EXPECT_THAT(stale, ElementsAre(beating));
  // A new heartbeat makes it fresh again.
  ASSERT_OK(storage().RecordHeartbeat(beating));
  ASSERT_OK_AND_ASSIGN(std::vector<TrialId> renewed, storage().GetStaleTrialIds(id, Seconds(0.2)));
  EXPECT_TRUE(renewed.empty());
  (void)silent;
}

TEST_P(StorageConformanceTest, UpdateTrialAppliesAllOrNothing) {
  ASSERT_OK_AND_ASSIGN(StudyId id, storage().CreateNewStudy(kMinimize, "s"));
  ASSERT_OK_AND_ASSIGN(TrialId tid, storage().CreateNewTrial(id));
  Storage::TrialUpdate update;
  update.params = {{"lr", 1e-3, LogFloat()}, {"layers", 3.0, Layers()}};
  update.user_attrs = {{"epochs", 10}};
  update.system_attrs = {{"dial:worker", "w1"}};
  update.state = TrialState::kComplete;
  update.values = {0.125};
  ASSERT_OK(storage().UpdateTrial(tid, update));
  ASSERT_OK_AND_ASSIGN(FrozenTrial t, storage().GetTrial(tid));
  EXPECT_EQ(t.state, TrialState::kComplete);
  EXPECT_THAT(t.values, ElementsAre(0.125));
  EXPECT_EQ(t.params.size(), 2u);
  EXPECT_EQ(t.user_attrs.at("epochs"), 10);
  EXPECT_EQ(t.system_attrs.at("dial:worker"), "w1");
  EXPECT_TRUE(t.datetime_complete.has_value());

  ASSERT_OK_AND_ASSIGN(TrialId t2, storage().CreateNewTrial(id));
  Storage::TrialUpdate bad;
  bad.params = {{"width", 2.0, Layers()}, {"lr", 2.0, Layers()}};  // lr is a float in this study
  bad.user_attrs = {{"k", 1}};
  EXPECT_EQ(storage().UpdateTrial(t2, bad).code(), StatusCode::kInvalidArgument);
  ASSERT_OK_AND_ASSIGN(FrozenTrial unchanged, storage().GetTrial(t2));
  EXPECT_TRUE(unchanged.params.empty());
  EXPECT_TRUE(unchanged.user_attrs.empty());

  Storage::TrialUpdate values_only;
  values_only.values = {1.0};
  EXPECT_EQ(storage().UpdateTrial(t2, values_only).code(), StatusCode::kInvalidArgument);
}

TEST_P(StorageConformanceTest, RacingThreadsGetUniqueGapFreeNumbers) {
  constexpr int kThreads = 8;
  constexpr int kTrialsPerThread = 25;
  ASSERT_OK_AND_ASSIGN(StudyId id, storage().CreateNewStudy(kMinimize, "race"));
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kThreads; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kTrialsPerThread; ++i) {
        Result<TrialId> tid = storage().CreateNewTrial(id);
        if (!tid.ok()) {
          ++errors;
          continue;
        }
        Storage::TrialUpdate update;
        update.params = {{"x", 0.5, FloatDistribution{0.0, 1.0}}};
        update.state = TrialState::kComplete;
        update.values = {static_cast<double>(w)};
        if (!storage().UpdateTrial(*tid, update).ok()) ++errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  ASSERT_OK_AND_ASSIGN(std::vector<FrozenTrial> trials, storage().GetAllTrials(id));
  ASSERT_EQ(trials.size(), static_cast<size_t>(kThreads * kTrialsPerThread));
  for (size_t i = 0; i < trials.size(); ++i) {
    EXPECT_EQ(trials[i].number, static_cast<int64_t>(i));
    EXPECT_EQ(trials[i].state, TrialState::kComplete);
  }
}

TEST_P(StorageConformanceTest, CreateIfFewerThanNeverExceedsTheBudget) {
  constexpr int kThreads = 6;
  constexpr int kAttemptsPerThread = 10;
  constexpr int64_t kBudget = 23;
  ASSERT_OK_AND_ASSIGN(StudyId id, storage().CreateNewStudy(kMinimize, "budget"));
  EXPECT_EQ(storage().CreateNewTrialIfFewerThan(987654, 5).status().code(), StatusCode::kNotFound);
  // A WAITING trial counts like any other.
  FrozenTrial waiting;
  waiting.state = TrialState::kWaiting;
  ASSERT_OK(storage().CreateNewTrial(id, waiting).status());
  std::atomic<int> created{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kThreads; ++w) {
    threads.emplace_back([&] {
      for (int i = 0; i < kAttemptsPerThread; ++i) {
        Result<std::optional<TrialId>> tid = storage().CreateNewTrialIfFewerThan(id, kBudget);
        if (!tid.ok()) {
          ++errors;
        } else if (tid->has_value()) {
          ++created;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(created.load(), kBudget - 1);
  ASSERT_OK_AND_ASSIGN(std::vector<FrozenTrial> trials, storage().GetAllTrials(id));
  ASSERT_EQ(trials.size(), static_cast<size_t>(kBudget));
  for (size_t i = 0; i < trials.size(); ++i) {
    EXPECT_EQ(trials[i].number, static_cast<int64_t>(i));
    EXPECT_EQ(trials[i].state, i == 0 ? TrialState::kWaiting : TrialState::kRunning);
    if (i > 0) {
      EXPECT_TRUE(trials[i].datetime_start.has_value());
    }
  }
}

TEST_P(StorageConformanceTest, Conveniences) {
  ASSERT_OK_AND_ASSIGN(StudyId id, storage().CreateNewStudy({StudyDirection::kMaximize}, "s"));
  EXPECT_EQ(GetBestTrial(storage(), id).status().code(), StatusCode::kNotFound);
  for (double v : {1.0, 3.0, 2.0, 3.0}) {
    ASSERT_OK_AND_ASSIGN(TrialId tid, storage().CreateNewTrial(id));
    ASSERT_OK(storage().SetTrialStateValues(tid, TrialState::kComplete, {v}).status());
  }
  ASSERT_OK(storage().CreateNewTrial(id).status());  // RUNNING: never the best
  ASSERT_OK_AND_ASSIGN(FrozenTrial best, GetBestTrial(storage(), id));
  EXPECT_EQ(best.number, 1);  // the first of the tied maxima
  ASSERT_OK_AND_ASSIGN(FrozenTrial third, GetTrialByNumber(storage(), id, 2));
  EXPECT_THAT(third.values, ElementsAre(2.0));
  EXPECT_EQ(GetTrialByNumber(storage(), id, 99).status().code(), StatusCode::kNotFound);

  ASSERT_OK_AND_ASSIGN(StudyId mo,
                       storage().CreateNewStudy({StudyDirection::kMinimize, StudyDirection::kMinimize}, "mo"));
  EXPECT_EQ(GetBestTrial(storage(), mo).status().code(), StatusCode::kInvalidArgument);
  // (1,4) (2,2) (4,1) are the front; (3,3) is dominated by (2,2); (0,0) is infeasible.
  const std::vector<std::vector<double>> points = {{1, 4}, {3, 3}, {2, 2}, {4, 1}, {0, 0}};
  for (size_t i = 0; i < points.size(); ++i) {
    ASSERT_OK_AND_ASSIGN(TrialId tid, storage().CreateNewTrial(mo));
    if (i == 4) ASSERT_OK(storage().SetTrialSystemAttr(tid, std::string(kConstraintsAttr), Json::array({0.5})));
    ASSERT_OK(storage().SetTrialStateValues(tid, TrialState::kComplete, points[i]).status());
  }
  ASSERT_OK_AND_ASSIGN(std::vector<FrozenTrial> front, GetBestTrials(storage(), mo));
  std::set<int64_t> numbers;
  for (const FrozenTrial& t : front) numbers.insert(t.number);
  EXPECT_EQ(numbers, (std::set<int64_t>{0, 2, 3}));
}

INSTANTIATE_TEST_SUITE_P(
    Builtin, StorageConformanceTest,
    ::testing::Values(StorageBackend{"memory", [] { return std::shared_ptr<Storage>(*OpenStorage("memory://")); }},
                      StorageBackend{"sqlite", [] { return NewTemporarySqliteStorage(); }}),
    StorageBackendName);

}  // namespace
}  // namespace dial::testing
