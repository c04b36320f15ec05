// PostgreSQL-specific behaviour beyond the conformance suite, against the real test server: URLs and their errors
// (the password never printed), the schema and its version check (a foreign or newer database is never modified),
// Optuna's encodings as stored, studies Optuna wrote, lost connections, and several connections racing.
#include "storage/postgres/postgres_storage.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <map>
#include <set>
#include <thread>

#include "dial/storage.h"
#include "postgres_test_util.h"
#include "storage/storage_test_util.h"

namespace dial::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
const std::vector<StudyDirection> kMinimize = {StudyDirection::kMinimize};

// The password part of `url` (postgresql://user:password@host...).
std::string PasswordOf(const std::string& url) {
  size_t start = url.find(':', url.find("://") + 3);
  size_t at = url.find('@');
  return url.substr(start + 1, at - start - 1);
}

std::string ReplacePassword(const std::string& url, const std::string& password) {
  size_t start = url.find(':', url.find("://") + 3);
  size_t at = url.find('@');
  return url.substr(0, start + 1) + password + url.substr(at);
}

// A TCP port on 127.0.0.1 that nothing listens on (the kernel picks it; it is closed again at once).
int UnusedPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return -1;
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Each test gets its own database, dropped at the end.
class PostgresStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(server_, TestServerUrl());
    ASSERT_OK_AND_ASSIGN(url_, CreateTestDatabase("pgtest"));
  }
  void TearDown() override {
    if (!url_.empty()) {
      Status dropped = DropTestDatabase(url_);
      EXPECT_TRUE(dropped.ok()) << dropped.ToString();
    }
  }

  std::vector<std::string> Sql(const std::string& sql) {
    Result<std::vector<std::string>> rows = RunSql(url_, sql);
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() ? *rows : std::vector<std::string>{};
  }

  // Runs the Optuna interop script's `mode` (write_optuna, write_newer) on this test's database.
  void WriteWithOptuna(const std::string& mode) {
    std::string command =
        std::string(DIAL_OPTUNA_PYTHON) + " " + DIAL_OPTUNA_INTEROP_SCRIPT + " " + mode + " '" + url_ + "'";
    ASSERT_EQ(std::system(command.c_str()), 0) << DIAL_OPTUNA_PYTHON << " ... " << mode << " failed";
  }

  // Everything a write could change: the schema's relations and types, and every Optuna table's rows.
  std::vector<std::string> Fingerprint() {
    std::vector<std::string> out =
        Sql("SELECT c.relname || ':' || c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' ORDER BY 1");
    for (const std::string& t : Sql("SELECT typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                                    "WHERE n.nspname = 'public' AND t.typtype = 'e' ORDER BY 1")) {
      out.push_back("type " + t);
    }
    for (const std::string& table : Sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")) {
      std::vector<std::string> rows =
          Sql("SELECT md5(coalesce(string_agg(t::text, ';' ORDER BY t::text), '')) FROM \"" + table + "\" t");
      out.push_back(table + " " + (rows.empty() ? "?" : rows[0]));
    }
    return out;
  }

  std::string server_;
  std::string url_;
};

TEST(PostgresUrlTest, AcceptsOptunaSpellingsAndMasksPasswords) {
  for (const char* url : {"postgresql://u:secret@db.example:5432/hpo", "postgres://u:secret@db.example/hpo",
                          "postgresql+psycopg2://u:secret@db.example:5432/hpo?sslmode=disable"}) {
    ASSERT_OK_AND_ASSIGN(PostgresStorageOptions options, ParsePostgresUrl(url));
    EXPECT_EQ(options.url, url);
  }
  EXPECT_EQ(RedactPostgresUrl("postgresql://u:secret@db.example:5432/hpo"), "postgresql://u:***@db.example:5432/hpo");
  EXPECT_EQ(RedactPostgresUrl("postgresql+psycopg2://u:s%40cret@h/hpo"), "postgresql+psycopg2://u:***@h/hpo");
  EXPECT_EQ(RedactPostgresUrl("postgresql://u@h/hpo?password=secret&sslmode=require"),
            "postgresql://u@h/hpo?password=***&sslmode=require");
  EXPECT_EQ(RedactPostgresUrl("postgresql://h:5432/hpo"), "postgresql://h:5432/hpo");
  EXPECT_EQ(RedactPostgresUrl("postgresql://u@h/hpo"), "postgresql://u@h/hpo");

  // Malformed: the message names the URL, with the password masked.
  for (const char* bad : {"postgresql://u:secret@h/hpo?no_such_option=1", "postgresql://u:secret@[::1/hpo"}) {
    Result<std::shared_ptr<Storage>> r = OpenStorage(bad);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad << ": " << r.status().ToString();
    EXPECT_THAT(r.status().message(), HasSubstr("postgresql://u:***@"));
    EXPECT_THAT(r.status().message(), Not(HasSubstr("secret")));
  }
  PostgresStorageOptions options;
  options.url = "postgresql://h/db";
  options.max_connections = 0;
  EXPECT_EQ(NewPostgresStorage(options).status().code(), StatusCode::kInvalidArgument);
}

