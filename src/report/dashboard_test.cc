// The dashboard's answers, without a socket: access control (only GET, loopback Host names, the token), the JSON
// documents the pages draw from, and that a study's version moves when a running trial reports.
#include "report/dashboard.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "storage/memory_storage.h"

namespace dial {
namespace {

class DashboardTest : public ::testing::Test {
 protected:
  void SetUp() override {
    library_ = (std::filesystem::temp_directory_path() /
                ("dial-dashboard-test-" + std::to_string(::getpid()) + "-echarts.min.js"))
                   .string();
    std::ofstream(library_) << "/* stand-in plotting library */";
    storage_ = std::shared_ptr<Storage>(NewMemoryStorage());
    study_ = *storage_->CreateNewStudy({StudyDirection::kMinimize}, "wer sweep");
    FloatDistribution lr;
    lr.low = 1e-4;
    lr.high = 1e-1;
    lr.log = true;
    for (int i = 0; i < 6; ++i) {
      const TrialId t = *storage_->CreateNewTrial(study_);
      ASSERT_TRUE(storage_->SetTrialParam(t, "lr", 1e-3 * (i + 1), lr).ok());
      ASSERT_TRUE(storage_->SetTrialIntermediateValue(t, 1, 0.5 - 0.01 * i).ok());
      ASSERT_TRUE(storage_->SetTrialUserAttr(t, "peak_lr", 1e-3 * (i + 1)).ok());
      ASSERT_TRUE(storage_->SetTrialStateValues(t, TrialState::kComplete, {0.3 - 0.01 * i}).ok());
    }
    running_ = *storage_->CreateNewTrial(study_);
    ASSERT_TRUE(storage_->SetTrialParam(running_, "lr", 0.05, lr).ok());
    ASSERT_TRUE(storage_->SetTrialIntermediateValue(running_, 1, 0.9).ok());
  }
  void TearDown() override { std::filesystem::remove(library_); }

  std::unique_ptr<Dashboard> Make(const std::string& host = "127.0.0.1", const std::string& token = "") {
    DashboardOptions options;
    options.host = host;
    options.token = token;
    options.plot_library_path = library_;
    Result<std::unique_ptr<Dashboard>> d = Dashboard::New(storage_, options);
    EXPECT_TRUE(d.ok()) << d.status().message();
    return d.ok() ? std::move(*d) : nullptr;
  }

  static HttpRequest Get(const std::string& target, const std::string& host = "127.0.0.1:8080") {
    Result<HttpRequest> r = ParseHttpRequest("GET " + target + " HTTP/1.1\r\nHost: " + host);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return *r;
  }

  static std::string Header(const HttpResponse& r, const std::string& name) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) return v;
    }
    return "";
  }

  std::string library_;
  std::shared_ptr<Storage> storage_;
  StudyId study_ = -1;
  TrialId running_ = -1;
};

TEST_F(DashboardTest, OptionsRefuseANetworkBindWithoutAToken) {
  DashboardOptions options;
  options.host = "0.0.0.0";
  Status s = options.Validate();
  ASSERT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("--host 0.0.0.0"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("--token"), std::string::npos) << s.message();
  options.token = "short";
  EXPECT_NE(options.Validate().message().find("at least 16"), std::string::npos);
  options.token = "a-long-enough-token-1234";
  EXPECT_TRUE(options.Validate().ok());
  options.token = "a token with spaces in it";
  EXPECT_FALSE(options.Validate().ok());
  options = DashboardOptions();
  for (const char* loopback : {"127.0.0.1", "localhost", "::1"}) {
    options.host = loopback;
    EXPECT_TRUE(options.Validate().ok()) << loopback;
  }
  options.refresh_seconds = 0;
  EXPECT_FALSE(options.Validate().ok());
}

TEST_F(DashboardTest, AnswersOnlyGet) {
  std::unique_ptr<Dashboard> d = Make();
  for (const char* method : {"POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"}) {
    Result<HttpRequest> r = ParseHttpRequest(std::string(method) + " /api/studies HTTP/1.1\r\nHost: 127.0.0.1");
    ASSERT_TRUE(r.ok());
    HttpResponse response = d->Handle(*r);
    EXPECT_EQ(response.status, 405) << method;
    EXPECT_EQ(Header(response, "Allow"), "GET") << method;
  }
  EXPECT_EQ(d->Handle(Get("/api/studies")).status, 200);
}

TEST_F(DashboardTest, LoopbackBindAnswersOnlyLoopbackHostNames) {
  std::unique_ptr<Dashboard> d = Make();
  EXPECT_EQ(d->Handle(Get("/", "localhost:8080")).status, 200);
  EXPECT_EQ(d->Handle(Get("/", "[::1]:8080")).status, 200);
  HttpResponse rebound = d->Handle(Get("/", "attacker.example:8080"));
  EXPECT_EQ(rebound.status, 403);
  EXPECT_NE(rebound.body.find("attacker.example"), std::string::npos);
}

TEST_F(DashboardTest, TokenFromQueryCookieOrBearer) {
  const std::string token = "0123456789abcdef-token";
  std::unique_ptr<Dashboard> d = Make("0.0.0.0", token);
  EXPECT_EQ(d->Handle(Get("/api/studies", "10.1.2.3:8080")).status, 401);
  EXPECT_EQ(d->Handle(Get("/api/studies?token=wrong-token-wrong-token")).status, 401);
  HttpResponse first = d->Handle(Get("/?token=" + token, "10.1.2.3:8080"));
  EXPECT_EQ(first.status, 200);
  const std::string cookie = Header(first, "Set-Cookie");
  EXPECT_EQ(cookie.rfind("dial_token=" + token + ";", 0), 0u) << cookie;
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  Result<HttpRequest> with_cookie =
      ParseHttpRequest("GET /api/studies HTTP/1.1\r\nHost: h\r\nCookie: other=1; dial_token=" + token);
  EXPECT_EQ(d->Handle(*with_cookie).status, 200);
  Result<HttpRequest> bearer = ParseHttpRequest("GET /api/studies HTTP/1.1\r\nAuthorization: Bearer " + token);
  EXPECT_EQ(d->Handle(*bearer).status, 200);
  // Even with the token, only GET.
  Result<HttpRequest> post = ParseHttpRequest("POST /api/studies?token=" + token + " HTTP/1.1");
  EXPECT_EQ(d->Handle(*post).status, 405);
}

