// SQLite-specific behaviour beyond the conformance suite: URLs and their errors, the schema and its version
// check (a foreign database is never modified), Optuna's encodings as stored, and several connections on one
// file.
#include "storage/sqlite/sqlite_storage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/mount.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "storage/storage_test_util.h"

namespace dial {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

class SqliteStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "dial_sqlite_XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  std::string Path(const std::string& name = "study.db") const { return (dir_ / name).string(); }
  std::string Url(const std::string& name = "study.db") const { return "sqlite:///" + Path(name); }

  static std::string ReadBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  // Runs SQL on the file through a separate raw connection; returns the rows, columns joined by '|'.
  static std::vector<std::string> Query(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    std::vector<std::string> rows;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK) {
      ADD_FAILURE() << "cannot open " << path;
      sqlite3_close(db);
      return rows;
    }
    char* error = nullptr;
    auto callback = [](void* out, int n, char** values, char**) {
      std::string row;
      for (int i = 0; i < n; ++i) row += (i ? "|" : "") + std::string(values[i] ? values[i] : "NULL");
      static_cast<std::vector<std::string>*>(out)->push_back(row);
      return 0;
    };
    if (sqlite3_exec(db, sql.c_str(), callback, &rows, &error) != SQLITE_OK) {
      ADD_FAILURE() << sql << ": " << (error ? error : "");
      sqlite3_free(error);
    }
    sqlite3_close(db);
    return rows;
  }

  fs::path dir_;
};

TEST_F(SqliteStorageTest, ParsesUrls) {
  ASSERT_OK_AND_ASSIGN(SqliteStorageOptions rel, ParseSqliteUrl("sqlite:///dial.db"));
  EXPECT_EQ(rel.path, "dial.db");
  EXPECT_FALSE(rel.synchronous_full);
  ASSERT_OK_AND_ASSIGN(SqliteStorageOptions abs, ParseSqliteUrl("sqlite:////tmp/x/dial.db?synchronous=FULL"));
  EXPECT_EQ(abs.path, "/tmp/x/dial.db");
  EXPECT_TRUE(abs.synchronous_full);
  EXPECT_EQ(abs.url, "sqlite:////tmp/x/dial.db?synchronous=FULL");
  for (const char* bad : {"sqlite://", "sqlite:///", "sqlite://host/db", "sqlite:///a.db?synchronous=off",
                          "sqlite:///a.db?journal=wal", "postgresql://x"}) {
    Result<SqliteStorageOptions> r = ParseSqliteUrl(bad);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(r.status().message(), HasSubstr(bad));
  }
}