TEST(PostgresServerTest, ServerDownIsUnavailableNamingTheServer) {
  const int port = UnusedPort();
  ASSERT_GT(port, 0);
  const std::string url = "postgresql://dial:hunter2-secret@127.0.0.1:" + std::to_string(port) + "/dial";
  Result<std::shared_ptr<Storage>> r = OpenStorage(url);
  ASSERT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr("127.0.0.1:" + std::to_string(port)));
  EXPECT_THAT(r.status().message(), HasSubstr("postgresql://dial:***@127.0.0.1"));
  EXPECT_THAT(r.status().message(), HasSubstr("refused"));
  EXPECT_THAT(r.status().message(), Not(HasSubstr("hunter2")));
}

TEST_F(PostgresStorageTest, WrongPasswordAndMissingDatabaseAreRefusedWithoutPrintingThePassword) {
  const std::string wrong = ReplacePassword(url_, "wrong-password-42");
  Result<std::shared_ptr<Storage>> r = OpenStorage(wrong);
  ASSERT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr("password authentication failed"));
  EXPECT_THAT(r.status().message(), Not(HasSubstr("wrong-password-42")));

  const std::string missing = WithDatabase(server_, "dial_no_such_database");
  r = OpenStorage(missing);
  ASSERT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr("dial_no_such_database"));
  EXPECT_THAT(r.status().message(), HasSubstr("does not exist"));
  EXPECT_THAT(r.status().message(), Not(HasSubstr(PasswordOf(server_))));
}

TEST_F(PostgresStorageTest, NewDatabaseGetsOptunaSchema) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> storage, OpenStorage(url_));
  EXPECT_EQ(storage->url(), url_);
  EXPECT_EQ(Sql("SELECT version_info_id, schema_version, library_version FROM version_info"),
            std::vector<std::string>{"1|12|3.1.0"});
  EXPECT_EQ(Sql("SELECT version_num FROM alembic_version"), std::vector<std::string>{"v3.0.0.d"});
  EXPECT_EQ(Sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"),
            (std::vector<std::string>{"alembic_version", "studies", "study_directions", "study_system_attributes",
                                      "study_user_attributes", "trial_heartbeats", "trial_intermediate_values",
                                      "trial_params", "trial_system_attributes", "trial_user_attributes",
                                      "trial_values", "trials", "version_info"}));
  EXPECT_EQ(Sql("SELECT t.typname, string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_type t "
                "JOIN pg_enum e ON e.enumtypid = t.oid GROUP BY t.typname ORDER BY 1"),
            (std::vector<std::string>{
                "studydirection|NOT_SET,MINIMIZE,MAXIMIZE", "trialintermediatevaluetype|FINITE,INF_POS,INF_NEG,NAN",
                "trialstate|RUNNING,COMPLETE,PRUNED,FAIL,WAITING", "trialvaluetype|FINITE,INF_POS,INF_NEG"}));
  EXPECT_EQ(Sql("SELECT string_agg(column_name || ' ' || udt_name || ' ' || is_nullable, ',' ORDER BY "
                "ordinal_position) FROM information_schema.columns WHERE table_name = 'trials'"),
            std::vector<std::string>{"trial_id int4 NO,number int4 YES,study_id int4 YES,state trialstate NO,"
                                     "datetime_start timestamp YES,datetime_complete timestamp YES"});
  EXPECT_EQ(Sql("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'ix_%' ORDER BY 1"),
            (std::vector<std::string>{"ix_studies_study_name", "ix_trials_study_id"}));
  // A second storage on the same database finds the schema and adds nothing.
  std::vector<std::string> before = Fingerprint();
  ASSERT_OK(OpenStorage(url_).status());
  EXPECT_EQ(Fingerprint(), before);
}