TEST_F(DashboardTest, PagesAndAssetsWithSecurityHeaders) {
  std::unique_ptr<Dashboard> d = Make();
  HttpResponse page = d->Handle(Get("/"));
  EXPECT_EQ(page.content_type.rfind("text/html", 0), 0u);
  EXPECT_NE(page.body.find("/assets/dashboard.js"), std::string::npos);
  EXPECT_NE(Header(page, "Content-Security-Policy").find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(Header(page, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(d->Handle(Get("/study?name=wer%20sweep")).body, page.body);
  EXPECT_EQ(d->Handle(Get("/assets/echarts.min.js")).body, "/* stand-in plotting library */");
  EXPECT_NE(d->Handle(Get("/assets/report.js")).body.find("dialReport"), std::string::npos);
  EXPECT_EQ(d->Handle(Get("/assets/../../etc/passwd")).status, 404);
  EXPECT_EQ(d->Handle(Get("/nothing")).status, 404);
}

TEST_F(DashboardTest, StudiesListCountsStatesAndBest) {
  std::unique_ptr<Dashboard> d = Make();
  HttpResponse r = d->Handle(Get("/api/studies"));
  ASSERT_EQ(r.status, 200);
  Json doc = Json::parse(r.body);
  ASSERT_EQ(doc["studies"].size(), 1u);
  const Json& s = doc["studies"][0];
  EXPECT_EQ(s["name"], "wer sweep");
  EXPECT_EQ(s["n_trials"], 7);
  EXPECT_EQ(s["states"]["COMPLETE"], 6);
  EXPECT_EQ(s["states"]["RUNNING"], 1);
  EXPECT_EQ(s["best"]["number"], 5);
  EXPECT_NEAR(s["best"]["value"].get<double>(), 0.25, 1e-12);
  EXPECT_EQ(doc["storage"], storage_->url());
}

TEST_F(DashboardTest, StudyVersionMovesWhenARunningTrialReports) {
  std::unique_ptr<Dashboard> d = Make();
  Json before = Json::parse(d->Handle(Get("/api/study?name=wer+sweep")).body);
  ASSERT_TRUE(before.contains("version")) << before.dump();
  EXPECT_EQ(before["trials"].size(), 7u);
  EXPECT_EQ(before["trials"][6]["state"], "RUNNING");
  EXPECT_EQ(before["trials"][6]["intermediate"].size(), 1u);
  EXPECT_TRUE(before["importance"][0].contains("values") || before["importance"][0].contains("error"));
  Json same = Json::parse(d->Handle(Get("/api/study?name=wer+sweep")).body);
  EXPECT_EQ(same["version"], before["version"]);
  ASSERT_TRUE(storage_->SetTrialIntermediateValue(running_, 2, 0.7).ok());
  Json after = Json::parse(d->Handle(Get("/api/study?name=wer+sweep")).body);
  EXPECT_NE(after["version"], before["version"]);
  EXPECT_EQ(after["trials"][6]["intermediate"].size(), 2u);
  // Unchanged COMPLETE trials: the same importances, served from the cache.
  EXPECT_EQ(after["importance"], before["importance"]);
  ASSERT_TRUE(storage_->SetTrialStateValues(running_, TrialState::kComplete, {0.2}).ok());
  Json finished = Json::parse(d->Handle(Get("/api/study?name=wer+sweep")).body);
  EXPECT_NE(finished["version"], after["version"]);
  EXPECT_EQ(finished["best"]["number"], 6);
}

TEST_F(DashboardTest, StudyAndTrialErrorsNameWhatIsMissing) {
  std::unique_ptr<Dashboard> d = Make();
  HttpResponse missing = d->Handle(Get("/api/study?name=nope"));
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(Json::parse(missing.body)["error"].get<std::string>().find("'nope'"), std::string::npos);
  EXPECT_EQ(d->Handle(Get("/api/study")).status, 400);
  EXPECT_EQ(d->Handle(Get("/api/trial?study=wer+sweep&number=x1")).status, 400);
  EXPECT_EQ(d->Handle(Get("/api/trial?study=wer+sweep&number=99")).status, 404);
  HttpResponse trial = d->Handle(Get("/api/trial?study=wer+sweep&number=2"));
  ASSERT_EQ(trial.status, 200) << trial.body;
  Json t = Json::parse(trial.body);
  EXPECT_EQ(t["state"], "COMPLETE");
  EXPECT_NEAR(t["params"]["lr"].get<double>(), 3e-3, 1e-12);
  EXPECT_NEAR(t["user_attrs"]["peak_lr"].get<double>(), 3e-3, 1e-12);
  EXPECT_FALSE(t["datetime_complete"].is_null());
}

TEST_F(DashboardTest, AMissingPlottingLibraryIsRefusedAtStart) {
  DashboardOptions options;
  options.plot_library_path = library_ + ".missing";
  Result<std::unique_ptr<Dashboard>> d = Dashboard::New(storage_, options);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find(".missing"), std::string::npos);
}

}  // namespace
}  // namespace dial