TEST_F(SqliteStorageTest, UnknownSchemeListsKnownOnes) {
  Result<std::shared_ptr<Storage>> r = OpenStorage("mysql://localhost/dial");
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("mysql://localhost/dial"));
  EXPECT_THAT(r.status().message(), HasSubstr("memory"));
  EXPECT_THAT(r.status().message(), HasSubstr("sqlite"));
  EXPECT_EQ(OpenStorage("dial.db").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(OpenStorage("memory://extra").status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SqliteStorageTest, RegisteredSchemeIsDispatched) {
  std::string seen;
  RegisterStorage("dialtest",
                  [&seen](const std::string& url, const StorageOpenOptions&) -> Result<std::shared_ptr<Storage>> {
                    seen = url;
                    return OpenStorage("memory://");
                  });
  ASSERT_OK(OpenStorage("dialtest://anything").status());
  EXPECT_EQ(seen, "dialtest://anything");
}

TEST_F(SqliteStorageTest, MissingFolderIsAnIoErrorAndCreatesNothing) {
  std::string path = Path("missing/sub/study.db");
  Result<std::shared_ptr<Storage>> r = OpenStorage("sqlite:///" + path);
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
  EXPECT_THAT(r.status().message(), HasSubstr(path));
  EXPECT_FALSE(fs::exists(dir_ / "missing"));
}

TEST_F(SqliteStorageTest, UnwritableFolderIsAnIoErrorAndCreatesNothing) {
  // Tests may run as root, who may write anywhere on disk; /proc refuses new files to everyone.
  const std::string path = "/proc/dial_storage_test.db";
  Result<std::shared_ptr<Storage>> r = OpenStorage("sqlite:///" + path);
  EXPECT_EQ(r.status().code(), StatusCode::kIoError);
  EXPECT_THAT(r.status().message(), HasSubstr(path));
  EXPECT_FALSE(fs::exists(path));
}

TEST_F(SqliteStorageTest, NewFileGetsOptunaSchema) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> storage, OpenStorage(Url()));
  EXPECT_EQ(storage->url(), Url());
  EXPECT_EQ(Query(Path(), "SELECT version_info_id, schema_version, library_version FROM version_info"),
            std::vector<std::string>{"1|12|3.1.0"});
  EXPECT_EQ(Query(Path(), "SELECT version_num FROM alembic_version"), std::vector<std::string>{"v3.0.0.d"});
  std::vector<std::string> tables = Query(Path(), "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
  EXPECT_EQ(tables, (std::vector<std::string>{"alembic_version", "studies", "study_directions",
                                              "study_system_attributes", "study_user_attributes", "trial_heartbeats",
                                              "trial_intermediate_values", "trial_params", "trial_system_attributes",
                                              "trial_user_attributes", "trial_values", "trials", "version_info"}));
  std::vector<std::string> indexes =
      Query(Path(), "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'ix_%' ORDER BY name");
  EXPECT_EQ(indexes, (std::vector<std::string>{"ix_studies_study_name", "ix_trials_study_id"}));
  EXPECT_EQ(Query(Path(), "PRAGMA journal_mode"), std::vector<std::string>{"wal"});
  // Column order matters to tools that SELECT *: check one table against Optuna's.
  EXPECT_EQ(Query(Path(), "SELECT group_concat(name, ',') FROM pragma_table_info('trials')"),
            std::vector<std::string>{"trial_id,number,study_id,state,datetime_start,datetime_complete"});
  EXPECT_EQ(Query(Path(), "SELECT group_concat(name, ',') FROM pragma_table_info('trial_intermediate_values')"),
            std::vector<std::string>{"trial_intermediate_value_id,trial_id,step,intermediate_value,"
                                     "intermediate_value_type"});
}

TEST_F(SqliteStorageTest, StoresOptunaEncodings) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> storage, OpenStorage(Url()));
  ASSERT_OK_AND_ASSIGN(StudyId id,
                       storage->CreateNewStudy({StudyDirection::kMinimize, StudyDirection::kMaximize}, "enc"));
  ASSERT_OK_AND_ASSIGN(TrialId tid, storage->CreateNewTrial(id));
  ASSERT_OK(storage->SetTrialParam(tid, "lr", 0.001, FloatDistribution{1e-5, 0.1, std::nullopt, true}));
  ASSERT_OK(
      storage->SetTrialParam(tid, "opt", 1.0, CategoricalDistribution{{std::string("adam"), std::string("sgd")}}));
  ASSERT_OK(storage->SetTrialIntermediateValue(tid, 0, kNan));
  ASSERT_OK(storage->SetTrialIntermediateValue(tid, 1, -kInf));
  ASSERT_OK(storage->SetTrialIntermediateValue(tid, 2, 0.5));
  ASSERT_OK(storage->SetTrialUserAttr(tid, "note", Json{{"a", 1}}));
  ASSERT_OK(storage->SetTrialStateValues(tid, TrialState::kComplete, {kInf, 2.5}).status());

  EXPECT_EQ(Query(Path(), "SELECT direction, objective FROM study_directions ORDER BY objective"),
            (std::vector<std::string>{"MINIMIZE|0", "MAXIMIZE|1"}));
  EXPECT_EQ(Query(Path(), "SELECT objective, value, value_type FROM trial_values ORDER BY objective"),
            (std::vector<std::string>{"0|NULL|INF_POS", "1|2.5|FINITE"}));
  EXPECT_EQ(Query(Path(),
                  "SELECT step, intermediate_value, intermediate_value_type FROM trial_intermediate_values "
                  "ORDER BY step"),
            (std::vector<std::string>{"0|NULL|NAN", "1|NULL|INF_NEG", "2|0.5|FINITE"}));
  EXPECT_EQ(Query(Path(), "SELECT param_name, param_value FROM trial_params ORDER BY param_name"),
            (std::vector<std::string>{"lr|0.001", "opt|1.0"}));
  std::vector<std::string> dist = Query(Path(), "SELECT distribution_json FROM trial_params WHERE param_name = 'lr'");
  ASSERT_EQ(dist.size(), 1u);
  Json lr = Json::parse(dist[0]);
  EXPECT_EQ(lr["name"], "FloatDistribution");
  EXPECT_EQ(lr["attributes"]["log"], true);
  EXPECT_EQ(lr["attributes"]["low"], 1e-5);
  EXPECT_EQ(Query(Path(), "SELECT value_json FROM trial_user_attributes"), std::vector<std::string>{"{\"a\":1}"});
  std::vector<std::string> trial = Query(Path(), "SELECT number, state, datetime_start, datetime_complete FROM trials");
  ASSERT_EQ(trial.size(), 1u);
  EXPECT_THAT(trial[0], ::testing::MatchesRegex(
                            "0\\|COMPLETE\\|[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}\\|"
                            "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}"));
}