TEST_F(PostgresStorageTest, StoresOptunaEncodings) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> storage, OpenStorage(url_));
  ASSERT_OK_AND_ASSIGN(StudyId id,
                       storage->CreateNewStudy({StudyDirection::kMinimize, StudyDirection::kMaximize}, "enc"));
  ASSERT_OK_AND_ASSIGN(TrialId tid, storage->CreateNewTrial(id));
  ASSERT_OK(storage->SetTrialParam(tid, "lr", 0.001, FloatDistribution{1e-5, 0.1, std::nullopt, true}));
  ASSERT_OK(
      storage->SetTrialParam(tid, "opt", 1.0, CategoricalDistribution{{std::string("adam"), std::string("sgd")}}));
  ASSERT_OK(storage->SetTrialParam(tid, "third", 1.0 / 3.0, FloatDistribution{0.0, 1.0}));
  ASSERT_OK(storage->SetTrialIntermediateValue(tid, 0, kNan));
  ASSERT_OK(storage->SetTrialIntermediateValue(tid, 1, -kInf));
  ASSERT_OK(storage->SetTrialIntermediateValue(tid, 2, 0.5));
  ASSERT_OK(storage->SetTrialUserAttr(tid, "note", Json{{"a", 1}}));
  ASSERT_OK(storage->SetTrialStateValues(tid, TrialState::kComplete, {kInf, 2.5}).status());

  EXPECT_EQ(Sql("SELECT direction, objective FROM study_directions ORDER BY objective"),
            (std::vector<std::string>{"MINIMIZE|0", "MAXIMIZE|1"}));
  EXPECT_EQ(Sql("SELECT objective, value, value_type FROM trial_values ORDER BY objective"),
            (std::vector<std::string>{"0|NULL|INF_POS", "1|2.5|FINITE"}));
  EXPECT_EQ(Sql("SELECT step, intermediate_value, intermediate_value_type FROM trial_intermediate_values "
                "ORDER BY step"),
            (std::vector<std::string>{"0|NULL|NAN", "1|NULL|INF_NEG", "2|0.5|FINITE"}));
  // Doubles round-trip exactly.
  EXPECT_EQ(Sql("SELECT param_name, param_value = 1::float8 / 3 FROM trial_params WHERE param_name = 'third'"),
            std::vector<std::string>{"third|t"});
  EXPECT_EQ(Sql("SELECT param_name, param_value FROM trial_params WHERE param_name <> 'third' ORDER BY 1"),
            (std::vector<std::string>{"lr|0.001", "opt|1"}));
  ASSERT_OK_AND_ASSIGN(FrozenTrial t, storage->GetTrial(tid));
  EXPECT_EQ(t.params.at("third"), 1.0 / 3.0);
  std::vector<std::string> dist = Sql("SELECT distribution_json FROM trial_params WHERE param_name = 'lr'");
  ASSERT_EQ(dist.size(), 1u);
  Json lr = Json::parse(dist[0]);
  EXPECT_EQ(lr["name"], "FloatDistribution");
  EXPECT_EQ(lr["attributes"]["log"], true);
  EXPECT_EQ(Sql("SELECT value_json FROM trial_user_attributes"), std::vector<std::string>{"{\"a\":1}"});
  std::vector<std::string> trial = Sql("SELECT number, state, datetime_start, datetime_complete FROM trials");
  ASSERT_EQ(trial.size(), 1u);
  EXPECT_THAT(trial[0], ::testing::MatchesRegex("0\\|COMPLETE\\|[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+\\|"
                                                "[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:.]+"));
}

TEST_F(PostgresStorageTest, ReadsStudiesOptunaWroteAndContinuesThem) {
  WriteWithOptuna("write_optuna");
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> storage, OpenStorage(url_));
  // Optuna 3.1's schema has no index on trials(study_id); dial adds its own (Optuna ignores it).
  EXPECT_EQ(Sql("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_trials_study_id'"),
            std::vector<std::string>{"1"});
  ASSERT_OK_AND_ASSIGN(std::vector<StudySummary> studies, storage->GetAllStudies());
  std::map<std::string, StudySummary> by_name;
  for (const StudySummary& s : studies) by_name[s.study_name] = s;
  ASSERT_EQ(by_name.size(), 3u);
  EXPECT_EQ(by_name["optuna_single"].n_trials, 17);
  EXPECT_EQ(by_name["optuna_single"].user_attrs.at("corpus"), "tedlium");
  EXPECT_EQ(by_name["optuna_multi"].directions,
            (std::vector<StudyDirection>{StudyDirection::kMinimize, StudyDirection::kMaximize}));

  const StudyId single = by_name["optuna_single"].study_id;
  ASSERT_OK_AND_ASSIGN(std::vector<FrozenTrial> trials, storage->GetAllTrials(single));
  ASSERT_EQ(trials.size(), 17u);
  std::map<TrialState, int> counts;
  for (size_t i = 0; i < trials.size(); ++i) {
    const FrozenTrial& t = trials[i];
    EXPECT_EQ(t.number, static_cast<int64_t>(i));
    ++counts[t.state];
    if (t.state == TrialState::kComplete) {
      ASSERT_EQ(t.values.size(), 1u);
      EXPECT_DOUBLE_EQ(t.values[0], t.params.at("layers") + t.params.at("lr"));
    }
  }
  EXPECT_GT(counts[TrialState::kComplete], 0);
  EXPECT_GT(counts[TrialState::kPruned], 0);
  EXPECT_GT(counts[TrialState::kFail], 0);
  EXPECT_EQ(counts[TrialState::kWaiting], 1);

  // The enqueued trial is popped once, then dial numbers new trials after Optuna's.
  const FrozenTrial& waiting = trials.back();
  ASSERT_OK_AND_ASSIGN(bool popped, storage->SetTrialStateValues(waiting.trial_id, TrialState::kRunning));
  EXPECT_TRUE(popped);
  ASSERT_OK_AND_ASSIGN(TrialId tid, storage->CreateNewTrial(single));
  EXPECT_EQ(storage->GetTrial(tid)->number, 17);
  ASSERT_OK_AND_ASSIGN(std::vector<FrozenTrial> old, storage->GetAllTrials(by_name["optuna_old"].study_id));
  ASSERT_EQ(old.size(), 1u);
  EXPECT_TRUE(DistributionEquals(old[0].distributions.at("du"), FloatDistribution{0.0, 1.0, 0.25, false}));
  EXPECT_EQ(FormatTimestamp(*old[0].datetime_start), "2021-05-06 07:08:09.101112");
}

TEST_F(PostgresStorageTest, NewerSchemaIsRefusedAndLeftUntouched) {
  WriteWithOptuna("write_newer");  // Optuna's studies, stamped as Optuna 3.2+ leaves them after an upgrade
  const std::vector<std::string> before = Fingerprint();
  ASSERT_GT(before.size(), 20u);
  Result<std::shared_ptr<Storage>> r = OpenStorage(url_);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr("v3.2.0.a"));
  EXPECT_THAT(r.status().message(), HasSubstr("untouched"));
  EXPECT_THAT(r.status().message(), HasSubstr(RedactPostgresUrl(url_)));
  EXPECT_THAT(r.status().message(), Not(HasSubstr(PasswordOf(url_))));
  EXPECT_EQ(Fingerprint(), before);

  // A newer schema_version under the known revision is refused too.
  Sql("UPDATE alembic_version SET version_num = 'v3.0.0.d'; UPDATE version_info SET schema_version = 13");
  const std::vector<std::string> stamped = Fingerprint();
  r = OpenStorage(url_);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr("schema version 13"));
  EXPECT_EQ(Fingerprint(), stamped);
}

TEST_F(PostgresStorageTest, ForeignDatabaseIsRefusedAndLeftUntouched) {
  Sql("CREATE TABLE songs (id SERIAL PRIMARY KEY, title TEXT); INSERT INTO songs (title) VALUES ('x')");
  const std::vector<std::string> before = Fingerprint();
  Result<std::shared_ptr<Storage>> r = OpenStorage(url_);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
  EXPECT_THAT(r.status().message(), HasSubstr("not an Optuna/dial storage"));
  EXPECT_EQ(Fingerprint(), before);  // no enum type, table or index was added
}