TEST_F(SqliteStorageTest, ReadsOptunaOldDistributionNamesAndPythonJson) {
  { ASSERT_OK(OpenStorage(Url()).status()); }
  // Rows as older Optuna versions and Python's json.dumps wrote them.
  Query(Path(),
        "INSERT INTO studies (study_id, study_name) VALUES (1, 'old');"
        "INSERT INTO study_directions (direction, study_id, objective) VALUES ('MINIMIZE', 1, 0);"
        "INSERT INTO trials (trial_id, number, study_id, state, datetime_start, datetime_complete) VALUES "
        "(1, 0, 1, 'COMPLETE', '2023-01-02 03:04:05.123456', '2023-01-02 03:04:06.000001');"
        "INSERT INTO trial_params (trial_id, param_name, param_value, distribution_json) VALUES "
        "(1, 'u', 0.5, '{\"name\": \"UniformDistribution\", \"attributes\": {\"low\": 0.0, \"high\": 1.0}}'),"
        "(1, 'q', 0.5, '{\"name\": \"DiscreteUniformDistribution\", \"attributes\": {\"low\": 0.0, \"high\": 1.0, "
        "\"q\": 0.25}}'),"
        "(1, 'n', 3.0, '{\"name\": \"IntUniformDistribution\", \"attributes\": {\"low\": 1, \"high\": 9, "
        "\"step\": 1}}');"
        "INSERT INTO trial_values (trial_id, objective, value, value_type) VALUES (1, 0, NULL, 'INF_NEG');"
        "INSERT INTO trial_user_attributes (trial_id, \"key\", value_json) VALUES (1, 'nan', 'NaN'), "
        "(1, 'list', '[1, 2.5, \"a\", null, true]');");
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> storage, OpenStorage(Url()));
  ASSERT_OK_AND_ASSIGN(StudyId id, storage->GetStudyIdFromName("old"));
  ASSERT_OK_AND_ASSIGN(std::vector<FrozenTrial> trials, storage->GetAllTrials(id));
  ASSERT_EQ(trials.size(), 1u);
  const FrozenTrial& t = trials[0];
  EXPECT_EQ(t.values, std::vector<double>{-kInf});
  EXPECT_TRUE(DistributionEquals(t.distributions.at("u"), FloatDistribution{0.0, 1.0}));
  EXPECT_TRUE(DistributionEquals(t.distributions.at("q"), FloatDistribution{0.0, 1.0, 0.25, false}));
  EXPECT_TRUE(DistributionEquals(t.distributions.at("n"), IntDistribution{1, 9, 1, false}));
  EXPECT_TRUE(std::isnan(t.user_attrs.at("nan").get<double>()));
  EXPECT_EQ(t.user_attrs.at("list"), Json::parse("[1, 2.5, \"a\", null, true]"));
  EXPECT_EQ(FormatTimestamp(*t.datetime_start), "2023-01-02 03:04:05.123456");
  EXPECT_EQ(FormatTimestamp(*t.datetime_complete), "2023-01-02 03:04:06.000001");
}

// Writes a database stamped as `schema_version` / `revision` through a raw connection.
void MakeStampedDatabase(const std::string& path, int schema_version, const std::string& revision) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  std::string sql =
      "CREATE TABLE version_info (version_info_id INTEGER PRIMARY KEY, schema_version INTEGER, "
      "library_version VARCHAR(256));"
      "CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY);"
      "CREATE TABLE studies (study_id INTEGER PRIMARY KEY, study_name VARCHAR(512));"
      "INSERT INTO version_info VALUES (1, " +
      std::to_string(schema_version) +
      ", '4.2.0');"
      "INSERT INTO alembic_version VALUES ('" +
      revision +
      "');"
      "INSERT INTO studies VALUES (1, 'future');";
  ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
}