// StorageOpenOptions::read_only: an empty database stays empty (no schema), Optuna's database is read without
// getting dial's index, and writes are refused (by dial, and by the session's default_transaction_read_only).
TEST_F(PostgresStorageTest, ReadOnlyOpenChangesNothing) {
  const std::vector<std::string> empty = Fingerprint();
  Result<std::shared_ptr<Storage>> none = OpenStorage(url_, {.read_only = true});
  EXPECT_EQ(none.status().code(), StatusCode::kFailedPrecondition) << none.status().ToString();
  EXPECT_THAT(none.status().message(), HasSubstr("no tables"));
  EXPECT_EQ(Fingerprint(), empty);

  WriteWithOptuna("write_optuna");
  const std::vector<std::string> before = Fingerprint();
  ASSERT_THAT(before, Not(::testing::Contains(::testing::HasSubstr("ix_trials_study_id"))));
  {
    ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> storage, OpenStorage(url_, {.read_only = true}));
    ASSERT_OK_AND_ASSIGN(std::vector<StudySummary> studies, storage->GetAllStudies());
    ASSERT_FALSE(studies.empty());
    ASSERT_OK(storage->GetAllTrials(studies[0].study_id).status());
    EXPECT_EQ(storage->CreateNewStudy({StudyDirection::kMinimize}, "new").status().code(),
              StatusCode::kFailedPrecondition);
    EXPECT_EQ(storage->SetStudyUserAttr(studies[0].study_id, "k", 1).code(), StatusCode::kFailedPrecondition);
  }
  EXPECT_EQ(Fingerprint(), before);
}

TEST_F(PostgresStorageTest, SchemaInAnotherSearchPathIsItsOwn) {
  // libpq's `options` reach the server: a storage per schema of one database.
  Sql("CREATE SCHEMA team_a");
  const std::string in_schema = url_ + "?options=-csearch_path%3Dteam_a";
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> a, OpenStorage(in_schema));
  ASSERT_OK(a->CreateNewStudy(kMinimize, "only-in-a").status());
  EXPECT_EQ(Sql("SELECT study_name FROM team_a.studies"), std::vector<std::string>{"only-in-a"});
  EXPECT_EQ(Sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"), std::vector<std::string>{"0"});
}

TEST_F(PostgresStorageTest, LostConnectionIsReestablished) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> storage, OpenStorage(url_));
  ASSERT_OK_AND_ASSIGN(StudyId id, storage->CreateNewStudy(kMinimize, "s"));
  const std::string kill_sessions = "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '" +
                                    Sql("SELECT current_database()")[0] + "' AND pid <> pg_backend_pid()";
  // The server ends the session (a restart, an idle timeout, an administrator): the next read reconnects...
  EXPECT_EQ(Sql(kill_sessions), std::vector<std::string>{"1"});
  ASSERT_OK_AND_ASSIGN(StudyId found, storage->GetStudyIdFromName("s"));
  EXPECT_EQ(found, id);
  // ...and so does the next write, which had sent nothing yet.
  EXPECT_EQ(Sql(kill_sessions), std::vector<std::string>{"1"});
  ASSERT_OK_AND_ASSIGN(TrialId tid, storage->CreateNewTrial(id));
  EXPECT_EQ(storage->GetTrial(tid)->number, 0);
}

TEST_F(PostgresStorageTest, ServerGoneIsUnavailableNamingTheServer) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> storage, OpenStorage(url_));
  ASSERT_OK_AND_ASSIGN(StudyId id, storage->CreateNewStudy(kMinimize, "s"));
  const std::string db = Sql("SELECT current_database()")[0];
  // The database stops taking connections and the storage's session is ended: reconnecting fails.
  ASSERT_OK(RunSql(server_, "ALTER DATABASE \"" + db + "\" ALLOW_CONNECTIONS false").status());
  ASSERT_OK(
      RunSql(server_, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + db + "'").status());
  Result<TrialId> r = storage->CreateNewTrial(id);
  ASSERT_EQ(r.status().code(), StatusCode::kUnavailable) << r.status().ToString();
  const std::string host_port = url_.substr(url_.find('@') + 1, url_.rfind('/') - url_.find('@') - 1);
  EXPECT_THAT(r.status().message(), HasSubstr(host_port));
  EXPECT_THAT(r.status().message(), HasSubstr(RedactPostgresUrl(url_)));
  EXPECT_THAT(r.status().message(), Not(HasSubstr(PasswordOf(url_))));
  // Back: the same storage works again.
  ASSERT_OK(RunSql(server_, "ALTER DATABASE \"" + db + "\" ALLOW_CONNECTIONS true").status());
  ASSERT_OK_AND_ASSIGN(TrialId tid, storage->CreateNewTrial(id));
  EXPECT_EQ(storage->GetTrial(tid)->number, 0);
}

// A worker that stops inside a transaction (its host's link cut, its process frozen) holding a trial's row lock: the
// server ends its session after abandoned_transaction_timeout, so the workers failing that trial are not held for
// the hours the server's TCP keepalive would take. Frozen here with SIGSTOP while it beats a trial's heartbeat,
// caught the moment it holds the lock (a NOWAIT probe is refused).
class FrozenWorker {
 public:
  // Forks a process that opens `url` with `timeout` and records heartbeats for `trial` without pause.
  FrozenWorker(const std::string& url, std::chrono::milliseconds timeout, TrialId trial) : trial_(trial) {
    pid_ = fork();
    if (pid_ == 0) {
      PostgresStorageOptions options;
      options.url = url;
      options.abandoned_transaction_timeout = timeout;
      Result<std::unique_ptr<Storage>> storage = NewPostgresStorage(options);
      if (!storage.ok()) _exit(2);
      while ((*storage)->RecordHeartbeat(trial).ok()) {
      }
      _exit(3);
    }
  }
  ~FrozenWorker() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }

  // Stops the process until it is caught holding the trial's lock; false if it never is (in 500 tries).
  bool FreezeHoldingTheLock(const std::string& url) {
    for (int attempt = 0; attempt < 500; ++attempt) {
      kill(pid_, SIGSTOP);
      std::this_thread::sleep_for(std::chrono::milliseconds(30));  // a statement in flight finishes on the server
      if (!Probe(url).ok()) return true;
      kill(pid_, SIGCONT);
      std::this_thread::sleep_for(std::chrono::milliseconds(2 + attempt % 7));
    }
    return false;
  }

  // Tries to lock the trial's row at once: an IoError ("could not obtain lock") while another session holds it.
  Status Probe(const std::string& url) const {
    return RunSql(url, "SELECT 1 FROM trials WHERE trial_id = " + std::to_string(trial_) + " FOR UPDATE NOWAIT")
        .status();
  }

 private:
  TrialId trial_;
  pid_t pid_ = -1;
};

TEST_F(PostgresStorageTest, ASessionFrozenInsideATransactionLosesItsLocksAfterTheTimeout) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> storage, OpenStorage(url_));
  ASSERT_OK_AND_ASSIGN(StudyId id, storage->CreateNewStudy(kMinimize, "s"));
  ASSERT_OK_AND_ASSIGN(TrialId tid, storage->CreateNewTrial(id));
  FrozenWorker frozen(url_, std::chrono::milliseconds(1000), tid);
  ASSERT_TRUE(frozen.FreezeHoldingTheLock(url_));
  EXPECT_THAT(frozen.Probe(url_).message(), HasSubstr("could not obtain lock"));
  const auto start = std::chrono::steady_clock::now();
  ASSERT_OK(RunSql(url_, "SET lock_timeout = '20s'; SELECT 1 FROM trials WHERE trial_id = " + std::to_string(tid) +
                             " FOR UPDATE")
                .status());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
  // The trial can be failed, as a live worker fails a stale one.
  ASSERT_OK(storage->SetTrialStateValues(tid, TrialState::kFail).status());
  EXPECT_EQ(storage->GetTrial(tid)->state, TrialState::kFail);
}

TEST_F(PostgresStorageTest, AnIdleInTransactionTimeoutTheUrlSetsIsKept) {
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> storage, OpenStorage(url_));
  ASSERT_OK_AND_ASSIGN(StudyId id, storage->CreateNewStudy(kMinimize, "s"));
  ASSERT_OK_AND_ASSIGN(TrialId tid, storage->CreateNewTrial(id));
  // Ten minutes from the URL: dial's one second must not replace it.
  FrozenWorker frozen(url_ + "?options=-c%20idle_in_transaction_session_timeout%3D600000",
                      std::chrono::milliseconds(1000), tid);
  ASSERT_TRUE(frozen.FreezeHoldingTheLock(url_));
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_THAT(frozen.Probe(url_).message(), HasSubstr("could not obtain lock"));
}