TEST_F(SqliteStorageTest, NewerSchemaIsRefusedAndLeftUnchanged) {
  struct Case {
    int schema_version;
    std::string revision;
  };
  for (const Case& c : {Case{12, "v3.2.0.a"}, Case{13, "v3.0.0.d"}}) {
    std::string name = "future_" + c.revision + "_" + std::to_string(c.schema_version) + ".db";
    MakeStampedDatabase(Path(name), c.schema_version, c.revision);
    std::string before = ReadBytes(Path(name));
    std::set<fs::path> files_before{fs::directory_iterator(dir_), fs::directory_iterator()};
    Result<std::shared_ptr<Storage>> r = OpenStorage(Url(name));
    EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
    EXPECT_THAT(r.status().message(), HasSubstr(Path(name)));
    EXPECT_THAT(r.status().message(), HasSubstr(c.revision));
    EXPECT_THAT(r.status().message(), HasSubstr("untouched"));
    EXPECT_EQ(ReadBytes(Path(name)), before);
    std::set<fs::path> files_after{fs::directory_iterator(dir_), fs::directory_iterator()};
    EXPECT_EQ(files_after, files_before);  // no -wal, -shm or journal left behind
  }
}

TEST_F(SqliteStorageTest, ForeignDatabasesAreRefusedAndLeftUnchanged) {
  Query(Path("other.db"), "CREATE TABLE songs (id INTEGER PRIMARY KEY, title TEXT); INSERT INTO songs VALUES (1, 'x')");
  std::string before = ReadBytes(Path("other.db"));
  Result<std::shared_ptr<Storage>> r = OpenStorage(Url("other.db"));
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadBytes(Path("other.db")), before);

  {
    std::ofstream text(Path("notes.txt"));
    text << "this is not a database, but it is long enough to have a header of sorts ............ "
            "........................................................................................";
  }
  before = ReadBytes(Path("notes.txt"));
  Result<std::shared_ptr<Storage>> not_db = OpenStorage(Url("notes.txt"));
  EXPECT_FALSE(not_db.ok());
  EXPECT_THAT(not_db.status().message(), HasSubstr(Path("notes.txt")));
  EXPECT_EQ(ReadBytes(Path("notes.txt")), before);
}

TEST_F(SqliteStorageTest, EmptyFileGetsSchema) {
  { std::ofstream empty(Path()); }
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> storage, OpenStorage(Url()));
  ASSERT_OK(storage->CreateNewStudy({StudyDirection::kMinimize}, "s").status());
}

TEST_F(SqliteStorageTest, ReopenedDatabaseKeepsEverything) {
  TrialId tid;
  {
    ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> storage, OpenStorage(Url() + "?synchronous=full"));
    ASSERT_OK_AND_ASSIGN(StudyId id, storage->CreateNewStudy({StudyDirection::kMaximize}, "persist"));
    ASSERT_OK(storage->SetStudyUserAttr(id, "k", "v"));
    ASSERT_OK_AND_ASSIGN(tid, storage->CreateNewTrial(id));
    ASSERT_OK(storage->SetTrialParam(tid, "n", 4.0, IntDistribution{2, 8, 2, false}));
    ASSERT_OK(storage->SetTrialStateValues(tid, TrialState::kComplete, {0.5}).status());
  }
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> storage, OpenStorage(Url()));
  ASSERT_OK_AND_ASSIGN(StudyId id, storage->GetStudyIdFromName("persist"));
  EXPECT_EQ((*storage->GetStudyUserAttrs(id))["k"], "v");
  ASSERT_OK_AND_ASSIGN(FrozenTrial t, storage->GetTrial(tid));
  EXPECT_EQ(t.state, TrialState::kComplete);
  EXPECT_EQ(t.values, std::vector<double>{0.5});
  EXPECT_TRUE(DistributionEquals(t.distributions.at("n"), IntDistribution{2, 8, 2, false}));
}