// Storages opened separately (as separate processes would) on one database: their own connections race.
TEST_F(PostgresStorageTest, SeparateConnectionsNumberPopAndClaimExactlyOnce) {
  constexpr int kConnections = 8;
  constexpr int kTrialsEach = 20;
  constexpr int kWaiting = 24;
  ASSERT_OK_AND_ASSIGN(std::shared_ptr<Storage> first, OpenStorage(url_));
  ASSERT_OK_AND_ASSIGN(StudyId id, first->CreateNewStudy(kMinimize, "shared"));
  FrozenTrial enqueued;
  enqueued.state = TrialState::kWaiting;
  for (int i = 0; i < kWaiting; ++i) ASSERT_OK(first->CreateNewTrial(id, enqueued).status());

  std::atomic<int> errors{0};
  std::atomic<int> claims{0};
  std::vector<std::vector<TrialId>> popped(kConnections);
  std::vector<std::thread> threads;
  for (int c = 0; c < kConnections; ++c) {
    threads.emplace_back([&, c] {
      PostgresStorageOptions options;
      options.url = url_;
      options.max_connections = 1;
      Result<std::unique_ptr<Storage>> storage = NewPostgresStorage(options);
      if (!storage.ok()) {
        ++errors;
        return;
      }
      Storage& s = **storage;
      Result<bool> claimed = s.SetStudySystemAttrIfAbsent(id, "grid:0", c);
      if (!claimed.ok()) ++errors;
      if (claimed.ok() && *claimed) ++claims;
      // Pop the enqueued trials as workers do: try each WAITING one; the compare-and-set says who got it.
      Result<std::vector<FrozenTrial>> waiting = s.GetAllTrials(id, std::vector<TrialState>{TrialState::kWaiting});
      if (!waiting.ok()) ++errors;
      for (const FrozenTrial& t : waiting.ok() ? *waiting : std::vector<FrozenTrial>{}) {
        Result<bool> won = s.SetTrialStateValues(t.trial_id, TrialState::kRunning);
        if (!won.ok()) ++errors;
        if (won.ok() && *won) popped[c].push_back(t.trial_id);
      }
      for (int i = 0; i < kTrialsEach; ++i) {
        Result<TrialId> tid = s.CreateNewTrial(id);
        if (!tid.ok() || !s.SetTrialStateValues(*tid, TrialState::kComplete, {1.0}).ok()) ++errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(claims.load(), 1);
  std::multiset<TrialId> all_popped;
  for (const auto& p : popped) all_popped.insert(p.begin(), p.end());
  EXPECT_EQ(all_popped.size(), static_cast<size_t>(kWaiting));
  EXPECT_EQ(std::set<TrialId>(all_popped.begin(), all_popped.end()).size(), static_cast<size_t>(kWaiting));
  ASSERT_OK_AND_ASSIGN(std::vector<FrozenTrial> trials, first->GetAllTrials(id));
  ASSERT_EQ(trials.size(), static_cast<size_t>(kWaiting + kConnections * kTrialsEach));
  for (size_t i = 0; i < trials.size(); ++i) EXPECT_EQ(trials[i].number, static_cast<int64_t>(i));
  EXPECT_EQ(*first->GetNTrials(id, std::vector<TrialState>{TrialState::kWaiting}), 0);
}

TEST_F(PostgresStorageTest, ManyStoragesOpeningAnEmptyDatabaseCreateTheSchemaOnce) {
  constexpr int kOpeners = 8;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kOpeners; ++i) {
    threads.emplace_back([&] {
      Result<std::shared_ptr<Storage>> s = OpenStorage(url_);
      if (!s.ok()) {
        ADD_FAILURE() << s.status().ToString();
        ++errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(Sql("SELECT count(*) FROM version_info"), std::vector<std::string>{"1"});
  EXPECT_EQ(Sql("SELECT count(*) FROM alembic_version"), std::vector<std::string>{"1"});
}

}  // namespace
}  // namespace dial::testing