TEST_F(SqliteStorageTest, ConnectionsOnOneFileSeeEachOtherAndNumberUniquely) {
  constexpr int kConnections = 4;
  constexpr int kTrialsEach = 20;
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> first, OpenStorage(Url()));
  ASSERT_OK_AND_ASSIGN(StudyId id, first->CreateNewStudy({StudyDirection::kMinimize}, "shared"));
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < kConnections; ++c) {
    threads.emplace_back([&] {
      Result<std::shared_ptr<Storage>> storage = OpenStorage(Url());  // its own connection
      if (!storage.ok()) {
        ++errors;
        return;
      }
      for (int i = 0; i < kTrialsEach; ++i) {
        Result<TrialId> tid = (*storage)->CreateNewTrial(id);
        if (!tid.ok() || !(*storage)->SetTrialStateValues(*tid, TrialState::kComplete, {1.0}).ok()) ++errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  ASSERT_OK_AND_ASSIGN(std::vector<FrozenTrial> trials, first->GetAllTrials(id));
  ASSERT_EQ(trials.size(), static_cast<size_t>(kConnections * kTrialsEach));
  for (size_t i = 0; i < trials.size(); ++i) EXPECT_EQ(trials[i].number, static_cast<int64_t>(i));
}

TEST_F(SqliteStorageTest, CachedTrialIsNotReusedAfterAnotherConnectionRecreatesIds) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> reader, OpenStorage(Url()));
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> writer, OpenStorage(Url()));
  ASSERT_OK_AND_ASSIGN(StudyId id, writer->CreateNewStudy({StudyDirection::kMinimize}, "s"));
  ASSERT_OK_AND_ASSIGN(TrialId tid, writer->CreateNewTrial(id));
  ASSERT_OK(writer->SetTrialStateValues(tid, TrialState::kComplete, {1.0}).status());
  ASSERT_EQ(reader->GetTrial(tid)->values, std::vector<double>{1.0});  // now cached by `reader`
  // SQLite hands out the largest id + 1, so deleting the newest study lets its ids come back.
  ASSERT_OK(writer->DeleteStudy(id));
  ASSERT_OK_AND_ASSIGN(StudyId again, writer->CreateNewStudy({StudyDirection::kMinimize}, "s"));
  ASSERT_OK_AND_ASSIGN(TrialId reused, writer->CreateNewTrial(again));
  std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_OK(writer->SetTrialStateValues(reused, TrialState::kComplete, {2.0}).status());
  ASSERT_OK_AND_ASSIGN(FrozenTrial t, reader->GetTrial(reused));
  EXPECT_EQ(t.values, std::vector<double>{2.0});
  ASSERT_OK_AND_ASSIGN(std::vector<FrozenTrial> all, reader->GetAllTrials(again));
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].values, std::vector<double>{2.0});
}

// ---- read-only opening (StorageOpenOptions::read_only): what the reading commands of the CLI use ----

// A study file as Optuna writes it: rollback journal (journal_mode delete), no dial index on trials(study_id).
void MakeOptunaLikeFile(const std::string& path, const std::string& url) {
  {
    ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> storage, OpenStorage(url));
    ASSERT_OK_AND_ASSIGN(StudyId id, storage->CreateNewStudy({StudyDirection::kMinimize}, "optuna"));
    ASSERT_OK_AND_ASSIGN(TrialId tid, storage->CreateNewTrial(id));
    ASSERT_OK(storage->SetTrialParam(tid, "k", 3.0, IntDistribution{0, 9}));
    ASSERT_OK(storage->SetTrialStateValues(tid, TrialState::kComplete, {0.25}).status());
  }
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA journal_mode = DELETE; DROP INDEX ix_trials_study_id", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
}

// The journal mode as the file's header records it (bytes 18 and 19: 1 rollback journal, 2 WAL), read without
// SQLite: a SQLite connection to a WAL-mode file would create its -wal and -shm.
std::string JournalMode(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char header[20] = {};
  if (!in.read(header, sizeof header)) return "?";
  if (header[18] == 2 && header[19] == 2) return "wal";
  if (header[18] == 1 && header[19] == 1) return "delete";
  return "?";
}

void ExpectWritesRefused(Storage& storage, StudyId study_id, TrialId trial_id) {
  EXPECT_EQ(storage.CreateNewStudy({StudyDirection::kMinimize}, "new").status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(storage.SetStudyUserAttr(study_id, "k", 1).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(storage.CreateNewTrial(study_id).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(storage.SetTrialUserAttr(trial_id, "k", 1).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(storage.RecordHeartbeat(trial_id).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(storage.DeleteStudy(study_id).code(), StatusCode::kFailedPrecondition);
  const Status refused = storage.SetStudySystemAttr(study_id, "k", 1);
  EXPECT_THAT(refused.message(), HasSubstr("read-only"));
}

TEST_F(SqliteStorageTest, ReadOnlyOpenLeavesAnOptunaFileByteForByte) {
  MakeOptunaLikeFile(Path(), Url());
  ASSERT_EQ(JournalMode(Path()), "delete");
  const std::string before = ReadBytes(Path());
  const std::set<fs::path> files_before{fs::directory_iterator(dir_), fs::directory_iterator()};
  {
    ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> storage, OpenStorage(Url(), {.read_only = true}));
    ASSERT_OK_AND_ASSIGN(std::vector<StudySummary> studies, storage->GetAllStudies());
    ASSERT_EQ(studies.size(), 1u);
    ASSERT_OK_AND_ASSIGN(std::vector<FrozenTrial> trials, storage->GetAllTrials(studies[0].study_id));
    ASSERT_EQ(trials.size(), 1u);
    EXPECT_EQ(trials[0].params.at("k"), 3.0);
    ExpectWritesRefused(*storage, studies[0].study_id, trials[0].trial_id);
  }
  EXPECT_EQ(ReadBytes(Path()), before);
  EXPECT_EQ(JournalMode(Path()), "delete");
  const std::set<fs::path> files_after{fs::directory_iterator(dir_), fs::directory_iterator()};
  EXPECT_EQ(files_after, files_before);
  EXPECT_TRUE(Query(Path(), "SELECT name FROM sqlite_master WHERE name = 'ix_trials_study_id'").empty());
}

TEST_F(SqliteStorageTest, ReadOnlyOpenOfMissingEmptyOrForeignFilesWritesNothing) {
  Result<std::shared_ptr<Storage>> missing = OpenStorage(Url("missing.db"), {.read_only = true});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound) << missing.status().ToString();
  EXPECT_THAT(missing.status().message(), HasSubstr(Path("missing.db")));
  EXPECT_FALSE(fs::exists(Path("missing.db")));

  { std::ofstream empty(Path("empty.db")); }
  Result<std::shared_ptr<Storage>> empty = OpenStorage(Url("empty.db"), {.read_only = true});
  EXPECT_EQ(empty.status().code(), StatusCode::kFailedPrecondition) << empty.status().ToString();
  EXPECT_THAT(empty.status().message(), HasSubstr(Path("empty.db")));
  EXPECT_EQ(fs::file_size(Path("empty.db")), 0u);

  Query(Path("tables.db"), "PRAGMA user_version = 7");  // a SQLite file with a header but no table
  const std::string no_tables = ReadBytes(Path("tables.db"));
  ASSERT_FALSE(no_tables.empty());
  EXPECT_EQ(OpenStorage(Url("tables.db"), {.read_only = true}).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadBytes(Path("tables.db")), no_tables);

  Query(Path("other.db"), "CREATE TABLE songs (id INTEGER PRIMARY KEY)");
  const std::string other = ReadBytes(Path("other.db"));
  EXPECT_EQ(OpenStorage(Url("other.db"), {.read_only = true}).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadBytes(Path("other.db")), other);
  const std::set<fs::path> files{fs::directory_iterator(dir_), fs::directory_iterator()};
  EXPECT_EQ(files.size(), 3u);  // empty.db, tables.db, other.db: no journal, -wal or -shm left
}

// dial's own files are in WAL mode: a read-only open leaves the file's bytes, and no -wal or -shm behind it.
TEST_F(SqliteStorageTest, ReadOnlyOpenOfAWalFileLeavesNoSideFiles) {
  {
    ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> storage, OpenStorage(Url()));
    ASSERT_OK(storage->CreateNewStudy({StudyDirection::kMinimize}, "wal").status());
  }
  ASSERT_EQ(JournalMode(Path()), "wal");
  const std::string before = ReadBytes(Path());
  const std::set<fs::path> files_before{fs::directory_iterator(dir_), fs::directory_iterator()};
  {
    ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> storage, OpenStorage(Url(), {.read_only = true}));
    ASSERT_OK(storage->GetStudyIdFromName("wal").status());
  }
  EXPECT_EQ(ReadBytes(Path()), before);
  const std::set<fs::path> files_after{fs::directory_iterator(dir_), fs::directory_iterator()};
  EXPECT_EQ(files_after, files_before);
}

// The dashboard keeps its storage open while dial tune writes: a read-only connection sees the later commits.
TEST_F(SqliteStorageTest, ReadOnlyStorageSeesCommitsOfAWriter) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> writer, OpenStorage(Url()));
  ASSERT_OK_AND_ASSIGN(StudyId id, writer->CreateNewStudy({StudyDirection::kMinimize}, "live"));
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> reader, OpenStorage(Url(), {.read_only = true}));
  ASSERT_OK_AND_ASSIGN(int64_t n0, reader->GetNTrials(id));
  EXPECT_EQ(n0, 0);
  ASSERT_OK_AND_ASSIGN(TrialId tid, writer->CreateNewTrial(id));
  ASSERT_OK(writer->SetTrialStateValues(tid, TrialState::kComplete, {1.0}).status());
  ASSERT_OK_AND_ASSIGN(std::vector<FrozenTrial> trials, reader->GetAllTrials(id));
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].state, TrialState::kComplete);
}

TEST_F(SqliteStorageTest, ReadOnlyMemoryStorageRefusesWrites) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> storage, OpenStorage("memory://", {.read_only = true}));
  ASSERT_OK_AND_ASSIGN(std::vector<StudySummary> studies, storage->GetAllStudies());
  EXPECT_TRUE(studies.empty());
  ExpectWritesRefused(*storage, 0, 0);
}

// Read-only media, made real with a tmpfs remounted read-only (chmod does not stop root): a rollback-journal file
// and a WAL-mode file closed cleanly (no -wal, no -shm, none can be created) are both readable; a WAL-mode file whose
// last commits sit in a -wal without its -shm is refused with a message saying why.
TEST_F(SqliteStorageTest, ReadOnlyOpenWorksOnReadOnlyMedia) {
  const fs::path mnt = dir_ / "media";
  fs::create_directory(mnt);
  if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=8m") != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs here (needs root in a mount namespace): " << std::strerror(errno);
  }
  struct Unmount {
    fs::path at;
    ~Unmount() { ::umount2(at.c_str(), MNT_DETACH); }
  } unmount{mnt};
  const std::string rollback = (mnt / "optuna.db").string(), wal = (mnt / "dial.db").string(),
                    stray_wal = (mnt / "stray.db").string();
  MakeOptunaLikeFile(rollback, "sqlite:///" + rollback);
  {
    ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> storage, OpenStorage("sqlite:///" + wal));
    ASSERT_OK(storage->CreateNewStudy({StudyDirection::kMaximize}, "dial").status());
  }
  ASSERT_EQ(JournalMode(wal), "wal");
  {
    ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> storage, OpenStorage("sqlite:///" + stray_wal));
    ASSERT_OK(storage->CreateNewStudy({StudyDirection::kMaximize}, "checkpointed").status());
  }
  {
    // A -wal holding a commit, without the -shm that would index it.
    ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> storage, OpenStorage("sqlite:///" + stray_wal));
    ASSERT_OK(storage->CreateNewStudy({StudyDirection::kMaximize}, "stray").status());
    fs::copy_file(stray_wal, stray_wal + ".copy");
    fs::copy_file(stray_wal + "-wal", stray_wal + ".copy-wal");
  }
  ASSERT_FALSE(fs::exists(wal + "-wal"));
  ASSERT_EQ(::mount(nullptr, mnt.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr), 0) << std::strerror(errno);
  const std::set<fs::path> files_before{fs::directory_iterator(mnt), fs::directory_iterator()};

  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> optuna, OpenStorage("sqlite:///" + rollback, {.read_only = true}));
  ASSERT_OK_AND_ASSIGN(StudyId optuna_id, optuna->GetStudyIdFromName("optuna"));
  ASSERT_OK_AND_ASSIGN(int64_t n, optuna->GetNTrials(optuna_id));
  EXPECT_EQ(n, 1);
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> dial, OpenStorage("sqlite:///" + wal, {.read_only = true}));
  ASSERT_OK(dial->GetStudyIdFromName("dial").status());
  Result<std::shared_ptr<Storage>> stray = OpenStorage("sqlite:///" + stray_wal + ".copy", {.read_only = true});
  EXPECT_EQ(stray.status().code(), StatusCode::kFailedPrecondition) << stray.status().ToString();
  EXPECT_THAT(stray.status().message(), HasSubstr("-shm"));
  // Opening for writing there fails as before, naming the file.
  EXPECT_FALSE(OpenStorage("sqlite:///" + rollback).ok());
  const std::set<fs::path> files_after{fs::directory_iterator(mnt), fs::directory_iterator()};
  EXPECT_EQ(files_after, files_before);
}

}  // namespace
}  // namespace dial
